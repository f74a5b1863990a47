#include "qmp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "util.h"

struct yv_qmp {
    int fd;
    bool connecting, eof, greeted;
    char *in;
    size_t inlen, incap;
    char *out;
    size_t outlen, outoff;
    yv_qmp_msg *msgs; /* the queue is msgs[head .. nmsgs): popping the oldest is O(1) */
    size_t head, nmsgs, capmsgs;
    json_int_t next_id;
    /* the ids given to commands sent without one (yv_qmp_send_unnamed), oldest first: QEMU answers
     * in-band commands in the order they came, so the next answer without an id is the oldest's */
    json_int_t *unnamed;
    size_t un_head, un_n, un_cap;
};

yv_qmp *yv_qmp_new(void)
{
    yv_qmp *q = yv_calloc(1, sizeof *q);
    q->fd = -1;
    q->next_id = 1;
    return q;
}

void yv_qmp_free(yv_qmp *q)
{
    if (!q) return;
    if (q->fd >= 0) close(q->fd);
    for (size_t i = q->head; i < q->nmsgs; i++) json_decref(q->msgs[i].json);
    free(q->msgs);
    free(q->unnamed);
    free(q->in);
    if (q->out) explicit_bzero(q->out, q->outlen); /* set_password went through here */
    free(q->out);
    free(q);
}

int yv_qmp_connect(yv_qmp *q, const char *path, yv_err *err)
{
    int fd = yv_chan_unix_connect(path, "QMP", &q->connecting, err);
    if (fd < 0) return -1;
    q->fd = fd;
    return 0;
}

void yv_qmp_adopt(yv_qmp *q, int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    q->fd = fd;
}

int yv_qmp_fd(const yv_qmp *q)
{
    return q->fd;
}

short yv_qmp_poll_events(const yv_qmp *q)
{
    return (short)(POLLIN | ((q->connecting || q->outoff < q->outlen) ? POLLOUT : 0));
}

bool yv_qmp_eof(const yv_qmp *q)
{
    return q->eof;
}

bool yv_qmp_greeted(const yv_qmp *q)
{
    return q->greeted;
}

static void classify(yv_qmp_msg *m)
{
    json_t *j = m->json, *id = json_object_get(j, "id");
    m->id = json_is_integer(id) ? json_integer_value(id) : -1;
    m->event = NULL;
    m->kind = YV_QMP_UNKNOWN; /* anything below that does not match (json_object_get of a non-object
                                 is NULL) */
    if (json_object_get(j, "QMP")) m->kind = YV_QMP_GREETING;
    else if (json_object_get(j, "return")) m->kind = YV_QMP_RETURN;
    else if (json_is_object(json_object_get(j, "error"))) m->kind = YV_QMP_ERROR;
    else if (json_is_string(json_object_get(j, "event"))) {
        m->kind = YV_QMP_EVENT;
        m->event = json_string_value(json_object_get(j, "event"));
    }
}

static void queue_line(yv_qmp *q, const char *line, size_t len)
{
    json_error_t je;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\r' || line[i] == '\t')) i++;
    if (i == len) return; /* blank line */
    yv_qmp_msg m = {0};
    m.json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!m.json) m.json = json_pack("{s:s%}", "unparsed", line, len < 200 ? len : 200);
    /* not UTF-8 (or the 200-byte cut split a character): json_pack refuses it; keep a placeholder
     * so every queued message has its json */
    if (!m.json) m.json = json_pack("{s:s}", "unparsed", "(not valid UTF-8)");
    classify(&m);
    if (m.kind == YV_QMP_GREETING) q->greeted = true;
    if ((m.kind == YV_QMP_RETURN || m.kind == YV_QMP_ERROR) && m.id < 0 && q->un_head < q->un_n)
        m.id = q->unnamed[q->un_head++];
    if (q->nmsgs == q->capmsgs && q->head > q->capmsgs / 2) { /* reuse the popped half */
        memmove(q->msgs, q->msgs + q->head, (q->nmsgs - q->head) * sizeof *q->msgs);
        q->nmsgs -= q->head;
        q->head = 0;
    }
    if (q->nmsgs == q->capmsgs) {
        q->capmsgs = q->capmsgs ? q->capmsgs * 2 : 8;
        q->msgs = yv_realloc(q->msgs, q->capmsgs * sizeof *q->msgs);
    }
    q->msgs[q->nmsgs++] = m;
}

int yv_qmp_feed(yv_qmp *q, const char *buf, size_t n, yv_err *err)
{
    if (q->inlen + n > q->incap) {
        size_t cap = q->incap ? q->incap : 4096;
        while (cap < q->inlen + n) cap *= 2;
        q->in = yv_realloc(q->in, cap);
        q->incap = cap;
    }
    memcpy(q->in + q->inlen, buf, n);
    size_t scan_from = q->inlen;
    q->inlen += n;
    size_t start = 0;
    for (size_t i = scan_from; i < q->inlen; i++) {
        if (q->in[i] != '\n') continue;
        queue_line(q, q->in + start, i - start);
        start = i + 1;
    }
    if (start > 0) { /* a pending line is not moved onto itself at every read (ASan checks each
                      * move's whole range: long lines read in small pieces were quadratic) */
        memmove(q->in, q->in + start, q->inlen - start);
        q->inlen -= start;
    }
    if (q->inlen > YV_QMP_LINE_MAX) {
        q->inlen = 0;
        q->eof = true;
        return yv_err_set(err, YV_E_IO, "QMP: a message longer than %d bytes", YV_QMP_LINE_MAX);
    }
    return 0;
}

static bool pop_at(yv_qmp *q, size_t i, yv_qmp_msg *m)
{
    *m = q->msgs[i];
    if (i == q->head) { /* the oldest: no move (a flood of small lines made popping quadratic) */
        q->head++;
    } else {
        memmove(q->msgs + i, q->msgs + i + 1, (q->nmsgs - i - 1) * sizeof *q->msgs);
        q->nmsgs--;
    }
    if (q->head == q->nmsgs) q->head = q->nmsgs = 0;
    return true;
}

bool yv_qmp_pop(yv_qmp *q, yv_qmp_msg *m)
{
    return q->head < q->nmsgs ? pop_at(q, q->head, m) : false;
}

bool yv_qmp_pop_reply(yv_qmp *q, json_int_t id, yv_qmp_msg *m)
{
    for (size_t i = q->head; i < q->nmsgs; i++)
        if ((q->msgs[i].kind == YV_QMP_RETURN || q->msgs[i].kind == YV_QMP_ERROR) &&
            q->msgs[i].id == id)
            return pop_at(q, i, m);
    return false;
}

/* A command name as QMP spells them: letters, digits, '-' and '_' (nothing to escape). */
static bool plain_name(const char *cmd)
{
    if (!*cmd) return false;
    for (const char *c = cmd; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_') return false;
    return true;
}

char *yv_qmp_command(const char *cmd, json_t *args, json_int_t id, size_t *len)
{
    /* without arguments the line is printed as jansson would write it: a forced stop then never
     * runs jansson, whose code faulted in on first use cost it ~0.1 ms (issue 16) */
    if (!args && plain_name(cmd)) {
        char *line =
            id < 0 ? yv_asprintf("{\"execute\":\"%s\"}\n", cmd)
                   : yv_asprintf("{\"execute\":\"%s\",\"id\":%" JSON_INTEGER_FORMAT "}\n", cmd, id);
        *len = strlen(line);
        return line;
    }
    json_t *j = json_pack("{s:s}", "execute", cmd);
    if (id >= 0) json_object_set_new(j, "id", json_integer(id));
    if (args) json_object_set_new(j, "arguments", args);
    char *s = json_dumps(j, JSON_COMPACT); /* compact: never a newline inside */
    json_decref(j);
    size_t l = strlen(s);
    char *line = yv_malloc(l + 2); /* a copy, not a realloc: the old block is wiped, not left */
    memcpy(line, s, l);
    line[l] = '\n';
    line[l + 1] = '\0';
    explicit_bzero(s, l);
    free(s);
    *len = l + 1;
    return line;
}

static void queue_out(yv_qmp *q, const char *cmd, json_t *args, json_int_t id)
{
    size_t l;
    char *s = yv_qmp_command(cmd, args, id, &l);
    q->out = yv_realloc(q->out, q->outlen + l + 1);
    memcpy(q->out + q->outlen, s, l);
    q->outlen += l;
    explicit_bzero(s, l);
    free(s);
}

json_int_t yv_qmp_send(yv_qmp *q, const char *cmd, json_t *args)
{
    json_int_t id = q->next_id++;
    queue_out(q, cmd, args, id);
    return id;
}

json_int_t yv_qmp_send_unnamed(yv_qmp *q, const char *cmd, json_t *args)
{
    json_int_t id = q->next_id++;
    if (q->un_n == q->un_cap) {
        q->un_cap = q->un_cap ? q->un_cap * 2 : 4;
        q->unnamed = yv_realloc(q->unnamed, q->un_cap * sizeof *q->unnamed);
    }
    q->unnamed[q->un_n++] = id;
    queue_out(q, cmd, args, -1);
    return id;
}

static int do_write(yv_qmp *q, yv_err *err)
{
    while (q->outoff < q->outlen) {
        ssize_t w = send(q->fd, q->out + q->outoff, q->outlen - q->outoff, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return 0;
        if (w < 0) {
            q->eof = true;
            if (errno == EPIPE || errno == ECONNRESET) return 0;
            return yv_err_sys(err, YV_E_IO, errno, "QMP write");
        }
        q->outoff += (size_t)w;
    }
    if (q->out) explicit_bzero(q->out, q->outlen); /* NULL when nothing was ever queued */
    q->outlen = q->outoff = 0;
    return 0;
}

static int do_read(yv_qmp *q, yv_err *err)
{
    /* QMP's answers are small; a big one takes a few reads. 64 KiB here cost a batch command four
     * page faults of stack for what it called while reading (issue 16: ~12 us each under PVM) */
    char buf[8192];
    for (;;) {
        ssize_t r = recv(q->fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return 0;
        if (r <= 0) { /* EOF, or ECONNRESET when QEMU closed with our bytes unread */
            q->eof = true;
            if (r < 0 && errno != ECONNRESET) return yv_err_sys(err, YV_E_IO, errno, "QMP read");
            return 0;
        }
        if (yv_qmp_feed(q, buf, (size_t)r, err) < 0) return -1;
        /* A short read emptied the socket for now: the next poll says when there is more (saves
         * the recv that would only say EAGAIN, on every exchange of every VM every second). */
        if ((size_t)r < sizeof buf) return 0;
    }
}

int yv_qmp_handle(yv_qmp *q, short revents, yv_err *err)
{
    if (q->connecting && (revents & (POLLOUT | POLLERR | POLLHUP))) {
        int e = 0;
        socklen_t l = sizeof e;
        getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &e, &l);
        q->connecting = false;
        if (e) {
            q->eof = true;
            return yv_err_sys(err, YV_E_VM_NOT_RUNNING, e, "QMP connect");
        }
    }
    if (!q->connecting && (revents & POLLOUT) && do_write(q, err) < 0) return -1;
    if (revents & (POLLIN | POLLHUP | POLLERR)) return do_read(q, err);
    return 0;
}

/* ---- blocking helpers ---- */

static int wait_once(yv_qmp *q, int64_t deadline, const char *what, yv_err *err)
{
    if (q->eof)
        return yv_err_set(err, YV_E_IO, "QMP: connection closed while waiting for %s", what);
    int64_t left = deadline - yv_now_ms();
    if (left <= 0) return yv_err_set(err, YV_E_TIMEOUT, "QMP: no %s in time", what);
    struct pollfd p = {q->fd, yv_qmp_poll_events(q), 0};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno != EINTR) return yv_err_sys(err, YV_E_IO, errno, "poll");
    if (r > 0 && yv_qmp_handle(q, p.revents, err) < 0) return -1;
    return 0;
}

int yv_qmp_connect_wait(yv_qmp *q, const char *path, int64_t deadline, yv_err *err)
{
    for (int delay_ms = 1;; delay_ms = delay_ms < 32 ? delay_ms * 2 : 32) {
        if (yv_qmp_connect(q, path, err) == 0) return 0;
        if (err->code != YV_E_TIMEOUT || yv_now_ms() + delay_ms >= deadline) return -1;
        struct timespec ts = {0, (long)delay_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int yv_qmp_greet(yv_qmp *q, int64_t deadline, yv_err *err)
{
    while (!q->greeted)
        if (wait_once(q, deadline, "greeting", err) < 0) return -1;
    yv_qmp_msg m;
    for (size_t i = q->head; i < q->nmsgs;) { /* drop the greeting itself */
        if (q->msgs[i].kind == YV_QMP_GREETING) {
            pop_at(q, i, &m);
            json_decref(m.json);
            if (i < q->head) i = q->head; /* it was the oldest */
        } else i++;
    }
    int rc = yv_qmp_call(q, "qmp_capabilities", NULL, NULL, deadline, err);
    return rc == 0 ? 0 : -1;
}

/* The answer to the command cmd sent with id: as yv_qmp_call. */
static int await_reply(yv_qmp *q, json_int_t id, const char *cmd, json_t **ret, int64_t deadline,
                       yv_err *err)
{
    yv_qmp_msg m;
    if (ret) *ret = NULL;
    while (!yv_qmp_pop_reply(q, id, &m))
        if (wait_once(q, deadline, cmd, err) < 0) return -1;
    if (m.kind == YV_QMP_ERROR) {
        const char *cls = "?", *desc = "?";
        json_unpack(m.json, "{s:{s?s, s?s}}", "error", "class", &cls, "desc", &desc);
        yv_err_set(err, YV_E_FAIL, "QMP %s: %s: %s", cmd, cls, desc);
        json_decref(m.json);
        return 1;
    }
    if (ret) *ret = json_incref(json_object_get(m.json, "return"));
    json_decref(m.json);
    return 0;
}

int yv_qmp_call(yv_qmp *q, const char *cmd, json_t *args, json_t **ret, int64_t deadline,
                yv_err *err)
{
    return await_reply(q, yv_qmp_send(q, cmd, args), cmd, ret, deadline, err);
}

json_int_t yv_qmp_queue_pipeline(yv_qmp *q, size_t n, const char *const *cmds, json_t **args)
{
    /* the ids are consecutive: the negotiation's, then each command's. Sent without them: QEMU
     * reads a command's bytes one at a time, and after the first command only once the one before
     * it ran, about 10 us a byte under PVM; the 7 bytes of an id were 0.07 ms of every command
     * after the negotiation (issue 16), and the answers come in order anyway */
    json_int_t first = yv_qmp_send_unnamed(q, "qmp_capabilities", NULL);
    for (size_t i = 0; i < n; i++) yv_qmp_send_unnamed(q, cmds[i], args[i]);
    return first;
}

int yv_qmp_await_pipeline(yv_qmp *q, json_int_t first, size_t n, const char *const *cmds,
                          int64_t deadline, long *failed, yv_err *err)
{
    *failed = -1;
    int rc = await_reply(q, first, "qmp_capabilities", NULL, deadline, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((rc = await_reply(q, first + 1 + (json_int_t)i, cmds[i], NULL, deadline, err)) != 0)
            *failed = (long)i;
    return rc;
}

int yv_qmp_pipeline(yv_qmp *q, size_t n, const char *const *cmds, json_t **args, int64_t deadline,
                    long *failed, yv_err *err)
{
    json_int_t first = yv_qmp_queue_pipeline(q, n, cmds, args);
    return yv_qmp_await_pipeline(q, first, n, cmds, deadline, failed, err);
}

int yv_qmp_pipeline_at(const char *sock, size_t n, const char *const *cmds, json_t **args,
                       int64_t deadline, bool eof, long *failed, yv_err *err)
{
    yv_qmp *q = yv_qmp_new();
    *failed = -1;
    json_int_t first = yv_qmp_queue_pipeline(q, n, cmds, args); /* ready before the connect */
    int rc = yv_qmp_connect_wait(q, sock, deadline, err);
    if (rc == 0) rc = yv_qmp_await_pipeline(q, first, n, cmds, deadline, failed, err);
    if (rc == 0 && eof) yv_qmp_wait_eof(q, deadline, err);
    yv_qmp_free(q);
    return rc;
}

int yv_qmp_flush(yv_qmp *q, int64_t deadline, yv_err *err)
{
    /* a connected socket takes a few short lines at once: no poll before trying */
    if (!q->connecting && !q->eof && do_write(q, err) < 0) return -1;
    while (q->connecting || q->outoff < q->outlen)
        if (wait_once(q, deadline, "write", err) < 0) return -1;
    return 0;
}

int yv_qmp_wait_eof(yv_qmp *q, int64_t deadline, yv_err *err)
{
    while (!q->eof)
        if (wait_once(q, deadline, "close", err) < 0) return q->eof ? 0 : -1;
    return 0;
}

int yv_qmp_once(const char *sock, const char *cmd, json_t *args, json_t **ret, int ms, yv_err *err)
{
    int64_t deadline = yv_now_ms() + ms;
    yv_qmp *q = yv_qmp_new();
    int rc = yv_qmp_connect_wait(q, sock, deadline, err);
    if (rc == 0) rc = yv_qmp_greet(q, deadline, err);
    if (rc == 0) rc = yv_qmp_call(q, cmd, args, ret, deadline, err);
    else json_decref(args);
    yv_qmp_free(q);
    return rc;
}

/* ---- jobs (query-jobs, job-cancel, job-dismiss) ---- */

#define JOBS_QMP_MS  10000 /* one exchange */
#define JOBS_POLL_MS 200   /* between looks at the jobs left */

const char *yv_qmp_job_of(json_t *j, const char *prefix, const char **status, const char **error)
{
    const char *id = json_string_value(json_object_get(j, "id"));
    *status = json_string_value(json_object_get(j, "status"));
    *error = json_string_value(json_object_get(j, "error"));
    return id && !strncmp(id, prefix, strlen(prefix)) ? id : NULL;
}

void yv_qmp_end_jobs(const char *sock, const char *prefix, int ms)
{
    int64_t end = yv_now_ms() + ms;
    for (bool asked = false; yv_now_ms() < end; asked = true) {
        json_t *jobs = NULL, *j;
        size_t i, left = 0;
        yv_err e;
        if (yv_qmp_once(sock, "query-jobs", NULL, &jobs, JOBS_QMP_MS, &e) != 0) {
            if (e.code == YV_E_VM_NOT_RUNNING) return; /* its QEMU is gone, and the jobs with it */
            usleep(JOBS_POLL_MS * 1000);               /* a failed exchange: again, in time */
            continue;
        }
        json_array_foreach(jobs, i, j)
        {
            const char *st, *fault, *id = yv_qmp_job_of(j, prefix, &st, &fault);
            if (!id) continue;
            left++;
            bool over = st && !strcmp(st, "concluded");
            if (over || !asked) /* a cancelled job concludes: dismissed at a later look */
                yv_qmp_once(sock, over ? "job-dismiss" : "job-cancel", json_pack("{s:s}", "id", id),
                            NULL, JOBS_QMP_MS, &e);
        }
        json_decref(jobs);
        if (!left) return;
        usleep(JOBS_POLL_MS * 1000);
    }
}
