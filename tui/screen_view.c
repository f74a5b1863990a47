/* screen_view: a running VM's screen, full screen, and the keys typed go to the guest (spec §12).
 * The terminal is in raw mode while it shows, so Ctrl-C, Ctrl-Z and Ctrl-\ are keys for the guest,
 * not signals for the TUI; Ctrl-] leaves. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "core/remote.h"
#include "core/util.h"
#include "keysym.h"
#include "livepic.h"
#include "widgets/draw.h"

#define CTRL_RIGHT_BRACKET 0x1d

typedef struct {
    char vm[128];
    yv_livepic pic;
} view_st;

/* The forward of a remote VM's display ends with its view: cancelled, its socket removed, the
 * password wiped. */
static void remote_done(yv_app *a)
{
    char name[64];
    yv_err e;
    if (!a->rview.vm[0]) return;
    yv_remote *r = yv_monitor_remote_of(a->mon, a->rview.vm, name);
    if (r && yv_remote_forward(r, false, a->rview.sock, a->rview.host, a->rview.port, &e) < 0)
        fprintf(stderr, "yave-tui: %s\n", e.msg); /* run/tui.log (yv_err escapes messages) */
    unlink(a->rview.sock);
    yv_free_secret(a->rview.password);
    memset(&a->rview, 0, sizeof a->rview);
}

void yv_view_remote_ready(yv_app *a, const char *vm, const struct json_t *res)
{
    static unsigned seq;
    char name[64];
    yv_err e;
    yv_remote *r = yv_monitor_remote_of(a->mon, vm, name);
    const char *host = json_string_value(json_object_get(res, "host"));
    json_int_t port = json_integer_value(json_object_get(res, "port"));
    const char *pw = json_string_value(json_object_get(res, "password"));
    if (!res || !r) return; /* the failure is on the status line */
    /* the answer is the host's: a numeric address (the forward's far end, on the host) or none */
    unsigned char any[sizeof(struct in6_addr)];
    if (!host || strlen(host) >= sizeof a->rview.host || port < 1 || port > 65535 ||
        (inet_pton(AF_INET, host, any) != 1 && inet_pton(AF_INET6, host, any) != 1))
        return yv_app_status(a, true, "%s: the host's answer names no display", vm);
    /* the answer may come late: only over the list, never over a question or another view, and
     * never while a console or ssh has the terminal (raw mode would be taken from it) */
    const yv_screen *top = yv_screen_top(&a->screens);
    if (a->fg_pid > 0 || !top || top->cls != &yv_list_screen)
        return yv_app_status(
            a, true, "%s: its display is ready, but another screen is up: press v again", vm);
    remote_done(a); /* one view at a time */
    snprintf(a->rview.sock, sizeof a->rview.sock, "%s/view-%d-%u.sock", yv_remote_ctl(r),
             (int)getpid(), seq++);
    unlink(a->rview.sock); /* a killed TUI's, if the pid came back */
    if (yv_remote_forward(r, true, a->rview.sock, host, (int)port, &e) < 0) {
        memset(&a->rview, 0, sizeof a->rview);
        return yv_app_status(a, true, "%s", e.msg);
    }
    snprintf(a->rview.vm, sizeof a->rview.vm, "%s", vm);
    snprintf(a->rview.host, sizeof a->rview.host, "%s", host);
    a->rview.port = (int)port;
    a->rview.password = pw ? yv_strdup(pw) : NULL;
    yv_screen_push(&a->screens, &yv_view_screen, vm);
}

static void init(yv_app *a, void *st, const void *vm)
{
    view_st *s = st;
    snprintf(s->vm, sizeof s->vm, "%s", (const char *)vm);
    yv_livepic_open(&s->pic, a, s->vm, 0, true);
    raw(); /* the guest's keys: no signals from the terminal while the view is up */
}

static void done(yv_app *a, void *st)
{
    view_st *s = st;
    yv_livepic_close(&s->pic);
    if (!strcmp(a->rview.vm, s->vm)) remote_done(a);
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
