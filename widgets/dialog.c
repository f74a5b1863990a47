#include "dialog.h"

#include <stdio.h>
#include <string.h>

#include "draw.h"

void yv_dialog_confirm(yv_dialog *d, const char *title, const char *text, wint_t yes_key)
{
    snprintf(d->title, sizeof d->title, "%s", title);
    snprintf(d->text, sizeof d->text, "%s", text);
    d->yes_key = yes_key;
}

void yv_dialog_notice(yv_dialog *d, const char *title, const char *text)
{
    yv_dialog_confirm(d, title, text, 0);
}

yv_dialog_result yv_dialog_key(const yv_dialog *d, wint_t ch, bool is_key)
{
    if (is_key && ch == KEY_RESIZE) return YV_DIALOG_NONE; /* the terminal, not the user */
    if (!d->yes_key) return YV_DIALOG_YES;
    /* any key but the confirming one says no: a paste ("Daily") must not reach its 'y' */
    return !is_key && ch == d->yes_key ? YV_DIALOG_YES : YV_DIALOG_NO;
}

void yv_dialog_draw(const yv_dialog *d, WINDOW *w, const yv_theme *th)
{
    int H, W, nlines = 1, longest = yv_draw_width(d->title) + 4;
    char text[sizeof d->text];
    getmaxyx(w, H, W);
    snprintf(text, sizeof text, "%s", d->text);
    for (char *p = text, *nl; p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl) *nl = '\0', nlines++;
        int l = yv_draw_width(p);
        if (l > longest) longest = l;
        if (nl) *nl = '\n';
    }
    char foot[80];
    if (d->yes_key)
        snprintf(foot, sizeof foot, " %lc: yes   any other key: no ", (wint_t)d->yes_key);
    else snprintf(foot, sizeof foot, " any key: close ");
    int bw = longest + 4, bh = nlines + 4;
    if (bw < yv_draw_width(foot) + 4) bw = yv_draw_width(foot) + 4;
    if (bw > W) bw = W;
    if (bh > H) bh = H;
    int by = (H - bh) / 2, bx = (W - bw) / 2;
    attr_t a = yv_theme_attr(th, YV_C_DIALOG);
    yv_draw_box(w, by, bx, bh, bw, a);
    yv_draw_text(w, by, bx + 2, d->title, yv_draw_width(d->title), a | A_BOLD);
    int y = by + 2;
    for (char *p = text, *nl; p && y < by + bh - 1; p = nl ? nl + 1 : NULL, y++) {
        nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        yv_draw_text(w, y, bx + 2, p, bw - 4, a);
    }
    yv_draw_text(w, by + bh - 1, bx + 2, foot, yv_draw_width(foot), a);
}
