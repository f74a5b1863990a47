/* Unit tests of core/util.c: allocation helpers and strict integer parsing. */
#include "unit.h"

#include <limits.h>

static void test_strings(void **state)
{
    (void)state;
    char *s = yv_strdup("hello");
    assert_string_equal(s, "hello");
    free(s);
    s = yv_strndup("hello", 3);
    assert_string_equal(s, "hel");
    free(s);
    s = yv_strndup("hi", 10);
    assert_string_equal(s, "hi");
    free(s);
    s = yv_asprintf("%s-%d-%05.1f", "a", 42, 3.14159);
    assert_string_equal(s, "a-42-003.1");
    free(s);
    /* zero-sized requests still give a pointer that can be freed */
    void *p = yv_malloc(0);
    assert_non_null(p);
    free(p);
    p = yv_calloc(0, 0);
    assert_non_null(p);
    free(p);
    int *v = yv_calloc(4, sizeof *v);
    assert_int_equal(v[0] | v[1] | v[2] | v[3], 0);
    v = yv_realloc(v, 100 * sizeof *v);
    v[99] = 7;
    assert_int_equal(v[99], 7);
    free(v);
    yv_free_secret(yv_strdup("secret"));
    yv_free_secret(NULL);
}

static void assert_parse(const char *s, long min, long max, int want_rc, long want)
{
    long out = -4242;
    int rc = yv_parse_long(s, min, max, &out);
    if (rc != want_rc) fail_msg("'%s': rc %d, want %d", s ? s : "(null)", rc, want_rc);
    assert_int_equal(out, want_rc == 0 ? want : -4242);
}

static void test_parse_long(void **state)
{
    (void)state;
    assert_parse("0", 0, 10, 0, 0);
    assert_parse("10", 0, 10, 0, 10);
    assert_parse("11", 0, 10, -1, 0);
    assert_parse("-5", -10, 10, 0, -5);
    assert_parse("-0", 0, 10, 0, 0);
    assert_parse("-11", -10, 10, -1, 0);
    assert_parse("007", 0, 10, 0, 7);
    assert_parse("9223372036854775807", 0, LONG_MAX, 0, LONG_MAX);
    assert_parse("9223372036854775808", 0, LONG_MAX, -1, 0);
    assert_parse("-9223372036854775809", LONG_MIN, 0, -1, 0);
    assert_parse("", 0, 10, -1, 0);
    assert_parse(NULL, 0, 10, -1, 0);
    assert_parse("-", 0, 10, -1, 0);
    assert_parse("+5", 0, 10, -1, 0);
    assert_parse(" 5", 0, 10, -1, 0);
    assert_parse("5 ", 0, 10, -1, 0);
    assert_parse("5\n", 0, 10, -1, 0);
    assert_parse("1e3", 0, 10000, -1, 0);
    assert_parse("0x10", 0, 100, -1, 0);
    assert_parse("--5", -10, 10, -1, 0);
    assert_parse("5-", -10, 10, -1, 0);
    assert_parse("٣", 0, 10, -1, 0); /* a non-ASCII digit */
}

/* The ", " joiner of status, set and the TUI: empty, one, several, cut to the buffer. */
static void test_join(void **state)
{
    (void)state;
    const char *w[] = {"memory", "vcpu", "forwards"};
    char buf[32], small[8];
    assert_int_equal(yv_join(w, 0, "changed ", buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(yv_join(w, 1, "", buf, sizeof buf), 6);
    assert_string_equal(buf, "memory");
    assert_int_equal(yv_join(w, 3, "changed ", buf, sizeof buf), 30);
    assert_string_equal(buf, "changed memory, vcpu, forwards");
    assert_int_equal(yv_join(w, 3, "", small, sizeof small), sizeof small);
    assert_string_equal(small, "memory,");
}

static void test_now_ms(void **state)
{
    (void)state;
    int64_t a = yv_now_ms();
    usleep(20 * 1000);
    int64_t b = yv_now_ms();
    assert_true(a > 0);
    assert_true(b - a >= 20);
    assert_true(b - a < 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_now_ms),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
