/* picture: a picture drawn with character cells (spec §12). libchafa turns RGBA pixels into
 * symbols (sextants, half blocks or ASCII) and colours (truecolor, 256, 16, 8 or none); the widget
 * keeps the cells and puts them into an ncurses window with colour pairs from a pool of its own,
 * counted by the cells that use them, so a pair is never redefined while a cell on the screen shows
 * it and the 256-colour case never runs out (when the pairs are all taken, the nearest pair in use
 * stands in). Only the cells over a changed region are rendered again. Knows nothing of VMs.
 * libchafa is loaded with dlopen when the first picture is made (it pulls GLib). */
#ifndef YV_PICTURE_H
#define YV_PICTURE_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { YV_PIC_MONO, YV_PIC_8, YV_PIC_16, YV_PIC_256, YV_PIC_TRUECOLOR } yv_pic_colors;
typedef enum { YV_PIC_ASCII, YV_PIC_HALF, YV_PIC_SEXTANT } yv_pic_symbols;

typedef struct {
    int x, y, w, h;
} yv_pic_rect;

/* What a terminal allows, from its environment: no_color ($NO_COLOR set and not empty) → MONO;
 * colorterm ($COLORTERM "truecolor" or "24bit") → TRUECOLOR; else ncolors (terminfo's, COLORS
 * after start_color) ≥ 256 → 256, ≥ 16 → 16, ≥ 8 → 8, else MONO. */
yv_pic_colors yv_picture_colors_for(const char *no_color, const char *colorterm, int ncolors);
/* ASCII without a UTF-8 locale; half blocks on the Linux console (term "linux*"); else sextants. */
yv_pic_symbols yv_picture_symbols_for(const char *term, bool utf8);
/* Both for this process's terminal (after initscr and start_color). */
void yv_picture_detect(yv_pic_colors *colors, yv_pic_symbols *symbols);
const char *yv_picture_colors_name(yv_pic_colors c); /* "truecolor", "256", "16", "8", "mono" */

/* The cell area (cols × rows) a w × h picture fills with its aspect kept, a cell being about
 * twice as tall as wide: the fitted size and its offset to be centred. */
yv_pic_rect yv_picture_fit(int w, int h, int cols, int rows);

typedef struct yv_picture yv_picture;

/* first_pair: the first colour pair the picture may define (those below are the theme's); NULL
 * with the reason in err when libchafa cannot be loaded. */
yv_picture *yv_picture_new(yv_pic_colors colors, yv_pic_symbols symbols, int first_pair, char *err,
                           size_t errlen);
void yv_picture_free(yv_picture *p);
/* Renders the cells over `dirty` (NULL: all) of the w × h RGBA picture (stride bytes per row)
 * fitted into cols × rows cells; a new size of either renders everything again. */
void yv_picture_update(yv_picture *p, const uint8_t *rgba, int w, int h, size_t stride,
                       const yv_pic_rect *dirty, int cols, int rows);
/* Puts the cells into win with their top-left corner at (y, x) (the fit's offset is added). */
void yv_picture_draw(yv_picture *p, WINDOW *win, int y, int x);
/* TRUECOLOR only (no-op otherwise): ncurses shows a terminal's 256 colours unless its terminfo
 * has direct colour, so after doupdate the cells whose exact colour is not yet on the terminal are
 * written to fd with their own 24-bit SGR; the cursor and attributes are put back as ncurses left
 * them. all: every cell (after anything repainted the screen). Returns bytes written. */
size_t yv_picture_flush_direct(yv_picture *p, int fd, int y, int x, bool all);

#endif
