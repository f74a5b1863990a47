/* Unit tests of core/screenshot.c: the PNG header check, the refusals (no VM, not running), the
 * exchange against a QEMU that misbehaves on purpose (a child serving run/<vm>.sock as QMP does:
 * it writes a PNG, garbage, an oversized file, or refuses), the temporary file always gone, and
 * the sweep of what killed screenshots left (a free lock: removed; a held lock, a link, another
 * file: kept). The real QEMU is tests/integration/test-screenshot.sh's. */
#include "unit.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "core/screenshot.h"
#include "core/vmstate.h"

/* A PNG header of w x h (what the check reads: signature, IHDR), and a few bytes more. */
static size_t png_header(unsigned char *b, unsigned w, unsigned h)
{
    static const unsigned char head[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                         0,    0,   0,   13,  'I',  'H',  'D',  'R'};
    memcpy(b, head, sizeof head);
    unsigned char dim[8] = {w >> 24, w >> 16, w >> 8, w, h >> 24, h >> 16, h >> 8, h};
    memcpy(b + 16, dim, 8);
    memset(b + 24, 0, 9 + 4); /* depth, colour type, ... and the CRC (not checked) */
    return 16 + 8 + 5 + 4 + 4;
}

static void test_png_size(void **state)
{
    (void)state;
    unsigned char b[64];
    unsigned w = 0, h = 0;
    yv_err e;
    size_t n = png_header(b, 720, 400);
    assert_int_equal(yv_screenshot_png_size(b, n, &w, &h, &e), 0);
    assert_int_equal(w, 720);
    assert_int_equal(h, 400);
    assert_int_equal(yv_screenshot_png_size(b, 20, &w, &h, &e), -1); /* cut in the header */
    ut_assert_contains(e.msg, "no IHDR");
    assert_int_equal(
        yv_screenshot_png_size((const unsigned char *)"P6\n720 400\n255\n", 15, &w, &h, &e),
        -1); /* a PPM */
    ut_assert_contains(e.msg, "no PNG signature");
    png_header(b, 0, 400);
    assert_int_equal(yv_screenshot_png_size(b, n, &w, &h, &e), -1);
    png_header(b, 720, YV_SCREENSHOT_DIM_MAX + 1);
    assert_int_equal(yv_screenshot_png_size(b, n, &w, &h, &e), -1);
    ut_assert_contains(e.msg, "claims a size");
    png_header(b, 720, 400);
    b[11] = 14; /* an IHDR of another length */
    assert_int_equal(yv_screenshot_png_size(b, n, &w, &h, &e), -1);
}

/* ---- a QEMU that misbehaves on purpose ---- */

typedef enum { GOOD, GARBAGE, HUGE, REFUSE } mode;

typedef struct {
    ut_root *r;
    pid_t server;
} fixture;

/* What QEMU's screendump does with the file: opens the path (O_TRUNC) and writes. */
static void dump(const char *path, mode m)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) _exit(2);
    unsigned char b[64];
    size_t n = png_header(b, 640, 480);
    if (m == GARBAGE) n = (size_t)snprintf((char *)b, sizeof b, "not a picture");
    if (m == HUGE && ftruncate(fd, (off_t)YV_SCREENSHOT_MAX + 1) < 0) _exit(2); /* a hole */
    if (write(fd, b, n) != (ssize_t)n) _exit(2);
    close(fd);
}

/* One QMP client: greeting, then a reply to each command line. */
static void serve_client(int c, mode m)
{
    FILE *f = fdopen(c, "r+");
    char line[4096];
    fputs("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n", f);
    fflush(f);
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL), *id = json_object_get(j, "id");
        const char *cmd = json_string_value(json_object_get(j, "execute"));
        json_t *a = json_object_get(j, "arguments"), *reply;
        if (cmd && !strcmp(cmd, "screendump") && m == REFUSE)
            reply = json_pack("{s:{s:s, s:s}, s:O}", "error", "class", "GenericError", "desc",
                              "Enable PNG support with libpng for screendump", "id", id);
        else reply = json_pack("{s:{}, s:O}", "return", "id", id);
        if (cmd && !strcmp(cmd, "screendump") && m != REFUSE)
            dump(json_string_value(json_object_get(a, "filename")), m);
        char *s = json_dumps(reply, JSON_COMPACT);
        fprintf(f, "%s\n", s);
        fflush(f);
        free(s);
        json_decref(reply);
        json_decref(j);
    }
    fclose(f);
}

/* A fake QEMU for VM "vm": its folder, a pidfile held by a child (ut_child) and the QMP socket
 * served by another child in mode m. */
static void fake_qemu(fixture *f, mode m)
{
    char *sock = yv_vmstate_sockfile(f->r->root, "vm");
    if (!ut_exists(f->r->root, "vm.vm")) ut_mkdir(f->r->root, "vm.vm");
    if (!ut_exists(f->r->root, "run")) ut_mkdir(f->r->root, "run");
    int l = ut_unix_listen(sock, 4);
    f->server = fork();
    assert_true(f->server >= 0);
    if (f->server == 0) {
        for (;;) {
            int c = accept(l, NULL, NULL);
            if (c < 0) _exit(1);
            serve_client(c, m);
        }
    }
    close(l);
    free(sock);
}

static int setup(void **state)
{
    fixture *f = yv_calloc(1, sizeof *f);
    f->r = ut_root_new();
    *state = f;
    return f->r ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->server > 0) {
        kill(f->server, SIGKILL);
        waitpid(f->server, NULL, 0);
    }
    ut_root_free(f->r);
    free(f);
    return 0;
}

/* The proof of a running QEMU (the exchange needs only pid > 0: the fake is not a QEMU). */
static const yv_vmstate_proof running = {1, 1, -1};

static void assert_run_is(fixture *f, const char *want)
{
    char *run = yv_root_path(f->r->root, "run");
    ut_assert_ls(run, want);
    free(run);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    yv_screenshot s;
    yv_err e;
    yv_vmstate_proof stopped = {0, 0, -1};
    assert_int_equal(yv_screenshot_take_proven(f->r->root, "../x", &running, &s, &e), -1);
    assert_int_equal(e.code, YV_E_INVALID_NAME);
    assert_int_equal(yv_screenshot_take_proven(f->r->root, "nosuch", &running, &s, &e), -1);
    assert_int_equal(e.code, YV_E_VM_NOT_FOUND);
    ut_mkdir(f->r->root, "vm.vm");
    assert_int_equal(yv_screenshot_take_proven(f->r->root, "vm", &stopped, &s, &e), -1);
    assert_int_equal(e.code, YV_E_VM_NOT_RUNNING);
    assert_null(s.png);
}

static void test_good(void **state)
{
    fixture *f = *state;
    yv_screenshot s;
    yv_err e;
    fake_qemu(f, GOOD);
    assert_int_equal(yv_screenshot_take_proven(f->r->root, "vm", &running, &s, &e), 0);
    assert_int_equal(s.width, 640);
    assert_int_equal(s.height, 480);
    assert_int_equal(s.len, 37);
    assert_memory_equal(s.png, "\x89PNG", 4);
    yv_screenshot_done(&s);
    assert_run_is(f, "vm.sock"); /* the temporary file is gone */
}

static void test_misbehaving(void **state)
{
    fixture *f = *state;
    const struct {
        mode m;
        yv_code code;
        const char *says;
    } cases[] = {
        {GARBAGE, YV_E_IO, "not a PNG"},
        {HUGE, YV_E_IO, "larger than 32 MiB"},
        {REFUSE, YV_E_TOOL_FAILED, "Enable PNG support"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        yv_screenshot s;
        yv_err e;
        fake_qemu(f, cases[i].m);
        assert_int_equal(yv_screenshot_take_proven(f->r->root, "vm", &running, &s, &e), -1);
        assert_int_equal(e.code, cases[i].code);
        ut_assert_contains(e.msg, cases[i].says);
        assert_null(s.png);
        assert_run_is(f, "vm.sock");
        kill(f->server, SIGKILL);
        waitpid(f->server, NULL, 0);
        f->server = 0;
        char *sock = yv_vmstate_sockfile(f->r->root, "vm");
        unlink(sock);
        free(sock);
    }
}

/* No QMP socket (QEMU died since the proof): an error, and still nothing left. */
static void test_no_socket(void **state)
{
    fixture *f = *state;
    yv_screenshot s;
    yv_err e;
    ut_mkdir(f->r->root, "vm.vm");
    ut_mkdir(f->r->root, "run");
    assert_int_equal(yv_screenshot_take_proven(f->r->root, "vm", &running, &s, &e), -1);
    assert_int_equal(e.code, YV_E_VM_NOT_RUNNING);
    assert_run_is(f, "");
}

static void test_sweep(void **state)
{
    fixture *f = *state;
    ut_mkdir(f->r->root, "run");
    ut_write(f->r->root, "run/.screendump-a-1-0.png", "left by a killed screenshot");
    ut_write(f->r->root, "run/.screendump-b-2-0.png", "a screenshot at work");
    ut_write(f->r->root, "run/b.pid", "not ours");
    ut_write(f->r->root, "target", "kept");
    char *held = yv_root_path(f->r->root, "run/.screendump-b-2-0.png");
    char *target = yv_root_path(f->r->root, "target");
    char *link = yv_root_path(f->r->root, "run/.screendump-c-3-0.png");
    assert_int_equal(symlink(target, link), 0);
    int fd = open(held, O_RDONLY);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    yv_screenshot_sweep(f->r->root);
    assert_run_is(f, ".screendump-b-2-0.png .screendump-c-3-0.png b.pid");
    assert_true(ut_exists(f->r->root, "target"));
    close(fd); /* its screenshot was killed: the next sweep removes it */
    yv_screenshot_sweep(f->r->root);
    assert_run_is(f, ".screendump-c-3-0.png b.pid");
    free(held);
    free(target);
    free(link);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_size),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misbehaving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
    };
    return cmocka_run_group_tests_name("screenshot", tests, NULL, NULL);
}
