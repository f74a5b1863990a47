/* spark: a sparkline — a row of values drawn as bar heights in one line of cells (▁▂▃▄▅▆▇█, or
 * ASCII " .:-=+*#@" without a UTF-8 locale). It knows nothing of what the values are. */
#ifndef YV_SPARK_H
#define YV_SPARK_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

/* Writes the last `cells` of the n values (oldest first) as a NUL-terminated line into buf,
 * right-aligned (fewer values: blanks first), scaled to max (max <= 0: the largest value shown).
 * A zero or negative value is a blank, any positive one at least the lowest bar. Returns buf. */
char *yv_spark_render(const double *v, size_t n, double max, int cells, bool utf8, char *buf,
                      size_t size);
/* Whether the locale is UTF-8 (the glyphs to use). */
bool yv_spark_utf8(void);
/* Draws the line at (y, x) in `cells` cells with attr. */
void yv_spark_draw(WINDOW *w, int y, int x, const double *v, size_t n, double max, int cells,
                   attr_t attr);

#endif
