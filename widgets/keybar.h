/* keybar: the bottom line of keys ("r Run  s Stop …") and the status line above it. */
#ifndef YV_KEYBAR_H
#define YV_KEYBAR_H

#include <curses.h>

#include "theme.h"

typedef struct {
    const char *key;   /* as shown: "r", "Enter", "/" */
    const char *label; /* short: "Run" */
} yv_keybar_item;

/* Draws as many items as fit on line y. */
void yv_keybar_draw(WINDOW *w, int y, int width, const yv_keybar_item *items, int n,
                    const yv_theme *th);
/* One line of status text: role YV_C_STATUS or YV_C_ERROR. */
void yv_keybar_status(WINDOW *w, int y, int width, const char *text, yv_role role,
                      const yv_theme *th);

#endif
