/* Unit tests of core/proc.c: running programs without a shell, and the pidfile helpers. */
#include "unit.h"

#include <pthread.h>
#include <signal.h>
#include <poll.h>
#include <sys/wait.h>

#include "core/proc.h"

static void test_which(void **state)
{
    char *dir = *state;
    char *p = yv_proc_which("sh");
    assert_non_null(p);
    assert_true(p[0] == '/');
    assert_true(strlen(p) > 3 && !strcmp(p + strlen(p) - 3, "/sh"));
    free(p);
    p = yv_proc_which("/bin/sh");
    assert_string_equal(p, "/bin/sh");
    free(p);
    assert_null(yv_proc_which("/nonexistent/prog"));
    assert_null(yv_proc_which("no-such-program-yave"));
    /* a file without the execute bit is not a program */
    ut_write(dir, "plain", "#!/bin/sh\n");
    char *path = yv_root_join(dir, "plain");
    assert_null(yv_proc_which(path));
    free(path);
}

static void test_run_ok(void **state)
{
    (void)state;
    yv_err err = {0};
    char *argv[] = {"true", NULL};
    assert_int_equal(yv_proc_run(argv, NULL, NULL, &err), 0);
    assert_int_equal(err.code, YV_OK);
}

static void assert_run_fails(char *const argv[], const char *msg)
{
    yv_err err;
    assert_int_equal(yv_proc_run(argv, NULL, NULL, &err), -1);
    assert_int_equal(err.code, YV_E_TOOL_FAILED);
    assert_string_equal(err.msg, msg);
}

static void test_run_failures(void **state)
{
    char *dir = *state;
    char *a1[] = {"sh", "-c", "echo out; echo err1 >&2; echo err2 >&2; exit 3", NULL};
    assert_run_fails(a1, "sh failed (exit 3): err1 / err2");
    /* only the last lines of a long stderr, on one line */
    char *a2[] = {"sh", "-c", "for i in 1 2 3 4 5 6; do echo line$i >&2; done; echo >&2; exit 1",
                  NULL};
    assert_run_fails(a2, "sh failed (exit 1): line4 / line5 / line6");
    char *a3[] = {"sh", "-c", "exit 2", NULL};
    assert_run_fails(a3, "sh failed (exit 2)");
    char *a4[] = {"sh", "-c", "kill -9 $$", NULL};
    assert_run_fails(a4, "sh killed by signal 9");
    /* control characters from a tool never reach the message */
    char *a5[] = {"sh", "-c", "printf 'bad\\033[2J\\001x\\n' >&2; exit 1", NULL};
    assert_run_fails(a5, "sh failed (exit 1): bad[2Jx");
    char *a6[] = {"no-such-program-yave", "--help", NULL};
    assert_run_fails(a6, "no-such-program-yave: program not found (install it or set its path in "
                         "config.yaml)");
    /* found, but it cannot be executed */
    ut_write(dir, "badscript", "#!/nonexistent/interpreter\n");
    char *script = yv_root_join(dir, "badscript");
    assert_int_equal(chmod(script, 0755), 0);
    char *a7[] = {script, NULL};
    yv_err err;
    assert_int_equal(yv_proc_run(a7, NULL, NULL, &err), -1);
    assert_int_equal(err.code, YV_E_TOOL_FAILED);
    /* under valgrind a failed execve ends the child in valgrind's own way (exit 101 or 126) */
    ut_assert_contains(err.msg, ut_under_valgrind()
                                    ? "badscript failed (exit "
                                    : "badscript failed (exit 127): cannot execute ");
    free(script);
}

static char *output_of(char *const argv[], char *const envp[])
{
    char *out = (char *)"unset";
    yv_err err;
    if (yv_proc_run_output(argv, envp, NULL, &out, &err) < 0) fail_msg("%s", err.msg);
    return out;
}

static void test_run_output(void **state)
{
    (void)state;
    char *a1[] = {"printf", "abc", NULL};
    char *out = output_of(a1, NULL);
    assert_string_equal(out, "abc");
    free(out);
    char *a2[] = {"true", NULL};
    out = output_of(a2, NULL);
    assert_string_equal(out, "");
    free(out);
    /* stdout and stderr are kept apart */
    char *a3[] = {"sh", "-c", "echo to-err >&2; echo to-out", NULL};
    out = output_of(a3, NULL);
    assert_string_equal(out, "to-out\n");
    free(out);
    /* stdin is /dev/null: a reader does not hang */
    char *a4[] = {"cat", NULL};
    out = output_of(a4, NULL);
    assert_string_equal(out, "");
    free(out);
    /* at most 1 MiB is kept, and a large writer is drained (no deadlock) */
    char *a5[] = {"head", "-c", "3000000", "/dev/zero", NULL};
    out = output_of(a5, NULL);
    free(out);
    char *a6[] = {"sh", "-c",
                  "head -c 3000000 /dev/zero | tr '\\0' x; head -c 200000 /dev/zero >&2", NULL};
    out = output_of(a6, NULL);
    assert_int_equal(strlen(out), 1024 * 1024);
    assert_int_equal(out[1024 * 1024 - 1], 'x');
    free(out);
    /* no output on failure */
    char *a7[] = {"sh", "-c", "echo partial; exit 1", NULL};
    char *o7 = NULL;
    yv_err err;
    assert_int_equal(yv_proc_run_output(a7, NULL, NULL, &o7, &err), -1);
    assert_null(o7);
}

static void test_environment(void **state)
{
    (void)state;
    setenv("YAVE_UNIT_SECRET", "leak", 1);
    char *a1[] = {"/usr/bin/env", NULL};
    char *out = output_of(a1, NULL);
    /* the minimal environment: nothing of ours leaks into tools */
    assert_string_equal(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
                             "LC_ALL=C\n");
    free(out);
    char *env[] = {"A=b", "C=d e", NULL};
    out = output_of(a1, env);
    assert_string_equal(out, "A=b\nC=d e\n");
    free(out);
    unsetenv("YAVE_UNIT_SECRET");
}

static void test_clean_child_state(void **state)
{
    (void)state;
    /* a descriptor without close-on-exec is not inherited */
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 77), 77);
    close(fd);
    char *a1[] = {"sh", "-c", "if [ -e /proc/self/fd/77 ]; then echo leaked; else echo clean; fi",
                  NULL};
    char *out = output_of(a1, NULL);
    assert_string_equal(out, "clean\n");
    free(out);
    close(77);
    /* an ignored or blocked signal in the caller is back to default in the tool */
    struct sigaction old;
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGINT, &ign, &old);
    sigset_t block, oldmask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &oldmask);
    char *a2[] = {"sh", "-c", "kill -INT $$; echo survived", NULL};
    assert_run_fails(a2, "sh killed by signal 2");
    char *a3[] = {"sh", "-c", "kill -TERM $$; echo survived", NULL};
    assert_run_fails(a3, "sh killed by signal 15");
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    sigaction(SIGINT, &old, NULL);
}

/* The heap cannot grow on brk once the page past its end is reserved: malloc then takes mmap
 * (glibc's fallback). Asked in a child, whose heap this leaves as it is for the other tests. Not
 * under valgrind, which keeps the client's brk in a segment of its own. */
static void test_heap_off_brk(void **state)
{
    (void)state;
    if (ut_under_valgrind()) skip();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        yv_proc_heap_off_brk();
        void *end = sbrk(0);
        int grew = sbrk(4096) != (void *)-1;
        char *p = malloc(100000); /* from mmap now, working as before */
        memset(p, 1, 100000);
        _exit(grew ? 1 : sbrk(0) != end ? 2 : p[99999] == 1 ? 0 : 3);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_parse_pid(void **state)
{
    (void)state;
    assert_int_equal(yv_proc_parse_pid("1234\n", 5), 1234);
    assert_int_equal(yv_proc_parse_pid("1234", 4), 1234);
    assert_int_equal(yv_proc_parse_pid("2", 1), 2);
    assert_int_equal(yv_proc_parse_pid("4194304", 7), 4194304);
    assert_int_equal(yv_proc_parse_pid("4194305", 7), -1);
    assert_int_equal(yv_proc_parse_pid("1", 1), -1); /* init */
    assert_int_equal(yv_proc_parse_pid("0", 1), -1); /* kill(0) is our own group */
    assert_int_equal(yv_proc_parse_pid("0123", 4), -1);
    assert_int_equal(yv_proc_parse_pid("-1", 2), -1);
    assert_int_equal(yv_proc_parse_pid("12 ", 3), -1);
    assert_int_equal(yv_proc_parse_pid(" 12", 3), -1);
    assert_int_equal(yv_proc_parse_pid("12\n\n", 4), -1);
    assert_int_equal(yv_proc_parse_pid("", 0), -1);
    assert_int_equal(yv_proc_parse_pid("\n", 1), -1);
    assert_int_equal(yv_proc_parse_pid("99999999999", 11), -1);
    /* only len bytes are read: no terminator needed */
    assert_int_equal(yv_proc_parse_pid("42garbage", 2), 42);
}

static void test_pidfile(void **state)
{
    char *dir = *state;
    char *path = yv_root_join(dir, "vm.pid");
    assert_int_equal(yv_proc_pidfile_pid(path), 0);
    assert_int_equal(yv_proc_pidfile_holder(path), 0);
    ut_write(dir, "vm.pid", "4242\n");
    assert_int_equal(yv_proc_pidfile_pid(path), 4242);
    assert_int_equal(yv_proc_pidfile_holder(path), 0);
    ut_write(dir, "vm.pid", "4242x\n");
    assert_int_equal(yv_proc_pidfile_pid(path), 0);

    /* a child holds the lock, as QEMU does on its pidfile */
    pid_t pid = ut_child(path, false);
    pid_t holder = yv_proc_pidfile_holder(path);
    /* a live process that is not the one being looked for */
    char *self = ut_exe_of(pid); /* our binary, or valgrind's tool when run under valgrind */
    bool child_is_us = yv_proc_is_exe(pid, self);
    bool child_is_sh = yv_proc_is_exe(pid, "/bin/sh");
    bool alive = !yv_proc_exited(pid);
    kill(pid, SIGKILL);
    /* killed but not reaped: a zombie has exited */
    usleep(50 * 1000);
    bool zombie_exited = yv_proc_exited(pid);
    waitpid(pid, NULL, 0);
    assert_int_equal(holder, pid);
    assert_true(child_is_us);
    assert_false(child_is_sh);
    assert_true(alive);
    assert_true(zombie_exited);
    assert_true(yv_proc_exited(pid));
    assert_false(yv_proc_is_exe(pid, self));
    assert_int_equal(yv_proc_pidfile_holder(path), 0);
    free(self);
    free(path);
}

static void test_self(void **state)
{
    (void)state;
    char *self = yv_proc_self_exe();
    assert_true(self[0] == '/');
    ut_assert_contains(self, "test_proc");
    assert_true(yv_proc_is_exe(getpid(), self));
    assert_false(yv_proc_exited(getpid()));
    free(self);
}

/* The field after the command name in /proc/PID/stat: index 0 is the state. */
static long stat_field(pid_t pid, int index)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')') + 2;
    for (int i = 0; i < index; i++) p = strchr(p, ' ') + 1;
    return strtol(p, NULL, 10);
}

/* The pid a pidfd refers to, from its fdinfo: -1 once that process was reaped. */
static long pidfd_pid(int pidfd)
{
    char path[64], line[128];
    long pid = 0;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Pid: %ld", &pid) == 1) break;
    fclose(f);
    return pid;
}

/* A daemon: it runs on after the call, not our child, in a session it does not lead, cwd /,
 * umask 027, stdin/stdout /dev/null, stderr the log (begun anew), nothing else of ours open. */
static void test_daemon(void **state)
{
    char *dir = *state;
    yv_err err;
    char *log = yv_root_join(dir, "qemu.log");
    int mine = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: it must not reach the daemon */
    char *a1[] = {"/bin/sh", "-c",
                  "echo starting >&2; echo not-logged; umask >&2; pwd >&2; "
                  "ls /proc/self/fd >&2; read x || echo eof >&2; exec sleep 30",
                  NULL};
    char *env[] = {"X=1", NULL};
    pid_t pid;
    int pidfd;
    assert_int_equal(yv_proc_daemon(a1, env, log, &pid, &pidfd, &err), 0);
    /* no pidfds: valgrind, which runs posix_spawn's vfork as a fork, so an exec error is the
     * child's exit 127 there and not posix_spawn's answer */
    bool valgrind = pidfd < 0;
    close(mine);
    assert_true(pid > 0);
    assert_int_not_equal(stat_field(pid, 1), getpid()); /* ppid */
    assert_int_not_equal(stat_field(pid, 3), pid);      /* its session: not its leader */
    assert_int_not_equal(stat_field(pid, 3), getsid(0));
    if (!valgrind) assert_int_equal(pidfd_pid(pidfd), pid);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no child of ours left */
    assert_int_equal(errno, ECHILD);
    char *text = NULL;
    for (int i = 0; i < 500 && !(text && strstr(text, "eof")); i++) {
        free(text);
        usleep(10000);
        text = ut_read(dir, "qemu.log");
    }
    /* the fds the shell lists: 0 1 2, and the one of ls itself */
    assert_string_equal(text, "starting\n0027\n/\n0\n1\n2\n3\neof\n");
    free(text);
    assert_int_equal(ut_mode(dir, "qemu.log"), 0600);
    assert_true(yv_proc_end(pid, pidfd, 1000));
    if (pidfd >= 0) close(pidfd);
    /* a daemon that ends in its start-up: its reason from the log, which each start begins anew */
    char *a2[] = {"/bin/sh", "-c", "echo boom >&2; echo second >&2; exit 4", NULL};
    assert_int_equal(yv_proc_daemon(a2, env, log, &pid, &pidfd, &err), 0);
    assert_true(yv_proc_wait_exit(pid, pidfd, 5000));
    /* a pidfd even on a daemon that ended (and was reaped) before the call returned: it was
     * opened while the daemon was the intermediate's child, so it is this daemon's and no later
     * holder's of its pid */
    if (!valgrind) {
        assert_true(pidfd >= 0);
        long p2 = pidfd_pid(pidfd);
        assert_true(p2 == pid || p2 == -1);
    }
    if (pidfd >= 0) close(pidfd);
    assert_int_equal(yv_proc_daemon_failed("/bin/sh", log, &err), -1);
    assert_int_equal(err.code, YV_E_TOOL_FAILED);
    assert_string_equal(err.msg, "sh failed: boom / second");
    char *a3[] = {"no-such-program-yave", NULL};
    assert_int_equal(yv_proc_daemon(a3, env, log, &pid, &pidfd, &err), -1);
    assert_int_equal(err.code, YV_E_TOOL_FAILED);
    ut_write(dir, "notelf", "\177ELF, not really"); /* found, executable, but no program */
    char *bad = yv_root_join(dir, "notelf");
    assert_int_equal(chmod(bad, 0755), 0);
    char *a4[] = {bad, NULL};
    if (!valgrind) {
        assert_int_equal(yv_proc_daemon(a4, env, log, &pid, &pidfd, &err), -1);
        assert_int_equal(err.code, YV_E_TOOL_FAILED);
        ut_assert_contains(err.msg, "cannot execute ");
    }
    free(bad);
    free(log);
    log = yv_root_join(dir, "missing/qemu.log");
    assert_int_equal(yv_proc_daemon(a1, env, log, &pid, &pidfd, &err), -1);
    assert_int_equal(err.code, YV_E_IO);
    free(log);
}

/* The cancel flag is a parameter (yave-web runs creates in threads): each run watches its own
 * flag. One raised stops its own tool at once (sleep 60: not waited for), and no other. */
typedef struct {
    volatile sig_atomic_t flag;
    const char *secs;
    int rc;
    yv_err err;
} runner;

static void *run_cancellable(void *arg)
{
    runner *r = arg;
    char *argv[] = {"sleep", (char *)r->secs, NULL};
    r->rc = yv_proc_run(argv, NULL, &r->flag, &r->err);
    return NULL;
}

static void test_cancel_flag_is_a_parameter(void **state)
{
    (void)state;
    static runner long_run = {0, "60", 0, {0}}, short_run = {0, "1", 0, {0}};
    pthread_t th[2];
    assert_int_equal(pthread_create(&th[0], NULL, run_cancellable, &long_run), 0);
    assert_int_equal(pthread_create(&th[1], NULL, run_cancellable, &short_run), 0);
    usleep(300 * 1000); /* the tools run */
    int64_t t0 = yv_now_ms();
    long_run.flag = 1;
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    assert_int_equal(long_run.rc, -1);
    assert_string_equal(long_run.err.msg, "sleep killed by signal 15");
    assert_true(yv_now_ms() - t0 < 30000); /* a bound on a hang: sleep 60 was not waited for */
    assert_int_equal(short_run.rc, 0);     /* its flag never went up: it ran to its end */
}

/* Signals go through the pidfd when there is one, else kill(); the wait sees the exit either way
 * (a zombie counts as gone). */
static void test_pidfd_signal_wait(void **state)
{
    (void)state;
    for (int with_pidfd = 0; with_pidfd < 2; with_pidfd++) {
        pid_t pid = ut_child(NULL, true);
        int pidfd = with_pidfd ? yv_proc_pidfd_open(pid) : -1;
        if (with_pidfd && pidfd < 0) assert_int_equal(errno, ENOSYS); /* valgrind: no pidfds */
        yv_proc_signal(pid, pidfd, SIGTERM);
        assert_false(yv_proc_wait_exit(pid, pidfd, 200)); /* ignored */
        yv_proc_signal(pid, pidfd, SIGKILL);
        assert_true(yv_proc_wait_exit(pid, pidfd, 5000));
        assert_true(yv_proc_wait_exit(pid, pidfd, 0));
        if (pidfd >= 0) close(pidfd);
        waitpid(pid, NULL, 0);
    }
    /* a pid that is gone: no pidfd (ESRCH) */
    pid_t pid = ut_child(NULL, true);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    errno = 0;
    assert_int_equal(yv_proc_pidfd_open(pid), -1);
    assert_true(errno == ESRCH || errno == ENOSYS);
}

/* yv_proc_has_arg: an argument matched whole (not a prefix, not two joined), none of a process
 * that is gone. */
static void test_has_arg(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the shell keeps its argv while it waits for sleep (a last command would be exec'd);
         * a group of its own, ended whole with its sleep */
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", "sleep 30; exit 0", "x", "a,id=b", (char *)NULL);
        _exit(127);
    }
    int64_t end = yv_now_ms() + 5000; /* until the exec is done */
    while (!yv_proc_has_arg(pid, "a,id=b") && yv_now_ms() < end) usleep(1000);
    assert_true(yv_proc_has_arg(pid, "a,id=b"));
    assert_true(yv_proc_has_arg(pid, "sleep 30; exit 0"));
    assert_false(yv_proc_has_arg(pid, "a,id"));
    assert_false(yv_proc_has_arg(pid, "a,id=bc"));
    assert_false(yv_proc_has_arg(pid, "30a,id=b"));
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_false(yv_proc_has_arg(pid, "x"));
}

/* yv_proc_end: SIGTERM, then SIGKILL once term_ms has passed without an exit. */
static void test_end_escalates(void **state)
{
    (void)state;
    pid_t pid = ut_child(NULL, true);
    int pidfd = yv_proc_pidfd_open(pid);
    int64_t t0 = yv_now_ms();
    assert_true(yv_proc_end(pid, pidfd, 300));
    int64_t took = yv_now_ms() - t0;
    assert_true(took >= 250 && took < 5000);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    if (pidfd >= 0) close(pidfd);
    /* a process that obeys SIGTERM is not killed */
    pid = fork();
    if (pid == 0) {
        for (;;) pause();
    }
    usleep(50 * 1000);
    pidfd = yv_proc_pidfd_open(pid);
    assert_true(yv_proc_end(pid, pidfd, 5000));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    if (pidfd >= 0) close(pidfd);
}

/* What ships beside the binary is found by a path relative to its folder, canonical. */
static void test_sibling(void **state)
{
    (void)state;
    char *self = yv_proc_self_exe(), *dir = yv_proc_self_dir();
    assert_true(strlen(dir) < strlen(self) && !strncmp(self, dir, strlen(dir)));
    assert_string_equal(self + strlen(dir), "/test_proc");
    const char *const plain[] = {"no-such-dir/%s", "%s", NULL};
    char *found = yv_proc_sibling(plain, "test_proc", X_OK); /* the first that exists */
    assert_non_null(found);
    assert_string_equal(found, self);
    free(found);
    char *rel = yv_asprintf("../%s/./%%s", strrchr(dir, '/') + 1);
    const char *const up[] = {rel, NULL};
    found = yv_proc_sibling(up, "test_proc", R_OK);
    assert_non_null(found);
    assert_string_equal(found, self); /* canonical */
    free(found);
    free(rel);
    assert_null(yv_proc_sibling(plain, "no-such-file-yave", F_OK));
    free(self);
    free(dir);
}

/* CPU and uptime of a real child that spins: a share of a core once two samples exist, an uptime
 * counted from its start, and nothing (false, values kept) once it is gone. */
static void test_sampler(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        for (;;) {
        }
    yv_proc_sampler s;
    yv_proc_sampler_init(&s, pid);
    double cpu = -1;
    long up = -1;
    assert_true(yv_proc_sample(&s, yv_now_ms(), &cpu, &up));
    assert_true(cpu == -1); /* one sample says nothing about CPU */
    assert_true(up >= 0 && up <= 5);
    int64_t t0 = yv_now_ms();
    while (yv_now_ms() - t0 < 300) poll(NULL, 0, 50);
    assert_true(yv_proc_sample(&s, yv_now_ms(), &cpu, &up));
    assert_true(cpu > 0 && cpu <= 101); /* it ran, on at most one core */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    double before = cpu;
    assert_false(yv_proc_sample(&s, yv_now_ms(), &cpu, &up));
    assert_true(cpu == before);
    yv_proc_sampler_done(&s);
    assert_int_equal(s.fd, -1);
    yv_proc_sampler_init(&s, 0); /* no process: no sample */
    assert_false(yv_proc_sample(&s, yv_now_ms(), &cpu, &up));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_which, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_run_ok),
        cmocka_unit_test(test_cancel_flag_is_a_parameter),
        cmocka_unit_test(test_pidfd_signal_wait),
        cmocka_unit_test(test_end_escalates),
        cmocka_unit_test(test_has_arg),
        cmocka_unit_test(test_sibling),
        cmocka_unit_test_setup_teardown(test_run_failures, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_run_output),
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_clean_child_state),
        cmocka_unit_test(test_parse_pid),
        cmocka_unit_test(test_heap_off_brk),
        cmocka_unit_test_setup_teardown(test_pidfile, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_self),
        cmocka_unit_test(test_sampler),
        cmocka_unit_test_setup_teardown(test_daemon, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
