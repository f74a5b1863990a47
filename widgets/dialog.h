/* dialog: a centred box with a message, answered yes/no (confirmation) or dismissed (notice). */
#ifndef YV_DIALOG_H
#define YV_DIALOG_H

#include <curses.h>
#include <stdbool.h>
#include <wchar.h>

#include "theme.h"

typedef enum { YV_DIALOG_NONE, YV_DIALOG_YES, YV_DIALOG_NO } yv_dialog_result;

typedef struct {
    char title[64];
    char text[512]; /* may hold '\n' */
    wint_t yes_key; /* 0 = a notice: any key dismisses */
} yv_dialog;

void yv_dialog_confirm(yv_dialog *d, const char *title, const char *text, wint_t yes_key);
void yv_dialog_notice(yv_dialog *d, const char *title, const char *text);
/* A confirmation takes only yes_key as yes; every other key says no (spec §15), so a stray or
 * pasted key never confirms. A resize is no answer. */
yv_dialog_result yv_dialog_key(const yv_dialog *d, wint_t ch, bool is_key);
void yv_dialog_draw(const yv_dialog *d, WINDOW *w, const yv_theme *th);

#endif
