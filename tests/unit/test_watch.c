/* Unit tests of core/watch.c: the output queue (coalescing, order, "gone" replacing a waiting
 * state, partial writes to a pipe whose reader is slow, a reader that left) and the verb's loop
 * on an empty root (the synced line, the end when its input closes). The live side — real QEMUs
 * starting and stopping, a stalled reader — is tests/integration/test-watch.sh. */
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <sys/wait.h>

#include "core/watch.h"

/* A pipe whose write end does not block (as the verb's own description of its output). */
static void nb_pipe(int p[2])
{
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_not_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), -1);
}

/* Everything the pipe holds now. */
static char *drain_pipe(int fd)
{
    static char buf[1 << 17];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    size_t at = 0;
    ssize_t r;
    while (at < sizeof buf - 1 && (r = read(fd, buf + at, sizeof buf - 1 - at)) > 0)
        at += (size_t)r;
    buf[at] = '\0';
    fcntl(fd, F_SETFL, fl);
    return buf;
}

/* A newer state of a VM replaces its waiting one where it stands (no VM is pushed back by
 * another that changes all the time); lines of other VMs keep their order. */
static void test_coalesce_in_place(void **state)
{
    (void)state;
    int p[2];
    nb_pipe(p);
    yv_watch_q *q = yv_watch_q_new();
    yv_watch_q_put(q, "a", "a stopped");
    yv_watch_q_put(q, "b", "b stopped");
    yv_watch_q_put(q, NULL, "synced");
    yv_watch_q_put(q, "a", "a starting");
    yv_watch_q_put(q, "a", "a running");
    yv_watch_q_put(q, "c", "c stopped");
    assert_int_equal(yv_watch_q_pending(q), 4);
    assert_int_equal(yv_watch_q_write(q, p[1], false), 0);
    assert_int_equal(yv_watch_q_pending(q), 0);
    assert_string_equal(drain_pipe(p[0]), "a running\nb stopped\nsynced\nc stopped\n");
    /* written, a VM's next line is queued anew (after what waits now) */
    yv_watch_q_put(q, "c", "c running");
    yv_watch_q_put(q, "a", "a stopped");
    assert_int_equal(yv_watch_q_write(q, p[1], false), 0);
    assert_string_equal(drain_pipe(p[0]), "c running\na stopped\n");
    yv_watch_q_free(q);
    close(p[0]);
    close(p[1]);
}

/* "gone" replaces a state still waiting; lines under NULL are never merged. */
static void test_gone_replaces_pending(void **state)
{
    (void)state;
    int p[2];
    nb_pipe(p);
    yv_watch_q *q = yv_watch_q_new();
    yv_watch_q_put(q, "x", "{\"vm\":{\"name\":\"x\",\"state\":\"running\"}}");
    yv_watch_q_put(q, "y", "{\"vm\":{\"name\":\"y\"}}");
    yv_watch_q_put(q, "x", "{\"gone\":\"x\"}");
    yv_watch_q_put(q, NULL, "one");
    yv_watch_q_put(q, NULL, "two");
    assert_int_equal(yv_watch_q_pending(q), 4);
    assert_int_equal(yv_watch_q_write(q, p[1], false), 0);
    assert_string_equal(drain_pipe(p[0]),
                        "{\"gone\":\"x\"}\n{\"vm\":{\"name\":\"y\"}}\none\ntwo\n");
    yv_watch_q_free(q);
    close(p[0]);
    close(p[1]);
}

/* A line begun is finished before any other, also when a newer state of the same VM comes while
 * the reader is slow; the waiting one is replaced, never the one begun. Memory: one waiting line
 * per key, however many states came. */
static void test_partial_writes_slow_reader(void **state)
{
    (void)state;
    int p[2];
    nb_pipe(p);
    assert_int_equal(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096); /* one page: full after a line */
    char *big = yv_calloc(1, 6001);
    memset(big, 'A', 6000);
    yv_watch_q *q = yv_watch_q_new();
    yv_watch_q_put(q, "a", big);
    yv_watch_q_put(q, "b", "b1");
    assert_int_equal(yv_watch_q_write(q, p[1], false), 0); /* 4096 of 6001 bytes, then EAGAIN */
    assert_int_equal(yv_watch_q_pending(q), 2);
    for (int i = 0; i < 1000; i++) {
        char line[32];
        snprintf(line, sizeof line, "a%d", i);
        yv_watch_q_put(q, "a", line);
        snprintf(line, sizeof line, "b%d", i);
        yv_watch_q_put(q, "b", line);
    }
    assert_int_equal(yv_watch_q_pending(q), 3); /* the line begun, b's and a's latest */
    char got[8192];
    size_t at = 0;
    while (yv_watch_q_pending(q)) { /* the reader takes 1000 bytes at a time */
        ssize_t r = read(p[0], got + at, at + 1000 < sizeof got ? 1000 : sizeof got - at - 1);
        assert_true(r > 0);
        at += (size_t)r;
        assert_int_equal(yv_watch_q_write(q, p[1], false), 0);
    }
    got[at] = '\0';
    strcat(got, drain_pipe(p[0]));
    char *want = yv_asprintf("%s\nb999\na999\n", big);
    assert_string_equal(got, want);
    free(want);
    free(big);
    yv_watch_q_free(q);
    close(p[0]);
    close(p[1]);
}

/* Once (a blocking descriptor): a single write of at most PIPE_BUF a call. */
static void test_once_writes_bounded(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    char *big = yv_calloc(1, 10001);
    memset(big, 'B', 10000);
    yv_watch_q *q = yv_watch_q_new();
    yv_watch_q_put(q, "a", big);
    yv_watch_q_put(q, "b", "b");
    int calls = 0;
    while (yv_watch_q_pending(q)) {
        assert_int_equal(yv_watch_q_write(q, p[1], true), 0);
        calls++;
    }
    assert_int_equal(calls, 4); /* 4096 + 4096 + 1809 bytes of a, then b */
    char *want = yv_asprintf("%s\nb\n", big);
    assert_string_equal(drain_pipe(p[0]), want);
    free(want);
    free(big);
    yv_watch_q_free(q);
    close(p[0]);
    close(p[1]);
}

/* A reader that left: -1 with EPIPE (no SIGPIPE death: the verb ignores it, as main does). */
static void test_reader_gone(void **state)
{
    (void)state;
    int p[2];
    nb_pipe(p);
    close(p[0]);
    yv_watch_q *q = yv_watch_q_new();
    yv_watch_q_put(q, "a", "a");
    errno = 0;
    assert_int_equal(yv_watch_q_write(q, p[1], false), -1);
    assert_int_equal(errno, EPIPE);
    yv_watch_q_free(q);
    close(p[1]);
}

/* The verb on a root with one VM whose config is broken and none else: its line (the status
 * object's invalid shape), then the synced line, then the end when its input closes. */
static void test_run_until_input_ends(void **state)
{
    ut_root *f = *state;
    ut_mkdir(f->root, "bad.vm");
    ut_write(f->root, "bad.vm/config.yaml", "name: bad\nhardware: [\n");
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    close(in[1]); /* already ended: it writes what it has, then ends */
    yv_watch_opts o = {.root = f->root, .cfg = &f->cfg, .in = in[0], .out = out[1], .json = true};
    assert_int_equal(yv_watch_run(&o), YV_WATCH_INPUT_ENDED);
    char *got = drain_pipe(out[0]);
    ut_assert_contains(got, "{\"vm\":{\"name\":\"bad\",\"pid\":null,\"problem\":\"");
    ut_assert_contains(got, "\"state\":\"invalid\"}}\n{\"synced\":true}\n");
    o.json = false;
    assert_int_equal(yv_watch_run(&o), YV_WATCH_INPUT_ENDED);
    assert_string_equal(drain_pipe(out[0]), "bad invalid - - -\n");
    close(in[0]);
    close(out[0]);
    close(out[1]);
}

/* A stop flag that is up ends it; a reader gone ends it as such. */
static void test_run_stop_and_reader_gone(void **state)
{
    ut_root *f = *state;
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    volatile sig_atomic_t stop = 1;
    yv_watch_opts o = {
        .root = f->root, .cfg = &f->cfg, .in = in[0], .out = out[1], .json = true, .stop = &stop};
    assert_int_equal(yv_watch_run(&o), YV_WATCH_STOPPED);
    assert_string_equal(drain_pipe(out[0]), "{\"synced\":true}\n");
    close(out[0]);
    o.stop = NULL;
    assert_int_equal(yv_watch_run(&o), YV_WATCH_OUTPUT_GONE);
    close(in[0]);
    close(in[1]);
    close(out[1]);
}

/* --heartbeat: an alive line when nothing else went out for a beat, and the end when the reader
 * said nothing for three (a remote TUI whose connection died unseen); a reader that keeps writing
 * its newline keeps it going. */
static void test_heartbeat(void **state)
{
    ut_root *f = *state;
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    yv_watch_opts o = {.root = f->root,
                       .cfg = &f->cfg,
                       .in = in[0],
                       .out = out[1],
                       .json = true,
                       .heartbeat_ms = 200};
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_watch_run(&o), YV_WATCH_READER_SILENT);
    int64_t took = yv_now_ms() - t0;
    assert_true(took >= 600); /* three beats of silence, not fewer */
    ut_assert_contains(drain_pipe(out[0]), "{\"synced\":true}\n{\"alive\":true}\n");
    /* a reader writing a newline every beat: still going after six beats, ended by its EOF */
    pid_t p = fork();
    if (p == 0) {
        for (int i = 0; i < 6; i++) {
            if (write(in[1], "\n", 1) != 1) _exit(1);
            usleep(150000);
        }
        _exit(0);
    }
    t0 = yv_now_ms();
    close(in[1]);
    assert_int_equal(yv_watch_run(&o), YV_WATCH_INPUT_ENDED);
    assert_true(yv_now_ms() - t0 >= 800);
    waitpid(p, NULL, 0);
    close(in[0]);
    close(out[0]);
    close(out[1]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesce_in_place),
        cmocka_unit_test(test_gone_replaces_pending),
        cmocka_unit_test(test_partial_writes_slow_reader),
        cmocka_unit_test(test_once_writes_bounded),
        cmocka_unit_test(test_reader_gone),
        cmocka_unit_test_setup_teardown(test_run_until_input_ends, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_run_stop_and_reader_gone, ut_setup_root,
                                        ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_heartbeat, ut_setup_root, ut_teardown_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
