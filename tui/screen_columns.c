/* screen_columns: the F2 column setup (spec §15) — the list's columns with a check mark each,
 * Space shows or hides the selected one (the first, NAME, always shows), Enter or Esc closes and
 * run/tui.state remembers the choice. It works on the list's table widget, so a column added to
 * tui/screen_list.c appears here by itself. */
#include <curses.h>
#include <stdio.h>

#include "app.h"
#include "widgets/draw.h"

typedef struct {
    int sel;
    int first; /* the column on the box's first line: a short terminal scrolls to keep sel in */
} columns_st;

static void draw(yv_app *a, void *st)
{
    columns_st *s = st;
    yv_table *t = yv_list_table(a);
    int n = t ? yv_table_ncols(t) : 0, h = n + 4, w = 38;
    if (h > a->rows) h = a->rows; /* a small terminal: what fits */
    if (w > a->cols) w = a->cols;
    if (h < 3 || w < 12) return;
    int y = (a->rows - h) / 2 > 0 ? (a->rows - h) / 2 : 0;
    int x = (a->cols - w) / 2 > 0 ? (a->cols - w) / 2 : 0;
    attr_t box = yv_theme_attr(&a->theme, YV_C_NORMAL);
    char line[64];
    curs_set(0);
    yv_draw_box(stdscr, y, x, h, w, box);
    yv_draw_text(stdscr, y, x + 2, " Columns ", w - 4 < 9 ? w - 4 : 9,
                 yv_theme_attr(&a->theme, YV_C_TITLE));
    int lines = n + 2 < h ? h - 3 : h - 2; /* the hint line needs one */
    if (s->sel < s->first) s->first = s->sel;
    if (s->sel >= s->first + lines) s->first = s->sel - lines + 1;
    for (int c = s->first; c < n && c - s->first < lines; c++) {
        snprintf(line, sizeof line, " [%c] %s%s", yv_table_shown(t, c) ? 'x' : ' ',
                 yv_table_col_title(t, c), c == 0 ? " (always)" : "");
        attr_t at = yv_theme_attr(&a->theme, c == s->sel ? YV_C_SELECTED : YV_C_NORMAL);
        yv_draw_text(stdscr, y + 1 + c - s->first, x + 1, line, w - 2, at);
    }
    if (n + 2 < h)
        yv_draw_text(stdscr, y + h - 2, x + 1, " Space toggles, Enter/Esc closes", w - 2,
                     yv_theme_attr(&a->theme, YV_C_DIM));
}

static int key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    columns_st *s = st;
    yv_table *t = yv_list_table(a);
    int n = t ? yv_table_ncols(t) : 0;
    if ((is_key && ch == KEY_UP) || (!is_key && ch == L'k')) s->sel = s->sel > 0 ? s->sel - 1 : 0;
    else if ((is_key && ch == KEY_DOWN) || (!is_key && ch == L'j'))
        s->sel = s->sel + 1 < n ? s->sel + 1 : s->sel;
    else if (!is_key && ch == L' ' && t) {
        if (s->sel == 0) yv_app_status(a, true, "%s always shows", yv_table_col_title(t, 0));
        else yv_table_set_shown(t, s->sel, !yv_table_shown(t, s->sel));
    } else if ((!is_key && (ch == 27 || ch == L'\n' || ch == L'\r' || ch == L'q')) ||
               (is_key && (ch == KEY_ENTER || ch == KEY_F(2)))) {
        yv_list_save(a);
        yv_screen_pop(&a->screens);
    } else return KEY_IGNORED;
    return KEY_REDRAW;
}

const yv_screen_class yv_columns_screen = {
    .name = "columns",
    .size = sizeof(columns_st),
    .overlay = true,
    .draw = draw,
    .key = key,
};
