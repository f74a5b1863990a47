#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "root.h"
#include "util.h"

#define OUT_MAX  (1024 * 1024)
#define TAIL_MAX 2048

/* Why (issue 16): under shadow paging (PVM, the machines YAVE is measured on) the first write to
 * the brk heap costs 0.1-0.3 ms: the heap begins up to 32 MiB past the program, where no page table
 * exists yet. An mmap'd arena lands next to the libraries, whose page tables exist: its first
 * write costs ~10 us, as any other page. Measured on a forced stop (60 alternating rounds): our own
 * time, spawn to quit written plus QEMU gone to exit, 5.92 -> 5.73 ms. On ordinary hardware both
 * cost ~1 us and this is one mmap for nothing.
 * MAP_FIXED_NOREPLACE never replaces a mapping: where something already sits there it fails, and
 * brk could not grow anyway. */
void yv_proc_heap_off_brk(void)
{
    void *end = sbrk(0);
    if (end == (void *)-1) return;
    void *guard = mmap(end, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    (void)guard; /* MAP_FAILED: brk grows as before */
}

char *yv_proc_which(const char *prog)
{
    if (strchr(prog, '/')) return access(prog, X_OK) == 0 ? yv_strdup(prog) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    char *copy = yv_strdup(path), *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *cand = yv_asprintf("%s/%s", dir, prog);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            free(copy);
            return cand;
        }
        free(cand);
    }
    free(copy);
    return NULL;
}

/* In the child: default dispositions, empty mask, no inherited descriptors beyond 0-2. */
static void child_exec(const char *path, char *const argv[], char *const envp[], int out_fd,
                       int err_fd)
{
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int nul = open("/dev/null", O_RDWR);
    if (nul < 0) _exit(127);
    dup2(nul, 0);
    dup2(out_fd >= 0 ? out_fd : nul, 1);
    dup2(err_fd, 2);
    closefrom(3);
    execve(path, argv, envp);
    dprintf(2, "cannot execute %s: %s\n", path, strerror(errno));
    _exit(127);
}

typedef struct {
    char *buf;
    size_t len, cap, max;
} sink;

static void sink_add(sink *s, const char *p, size_t n, bool keep_tail)
{
    if (keep_tail && s->len + n > s->max) { /* keep only the last max bytes */
        if (n >= s->max) {
            p += n - s->max;
            n = s->max;
            s->len = 0;
        } else {
            size_t drop = s->len + n - s->max;
            memmove(s->buf, s->buf + drop, s->len - drop);
            s->len -= drop;
        }
    } else if (!keep_tail && s->len + n > s->max) {
        n = s->max - s->len;
    }
    if (s->len + n + 1 > s->cap) {
        s->cap = s->len + n + 1 > 2 * s->cap ? s->len + n + 1 : 2 * s->cap;
        s->buf = yv_realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

/* Drains both pipes until EOF. When the cancel flag goes up, the tool gets SIGTERM, and SIGKILL
 * 5 s later if its pipes are still open: a signal handler's EINTR, or the 200 ms tick, notices the
 * flag even while the tool prints nothing. */
static void drain(pid_t pid, int out_fd, int err_fd, volatile sig_atomic_t *cancel_flag, sink *out,
                  sink *tail)
{
    struct pollfd p[2] = {{err_fd, POLLIN, 0}, {out_fd, POLLIN, 0}};
    int open_fds = out_fd >= 0 ? 2 : 1;
    int64_t kill_at = 0; /* when SIGKILL follows the SIGTERM */
    char buf[4096];
    while (open_fds > 0) {
        if (!kill_at && cancel_flag && *cancel_flag) {
            kill(pid, SIGTERM);
            kill_at = yv_now_ms() + 5000;
        } else if (kill_at > 0 && yv_now_ms() >= kill_at) {
            kill(pid, SIGKILL);
            kill_at = -1;
        }
        if (poll(p, 2, cancel_flag && kill_at >= 0 ? 200 : -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents) continue;
            ssize_t r = read(p[i].fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                p[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0) sink_add(tail, buf, (size_t)r, true);
            else sink_add(out, buf, (size_t)r, false);
        }
    }
}

/* The last non-empty lines of a tool's stderr, joined with " / " to keep the message on one line.
 */
static void tail_lines(const char *s, char *dst, size_t cap)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) n--;
    size_t start = n;
    int lines = 0;
    while (start > 0 && lines < 3) {
        start--;
        if (s[start] == '\n') lines++;
    }
    if (s[start] == '\n') start++;
    size_t j = 0;
    for (size_t i = start; i < n && j + 4 < cap; i++) {
        if (s[i] == '\n') {
            memcpy(dst + j, " / ", 3);
            j += 3;
        } else if ((unsigned char)s[i] >= 0x20 || s[i] == '\t') {
            dst[j++] = s[i];
        }
    }
    dst[j] = '\0';
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Waits for a child; its wait status. */
static int wait_status(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

static bool status_ok(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A tool's failure as one message: "<tool> failed (exit N): <tail>" or "<tool> killed by signal N:
 * <tail>". */
static int status_error(int status, const char *path, const char *tail, yv_err *err)
{
    if (WIFSIGNALED(status))
        return yv_err_set(err, YV_E_TOOL_FAILED, "%s killed by signal %d%s%s", base_name(path),
                          WTERMSIG(status), *tail ? ": " : "", tail);
    return yv_err_set(err, YV_E_TOOL_FAILED, "%s failed (exit %d)%s%s", base_name(path),
                      WEXITSTATUS(status), *tail ? ": " : "", tail);
}

/* The last lines of a log file, for an error message. */
static void log_tail(const char *path, char *dst, size_t cap)
{
    char buf[TAIL_MAX + 1];
    dst[0] = '\0';
    int fd = yv_root_open(path, O_RDONLY | O_NONBLOCK, 0);
    if (fd < 0) return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > TAIL_MAX ? end - TAIL_MAX : 0;
    ssize_t n = pread(fd, buf, (size_t)(end - start), start);
    close(fd);
    if (n <= 0) return;
    buf[n] = '\0';
    tail_lines(buf, dst, cap);
}

/* How the child we ran (pid < 0: the fork failed) ended: 0 on exit 0, else its failure with the
 * last lines it said: its captured stderr (tail), or its log (log_path), read only then. */
static int reap(pid_t pid, const char *path, const char *tool, const char *tail,
                const char *log_path, yv_err *err)
{
    if (pid < 0) return yv_err_sys(err, YV_E_IO, errno, "cannot run %s", tool);
    int status = wait_status(pid);
    if (status_ok(status)) return 0;
    char t[TAIL_MAX + 64];
    if (log_path) log_tail(log_path, t, sizeof t);
    else tail_lines(tail, t, sizeof t);
    return status_error(status, path, t, err);
}

/* The program's path, or NULL with TOOL_FAILED saying how to get it. */
static char *which_or_err(const char *prog, yv_err *err)
{
    char *path = yv_proc_which(prog);
    if (!path)
        yv_err_set(err, YV_E_TOOL_FAILED,
                   "%s: program not found (install it or set its path in config.yaml)", prog);
    return path;
}

int yv_proc_run_output(char *const argv[], char *const envp[], volatile sig_atomic_t *cancel,
                       char **out, yv_err *err)
{
    static char *const min_env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
    char *path = which_or_err(argv[0], err);
    if (!path) return -1;
    int ep[2], op[2] = {-1, -1};
    if (pipe2(ep, O_CLOEXEC) < 0 || (out && pipe2(op, O_CLOEXEC) < 0)) {
        free(path);
        return yv_err_sys(err, YV_E_IO, errno, "cannot run %s", argv[0]);
    }
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        /* a tool ends with us: a create killed by SIGKILL leaves no qemu-img writing into the
         * folder that the next command removes (SIGTERM: qemu-img cleans up and exits) */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127); /* we died before the line above */
        child_exec(path, argv, envp ? envp : min_env, op[1], ep[1]);
    }
    close(ep[1]);
    if (op[1] >= 0) close(op[1]);
    sink tail = {0}, o = {0};
    tail.max = TAIL_MAX;
    o.max = OUT_MAX;
    if (pid > 0) drain(pid, op[0], ep[0], cancel, &o, &tail);
    close(ep[0]);
    if (op[0] >= 0) close(op[0]);
    int rc = reap(pid, path, argv[0], tail.buf ? tail.buf : "", NULL, err);
    free(tail.buf);
    free(path);
    if (out && rc == 0) *out = o.buf ? o.buf : yv_strdup("");
    else free(o.buf);
    return rc;
}

int yv_proc_run(char *const argv[], char *const envp[], volatile sig_atomic_t *cancel, yv_err *err)
{
    return yv_proc_run_output(argv, envp, cancel, NULL, err);
}

pid_t yv_proc_parse_pid(const char *text, size_t len)
{
    long v = 0;
    size_t i = 0;
    if (len > 0 && text[len - 1] == '\n') len--;
    if (len == 0 || len > 10) return -1;
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return -1;
        v = v * 10 + (text[i] - '0');
    }
    if (text[0] == '0' || v <= 1 || v > 4194304) return -1; /* pid_max on 64-bit Linux */
    return (pid_t)v;
}

pid_t yv_proc_pidfile_fd_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    pid_t p = n > 0 ? yv_proc_parse_pid(buf, (size_t)n) : 0;
    return p > 0 ? p : 0;
}

/* of(fd) on the pidfile at path, opened for the call; 0 when it cannot be opened. */
static pid_t on_pidfile(const char *path, pid_t (*of)(int fd))
{
    int fd = yv_root_open(path, O_RDONLY | O_NONBLOCK, 0);
    if (fd < 0) return 0;
    pid_t p = of(fd);
    close(fd);
    return p;
}

pid_t yv_proc_pidfile_pid(const char *path)
{
    return on_pidfile(path, yv_proc_pidfile_fd_pid);
}

pid_t yv_proc_pidfile_holder(const char *path)
{
    return on_pidfile(path, yv_proc_pidfile_fd_holder);
}

pid_t yv_proc_pidfile_fd_holder(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK) return 0;
    return fl.l_pid > 0 ? fl.l_pid : -1;
}

bool yv_proc_has_arg(pid_t pid, const char *arg)
{
    enum { MAX = 256 * 1024 };
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char *buf = yv_malloc(MAX + 1);
    size_t len = 0;
    ssize_t r;
    while (len < MAX && ((r = read(fd, buf + len, MAX - len)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0) len += (size_t)r;
    close(fd);
    bool found = false;
    buf[len] = '\0'; /* the last argument ends with its NUL; one cut short ends here */
    for (size_t at = 0; len < MAX && !found && at < len; at += strlen(buf + at) + 1)
        found = !strcmp(buf + at, arg);
    free(buf);
    return found;
}

bool yv_proc_exe(pid_t pid, char *buf, size_t n)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t len = readlink(link, buf, n - 1);
    if (len <= 0) return false;
    buf[len] = '\0';
    static const char deleted[] = " (deleted)";
    size_t dl = sizeof deleted - 1;
    if ((size_t)len > dl && !strcmp(buf + len - dl, deleted)) buf[len - dl] = '\0';
    return true;
}

bool yv_proc_is_exe_real(pid_t pid, const char *want)
{
    char target[4096];
    return yv_proc_exe(pid, target, sizeof target) && !strcmp(target, want);
}

bool yv_proc_is_exe(pid_t pid, const char *exe)
{
    char *real = realpath(exe, NULL);
    bool same = yv_proc_is_exe_real(pid, real ? real : exe);
    free(real);
    return same;
}

bool yv_proc_exited(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return true;
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')'); /* the comm field may hold spaces and parentheses */
    return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X';
}

int yv_proc_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

void yv_proc_signal(pid_t pid, int pidfd, int sig)
{
    if (pidfd >= 0) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    else kill(pid, sig);
}

bool yv_proc_wait_exit(pid_t pid, int pidfd, int64_t ms)
{
    int64_t deadline = yv_now_ms() + ms;
    for (;;) {
        int64_t left = deadline - yv_now_ms();
        if (pidfd < 0) {
            if (yv_proc_exited(pid)) return true;
            if (left <= 0) return false;
            usleep(10 * 1000);
            continue;
        }
        struct pollfd p = {pidfd, POLLIN, 0};
        int r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r > 0) return true;
        if (r == 0 || errno != EINTR) return yv_proc_exited(pid);
    }
}

bool yv_proc_end(pid_t pid, int pidfd, int term_ms)
{
    for (int sig = SIGTERM;; sig = SIGKILL) {
        yv_proc_signal(pid, pidfd, sig);
        if (yv_proc_wait_exit(pid, pidfd, sig == SIGTERM ? term_ms : 5000)) return true;
        if (sig == SIGKILL) return false;
    }
}

/* The intermediate of yv_proc_daemon: a child in our memory on a stack of its own until it exits
 * (CLONE_VM | CLONE_VFORK, as posix_spawn makes its own: where fork copied the page tables of all
 * we mapped, ~0.5 ms under PVM's shadow paging, issue 16) that takes the daemon's session, cwd and
 * umask (as QEMU's -daemonize did: /, 027), spawns the daemon and exits, so the daemon is not our
 * child and not its session's leader. Only system calls and posix_spawn (no malloc, no lock: its
 * actions were made before) run in it, with every signal blocked (a handler of ours must not run
 * in it). What it spawned comes back through a socket, not our memory (valgrind runs it as a
 * fork): the pid, the error, and a pidfd it opened on the daemon while the daemon was still its
 * child — no one could have reaped it, so the pidfd is the daemon's even if the daemon ended at
 * once and its pid was used again before we look. */
typedef struct {
    pid_t pid;
    int err;
} spawned;

typedef struct {
    const char *path;
    char *const *argv, *const *envp;
    const posix_spawn_file_actions_t *fa;
    const posix_spawnattr_t *at;
    int out; /* the socket the result goes to */
} mid_job;

/* The result, with fd (when >= 0) passed along. */
static bool send_spawned(int sock, const spawned *c, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {(void *)c, sizeof *c};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &fd, sizeof fd);
    }
    return sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)sizeof *c;
}

/* What send_spawned sent: 0, or -1 (the intermediate died first). *fd -1 when none came. */
static int recv_spawned(int sock, spawned *c, int *fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {c, sizeof *c};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n;
    *fd = -1;
    while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (n != (ssize_t)sizeof *c) return -1;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
        h->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(fd, CMSG_DATA(h), sizeof *fd);
    return 0;
}

static int mid_main(void *arg)
{
    const mid_job *j = arg;
    spawned c = {-1, 0};
    setsid();
    umask(027);
    c.err = chdir("/") < 0 ? errno : posix_spawn(&c.pid, j->path, j->fa, j->at, j->argv, j->envp);
    int fd = c.err ? -1 : (int)syscall(SYS_pidfd_open, c.pid, 0); /* -1 without pidfds */
    _exit(send_spawned(j->out, &c, fd) ? 0 : 1);
}

/* The daemon's pid and error, and in *pidfd a pidfd on it (-1 without pidfds). */
static spawned spawn_detached(const char *path, char *const argv[], char *const envp[],
                              const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
                              int *pidfd)
{
    /* a part of ours, unused while the child runs on it (CLONE_VFORK holds us until it exits),
     * and where sanitizers look for a stack; posix_spawn's own child gets a stack of its own */
    _Alignas(16) char stack[32 * 1024];
    spawned r = {-1, EIO};
    int p[2];
    *pidfd = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0) return (spawned){-1, errno};
    mid_job j = {path, argv, envp, fa, at, p[1]};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t mid = clone(mid_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &j);
    if (mid < 0) r.err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
    if (mid > 0) {
        spawned c = {-1, EIO};
        if (recv_spawned(p[0], &c, pidfd) == 0) r = c;
        wait_status(mid);
    }
    close(p[0]);
    return r;
}

/* stdin and stdout on /dev/null, the log as stderr, nothing else open; every signal default, none
 * blocked. */
static pid_t spawn_daemon(const char *path, char *const argv[], char *const envp[], int logfd,
                          int *pidfd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&fa, 0, 1);
    posix_spawn_file_actions_adddup2(&fa, logfd, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setsigmask(&at, &none);
    spawned r = spawn_detached(path, argv, envp, &fa, &at, pidfd);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (r.err) errno = r.err;
    return r.err ? -1 : r.pid;
}

int yv_proc_daemon(char *const argv[], char *const envp[], const char *log_path, pid_t *pid,
                   int *pidfd, yv_err *err)
{
    *pid = 0;
    *pidfd = -1;
    char *path = which_or_err(argv[0], err);
    if (!path) return -1;
    int logfd = yv_root_open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (logfd < 0) {
        free(path);
        return yv_root_open_error(err, errno, YV_E_IO, "cannot write", log_path);
    }
    pid_t p = spawn_daemon(path, argv, envp, logfd, pidfd);
    close(logfd);
    int rc = 0;
    if (p < 0) rc = yv_err_sys(err, YV_E_TOOL_FAILED, errno, "cannot execute %s", path);
    else *pid = p;
    free(path);
    return rc;
}

int yv_proc_daemon_failed(const char *prog, const char *log_path, yv_err *err)
{
    char t[TAIL_MAX + 64];
    log_tail(log_path, t, sizeof t);
    return yv_err_set(err, YV_E_TOOL_FAILED, "%s failed%s%s", base_name(prog), *t ? ": " : "", t);
}

/* Our own path, resolved once (a run asks three times: netdevup, netdevdown, YAVE_BIN; each
 * realpath is a readlink per path component). */
static char *self_exe;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void find_self(void)
{
    self_exe = realpath("/proc/self/exe", NULL);
}

char *yv_proc_self_exe(void)
{
    pthread_once(&self_once, find_self);
    return yv_strdup(self_exe ? self_exe : "/proc/self/exe");
}

char *yv_proc_self_dir(void)
{
    char *exe = yv_proc_self_exe(), *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    return exe;
}

char *yv_proc_sibling(const char *const *cands, const char *name, int mode)
{
    char *dir = yv_proc_self_dir(), *real = NULL;
    for (size_t i = 0; !real && cands[i]; i++) {
        char *rel = yv_asprintf(cands[i], name), *p = yv_asprintf("%s/%s", dir, rel);
        if (access(p, mode) == 0) real = realpath(p, NULL);
        free(p);
        free(rel);
    }
    free(dir);
    return real;
}

void yv_proc_sampler_init(yv_proc_sampler *s, pid_t pid)
{
    *s = (yv_proc_sampler){.pid = pid, .fd = -1};
}

void yv_proc_sampler_done(yv_proc_sampler *s)
{
    if (s->fd >= 0) close(s->fd);
    yv_proc_sampler_init(s, 0);
}

/* CPU ticks, start time (in ticks since boot) and state from /proc/PID/stat. */
static bool read_stat(yv_proc_sampler *s, unsigned long long *ticks, unsigned long long *start,
                      char *state)
{
    char buf[1024];
    if (s->fd < 0 && s->pid > 0) {
        snprintf(buf, sizeof buf, "/proc/%d/stat", (int)s->pid);
        s->fd = open(buf, O_RDONLY | O_CLOEXEC);
    }
    if (s->fd < 0) return false;
    ssize_t n = pread(s->fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return false; /* ESRCH: it is gone */
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut, st, sta;
    char letter;
    /* after ") ": state(3) ... utime(14) stime(15) ... starttime(22) */
    /* NOLINTNEXTLINE(cert-err34-c): kernel-written numbers, and a short match is rejected below */
    if (!p || sscanf(p + 2,
                     "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                     "%*d %*d %llu",
                     &letter, &ut, &st, &sta) != 4)
        return false;
    *ticks = ut + st;
    *start = sta;
    *state = letter;
    return true;
}

/* Seconds since boot, as /proc/uptime counts them (CLOCK_BOOTTIME: no system call, no file). */
static double since_boot(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0) return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long yv_proc_sampler_uptime(const yv_proc_sampler *s)
{
    if (!s->start) return -1;
    long tck = sysconf(_SC_CLK_TCK); /* from the auxiliary vector: no system call */
    double up = since_boot();
    return up > 0 ? (long)(up - (double)s->start / (double)tck) : -1;
}

/* Its CPU time in ns: by its CPU clock, or (none) by the file's ticks; its state when read. */
static bool cpu_time(yv_proc_sampler *s, long long *ns)
{
    unsigned long long ticks, start;
    struct timespec ts;
    bool first = !s->start;
    if (first && !read_stat(s, &ticks, &start, &s->state)) return false;
    if (first) s->start = start;
    if (first && s->pid > 0) s->has_clock = clock_getcpuclockid(s->pid, &s->clock) == 0;
    if (s->has_clock) {
        if (clock_gettime(s->clock, &ts) < 0) return false; /* it is gone */
        *ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        if (!first) s->state = 0;
        /* no CPU used since the last sample: is it stopped? (the file, now and then only) */
        if (s->at && *ns == s->cpu_ns && !read_stat(s, &ticks, &start, &s->state)) return false;
        return true;
    }
    if (!first && !read_stat(s, &ticks, &start, &s->state)) return false;
    *ns = (long long)(ticks * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
    return true;
}

bool yv_proc_sample(yv_proc_sampler *s, int64_t now_ms, double *cpu, long *uptime_s)
{
    long long ns;
    if (!cpu_time(s, &ns)) return false;
    *uptime_s = yv_proc_sampler_uptime(s);
    if (s->at && now_ms > s->at)
        *cpu = 100.0 * (double)(ns - s->cpu_ns) / 1e6 / (double)(now_ms - s->at);
    s->cpu_ns = ns;
    s->at = now_ms;
    return true;
}
