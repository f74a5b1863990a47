/* unit: the shared preamble of the cmocka unit tests (cmocka needs these includes first) and small
 * helpers: temporary folders, files, and directory listings. Header-only; every helper is static.
 */
#ifndef YV_UNIT_H
#define YV_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/channel.h"
#include "core/config.h"
#include "core/root.h"
#include "core/util.h"

/* A fresh folder under $TMPDIR (or /tmp); malloc'd, remove it with ut_rmdir. */
static inline char *ut_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path = yv_asprintf("%s/yave-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(path)) fail_msg("mkdtemp %s: %s", path, strerror(errno));
    return path;
}

/* Removes the tree and frees the path. */
static inline void ut_rmdir(char *path)
{
    yv_err e;
    if (!path) return;
    if (yv_root_rmtree(path, &e) < 0) fail_msg("rmtree %s: %s", path, e.msg);
    free(path);
}

/* Writes text to dir/rel (creating nothing else); mode 0644. */
static inline void ut_write(const char *dir, const char *rel, const char *text)
{
    char *path = yv_root_join(dir, rel);
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
    free(path);
}

/* Creates dir/rel as a folder. */
static inline void ut_mkdir(const char *dir, const char *rel)
{
    char *path = yv_root_join(dir, rel);
    if (mkdir(path, 0755) < 0) fail_msg("mkdir %s: %s", path, strerror(errno));
    free(path);
}

/* Contents of dir/rel (malloc'd), or NULL when it cannot be read. */
static inline char *ut_read(const char *dir, const char *rel)
{
    char *path = yv_root_join(dir, rel);
    yv_err e;
    char *text = yv_root_read_file(path, NULL, YV_E_IO, &e);
    free(path);
    return text;
}

static inline bool ut_exists(const char *dir, const char *rel)
{
    char *path = yv_root_join(dir, rel);
    bool ok = yv_root_exists(path);
    free(path);
    return ok;
}

/* Permission bits of dir/rel, or -1. */
static inline int ut_mode(const char *dir, const char *rel)
{
    struct stat st;
    char *path = yv_root_join(dir, rel);
    int rc = lstat(path, &st);
    free(path);
    return rc < 0 ? -1 : (int)(st.st_mode & 07777);
}

/* The sorted entry names of a folder (without . and ..), joined with spaces; malloc'd. "" when
 * empty; NULL when it cannot be read. */
static inline char *ut_ls(const char *dir)
{
    size_t n = 0, cap = 8;
    char **v = yv_malloc(cap * sizeof *v);
    DIR *d = opendir(dir);
    if (!d) {
        free(v);
        return NULL;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) v = yv_realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = yv_strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort: listings are short */
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(v[i]) + 1;
    char *out = yv_malloc(len);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(out, " ");
        strcat(out, v[i]);
        free(v[i]);
    }
    free(v);
    return out;
}

/* Asserts that the listing of dir equals want. */
#define ut_assert_ls(dir, want)                                                                    \
    do {                                                                                           \
        char *ls_ = ut_ls(dir);                                                                    \
        assert_non_null(ls_);                                                                      \
        assert_string_equal(ls_, want);                                                            \
        free(ls_);                                                                                 \
    } while (0)

/* Asserts that haystack contains needle (with both in the failure message). */
#define ut_assert_contains(haystack, needle)                                                       \
    do {                                                                                           \
        const char *h_ = (haystack), *n_ = (needle);                                               \
        if (!h_ || !strstr(h_, n_))                                                                \
            fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", n_);                        \
    } while (0)

#define ut_assert_not_contains(haystack, needle)                                                   \
    do {                                                                                           \
        const char *h_ = (haystack), *n_ = (needle);                                               \
        if (h_ && strstr(h_, n_)) fail_msg("'%s' contains '%s'", h_, n_);                          \
    } while (0)

/* Per-test temporary folder as cmocka state. */
static inline int ut_setup_tmp(void **state)
{
    *state = ut_mkdtemp();
    return 0;
}

static inline int ut_teardown_tmp(void **state)
{
    ut_rmdir(*state);
    *state = NULL;
    return 0;
}

/* The executable of a process as the kernel shows it (under valgrind a forked child runs valgrind's
 * tool, not the test binary): what stands in for QEMU in tests whose children play QEMU. */
static inline char *ut_exe_of(pid_t pid)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    return realpath(link, NULL);
}

/* True under valgrind, which preloads its vgpreload libraries into the program it runs (read at
 * run time: `make unit` then needs no valgrind headers). */
static inline bool ut_under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload");
}

/* A UNIX stream socket listening at path with this backlog (QEMU's QMP socket stands in). */
/* A VNC display number from lo up whose port (5900 + N) nothing listens on now, on loopback: a
 * test that sets a display must not collide with a QEMU another test of a parallel run started. */
static inline int ut_free_display(int lo)
{
    for (int d = lo; d < 100; d++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)(5900 + d)),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (fd >= 0) close(fd);
        if (ok) return d;
    }
    fail_msg("no free VNC display from :%d", lo);
    return -1;
}

static inline int ut_unix_listen(const char *path, int backlog)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, backlog), 0);
    return fd;
}

/* A fake QMP peer's answer to one command line it read: {"return": RET, "id": ID} on out, flushed.
 * RET is answer(cmd, user), cmd the line's "execute" (NULL when it has none), or {} when answer
 * gives NULL; ID is the line's own (null without one). */
typedef const char *(*ut_qmp_answer_fn)(const char *cmd, void *user);
static inline void ut_qmp_reply(FILE *out, const char *line, ut_qmp_answer_fn answer, void *user)
{
    json_t *j = json_loads(line, 0, NULL);
    const char *cmd = json_string_value(json_object_get(j, "execute"));
    char *id = json_dumps(json_object_get(j, "id"), JSON_ENCODE_ANY);
    const char *ret = answer(cmd, user);
    fprintf(out, "{\"return\": %s, \"id\": %s}\n", ret ? ret : "{}", id ? id : "null");
    fflush(out);
    free(id);
    json_decref(j);
}

/* A client connected (or, non-blocking, queued) to the UNIX socket at path. */
static inline int ut_unix_connect(const char *path, int flags)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* A child that waits for a signal, ready when this returns. With pidfile, it plays a running QEMU:
 * it holds the file's write lock and wrote its pid into it. With ignore_term, SIGTERM is ignored
 * (as a hung QEMU may). The caller kills and reaps it. */
static inline pid_t ut_child(const char *pidfile, bool ignore_term)
{
    int sync[2];
    assert_int_equal(pipe(sync), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sync[0]);
        if (ignore_term) signal(SIGTERM, SIG_IGN);
        int fd = pidfile ? open(pidfile, O_RDWR | O_CREAT | O_TRUNC, 0600) : -1;
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (pidfile && (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)) _exit(1);
        if (pidfile) dprintf(fd, "%d\n", (int)getpid());
        if (write(sync[1], "r", 1) != 1) _exit(1);
        for (;;) pause();
    }
    close(sync[1]);
    char c;
    assert_int_equal(read(sync[0], &c, 1), 1);
    close(sync[0]);
    return pid;
}

/* A temporary root with the default config: the fixture of tests that make VMs and disks. */
typedef struct {
    char *root;
    yv_config cfg;
} ut_root;

static inline ut_root *ut_root_new(void)
{
    ut_root *f = yv_calloc(1, sizeof *f);
    yv_err err;
    f->root = ut_mkdtemp();
    if (yv_config_load_string(&f->cfg, "t", "", f->root, &err) == 0) return f;
    ut_rmdir(f->root);
    free(f);
    return NULL;
}

static inline void ut_root_free(ut_root *f)
{
    yv_config_done(&f->cfg);
    ut_rmdir(f->root);
    free(f);
}

static inline int ut_setup_root(void **state)
{
    *state = ut_root_new();
    return *state ? 0 : -1;
}

static inline int ut_teardown_root(void **state)
{
    ut_root_free(*state);
    *state = NULL;
    return 0;
}

/* The caller's poll loop of a channel (core/channel.h), for ms or until it is closed: what a
 * channel kind's test drives it with. */
static inline void ut_chan_pump(yv_chan *c, int ms)
{
    int64_t end = yv_now_ms() + ms;
    while (yv_now_ms() < end && yv_chan_fd(c) >= 0) {
        struct pollfd p = {yv_chan_fd(c), yv_chan_poll_events(c), 0};
        int r = poll(&p, 1, 5);
        yv_chan_handle(c, r > 0 ? p.revents : 0, yv_now_ms());
    }
}

#ifdef UT_TERM
#include <curses.h>
#include <pty.h>
#include <sys/ioctl.h>
/* A real ncurses screen on a pty of 80x24 (test_widgets, test_picture: #define UT_TERM before
 * unit.h): what ncurses writes is drained from the master, read and thrown away,
 * so the pty never fills up and blocks ncurses. */
typedef struct {
    int master;
    FILE *out, *in;
    SCREEN *scr;
} ut_term;

static inline void ut_term_drain(ut_term *t)
{
    char buf[16384];
    while (read(t->master, buf, sizeof buf) > 0) {
    }
}

static inline void ut_term_open(ut_term *t, const char *name)
{
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    int slave;
    if (openpty(&t->master, &slave, NULL, NULL, &ws) < 0) fail_msg("openpty: %s", strerror(errno));
    fcntl(t->master, F_SETFL, fcntl(t->master, F_GETFL) | O_NONBLOCK);
    t->out = fdopen(slave, "w");
    t->in = fdopen(dup(slave), "r");
    assert_non_null(t->out);
    assert_non_null(t->in);
    t->scr = newterm(name, t->out, t->in);
    assert_non_null(t->scr);
    set_term(t->scr);
}

static inline void ut_term_close(ut_term *t)
{
    endwin();
    ut_term_drain(t);
    delscreen(t->scr);
    fclose(t->out);
    fclose(t->in);
    close(t->master);
    memset(t, 0, sizeof *t);
}
#endif

#endif
