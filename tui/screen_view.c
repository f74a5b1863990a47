/* screen_view: a running VM's screen, full screen, and the keys typed go to the guest (spec §12).
 * The terminal is in raw mode while it shows, so Ctrl-C, Ctrl-Z and Ctrl-\ are keys for the guest,
 * not signals for the TUI; Ctrl-] leaves. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "keysym.h"
#include "livepic.h"
#include "widgets/draw.h"

#define CTRL_RIGHT_BRACKET 0x1d

typedef struct {
    char vm[64];
    yv_livepic pic;
} view_st;

static void init(yv_app *a, void *st, const void *vm)
{
    view_st *s = st;
    snprintf(s->vm, sizeof s->vm, "%s", (const char *)vm);
    yv_livepic_open(&s->pic, a, s->vm, 0, true);
    raw(); /* the guest's keys: no signals from the terminal while the view is up */
}

static void done(yv_app *a, void *st)
{
    (void)a;
    view_st *s = st;
    yv_livepic_close(&s->pic);
    if (!isendwin()) { /* after endwin the terminal is the shell's again: never touched */
        noraw();
        cbreak();
    }
}

static void draw(yv_app *a, void *st)
{
    view_st *s = st;
    char state[300], line[512];
    curs_set(0);
    yv_livepic_draw(&s->pic, stdscr, 0, 0, a->rows - 1, a->cols,
                    yv_theme_attr(&a->theme, YV_C_NORMAL));
    yv_livepic_state(&s->pic, state, sizeof state);
    snprintf(line, sizeof line, " %s — %s — keys go to the guest — Ctrl-] leaves", s->vm, state);
    yv_draw_text(stdscr, a->rows - 1, 0, line, a->cols, yv_theme_attr(&a->theme, YV_C_KEYTEXT));
}

static int key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    view_st *s = st;
    if (!is_key && ch == CTRL_RIGHT_BRACKET) {
        yv_screen_pop(&a->screens);
        return KEY_REDRAW;
    }
    if (is_key && ch == KEY_RESIZE) return KEY_REDRAW;
    yv_keysym_ev ev[YV_KEYSYM_MAX];
    yv_vncview_keyev kev[YV_KEYSYM_MAX];
    int n = yv_keysym_events(ch, is_key, ev);
    if (!s->pic.vnc || !n) return KEY_HANDLED;
    for (int i = 0; i < n; i++) kev[i] = (yv_vncview_keyev){ev[i].sym, ev[i].down};
    yv_vncview_keys(s->pic.vnc, kev, (size_t)n); /* a key's events together: no Shift left held */
    return KEY_HANDLED;
}

static int pollfd(yv_app *a, void *st, int *timeout_ms)
{
    (void)a;
    return yv_livepic_pollfd(&((view_st *)st)->pic, timeout_ms);
}

static int ready(yv_app *a, void *st, short revents)
{
    (void)a;
    return yv_livepic_ready(&((view_st *)st)->pic, revents) ? KEY_REDRAW : KEY_IGNORED;
}

static void drawn(yv_app *a, void *st, bool repainted)
{
    (void)a;
    yv_livepic_drawn(&((view_st *)st)->pic, repainted);
}

const yv_screen_class yv_view_screen = {
    .name = "view",
    .size = sizeof(view_st),
    .init = init,
    .draw = draw,
    .key = key,
    .done = done,
    .pollfd = pollfd,
    .ready = ready,
    .drawn = drawn,
};
