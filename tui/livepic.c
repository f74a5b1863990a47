#include "livepic.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "core/util.h"
#include "core/valid.h"
#include "widgets/draw.h"

/* Where QEMU's VNC server is reached from this host: a wildcard listen address is reached on the
 * loopback address of its family. */
static const char *connect_host(const char *listen)
{
    if (!listen || !*listen || !strcmp(listen, "0.0.0.0")) return "127.0.0.1";
    if (!strcmp(listen, "::")) return "::1";
    return listen;
}

bool yv_livepic_open(yv_livepic *p, yv_app *a, const char *vm, int min_ms, bool direct)
{
    memset(p, 0, sizeof *p);
    p->min_ms = min_ms;
    p->direct = direct;
    p->app = a;
    snprintf(p->vm, sizeof p->vm, "%s", vm);
    const yv_monitor_vm *v = yv_monitor_find(a->mon, vm);
    int disp = v && v->valid ? yv_valid_display_number(v->vm.vnc_display) : -1;
    if (!v || v->pid <= 0) {
        snprintf(p->why, sizeof p->why, "%s is not running", vm);
        return false;
    }
    if (disp < 0) {
        snprintf(p->why, sizeof p->why, "%s has no VNC display", vm);
        return false;
    }
    if (has_colors() && COLORS <= 0) start_color(); /* the mono theme does not start colours */
    yv_picture_detect(&p->colors, &p->symbols);
    char err[256] = "";
    if (!(p->pic = yv_picture_new(p->colors, p->symbols, YV_C_COUNT + 1, err, sizeof err))) {
        snprintf(p->why, sizeof p->why, "cannot draw pictures: %s", err);
        return false;
    }
    yv_err e;
    yv_vncview_opts o = {.host = connect_host(a->cfg.vnc_listen),
                         .port = 5900 + disp,
                         .password = v->vm.vnc_password};
    if (v->host) { /* a remote host's VM (spec §14): its display forwarded here by ssh */
        if (strcmp(a->rview.vm, vm) != 0) {
            snprintf(p->why, sizeof p->why, "%s: its display is not forwarded here", vm);
            return false;
        }
        o = (yv_vncview_opts){.host = a->rview.sock, .password = a->rview.password};
    }
    if (!(p->vnc = yv_vncview_open(&o, &e))) {
        snprintf(p->why, sizeof p->why, "%s", e.msg);
        return false;
    }
    p->pid = v->pid;
    return true;
}

/* The view ends with the QEMU it was opened for: the port may be another program's next (a
 * new VM takes the lowest free display), and keys typed there would go to it. */
static bool same_qemu(yv_livepic *p)
{
    const yv_monitor_vm *v = yv_monitor_find(p->app->mon, p->vm);
    if (v && v->pid == p->pid) return true;
    yv_vncview_close(p->vnc);
    p->vnc = NULL;
    p->have = false;
    snprintf(p->why, sizeof p->why, "%s %s", p->vm, v && v->pid > 0 ? "was restarted" : "stopped");
    return false;
}

void yv_livepic_close(yv_livepic *p)
{
    if (p->vnc) yv_vncview_close(p->vnc);
    if (p->pic) yv_picture_free(p->pic);
    yv_vncview_frame_done(&p->frame);
    memset(p, 0, sizeof *p);
}

int yv_livepic_pollfd(yv_livepic *p, int *timeout_ms)
{
    if (!p->vnc) return -1;
    if (p->pending) { /* wake when the held-back update may be taken */
        int64_t wait = p->last_take + p->min_ms - yv_now_ms();
        int w = wait < 0 ? 0 : (int)wait;
        if (*timeout_ms < 0 || w < *timeout_ms) *timeout_ms = w;
    }
    return yv_vncview_fd(p->vnc);
}

/* The union of two rectangles (an empty one is w == 0). */
static yv_pic_rect rect_union(yv_pic_rect a, yv_pic_rect b)
{
    if (!a.w) return b;
    if (!b.w) return a;
    int x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
    int x1 = a.x + a.w > b.x + b.w ? a.x + a.w : b.x + b.w;
    int y1 = a.y + a.h > b.y + b.h ? a.y + a.h : b.y + b.h;
    return (yv_pic_rect){x0, y0, x1 - x0, y1 - y0};
}

static const char *state_word(yv_vncview_state s)
{
    return s == YV_VNCVIEW_LIVE ? "live" : s == YV_VNCVIEW_CONNECTING ? "connecting" : "no picture";
}

bool yv_livepic_ready(yv_livepic *p, short revents)
{
    if (!p->vnc) return false;
    if (!same_qemu(p)) return true;
    bool changed = false;
    if (revents) {
        yv_vncview_handle(p->vnc);
        p->pending = true;
        /* a new state shows at once; a new picture waits for min_ms (the thumbnail) */
        char why[sizeof p->shown_why];
        yv_vncview_state st = yv_vncview_state_now(p->vnc, why, sizeof why);
        if (st != p->shown || strcmp(why, p->shown_why) != 0) {
            p->shown = st;
            snprintf(p->shown_why, sizeof p->shown_why, "%s", why);
            changed = true;
            fprintf(stderr, "screen of %s: %s%s%s\n", p->vm, state_word(st), *why ? ": " : "",
                    why); /* run/tui.log: what a user saw, for a report */
        }
    }
    int64_t now = yv_now_ms();
    if (!p->pending || now - p->last_take < p->min_ms) return changed;
    p->pending = false;
    p->last_take = now;
    int w = p->frame.width, h = p->frame.height;
    if (!yv_vncview_take(p->vnc, &p->frame)) return changed;
    yv_vncview_rect d = p->frame.dirty;
    bool all = w != p->frame.width || h != p->frame.height || !p->have; /* a new size */
    if (!all && !d.w) return changed; /* woken by a state change only */
    if (all) d = (yv_vncview_rect){0, 0, p->frame.width, p->frame.height};
    p->dirty = rect_union(p->dirty, (yv_pic_rect){d.x, d.y, d.w, d.h});
    p->have = true;
    return true;
}

static void draw_text_centred(WINDOW *w, int y, int x, int rows, int cols, const char *s,
                              attr_t attr)
{
    int len = yv_draw_width(s);
    int cx = len >= cols ? 0 : (cols - len) / 2;
    yv_draw_text(w, y + rows / 2, x + cx, s, cols - cx, attr);
}

void yv_livepic_draw(yv_livepic *p, WINDOW *w, int y, int x, int rows, int cols, attr_t attr)
{
    char st[300];
    bool live = p->vnc && yv_vncview_state_now(p->vnc, NULL, 0) == YV_VNCVIEW_LIVE;
    if (!live || !p->have || rows < 1 || cols < 1) {
        yv_livepic_state(p, st, sizeof st);
        draw_text_centred(w, y, x, rows, cols, st, attr);
        p->rows = 0; /* the picture is not on the terminal: all of it again when it comes */
        return;
    }
    bool resized =
        rows != p->rows || cols != p->cols || p->frame.width != p->pw || p->frame.height != p->ph;
    if (resized) { /* run/tui.log: where the picture went (what a test compares cell by cell) */
        yv_pic_rect f = yv_picture_fit(p->frame.width, p->frame.height, cols, rows);
        fprintf(stderr, "picture %dx%d in %dx%d cells at row %d col %d (%s colours)\n",
                p->frame.width, p->frame.height, f.w, f.h, y + f.y, x + f.x,
                yv_picture_colors_name(p->colors));
    }
    if (resized || p->dirty.w)
        yv_picture_update(p->pic, p->frame.rgba, p->frame.width, p->frame.height,
                          (size_t)p->frame.width * 4, resized ? NULL : &p->dirty, cols, rows);
    p->dirty = (yv_pic_rect){0};
    p->rows = rows, p->cols = cols, p->y = y, p->x = x;
    p->pw = p->frame.width, p->ph = p->frame.height;
    yv_picture_draw(p->pic, w, y, x);
}

void yv_livepic_drawn(yv_livepic *p, bool repainted)
{
    if (p->direct && p->pic && p->rows)
        yv_picture_flush_direct(p->pic, STDOUT_FILENO, p->y, p->x, repainted);
}

void yv_livepic_state(yv_livepic *p, char *buf, size_t n)
{
    char why[200] = "";
    if (!p->vnc) {
        snprintf(buf, n, "no picture: %s", p->why);
        return;
    }
    yv_vncview_state s = yv_vncview_state_now(p->vnc, why, sizeof why);
    if (s == YV_VNCVIEW_LIVE && !p->have) snprintf(buf, n, "connected, waiting for a picture…");
    else if (s == YV_VNCVIEW_LIVE)
        snprintf(buf, n, "live %dx%d (%s colours)", p->frame.width, p->frame.height,
                 p->colors == YV_PIC_MONO ? "no" : yv_picture_colors_name(p->colors));
    else if (s == YV_VNCVIEW_CONNECTING) snprintf(buf, n, "connecting…");
    else snprintf(buf, n, "no picture: %s (trying again)", why);
}
