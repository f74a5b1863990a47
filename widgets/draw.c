#include "draw.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Converts up to `width` cells of s into wide characters; returns their count, *cells the width. */
static size_t fit(const char *s, wchar_t *out, size_t cap, int width, int *cells)
{
    mbstate_t st;
    size_t n = 0, len = strlen(s);
    int used = 0;
    memset(&st, 0, sizeof st);
    while (len > 0 && n + 1 < cap) {
        wchar_t wc;
        size_t r = mbrtowc(&wc, s, len, &st);
        if (r == (size_t)-1 || r == (size_t)-2) { /* invalid: show a replacement, one byte on */
            wc = L'?';
            r = 1;
            memset(&st, 0, sizeof st);
        } else if (r == 0) {
            break;
        }
        int cw = wcwidth(wc);
        if (cw < 0) wc = L'?', cw = 1; /* control characters never reach the terminal */
        if (used + cw > width) break;
        out[n++] = wc;
        used += cw;
        s += r;
        len -= r;
    }
    out[n] = L'\0';
    *cells = used;
    return n;
}

int yv_draw_width(const char *s)
{
    wchar_t buf[1024];
    int cells;
    fit(s, buf, 1024, 1 << 20, &cells);
    return cells;
}

static void put(WINDOW *w, int y, int x, const char *s, int width, attr_t attr, int right)
{
    wchar_t buf[1024];
    int cells, maxy, maxx;
    if (width <= 0) return;
    getmaxyx(w, maxy, maxx);
    if (y < 0 || y >= maxy || x >= maxx) return;
    if (x + width > maxx) width = maxx - x;
    fit(s ? s : "", buf, sizeof buf / sizeof buf[0], width, &cells);
    wattrset(w, attr);
    int pad = width - cells;
    if (right) mvwhline(w, y, x, ' ', pad);
    mvwaddwstr(w, y, x + (right ? pad : 0), buf);
    if (!right && pad > 0) mvwhline(w, y, x + cells, ' ', pad);
    wattrset(w, A_NORMAL);
}

void yv_draw_text(WINDOW *w, int y, int x, const char *s, int width, attr_t attr)
{
    put(w, y, x, s, width, attr, 0);
}

void yv_draw_text_right(WINDOW *w, int y, int x, const char *s, int width, attr_t attr)
{
    put(w, y, x, s, width, attr, 1);
}

void yv_draw_box(WINDOW *w, int y, int x, int h, int wd, attr_t attr)
{
    wattrset(w, attr);
    for (int i = 0; i < h; i++) mvwhline(w, y + i, x, ' ', wd);
    mvwhline(w, y, x + 1, ACS_HLINE, wd - 2);
    mvwhline(w, y + h - 1, x + 1, ACS_HLINE, wd - 2);
    mvwvline(w, y + 1, x, ACS_VLINE, h - 2);
    mvwvline(w, y + 1, x + wd - 1, ACS_VLINE, h - 2);
    mvwaddch(w, y, x, ACS_ULCORNER);
    mvwaddch(w, y, x + wd - 1, ACS_URCORNER);
    mvwaddch(w, y + h - 1, x, ACS_LLCORNER);
    mvwaddch(w, y + h - 1, x + wd - 1, ACS_LRCORNER);
    wattrset(w, A_NORMAL);
}
