/* Unit tests of core/err.c: error values, exit statuses and JSON codes (spec §8); every message
 * escaped (no control character, always UTF-8). */
#include "unit.h"

#include <jansson.h>

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
        {YV_E_SNAPSHOT_NOT_FOUND, 3, "SNAPSHOT_NOT_FOUND"},
        {YV_E_SNAPSHOT_EXISTS, 4, "SNAPSHOT_EXISTS"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_int_equal(yv_err_exit_status(t[i].code), t[i].status);
        assert_string_equal(yv_err_code_name(t[i].code), t[i].name);
    }
    assert_int_equal(yv_err_exit_status((yv_code)999), 1);
    assert_string_equal(yv_err_code_name((yv_code)999), "FAILED");
}

/* No byte a terminal acts on (C0, DEL, the C1 controls U+0080..U+009F) and valid UTF-8 (jansson
 * refuses anything else): what every message must be. */
static void assert_safe(const char *m)
{
    for (const unsigned char *p = (const unsigned char *)m; *p; p++) {
        assert_true(*p >= 0x20 && *p != 0x7f);
        assert_false(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
    }
    json_t *j = json_string(m);
    assert_non_null(j);
    json_decref(j);
}

static void test_messages_escaped(void **state)
{
    (void)state;
    yv_err err;
    /* a name from outside: ESC sequences, a newline, DEL, a C1 CSI, a stray byte, a tab */
    yv_err_set(&err, YV_E_INVALID_NAME, "no VM named '%s'", "a\x1b[31mb\nc\x7f\xc2\x9b\xff\td");
    assert_string_equal(err.msg, "no VM named 'a\\x1b[31mb\\x0ac\\x7f\\xc2\\x9b\\xff\\x09d'");
    assert_safe(err.msg);
    /* UTF-8 text and backslashes pass as they are */
    yv_err_set(&err, YV_E_FAIL, "%s", "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 C:\\x");
    assert_string_equal(err.msg, "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 C:\\x");
    /* overlong forms, surrogates and truncated characters are not UTF-8 */
    yv_err_set(&err, YV_E_FAIL, "%s", "\xc0\xaf|\xed\xa0\x80|\xe2\x86");
    assert_string_equal(err.msg, "\\xc0\\xaf|\\xed\\xa0\\x80|\\xe2\\x86");
    assert_safe(err.msg);
    /* sys and prefix: the whole message; an escaped message prefixed is not escaped twice */
    yv_err_sys(&err, YV_E_IO, ENOENT, "cannot read %s", "x\ny");
    assert_string_equal(err.msg, "cannot read x\\x0ay: No such file or directory");
    yv_err_prefix(&err, "VM '%s'", "\x1b]0;t\x07");
    assert_string_equal(err.msg,
                        "VM '\\x1b]0;t\\x07': cannot read x\\x0ay: No such file or directory");
    assert_safe(err.msg);
}

/* A message full of escapes is cut at a whole escape or character, and stays safe. */
static void test_escaped_truncation(void **state)
{
    (void)state;
    yv_err err;
    char big[1500];
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof big - 1; i++) big[i] = (i + k) % 3 ? '\x1b' : '\xe2';
        big[sizeof big - 1] = '\0';
        yv_err_set(&err, YV_E_FAIL, "%s", big);
        assert_true(strlen(err.msg) <= sizeof err.msg - 1);
        assert_true(strlen(err.msg) > sizeof err.msg - 5);
        assert_int_equal(strlen(err.msg) % 4, 0); /* whole \xNN escapes only */
        assert_safe(err.msg);
    }
    char out[8];
    assert_int_equal(yv_err_escape("ab\x1b", out, 6), 2); /* \x1b would not fit */
    assert_string_equal(out, "ab");
    assert_int_equal(yv_err_escape("ab\x1b", out, 7), 6);
    assert_int_equal(yv_err_escape("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", out, sizeof out), 6);
    assert_int_equal(yv_err_escape("x", out, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_clear),          cmocka_unit_test(test_sys_and_prefix),
        cmocka_unit_test(test_long_messages_truncate), cmocka_unit_test(test_codes),
        cmocka_unit_test(test_messages_escaped),       cmocka_unit_test(test_escaped_truncation),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
