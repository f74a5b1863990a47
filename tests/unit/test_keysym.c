/* keysym: what a key typed in the screen view sends to the guest (spec §12 lists the keys). */
#include "unit.h"

#include <curses.h>

#include "../../tui/keysym.c"

static void expect(wint_t ch, bool is_key, const yv_keysym_ev *want, int n)
{
    yv_keysym_ev got[YV_KEYSYM_MAX];
    int m = yv_keysym_events(ch, is_key, got);
    assert_int_equal(m, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(got[i].sym, want[i].sym);
        assert_int_equal(got[i].down, want[i].down);
    }
}

static void test_letters_digits_and_punctuation_are_their_keysym(void **state)
{
    (void)state;
    expect(L'a', false, (yv_keysym_ev[]){{'a', true}, {'a', false}}, 2);
    expect(L'7', false, (yv_keysym_ev[]){{'7', true}, {'7', false}}, 2);
    expect(L'/', false, (yv_keysym_ev[]){{'/', true}, {'/', false}}, 2);
    expect(L' ', false, (yv_keysym_ev[]){{' ', true}, {' ', false}}, 2);
    expect(L'>', false,
           (yv_keysym_ev[]){{0xffe1, true}, {'>', true}, {'>', false}, {0xffe1, false}}, 4);
    expect(L'R', false,
           (yv_keysym_ev[]){{0xffe1, true}, {'R', true}, {'R', false}, {0xffe1, false}}, 4);
}

static void test_editing_keys(void **state)
{
    (void)state;
    expect(L'\n', false, (yv_keysym_ev[]){{0xff0d, true}, {0xff0d, false}}, 2);
    expect(KEY_ENTER, true, (yv_keysym_ev[]){{0xff0d, true}, {0xff0d, false}}, 2);
    expect(127, false, (yv_keysym_ev[]){{0xff08, true}, {0xff08, false}}, 2);
    expect(KEY_BACKSPACE, true, (yv_keysym_ev[]){{0xff08, true}, {0xff08, false}}, 2);
    expect(L'\t', false, (yv_keysym_ev[]){{0xff09, true}, {0xff09, false}}, 2);
    expect(KEY_BTAB, true,
           (yv_keysym_ev[]){{0xffe1, true}, {0xff09, true}, {0xff09, false}, {0xffe1, false}}, 4);
    expect(27, false, (yv_keysym_ev[]){{0xff1b, true}, {0xff1b, false}}, 2);
    expect(KEY_DC, true, (yv_keysym_ev[]){{0xffff, true}, {0xffff, false}}, 2);
}

static void test_arrows_and_function_keys(void **state)
{
    (void)state;
    expect(KEY_UP, true, (yv_keysym_ev[]){{0xff52, true}, {0xff52, false}}, 2);
    expect(KEY_LEFT, true, (yv_keysym_ev[]){{0xff51, true}, {0xff51, false}}, 2);
    expect(KEY_F(1), true, (yv_keysym_ev[]){{0xffbe, true}, {0xffbe, false}}, 2);
    expect(KEY_F(12), true, (yv_keysym_ev[]){{0xffc9, true}, {0xffc9, false}}, 2);
    expect(KEY_F(13), true, NULL, 0); /* Shift-F1 on some terminals: not sent as F1 */
    expect(KEY_MOUSE, true, NULL, 0);
}

static void test_control_combinations_hold_control(void **state)
{
    (void)state;
    yv_keysym_ev ctrl_c[] = {{0xffe3, true}, {'c', true}, {'c', false}, {0xffe3, false}};
    expect(3, false, ctrl_c, 4);
    yv_keysym_ev ctrl_d[] = {{0xffe3, true}, {'d', true}, {'d', false}, {0xffe3, false}};
    expect(4, false, ctrl_d, 4);
    yv_keysym_ev ctrl_bs[] = {{0xffe3, true}, {'\\', true}, {'\\', false}, {0xffe3, false}};
    expect(28, false, ctrl_bs, 4);
}

static void test_beyond_ascii(void **state)
{
    (void)state;
    expect(0xe9, false, (yv_keysym_ev[]){{0xe9, true}, {0xe9, false}}, 2); /* é: Latin-1 */
    expect(0x20ac, false, (yv_keysym_ev[]){{0x010020ac, true}, {0x010020ac, false}}, 2);
    expect(0x85, false, NULL, 0); /* a C1 control */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_letters_digits_and_punctuation_are_their_keysym),
        cmocka_unit_test(test_editing_keys),
        cmocka_unit_test(test_arrows_and_function_keys),
        cmocka_unit_test(test_control_combinations_hold_control),
        cmocka_unit_test(test_beyond_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
