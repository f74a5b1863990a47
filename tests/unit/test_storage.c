/* Unit tests of core/storage.c: disks through the real qemu-img. */
#include "unit.h"

#include <sys/stat.h>

#include "core/config.h"
#include "core/proc.h"
#include "core/storage.h"

#define MIB (1024ULL * 1024ULL)

typedef ut_root fixture;

static char *path_of(fixture *f, const char *rel)
{
    return yv_root_join(f->root, rel);
}

static void test_create_and_info(void **state)
{
    fixture *f = *state;
    yv_err err;
    char *p = path_of(f, "a disk, with comma.qcow2");
    assert_int_equal(yv_storage_create(&f->cfg, p, 3, NULL, &err), 0);
    assert_int_equal(yv_storage_qcow2_size(p), 3 * MIB);
    yv_storage_info info;
    assert_int_equal(yv_storage_info_of(&f->cfg, p, &info, &err), 0);
    assert_string_equal(info.format, "qcow2");
    assert_int_equal(info.virtual_size, 3 * MIB);
    free(p);
    /* a name that looks like an option is still a file name */
    p = path_of(f, "-o.qcow2");
    assert_int_equal(yv_storage_create(&f->cfg, p, 1, NULL, &err), 0);
    assert_int_equal(yv_storage_qcow2_size(p), MIB);
    free(p);
}

static void test_info_of_raw_and_missing(void **state)
{
    fixture *f = *state;
    yv_err err;
    char *p = path_of(f, "raw.img");
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(2 * MIB)), 0);
    close(fd);
    yv_storage_info info;
    assert_int_equal(yv_storage_info_of(&f->cfg, p, &info, &err), 0);
    assert_string_equal(info.format, "raw");
    assert_int_equal(info.virtual_size, 2 * MIB);
    assert_int_equal(yv_storage_qcow2_size(p), 0);
    free(p);
    p = path_of(f, "missing.qcow2");
    assert_int_equal(yv_storage_info_of(&f->cfg, p, &info, &err), -1);
    assert_int_equal(err.code, YV_E_TOOL_FAILED);
    ut_assert_contains(err.msg, "qemu-img failed (exit 1): ");
    assert_int_equal(yv_storage_qcow2_size(p), 0);
    free(p);
    /* a FIFO named as the disk: 0 at once (a blocking open would wait for a writer forever) */
    p = path_of(f, "fifo.qcow2");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(yv_storage_qcow2_size(p), 0);
    free(p);
}

static void test_copy(void **state)
{
    fixture *f = *state;
    yv_err err;
    char *raw = path_of(f, "base.img");
    int fd = open(raw, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(2 * MIB)), 0);
    assert_int_equal(pwrite(fd, "DATA", 4, 1000), 4);
    close(fd);
    /* a raw base becomes a qcow2 copy of the same size */
    char *c1 = path_of(f, "c1.qcow2");
    assert_int_equal(yv_storage_copy(&f->cfg, raw, c1, 0, NULL, &err), 0);
    yv_storage_info info;
    assert_int_equal(yv_storage_info_of(&f->cfg, c1, &info, &err), 0);
    assert_string_equal(info.format, "qcow2");
    assert_int_equal(info.virtual_size, 2 * MIB);
    /* grown on request */
    char *c2 = path_of(f, "c2.qcow2");
    assert_int_equal(yv_storage_copy(&f->cfg, raw, c2, 8, NULL, &err), 0);
    assert_int_equal(yv_storage_qcow2_size(c2), 8 * MIB);
    /* the same size is not a resize */
    char *c3 = path_of(f, "c3.qcow2");
    assert_int_equal(yv_storage_copy(&f->cfg, raw, c3, 2, NULL, &err), 0);
    assert_int_equal(yv_storage_qcow2_size(c3), 2 * MIB);
    /* never shrunk, and nothing is written */
    char *c4 = path_of(f, "c4.qcow2");
    assert_int_equal(yv_storage_copy(&f->cfg, raw, c4, 1, NULL, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    assert_string_equal(err.msg, "capacity 1 MiB is smaller than the base image (2 MiB); disks are "
                                 "never shrunk");
    assert_false(yv_root_exists(c4));
    /* the data came along: convert the copy back to raw and look */
    char *back = path_of(f, "back.raw");
    char *argv[] = {"qemu-img", "convert", "-f", "qcow2", "-O", "raw", c1, back, NULL};
    assert_int_equal(yv_proc_run(argv, NULL, NULL, &err), 0);
    char buf[4];
    fd = open(back, O_RDONLY);
    assert_int_equal(pread(fd, buf, 4, 1000), 4);
    close(fd);
    assert_memory_equal(buf, "DATA", 4);
    free(back);
    free(c4);
    free(c3);
    free(c2);
    free(c1);
    free(raw);
}

static void test_overlay(void **state)
{
    fixture *f = *state;
    yv_err err;
    char *base = path_of(f, "base.qcow2");
    assert_int_equal(yv_storage_create(&f->cfg, base, 2, NULL, &err), 0);
    ut_mkdir(f->root, "vm.vm");
    char *ov = path_of(f, "vm.vm/hd0.qcow2");
    assert_int_equal(yv_storage_overlay(&f->cfg, base, "../base.qcow2", ov, 0, NULL, &err), 0);
    assert_int_equal(yv_storage_qcow2_size(ov), 2 * MIB);
    char *argv[] = {"qemu-img", "info", "--output=json", ov, NULL};
    char *out;
    assert_int_equal(yv_proc_run_output(argv, NULL, NULL, &out, &err), 0);
    ut_assert_contains(out, "\"backing-filename\": \"../base.qcow2\"");
    ut_assert_contains(out, "\"backing-filename-format\": \"qcow2\"");
    free(out);
    char *ov2 = path_of(f, "vm.vm/hd1.qcow2");
    assert_int_equal(yv_storage_overlay(&f->cfg, base, base, ov2, 6, NULL, &err), 0);
    assert_int_equal(yv_storage_qcow2_size(ov2), 6 * MIB);
    char *ov3 = path_of(f, "vm.vm/hd2.qcow2");
    assert_int_equal(yv_storage_overlay(&f->cfg, base, base, ov3, 1, NULL, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    assert_false(yv_root_exists(ov3));
    free(ov3);
    free(ov2);
    free(ov);
    free(base);
}

static void test_tool_missing(void **state)
{
    fixture *f = *state;
    yv_err err;
    f->cfg.cli_img = yv_strdup("/nonexistent/qemu-img");
    char *p = path_of(f, "x.qcow2");
    assert_int_equal(yv_storage_create(&f->cfg, p, 1, NULL, &err), -1);
    assert_int_equal(err.code, YV_E_TOOL_FAILED);
    assert_string_equal(err.msg, "/nonexistent/qemu-img: program not found (install it or set its "
                                 "path in config.yaml)");
    assert_false(yv_root_exists(p));
    free(p);
}

static void test_qcow2_size_header(void **state)
{
    fixture *f = *state;
    /* a hand-made header: magic, then the size big-endian at offset 24 */
    unsigned char h[32] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
    h[24 + 3] = 0x01; /* 2^32 */
    h[31] = 0x05;
    char *p = path_of(f, "h.qcow2");
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    assert_int_equal(write(fd, h, sizeof h), (ssize_t)sizeof h);
    close(fd);
    assert_int_equal(yv_storage_qcow2_size(p), (1ULL << 32) + 5);
    /* a short file is not a qcow2 */
    fd = open(p, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, h, 20), 20);
    close(fd);
    assert_int_equal(yv_storage_qcow2_size(p), 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_info, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_info_of_raw_and_missing, ut_setup_root,
                                        ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_copy, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_overlay, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_tool_missing, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_qcow2_size_header, ut_setup_root, ut_teardown_root),
    };
    return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
