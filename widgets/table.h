/* table: a scrollable, filterable list of rows in columns. It knows nothing of what the rows are:
 * the owner answers through callbacks (how many rows, the text and role of a cell, whether a row
 * matches the filter). */
#ifndef YV_TABLE_H
#define YV_TABLE_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "theme.h"

typedef struct {
    const char *title;
    int width;    /* cells; the first column with width 0 takes what is left */
    int min_cols; /* hidden when the screen is narrower than this */
    bool right;   /* right-aligned */
    bool off;     /* hidden until the user shows it (yv_table_set_shown): a column few need */
} yv_column;

typedef struct {
    size_t (*count)(void *ctx);
    /* Writes the cell text into buf; may set *role (default YV_C_NORMAL). */
    void (*cell)(void *ctx, size_t row, int col, char *buf, size_t n, yv_role *role);
    /* True when row matches filter (non-empty). NULL = every row matches. */
    bool (*match)(void *ctx, size_t row, const char *filter);
    /* The value a numeric cell sorts by into *v (true, unknown values "-" below every real one),
     * or false: the cell sorts by the text put into text (n bytes), or by its cell text when that
     * is left empty (a cell whose drawing costs what sorting must not: only rows drawn are
     * watched). NULL: every cell by its cell text. */
    bool (*sort_value)(void *ctx, size_t row, int col, double *v, char *text, size_t n);
    /* True when row is marked (drawn bold, and '*' in the gutter when it is on). NULL = none. */
    bool (*marked)(void *ctx, size_t row);
} yv_table_model;

typedef struct yv_table yv_table;

yv_table *yv_table_new(const yv_column *cols, int ncols, const yv_table_model *model, void *ctx);
void yv_table_free(yv_table *t);

/* Re-reads the model (rows added, removed or changed), keeping the selection on the same model row
 * when it is still visible. */
void yv_table_refresh(yv_table *t);
void yv_table_set_filter(yv_table *t, const char *filter);
const char *yv_table_filter(const yv_table *t);
/* Draws the header line at y and the rows below it, h lines in all. */
void yv_table_draw(yv_table *t, WINDOW *w, int y, int x, int h, int width, const yv_theme *th);
/* Navigation keys (arrows, j/k, PgUp/PgDn, Home/End). True when handled. */
bool yv_table_key(yv_table *t, int key);
/* The selected model row, or -1 when nothing is visible. */
long yv_table_selected(const yv_table *t);
void yv_table_select(yv_table *t, size_t model_row);
size_t yv_table_visible(const yv_table *t);
/* The model row of the i-th visible row (i < yv_table_visible), in the order drawn. */
size_t yv_table_visible_row(const yv_table *t, size_t i);
/* The model row drawn on screen line y at the last draw (a mouse click), or -1 (the header, below
 * the rows, nothing there). */
long yv_table_row_at(const yv_table *t, int y);
/* A one-cell column before the first, where a marked row gets its '*' (the cells keep their
 * width and text: a sort by name is not changed by a mark). Off: no gutter. */
void yv_table_set_gutter(yv_table *t, bool on);
/* For the next draw only: the window still holds what the last draw put there, at the same place
 * and untouched since (not erased), so only the cells that changed are put again. */
void yv_table_set_kept(yv_table *t, bool kept);

/* Sorting: rows in the order of column col's values (descending: desc), ties by the first
 * column's text; col -1 = the model's order. The selection stays on its model row. */
void yv_table_set_sort(yv_table *t, int col, bool desc);
int yv_table_sort_col(const yv_table *t);
bool yv_table_sort_desc(const yv_table *t);
/* The next (step 1) or previous (-1) column drawn to sort by (shown, and room for it at the last
 * draw), wrapping. */
void yv_table_sort_step(yv_table *t, int step);
/* Which columns are drawn (the user's choice, not the screen's width); the first always is. */
int yv_table_ncols(const yv_table *t);
const char *yv_table_col_title(const yv_table *t, int col);
bool yv_table_shown(const yv_table *t, int col);
void yv_table_set_shown(yv_table *t, int col, bool shown);

#endif
