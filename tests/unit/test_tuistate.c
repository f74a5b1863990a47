/* tuistate: run/tui.state (spec §15) — the list's sort and columns per root; a bad line is
 * skipped with a note and never stops the TUI; written 0600 and read back the same. */
#include "unit.h"

#include <sys/stat.h>

/* The TUI is not in the unit tests' link line: the module (core only) is compiled in. */
#include "../../tui/tuistate.c"

static const char *const names[] = {"NAME", "STATE", "MEM", "DISK", "CPU%"};
#define N 5

static int parse(const char *text, yv_tuistate *st, char *notes)
{
    return yv_tuistate_parse(text, strlen(text), names, N, st, notes, 256);
}

static void test_parse_good(void **state)
{
    (void)state;
    yv_tuistate st;
    char notes[256];
    assert_int_equal(
        parse("# mine\nsort MEM desc\ncolumns NAME,STATE,MEM\nhidden DISK\n", &st, notes), 0);
    assert_int_equal(st.sort_col, 2);
    assert_true(st.sort_desc);
    assert_int_equal(st.set, 0x0f);   /* CPU% not said: it keeps its default */
    assert_int_equal(st.shown, 0x07); /* DISK hidden */
    assert_string_equal(notes, "");
    assert_int_equal(parse("sort cpu%", &st, notes), 0); /* no newline; case-blind; asc */
    assert_int_equal(st.sort_col, 4);
    assert_false(st.sort_desc);
    assert_int_equal(parse("", &st, notes), 0);
    assert_int_equal(st.sort_col, -1);
    assert_int_equal(st.set, 0);
}

static void test_bad_lines_skipped_with_a_note(void **state)
{
    (void)state;
    yv_tuistate st;
    char notes[256];
    const char *text = "sort RSS desc\nsort MEM sideways\nfoo bar\nnospace\nhidden NAME,DISK\n"
                       "sort DISK\r\ncolumns MEM,WHAT\n\n\x01\xff\n";
    assert_int_equal(parse(text, &st, notes), 8);
    ut_assert_contains(notes, "line 1: no such column");
    ut_assert_contains(notes, "line 2: not asc or desc");
    ut_assert_contains(notes, "line 3: unknown setting");
    ut_assert_contains(notes, "line 4: not KEY VALUE");
    ut_assert_contains(notes, "line 5: the first column cannot be hidden");
    ut_assert_contains(notes, "line 6: a carriage return");
    ut_assert_contains(notes, "line 7: no such column");
    ut_assert_contains(notes, "line 9: not KEY VALUE");
    assert_int_equal(st.sort_col, -1); /* every sort line was bad */
    assert_int_equal(st.set, 0x0c);    /* DISK hidden, MEM shown: what the bad lines held good */
    assert_int_equal(st.shown, 0x04);
    char tiny[8];
    assert_int_equal(yv_tuistate_parse(text, strlen(text), names, N, &st, tiny, sizeof tiny), 8);
    assert_true(strlen(tiny) < sizeof tiny); /* cut, never over */
}

static void test_format_round_trip(void **state)
{
    (void)state;
    yv_tuistate st = {.sort_col = 3, .sort_desc = true, .set = 0x1f, .shown = 0x13}, back;
    char buf[256], notes[256], small[10];
    int n = yv_tuistate_format(&st, names, N, buf, sizeof buf);
    assert_string_equal(buf, "sort DISK desc\ncolumns NAME,STATE,CPU%\nhidden MEM,DISK\n");
    assert_int_equal(n, (int)strlen(buf));
    assert_int_equal(parse(buf, &back, notes), 0);
    assert_int_equal(back.sort_col, 3);
    assert_true(back.sort_desc);
    assert_int_equal(back.set, 0x1f);
    assert_int_equal(back.shown, 0x13);
    assert_int_equal(yv_tuistate_format(&st, names, N, small, sizeof small), -1);
    st = (yv_tuistate){.sort_col = -1};
    yv_tuistate_format(&st, names, N, buf, sizeof buf);
    assert_string_equal(buf, "columns NAME,STATE,MEM,DISK,CPU%\n");
}

static void test_save_load_0600(void **state)
{
    const char *root = *state;
    char path[512];
    struct stat sb;
    yv_tuistate st = {.sort_col = 2, .set = 0x1f, .shown = 0x17}, back;
    snprintf(path, sizeof path, "%s/run", root);
    assert_int_equal(mkdir(path, 0700), 0);
    yv_tuistate_load(root, names, N, &back); /* absent: nothing said, no note */
    assert_int_equal(back.sort_col, -1);
    assert_int_equal(yv_tuistate_save(root, &st, names, N), 0);
    snprintf(path, sizeof path, "%s/run/tui.state", root);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    yv_tuistate_load(root, names, N, &back);
    assert_int_equal(back.sort_col, 2);
    assert_false(back.sort_desc);
    assert_int_equal(back.shown, 0x17);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/etc/passwd", path), 0); /* never read through a link */
    yv_tuistate_load(root, names, N, &back);
    assert_int_equal(back.sort_col, -1);
    assert_int_equal(back.set, 0);
    assert_int_equal(yv_tuistate_save(root, &st, names, N), 0); /* replaces the link itself */
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_bad_lines_skipped_with_a_note),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test_setup_teardown(test_save_load_0600, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
