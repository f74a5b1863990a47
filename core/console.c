/* console: open a VM's serial console for one client, and the bounded byte pump between it and a
 * terminal, a pipe or a buffer. */
#include "console.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "util.h"
#include "valid.h"

#define UP_CAP   4096  /* bytes read from in, not yet sent to the console */
#define DOWN_CAP 16384 /* bytes from the console, not yet written to out */
#define DRAIN_MS 1000  /* after the deadline: the time out gets for what is buffered */
#define EOF_CAP_MS                                                                                 \
    5000          /* no deadline: the most after in's end, quiet or not (a guest that floods) */
#define STEP_MS 5 /* between two looks at who QEMU accepted */

/* ---- opening ---- */

static int in_use(const char *name, yv_err *err)
{
    return yv_err_set(err, YV_E_IN_USE,
                      "console of VM '%s' is in use (QEMU serves one client at a time)", name);
}

/* Waits until QEMU accepted fd (sock_diag shows our connection accepted), or another client is
 * seen holding the console: two clients that connected at once both wait in QEMU's queue; the one
 * QEMU accepts wins and the other sees it and gives up, never waiting behind it. */
static int wait_accepted(int fd, const char *path, const char *name, int timeout_ms, yv_err *err)
{
    int64_t deadline = yv_now_ms() + timeout_ms;
    for (;;) {
        int h = yv_vmstate_sock_holder(path, fd);
        if (h == YV_SOCK_OTHER) return in_use(name, err);
        if (h == YV_SOCK_OURS || h < 0) return 0; /* h < 0: no sock_diag, the connect must do */
        if (yv_now_ms() >= deadline)
            return yv_err_set(err, YV_E_TIMEOUT,
                              "console of VM '%s' accepted no client within %d ms (QEMU hung?)",
                              name, timeout_ms);
        struct timespec ts = {0, STEP_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int yv_console_open(const char *root, const char *name, const yv_vmstate_proof *p, int timeout_ms,
                    yv_err *err)
{
    if (yv_vmstate_require(root, name, p, err) < 0) return -1;
    char *path = yv_vmstate_consolefile(root, name);
    bool pending;
    int fd = -1;
    if (yv_vmstate_sock_busy(path, -1)) in_use(name, err); /* before joining QEMU's queue */
    else if ((fd = yv_chan_unix_connect(path, "console", &pending, err)) < 0) {
        if (err->code == YV_E_TIMEOUT) in_use(name, err); /* a full queue: others wait already */
        else if (err->code == YV_E_VM_NOT_RUNNING) /* a QEMU of before consoles, or it just died */
            yv_err_prefix(err, "VM '%s' has no console", name);
    } else if (wait_accepted(fd, path, name, timeout_ms, err) < 0) {
        close(fd);
        fd = -1;
    }
    free(path);
    return fd;
}

/* ---- the pump ---- */

typedef struct {
    const yv_console_pump_opts *o;
    unsigned char up[UP_CAP];
    size_t uplen;
    unsigned char down[DOWN_CAP];
    size_t downoff, downlen;
    bool in_eof, con_eof, detached, out_gone;
    int64_t quiet_since; /* the console's last byte, or in's end */
    int64_t eof_at;      /* in's end */
} pump;

/* Reads what in has, up to the room left; the escape byte ends the reading (what came before it
 * still goes to the console). */
static void read_in(pump *p)
{
    ssize_t n = read(p->o->in, p->up + p->uplen, UP_CAP - p->uplen);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) { /* an end, or an error such as EIO from a terminal that hung up */
        p->in_eof = true;
        p->quiet_since = p->eof_at = yv_now_ms();
        return;
    }
    unsigned char *esc =
        p->o->escape >= 0 ? memchr(p->up + p->uplen, p->o->escape, (size_t)n) : NULL;
    if (esc) {
        n = esc - (p->up + p->uplen);
        p->detached = true;
    }
    p->uplen += (size_t)n;
}

static void write_con(pump *p)
{
    ssize_t n = send(p->o->con, p->up, p->uplen, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n < 0) { /* the console is gone: what was for it is dropped */
        p->con_eof = true;
        p->uplen = 0;
        return;
    }
    memmove(p->up, p->up + n, p->uplen - (size_t)n);
    p->uplen -= (size_t)n;
}

static void read_con(pump *p)
{
    if (p->downoff == p->downlen) p->downoff = p->downlen = 0;
    if (p->downoff > 0 && p->downlen == DOWN_CAP) { /* compact: room at the end again */
        memmove(p->down, p->down + p->downoff, p->downlen - p->downoff);
        p->downlen -= p->downoff;
        p->downoff = 0;
    }
    ssize_t n = recv(p->o->con, p->down + p->downlen, DOWN_CAP - p->downlen, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        p->con_eof = true;
        return;
    }
    p->downlen += (size_t)n;
    p->quiet_since = yv_now_ms();
}

/* At most PIPE_BUF after POLLOUT: a pipe with room takes it whole without blocking. */
static void write_out(pump *p)
{
    size_t len = p->downlen - p->downoff;
    ssize_t n = write(p->o->out, p->down + p->downoff, len < PIPE_BUF ? len : PIPE_BUF);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n < 0) {
        p->out_gone = true;
        return;
    }
    p->downoff += (size_t)n;
}

/* The end reached now, or -1 to go on; draining: the deadline has passed. */
static int ended(pump *p, int64_t now, bool draining)
{
    const yv_console_pump_opts *o = p->o;
    bool flushed = p->downoff == p->downlen;
    if (o->stop && *o->stop) return YV_CONSOLE_STOPPED;
    if (p->out_gone) return YV_CONSOLE_OUTPUT_GONE;
    if (p->detached) {
        if (p->uplen) write_con(p); /* what was typed before the escape: once, never waited for */
        return YV_CONSOLE_DETACHED;
    }
    if (draining) return flushed || now >= o->deadline + DRAIN_MS ? YV_CONSOLE_TIMED_OUT : -1;
    if (p->con_eof && flushed) return YV_CONSOLE_CLOSED;
    if (!o->deadline && p->in_eof && p->uplen == 0 && flushed &&
        now - p->quiet_since >= o->quiet_ms)
        return YV_CONSOLE_INPUT_ENDED;
    /* a guest that never stops printing never gives that quiet: the end is bounded anyway */
    if (!o->deadline && p->in_eof && now - p->eof_at >= EOF_CAP_MS) return YV_CONSOLE_INPUT_ENDED;
    return -1;
}

/* The wait before the next look: the deadline (or the drain's end), the quiet time. */
static int wait_ms(const pump *p, int64_t now, bool draining)
{
    const yv_console_pump_opts *o = p->o;
    int64_t until = -1;
    if (o->deadline) until = draining ? o->deadline + DRAIN_MS : o->deadline;
    else if (p->in_eof) {
        until = p->quiet_since + o->quiet_ms;
        if (until > p->eof_at + EOF_CAP_MS) until = p->eof_at + EOF_CAP_MS;
    }
    if (until < 0) return -1;
    return until <= now ? 0 : (int)(until - now);
}

/* One poll over in, the console and out; only what has room or something to move is asked. */
static void step(pump *p, int64_t now, bool draining)
{
    const yv_console_pump_opts *o = p->o;
    bool room = !draining && p->downlen - p->downoff < DOWN_CAP; /* for the console's bytes */
    /* the console only when there is something to move: a hang-up it reports at every poll
     * would otherwise spin while a slow out keeps the buffer full */
    struct pollfd f[3] = {
        {!draining && !p->in_eof && o->in >= 0 && p->uplen < UP_CAP ? o->in : -1, POLLIN, 0},
        {p->con_eof || (!room && !p->uplen) ? -1 : o->con,
         (short)((room ? POLLIN : 0) | (p->uplen ? POLLOUT : 0)), 0},
        {p->downoff < p->downlen ? o->out : -1, POLLOUT, 0},
    };
    int t = wait_ms(p, now, draining);
    struct timespec ts = {t / 1000, (long)(t % 1000) * 1000000L};
    if (ppoll(f, 3, t < 0 ? NULL : &ts, o->mask) <= 0) return;
    if (f[0].revents) read_in(p);
    if (f[1].revents & POLLOUT) write_con(p);
    if (room && (f[1].revents & (POLLIN | POLLHUP | POLLERR))) read_con(p);
    if (f[2].revents & (POLLERR | POLLNVAL)) p->out_gone = true;
    else if (f[2].revents) write_out(p);
}

yv_console_end yv_console_pump(const yv_console_pump_opts *o)
{
    pump *p = yv_calloc(1, sizeof *p);
    p->o = o;
    p->in_eof = o->in < 0;
    p->quiet_since = yv_now_ms();
    int end;
    for (;;) {
        int64_t now = yv_now_ms();
        bool draining = o->deadline && now >= o->deadline;
        if ((end = ended(p, now, draining)) >= 0) break;
        step(p, now, draining);
    }
    explicit_bzero(p, sizeof *p); /* what was typed may have been a password */
    free(p);
    return (yv_console_end)end;
}

const char *yv_console_end_name(yv_console_end e)
{
    switch (e) {
    case YV_CONSOLE_DETACHED: return "detached";
    case YV_CONSOLE_CLOSED: return "the VM closed its console (it stopped)";
    case YV_CONSOLE_TIMED_OUT: return "timeout";
    case YV_CONSOLE_INPUT_ENDED: return "end of input";
    case YV_CONSOLE_STOPPED: return "stopped by a signal";
    case YV_CONSOLE_OUTPUT_GONE: return "output closed";
    }
    return "?";
}

/* ---- one exchange over buffers (the web API) ---- */

typedef struct {
    const char *in;
    size_t inlen, sent;
    char *out;
    size_t cap, len;
    bool cut, closed;
} exchange;

static void exchange_step(int fd, exchange *x, int t)
{
    struct pollfd f = {fd, (short)(POLLIN | (x->sent < x->inlen ? POLLOUT : 0)), 0};
    if (poll(&f, 1, t) <= 0) return;
    if (f.revents & POLLOUT) {
        ssize_t n = send(fd, x->in + x->sent, x->inlen - x->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) x->sent += (size_t)n;
    }
    if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) return;
    char tmp[4096];
    ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        x->closed = true;
        return;
    }
    size_t take = (size_t)n < x->cap - x->len ? (size_t)n : x->cap - x->len;
    memcpy(x->out + x->len, tmp, take);
    x->len += take;
    x->cut |= take < (size_t)n; /* read on and drop: the guest is not let to stall the console */
}

int yv_console_exchange(const char *root, const yv_config *cfg, const char *name, const char *in,
                        size_t inlen, int timeout_ms, char *out, size_t cap, size_t *outlen,
                        bool *cut, const volatile sig_atomic_t *cancel, yv_err *err)
{
    yv_vmstate_proof p;
    *outlen = 0;
    *cut = false;
    if (yv_valid_name(name, err) < 0) return -1;
    yv_vmstate_prove(root, cfg, name, &p);
    int fd = yv_console_open(root, name, &p, YV_CONSOLE_CONNECT_MS, err);
    yv_vmstate_proof_done(&p);
    if (fd < 0) return -1;
    exchange x = {.in = in, .inlen = inlen, .out = out, .cap = cap};
    int64_t deadline = yv_now_ms() + timeout_ms;
    for (int64_t now = yv_now_ms(); now < deadline && !x.closed && !(cancel && *cancel);
         now = yv_now_ms()) {
        int64_t left = deadline - now;
        exchange_step(fd, &x, left < 200 ? (int)left : 200); /* cancel seen within 200 ms */
    }
    close(fd);
    *outlen = x.len;
    *cut = x.cut;
    return 0;
}
