#include "keybar.h"

#include "draw.h"

void yv_keybar_draw(WINDOW *w, int y, int width, const yv_keybar_item *items, int n,
                    const yv_theme *th)
{
    int x = 0;
    yv_draw_text(w, y, 0, "", width, yv_theme_attr(th, YV_C_KEYTEXT));
    for (int i = 0; i < n; i++) {
        int kw = yv_draw_width(items[i].key), lw = yv_draw_width(items[i].label);
        if (x + kw + 1 + lw > width) break; /* the item itself: the gap after it may be cut */
        yv_draw_text(w, y, x, items[i].key, kw, yv_theme_attr(th, YV_C_KEY));
        yv_draw_text(w, y, x + kw, " ", 1, yv_theme_attr(th, YV_C_KEYTEXT));
        yv_draw_text(w, y, x + kw + 1, items[i].label, lw, yv_theme_attr(th, YV_C_KEYTEXT));
        x += kw + lw + 3;
    }
}

void yv_keybar_status(WINDOW *w, int y, int width, const char *text, yv_role role,
                      const yv_theme *th)
{
    yv_draw_text(w, y, 0, text, width, yv_theme_attr(th, role));
}
