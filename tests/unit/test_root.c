/* Unit tests of core/root.c: paths, the root lock, atomic writes, listing and removal. */
#include "unit.h"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

static void test_write_atomic_creates_with_mode(void **state)
{
    char *root = *state;
    yv_err err;
    mode_t old = umask(077); /* the mode is exact, whatever the umask */
    static const mode_t modes[] = {0600, 0644, 0640, 0444};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "f%zu", i);
        char *path = yv_root_join(root, rel);
        assert_int_equal(yv_root_write_atomic(path, "hello\n", 6, modes[i], &err), 0);
        assert_int_equal(ut_mode(root, rel), (int)modes[i]);
        char *text = ut_read(root, rel);
        assert_string_equal(text, "hello\n");
        free(text);
        free(path);
    }
    umask(old);
    ut_assert_ls(root, "f0 f1 f2 f3");
}

static void test_write_atomic_replaces(void **state)
{
    char *root = *state;
    yv_err err;
    char *path = yv_root_join(root, "config.yaml");
    ut_write(root, "config.yaml", "old content that is longer than the new one\n");
    struct stat before;
    assert_int_equal(stat(path, &before), 0);
    /* binary data with NULs is written as given */
    assert_int_equal(yv_root_write_atomic(path, "new\0x", 5, 0600, &err), 0);
    size_t len;
    char *text = yv_root_read_file(path, &len, YV_E_IO, &err);
    assert_int_equal(len, 5);
    assert_memory_equal(text, "new\0x", 5);
    free(text);
    assert_int_equal(ut_mode(root, "config.yaml"), 0600);
    /* a new inode: readers holding the old file never see a half-written one */
    struct stat after;
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    ut_assert_ls(root, "config.yaml");

    /* an empty file is fine too */
    assert_int_equal(yv_root_write_atomic(path, "", 0, 0644, &err), 0);
    text = yv_root_read_file(path, &len, YV_E_IO, &err);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
    ut_assert_ls(root, "config.yaml");
    free(path);
}

static void test_write_atomic_failure_leaves_nothing(void **state)
{
    char *root = *state;
    yv_err err = {0};
    char *path = yv_root_join(root, "missing-folder/config.yaml");
    assert_int_equal(yv_root_write_atomic(path, "x", 1, 0600, &err), -1);
    assert_int_equal(err.code, YV_E_IO);
    char *want = yv_asprintf("cannot write %s: No such file or directory", path);
    assert_string_equal(err.msg, want);
    free(want);
    free(path);
    ut_assert_ls(root, "");

    /* the target is a folder: the rename fails, and the temp file is removed */
    ut_mkdir(root, "dir");
    ut_write(root, "dir/keep", "k");
    path = yv_root_join(root, "dir");
    assert_int_equal(yv_root_write_atomic(path, "x", 1, 0600, &err), -1);
    assert_int_equal(err.code, YV_E_IO);
    ut_assert_contains(err.msg, "(rename)");
    free(path);
    ut_assert_ls(root, "dir");
    char *dir = yv_root_join(root, "dir");
    ut_assert_ls(dir, "keep");
    free(dir);
}

static void want_error(const yv_err *err, const char *path, const char *what)
{
    assert_int_equal(err->code, YV_E_IO);
    char *want = yv_asprintf("cannot read %s: %s", path, what);
    assert_string_equal(err->msg, want);
    free(want);
}

static void test_read_file(void **state)
{
    char *root = *state;
    yv_err err;
    size_t len = 99;
    char *path = yv_root_join(root, "nope");
    assert_null(yv_root_read_file(path, &len, YV_E_PRESET_NOT_FOUND, &err));
    assert_int_equal(err.code, YV_E_PRESET_NOT_FOUND);
    /* YV_OK: absent is no error, and no message is made */
    yv_err quiet = {.code = YV_E_USAGE, .msg = "untouched"};
    assert_null(yv_root_read_file(path, &len, YV_OK, &quiet));
    assert_int_equal(quiet.code, YV_E_USAGE);
    assert_string_equal(quiet.msg, "untouched");
    free(path);
    /* larger than the first buffer */
    char *big = yv_malloc(100001);
    for (size_t i = 0; i < 100000; i++) big[i] = (char)('a' + i % 26);
    big[100000] = '\0';
    ut_write(root, "big", big);
    path = yv_root_join(root, "big");
    char *text = yv_root_read_file(path, &len, YV_E_IO, &err);
    assert_int_equal(len, 100000);
    assert_string_equal(text, big);
    free(text);
    free(path);
    free(big);
    /* a folder cannot be read as a file */
    assert_null(yv_root_read_file(root, &len, YV_E_VM_NOT_FOUND, &err));
    assert_int_equal(err.code, YV_E_IO);
    want_error(&err, root, "not a regular file");
    /* a FIFO without a writer would block a plain open(2) forever */
    path = yv_root_join(root, "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_null(yv_root_read_file(path, &len, YV_E_VM_NOT_FOUND, &err));
    want_error(&err, path, "not a regular file");
    free(path);
    /* an endless device behind a symlink: the link is never followed (spec §16) ... */
    path = yv_root_join(root, "zero");
    assert_int_equal(symlink("/dev/zero", path), 0);
    assert_null(yv_root_read_file(path, &len, YV_E_VM_NOT_FOUND, &err));
    assert_int_equal(err.code, YV_E_PERMISSION);
    ut_assert_contains(err.msg, "is a symbolic link");
    /* ... and a host file the admin named, which is followed, is still no regular file */
    assert_null(yv_root_read_external(path, &len, YV_E_VM_NOT_FOUND, &err));
    want_error(&err, path, "not a regular file");
    free(path);
    /* a huge file is refused, not read into memory (sparse: costs no disk) */
    path = yv_root_join(root, "huge");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)YV_ROOT_MAX_READ + 1), 0);
    close(fd);
    assert_null(yv_root_read_file(path, &len, YV_E_VM_NOT_FOUND, &err));
    want_error(&err, path, "larger than 16 MiB");
    /* exactly the limit is still read */
    assert_int_equal(truncate(path, (off_t)YV_ROOT_MAX_READ), 0);
    text = yv_root_read_file(path, &len, YV_E_IO, &err);
    assert_non_null(text);
    assert_int_equal(len, YV_ROOT_MAX_READ);
    free(text);
    free(path);
    /* /proc files report size 0 and are read whole (/proc/self is a link: a host file) */
    text = yv_root_read_external("/proc/self/status", &len, YV_E_IO, &err);
    assert_non_null(text);
    ut_assert_contains(text, "Pid:");
    free(text);
}

static void test_paths(void **state)
{
    (void)state;
    char *p = yv_root_join("/r", "a/b");
    assert_string_equal(p, "/r/a/b");
    free(p);
    p = yv_root_join("/r", "/abs");
    assert_string_equal(p, "/abs");
    free(p);
    p = yv_root_path("/r", "vnc_table.yaml");
    assert_string_equal(p, "/r/vnc_table.yaml");
    free(p);
    p = yv_root_vm_dir("/r", "cloud");
    assert_string_equal(p, "/r/cloud.vm");
    free(p);
}

static void test_list_suffix(void **state)
{
    char *root = *state;
    yv_err err;
    size_t n = 99;
    /* a missing root has no VMs */
    char *missing = yv_root_join(root, "missing");
    char **names = yv_root_list_suffix(missing, ".vm", &n, &err);
    assert_non_null(names);
    assert_int_equal(n, 0);
    yv_root_free_names(names, n);
    free(missing);

    ut_mkdir(root, "web.vm");
    ut_mkdir(root, "Zed.vm");
    ut_mkdir(root, "alpha.vm");
    ut_mkdir(root, "alpha2.vm");
    ut_mkdir(root, ".hidden.vm");
    ut_mkdir(root, ".alpha.vm.part");
    ut_mkdir(root, "x.vmx");
    ut_mkdir(root, "x.vm.bak");
    ut_mkdir(root, "noble.preset");
    ut_write(root, "base.qcow2", "");
    ut_write(root, "other.qcow2", "");
    names = yv_root_list_suffix(root, ".vm", &n, &err);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "Zed");
    assert_string_equal(names[1], "alpha");
    assert_string_equal(names[2], "alpha2");
    assert_string_equal(names[3], "web");
    yv_root_free_names(names, n);

    names = yv_root_list_suffix(root, ".qcow2", &n, &err);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "base");
    assert_string_equal(names[1], "other");
    yv_root_free_names(names, n);

    names = yv_root_list_suffix(root, ".preset", &n, &err);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "noble");
    yv_root_free_names(names, n);
    yv_root_free_names(NULL, 0);

    /* more entries than the first allocation */
    for (int i = 0; i < 40; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "many%02d.vm", 39 - i);
        ut_mkdir(root, rel);
    }
    names = yv_root_list_suffix(root, ".vm", &n, &err);
    assert_int_equal(n, 44);
    assert_string_equal(names[3], "many00");
    assert_string_equal(names[43], "web");
    yv_root_free_names(names, n);
}

static void test_rmtree(void **state)
{
    char *root = *state;
    yv_err err;
    ut_mkdir(root, "keep");
    ut_write(root, "keep/precious", "p");
    ut_mkdir(root, "t");
    ut_mkdir(root, "t/a");
    ut_mkdir(root, "t/a/b");
    ut_write(root, "t/a/b/f", "x");
    ut_write(root, "t/g", "y");
    ut_mkdir(root, "t/.hidden");
    /* symlinks are removed, never followed */
    char *target = yv_root_join(root, "keep");
    char *link = yv_root_join(root, "t/a/link");
    assert_int_equal(symlink(target, link), 0);
    free(link);
    free(target);
    char *t = yv_root_join(root, "t");
    assert_int_equal(yv_root_rmtree(t, &err), 0);
    assert_false(yv_root_exists(t));
    ut_assert_ls(root, "keep");
    assert_true(ut_exists(root, "keep/precious"));
    /* already gone is fine */
    assert_int_equal(yv_root_rmtree(t, &err), 0);
    free(t);

    /* a symlink to a folder given as the tree itself: the link goes, the folder stays */
    char *link2 = yv_root_join(root, "l");
    char *keep = yv_root_join(root, "keep");
    assert_int_equal(symlink(keep, link2), 0);
    assert_int_equal(yv_root_rmtree(link2, &err), 0);
    assert_false(yv_root_exists(link2));
    assert_true(ut_exists(root, "keep/precious"));
    free(keep);
    free(link2);
}

static void test_ensure(void **state)
{
    char *root = *state;
    yv_err err;
    char *r = yv_root_join(root, "a/b/root");
    assert_int_equal(yv_root_ensure(r, &err), 0);
    char *run = yv_root_join(r, "run");
    struct stat st;
    assert_int_equal(stat(run, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    /* twice is fine */
    assert_int_equal(yv_root_ensure(r, &err), 0);
    free(run);
    free(r);

    ut_write(root, "file", "x");
    r = yv_root_join(root, "file");
    assert_int_equal(yv_root_ensure(r, &err), -1);
    assert_int_equal(err.code, YV_E_IO);
    free(r);
}

static void test_exists(void **state)
{
    char *root = *state;
    assert_true(yv_root_exists(root));
    char *p = yv_root_join(root, "dangling");
    assert_int_equal(symlink("/nonexistent/target", p), 0);
    assert_true(yv_root_exists(p)); /* lstat: a dangling link still occupies the name */
    free(p);
    p = yv_root_join(root, "nothing");
    assert_false(yv_root_exists(p));
    free(p);
}

/* ---- the lock ---- */

static int try_lock_nb(const char *root)
{
    char *path = yv_root_join(root, "run/lock");
    int fd = open(path, O_RDWR | O_CLOEXEC);
    free(path);
    if (fd < 0) return -1;
    int rc = flock(fd, LOCK_EX | LOCK_NB);
    int e = errno;
    close(fd);
    return rc == 0 ? 0 : (e == EWOULDBLOCK ? 1 : -1);
}

/* Exit status of a child that tries the lock without blocking: 0 got it, 1 busy, 2 error. */
static int child_try(const char *root)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = try_lock_nb(root);
        _exit(rc == 0 ? 0 : rc == 1 ? 1 : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_lock_excludes_other_processes(void **state)
{
    char *root = *state;
    yv_err err;
    assert_int_equal(yv_root_ensure(root, &err), 0);
    int fd = yv_root_lock(root, &err);
    assert_true(fd >= 0);
    assert_int_equal(ut_mode(root, "run/lock"), 0600);
    assert_int_equal(child_try(root), 1);
    yv_root_unlock(fd);
    assert_int_equal(child_try(root), 0);
    yv_root_unlock(-1); /* harmless */
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_lock_serialises(void **state)
{
    char *root = *state;
    yv_err err;
    assert_int_equal(yv_root_ensure(root, &err), 0);
    int fd = yv_root_lock(root, &err);
    assert_true(fd >= 0);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* blocks until the parent lets go; then the marker the parent wrote under the lock exists.
         * The inherited descriptor shares the parent's lock: drop it first. */
        close(fd);
        close(ready[0]);
        if (write(ready[1], "r", 1) != 1) _exit(3);
        yv_err e;
        int cfd = yv_root_lock(root, &e);
        if (cfd < 0) _exit(2);
        bool seen = ut_exists(root, "marker");
        yv_root_unlock(cfd);
        _exit(seen ? 0 : 1);
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    int64_t start = now_ms();
    usleep(150 * 1000);
    int status;
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still waiting for the lock */
    ut_write(root, "marker", "m");
    yv_root_unlock(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(now_ms() - start >= 150);
}

static void test_lock_without_run(void **state)
{
    char *root = *state;
    yv_err err;
    char *r = yv_root_join(root, "nonexistent-root");
    assert_int_equal(yv_root_lock(r, &err), -1);
    assert_int_equal(err.code, YV_E_IO);
    ut_assert_contains(err.msg, "run/lock");
    free(r);
}

/* ---- which root ---- */

typedef struct {
    char *yave_root, *cwd;
} env_save;

static void env_push(env_save *s)
{
    const char *r = getenv("YAVE_ROOT");
    s->yave_root = r ? yv_strdup(r) : NULL;
    s->cwd = getcwd(NULL, 0);
    unsetenv("YAVE_ROOT");
}

static void env_pop(env_save *s)
{
    if (s->yave_root) setenv("YAVE_ROOT", s->yave_root, 1);
    else unsetenv("YAVE_ROOT");
    assert_int_equal(chdir(s->cwd), 0);
    free(s->yave_root);
    free(s->cwd);
}

static void test_resolve(void **state)
{
    char *root = *state;
    yv_err err;
    env_save s;
    env_push(&s);
    char *real = realpath(root, NULL);
    assert_non_null(real);

    char *r = yv_root_resolve(root, &err);
    assert_string_equal(r, real);
    free(r);
    /* relative roots become absolute, without ./.. or a trailing slash */
    assert_int_equal(chdir(root), 0);
    ut_mkdir(root, "sub");
    r = yv_root_resolve("sub/../sub/", &err);
    char *want = yv_asprintf("%s/sub", real);
    assert_string_equal(r, want);
    free(r);
    /* a root that does not exist yet is still made absolute */
    r = yv_root_resolve("later", &err);
    free(want);
    want = yv_asprintf("%s/later", real);
    assert_string_equal(r, want);
    free(r);

    /* ... and canonical: a linked folder on its way is resolved, so nothing of the root is later
     * reached through a link */
    char *link = yv_root_join(root, "lnk");
    assert_int_equal(symlink("sub", link), 0);
    r = yv_root_resolve("lnk/later/x", &err);
    free(want);
    want = yv_asprintf("%s/sub/later/x", real);
    assert_string_equal(r, want);
    free(r);
    /* an existing root reached through a link, at the end or on the way, clean or not */
    ut_mkdir(root, "sub/deeper");
    const char *via[] = {"lnk", "lnk/", "lnk/deeper", "./lnk/deeper", "sub/../lnk/deeper"};
    for (size_t i = 0; i < sizeof via / sizeof *via; i++) {
        r = yv_root_resolve(via[i], &err);
        free(want);
        want = yv_asprintf("%s/sub%s", real, i < 2 ? "" : "/deeper");
        assert_string_equal(r, want);
        free(r);
    }
    free(link);

    setenv("YAVE_ROOT", "sub", 1);
    r = yv_root_resolve(NULL, &err);
    free(want);
    want = yv_asprintf("%s/sub", real);
    assert_string_equal(r, want);
    free(r);
    /* --root wins over $YAVE_ROOT */
    r = yv_root_resolve("/explicit", &err);
    assert_string_equal(r, "/explicit");
    free(r);
    unsetenv("YAVE_ROOT");

    /* ./debug when ./debug/config.yaml exists */
    ut_mkdir(root, "debug");
    r = yv_root_resolve(NULL, &err);
    if (geteuid() == 0) assert_string_equal(r, "/var/lib/yave");
    free(r);
    ut_write(root, "debug/config.yaml", "");
    r = yv_root_resolve("", &err);
    free(want);
    want = yv_asprintf("%s/debug", real);
    assert_string_equal(r, want);
    free(r);
    free(want);
    free(real);
    env_pop(&s);
}

/* A link anywhere on the way into the root is refused, never followed (spec §16). */
static void test_open_follows_no_link(void **state)
{
    char *root = *state;
    ut_mkdir(root, "real");
    ut_write(root, "real/f", "x");
    char *p = yv_root_join(root, "real"), *l = yv_root_join(root, "link");
    assert_int_equal(symlink(p, l), 0);
    char *fl = yv_root_join(root, "fl");
    char *target = yv_root_join(root, "real/f");
    assert_int_equal(symlink(target, fl), 0);
    char *via = yv_root_join(root, "link/f"), *made = yv_root_join(root, "link/new");
    /* openat2 where the kernel has it, and the walk of older kernels */
    int (*const openers[])(const char *, int, mode_t) = {yv_root_open, yv_root_open_walk};
    for (size_t i = 0; i < 2; i++) {
        int fd = openers[i](target, O_RDONLY, 0);
        assert_true(fd >= 0);
        close(fd);
        errno = 0;
        assert_int_equal(openers[i](via, O_RDONLY, 0), -1); /* a linked folder on the way */
        assert_int_equal(errno, ELOOP);
        assert_int_equal(openers[i](fl, O_RDONLY, 0), -1); /* a link at the end */
        assert_int_equal(errno, ELOOP);
        assert_int_equal(openers[i](fl, O_WRONLY | O_TRUNC, 0), -1);
        assert_int_equal(openers[i](made, O_WRONLY | O_CREAT, 0600), -1);
        assert_int_equal(errno, ELOOP);
        fd = openers[i](fl, O_PATH | O_NOFOLLOW, 0); /* the link itself, for a check */
        assert_true(fd >= 0);
        close(fd);
    }
    char *text = ut_read(root, "real/f");
    assert_string_equal(text, "x"); /* not truncated */
    free(text);
    ut_assert_ls(p, "f"); /* nothing made through the link */
    yv_err err;
    size_t len;
    assert_null(yv_root_read_file(via, &len, YV_E_VM_NOT_FOUND, &err));
    assert_int_equal(err.code, YV_E_PERMISSION);
    char *want = yv_asprintf("cannot read %s: refused: it (or a folder on its way) is a symbolic "
                             "link, and YAVE never follows links in its root (remove the link)",
                             via);
    assert_string_equal(err.msg, want);
    free(want);
    /* an atomic write neither goes through a linked folder nor writes into a link's target: the
     * link at the path itself is replaced */
    assert_int_equal(yv_root_write_atomic(made, "y", 1, 0600, &err), -1);
    assert_int_equal(err.code, YV_E_PERMISSION);
    ut_assert_ls(p, "f");
    assert_int_equal(yv_root_write_atomic(fl, "new", 3, 0600, &err), 0);
    text = ut_read(root, "real/f");
    assert_string_equal(text, "x");
    free(text);
    struct stat st;
    assert_int_equal(lstat(fl, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    free(via);
    free(made);
    free(target);
    free(fl);
    free(l);
    free(p);
}

static void test_check_regular(void **state)
{
    char *root = *state;
    yv_err err;
    char *f = yv_root_join(root, "serial.log"), *l = yv_root_join(root, "link"),
         *d = yv_root_join(root, "dangling"), *fifo = yv_root_join(root, "fifo");
    assert_int_equal(yv_root_check_regular(f, &err), 0); /* absent: QEMU makes it */
    ut_write(root, "serial.log", "");
    assert_int_equal(yv_root_check_regular(f, &err), 0);
    assert_int_equal(symlink(f, l), 0);
    assert_int_equal(symlink("/nonexistent", d), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *bad[] = {l, d, fifo};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(yv_root_check_regular(bad[i], &err), -1);
        assert_int_equal(err.code, YV_E_PERMISSION);
        ut_assert_contains(err.msg, bad[i]);
    }
    ut_assert_contains(err.msg, "not a regular file");
    free(f);
    free(l);
    free(d);
    free(fifo);
}

/* want_refused: yv_root_trust(root) fails with PERMISSION naming path and the fix. */
static void want_refused(const char *root, const char *path, const char *fix)
{
    yv_err err;
    assert_int_equal(yv_root_trust(root, &err), -1);
    assert_int_equal(err.code, YV_E_PERMISSION);
    char *want = yv_asprintf("refusing to use %s: ", path);
    ut_assert_contains(err.msg, want);
    ut_assert_contains(err.msg, fix);
    free(want);
}

static void test_trust(void **state)
{
    char *root = *state;
    yv_err err;
    char *r = yv_root_join(root, "r"), *cfg = yv_root_join(r, "config.yaml"),
         *run = yv_root_join(r, "run");
    assert_int_equal(yv_root_trust(r, &err), 0); /* nothing yet: nothing to refuse */
    assert_int_equal(yv_root_ensure(r, &err), 0);
    assert_int_equal(ut_mode(root, "r") & 022, 0);
    ut_write(r, "config.yaml", "");
    assert_int_equal(yv_root_trust(r, &err), 0);
    const struct {
        const char *path;
        mode_t bad, good;
    } modes[] = {{r, 0775, 0755}, {r, 0757, 0755}, {cfg, 0664, 0644}, {run, 0702, 0700}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(chmod(modes[i].path, modes[i].bad), 0);
        char *fix = yv_asprintf("chmod go-w %s", modes[i].path);
        want_refused(r, modes[i].path, fix);
        free(fix);
        assert_int_equal(yv_root_ensure(r, &err), -1); /* ensure checks too */
        assert_int_equal(chmod(modes[i].path, modes[i].good), 0);
    }
    assert_int_equal(yv_root_trust(r, &err), 0);
    if (geteuid() == 0) { /* another owner: only root can make one */
        char *fix = yv_asprintf("chown -R 0 %s", cfg);
        assert_int_equal(chown(cfg, 65534, 65534), 0);
        want_refused(r, cfg, fix);
        free(fix);
        assert_int_equal(chown(cfg, 0, 0), 0);
    }
    /* links where the files belong */
    assert_int_equal(unlink(cfg), 0);
    assert_int_equal(symlink("/etc/hostname", cfg), 0);
    want_refused(r, cfg, "symbolic link");
    assert_int_equal(unlink(cfg), 0);
    assert_int_equal(rmdir(run), 0);
    assert_int_equal(symlink(root, run), 0);
    want_refused(r, run, "symbolic link");
    free(cfg);
    free(run);
    free(r);
}

/* In a mount namespace of its own (needs root): a bind mount of a folder of the same file system
 * (same st_dev) inside the tree. 0 when rmtree refused and removed nothing, 1 when it went wrong, 2
 * when there are no namespaces to try it in. */
static int rmtree_bind_child(const char *root)
{
    if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
        return 2;
    char *src = yv_root_join(root, "outside"), *mnt = yv_root_join(root, "t/sub/mnt"),
         *t = yv_root_join(root, "t");
    if (mount(src, mnt, "none", MS_BIND, NULL) < 0) return 2;
    yv_err err;
    int bad = yv_root_check_mounts(t, &err) != -1 || yv_root_rmtree(t, &err) != -1;
    char *want = yv_asprintf("%s is a mount point", mnt);
    bad |= strstr(err.msg, want) == NULL;
    bad |=
        !ut_exists(root, "outside/keep") || !ut_exists(root, "t/a") || !ut_exists(root, "t/sub/b");
    umount(mnt);
    free(want); /* valgrind checks the child's leaks too */
    free(src);
    free(mnt);
    free(t);
    return bad;
}

static void test_rmtree_never_crosses_a_mount(void **state)
{
    char *root = *state;
    ut_mkdir(root, "outside");
    ut_write(root, "outside/keep", "k");
    ut_mkdir(root, "t");
    ut_write(root, "t/a", "a"); /* found before or after the mount: nothing goes either way */
    ut_mkdir(root, "t/sub");
    ut_write(root, "t/sub/b", "b");
    ut_mkdir(root, "t/sub/mnt");
    pid_t pid = fork();
    if (pid == 0) _exit(rmtree_bind_child(root));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 2) skip();
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the mount gone with its namespace, the same tree is removed whole */
    yv_err err;
    char *t = yv_root_join(root, "t");
    assert_int_equal(yv_root_check_mounts(t, &err), 0);
    assert_int_equal(yv_root_rmtree(t, &err), 0);
    ut_assert_ls(root, "outside");
    free(t);
}

/* The runtime variant (no fsync): the same all-or-nothing replacement, mode exact, no temp left. */
static void test_write_runtime(void **state)
{
    char *root = *state, *path = yv_root_join(root, "x.started");
    yv_err err = {0};
    assert_int_equal(yv_root_write_runtime(path, "one", 3, 0600, &err), 0);
    assert_int_equal(yv_root_write_runtime(path, "two!", 4, 0600, &err), 0);
    size_t len;
    char *got = yv_root_read_file(path, &len, YV_E_IO, &err);
    assert_non_null(got);
    assert_string_equal(got, "two!");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    ut_assert_ls(root, "x.started");
    free(got);
    free(path);
}

/* What killed atomic writes left: stale "NAME.tmp-XXXXXXXX" regular files in the root, run/ and
 * the VM folders go; a fresh one (a write in flight), other names, links and other folders stay. */
static void test_sweep_temps(void **state)
{
    char *root = *state;
    ut_mkdir(root, "run");
    ut_mkdir(root, "a.vm");
    ut_mkdir(root, "b.vm.part");
    ut_mkdir(root, "other");
    static const char *const stale[] = {"config.yaml.tmp-0badf00d", "run/x.started.tmp-12345678",
                                        "a.vm/config.yaml.tmp-deadbeef"};
    static const char *const kept[] = {"b.vm.part/config.yaml.tmp-deadbeef",
                                       "other/config.yaml.tmp-deadbeef",
                                       "a.vm/x.tmp-1234567",
                                       "a.vm/x.tmp-1234567G",
                                       "a.vm/hd0.qcow2",
                                       "fresh.tmp-00000000"};
    struct timespec old[2] = {{.tv_sec = time(NULL) - YV_ROOT_TEMP_STALE_S - 5}, {0}};
    old[1] = old[0];
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        ut_write(root, stale[i], "x");
        char *p = yv_root_join(root, stale[i]);
        assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
        free(p);
    }
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        ut_write(root, kept[i], "x");
        char *p = yv_root_join(root, kept[i]);
        if (strcmp(kept[i], "fresh.tmp-00000000") != 0)
            assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
        free(p);
    }
    char *target = yv_root_join(root, "a.vm/hd0.qcow2"),
         *link = yv_root_join(root, "l.tmp-abcdef01");
    assert_int_equal(symlink(target, link), 0);
    yv_root_sweep_temps(root);
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        char *p = yv_root_join(root, stale[i]);
        assert_false(yv_root_exists(p));
        free(p);
    }
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        char *p = yv_root_join(root, kept[i]);
        assert_true(yv_root_exists(p));
        free(p);
    }
    struct stat st;
    assert_int_equal(lstat(link, &st), 0); /* a link is not ours to remove */
    free(target);
    free(link);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_atomic_creates_with_mode, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_write_atomic_replaces, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_write_atomic_failure_leaves_nothing, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_write_runtime, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_sweep_temps, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_file, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_paths),
        cmocka_unit_test_setup_teardown(test_list_suffix, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_rmtree, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_ensure, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_exists, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_lock_excludes_other_processes, ut_setup_tmp,
                                        ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_lock_serialises, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_lock_without_run, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_resolve, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_open_follows_no_link, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_check_regular, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_trust, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_rmtree_never_crosses_a_mount, ut_setup_tmp,
                                        ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("root", tests, NULL, NULL);
}
