/* keysym: a key typed in the screen view as the X keysyms an RFB server takes (spec §12). A
 * terminal sends characters, not key presses, so a character that needs Shift on a US keyboard is
 * sent inside Shift_L (QEMU turns keysyms into scancodes and does not add Shift itself), and a
 * control character as Control_L around its letter. Pure: no curses calls, only its KEY_ codes. */
#ifndef YV_KEYSYM_H
#define YV_KEYSYM_H

#include <stdbool.h>
#include <stdint.h>
#include <wchar.h>

#define YV_KEYSYM_MAX 4

typedef struct {
    uint32_t sym;
    bool down;
} yv_keysym_ev;

/* The key events for key ch (is_key: a curses KEY_* code), in order; 0 when it has none. */
int yv_keysym_events(wint_t ch, bool is_key, yv_keysym_ev out[YV_KEYSYM_MAX]);

#endif
