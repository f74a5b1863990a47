#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

struct yv_table {
    const yv_column *cols;
    int ncols;
    yv_table_model model;
    void *ctx;
    size_t *vis, nvis;
    size_t sel, top;
    long sel_row; /* model row of the selection, kept across refreshes */
    char filter[128];
    int page; /* rows on screen at the last draw */
    /* the screen line of the first row and the rows drawn there (a mouse click's row) */
    int y0, nrows;
};

yv_table *yv_table_new(const yv_column *cols, int ncols, const yv_table_model *model, void *ctx)
{
    yv_table *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->cols = cols;
    t->ncols = ncols;
    t->model = *model;
    t->ctx = ctx;
    t->sel_row = -1;
    t->page = 10;
    yv_table_refresh(t);
    return t;
}

void yv_table_free(yv_table *t)
{
    if (!t) return;
    free(t->vis);
    free(t);
}

void yv_table_refresh(yv_table *t)
{
    size_t n = t->model.count(t->ctx);
    t->vis = realloc(t->vis, (n ? n : 1) * sizeof *t->vis);
    if (!t->vis) abort();
    t->nvis = 0;
    for (size_t i = 0; i < n; i++)
        if (!t->filter[0] || !t->model.match || t->model.match(t->ctx, i, t->filter))
            t->vis[t->nvis++] = i;
    size_t keep = t->sel;
    for (size_t i = 0; t->sel_row >= 0 && i < t->nvis; i++)
        if ((long)t->vis[i] == t->sel_row) keep = i;
    t->sel = t->nvis ? (keep < t->nvis ? keep : t->nvis - 1) : 0;
    t->sel_row = t->nvis ? (long)t->vis[t->sel] : -1;
}

void yv_table_set_filter(yv_table *t, const char *filter)
{
    snprintf(t->filter, sizeof t->filter, "%s", filter ? filter : "");
    yv_table_refresh(t);
}

const char *yv_table_filter(const yv_table *t)
{
    return t->filter;
}

long yv_table_selected(const yv_table *t)
{
    return t->nvis ? (long)t->vis[t->sel] : -1;
}

void yv_table_select(yv_table *t, size_t model_row)
{
    for (size_t i = 0; i < t->nvis; i++)
        if (t->vis[i] == model_row) {
            t->sel = i;
            t->sel_row = (long)model_row;
        }
}

size_t yv_table_visible(const yv_table *t)
{
    return t->nvis;
}

size_t yv_table_visible_row(const yv_table *t, size_t i)
{
    return t->vis[i];
}

long yv_table_row_at(const yv_table *t, int y)
{
    if (y < t->y0 || y >= t->y0 + t->nrows) return -1;
    size_t vi = t->top + (size_t)(y - t->y0);
    return vi < t->nvis ? (long)t->vis[vi] : -1;
}

static void move_sel(yv_table *t, long delta)
{
    if (!t->nvis) return;
    long s = (long)t->sel + delta;
    if (s < 0) s = 0;
    if (s >= (long)t->nvis) s = (long)t->nvis - 1;
    t->sel = (size_t)s;
    t->sel_row = (long)t->vis[t->sel];
}

bool yv_table_key(yv_table *t, int key)
{
    switch (key) {
    case KEY_UP:
    case 'k': move_sel(t, -1); return true;
    case KEY_DOWN:
    case 'j': move_sel(t, 1); return true;
    case KEY_PPAGE: move_sel(t, -t->page); return true;
    case KEY_NPAGE: move_sel(t, t->page); return true;
    case KEY_HOME: move_sel(t, -(long)t->nvis); return true;
    case KEY_END: move_sel(t, (long)t->nvis); return true;
    default: return false;
    }
}

/* Widths for this screen width: hidden columns get 0, the flexible one what is left. */
static void layout(const yv_table *t, int width, int *w)
{
    int used = 0, flex = -1;
    for (int c = 0; c < t->ncols; c++) {
        w[c] = width >= t->cols[c].min_cols ? t->cols[c].width : -1;
        if (w[c] == 0 && flex < 0) flex = c;
        else if (w[c] > 0) used += w[c] + 1;
    }
    if (flex >= 0) w[flex] = width - used - 1 > 4 ? width - used - 1 : 4;
}

void yv_table_draw(yv_table *t, WINDOW *w, int y, int x, int h, int width, const yv_theme *th)
{
    int cw[32], cx = x;
    char buf[256];
    layout(t, width, cw);
    attr_t hdr = yv_theme_attr(th, YV_C_HEADER);
    yv_draw_text(w, y, x, "", width, hdr);
    for (int c = 0; c < t->ncols && c < 32; c++) {
        if (cw[c] <= 0) continue;
        if (t->cols[c].right) yv_draw_text_right(w, y, cx, t->cols[c].title, cw[c], hdr);
        else yv_draw_text(w, y, cx, t->cols[c].title, cw[c], hdr);
        cx += cw[c] + 1;
    }
    int rows = h - 1;
    t->page = rows > 1 ? rows - 1 : 1;
    t->y0 = y + 1;
    t->nrows = rows;
    if (t->sel < t->top) t->top = t->sel;
    if (rows > 0 && t->sel >= t->top + (size_t)rows) t->top = t->sel - (size_t)rows + 1;
    if (t->top + (size_t)rows > t->nvis)
        t->top = t->nvis > (size_t)rows ? t->nvis - (size_t)rows : 0;
    for (int r = 0; r < rows; r++) {
        size_t vi = t->top + (size_t)r;
        int ry = y + 1 + r;
        if (vi >= t->nvis) {
            yv_draw_text(w, ry, x, "", width, yv_theme_attr(th, YV_C_NORMAL));
            continue;
        }
        bool sel = vi == t->sel;
        bool mk = t->model.marked && t->model.marked(t->ctx, t->vis[vi]);
        cx = x;
        yv_draw_text(w, ry, x, "", width, yv_theme_attr(th, sel ? YV_C_SELECTED : YV_C_NORMAL));
        for (int c = 0; c < t->ncols && c < 32; c++) {
            if (cw[c] <= 0) continue;
            yv_role role = YV_C_NORMAL;
            buf[0] = '\0';
            t->model.cell(t->ctx, t->vis[vi], c, buf, sizeof buf, &role);
            attr_t a = yv_theme_attr(th, sel ? YV_C_SELECTED : role);
            if (mk) a |= A_BOLD;
            if (t->cols[c].right) yv_draw_text_right(w, ry, cx, buf, cw[c], a);
            else yv_draw_text(w, ry, cx, buf, cw[c], a);
            cx += cw[c] + 1;
        }
    }
}
