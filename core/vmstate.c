#include "vmstate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firewall.h"
#include "proc.h"
#include "qmp.h"
#include "root.h"
#include "util.h"
#include "valid.h"
#include "vm.h"
#include "vmnet.h"

char *yv_vmstate_pidfile(const char *root, const char *name)
{
    return yv_asprintf("%s/run/%s.pid", root, name);
}

char *yv_vmstate_sockfile(const char *root, const char *name)
{
    return yv_asprintf("%s/run/%s.sock", root, name);
}

char *yv_vmstate_eventsfile(const char *root, const char *name)
{
    return yv_asprintf("%s/run/%s.events", root, name);
}

char *yv_vmstate_consolefile(const char *root, const char *name)
{
    return yv_asprintf("%s/run/%s.console", root, name);
}

char *yv_vmstate_qgafile(const char *root, const char *name)
{
    return yv_asprintf("%s/run/%s.qga", root, name);
}

char *yv_vmstate_crashfile(const char *root, const char *name)
{
    return yv_asprintf("%s/run/%s.crashed", root, name);
}

char *yv_vmstate_startfile(const char *root, const char *name)
{
    return yv_asprintf("%s/run/%s.starting", root, name);
}

char *yv_vmstate_startedfile(const char *root, const char *name)
{
    return yv_asprintf("%s/run/%s.started", root, name);
}

int yv_vmstate_save_started_text(const char *root, const char *name, const char *text, size_t len,
                                 yv_err *err)
{
    char *path = yv_vmstate_startedfile(root, name);
    /* runtime state (a start must not wait for the disk); the VNC password is in it: 0600 */
    int rc = yv_root_write_runtime(path, text, len, 0600, err);
    free(path);
    if (rc < 0) yv_err_prefix(err, "cannot record the config VM '%s' starts with", name);
    return rc;
}

int yv_vmstate_save_started(const char *root, const yv_vm *vm, yv_err *err)
{
    char *text;
    size_t len;
    if (yv_vm_to_yaml(vm, &text, &len, err) < 0) return -1;
    int rc = yv_vmstate_save_started_text(root, vm->name, text, len, err);
    yv_free_secret(text);
    return rc;
}

int yv_vmstate_load_started(const char *root, const char *name, yv_vm *vm)
{
    char *path = yv_vmstate_startedfile(root, name);
    size_t len;
    yv_err e;
    char *text = yv_root_read_file(path, &len, YV_E_IO, &e);
    int rc = text ? yv_vm_load_string(vm, path, text, len, name, &e) : -1;
    yv_free_secret(text);
    free(path);
    return rc;
}

int yv_vmstate_update_started(const char *root, const char *name, void (*change)(yv_vm *, void *),
                              void *ctx)
{
    yv_vm st;
    yv_err e;
    if (yv_vmstate_load_started(root, name, &st) < 0) return -1;
    change(&st, ctx);
    int rc = yv_vmstate_save_started(root, &st, &e);
    yv_vm_done(&st);
    return rc;
}

/* QEMU's path, found once per process (a $PATH search is a dozen stat calls; `run` needs it, and
 * a proof of liveness whenever the running program's name is not QEMU's): keyed by cli.bin, the
 * only input besides $PATH, which a process does not change. A miss is not kept: QEMU installed
 * later is found then. The lock: yave-web's threads. */
static struct {
    pthread_mutex_t mu;
    bool set;
    char *bin, *path, *real; /* the cli.bin it was found for (NULL: none), which's and realpath's */
} qemu_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static char *qemu_which(const yv_config *cfg)
{
    if (cfg->cli_bin) return yv_proc_which(cfg->cli_bin);
    char *p = yv_proc_which("qemu-system-x86_64");
    return p ? p : yv_proc_which("kvm");
}

static bool same_bin(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* A copy of the cached path (real: canonical), found now when the cache is not for cfg. */
static char *qemu_cached(const yv_config *cfg, bool real)
{
    pthread_mutex_lock(&qemu_cache.mu);
    if (!qemu_cache.set || !same_bin(qemu_cache.bin, cfg->cli_bin)) {
        char *path = qemu_which(cfg), *canon = path ? realpath(path, NULL) : NULL;
        if (path && canon) {
            free(qemu_cache.bin);
            free(qemu_cache.path);
            free(qemu_cache.real);
            qemu_cache.bin = cfg->cli_bin ? yv_strdup(cfg->cli_bin) : NULL;
            qemu_cache.path = path;
            qemu_cache.real = canon;
            qemu_cache.set = true;
        } else {
            pthread_mutex_unlock(&qemu_cache.mu);
            free(canon);
            if (real || !path) free(path);
            return real ? NULL : path;
        }
    }
    char *copy = yv_strdup(real ? qemu_cache.real : qemu_cache.path);
    pthread_mutex_unlock(&qemu_cache.mu);
    return copy;
}

char *yv_vmstate_qemu(const yv_config *cfg)
{
    return qemu_cached(cfg, false);
}

/* The QEMU binary, canonical (realpath); malloc'd or NULL. */
static char *qemu_real(const yv_config *cfg)
{
    return qemu_cached(cfg, true);
}

/* The program name yave starts QEMU by: cli.bin's last component, else qemu-system-x86_64. */
static const char *qemu_name(const yv_config *cfg)
{
    const char *bin = cfg->cli_bin ? cfg->cli_bin : "qemu-system-x86_64";
    const char *slash = strrchr(bin, '/');
    return slash ? slash + 1 : bin;
}

/* pid runs QEMU. The pidfile's lock already names the process (only the root's owner can lock a
 * file in run/), so this guards against a stranger holding the lock, not against an attacker: a
 * program of QEMU's name passes without the $PATH search (a dozen stat calls in every proof, issue
 * 16), and a VM started by a process with another $PATH (yave-web under systemd, a shell with
 * /usr/local/bin first) is still seen as running. Any other name must be the QEMU that $PATH and
 * cli.bin give now (a wrapper such as Debian's kvm, a binary under another name; found once per
 * process, see qemu_cache). */
static bool is_qemu(pid_t pid, const yv_config *cfg)
{
    char exe[4096];
    if (!yv_proc_exe(pid, exe, sizeof exe)) return false;
    const char *slash = strrchr(exe, '/');
    if (!strcmp(slash ? slash + 1 : exe, qemu_name(cfg))) return true;
    char *want = qemu_real(cfg);
    bool same = want && !strcmp(exe, want);
    free(want);
    return same;
}

/* pid is the VM's QEMU: it is QEMU, and it has not exited (through the pidfd when there is one:
 * the pidfd was opened before, so a live pidfd means /proc/PID was that process). */
static bool is_live_qemu(pid_t pid, int pidfd, const yv_config *cfg)
{
    if (!is_qemu(pid, cfg)) return false;
    if (pidfd < 0) return !yv_proc_exited(pid);
    struct pollfd p = {pidfd, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}

/* The lock holder is the pid the pidfile names: is it the VM's live QEMU? */
static void prove_holder(int fd, const yv_config *cfg, bool pin, yv_vmstate_proof *p)
{
    pid_t pid = p->holder;
    if (pin) {
        p->pidfd = yv_proc_pidfd_open(pid);
        if (p->pidfd < 0 && errno != ENOSYS) return;      /* ESRCH: gone meanwhile */
        if (yv_proc_pidfile_fd_holder(fd) != pid) return; /* a PID reused since the first look */
    }
    if (is_live_qemu(pid, p->pidfd, cfg)) p->pid = pid;
}

/* The proof on the open pidfile: the lock holder is the pid the file names; with pin, a pidfd is
 * opened on it and the holder checked again, so the pidfd is the process that was proven. */
static void prove_fd(int fd, const yv_config *cfg, bool pin, yv_vmstate_proof *p)
{
    p->holder = yv_proc_pidfile_fd_holder(fd);
    if (p->holder > 0 && p->holder == yv_proc_pidfile_fd_pid(fd)) prove_holder(fd, cfg, pin, p);
    /* a holder that has exited holds nothing: a QEMU killed a moment ago keeps the lock until its
     * last thread has ended, while its leader is already a zombie */
    if (p->pid == 0 && p->holder > 0 && yv_proc_exited(p->holder)) p->holder = 0;
}

static void prove(const char *root, const yv_config *cfg, const char *name, bool pin,
                  yv_vmstate_proof *p)
{
    *p = (yv_vmstate_proof){0, 0, -1};
    char *pidfile = yv_vmstate_pidfile(root, name);
    int fd = yv_root_open(pidfile, O_RDONLY | O_NONBLOCK, 0);
    free(pidfile);
    if (fd < 0) return;
    prove_fd(fd, cfg, pin, p);
    close(fd);
    if (p->pid == 0 && p->pidfd >= 0) {
        close(p->pidfd);
        p->pidfd = -1;
    }
}

pid_t yv_vmstate_prove(const char *root, const yv_config *cfg, const char *name,
                       yv_vmstate_proof *p)
{
    prove(root, cfg, name, true, p);
    return p->pid;
}

void yv_vmstate_proof_done(yv_vmstate_proof *p)
{
    if (p->pidfd >= 0) close(p->pidfd);
    *p = (yv_vmstate_proof){0, 0, -1};
}

int yv_vmstate_require(const char *root, const char *name, const yv_vmstate_proof *running,
                       yv_err *err)
{
    if (yv_valid_name(name, err) < 0) return -1;
    char *dir = yv_root_vm_dir(root, name);
    bool exists = yv_root_exists(dir);
    free(dir);
    if (!exists) return yv_err_set(err, YV_E_VM_NOT_FOUND, "no VM named '%s'", name);
    if (running && running->pid <= 0)
        return yv_err_set(err, YV_E_VM_NOT_RUNNING, "VM '%s' is not running", name);
    return 0;
}

pid_t yv_vmstate_live_pid(const char *root, const yv_config *cfg, const char *name)
{
    yv_vmstate_proof p;
    prove(root, cfg, name, false, &p);
    return p.pid;
}

yv_state yv_vmstate_from_qmp(const char *status, char *detail, size_t n)
{
    static const char *const errors[] = {"internal-error", "io-error", "guest-panicked"};
    detail[0] = '\0';
    if (!status) return YV_STATE_UNRESPONSIVE;
    if (!strcmp(status, "running")) return YV_STATE_RUNNING;
    if (!strcmp(status, "prelaunch") || !strcmp(status, "inmigrate")) return YV_STATE_STARTING;
    if (!strcmp(status, "shutdown")) return YV_STATE_SHUTTING_DOWN;
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (!strcmp(status, errors[i])) {
            snprintf(detail, n, "%s", status);
            return YV_STATE_ERROR;
        }
    snprintf(detail, n, "%s", status); /* paused, suspended, debug, watchdog, save-vm, … */
    return YV_STATE_PAUSED;
}

/* ---- who holds a socket QEMU serves (QMP, the serial console) ----
 *
 * QEMU serves one client at a time on such a socket: a client it accepted keeps the next ones
 * waiting, queued in the kernel without a word. Such a client is a connection on the socket's path
 * that has an inode (a queued one has none until accepted) and a live peer. Our own connection is
 * not "another client": sock_diag names each connection's peer, so ours (the peer is our fd's
 * inode) is told apart — a QMP server that accepted our probe and stays silent is hung, a console
 * that accepted us is ours. */

enum { DIAG_ESTABLISHED = 1, DIAG_BUF = 32768 }; /* TCP_ESTABLISHED: a connected UNIX socket */

/* One socket of the dump: a connection accepted on path whose client is alive: ours (the peer is
 * own), another's, or none of that. */
static int diag_client(struct nlmsghdr *h, const char *path, ino_t own)
{
    struct unix_diag_msg *m = NLMSG_DATA(h);
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof *m)) return YV_SOCK_FREE;
    if (m->udiag_state != DIAG_ESTABLISHED || m->udiag_ino == 0) return YV_SOCK_FREE; /* queued */
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
    const char *name = NULL;
    size_t nlen = 0, pl = strlen(path);
    uint32_t peer = 0;
    for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == UNIX_DIAG_NAME) {
            name = RTA_DATA(a);
            nlen = RTA_PAYLOAD(a);
        } else if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof peer) {
            memcpy(&peer, RTA_DATA(a), sizeof peer);
        }
    }
    /* the name may come with its NUL; peer 0: the client is gone (closed, not yet seen by QEMU) */
    bool same = name && (nlen == pl || (nlen == pl + 1 && !name[pl])) && !memcmp(name, path, pl);
    if (!same || peer == 0) return YV_SOCK_FREE;
    return own != 0 && peer == own ? YV_SOCK_OURS : YV_SOCK_OTHER;
}

/* Reads the dump's replies: the strongest holder seen (another client over ours over none), -1 on
 * failure. */
static int diag_read(int fd, const char *path, ino_t own)
{
    char *buf = yv_malloc(DIAG_BUF);
    int found = YV_SOCK_FREE;
    for (bool done = false; !done && found != YV_SOCK_OTHER && found >= 0;) {
        ssize_t n = recv(fd, buf, DIAG_BUF, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) found = -1;
        int len = n > 0 ? (int)n : 0;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf;
             !done && found >= 0 && found != YV_SOCK_OTHER && NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE) done = true;
            else if (h->nlmsg_type == NLMSG_ERROR) found = -1;
            else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
                int c = diag_client(h, path, own);
                if (c > found) found = c;
            }
        }
    }
    free(buf);
    return found;
}

/* Asks sock_diag for every connected UNIX socket with its name and peer; -1 when the kernel cannot
 * tell (no unix_diag). */
static int diag_holder(const char *path, ino_t own)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    struct {
        struct nlmsghdr h;
        struct unix_diag_req r;
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = AF_UNIX;
    req.r.udiag_states = 1u << DIAG_ESTABLISHED;
    req.r.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
    int rc = send(fd, &req, sizeof req, 0) == (ssize_t)sizeof req ? diag_read(fd, path, own) : -1;
    close(fd);
    return rc;
}

/* Without sock_diag: /proc/net/unix lists accepted connections (St 03) but not their peers, so our
 * own accepted connection cannot be told from another client. */
static bool proc_net_unix_busy(const char *sock_path)
{
    FILE *f = fopen("/proc/net/unix", "re");
    char line[4096];
    bool busy = false;
    if (!f) return false;
    /* Num RefCount Protocol Flags Type St Inode Path: a connected (St 03) socket bound to the path
     * is a client QEMU has accepted */
    while (!busy && fgets(line, sizeof line, f)) {
        unsigned st;
        int at = 0;
        /* NOLINTNEXTLINE(cert-err34-c): kernel-written fields */
        if (sscanf(line, "%*s %*s %*s %*s %*s %x %*s %n", &st, &at) != 1 || at == 0) continue;
        /* the path is the rest of the line: it may hold spaces */
        char *path = line + at;
        path[strcspn(path, "\n")] = '\0';
        busy = st == 3 && !strcmp(path, sock_path);
    }
    fclose(f);
    return busy;
}

int yv_vmstate_sock_holder(const char *sock_path, int own_fd)
{
    struct stat st;
    ino_t own = own_fd >= 0 && fstat(own_fd, &st) == 0 ? st.st_ino : 0;
    return diag_holder(sock_path, own);
}

bool yv_vmstate_sock_busy(const char *sock_path, int own_fd)
{
    int r = yv_vmstate_sock_holder(sock_path, own_fd);
    return r >= 0 ? r == YV_SOCK_OTHER : proc_net_unix_busy(sock_path);
}

bool yv_vmstate_qmp_busy(const char *sock_path, int own_fd)
{
    return yv_vmstate_sock_busy(sock_path, own_fd);
}

/* QEMU did not run netdevdown: its anti-spoofing rules are still there. The networks it ran with
 * name them: its record, else the config (which a set may have changed since), else the VM's
 * name (its config broke: the rules name their VM). */
static void forget_networks(const char *root, const char *name)
{
    yv_vm vm;
    yv_err e;
    bool known = yv_vmstate_load_started(root, name, &vm) == 0;
    if (!known) known = yv_vm_load(&vm, root, name, &e) == 0;
    if (known) yv_vmnet_forget(root, &vm);
    else yv_vmnet_forget_name(root, name);
    if (known) yv_vm_done(&vm);
}

static void stamp_crash(const char *root, const char *name)
{
    char *cf = yv_vmstate_crashfile(root, name), stamp[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ\n", gmtime_r(&now, &tm));
    yv_err e;
    yv_root_write_atomic(cf, stamp, strlen(stamp), 0644, &e);
    free(cf);
}

static bool any_exists(char *const paths[], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (yv_root_exists(paths[i])) return true;
    return false;
}

/* Removes the VM's runtime files when p proved that neither its QEMU nor anything else holds the
 * pidfile (a live non-QEMU holder is not ours to touch). A QEMU that quit removed its own files and
 * ran netdevdown: then only the record goes (unread: its parse was most of a stop's tail). What
 * QEMU left is acted on before it goes, so a command killed half-way leaves what tells the next
 * one to do the rest. */
static void clean_unowned(const char *root, const char *name, bool crashed,
                          const yv_vmstate_proof *p)
{
    if (p->pid > 0 || p->holder != 0) return;
    char *qemus[] = {yv_vmstate_pidfile(root, name), yv_vmstate_sockfile(root, name),
                     yv_vmstate_eventsfile(root, name), yv_vmstate_consolefile(root, name),
                     yv_vmstate_qgafile(root, name)};
    const size_t n = sizeof qemus / sizeof qemus[0];
    bool had = any_exists(qemus, n);
    if (had) forget_networks(root, name);
    if (had && crashed) stamp_crash(root, name);
    /* none there, none removed: the common case (QEMU removes its own at a clean stop), five
     * system calls fewer in every stop's tail (issue 16), and nothing a QEMU started since the
     * look made is taken from it */
    for (size_t i = 0; i < n; i++) {
        if (had) unlink(qemus[i]);
        free(qemus[i]);
    }
    char *started = yv_vmstate_startedfile(root, name);
    unlink(started); /* not QEMU's: it says nothing about a crash */
    free(started);
}

void yv_vmstate_clean_stale(const char *root, const yv_config *cfg, const char *name, bool crashed)
{
    yv_vmstate_proof p;
    prove(root, cfg, name, false, &p);
    clean_unowned(root, name, crashed, &p);
}

void yv_vmstate_clean_stale_proven(const char *root, const char *name, bool crashed,
                                   const yv_vmstate_proof *p)
{
    clean_unowned(root, name, crashed, p);
}

bool yv_vmstate_has_runtime_files(const char *root, const char *name)
{
    /* the record first: a VM that ran has it until it is cleaned (QEMU removes its own files) */
    char *paths[] = {yv_vmstate_startedfile(root, name), yv_vmstate_pidfile(root, name),
                     yv_vmstate_sockfile(root, name),    yv_vmstate_eventsfile(root, name),
                     yv_vmstate_consolefile(root, name), yv_vmstate_qgafile(root, name)};
    const size_t n = sizeof paths / sizeof paths[0];
    bool any = any_exists(paths, n);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    return any;
}

/* ---- a start that did not finish ----
 *
 * `run` starts QEMU paused (-S) and continues the guest once its VNC password is set. From before
 * the launch until then it holds the lock of run/<vm>.starting. A `run` killed in between leaves
 * the mark unlocked and a QEMU that never ran its guest: the next command that looks at the VM ends
 * that QEMU and its files (the start never happened: the VM is stopped, not crashed). */

static void ask_qmp(const char *root, const char *name, int timeout_ms, yv_vmstate *st);

int yv_vmstate_start_begin(const char *root, const char *name, yv_err *err)
{
    char *path = yv_vmstate_startfile(root, name);
    int fd = yv_root_open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) yv_root_open_error(err, errno, YV_E_IO, "cannot create", path);
    else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        yv_err_set(err, YV_E_VM_RUNNING, "VM '%s' is being started", name);
        close(fd);
        fd = -1;
    }
    free(path);
    return fd;
}

void yv_vmstate_start_end(const char *root, const char *name, int fd)
{
    if (fd < 0) return;
    char *path = yv_vmstate_startfile(root, name);
    unlink(path); /* before the lock goes: never an unlocked mark of a start that finished */
    close(fd);
    free(path);
}

/* The mark's lock was free and the file is still the one locked: its `run` is gone. */
static bool start_abandoned(int fd, const char *path)
{
    struct stat a, b;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) return false; /* its run is still at it */
    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

/* A live QEMU of an abandoned start: true when it is settled (ended, or it already runs its guest:
 * the run died after `cont`); false when QMP cannot say (left for the next command). */
static bool settle_qemu(const char *root, const yv_config *cfg, const char *name,
                        yv_vmstate_proof *p)
{
    yv_vmstate st;
    memset(&st, 0, sizeof st);
    ask_qmp(root, name, 1000, &st);
    if (st.state == YV_STATE_UNRESPONSIVE || st.qmp_busy) return false;
    if (st.state != YV_STATE_STARTING) return true;
    yv_proc_signal(p->pid, p->pidfd, SIGKILL); /* proven and pinned; its guest never ran */
    if (!yv_proc_wait_exit(p->pid, p->pidfd, 5000)) return false;
    yv_vmstate_proof_done(p);
    yv_vmstate_prove(root, cfg, name, p);
    return true;
}

/* Under the root lock: settles what a killed `run` of this VM left, if it did; false when an
 * abandoned mark is left (its QEMU's state could not be told). */
static bool settle_start(const char *root, const yv_config *cfg, const char *name)
{
    char *path = yv_vmstate_startfile(root, name);
    int fd = yv_root_open(path, O_RDONLY | O_NONBLOCK, 0);
    bool settled = true;
    if (fd >= 0 && start_abandoned(fd, path)) {
        yv_vmstate_proof p;
        yv_vmstate_prove(root, cfg, name, &p);
        settled = p.pid > 0 ? settle_qemu(root, cfg, name, &p) : true;
        if (settled) {
            clean_unowned(root, name, false, &p); /* no-op while its QEMU runs the guest */
            unlink(path);
        }
        yv_vmstate_proof_done(&p);
    }
    if (fd >= 0) close(fd);
    free(path);
    return settled;
}

int yv_vmstate_start_take(const char *root, const yv_config *cfg, const char *name, yv_err *err)
{
    if (!settle_start(root, cfg, name))
        return yv_err_set(err, YV_E_VM_RUNNING,
                          "VM '%s': a start that was killed left a QEMU that does not answer QMP "
                          "yet; try again",
                          name);
    return yv_vmstate_start_begin(root, name, err);
}

static void settle_start_locked(const char *root, const yv_config *cfg, const char *name)
{
    char *path = yv_vmstate_startfile(root, name);
    bool marked = yv_root_exists(path);
    free(path);
    if (!marked) return;
    yv_err e;
    int lock = yv_root_lock(root, &e);
    if (lock < 0) return; /* nothing touched; the next command tries again */
    settle_start(root, cfg, name);
    yv_root_unlock(lock);
}

pid_t yv_vmstate_tidy(const char *root, const yv_config *cfg, const char *name, yv_vmstate_proof *p)
{
    settle_start_locked(root, cfg, name);
    yv_vmstate_prove(root, cfg, name, p);
    if (p->pid > 0 || p->holder != 0 || !yv_vmstate_has_runtime_files(root, name)) return p->pid;
    yv_err e;
    int lock = yv_root_lock(root, &e);
    if (lock < 0) return 0; /* as the reconcile: nothing touched; a status says why */
    yv_vmstate_proof_done(p);
    yv_vmstate_prove(root, cfg, name, p); /* under the lock: a `run` may have started it since */
    clean_unowned(root, name, true, p);
    yv_root_unlock(lock);
    return p->pid;
}

bool yv_vmstate_agent_open_in(const json_t *chardevs)
{
    size_t i;
    const json_t *c;
    json_array_foreach(chardevs, i, c)
    {
        if (!json_is_string(json_object_get(c, "label"))) continue;
        if (!strcmp(json_string_value(json_object_get(c, "label")), "qga0"))
            return json_is_true(json_object_get(c, "frontend-open"));
    }
    return false;
}

/* After query-status on the same connection: is an agent there to ask (spec §11)? Without this a
 * status would wait out the agent's sync deadline on every VM whose guest runs none. */
static void ask_agent_open(yv_qmp *q, int64_t deadline, yv_vmstate *st)
{
    json_t *ret = NULL;
    yv_err e;
    if (yv_qmp_call(q, "query-chardev", NULL, &ret, deadline, &e) == 0)
        st->agent_open = yv_vmstate_agent_open_in(ret);
    json_decref(ret);
}

static void ask_qmp(const char *root, const char *name, int timeout_ms, yv_vmstate *st)
{
    char *sock = yv_vmstate_sockfile(root, name);
    yv_qmp *q = yv_qmp_new();
    yv_err e;
    json_t *ret = NULL;
    int64_t deadline = yv_now_ms() + timeout_ms;
    if (yv_qmp_connect(q, sock, &e) < 0 || yv_qmp_greet(q, deadline, &e) < 0) {
        if (yv_vmstate_qmp_busy(sock, yv_qmp_fd(q))) {
            st->state = YV_STATE_RUNNING;
            st->qmp_busy = true;
            snprintf(st->detail, sizeof st->detail, "QMP busy: another client is connected");
        } else {
            st->state = YV_STATE_UNRESPONSIVE;
            snprintf(st->detail, sizeof st->detail, "%s%s", strncmp(e.msg, "QMP", 3) ? "QMP: " : "",
                     e.msg);
        }
    } else if (yv_qmp_call(q, "query-status", NULL, &ret, deadline, &e) != 0) {
        st->state = YV_STATE_UNRESPONSIVE;
        snprintf(st->detail, sizeof st->detail, "%s%s", strncmp(e.msg, "QMP", 3) ? "QMP: " : "",
                 e.msg);
    } else {
        st->state = yv_vmstate_from_qmp(json_string_value(json_object_get(ret, "status")),
                                        st->detail, sizeof st->detail);
        ask_agent_open(q, deadline, st);
    }
    json_decref(ret);
    yv_qmp_free(q);
    free(sock);
}

void yv_vmstate_probe(const char *root, const yv_config *cfg, const char *name, int qmp_timeout_ms,
                      yv_vmstate *st)
{
    memset(st, 0, sizeof *st);
    st->pid = yv_vmstate_live_pid(root, cfg, name);
    if (st->pid > 0) {
        st->state = YV_STATE_RUNNING;
        if (qmp_timeout_ms > 0) ask_qmp(root, name, qmp_timeout_ms, st);
        return;
    }
    char *pidfile = yv_vmstate_pidfile(root, name), *sock = yv_vmstate_sockfile(root, name);
    char *cf = yv_vmstate_crashfile(root, name);
    if (yv_root_exists(pidfile) || yv_root_exists(sock)) {
        /* QEMU removes both on a clean exit: leftovers mean it died. Clean under the lock, so a
         * `run` that is starting QEMU right now is not disturbed. */
        yv_err e;
        int lock = yv_root_lock(root, &e);
        if (lock >= 0) {
            yv_vmstate_clean_stale(root, cfg, name, true);
            yv_root_unlock(lock);
        }
        st->pid = yv_vmstate_live_pid(root, cfg, name);
        st->state = st->pid > 0 ? YV_STATE_RUNNING : YV_STATE_STOPPED;
        if (lock < 0 && st->pid == 0) /* left as they are: shown, not silently kept */
            snprintf(st->detail, sizeof st->detail, "its files in run/ could not be removed: %s",
                     e.msg);
    }
    if (st->pid == 0 && yv_root_exists(cf)) {
        st->state = YV_STATE_CRASHED;
        snprintf(st->detail, sizeof st->detail, "QEMU died without a clean shutdown");
    }
    free(pidfile);
    free(sock);
    free(cf);
}

/* The files QEMU leaves in run/ when it dies: its pidfile, its two QMP sockets, the console and
 * guest agent sockets; the mark of a start a killed `run` left, and the config it started with. */
static bool is_runtime_suffix(const char *dot)
{
    return !strcmp(dot, ".pid") || !strcmp(dot, ".sock") || !strcmp(dot, ".events") ||
           !strcmp(dot, ".console") || !strcmp(dot, ".qga") || !strcmp(dot, ".starting") ||
           !strcmp(dot, ".started");
}

void yv_vmstate_reconcile_firewall(const char *root)
{
    yv_err e;
    char **taps;
    size_t n;
    if (yv_firewall_list(&taps, NULL, &n, &e) < 0) return;
    yv_firewall_free_list(taps, n);
    if (n == 0) return; /* the usual case (or no CAP_NET_ADMIN to see a rule): no lock taken */
    int own = yv_root_trylock(root);
    if (own < 0) return; /* a run holds it: its netdevup's fresh rules are not ownerless */
    int lock = yv_firewall_lock(root, &e);
    if (lock >= 0) {
        yv_vmnet_reconcile(NULL);
        close(lock);
    }
    yv_root_unlock(own);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The VM names of run/'s runtime files, each once (a VM has up to three files), sorted. */
static char **runtime_names(const char *root, size_t *n)
{
    char *run = yv_root_path(root, "run");
    DIR *d = opendir(run);
    char **names = NULL;
    size_t cap = 0, k = 0;
    *n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        const char *dot = strrchr(de->d_name, '.');
        if (!dot || dot == de->d_name || !is_runtime_suffix(dot)) continue;
        if (*n == cap) names = yv_realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
        names[(*n)++] = yv_strndup(de->d_name, (size_t)(dot - de->d_name));
    }
    if (d) closedir(d);
    free(run);
    if (*n > 1) qsort(names, *n, sizeof *names, cmp_names);
    for (size_t i = 0; i < *n; i++) {
        if (k > 0 && !strcmp(names[k - 1], names[i])) free(names[i]);
        else names[k++] = names[i];
    }
    *n = k;
    return names;
}

void yv_vmstate_reconcile(const char *root, const yv_config *cfg)
{
    size_t n;
    char **names = runtime_names(root, &n);
    int lock = -1;
    bool no_lock = false; /* then nothing is touched; a status of such a VM says why */
    for (size_t i = 0; i < n && !no_lock; i++) { /* each VM proven once, not once per file */
        yv_err e;
        if (yv_valid_name(names[i], &e) < 0) continue;
        /* the root lock is not taken twice: a second flock of ours would wait for the first */
        if (lock >= 0) settle_start(root, cfg, names[i]);
        else settle_start_locked(root, cfg, names[i]);
        if (yv_vmstate_live_pid(root, cfg, names[i]) > 0) continue;
        if (lock < 0) lock = yv_root_lock(root, &e);
        if (lock >= 0) yv_vmstate_clean_stale(root, cfg, names[i], true);
        no_lock = lock < 0;
    }
    yv_root_unlock(lock);
    yv_root_free_names(names, n);
}
