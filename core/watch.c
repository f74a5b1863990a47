#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"
#include "root.h"
#include "util.h"
#include "vminfo.h"
#include "vnccheck.h"

/* ---- the output queue ---- */

typedef struct {
    char *key; /* NULL: never replaced */
    char *line;
    size_t len;
} qline;

struct yv_watch_q {
    qline *v; /* waiting lines, v[head..n) in order */
    size_t head, n, cap;
    char *cur; /* the line being written: finished before any other */
    size_t cur_len, cur_off;
};

yv_watch_q *yv_watch_q_new(void)
{
    return yv_calloc(1, sizeof(yv_watch_q));
}

void yv_watch_q_free(yv_watch_q *q)
{
    if (!q) return;
    for (size_t i = q->head; i < q->n; i++) {
        free(q->v[i].key);
        free(q->v[i].line);
    }
    free(q->v);
    free(q->cur);
    free(q);
}

void yv_watch_q_put(yv_watch_q *q, const char *key, const char *line)
{
    char *text = yv_asprintf("%s\n", line);
    for (size_t i = q->head; key && i < q->n; i++)
        if (q->v[i].key && !strcmp(q->v[i].key, key)) {
            free(q->v[i].line);
            q->v[i].line = text;
            q->v[i].len = strlen(text);
            return;
        }
    if (q->n == q->cap && q->head > 0) { /* room at the front: the queue never grows past its VMs */
        memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof *q->v);
        q->n -= q->head;
        q->head = 0;
    }
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->v = yv_realloc(q->v, q->cap * sizeof *q->v);
    }
    q->v[q->n++] = (qline){key ? yv_strdup(key) : NULL, text, strlen(text)};
}

size_t yv_watch_q_pending(const yv_watch_q *q)
{
    return q->n - q->head + (q->cur != NULL);
}

/* The next waiting line becomes the one being written; false when none waits. */
static bool q_next(yv_watch_q *q)
{
    if (q->head == q->n) return false;
    qline *l = &q->v[q->head++];
    q->cur = l->line;
    q->cur_len = l->len;
    q->cur_off = 0;
    free(l->key);
    if (q->head == q->n) q->head = q->n = 0;
    return true;
}

int yv_watch_q_write(yv_watch_q *q, int fd, bool once)
{
    for (;;) {
        if (!q->cur && !q_next(q)) return 0;
        size_t left = q->cur_len - q->cur_off;
        if (once && left > PIPE_BUF) left = PIPE_BUF;
        ssize_t r = write(fd, q->cur + q->cur_off, left);
        if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        q->cur_off += (size_t)r;
        if (q->cur_off == q->cur_len) {
            free(q->cur);
            q->cur = NULL;
        }
        if (once) return 0;
    }
}

/* ---- a VM as a line ---- */

/* The status object of a VM as the monitor sees it (yv_vminfo_json, the shape `status --json`
 * gives), from a view that borrows the monitor's config and addresses. No usage, no pending, no
 * autostart: what changes by the second or needs a read of its own is not streamed. */
static json_t *vm_json(const yv_watch_opts *o, const yv_monitor_vm *v)
{
    yv_vminfo info;
    memset(&info, 0, sizeof info);
    info.name = v->name;
    info.dir = yv_root_vm_dir(o->root, v->name);
    info.state = v->state;
    info.valid = v->valid;
    if (v->valid) info.vm = v->vm;
    info.problem = v->problem; /* NULL for a VM being created: no config yet */
    info.pid = v->pid;
    snprintf(info.detail, sizeof info.detail, "%s", v->detail);
    info.vnc = v->pid > 0 ? (int)v->vnc : 0;
    if (v->pid > 0) info.addrs = v->addrs;
    info.autostart = -1;
    json_t *j = yv_vminfo_json(&info, o->cfg);
    free(info.dir);
    return j;
}

static char *json_line(json_t *j)
{
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    return s ? s : yv_strdup("{}");
}

/* "-" for an empty field: the columns stay where they are for `read` and awk. */
static void field(char *buf, size_t n, const char *s)
{
    snprintf(buf, n, "%s", s && *s ? s : "-");
}

/* DISPLAY, and once probed /ok, /refused or /silent (the list's words). */
static void vnc_field(const yv_monitor_vm *v, char *buf, size_t n)
{
    static const char *const word[] = {"", "/ok", "/refused", "/silent"};
    const char *d = v->valid ? v->vm.vnc_display : NULL;
    if (!d || !*d) snprintf(buf, n, "-");
    else snprintf(buf, n, "%s%s", d, v->pid > 0 ? word[v->vnc] : "");
}

/* Every user network's forwards, "2201->22,8080->80/udp" (no space: one field). */
static void forwards_field(const yv_monitor_vm *v, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; v->valid && i < v->vm.nnets && at + 1 < n; i++) {
        if (v->vm.nets[i].type != YV_NET_USER || !v->vm.nets[i].nforwards) continue;
        if (at) buf[at++] = ',';
        yv_vminfo_forwards_text(&v->vm.nets[i], buf + at, n - at);
        at += strlen(buf + at);
    }
    for (char *p = buf; *p; p++)
        if (*p == ' ') *p = ',';
    if (!buf[0]) snprintf(buf, n, "-");
}

static char *text_line(const yv_monitor_vm *v)
{
    char addr[64] = "", vnc[64], fwd[512];
    if (v->pid > 0 && v->addrs.n) yv_addr_format(&v->addrs.v[0], addr, sizeof addr);
    vnc_field(v, vnc, sizeof vnc);
    forwards_field(v, fwd, sizeof fwd);
    char a[64];
    field(a, sizeof a, addr);
    return yv_asprintf("%s %s %s %s %s", v->name, yv_vminfo_state_name(v->state), a, vnc, fwd);
}

static char *vm_line(const yv_watch_opts *o, const yv_monitor_vm *v)
{
    if (!o->json) return text_line(v);
    return json_line(json_pack("{s:o}", "vm", vm_json(o, v)));
}

static char *gone_line(const yv_watch_opts *o, const char *name)
{
    if (!o->json) return yv_asprintf("%s gone", name);
    return json_line(json_pack("{s:s}", "gone", name));
}

/* ---- the watcher ---- */

typedef struct {
    char *name;
    char *last; /* the last line written or queued for it */
} known;

typedef struct {
    const yv_watch_opts *o;
    yv_monitor *m;
    yv_watch_q *q;
    known *k; /* sorted by name, as the monitor's VMs */
    size_t nk;
    int out;                   /* o->out, or a non-blocking description of the same pipe */
    bool once;                 /* out blocks: one write of at most PIPE_BUF per POLLOUT */
    int64_t last_out, last_in; /* when a line was last queued, a byte last read (heartbeat) */
} watcher;

/* VM v's line, queued when it differs from the last one for it; into k (the new known list). */
static void see_vm(watcher *w, const yv_monitor_vm *v, const known *old, known *k)
{
    char *line = vm_line(w->o, v);
    if (old && !strcmp(old->last, line)) {
        free(line);
        *k = *old;
        return;
    }
    yv_watch_q_put(w->q, v->name, line);
    w->last_out = yv_now_ms();
    k->name = old ? old->name : yv_strdup(v->name);
    if (old) free(old->last);
    k->last = line;
}

static void see_gone(watcher *w, known *old)
{
    char *line = gone_line(w->o, old->name);
    yv_watch_q_put(w->q, old->name, line); /* replaces a state of it still waiting */
    free(line);
    free(old->name);
    free(old->last);
}

/* One look at every VM, as a TUI drawing every row (its addresses asked for, its VNC probed): the
 * monitor's sorted list merged with the one known, each change queued. */
static void turn(watcher *w)
{
    size_t n = yv_monitor_count(w->m), j = 0, nk = 0;
    known *k = yv_calloc(n ? n : 1, sizeof *k);
    for (size_t i = 0; i < n; i++) {
        const yv_monitor_vm *v = yv_monitor_row(w->m, i);
        while (j < w->nk && strcmp(w->k[j].name, v->name) < 0) see_gone(w, &w->k[j++]);
        bool same = j < w->nk && !strcmp(w->k[j].name, v->name);
        see_vm(w, v, same ? &w->k[j] : NULL, &k[nk++]);
        j += same;
    }
    while (j < w->nk) see_gone(w, &w->k[j++]);
    free(w->k);
    w->k = k;
    w->nk = nk;
}

/* A pipe gets a non-blocking description of its own (opened through /proc): O_NONBLOCK on the
 * caller's would reach every process sharing it (a shell's terminal, ssh's channel). Anything
 * else is written as it is, once per POLLOUT. */
static void open_out(watcher *w)
{
    struct stat st;
    char path[64];
    w->out = w->o->out;
    if (fcntl(w->out, F_GETFL) & O_NONBLOCK) return;
    w->once = true;
    if (fstat(w->out, &st) < 0 || !S_ISFIFO(st.st_mode)) return;
    snprintf(path, sizeof path, "/proc/self/fd/%d", w->o->out);
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return;
    w->out = fd;
    w->once = false;
}

enum { MAX_FDS = 512 };

/* Reads and drops what came on in; true when it ended. */
static bool input_ended(watcher *w, short revents)
{
    char buf[512];
    if (revents & POLLNVAL) return true;
    if (!(revents & POLLIN)) return (revents & (POLLHUP | POLLERR)) != 0;
    ssize_t r = read(w->o->in, buf, sizeof buf);
    if (r > 0) w->last_in = yv_now_ms();
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

/* The heartbeat (o->heartbeat_ms): an alive line when nothing went out for a beat; true when the
 * reader said nothing for three; *t lowered to the next beat. */
static bool heartbeat(watcher *w, int *t)
{
    int64_t beat = w->o->heartbeat_ms, now = yv_now_ms();
    if (beat <= 0) return false;
    if (now - w->last_in >= 3 * beat) return true;
    if (now - w->last_out >= beat) {
        yv_watch_q_put(w->q, "\x01alive", w->o->json ? "{\"alive\":true}" : "alive");
        w->last_out = now;
    }
    int64_t next =
        w->last_out + beat < w->last_in + 3 * beat ? w->last_out + beat : w->last_in + 3 * beat;
    int left = next - now < 0 ? 0 : (int)(next - now);
    if (*t < 0 || left < *t) *t = left;
    return false;
}

/* One wait of the loop and what it brought; -1 while it goes on, else how it ended. */
static int step(watcher *w, struct pollfd *fds)
{
    int t = -1;
    if (w->o->stop && *w->o->stop) return YV_WATCH_STOPPED;
    if (heartbeat(w, &t)) return YV_WATCH_READER_SILENT;
    bool pending = yv_watch_q_pending(w->q) > 0;
    fds[0] = (struct pollfd){w->o->in, POLLIN, 0};
    fds[1] = (struct pollfd){w->out, pending ? POLLOUT : 0, 0}; /* POLLERR: the reader left */
    size_t nm = yv_monitor_pollfds(w->m, fds + 2, MAX_FDS - 2, &t);
    struct timespec ts = {t / 1000, (long)(t % 1000) * 1000000};
    int r = ppoll(fds, 2 + nm, t < 0 ? NULL : &ts, w->o->mask);
    if (w->o->stop && *w->o->stop) return YV_WATCH_STOPPED;
    if (r < 0 && errno != EINTR) return YV_WATCH_STOPPED;
    bool any = r > 0;
    if (any && (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL))) return YV_WATCH_OUTPUT_GONE;
    if (any && (fds[1].revents & POLLOUT) && yv_watch_q_write(w->q, w->out, w->once) < 0)
        return YV_WATCH_OUTPUT_GONE;
    if (any && fds[0].revents && input_ended(w, fds[0].revents)) return YV_WATCH_INPUT_ENDED;
    if (yv_monitor_dispatch(w->m, any ? fds + 2 : fds, any ? nm : 0)) turn(w);
    if (!w->once && yv_watch_q_write(w->q, w->out, false) < 0) return YV_WATCH_OUTPUT_GONE;
    return -1;
}

/* At the end, what can be written without waiting. */
static void drain(watcher *w)
{
    for (int i = 0; i < 64 && yv_watch_q_pending(w->q); i++) {
        struct pollfd p = {w->out, POLLOUT, 0};
        if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) return;
        if (yv_watch_q_write(w->q, w->out, w->once) < 0) return;
    }
}

yv_watch_end yv_watch_run(const yv_watch_opts *o)
{
    watcher w = {.o = o, .q = yv_watch_q_new(), .last_out = yv_now_ms(), .last_in = yv_now_ms()};
    struct pollfd *fds = yv_calloc(MAX_FDS, sizeof *fds);
    open_out(&w);
    w.m = yv_monitor_new(o->root, o->cfg, &(yv_monitor_opts){.refresh_ms = o->refresh_ms});
    turn(&w); /* the first state of every VM (the first scan is synchronous) */
    if (o->json) yv_watch_q_put(w.q, NULL, "{\"synced\":true}");
    int end = w.once || yv_watch_q_write(w.q, w.out, false) == 0 ? -1 : YV_WATCH_OUTPUT_GONE;
    while (end < 0) end = step(&w, fds);
    if (end != YV_WATCH_OUTPUT_GONE) drain(&w);
    for (size_t i = 0; i < w.nk; i++) {
        free(w.k[i].name);
        free(w.k[i].last);
    }
    free(w.k);
    yv_monitor_free(w.m);
    yv_watch_q_free(w.q);
    if (w.out != o->out) close(w.out);
    free(fds);
    return (yv_watch_end)end;
}

const char *yv_watch_end_name(yv_watch_end e)
{
    switch (e) {
    case YV_WATCH_INPUT_ENDED: return "its input ended";
    case YV_WATCH_STOPPED: return "stopped by a signal";
    case YV_WATCH_OUTPUT_GONE: return "its reader went away";
    case YV_WATCH_READER_SILENT: return "its reader said nothing for three heartbeats";
    }
    return "?";
}
