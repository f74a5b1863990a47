#include "dialog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

void yv_dialog_confirm(yv_dialog *d, const char *title, const char *text, wint_t yes_key)
{
    snprintf(d->title, sizeof d->title, "%s", title);
    snprintf(d->text, sizeof d->text, "%s", text);
    d->yes_key = yes_key;
    d->top = d->nlines = d->shown = 0;
}

void yv_dialog_notice(yv_dialog *d, const char *title, const char *text)
{
    yv_dialog_confirm(d, title, text, 0);
}

/* Scrolls a text taller than its box; false for any other key (an answer). */
static bool scroll_key(yv_dialog *d, wint_t ch, bool is_key)
{
    if (!is_key || d->nlines <= d->shown) return false;
    int page = d->shown > 1 ? d->shown - 1 : 1, last = d->nlines - d->shown, t = d->top;
    switch (ch) {
    case KEY_DOWN: t++; break;
    case KEY_UP: t--; break;
    case KEY_NPAGE: t += page; break;
    case KEY_PPAGE: t -= page; break;
    case KEY_HOME: t = 0; break;
    case KEY_END: t = last; break;
    default: return false;
    }
    d->top = t < 0 ? 0 : t > last ? last : t;
    return true;
}

yv_dialog_result yv_dialog_key(yv_dialog *d, wint_t ch, bool is_key)
{
    if (is_key && ch == KEY_RESIZE) return YV_DIALOG_NONE; /* the terminal, not the user */
    if (scroll_key(d, ch, is_key)) return YV_DIALOG_NONE;
    if (!d->yes_key) return YV_DIALOG_YES;
    /* any key but the confirming one says no: a paste ("Daily") must not reach its 'y' */
    return !is_key && ch == d->yes_key ? YV_DIALOG_YES : YV_DIALOG_NO;
}

/* The bytes of the character at s and its cells (a byte that is no character: one cell). */
static size_t one_char(const char *s, int *cells)
{
    mbstate_t ps = {0};
    wchar_t wc;
    size_t b = mbrtowc(&wc, s, MB_CUR_MAX, &ps);
    if (b == (size_t)-1 || b == (size_t)-2 || b == 0) return *cells = 1, 1;
    int w = wcwidth(wc);
    *cells = w < 0 ? 1 : w;
    return b;
}

/* The wrapped line at p, at most width cells: its length in bytes into len; the next line's
 * start, or NULL after the last. Lines break at spaces; a word wider than the box is cut. */
static const char *next_line(const char *p, int width, int *len)
{
    const char *q = p, *brk = NULL;
    int w = 0, cw;
    while (*q && *q != '\n') {
        if (*q == ' ') brk = q;
        size_t b = one_char(q, &cw);
        if (w + cw > width) break;
        w += cw;
        q += b;
    }
    if (!*q || *q == '\n') {
        *len = (int)(q - p);
        return *q ? q + 1 : NULL;
    }
    if (brk && brk > p) {
        *len = (int)(brk - p);
        return brk + 1;
    }
    if (q == p) q += one_char(q, &cw); /* a box narrower than one character: never stuck */
    *len = (int)(q - p);
    return q;
}

/* The widest paragraph (a '\n'-separated part) of text, in cells. */
static int widest(const char *text)
{
    int best = 0, w = 0, cw;
    for (const char *p = text; *p;) {
        if (*p == '\n') {
            w = 0;
            p++;
            continue;
        }
        p += one_char(p, &cw);
        w += cw;
        if (w > best) best = w;
    }
    return best;
}

static int count_lines(const char *text, int width)
{
    int n = 0, len;
    for (const char *p = text; p; p = next_line(p, width, &len)) n++;
    return n;
}

/* The bottom line: the keys, and whether more text is below or above (worst: as if more). */
static void footer(const yv_dialog *d, char *foot, size_t n, bool worst)
{
    bool utf8 = MB_CUR_MAX > 1, more = worst || d->top + d->shown < d->nlines;
    const char *where = !more && d->top ? (utf8 ? "   ↑ above" : "   ^ above")
                        : more          ? (utf8 ? "   ↓ more" : "   v more")
                                        : "";
    if (d->yes_key)
        snprintf(foot, n, " %lc: yes   any other key: no%s ", (wint_t)d->yes_key, where);
    else snprintf(foot, n, " any key: close%s ", where);
}

void yv_dialog_draw(yv_dialog *d, WINDOW *w, const yv_theme *th)
{
    int H, W, len;
    char foot[96], line[YV_DIALOG_TEXT];
    getmaxyx(w, H, W);
    int bw = widest(d->text) + 4, tw0 = yv_draw_width(d->title) + 4;
    if (bw < tw0) bw = tw0;
    footer(d, foot, sizeof foot, true);
    if (bw < yv_draw_width(foot) + 4) bw = yv_draw_width(foot) + 4;
    if (bw > W) bw = W;
    d->nlines = count_lines(d->text, bw - 4 > 1 ? bw - 4 : 1);
    int bh = d->nlines + 4 > H ? H : d->nlines + 4;
    d->shown = bh - 4 > 0 ? bh - 4 : 0;
    if (d->top > d->nlines - d->shown) d->top = d->nlines - d->shown > 0 ? d->nlines - d->shown : 0;
    footer(d, foot, sizeof foot, false);
    int by = (H - bh) / 2, bx = (W - bw) / 2;
    attr_t a = yv_theme_attr(th, YV_C_DIALOG);
    yv_draw_box(w, by, bx, bh, bw, a);
    yv_draw_text(w, by, bx + 2, d->title, yv_draw_width(d->title), a | A_BOLD);
    int i = 0, y = by + 2;
    for (const char *p = d->text, *nx; p && y < by + 2 + d->shown; p = nx, i++) {
        nx = next_line(p, bw - 4 > 1 ? bw - 4 : 1, &len);
        if (i < d->top) continue;
        snprintf(line, sizeof line, "%.*s", len, p);
        yv_draw_text(w, y++, bx + 2, line, bw - 4, a);
    }
    yv_draw_text(w, by + bh - 1, bx + 2, foot, bw - 4, a);
}
