/* Unit tests of core/channel.c and the QMP kind of core/chan_qmp.c: a channel driven by a small
 * poll loop against a scripted fake server on the other end of a socketpair (or a UNIX listener
 * that never accepts). Each test checks one path to a verdict: a greeting split across reads,
 * events between replies, error replies, EOF mid-line, an oversized line, silence past the
 * deadline, the peer gone, a second request while one is outstanding, another client served. */
#include "unit.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>

#include "core/chan_qmp.h"
#include "core/channel.h"

#define GREETING "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n"

typedef struct {
    int events, replies, errors;
    char last_event[64];
    char last_status[64];
} record;

static void on_event(void *user, const yv_qmp_msg *m)
{
    record *r = user;
    r->events++;
    snprintf(r->last_event, sizeof r->last_event, "%s", m->event);
}

static void on_reply(void *user, const yv_qmp_msg *m)
{
    record *r = user;
    const char *st =
        json_string_value(json_object_get(json_object_get(m->json, "return"), "status"));
    r->replies++;
    r->errors += m->kind == YV_QMP_ERROR;
    snprintf(r->last_status, sizeof r->last_status, "%s", st ? st : "");
}

typedef struct {
    record rec;
    yv_chan_qmp *q;
    int srv; /* the fake server's end */
} fixture;

static bool g_busy; /* what the fake busy probe answers */

static bool fake_busy(const char *path, int own_fd)
{
    (void)path;
    (void)own_fd;
    return g_busy;
}

static int setup(void **state)
{
    fixture *f = yv_calloc(1, sizeof *f);
    yv_chan_qmp_cbs cbs = {.user = &f->rec, .event = on_event, .reply = on_reply};
    f->q = yv_chan_qmp_new(&cbs, fake_busy);
    f->srv = -1;
    g_busy = false;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    yv_chan_qmp_free(f->q);
    if (f->srv >= 0) close(f->srv);
    free(f);
    return 0;
}

static yv_chan *chan(fixture *f)
{
    return yv_chan_qmp_chan(f->q);
}

/* The channel on one end of a socketpair, its open phase bounded by timeout_ms. */
static void connect_pair(fixture *f, int timeout_ms)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    yv_chan_qmp_adopt(f->q, sv[0], yv_now_ms(), timeout_ms);
    f->srv = sv[1];
}

/* The caller's poll loop, for ms (or until the channel is closed). */
static void pump(fixture *f, int ms)
{
    ut_chan_pump(chan(f), ms);
}

static void srv_send(fixture *f, const char *s)
{
    assert_int_equal(write(f->srv, s, strlen(s)), (ssize_t)strlen(s));
}

/* Reads one command line the channel sent (pumping it meanwhile); returns its id, checks its name.
 */
static json_int_t srv_expect(fixture *f, const char *want)
{
    char line[4096];
    size_t n = 0;
    int64_t end = yv_now_ms() + 2000;
    while (n < sizeof line - 1 && yv_now_ms() < end) {
        struct pollfd p = {f->srv, POLLIN, 0};
        if (poll(&p, 1, 0) <= 0) {
            pump(f, 5);
            continue;
        }
        if (read(f->srv, line + n, 1) != 1) fail_msg("the channel closed before sending %s", want);
        if (line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    json_t *j = json_loads(line, 0, NULL);
    const char *ex = json_string_value(json_object_get(j, "execute"));
    if (!ex || strcmp(ex, want) != 0) fail_msg("want %s, got: %s", want, line);
    json_int_t id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void srv_reply(fixture *f, json_int_t id, const char *ret)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"return\": %s, \"id\": %lld}\r\n", ret, (long long)id);
    srv_send(f, buf);
}

/* Greeting, the negotiation, and the channel idle. */
static void handshake(fixture *f)
{
    srv_send(f, GREETING);
    srv_reply(f, srv_expect(f, "qmp_capabilities"), "{}");
    pump(f, 20);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_READY);
}

static json_int_t request(fixture *f, const char *cmd, int timeout_ms)
{
    return yv_chan_qmp_request(f->q, cmd, NULL, yv_now_ms(), timeout_ms);
}

/* Connected, greeted, and cmd on the wire: its id. */
static json_int_t asked(fixture *f, const char *cmd)
{
    connect_pair(f, 2000);
    handshake(f);
    json_int_t id = request(f, cmd, 2000);
    assert_int_equal(srv_expect(f, cmd), id);
    return id;
}

static void test_greeting_split_and_held_request(void **state)
{
    fixture *f = *state;
    connect_pair(f, 2000);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_GREETING);
    json_int_t id = request(f, "query-status", 2000); /* held until the negotiation is sent */
    assert_true(id > 0);
    srv_send(f, "{\"QMP\": {\"vers");
    pump(f, 30);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_GREETING);
    srv_send(f, "ion\": {}, \"capabilities\": []}}\r\n");
    json_int_t caps = srv_expect(f, "qmp_capabilities"); /* first, then the held request */
    assert_int_equal(srv_expect(f, "query-status"), id);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_WAITING);
    srv_reply(f, caps, "{}");
    srv_reply(f, id, "{\"status\": \"running\", \"running\": true}");
    pump(f, 30);
    assert_int_equal(f->rec.replies, 1); /* the negotiation's answer is the kind's own */
    assert_string_equal(f->rec.last_status, "running");
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_READY);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_OK);
    assert_int_equal(yv_chan_deadline(chan(f)), INT64_MAX); /* idle: no deadline */
}

static void test_events_between_replies(void **state)
{
    fixture *f = *state;
    json_int_t id = asked(f, "query-status");
    srv_send(f, "{\"event\": \"STOP\", \"data\": {}, \"timestamp\": {}}\n"
                "{\"return\": {\"status\": \"foreign\"}, \"id\": 4242}\n" /* not ours */
                "{\"event\": \"RESUME\", \"data\": {}}\n");
    pump(f, 30);
    assert_int_equal(f->rec.events, 2);
    assert_string_equal(f->rec.last_event, "RESUME");
    assert_int_equal(f->rec.replies, 0);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_WAITING);
    srv_reply(f, id, "{\"status\": \"paused\"}");
    srv_send(f, "{\"event\": \"SHUTDOWN\"}\n");
    pump(f, 30);
    assert_int_equal(f->rec.replies, 1);
    assert_string_equal(f->rec.last_status, "paused");
    assert_int_equal(f->rec.events, 3);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_READY);
}

static void test_error_reply_is_an_answer(void **state)
{
    fixture *f = *state;
    json_int_t id = asked(f, "nonsense");
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}, \"id\": %lld}\n",
             (long long)id);
    srv_send(f, buf);
    pump(f, 30);
    assert_int_equal(f->rec.replies, 1);
    assert_int_equal(f->rec.errors, 1);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_OK); /* QEMU answered: not hung */
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_READY);
}

static void test_eof_midline_is_gone(void **state)
{
    fixture *f = *state;
    assert_true(asked(f, "query-status") > 0);
    srv_send(f, "{\"return\": {\"status\": \"runn");
    close(f->srv);
    f->srv = -1;
    pump(f, 100);
    assert_int_equal(f->rec.replies, 0); /* half a line is no answer */
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_CLOSED);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_GONE);
    assert_int_equal(yv_chan_fd(chan(f)), -1);
}

static void test_oversized_line_is_unresponsive(void **state)
{
    fixture *f = *state;
    connect_pair(f, 20000);
    handshake(f);
    fcntl(f->srv, F_SETFL, O_NONBLOCK);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    size_t sent = 0;
    int64_t end = yv_now_ms() + 20000;
    while (yv_chan_fd(chan(f)) >= 0 && yv_now_ms() < end) { /* one endless line */
        ssize_t w = write(f->srv, chunk, sizeof chunk);
        if (w > 0) sent += (size_t)w;
        pump(f, 1);
    }
    assert_true(sent > YV_QMP_LINE_MAX);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    assert_non_null(strstr(yv_chan_why(chan(f)), "longer than"));
    assert_int_equal(strncmp(yv_chan_why(chan(f)), "QMP: a message", 14), 0); /* no "QMP: QMP:" */
}

static void test_silent_greeting_is_unresponsive(void **state)
{
    fixture *f = *state;
    connect_pair(f, 100);
    int64_t t0 = yv_now_ms();
    pump(f, 2000);
    assert_true(yv_now_ms() - t0 >= 100);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_CLOSED);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    assert_string_equal(yv_chan_why(chan(f)), "QMP did not answer within 100 ms");
}

/* Idle (READY) a channel never times out: events may take any time. A request's silence does. */
static void test_silent_reply_is_unresponsive(void **state)
{
    fixture *f = *state;
    connect_pair(f, 300);
    handshake(f);
    pump(f, 400);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_READY);
    json_int_t id = request(f, "query-status", 80);
    assert_int_equal(srv_expect(f, "query-status"), id);
    pump(f, 2000);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    assert_string_equal(yv_chan_why(chan(f)), "QMP did not answer within 80 ms");
    assert_int_equal(f->rec.replies, 0);
}

static void test_peer_gone(void **state)
{
    fixture *f = *state;
    connect_pair(f, 2000);
    handshake(f);
    close(f->srv);
    f->srv = -1;
    pump(f, 100);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_GONE);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_CLOSED);
    assert_int_equal(request(f, "query-status", 100), -1); /* nothing to ask */
}

static void test_one_request_at_a_time(void **state)
{
    fixture *f = *state;
    connect_pair(f, 2000);
    handshake(f);
    json_int_t id = request(f, "query-status", 2000);
    assert_true(id > 0);
    assert_true(yv_chan_outstanding(chan(f)));
    assert_int_equal(request(f, "query-status", 2000), -1); /* busy: one outstanding */
    assert_int_equal(srv_expect(f, "query-status"), id);
    srv_reply(f, id, "{\"status\": \"running\"}");
    pump(f, 30);
    assert_false(yv_chan_outstanding(chan(f)));
    json_int_t id2 = request(f, "query-status", 2000);
    assert_true(id2 > id);
    assert_int_equal(srv_expect(f, "query-status"), id2);
}

/* A UNIX listener that never accepts: the connect is queued, the greeting never comes. */
static char *listen_silent(int *l)
{
    char *dir = ut_mkdtemp(), *path = yv_asprintf("%s/chan.sock", dir);
    *l = ut_unix_listen(path, 4);
    free(path);
    return dir;
}

static void test_another_client_is_busy_not_hung(void **state)
{
    fixture *f = *state;
    int l;
    yv_err err;
    char *dir = listen_silent(&l), *path = yv_asprintf("%s/chan.sock", dir);
    g_busy = true;
    assert_int_equal(yv_chan_qmp_open(f->q, path, yv_now_ms(), 50, &err), 0);
    pump(f, 2000);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_BUSY);
    assert_string_equal(yv_chan_why(chan(f)), "QMP busy: another client is connected");
    g_busy = false; /* the same silence with no one else there: hung */
    assert_int_equal(yv_chan_qmp_open(f->q, path, yv_now_ms(), 50, &err), 0);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_OK); /* a new conversation */
    pump(f, 2000);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    close(l);
    free(path);
    ut_rmdir(dir);
}

static void test_open_missing_socket(void **state)
{
    fixture *f = *state;
    yv_err err;
    char *dir = ut_mkdtemp(), *path = yv_asprintf("%s/none.sock", dir);
    assert_int_equal(yv_chan_qmp_open(f->q, path, yv_now_ms(), 50, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_RUNNING);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_CLOSED);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    assert_non_null(strstr(yv_chan_why(chan(f)), "cannot connect to"));
    free(path);
    ut_rmdir(dir);
}

/* The watch of a QEMU seen the moment it started (its pidfile is written before its QMP sockets
 * exist): in its first seconds a QMP it cannot reach is `starting`, asked again within 250 ms, not
 * at the next refresh; past them, the same is `unresponsive`. */
static void test_watch_of_a_starting_qemu(void **state)
{
    (void)state;
    char *dir = ut_mkdtemp(), *sock = yv_asprintf("%s/vm.sock", dir);
    char *events = yv_asprintf("%s/vm.events", dir);
    int64_t now = 1000000;
    yv_chan_qmp_watch *w = yv_chan_qmp_watch_new(sock, events, 1000, 100, now);
    yv_chan_qmp_watch_handle(w, 0, now);
    assert_int_equal(yv_chan_qmp_watch_view(w)->state, YV_STATE_STARTING);
    assert_true(yv_chan_qmp_watch_due(w) <= now + 250);
    now += 6000;
    yv_chan_qmp_watch_handle(w, 0, now);
    assert_int_equal(yv_chan_qmp_watch_view(w)->state, YV_STATE_UNRESPONSIVE);
    assert_non_null(strstr(yv_chan_qmp_watch_view(w)->detail, "cannot connect to"));
    yv_chan_qmp_watch_free(w);
    free(sock);
    free(events);
    ut_rmdir(dir);
}

/* A fake QEMU on the event socket, in a child: greets, answers the negotiation and query-status,
 * then tells VSERPORT_CHANGE (the guest's agent opened its port) and stays until the test ends. */
static pid_t fake_qemu_with_vserport(int lfd)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid) return pid;
    int c = accept(lfd, NULL, NULL);
    /* a stream for each direction: one "r+" stream cannot switch from reading to writing on a
     * socket (no fseek in between) */
    FILE *in = c >= 0 ? fdopen(c, "r") : NULL, *f = c >= 0 ? fdopen(dup(c), "w") : NULL;
    char line[4096];
    if (!in || !f) _exit(1);
    fputs("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n", f);
    fflush(f);
    for (int i = 0; i < 2 && fgets(line, sizeof line, in); i++) {
        json_t *j = json_loads(line, 0, NULL);
        json_t *id = json_object_get(j, "id");
        char *ids = id ? json_dumps(id, JSON_ENCODE_ANY) : strdup("null");
        fprintf(f,
                i ? "{\"return\": {\"status\": \"running\"}, \"id\": %s}\n"
                  : "{\"return\": {}, \"id\": %s}\n",
                ids);
        fflush(f);
        free(ids);
        json_decref(j);
    }
    fputs("{\"event\": \"VSERPORT_CHANGE\", \"data\": {\"id\": \"x\", \"open\": true}}\n", f);
    fflush(f);
    while (fgets(line, sizeof line, in)) continue;
    _exit(0);
}

/* The watch reports VSERPORT_CHANGE once (YV_CHAN_QMP_AGENT): the monitor then asks the agent for
 * addresses at once instead of at the next 30 s tick. */
static void test_watch_reports_agent_port_change(void **state)
{
    (void)state;
    char *dir = ut_mkdtemp(), *sock = yv_asprintf("%s/vm.sock", dir);
    char *events = yv_asprintf("%s/vm.events", dir);
    int lfd = ut_unix_listen(events, 1);
    pid_t child = fake_qemu_with_vserport(lfd);
    yv_chan_qmp_watch *w = yv_chan_qmp_watch_new(sock, events, 1000, 2000, yv_now_ms());
    unsigned seen = 0;
    int64_t end = yv_now_ms() + 3000;
    while (!(seen & YV_CHAN_QMP_AGENT) && yv_now_ms() < end) {
        struct pollfd p;
        size_t k = yv_chan_qmp_watch_pollfd(w, &p);
        int r = k ? poll(&p, 1, 10) : 0;
        seen |= yv_chan_qmp_watch_handle(w, r > 0 ? p.revents : 0, yv_now_ms());
    }
    assert_true(seen & YV_CHAN_QMP_AGENT);
    assert_int_equal(yv_chan_qmp_watch_view(w)->state, YV_STATE_RUNNING);
    /* reported once: the next turn without an event says nothing of the agent */
    assert_false(yv_chan_qmp_watch_handle(w, 0, yv_now_ms()) & YV_CHAN_QMP_AGENT);
    yv_chan_qmp_watch_free(w);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    close(lfd);
    free(sock);
    free(events);
    ut_rmdir(dir);
}

typedef struct {
    int nblk;      /* query-blockstats answered so far */
    char ret[256]; /* the answer's text */
} blockstats_answers;

static const char *blockstats_answer(const char *cmd, void *user)
{
    blockstats_answers *a = user;
    if (cmd && !strcmp(cmd, "query-status")) return "{\"status\": \"running\"}";
    if (!cmd || strcmp(cmd, "query-blockstats")) return NULL;
    a->nblk++;
    snprintf(a->ret, sizeof a->ret,
             "[{\"stats\": {\"rd_bytes\": %d, \"wr_bytes\": 4096}}, "
             "{\"stats\": {\"rd_bytes\": 1, \"wr_bytes\": %d}}]",
             100 * a->nblk, a->nblk * 1000);
    return a->ret;
}

/* A fake QEMU on the event socket, in a child: greets, then answers every command by its name —
 * query-status "running", query-blockstats two drives (the second asked: other counters) — until
 * the test ends. */
static pid_t fake_qemu_with_blockstats(int lfd)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid) return pid;
    int c = accept(lfd, NULL, NULL);
    FILE *in = c >= 0 ? fdopen(c, "r") : NULL, *f = c >= 0 ? fdopen(dup(c), "w") : NULL;
    char line[4096];
    if (!in || !f) _exit(1);
    fputs("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n", f);
    fflush(f);
    blockstats_answers a = {0};
    while (fgets(line, sizeof line, in)) ut_qmp_reply(f, line, blockstats_answer, &a);
    _exit(0);
}

/* Turns the watch until its view has blockstats counters asked at or after `since`. */
static bool watch_until_blockstats(yv_chan_qmp_watch *w, int64_t since)
{
    int64_t end = yv_now_ms() + 3000;
    while (yv_now_ms() < end) {
        struct pollfd p;
        size_t k = yv_chan_qmp_watch_pollfd(w, &p);
        int r = k ? poll(&p, 1, 10) : 0;
        yv_chan_qmp_watch_handle(w, r > 0 ? p.revents : 0, yv_now_ms());
        if (yv_chan_qmp_watch_view(w)->blk_at >= since && yv_chan_qmp_watch_view(w)->blk_at)
            return true;
    }
    return false;
}

/* query-blockstats asked on the held event socket (spec §15): wanted before the connection is
 * even made, it goes out once the channel is free (after the first query-status) and fills the
 * view's counters, summed over the drives and timed when asked; asked again, the new ones. The
 * state stays what query-status said. */
static void test_watch_blockstats(void **state)
{
    (void)state;
    char *dir = ut_mkdtemp(), *sock = yv_asprintf("%s/vm.sock", dir);
    char *events = yv_asprintf("%s/vm.events", dir);
    int lfd = ut_unix_listen(events, 1);
    pid_t child = fake_qemu_with_blockstats(lfd);
    int64_t t0 = yv_now_ms();
    yv_chan_qmp_watch *w = yv_chan_qmp_watch_new(sock, events, 1000, 2000, t0);
    yv_chan_qmp_watch_want_blockstats(w, t0);
    assert_true(watch_until_blockstats(w, t0));
    const yv_chan_qmp_view *v = yv_chan_qmp_watch_view(w);
    assert_int_equal(v->rd_bytes, 101);
    assert_int_equal(v->wr_bytes, 5096);
    assert_int_equal(v->state, YV_STATE_RUNNING);
    usleep(20000);
    int64_t t1 = yv_now_ms();
    yv_chan_qmp_watch_want_blockstats(w, t1);
    assert_true(watch_until_blockstats(w, t1));
    assert_int_equal(v->rd_bytes, 201);
    assert_int_equal(v->wr_bytes, 6096);
    assert_true(v->blk_at >= t1);
    assert_int_equal(v->state, YV_STATE_RUNNING);
    yv_chan_qmp_watch_free(w);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    close(lfd);
    free(sock);
    free(events);
    ut_rmdir(dir);
}

/* Answers of an event socket whose guest never opened the agent's port; each query-chardev is
 * counted with a byte on *user (a pipe). */
static const char *agent_closed_answer(const char *cmd, void *user)
{
    if (cmd && !strcmp(cmd, "query-status")) return "{\"status\": \"running\"}";
    if (!cmd || strcmp(cmd, "query-chardev")) return NULL;
    if (write(*(int *)user, "q", 1) != 1) _exit(1);
    return "[{\"label\": \"console0\", \"filename\": \"x\", \"frontend-open\": true}, "
           "{\"label\": \"qga0\", \"filename\": \"y\", \"frontend-open\": false}]";
}

/* A fake QEMU on the event socket, in a child: greets, answers every command by its name —
 * query-status "running", query-chardev with the agent's port closed — and on each byte from
 * `gate` tells VSERPORT_CHANGE: 'x' another port opened, 'o' the agent's opened, 'c' closed.
 * Counts the query-chardev it answered on `count` (one byte each). */
static pid_t fake_qemu_with_agent_port(int lfd, int gate, int count)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid) return pid;
    int c = accept(lfd, NULL, NULL);
    FILE *f = c >= 0 ? fdopen(dup(c), "w") : NULL;
    char buf[8192];
    size_t have = 0;
    if (!f) _exit(1);
    fputs("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n", f);
    fflush(f);
    for (;;) {
        struct pollfd p[2] = {{c, POLLIN, 0}, {gate, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) _exit(1);
        char g;
        if ((p[1].revents & POLLIN) && read(gate, &g, 1) == 1) {
            if (g == 'x')
                fputs("{\"event\": \"VSERPORT_CHANGE\", \"data\": {\"id\": \"other\", \"open\": "
                      "true}}\n",
                      f);
            else if (g == 'o')
                fputs("{\"event\": \"VSERPORT_CHANGE\", \"data\": {\"id\": \"qga0port\", \"open\": "
                      "true}}\n",
                      f);
            else
                fputs("{\"event\": \"VSERPORT_CHANGE\", \"data\": {\"id\": \"qga0port\", \"open\": "
                      "false}}\n",
                      f);
            fflush(f);
        } else if (p[1].revents & POLLHUP) {
            _exit(0);
        }
        if (!(p[0].revents & (POLLIN | POLLHUP))) continue;
        ssize_t n = read(c, buf + have, sizeof buf - have - 1);
        if (n <= 0) _exit(0);
        have += (size_t)n;
        buf[have] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n'))) {
            *nl = '\0';
            ut_qmp_reply(f, buf, agent_closed_answer, &count);
            have -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have + 1);
        }
    }
}

/* One turn of the watch: poll its descriptor up to ms, then handle; the flags it gave. */
static unsigned turn(yv_chan_qmp_watch *w, int ms)
{
    struct pollfd p;
    size_t k = yv_chan_qmp_watch_pollfd(w, &p);
    int r = k ? poll(&p, 1, ms) : 0;
    return yv_chan_qmp_watch_handle(w, r > 0 ? p.revents : 0, yv_now_ms());
}

/* Turns the watch until its view's agent port reads `want` and, with `flag`, it gave that flag
 * (3 s at most); the flags it gave. */
static unsigned watch_until_agent(yv_chan_qmp_watch *w, yv_agent_port want, unsigned flag)
{
    unsigned seen = 0;
    int64_t end = yv_now_ms() + 3000;
    while ((yv_chan_qmp_watch_view(w)->agent != want || (seen & flag) != flag) && yv_now_ms() < end)
        seen |= turn(w, 10);
    return seen;
}

/* The agent's port on the held event socket: unknown and being asked once the conversation
 * opens; closed by query-chardev (the address watch then asks no agent); opened and closed again
 * by VSERPORT_CHANGE of our port, not of another; asked once, not again on each event; a closed
 * port asked again on each check unless its QEMU tells the events. */
static void test_watch_tracks_agent_port(void **state)
{
    (void)state;
    char *dir = ut_mkdtemp(), *sock = yv_asprintf("%s/vm.sock", dir);
    char *events = yv_asprintf("%s/vm.events", dir);
    int lfd = ut_unix_listen(events, 1), gate[2], count[2];
    assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
    assert_int_equal(pipe2(count, O_CLOEXEC | O_NONBLOCK), 0);
    pid_t child = fake_qemu_with_agent_port(lfd, gate[0], count[1]);
    close(gate[0]);
    close(count[1]);
    yv_chan_qmp_watch *w = yv_chan_qmp_watch_new(sock, events, 1000, 2000, yv_now_ms());
    const yv_chan_qmp_view *v = yv_chan_qmp_watch_view(w);
    assert_int_equal(v->agent, YV_AGENT_UNKNOWN);
    assert_false(yv_chan_qmp_watch_agent_pending(w)); /* nothing asked before the conversation */
    yv_chan_qmp_watch_handle(w, 0, yv_now_ms()); /* opens it: query-status, then query-chardev */
    assert_true(yv_chan_qmp_watch_agent_pending(w));
    watch_until_agent(w, YV_AGENT_CLOSED, 0);
    assert_int_equal(v->agent, YV_AGENT_CLOSED);
    assert_false(yv_chan_qmp_watch_agent_pending(w));
    assert_int_equal(v->state, YV_STATE_RUNNING);
    assert_int_equal(write(gate[1], "x", 1),
                     1); /* another port: an event, the agent still closed */
    assert_true(watch_until_agent(w, YV_AGENT_CLOSED, YV_CHAN_QMP_AGENT) & YV_CHAN_QMP_AGENT);
    assert_int_equal(v->agent, YV_AGENT_CLOSED);
    assert_int_equal(write(gate[1], "o", 1), 1);
    assert_true(watch_until_agent(w, YV_AGENT_OPEN, YV_CHAN_QMP_AGENT) & YV_CHAN_QMP_AGENT);
    assert_int_equal(v->agent, YV_AGENT_OPEN);
    assert_int_equal(write(gate[1], "c", 1), 1);
    assert_true(watch_until_agent(w, YV_AGENT_CLOSED, YV_CHAN_QMP_AGENT) & YV_CHAN_QMP_AGENT);
    assert_int_equal(v->agent, YV_AGENT_CLOSED);
    char q[8];
    assert_int_equal(read(count[0], q, sizeof q),
                     1); /* one query-chardev: the events did the rest */
    /* a QEMU that may not tell the events (started by an older yave): a closed port is asked
     * again with each check of the held socket; one that tells is not */
    yv_chan_qmp_watch_poke(w, yv_now_ms());
    ssize_t got = 0;
    for (int64_t end = yv_now_ms() + 3000; got <= 0 && yv_now_ms() < end;) {
        turn(w, 10);
        got = read(count[0], q, sizeof q);
    }
    assert_int_equal(got, 1);
    yv_chan_qmp_watch_port_events(w, true);
    yv_chan_qmp_watch_poke(w, yv_now_ms());
    for (int64_t end = yv_now_ms() + 300; yv_now_ms() < end;) turn(w, 10);
    assert_int_equal(read(count[0], q, sizeof q), -1);
    assert_int_equal(v->agent, YV_AGENT_CLOSED);
    yv_chan_qmp_watch_free(w);
    close(gate[1]);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    close(count[0]);
    close(lfd);
    free(sock);
    free(events);
    ut_rmdir(dir);
}

/* ---- a kind without a greeting (the shape of the guest agent): "<id> text\n" lines ---- */

static int line_input(yv_chan *c, const char *buf, size_t n, yv_err *err)
{
    int *answered = yv_chan_impl(c);
    if (n && buf[0] == '!') return yv_err_set(err, YV_E_IO, "garbage");
    *answered += yv_chan_replied(c, strtoll(buf, NULL, 10));
    return 0;
}

static const yv_chan_kind line_kind = {.name = "LINE", .greets = false, .input = line_input};

static void test_kind_without_greeting(void **state)
{
    (void)state;
    int answered = 0, sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    yv_chan *c = yv_chan_new(&line_kind, &answered, NULL);
    yv_chan_adopt(c, sv[0], yv_now_ms(), 1000);
    assert_int_equal(yv_chan_state_of(c), YV_CHAN_READY); /* no greeting to wait for */
    assert_int_equal(yv_chan_request(c, 7, "7 ping\n", 7, yv_now_ms(), 1000), 0);
    assert_int_equal(yv_chan_state_of(c), YV_CHAN_WAITING);
    yv_chan_handle(c, POLLOUT, yv_now_ms());
    char buf[16] = "";
    assert_int_equal(read(sv[1], buf, sizeof buf), 7);
    assert_string_equal(buf, "7 ping\n");
    assert_int_equal(write(sv[1], "7 pong\n", 7), 7);
    yv_chan_handle(c, POLLIN, yv_now_ms());
    assert_int_equal(answered, 1);
    assert_int_equal(yv_chan_state_of(c), YV_CHAN_READY);
    assert_int_equal(write(sv[1], "!", 1), 1); /* a broken conversation, no busy probe */
    yv_chan_handle(c, POLLIN, yv_now_ms());
    assert_int_equal(yv_chan_verdict_of(c), YV_CHAN_UNRESPONSIVE);
    assert_string_equal(yv_chan_why(c), "LINE: garbage");
    yv_chan_free(c);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_greeting_split_and_held_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_between_replies, setup, teardown),
        cmocka_unit_test(test_watch_reports_agent_port_change),
        cmocka_unit_test(test_watch_blockstats),
        cmocka_unit_test(test_watch_tracks_agent_port),
        cmocka_unit_test_setup_teardown(test_error_reply_is_an_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_midline_is_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_line_is_unresponsive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_greeting_is_unresponsive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_reply_is_unresponsive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_request_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_client_is_busy_not_hung, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing_socket, setup, teardown),
        cmocka_unit_test(test_kind_without_greeting),
        cmocka_unit_test(test_watch_of_a_starting_qemu),
    };
    return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
