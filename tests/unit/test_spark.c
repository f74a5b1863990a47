/* Unit tests of widgets/spark.c: the line a sparkline draws, in UTF-8 and in ASCII. */
#include "unit.h"

#include <locale.h>

/* The widgets are not in the unit tests' link line: compiled in here. */
#include "../../widgets/draw.c"
#include "../../widgets/spark.c"

static void test_levels_utf8(void **state)
{
    (void)state;
    char buf[256];
    const double v[] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_string_equal(yv_spark_render(v, 9, 8, 9, true, buf, sizeof buf), " ▁▂▃▄▅▆▇█");
    /* max 0: scaled to the largest shown; a tiny value still shows the lowest bar */
    const double w[] = {0.001, 100, 50};
    assert_string_equal(yv_spark_render(w, 3, 0, 3, true, buf, sizeof buf), "▁█▄");
    /* above max is clamped; negative and NaN are blanks */
    const double x[] = {99, -1, 0.0 / 0.0};
    assert_string_equal(yv_spark_render(x, 3, 8, 3, true, buf, sizeof buf), "█  ");
    /* a value far above a given max (a rate of 2^64 bytes/s against 1) is a full bar, no UB */
    double y[2] = {1.8e19 * 1000, 1e300};
    assert_string_equal(yv_spark_render(y, 2, 1e-300, 2, true, buf, sizeof buf), "██");
}

static void test_fit_and_ascii(void **state)
{
    (void)state;
    char buf[256];
    const double v[] = {8, 8, 0, 4};
    /* fewer values than cells: right-aligned, blanks first (the newest at the right edge) */
    assert_string_equal(yv_spark_render(v, 4, 8, 6, false, buf, sizeof buf), "  @@ =");
    /* more values than cells: the newest ones */
    assert_string_equal(yv_spark_render(v, 4, 8, 2, false, buf, sizeof buf), " =");
    assert_string_equal(yv_spark_render(v, 0, 8, 3, false, buf, sizeof buf), "   ");
    /* a small buffer is cut at a whole glyph, never mid-character */
    char small[5];
    assert_string_equal(yv_spark_render(v, 4, 8, 4, true, small, sizeof small), "█");
    if (setlocale(LC_CTYPE, "C.UTF-8")) /* four cells wide, as a terminal counts them */
        assert_int_equal(yv_draw_width(yv_spark_render(v, 4, 8, 4, true, buf, sizeof buf)), 4);
    assert_true(yv_spark_utf8() ==
                (setlocale(LC_CTYPE, NULL) && strstr(setlocale(LC_CTYPE, NULL), "UTF-8")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_utf8),
        cmocka_unit_test(test_fit_and_ascii),
    };
    return cmocka_run_group_tests_name("spark", tests, NULL, NULL);
}
