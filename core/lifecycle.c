#include "lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forward.h"
#include "linked.h"
#include "proc.h"
#include "qga.h"
#include "qmp.h"
#include "root.h"
#include "snapshot.h"
#include "uefivars.h"
#include "util.h"
#include "valid.h"
#include "vm.h"
#include "vmnet.h"
#include "vmstate.h"
#include "vnctable.h"

#define OVMF_CODE_DEFAULT "/usr/share/OVMF/OVMF_CODE_4M.fd"
/* from the launch until QEMU answers the first exchange: its whole start-up (~0.1 s under TCG on a
 * small machine), generously */
#define QEMU_START_MS 60000
#define QMP_POLL_MS   1 /* how often a new QEMU's QMP socket is looked for */
#define QMP_STEP_MS   3000

static bool cpu_has_virt(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    char line[8192];
    bool found = false;
    if (!f) return false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        found = strstr(line, " vmx") || strstr(line, " svm");
        break;
    }
    fclose(f);
    return found;
}

int yv_lifecycle_pick_accel(const yv_config *cfg, yv_accel *out, char *warning, size_t wn,
                            yv_err *err)
{
    warning[0] = '\0';
    if (cfg->qemu_accel == YV_ACCEL_TCG) return *out = YV_ACCEL_TCG, 0;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int e = errno;
    if (fd >= 0) close(fd);
    const char *why = fd < 0 ? strerror(e) : !cpu_has_virt() ? "the CPU has no vmx/svm" : NULL;
    if (!why) return *out = YV_ACCEL_KVM, 0;
    if (cfg->qemu_accel == YV_ACCEL_KVM)
        return yv_err_set(err, YV_E_PERMISSION,
                          "qemu.accel is kvm, but KVM is not usable: "
                          "/dev/kvm: %s",
                          why);
    snprintf(warning, wn, "KVM is not usable here (/dev/kvm: %s); using TCG (slow)", why);
    return *out = YV_ACCEL_TCG, 0;
}

/* netdevup/netdevdown sit next to the binary in the source tree (also when it is build/asan/…), or
 * in <prefix>/libexec/yave when installed. */
char *yv_lifecycle_script(const char *name)
{
    static const char *const cands[] = {"%s", "../libexec/yave/%s", "../../%s", NULL};
    /* never the bare name: QEMU would run it from the caller's folder, as root */
    return yv_proc_sibling(cands, name, X_OK);
}

typedef struct {
    yv_vm vm;           /* owned, when loaded by name */
    const yv_vm *v;     /* the VM to start: &vm, or the caller's */
    struct stat cfg_st; /* config.yaml as it was before it was read (loaded by name) */
    char *cfg_text;     /* and its text, which run/<name>.started records (loaded by name) */
    size_t cfg_len;
    char *vm_dir, *qemu, *up, *down, *ovmf_code;
    bool paused;
} launch_ctx;

static void ctx_done(launch_ctx *c)
{
    if (c->v == &c->vm) yv_vm_done(&c->vm);
    yv_free_secret(c->cfg_text);
    free(c->vm_dir);
    free(c->qemu);
    free(c->up);
    free(c->down);
    free(c->ovmf_code);
}

/* netdevup and netdevdown, for a VM with a tap network only: its -netdev is the one argument that
 * names them, and each search is a readlink per component of a path. */
static int find_scripts(launch_ctx *c, yv_err *err)
{
    if (!yv_vm_has_tap(c->v)) return 0;
    c->up = yv_lifecycle_script("netdevup");
    c->down = yv_lifecycle_script("netdevdown");
    if (c->up && c->down) return 0;
    char *exe = yv_proc_self_dir();
    yv_err_set(err, YV_E_TOOL_FAILED,
               "%s not found next to the program (%s) nor in ../libexec/yave: a VM with a tap "
               "network needs it (reinstall yave)",
               c->up ? "netdevdown" : "netdevup", exe);
    free(exe);
    return -1;
}

static int ctx_prepare(launch_ctx *c, const yv_config *cfg, yv_run_result *res, yv_err *err)
{
    c->qemu = yv_vmstate_qemu(cfg);
    if (!c->qemu)
        return yv_err_set(err, YV_E_TOOL_FAILED,
                          "QEMU not found (%s): install qemu-system-x86 "
                          "or set cli.bin in config.yaml",
                          cfg->cli_bin ? cfg->cli_bin : "qemu-system-x86_64");
    if (find_scripts(c, err) < 0) return -1;
    c->ovmf_code = yv_strdup(cfg->ovmf_code ? cfg->ovmf_code : OVMF_CODE_DEFAULT);
    return yv_lifecycle_pick_accel(cfg, &res->accel, res->warning, sizeof res->warning, err);
}

static void config_stat(const char *vm_dir, struct stat *st)
{
    char *path = yv_root_join(vm_dir, "config.yaml");
    if (fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW) < 0) memset(st, 0, sizeof *st);
    free(path);
}

/* Under the root lock, right before the launch: the config is still the one the argv was built
 * from. Whatever changes it (forward add|remove) does so under the same lock, seeing the VM not
 * running yet; without this check QEMU would start with what was there before, and the config and
 * the running QEMU would disagree until the next start. */
static int config_unchanged(const launch_ctx *c, yv_err *err)
{
    if (c->v != &c->vm) return 0; /* the caller's config (a first boot): nothing else writes it */
    struct stat now;
    config_stat(c->vm_dir, &now);
    if (now.st_ino == c->cfg_st.st_ino && now.st_dev == c->cfg_st.st_dev &&
        now.st_size == c->cfg_st.st_size && now.st_mtim.tv_sec == c->cfg_st.st_mtim.tv_sec &&
        now.st_mtim.tv_nsec == c->cfg_st.st_mtim.tv_nsec)
        return 0;
    return yv_err_set(err, YV_E_FAIL,
                      "the config of VM '%s' changed while it was starting; nothing was started: "
                      "run it again",
                      c->v->name);
}

static int ctx_load(launch_ctx *c, const char *root, const yv_config *cfg, const char *name,
                    yv_run_result *res, yv_err *err)
{
    memset(c, 0, sizeof *c);
    c->v = &c->vm;
    if (yv_valid_name(name, err) < 0) return -1;
    c->vm_dir = yv_root_vm_dir(root, name);
    /* before the read: a write after it (always a new file: atomic replace) is then seen */
    config_stat(c->vm_dir, &c->cfg_st);
    if (yv_vm_load_text(&c->vm, root, name, &c->cfg_text, &c->cfg_len, err) < 0) return -1;
    return ctx_prepare(c, cfg, res, err);
}

static void ctx_argv(const launch_ctx *c, const char *root, const yv_config *cfg,
                     const yv_run_result *res, yv_argv *out)
{
    /* always -S: the guest starts at `cont` right after its VNC password is set (first_exchange),
     * so it never runs without it, and its vCPU does not compete with QEMU's own start-up for the
     * CPU (measured on 2 busy cores: the password is set 1.7 ms sooner on a 42 ms start) */
    yv_qemuargv_host h = {c->qemu,      root,  c->vm_dir, res->accel, cfg->vnc_listen,
                          c->ovmf_code, c->up, c->down,   true};
    yv_qemuargv_build(c->v, &h, out);
}

int yv_lifecycle_argv(const char *root, const yv_config *cfg, const char *name, yv_argv *out,
                      yv_run_result *res, yv_err *err)
{
    launch_ctx c;
    memset(res, 0, sizeof *res);
    memset(out, 0, sizeof *out);
    int rc = ctx_load(&c, root, cfg, name, res, err);
    if (rc == 0) ctx_argv(&c, root, cfg, res, out);
    ctx_done(&c);
    return rc;
}

/* ---- pre-flight ---- */

static int check_file(const char *path, const char *what, yv_err *err)
{
    if (access(path, R_OK) == 0) return 0;
    return yv_err_sys(err, errno == EACCES ? YV_E_PERMISSION : YV_E_IO, errno, "%s %s", what, path);
}

static int preflight(const launch_ctx *c, const yv_config *cfg, bool *held, yv_err *err)
{
    for (size_t i = 0; i < c->v->ndrives; i++) {
        char *p = yv_root_join(c->vm_dir, c->v->drives[i].path);
        int rc = check_file(p, c->v->drives[i].id, err);
        free(p);
        if (rc < 0) return -1;
    }
    if (c->v->ovmf && check_file(c->ovmf_code, "UEFI firmware (ovmf.code)", err) < 0) return -1;
    if (yv_vm_has_tap(c->v)) {
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return yv_err_sys(err, YV_E_PERMISSION, errno,
                              "the VM has a tap network, but "
                              "/dev/net/tun is not usable (run as root or give CAP_NET_ADMIN)");
        close(fd);
        if (yv_vmnet_preflight(c->v, cfg, err) < 0) return -1;
    }
    int disp = yv_valid_display_number(c->v->vnc_display);
    if (disp >= 0 && !yv_vnctable_port_free(cfg->vnc_listen, disp))
        return *held = true, yv_err_set(err, YV_E_FAIL,
                                        "VNC display %s (port %d on %s) is in use by another "
                                        "program",
                                        c->v->vnc_display, 5900 + disp, cfg->vnc_listen);
    /* QEMU itself refuses a taken port ("Could not set up host forwarding rule"), but only after
     * it started, without saying which port or who holds it; this says both, before anything */
    if (yv_forward_check_free(c->v, err) < 0) return *held = true, -1;
    return 0;
}

/* The VM's own UEFI variable store (core/uefivars.c: made on first start, a raw one of a VM made
 * before converted to qcow2) and its disks settled after a killed snapshot revert, under the root
 * lock; *made tells whether this call made the store (a start that fails after it removes it). */
static int ensure_vars(const char *root, const launch_ctx *c, const yv_config *cfg, bool *made,
                       yv_err *err)
{
    *made = false;
    if (!c->v->ovmf && c->paused) return 0;
    bool migrated;
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    int rc = c->v->ovmf ? yv_uefivars_ensure(cfg, c->vm_dir, made, &migrated, err) : 0;
    /* a snapshot revert killed halfway is finished or rolled back first, as the next snapshot
     * command would: the guest must never boot on disks of two times (nor its writes be undone
     * later). Not for a first boot: a VM being made has no snapshot. */
    if (rc == 0 && !c->paused && yv_snapshot_settle(root, cfg, c->v->name, err) < 0)
        rc = yv_err_prefix(err, "VM '%s' is not started", c->v->name);
    yv_root_unlock(lock);
    return rc;
}

/* ---- launch ---- */

/* The files of the VM QEMU opens by path (it follows symlinks, and truncates serial.log): each must
 * be absent or a regular file reached without a symlink, checked right before the launch, under
 * the root lock. Drives named by an absolute path are the config's own choice and not checked. */
static int check_vm_files(const char *root, const launch_ctx *c, yv_err *err)
{
    static const char *const own[] = {"qemu.log", "serial.log", YV_UEFIVARS_RAW, YV_UEFIVARS_FILE};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof own / sizeof own[0]; i++) {
        char *p = yv_root_join(c->vm_dir, own[i]);
        rc = yv_root_check_regular(p, err);
        free(p);
    }
    for (size_t i = 0; rc == 0 && i < c->v->ndrives; i++) {
        if (c->v->drives[i].path[0] == '/') continue;
        char *p = yv_root_join(c->vm_dir, c->v->drives[i].path);
        rc = yv_root_check_regular(p, err);
        free(p);
    }
    char *pid = yv_vmstate_pidfile(root, c->v->name);
    if (rc == 0) rc = yv_root_check_regular(pid, err);
    free(pid);
    /* a base of linked clones (core/linked.h): its disks must not change under their overlays */
    if (rc == 0) rc = yv_linked_check_base(root, c->v->name, "it cannot be started", err);
    return rc;
}

/* The yave-tui that netdevup must call back: ourselves, or the yave-tui beside us when we are
 * another front end (yave-web). */
static char *yave_bin(void)
{
    char *self = yv_proc_self_exe(), *slash = strrchr(self, '/');
    if (!slash || !strcmp(slash + 1, "yave-tui")) return self;
    free(self);
    char *dir = yv_proc_self_dir(), *tui = yv_asprintf("%s/yave-tui", dir);
    free(dir);
    return tui;
}

static char **qemu_env(const char *root, const char *name)
{
    char **env = yv_calloc(6, sizeof *env);
    const char *path = getenv("PATH");
    char *self = yave_bin();
    env[0] = yv_asprintf("PATH=%s", path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
    env[1] = yv_asprintf("YAVE_VM_NAME=%s", name);
    env[2] = yv_asprintf("YAVE_ROOT=%s", root);
    env[3] = yv_asprintf("YAVE_BIN=%s", self);
    env[4] = yv_strdup("LC_ALL=C");
    free(self);
    return env;
}

static void env_free(char **env)
{
    for (size_t i = 0; env[i]; i++) free(env[i]);
    free(env);
}

/* A negotiated QMP connection to the VM's socket, or NULL with err; *refused then says nothing was
 * sent (not accepting, or never greeted: another client holds the socket, or QEMU hangs). */
static yv_qmp *qmp_session(const char *root, const char *name, int64_t deadline, bool *refused,
                           yv_err *err)
{
    char *sock = yv_vmstate_sockfile(root, name);
    yv_qmp *q = yv_qmp_new();
    /* a queue full of other clients (status probes of a TUI, of 50 API requests) drains quickly: a
     * start must not fail, nor a graceful shutdown escalate, because of them */
    int rc = yv_qmp_connect_wait(q, sock, deadline, err);
    *refused = rc < 0 && err->code == YV_E_TIMEOUT;
    if (rc == 0 && yv_qmp_greet(q, deadline, err) < 0) {
        rc = -1;
        *refused = true;
    }
    free(sock);
    if (rc == 0) return q;
    yv_qmp_free(q);
    return NULL;
}

/* One short QMP exchange: connect, negotiate, one command, disconnect (never hold the socket).
 * -2 when it was not sent (see qmp_session), -1 otherwise when it failed, 1 when QEMU answered
 * with an error. */
static int qmp_once(const char *root, const char *name, const char *cmd, json_t *args, json_t **ret,
                    int ms, yv_err *err)
{
    int64_t deadline = yv_now_ms() + ms;
    bool refused;
    yv_qmp *q = qmp_session(root, name, deadline, &refused, err);
    if (!q) {
        json_decref(args);
        return refused ? -2 : -1;
    }
    int rc = yv_qmp_call(q, cmd, args, ret, deadline, err);
    if (rc == 0 && !strcmp(cmd, "quit")) yv_qmp_wait_eof(q, deadline, err);
    yv_qmp_free(q);
    return rc;
}

/* Adds to a failed start's error that its files in run/ stay (the root lock could not be had). */
static void note_left(yv_err *err, const yv_err *why)
{
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, " (and its files in run/ could not be removed: %s)",
             why->msg);
}

/* Removes what a start that failed left in run/ (the QMP sockets, a pidfile): that QEMU never ran
 * as the VM, so no crash record is written and the VM stays `stopped`. Only under the root lock:
 * without it a `run` starting the VM right now could lose its files. */
static void forget_failed_start(const char *root, const yv_config *cfg, const char *name,
                                yv_err *err)
{
    yv_err e;
    int lock = yv_root_lock(root, &e);
    if (lock >= 0) yv_vmstate_clean_stale(root, cfg, name, false);
    else note_left(err, &e);
    yv_root_unlock(lock);
}

/* Stops a QEMU we just started and must not leave behind. The lock is held from before the kill
 * until its files are gone, so no status or TUI in between sees them and calls the VM crashed.
 * Without the lock (run/lock cannot be opened: no other yave can start this VM either), its files
 * are removed only while the pidfile still names the process killed here: provably ours. */
static void abort_start(const char *root, const yv_config *cfg, const char *name,
                        const yv_vmstate_proof *p, yv_err *err)
{
    yv_err e;
    int lock = yv_root_lock(root, &e);
    pid_t pid = p->pid;
    /* the proof's pidfd pins it; without pidfds the step proves the pid again before the signal */
    yv_lifecycle_qemu q = {root, cfg, name, pid, p->pidfd, NULL};
    static const int64_t ms[] = {0, 0, 0, 5000};
    yv_stop_step how;
    yv_lifecycle_stop(&q, YV_STOP_SIGKILL, ms, &how);
    char *pidfile = yv_vmstate_pidfile(root, name);
    if (lock >= 0 || yv_proc_pidfile_pid(pidfile) == pid)
        yv_vmstate_clean_stale(root, cfg, name, false);
    else note_left(err, &e);
    free(pidfile);
    yv_root_unlock(lock);
}

/* The QEMU launch() started: its pid (a pidfd on it), connected to its QMP socket. */
typedef struct {
    pid_t pid;
    int pidfd;
    yv_qmp *q;
    char *log;        /* its qemu.log, where it says why it gave up */
    int64_t deadline; /* of its whole start-up: QEMU_START_MS from the launch */
} launched;

static void launched_done(launched *l)
{
    if (l->pidfd >= 0) close(l->pidfd);
    yv_qmp_free(l->q);
    free(l->log);
    *l = (launched){0, -1, NULL, NULL, 0};
}

/* The connection is to the QEMU just launched: only it could have bound the socket (its old path
 * was removed under the root lock, run/ is ours and 0700), and the kernel says who did. */
static int peer_is(const launched *l, const char *name, yv_err *err)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(yv_qmp_fd(l->q), SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return yv_err_sys(err, YV_E_IO, errno, "cannot ask who serves the QMP socket of VM '%s'",
                          name);
    if (cr.pid != l->pid)
        return yv_err_set(err, YV_E_FAIL,
                          "the QMP socket of VM '%s' is served by pid %ld, not by its new QEMU "
                          "(pid %ld)",
                          name, (long)cr.pid, (long)l->pid);
    return 0;
}

/* Connects to the QMP socket of the QEMU just launched the moment it is there. QEMU makes it early
 * in its start-up, well before its main loop reads a command, so the first exchange is written
 * long before it is read and nothing waits a fixed time. -1 when QEMU ended first (its reason
 * from its log) or made no socket in time (it is killed). */
static int connect_new(const char *root, const launch_ctx *c, launched *l, yv_err *err)
{
    char *sock = yv_vmstate_sockfile(root, c->v->name);
    l->q = yv_qmp_new();
    int rc;
    bool gone = false;
    for (;;) {
        /* not there yet (VM_NOT_RUNNING), or its queue full (TIMEOUT): looked for again */
        if ((rc = yv_qmp_connect(l->q, sock, err)) == 0 ||
            (err->code != YV_E_VM_NOT_RUNNING && err->code != YV_E_TIMEOUT))
            break;
        int64_t left = l->deadline - yv_now_ms();
        if (left <= 0) {
            rc = yv_err_set(err, YV_E_TIMEOUT, "QEMU made no QMP socket within %d s",
                            QEMU_START_MS / 1000);
            break;
        }
        if ((gone = yv_proc_wait_exit(l->pid, l->pidfd, left < QMP_POLL_MS ? left : QMP_POLL_MS))) {
            rc = yv_proc_daemon_failed(c->qemu, l->log, err);
            break;
        }
    }
    if (rc == 0) rc = peer_is(l, c->v->name, err);
    if (rc < 0 && !gone) yv_proc_end(l->pid, l->pidfd, 0);
    free(sock);
    return rc;
}

/* The first QMP exchange with a new QEMU, on the connection made when its socket appeared, written
 * at once with the negotiation (issue 16: no round trip waits for another): the VNC password,
 * then `cont` unless the caller keeps the guest paused (a first boot continues it itself). QEMU
 * reads it once its main loop runs, so the negotiation's answer also says QEMU finished starting,
 * as -daemonize returning did. QEMU runs `cont` even when set_password failed; the guest still
 * shows no one its screen: QEMU refuses every VNC login while a `password=on` display has no
 * password, and the failed start ends this QEMU (abort_start). */
static int first_exchange(const launch_ctx *c, launched *l, yv_err *err)
{
    bool pw = yv_valid_display_number(c->v->vnc_display) >= 0 && c->v->vnc_password;
    const char *cmds[2];
    json_t *args[2];
    size_t n = 0;
    if (pw) {
        cmds[n] = "set_password";
        args[n++] = json_pack("{s:s, s:s}", "protocol", "vnc", "password", c->v->vnc_password);
    }
    if (!c->paused) {
        cmds[n] = "cont";
        args[n++] = NULL;
    }
    long failed;
    json_int_t first = yv_qmp_queue_pipeline(l->q, n, cmds, args);
    int rc = yv_qmp_await_pipeline(l->q, first, n, cmds, l->deadline, &failed, err) == 0 ? 0 : -1;
    if (rc < 0 && failed < 0 && yv_qmp_eof(l->q) && yv_proc_wait_exit(l->pid, l->pidfd, 2000)) {
        yv_proc_daemon_failed(c->qemu, l->log, err); /* it gave up (a disk that is not qcow2) */
    } else if (rc < 0)
        yv_err_prefix(err,
                      pw && failed <= 0 ? "cannot set the VNC password" : "cannot start the guest");
    return rc;
}

/* Launches QEMU under the root lock, which is held until QEMU has made its pidfile and QMP socket
 * (*l connected to it). A start that continues the guest itself (not a first boot) is marked
 * (*mark: yv_vmstate_start_begin) from before the launch until start() ends it. */
static int launch(const char *root, const yv_config *cfg, const launch_ctx *c,
                  const yv_run_result *res, int *mark, launched *l, yv_err *err)
{
    yv_argv argv;
    char **env = qemu_env(root, c->v->name);
    char *crash = yv_vmstate_crashfile(root, c->v->name);
    ctx_argv(c, root, cfg, res, &argv);
    int lock = yv_root_lock(root, err), rc = -1;
    yv_vmstate_proof p;
    if (lock >= 0) {
        yv_vmstate_prove(root, cfg, c->v->name, &p); /* again under the lock: a run may have won */
        if (p.pid > 0) {
            rc = yv_err_set(err, YV_E_VM_RUNNING, "VM '%s' is already running", c->v->name);
        } else {
            yv_vmstate_clean_stale_proven(root, c->v->name, false, &p);
            unlink(crash); /* crashed is shown until the next run: this one */
            rc = config_unchanged(c, err);
            if (rc == 0) rc = check_vm_files(root, c, err);
            /* what this QEMU runs with, for status's `pending` (the config cannot change before
             * the launch: we hold the lock, and set takes it); not for a first boot, whose VM is
             * not published yet */
            if (rc == 0 && !c->paused)
                /* the text read, not the parse emitted again: a YAML emitter costs a start ~0.3 ms
                 * (issue 16) and says the same */
                rc = c->cfg_text ? yv_vmstate_save_started_text(root, c->v->name, c->cfg_text,
                                                                c->cfg_len, err)
                                 : yv_vmstate_save_started(root, c->v, err);
            if (rc == 0 && !c->paused &&
                (*mark = yv_vmstate_start_begin(root, c->v->name, err)) < 0)
                rc = -1;
            l->deadline = yv_now_ms() + QEMU_START_MS;
            l->log = yv_root_join(c->vm_dir, "qemu.log");
            if (rc == 0) rc = yv_proc_daemon(argv.v, env, l->log, &l->pid, &l->pidfd, err);
            if (rc == 0) rc = connect_new(root, c, l, err);
            /* QEMU made its QMP sockets before it failed (a bad option): they must not make the
             * VM look crashed */
            if (rc < 0) yv_vmstate_clean_stale(root, cfg, c->v->name, false);
        }
        yv_vmstate_proof_done(&p);
        yv_root_unlock(lock);
    }
    env_free(env);
    yv_argv_free(&argv);
    free(crash);
    return rc;
}

/* Pre-flight, launch, VNC password: the part of starting that run and the first boot share. */
static int start(const char *root, const yv_config *cfg, const launch_ctx *c, yv_run_result *res,
                 yv_err *err)
{
    const char *name = c->v->name;
    bool vars_made = false;
    launched l = {0, -1, NULL, NULL, 0};
    int mark = -1, rc = preflight(c, cfg, &res->held, err);
    if (rc == 0) rc = yv_root_ensure(root, err);
    if (rc == 0) rc = ensure_vars(root, c, cfg, &vars_made, err);
    if (rc == 0) rc = launch(root, cfg, c, res, &mark, &l, err);
    if (rc == 0) {
        yv_vmstate_proof p; /* the new QEMU, proven once and pinned for an abort */
        res->pid = yv_vmstate_prove(root, cfg, name, &p);
        if (res->pid <= 0) {
            /* ended since it made its socket (its reason is in its log), or not a VM that can be
             * proven (then it is ended) */
            if (yv_proc_wait_exit(l.pid, l.pidfd, 0))
                rc = yv_proc_daemon_failed(c->qemu, l.log, err);
            else {
                rc = yv_err_set(err, YV_E_FAIL, "QEMU started but is not running");
                yv_proc_end(l.pid, l.pidfd, 0);
            }
            forget_failed_start(root, cfg, name, err);
        } else if (first_exchange(c, &l, err) < 0) {
            abort_start(root, cfg, name, &p, err);
            res->pid = 0;
            rc = -1;
        }
        yv_vmstate_proof_done(&p);
    }
    launched_done(&l);
    yv_vmstate_start_end(root, name, mark); /* finished, or undone */
    if (rc < 0 && vars_made) {              /* a failed start leaves the VM as it was */
        char *vars = yv_root_join(c->vm_dir, YV_UEFIVARS_FILE);
        unlink(vars);
        free(vars);
    }
    return rc;
}

int yv_lifecycle_start(const char *root, const yv_config *cfg, const yv_vm *vm, const char *vm_dir,
                       bool paused, yv_run_result *res, yv_err *err)
{
    launch_ctx c;
    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    c.v = vm;
    c.paused = paused;
    c.vm_dir = yv_strdup(vm_dir);
    int rc = ctx_prepare(&c, cfg, res, err);
    if (rc == 0 && yv_vmstate_live_pid(root, cfg, vm->name) > 0)
        rc = yv_err_set(err, YV_E_VM_RUNNING, "VM '%s' is already running", vm->name);
    if (rc == 0) rc = start(root, cfg, &c, res, err);
    ctx_done(&c);
    return rc;
}

int yv_lifecycle_run_proven(const char *root, const yv_config *cfg, const char *name,
                            const yv_vmstate_proof *p, yv_run_result *res, yv_err *err)
{
    launch_ctx c;
    memset(res, 0, sizeof *res);
    int rc = ctx_load(&c, root, cfg, name, res, err);
    if (rc == 0 && p->pid > 0)
        rc = yv_err_set(err, YV_E_VM_RUNNING, "VM '%s' is already running", name);
    if (rc == 0) rc = start(root, cfg, &c, res, err);
    ctx_done(&c);
    return rc;
}

int yv_lifecycle_run(const char *root, const yv_config *cfg, const char *name, yv_run_result *res,
                     yv_err *err)
{
    yv_vmstate_proof p = {0, 0, -1};
    yv_err e;
    if (yv_valid_name(name, &e) == 0) yv_vmstate_tidy(root, cfg, name, &p); /* as batch does */
    int rc = yv_lifecycle_run_proven(root, cfg, name, &p, res, err);
    yv_vmstate_proof_done(&p);
    return rc;
}

/* ---- shutdown ---- */

const char *yv_lifecycle_step_name(yv_stop_step s)
{
    static const char *const names[] = {"acpi", "quit", "sigterm", "sigkill", "agent"};
    return names[s];
}

/* The negotiation and quit written at once, then QEMU's exit awaited on its pidfd: the answers are
 * not read while it goes. Reading them woke this process four times more (greeting, two returns,
 * the SHUTDOWN event), and a wakeup costs more than the rest of a forced stop's own work (issue
 * 16). The lines are queued before connecting: QEMU's main loop wakes at the connect and takes one
 * of the cores, so they go in the next system call. Reached, as when the answers were read: QEMU
 * exited, or it answered quit (ok or an error) within the exchange's time; a QEMU that never did
 * (QMP held by another client, a hung main loop) is not waited for again. */
static bool quit_by_exit(const char *sock, pid_t pid, int pidfd, int64_t deadline)
{
    yv_err e;
    yv_qmp *q = yv_qmp_new();
    json_int_t first =
        yv_qmp_queue_pipeline(q, 1, (const char *const[]){"quit"}, (json_t *[]){NULL});
    bool reached =
        yv_qmp_connect_wait(q, sock, deadline, &e) == 0 && yv_qmp_flush(q, deadline, &e) == 0;
    int64_t left = deadline - yv_now_ms();
    if (reached && !yv_proc_wait_exit(pid, pidfd, left > 0 ? left : 0)) {
        yv_qmp_msg m;
        yv_qmp_handle(q, POLLIN, &e); /* what came meanwhile, without waiting for more */
        reached = yv_qmp_pop_reply(q, first + 1, &m);
        if (reached) json_decref(m.json);
    }
    yv_qmp_free(q);
    return reached;
}

/* The same, reading the answers, without a pidfd to wait on (valgrind has none). */
static bool quit_by_answers(const char *sock, int64_t deadline)
{
    yv_err e;
    long failed;
    int rc = yv_qmp_pipeline_at(sock, 1, (const char *const[]){"quit"}, (json_t *[]){NULL},
                                deadline, true, &failed, &e);
    return rc >= 0 || failed >= 0;
}

/* quit over a short connection of our own, written with the negotiation at once (issue 16: a busy
 * QEMU's main loop answers each round trip late; a quit that waits in the socket of a QEMU that
 * hangs is as welcome later). False when it never reached QEMU (no connection, no answer to the
 * negotiation: QMP held by another client, or QEMU hangs). */
static bool quit_once(const char *root, const char *name, pid_t pid, int pidfd)
{
    int64_t deadline = yv_now_ms() + QMP_STEP_MS;
    char *sock = yv_vmstate_sockfile(root, name);
    bool reached =
        pidfd >= 0 ? quit_by_exit(sock, pid, pidfd, deadline) : quit_by_answers(sock, deadline);
    free(sock);
    return reached;
}

/* Asks QEMU to quit: over the caller's connection, else over a short one of our own. False when
 * the request never reached it. */
static bool send_quit(const yv_lifecycle_qemu *q)
{
    yv_err e;
    if (q->qmp) return yv_qmp_call(q->qmp, "quit", NULL, NULL, yv_now_ms() + QMP_STEP_MS, &e) >= 0;
    return quit_once(q->root, q->name, q->pid, q->pidfd);
}

enum { AGENT_BUSY_MS = 6000 }; /* how long the ladder waits for an agent busy with another client */

/* Asks the guest agent to power the guest off. False when no agent answered its sync (within
 * YV_LIFECYCLE_AGENT_SYNC_MS: the ladder goes on to quit at once) or it refused. */
static bool ask_agent(const yv_lifecycle_qemu *q)
{
    yv_err e;
    json_t *devs = NULL;
    /* a guest that does not hold the agent's port open runs no agent: no sync to wait out */
    int rc = q->qmp
                 ? yv_qmp_call(q->qmp, "query-chardev", NULL, &devs, yv_now_ms() + QMP_STEP_MS, &e)
                 : qmp_once(q->root, q->name, "query-chardev", NULL, &devs, QMP_STEP_MS, &e);
    bool open = rc != 0 || yv_vmstate_agent_open_in(devs); /* QMP could not say: try the agent */
    json_decref(devs);
    if (!open) return false;
    char *path = yv_vmstate_qgafile(q->root, q->name);
    int64_t until = yv_now_ms() + AGENT_BUSY_MS;
    bool taken;
    /* the agent serves one client at a time: one busy with a status or the TUI's address
     * exchange (a second at most) is waited for, rather than the guest ended by quit */
    while (!(taken = yv_qga_shutdown(path, YV_LIFECYCLE_AGENT_SYNC_MS, &e) == 0) &&
           yv_now_ms() < until && yv_vmstate_sock_busy(path, -1))
        continue;
    free(path);
    return taken;
}

/* One step of the ladder, then up to wait_ms for QEMU to exit. True once it is gone. */
static bool stop_step(const yv_lifecycle_qemu *q, yv_stop_step step, int64_t wait_ms)
{
    yv_err e;
    /* a request that never reached QEMU is not waited for */
    switch (step) {
    case YV_STOP_ACPI:
        if (qmp_once(q->root, q->name, "system_powerdown", NULL, NULL, QMP_STEP_MS, &e) == -2)
            wait_ms = 0;
        break;
    case YV_STOP_AGENT:
        if (!ask_agent(q)) wait_ms = 0;
        break;
    case YV_STOP_QUIT:
        if (!send_quit(q)) wait_ms = 0;
        break;
    case YV_STOP_SIGTERM:
    case YV_STOP_SIGKILL: {
        int sig = step == YV_STOP_SIGTERM ? SIGTERM : SIGKILL;
        /* through the pidfd: a PID reused since we proved it is never signalled; without pidfds,
         * proven again right before the signal */
        if (q->pidfd >= 0 ||
            (!yv_proc_exited(q->pid) && yv_vmstate_live_pid(q->root, q->cfg, q->name) == q->pid))
            yv_proc_signal(q->pid, q->pidfd, sig);
        break;
    }
    }
    return yv_proc_wait_exit(q->pid, q->pidfd, wait_ms);
}

bool yv_lifecycle_stop(const yv_lifecycle_qemu *q, yv_stop_step from, const int64_t ms[4],
                       yv_stop_step *how)
{
    yv_stop_step step = from;
    for (;;) {
        int64_t wait = ms[step == YV_STOP_AGENT ? YV_STOP_ACPI : step];
        if (step == YV_STOP_AGENT && wait < YV_LIFECYCLE_AGENT_MIN_MS)
            wait = YV_LIFECYCLE_AGENT_MIN_MS;
        if (stop_step(q, step, wait) || step == YV_STOP_SIGKILL) break;
        step = step == YV_STOP_ACPI    ? YV_STOP_AGENT
               : step == YV_STOP_AGENT ? YV_STOP_QUIT
                                       : step + 1;
    }
    *how = step;
    return yv_proc_wait_exit(q->pid, q->pidfd, 0);
}

/* After QEMU is gone: its runtime files go, under the root lock. A QEMU that quit removed them
 * itself (and ran netdevdown): then there is nothing to take the lock for. */
static int forget_stopped(const char *root, const yv_config *cfg, const char *name, yv_err *err)
{
    if (!yv_vmstate_has_runtime_files(root, name)) return 0;
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    yv_vmstate_clean_stale(root, cfg, name, false);
    yv_root_unlock(lock);
    return 0;
}

int yv_lifecycle_shutdown_proven(const char *root, const yv_config *cfg, const char *name,
                                 const yv_vmstate_proof *p, bool force, long timeout_s,
                                 yv_stop_step *how, yv_err *err)
{
    if (yv_vmstate_require(root, name, p, err) < 0) return -1;
    yv_lifecycle_qemu q = {root, cfg, name, p->pid, p->pidfd, NULL};
    const int64_t ms[] = {timeout_s * 1000, 5000, 5000, 5000};
    if (!yv_lifecycle_stop(&q, force ? YV_STOP_QUIT : YV_STOP_ACPI, ms, how))
        return yv_err_set(err, YV_E_FAIL, "VM '%s' (pid %d) survived SIGKILL", name, p->pid);
    return forget_stopped(root, cfg, name, err);
}

int yv_lifecycle_shutdown(const char *root, const yv_config *cfg, const char *name, bool force,
                          long timeout_s, yv_stop_step *how, yv_err *err)
{
    if (yv_valid_name(name, err) < 0) return -1;
    yv_vmstate_proof p;
    yv_vmstate_tidy(root, cfg, name, &p); /* as batch does: what a killed run left is settled */
    int rc = yv_lifecycle_shutdown_proven(root, cfg, name, &p, force, timeout_s, how, err);
    yv_vmstate_proof_done(&p);
    return rc;
}
