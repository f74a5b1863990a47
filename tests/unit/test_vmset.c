/* Unit tests of core/vmset.c: the comparison behind status's `pending` (each field, a network that
 * is another one, nothing when equal), the option rules shared with create (core/valid.c,
 * core/ops.c), set on a root (the config changed, conflicts and bad input change nothing, a start
 * under way refused), and pending against a run/<vm>.started record. Running QEMUs:
 * tests/integration/test-set.sh. */
#include "unit.h"

#include <sys/file.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/root.h"
#include "core/valid.h"
#include "core/vm.h"
#include "core/vmset.h"
#include "core/vmstate.h"

typedef ut_root fixture;

static void make(yv_vm *vm, const char *name)
{
    memset(vm, 0, sizeof *vm);
    vm->name = yv_strdup(name);
    vm->memory = 64;
    vm->vcpu = 1;
    vm->vnc_display = yv_strdup(":1");
    vm->vnc_password = yv_strdup("pw345678");
    yv_vm_add_drive(vm, "hd0", "hd0.qcow2", YV_DRIVE_VIRTIO_BLK, YV_MEDIA_HD, 0);
    yv_net *n = yv_vm_add_net(vm, "net0", "52:54:00:00:00:01", NULL);
    n->type = YV_NET_USER;
    yv_vm_add_forward(n, YV_PROTO_TCP, "127.0.0.1", 2201, 22);
}

/* The fields yv_vmset_diff names, joined by spaces. */
static char *diff_text(const yv_vm *a, const yv_vm *b)
{
    const char *out[YV_VMSET_FIELDS];
    size_t n = yv_vmset_diff(a, b, out);
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(buf, i ? " " : "");
        strcat(buf, out[i]);
    }
    return buf;
}

static void test_diff(void **state)
{
    (void)state;
    yv_vm a, b;
    make(&a, "vm");
    make(&b, "vm");
    assert_string_equal(diff_text(&a, &b), "");
    b.memory = 128;
    b.vcpu = 2;
    b.ovmf = true;
    assert_string_equal(diff_text(&a, &b), "memory vcpu ovmf");
    yv_free_secret(b.vnc_password);
    b.vnc_password = yv_strdup("other123");
    assert_string_equal(diff_text(&a, &b), "memory vcpu ovmf vnc_password");
    yv_vm_done(&b);
    make(&b, "vm");
    b.nets[0].forwards[0].host = 2202;
    assert_string_equal(diff_text(&a, &b), "forwards");
    yv_vm_add_forward(&b.nets[0], YV_PROTO_UDP, "127.0.0.1", 53, 53);
    assert_string_equal(diff_text(&a, &b), "forwards");
    /* the same forwards in another order: nothing differs */
    b.nets[0].forwards[0].host = 2201;
    yv_vm_add_forward(&a.nets[0], YV_PROTO_UDP, "127.0.0.1", 53, 53);
    assert_string_equal(diff_text(&a, &b), "");
    yv_vm_remove_forward(&b.nets[0], 0);
    yv_vm_add_forward(&b.nets[0], YV_PROTO_TCP, "127.0.0.1", 2201, 22);
    assert_string_equal(diff_text(&a, &b), "");
    b.nets[0].forwards[1].guest = 23; /* the same host port to another guest port */
    assert_string_equal(diff_text(&a, &b), "forwards");
    yv_vm_remove_forward(&a.nets[0], 1);
    /* a network of another kind: "network" says it, not its forwards as well */
    b.nets[0].type = YV_NET_TAP;
    assert_string_equal(diff_text(&a, &b), "network");
    yv_vm_done(&b);
    make(&b, "vm");
    b.nets[0].type = YV_NET_TAP;
    a.nets[0].type = YV_NET_TAP;
    yv_vm_clear_forwards(&a.nets[0]);
    yv_vm_clear_forwards(&b.nets[0]);
    b.nets[0].master = yv_strdup("br0");
    assert_string_equal(diff_text(&a, &b), "master");
    yv_vm_clear_nets(&b);
    assert_string_equal(diff_text(&a, &b), "network");
    assert_string_equal(diff_text(&b, &a), "network");
    yv_vm_done(&a);
    yv_vm_done(&b);
}

static void check_refused(const yv_vmset_opts *o, const char *msg)
{
    yv_err err;
    assert_int_equal(yv_vmset_check(o, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    ut_assert_contains(err.msg, msg);
}

static void test_check(void **state)
{
    (void)state;
    yv_vmset_opts o;
    yv_err err;
    yv_vmset_defaults(&o);
    check_refused(&o, "nothing to change");
    o.memory = 8;
    check_refused(&o, "invalid memory 8 MiB");
    o.memory = 96;
    assert_int_equal(yv_vmset_check(&o, &err), 0);
    o.vcpu = YV_VCPU_MAX + 1;
    check_refused(&o, "invalid vcpu");
    o.vcpu = 2;
    o.vnc_password = "";
    check_refused(&o, "empty");
    o.vnc_password = NULL;
    o.net_kind = "bridge";
    check_refused(&o, "give user, tap or none");
    o.net_kind = "user";
    o.master = "br0";
    check_refused(&o, "--master needs a tap network");
    o.net_kind = "tap";
    assert_int_equal(yv_vmset_check(&o, &err), 0);
    const char *fw[] = {"2201:22", "2201:80"};
    o.forwards = fw;
    o.nforwards = 1;
    check_refused(&o, "--forward needs a user network");
    o.net_kind = "user";
    o.master = NULL;
    assert_int_equal(yv_vmset_check(&o, &err), 0);
    o.nforwards = 2;
    check_refused(&o, "given twice");
    fw[1] = "99999:22";
    check_refused(&o, "99999");
    /* a display is shown in the error only when short and printable (never escape sequences) */
    yv_vmset_defaults(&o);
    o.display = ":x";
    check_refused(&o, "invalid display ':x'");
    o.display = "\x1b]0;pwned\x07:1";
    assert_int_equal(yv_vmset_check(&o, &err), -1);
    ut_assert_contains(err.msg, "invalid display '…'");
    assert_null(strchr(err.msg, '\x1b'));
}

/* The same rules as text (batch, the TUI's forms). */
static void test_valid_rules(void **state)
{
    (void)state;
    yv_err err;
    long v;
    assert_int_equal(yv_valid_memory("16", &v, &err), 0);
    assert_int_equal(v, 16);
    assert_int_equal(yv_valid_memory("15", &v, &err), -1);
    ut_assert_contains(err.msg, "at least 16 MiB");
    assert_int_equal(yv_valid_memory("lots", &v, &err), -1);
    assert_int_equal(yv_valid_vcpu("1024", &v, &err), 0);
    assert_int_equal(yv_valid_vcpu("0", &v, &err), -1);
    assert_int_equal(yv_valid_vcpu("-1", &v, &err), -1);
    assert_int_equal(yv_valid_memory_value(YV_MEMORY_MAX + 1, &err), -1);
    assert_int_equal(yv_valid_vcpu_value(1, &err), 0);
}

static void save(fixture *f, const yv_vm *vm)
{
    yv_err err;
    char *dir = yv_root_vm_dir(f->root, vm->name);
    assert_int_equal(yv_root_ensure(f->root, &err), 0);
    mkdir(dir, 0700);
    assert_int_equal(yv_vm_save(vm, dir, &err), 0);
    free(dir);
}

static void test_set_and_conflicts(void **state)
{
    fixture *f = *state;
    yv_vm a, b, got;
    yv_err err;
    yv_vmset_opts o;
    yv_vmset_result r;
    make(&a, "a");
    make(&b, "b");
    b.nets[0].forwards[0].host = 2202;
    free(b.vnc_display);
    b.vnc_display = yv_strdup(":2");
    save(f, &a);
    save(f, &b);
    char *before = ut_read(f->root, "a.vm/config.yaml");
    const char *fw[] = {"2202:22"};
    yv_vmset_defaults(&o);
    o.memory = 96;
    o.forwards = fw;
    o.nforwards = 1;
    assert_int_equal(yv_vmset(f->root, &f->cfg, "a", &o, &r, &err), -1);
    assert_int_equal(err.code, YV_E_VM_EXISTS);
    ut_assert_contains(err.msg, "VM 'b'");
    char *after = ut_read(f->root, "a.vm/config.yaml");
    assert_string_equal(before, after); /* nothing written, not even the memory */
    free(after);
    o.nforwards = 0;
    o.display = ":2"; /* b's (its config: the table is empty) */
    assert_int_equal(yv_vmset(f->root, &f->cfg, "a", &o, &r, &err), -1);
    assert_int_equal(err.code, YV_E_VM_EXISTS);
    ut_assert_contains(err.msg, "VNC display :2 belongs to VM 'b'");
    after = ut_read(f->root, "a.vm/config.yaml");
    assert_string_equal(before, after);
    free(after);
    assert_false(ut_exists(f->root, "vnc_table.yaml"));
    o.display = NULL;
    assert_int_equal(yv_vmset(f->root, &f->cfg, "nosuch", &o, &r, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    /* a start under way holds the mark: refused */
    char *mark = yv_vmstate_startfile(f->root, "a");
    int fd = open(mark, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0 && flock(fd, LOCK_EX) == 0);
    assert_int_equal(yv_vmset(f->root, &f->cfg, "a", &o, &r, &err), -1);
    assert_int_equal(err.code, YV_E_VM_RUNNING);
    close(fd);
    unlink(mark);
    free(mark);
    assert_int_equal(yv_vmset(f->root, &f->cfg, "a", &o, &r, &err), 0);
    assert_int_equal(r.nchanged, 1);
    assert_string_equal(r.changed[0], "memory");
    assert_false(r.running);
    assert_int_equal(r.npending, 0);
    assert_int_equal(yv_vm_load(&got, f->root, "a", &err), 0);
    assert_int_equal(got.memory, 96);
    assert_int_equal(got.nets[0].forwards[0].host, 2201); /* untouched: no forwards given */
    assert_int_equal(ut_mode(f->root, "a.vm/config.yaml"), 0600);
    yv_vm_done(&got);
    /* a free display: the config and vnc_table.yaml */
    char disp[8], entry[32];
    snprintf(disp, sizeof disp, ":%d", ut_free_display(9));
    snprintf(entry, sizeof entry, "'%s': a", disp);
    yv_vmset_defaults(&o);
    o.display = disp;
    assert_int_equal(yv_vmset(f->root, &f->cfg, "a", &o, &r, &err), 0);
    assert_string_equal(r.changed[0], "display");
    assert_int_equal(yv_vm_load(&got, f->root, "a", &err), 0);
    assert_string_equal(got.vnc_display, disp);
    yv_vm_done(&got);
    after = ut_read(f->root, "vnc_table.yaml");
    ut_assert_contains(after, entry);
    free(after);
    free(before);
    yv_vm_done(&a);
    yv_vm_done(&b);
}

/* none → user: a MAC of its own and the SSH forward from network.ssh_port_base; user → none. */
static void test_network_kinds(void **state)
{
    fixture *f = *state;
    yv_vm a, got;
    yv_err err;
    yv_vmset_opts o;
    yv_vmset_result r;
    make(&a, "a");
    yv_vm_clear_nets(&a);
    save(f, &a);
    yv_vmset_defaults(&o);
    o.net_kind = "user";
    assert_int_equal(yv_vmset(f->root, &f->cfg, "a", &o, &r, &err), 0);
    assert_string_equal(r.changed[0], "network");
    assert_int_equal(yv_vm_load(&got, f->root, "a", &err), 0);
    assert_int_equal(got.nnets, 1);
    assert_int_equal(got.nets[0].type, YV_NET_USER);
    assert_int_equal(strncmp(got.nets[0].mac, "52:54:", 6), 0);
    assert_int_equal(got.nets[0].nforwards, 1);
    assert_int_equal(got.nets[0].forwards[0].guest, 22);
    yv_vm_done(&got);
    o.net_kind = "none";
    assert_int_equal(yv_vmset(f->root, &f->cfg, "a", &o, &r, &err), 0);
    assert_int_equal(yv_vm_load(&got, f->root, "a", &err), 0);
    assert_int_equal(got.nnets, 0);
    yv_vm_done(&got);
    yv_vm_done(&a);
}

/* pending: the config against run/<vm>.started; none there: unknown (-1), not an empty list. */
static void test_pending_record(void **state)
{
    fixture *f = *state;
    yv_vm a;
    yv_err err;
    const char *out[YV_VMSET_FIELDS];
    size_t n;
    make(&a, "a");
    save(f, &a);
    assert_int_equal(yv_vmset_pending(f->root, &a, out, &n), -1);
    assert_int_equal(yv_vmstate_save_started(f->root, &a, &err), 0);
    assert_int_equal(ut_mode(f->root, "run/a.started"), 0600);
    assert_int_equal(yv_vmset_pending(f->root, &a, out, &n), 0);
    assert_int_equal(n, 0);
    a.memory = 128;
    assert_int_equal(yv_vmset_pending(f->root, &a, out, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out[0], "memory");
    /* a record that does not parse: no list rather than a wrong one */
    ut_write(f->root, "run/a.started", "name: [broken\n");
    assert_int_equal(yv_vmset_pending(f->root, &a, out, &n), -1);
    yv_vm_done(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_valid_rules),
        cmocka_unit_test_setup_teardown(test_set_and_conflicts, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_network_kinds, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_pending_record, ut_setup_root, ut_teardown_root),
    };
    return cmocka_run_group_tests_name("vmset", tests, NULL, NULL);
}
