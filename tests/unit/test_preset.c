/* Unit tests of core/preset.c: <root>/<preset>.preset/config.yaml (spec §4). */
#include "unit.h"

#include "core/install.h"
#include "core/preset.h"

static void make_preset(const char *root, const char *name, const char *text)
{
    char *dir = yv_asprintf("%s.preset", name);
    char *file = yv_asprintf("%s.preset/config.yaml", name);
    ut_mkdir(root, dir);
    ut_write(root, file, text);
    free(file);
    free(dir);
}

static void test_name_forms(void **state)
{
    char *root = *state;
    make_preset(root, "noble", "cloudimg: images/noble.img\n");
    char *want = yv_asprintf("%s/noble.preset/images/noble.img", root);
    static const char *const forms[] = {"noble", "noble.preset"};
    for (size_t i = 0; i < 2; i++) {
        yv_preset p;
        yv_err err;
        if (yv_preset_load(&p, root, forms[i], &err) < 0) fail_msg("%s: %s", forms[i], err.msg);
        assert_string_equal(p.name, "noble");
        /* relative = relative to the preset folder */
        assert_string_equal(p.cloudimg, want);
        yv_preset_done(&p);
        assert_null(p.name);
        assert_null(p.cloudimg);
    }
    free(want);
}

static void test_absolute_cloudimg(void **state)
{
    char *root = *state;
    make_preset(root, "abs", "# a comment\ncloudimg: /srv/images/x.qcow2\n");
    yv_preset p;
    yv_err err;
    assert_int_equal(yv_preset_load(&p, root, "abs", &err), 0);
    assert_string_equal(p.cloudimg, "/srv/images/x.qcow2");
    yv_preset_done(&p);
}

static void test_missing(void **state)
{
    char *root = *state;
    yv_preset p;
    yv_err err;
    assert_int_equal(yv_preset_load(&p, root, "nope", &err), -1);
    assert_int_equal(err.code, YV_E_PRESET_NOT_FOUND);
    char *want =
        yv_asprintf("preset 'nope' not found (looked for %s/nope.preset/config.yaml)", root);
    assert_string_equal(err.msg, want);
    free(want);
    assert_null(p.name);

    assert_int_equal(yv_preset_load(&p, root, "nope.preset", &err), -1);
    assert_int_equal(err.code, YV_E_PRESET_NOT_FOUND);
    ut_assert_contains(err.msg, "preset 'nope.preset' not found");

    /* a folder without config.yaml is not a preset either */
    ut_mkdir(root, "bare.preset");
    assert_int_equal(yv_preset_load(&p, root, "bare", &err), -1);
    assert_int_equal(err.code, YV_E_PRESET_NOT_FOUND);
}

static void test_hostile_names(void **state)
{
    char *root = *state;
    static const char *const bad[] = {"../x", "a/b", "", ".preset", "..preset", "-x", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        yv_preset p;
        yv_err err;
        if (yv_preset_load(&p, root, bad[i], &err) != -1) fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(err.code, YV_E_PRESET_NOT_FOUND);
        char *want = yv_asprintf("invalid preset name '%s'", bad[i]);
        assert_string_equal(err.msg, want);
        free(want);
    }
}

static void test_broken(void **state)
{
    char *root = *state;
    yv_preset p;
    yv_err err;
    make_preset(root, "bad", "cloudimg: x.img\nuser: root\n");
    assert_int_equal(yv_preset_load(&p, root, "bad", &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    char *want = yv_asprintf("%s/bad.preset/config.yaml:2:1: unknown key 'user' in the file "
                             "(known: cloudimg)",
                             root);
    assert_string_equal(err.msg, want);
    free(want);
    assert_null(p.name);
    assert_null(p.cloudimg);

    make_preset(root, "empty", "\n");
    assert_int_equal(yv_preset_load(&p, root, "empty", &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    ut_assert_contains(err.msg, "config.yaml:1:1: cloudimg is missing");
}

static void test_load_string(void **state)
{
    (void)state;
    yv_preset p;
    yv_err err;
    assert_int_equal(
        yv_preset_load_string(&p, "p.yaml", "cloudimg: a b.img\n", "/pr/x.preset", &err), 0);
    assert_string_equal(p.cloudimg, "/pr/x.preset/a b.img");
    assert_null(p.name);
    yv_preset_done(&p);

    assert_int_equal(yv_preset_load_string(&p, "p.yaml", "cloudimg: ''\n", "/d", &err), -1);
    assert_string_equal(err.msg, "p.yaml:1:1: cloudimg is empty");
    assert_int_equal(yv_preset_load_string(&p, "p.yaml", "cloudimg:\n", "/d", &err), -1);
    assert_string_equal(err.msg, "p.yaml:1:1: cloudimg is missing");
    assert_int_equal(yv_preset_load_string(&p, "p.yaml", "cloudimg: [a]\n", "/d", &err), -1);
    assert_string_equal(err.msg, "p.yaml:1:11: cloudimg must be a string");
    assert_null(p.cloudimg);
}

/* The guest console's last line goes to a terminal and into JSON progress: ANSI escapes dropped,
 * C1 controls and broken UTF-8 (a character cut by the line's limit) escaped, never raw. */
static void test_console_last_line_is_safe(void **state)
{
    const char *dir = *state;
    char out[16], big[64];
    ut_write(dir, "s1.log",
             "boot\r\n\x1b[1;32m[  OK  ]\x1b[0m Started \xc2\x9b"
             "2J x.\r\n\r\n");
    char *path = yv_root_join(dir, "s1.log");
    yv_install_last_line(path, big, sizeof big);
    assert_string_equal(big, "[  OK  ] Started \\xc2\\x9b2J x.");
    free(path);
    /* "abcdefghijklmn" then é (2 bytes): a 16-byte buffer holds 15; the é must not be cut raw */
    ut_write(dir, "s2.log", "abcdefghijklm\xc3\xa9z\n");
    path = yv_root_join(dir, "s2.log");
    yv_install_last_line(path, out, sizeof out);
    assert_string_equal(out, "abcdefghijklm\xc3\xa9");
    yv_install_last_line(path, out, 15);
    assert_string_equal(out, "abcdefghijklm");
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_name_forms, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_absolute_cloudimg, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_missing, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_hostile_names, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_broken, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_load_string),
        cmocka_unit_test_setup_teardown(test_console_last_line_is_safe, ut_setup_tmp,
                                        ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("preset", tests, NULL, NULL);
}
