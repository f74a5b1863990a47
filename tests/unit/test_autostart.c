/* Unit tests of core/autostart.c: autostart.yaml (spec §13), marking and unmarking under the lock.
 */
#include "unit.h"

#include "core/autostart.h"

static void test_load_forms(void **state)
{
    (void)state;
    static const char *const empty[] = {"", "vms:\n", "vms: []\n", "vms: ~\n"};
    yv_strlist l;
    yv_err err;
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        if (yv_autostart_load_string(&l, "t", empty[i], &err) < 0) fail_msg("%s", err.msg);
        assert_int_equal(l.n, 0);
        yv_strlist_free(&l);
    }
    assert_int_equal(yv_autostart_load_string(&l, "t", "vms:\n- web1\n- db\n", &err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0], "web1");
    assert_string_equal(l.v[1], "db");
    assert_true(yv_autostart_has(&l, "db"));
    assert_false(yv_autostart_has(&l, "web"));
    yv_strlist_free(&l);
}

static void test_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"vms: web1\n", "t:1:6: vms must be a list of VM names"},
        {"vms:\n- ok\n- ../x\n", "t:3:3: items of vms must name a VM"},
        {"vms:\n- [a]\n", "t:2:3: items of vms must name a VM"},
        {"vms: [a, b, a]\n", "t:1:13: vms lists 'a' twice"},
        {"vm: [a]\n", "t:1:1"},
        {"vms: [a\n", "t:"},
        {"- a\n", "t:1:1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        yv_strlist l;
        yv_err err;
        assert_int_equal(yv_autostart_load_string(&l, "t", bad[i].text, &err), -1);
        assert_int_equal(err.code, YV_E_CONFIG_INVALID);
        ut_assert_contains(err.msg, bad[i].want);
        assert_null(l.v);
        assert_int_equal(l.n, 0);
    }
}

static void test_to_yaml_quoted_round_trip(void **state)
{
    (void)state;
    yv_strlist l = {0}, back;
    yv_err err;
    char *text;
    size_t len;
    assert_true(yv_autostart_add(&l, "web1"));
    assert_true(yv_autostart_add(&l, "yes"));
    assert_false(yv_autostart_add(&l, "web1"));
    assert_int_equal(yv_autostart_to_yaml(&l, &text, &len, &err), 0);
    assert_string_equal(text, "vms:\n- web1\n- 'yes'\n");
    assert_int_equal(yv_autostart_load_string(&back, "t", text, &err), 0);
    assert_int_equal(back.n, 2);
    assert_string_equal(back.v[1], "yes");
    assert_true(yv_autostart_remove(&l, "web1"));
    assert_false(yv_autostart_remove(&l, "web1"));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0], "yes");
    free(text);
    yv_strlist_free(&back);
    yv_strlist_free(&l);
}

static void test_set_in_root(void **state)
{
    char *root = *state;
    yv_strlist l;
    yv_err err;
    ut_mkdir(root, "run"); /* the root lock's home */
    ut_mkdir(root, "a.vm");
    ut_mkdir(root, "b.vm");
    assert_int_equal(yv_autostart_names(root, &l, &err), 0); /* no file: none marked */
    assert_int_equal(l.n, 0);
    assert_int_equal(yv_autostart_set(root, "nope", true, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    assert_false(ut_exists(root, "autostart.yaml"));
    assert_int_equal(yv_autostart_set(root, "../a", true, &err), -1);
    assert_int_equal(err.code, YV_E_INVALID_NAME);
    assert_int_equal(yv_autostart_set(root, "b", true, &err), 0);
    assert_int_equal(yv_autostart_set(root, "a", true, &err), 0);
    assert_int_equal(yv_autostart_set(root, "a", true, &err), 0);
    char *text = ut_read(root, "autostart.yaml");
    assert_string_equal(text, "vms:\n- b\n- a\n");
    free(text);
    assert_int_equal(yv_autostart_set(root, "b", false, &err), 0);
    assert_int_equal(yv_autostart_set(root, "gone", false, &err), 0); /* off needs no VM */
    text = ut_read(root, "autostart.yaml");
    assert_string_equal(text, "vms:\n- a\n");
    free(text);
}

/* A broken file is an error naming it and its line, and nothing is written over it. */
static void test_broken_file_unchanged(void **state)
{
    char *root = *state;
    yv_err err;
    ut_mkdir(root, "run");
    ut_mkdir(root, "a.vm");
    ut_write(root, "autostart.yaml", "vms:\n- a\n- {x: 1}\n");
    assert_int_equal(yv_autostart_set(root, "a", false, &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    char *want = yv_asprintf("%s/autostart.yaml:3:3: items of vms must name a VM", root);
    ut_assert_contains(err.msg, want);
    free(want);
    char *text = ut_read(root, "autostart.yaml");
    assert_string_equal(text, "vms:\n- a\n- {x: 1}\n");
    free(text);
}

/* autostart.yaml as a symlink is never read through (nor written through: the write replaces it).
 */
static void test_symlink_not_followed(void **state)
{
    char *root = *state;
    yv_strlist l;
    yv_err err;
    ut_mkdir(root, "run");
    ut_write(root, "elsewhere.yaml", "vms: [a]\n");
    char *link = yv_root_join(root, "autostart.yaml");
    assert_int_equal(symlink("elsewhere.yaml", link), 0);
    assert_int_equal(yv_autostart_names(root, &l, &err), -1);
    assert_int_not_equal(err.code, YV_OK);
    free(link);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_forms),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_to_yaml_quoted_round_trip),
        cmocka_unit_test_setup_teardown(test_set_in_root, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_broken_file_unchanged, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_symlink_not_followed, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("autostart", tests, NULL, NULL);
}
