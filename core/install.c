#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifecycle.h"
#include "proc.h"
#include "qmp.h"
#include "root.h"
#include "util.h"
#include "vmstate.h"

#define TICK_MS 1000

void yv_install_last_line(const char *path, char *out, size_t n)
{
    char buf[4096];
    out[0] = '\0';
    int fd = yv_root_open(path, O_RDONLY | O_NONBLOCK, 0); /* serial.log: never through a link */
    if (fd < 0) return;
    off_t end = lseek(fd, 0, SEEK_END),
          start = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
    ssize_t r = pread(fd, buf, (size_t)(end - start), start);
    close(fd);
    if (r <= 0) return;
    buf[r] = '\0';
    /* the last line with something printable on it (consoles end lines with \r\n and escapes) */
    char *line = NULL;
    for (char *s = buf, *nl; s; s = nl ? nl + 1 : NULL) {
        nl = strpbrk(s, "\r\n");
        if (nl) *nl = '\0';
        bool text = false;
        for (char *c = s; *c; c++) text |= (unsigned char)*c > ' ';
        if (text) line = s;
    }
    char plain[sizeof buf];
    size_t k = 0;
    for (char *c = line; c && *c; c++) {
        if (*c == 27) { /* skip an ANSI escape: ESC [ … letter */
            while (c[1] && !((c[1] >= 'A' && c[1] <= 'Z') || (c[1] >= 'a' && c[1] <= 'z'))) c++;
            if (c[1]) c++;
            continue;
        }
        if ((unsigned char)*c >= ' ' && (unsigned char)*c != 127) plain[k++] = *c;
    }
    plain[k] = '\0';
    /* the guest's bytes reach a terminal and JSON: C1 controls and broken UTF-8 (a character cut
     * by the read's start or by n) as \xNN, never raw */
    yv_err_escape(plain, out, n);
}

typedef struct {
    yv_qmp *q;
    int pidfd;
    pid_t pid;
    bool powered_off;
} boot;

static void read_events(boot *b)
{
    yv_qmp_msg m;
    while (b->q && yv_qmp_pop(b->q, &m)) {
        if (m.kind == YV_QMP_EVENT && !strcmp(m.event, "SHUTDOWN") &&
            json_is_true(json_object_get(json_object_get(m.json, "data"), "guest")))
            b->powered_off = true;
        json_decref(m.json);
    }
}

/* Stops the first boot's QEMU: quit over the connection we hold (without one, SIGTERM, which QEMU
 * also obeys at once), then SIGKILL. */
static void kill_boot(const char *root, const yv_config *cfg, const char *name, boot *b)
{
    static const int64_t ms[] = {0, 3000, 3000, 5000};
    bool held = b->q && yv_qmp_greeted(b->q) && !yv_qmp_eof(b->q);
    yv_lifecycle_qemu q = {root, cfg, name, b->pid, b->pidfd, held ? b->q : NULL};
    yv_stop_step how;
    yv_lifecycle_stop(&q, held ? YV_STOP_QUIT : YV_STOP_SIGTERM, ms, &how);
}

static void report(yv_install_cb cb, void *ctx, const char *serial_log, int64_t t0)
{
    char line[256];
    if (!cb) return;
    yv_install_last_line(serial_log, line, sizeof line);
    yv_install_progress p = {"first boot", (double)(yv_now_ms() - t0) / 1000.0, line};
    cb(ctx, &p);
}

/* Reads what QMP has for us. A broken connection (a read error, a line past the limit) fails the
 * boot unless the power-off was already seen: afterwards a power-off could not be told from a
 * crash. A plain end of the connection is QEMU leaving: the pidfd says when. */
static int watch(boot *b, short revents, yv_err *err)
{
    yv_err e;
    int h = yv_qmp_handle(b->q, revents, &e);
    read_events(b);
    if (h < 0 && !b->powered_off)
        return yv_err_set(err, e.code, "cannot watch the first boot: %s", e.msg);
    if (h < 0 || yv_qmp_eof(b->q)) {
        yv_qmp_free(b->q);
        b->q = NULL;
    }
    return 0;
}

/* QEMU has exited: what it wrote before (the SHUTDOWN event among it) is still in the socket, up to
 * its end (its descriptors close before its exit is reported). Bounded all the same: 256 reads of
 * up to 64 KiB. */
static int drain_events(boot *b, yv_err *err)
{
    for (int i = 0; i < 256 && b->q && !b->powered_off; i++)
        if (watch(b, POLLIN, err) < 0) return -1;
    return 0;
}

static int wait_boot(boot *b, const char *serial_log, long timeout_s, int64_t t0, int64_t start,
                     yv_install_cb cb, void *ctx, volatile sig_atomic_t *cancel, yv_err *err)
{
    int64_t deadline = start + timeout_s * 1000, next_tick = yv_now_ms();
    for (;;) {
        int64_t now = yv_now_ms();
        if (cancel && *cancel) return yv_err_set(err, YV_E_FAIL, "interrupted");
        if (now >= deadline)
            return yv_err_set(err, YV_E_TIMEOUT,
                              "the first boot did not power off within %ld s "
                              "(cloud-init unfinished: see the guest's console)",
                              timeout_s);
        if (now >= next_tick) {
            report(cb, ctx, serial_log, t0);
            next_tick = now + TICK_MS;
        }
        struct pollfd p[2] = {{b->pidfd, POLLIN, 0}, {b->q ? yv_qmp_fd(b->q) : -1, 0, 0}};
        if (b->q) p[1].events = yv_qmp_poll_events(b->q);
        int64_t until = next_tick < deadline ? next_tick : deadline;
        if (b->pidfd < 0 && until > now + 100) until = now + 100;
        int r = poll(p, 2, (int)(until - now > 0 ? until - now : 0));
        if (r < 0 && errno != EINTR) return yv_err_sys(err, YV_E_IO, errno, "poll");
        if (r > 0 && b->q && p[1].revents && watch(b, p[1].revents, err) < 0) return -1;
        if (r > 0 && p[0].revents) return drain_events(b, err); /* QEMU has exited */
        if (b->pidfd < 0 && yv_proc_exited(b->pid)) return 0;   /* no pidfds here: /proc tells */
    }
}

int yv_install_first_boot(const char *root, const yv_config *cfg, const char *name,
                          const char *vm_dir, const char *iso, long timeout_s, int64_t t0,
                          yv_install_cb cb, void *cb_ctx, volatile sig_atomic_t *cancel,
                          yv_err *err)
{
    yv_vm vm;
    yv_run_result res;
    boot b = {NULL, -1, 0, false};
    char *cfg_path = yv_root_join(vm_dir, "config.yaml"),
         *serial = yv_root_join(vm_dir, "serial.log");
    size_t len;
    char *text = yv_root_read_file(cfg_path, &len, YV_E_IO, err);
    int rc = text ? yv_vm_load_string(&vm, cfg_path, text, len, name, err) : -1;
    free(text);
    if (rc < 0) goto out_nvm;
    yv_vm_add_drive(&vm, "seed", iso, YV_DRIVE_IDE, YV_MEDIA_CD, -1);
    int64_t start = yv_now_ms();
    /* paused (-S) until we listen: QMP sends events only after capabilities are negotiated, and a
     * guest quick to power off must not do it unseen */
    if ((rc = yv_lifecycle_start(root, cfg, &vm, vm_dir, true, &res, err)) < 0) goto out;
    b.pid = res.pid;
    b.pidfd = yv_proc_pidfd_open(res.pid);
    /* this VM is not visible to anyone yet: holding its QMP for the whole boot is safe, and it is
     * how we learn that the guest powered itself off rather than crashed */
    char *sock = yv_vmstate_sockfile(root, name);
    b.q = yv_qmp_new();
    yv_err e;
    /* without QMP a power-off cannot be told from a crash: a first boot we cannot watch fails */
    if (yv_qmp_connect(b.q, sock, &e) < 0 || yv_qmp_greet(b.q, yv_now_ms() + 5000, &e) < 0 ||
        yv_qmp_call(b.q, "cont", NULL, NULL, yv_now_ms() + 5000, &e) < 0)
        rc = yv_err_set(err, e.code, "cannot watch the first boot: %s", e.msg);
    else rc = wait_boot(&b, serial, timeout_s, t0, start, cb, cb_ctx, cancel, err);
    free(sock);
    if (rc < 0) kill_boot(root, cfg, name, &b);
    else if (!b.powered_off)
        rc = yv_err_set(err, YV_E_FAIL, "QEMU ended without the guest powering off (see %s)",
                        "qemu.log and serial.log");
    if (rc == 0) report(cb, cb_ctx, serial, t0);
out:
    if (b.pidfd >= 0) close(b.pidfd);
    yv_qmp_free(b.q);
    /* Without the root lock: the VM is still a locked .part folder, so no other process runs it or
     * starts a QEMU under its name; a concurrent reconcile only unlinks the same stale files. */
    if (b.pid > 0) yv_vmstate_clean_stale(root, cfg, name, false);
    yv_vm_done(&vm);
out_nvm:
    free(cfg_path);
    free(serial);
    return rc;
}
