/* Unit tests of the guest agent kind (core/chan_qga.c) against a scripted fake agent on the other
 * end of a socketpair, and of the blocking one-shot (core/qga.c) against a forked fake agent on a
 * UNIX listener: leftovers before the 0xFF delimiter, a sync answer with another id, silence (no
 * agent), an oversized answer, a peer that closes, an answer with another id, an error answer,
 * another client served (busy). */
#include "unit.h"

#include <poll.h>
#include <sys/wait.h>

#include "core/chan_qga.h"
#include "core/qga.h"

typedef struct {
    yv_chan_qga *q;
    int srv;
    int replies;
    char last[512];
} fixture;

static void on_reply(void *user, const json_t *m)
{
    fixture *f = user;
    char *s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    f->replies++;
    snprintf(f->last, sizeof f->last, "%s", s);
    free(s);
}

static int setup(void **state)
{
    fixture *f = yv_calloc(1, sizeof *f);
    yv_chan_qga_cbs cbs = {.user = f, .reply = on_reply};
    f->q = yv_chan_qga_new(&cbs, NULL);
    f->srv = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    yv_chan_qga_free(f->q);
    if (f->srv >= 0) close(f->srv);
    free(f);
    return 0;
}

static yv_chan *chan(fixture *f)
{
    return yv_chan_qga_chan(f->q);
}

static void connect_pair(fixture *f, int sync_ms)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    yv_chan_qga_adopt(f->q, sv[0], yv_now_ms(), sync_ms);
    f->srv = sv[1];
}

static void pump(fixture *f, int ms)
{
    ut_chan_pump(chan(f), ms);
}

static void srv_send(fixture *f, const char *s, size_t n)
{
    assert_int_equal(write(f->srv, s, n), (ssize_t)n);
}

static void srv_sends(fixture *f, const char *s)
{
    srv_send(f, s, strlen(s));
}

/* Reads one line the channel sent (after an optional 0xFF); its JSON (the caller frees it). */
static json_t *read_line(int fd, void (*pump_fn)(void *), void *arg)
{
    char line[4096];
    size_t n = 0;
    int64_t end = yv_now_ms() + 2000;
    while (n < sizeof line - 1 && yv_now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, pump_fn ? 0 : 50) <= 0) {
            if (pump_fn) pump_fn(arg);
            continue;
        }
        if (read(fd, line + n, 1) != 1) return NULL;
        if (line[n] == '\n') break;
        if (line[n] != '\xff') n++;
    }
    line[n] = '\0';
    return json_loads(line, 0, NULL);
}

static void pump_some(void *arg)
{
    pump(arg, 5);
}

/* Reads a command; checks its name; returns its id (for the sync: arguments.id). */
static json_int_t srv_expect(fixture *f, const char *want)
{
    json_t *j = read_line(f->srv, pump_some, f);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "execute")), want);
    json_t *id = json_object_get(j, "id");
    if (!id) id = json_object_get(json_object_get(j, "arguments"), "id");
    json_int_t v = json_integer_value(id);
    json_decref(j);
    return v;
}

static void srv_sync_answer(fixture *f, json_int_t id)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "\xff{\"return\": %lld}\n", (long long)id);
    srv_send(f, buf, (size_t)n);
}

/* Leftovers of an earlier client (a reply, half a line, its own sync answer with another id) come
 * before our answer: all discarded; then one request and its answer, after one with another id. */
static void test_sync_after_leftovers(void **state)
{
    fixture *f = *state;
    connect_pair(f, 2000);
    json_int_t sync = srv_expect(f, "guest-sync-delimited");
    assert_int_equal(sync, yv_chan_qga_sync_id(f->q));
    srv_sends(f, "{\"return\": {}}\n{\"return\": [1, 2");
    srv_sync_answer(f, sync + 1);
    srv_sends(f, "\xff{\"retu\xff");
    srv_sync_answer(f, sync);
    pump(f, 30);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_READY);
    assert_true(yv_chan_qga_synced(f->q));
    int64_t id = yv_chan_qga_request(f->q, "guest-info", NULL, yv_now_ms(), 2000);
    assert_true(id > 0);
    assert_int_equal(yv_chan_qga_request(f->q, "guest-info", NULL, yv_now_ms(), 2000), -1);
    assert_int_equal(srv_expect(f, "guest-info"), id);
    char buf[256];
    snprintf(buf, sizeof buf, "{\"return\": {\"v\": 0}, \"id\": %lld}\r\n", (long long)id + 7);
    srv_sends(f, buf);
    snprintf(buf, sizeof buf, "{\"return\": {\"v\": 1}, \"id\": %lld}\r\n", (long long)id);
    srv_sends(f, buf);
    pump(f, 30);
    assert_int_equal(f->replies, 1);
    assert_true(strstr(f->last, "\"v\":1") != NULL);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_READY);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_OK);
}

/* Only a sync answer with another id: not synced; the deadline ends it as no answer. */
static void test_wrong_sync_id_is_silence(void **state)
{
    fixture *f = *state;
    connect_pair(f, 100);
    json_int_t sync = srv_expect(f, "guest-sync-delimited");
    srv_sync_answer(f, sync + 1);
    srv_sends(f, "{\"return\": 0}\n"); /* no delimiter: a leftover too */
    pump(f, 2000);
    assert_false(yv_chan_qga_synced(f->q));
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_CLOSED);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    assert_string_equal(yv_chan_why(chan(f)), "guest agent did not answer within 100 ms");
}

/* No agent in the guest: QEMU accepted the connection, nothing answers. */
static void test_silence_is_no_agent(void **state)
{
    fixture *f = *state;
    connect_pair(f, 80);
    int64_t t0 = yv_now_ms();
    pump(f, 5000);
    assert_true(yv_now_ms() - t0 < 4000); /* ended by the deadline, not by pump's bound */
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    assert_int_equal(yv_chan_fd(chan(f)), -1);
}

static void synced(fixture *f)
{
    srv_sync_answer(f, srv_expect(f, "guest-sync-delimited"));
    pump(f, 30);
    assert_int_equal(yv_chan_state_of(chan(f)), YV_CHAN_READY);
}

/* An answer past the line cap breaks the conversation (the guest is not trusted with our memory).
 */
static void test_oversized_answer(void **state)
{
    fixture *f = *state;
    connect_pair(f, 2000);
    synced(f);
    assert_true(yv_chan_qga_request(f->q, "guest-network-get-interfaces", NULL, yv_now_ms(), 5000) >
                0);
    srv_expect(f, "guest-network-get-interfaces");
    size_t n = YV_CHAN_QGA_LINE_MAX + 10;
    char *big = yv_malloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    pump(f, 1); /* the channel reads as the peer writes: the socket buffer is smaller */
    for (size_t off = 0; off < n && yv_chan_fd(chan(f)) >= 0;) {
        ssize_t w = send(f->srv, big + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) off += (size_t)w;
        pump(f, 2);
    }
    free(big);
    pump(f, 100);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    ut_assert_contains(yv_chan_why(chan(f)), "an answer longer than");
    assert_int_equal(f->replies, 0);
}

static void test_peer_closes(void **state)
{
    fixture *f = *state;
    connect_pair(f, 2000);
    synced(f);
    assert_true(yv_chan_qga_request(f->q, "guest-info", NULL, yv_now_ms(), 5000) > 0);
    srv_expect(f, "guest-info");
    srv_sends(f, "{\"return\": {\"ver");
    close(f->srv);
    f->srv = -1;
    pump(f, 2000);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_GONE);
    assert_int_equal(f->replies, 0);
}

/* After the sync, a line that is not a JSON object is a broken conversation. */
static void test_garbage_after_sync(void **state)
{
    fixture *f = *state;
    connect_pair(f, 2000);
    synced(f);
    srv_sends(f, "not json\n");
    pump(f, 100);
    assert_int_equal(yv_chan_verdict_of(chan(f)), YV_CHAN_UNRESPONSIVE);
    ut_assert_contains(yv_chan_why(chan(f)), "not a JSON object");
}

/* ---- the one-shot against a forked fake agent on a UNIX listener ---- */

typedef enum { AGENT_ANSWERS, AGENT_ERROR, AGENT_SILENT, AGENT_SHUTDOWN } agent_mode;

/* The child: accepts one client, answers its sync, then acts out mode; exits 0 when the client
 * behaved (a sync, one command, then closed). */
static void fake_agent(int l, agent_mode mode)
{
    int fd = accept(l, NULL, NULL);
    if (fd < 0) _exit(2);
    if (mode == AGENT_SILENT) {
        char b[512];
        while (read(fd, b, sizeof b) > 0) {
        }
        _exit(0);
    }
    json_t *j = read_line(fd, NULL, NULL);
    json_int_t sync = json_integer_value(json_object_get(json_object_get(j, "arguments"), "id"));
    json_decref(j);
    char buf[512];
    int n = snprintf(buf, sizeof buf, "junk\xff{\"return\": %lld}\n", (long long)sync);
    if (write(fd, buf, (size_t)n) != n) _exit(3);
    j = read_line(fd, NULL, NULL);
    json_int_t id = json_integer_value(json_object_get(j, "id"));
    bool shut = !strcmp(json_string_value(json_object_get(j, "execute")), "guest-shutdown");
    json_decref(j);
    if (mode == AGENT_ANSWERS)
        n = snprintf(buf, sizeof buf, "{\"return\": {\"ok\": true}, \"id\": %lld}\n",
                     (long long)id);
    else if (mode == AGENT_ERROR)
        n = snprintf(buf, sizeof buf,
                     "{\"error\": {\"class\": \"X\", \"desc\": \"no\\u0007pe\"}}\n");
    else n = 0;
    if (n && write(fd, buf, (size_t)n) != n) _exit(4);
    while (read(fd, buf, sizeof buf) > 0) {
    } /* the client leaves */
    _exit(mode == AGENT_SHUTDOWN && !shut ? 5 : 0);
}

static pid_t agent_at(const char *path, agent_mode mode)
{
    int l = ut_unix_listen(path, 4);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) fake_agent(l, mode);
    close(l);
    return pid;
}

static void reap_ok(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_call_answers_and_leaves(void **state)
{
    char *path = yv_asprintf("%s/a.qga", (char *)*state);
    pid_t pid = agent_at(path, AGENT_ANSWERS);
    json_t *ret = NULL;
    yv_err err;
    assert_int_equal(yv_qga_call(path, "guest-info", NULL, &ret, 2000, 2000, &err), 0);
    assert_true(json_is_true(json_object_get(ret, "ok")));
    json_decref(ret);
    reap_ok(pid); /* the child saw us close: the socket is not held */
    free(path);
}

static void test_call_error_answer(void **state)
{
    char *path = yv_asprintf("%s/a.qga", (char *)*state);
    pid_t pid = agent_at(path, AGENT_ERROR);
    yv_err err;
    assert_int_equal(yv_qga_call(path, "guest-info", NULL, NULL, 2000, 2000, &err), 1);
    assert_string_equal(err.msg, "guest agent: no\\x07pe"); /* the guest's words, escaped */
    reap_ok(pid);
    free(path);
}

static void test_call_no_agent(void **state)
{
    char *path = yv_asprintf("%s/a.qga", (char *)*state);
    pid_t pid = agent_at(path, AGENT_SILENT);
    yv_err err;
    assert_int_equal(yv_qga_call(path, "guest-info", NULL, NULL, 100, 2000, &err), -1);
    assert_int_equal(err.code, YV_E_TIMEOUT);
    ut_assert_contains(err.msg, "no guest agent");
    assert_int_equal(yv_qga_shutdown(path, 100, &err), -1); /* a second client: refused at once */
    reap_ok(pid);
    unlink(path);
    assert_int_equal(yv_qga_call(path, "guest-info", NULL, NULL, 100, 100, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_RUNNING);
    free(path);
}

/* Another client is being served (QEMU keeps us waiting behind it): "busy", not "no agent"; the
 * ladder's shutdown is refused the same way, at the sync's deadline. */
static void test_call_busy(void **state)
{
    char *path = yv_asprintf("%s/a.qga", (char *)*state);
    int l = ut_unix_listen(path, 4);
    int other = ut_unix_connect(path, 0), served = accept(l, NULL, NULL);
    assert_true(served >= 0);
    yv_err err;
    assert_int_equal(yv_qga_call(path, "guest-info", NULL, NULL, 100, 1000, &err), -1);
    assert_int_equal(err.code, YV_E_TIMEOUT);
    assert_string_equal(err.msg, "guest agent busy: another client is connected");
    assert_int_equal(yv_qga_shutdown(path, 100, &err), -1);
    ut_assert_contains(err.msg, "busy");
    close(served);
    close(other);
    close(l);
    free(path);
}

static void test_shutdown_taken(void **state)
{
    char *path = yv_asprintf("%s/a.qga", (char *)*state);
    pid_t pid = agent_at(path, AGENT_SHUTDOWN);
    yv_err err;
    assert_int_equal(yv_qga_shutdown(path, 2000, &err), 0);
    reap_ok(pid);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync_after_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_sync_id_is_silence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_is_no_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_after_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_answers_and_leaves, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_call_error_answer, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_call_no_agent, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_call_busy, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_shutdown_taken, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("qga", tests, NULL, NULL);
}
