/* Unit tests of core/lifecycle.c: the stop ladder (quit → SIGTERM → SIGKILL) against real children.
 */
#include "unit.h"

#include <sys/wait.h>

#include "core/lifecycle.h"
#include "core/proc.h"

/* No QMP socket (the quit fails), SIGTERM ignored: SIGKILL ends it, each step bounded by its ms.
 * Without pidfds (valgrind) a pid that is not the VM's proven QEMU is never signalled. */
static void test_stop_escalates_to_sigkill(void **state)
{
    char *root = *state;
    yv_config cfg;
    yv_err err;
    assert_int_equal(yv_config_load_string(&cfg, "config.yaml", "", root, &err), 0);
    pid_t pid = ut_child(NULL, true);
    yv_lifecycle_qemu q = {root, &cfg, "vm", pid, yv_proc_pidfd_open(pid), NULL};
    static const int64_t ms[] = {0, 200, 300, 5000};
    yv_stop_step how = YV_STOP_ACPI;
    int64_t t0 = yv_now_ms();
    bool gone = yv_lifecycle_stop(&q, YV_STOP_QUIT, ms, &how);
    int64_t took = yv_now_ms() - t0;
    if (q.pidfd < 0) { /* no pidfds: unproven, so left alone */
        assert_false(gone);
        kill(pid, SIGKILL);
    } else {
        assert_true(gone);
        assert_int_equal(how, YV_STOP_SIGKILL);
        assert_true(took >= 250 &&
                    took < 2000); /* the quit that was never sent is not waited for */
        close(q.pidfd);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    yv_config_done(&cfg);
}

/* A process that obeys SIGTERM ends at that step. */
static void test_stop_ends_at_sigterm(void **state)
{
    char *root = *state;
    yv_config cfg;
    yv_err err;
    assert_int_equal(yv_config_load_string(&cfg, "config.yaml", "", root, &err), 0);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;) pause();
    }
    usleep(50 * 1000);
    yv_lifecycle_qemu q = {root, &cfg, "vm", pid, yv_proc_pidfd_open(pid), NULL};
    if (q.pidfd < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        yv_config_done(&cfg);
        skip(); /* no pidfds: see above */
    }
    static const int64_t ms[] = {0, 0, 5000, 5000};
    yv_stop_step how = YV_STOP_ACPI;
    assert_true(yv_lifecycle_stop(&q, YV_STOP_SIGTERM, ms, &how));
    assert_int_equal(how, YV_STOP_SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    close(q.pidfd);
    yv_config_done(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_escalates_to_sigkill, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_stop_ends_at_sigterm, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
