/* Unit tests of core/vnctable.c: vnc_table.yaml (spec §5) and picking a free display. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/vnctable.h"

static void test_load_spec_example(void **state)
{
    (void)state;
    yv_vnctable t;
    yv_err err;
    assert_int_equal(
        yv_vnctable_load_string(&t, "t", "table:\n  ':1': cloud\n  ':2': web1\n", &err), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(yv_vnctable_find(&t, "cloud"), 1);
    assert_int_equal(yv_vnctable_find(&t, "web1"), 2);
    assert_int_equal(yv_vnctable_find(&t, "nobody"), -1);
    assert_string_equal(yv_vnctable_owner(&t, 1), "cloud");
    assert_string_equal(yv_vnctable_owner(&t, 2), "web1");
    assert_null(yv_vnctable_owner(&t, 3));
    yv_vnctable_done(&t);
    assert_int_equal(t.n, 0);
    assert_null(t.v);
}

static void test_load_empty_forms(void **state)
{
    (void)state;
    static const char *const empty[] = {"", "table:\n", "table: {}\n", "table: ~\n"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        yv_vnctable t;
        yv_err err;
        if (yv_vnctable_load_string(&t, "t", empty[i], &err) < 0) fail_msg("%s", err.msg);
        assert_int_equal(t.n, 0);
        yv_vnctable_done(&t);
    }
}

static void test_to_yaml_sorted_and_quoted(void **state)
{
    (void)state;
    yv_vnctable t = {0};
    yv_err err;
    char *text;
    size_t len;
    yv_vnctable_set(&t, 10, "ten");
    yv_vnctable_set(&t, 2, "yes");
    yv_vnctable_set(&t, 1, "one");
    yv_vnctable_set(&t, 0, "zero");
    assert_int_equal(yv_vnctable_to_yaml(&t, &text, &len, &err), 0);
    assert_string_equal(text, "table:\n"
                              "  ':0': zero\n"
                              "  ':1': one\n"
                              "  ':2': 'yes'\n"
                              "  ':10': ten\n");
    assert_int_equal(len, strlen(text));
    /* the entries in memory keep their order */
    assert_int_equal(t.v[0].display, 10);

    yv_vnctable back;
    assert_int_equal(yv_vnctable_load_string(&back, "t", text, &err), 0);
    assert_int_equal(back.n, 4);
    assert_string_equal(yv_vnctable_owner(&back, 0), "zero");
    assert_string_equal(yv_vnctable_owner(&back, 2), "yes");
    assert_string_equal(yv_vnctable_owner(&back, 10), "ten");
    yv_vnctable_done(&back);
    free(text);
    yv_vnctable_done(&t);

    assert_int_equal(yv_vnctable_to_yaml(&t, &text, NULL, &err), 0);
    assert_string_equal(text, "table: {}\n");
    free(text);
}

static void test_set_replaces_and_remove(void **state)
{
    (void)state;
    yv_vnctable t = {0};
    yv_vnctable_set(&t, 1, "a");
    yv_vnctable_set(&t, 2, "b");
    yv_vnctable_set(&t, 3, "a");
    yv_vnctable_set(&t, 2, "c"); /* same display: new owner */
    assert_int_equal(t.n, 3);
    assert_string_equal(yv_vnctable_owner(&t, 2), "c");
    assert_int_equal(yv_vnctable_remove(&t, "a"), 2);
    assert_int_equal(t.n, 1);
    assert_null(yv_vnctable_owner(&t, 1));
    assert_null(yv_vnctable_owner(&t, 3));
    assert_string_equal(yv_vnctable_owner(&t, 2), "c");
    assert_int_equal(yv_vnctable_remove(&t, "a"), 0);
    assert_int_equal(yv_vnctable_remove(&t, "c"), 1);
    assert_int_equal(t.n, 0);
    yv_vnctable_done(&t);
}

typedef struct {
    int refuse[4];
    int asked[16];
    size_t nasked;
} probe;

static bool usable(int display, void *ctx)
{
    probe *p = ctx;
    if (p->nasked < 16) p->asked[p->nasked++] = display;
    for (int i = 0; i < 4; i++)
        if (p->refuse[i] == display) return false;
    return true;
}

static void test_pick(void **state)
{
    (void)state;
    yv_vnctable t = {0};
    assert_int_equal(yv_vnctable_pick(&t, NULL, 0, NULL, NULL), 1);
    yv_vnctable_set(&t, 1, "a");
    yv_vnctable_set(&t, 3, "c");
    assert_int_equal(yv_vnctable_pick(&t, NULL, 0, NULL, NULL), 2);
    int taken[] = {2, 5};
    assert_int_equal(yv_vnctable_pick(&t, taken, 2, NULL, NULL), 4);
    probe p = {.refuse = {4, 6, -1, -1}};
    assert_int_equal(yv_vnctable_pick(&t, taken, 2, usable, &p), 7);
    /* the callback is asked only about displays free in the table and not taken */
    assert_int_equal(p.nasked, 3);
    assert_int_equal(p.asked[0], 4);
    assert_int_equal(p.asked[1], 6);
    assert_int_equal(p.asked[2], 7);
    /* a freed display is picked again */
    yv_vnctable_remove(&t, "a");
    assert_int_equal(yv_vnctable_pick(&t, NULL, 0, NULL, NULL), 1);
    yv_vnctable_done(&t);
}

static bool never(int display, void *ctx)
{
    (void)display;
    (void)ctx;
    return false;
}

static void test_pick_none_left(void **state)
{
    (void)state;
    yv_vnctable t = {0};
    assert_int_equal(yv_vnctable_pick(&t, NULL, 0, never, NULL), -1);
}

static void assert_table_fails(const char *text, const char *msg)
{
    yv_vnctable t;
    yv_err err;
    if (yv_vnctable_load_string(&t, "vnc_table.yaml", text, &err) != -1)
        fail_msg("accepted:\n%s", text);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    assert_string_equal(err.msg, msg);
    assert_int_equal(t.n, 0);
}

static void test_bad_tables(void **state)
{
    (void)state;
    assert_table_fails("table:\n  ':1': a\n  ':01': b\n",
                       "vnc_table.yaml:3:3: table: ':01' is not a VNC display like ':1'");
    assert_table_fails("table:\n  1: a\n", "vnc_table.yaml:2:3: table: '1' is not a VNC display "
                                           "like ':1'");
    assert_table_fails("table:\n  ':-1': a\n", "vnc_table.yaml:2:3: table: ':-1' is not a VNC "
                                               "display like ':1'");
    assert_table_fails("table:\n  ':59636': a\n",
                       "vnc_table.yaml:2:3: table: ':59636' is not a VNC display like ':1'");
    assert_table_fails("table:\n  ':1': ../x\n", "vnc_table.yaml:2:9: table.':1' must name a VM");
    assert_table_fails("table:\n  ':1': [a]\n", "vnc_table.yaml:2:9: table.':1' must name a VM");
    assert_table_fails("table:\n  ':1': a\n  ':1': b\n",
                       "vnc_table.yaml:3:3: duplicate key ':1' in table");
    assert_table_fails("table: [a]\n", "vnc_table.yaml:1:8: table must be a mapping (key: value "
                                       "lines)");
    assert_table_fails("tables: {}\n",
                       "vnc_table.yaml:1:1: unknown key 'tables' in the file (known: table)");
}

static void test_save_load_file(void **state)
{
    char *root = *state;
    yv_vnctable t = {0}, back;
    yv_err err;
    /* a missing file is an empty table */
    assert_int_equal(yv_vnctable_load(&back, root, &err), 0);
    assert_int_equal(back.n, 0);
    yv_vnctable_done(&back);

    yv_vnctable_set(&t, 2, "b");
    yv_vnctable_set(&t, 1, "a");
    assert_int_equal(yv_vnctable_save(&t, root, &err), 0);
    char *text = ut_read(root, "vnc_table.yaml");
    assert_string_equal(text, "table:\n  ':1': a\n  ':2': b\n");
    free(text);
    assert_int_equal(ut_mode(root, "vnc_table.yaml"), 0644);
    ut_assert_ls(root, "vnc_table.yaml");

    assert_int_equal(yv_vnctable_load(&back, root, &err), 0);
    assert_int_equal(back.n, 2);
    assert_string_equal(yv_vnctable_owner(&back, 1), "a");
    assert_string_equal(yv_vnctable_owner(&back, 2), "b");
    yv_vnctable_done(&back);
    yv_vnctable_done(&t);

    ut_write(root, "vnc_table.yaml", "table:\n  ':1': a\n  x: b\n");
    assert_int_equal(yv_vnctable_load(&back, root, &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    char *want = yv_asprintf("%s/vnc_table.yaml:3:3: table: 'x' is not a VNC display", root);
    ut_assert_contains(err.msg, want);
    free(want);
}

/* Found while writing tests/fuzz: the loader takes a C string, so a NUL byte in the file silently
 * ended the table there, and the next save dropped the entries after it. Refused now, like libyaml
 * refuses control characters. */
static void test_load_file_with_nul(void **state)
{
    char *root = *state, *path = yv_root_join(root, "vnc_table.yaml");
    static const char text[] = "table:\n  ':1': a\n\0 ':2': b\n";
    yv_vnctable t;
    yv_err err;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, sizeof text - 1, f), sizeof text - 1);
    fclose(f);
    assert_int_equal(yv_vnctable_load(&t, root, &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    char *want = yv_asprintf("%s: byte 18: invalid text", path);
    ut_assert_contains(err.msg, want);
    free(want);
    free(path);
}

/* Listens on 127.0.0.1:5900+display for some free display from `from`; returns the fd. */
static int listen_somewhere(int from, int *display)
{
    for (int d = from; d < from + 200; d++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(5900 + d))};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0) {
            *display = d;
            return fd;
        }
        close(fd);
    }
    fail_msg("no free port from %d", 5900 + from);
    return -1;
}

static void test_port_free(void **state)
{
    (void)state;
    int display;
    int fd = listen_somewhere(4000, &display);
    assert_false(yv_vnctable_port_free("127.0.0.1", display));
    /* QEMU on 0.0.0.0 would collide with it too */
    assert_false(yv_vnctable_port_free("0.0.0.0", display));
    close(fd);
    assert_true(yv_vnctable_port_free("127.0.0.1", display));
    /* a host name cannot be probed cheaply: assumed free */
    assert_true(yv_vnctable_port_free("localhost", display));
}

static bool port_usable(int display, void *ctx)
{
    return yv_vnctable_port_free(ctx, display);
}

static void test_pick_skips_listening_port(void **state)
{
    (void)state;
    int display;
    int fd = listen_somewhere(4100, &display);
    yv_vnctable t = {0};
    int *taken = yv_malloc((size_t)display * sizeof *taken);
    size_t n = 0;
    for (int d = 1; d < display; d++) taken[n++] = d; /* everything below is in use */
    assert_int_equal(yv_vnctable_pick(&t, taken, n, port_usable, "127.0.0.1"), display + 1);
    close(fd);
    assert_int_equal(yv_vnctable_pick(&t, taken, n, port_usable, "127.0.0.1"), display);
    free(taken);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_spec_example),
        cmocka_unit_test(test_load_empty_forms),
        cmocka_unit_test(test_to_yaml_sorted_and_quoted),
        cmocka_unit_test(test_set_replaces_and_remove),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_pick_none_left),
        cmocka_unit_test(test_bad_tables),
        cmocka_unit_test_setup_teardown(test_save_load_file, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_file_with_nul, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_port_free),
        cmocka_unit_test(test_pick_skips_listening_port),
    };
    return cmocka_run_group_tests_name("vnctable", tests, NULL, NULL);
}
