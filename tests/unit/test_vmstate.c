/* Unit tests of core/vmstate.c and the proof helpers of core/proc.c: strict pidfile parsing, the
 * query-status mapping, "QMP busy" detection, /proc/PID/exe checks, and that a pidfile naming some
 * other live process (locked or not) never makes a VM "running" and never gets that process
 * signalled. */
#include "unit.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "core/config.h"
#include "core/proc.h"
#include "core/vminfo.h"
#include "core/vmstate.h"

/* ---- yv_proc_parse_pid ---- */

static void test_parse_pid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        pid_t want;
    } cases[] = {
        {"", -1},
        {"\n", -1},
        {"0", -1},
        {"1", -1},
        {"-5", -1},
        {"12abc", -1},
        {"123\n", 123},
        {"123", 123},
        {"2", 2},
        {"00123", -1},
        {"0123\n", -1},
        {"99999999999", -1},
        {" 123", -1},
        {"123 ", -1},
        {"123\n\n", -1},
        {"+123", -1},
        {"4194304", 4194304},
        {"4194305", -1},
        {"2147483648", -1},
        {"12\n3", -1},
        {"0x10", -1},
        {"123\r\n", -1},
        {"99999999999999999999999", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pid_t got = yv_proc_parse_pid(cases[i].text, strlen(cases[i].text));
        if (got != cases[i].want)
            fail_msg("parse_pid(\"%s\") = %d, want %d", cases[i].text, (int)got,
                     (int)cases[i].want);
    }
    /* the length is honoured: no NUL needed, bytes past len ignored */
    assert_int_equal(yv_proc_parse_pid("4567junk", 4), 4567);
    assert_int_equal(yv_proc_parse_pid("45\n67", 3), 45);
}

static void test_pidfile_pid(void **state)
{
    const char *dir = *state;
    char *p = yv_asprintf("%s/x.pid", dir);
    assert_int_equal(yv_proc_pidfile_pid(p), 0); /* missing */
    ut_write(dir, "x.pid", "4242\n");
    assert_int_equal(yv_proc_pidfile_pid(p), 4242);
    ut_write(dir, "x.pid", "4242 junk\n");
    assert_int_equal(yv_proc_pidfile_pid(p), 0);
    ut_write(dir, "x.pid", "1\n");
    assert_int_equal(yv_proc_pidfile_pid(p), 0);
    ut_write(dir, "x.pid", "");
    assert_int_equal(yv_proc_pidfile_pid(p), 0);
    free(p);
}

/* ---- yv_vmstate_from_qmp ---- */

static void test_from_qmp(void **state)
{
    (void)state;
    static const struct {
        const char *status;
        yv_state want;
        const char *detail;
    } cases[] = {
        {"running", YV_STATE_RUNNING, ""},
        {"paused", YV_STATE_PAUSED, "paused"},
        {"prelaunch", YV_STATE_STARTING, ""},
        {"inmigrate", YV_STATE_STARTING, ""},
        {"shutdown", YV_STATE_SHUTTING_DOWN, ""},
        {"internal-error", YV_STATE_ERROR, "internal-error"},
        {"io-error", YV_STATE_ERROR, "io-error"},
        {"guest-panicked", YV_STATE_ERROR, "guest-panicked"},
        {"suspended", YV_STATE_PAUSED, "suspended"},
        {"debug", YV_STATE_PAUSED, "debug"},
    };
    char detail[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(detail, 'x', sizeof detail);
        yv_state s = yv_vmstate_from_qmp(cases[i].status, detail, sizeof detail);
        if (s != cases[i].want)
            fail_msg("%s → %s, want %s", cases[i].status, yv_vminfo_state_name(s),
                     yv_vminfo_state_name(cases[i].want));
        assert_string_equal(detail, cases[i].detail);
    }
    /* no status at all: QMP did not answer properly */
    assert_int_equal(yv_vmstate_from_qmp(NULL, detail, sizeof detail), YV_STATE_UNRESPONSIVE);
    /* a short detail buffer is truncated, not overrun */
    char small[5];
    assert_int_equal(yv_vmstate_from_qmp("internal-error", small, sizeof small), YV_STATE_ERROR);
    assert_string_equal(small, "inte");
    assert_string_equal(yv_vminfo_state_name(YV_STATE_ERROR), "error");
    assert_string_equal(yv_vminfo_state_name(YV_STATE_RUNNING), "running");
}

/* ---- yv_vmstate_qmp_busy ---- */

static void test_qmp_busy(void **state)
{
    const char *dir = *state;
    char *sock = yv_asprintf("%s/vm 1.sock", dir); /* a space: /proc/net/unix paths may hold them */
    assert_false(yv_vmstate_qmp_busy(sock, -1));   /* nothing there */
    assert_false(yv_vmstate_qmp_busy("/nonexistent/yave/run/x.sock", -1));
    int l = ut_unix_listen(sock, 4);
    assert_false(yv_vmstate_qmp_busy(sock, -1)); /* listening, nobody connected */
    int c = ut_unix_connect(sock, 0);
    int a = accept(l, NULL, NULL);
    assert_true(a >= 0);
    assert_true(yv_vmstate_qmp_busy(sock, -1)); /* a client was accepted: busy */
    char *other = yv_asprintf("%s/vm", dir);
    assert_false(yv_vmstate_qmp_busy(other, -1)); /* a prefix of the path is another path */
    free(other);
    close(a);
    close(c);
    assert_false(yv_vmstate_qmp_busy(sock, -1));
    close(l);
    free(sock);
}

/* Our own probe is never "another client": a server that accepted it and stays silent is hung, not
 * busy; a client waiting in the queue, or one that left, holds nothing. */
static void test_qmp_busy_not_by_our_own_probe(void **state)
{
    const char *dir = *state;
    char *sock = yv_asprintf("%s/x.sock", dir);
    int l = ut_unix_listen(sock, 4);
    int ours = ut_unix_connect(sock, 0);
    assert_false(yv_vmstate_qmp_busy(sock, ours)); /* queued, not accepted */
    int a1 = accept(l, NULL, NULL);
    assert_true(a1 >= 0);
    assert_false(yv_vmstate_qmp_busy(sock, ours)); /* accepted, silent: only us */
    assert_true(yv_vmstate_qmp_busy(sock, -1));    /* as anyone else sees it */
    int held = ut_unix_connect(sock, 0);           /* another client, accepted too */
    int a2 = accept(l, NULL, NULL);
    assert_true(a2 >= 0);
    assert_true(yv_vmstate_qmp_busy(sock, ours));
    close(held); /* it left; the server has not noticed yet */
    assert_false(yv_vmstate_qmp_busy(sock, ours));
    int queued = ut_unix_connect(sock, 0); /* waiting behind us, never accepted */
    assert_false(yv_vmstate_qmp_busy(sock, ours));
    close(queued);
    close(a2);
    close(a1);
    close(ours);
    close(l);
    free(sock);
}

/* ---- yv_vmstate_sock_holder: whom QEMU serves (the console's "in use" and "ours") ---- */

static void test_sock_holder(void **state)
{
    const char *dir = *state;
    char *sock = yv_asprintf("%s/vm.console", dir);
    assert_int_equal(yv_vmstate_sock_holder(sock, -1), YV_SOCK_FREE); /* nothing there */
    int l = ut_unix_listen(sock, 4);
    int ours = ut_unix_connect(sock, 0);
    int queued = ut_unix_connect(sock, 0);
    assert_int_equal(yv_vmstate_sock_holder(sock, ours), YV_SOCK_FREE); /* both queued */
    int a1 = accept(l, NULL, NULL);
    assert_true(a1 >= 0);
    assert_int_equal(yv_vmstate_sock_holder(sock, ours), YV_SOCK_OURS);    /* we won */
    assert_int_equal(yv_vmstate_sock_holder(sock, queued), YV_SOCK_OTHER); /* it lost */
    assert_true(yv_vmstate_sock_busy(sock, queued));
    assert_false(yv_vmstate_sock_busy(sock, ours));
    close(ours); /* we left: the one queued is not served yet, and holds nothing */
    assert_int_equal(yv_vmstate_sock_holder(sock, queued), YV_SOCK_FREE);
    close(a1);
    close(queued);
    close(l);
    free(sock);
}

/* ---- yv_proc_is_exe / yv_proc_exited ---- */

static void test_is_exe(void **state)
{
    (void)state;
    char *self = yv_proc_self_exe();
    assert_true(self[0] == '/');
    assert_true(yv_proc_is_exe(getpid(), self));
    assert_true(yv_proc_is_exe(getpid(), "/proc/self/exe")); /* resolved before comparing */
    char *sh = yv_proc_which("sh");
    assert_non_null(sh);
    assert_false(yv_proc_is_exe(getpid(), sh));
    assert_false(yv_proc_is_exe(getpid(), "/nonexistent/qemu"));
    /* a prefix of our path is another program */
    char *prefix = yv_strndup(self, strlen(self) - 1);
    assert_false(yv_proc_is_exe(getpid(), prefix));
    free(prefix);

    /* a child that execs sleep is sleep, not us */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sleep", "sleep", "5", (char *)NULL);
        _exit(127);
    }
    char *sleep_exe = yv_proc_which("sleep");
    bool ok = false;
    for (int i = 0; i < 200 && !ok; i++) { /* until the exec has happened */
        ok = yv_proc_is_exe(pid, sleep_exe);
        if (!ok) usleep(5000);
    }
    assert_true(ok);
    assert_false(yv_proc_is_exe(pid, self));
    assert_false(yv_proc_exited(pid));
    kill(pid, SIGKILL);
    /* killed but not reaped: a zombie counts as exited */
    for (int i = 0; i < 200 && !yv_proc_exited(pid); i++) usleep(5000);
    assert_true(yv_proc_exited(pid));
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    assert_true(yv_proc_exited(pid));
    assert_false(yv_proc_exited(getpid()));
    assert_false(yv_proc_is_exe(pid, sleep_exe)); /* gone */
    free(sleep_exe);
    free(sh);
    free(self);
}

/* ---- a pidfile naming an unrelated live process ---- */

typedef struct {
    char *root;
    pid_t child;
    int to_child, from_child;
} pid_fixture;

static int setup_pid(void **state)
{
    pid_fixture *f = yv_calloc(1, sizeof *f);
    f->root = ut_mkdtemp();
    *state = f;
    return 0;
}

static int teardown_pid(void **state)
{
    pid_fixture *f = *state;
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
    }
    if (f->to_child > 0) close(f->to_child);
    if (f->from_child > 0) close(f->from_child);
    ut_rmdir(f->root);
    free(f);
    return 0;
}

/* The child: waits for a byte; 'L' = take a write lock on the pidfile (path follows the byte up to
 * NUL), answers 'k'. It never exits on its own before 10 s. */
static void child_main(int in, int out)
{
    alarm(10);
    char cmd, path[4096];
    int lockfd = -1;
    for (;;) {
        if (read(in, &cmd, 1) != 1) _exit(0);
        if (cmd != 'L') continue;
        size_t n = 0;
        while (n + 1 < sizeof path && read(in, path + n, 1) == 1 && path[n]) n++;
        path[n] = '\0';
        lockfd = open(path, O_RDWR | O_CLOEXEC);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        char ok = (lockfd >= 0 && fcntl(lockfd, F_SETLK, &fl) == 0) ? 'k' : 'e';
        if (write(out, &ok, 1) != 1) _exit(1);
    }
}

static bool alive_unsignalled(pid_t pid)
{
    int status;
    return waitpid(pid, &status, WNOHANG) == 0 && kill(pid, 0) == 0;
}

static void test_live_pid_unrelated_process(void **state)
{
    pid_fixture *f = *state;
    int down[2], up[2];
    assert_int_equal(pipe2(down, O_CLOEXEC), 0);
    assert_int_equal(pipe2(up, O_CLOEXEC), 0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        close(down[1]);
        close(up[0]);
        child_main(down[0], up[1]);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    f->to_child = down[1];
    f->from_child = up[0];

    yv_config cfg;
    yv_err err;
    assert_int_equal(yv_config_load_string(&cfg, "config.yaml", "", f->root, &err), 0);
    ut_mkdir(f->root, "run");
    char *pidtext = yv_asprintf("%d\n", (int)f->child);
    ut_write(f->root, "run/x.pid", pidtext);
    char *pidfile = yv_vmstate_pidfile(f->root, "x");

    /* 1. the pidfile names a live process, unlocked: not our VM */
    assert_int_equal(yv_proc_pidfile_pid(pidfile), f->child);
    assert_int_equal(yv_proc_pidfile_holder(pidfile), 0);
    assert_int_equal(yv_vmstate_live_pid(f->root, &cfg, "x"), 0);
    assert_true(alive_unsignalled(f->child));

    /* 2. the child locks the pidfile as QEMU would: still not our VM, its exe is no QEMU */
    char cmd[4200];
    int n = snprintf(cmd, sizeof cmd, "L%s", pidfile);
    assert_int_equal(write(f->to_child, cmd, (size_t)n + 1), n + 1);
    char ack = 0;
    assert_int_equal(read(f->from_child, &ack, 1), 1);
    assert_int_equal(ack, 'k');
    assert_int_equal(yv_proc_pidfile_holder(pidfile), f->child);
    assert_int_equal(yv_vmstate_live_pid(f->root, &cfg, "x"), 0);
    assert_true(alive_unsignalled(f->child));

    /* control: were our test binary the configured QEMU, the same child would be the live VM. So
     * the 0 above comes from the exe check, not from a lock that went unseen. */
    yv_config mine = cfg;
    char *self = ut_exe_of(f->child); /* our binary, or valgrind's tool under valgrind */
    mine.cli_bin = self;
    assert_int_equal(yv_vmstate_live_pid(f->root, &mine, "x"), f->child);
    /* the proof a command carries: the same answers, with the pinned process (a pidfd, where the
     * system has them: not under valgrind) and the lock holder */
    yv_vmstate_proof p;
    assert_int_equal(yv_vmstate_prove(f->root, &mine, "x", &p), f->child);
    assert_int_equal(p.holder, f->child);
    if (p.pidfd < 0) assert_int_equal(yv_proc_pidfd_open(f->child), -1);
    yv_vmstate_proof_done(&p);
    assert_int_equal(p.pidfd, -1);
    assert_int_equal(yv_vmstate_prove(f->root, &cfg, "x", &p), 0); /* the exe is no QEMU */
    assert_int_equal(p.holder, f->child);
    assert_int_equal(p.pidfd, -1);
    /* …and a pidfile naming another pid than the holder is not trusted either */
    ut_write(f->root, "run/x.pid", "2\n");
    assert_int_equal(yv_vmstate_live_pid(f->root, &mine, "x"), 0);
    ut_write(f->root, "run/x.pid", pidtext); /* same inode: the lock stays */
    assert_int_equal(yv_proc_pidfile_holder(pidfile), f->child);

    /* 3. the full probe: a live non-QEMU holder is not ours to touch — stopped, files left alone,
     * nothing recorded as crashed */
    ut_write(f->root, "run/x.sock", "");
    ut_write(f->root, "run/x.events", "");
    yv_vmstate st;
    yv_vmstate_probe(f->root, &cfg, "x", 200, &st);
    assert_int_equal(st.pid, 0);
    assert_int_equal(st.state, YV_STATE_STOPPED);
    assert_true(ut_exists(f->root, "run/x.pid"));
    assert_false(ut_exists(f->root, "run/x.crashed"));
    assert_true(alive_unsignalled(f->child));
    yv_vmstate_reconcile(f->root, &cfg);
    assert_true(ut_exists(f->root, "run/x.pid"));
    assert_true(alive_unsignalled(f->child));
    assert_int_equal(yv_vmstate_tidy(f->root, &cfg, "x", &p), 0);
    assert_true(ut_exists(f->root, "run/x.pid"));
    assert_false(ut_exists(f->root, "run/x.crashed"));
    assert_true(alive_unsignalled(f->child));

    /* 4. the holder goes away: now the files are stale, cleaned, and the VM remembered as crashed;
     * the process named in the pidfile is never signalled by any of this */
    kill(f->child, SIGKILL);
    assert_int_equal(waitpid(f->child, NULL, 0), f->child);
    f->child = 0;
    /* the tidy of one VM (what a verb naming it does): x's stale files go and it is crashed; the
     * stale files of another VM y are left for list and status */
    ut_write(f->root, "run/y.pid", pidtext);
    ut_write(f->root, "run/y.sock", "");
    assert_int_equal(yv_vmstate_tidy(f->root, &cfg, "x", &p), 0);
    assert_int_equal(p.pidfd, -1);
    assert_false(ut_exists(f->root, "run/x.pid"));
    assert_false(ut_exists(f->root, "run/x.sock"));
    assert_true(ut_exists(f->root, "run/x.crashed"));
    assert_true(ut_exists(f->root, "run/y.pid"));
    assert_true(ut_exists(f->root, "run/y.sock"));
    assert_false(ut_exists(f->root, "run/y.crashed"));
    yv_vmstate_reconcile(f->root, &cfg);
    assert_false(ut_exists(f->root, "run/y.pid"));
    assert_true(ut_exists(f->root, "run/y.crashed"));
    yv_vmstate_probe(f->root, &cfg, "x", 200, &st);
    assert_int_equal(st.pid, 0);
    assert_int_equal(st.state, YV_STATE_CRASHED);
    assert_false(ut_exists(f->root, "run/x.pid"));
    assert_false(ut_exists(f->root, "run/x.sock"));
    assert_false(ut_exists(f->root, "run/x.events"));
    assert_true(ut_exists(f->root, "run/x.crashed"));

    free(self);
    free(pidfile);
    free(pidtext);
    yv_config_done(&cfg);
}

/* dst: a copy of the program src, executable. */
static void copy_program(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC),
        out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    assert_true(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(close(out), 0);
}

/* A child that locks pidfile as QEMU does and then runs prog (the lock lives on across the exec:
 * its descriptor is not close-on-exec), named argv0, for 10 s. */
static pid_t locked_child(const char *pidfile, const char *prog, const char *argv0)
{
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        int fd = open(pidfile, O_RDWR);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0) _exit(1);
        execl(prog, argv0, "10", (char *)NULL);
        _exit(127);
    }
    return c;
}

/* The proof names QEMU by its program's name: a QEMU that is not the one $PATH finds now (started
 * by yave-web under systemd's $PATH, or with cli.bin of another config) is still the live VM, with
 * no $PATH search; a program of another name is not. */
static void test_live_pid_qemu_by_name(void **state)
{
    pid_fixture *f = *state;
    yv_config cfg;
    yv_err err;
    assert_int_equal(yv_config_load_string(&cfg, "config.yaml", "", f->root, &err), 0);
    ut_mkdir(f->root, "run");
    ut_mkdir(f->root, "bin");
    char *fake = yv_asprintf("%s/bin/qemu-system-x86_64", f->root);
    copy_program("/bin/sleep", fake); /* not a QEMU of $PATH: a sleep under QEMU's name */
    ut_write(f->root, "run/x.pid", "");
    char *pidfile = yv_vmstate_pidfile(f->root, "x");
    f->child = locked_child(pidfile, fake, "qemu-system-x86_64");
    char *pidtext = yv_asprintf("%d\n", (int)f->child);
    ut_write(f->root, "run/x.pid", pidtext); /* in place: the child's lock stays */
    char exe[4096] = "";
    for (int i = 0; i < 500 && (yv_proc_pidfile_holder(pidfile) != f->child ||
                                !yv_proc_exe(f->child, exe, sizeof exe) || strcmp(exe, fake));
         i++)
        usleep(10 * 1000);
    assert_string_equal(exe, fake);
    assert_int_equal(yv_proc_pidfile_holder(pidfile), f->child);

    assert_int_equal(yv_vmstate_live_pid(f->root, &cfg, "x"), f->child);
    yv_vmstate_proof p;
    assert_int_equal(yv_vmstate_prove(f->root, &cfg, "x", &p), f->child);
    yv_vmstate_proof_done(&p);
    /* a configured QEMU of another name that does not exist: the name differs, the path too */
    yv_config other = cfg;
    other.cli_bin = "/nonexistent/qemu-kvm";
    assert_int_equal(yv_vmstate_live_pid(f->root, &other, "x"), 0);
    /* the same name under cli.bin's folder: the name is what counts */
    other.cli_bin = "/nonexistent/qemu-system-x86_64";
    assert_int_equal(yv_vmstate_live_pid(f->root, &other, "x"), f->child);
    assert_true(alive_unsignalled(f->child));

    free(pidtext);
    free(pidfile);
    free(fake);
    yv_config_done(&cfg);
}

/* An unlocked pidfile naming a live unrelated process is stale: probe cleans it without touching
 * the process. */
static void test_probe_unlocked_pidfile(void **state)
{
    pid_fixture *f = *state;
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        alarm(10);
        for (;;) pause();
    }
    yv_config cfg;
    yv_err err;
    assert_int_equal(yv_config_load_string(&cfg, "config.yaml", "", f->root, &err), 0);
    ut_mkdir(f->root, "run");
    char *pidtext = yv_asprintf("%d\n", (int)f->child);
    ut_write(f->root, "run/y.pid", pidtext);
    yv_vmstate st;
    yv_vmstate_probe(f->root, &cfg, "y", 200, &st);
    assert_int_equal(st.pid, 0);
    assert_int_equal(st.state, YV_STATE_CRASHED);
    assert_false(ut_exists(f->root, "run/y.pid"));
    assert_true(alive_unsignalled(f->child));
    /* a VM with no runtime files at all is simply stopped */
    yv_vmstate_probe(f->root, &cfg, "z", 200, &st);
    assert_int_equal(st.state, YV_STATE_STOPPED);
    assert_int_equal(st.pid, 0);
    free(pidtext);
    yv_config_done(&cfg);
}

/* The reconcile pass at start: run/ files that outlived their QEMU — a lone event socket too —
 * are removed and the VM remembered as crashed; files of other kinds and of other names stay. */
static void test_reconcile_removes_every_leftover(void **state)
{
    yv_config cfg;
    yv_err err;
    const char *root = *state;
    assert_int_equal(yv_config_load_string(&cfg, "config.yaml", "", root, &err), 0);
    ut_mkdir(root, "run");
    ut_write(root, "run/a.events", "");
    ut_write(root, "run/b.sock", "");
    ut_write(root, "run/b.events", "");
    ut_write(root, "run/c.d.pid", "1\n"); /* pid 1 holds no lock on it: stale */
    ut_write(root, "run/tui.log", "keep");
    ut_write(root, "run/notes.txt", "keep");
    yv_vmstate_reconcile(root, &cfg);
    assert_false(ut_exists(root, "run/a.events"));
    assert_false(ut_exists(root, "run/b.sock"));
    assert_false(ut_exists(root, "run/b.events"));
    assert_false(ut_exists(root, "run/c.d.pid"));
    assert_true(ut_exists(root, "run/a.crashed"));
    assert_true(ut_exists(root, "run/b.crashed"));
    assert_true(ut_exists(root, "run/c.d.crashed"));
    assert_true(ut_exists(root, "run/tui.log"));
    assert_true(ut_exists(root, "run/notes.txt"));
    yv_config_done(&cfg);
}

/* Without the root lock (run/lock cannot be opened) nothing in run/ is touched, and a status says
 * why the leftovers are still there. */
static void test_no_lock_touches_nothing(void **state)
{
    yv_config cfg;
    yv_err err;
    yv_vmstate st;
    const char *root = *state;
    assert_int_equal(yv_config_load_string(&cfg, "config.yaml", "", root, &err), 0);
    ut_mkdir(root, "run");
    ut_mkdir(root, "run/lock"); /* open(O_RDWR) of a folder fails */
    ut_write(root, "run/a.sock", "");
    ut_write(root, "run/b.pid", "1\n");
    yv_vmstate_reconcile(root, &cfg);
    yv_vmstate_probe(root, &cfg, "a", 500, &st);
    assert_true(ut_exists(root, "run/a.sock"));
    assert_true(ut_exists(root, "run/b.pid"));
    assert_false(ut_exists(root, "run/a.crashed"));
    assert_false(ut_exists(root, "run/b.crashed"));
    assert_int_equal(st.state, YV_STATE_STOPPED);
    assert_non_null(strstr(st.detail, "could not be removed"));
    yv_config_done(&cfg);
}

/* The first check of a verb on one VM: an invalid name is refused, a VM that is not there is
 * VM_NOT_FOUND, one whose proof names no QEMU is VM_NOT_RUNNING (only when the verb needs it
 * running), each with the message every verb gives. */
static void test_require(void **state)
{
    const char *root = *state;
    yv_err err;
    yv_vmstate_proof stopped = {0, 0, -1}, live = {4242, 4242, -1};
    ut_mkdir(root, "a.vm");
    assert_int_equal(yv_vmstate_require(root, "../a", NULL, &err), -1);
    assert_int_equal(err.code, YV_E_INVALID_NAME);
    assert_int_equal(yv_vmstate_require(root, "b", &live, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    assert_string_equal(err.msg, "no VM named 'b'");
    assert_int_equal(yv_vmstate_require(root, "a", &stopped, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_RUNNING);
    assert_string_equal(err.msg, "VM 'a' is not running");
    assert_int_equal(yv_vmstate_require(root, "a", NULL, &err), 0);
    assert_int_equal(yv_vmstate_require(root, "a", &live, &err), 0);
}

static void test_runtime_paths(void **state)
{
    (void)state;
    char *p = yv_vmstate_pidfile("/r", "vm1"), *s = yv_vmstate_sockfile("/r", "vm1"),
         *c = yv_vmstate_crashfile("/r", "vm1"), *ev = yv_vmstate_eventsfile("/r", "vm1");
    assert_string_equal(p, "/r/run/vm1.pid");
    assert_string_equal(s, "/r/run/vm1.sock");
    assert_string_equal(c, "/r/run/vm1.crashed");
    assert_string_equal(ev, "/r/run/vm1.events");
    /* a VM may be named "vm1.events": its files never meet vm1's */
    char *s2 = yv_vmstate_sockfile("/r", "vm1.events"),
         *p2 = yv_vmstate_pidfile("/r", "vm1.events");
    assert_string_not_equal(s2, ev);
    assert_string_not_equal(p2, ev);
    free(s2);
    free(p2);
    free(ev);
    free(p);
    free(s);
    free(c);
}

/* query-chardev's answer says whether the guest holds the agent's port open; any other shape (a
 * missing label, a non-boolean, not an array) is "no agent", never a crash. */
static void test_agent_open_in(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool open;
    } cases[] = {
        {"[{\"label\": \"console0\", \"frontend-open\": true},"
         " {\"label\": \"qga0\", \"frontend-open\": true}]",
         true},
        {"[{\"label\": \"qga0\", \"frontend-open\": false}]", false},
        {"[{\"label\": \"console0\", \"frontend-open\": true}]", false},
        {"[{\"label\": \"qga0\", \"frontend-open\": 1}]", false},
        {"[{\"label\": 7}, {\"label\": \"qga0\"}]", false},
        {"{\"label\": \"qga0\", \"frontend-open\": true}", false},
        {"[1, \"x\", null]", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_loads(cases[i].json, 0, NULL);
        assert_non_null(j);
        assert_int_equal(yv_vmstate_agent_open_in(j), cases[i].open);
        json_decref(j);
    }
    assert_false(yv_vmstate_agent_open_in(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pid),
        cmocka_unit_test_setup_teardown(test_pidfile_pid, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_from_qmp),
        cmocka_unit_test(test_agent_open_in),
        cmocka_unit_test_setup_teardown(test_qmp_busy, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_qmp_busy_not_by_our_own_probe, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_sock_holder, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_is_exe),
        cmocka_unit_test_setup_teardown(test_live_pid_unrelated_process, setup_pid, teardown_pid),
        cmocka_unit_test_setup_teardown(test_live_pid_qemu_by_name, setup_pid, teardown_pid),
        cmocka_unit_test_setup_teardown(test_probe_unlocked_pidfile, setup_pid, teardown_pid),
        cmocka_unit_test_setup_teardown(test_reconcile_removes_every_leftover, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_no_lock_touches_nothing, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test(test_runtime_paths),
        cmocka_unit_test_setup_teardown(test_require, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("vmstate", tests, NULL, NULL);
}
