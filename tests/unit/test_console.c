/* Unit tests of core/console.c: opening a console QEMU serves one client at a time (refusals, "in
 * use" at once, two clients racing: one wins, the other is told), and the pump's ends (escape,
 * the console closing, the quiet end of input, a deadline, a stop flag, a slow reader). The QEMU
 * side is a child that serves the socket as QEMU does: one client at a time, echoing upper-cased.
 */
#include "unit.h"

#include <ctype.h>
#include <poll.h>
#include <sys/wait.h>

#include "core/console.h"
#include "core/vmstate.h"

typedef struct {
    char *root;
    pid_t server;
} fixture;

/* Serves l like QEMU's chardev: accepts one client, echoes it upper-cased until it leaves, then
 * the next. */
static void serve(int l)
{
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) _exit(1);
        char buf[256];
        ssize_t n;
        while ((n = read(c, buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
            if (write(c, buf, (size_t)n) != n) break;
        }
        close(c);
    }
}

static int setup(void **state)
{
    fixture *f = yv_calloc(1, sizeof *f);
    f->root = ut_mkdtemp();
    ut_mkdir(f->root, "run");
    ut_mkdir(f->root, "a.vm");
    ut_mkdir(f->root, "b.vm");
    char *path = yv_vmstate_consolefile(f->root, "a");
    int l = ut_unix_listen(path, 8);
    free(path);
    f->server = fork();
    assert_true(f->server >= 0);
    if (f->server == 0) serve(l);
    close(l);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kill(f->server, SIGKILL);
    waitpid(f->server, NULL, 0);
    ut_rmdir(f->root);
    free(f);
    return 0;
}

static const yv_vmstate_proof running = {.pid = 1, .pidfd = -1}; /* the proof is the caller's */

static void test_open_refusals(void **state)
{
    fixture *f = *state;
    yv_err e;
    yv_vmstate_proof stopped = {.pid = 0, .pidfd = -1};
    assert_int_equal(yv_console_open(f->root, "nope", &running, 500, &e), -1);
    assert_int_equal(e.code, YV_E_VM_NOT_FOUND);
    assert_int_equal(yv_console_open(f->root, "a", &stopped, 500, &e), -1);
    assert_int_equal(e.code, YV_E_VM_NOT_RUNNING);
    assert_string_equal(e.msg, "VM 'a' is not running");
    assert_int_equal(yv_console_open(f->root, "../x", &running, 500, &e), -1);
    assert_int_equal(e.code, YV_E_INVALID_NAME);
    /* proven running but no socket (a QEMU started before consoles existed) */
    assert_int_equal(yv_console_open(f->root, "b", &running, 500, &e), -1);
    assert_int_equal(e.code, YV_E_VM_NOT_RUNNING);
    assert_non_null(strstr(e.msg, "VM 'b' has no console"));
}

/* A pump from a pipe we write to the console, into a pipe we read. */
static yv_console_end pump_text(int con, const char *text, int escape, int64_t deadline, char *out,
                                size_t cap)
{
    int in[2], o[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(o), 0);
    assert_int_equal(write(in[1], text, strlen(text)), (ssize_t)strlen(text));
    if (escape < 0) close(in[1]);
    yv_console_pump_opts po = {.in = in[0],
                               .out = o[1],
                               .con = con,
                               .escape = escape,
                               .deadline = deadline,
                               .quiet_ms = 200};
    yv_console_end end = yv_console_pump(&po);
    close(o[1]);
    ssize_t n = read(o[0], out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
    close(o[0]);
    close(in[0]);
    if (escape >= 0) close(in[1]);
    return end;
}

static void test_open_echo_and_in_use(void **state)
{
    fixture *f = *state;
    yv_err e;
    char out[256];
    int fd = yv_console_open(f->root, "a", &running, 2000, &e);
    assert_true(fd >= 0);
    /* a second client while we hold it: refused at once, not queued behind us */
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_console_open(f->root, "a", &running, 5000, &e), -1);
    assert_int_equal(e.code, YV_E_IN_USE);
    assert_int_equal(yv_err_exit_status(e.code), 4);
    assert_string_equal(yv_err_code_name(e.code), "IN_USE");
    assert_true(yv_now_ms() - t0 < 1000);
    assert_non_null(strstr(e.msg, "console of VM 'a' is in use"));
    /* piped: the input goes, the echo comes back, the end is the quiet after the input's end */
    assert_int_equal(pump_text(fd, "hello\n", -1, 0, out, sizeof out), YV_CONSOLE_INPUT_ENDED);
    assert_string_equal(out, "HELLO\n");
    close(fd);
    /* once we left, the next client gets it */
    for (int i = 0; i < 100 && (fd = yv_console_open(f->root, "a", &running, 2000, &e)) < 0; i++)
        usleep(10000); /* the server notices our leaving and accepts again */
    assert_true(fd >= 0);
    close(fd);
}

/* Two clients connecting at once both wait in the queue; the one the server accepts wins, the
 * other is told "in use" (exit 4) and never waits behind the winner. */
static void test_race(void **state)
{
    fixture *f = *state;
    pid_t kids[2];
    int sync[2];
    assert_int_equal(pipe(sync), 0);
    fflush(NULL); /* nothing buffered is written twice by the children's exit */
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            char go;
            yv_err e;
            close(sync[1]);
            if (read(sync[0], &go, 1) != 0) _exit(9);
            int fd = yv_console_open(f->root, "a", &running, 3000, &e);
            if (fd >= 0) usleep(500000); /* holds it while the other one decides */
            /* exit, not _exit: the libraries' destructors run (valgrind counts what they hold) */
            exit(fd >= 0 ? 0 : e.code == YV_E_IN_USE ? 4 : 1);
        }
    }
    close(sync[0]);
    close(sync[1]); /* both go */
    int st[2];
    for (int k = 0; k < 2; k++) assert_int_equal(waitpid(kids[k], &st[k], 0), kids[k]);
    int a = WEXITSTATUS(st[0]), b = WEXITSTATUS(st[1]);
    if (!((a == 0 && b == 4) || (a == 4 && b == 0))) fail_msg("exit statuses %d and %d", a, b);
}

static void test_pump_escape_and_close(void **state)
{
    (void)state;
    int sp[2];
    char out[64], got[64];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    /* what was typed before Ctrl-] goes; the rest does not */
    assert_int_equal(pump_text(sp[0],
                               "ab\x1d"
                               "cd",
                               YV_CONSOLE_ESCAPE, 0, out, sizeof out),
                     YV_CONSOLE_DETACHED);
    ssize_t n = recv(sp[1], got, sizeof got, MSG_DONTWAIT);
    assert_int_equal(n, 2);
    assert_memory_equal(got, "ab", 2);
    /* the VM stops: QEMU closes the console, after what it printed last is written */
    assert_int_equal(write(sp[1], "bye\r\n", 5), 5);
    close(sp[1]);
    assert_int_equal(pump_text(sp[0], "", YV_CONSOLE_ESCAPE, 0, out, sizeof out),
                     YV_CONSOLE_CLOSED);
    assert_string_equal(out, "bye\r\n");
    close(sp[0]);
}

/* With a deadline the input's end ends nothing (a script pipes its input and collects the answer
 * for S seconds); a stop flag ends it at once. */
static void test_pump_deadline_and_stop(void **state)
{
    (void)state;
    int sp[2];
    char out[64];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    int64_t t0 = yv_now_ms();
    assert_int_equal(pump_text(sp[0], "x", -1, t0 + 300, out, sizeof out), YV_CONSOLE_TIMED_OUT);
    assert_true(yv_now_ms() - t0 >= 300);
    volatile sig_atomic_t stop = 1;
    yv_console_pump_opts po = {.in = -1, .out = 1, .con = sp[0], .escape = -1, .stop = &stop};
    assert_int_equal(yv_console_pump(&po), YV_CONSOLE_STOPPED);
    close(sp[0]);
    close(sp[1]);
}

/* A reader that never reads: the pump keeps at most its buffers, stops reading the console (the
 * guest's writer is held back, not buffered for) and still ends at its deadline. */
static void test_pump_slow_reader(void **state)
{
    (void)state;
    int sp[2], o[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    assert_int_equal(pipe(o), 0);
    pid_t w = fork();
    assert_true(w >= 0);
    if (w == 0) { /* a talkative guest: 8 MiB, or as much as it is let */
        static char blob[65536];
        memset(blob, 'g', sizeof blob);
        for (int i = 0; i < 128; i++)
            if (write(sp[1], blob, sizeof blob) < 0) _exit(1);
        _exit(0);
    }
    close(sp[1]);
    yv_console_pump_opts po = {
        .in = -1, .out = o[1], .con = sp[0], .escape = -1, .deadline = yv_now_ms() + 300};
    assert_int_equal(yv_console_pump(&po), YV_CONSOLE_TIMED_OUT);
    int st;
    usleep(100000);
    assert_int_equal(waitpid(w, &st, WNOHANG), 0); /* the writer is still held back */
    kill(w, SIGKILL);
    waitpid(w, &st, 0);
    close(o[0]);
    close(o[1]);
    close(sp[0]);
}

/* A guest that never stops printing never lets the console go quiet: without a deadline the
 * pump still ends a bounded time after the input's end (a script is never held for ever). */
static void test_pump_flood_after_input_end(void **state)
{
    (void)state;
    int sp[2], in[2], devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    assert_int_equal(pipe(in), 0);
    close(in[1]); /* the input has ended */
    pid_t w = fork();
    assert_true(w >= 0);
    if (w == 0) { /* floods until the pump leaves */
        static char blob[4096];
        close(sp[0]); /* else its own copy keeps the socket alive after the pump closes it */
        memset(blob, 'A', sizeof blob);
        for (;;)
            if (write(sp[1], blob, sizeof blob) < 0) _exit(0);
    }
    close(sp[1]);
    yv_console_pump_opts po = {
        .in = in[0], .out = devnull, .con = sp[0], .escape = -1, .quiet_ms = 500};
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_console_pump(&po), YV_CONSOLE_INPUT_ENDED);
    int64_t took = yv_now_ms() - t0;
    if (took > 30000) fail_msg("the pump ended %lld ms after the input's end", (long long)took);
    close(sp[0]); /* the writer's next write fails: it ends */
    int st;
    assert_int_equal(waitpid(w, &st, 0), w);
    close(in[0]);
    close(devnull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_echo_and_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_race, setup, teardown),
        cmocka_unit_test(test_pump_escape_and_close),
        cmocka_unit_test(test_pump_deadline_and_stop),
        cmocka_unit_test(test_pump_slow_reader),
        cmocka_unit_test(test_pump_flood_after_input_end),
    };
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
