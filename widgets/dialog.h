/* dialog: a centred box with a message, answered yes/no (confirmation) or dismissed (notice). The
 * text wraps at the box's width; when it is taller than the screen it scrolls (arrows, PgUp/PgDn,
 * Home/End) and the box says "↓ more", so every line of it can be read before the answer. */
#ifndef YV_DIALOG_H
#define YV_DIALOG_H

#include <curses.h>
#include <stdbool.h>
#include <wchar.h>

#include "theme.h"

typedef enum { YV_DIALOG_NONE, YV_DIALOG_YES, YV_DIALOG_NO } yv_dialog_result;

#define YV_DIALOG_TEXT 20480 /* a question naming hundreds of VMs (spec §15 "Select many") */

typedef struct {
    char title[64];
    char text[YV_DIALOG_TEXT]; /* may hold '\n' */
    wint_t yes_key;            /* 0 = a notice: any key dismisses */
    int top;                   /* the first wrapped line shown */
    int nlines, shown;         /* the last draw's wrapped lines and how many the box showed */
} yv_dialog;

void yv_dialog_confirm(yv_dialog *d, const char *title, const char *text, wint_t yes_key);
void yv_dialog_notice(yv_dialog *d, const char *title, const char *text);
/* A confirmation takes only yes_key as yes; every other key says no (spec §15), so a stray or
 * pasted key never confirms. A resize is no answer; nor is a scroll key while the text is taller
 * than the box (it scrolls). */
yv_dialog_result yv_dialog_key(yv_dialog *d, wint_t ch, bool is_key);
void yv_dialog_draw(yv_dialog *d, WINDOW *w, const yv_theme *th);

#endif
