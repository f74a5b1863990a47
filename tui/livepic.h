/* livepic: a running VM's screen as a picture in a screen of the TUI (spec §12) — the VNC view
 * (core/vncview) feeding a picture (widgets/picture) at the rate the screen asks: the full-screen
 * view takes every update, the details' thumbnail one every 2 s. Rendering happens when the
 * screen draws, for the region that changed since. */
#ifndef YV_LIVEPIC_H
#define YV_LIVEPIC_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/vncview.h"
#include "widgets/picture.h"

typedef struct yv_app yv_app;

typedef struct {
    yv_app *app;
    char vm[128]; /* "vm@host" for a remote host's */
    pid_t pid;    /* the QEMU whose display it shows: another one (or none) ends the view */
    yv_vncview *vnc;
    yv_vncview_frame frame;
    yv_picture *pic;
    yv_pic_colors colors;
    yv_pic_symbols symbols;
    char why[256]; /* why there is no view at all (no display, a library missing); "" when open */
    int min_ms;    /* at most one new picture per min_ms; 0: every update */
    int64_t last_take;
    bool pending;           /* an update waits for min_ms to pass */
    yv_pic_rect dirty;      /* taken, not rendered yet (w == 0: nothing) */
    bool have;              /* a picture has been taken */
    int rows, cols, y, x;   /* the area it was last drawn into */
    int pw, ph;             /* the size of the picture drawn there */
    bool direct;            /* truecolor cells written past curses after each frame (the view) */
    yv_vncview_state shown; /* the state the screen last heard of (a change redraws) */
    char shown_why[200];
} yv_livepic;

/* Opens the view of VM vm's display; false with p->why set when it cannot (p is usable anyway:
 * draw shows why). */
bool yv_livepic_open(yv_livepic *p, yv_app *a, const char *vm, int min_ms, bool direct);
void yv_livepic_close(yv_livepic *p);
int yv_livepic_pollfd(yv_livepic *p, int *timeout_ms);
/* After a wake-up: takes what changed when min_ms allows; true when the screen must draw. */
bool yv_livepic_ready(yv_livepic *p, short revents);
/* Draws the picture fitted into rows × cols at (y, x), or what stands in its place (connecting,
 * no picture and why). attr: for that text. */
void yv_livepic_draw(yv_livepic *p, WINDOW *w, int y, int x, int rows, int cols, attr_t attr);
/* After the frame is on the terminal (truecolor: the exact colours go out now). */
void yv_livepic_drawn(yv_livepic *p, bool repainted);
/* The state in a few words: "live 720x400 (256 colours)", "connecting…", "no picture: why". */
void yv_livepic_state(yv_livepic *p, char *buf, size_t n);

#endif
