/* Unit tests of core/clone.c and core/linked.c: clones in a temporary root with the real qemu-img;
 * the clone's seed user-data; the MAC picker of core/ops.c they share with create. */
#include "unit.h"

#include "core/clone.h"
#include "core/cloudinit.h"
#include "core/config.h"
#include "core/linked.h"
#include "core/ops.h"
#include "core/storage.h"
#include "core/vm.h"
#include "core/vnctable.h"

#define TEST_LISTEN "127.77.0.2"

typedef ut_root fixture;

static int setup(void **state)
{
    fixture *f = ut_root_new();
    if (!f) return -1;
    free(f->cfg.vnc_listen); /* VNC ports on an address of our own (see test_ops.c) */
    f->cfg.vnc_listen = yv_strdup(TEST_LISTEN);
    f->cfg.network_ssh_port_base = 47100; /* far from other programs' ports */
    *state = f;
    return 0;
}

/* A stopped VM `name` with a 4 MiB disk and a user network forwarding host+1 → 80 (and the
 * default SSH forward). */
static void make_vm(fixture *f, const char *name, int host)
{
    yv_create_opts o;
    char spec[32], *pw = NULL;
    yv_err err;
    yv_ops_create_defaults(&o);
    o.name = name;
    o.capacity = 4;
    o.ovmf = false;
    o.vnc_password = "Abcdefgh";
    o.net_kind = "user";
    snprintf(spec, sizeof spec, "%d:80", host);
    const char *fw[] = {spec};
    o.forwards = fw;
    o.nforwards = 1;
    if (yv_ops_create(f->root, &f->cfg, &o, &pw, &err) < 0) fail_msg("create: %s", err.msg);
    assert_null(pw);
}

static void test_identity(void **state)
{
    fixture *f = *state;
    yv_clone_result r;
    yv_err err;
    yv_vm src;
    make_vm(f, "s1", 47180);
    yv_clone_opts o = {.src = "s1", .dst = "c1"};
    if (yv_clone(f->root, &f->cfg, &o, &r, &err) < 0) fail_msg("clone: %s", err.msg);
    assert_int_equal(yv_vm_load(&src, f->root, "s1", &err), 0);
    assert_string_equal(r.vm.name, "c1");
    assert_string_equal(r.vm.vnc_display, ":2");
    assert_string_not_equal(r.vm.vnc_password, src.vnc_password);
    assert_string_equal(r.vm.vnc_password, r.generated_pw);
    assert_int_equal(r.vm.nnets, 1);
    assert_string_not_equal(r.vm.nets[0].mac, src.nets[0].mac);
    /* the forward from the source's port + 1; guest ports kept */
    assert_int_equal(r.vm.nets[0].nforwards, 1);
    assert_int_equal(r.vm.nets[0].forwards[0].host, 47181);
    assert_int_equal(r.vm.nets[0].forwards[0].guest, 80);
    assert_null(r.instance_id); /* not a preset VM */
    char *disk = yv_root_join(f->root, "c1.vm/hd0.qcow2");
    assert_int_equal(yv_storage_qcow2_size(disk), 4 * 1024 * 1024);
    assert_null(yv_storage_qcow2_backing(disk)); /* a copy of its own */
    yv_vnctable t;
    assert_int_equal(yv_vnctable_load(&t, f->root, &err), 0);
    assert_int_equal(yv_vnctable_find(&t, "c1"), 2);
    yv_vnctable_done(&t);
    /* the config on disk is what the result says */
    yv_vm back;
    assert_int_equal(yv_vm_load(&back, f->root, "c1", &err), 0);
    assert_string_equal(back.nets[0].mac, r.vm.nets[0].mac);
    yv_vm_done(&back);
    free(disk);
    yv_vm_done(&src);
    yv_clone_result_done(&r);
}

static void expect_refusal(fixture *f, const char *src, const char *dst, yv_code code)
{
    yv_clone_result r;
    yv_err err;
    yv_clone_opts o = {.src = src, .dst = dst};
    assert_int_equal(yv_clone(f->root, &f->cfg, &o, &r, &err), -1);
    assert_int_equal(err.code, code);
    assert_null(r.generated_pw);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    make_vm(f, "a1", 47190);
    make_vm(f, "b1", 47192);
    expect_refusal(f, "a1", "b1", YV_E_VM_EXISTS);
    expect_refusal(f, "nosuch", "c1", YV_E_VM_NOT_FOUND);
    expect_refusal(f, "a1", "a1", YV_E_USAGE);
    expect_refusal(f, "a1", "../x", YV_E_INVALID_NAME);
    char *part = yv_root_part_dir(f->root, "c1"), *vm = yv_root_vm_dir(f->root, "c1");
    assert_false(yv_root_exists(part));
    assert_false(yv_root_exists(vm));
    free(part);
    free(vm);
}

static void test_linked_base(void **state)
{
    fixture *f = *state;
    yv_clone_result r;
    yv_err err;
    size_t n;
    make_vm(f, "l1", 47200);
    assert_int_equal(yv_linked_check_base(f->root, "l1", "x", &err), 0);
    yv_clone_opts o = {.src = "l1", .dst = "l2", .linked = true, .vnc_password = "Abcdefgh"};
    if (yv_clone(f->root, &f->cfg, &o, &r, &err) < 0) fail_msg("clone: %s", err.msg);
    assert_null(r.generated_pw); /* given, so not shown again */
    char *disk = yv_root_join(f->root, "l2.vm/hd0.qcow2"), *b = yv_storage_qcow2_backing(disk);
    assert_string_equal(b, "../l1.vm/hd0.qcow2");
    char **deps = yv_linked_dependents(f->root, "l1", &n);
    assert_int_equal(n, 1);
    assert_string_equal(deps[0], "l2");
    yv_root_free_names(deps, n);
    assert_int_equal(yv_linked_check_base(f->root, "l1", "it cannot be started", &err), -1);
    assert_int_equal(err.code, YV_E_IN_USE);
    assert_string_equal(err.msg, "VM 'l1' is the base of linked clone 'l2': it cannot be started "
                                 "(its disk must not change under them; delete them first)");
    /* the clone is no base itself */
    assert_int_equal(yv_linked_check_base(f->root, "l2", "x", &err), 0);
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "l1", false, &err), -1);
    assert_int_equal(err.code, YV_E_IN_USE);
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "l2", false, &err), 0);
    /* a stale mark: a scan, no refusal */
    assert_int_equal(yv_linked_check_base(f->root, "l1", "x", &err), 0);
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "l1", false, &err), 0);
    free(b);
    free(disk);
    yv_clone_result_done(&r);
}

/* Adds drive id, named path in its config, to stopped VM name. */
static void add_drive_path(fixture *f, const char *name, const char *id, const char *path,
                           yv_media media)
{
    yv_vm vm;
    yv_err err;
    char *dir = yv_root_vm_dir(f->root, name);
    assert_int_equal(yv_vm_load(&vm, f->root, name, &err), 0);
    yv_vm_add_drive(&vm, id, path, YV_DRIVE_IDE, media, -1);
    if (yv_vm_save(&vm, dir, &err) < 0) fail_msg("save: %s", err.msg);
    yv_vm_done(&vm);
    free(dir);
}

/* Writes n bytes of head to file in the root (a relative name) or anywhere (absolute). */
static void write_file(fixture *f, const char *file, const unsigned char *head, size_t n)
{
    char *path = file[0] == '/' ? yv_strdup(file) : yv_root_join(f->root, file);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(head, 1, n, fp), n);
    fclose(fp);
    free(path);
}

/* Adds drive id (file `file` in the VM's folder, bytes head) to stopped VM name. */
static void add_file_drive(fixture *f, const char *name, const char *id, const char *file,
                           yv_media media, const unsigned char *head, size_t n)
{
    char *rel = yv_asprintf("%s.vm/%s", name, file);
    write_file(f, rel, head, n);
    add_drive_path(f, name, id, file, media);
    free(rel);
}

/* A guest writes a qcow2 header naming another VM's file into its raw disk (and a cdrom image has
 * one): that VM is no linked clone of the other, which can still be started and deleted. */
static void test_forged_header_blocks_nobody(void **state)
{
    fixture *f = *state;
    yv_err err;
    size_t n;
    make_vm(f, "v1", 47210);
    make_vm(f, "g1", 47212);
    assert_int_equal(yv_linked_mark(f->root, "v1", NULL, &err), 0); /* a scan, not one stat */
    static const char name[] = "../v1.vm/config.yaml";
    unsigned char h[1024] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
    h[14] = 2;               /* backing name offset: 512 */
    h[19] = sizeof name - 1; /* its length */
    memcpy(h + 512, name, sizeof name - 1);
    add_file_drive(f, "g1", "hd9", "disk.img", YV_MEDIA_HD, h, sizeof h);
    add_file_drive(f, "g1", "cd9", "cd.qcow2", YV_MEDIA_CD, h, sizeof h);
    /* the same header in a drive QEMU opens as qcow2 does make it a dependent: the test's header
     * is one the scan reads */
    char *probe = yv_root_join(f->root, "g1.vm/cd.qcow2"), *b = yv_storage_qcow2_backing(probe);
    assert_string_equal(b, name);
    char **deps = yv_linked_dependents(f->root, "v1", &n);
    assert_int_equal(n, 0);
    free(deps);
    assert_int_equal(yv_linked_check_base(f->root, "v1", "it cannot be started", &err), 0);
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "v1", false, &err), 0);
    free(b);
    free(probe);
}

/* The clone's config names drive id so (a copy: a plain name), the file holding byte b. */
static void expect_copied(fixture *f, const yv_vm *vm, const char *id, const char *file, int b)
{
    char *rel = yv_asprintf("c5.vm/%s", file), *path = yv_root_join(f->root, rel);
    for (size_t i = 0; i < vm->ndrives; i++)
        if (!strcmp(vm->drives[i].id, id)) assert_string_equal(vm->drives[i].path, file);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_int_equal(fgetc(fp), b);
    fclose(fp);
    free(path);
    free(rel);
}

/* Drives into the source's folder however spelled are the folder's files: copied, never shared
 * with the clone; a subfolder (by any spelling) and a writable disk outside are refused, with
 * nothing made; a cdrom image outside is shared. */
static void test_drive_spellings(void **state)
{
    fixture *f = *state;
    yv_clone_result r;
    yv_err err;
    unsigned char b[4][512];
    for (int i = 0; i < 4; i++) memset(b[i], 'a' + i, sizeof b[i]);
    make_vm(f, "s5", 47220);
    char *dir = yv_root_vm_dir(f->root, "s5"), *link = yv_root_join(f->root, "lnk");
    assert_int_equal(symlink(dir, link), 0);
    char *p1 = yv_asprintf("%s//s5.vm/d1.img", f->root), *p2 = yv_asprintf("%s/./d2.img", dir);
    char *p3 = yv_asprintf("%s/d3.img", link);
    write_file(f, "s5.vm/d1.img", b[0], 512);
    write_file(f, "s5.vm/d2.img", b[1], 512);
    write_file(f, "s5.vm/d3.img", b[2], 512);
    write_file(f, "s5.vm/d4.img", b[3], 512);
    add_drive_path(f, "s5", "hd1", p1, YV_MEDIA_HD);
    add_drive_path(f, "s5", "hd2", p2, YV_MEDIA_HD);
    add_drive_path(f, "s5", "hd3", p3, YV_MEDIA_HD);
    add_drive_path(f, "s5", "hd4", "../s5.vm/d4.img", YV_MEDIA_HD);
    write_file(f, "shared.iso", b[0], 512);
    char *iso = yv_root_join(f->root, "shared.iso");
    add_drive_path(f, "s5", "cd1", iso, YV_MEDIA_CD);
    yv_clone_opts o = {.src = "s5", .dst = "c5", .vnc_password = "Abcdefgh"};
    if (yv_clone(f->root, &f->cfg, &o, &r, &err) < 0) fail_msg("clone: %s", err.msg);
    expect_copied(f, &r.vm, "hd1", "d1.img", 'a');
    expect_copied(f, &r.vm, "hd2", "d2.img", 'b');
    expect_copied(f, &r.vm, "hd3", "d3.img", 'c');
    expect_copied(f, &r.vm, "hd4", "d4.img", 'd');
    for (size_t i = 0; i < r.vm.ndrives; i++)
        if (!strcmp(r.vm.drives[i].id, "cd1")) assert_string_equal(r.vm.drives[i].path, iso);
    yv_clone_result_done(&r);
    /* a subfolder through the symlinked spelling; then a writable disk outside the folder */
    char *sub = yv_asprintf("%s/sub", dir), *p5 = yv_asprintf("%s/sub/d5.img", link);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(f, "s5.vm/sub/d5.img", b[0], 512);
    add_drive_path(f, "s5", "hd5", p5, YV_MEDIA_HD);
    expect_refusal(f, "s5", "c6", YV_E_USAGE);
    yv_clone_opts o6 = {.src = "s5", .dst = "c6"};
    assert_int_equal(yv_clone(f->root, &f->cfg, &o6, &r, &err), -1);
    assert_non_null(strstr(err.msg, "not a subfolder"));
    make_vm(f, "s7", 47230);
    add_drive_path(f, "s7", "hd6", iso, YV_MEDIA_HD);
    o6.src = "s7";
    assert_int_equal(yv_clone(f->root, &f->cfg, &o6, &r, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    assert_non_null(strstr(err.msg, "would share it, writable, with its source"));
    free(p5);
    free(sub);
    free(iso);
    free(p3);
    free(p2);
    free(p1);
    free(link);
    free(dir);
}

static void test_backing_header(void **state)
{
    fixture *f = *state;
    yv_err err;
    char *raw = yv_root_join(f->root, "r.img"), *q = yv_root_join(f->root, "q.qcow2");
    FILE *fp = fopen(raw, "w");
    fputs("QFI", fp); /* too short for a header */
    fclose(fp);
    assert_null(yv_storage_qcow2_backing(raw));
    assert_int_equal(yv_storage_create(&f->cfg, q, 1, NULL, &err), 0);
    assert_null(yv_storage_qcow2_backing(q));
    char *ov = yv_root_join(f->root, "o.qcow2"), *b;
    assert_int_equal(yv_storage_overlay(&f->cfg, q, q, ov, 0, NULL, &err), 0);
    assert_string_equal(b = yv_storage_qcow2_backing(ov), q);
    free(b);
    /* a raw copy stays raw */
    char *raw2 = yv_root_join(f->root, "r2.img");
    assert_int_equal(yv_storage_clone_file(&f->cfg, raw, raw2, "raw", false, NULL, &err), 0);
    yv_storage_info info;
    assert_int_equal(yv_storage_info_of(&f->cfg, raw2, &info, &err), 0);
    assert_string_equal(info.format, "raw");
    free(raw2);
    free(ov);
    free(q);
    free(raw);
}

static void test_clone_user_data(void **state)
{
    (void)state;
    char *ud;
    yv_err err;
    assert_int_equal(yv_cloudinit_clone_user_data("web-2", &ud, &err), 0);
    assert_string_equal(ud, "#cloud-config\nhostname: web-2\ndisable_root: false\n"
                            "ssh_pwauth: true\nruncmd:\n- - rm\n  - -f\n  - /etc/machine-id\n"
                            "  - /var/lib/dbus/machine-id\n- - systemd-machine-id-setup\n");
    free(ud);
}

static void test_pick_mac_records(void **state)
{
    (void)state;
    yv_ops_used u = {0};
    char a[18], b[18], c[18];
    yv_ops_used_pick_mac(&u, "vm", a);
    yv_ops_used_pick_mac(&u, "vm", b);
    assert_string_not_equal(a, b); /* a VM with two networks: two MACs */
    yv_vm_mac_for("vm", 0, c);
    assert_string_equal(a, c);
    assert_int_equal(u.nmacs, 2);
    for (size_t i = 0; i < u.nmacs; i++) free(u.macs[i]);
    free(u.macs);
}

/* A linked clone whose config does not read is not seen as one: its base (marked) is then held
 * as if it were, with a message naming the unreadable VM; once that one reads again, it is seen. */
static void test_unreadable_maybe_dependent(void **state)
{
    fixture *f = *state;
    yv_clone_result r;
    yv_err err;
    make_vm(f, "u1", 47250);
    yv_clone_opts o = {.src = "u1", .dst = "u2", .linked = true, .vnc_password = "Abcdefgh"};
    if (yv_clone(f->root, &f->cfg, &o, &r, &err) < 0) fail_msg("clone: %s", err.msg);
    yv_clone_result_done(&r);
    char *cfg = yv_root_join(f->root, "u2.vm/config.yaml"), *saved = yv_root_join(f->root, "keep");
    assert_int_equal(rename(cfg, saved), 0);
    write_file(f, "u2.vm/config.yaml", (const unsigned char *)"{[", 2);
    assert_int_equal(yv_linked_check_base(f->root, "u1", "it cannot be started", &err), -1);
    assert_int_equal(err.code, YV_E_IN_USE);
    assert_string_equal(err.msg, "VM 'u1' was the base of a linked clone and the config of VM 'u2' "
                                 "cannot be read (it may be one of its linked clones): it cannot "
                                 "be started (fix or delete 'u2' first)");
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "u1", false, &err), -1);
    assert_int_equal(err.code, YV_E_IN_USE);
    /* an unmarked VM is no base: a broken config elsewhere costs it nothing */
    make_vm(f, "u3", 47252);
    assert_int_equal(yv_linked_check_base(f->root, "u3", "x", &err), 0);
    assert_int_equal(rename(saved, cfg), 0);
    assert_int_equal(yv_linked_check_base(f->root, "u1", "it cannot be started", &err), -1);
    assert_non_null(strstr(err.msg, "is the base of linked clone 'u2'"));
    free(saved);
    free(cfg);
}

/* A create or clone under way (its config in its .part folder) holds its MAC: a second one picks
 * another, even for the same name's first MAC. */
static void test_part_mac_taken(void **state)
{
    fixture *f = *state;
    char mac[18], first[18];
    make_vm(f, "pm", 47240);
    char *vm = yv_root_vm_dir(f->root, "pm"), *part = yv_root_part_dir(f->root, "pm");
    assert_int_equal(rename(vm, part), 0); /* as a create of pm under way has it */
    yv_vm_mac_for("pm", 0, first);
    yv_ops_pick_mac(f->root, "pm", mac);
    assert_string_not_equal(mac, first);
    free(part);
    free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_refusals, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_linked_base, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_forged_header_blocks_nobody, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_drive_spellings, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_backing_header, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_part_mac_taken, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_unreadable_maybe_dependent, setup, ut_teardown_root),
        cmocka_unit_test(test_clone_user_data),
        cmocka_unit_test(test_pick_mac_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
