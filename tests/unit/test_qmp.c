/* Unit tests of core/qmp.c: the non-blocking QMP client against a scripted fake server on a
 * socketpair (in-process, or a forked child that reads our commands and answers them), plus one
 * exchange with a real QEMU. Every wait is bounded: the blocking helpers get ~1 s deadlines and
 * every forked server dies by alarm(5), so a wrong client fails a test instead of hanging it. */
#include "unit.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "core/proc.h"
#include "core/qmp.h"

#define GREETING                                                                                   \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "             \
    "\"package\": "                                                                                \
    "\"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* ---- the fake server (runs in a forked child; exits non-zero when the client misbehaves) ---- */

static pid_t g_child; /* the running fake server, killed by the teardown if a test fails midway */

static void s_write(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(20);
        s += w;
        n -= (size_t)w;
    }
}

static void s_writef(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_writef(int fd, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s_write(fd, buf);
}

/* Reads one command line; checks it is one compact JSON object with "execute" == want and an
 * integer id (named) or none (not named); returns the id (-1: none). */
static json_int_t s_expect_as(int fd, const char *want, bool named)
{
    char line[65536];
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) _exit(10); /* the client closed before sending the command */
        if (c == '\n') break;
        if (n + 1 >= sizeof line) _exit(11);
        line[n++] = c;
    }
    line[n] = '\0';
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    const char *ex = json_string_value(json_object_get(j, "execute"));
    json_t *id = json_object_get(j, "id");
    if (!json_is_object(j) || !ex || strcmp(ex, want) != 0) _exit(12);
    if (named ? !json_is_integer(id) : id != NULL) _exit(14);
    json_int_t v = named ? json_integer_value(id) : -1;
    json_decref(j);
    return v;
}

static json_int_t s_expect(int fd, const char *want)
{
    return s_expect_as(fd, want, true);
}

/* Waits until the client closes its end (anything it still sends is an error). */
static void s_wait_close(int fd)
{
    char c;
    ssize_t r;
    while ((r = read(fd, &c, 1)) < 0 && errno == EINTR) {
    }
    if (r != 0) _exit(13);
}

/* Greeting, then the qmp_capabilities exchange. */
static void s_handshake(int fd)
{
    s_write(fd, GREETING);
    json_int_t id = s_expect(fd, "qmp_capabilities");
    s_writef(fd, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
}

typedef void (*server_fn)(int fd);

/* Starts fn as the server on a socketpair; returns the client end (the child owns the other). */
static int start_server(server_fn fn)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        alarm(5);
        fn(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    g_child = pid;
    return sv[0];
}

/* Reaps the server (killing it after 3 s); its exit status, or -1 when it had to be killed. */
static int reap_server(void)
{
    int status = 0;
    pid_t pid = g_child;
    g_child = 0;
    if (pid <= 0) return -1;
    int64_t end = yv_now_ms() + 3000;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0) return -1;
        if (yv_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(2000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int teardown_server(void **state)
{
    (void)state;
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
        g_child = 0;
    }
    return 0;
}

/* A client on the end of a fresh server. */
static yv_qmp *client_for(server_fn fn)
{
    yv_qmp *q = yv_qmp_new();
    yv_qmp_adopt(q, start_server(fn));
    return q;
}

static int64_t deadline_1s(void)
{
    return yv_now_ms() + 1000;
}

/* ---- greeting split across several writes, then a command ---- */

static void srv_split_greeting(int fd)
{
    static const char *const parts[] = {"{\"QMP\": {\"vers", "ion\": {\"qemu\": {\"micro\": 22, ",
                                        "\"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r",
                                        "\n"};
    for (size_t i = 0; i < 4; i++) {
        s_write(fd, parts[i]);
        usleep(20000);
    }
    json_int_t id = s_expect(fd, "qmp_capabilities");
    s_writef(fd, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
    id = s_expect(fd, "query-status");
    s_writef(fd,
             "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, "
             "\"id\": %lld}\r\n",
             (long long)id);
    s_wait_close(fd);
}

static void test_greeting_split(void **state)
{
    (void)state;
    yv_err err;
    json_t *ret = NULL;
    yv_qmp *q = client_for(srv_split_greeting);
    assert_false(yv_qmp_greeted(q));
    assert_int_equal(yv_qmp_greet(q, deadline_1s(), &err), 0);
    assert_true(yv_qmp_greeted(q));
    assert_int_equal(yv_qmp_call(q, "query-status", NULL, &ret, deadline_1s(), &err), 0);
    assert_non_null(ret);
    assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
    assert_true(json_is_true(json_object_get(ret, "running")));
    json_decref(ret);
    yv_qmp_msg m;
    assert_false(yv_qmp_pop(q, &m)); /* the greeting and the replies were consumed */
    assert_false(yv_qmp_eof(q));
    yv_qmp_free(q);
    assert_int_equal(reap_server(), 0);
}

/* ---- an event that arrives before the reply stays queued ---- */

static void srv_event_first(int fd)
{
    s_handshake(fd);
    json_int_t id = s_expect(fd, "stop");
    s_write(fd, "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 5}, \"event\": "
                "\"STOP\"}\r\n");
    s_writef(fd, "{\"return\": {}, \"id\": %lld}\r\n", (long long)id);
    s_wait_close(fd);
}

static void test_event_before_reply(void **state)
{
    (void)state;
    yv_err err;
    json_t *ret = NULL;
    yv_qmp *q = client_for(srv_event_first);
    assert_int_equal(yv_qmp_greet(q, deadline_1s(), &err), 0);
    assert_int_equal(yv_qmp_call(q, "stop", NULL, &ret, deadline_1s(), &err), 0);
    assert_true(json_is_object(ret));
    assert_int_equal(json_object_size(ret), 0);
    json_decref(ret);
    yv_qmp_msg m;
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_EVENT);
    assert_non_null(m.event);
    assert_string_equal(m.event, "STOP");
    assert_int_equal(m.id, -1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(m.json, "timestamp"), "seconds")),
        1700000000);
    json_decref(m.json);
    assert_false(yv_qmp_pop(q, &m));
    yv_qmp_free(q);
    assert_int_equal(reap_server(), 0);
}

/* ---- an error reply is an answer ---- */

static void srv_error(int fd)
{
    s_handshake(fd);
    json_int_t id = s_expect(fd, "frobnicate");
    s_writef(fd,
             "{\"id\": %lld, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
             "frobnicate has not been found\"}}\r\n",
             (long long)id);
    s_wait_close(fd);
}

static void test_error_reply(void **state)
{
    (void)state;
    yv_err err;
    json_t *ret = (json_t *)1; /* must be reset to NULL */
    yv_qmp *q = client_for(srv_error);
    assert_int_equal(yv_qmp_greet(q, deadline_1s(), &err), 0);
    int64_t t0 = yv_now_ms();
    yv_err_clear(&err);
    assert_int_equal(yv_qmp_call(q, "frobnicate", NULL, &ret, deadline_1s(), &err), 1);
    assert_true(yv_now_ms() - t0 < 500); /* answered, not timed out */
    assert_null(ret);
    ut_assert_contains(err.msg, "CommandNotFound");
    ut_assert_contains(err.msg, "The command frobnicate has not been found");
    assert_int_not_equal(err.code, YV_E_TIMEOUT);
    assert_false(yv_qmp_eof(q));
    yv_qmp_free(q);
    assert_int_equal(reap_server(), 0);
}

/* ---- a pipeline: everything written before the greeting is read ---- */

/* Sends no greeting until the negotiation and both commands came (a client waiting for it would
 * wait for ever), then answers them; when the first command fails, the client stops there (it
 * closes: the second one's answer is not waited for). The commands carry no id (QEMU reads every
 * byte of them one at a time), so the answers carry none: the client tells them by their order,
 * as QEMU gives them. */
static void srv_pipeline(int fd, bool first_fails)
{
    s_expect_as(fd, "qmp_capabilities", false);
    s_expect_as(fd, "set_password", false);
    s_expect_as(fd, "cont", false);
    s_write(fd, GREETING);
    s_write(fd, "{\"return\": {}}\r\n");
    if (first_fails) {
        s_write(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\r\n");
    } else {
        s_write(fd, "{\"return\": {}}\r\n");
        s_write(fd, "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, "
                    "\"microseconds\": 2}}\r\n");
        s_write(fd, "{\"return\": {}}\r\n");
    }
    s_wait_close(fd);
}

static void srv_pipeline_ok(int fd)
{
    srv_pipeline(fd, false);
}

static void srv_pipeline_first_fails(int fd)
{
    srv_pipeline(fd, true);
}

static int pipeline(yv_qmp *q, long *failed, yv_err *err)
{
    static const char *const cmds[] = {"set_password", "cont"};
    json_t *args[] = {json_pack("{s:s, s:s}", "protocol", "vnc", "password", "pw"), NULL};
    return yv_qmp_pipeline(q, 2, cmds, args, deadline_1s(), failed, err);
}

static void test_pipeline(void **state)
{
    (void)state;
    yv_err err;
    long failed = 7;
    yv_qmp *q = client_for(srv_pipeline_ok);
    assert_int_equal(pipeline(q, &failed, &err), 0);
    assert_int_equal(failed, -1);
    yv_qmp_free(q);
    assert_int_equal(reap_server(), 0);

    q = client_for(srv_pipeline_first_fails);
    assert_int_equal(pipeline(q, &failed, &err), 1);
    assert_int_equal(failed, 0); /* the first command's error, although the second one ran */
    ut_assert_contains(err.msg, "QMP set_password: GenericError: no");
    yv_qmp_free(q);
    assert_int_equal(reap_server(), 0);
}

/* ---- EOF in the middle of a line ---- */

static void srv_eof_midline(int fd)
{
    s_handshake(fd);
    s_expect(fd, "query-status");
    s_write(fd, "{\"return\": {\"status\": \"runn");
    _exit(0); /* closes the socket mid-line */
}

static void test_eof_midline(void **state)
{
    (void)state;
    yv_err err;
    json_t *ret = NULL;
    yv_qmp *q = client_for(srv_eof_midline);
    assert_int_equal(yv_qmp_greet(q, deadline_1s(), &err), 0);
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_qmp_call(q, "query-status", NULL, &ret, deadline_1s(), &err), -1);
    assert_true(yv_now_ms() - t0 < 500); /* EOF ends the wait at once */
    assert_null(ret);
    assert_true(yv_qmp_eof(q));
    assert_int_equal(err.code, YV_E_IO);
    yv_qmp_msg m;
    assert_false(yv_qmp_pop(q, &m)); /* the partial line is not a message */
    /* a later call fails at once too */
    assert_int_equal(yv_qmp_call(q, "query-status", NULL, &ret, deadline_1s(), &err), -1);
    assert_int_equal(err.code, YV_E_IO);
    yv_qmp_free(q);
    assert_int_equal(reap_server(), 0);
}

/* ---- replies with foreign ids are not ours ---- */

static void srv_foreign_then_ours(int fd)
{
    s_handshake(fd);
    json_int_t id = s_expect(fd, "query-status");
    s_writef(fd, "{\"return\": {\"status\": \"paused\"}, \"id\": %lld}\r\n", (long long)id + 1000);
    s_writef(fd, "{\"return\": {\"status\": \"paused\"}, \"id\": \"%lld\"}\r\n", (long long)id);
    s_write(fd, "{\"return\": {\"status\": \"paused\"}}\r\n");
    s_writef(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}, \"id\": %lld}\r\n",
             (long long)id - 1);
    s_writef(fd, "{\"return\": {\"status\": \"running\"}, \"id\": %lld}\r\n", (long long)id);
    s_wait_close(fd);
}

static void test_foreign_id(void **state)
{
    (void)state;
    yv_err err;
    json_t *ret = NULL;
    yv_qmp *q = client_for(srv_foreign_then_ours);
    assert_int_equal(yv_qmp_greet(q, deadline_1s(), &err), 0);
    assert_int_equal(yv_qmp_call(q, "query-status", NULL, &ret, deadline_1s(), &err), 0);
    assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
    json_decref(ret);
    /* the four foreign replies are still queued, in order, none with our id (2) */
    static const yv_qmp_kind kinds[] = {YV_QMP_RETURN, YV_QMP_RETURN, YV_QMP_RETURN, YV_QMP_ERROR};
    static const json_int_t ids[] = {1002, -1, -1, 1};
    for (size_t i = 0; i < 4; i++) {
        yv_qmp_msg m;
        assert_true(yv_qmp_pop(q, &m));
        assert_int_equal(m.kind, kinds[i]);
        assert_int_equal(m.id, ids[i]);
        json_decref(m.json);
    }
    yv_qmp_msg m;
    assert_false(yv_qmp_pop(q, &m));
    yv_qmp_free(q);
    assert_int_equal(reap_server(), 0);
}

static void srv_foreign_only(int fd)
{
    s_handshake(fd);
    json_int_t id = s_expect(fd, "query-status");
    s_writef(fd, "{\"return\": {\"status\": \"paused\"}, \"id\": %lld}\r\n", (long long)id + 1);
    s_write(fd, "{\"return\": {\"status\": \"paused\"}}\r\n");
    s_wait_close(fd);
}

static void test_foreign_id_only_times_out(void **state)
{
    (void)state;
    yv_err err;
    json_t *ret = NULL;
    yv_qmp *q = client_for(srv_foreign_only);
    assert_int_equal(yv_qmp_greet(q, deadline_1s(), &err), 0);
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_qmp_call(q, "query-status", NULL, &ret, t0 + 300, &err), -1);
    int64_t el = yv_now_ms() - t0;
    assert_true(el >= 290 && el < 800);
    assert_int_equal(err.code, YV_E_TIMEOUT);
    assert_null(ret);
    yv_qmp_free(q);
    assert_int_equal(reap_server(), 0);
}

/* ---- total silence: greet times out at the deadline ---- */

static void test_silence_times_out(void **state)
{
    (void)state;
    int sv[2];
    yv_err err;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    yv_qmp *q = yv_qmp_new();
    yv_qmp_adopt(q, sv[0]);
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_qmp_greet(q, t0 + 1000, &err), -1);
    int64_t el = yv_now_ms() - t0;
    if (el < 990 || el > 1500) fail_msg("greet gave up after %lld ms, want ~1000", (long long)el);
    assert_int_equal(err.code, YV_E_TIMEOUT);
    assert_false(yv_qmp_greeted(q));
    assert_false(yv_qmp_eof(q));
    /* nothing was sent before the greeting */
    char buf[16];
    assert_int_equal(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    yv_qmp_free(q);
    close(sv[1]);
}

/* A greeting but no answer to qmp_capabilities: still a timeout. */
static void test_greeting_without_caps_reply(void **state)
{
    (void)state;
    int sv[2];
    yv_err err;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(write(sv[1], GREETING, strlen(GREETING)), (ssize_t)strlen(GREETING));
    yv_qmp *q = yv_qmp_new();
    yv_qmp_adopt(q, sv[0]);
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_qmp_greet(q, t0 + 300, &err), -1);
    assert_true(yv_now_ms() - t0 >= 290);
    assert_int_equal(err.code, YV_E_TIMEOUT);
    assert_true(yv_qmp_greeted(q));
    yv_qmp_free(q);
    close(sv[1]);
}

/* ---- in-process: the server side is the other end of the pair, read and written by the test ----
 */

/* Reads what the client wrote (it writes on POLLOUT). */
static char *drain_server(yv_qmp *q, int srv)
{
    yv_err err;
    for (int i = 0; i < 100 && (yv_qmp_poll_events(q) & POLLOUT); i++)
        assert_int_equal(yv_qmp_handle(q, POLLOUT, &err), 0);
    assert_false(yv_qmp_poll_events(q) & POLLOUT);
    size_t n = 0, cap = 65536;
    char *buf = yv_malloc(cap + 1);
    for (;;) {
        ssize_t r = recv(srv, buf + n, cap - n, MSG_DONTWAIT);
        if (r <= 0) break;
        n += (size_t)r;
        assert_true(n < cap);
    }
    buf[n] = '\0';
    return buf;
}

static void test_commands_on_the_wire(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    yv_qmp *q = yv_qmp_new();
    yv_qmp_adopt(q, sv[0]);
    assert_int_equal(yv_qmp_fd(q), sv[0]);
    assert_true(yv_qmp_poll_events(q) & POLLIN);
    assert_false(yv_qmp_poll_events(q) & POLLOUT);

    const char *cmds[] = {"qmp_capabilities", "query-status", "set_password", "quit"};
    json_int_t ids[4];
    for (size_t i = 0; i < 4; i++) {
        json_t *args =
            i == 2 ? json_pack("{s:s, s:s}", "protocol", "vnc", "password", "a\nb \"c\"") : NULL;
        ids[i] = yv_qmp_send(q, cmds[i], args);
        if (i) assert_true(ids[i] > ids[i - 1]); /* ids increase */
        assert_true(yv_qmp_poll_events(q) & POLLOUT);
    }
    char *wire = drain_server(q, sv[1]);
    size_t nlines = 0;
    char *save = NULL;
    assert_int_equal(wire[strlen(wire) - 1], '\n');
    ut_assert_not_contains(wire, "\r");
    for (char *line = strtok_r(wire, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_true(nlines < 4);
        json_error_t je;
        json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
        if (!j) fail_msg("line %zu is not JSON (%s): %s", nlines, je.text, line);
        assert_true(json_is_object(j));
        assert_string_equal(json_string_value(json_object_get(j, "execute")), cmds[nlines]);
        assert_true(json_is_integer(json_object_get(j, "id")));
        assert_int_equal(json_integer_value(json_object_get(j, "id")), ids[nlines]);
        if (nlines == 2) {
            json_t *a = json_object_get(j, "arguments");
            assert_string_equal(json_string_value(json_object_get(a, "protocol")), "vnc");
            assert_string_equal(json_string_value(json_object_get(a, "password")), "a\nb \"c\"");
            assert_int_equal(json_object_size(j), 3);
        } else {
            assert_null(json_object_get(j, "arguments"));
            assert_int_equal(json_object_size(j), 2);
            ut_assert_not_contains(line, " "); /* compact */
        }
        /* compact: the same object dumped compactly gives the same bytes */
        char *again = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_int_equal(strlen(again), strlen(line));
        free(again);
        json_decref(j);
        nlines++;
    }
    assert_int_equal(nlines, 4);
    free(wire);

    /* a reply written by the "server" before the blocking helper runs is found by id */
    yv_err err;
    json_t *ret = NULL;
    char reply[128];
    snprintf(reply, sizeof reply, "{\"return\": {\"n\": 7}, \"id\": %lld}\r\n",
             (long long)ids[3] + 1);
    assert_int_equal(write(sv[1], reply, strlen(reply)), (ssize_t)strlen(reply));
    assert_int_equal(yv_qmp_call(q, "query-n", NULL, &ret, deadline_1s(), &err), 0);
    assert_int_equal(json_integer_value(json_object_get(ret, "n")), 7);
    json_decref(ret);
    wire = drain_server(q, sv[1]);
    json_error_t je;
    json_t *j = json_loads(wire, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "execute")), "query-n");
    assert_int_equal(json_integer_value(json_object_get(j, "id")), ids[3] + 1);
    json_decref(j);
    free(wire);
    yv_qmp_free(q);
    close(sv[1]);
}

/* A command without arguments is printed without jansson (a forced stop never runs it): the same
 * bytes jansson writes; a name that is not a plain identifier still goes through jansson's
 * escaping. */
static void test_command_lines(void **state)
{
    (void)state;
    const char *names[] = {"quit", "qmp_capabilities", "query-status", "x\"y\\z", "a\nb", ""};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t len;
        for (int named = 0; named < 2; named++) { /* with an id, and without (id < 0) */
            char *line = yv_qmp_command(names[i], NULL, named ? 42 + (json_int_t)i : -1, &len);
            assert_int_equal(strlen(line), len);
            assert_int_equal(line[len - 1], '\n');
            json_t *j = json_pack("{s:s}", "execute", names[i]);
            if (named) json_object_set_new(j, "id", json_integer(42 + (json_int_t)i));
            char *want = json_dumps(j, JSON_COMPACT);
            assert_int_equal(len, strlen(want) + 1);
            assert_memory_equal(line, want, len - 1);
            free(want);
            json_decref(j);
            free(line);
        }
    }
}

/* The "n" of the answer to the command numbered id (0: an error answer, -1: none came). */
static json_int_t answer_n(yv_qmp *q, json_int_t id)
{
    yv_qmp_msg m;
    if (!yv_qmp_pop_reply(q, id, &m)) return -1;
    json_int_t n =
        m.kind == YV_QMP_ERROR
            ? 0
            : json_integer_value(json_object_get(json_object_get(m.json, "return"), "n"));
    json_decref(m.json);
    return n;
}

/* Answers without an id go to the commands sent without one, oldest first; an answer that names
 * an id goes to that command, wherever it comes; an answer without an id that nothing waits for
 * is nobody's. */
static void test_unnamed_answers_by_order(void **state)
{
    (void)state;
    yv_qmp *q = yv_qmp_new();
    yv_err err;
    yv_qmp_msg m;
    json_int_t a = yv_qmp_send_unnamed(q, "qmp_capabilities", NULL),
               b = yv_qmp_send(q, "query-status", NULL),
               c = yv_qmp_send_unnamed(q, "set_password",
                                       json_pack("{s:s, s:s}", "protocol", "vnc", "password", "x"));
    assert_true(a < b && b < c);
    const char *in =
        "{\"return\": {\"n\": 1}}\r\n"
        "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\r\n";
    assert_int_equal(yv_qmp_feed(q, in, strlen(in), &err), 0);
    char *named = yv_asprintf("{\"return\": {\"n\": 2}, \"id\": %lld}\r\n"
                              "{\"return\": {\"n\": 3}}\r\n",
                              (long long)b);
    assert_int_equal(yv_qmp_feed(q, named, strlen(named), &err), 0);
    free(named);
    assert_int_equal(answer_n(q, c), 0); /* the error */
    assert_int_equal(answer_n(q, b), 2);
    assert_int_equal(answer_n(q, a), 1);
    assert_int_equal(answer_n(q, a), -1); /* taken */
    assert_true(yv_qmp_pop(q, &m));       /* the event, then the stray answer: nobody's */
    assert_int_equal(m.kind, YV_QMP_EVENT);
    json_decref(m.json);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_RETURN);
    assert_int_equal(m.id, -1);
    json_decref(m.json);
    assert_false(yv_qmp_pop(q, &m));
    yv_qmp_free(q);
}

/* ---- framing without a socket ---- */

static void test_feed_byte_at_a_time(void **state)
{
    (void)state;
    static const char input[] =
        GREETING "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n"
                 "{\"return\": {\"status\": \"running\"}, \"id\": 5}\r\n"
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}, \"id\": 6}\r\n";
    static const yv_qmp_kind kinds[] = {YV_QMP_GREETING, YV_QMP_EVENT, YV_QMP_RETURN, YV_QMP_ERROR};
    static const json_int_t ids[] = {-1, -1, 5, 6};
    yv_qmp *q = yv_qmp_new();
    yv_err err;
    yv_qmp_msg m;
    size_t got = 0;
    for (size_t i = 0; i < sizeof input - 1; i++) {
        assert_int_equal(yv_qmp_feed(q, input + i, 1, &err), 0);
        if (input[i] != '\n') {
            /* nothing appears before the newline */
            if (yv_qmp_pop(q, &m))
                fail_msg("a message was queued at byte %zu, before its newline", i);
            continue;
        }
        assert_true(got < 4);
        assert_true(yv_qmp_pop(q, &m)); /* exactly when its newline arrives */
        assert_int_equal(m.kind, kinds[got]);
        assert_int_equal(m.id, ids[got]);
        if (got == 0) {
            assert_true(yv_qmp_greeted(q));
            json_t *v = json_object_get(json_object_get(m.json, "QMP"), "version");
            assert_int_equal(
                json_integer_value(json_object_get(json_object_get(v, "qemu"), "major")), 7);
        } else if (got == 1) {
            assert_string_equal(m.event, "RESUME");
        } else if (got == 2) {
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(m.json, "return"), "status")),
                "running");
        }
        json_decref(m.json);
        assert_false(yv_qmp_pop(q, &m));
        got++;
    }
    assert_int_equal(got, 4);
    yv_qmp_free(q);
}

/* The queue keeps arrival order through pops of the oldest, replies taken from the middle and the
 * reuse of popped space; and a flood of small lines pops in linear time (found by
 * tests/fuzz/fuzz_qmp: popping moved the whole queue, so 32768 queued lines took seconds). */
static void test_queue_order_and_flood(void **state)
{
    (void)state;
    yv_qmp *q = yv_qmp_new();
    yv_err err;
    yv_qmp_msg m;
    json_int_t expect = 0;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 100; i++) {
            char line[64];
            snprintf(line, sizeof line, "{\"return\": {}, \"id\": %d}\n", round * 100 + i);
            assert_int_equal(yv_qmp_feed(q, line, strlen(line), &err), 0);
        }
        json_int_t mid = round * 100 + 50; /* always ahead of the pops below */
        assert_true(yv_qmp_pop_reply(q, mid, &m));
        assert_int_equal(m.id, mid);
        json_decref(m.json);
        for (int i = 0; i < 70 + round % 40; i++) {
            if (expect % 100 == 50) expect++;
            assert_true(yv_qmp_pop(q, &m));
            assert_int_equal(m.id, expect++);
            json_decref(m.json);
        }
    }
    while (yv_qmp_pop(q, &m)) {
        if (expect % 100 == 50) expect++;
        assert_int_equal(m.id, expect++);
        json_decref(m.json);
    }
    assert_int_equal(expect, 4000);
    size_t n = 50000;
    char *flood = yv_malloc(3 * n);
    for (size_t i = 0; i < n; i++) memcpy(flood + 3 * i, "{}\n", 3);
    assert_int_equal(yv_qmp_feed(q, flood, 3 * n, &err), 0);
    free(flood);
    size_t got = 0;
    for (; yv_qmp_pop(q, &m); got++) json_decref(m.json);
    assert_int_equal(got, n);
    yv_qmp_free(q);
}

/* Nothing is queued before the newline arrives. */
static void test_feed_partial_line_not_queued(void **state)
{
    (void)state;
    yv_qmp *q = yv_qmp_new();
    yv_err err;
    yv_qmp_msg m;
    const char *line = "{\"return\": {}, \"id\": 1}";
    assert_int_equal(yv_qmp_feed(q, line, strlen(line), &err), 0);
    assert_false(yv_qmp_pop(q, &m));
    assert_int_equal(yv_qmp_feed(q, "\r", 1, &err), 0);
    assert_false(yv_qmp_pop(q, &m));
    assert_int_equal(yv_qmp_feed(q, "\n{\"ret", 6, &err), 0);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_RETURN);
    assert_int_equal(m.id, 1);
    json_decref(m.json);
    assert_false(yv_qmp_pop(q, &m));
    assert_int_equal(yv_qmp_feed(q, "urn\": {}, \"id\": 2}\n", 19, &err), 0);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.id, 2);
    json_decref(m.json);
    yv_qmp_free(q);
}

static void test_crlf(void **state)
{
    (void)state;
    yv_qmp *q = yv_qmp_new();
    yv_err err;
    yv_qmp_msg m;
    /* \r\n line ends, one split between \r and \n, a bare \n one, and blank lines in between */
    const char *a = "{\"return\": {\"x\": \"y\"}, \"id\": 3}\r";
    const char *b = "\n\r\n\n{\"event\": \"POWERDOWN\", \"timestamp\": {}}\r\n{\"return\": {}}\n";
    assert_int_equal(yv_qmp_feed(q, a, strlen(a), &err), 0);
    assert_int_equal(yv_qmp_feed(q, b, strlen(b), &err), 0);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_RETURN);
    assert_int_equal(m.id, 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m.json, "return"), "x")),
                        "y");
    json_decref(m.json);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_EVENT);
    assert_string_equal(m.event, "POWERDOWN");
    json_decref(m.json);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_RETURN);
    assert_int_equal(m.id, -1);
    json_decref(m.json);
    assert_false(yv_qmp_pop(q, &m)); /* the blank lines are no messages */
    yv_qmp_free(q);
}

static void test_unknown_lines(void **state)
{
    (void)state;
    yv_qmp *q = yv_qmp_new();
    yv_err err;
    yv_qmp_msg m;
    const char *in = "this is not json\r\n"
                     "[1, 2, 3]\r\n"
                     "{\"hello\": 1}\r\n"
                     "{\"event\": 42}\r\n"
                     "{\"error\": \"flat\"}\r\n"
                     "{\"a\": 1, \"a\": 2}\r\n"
                     "\xff\xfe garbage\r\n"
                     "{\"return\": {}, \"id\": 9}\r\n";
    assert_int_equal(yv_qmp_feed(q, in, strlen(in), &err), 0);
    /* valid UTF-8, not JSON, longer than the 200 bytes kept of it: byte 200 cuts the 'é' */
    char longline[400];
    memset(longline, 'x', sizeof longline);
    memcpy(longline + 199, "\xc3\xa9", 2);
    memcpy(longline + sizeof longline - 2, "\r\n", 2);
    assert_int_equal(yv_qmp_feed(q, longline, sizeof longline, &err), 0);
    const char *last = "{\"return\": {}, \"id\": 10}\r\n";
    assert_int_equal(yv_qmp_feed(q, last, strlen(last), &err), 0);
    for (int i = 0; i < 7; i++) {
        assert_true(yv_qmp_pop(q, &m));
        if (m.kind != YV_QMP_UNKNOWN) fail_msg("line %d: kind %d, want UNKNOWN", i, (int)m.kind);
        assert_null(m.event);
        assert_int_equal(m.id, -1);
        if (!m.json) fail_msg("line %d: no json", i); /* the receiver can always log what it got */
        json_decref(m.json);
    }
    assert_true(yv_qmp_pop(q, &m)); /* framing recovers after garbage */
    assert_int_equal(m.kind, YV_QMP_RETURN);
    assert_int_equal(m.id, 9);
    json_decref(m.json);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_UNKNOWN);
    if (!m.json) fail_msg("long line: no json");
    json_decref(m.json);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.id, 10);
    json_decref(m.json);
    assert_false(yv_qmp_pop(q, &m));
    assert_false(yv_qmp_greeted(q));
    yv_qmp_free(q);
}

/* A line longer than YV_QMP_LINE_MAX without a newline is refused (fed in 1 MiB chunks). */
static void test_oversized_line(void **state)
{
    (void)state;
    const size_t chunk = 1024 * 1024;
    char *buf = yv_malloc(chunk);
    memset(buf, 'a', chunk);
    memcpy(buf, "{\"x\": \"", 7);
    yv_qmp *q = yv_qmp_new();
    yv_err err;
    size_t fed = 0;
    int rc = 0;
    while (rc == 0 && fed <= (size_t)YV_QMP_LINE_MAX + chunk) {
        rc = yv_qmp_feed(q, buf, chunk, &err);
        fed += chunk;
        if (fed == chunk) memset(buf, 'a', 7); /* only the first chunk opens the string */
    }
    assert_int_equal(rc, -1);
    /* refused as soon as the pending line passes the cap, not before */
    assert_true(fed > (size_t)YV_QMP_LINE_MAX);
    assert_true(fed - chunk <= (size_t)YV_QMP_LINE_MAX);
    assert_int_equal(err.code, YV_E_IO);
    assert_true(yv_qmp_eof(q)); /* the connection is unusable */
    yv_qmp_msg m;
    assert_false(yv_qmp_pop(q, &m));
    yv_qmp_free(q);

    /* a long line that does end within the cap is fine (query-qmp-schema is ~200 KB) */
    q = yv_qmp_new();
    memcpy(buf, "{\"return\": \"", 12);
    memcpy(buf + 300000, "\", \"id\": 4}\r\n", 13);
    assert_int_equal(yv_qmp_feed(q, buf, 300013, &err), 0);
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_RETURN);
    assert_int_equal(m.id, 4);
    assert_int_equal(strlen(json_string_value(json_object_get(m.json, "return"))), 300000 - 12);
    json_decref(m.json);
    yv_qmp_free(q);
    free(buf);
}

/* EOF and a closed peer through yv_qmp_handle. */
static void test_handle_eof(void **state)
{
    (void)state;
    int sv[2];
    yv_err err;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    yv_qmp *q = yv_qmp_new();
    yv_qmp_adopt(q, sv[0]);
    const char *s = "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": "
                    "\"host-qmp-quit\"}, \"timestamp\": {}}\r\n{\"return\": {}, \"id\": 1}\r\n";
    assert_int_equal(write(sv[1], s, strlen(s)), (ssize_t)strlen(s));
    close(sv[1]);
    /* the queued messages survive the EOF that follows them */
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_qmp_wait_eof(q, t0 + 1000, &err), 0);
    assert_true(yv_now_ms() - t0 < 500);
    assert_true(yv_qmp_eof(q));
    yv_qmp_msg m;
    assert_true(yv_qmp_pop(q, &m));
    assert_int_equal(m.kind, YV_QMP_EVENT);
    assert_string_equal(m.event, "SHUTDOWN");
    json_decref(m.json);
    assert_true(yv_qmp_pop_reply(q, 1, &m));
    json_decref(m.json);
    yv_qmp_free(q);

    /* wait_eof on a silent open peer times out */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    q = yv_qmp_new();
    yv_qmp_adopt(q, sv[0]);
    t0 = yv_now_ms();
    assert_int_equal(yv_qmp_wait_eof(q, t0 + 200, &err), -1);
    assert_true(yv_now_ms() - t0 >= 190);
    assert_int_equal(err.code, YV_E_TIMEOUT);
    yv_qmp_free(q);
    close(sv[1]);
}

static void test_connect_missing_socket(void **state)
{
    yv_err err;
    yv_qmp *q = yv_qmp_new();
    char *path = yv_asprintf("%s/none.sock", (char *)*state);
    assert_int_equal(yv_qmp_connect(q, path, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_RUNNING);
    free(path);
    yv_qmp_free(q);
}

static void *accept_later(void *arg)
{
    usleep(100 * 1000);
    int c = accept(*(int *)arg, NULL, NULL);
    if (c >= 0) close(c);
    return c >= 0 ? arg : NULL;
}

/* A full queue (other clients' exchanges) makes connect wait, not fail: it succeeds once the
 * server accepts the client ahead; a queue that stays full (a hung QEMU) is a TIMEOUT at the
 * deadline. Plain connect fails at once. */
static void test_connect_waits_while_the_queue_is_full(void **state)
{
    yv_err err;
    char *path = yv_asprintf("%s/full.sock", (char *)*state);
    /* backlog 0: the one client queued fills it */
    int l = ut_unix_listen(path, 0), filler = ut_unix_connect(path, SOCK_NONBLOCK);
    yv_qmp *q = yv_qmp_new();
    assert_int_equal(yv_qmp_connect(q, path, &err), -1);
    assert_int_equal(err.code, YV_E_TIMEOUT);

    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_qmp_connect_wait(q, path, t0 + 300, &err), -1);
    int64_t el = yv_now_ms() - t0;
    assert_int_equal(err.code, YV_E_TIMEOUT);
    if (el < 250 || el > 1000) fail_msg("gave up after %lld ms, want ~300", (long long)el);

    pthread_t server; /* takes the client ahead after 100 ms (a thread: a forked child would be
                         leak-checked by valgrind on exit) */
    assert_int_equal(pthread_create(&server, NULL, accept_later, &l), 0);
    t0 = yv_now_ms();
    assert_int_equal(yv_qmp_connect_wait(q, path, t0 + 5000, &err), 0);
    el = yv_now_ms() - t0;
    void *accepted;
    assert_int_equal(pthread_join(server, &accepted), 0);
    assert_true(accepted != NULL);
    if (el < 90 || el > 2000) fail_msg("connected after %lld ms, want ~100", (long long)el);
    yv_qmp_free(q);
    close(filler);
    close(l);
    free(path);
}

/* ---- a real QEMU ---- */

typedef struct {
    char *dir;
    pid_t pid;
} qemu_fixture;

static int setup_qemu(void **state)
{
    qemu_fixture *f = yv_calloc(1, sizeof *f);
    f->dir = ut_mkdtemp();
    *state = f;
    return 0;
}

static int teardown_qemu(void **state)
{
    qemu_fixture *f = *state;
    char *pidfile = yv_asprintf("%s/q.pid", f->dir);
    pid_t pid = f->pid > 0 ? f->pid : yv_proc_pidfile_pid(pidfile);
    char *qemu = yv_proc_which("qemu-system-x86_64");
    if (pid > 0 && qemu && yv_proc_is_exe(pid, qemu) && !yv_proc_exited(pid)) {
        kill(pid, SIGKILL);
        for (int i = 0; i < 500 && !yv_proc_exited(pid); i++) usleep(10000);
    }
    free(qemu);
    free(pidfile);
    ut_rmdir(f->dir);
    free(f);
    return 0;
}

static void test_real_qemu(void **state)
{
    qemu_fixture *f = *state;
    yv_err err;
    char *qemu = yv_proc_which("qemu-system-x86_64");
    if (!qemu) skip();
    char *sock = yv_asprintf("%s/q.sock", f->dir), *pidfile = yv_asprintf("%s/q.pid", f->dir);
    char *log = yv_asprintf("%s/qemu.log", f->dir);
    char *qmp = yv_asprintf("unix:%s,server=on,wait=off", sock);
    char *argv[] = {qemu,   "-accel", "tcg", "-m",       "64",    "-nodefaults", "-display",
                    "none", "-qmp",   qmp,   "-pidfile", pidfile, "-S",          NULL};
    int pidfd;
    if (yv_proc_daemon(argv, NULL, log, &f->pid, &pidfd, &err) < 0)
        fail_msg("QEMU did not start: %s", err.msg);
    if (pidfd >= 0) close(pidfd);
    assert_true(f->pid > 1);

    /* started paused (-S, as run does), connected as soon as the socket is there (QEMU still
     * starting): `cont` written with the negotiation, before the greeting was read, is taken */
    yv_qmp *q = yv_qmp_new();
    long failed = 0;
    for (int i = 0; i < 1000 && yv_qmp_connect(q, sock, &err) < 0; i++) usleep(10000);
    assert_int_equal(yv_proc_pidfile_pid(pidfile), f->pid);
    assert_true(yv_proc_is_exe(f->pid, qemu));
    if (yv_qmp_pipeline(q, 1, (const char *[]){"cont"}, (json_t *[]){NULL}, yv_now_ms() + 3000,
                        &failed, &err) != 0)
        fail_msg("cont: %s", err.msg);
    assert_int_equal(failed, -1);
    yv_qmp_free(q);

    q = yv_qmp_new();
    json_t *ret = NULL;
    assert_int_equal(yv_qmp_connect(q, sock, &err), 0);
    if (yv_qmp_greet(q, yv_now_ms() + 3000, &err) < 0) fail_msg("greet: %s", err.msg);
    assert_true(yv_qmp_greeted(q));
    if (yv_qmp_call(q, "query-status", NULL, &ret, yv_now_ms() + 3000, &err) != 0)
        fail_msg("query-status: %s", err.msg);
    assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
    json_decref(ret);
    /* an unknown command is an error answer, and the connection stays usable */
    assert_int_equal(yv_qmp_call(q, "no-such-command", NULL, NULL, yv_now_ms() + 3000, &err), 1);
    ut_assert_contains(err.msg, "CommandNotFound");

    yv_qmp_send(q, "quit", NULL);
    if (yv_qmp_wait_eof(q, yv_now_ms() + 5000, &err) < 0) fail_msg("quit: %s", err.msg);
    assert_true(yv_qmp_eof(q));
    yv_qmp_free(q);
    int64_t end = yv_now_ms() + 5000;
    while (!yv_proc_exited(f->pid) && yv_now_ms() < end) usleep(10000);
    assert_true(yv_proc_exited(f->pid));
    f->pid = 0;
    /* a clean exit removes the socket and the pidfile */
    for (int i = 0; i < 100 && (yv_root_exists(sock) || yv_root_exists(pidfile)); i++)
        usleep(10000);
    assert_false(yv_root_exists(sock));
    assert_false(yv_root_exists(pidfile));
    free(qmp);
    free(log);
    free(sock);
    free(pidfile);
    free(qemu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_greeting_split, teardown_server),
        cmocka_unit_test_teardown(test_event_before_reply, teardown_server),
        cmocka_unit_test_teardown(test_error_reply, teardown_server),
        cmocka_unit_test_teardown(test_pipeline, teardown_server),
        cmocka_unit_test_teardown(test_eof_midline, teardown_server),
        cmocka_unit_test_teardown(test_foreign_id, teardown_server),
        cmocka_unit_test_teardown(test_foreign_id_only_times_out, teardown_server),
        cmocka_unit_test(test_silence_times_out),
        cmocka_unit_test(test_greeting_without_caps_reply),
        cmocka_unit_test(test_commands_on_the_wire),
        cmocka_unit_test(test_command_lines),
        cmocka_unit_test(test_unnamed_answers_by_order),
        cmocka_unit_test(test_feed_byte_at_a_time),
        cmocka_unit_test(test_feed_partial_line_not_queued),
        cmocka_unit_test(test_queue_order_and_flood),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_unknown_lines),
        cmocka_unit_test(test_oversized_line),
        cmocka_unit_test(test_handle_eof),
        cmocka_unit_test_setup_teardown(test_connect_waits_while_the_queue_is_full, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_connect_missing_socket, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_real_qemu, setup_qemu, teardown_qemu),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
