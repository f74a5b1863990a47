/* Unit tests of core/vmwait.c: state names, and waiting on a temporary root (the running side is
 * tested with real QEMUs in tests/integration/test-run.sh and test-web.sh). */
#include "unit.h"

#include <signal.h>

#include "core/vmwait.h"

static void write_stopped_vm(const char *root, const char *name)
{
    char *dir = yv_asprintf("%s.vm", name), *file = yv_asprintf("%s.vm/config.yaml", name);
    char *text = yv_asprintf("name: %s\nhardware: {memory: 256, vcpu: 1, ovmf: false}\n"
                             "vnc: {display: ':1', password: '12345678'}\n",
                             name);
    ut_mkdir(root, dir);
    ut_write(root, file, text);
    free(text);
    free(file);
    free(dir);
}

/* Every state status prints parses back to itself; anything else is a usage error naming them. */
static void test_parse_state(void **state)
{
    (void)state;
    yv_err e;
    yv_state s;
    for (int i = YV_STATE_STOPPED; i <= YV_STATE_INVALID; i++) {
        if (i == YV_STATE_INSTALLING) continue;
        assert_int_equal(yv_vmwait_parse_state(yv_vminfo_state_name((yv_state)i), &s, &e), 0);
        assert_int_equal(s, i);
    }
    /* what only the TUI's monitor sees: a wait by name would never see it */
    assert_int_equal(yv_vmwait_parse_state("installing", &s, &e), -1);
    assert_int_equal(e.code, YV_E_USAGE);
    assert_int_equal(yv_vmwait_parse_state("Running", &s, &e), -1);
    assert_int_equal(e.code, YV_E_USAGE);
    assert_string_equal(e.msg, "no state 'Running' (states: stopped, starting, running, paused, "
                               "shutting-down, error, crashed, unresponsive, invalid)");
    assert_int_equal(yv_vmwait_parse_state("", &s, &e), -1);
    assert_int_equal(yv_vmwait_parse_state("a\033[2Jb", &s, &e), -1);
    assert_null(strchr(e.msg, '\033')); /* the terminal never gets the caller's bytes raw */
}

static void test_wait(void **state)
{
    ut_root *f = *state;
    yv_err e;
    write_stopped_vm(f->root, "w1");
    /* already there: at once */
    int64_t t0 = yv_now_ms();
    assert_int_equal(yv_vmwait(f->root, &f->cfg, "w1", YV_STATE_STOPPED, 5000, NULL, -1, &e), 0);
    assert_true(yv_now_ms() - t0 < 4000); /* a bound on a hang, not a timing claim */
    /* never: TIMEOUT naming the state it is in */
    assert_int_equal(yv_vmwait(f->root, &f->cfg, "w1", YV_STATE_RUNNING, 300, NULL, -1, &e), -1);
    assert_int_equal(e.code, YV_E_TIMEOUT);
    assert_string_equal(e.msg, "w1 is still stopped after 1 s (waited for running)");
    /* the caller's cancel flag ends it long before the timeout */
    volatile sig_atomic_t cancel = 1;
    assert_int_equal(yv_vmwait(f->root, &f->cfg, "w1", YV_STATE_RUNNING, 600000, &cancel, -1, &e),
                     -1);
    assert_int_equal(e.code, YV_E_FAIL);
    assert_string_equal(e.msg, "interrupted");
    /* the client that asked hangs up: the wait ends at once */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    t0 = yv_now_ms();
    assert_int_equal(yv_vmwait(f->root, &f->cfg, "w1", YV_STATE_RUNNING, 600000, NULL, sv[0], &e),
                     -1);
    assert_true(yv_now_ms() - t0 < 60000); /* a bound on a hang */
    assert_string_equal(e.msg, "the client went away");
    close(sv[0]);
    /* a VM that does not exist, or an invalid name */
    assert_int_equal(yv_vmwait(f->root, &f->cfg, "nosuch", YV_STATE_STOPPED, 0, NULL, -1, &e), -1);
    assert_int_equal(e.code, YV_E_VM_NOT_FOUND);
    assert_int_equal(yv_vmwait(f->root, &f->cfg, "../x", YV_STATE_STOPPED, 0, NULL, -1, &e), -1);
    assert_int_equal(e.code, YV_E_INVALID_NAME);
    /* a broken config is the state "invalid", which can be waited for */
    ut_write(f->root, "w1.vm/config.yaml", "name: [\n");
    assert_int_equal(yv_vmwait(f->root, &f->cfg, "w1", YV_STATE_INVALID, 0, NULL, -1, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_state),
        cmocka_unit_test_setup_teardown(test_wait, ut_setup_root, ut_teardown_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
