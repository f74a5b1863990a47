/* Unit tests of core/lifecycle.c: the stop ladder (quit → SIGTERM → SIGKILL) against real children.
 */
#include "unit.h"

#include <sys/wait.h>

#include "core/lifecycle.h"
#include "core/proc.h"
#include "core/vmstate.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

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

/* The ladder's view of the child pid as the VM "vm" of root, pinned by a pidfd; *cfg loaded (the
 * caller frees it). Skips the test, ending the child, where there are no pidfds (valgrind): the
 * ladder's waits cannot see a child of ours end without one. */
static yv_lifecycle_qemu pinned(const char *root, pid_t pid, yv_config *cfg)
{
    yv_err err;
    assert_int_equal(yv_config_load_string(cfg, "config.yaml", "", root, &err), 0);
    yv_lifecycle_qemu q = {root, cfg, "vm", pid, yv_proc_pidfd_open(pid), NULL};
    if (q.pidfd < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        yv_config_done(cfg);
        skip();
    }
    return q;
}

/* A process that obeys SIGTERM ends at that step. */
static void test_stop_ends_at_sigterm(void **state)
{
    yv_config cfg;
    pid_t pid = fork();
    if (pid == 0) {
        for (;;) pause();
    }
    usleep(50 * 1000);
    yv_lifecycle_qemu q = pinned(*state, pid, &cfg);
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

/* One line the client sent (the 0xFF before the sync dropped), as JSON; NULL at EOF. */
static json_t *agent_read(int fd)
{
    char line[1024];
    size_t n = 0;
    while (n < sizeof line - 1 && read(fd, line + n, 1) == 1) {
        if (line[n] == '\n') break;
        if (line[n] != '\xff') n++;
    }
    line[n] = '\0';
    return n ? json_loads(line, 0, NULL) : NULL;
}

/* A fake guest agent at root/run/vm.qga: answers the sync and, on guest-shutdown, ends `target`
 * (as a guest powering off ends its QEMU). */
static pid_t fake_agent(const char *root, pid_t target)
{
    char *dir = yv_asprintf("%s/run", root), *path = yv_vmstate_qgafile(root, "vm");
    mkdir(dir, 0700);
    int l = ut_unix_listen(path, 4);
    free(dir);
    free(path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        close(l);
        return pid;
    }
    int fd = accept(l, NULL, NULL);
    json_t *j = agent_read(fd);
    char buf[128];
    int n = snprintf(
        buf, sizeof buf, "\xff{\"return\": %lld}\n",
        (long long)json_integer_value(json_object_get(json_object_get(j, "arguments"), "id")));
    json_decref(j);
    if (write(fd, buf, (size_t)n) != n) _exit(1);
    j = agent_read(fd);
    const char *cmd = json_string_value(json_object_get(j, "execute"));
    if (cmd && !strcmp(cmd, "guest-shutdown")) kill(target, SIGTERM); /* no answer: as the agent */
    json_decref(j);
    _exit(0);
}

/* A guest that ignores ACPI (no QMP here: the request never reaches anyone) but runs an agent:
 * guest-shutdown ends it, and the ladder says so. */
static void test_stop_by_agent(void **state)
{
    char *root = *state;
    yv_config cfg;
    pid_t pid = ut_child(NULL, false);
    yv_lifecycle_qemu q = pinned(root, pid, &cfg);
    pid_t agent = fake_agent(root, pid);
    static const int64_t ms[] = {100, 5000, 5000, 5000};
    yv_stop_step how = YV_STOP_ACPI;
    assert_true(yv_lifecycle_stop(&q, YV_STOP_ACPI, ms, &how));
    assert_int_equal(how, YV_STOP_AGENT);
    assert_string_equal(yv_lifecycle_step_name(how), "agent");
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    assert_int_equal(waitpid(agent, &status, 0), agent);
    close(q.pidfd);
    yv_config_done(&cfg);
}

/* No agent socket at all: the agent step costs nothing and the ladder goes on. */
static void test_stop_without_agent_goes_on(void **state)
{
    yv_config cfg;
    pid_t pid = ut_child(NULL, false);
    yv_lifecycle_qemu q = pinned(*state, pid, &cfg);
    static const int64_t ms[] = {100, 200, 5000, 5000};
    yv_stop_step how = YV_STOP_ACPI;
    int64_t t0 = yv_now_ms();
    assert_true(yv_lifecycle_stop(&q, YV_STOP_ACPI, ms, &how));
    assert_int_equal(how, YV_STOP_SIGTERM); /* no QMP to quit: SIGTERM ends it */
    assert_true(yv_now_ms() - t0 < 4000);   /* the agent's 30 s were not waited */
    waitpid(pid, NULL, 0);
    close(q.pidfd);
    yv_config_done(&cfg);
}

/* How the fake QEMU of the quit tests treats its QMP socket. */
enum { QMP_QUITS, QMP_NEVER_ACCEPTS, QMP_HANGS, QMP_ANSWERS };

/* A fake QEMU listening on root/run/vm.sock. QMP_QUITS: greets, reads until `quit` came (after
 * the negotiation: else it exits 3) and exits 0 without having answered anything.
 * QMP_NEVER_ACCEPTS: its QMP is held by another client (the connection waits in the queue).
 * QMP_HANGS: greets, reads and never answers. QMP_ANSWERS: answers every command and does not exit.
 * The last three obey SIGTERM. Ready when this returns. */
static pid_t fake_qemu(const char *root, int how)
{
    char *path = yv_asprintf("%s/run/vm.sock", root);
    ut_mkdir(root, "run");
    int lfd = ut_unix_listen(path, 4);
    free(path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(30);
        if (how == QMP_NEVER_ACCEPTS)
            for (;;) pause();
        int fd = accept(lfd, NULL, NULL);
        const char *hello = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
        if (fd < 0 || write(fd, hello, strlen(hello)) < 0) _exit(2);
        char got[4096];
        size_t n = 0;
        ssize_t r;
        size_t answered = 0;
        while (n + 1 < sizeof got && (r = read(fd, got + n, sizeof got - 1 - n)) > 0) {
            got[n += (size_t)r] = '\0';
            char *caps = strstr(got, "\"qmp_capabilities\""), *quit = strstr(got, "\"quit\"");
            if (quit && how == QMP_QUITS) _exit(caps && caps < quit ? 0 : 3);
            /* each whole command line answered, naming its id when it has one */
            for (char *nl; how == QMP_ANSWERS && (nl = strchr(got + answered, '\n'));) {
                *nl = '\0';
                char reply[64], *id = strstr(got + answered, "\"id\":");
                int len = id ? snprintf(reply, sizeof reply, "{\"return\": {}, \"id\": %ld}\r\n",
                                        strtol(id + 5, NULL, 10))
                             : snprintf(reply, sizeof reply, "{\"return\": {}}\r\n");
                *nl = '\n';
                if (write(fd, reply, (size_t)len) != len) _exit(2);
                answered = (size_t)(nl - got) + 1;
            }
        }
        for (;;) pause();
    }
    close(lfd);
    return pid;
}

/* The ladder's quit step on a fake QEMU; returns how long it took (ms), *how the step that ended
 * it. Skips without pidfds (valgrind). */
static int64_t quit_fake(const char *root, int fake_how, int64_t quit_ms, yv_stop_step *how,
                         int *status)
{
    yv_config cfg;
    pid_t pid = fake_qemu(root, fake_how);
    yv_lifecycle_qemu q = pinned(root, pid, &cfg);
    const int64_t ms[] = {0, quit_ms, 5000, 5000};
    int64_t t0 = yv_now_ms();
    assert_true(yv_lifecycle_stop(&q, YV_STOP_QUIT, ms, how));
    int64_t took = yv_now_ms() - t0;
    assert_int_equal(waitpid(pid, status, 0), pid);
    close(q.pidfd);
    yv_config_done(&cfg);
    return took;
}

/* quit is written with the negotiation at once and its exit is the answer: a QEMU that never
 * answers but quits ends at the quit step, at once. */
static void test_quit_needs_no_answer(void **state)
{
    yv_stop_step how;
    int status = 0;
    int64_t took = quit_fake(*state, QMP_QUITS, 5000, &how, &status);
    assert_int_equal(how, YV_STOP_QUIT);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0); /* the negotiation came first, then quit */
    assert_true(took < 2000);
}

/* The quit step on the fake QEMU fake_how, which then obeys SIGTERM: ended by it, the whole ladder
 * within [lo, hi) ms. */
static void quit_then_sigterm(void **state, int fake_how, int64_t quit_ms, int64_t lo, int64_t hi)
{
    yv_stop_step how;
    int status = 0;
    int64_t took = quit_fake(*state, fake_how, quit_ms, &how, &status);
    assert_int_equal(how, YV_STOP_SIGTERM);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    if (took < lo || took >= hi)
        fail_msg("took %lld ms, not in [%lld, %lld)", (long long)took, (long long)lo,
                 (long long)hi);
}

/* A QMP held by another client never greets us: the quit did not reach QEMU, so the ladder goes on
 * after the exchange's 3 s, not after the quit step's wait as well. */
static void test_quit_never_accepted_goes_on(void **state)
{
    quit_then_sigterm(state, QMP_NEVER_ACCEPTS, 5000, 2900, 5000);
}

/* A QEMU that greeted but never answered (its main loop hung): not waited for again either. */
static void test_quit_unanswered_goes_on(void **state)
{
    quit_then_sigterm(state, QMP_HANGS, 5000, 2900, 5000);
}

/* A QEMU that answered quit but does not go: the quit step's own wait follows before SIGTERM. */
static void test_quit_answered_waits_its_step(void **state)
{
    quit_then_sigterm(state, QMP_ANSWERS, 800, 3700, 8000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_escalates_to_sigkill, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_stop_ends_at_sigterm, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_stop_by_agent, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_stop_without_agent_goes_on, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_quit_needs_no_answer, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_quit_never_accepted_goes_on, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_quit_unanswered_goes_on, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_quit_answered_waits_its_step, ut_setup_tmp,
                                        ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
