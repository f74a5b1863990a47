#include "table.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "draw.h"

#define MAX_COLS 32

/* What the last draw put on a line of the table, so that a draw over it (yv_table_set_kept) puts
 * again only what changed: an idle list changes two cells a row a second (issue 16). Hashes, not
 * texts (64-bit FNV-1a over what decides the cells): a cell whose text changed to one of the same
 * hash would keep showing the old one until it changes again, at odds of 2^-64 a change. */
typedef struct {
    uint64_t line;           /* the line's own: layout, selection, mark (0: nothing known) */
    uint64_t cell[MAX_COLS]; /* each cell's text and attributes */
} drawn_line;

/* A visible row's sort key, read once per refresh (qsort compares these, never the model). */
typedef struct {
    size_t row;
    bool num;
    double v;
    char text[64], tie[64];
} sort_key;

struct yv_table {
    const yv_column *cols;
    int ncols;
    yv_table_model model;
    void *ctx;
    size_t *vis, nvis;
    size_t sel, top;
    long sel_row; /* model row of the selection, kept across refreshes */
    char filter[128];
    int page;             /* rows on screen at the last draw */
    int sort_col;         /* -1: the model's order */
    int width;            /* of the last draw (0: none yet) */
    int last_w[MAX_COLS]; /* each column's width at the last draw, <= 0: not drawn */
    bool sort_desc;
    bool shown[MAX_COLS];
    sort_key *keys;
    /* the screen line of the first row and the rows drawn there (a mouse click's row) */
    int y0, nrows;
    bool gutter;   /* a one-cell column before the first: the marked rows' glyph */
    bool kept;     /* the next draw is over the last one (yv_table_set_kept) */
    uint64_t area; /* where the last draw was: a draw elsewhere is never over it */
    uint64_t header;
    drawn_line *drawn; /* a line per row on screen at the last draw */
    int ndrawn;
};

yv_table *yv_table_new(const yv_column *cols, int ncols, const yv_table_model *model, void *ctx)
{
    yv_table *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->cols = cols;
    t->ncols = ncols < MAX_COLS ? ncols : MAX_COLS;
    t->model = *model;
    t->sort_col = -1;
    for (int c = 0; c < t->ncols; c++) t->shown[c] = c == 0 || !cols[c].off;
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
    free(t->keys);
    free(t->drawn);
    free(t);
}

static int cmp_key(const sort_key *a, const sort_key *b, bool desc)
{
    int c = 0;
    if (a->num && b->num) c = a->v < b->v ? -1 : a->v > b->v;
    else if (a->num != b->num) c = a->num ? 1 : -1; /* text ("-") below numbers */
    else c = strverscmp(a->text, b->text); /* lowercased: ":2" before ":10", ".9" before ".10" */
    if (desc) c = -c;
    if (!c) c = strcasecmp(a->tie, b->tie); /* ties by name, whichever way */
    if (!c) c = a->row < b->row ? -1 : a->row > b->row;
    return c;
}

static int cmp_asc(const void *a, const void *b)
{
    return cmp_key(a, b, false);
}

static int cmp_desc(const void *a, const void *b)
{
    return cmp_key(a, b, true);
}

/* Orders vis by the sort column: each row's key read once, then sorted. */
static void sort_rows(yv_table *t)
{
    if (t->sort_col < 0 || t->nvis < 2) return;
    t->keys = realloc(t->keys, t->nvis * sizeof *t->keys);
    if (!t->keys) abort();
    for (size_t i = 0; i < t->nvis; i++) {
        sort_key *k = &t->keys[i];
        yv_role role = YV_C_NORMAL;
        k->row = t->vis[i];
        k->text[0] = k->tie[0] = '\0';
        k->num = t->model.sort_value &&
                 t->model.sort_value(t->ctx, k->row, t->sort_col, &k->v, k->text, sizeof k->text);
        if (!k->num && !k->text[0])
            t->model.cell(t->ctx, k->row, t->sort_col, k->text, sizeof k->text, &role);
        for (char *p = k->text; *p; p++) *p = (char)tolower((unsigned char)*p);
        t->model.cell(t->ctx, k->row, 0, k->tie, sizeof k->tie, &role);
    }
    qsort(t->keys, t->nvis, sizeof *t->keys, t->sort_desc ? cmp_desc : cmp_asc);
    for (size_t i = 0; i < t->nvis; i++) t->vis[i] = t->keys[i].row;
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
    sort_rows(t);
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

void yv_table_set_sort(yv_table *t, int col, bool desc)
{
    t->sort_col = col >= 0 && col < t->ncols ? col : -1;
    t->sort_desc = t->sort_col >= 0 && desc;
    yv_table_refresh(t);
}

int yv_table_sort_col(const yv_table *t)
{
    return t->sort_col;
}

bool yv_table_sort_desc(const yv_table *t)
{
    return t->sort_desc;
}

void yv_table_sort_step(yv_table *t, int step)
{
    int c = t->sort_col < 0 ? 0 : t->sort_col;
    for (int i = 0; i < t->ncols; i++) {
        c = (c + step + t->ncols) % t->ncols;
        /* a column the screen has no room for could not show its arrow either */
        if (t->shown[c] && !(t->width && t->last_w[c] <= 0)) break;
    }
    yv_table_set_sort(t, c, t->sort_desc);
}

int yv_table_ncols(const yv_table *t)
{
    return t->ncols;
}

const char *yv_table_col_title(const yv_table *t, int col)
{
    return col >= 0 && col < t->ncols ? t->cols[col].title : "";
}

bool yv_table_shown(const yv_table *t, int col)
{
    return col >= 0 && col < t->ncols && t->shown[col];
}

/* A hidden sort column could not say it sorts: the model's order comes back. */
void yv_table_set_shown(yv_table *t, int col, bool shown)
{
    if (col <= 0 || col >= t->ncols || col >= MAX_COLS) return;
    t->shown[col] = shown;
    if (!shown && t->sort_col == col) yv_table_set_sort(t, -1, false);
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

/* Widths for this screen width: hidden columns, and those that do not fit, get -1 (never cut at
 * the right edge: its sort arrow would not show); the flexible one what is left, at least its
 * title and an arrow. The first column always shows, cut to the screen if need be. */
static void layout(const yv_table *t, int width, int *w)
{
    int used = 0, flex = -1, need = 0;
    for (int c = 0; c < t->ncols; c++)
        if (flex < 0 && t->shown[c] && width >= t->cols[c].min_cols && !t->cols[c].width) {
            flex = c;
            need = yv_draw_width(t->cols[c].title) + 1;
        }
    for (int c = 0; c < t->ncols; c++) {
        w[c] = t->shown[c] && width >= t->cols[c].min_cols ? t->cols[c].width : -1;
        if (c == flex || w[c] <= 0) continue;
        int room = width - used - (flex >= 0 ? need + 2 : 0);
        if (c == 0 && w[c] > room) w[c] = room > 1 ? room : 1;
        if (w[c] > room) w[c] = -1;
        else used += w[c] + 1;
    }
    if (flex >= 0) w[flex] = width - used - 1 > need ? width - used - 1 : need;
}

/* The titles; the sort column's says its direction (an arrow, ^ or v without UTF-8). */
static void draw_header(const yv_table *t, WINDOW *w, int y, int x, int width, const int *cw,
                        attr_t hdr)
{
    bool utf8 = MB_CUR_MAX > 1;
    char title[64];
    yv_draw_text(w, y, x, "", width, hdr);
    for (int c = 0, cx = x; c < t->ncols; c++) {
        if (cw[c] <= 0) continue;
        const char *arrow = t->sort_desc ? (utf8 ? "▼" : "v") : (utf8 ? "▲" : "^");
        snprintf(title, sizeof title, "%s%s", t->cols[c].title, c == t->sort_col ? arrow : "");
        attr_t a = c == t->sort_col ? hdr | A_BOLD : hdr;
        /* a title that fills its column takes the gap to its left for the arrow (VCPU▼) */
        bool gap = t->cols[c].right && cx > x && yv_draw_width(title) > cw[c];
        if (t->cols[c].right) yv_draw_text_right(w, y, cx - gap, title, cw[c] + gap, a);
        else yv_draw_text(w, y, cx, title, cw[c], a);
        cx += cw[c] + 1;
    }
}

void yv_table_set_gutter(yv_table *t, bool on)
{
    t->gutter = on;
}

void yv_table_set_kept(yv_table *t, bool kept)
{
    t->kept = kept;
}

#define FNV_START 14695981039346656037ULL

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

#define FNV_OF(h, v) fnv((h), &(v), sizeof(v))

/* What decides a line's layout: where the columns are, and how wide. */
static uint64_t layout_hash(int gx, int x, int width, const int *cw, int ncols)
{
    uint64_t h = FNV_OF(FNV_OF(FNV_OF(FNV_START, gx), x), width);
    return fnv(h, cw, (size_t)ncols * sizeof *cw);
}

/* The lines of the last draw, one per row of this one (none known: drawn whole). */
static drawn_line *drawn_lines(yv_table *t, int rows, bool kept)
{
    if (rows > t->ndrawn) {
        drawn_line *d = realloc(t->drawn, (size_t)rows * sizeof *d);
        if (!d) abort();
        memset(d + t->ndrawn, 0, (size_t)(rows - t->ndrawn) * sizeof *d);
        t->drawn = d;
        t->ndrawn = rows;
    }
    if (!kept && t->ndrawn) memset(t->drawn, 0, (size_t)t->ndrawn * sizeof *t->drawn);
    return t->drawn;
}

/* A row's cells, each put only when the line is drawn whole or the cell changed since the last
 * draw there. */
static void draw_cells(yv_table *t, WINDOW *w, int ry, int x, const int *cw, size_t row, bool sel,
                       bool mk, bool whole, drawn_line *d, const yv_theme *th)
{
    char buf[256];
    for (int c = 0, cx = x; c < t->ncols; c++) {
        if (cw[c] <= 0) continue;
        yv_role role = YV_C_NORMAL;
        buf[0] = '\0';
        t->model.cell(t->ctx, row, c, buf, sizeof buf, &role);
        attr_t a = yv_theme_attr(th, sel ? YV_C_SELECTED : role);
        if (mk) a |= A_BOLD;
        uint64_t h = FNV_OF(fnv(FNV_START, buf, strlen(buf)), a);
        if (whole || d->cell[c] != h) {
            if (t->cols[c].right) yv_draw_text_right(w, ry, cx, buf, cw[c], a);
            else yv_draw_text(w, ry, cx, buf, cw[c], a);
            d->cell[c] = h;
        }
        cx += cw[c] + 1;
    }
}

void yv_table_draw(yv_table *t, WINDOW *w, int y, int x, int h, int width, const yv_theme *th)
{
    int cw[MAX_COLS], gx = x;
    uint64_t area = FNV_OF(FNV_OF(FNV_OF(FNV_OF(FNV_OF(FNV_START, w), y), x), h), width);
    bool kept = t->kept && area == t->area;
    t->kept = false;
    t->area = area;
    attr_t hdr = yv_theme_attr(th, YV_C_HEADER), normal = yv_theme_attr(th, YV_C_NORMAL);
    if (t->gutter && width > 1)
        x++, width--; /* the columns start after it: no cell gives its room */
    t->width = width;
    layout(t, width, cw);
    memcpy(t->last_w, cw, (size_t)t->ncols * sizeof *cw);
    uint64_t lay = layout_hash(gx, x, width, cw, t->ncols);
    uint64_t hh = FNV_OF(FNV_OF(FNV_OF(lay, hdr), t->sort_col), t->sort_desc);
    if (!kept || hh != t->header) {
        if (x > gx) yv_draw_text(w, y, gx, "", 1, hdr);
        draw_header(t, w, y, x, width, cw, hdr);
        t->header = hh;
    }
    int rows = h - 1;
    t->page = rows > 1 ? rows - 1 : 1;
    t->y0 = y + 1;
    t->nrows = rows;
    if (t->sel < t->top) t->top = t->sel;
    if (rows > 0 && t->sel >= t->top + (size_t)rows) t->top = t->sel - (size_t)rows + 1;
    if (t->top + (size_t)rows > t->nvis)
        t->top = t->nvis > (size_t)rows ? t->nvis - (size_t)rows : 0;
    drawn_line *lines = drawn_lines(t, rows, kept);
    for (int r = 0; r < rows; r++) {
        size_t vi = t->top + (size_t)r;
        int ry = y + 1 + r;
        drawn_line *d = &lines[r];
        if (vi >= t->nvis) { /* below the rows: blank */
            uint64_t lh = FNV_OF(FNV_OF(lay, normal), ry);
            if (d->line != lh) yv_draw_text(w, ry, gx, "", width + (x - gx), normal);
            d->line = lh;
            continue;
        }
        bool sel = vi == t->sel;
        bool mk = t->model.marked && t->model.marked(t->ctx, t->vis[vi]);
        attr_t base = yv_theme_attr(th, sel ? YV_C_SELECTED : YV_C_NORMAL);
        uint64_t lh = FNV_OF(FNV_OF(FNV_OF(lay, base), sel), mk);
        bool whole = d->line != lh;
        if (whole) {
            if (x > gx) /* the mark: a glyph also without colours or bold */
                yv_draw_text(w, ry, gx, mk ? "*" : "", 1, base | (mk ? A_BOLD : 0));
            yv_draw_text(w, ry, x, "", width, base);
            d->line = lh;
        }
        draw_cells(t, w, ry, x, cw, t->vis[vi], sel, mk, whole, d, th);
    }
}
