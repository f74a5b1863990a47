/* Unit tests of core/vnccheck.c: the VNC probe against a closed port, a silent listener, fake RFB
 * servers (forked children that script the server side of the handshake), garbage, and a real QEMU
 * with -vnc. Every probe is bounded by its own timeout and every child dies by alarm(5). */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "core/proc.h"
#include "core/vnccheck.h"
#include "core/vnctable.h"

static pid_t g_child;

/* A listening TCP socket on 127.0.0.1 (port chosen by the kernel). */
static int listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nobody listens on: bound, then closed. */
static int closed_port(void)
{
    int port;
    close(listener(&port));
    return port;
}

static void c_write(int fd, const void *buf, size_t n)
{
    if (write(fd, buf, n) != (ssize_t)n) _exit(20);
}

static void c_read(int fd, void *buf, size_t n)
{
    size_t have = 0;
    while (have < n) {
        ssize_t r = read(fd, (char *)buf + have, n - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) _exit(21);
        have += (size_t)r;
    }
}

/* Waits for the client to close (or for the alarm). */
static void c_drain(int fd)
{
    char c;
    while (read(fd, &c, 1) > 0) {
    }
}

typedef void (*server_fn)(int conn);

/* Forks a server that accepts one connection on lfd and runs fn on it. */
static void start_server(int lfd, server_fn fn)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(5);
        int c = accept(lfd, NULL, NULL);
        if (c < 0) _exit(22);
        close(lfd);
        fn(c);
        _exit(0);
    }
    close(lfd);
    g_child = pid;
}

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

/* ---- servers ---- */

static void srv_rfb38(int c)
{
    char v[12];
    c_write(c, "RFB 003.008\n", 12);
    c_read(c, v, 12);
    if (memcmp(v, "RFB 003.008\n", 12) != 0) _exit(30); /* the client must answer 3.8 */
    c_write(c, "\x01\x02", 2);                          /* one security type: VNC auth */
    c_drain(c);
}

static void srv_rfb33(int c)
{
    char v[12];
    c_write(c, "RFB 003.003\n", 12);
    c_read(c, v, 12);
    if (memcmp(v, "RFB 003.003\n", 12) != 0) _exit(31); /* never a higher version than ours */
    c_write(c, "\x00\x00\x00\x02", 4);
    c_drain(c);
}

/* The version arrives one byte at a time. */
static void srv_rfb38_slow(int c)
{
    char v[12];
    for (int i = 0; i < 12; i++) {
        c_write(c, "RFB 003.008\n" + i, 1);
        usleep(5000);
    }
    c_read(c, v, 12);
    if (memcmp(v, "RFB 003.008\n", 12) != 0) _exit(30);
    c_write(c, "\x01", 1);
    usleep(20000);
    c_write(c, "\x02", 1);
    c_drain(c);
}

static void srv_http(int c)
{
    c_write(c, "HTTP/1.1 400\r\n", 14);
    c_drain(c);
}

/* Accepts and says nothing until the client gives up. */
static void srv_silent(int c)
{
    c_drain(c);
}

/* Accepts and closes at once. */
static void srv_close(int c)
{
    close(c);
}

/* Sends the version, then nothing after ours. */
static void srv_version_only(int c)
{
    char v[12];
    c_write(c, "RFB 003.008\n", 12);
    c_read(c, v, 12);
    c_drain(c);
}

/* Probes a forked server; returns the result and the elapsed milliseconds. */
static yv_vnc_result probe_server(server_fn fn, int timeout_ms, int64_t *elapsed)
{
    int port;
    int lfd = listener(&port);
    start_server(lfd, fn);
    int64_t t0 = yv_now_ms();
    yv_vnc_result r = yv_vnccheck_probe("127.0.0.1", port, timeout_ms);
    *elapsed = yv_now_ms() - t0;
    return r;
}

/* ---- tests ---- */

static void test_closed_port_refused(void **state)
{
    (void)state;
    int port = closed_port();
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_vnccheck_probe("127.0.0.1", port, 1000), YV_VNC_REFUSED);
    assert_true(yv_now_ms() - t0 < 200);
    /* IPv6 loopback, and 0.0.0.0 probed through loopback */
    assert_int_equal(yv_vnccheck_probe("0.0.0.0", port, 1000), YV_VNC_REFUSED);
    assert_int_equal(yv_vnccheck_probe("::1", port, 1000), YV_VNC_REFUSED);
    /* not a numeric address */
    assert_int_equal(yv_vnccheck_probe("localhost", port, 1000), YV_VNC_REFUSED);
    assert_string_equal(yv_vnccheck_result_name(YV_VNC_REFUSED), "refused");
    assert_string_equal(yv_vnccheck_result_name(YV_VNC_REACHABLE), "reachable");
    assert_string_equal(yv_vnccheck_result_name(YV_VNC_NO_ANSWER), "no answer");
}

/* The kernel completes the TCP handshake for a listener that never calls accept(): silent. */
static void test_silent_listener_no_answer(void **state)
{
    (void)state;
    int port;
    int lfd = listener(&port);
    int64_t t0 = yv_now_ms();
    yv_vnc_result r = yv_vnccheck_probe("127.0.0.1", port, 400);
    int64_t el = yv_now_ms() - t0;
    assert_int_equal(r, YV_VNC_NO_ANSWER);
    if (el < 400 || el > 900)
        fail_msg("silent listener: gave up after %lld ms, want 400..900", (long long)el);
    close(lfd);
}

/* A server that accept()s and stays silent. */
static void test_silent_server_no_answer(void **state)
{
    (void)state;
    int64_t el;
    assert_int_equal(probe_server(srv_silent, 500, &el), YV_VNC_NO_ANSWER);
    if (el < 500 || el > 1000)
        fail_msg("silent server: gave up after %lld ms, want 500..1000", (long long)el);
    assert_int_equal(reap_server(), 0);
}

static void test_rfb38_reachable(void **state)
{
    (void)state;
    int64_t el;
    assert_int_equal(probe_server(srv_rfb38, 1000, &el), YV_VNC_REACHABLE);
    assert_true(el < 500);
    assert_int_equal(reap_server(), 0); /* the server saw our "RFB 003.008\n" */
}

static void test_rfb33_reachable(void **state)
{
    (void)state;
    int64_t el;
    assert_int_equal(probe_server(srv_rfb33, 1000, &el), YV_VNC_REACHABLE);
    assert_int_equal(reap_server(), 0);
}

static void test_rfb_slow_reachable(void **state)
{
    (void)state;
    int64_t el;
    assert_int_equal(probe_server(srv_rfb38_slow, 1000, &el), YV_VNC_REACHABLE);
    assert_int_equal(reap_server(), 0);
}

static void test_garbage_no_answer(void **state)
{
    (void)state;
    int64_t el;
    assert_int_equal(probe_server(srv_http, 1000, &el), YV_VNC_NO_ANSWER);
    assert_true(el < 500); /* refused on sight, not by the deadline */
    assert_int_equal(reap_server(), 0);
}

static void test_close_no_answer(void **state)
{
    (void)state;
    int64_t el;
    assert_int_equal(probe_server(srv_close, 1000, &el), YV_VNC_NO_ANSWER);
    assert_true(el < 500);
    assert_int_equal(reap_server(), 0);
}

/* The version alone is not enough: the security types must follow. */
static void test_version_only_no_answer(void **state)
{
    (void)state;
    int64_t el;
    assert_int_equal(probe_server(srv_version_only, 400, &el), YV_VNC_NO_ANSWER);
    assert_true(el >= 400 && el < 900);
    assert_int_equal(reap_server(), 0);
}

/* Drives the non-blocking API like the TUI's loop: poll with a short tick, handle, repeat. A silent
 * peer never blocks an iteration. Returns the result; counts iterations and the longest handle().
 */
static yv_vnc_result drive_loop(const char *host, int port, int timeout_ms, int *iters,
                                int64_t *longest)
{
    yv_vnccheck *c = yv_vnccheck_start(host, port, yv_now_ms() + timeout_ms);
    assert_non_null(c);
    yv_vnc_result r = YV_VNC_PENDING;
    *iters = 0;
    *longest = 0;
    int64_t hard_end = yv_now_ms() + timeout_ms + 2000;
    while (r == YV_VNC_PENDING) {
        if (yv_now_ms() > hard_end) {
            yv_vnccheck_free(c);
            fail_msg("the probe is still pending %d ms after its deadline", 2000);
        }
        struct pollfd p = {yv_vnccheck_fd(c), yv_vnccheck_poll_events(c), 0};
        assert_true(p.fd >= 0);
        assert_true(p.events != 0);
        int n = poll(&p, 1, 20);
        assert_true(n >= 0);
        int64_t t0 = yv_now_ms();
        r = yv_vnccheck_handle(c, n > 0 ? p.revents : 0);
        int64_t d = yv_now_ms() - t0;
        if (d > *longest) *longest = d;
        (*iters)++;
    }
    assert_int_equal(yv_vnccheck_poll_events(c), 0); /* done: nothing left to wait for */
    assert_int_equal(yv_vnccheck_handle(c, 0), r);   /* and the result sticks */
    yv_vnccheck_free(c);
    return r;
}

static void test_nonblocking_loop(void **state)
{
    (void)state;
    int iters, port;
    int64_t longest;
    /* a silent server: many short iterations, then NO_ANSWER at the deadline */
    int lfd = listener(&port);
    start_server(lfd, srv_silent);
    int64_t t0 = yv_now_ms();
    assert_int_equal(drive_loop("127.0.0.1", port, 300, &iters, &longest), YV_VNC_NO_ANSWER);
    int64_t el = yv_now_ms() - t0;
    assert_true(el >= 300 && el < 800);
    if (iters <= 1) fail_msg("only %d loop iteration(s): the probe blocked the loop", iters);
    assert_true(iters >= 5); /* ~300 ms in 20 ms ticks */
    assert_true(longest < 50);
    assert_int_equal(reap_server(), 0);

    /* a real handshake through the same loop */
    lfd = listener(&port);
    start_server(lfd, srv_rfb38_slow);
    assert_int_equal(drive_loop("127.0.0.1", port, 1000, &iters, &longest), YV_VNC_REACHABLE);
    assert_true(iters > 1);
    assert_true(longest < 50);
    assert_int_equal(reap_server(), 0);

    /* a closed port */
    assert_int_equal(drive_loop("127.0.0.1", closed_port(), 1000, &iters, &longest),
                     YV_VNC_REFUSED);
}

/* A probe freed in the middle of the handshake releases everything. */
static void test_free_pending(void **state)
{
    (void)state;
    int port;
    int lfd = listener(&port);
    yv_vnccheck *c = yv_vnccheck_start("127.0.0.1", port, yv_now_ms() + 1000);
    assert_non_null(c);
    assert_int_equal(yv_vnccheck_handle(c, 0), YV_VNC_PENDING);
    yv_vnccheck_free(c);
    yv_vnccheck_free(NULL);
    close(lfd);
}

/* ---- a real QEMU with -vnc ---- */

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

static void test_real_qemu_vnc(void **state)
{
    qemu_fixture *f = *state;
    yv_err err;
    char *qemu = yv_proc_which("qemu-system-x86_64");
    if (!qemu) skip();
    char *pidfile = yv_asprintf("%s/q.pid", f->dir), *log = yv_asprintf("%s/qemu.log", f->dir);
    int rc = -1, disp = 60;
    for (int tries = 0; rc < 0 && tries < 3; tries++, disp++) { /* a port taken meanwhile: next */
        while (disp < 100 && !yv_vnctable_port_free("127.0.0.1", disp)) disp++;
        assert_true(disp < 100);
        char *vnc = yv_asprintf("127.0.0.1:%d,password=on", disp);
        char *argv[] = {qemu,          "-accel",   "tcg",   "-m",   "64",
                        "-nodefaults", "-display", "none",  "-vnc", vnc,
                        "-daemonize",  "-pidfile", pidfile, NULL};
        rc = yv_proc_run(argv, NULL, NULL, &err); /* returns once QEMU is up (-daemonize) */
        free(vnc);
    }
    if (rc < 0) fail_msg("QEMU did not start: %s", err.msg);
    disp--;
    f->pid = yv_proc_pidfile_pid(pidfile);
    assert_true(f->pid > 1);
    assert_true(yv_proc_is_exe(f->pid, qemu));
    assert_false(yv_vnctable_port_free("127.0.0.1", disp));

    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_vnccheck_probe("127.0.0.1", 5900 + disp, 2000), YV_VNC_REACHABLE);
    assert_true(yv_now_ms() - t0 < 1000);
    int iters;
    int64_t longest;
    assert_int_equal(drive_loop("127.0.0.1", 5900 + disp, 2000, &iters, &longest),
                     YV_VNC_REACHABLE);

    assert_int_equal(kill(f->pid, SIGTERM), 0);
    int64_t end = yv_now_ms() + 5000;
    while (!yv_proc_exited(f->pid) && yv_now_ms() < end) usleep(10000);
    assert_true(yv_proc_exited(f->pid));
    f->pid = 0;
    free(log);
    free(pidfile);
    free(qemu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_port_refused),
        cmocka_unit_test(test_silent_listener_no_answer),
        cmocka_unit_test_teardown(test_silent_server_no_answer, teardown_server),
        cmocka_unit_test_teardown(test_rfb38_reachable, teardown_server),
        cmocka_unit_test_teardown(test_rfb33_reachable, teardown_server),
        cmocka_unit_test_teardown(test_rfb_slow_reachable, teardown_server),
        cmocka_unit_test_teardown(test_garbage_no_answer, teardown_server),
        cmocka_unit_test_teardown(test_close_no_answer, teardown_server),
        cmocka_unit_test_teardown(test_version_only_no_answer, teardown_server),
        cmocka_unit_test_teardown(test_nonblocking_loop, teardown_server),
        cmocka_unit_test(test_free_pending),
        cmocka_unit_test_setup_teardown(test_real_qemu_vnc, setup_qemu, teardown_qemu),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("vnccheck", tests, NULL, NULL);
}
