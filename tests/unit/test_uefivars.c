/* Unit tests of core/uefivars.c with the real qemu-img: the store made from the template (qcow2,
 * the template's size, private), a raw store of before converted (the same bytes) and removed,
 * what a killed conversion left settled (a temp file; a raw store beside the qcow2 one), a store
 * that is a symbolic link refused with nothing removed, a missing template refused. */
#include "unit.h"

#include <sys/stat.h>

#include "core/config.h"
#include "core/root.h"
#include "core/storage.h"
#include "core/uefivars.h"

typedef ut_root fixture;

static char *vm_dir(fixture *f)
{
    char *dir = yv_root_join(f->root, "v.vm");
    assert_int_equal(mkdir(dir, 0700), 0);
    return dir;
}

static void put(const char *dir, const char *name, const char *data, size_t len)
{
    char *p = yv_root_join(dir, name);
    yv_err e;
    assert_int_equal(yv_root_write_atomic(p, data, len, 0600, &e), 0);
    free(p);
}

static bool there(const char *dir, const char *name)
{
    char *p = yv_root_join(dir, name);
    bool b = yv_root_exists(p);
    free(p);
    return b;
}

static uint64_t qcow2_size(const char *dir)
{
    char *p = yv_root_join(dir, YV_UEFIVARS_FILE);
    uint64_t n = yv_storage_qcow2_size(p);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(p);
    return n;
}

static void test_made_from_template(void **state)
{
    fixture *f = *state;
    yv_err err;
    bool made, migrated;
    char *dir = vm_dir(f), tmpl[64 * 1024];
    memset(tmpl, 0x5a, sizeof tmpl);
    put(f->root, "tmpl.fd", tmpl, sizeof tmpl);
    free(f->cfg.ovmf_vars);
    f->cfg.ovmf_vars = yv_root_join(f->root, "tmpl.fd");
    assert_int_equal(yv_uefivars_ensure(&f->cfg, dir, &made, &migrated, &err), 0);
    assert_true(made && !migrated);
    assert_int_equal(qcow2_size(dir), sizeof tmpl);
    assert_int_equal(yv_uefivars_ensure(&f->cfg, dir, &made, &migrated, &err), 0);
    assert_false(made || migrated); /* there: nothing to do */
    free(f->cfg.ovmf_vars);
    f->cfg.ovmf_vars = yv_root_join(f->root, "nosuch.fd");
    char *p = yv_root_join(dir, YV_UEFIVARS_FILE);
    unlink(p);
    assert_int_equal(yv_uefivars_ensure(&f->cfg, dir, &made, &migrated, &err), -1);
    ut_assert_contains(err.msg, "template (ovmf.vars)");
    assert_false(there(dir, YV_UEFIVARS_FILE) || there(dir, YV_UEFIVARS_TMP));
    free(p);
    free(dir);
}

static void test_raw_converted_and_leftovers_settled(void **state)
{
    fixture *f = *state;
    yv_err err;
    bool made, migrated;
    char *dir = vm_dir(f), raw[128 * 1024];
    memset(raw, 0x11, sizeof raw);
    put(dir, YV_UEFIVARS_RAW, raw, sizeof raw);
    put(dir, YV_UEFIVARS_TMP, "half", 4); /* a conversion killed halfway */
    assert_int_equal(yv_uefivars_ensure(&f->cfg, dir, &made, &migrated, &err), 0);
    assert_true(migrated && !made);
    assert_false(there(dir, YV_UEFIVARS_RAW) || there(dir, YV_UEFIVARS_TMP));
    assert_int_equal(qcow2_size(dir), sizeof raw);
    put(dir, YV_UEFIVARS_RAW, raw, sizeof raw); /* killed after the rename */
    assert_int_equal(yv_uefivars_ensure(&f->cfg, dir, &made, &migrated, &err), 0);
    assert_false(made || migrated);
    assert_false(there(dir, YV_UEFIVARS_RAW));
    assert_true(there(dir, YV_UEFIVARS_FILE));
    free(dir);
}

static void test_symlink_refused(void **state)
{
    fixture *f = *state;
    yv_err err;
    bool made, migrated;
    char *dir = vm_dir(f), *link = yv_root_join(dir, YV_UEFIVARS_FILE),
         *target = yv_root_join(f->root, "elsewhere");
    put(f->root, "elsewhere", "x", 1);
    put(dir, YV_UEFIVARS_RAW, "raw", 3);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(yv_uefivars_ensure(&f->cfg, dir, &made, &migrated, &err), -1);
    assert_int_equal(err.code, YV_E_PERMISSION);
    assert_true(there(dir, YV_UEFIVARS_RAW)); /* nothing removed */
    free(link);
    free(target);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_made_from_template, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_raw_converted_and_leftovers_settled, ut_setup_root,
                                        ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_symlink_refused, ut_setup_root, ut_teardown_root),
    };
    return cmocka_run_group_tests_name("uefivars", tests, NULL, NULL);
}
