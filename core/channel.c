#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* A byte queue whose contents are wiped when dropped or moved: what a kind sends may be a secret
 * (a password a guest agent or a console is given), and realloc would free old copies unwiped. */
typedef struct {
    char *b;
    size_t len, off;
} bytes;

struct yv_chan {
    const yv_chan_kind *kind;
    void *impl;
    yv_chan_busy_fn busy;
    char *path; /* for the busy probe; NULL when adopted */
    int fd;
    yv_chan_state st;
    yv_chan_verdict verdict;
    char why[256];
    int64_t deadline; /* INT64_MAX: none (CLOSED, READY) */
    int limit_ms;     /* what the deadline allowed, for the message */
    bool has_req;
    int64_t req;
    bytes out, held; /* held: a request made before the greeting */
};

static void bytes_add(bytes *q, const char *buf, size_t n)
{
    char *b = yv_malloc(q->len + n + 1);
    if (q->len) memcpy(b, q->b, q->len);
    memcpy(b + q->len, buf, n);
    if (q->b) explicit_bzero(q->b, q->len);
    free(q->b);
    q->b = b;
    q->len += n;
}

static void bytes_drop(bytes *q)
{
    if (q->b) explicit_bzero(q->b, q->len);
    free(q->b);
    *q = (bytes){0};
}

yv_chan *yv_chan_new(const yv_chan_kind *kind, void *impl, yv_chan_busy_fn busy)
{
    yv_chan *c = yv_calloc(1, sizeof *c);
    c->kind = kind;
    c->impl = impl;
    c->busy = busy;
    c->fd = -1;
    c->deadline = INT64_MAX;
    return c;
}

static void drop_socket(yv_chan *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->st = YV_CHAN_CLOSED;
    c->deadline = INT64_MAX;
    c->has_req = false;
    bytes_drop(&c->out);
    bytes_drop(&c->held);
}

void yv_chan_free(yv_chan *c)
{
    if (!c) return;
    drop_socket(c);
    free(c->path);
    free(c);
}

void yv_chan_close(yv_chan *c)
{
    drop_socket(c);
}

/* ---- the verdict: the one place that decides how a conversation ended ---- */

typedef enum { END_TIMEOUT, END_BROKEN, END_EOF } end_cause;

static void end(yv_chan *c, end_cause cause, const char *msg)
{
    const char *name = c->kind->name;
    bool opening = c->st == YV_CHAN_CONNECTING || c->st == YV_CHAN_GREETING;
    /* asked while our own descriptor is still open: it is not "another client" */
    bool busy = cause != END_EOF && (cause == END_BROKEN || opening) && c->busy && c->path &&
                c->busy(c->path, c->fd);
    if (cause == END_EOF) {
        c->verdict = YV_CHAN_GONE;
        snprintf(c->why, sizeof c->why, "%s: the connection was closed", name);
    } else if (busy) {
        c->verdict = YV_CHAN_BUSY;
        snprintf(c->why, sizeof c->why, "%s busy: another client is connected", name);
    } else if (cause == END_TIMEOUT) {
        c->verdict = YV_CHAN_UNRESPONSIVE;
        snprintf(c->why, sizeof c->why, "%s did not answer within %d ms", name, c->limit_ms);
    } else {
        c->verdict = YV_CHAN_UNRESPONSIVE;
        bool named = !strncmp(msg, name, strlen(name)); /* no "QMP: QMP: …" */
        snprintf(c->why, sizeof c->why, "%s%s%s", named ? "" : name, named ? "" : ": ", msg);
    }
    drop_socket(c);
}

/* ---- opening ---- */

int yv_chan_unix_connect(const char *path, const char *what, bool *pending, yv_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    *pending = false;
    if (strlen(path) >= sizeof sa.sun_path)
        return yv_err_set(err, YV_E_FAIL, "%s socket path too long (%zu bytes, at most %zu): %s",
                          what, strlen(path), sizeof sa.sun_path - 1, path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return yv_err_sys(err, YV_E_IO, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return fd;
    int e = errno;
    if (e == EINPROGRESS) {
        *pending = true;
        return fd;
    }
    close(fd);
    if (e == EAGAIN) /* a UNIX socket's backlog is full: the server is not accepting */
        return yv_err_set(err, YV_E_TIMEOUT,
                          "%s: %s does not accept connections (its queue "
                          "is full: QEMU is hung, or busy with another client)",
                          what, path);
    return yv_err_sys(err, (e == ENOENT || e == ECONNREFUSED) ? YV_E_VM_NOT_RUNNING : YV_E_IO, e,
                      "cannot connect to %s", path);
}

/* Connected: a kind whose peer does not greet is ready at once. */
static void connected(yv_chan *c)
{
    c->st = YV_CHAN_GREETING;
    if (!c->kind->greets) yv_chan_greeted(c);
}

static void start(yv_chan *c, int fd, int64_t now, int timeout_ms)
{
    drop_socket(c);
    c->fd = fd;
    c->verdict = YV_CHAN_OK;
    c->why[0] = '\0';
    c->deadline = now + timeout_ms;
    c->limit_ms = timeout_ms;
}

int yv_chan_open(yv_chan *c, const char *path, int64_t now, int timeout_ms, yv_err *err)
{
    bool pending;
    start(c, -1, now, timeout_ms);
    free(c->path);
    c->path = yv_strdup(path);
    c->st = YV_CHAN_CONNECTING;
    c->fd = yv_chan_unix_connect(path, c->kind->name, &pending, err);
    if (c->fd < 0) {
        end(c, END_BROKEN, err->msg);
        return -1;
    }
    if (!pending) connected(c);
    return 0;
}

void yv_chan_adopt(yv_chan *c, int fd, int64_t now, int timeout_ms)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); /* the loop must never wait in recv */
    start(c, fd, now, timeout_ms);
    free(c->path);
    c->path = NULL;
    connected(c);
}

/* ---- state ---- */

yv_chan_state yv_chan_state_of(const yv_chan *c)
{
    return c->st;
}

yv_chan_verdict yv_chan_verdict_of(const yv_chan *c)
{
    return c->verdict;
}

const char *yv_chan_why(const yv_chan *c)
{
    return c->why;
}

void *yv_chan_impl(const yv_chan *c)
{
    return c->impl;
}

int yv_chan_fd(const yv_chan *c)
{
    return c->fd;
}

short yv_chan_poll_events(const yv_chan *c)
{
    if (c->fd < 0) return 0;
    bool out = c->st == YV_CHAN_CONNECTING || c->out.off < c->out.len;
    return (short)(POLLIN | (out ? POLLOUT : 0));
}

int64_t yv_chan_deadline(const yv_chan *c)
{
    return c->deadline;
}

bool yv_chan_outstanding(const yv_chan *c)
{
    return c->has_req;
}

/* ---- the byte pump ---- */

static void finish_connect(yv_chan *c)
{
    int e = 0;
    socklen_t l = sizeof e;
    yv_err err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
    if (!e) {
        connected(c);
        return;
    }
    yv_err_sys(&err, YV_E_VM_NOT_RUNNING, e, "%s connect", c->kind->name);
    end(c, END_BROKEN, err.msg);
}

static void pump_out(yv_chan *c)
{
    yv_err err;
    while (c->out.off < c->out.len) {
        ssize_t w = send(c->fd, c->out.b + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return;
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            end(c, END_EOF, NULL);
            return;
        }
        if (w < 0) {
            yv_err_sys(&err, YV_E_IO, errno, "%s write", c->kind->name);
            end(c, END_BROKEN, err.msg);
            return;
        }
        c->out.off += (size_t)w;
    }
    bytes_drop(&c->out);
}

static void pump_in(yv_chan *c)
{
    char buf[65536];
    yv_err err;
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return;
        if (r == 0 || (r < 0 && errno == ECONNRESET)) { /* reset: closed with our bytes unread */
            end(c, END_EOF, NULL);
            return;
        }
        if (r < 0) yv_err_sys(&err, YV_E_IO, errno, "%s read", c->kind->name);
        if (r < 0 || c->kind->input(c, buf, (size_t)r, &err) < 0) {
            end(c, END_BROKEN, err.msg);
            return;
        }
        /* a short read emptied the socket for now: the next poll says when there is more */
        if (c->st == YV_CHAN_CLOSED || (size_t)r < sizeof buf) return;
    }
}

void yv_chan_handle(yv_chan *c, short revents, int64_t now)
{
    if (c->fd >= 0 && c->st == YV_CHAN_CONNECTING && (revents & (POLLOUT | POLLERR | POLLHUP)))
        finish_connect(c);
    bool open = c->fd >= 0 && c->st != YV_CHAN_CONNECTING;
    if (open && (revents & POLLOUT)) pump_out(c);
    if (c->fd >= 0 && open && (revents & (POLLIN | POLLHUP | POLLERR))) pump_in(c);
    if (c->fd >= 0 && now >= c->deadline) end(c, END_TIMEOUT, NULL);
}

/* ---- requests ---- */

int yv_chan_request(yv_chan *c, int64_t id, const char *buf, size_t n, int64_t now, int timeout_ms)
{
    if (c->st == YV_CHAN_CLOSED || c->has_req) return -1;
    c->has_req = true;
    c->req = id;
    int64_t due = now + timeout_ms;
    if (c->st == YV_CHAN_READY) {
        bytes_add(&c->out, buf, n);
        c->st = YV_CHAN_WAITING;
        c->deadline = due;
        c->limit_ms = timeout_ms;
        return 0;
    }
    bytes_add(&c->held, buf, n); /* before the greeting: the open deadline still counts */
    if (due < c->deadline) {
        c->deadline = due;
        c->limit_ms = timeout_ms;
    }
    return 0;
}

void yv_chan_write(yv_chan *c, const char *buf, size_t n)
{
    if (c->fd >= 0) bytes_add(&c->out, buf, n);
}

void yv_chan_greeted(yv_chan *c)
{
    if (c->st != YV_CHAN_GREETING) return;
    if (c->held.len) bytes_add(&c->out, c->held.b, c->held.len);
    bytes_drop(&c->held);
    c->st = c->has_req ? YV_CHAN_WAITING : YV_CHAN_READY;
    if (!c->has_req) c->deadline = INT64_MAX; /* idle: events may take any time */
}

bool yv_chan_replied(yv_chan *c, int64_t id)
{
    if (!c->has_req || id != c->req) return false;
    c->has_req = false;
    if (c->st == YV_CHAN_WAITING) {
        c->st = YV_CHAN_READY;
        c->deadline = INT64_MAX;
    }
    c->verdict = YV_CHAN_OK;
    c->why[0] = '\0';
    return true;
}
