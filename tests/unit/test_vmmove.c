/* Unit tests of core/vmmove.c and run's use of it in core/vmset.c (issue 20): a VNC display and
 * forward host ports another program holds move to the lowest free ones (not another VM's, not in
 * vnc_table.yaml, not held, not the VM's own other forward); without the option the start is
 * refused naming it and nothing changes; with it the config and the table move together. Listeners
 * on a loopback address of the test's own, so nothing else on the host meets them. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/root.h"
#include "core/vm.h"
#include "core/vmmove.h"
#include "core/vmset.h"
#include "core/vnctable.h"

typedef struct {
    char *root;
    yv_config cfg;
    char addr[32];
    int base; /* P: forwards at P.. */
    int held[8];
    size_t nheld;
} fixture;

static int hold(fixture *f, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, f->addr, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0) return -1;
    f->held[f->nheld++] = fd;
    return 0;
}

static void make(fixture *f, const char *name, const char *disp, int port, int port2)
{
    yv_vm vm;
    yv_err err;
    memset(&vm, 0, sizeof vm);
    vm.name = yv_strdup(name);
    vm.memory = 64;
    vm.vcpu = 1;
    vm.vnc_display = yv_strdup(disp);
    yv_vm_add_drive(&vm, "hd0", "hd0.qcow2", YV_DRIVE_VIRTIO_BLK, YV_MEDIA_HD, 0);
    yv_net *n = yv_vm_add_net(&vm, "net0",
                              name[0] == 'a' ? "52:54:00:00:00:01" : "52:54:00:00:00:02", NULL);
    n->type = YV_NET_USER;
    yv_vm_add_forward(n, YV_PROTO_TCP, f->addr, port, 22);
    if (port2) yv_vm_add_forward(n, YV_PROTO_TCP, f->addr, port2, 80);
    char *dir = yv_root_vm_dir(f->root, name);
    assert_int_equal(yv_root_ensure(f->root, &err), 0);
    mkdir(dir, 0700);
    assert_int_equal(yv_vm_save(&vm, dir, &err), 0);
    free(dir);
    yv_vm_done(&vm);
}

/* a: display :1, forwards P and P+3; b: :2, P+1. Held by "another program": :1, :3, P, P+2. */
static int setup(void **state)
{
    fixture *f = yv_calloc(1, sizeof *f);
    yv_err err;
    char conf[128];
    pid_t pid = getpid();
    snprintf(f->addr, sizeof f->addr, "127.77.%d.%d", (pid >> 8) & 255, (pid & 254) + 1);
    f->base = 30000 + (int)(pid % 5000) * 4;
    f->root = ut_mkdtemp();
    snprintf(conf, sizeof conf, "vnc:\n  listen: %s\n", f->addr);
    if (yv_config_load_string(&f->cfg, "t", conf, f->root, &err) < 0) return -1;
    *state = f;
    make(f, "a", ":1", f->base, f->base + 3);
    make(f, "b", ":2", f->base + 1, 0);
    yv_vnctable t = {0};
    yv_vnctable_set(&t, 1, "a");
    yv_vnctable_set(&t, 2, "b");
    if (yv_vnctable_save(&t, f->root, &err) < 0) return -1;
    yv_vnctable_done(&t);
    return hold(f, 5901) < 0 || hold(f, 5903) < 0 || hold(f, f->base) < 0 ||
                   hold(f, f->base + 2) < 0
               ? -1
               : 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->nheld; i++) close(f->held[i]);
    yv_config_done(&f->cfg);
    ut_rmdir(f->root);
    free(f);
    return 0;
}

static void test_held_moves_to_the_lowest_free(void **state)
{
    fixture *f = *state;
    yv_vm vm;
    yv_vmmove m;
    yv_err err;
    char text[256];
    assert_int_equal(yv_vm_load(&vm, f->root, "a", &err), 0);
    assert_int_equal(yv_vmmove_held(f->root, &f->cfg, &vm, true, false, &m, &err), 0);
    assert_true(m.display);
    assert_int_equal(m.display_from, 1);
    assert_int_equal(m.display_to, 4); /* :2 b's, :3 held */
    assert_string_equal(vm.vnc_display, ":4");
    assert_int_equal(m.nports, 0);
    yv_vm_done(&vm);
    assert_int_equal(yv_vm_load(&vm, f->root, "a", &err), 0);
    assert_int_equal(yv_vmmove_held(f->root, &f->cfg, &vm, false, true, &m, &err), 0);
    assert_false(m.display);
    assert_int_equal(m.nports, 1);
    assert_int_equal(m.ports[0].from, f->base);
    /* P+1 b's, P+2 held, P+3 a's own other forward */
    assert_int_equal(m.ports[0].to, f->base + 4);
    assert_int_equal(vm.nets[0].forwards[0].host, f->base + 4);
    assert_int_equal(vm.nets[0].forwards[1].host, f->base + 3);
    yv_vmmove_text(&m, text, sizeof text);
    char want[64];
    snprintf(want, sizeof want, "tcp port %d -> %d", f->base, f->base + 4);
    assert_string_equal(text, want);
    json_t *j = yv_vmmove_json(&m);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ut_assert_contains(s, "\"options\":[\"new-ports\"]");
    free(s);
    json_decref(j);
    yv_vm_done(&vm);
    /* b holds nothing another program has */
    assert_int_equal(yv_vm_load(&vm, f->root, "b", &err), 0);
    assert_int_equal(yv_vmmove_held(f->root, &f->cfg, &vm, true, true, &m, &err), 0);
    assert_false(m.display);
    assert_int_equal(m.nports, 0);
    yv_vm_done(&vm);
}

static void test_refused_without_the_option_then_moved(void **state)
{
    fixture *f = *state;
    yv_vmmove moved, prop;
    yv_err err;
    char *cfg0 = ut_read(f->root, "a.vm/config.yaml"), *tab0 = ut_read(f->root, "vnc_table.yaml");
    assert_int_equal(yv_vmset_move_held(f->root, &f->cfg, "a", false, true, &moved, &prop, &err),
                     -1);
    assert_int_equal(err.code, YV_E_FAIL);
    ut_assert_contains(err.msg, "run --new-display moves it to :4");
    assert_true(prop.display);
    char *cfg1 = ut_read(f->root, "a.vm/config.yaml"), *tab1 = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(cfg0, cfg1); /* the ports were not moved either: the start is refused */
    assert_string_equal(tab0, tab1);
    free(cfg1);
    free(tab1);
    assert_int_equal(yv_vmset_move_held(f->root, &f->cfg, "a", true, false, &moved, &prop, &err),
                     -1);
    assert_int_equal(err.code, YV_E_VM_EXISTS);
    ut_assert_contains(err.msg, "run --new-ports moves it to");
    assert_false(moved.display); /* the held port refuses before the display moves */
    cfg1 = ut_read(f->root, "a.vm/config.yaml");
    tab1 = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(cfg0, cfg1);
    assert_string_equal(tab0, tab1);
    free(cfg1);
    free(tab1);
    assert_int_equal(yv_vmset_move_held(f->root, &f->cfg, "a", true, true, &moved, &prop, &err), 0);
    assert_true(moved.display);
    assert_int_equal(moved.nports, 1);
    yv_vm vm;
    assert_int_equal(yv_vm_load(&vm, f->root, "a", &err), 0);
    assert_string_equal(vm.vnc_display, ":4");
    assert_int_equal(vm.nets[0].forwards[0].host, f->base + 4);
    yv_vm_done(&vm);
    yv_vnctable t = {0};
    assert_int_equal(yv_vnctable_load(&t, f->root, &err), 0);
    assert_string_equal(yv_vnctable_owner(&t, 4), "a");
    assert_null(yv_vnctable_owner(&t, 1));
    yv_vnctable_done(&t);
    free(cfg0);
    free(tab0);
}

/* what moved against what the question showed (pure) */
static void test_within(void **state)
{
    (void)state;
    yv_vmmove m = {.display = true, .display_from = 1, .display_to = 3, .nports = 1};
    m.ports[0] = (yv_vmmove_port){.proto = YV_PROTO_TCP, .from = 2222, .to = 2223};
    yv_vmmove x = m;
    assert_true(yv_vmmove_within(&m, &x));
    x.display_to = 4; /* the display the question named was taken since: :3 is not :4 */
    assert_false(yv_vmmove_within(&m, &x));
    x = m;
    x.ports[0].to = 2224;
    assert_false(yv_vmmove_within(&m, &x));
    x.ports[0] = (yv_vmmove_port){.proto = YV_PROTO_UDP, .from = 2222, .to = 2223};
    assert_false(yv_vmmove_within(&m, &x)); /* a port the question did not name */
    yv_vmmove none = {0};                   /* freed meanwhile: nothing moved is within */
    assert_true(yv_vmmove_within(&none, &x));
    yv_vmmove kinds = {0}; /* neither kind named: either may go anywhere */
    assert_true(yv_vmmove_within(&m, &kinds));
}

/* the TUI's yes names where: a target taken since refuses, nothing written, the new choice said */
static void test_move_to_a_target_taken_since(void **state)
{
    fixture *f = *state;
    yv_vmmove moved, prop, x = {.display = true, .display_to = 4};
    yv_err err;
    char *cfg0 = ut_read(f->root, "a.vm/config.yaml"), *tab0 = ut_read(f->root, "vnc_table.yaml");
    assert_int_equal(hold(f, 5904), 0); /* :4, which the question showed, taken: now :5 */
    assert_int_equal(
        yv_vmset_move_held_to(f->root, &f->cfg, "a", true, true, &x, &moved, &prop, &err), -1);
    assert_int_equal(err.code, YV_E_FAIL);
    ut_assert_contains(err.msg, "no longer free: now VNC display :1 -> :5");
    assert_true(prop.display);
    assert_int_equal(prop.display_to, 5);
    assert_false(moved.display);
    char *cfg1 = ut_read(f->root, "a.vm/config.yaml"), *tab1 = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(cfg0, cfg1);
    assert_string_equal(tab0, tab1);
    free(cfg1);
    free(tab1);
    x.display_to = 5; /* asked again with :5: moved there */
    assert_int_equal(
        yv_vmset_move_held_to(f->root, &f->cfg, "a", true, true, &x, &moved, &prop, &err), 0);
    assert_int_equal(moved.display_to, 5);
    free(cfg0);
    free(tab0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_held_moves_to_the_lowest_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_without_the_option_then_moved, setup,
                                        teardown),
        cmocka_unit_test(test_within),
        cmocka_unit_test_setup_teardown(test_move_to_a_target_taken_since, setup, teardown),
    };
    return cmocka_run_group_tests_name("vmmove", tests, NULL, NULL);
}
