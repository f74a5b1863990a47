/* Unit tests of core/err.c: error values, exit statuses and JSON codes (spec §8). */
#include "unit.h"

static void test_set_and_clear(void **state)
{
    (void)state;
    yv_err err;
    assert_int_equal(yv_err_set(&err, YV_E_VM_NOT_FOUND, "no VM named '%s' (%d)", "x", 3), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    assert_string_equal(err.msg, "no VM named 'x' (3)");
    yv_err_clear(&err);
    assert_int_equal(err.code, YV_OK);
    assert_string_equal(err.msg, "");
    /* a NULL err is allowed everywhere */
    assert_int_equal(yv_err_set(NULL, YV_E_IO, "x"), -1);
    assert_int_equal(yv_err_sys(NULL, YV_E_IO, ENOENT, "x"), -1);
    assert_int_equal(yv_err_prefix(NULL, "x"), -1);
    yv_err_clear(NULL);
}

static void test_sys_and_prefix(void **state)
{
    (void)state;
    yv_err err;
    assert_int_equal(yv_err_sys(&err, YV_E_IO, ENOENT, "cannot read %s", "/x"), -1);
    assert_int_equal(err.code, YV_E_IO);
    assert_string_equal(err.msg, "cannot read /x: No such file or directory");
    assert_int_equal(yv_err_prefix(&err, "VM '%s'", "a"), -1);
    assert_int_equal(err.code, YV_E_IO);
    assert_string_equal(err.msg, "VM 'a': cannot read /x: No such file or directory");
}

static void test_long_messages_truncate(void **state)
{
    (void)state;
    yv_err err;
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    yv_err_set(&err, YV_E_FAIL, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    yv_err_sys(&err, YV_E_FAIL, EIO, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    yv_err_prefix(&err, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

static void test_codes(void **state)
{
    (void)state;
    static const struct {
        yv_code code;
        int status;
        const char *name;
    } t[] = {
        {YV_OK, 0, "OK"},
        {YV_E_FAIL, 1, "FAILED"},
        {YV_E_USAGE, 2, "USAGE"},
        {YV_E_INVALID_NAME, 2, "INVALID_NAME"},
        {YV_E_VM_NOT_FOUND, 3, "VM_NOT_FOUND"},
        {YV_E_IMAGE_NOT_FOUND, 3, "IMAGE_NOT_FOUND"},
        {YV_E_PRESET_NOT_FOUND, 3, "PRESET_NOT_FOUND"},
        {YV_E_VM_EXISTS, 4, "VM_EXISTS"},
        {YV_E_VM_RUNNING, 4, "VM_RUNNING"},
        {YV_E_VM_NOT_RUNNING, 4, "VM_NOT_RUNNING"},
        {YV_E_TOOL_FAILED, 5, "TOOL_FAILED"},
        {YV_E_TIMEOUT, 6, "TIMEOUT"},
        {YV_E_PERMISSION, 77, "PERMISSION"},
        {YV_E_CONFIG_INVALID, 1, "CONFIG_INVALID"},
        {YV_E_IO, 1, "IO"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_int_equal(yv_err_exit_status(t[i].code), t[i].status);
        assert_string_equal(yv_err_code_name(t[i].code), t[i].name);
    }
    assert_int_equal(yv_err_exit_status((yv_code)999), 1);
    assert_string_equal(yv_err_code_name((yv_code)999), "FAILED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_clear),
        cmocka_unit_test(test_sys_and_prefix),
        cmocka_unit_test(test_long_messages_truncate),
        cmocka_unit_test(test_codes),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
