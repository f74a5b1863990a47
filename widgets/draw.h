/* draw: text that fits — UTF-8 strings cut and padded by display width, boxes. */
#ifndef YV_DRAW_H
#define YV_DRAW_H

#include <curses.h>

/* Writes s at (y, x) in exactly `width` cells (cut or padded with spaces), with attr. */
void yv_draw_text(WINDOW *w, int y, int x, const char *s, int width, attr_t attr);
/* Like yv_draw_text, right-aligned. */
void yv_draw_text_right(WINDOW *w, int y, int x, const char *s, int width, attr_t attr);
/* Display width of a UTF-8 string (invalid bytes count as one cell). */
int yv_draw_width(const char *s);
/* Fills a rectangle with spaces in attr and draws a border. */
void yv_draw_box(WINDOW *w, int y, int x, int h, int wd, attr_t attr);

#endif
