/* screenshot: QMP screendump into a locked temporary file of run/, read back bounded. */
#include "screenshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qmp.h"
#include "root.h"
#include "util.h"
#include "valid.h"

/* ---- the PNG header ---- */

static unsigned be32(const unsigned char *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

int yv_screenshot_png_size(const unsigned char *buf, size_t len, unsigned *w, unsigned *h,
                           yv_err *err)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    /* signature, then the first chunk: length 13, type IHDR, width, height, ... */
    if (len < 8 || memcmp(buf, sig, 8) != 0)
        return yv_err_set(err, YV_E_IO, "the screendump is not a PNG file (no PNG signature)");
    if (len < 8 + 8 + 13 + 4 || be32(buf + 8) != 13 || memcmp(buf + 12, "IHDR", 4) != 0)
        return yv_err_set(err, YV_E_IO, "the screendump is not a PNG file (no IHDR header)");
    unsigned ww = be32(buf + 16), hh = be32(buf + 20);
    if (ww == 0 || hh == 0 || ww > YV_SCREENSHOT_DIM_MAX || hh > YV_SCREENSHOT_DIM_MAX)
        return yv_err_set(err, YV_E_IO, "the screendump claims a size of %ux%u pixels", ww, hh);
    *w = ww;
    *h = hh;
    return 0;
}

/* ---- the temporary file ---- */

/* run/ opened as a directory, reached without a symlink (-1 with err). */
static int open_run(const char *root, yv_err *err)
{
    char *run = yv_root_path(root, "run");
    int dfd = yv_root_open(run, O_RDONLY | O_DIRECTORY, 0);
    if (dfd < 0) yv_root_open_error(err, errno, YV_E_IO, "cannot open", run);
    free(run);
    return dfd;
}

/* A fresh name: the VM, our pid and 64 random bits (two screenshots of one VM at once are two
 * files). */
static void tmp_name(const char *name, char *out, size_t n)
{
    unsigned long long r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r ^= (unsigned long long)yv_now_ms();
    snprintf(out, n, "%s%s-%ld-%016llx.png", YV_SCREENSHOT_TMP_PREFIX, name, (long)getpid(), r);
}

/* Creates run/<file> locked before anyone can see it: an O_TMPFILE locked, then linked in, so a
 * sweep never finds it unlocked; where the file system has no O_TMPFILE, created O_EXCL and locked
 * at once (a sweep in between makes this screenshot fail, never leaves a file). -1 with err. */
static int tmp_create(int dfd, const char *file, yv_err *err)
{
    int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), e = errno;
    if (fd >= 0) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (flock(fd, LOCK_EX) == 0 && linkat(AT_FDCWD, proc, dfd, file, AT_SYMLINK_FOLLOW) == 0)
            return fd;
        e = errno;
        close(fd);
    }
    /* only a file system without O_TMPFILE (or no /proc) takes the other way: a full disk or an
     * I/O error is this screenshot's failure */
    if (e != EOPNOTSUPP && e != EISDIR && e != EINVAL && e != ENOENT)
        return yv_err_sys(err, e == EACCES ? YV_E_PERMISSION : YV_E_IO, e,
                          "cannot create a temporary file in run/");
    fd = openat(dfd, file, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX) == 0) return fd;
    e = errno;
    if (fd >= 0) {
        unlinkat(dfd, file, 0);
        close(fd);
    }
    return yv_err_sys(err, e == EACCES ? YV_E_PERMISSION : YV_E_IO, e,
                      "cannot create a temporary file in run/");
}

/* Reads what QEMU wrote, from our own descriptor (the inode we made: nothing reached by a path
 * QEMU might have been pointed elsewhere with). */
static int tmp_read(int fd, yv_screenshot *out, yv_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return yv_err_sys(err, YV_E_IO, errno, "screendump file");
    if (st.st_size > (off_t)YV_SCREENSHOT_MAX)
        return yv_err_set(err, YV_E_IO, "the screendump is larger than %u MiB",
                          YV_SCREENSHOT_MAX >> 20);
    size_t len = (size_t)st.st_size, got = 0;
    unsigned char *buf = yv_malloc(len ? len : 1);
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            return r < 0 ? yv_err_sys(err, YV_E_IO, errno, "reading the screendump")
                         : yv_err_set(err, YV_E_IO, "the screendump shrank while it was read");
        }
        got += (size_t)r;
    }
    if (yv_screenshot_png_size(buf, len, &out->width, &out->height, err) < 0) {
        free(buf);
        return -1;
    }
    out->png = buf;
    out->len = len;
    return 0;
}

/* ---- the exchange ---- */

/* One short exchange on the VM's QMP socket (never held: spec §6). QEMU opens path itself (as the
 * user it runs as, ours): it follows no link there, as run/ is ours and private (spec §16). */
static int screendump(const char *root, const char *name, const char *path, yv_err *err)
{
    int64_t deadline = yv_now_ms() + YV_SCREENSHOT_QMP_MS;
    char *sock = yv_vmstate_sockfile(root, name);
    yv_qmp *q = yv_qmp_new();
    int rc = yv_qmp_connect_wait(q, sock, deadline, err);
    if (rc == 0) rc = yv_qmp_greet(q, deadline, err);
    if (rc < 0 && err->code == YV_E_TIMEOUT && yv_vmstate_qmp_busy(sock, yv_qmp_fd(q)))
        yv_err_prefix(err, "QMP busy: another client is connected");
    if (rc == 0) {
        json_t *args = json_pack("{s:s, s:s}", "filename", path, "format", "png");
        rc = yv_qmp_call(q, "screendump", args, NULL, deadline, err);
    }
    if (rc == 1) { /* QEMU's own words: a QEMU without PNG support, a display it cannot dump */
        yv_err_prefix(err, "QEMU refused the screendump");
        err->code = YV_E_TOOL_FAILED;
        rc = -1;
    }
    yv_qmp_free(q);
    free(sock);
    return rc < 0 ? yv_err_prefix(err, "screenshot of VM '%s'", name) : 0;
}

int yv_screenshot_take_proven(const char *root, const char *name, const yv_vmstate_proof *p,
                              yv_screenshot *out, yv_err *err)
{
    *out = (yv_screenshot){NULL, 0, 0, 0};
    if (yv_vmstate_require(root, name, p, err) < 0) return -1;
    char file[160];
    yv_screenshot_sweep(root);
    int dfd = open_run(root, err), fd = -1, rc = -1;
    if (dfd < 0) return -1;
    tmp_name(name, file, sizeof file);
    char *path = yv_asprintf("%s/run/%s", root, file);
    if ((fd = tmp_create(dfd, file, err)) >= 0 && screendump(root, name, path, err) == 0)
        rc = tmp_read(fd, out, err);
    if (fd >= 0) unlinkat(dfd, file, 0); /* before the lock goes: never unlocked while ours */
    if (fd >= 0) close(fd);
    close(dfd);
    free(path);
    return rc;
}

int yv_screenshot_take(const char *root, const yv_config *cfg, const char *name, yv_screenshot *out,
                       yv_err *err)
{
    yv_vmstate_proof p = {0, 0, -1};
    if (yv_valid_name(name, err) < 0) return -1;
    yv_vmstate_tidy(root, cfg, name, &p);
    int rc = yv_screenshot_take_proven(root, name, &p, out, err);
    yv_vmstate_proof_done(&p);
    return rc;
}

void yv_screenshot_done(yv_screenshot *s)
{
    if (!s) return;
    free(s->png);
    *s = (yv_screenshot){NULL, 0, 0, 0};
}

/* ---- leftovers of killed screenshots ---- */

/* Removes run/<file> when its lock is free and it is still the file locked. */
static void sweep_one(int dfd, const char *file)
{
    struct stat a, b;
    int fd = openat(dfd, file, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return; /* gone meanwhile, or not a file of ours (a link is never followed) */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 &&
        fstatat(dfd, file, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev && S_ISREG(a.st_mode))
        unlinkat(dfd, file, 0);
    close(fd);
}

void yv_screenshot_sweep(const char *root)
{
    yv_err e;
    int dfd = open_run(root, &e);
    if (dfd < 0) return;
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d && dup_fd >= 0) close(dup_fd);
    size_t plen = strlen(YV_SCREENSHOT_TMP_PREFIX);
    for (struct dirent *de; d && (de = readdir(d));)
        if (!strncmp(de->d_name, YV_SCREENSHOT_TMP_PREFIX, plen)) sweep_one(dfd, de->d_name);
    if (d) closedir(d);
    close(dfd);
}
