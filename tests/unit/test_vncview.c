/* Unit tests of core/vncview.c: the live VNC view against a real QEMU (a boot sector paints part
 * of the text screen red: the picture's size, byte order and content are checked), wrong and
 * missing passwords, and fake RFB servers (forked children) that misbehave on purpose: silent,
 * stalled in the middle of an update, gone and back; one records the key events it gets. Every
 * wait has a deadline that bounds a hang; every child dies by alarm. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <rfb/keysym.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "core/proc.h"
#include "core/vnctable.h"
#include "core/vncview.h"

static pid_t g_child = -1;

static int listener_at(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    a.sin_port = htons((uint16_t)*port);
    socklen_t l = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static int listener(int *port)
{
    *port = 0;
    return listener_at(port);
}

/* ---- the server side (runs in a forked child; any surprise ends it) ---- */

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

/* The pixel format the client asked for (SetPixelFormat). */
static struct {
    uint8_t bpp, big, rs, gs, bs;
} g_pf;

/* RFB 3.8, security type None, a w x h desktop. */
static void srv_hello(int c, int w, int h)
{
    char v[12], choice, shared;
    c_write(c, "RFB 003.008\n", 12);
    c_read(c, v, 12);
    c_write(c, "\x01\x01", 2); /* one security type: None */
    c_read(c, &choice, 1);
    if (choice != 1) _exit(23);
    c_write(c, "\0\0\0\0", 4); /* SecurityResult: OK */
    c_read(c, &shared, 1);
    uint8_t si[24 + 4] = {(uint8_t)(w >> 8),
                          (uint8_t)w,
                          (uint8_t)(h >> 8),
                          (uint8_t)h,
                          32,
                          24,
                          0,
                          1,
                          0,
                          255,
                          0,
                          255,
                          0,
                          255,
                          16,
                          8,
                          0};
    si[23] = 4;
    memcpy(si + 24, "fake", 4);
    c_write(c, si, sizeof si);
}

/* Reads one client message; returns its type. A KeyEvent's down flag and keysym go to *key. */
static int srv_msg(int c, uint8_t key[5])
{
    uint8_t t, b[20];
    c_read(c, &t, 1);
    switch (t) {
    case 0: /* SetPixelFormat */
        c_read(c, b, 19);
        g_pf.bpp = b[3], g_pf.big = b[5], g_pf.rs = b[13], g_pf.gs = b[14], g_pf.bs = b[15];
        break;
    case 2: { /* SetEncodings */
        c_read(c, b, 3);
        for (int n = b[1] << 8 | b[2]; n > 0; n--) c_read(c, b, 4);
        break;
    }
    case 3: c_read(c, b, 9); break; /* FramebufferUpdateRequest */
    case 4:                         /* KeyEvent */
        c_read(c, b, 7);
        key[0] = b[0];
        memcpy(key + 1, b + 3, 4);
        break;
    case 5: c_read(c, b, 5); break; /* PointerEvent */
    default: _exit(24);
    }
    return t;
}

/* Reads client messages until a FramebufferUpdateRequest. */
static void srv_until_request(int c)
{
    uint8_t key[5];
    while (srv_msg(c, key) != 3) {
    }
}

/* The header of a one-rectangle raw FramebufferUpdate. */
static void srv_update_head(int c, int x, int y, int w, int h)
{
    uint8_t m[16] = {0,
                     0,
                     0,
                     1,
                     (uint8_t)(x >> 8),
                     (uint8_t)x,
                     (uint8_t)(y >> 8),
                     (uint8_t)y,
                     (uint8_t)(w >> 8),
                     (uint8_t)w,
                     (uint8_t)(h >> 8),
                     (uint8_t)h};
    c_write(c, m, sizeof m); /* encoding 0: raw */
}

/* A raw update of one colour, each pixel in the client's format. */
static void srv_update(int c, int x, int y, int w, int h, uint32_t rgb)
{
    if (g_pf.bpp != 32) _exit(25);
    uint32_t p =
        ((rgb >> 16) & 255) << g_pf.rs | ((rgb >> 8) & 255) << g_pf.gs | (rgb & 255) << g_pf.bs;
    uint8_t px[4];
    for (int i = 0; i < 4; i++) px[i] = (uint8_t)(g_pf.big ? p >> (24 - 8 * i) : p >> (8 * i));
    srv_update_head(c, x, y, w, h);
    for (int i = 0; i < w * h; i++) c_write(c, px, 4);
}

/* The child waits for the test's go (one byte on report). */
static void wait_byte_child(int fd)
{
    char b;
    c_read(fd, &b, 1);
}

typedef void (*server_fn)(int conn, int report);

/* Forks a server that accepts one connection on lfd and runs fn; report is a pipe to the test. */
static void start_server(int lfd, server_fn fn, int report)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(30);
        int c = accept(lfd, NULL, NULL);
        if (c < 0) _exit(22);
        close(lfd);
        fn(c, report);
        _exit(0);
    }
    close(lfd);
    g_child = pid;
}

static void stop_server(void)
{
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
    }
    g_child = -1;
}

static int teardown_server(void **state)
{
    (void)state;
    stop_server();
    return 0;
}

/* ---- the caller's side ---- */

static yv_vncview *open_view(int port, const char *pw, int timeout_ms, int retry_ms)
{
    yv_vncview_opts o = {"127.0.0.1", port, pw, timeout_ms, retry_ms};
    yv_err err;
    yv_vncview *v = yv_vncview_open(&o, &err);
    if (!v) fail_msg("open: %s", err.msg);
    return v;
}

/* The caller's poll loop until the state is want (and, when given, the reason contains sub), or
 * the deadline: true when reached. Counts the loop's iterations in *ticks. */
static bool wait_state(yv_vncview *v, yv_vncview_state want, const char *sub, int ms, char *why,
                       size_t n, int *ticks)
{
    int64_t end = yv_now_ms() + ms;
    while (yv_now_ms() < end) {
        struct pollfd p = {yv_vncview_fd(v), POLLIN, 0};
        if (poll(&p, 1, 50) > 0) yv_vncview_handle(v);
        if (ticks) (*ticks)++;
        if (yv_vncview_state_now(v, why, n) == want && (!sub || strstr(why, sub))) return true;
    }
    return false;
}

static void assert_state(yv_vncview *v, yv_vncview_state want, const char *sub, int ms)
{
    char why[200] = "";
    if (!wait_state(v, want, sub, ms, why, sizeof why, NULL)) {
        int st = (int)yv_vncview_state_now(v, why, sizeof why);
        fail_msg("state %d (%s) is not %d (%s) after %d ms", st, why, want, sub ? sub : "", ms);
    }
}

static void assert_px(const yv_vncview_frame *f, int x, int y, uint32_t rgb)
{
    const uint8_t *p = f->rgba + ((size_t)y * (size_t)f->width + (size_t)x) * 4;
    uint32_t got = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    if (got != rgb || p[3] != 255)
        fail_msg("pixel %d,%d is %06x/%d, not %06x/255", x, y, got, p[3], rgb);
}

/* The context switches of the views' worker threads (named yave-vncview). */
static long worker_switches(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    long sum = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *path = yv_asprintf("/proc/self/task/%s/comm", de->d_name), line[128] = "";
        FILE *cf = fopen(path, "r");
        free(path);
        bool worker = cf && fgets(line, sizeof line, cf) && !strcmp(line, "yave-vncview\n");
        if (cf) fclose(cf);
        path = yv_asprintf("/proc/self/task/%s/status", de->d_name);
        FILE *fp = worker ? fopen(path, "r") : NULL;
        free(path);
        if (!fp) continue;
        while (fgets(line, sizeof line, fp))
            if (strstr(line, "ctxt_switches:")) sum += atol(strchr(line, ':') + 1);
        fclose(fp);
    }
    closedir(d);
    return sum;
}

/* ---- fake servers ---- */

/* A server that accepts and never speaks: the handshake times out; the caller's loop ticks on. */
static void test_silent_server(void **state)
{
    (void)state;
    int port, lfd = listener(&port); /* the kernel accepts; nobody speaks */
    yv_vncview *v = open_view(port, NULL, 1000, 5000);
    char why[200] = "";
    int ticks = 0;
    int64_t t0 = yv_now_ms();
    assert_true(wait_state(v, YV_VNCVIEW_NO_PICTURE, NULL, 1000 + 4000, why, sizeof why, &ticks));
    ut_assert_contains(why, "did not answer");
    assert_true(yv_now_ms() - t0 >= 900); /* it waited for the server, not failed at once */
    assert_true(ticks >= 5);              /* the caller's loop was never held */
    yv_vncview_frame f = {0};
    assert_false(yv_vncview_take(v, &f)); /* no picture ever */
    assert_int_equal(f.dirty.w, 0);
    yv_vncview_close(v);
    close(lfd);
}

static void test_refused(void **state)
{
    (void)state;
    int port, lfd = listener(&port);
    close(lfd);
    yv_vncview *v = open_view(port, NULL, 1000, 20);
    assert_state(v, YV_VNCVIEW_NO_PICTURE, "connection refused", 5000);
    /* It keeps retrying (every 20 ms) while the caller does not handle: at most one byte waits,
     * and the state stays "no picture" with its reason (no flicker back to connecting). */
    for (int i = 0; i < 15; i++) {
        usleep(20 * 1000);
        char why[64];
        assert_int_equal(yv_vncview_state_now(v, why, sizeof why), YV_VNCVIEW_NO_PICTURE);
        assert_string_equal(why, "connection refused");
    }
    int pending = -1;
    assert_int_equal(ioctl(yv_vncview_fd(v), FIONREAD, &pending), 0);
    assert_true(pending <= 1);
    yv_vncview_handle(v);
    assert_int_equal(ioctl(yv_vncview_fd(v), FIONREAD, &pending), 0);
    assert_true(pending <= 1);
    yv_vncview_close(v);
}

/* Handshake, then the start of an update (the header and part of one row), then silence. */
static void srv_stall(int c, int report)
{
    srv_hello(c, 64, 32);
    srv_until_request(c);
    srv_update_head(c, 0, 0, 64, 32);
    c_write(c, "\1\2\3\4\5\6", 6);
    c_write(report, "s", 1);
    for (;;) pause();
}

static int start_stall(int *report)
{
    int port, lfd = listener(&port), rp[2];
    assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
    start_server(lfd, srv_stall, rp[1]);
    close(rp[1]);
    *report = rp[0];
    return port;
}

static void wait_byte(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char b;
    assert_int_equal(poll(&p, 1, ms), 1);
    assert_int_equal(read(fd, &b, 1), 1);
}

static void test_stall_mid_update(void **state)
{
    (void)state;
    int report, port = start_stall(&report);
    yv_vncview *v = open_view(port, NULL, 1000, 5000);
    assert_state(v, YV_VNCVIEW_NO_PICTURE, "stopped in the middle", 10000);
    yv_vncview_close(v);
    close(report);
}

/* close while the worker is stuck in the middle of an update with a 30 s readTimeout. */
static void test_close_while_stalled(void **state)
{
    (void)state;
    int report, port = start_stall(&report);
    yv_vncview *v = open_view(port, NULL, 30000, 1000);
    wait_byte(report, 10000);
    usleep(200 * 1000); /* the worker reads the partial row and waits for the rest */
    char why[64];
    assert_int_equal(yv_vncview_state_now(v, why, sizeof why), YV_VNCVIEW_CONNECTING);
    int64_t t0 = yv_now_ms();
    yv_vncview_close(v);
    int64_t took = yv_now_ms() - t0;
    if (took > 2000) fail_msg("close took %lld ms with the server stalled", (long long)took);
    close(report);
}

/* A 4x2 desktop in one colour; reports every KeyEvent (down, keysym: 5 bytes); after 4 of them,
 * sends a second update of 2x1 pixels at 1,1. */
static void srv_keys(int c, int report)
{
    uint8_t key[5];
    srv_hello(c, 4, 2);
    srv_until_request(c);
    srv_update(c, 0, 0, 4, 2, 0x123456);
    for (int keys = 0; keys < 4;)
        if (srv_msg(c, key) == 4) {
            c_write(report, key, 5);
            keys++;
        }
    srv_update(c, 1, 1, 2, 1, 0xff8000);
    for (;;) srv_msg(c, key);
}

static void read_key(int fd, bool down, uint32_t sym)
{
    struct pollfd p = {fd, POLLIN, 0};
    uint8_t k[5];
    size_t have = 0;
    while (have < 5) {
        assert_int_equal(poll(&p, 1, 10000), 1);
        ssize_t r = read(fd, k + have, 5 - have);
        assert_true(r > 0);
        have += (size_t)r;
    }
    assert_int_equal(k[0], down);
    assert_int_equal((uint32_t)k[1] << 24 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 8 | k[4], sym);
}

static void test_keys_and_updates(void **state)
{
    (void)state;
    int port, lfd = listener(&port), rp[2];
    assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
    start_server(lfd, srv_keys, rp[1]);
    close(rp[1]);
    yv_vncview *v = open_view(port, NULL, 3000, 1000);
    assert_state(v, YV_VNCVIEW_LIVE, NULL, 10000);
    yv_vncview_frame f = {0};
    assert_true(yv_vncview_take(v, &f));
    assert_int_equal(f.width, 4);
    assert_int_equal(f.height, 2);
    assert_int_equal(f.dirty.w, 4); /* the first take: all of it */
    for (int i = 0; i < 8; i++) assert_px(&f, i % 4, i / 4, 0x123456);
    yv_vncview_key(v, XK_a, true);
    yv_vncview_key(v, XK_a, false);
    yv_vncview_key(v, XK_Return, true);
    yv_vncview_key(v, XK_Return, false);
    read_key(rp[0], true, XK_a);
    read_key(rp[0], false, XK_a);
    read_key(rp[0], true, XK_Return);
    read_key(rp[0], false, XK_Return);
    int64_t end = yv_now_ms() + 10000;
    do { /* the second update: only its rectangle is new */
        struct pollfd p = {yv_vncview_fd(v), POLLIN, 0};
        if (poll(&p, 1, 50) > 0) yv_vncview_handle(v);
        assert_true(yv_vncview_take(v, &f));
    } while (f.dirty.w == 0 && yv_now_ms() < end);
    assert_int_equal(f.dirty.x, 1);
    assert_int_equal(f.dirty.y, 1);
    assert_int_equal(f.dirty.w, 2);
    assert_int_equal(f.dirty.h, 1);
    assert_px(&f, 0, 1, 0x123456);
    assert_px(&f, 1, 1, 0xff8000);
    assert_px(&f, 2, 1, 0xff8000);
    assert_px(&f, 3, 1, 0x123456);
    assert_true(yv_vncview_take(v, &f)); /* nothing new since */
    assert_int_equal(f.dirty.w, 0);
    /* An idle screen costs the worker nothing: it sleeps in poll without a timeout. */
    assert_true(worker_switches() > 0); /* the worker is found */
    long before = -1;
    for (int i = 0; i < 50 && worker_switches() != before; i++) { /* until it has gone to sleep */
        before = worker_switches();
        usleep(100 * 1000);
    }
    usleep(500 * 1000);
    assert_int_equal(worker_switches(), before);
    yv_vncview_frame_done(&f);
    yv_vncview_close(v);
    close(rp[0]);
}

/* A 4x2 desktop that becomes 6x3 (the NewFBSize pseudo-rectangle), then is painted anew. */
static void srv_resize(int c, int report)
{
    uint8_t key[5];
    srv_hello(c, 4, 2);
    srv_until_request(c);
    srv_update(c, 0, 0, 4, 2, 0x123456);
    wait_byte_child(report);
    srv_until_request(c); /* the incremental request after the update */
    uint8_t m[16] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 6, 0, 3, 0xff, 0xff, 0xff, 0x21}; /* -223 */
    c_write(c, m, sizeof m);
    srv_until_request(c); /* the client asks for all of the new size */
    srv_update(c, 0, 0, 6, 3, 0x0000ff);
    for (;;) srv_msg(c, key);
}

static void test_resize(void **state)
{
    (void)state;
    int port, lfd = listener(&port), rp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rp), 0);
    start_server(lfd, srv_resize, rp[1]);
    close(rp[1]);
    yv_vncview *v = open_view(port, NULL, 3000, 1000);
    assert_state(v, YV_VNCVIEW_LIVE, NULL, 10000);
    yv_vncview_frame f = {0};
    assert_true(yv_vncview_take(v, &f));
    assert_int_equal(f.width, 4);
    assert_int_equal(write(rp[0], "r", 1), 1); /* now resize */
    int64_t end = yv_now_ms() + 10000;
    do {
        struct pollfd p = {yv_vncview_fd(v), POLLIN, 0};
        if (poll(&p, 1, 50) > 0) yv_vncview_handle(v);
        assert_true(yv_vncview_take(v, &f));
    } while ((f.width != 6 || f.rgba[2] != 0xff) && yv_now_ms() < end);
    assert_int_equal(f.width, 6);
    assert_int_equal(f.height, 3);
    assert_int_equal(f.dirty.w, 6); /* all of it after a size change */
    assert_int_equal(f.dirty.h, 3);
    for (int i = 0; i < 18; i++) assert_px(&f, i % 6, i / 6, 0x0000ff);
    assert_int_equal(yv_vncview_state_now(v, NULL, 0), YV_VNCVIEW_LIVE);
    yv_vncview_frame_done(&f);
    yv_vncview_close(v);
    close(rp[0]);
}

/* One session: a 3x3 picture, then the server hangs up. */
static void srv_once(int c, int report)
{
    (void)report;
    srv_hello(c, 3, 3);
    srv_until_request(c);
    srv_update(c, 0, 0, 3, 3, 0x00ff00);
    usleep(100 * 1000);
    close(c);
}

static void test_reconnect(void **state)
{
    (void)state;
    int port, lfd = listener(&port);
    start_server(lfd, srv_once, -1);
    yv_vncview *v = open_view(port, NULL, 3000, 300);
    assert_state(v, YV_VNCVIEW_LIVE, NULL, 10000);
    assert_state(v, YV_VNCVIEW_NO_PICTURE, "closed the connection", 10000);
    yv_vncview_frame f = {0};
    assert_true(yv_vncview_take(v, &f)); /* the last picture stays for the caller to decide */
    assert_int_equal(f.width, 3);
    stop_server();
    assert_state(v, YV_VNCVIEW_NO_PICTURE, "connection refused", 10000); /* the server is gone */
    lfd = listener_at(&port);                                            /* and comes back */
    start_server(lfd, srv_once, -1);
    assert_state(v, YV_VNCVIEW_LIVE, NULL, 10000);
    yv_vncview_frame_done(&f);
    yv_vncview_close(v);
}

/* A server naming a desktop of 20000 x 20000 (1.6 GB of pixels). */
static void srv_huge(int c, int report)
{
    (void)report;
    srv_hello(c, 20000, 20000);
    srv_until_request(c);
    for (;;) pause();
}

/* Hostile servers: a huge desktop is refused before anything is allocated for it; a view opened
 * with a password takes no server that does not ask for it (whatever answers on a gone VM's port
 * could show a look-alike login), and keys typed before a picture go nowhere. */
static void test_hostile_servers(void **state)
{
    (void)state;
    int port, lfd = listener(&port);
    start_server(lfd, srv_huge, -1);
    yv_vncview *v = open_view(port, NULL, 3000, 5000);
    assert_state(v, YV_VNCVIEW_NO_PICTURE, "desktop is larger than 8192x8192", 10000);
    yv_vncview_frame f = {0};
    assert_false(yv_vncview_take(v, &f));
    yv_vncview_close(v);
    stop_server();

    int rp[2];
    assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
    lfd = listener_at(&port);
    start_server(lfd, srv_keys, rp[1]); /* security None; reports the keys it gets */
    close(rp[1]);
    v = open_view(port, "s3cr3tpw", 3000, 5000);
    yv_vncview_key(v, XK_a, true); /* typed before any picture */
    yv_vncview_key(v, XK_a, false);
    assert_state(v, YV_VNCVIEW_NO_PICTURE, "does not offer the authentication", 10000);
    yv_vncview_close(v);
    stop_server();
    char k;
    struct pollfd p = {rp[0], POLLIN, 0};
    assert_int_equal(poll(&p, 1, 1000), 1); /* the server ended: EOF, no key reported */
    assert_int_equal(read(rp[0], &k, 1), 0);
    close(rp[0]);
}

/* ---- a real QEMU ---- */

typedef struct {
    char *dir;
    pid_t pid;
    int port;
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
    char *qemu = yv_proc_which("qemu-system-x86_64");
    if (f->pid > 0 && qemu && yv_proc_is_exe(f->pid, qemu) && !yv_proc_exited(f->pid)) {
        kill(f->pid, SIGKILL);
        for (int i = 0; i < 500 && !yv_proc_exited(f->pid); i++) usleep(10000);
    }
    free(qemu);
    ut_rmdir(f->dir);
    free(f);
    return 0;
}

/* A boot sector that fills the first 1000 cells of the text screen with white on red, then halts:
 * a known colour in a known place, so the picture's byte order shows. */
static void write_boot_sector(const char *dir)
{
    static const uint8_t code[] = {
        0xb8, 0x00, 0xb8, /* mov ax, 0xb800 */
        0x8e, 0xc0,       /* mov es, ax */
        0x31, 0xff,       /* xor di, di */
        0xb8, 0x20, 0x4f, /* mov ax, 0x4f20: a space, white on red */
        0xb9, 0xe8, 0x03, /* mov cx, 1000 */
        0xf3, 0xab,       /* rep stosw */
        0xf4,             /* hlt */
        0xeb, 0xfd,       /* jmp hlt */
    };
    uint8_t sec[512] = {0};
    memcpy(sec, code, sizeof code);
    sec[510] = 0x55;
    sec[511] = 0xaa;
    char *path = yv_root_join(dir, "boot.img");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(sec, 1, sizeof sec, fp), sizeof sec);
    fclose(fp);
    free(path);
}

/* QEMU with VNC on a free display, its password given through a secret file (never argv). */
static bool start_qemu(qemu_fixture *f)
{
    yv_err err;
    char *qemu = yv_proc_which("qemu-system-x86_64");
    if (!qemu) return false;
    write_boot_sector(f->dir);
    ut_write(f->dir, "pw", "s3cr3tpw");
    char *pidfile = yv_asprintf("%s/q.pid", f->dir), *log = yv_asprintf("%s/qemu.log", f->dir);
    char *secret = yv_asprintf("secret,id=vncpw,format=raw,file=%s/pw", f->dir);
    char *drive = yv_asprintf("file=%s/boot.img,format=raw,if=ide", f->dir);
    int rc = -1, disp = 70;
    for (int tries = 0; rc < 0 && tries < 3; tries++, disp++) { /* a port taken meanwhile: next */
        while (disp < 100 && !yv_vnctable_port_free("127.0.0.1", disp)) disp++;
        assert_true(disp < 100);
        char *vnc = yv_asprintf("127.0.0.1:%d,password-secret=vncpw", disp);
        char *argv[] = {qemu,          "-machine",   "pc,accel=tcg", "-m",       "64",
                        "-nodefaults", "-vga",       "std",          "-display", "none",
                        "-drive",      drive,        "-object",      secret,     "-vnc",
                        vnc,           "-daemonize", "-pidfile",     pidfile,    NULL};
        rc = yv_proc_run(argv, NULL, NULL, &err); /* returns once QEMU is up (-daemonize) */
        free(vnc);
    }
    if (rc < 0) fail_msg("QEMU did not start: %s", err.msg);
    f->port = 5900 + disp - 1;
    f->pid = yv_proc_pidfile_pid(pidfile);
    assert_true(f->pid > 1);
    free(drive);
    free(secret);
    free(log);
    free(pidfile);
    free(qemu);
    return true;
}

/* Waits (the caller's loop) for a 720x400 picture whose top-left is the boot sector's red (R
 * first). */
static void wait_red_text(yv_vncview *v, yv_vncview_frame *f)
{
    int64_t end = yv_now_ms() + 60000;
    for (;;) {
        struct pollfd p = {yv_vncview_fd(v), POLLIN, 0};
        if (poll(&p, 1, 100) > 0) yv_vncview_handle(v);
        if (yv_vncview_take(v, f) && f->width == 720 && f->height == 400 && f->rgba[0] == 0xa8 &&
            f->rgba[1] == 0 && f->rgba[2] == 0)
            return;
        if (yv_now_ms() > end)
            fail_msg("no red text screen: %dx%d, first pixel %d,%d,%d", f->width, f->height,
                     f->rgba ? f->rgba[0] : -1, f->rgba ? f->rgba[1] : -1,
                     f->rgba ? f->rgba[2] : -1);
    }
}

static void test_real_qemu(void **state)
{
    qemu_fixture *f = *state;
    if (!start_qemu(f)) skip();
    yv_vncview *v = open_view(f->port, "s3cr3tpw", 3000, 1000);
    assert_state(v, YV_VNCVIEW_LIVE, NULL, 30000);
    yv_vncview_frame fr = {0};
    wait_red_text(v, &fr);
    assert_px(&fr, 0, 0, 0xa80000);     /* R first: VGA colour 4 (DAC 0x2a << 2) */
    assert_px(&fr, 719, 399, 0x000000); /* below the 1000 red cells: black */
    yv_vncview_frame_done(&fr);
    yv_vncview_close(v);

    char why[200] = "";
    v = open_view(f->port, "wrongpw1", 3000, 1000);
    assert_true(wait_state(v, YV_VNCVIEW_NO_PICTURE, NULL, 30000, why, sizeof why, NULL));
    ut_assert_contains(why, "authentication");
    ut_assert_not_contains(why, "wrongpw1");
    assert_false(yv_vncview_take(v, &fr));
    yv_vncview_close(v);

    /* no password: only a server without authentication is taken (one that asks for a
     * password is not the VM this view was opened for) */
    v = open_view(f->port, NULL, 3000, 1000);
    assert_true(wait_state(v, YV_VNCVIEW_NO_PICTURE, NULL, 30000, why, sizeof why, NULL));
    ut_assert_contains(why, "does not offer the authentication");
    yv_vncview_close(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silent_server),
        cmocka_unit_test(test_refused),
        cmocka_unit_test_teardown(test_stall_mid_update, teardown_server),
        cmocka_unit_test_teardown(test_close_while_stalled, teardown_server),
        cmocka_unit_test_teardown(test_keys_and_updates, teardown_server),
        cmocka_unit_test_teardown(test_resize, teardown_server),
        cmocka_unit_test_teardown(test_reconnect, teardown_server),
        cmocka_unit_test_teardown(test_hostile_servers, teardown_server),
        cmocka_unit_test_setup_teardown(test_real_qemu, setup_qemu, teardown_qemu),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("vncview", tests, NULL, NULL);
}
