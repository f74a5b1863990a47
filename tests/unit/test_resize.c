/* Unit tests of core/resize.c: a stopped VM's disk grown with the real qemu-img; the refusals
 * (shrink, the same size, a drive it lacks, a cdrom, no such VM, a start under way) change
 * nothing. The running case needs a QEMU: tests/integration/test-resize.sh. */
#include "unit.h"

#include <sys/file.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/resize.h"
#include "core/root.h"
#include "core/storage.h"
#include "core/vm.h"
#include "core/vmstate.h"

#define MIB (1024ULL * 1024ULL)

typedef ut_root fixture;

/* VM "vm": hd0 a 2 MiB qcow2 (an overlay on base.qcow2 when overlay), hd1 a cdrom. */
static char *make_vm(fixture *f, bool overlay)
{
    yv_err err;
    assert_int_equal(yv_root_ensure(f->root, &err), 0);
    char *dir = yv_root_vm_dir(f->root, "vm"), *disk = yv_root_join(dir, "disk.qcow2");
    assert_int_equal(mkdir(dir, 0700), 0);
    if (overlay) {
        char *base = yv_root_join(dir, "base.qcow2");
        assert_int_equal(yv_storage_create(&f->cfg, base, 2, NULL, &err), 0);
        assert_int_equal(yv_storage_overlay(&f->cfg, base, "base.qcow2", disk, 0, NULL, &err), 0);
        free(base);
    } else {
        assert_int_equal(yv_storage_create(&f->cfg, disk, 2, NULL, &err), 0);
    }
    yv_vm vm = {.name = yv_strdup("vm"), .memory = 64, .vcpu = 1};
    yv_vm_add_drive(&vm, "hd0", "disk.qcow2", YV_DRIVE_VIRTIO_BLK, YV_MEDIA_HD, 0);
    yv_vm_add_drive(&vm, "hd1", "cd.iso", YV_DRIVE_IDE, YV_MEDIA_CD, -1);
    assert_int_equal(yv_vm_save(&vm, dir, &err), 0);
    yv_vm_done(&vm);
    free(dir);
    return disk;
}

static uint64_t size_of(fixture *f, const char *path)
{
    yv_err err;
    yv_storage_info info;
    assert_int_equal(yv_storage_info_of(&f->cfg, path, &info, &err), 0);
    return info.virtual_size;
}

static void test_grow(void **state)
{
    fixture *f = *state;
    yv_err err;
    yv_resize_result r;
    char *disk = make_vm(f, false);
    assert_int_equal(yv_resize(f->root, &f->cfg, "vm", NULL, 5, &r, &err), 0);
    assert_string_equal(r.drive, "hd0");
    assert_int_equal(r.old_mib, 2);
    assert_int_equal(r.new_mib, 5);
    assert_false(r.live);
    assert_int_equal(size_of(f, disk), 5 * MIB);
    assert_int_equal(yv_resize(f->root, &f->cfg, "vm", "hd0", 6, &r, &err), 0);
    assert_int_equal(size_of(f, disk), 6 * MIB);
    free(disk);
}

static void refused(fixture *f, const char *drive, long mib, yv_code code, const char *msg)
{
    yv_err err;
    yv_resize_result r;
    assert_int_equal(yv_resize(f->root, &f->cfg, "vm", drive, mib, &r, &err), -1);
    assert_int_equal(err.code, code);
    ut_assert_contains(err.msg, msg);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    yv_err err;
    yv_resize_result r;
    char *disk = make_vm(f, false);
    refused(f, NULL, 1, YV_E_USAGE, "never shrunk");
    refused(f, NULL, 2, YV_E_USAGE, "not larger than drive hd0 of VM 'vm' (2 MiB)");
    refused(f, "hd7", 9, YV_E_USAGE, "VM 'vm' has no drive hd7");
    refused(f, "hd1", 9, YV_E_USAGE, "is a cdrom");
    refused(f, "hd0", 0, YV_E_USAGE, "capacity");
    assert_int_equal(size_of(f, disk), 2 * MIB);
    assert_int_equal(yv_resize(f->root, &f->cfg, "nope", NULL, 9, &r, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    assert_int_equal(yv_resize(f->root, &f->cfg, "../x", NULL, 9, &r, &err), -1);
    assert_int_equal(err.code, YV_E_INVALID_NAME);
    /* a `run` starting the VM holds its start mark (flock: another open of it conflicts, in this
     * process too): refused, the disk as it was */
    int mark = yv_vmstate_start_begin(f->root, "vm", &err);
    assert_true(mark >= 0);
    refused(f, NULL, 9, YV_E_VM_RUNNING, "VM 'vm' is being started");
    yv_vmstate_start_end(f->root, "vm", mark);
    assert_int_equal(size_of(f, disk), 2 * MIB);
    free(disk);
}

static void test_overlay(void **state)
{
    fixture *f = *state;
    yv_err err;
    yv_resize_result r;
    char *disk = make_vm(f, true), *dir = yv_root_vm_dir(f->root, "vm");
    char *base = yv_root_join(dir, "base.qcow2");
    assert_int_equal(yv_resize(f->root, &f->cfg, "vm", NULL, 4, &r, &err), 0);
    assert_int_equal(r.new_mib, 4);
    assert_int_equal(size_of(f, disk), 4 * MIB);
    assert_int_equal(size_of(f, base), 2 * MIB); /* the base is shared: untouched */
    free(base);
    free(dir);
    free(disk);
}

static void test_parse_mib(void **state)
{
    (void)state;
    yv_err err;
    long mib = 0;
    assert_int_equal(yv_resize_parse_mib("2048", &mib, &err), 0);
    assert_int_equal(mib, 2048);
    assert_int_equal(yv_resize_parse_mib("0", &mib, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    assert_int_equal(yv_resize_parse_mib("10G", &mib, &err), -1);
    assert_int_equal(yv_resize_parse_mib("-5", &mib, &err), -1);
    assert_int_equal(yv_resize_parse_mib(NULL, &mib, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grow, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_refusals, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_overlay, ut_setup_root, ut_teardown_root),
        cmocka_unit_test(test_parse_mib),
    };
    return cmocka_run_group_tests_name("resize", tests, NULL, NULL);
}
