#include "root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static int open_no_links(const char *path, int flags, mode_t mode);

/* abs names a folder by its canonical path already: no ".", ".." or empty component, and it opens
 * without following a link (one openat2, where realpath reads each component's link: every batch
 * command resolves its root, issue 16). False when it cannot tell (then realpath decides). */
static bool canonical_already(const char *abs)
{
    if (abs[0] != '/' || strstr(abs, "//") || strstr(abs, "/./") || strstr(abs, "/../"))
        return false;
    size_t n = strlen(abs);
    if (n > 1 &&
        (abs[n - 1] == '/' || !strcmp(abs + n - 2, "/.") || (n > 2 && !strcmp(abs + n - 3, "/.."))))
        return false;
    /* O_DIRECTORY: a link at the end fails (ENOTDIR) rather than opening as the link itself */
    int fd = open_no_links(abs, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) return false;
    close(fd);
    return true;
}

/* The path with every symlink of its folders resolved, also for a root that does not exist yet
 * (its deepest existing folder resolved, the rest appended): every path made from the root then
 * reaches its files without a symlink, as yv_root_open demands. Takes abs. */
static char *canonical(char *abs)
{
    if (canonical_already(abs)) return abs;
    char *real = realpath(abs, NULL);
    if (real) {
        free(abs);
        return real;
    }
    char *slash = strrchr(abs, '/');
    if (errno != ENOENT || !slash || slash == abs) return abs;
    *slash = '\0';
    char *parent = canonical(yv_strdup(abs));
    *slash = '/';
    char *out = yv_asprintf("%s%s", strcmp(parent, "/") ? parent : "", slash);
    free(parent);
    free(abs);
    return out;
}

/* An absolute path without "." components or a trailing slash, so paths handed to QEMU and shown in
 * status are stable whatever the working directory. */
static char *absolute(const char *p)
{
    char *abs;
    if (p[0] == '/') {
        abs = yv_strdup(p);
    } else {
        char *cwd = getcwd(NULL, 0);
        if (!cwd) return yv_strdup(p);
        abs = strcmp(p, ".") ? yv_asprintf("%s/%s", cwd, p) : yv_strdup(cwd);
        free(cwd);
    }
    size_t n = strlen(abs);
    while (n > 1 && abs[n - 1] == '/') abs[--n] = '\0';
    return canonical(abs);
}

char *yv_root_resolve(const char *explicit_root, yv_err *err)
{
    const char *env = getenv("YAVE_ROOT");
    if (explicit_root && *explicit_root) return absolute(explicit_root);
    if (env && *env) return absolute(env);
    if (access("debug/config.yaml", F_OK) == 0) return absolute("debug");
    if (geteuid() == 0) return absolute("/var/lib/yave");
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/') return canonical(yv_asprintf("%s/yave", xdg));
    const char *home = getenv("HOME");
    if (!home || *home != '/') {
        yv_err_set(err, YV_E_USAGE, "cannot pick a root: HOME is not set; use --root DIR");
        return NULL;
    }
    return canonical(yv_asprintf("%s/.local/share/yave", home));
}

static int mkdir_p(const char *path, mode_t mode, yv_err *err)
{
    char *p = yv_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            yv_err_sys(err, YV_E_IO, errno, "cannot create %s", p);
            free(p);
            return -1;
        }
        *s = '/';
    }
    free(p);
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return yv_err_sys(err, errno == EACCES ? YV_E_PERMISSION : YV_E_IO, errno,
                          "cannot create %s", path);
    return 0;
}

/* ---- opening without symlinks ---- */

/* ELOOP when `name` in dfd is a symlink (an O_DIRECTORY open of one says ENOTDIR). */
static int link_errno(int dfd, const char *name, int e)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) return ELOOP;
    return e;
}

/* One system call for the whole walk where the kernel has openat2 (Linux 5.6): it refuses a
 * symlink in any component itself. -1 with errno ENOSYS (or EPERM from a seccomp filter that does
 * not know it) when it cannot be used. */
static int open_no_links(const char *path, int flags, mode_t mode)
{
#ifdef SYS_openat2
    struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
                           .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                           .resolve = RESOLVE_NO_SYMLINKS};
    return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
#else
    (void)path, (void)flags, (void)mode;
    errno = ENOSYS;
    return -1;
#endif
}

int yv_root_open(const char *path, int flags, mode_t mode)
{
    /* Opens that may write take the walk: they are few (reads are the hot path: every config of a
     * list), and the fault injector of the tests, an LD_PRELOAD of libc's open family, must see
     * each of them. */
    if (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC))
        return yv_root_open_walk(path, flags, mode);
    int fast = open_no_links(path, flags, mode);
    /* ENOTDIR: an O_DIRECTORY open of a link at the end says so; the walk tells it is a link */
    if (fast >= 0 || (errno != ENOSYS && errno != EPERM && errno != ENOTDIR)) return fast;
    return yv_root_open_walk(path, flags, mode);
}

int yv_root_open_walk(const char *path, int flags, mode_t mode)
{
    char *p = yv_strdup(path), *save = NULL;
    int dfd = open(p[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1, e = 0;
    char *comp = strtok_r(p, "/", &save);
    if (!comp && dfd >= 0) fd = openat(dfd, ".", flags | O_CLOEXEC, mode); /* "/" itself */
    while (dfd >= 0 && comp) {
        char *next = strtok_r(NULL, "/", &save);
        if (!next) {
            fd = openat(dfd, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
            if (fd < 0) e = link_errno(dfd, comp, errno);
            break;
        }
        int sub = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) e = link_errno(dfd, comp, errno);
        close(dfd);
        dfd = sub;
        comp = next;
    }
    if (dfd < 0 && !e) e = errno;
    if (dfd >= 0) close(dfd);
    free(p);
    if (fd < 0) errno = e;
    return fd;
}

int yv_root_open_error(yv_err *err, int errnum, yv_code notfound_code, const char *what,
                       const char *path)
{
    if (errnum == ELOOP)
        return yv_err_set(err, YV_E_PERMISSION,
                          "%s %s: refused: it (or a folder on its way) is a symbolic link, and "
                          "YAVE never follows links in its root (remove the link)",
                          what, path);
    return yv_err_sys(err,
                      errnum == ENOENT   ? notfound_code
                      : errnum == EACCES ? YV_E_PERMISSION
                                         : YV_E_IO,
                      errnum, "%s %s", what, path);
}

int yv_root_check_regular(const char *path, yv_err *err)
{
    struct stat st;
    int fd = yv_root_open(path, O_PATH, 0);
    if (fd < 0 && errno == ENOENT) return 0;
    if (fd < 0) return yv_root_open_error(err, errno, YV_E_IO, "cannot use", path);
    int rc = fstat(fd, &st);
    close(fd);
    if (rc < 0) return yv_err_sys(err, YV_E_IO, errno, "cannot use %s", path);
    /* O_PATH | O_NOFOLLOW opens a link at the end itself */
    if (S_ISLNK(st.st_mode)) return yv_root_open_error(err, ELOOP, YV_E_IO, "cannot use", path);
    if (!S_ISREG(st.st_mode))
        return yv_err_set(err, YV_E_PERMISSION, "cannot use %s: refused: not a regular file", path);
    return 0;
}

/* ---- whose root is it (spec §16) ---- */

static char *user_name(uid_t uid)
{
    struct passwd *pw = getpwuid(uid);
    return pw ? yv_asprintf("uid %d, %s", (int)uid, pw->pw_name) : yv_asprintf("uid %d", (int)uid);
}

/* One of the root, its config.yaml or run/ (absent is fine): ours or root's, not a link, not
 * writable by group or others. */
static int trust_one(int dfd, const char *name, const char *path, bool dir, yv_err *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : yv_err_sys(err, YV_E_IO, errno, "cannot check %s", path);
    const char *kind = dir ? "folder" : "file";
    if (S_ISLNK(st.st_mode))
        return yv_err_set(err, YV_E_PERMISSION,
                          "refusing to use %s: it is a symbolic link (put the %s itself there)",
                          path, kind);
    if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        return yv_err_set(err, YV_E_PERMISSION, "refusing to use %s: it is not a %s", path, kind);
    uid_t me = geteuid();
    if (st.st_uid != me && st.st_uid != 0) {
        char *owner = user_name(st.st_uid), *self = user_name(me);
        yv_err_set(err, YV_E_PERMISSION,
                   "refusing to use %s: it is owned by %s, not by you (%s) or root; if you trust "
                   "it, make it yours (chown -R %d %s) or use another root (--root DIR)",
                   path, owner, self, (int)me, path);
        free(owner);
        free(self);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return yv_err_set(err, YV_E_PERMISSION,
                          "refusing to use %s: it is writable by group or others (mode %04o); "
                          "fix it with: chmod go-w %s",
                          path, (unsigned)(st.st_mode & 07777), path);
    return 0;
}

int yv_root_trust(const char *root, yv_err *err)
{
    if (trust_one(AT_FDCWD, root, root, true, err) < 0) return -1;
    int dfd = yv_root_open(root, O_PATH | O_DIRECTORY, 0);
    if (dfd < 0)
        return errno == ENOENT ? 0 : yv_root_open_error(err, errno, YV_E_IO, "cannot use", root);
    char *cfg = yv_root_path(root, "config.yaml"), *run = yv_root_path(root, "run");
    int rc = trust_one(dfd, "config.yaml", cfg, false, err) < 0 ||
                     trust_one(dfd, "run", run, true, err) < 0
                 ? -1
                 : 0;
    close(dfd);
    free(cfg);
    free(run);
    return rc;
}

int yv_root_ensure(const char *root, yv_err *err)
{
    struct stat st;
    if (mkdir_p(root, 0755, err) < 0) return -1;
    if (stat(root, &st) < 0) return yv_err_sys(err, YV_E_IO, errno, "root %s", root);
    if (!S_ISDIR(st.st_mode)) return yv_err_set(err, YV_E_IO, "root %s is not a folder", root);
    if (yv_root_trust(root, err) < 0) return -1; /* before run/ is made in someone else's root */
    char *run = yv_root_path(root, "run");
    int rc = mkdir_p(run, 0700, err);
    free(run);
    return rc;
}

char *yv_root_join(const char *dir, const char *rel)
{
    if (rel[0] == '/') return yv_strdup(rel);
    return yv_asprintf("%s/%s", dir, rel);
}

char *yv_root_path(const char *root, const char *rel)
{
    return yv_root_join(root, rel);
}

char *yv_root_vm_dir(const char *root, const char *name)
{
    return yv_asprintf("%s/%s.vm", root, name);
}

char *yv_root_part_dir(const char *root, const char *name)
{
    return yv_asprintf("%s/.%s" YV_ROOT_PART_SUFFIX, root, name);
}

int yv_root_lock(const char *root, yv_err *err)
{
    char *path = yv_root_path(root, "run/lock");
    int fd = yv_root_open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) {
        yv_root_open_error(err, errno, YV_E_IO, "cannot open", path);
        free(path);
        return -1;
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno == EINTR) continue;
        yv_err_sys(err, YV_E_IO, errno, "cannot lock %s", path);
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;
}

int yv_root_trylock(const char *root)
{
    char *path = yv_root_path(root, "run/lock");
    int fd = yv_root_open(path, O_RDWR | O_CREAT, 0600);
    free(path);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

void yv_root_unlock(int fd)
{
    if (fd >= 0) close(fd); /* closing drops the flock */
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The folder of path, opened without following links, and the last component (in *base, malloc'd).
 */
static int open_parent(const char *path, char **base)
{
    char *dir = yv_strdup(path), *slash = strrchr(dir, '/');
    *base = yv_strdup(slash ? slash + 1 : path);
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, strlen(path) + 1, ".");
    int fd = yv_root_open(dir, O_RDONLY | O_DIRECTORY, 0);
    int e = errno;
    free(dir);
    errno = e;
    return fd;
}

/* A fresh temp file beside `base` in dfd (0600, O_EXCL: never an existing file or link). */
static int create_temp(int dfd, const char *base, char **tmp)
{
    for (int i = 0; i < 100; i++) {
        unsigned r;
        if (getrandom(&r, sizeof r, 0) != sizeof r)
            r = (unsigned)getpid() * 2654435761u + (unsigned)i;
        *tmp = yv_asprintf("%s.tmp-%08x", base, r);
        int fd = openat(dfd, *tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) return fd;
        int e = errno;
        free(*tmp);
        *tmp = NULL;
        if (e != EEXIST) return errno = e, -1;
    }
    *tmp = NULL;
    errno = EEXIST;
    return -1;
}

static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool sync,
                        yv_err *err)
{
    char *base, *tmp = NULL;
    int dfd = open_parent(path, &base), fd = dfd < 0 ? -1 : create_temp(dfd, base, &tmp);
    if (fd < 0) {
        int e = errno;
        if (dfd >= 0) close(dfd);
        free(base);
        return yv_root_open_error(err, e, YV_E_IO, "cannot write", path);
    }
    const char *step = "write";
    if (fchmod(fd, mode) < 0) goto fail; /* exact, whatever the umask */
    if (write_all(fd, data, len) < 0) goto fail;
    step = "fsync";
    if (sync && fsync(fd) < 0) goto fail;
    step = "close";
    int cfd = fd;
    fd = -1;
    if (close(cfd) < 0) goto fail;
    step = "rename"; /* replaces a link at path itself, never what it points to */
    if (renameat(dfd, tmp, dfd, base) < 0) goto fail;
    if (sync) fsync(dfd); /* best effort: the rename is already visible */
    close(dfd);
    free(tmp);
    free(base);
    return 0;
fail:;
    int e = errno;
    if (fd >= 0) close(fd);
    unlinkat(dfd, tmp, 0);
    close(dfd);
    free(tmp);
    free(base);
    return yv_err_sys(err, YV_E_IO, e, "cannot write %s (%s)", path, step);
}

int yv_root_write_atomic(const char *path, const void *data, size_t len, mode_t mode, yv_err *err)
{
    return write_atomic(path, data, len, mode, true, err);
}

int yv_root_write_runtime(const char *path, const void *data, size_t len, mode_t mode, yv_err *err)
{
    return write_atomic(path, data, len, mode, false, err);
}

/* ---- what killed atomic writes left ---- */

/* "BASE.tmp-XXXXXXXX" (8 lower-case hex digits): the temp name create_temp gives. */
static bool is_atomic_temp(const char *n)
{
    size_t len = strlen(n);
    if (len < 14 || strncmp(n + len - 13, ".tmp-", 5) != 0) return false;
    for (const char *t = n + len - 8; *t; t++)
        if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f'))) return false;
    return true;
}

/* Removes the stale temps in the folder dfd: regular files (never a link, a folder or a FIFO)
 * unchanged for YV_ROOT_TEMP_STALE_S (a write in flight takes milliseconds, and its writer may not
 * hold the root lock). */
static void sweep_temps_in(int dfd, time_t now)
{
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0) close(dup_fd);
        return;
    }
    rewinddir(d); /* a dup shares the offset: the caller may have read dfd already */
    for (struct dirent *de; (de = readdir(d));) {
        struct stat st;
        if (!is_atomic_temp(de->d_name) || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode) || now - st.st_mtime < YV_ROOT_TEMP_STALE_S)
            continue;
        unlinkat(dfd, de->d_name, 0);
    }
    closedir(d);
}

/* The root itself, run/ and every VM folder (`*.vm`; a `.part` folder goes whole with its
 * create); a folder reached through a symlink is skipped. */
void yv_root_sweep_temps(const char *root)
{
    int rfd = yv_root_open(root, O_RDONLY | O_DIRECTORY, 0);
    if (rfd < 0) return;
    time_t now = time(NULL);
    sweep_temps_in(rfd, now);
    int dup_fd = dup(rfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d && dup_fd >= 0) close(dup_fd);
    if (d) rewinddir(d); /* sweep_temps_in read rfd's shared offset to its end */
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        bool vm = n > 3 && !strcmp(de->d_name + n - 3, ".vm");
        if (!vm && strcmp(de->d_name, "run") != 0) continue;
        int fd = openat(rfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) continue;
        sweep_temps_in(fd, now);
        close(fd);
    }
    if (d) closedir(d);
    close(rfd);
}

/* Opens a file to read whole; a FIFO, device or folder is refused. O_NONBLOCK: a FIFO put where a
 * config belongs must not block the caller (the TUI's loop) until someone writes to it. (No stat
 * before the open to spare devices being opened at all: whoever can put a device in the root can
 * do worse there, and the TUI reads a thousand configs at start.) */
static int open_regular(const char *path, bool in_root, off_t *size, yv_code notfound_code,
                        yv_err *err)
{
    struct stat st;
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    int fd = in_root ? yv_root_open(path, flags, 0) : open(path, flags);
    if (fd < 0 && errno == ENOENT && notfound_code == YV_OK) return -1;
    if (fd < 0) return yv_root_open_error(err, errno, notfound_code, "cannot read", path);
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return yv_err_sys(err, YV_E_IO, e, "cannot read %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return yv_err_set(err, YV_E_IO, "cannot read %s: not a regular file", path);
    }
    *size = st.st_size;
    return fd;
}

static void *too_large(const char *path, int fd, char *buf, yv_err *err)
{
    yv_err_set(err, YV_E_IO, "cannot read %s: larger than %d MiB", path, YV_ROOT_MAX_READ >> 20);
    free(buf);
    close(fd);
    return NULL;
}

static char *read_file(const char *path, bool in_root, size_t *len, yv_code notfound_code,
                       yv_err *err)
{
    off_t size = 0;
    int fd = open_regular(path, in_root, &size, notfound_code, err);
    if (fd < 0) return NULL;
    /* room for the whole file and its NUL at once, so one read usually does */
    size_t cap = size > 0 && size < YV_ROOT_MAX_READ ? (size_t)size + 2 : 4096, n = 0;
    char *buf = yv_malloc(cap);
    for (;;) {
        /* checked while reading, not from st_size: /proc files report 0 and files can grow */
        if (n > YV_ROOT_MAX_READ) return too_large(path, fd, buf, err);
        if (n + 1 >= cap) buf = yv_realloc(buf, cap *= 2);
        size_t want = cap - n - 1;
        ssize_t r = read(fd, buf + n, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            yv_err_sys(err, YV_E_IO, errno, "cannot read %s", path);
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
        /* a regular file read short of what was asked is at its end: no read just to see 0 (the
         * files we read are replaced by rename, never appended to; /proc's report size 0) */
        if (size > 0 && (size_t)r < want) break;
    }
    if (n > YV_ROOT_MAX_READ) return too_large(path, fd, buf, err);
    close(fd);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

char *yv_root_read_file(const char *path, size_t *len, yv_code notfound_code, yv_err *err)
{
    return read_file(path, true, len, notfound_code, err);
}

char *yv_root_read_external(const char *path, size_t *len, yv_code notfound_code, yv_err *err)
{
    return read_file(path, false, len, notfound_code, err);
}

/* ---- removing a tree, never into another file system (spec §16) ---- */

#define RM_DEPTH_MAX 64

typedef struct {
    uint64_t mnt; /* mount id of the tree's top (0: the kernel does not say) */
    dev_t dev;
    char *where; /* path of what stopped the walk, for the message */
    int err;     /* its errno; 0 with `where` set: a mount point */
} rm_walk;

/* 1 when name in dfd is on another mount than the tree (a mount point, a bind mount of a folder of
 * the same file system included: its mount id differs even where st_dev does not), 0 when not, -1
 * on error. *isdir tells whether it is a folder (not a link to one). */
static int other_mount(int dfd, const char *name, const rm_walk *w, bool *isdir)
{
    struct statx sx;
    if (statx(dfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_MNT_ID, &sx) < 0)
        return -1;
    *isdir = S_ISDIR(sx.stx_mode);
    /* folders only: overlayfs reports a file's st_dev of the layer it comes from */
    if (*isdir && makedev(sx.stx_dev_major, sx.stx_dev_minor) != w->dev) return 1;
    if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
        (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return 1;
    return (sx.stx_mask & STATX_MNT_ID) && w->mnt && sx.stx_mnt_id != w->mnt;
}

static int walk_fail(rm_walk *w, const char *path, const char *name, int e)
{
    if (!w->where) w->where = yv_asprintf("%s/%s", path, name);
    w->err = e;
    return -1;
}

static int rm_inside(int dfd, const char *path, rm_walk *w, bool remove, int depth);

/* The folder `name` of dfd: what is inside it, then (remove) itself. */
static int rm_subdir(int dfd, const char *path, const char *name, rm_walk *w, bool remove,
                     int depth)
{
    if (depth >= RM_DEPTH_MAX) return walk_fail(w, path, name, ELOOP);
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return walk_fail(w, path, name, errno);
    char *subpath = yv_asprintf("%s/%s", path, name);
    int rc = rm_inside(sub, subpath, w, remove, depth + 1);
    close(sub);
    free(subpath);
    if (rc == 0 && remove && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = walk_fail(w, path, name, errno);
    return rc;
}

/* Checks (remove false) or removes (true) what is inside the folder dfd (at path, for messages),
 * never descending into another mount: a check first finds any mount point before anything goes. */
static int rm_inside(int dfd, const char *path, rm_walk *w, bool remove, int depth)
{
    int fd = dup(dfd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0) close(fd);
        return walk_fail(w, path, ".", errno);
    }
    rewinddir(d); /* the dup shares the offset with the check's walk before */
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (errno = 0, de = readdir(d))) {
        const char *n = de->d_name;
        bool isdir = false;
        if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
        int m = other_mount(dfd, n, w, &isdir);
        if (m < 0 && errno == ENOENT) continue;
        if (m != 0) rc = walk_fail(w, path, n, m > 0 ? 0 : errno);
        else if (isdir) rc = rm_subdir(dfd, path, n, w, remove, depth);
        else if (remove && unlinkat(dfd, n, 0) < 0 && errno != ENOENT)
            rc = walk_fail(w, path, n, errno);
    }
    if (rc == 0 && errno) rc = walk_fail(w, path, ".", errno);
    closedir(d);
    return rc;
}

static int rm_error(rm_walk *w, const char *path, yv_err *err)
{
    if (w->err) yv_err_sys(err, YV_E_IO, w->err, "cannot remove %s: %s", path, w->where);
    else
        yv_err_set(err, YV_E_FAIL,
                   "cannot remove %s: %s is a mount point (another file system, never deleted "
                   "into): unmount it first (umount %s)",
                   path, w->where, w->where);
    free(w->where);
    return -1;
}

/* The tree at path: its parent folder fd, and the walk's mount. 0: a folder to walk; 1: no folder
 * (a file or a link: removed as such); 2: absent; -1: an error, or (w->where set) the folder is
 * itself a mount point. */
static int rm_top(const char *path, int *pfd, char **base, rm_walk *w, yv_err *err)
{
    struct statx sx;
    *pfd = open_parent(path, base);
    if (*pfd < 0)
        return errno == ENOENT ? 2 : yv_root_open_error(err, errno, YV_E_IO, "cannot remove", path);
    if (statx(*pfd, *base, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_MNT_ID, &sx) <
        0)
        return errno == ENOENT ? 2 : yv_err_sys(err, YV_E_IO, errno, "cannot remove %s", path);
    if (!S_ISDIR(sx.stx_mode)) return 1;
    w->mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
    w->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
        (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
        w->where = yv_strdup(path);
        return -1;
    }
    return 0;
}

/* The folder base of pfd: everything inside it checked (no mount), then removed, then itself. */
static int rm_folder(int pfd, const char *base, const char *path, rm_walk *w, yv_err *err)
{
    int dfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = 0;
    if (dfd < 0) return yv_err_sys(err, YV_E_IO, errno, "cannot remove %s", path);
    /* all checked before anything goes: a mount inside leaves the tree whole */
    if (rm_inside(dfd, path, w, false, 0) < 0 || rm_inside(dfd, path, w, true, 0) < 0)
        rc = rm_error(w, path, err);
    else if (unlinkat(pfd, base, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = yv_err_sys(err, YV_E_IO, errno, "cannot remove %s", path);
    close(dfd);
    return rc;
}

int yv_root_rmtree(const char *path, yv_err *err)
{
    rm_walk w = {0};
    char *base = NULL;
    int pfd, rc = rm_top(path, &pfd, &base, &w, err);
    switch (rc) {
    case 0: rc = rm_folder(pfd, base, path, &w, err); break;
    case 1: /* a file or a link: the name goes, never what a link points to */
        rc = unlinkat(pfd, base, 0) < 0 && errno != ENOENT
                 ? yv_err_sys(err, YV_E_IO, errno, "cannot remove %s", path)
                 : 0;
        break;
    case 2: rc = 0; break; /* already gone */
    default: rc = w.where ? rm_error(&w, path, err) : -1;
    }
    if (pfd >= 0) close(pfd);
    free(base);
    return rc;
}

int yv_root_check_mounts(const char *path, yv_err *err)
{
    rm_walk w = {0};
    char *base = NULL;
    int pfd, dfd = -1, rc = rm_top(path, &pfd, &base, &w, err);
    if (rc == 0) {
        dfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd >= 0 && rm_inside(dfd, path, &w, false, 0) < 0) rc = rm_error(&w, path, err);
    } else if (rc < 0 && w.where) {
        rc = rm_error(&w, path, err);
    }
    if (dfd >= 0) close(dfd);
    if (pfd >= 0) close(pfd);
    free(base);
    return rc < 0 ? -1 : 0;
}

bool yv_root_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **yv_root_list_suffix(const char *root, const char *suffix, size_t *n, yv_err *err)
{
    DIR *d = opendir(root);
    *n = 0;
    if (!d) {
        if (errno == ENOENT) return yv_calloc(1, sizeof(char *));
        yv_err_sys(err, YV_E_IO, errno, "cannot read %s", root);
        return NULL;
    }
    size_t cap = 16, sl = strlen(suffix);
    char **names = yv_malloc(cap * sizeof *names);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l <= sl || strcmp(de->d_name + l - sl, suffix) != 0) continue;
        if (*n == cap) names = yv_realloc(names, (cap *= 2) * sizeof *names);
        names[(*n)++] = yv_strndup(de->d_name, l - sl);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

void yv_root_free_names(char **names, size_t n)
{
    if (!names) return;
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}
