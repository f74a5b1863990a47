#include "root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

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
    char *real = realpath(abs, NULL); /* resolves ./.. when the folder exists */
    if (real) {
        free(abs);
        return real;
    }
    return abs;
}

char *yv_root_resolve(const char *explicit_root, yv_err *err)
{
    const char *env = getenv("YAVE_ROOT");
    if (explicit_root && *explicit_root) return absolute(explicit_root);
    if (env && *env) return absolute(env);
    if (access("debug/config.yaml", F_OK) == 0) return absolute("debug");
    if (geteuid() == 0) return yv_strdup("/var/lib/yave");
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/') return yv_asprintf("%s/yave", xdg);
    const char *home = getenv("HOME");
    if (!home || *home != '/') {
        yv_err_set(err, YV_E_USAGE, "cannot pick a root: HOME is not set; use --root DIR");
        return NULL;
    }
    return yv_asprintf("%s/.local/share/yave", home);
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

int yv_root_ensure(const char *root, yv_err *err)
{
    struct stat st;
    if (mkdir_p(root, 0755, err) < 0) return -1;
    if (stat(root, &st) < 0) return yv_err_sys(err, YV_E_IO, errno, "root %s", root);
    if (!S_ISDIR(st.st_mode)) return yv_err_set(err, YV_E_IO, "root %s is not a folder", root);
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

int yv_root_lock(const char *root, yv_err *err)
{
    char *path = yv_root_path(root, "run/lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        yv_err_sys(err, errno == EACCES ? YV_E_PERMISSION : YV_E_IO, errno, "cannot open %s", path);
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
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
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

static int fsync_dir_of(const char *path)
{
    char *dir = yv_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, strlen(path) + 1, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int yv_root_write_atomic(const char *path, const void *data, size_t len, mode_t mode, yv_err *err)
{
    char *tmp = yv_asprintf("%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC); /* mkostemp creates 0600 */
    if (fd < 0) {
        yv_err_sys(err, errno == EACCES ? YV_E_PERMISSION : YV_E_IO, errno, "cannot write %s",
                   path);
        free(tmp);
        return -1;
    }
    const char *step = "write";
    if (mode != 0600 && fchmod(fd, mode) < 0) goto fail;
    if (write_all(fd, data, len) < 0) goto fail;
    step = "fsync";
    if (fsync(fd) < 0) goto fail;
    step = "close";
    int cfd = fd;
    fd = -1;
    if (close(cfd) < 0) goto fail;
    step = "rename";
    if (rename(tmp, path) < 0) goto fail;
    fsync_dir_of(path); /* best effort: the rename is already visible */
    free(tmp);
    return 0;
fail:;
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(tmp);
    return yv_err_sys(err, YV_E_IO, e, "cannot write %s (%s)", path, step);
}

/* Opens a file to read whole; a FIFO, device or folder is refused. O_NONBLOCK: a FIFO put where a
 * config belongs must not block the caller (the TUI's loop) until someone writes to it. (No stat
 * before the open to spare devices being opened at all: whoever can put a device in the root can
 * do worse there, and the TUI reads a thousand configs at start.) */
static int open_regular(const char *path, off_t *size, yv_code notfound_code, yv_err *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return yv_err_sys(err,
                          e == ENOENT   ? notfound_code
                          : e == EACCES ? YV_E_PERMISSION
                                        : YV_E_IO,
                          e, "cannot read %s", path);
    }
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

char *yv_root_read_file(const char *path, size_t *len, yv_code notfound_code, yv_err *err)
{
    off_t size = 0;
    int fd = open_regular(path, &size, notfound_code, err);
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

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    return (rc < 0 && errno != ENOENT) ? -1 : 0;
}

int yv_root_rmtree(const char *path, yv_err *err)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return yv_err_sys(err, YV_E_IO, errno, "cannot remove %s", path);
    return 0;
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
