/* faultshim: an LD_PRELOAD library that makes the Nth call of one file-system operation fail, so
 * a test can check that every operation that writes is all-or-nothing (test-fault.sh).
 *
 *   LD_PRELOAD=build/fault/faultshim.so YAVE_FAULT=rename:2:EIO yave-tui --batch … delete -n x
 *
 * Environment:
 *   YAVE_FAULT=<op>:<N>[:<errno>]  the Nth call (counting from 1) of <op> fails with errno (a name:
 *                                  ENOSPC (the default), EIO, EDQUOT, EROFS, EACCES, EPERM, EMFILE,
 *                                  ENOMEM, ENOENT, E2BIG, or a number). The call does nothing and
 *                                  returns -1 (NULL for fopen and mkdtemp). KILL instead of an
 *                                  errno: the process is killed with SIGKILL at that call.
 *                                  Extensions: `<op>:<N>+[:<errno>]` fails the Nth and every later
 *                                  call (a disk that stays full); several specs separated by commas
 *                                  (`rename:2,rename:3`: a failure, then a failing undo).
 *   YAVE_FAULT_LOG=<file>          appends one line per counted call: `<op> <n> <pid> <path>`, with
 *                                  ` FAULT <errno>` at the end of the call that was made to fail.
 *                                  The path is the file's (for write/fsync: /proc/self/fd's link).
 *                                  A run with only the log set learns how many calls an operation
 *                                  makes: `grep -c '^write '`.
 *   YAVE_FAULT_CHILDREN=1          also count (and fail) in descendants, see below.
 *
 * A malformed YAVE_FAULT makes the process print `faultshim: …` and exit 99 before main().
 *
 * The ops, and the calls each one counts (all through dlsym(RTLD_NEXT, …)):
 *   write      write
 *   fsync      fsync, fdatasync
 *   rename     rename, renameat
 *   renameat2  renameat2
 *   mkdir      mkdir, mkdirat, mkdtemp
 *   open       open, open64, openat, openat64, creat, creat64, __open_2, __open64_2, __openat_2,
 *              __openat64_2, fopen, fopen64, and the mkstemp family (mkstemp, mkostemp, mkstemps,
 *              mkostemps and their *64) — ONLY those that create or may write: O_WRONLY, O_RDWR or
 *              O_CREAT (fopen: a mode with w, a or +; mkstemp always creates). Opens for reading
 *              (configs, /proc, the folder of an fsync) are not counted, so reading another file
 *              does not shift the numbering of the opens that matter.
 *   exec       execve, execv, execvp, execvpe. The call returns -1 with the errno in the forked
 *              child; what the child does then is the program's business (ours prints the error
 *              and _exits 127, which the parent reports as a tool failure). Also posix_spawn and
 *              posix_spawnp (QEMU's launcher, ssh): counted in the caller, the error returned as
 *              posix_spawn's own (glibc's exec inside it does not go through the PLT).
 *   send       send, sendto, sendmsg (an extra: QMP talks over send, so a failing QMP exchange
 *              right after QEMU started can be injected).
 * glibc's own internal calls (printf's write, mkostemp's open, execvp's execve) do not go through
 * the PLT, so they are not seen twice, and stdio output to stdout/stderr is not counted at all.
 *
 * Which process counts — the rule:
 *   - The *owner* is the process in which the shim first starts with YAVE_FAULT or YAVE_FAULT_LOG
 *     set. It exports YAVE_FAULT_OWNER=<its pid> into its own environment at start.
 *   - The counters live in a MAP_SHARED anonymous page made by the owner, so a child forked by the
 *     owner shares them (an exec in the second forked child is the second exec).
 *   - In a forked child (getpid() differs from the owner's, the shim's state inherited by fork),
 *     only exec is counted: the exec a child makes is the parent's operation (starting qemu-img),
 *     while the child's own set-up between fork and exec (opening /dev/null, dup2) must not shift
 *     the owner's numbering nor fail.
 *   - After an exec, the shim starts afresh in the new program: if YAVE_FAULT_OWNER is set and is
 *     not its own pid, it is a descendant and the shim stays off — qemu-img and QEMU work normally.
 *     (yave itself gives its children an explicit environment without LD_PRELOAD, so they never
 *     load the shim at all; the rule matters for programs that pass environ on.)
 *   - YAVE_FAULT_CHILDREN=1: forked children count every op in the shared counters too, and each
 *     exec'd descendant counts its own calls from 1 with the same YAVE_FAULT.
 *
 * Build: gcc -Wall -Wextra -Werror -fPIC -shared -o faultshim.so faultshim.c -ldl
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OP_WRITE, OP_FSYNC, OP_RENAME, OP_RENAMEAT2, OP_MKDIR, OP_OPEN, OP_EXEC, OP_SEND, NOPS };
static const char *const op_names[NOPS] = {"write", "fsync", "rename", "renameat2",
                                           "mkdir", "open",  "exec",   "send"};

/* Not an errno: the call does not return, the process is killed (SIGKILL) at it, as an OOM kill or
 * `kill -9` would catch it there. */
#define FAULT_KILL (-9)

static const struct {
    const char *name;
    int value;
} errnos[] = {{"ENOSPC", ENOSPC}, {"EIO", EIO},     {"EDQUOT", EDQUOT},  {"EROFS", EROFS},
              {"EACCES", EACCES}, {"EPERM", EPERM}, {"EMFILE", EMFILE},  {"ENOMEM", ENOMEM},
              {"ENOENT", ENOENT}, {"E2BIG", E2BIG}, {"KILL", FAULT_KILL}};

#define MAX_FAULTS 8

static struct {
    bool active;   /* this program image counts (owner, or a descendant with CHILDREN=1) */
    bool children; /* YAVE_FAULT_CHILDREN=1 */
    pid_t owner;   /* the pid that made the counters */
    struct fault {
        int op;
        unsigned long n;
        bool onwards; /* N+: the Nth and every later call */
        int err;
    } faults[MAX_FAULTS];
    int nfaults;           /* 0: count and log only */
    const char *log;       /* YAVE_FAULT_LOG, or NULL */
    unsigned long *counts; /* NOPS counters in a MAP_SHARED page */
} S;

/* ---- the real functions ---- */

static void *real(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) {
        fprintf(stderr, "faultshim: %s not found in the next library\n", name);
        abort();
    }
    return p;
}

/* REAL(ret, name, params): a pointer real_name to the next definition of name, resolved once. */
#define REAL(ret, name, ...)                                                                       \
    static ret (*real_##name)(__VA_ARGS__);                                                        \
    if (!real_##name) real_##name = (ret(*)(__VA_ARGS__))real(#name)

/* ---- counting and logging ---- */

static void log_line(int op, unsigned long n, const char *path, int fd, int fault)
{
    REAL(int, open, const char *, int, ...);
    REAL(ssize_t, write, int, const void *, size_t);
    char line[4608], link[4096], proc[64];
    if (!path && fd >= 0) {
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        ssize_t l = readlink(proc, link, sizeof link - 1);
        if (l > 0) {
            link[l] = '\0';
            path = link;
        }
    }
    int len = snprintf(line, sizeof line, "%s %lu %d %s", op_names[op], n, (int)getpid(),
                       path ? path : "-");
    if (len < 0 || len >= (int)sizeof line - 32) len = (int)strlen(line);
    if (fault) {
        const char *en = NULL;
        for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
            if (errnos[i].value == fault) en = errnos[i].name;
        if (en) len += snprintf(line + len, sizeof line - (size_t)len, " FAULT %s", en);
        else len += snprintf(line + len, sizeof line - (size_t)len, " FAULT %d", fault);
    }
    line[len++] = '\n';
    /* opened per line: a child between fork and exec may have closed every descriptor */
    int lfd = real_open(S.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0) return;
    if (real_write(lfd, line, (size_t)len) < 0) { /* nothing to do: the log is best effort */
    }
    close(lfd);
}

static bool counts_here(int op)
{
    if (!S.active) return false;
    if (S.children || getpid() == S.owner) return true;
    return op == OP_EXEC; /* a forked child of the owner: only the exec it makes is counted */
}

/* Counts one call of op; returns -1 with errno set when this call is the one to fail. */
static int hit(int op, const char *path, int fd)
{
    if (!counts_here(op)) return 0;
    int saved = errno;
    unsigned long n = __atomic_add_fetch(&S.counts[op], 1, __ATOMIC_SEQ_CST);
    int fault = 0;
    for (int i = 0; !fault && i < S.nfaults; i++)
        if (S.faults[i].op == op &&
            (n == S.faults[i].n || (S.faults[i].onwards && n > S.faults[i].n)))
            fault = S.faults[i].err;
    if (S.log) log_line(op, n, path, fd, fault);
    if (fault == FAULT_KILL) raise(SIGKILL);
    errno = fault ? fault : saved;
    return fault ? -1 : 0;
}

static bool open_writes(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT);
}

/* ---- set-up ---- */

static void die(const char *what, const char *spec)
{
    fprintf(stderr,
            "faultshim: bad YAVE_FAULT '%s': %s (want <op>:<N>[+][:<errno>][,...], op one "
            "of write fsync rename renameat2 mkdir open exec send)\n",
            spec, what);
    _exit(99);
}

/* One <op>:<N>[+][:<errno>]. */
static void parse_one(char *item, const char *spec)
{
    char *save = NULL, *end;
    char *op = strtok_r(item, ":", &save), *n = strtok_r(NULL, ":", &save);
    char *en = strtok_r(NULL, ":", &save);
    struct fault *f = &S.faults[S.nfaults];
    if (S.nfaults == MAX_FAULTS) die("too many faults", spec);
    if (!op || !n || strtok_r(NULL, ":", &save)) die("not <op>:<N>[+][:<errno>]", spec);
    f->op = -1;
    for (int i = 0; i < NOPS; i++)
        if (!strcmp(op, op_names[i])) f->op = i;
    if (f->op < 0) die("unknown op", spec);
    errno = 0;
    f->n = strtoul(n, &end, 10);
    f->onwards = *end == '+';
    if (f->onwards) end++;
    if (errno || *end || f->n < 1 || *n < '0' || *n > '9') die("N must be a number >= 1", spec);
    f->err = ENOSPC;
    if (en) {
        f->err = 0;
        for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
            if (!strcmp(en, errnos[i].name)) f->err = errnos[i].value;
        if (!f->err) {
            long v = strtol(en, &end, 10);
            if (*en < '0' || *en > '9' || *end || v < 1 || v > 4095) die("unknown errno", spec);
            f->err = (int)v;
        }
    }
    S.nfaults++;
}

static void parse_spec(const char *spec)
{
    char buf[512], *save = NULL;
    if (strlen(spec) >= sizeof buf) die("too long", spec);
    strcpy(buf, spec);
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save))
        parse_one(item, spec);
    if (!S.nfaults) die("empty", spec);
}

__attribute__((constructor)) static void faultshim_init(void)
{
    const char *spec = getenv("YAVE_FAULT"), *log = getenv("YAVE_FAULT_LOG");
    const char *owner = getenv("YAVE_FAULT_OWNER"), *ch = getenv("YAVE_FAULT_CHILDREN");
    if ((!spec || !*spec) && (!log || !*log)) return;
    pid_t me = getpid();
    S.children = ch && !strcmp(ch, "1");
    if (owner && *owner && atol(owner) != (long)me && !S.children) return; /* a descendant */
    if (spec && *spec) parse_spec(spec);
    S.log = log && *log ? log : NULL;
    S.counts = mmap(NULL, NOPS * sizeof *S.counts, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (S.counts == MAP_FAILED) {
        fprintf(stderr, "faultshim: mmap: %s\n", strerror(errno));
        _exit(99);
    }
    S.owner = me;
    if (!owner || !*owner) {
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", (long)me);
        setenv("YAVE_FAULT_OWNER", pid, 1);
    }
    S.active = true;
}

/* ---- write, fsync ---- */

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, write, int, const void *, size_t);
    if (hit(OP_WRITE, NULL, fd) < 0) return -1;
    return real_write(fd, buf, n);
}

int fsync(int fd)
{
    REAL(int, fsync, int);
    if (hit(OP_FSYNC, NULL, fd) < 0) return -1;
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(int, fdatasync, int);
    if (hit(OP_FSYNC, NULL, fd) < 0) return -1;
    return real_fdatasync(fd);
}

/* ---- rename, renameat2 ---- */

int rename(const char *from, const char *to)
{
    REAL(int, rename, const char *, const char *);
    if (hit(OP_RENAME, to, -1) < 0) return -1;
    return real_rename(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
    REAL(int, renameat, int, const char *, int, const char *);
    if (hit(OP_RENAME, to, -1) < 0) return -1;
    return real_renameat(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
    REAL(int, renameat2, int, const char *, int, const char *, unsigned);
    if (hit(OP_RENAMEAT2, to, -1) < 0) return -1;
    return real_renameat2(fromfd, from, tofd, to, flags);
}

/* ---- mkdir ---- */

int mkdir(const char *path, mode_t mode)
{
    REAL(int, mkdir, const char *, mode_t);
    if (hit(OP_MKDIR, path, -1) < 0) return -1;
    return real_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
    REAL(int, mkdirat, int, const char *, mode_t);
    if (hit(OP_MKDIR, path, -1) < 0) return -1;
    return real_mkdirat(dirfd, path, mode);
}

char *mkdtemp(char *tmpl)
{
    REAL(char *, mkdtemp, char *);
    if (hit(OP_MKDIR, tmpl, -1) < 0) return NULL;
    return real_mkdtemp(tmpl);
}

/* ---- open ---- */

/* The mode argument is there when O_CREAT or O_TMPFILE asks for it. */
#define OPEN_MODE(flags, mode)                                                                     \
    do {                                                                                           \
        if ((flags) & (O_CREAT | O_TMPFILE)) {                                                     \
            va_list ap;                                                                            \
            va_start(ap, flags);                                                                   \
            mode = (mode_t)va_arg(ap, int);                                                        \
            va_end(ap);                                                                            \
        }                                                                                          \
    } while (0)

int open(const char *path, int flags, ...)
{
    REAL(int, open, const char *, int, ...);
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (open_writes(flags) && hit(OP_OPEN, path, -1) < 0) return -1;
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    REAL(int, open64, const char *, int, ...);
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (open_writes(flags) && hit(OP_OPEN, path, -1) < 0) return -1;
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    REAL(int, openat, int, const char *, int, ...);
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (open_writes(flags) && hit(OP_OPEN, path, -1) < 0) return -1;
    return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    REAL(int, openat64, int, const char *, int, ...);
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    if (open_writes(flags) && hit(OP_OPEN, path, -1) < 0) return -1;
    return real_openat64(dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
    REAL(int, __open_2, const char *, int);
    if (open_writes(flags) && hit(OP_OPEN, path, -1) < 0) return -1;
    return real___open_2(path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
    REAL(int, __open64_2, const char *, int);
    if (open_writes(flags) && hit(OP_OPEN, path, -1) < 0) return -1;
    return real___open64_2(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
    REAL(int, __openat_2, int, const char *, int);
    if (open_writes(flags) && hit(OP_OPEN, path, -1) < 0) return -1;
    return real___openat_2(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
    REAL(int, __openat64_2, int, const char *, int);
    if (open_writes(flags) && hit(OP_OPEN, path, -1) < 0) return -1;
    return real___openat64_2(dirfd, path, flags);
}

int creat(const char *path, mode_t mode)
{
    REAL(int, creat, const char *, mode_t);
    if (hit(OP_OPEN, path, -1) < 0) return -1;
    return real_creat(path, mode);
}

int creat64(const char *path, mode_t mode)
{
    REAL(int, creat64, const char *, mode_t);
    if (hit(OP_OPEN, path, -1) < 0) return -1;
    return real_creat64(path, mode);
}

static bool fopen_writes(const char *mode)
{
    return mode && strpbrk(mode, "wa+") != NULL;
}

FILE *fopen(const char *path, const char *mode)
{
    REAL(FILE *, fopen, const char *, const char *);
    if (fopen_writes(mode) && hit(OP_OPEN, path, -1) < 0) return NULL;
    return real_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    REAL(FILE *, fopen64, const char *, const char *);
    if (fopen_writes(mode) && hit(OP_OPEN, path, -1) < 0) return NULL;
    return real_fopen64(path, mode);
}

int mkstemp(char *tmpl)
{
    REAL(int, mkstemp, char *);
    if (hit(OP_OPEN, tmpl, -1) < 0) return -1;
    return real_mkstemp(tmpl);
}

int mkstemp64(char *tmpl)
{
    REAL(int, mkstemp64, char *);
    if (hit(OP_OPEN, tmpl, -1) < 0) return -1;
    return real_mkstemp64(tmpl);
}

int mkostemp(char *tmpl, int flags)
{
    REAL(int, mkostemp, char *, int);
    if (hit(OP_OPEN, tmpl, -1) < 0) return -1;
    return real_mkostemp(tmpl, flags);
}

int mkostemp64(char *tmpl, int flags)
{
    REAL(int, mkostemp64, char *, int);
    if (hit(OP_OPEN, tmpl, -1) < 0) return -1;
    return real_mkostemp64(tmpl, flags);
}

int mkstemps(char *tmpl, int suffixlen)
{
    REAL(int, mkstemps, char *, int);
    if (hit(OP_OPEN, tmpl, -1) < 0) return -1;
    return real_mkstemps(tmpl, suffixlen);
}

int mkstemps64(char *tmpl, int suffixlen)
{
    REAL(int, mkstemps64, char *, int);
    if (hit(OP_OPEN, tmpl, -1) < 0) return -1;
    return real_mkstemps64(tmpl, suffixlen);
}

int mkostemps(char *tmpl, int suffixlen, int flags)
{
    REAL(int, mkostemps, char *, int, int);
    if (hit(OP_OPEN, tmpl, -1) < 0) return -1;
    return real_mkostemps(tmpl, suffixlen, flags);
}

int mkostemps64(char *tmpl, int suffixlen, int flags)
{
    REAL(int, mkostemps64, char *, int, int);
    if (hit(OP_OPEN, tmpl, -1) < 0) return -1;
    return real_mkostemps64(tmpl, suffixlen, flags);
}

/* ---- exec ---- */

int execve(const char *path, char *const argv[], char *const envp[])
{
    REAL(int, execve, const char *, char *const[], char *const[]);
    if (hit(OP_EXEC, path, -1) < 0) return -1;
    return real_execve(path, argv, envp);
}

int execv(const char *path, char *const argv[])
{
    REAL(int, execv, const char *, char *const[]);
    if (hit(OP_EXEC, path, -1) < 0) return -1;
    return real_execv(path, argv);
}

int execvp(const char *file, char *const argv[])
{
    REAL(int, execvp, const char *, char *const[]);
    if (hit(OP_EXEC, file, -1) < 0) return -1;
    return real_execvp(file, argv);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    REAL(int, execvpe, const char *, char *const[], char *const[]);
    if (hit(OP_EXEC, file, -1) < 0) return -1;
    return real_execvpe(file, argv, envp);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
    REAL(int, posix_spawn, pid_t *, const char *, const posix_spawn_file_actions_t *,
         const posix_spawnattr_t *, char *const[], char *const[]);
    if (hit(OP_EXEC, path, -1) < 0) return errno;
    return real_posix_spawn(pid, path, fa, at, argv, envp);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                 const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
    REAL(int, posix_spawnp, pid_t *, const char *, const posix_spawn_file_actions_t *,
         const posix_spawnattr_t *, char *const[], char *const[]);
    if (hit(OP_EXEC, file, -1) < 0) return errno;
    return real_posix_spawnp(pid, file, fa, at, argv, envp);
}

/* ---- send ---- */

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    REAL(ssize_t, send, int, const void *, size_t, int);
    if (hit(OP_SEND, NULL, fd) < 0) return -1;
    return real_send(fd, buf, n, flags);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
               socklen_t tolen)
{
    REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    if (hit(OP_SEND, NULL, fd) < 0) return -1;
    return real_sendto(fd, buf, n, flags, to, tolen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    REAL(ssize_t, sendmsg, int, const struct msghdr *, int);
    if (hit(OP_SEND, NULL, fd) < 0) return -1;
    return real_sendmsg(fd, msg, flags);
}
