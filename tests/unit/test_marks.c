/* marks: the list's marks by VM name (kept across reorderings, dropped for VMs gone) and the ledger
 * of a bulk action — each VM's end, the moment the last one ends, the summary's words. */
#include "unit.h"

/* The TUI is not in the unit tests' link line: the module (no curses) is compiled in. */
#include "../../tui/marks.c"

static void test_marks_by_name(void **state)
{
    (void)state;
    yv_marks m = {0};
    yv_marks_toggle(&m, "a");
    yv_marks_toggle(&m, "b");
    yv_marks_set(&m, "a", true); /* already marked: once */
    assert_int_equal(m.n, 2);
    assert_true(yv_marks_has(&m, "a") && yv_marks_has(&m, "b"));
    assert_false(yv_marks_has(&m, "c"));
    yv_marks_toggle(&m, "a");
    assert_false(yv_marks_has(&m, "a"));
    assert_true(yv_marks_has(&m, "b"));
    char big[200]; /* over YV_MARK_NAME, "vm@host" included */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    yv_marks_set(&m, big, true); /* no VM has such a name: never marked, never cut */
    assert_int_equal(m.n, 1);
    for (int i = 0; i < 40; i++) { /* grows */
        char n[16];
        snprintf(n, sizeof n, "vm%d", i);
        yv_marks_set(&m, n, true);
    }
    assert_int_equal(m.n, 41);
    for (int i = 0; i < 40; i++) {
        char n[16];
        snprintf(n, sizeof n, "vm%d", i);
        assert_true(yv_marks_has(&m, n));
    }
    for (size_t i = 1; i < m.n; i++) assert_true(strcmp(m.names[i - 1], m.names[i]) < 0);
    for (int i = 0; i < 40; i += 3) { /* out of the middle, the ends */
        char n[16];
        snprintf(n, sizeof n, "vm%d", i);
        yv_marks_set(&m, n, false);
        assert_false(yv_marks_has(&m, n));
    }
    assert_int_equal(m.n, 27);
    assert_true(yv_marks_has(&m, "b") && yv_marks_has(&m, "vm38") && !yv_marks_has(&m, "vm39"));
    yv_marks_clear(&m);
    assert_int_equal(m.n, 0);
    assert_false(yv_marks_has(&m, "b"));
    yv_marks_free(&m);
}

static bool not_b_or_d(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "b") != 0 && strcmp(name, "d") != 0;
}

static void test_marks_of_vms_gone_are_dropped(void **state)
{
    (void)state;
    yv_marks m = {0};
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) yv_marks_set(&m, names[i], true);
    assert_int_equal(yv_marks_prune(&m, not_b_or_d, NULL), 2);
    assert_int_equal(m.n, 3);
    assert_true(yv_marks_has(&m, "a") && yv_marks_has(&m, "c") && yv_marks_has(&m, "e"));
    assert_false(yv_marks_has(&m, "b") || yv_marks_has(&m, "d"));
    assert_int_equal(yv_marks_prune(&m, not_b_or_d, NULL), 0);
    yv_marks_free(&m);
}

static void test_bulk_ledger_and_summary(void **state)
{
    (void)state;
    yv_bulk b;
    char line[160], text[512];
    yv_bulk_begin(&b, 3, "Force stop");
    assert_int_equal(yv_bulk_add(&b, "a", YV_BULK_PENDING, ""), 0);
    assert_int_equal(yv_bulk_add(&b, "b", YV_BULK_SKIPPED, "already stopped"), 0);
    assert_int_equal(yv_bulk_add(&b, "c", YV_BULK_PENDING, ""), 0);
    assert_false(yv_bulk_finished(&b));
    assert_false(yv_bulk_note(&b, 2, "a", true, "a stopped")); /* another action's job */
    assert_false(yv_bulk_note(&b, 3, "x", true, "x stopped")); /* a VM not in it */
    assert_true(yv_bulk_note(&b, 3, "a", true, "a stopped (by quit)"));
    assert_false(yv_bulk_note(&b, 3, "a", true, "again")); /* once */
    assert_false(yv_bulk_finished(&b));
    assert_true(yv_bulk_note(&b, 3, "c", false, "QMP: no answer"));
    assert_true(yv_bulk_finished(&b));
    yv_bulk_summary(&b, line, sizeof line, text, sizeof text);
    assert_string_equal(line, "Force stop: 3 VMs: 1 done, 1 failed, 1 skipped");
    /* what went wrong first, then what was done */
    assert_string_equal(
        text, "b: already stopped\nc: failed: QMP: no answer\n1 done:\na stopped (by quit)");
    b.on = false; /* the summary shown: nothing more */
    assert_false(yv_bulk_finished(&b));
    assert_false(yv_bulk_note(&b, 3, "c", true, "late"));
}

static void test_bulk_limits(void **state)
{
    (void)state;
    yv_bulk b;
    char line[160], text[100];
    yv_bulk_begin(&b, 1, "Run");
    for (int i = 0; i < YV_BULK_MAX; i++) {
        char n[16];
        snprintf(n, sizeof n, "vm%02d", i);
        assert_int_equal(yv_bulk_add(&b, n, YV_BULK_SKIPPED, "already running"), 0);
    }
    assert_int_equal(yv_bulk_add(&b, "more", YV_BULK_PENDING, ""), -1);
    assert_true(yv_bulk_finished(&b)); /* nothing started: the summary at once */
    yv_bulk_summary(&b, line, sizeof line, text, sizeof text);
    assert_string_equal(line, "Run: 256 VMs: 0 done, 0 failed, 256 skipped");
    /* what does not fit is counted, never cut mid-line */
    assert_string_equal(text, "vm00: already running\nvm01: already running\n… and 254 more (the "
                              "status line said each)");
}

/* 20 VMs, the 18th failed: the summary that must fit a notice says the failure, before the 19
 * done ones (which were listed in order first, and cut the failure off). */
static void test_bulk_summary_failures_first(void **state)
{
    (void)state;
    static yv_bulk b;
    char line[160], text[352], n[32], t[64];
    yv_bulk_begin(&b, 1, "Run");
    for (int i = 0; i < 20; i++) {
        snprintf(n, sizeof n, "build-machine-%02d", i);
        assert_int_equal(yv_bulk_add(&b, n, YV_BULK_PENDING, ""), 0);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(n, sizeof n, "build-machine-%02d", i);
        snprintf(t, sizeof t, "%s started", n);
        assert_true(yv_bulk_note(&b, 1, n, i != 17, i != 17 ? t : "qemu: cannot open disk"));
    }
    yv_bulk_summary(&b, line, sizeof line, text, sizeof text);
    assert_string_equal(line, "Run: 20 VMs: 19 done, 1 failed, 0 skipped");
    assert_non_null(strstr(text, "build-machine-17: failed: qemu: cannot open disk\n19 done:\n"));
    assert_ptr_equal(strstr(text, "build-machine-17"), text); /* first */
    assert_non_null(strstr(text, "build-machine-00 started"));
    assert_non_null(strstr(text, "more (the status line said each)"));
    assert_true(strlen(text) < sizeof text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marks_by_name),
        cmocka_unit_test(test_marks_of_vms_gone_are_dropped),
        cmocka_unit_test(test_bulk_ledger_and_summary),
        cmocka_unit_test(test_bulk_limits),
        cmocka_unit_test(test_bulk_summary_failures_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
