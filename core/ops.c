#include "ops.h"

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

#include "cloudinit.h"
#include "forward.h"
#include "netdev.h"
#include "preset.h"
#include "proc.h"
#include "root.h"
#include "sshkey.h"
#include "storage.h"
#include "util.h"
#include "valid.h"
#include "vm.h"
#include "vmstate.h"
#include "vnctable.h"
#include "autostart.h"
#include "lifecycle.h"
#include "linked.h"

/* A VM under construction lives in a hidden folder `.<name>.vm.part` whose flock its creator holds;
 * a .part folder whose lock is free was left by a creator that died, and is removed. */
#define PART_SUFFIX YV_ROOT_PART_SUFFIX

void yv_ops_create_defaults(yv_create_opts *o)
{
    memset(o, 0, sizeof *o);
    o->memory = YV_DEFAULT_MEMORY;
    o->vcpu = 1;
    o->ovmf = true;
    o->install_timeout = YV_DEFAULT_INSTALL_TIMEOUT;
}

char *yv_ops_random_password(size_t n)
{
    static const char set[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    unsigned char rnd[64];
    char *pw = yv_malloc(n + 1);
    if (n > sizeof rnd) n = sizeof rnd;
    if (getrandom(rnd, n, 0) != (ssize_t)n) abort(); /* the kernel's CSPRNG does not fail */
    for (size_t i = 0; i < n; i++) pw[i] = set[rnd[i] % (sizeof set - 1)];
    pw[n] = '\0';
    explicit_bzero(rnd, sizeof rnd);
    return pw;
}

/* NAME when entry is `.NAME.vm.part` and NAME a valid VM name (malloc'd), else NULL. */
static char *part_name(const char *entry)
{
    size_t l = strlen(entry), sl = strlen(PART_SUFFIX);
    if (entry[0] != '.' || l <= sl + 1 || strcmp(entry + l - sl, PART_SUFFIX) != 0) return NULL;
    char *name = yv_strndup(entry + 1, l - sl - 1);
    yv_err e;
    if (yv_valid_name(name, &e) == 0) return name;
    free(name);
    return NULL;
}

/* Ends the first boot's QEMU of a .part whose creator died. It runs as run/<name>.pid names it
 * (proven by the pidfile's lock and /proc/PID/exe): with no <name>.vm, a QEMU under that name can
 * only be that first boot (a .part and its .vm never exist together: reserve refuses, publish
 * renames). Outside the root lock: QEMU's netdevdown calls yave-tui back, which may take it. True
 * when no such QEMU runs any more. */
static bool end_first_boot(const char *root, const yv_config *cfg, const char *name, bool wait)
{
    pid_t pid = yv_vmstate_live_pid(root, cfg, name);
    if (pid <= 0) return true;
    int pidfd = yv_proc_pidfd_open(pid);
    bool no_pidfd = pidfd < 0 && errno == ENOSYS;
    if (pidfd < 0 && !no_pidfd) return yv_proc_exited(pid); /* ESRCH: gone meanwhile */
    /* proven again once the pidfd pins the process: a PID reused since is never signalled */
    bool gone = yv_vmstate_live_pid(root, cfg, name) != pid;
    if (!gone && !wait) { /* a poll loop: SIGKILL (the install is abandoned), the next call reaps */
        yv_proc_signal(pid, pidfd, SIGKILL);
    } else if (!gone) {
        gone = yv_proc_end(pid, pidfd, 5000);
    }
    if (pidfd >= 0) close(pidfd);
    return gone && yv_vmstate_live_pid(root, cfg, name) == 0;
}

/* Under the root lock: the .part folder (the seed inside it), its runtime files and its VNC
 * display go. The display only when no <name>.vm has it (a folder made by hand beside it). */
static void remove_part(const char *root, const yv_config *cfg, const char *name, const char *path,
                        bool vm_exists)
{
    yv_err e;
    yv_vnctable t;
    if (!vm_exists) yv_vmstate_clean_stale(root, cfg, name, false);
    if (yv_root_rmtree(path, &e) < 0 || vm_exists) return;
    if (yv_vnctable_load(&t, root, &e) < 0) return;
    if (yv_vnctable_remove(&t, name)) yv_vnctable_save(&t, root, &e);
    yv_vnctable_done(&t);
}

/* The .part's lock, taken under the root lock: reserve makes and locks a .part under it too, so
 * a folder made a moment ago is never mistaken for a dead creator's. -1 when its creator lives
 * (or another process reaps it). */
static int lock_part(const char *root, const char *path, bool wait)
{
    yv_err e;
    int lock = wait ? yv_root_lock(root, &e) : yv_root_trylock(root);
    if (lock < 0) return -1;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        fd = -1;
    }
    yv_root_unlock(lock);
    return fd;
}

/* A .part folder whose lock is free was left by a create that died (SIGKILL, OOM, a crash): its
 * first boot's QEMU is ended, then the folder and its display go. Its lock, held throughout, keeps
 * other processes (and the name) off it meanwhile; a QEMU that cannot be ended keeps everything,
 * so the name is never given to a new VM that would show that QEMU as its own. */
static void reap_part(const char *root, const yv_config *cfg, const char *entry, bool wait)
{
    char *name = part_name(entry), *path = yv_root_join(root, entry);
    int fd = name ? lock_part(root, path, wait) : -1;
    if (fd >= 0) {
        char *vmdir = yv_root_vm_dir(root, name);
        if (yv_root_exists(vmdir) || end_first_boot(root, cfg, name, wait)) {
            yv_err e;
            int lock = wait ? yv_root_lock(root, &e) : yv_root_trylock(root);
            /* a QEMU started meanwhile (its launch was under way): the next command ends it */
            bool vm_exists = yv_root_exists(vmdir);
            if (lock >= 0 && (vm_exists || yv_vmstate_live_pid(root, cfg, name) == 0))
                remove_part(root, cfg, name, path, vm_exists);
            yv_root_unlock(lock);
        }
        free(vmdir);
        close(fd);
    }
    free(path);
    free(name);
}

/* A .part folder's state: -1 not there (or not a folder), 1 its creator holds its lock, 0 free. */
static int part_state(const char *root, const char *entry)
{
    char *path = yv_root_join(root, entry);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    free(path);
    if (fd < 0) return -1;
    bool busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return busy ? 1 : 0;
}

void yv_ops_reap_one(const char *root, const yv_config *cfg, const char *name)
{
    yv_err e;
    if (yv_valid_name(name, &e) < 0) return;
    char *entry = yv_asprintf(".%s" PART_SUFFIX, name);
    if (part_state(root, entry) == 0) reap_part(root, cfg, entry, true);
    free(entry);
}

void yv_ops_reap(const char *root, const yv_config *cfg)
{
    size_t n;
    char **names = yv_ops_in_creation(root, cfg, true, &n, NULL);
    yv_root_free_names(names, n);
}

char **yv_ops_in_creation(const char *root, const yv_config *cfg, bool wait, size_t *n,
                          size_t *left)
{
    DIR *d = opendir(root);
    struct dirent *de;
    size_t cap = 4;
    char **names = yv_malloc(cap * sizeof *names);
    *n = 0;
    if (left) *left = 0;
    while (d && (de = readdir(d))) {
        char *name = part_name(de->d_name);
        if (!name) continue;
        int state = part_state(root, de->d_name);
        if (state == 0 && cfg) reap_part(root, cfg, de->d_name, wait);
        /* not reaped this time (the root lock was held, its QEMU not ended yet) */
        if (state == 0 && left && part_state(root, de->d_name) >= 0) (*left)++;
        if (state != 1) {
            free(name);
            continue;
        }
        if (*n == cap) names = yv_realloc(names, (cap *= 2) * sizeof *names);
        names[(*n)++] = name;
    }
    if (d) closedir(d);
    return names;
}

/* With names_only: image must be NAME or NAME.qcow2 (a valid name) of a regular file (not a
 * symlink) <root>/NAME.qcow2. One message for every refusal, so an answer never tells whether some
 * host path exists. */
static int check_image_name(const char *root, const char *image, yv_err *err)
{
    size_t l = strlen(image);
    char *base =
        l > 6 && !strcmp(image + l - 6, ".qcow2") ? yv_strndup(image, l - 6) : yv_strdup(image);
    yv_err e;
    struct stat st;
    char *path = yv_asprintf("%s/%s.qcow2", root, base);
    bool ok = yv_valid_name(base, &e) == 0 && lstat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    free(base);
    if (ok) return 0;
    return yv_err_set(err, YV_E_IMAGE_NOT_FOUND,
                      "base image not found: give the name of a base image of the root (NAME "
                      "for NAME.qcow2)");
}

/* Resolves --image to an existing file: NAME → <root>/NAME.qcow2, NAME.qcow2 → <root>/NAME.qcow2,
 * anything with a slash is a path (unless names_only). *backing_ref is how an overlay in
 * <root>/<vm>.vm names it. */
static char *resolve_image(const char *root, const char *image, bool names_only, char **backing_ref,
                           yv_err *err)
{
    char *path;
    size_t l = strlen(image);
    bool has_ext = l > 6 && !strcmp(image + l - 6, ".qcow2");
    *backing_ref = NULL;
    if (names_only && check_image_name(root, image, err) < 0) return NULL;
    if (strchr(image, '/')) {
        path = yv_strdup(image);
        *backing_ref = NULL;
    } else {
        path = has_ext ? yv_root_join(root, image) : yv_asprintf("%s/%s.qcow2", root, image);
        *backing_ref = yv_asprintf("../%s%s", image, has_ext ? "" : ".qcow2");
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        yv_err_set(err, YV_E_IMAGE_NOT_FOUND, "base image '%s' not found (looked for %s)", image,
                   path);
        free(path);
        free(*backing_ref);
        *backing_ref = NULL;
        return NULL;
    }
    if (!*backing_ref) {
        char *abs = realpath(path, NULL);
        *backing_ref = abs ? abs : yv_strdup(path);
    }
    return path;
}

/* Displays and MACs of every readable VM config (and of the .part folders: two creates or clones
 * under way never pick the same), so a new VM never reuses them even when the VNC
 * table is out of date (a root written by hand or by another tool). */
static void collect_used_vm(const yv_vm *vm, void *ctx)
{
    yv_ops_used *u = ctx;
    int disp = yv_valid_display_number(vm->vnc_display);
    if (disp >= 0) {
        u->displays = yv_realloc(u->displays, (u->ndisplays + 1) * sizeof *u->displays);
        u->displays[u->ndisplays++] = disp;
    }
    for (size_t k = 0; k < vm->nnets; k++) {
        u->macs = yv_realloc(u->macs, (u->nmacs + 1) * sizeof *u->macs);
        u->macs[u->nmacs++] = yv_strdup(vm->nets[k].mac);
    }
}

static void collect_used(const char *root, yv_ops_used *u)
{
    memset(u, 0, sizeof *u);
    yv_vm_each(root, collect_used_vm, u);
    yv_vm_each_part(root, collect_used_vm, u);
}

static void used_done(yv_ops_used *u)
{
    for (size_t i = 0; i < u->nmacs; i++) free(u->macs[i]);
    free(u->macs);
    free(u->displays);
}

typedef yv_ops_used used_set;

static void pick_mac(const char *name, const used_set *u, char mac[18])
{
    for (unsigned bump = 0;; bump++) {
        bool taken = false;
        yv_vm_mac_for(name, bump, mac);
        for (size_t i = 0; !taken && i < u->nmacs; i++) taken = !strcasecmp(u->macs[i], mac);
        if (!taken) return;
    }
}

void yv_ops_pick_mac(const char *root, const char *name, char mac[18])
{
    used_set used;
    collect_used(root, &used);
    pick_mac(name, &used, mac);
    used_done(&used);
}

static bool port_usable(int display, void *ctx)
{
    return yv_vnctable_port_free(ctx, display);
}

typedef struct {
    const char *self;
    int display;
    char *holder;
} display_probe;

static void find_display_vm(const yv_vm *vm, void *ctx)
{
    display_probe *p = ctx;
    if (!p->holder && (!p->self || strcmp(vm->name, p->self) != 0) &&
        yv_valid_display_number(vm->vnc_display) == p->display)
        p->holder = yv_strdup(vm->name);
}

int yv_ops_check_display(const char *root, const yv_config *cfg, const yv_vnctable *t,
                         const char *self, int display, bool check_port, yv_err *err)
{
    const char *owner = yv_vnctable_owner(t, display);
    display_probe p = {self, display, NULL};
    if (owner && (!self || strcmp(owner, self) != 0))
        return yv_err_set(err, YV_E_VM_EXISTS,
                          "VNC display :%d belongs to VM '%s' (vnc_table.yaml)", display, owner);
    yv_vm_each(root, find_display_vm, &p);
    if (p.holder) {
        yv_err_set(err, YV_E_VM_EXISTS, "VNC display :%d belongs to VM '%s'", display, p.holder);
        free(p.holder);
        return -1;
    }
    if (check_port && !port_usable(display, cfg->vnc_listen))
        return yv_err_set(err, YV_E_VM_EXISTS,
                          "VNC display :%d: another program listens on %s port %d", display,
                          cfg->vnc_listen, 5900 + display);
    return 0;
}

typedef struct {
    yv_ops_part p; /* the .part folder and the display */
    char mac[18];
    /* net0 (spec §10): its kind (-1 none) and a user network's forwards */
    int net;
    yv_forward *fw;
    size_t nfw;
} reservation;

/* The kind of net0 a create makes: -1 none, YV_NET_TAP or YV_NET_USER (see yv_create_opts). */
static int net_kind(const yv_create_opts *o, const yv_config *cfg)
{
    if (o->net_kind)
        return !strcmp(o->net_kind, "none")  ? -1
               : !strcmp(o->net_kind, "tap") ? YV_NET_TAP
                                             : YV_NET_USER;
    if (o->nforwards) return YV_NET_USER;
    return o->master || cfg->network_master ? YV_NET_TAP : YV_NET_USER;
}

void yv_ops_forwards_free(yv_forward *fw, size_t n)
{
    for (size_t i = 0; i < n; i++) free(fw[i].address);
    free(fw);
}

int yv_ops_parse_forwards(const char *const *specs, size_t nspecs, yv_forward **out, size_t *n,
                          yv_err *err)
{
    yv_forward *fw = yv_calloc(nspecs + 1, sizeof *fw);
    size_t k = 0;
    int rc = 0;
    for (; rc == 0 && k < nspecs; k++) {
        if (yv_forward_parse(specs[k], &fw[k], err) < 0) break;
        yv_vm probe = {.nets = &(yv_net){.forwards = fw, .nforwards = k}, .nnets = 1};
        if (yv_vm_find_forward(&probe, fw[k].proto, fw[k].host))
            rc = yv_err_set(err, YV_E_USAGE, "--forward: %s port %d is given twice",
                            yv_vm_proto_name(fw[k].proto), fw[k].host);
    }
    if (rc == 0 && k < nspecs) rc = -1; /* a spec did not parse */
    *out = fw;
    *n = k;
    return rc;
}

int yv_ops_reserve_forwards(const char *root, const yv_config *cfg, const char *self,
                            yv_forward *fw, size_t *n, yv_err *err)
{
    yv_forward_uses u;
    yv_forward_collect(root, &u);
    int rc = yv_forward_check_root(&u, self, fw, *n, err);
    if (rc == 0 && *n == 0) {
        int port = yv_forward_pick_ssh(&u, cfg->network_ssh_port_base, err);
        if (port < 0) rc = -1;
        else fw[(*n)++] = (yv_forward){YV_PROTO_TCP, yv_strdup("127.0.0.1"), port, 22};
    }
    yv_forward_uses_done(&u);
    return rc;
}

static int reserve_forwards(const char *root, const yv_config *cfg, reservation *r, yv_err *err)
{
    if (r->net != YV_NET_USER) return 0;
    return yv_ops_reserve_forwards(root, cfg, NULL, r->fw, &r->nfw, err);
}

static bool table_exists(const char *root)
{
    char *path = yv_root_path(root, "vnc_table.yaml");
    bool there = yv_root_exists(path);
    free(path);
    return there;
}

/* Under the lock: no VM, .part folder or QEMU has the name. */
static int check_name_free(const char *root, const yv_config *cfg, const char *name,
                           const char *part, yv_err *err)
{
    char *vmdir = yv_root_vm_dir(root, name);
    bool taken = yv_root_exists(vmdir) || yv_root_exists(part);
    free(vmdir);
    /* a .part: its creator runs, or what a killed one left could not be removed yet */
    if (taken) return yv_err_set(err, YV_E_VM_EXISTS, "a VM named '%s' already exists", name);
    pid_t orphan = yv_vmstate_live_pid(root, cfg, name);
    if (orphan > 0) /* a QEMU under this name without a VM: never adopted by a new one */
        return yv_err_set(err, YV_E_VM_EXISTS,
                          "a QEMU named '%s' runs without a VM folder (pid %d): stop it first",
                          name, (int)orphan);
    return 0;
}

/* The .part folder, made and locked by us (r->part_fd holds its flock). */
static int make_part(yv_ops_part *r, yv_err *err)
{
    if (mkdir(r->part, 0700) < 0)
        return yv_err_sys(err, errno == EACCES ? YV_E_PERMISSION : YV_E_IO, errno,
                          "cannot create %s", r->part);
    r->part_fd = open(r->part, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    /* waits: another command's probe (a shared lock, let go at once) may hold it this instant;
     * a reaper needs the root lock, which we hold, so none holds it for longer */
    if (r->part_fd >= 0 && flock(r->part_fd, LOCK_EX) == 0) return 0;
    yv_err_sys(err, YV_E_IO, errno, "cannot lock %s", r->part);
    yv_err e;
    yv_root_rmtree(r->part, &e);
    if (r->part_fd >= 0) close(r->part_fd);
    r->part_fd = -1;
    return -1;
}

/* The display chosen, the caller's fill run (MACs, forwards, the config), the .part folder made
 * and locked, the config written into it (so the next create's scan sees its forwards) and the
 * display recorded. */
static int reserve_locked(const char *root, const yv_config *cfg, const char *name,
                          yv_ops_fill_fn fill, void *ctx, yv_ops_part *r, yv_vnctable *t, yv_vm *vm,
                          yv_err *err)
{
    yv_ops_used used = {0};
    int rc = -1;
    if (check_name_free(root, cfg, name, r->part, err) < 0) return -1;
    collect_used(root, &used);
    r->display = yv_vnctable_pick(t, used.displays, used.ndisplays, port_usable, cfg->vnc_listen);
    if (r->display < 0) yv_err_set(err, YV_E_FAIL, "no free VNC display left");
    else rc = fill(ctx, &used, r->display, vm, err);
    used_done(&used);
    if (rc < 0 || make_part(r, err) < 0) return -1;
    yv_vnctable_set(t, r->display, name);
    r->table_was_new = !table_exists(root);
    if (yv_vm_save(vm, r->part, err) == 0 && yv_vnctable_save(t, root, err) == 0) return 0;
    yv_err e;
    yv_root_rmtree(r->part, &e);
    close(r->part_fd);
    r->part_fd = -1;
    return -1;
}

void yv_ops_used_pick_mac(yv_ops_used *u, const char *name, char mac[18])
{
    pick_mac(name, u, mac);
    /* taken from now on: a VM with several networks gets a different MAC for each */
    u->macs = yv_realloc(u->macs, (u->nmacs + 1) * sizeof *u->macs);
    u->macs[u->nmacs++] = yv_strdup(mac);
}

int yv_ops_part_reserve(const char *root, const yv_config *cfg, const char *name,
                        yv_ops_fill_fn fill, void *ctx, yv_ops_part *r, yv_vm *vm, yv_err *err)
{
    memset(vm, 0, sizeof *vm);
    r->part = yv_root_part_dir(root, name);
    r->part_fd = -1;
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    yv_vnctable t;
    int rc = -1;
    if (yv_vnctable_load(&t, root, err) == 0) {
        rc = reserve_locked(root, cfg, name, fill, ctx, r, &t, vm, err);
        yv_vnctable_done(&t);
    }
    yv_root_unlock(lock);
    return rc;
}

/* Appends " (and VNC display :N could not be freed: WHY)" to err. */
static void display_not_freed(yv_err *err, int display, const yv_err *why)
{
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, " (and VNC display :%d could not be freed: %s)",
             display, why->msg);
}

/* The folder goes first: when a disk copy filled the file system, its space is what the new
 * table needs. A table the reservation created is removed again when nothing else is in it: a
 * failed create leaves no trace. */
void yv_ops_part_unreserve(const char *root, const char *name, yv_ops_part *r, yv_err *err)
{
    yv_err e, erm;
    int lock = yv_root_lock(root, &e);
    yv_vnctable t;
    yv_root_rmtree(r->part, &erm); /* ours (we hold its flock): no root lock needed */
    if (r->part_fd >= 0) close(r->part_fd);
    r->part_fd = -1;
    if (lock < 0) { /* the shared table is never written without the lock */
        display_not_freed(err, r->display, &e);
        return;
    }
    if (yv_vnctable_load(&t, root, &e) == 0) {
        const char *owner = yv_vnctable_owner(&t, r->display);
        if (owner && !strcmp(owner, name)) {
            yv_vnctable_remove(&t, name);
            char *table = yv_root_path(root, "vnc_table.yaml");
            if ((!r->table_was_new || t.n > 0 || unlink(table) < 0) &&
                yv_vnctable_save(&t, root, &e) < 0)
                display_not_freed(err, r->display, &e);
            free(table);
        }
        yv_vnctable_done(&t);
    }
    yv_root_unlock(lock);
}

/* What a preset brings: the cloud image to start from and the root password's hash. */
typedef struct {
    char *cloudimg; /* absolute */
    char *hash;
    char *hostname;
    yv_sshkeys keys; /* for root's authorized_keys */
} preset_plan;

static void plan_done(preset_plan *p)
{
    free(p->cloudimg);
    yv_free_secret(p->hash);
    free(p->hostname);
    yv_sshkey_done(&p->keys);
    memset(p, 0, sizeof *p);
}

/* The SSH keys of files and texts, every one checked (a bad one refuses the create). */
static int plan_keys(const yv_create_opts *o, yv_sshkeys *k, yv_err *err)
{
    for (size_t i = 0; i < o->nssh_keys; i++)
        if (yv_sshkey_load(k, o->ssh_keys[i], err) < 0) return -1;
    for (size_t i = 0; i < o->nssh_key_texts; i++) {
        char what[32];
        snprintf(what, sizeof what, "ssh key %zu", i + 1);
        if (yv_sshkey_parse(k, what, o->ssh_key_texts[i], strlen(o->ssh_key_texts[i]), err) < 0)
            return -1;
    }
    return 0;
}

/* The user and packages of a preset, every one checked (a bad one refuses the create). */
static int plan_user_packages(const yv_create_opts *o, yv_err *err)
{
    if (o->user && yv_cloudinit_check_user(o->user, err) < 0) return -1;
    if (o->npackages > YV_CLOUDINIT_MAX_PACKAGES)
        return yv_err_set(err, YV_E_USAGE, "too many packages: at most %d",
                          YV_CLOUDINIT_MAX_PACKAGES);
    for (size_t i = 0; i < o->npackages; i++)
        if (yv_cloudinit_check_package(o->packages[i], err) < 0) return -1;
    return 0;
}

/* Everything that can fail before anything is written: preset, image, host name, password, keys,
 * user, packages. */
static int plan_preset(const char *root, const yv_config *cfg, const yv_create_opts *o,
                       preset_plan *p, yv_err *err)
{
    yv_preset pr;
    memset(p, 0, sizeof *p);
    if (!o->root_password || !*o->root_password)
        return yv_err_set(err, YV_E_USAGE,
                          "a preset needs the guest's root password "
                          "(--root-password-file, or --root-password)");
    p->hostname = yv_strdup(o->hostname ? o->hostname : o->name);
    if (yv_cloudinit_check_hostname(p->hostname, err) < 0) return plan_done(p), -1;
    if (plan_keys(o, &p->keys, err) < 0) return plan_done(p), -1;
    if (plan_user_packages(o, err) < 0) return plan_done(p), -1;
    if (yv_preset_load(&pr, root, o->preset, err) < 0) return plan_done(p), -1;
    struct stat st;
    if (stat(pr.cloudimg, &st) < 0 || !S_ISREG(st.st_mode)) {
        yv_err_set(err, YV_E_IMAGE_NOT_FOUND, "cloud image of preset '%s' not found: %s", pr.name,
                   pr.cloudimg);
        yv_preset_done(&pr);
        return plan_done(p), -1;
    }
    p->cloudimg = yv_strdup(pr.cloudimg);
    yv_preset_done(&pr);
    /* the first boot runs with the VM's network: its bridge must be there before anything is made
     */
    const char *br = o->master ? o->master : cfg->network_master;
    bool tap = net_kind(o, cfg) == YV_NET_TAP;
    if (tap && !br)
        return plan_done(p), yv_err_set(err, YV_E_USAGE,
                                        "the first boot needs the VM's bridge: "
                                        "give --master, set network.master, or use --no-network");
    if (tap && yv_netdev_check_bridge(br, o->master ? "--master" : "network.master", err) < 0)
        return plan_done(p), -1;
    if (!(p->hash = yv_cloudinit_hash(o->root_password, err))) return plan_done(p), -1;
    return 0;
}

static void progress(const yv_create_opts *o, const char *phase, int64_t t0)
{
    if (!o->progress) return;
    yv_install_progress p = {phase, (double)(yv_now_ms() - t0) / 1000.0, ""};
    o->progress(o->progress_ctx, &p);
}

/* True (with the error "interrupted") once the caller's cancel flag is up. */
static bool cancelled(const yv_create_opts *o, yv_err *err)
{
    if (!o->cancel || !*o->cancel) return false;
    yv_err_set(err, YV_E_FAIL, "interrupted");
    return true;
}

/* After the install, in the folder under construction (published with it, or gone with it): the
 * seed the VM keeps — the install's instance-id and host name, no secret (core/cloudinit.h) — as
 * the cdrom YV_CLOUDINIT_SEED_ID of its config. */
static int keep_seed(const yv_config *cfg, const yv_create_opts *o, const char *part,
                     const char *iid, const char *hostname, yv_err *err)
{
    char *kept = NULL;
    int rc = yv_cloudinit_reseed(cfg, part, YV_CLOUDINIT_SEED_ISO, o->name, hostname, iid,
                                 o->cancel, &kept, err);
    free(kept);
    if (rc < 0) return yv_err_prefix(err, "cannot write the seed VM '%s' keeps", o->name);
    yv_vm vm;
    if (yv_vm_load_dir(&vm, part, o->name, err) < 0) return -1;
    yv_vm_add_drive(&vm, YV_CLOUDINIT_SEED_ID, YV_CLOUDINIT_SEED_ISO, YV_DRIVE_IDE, YV_MEDIA_CD,
                    -1);
    rc = yv_vm_save(&vm, part, err);
    yv_vm_done(&vm);
    return rc;
}

/* The preset's steps once the folder exists: the seed, the first boot, the install's seed gone
 * again and the kept one in its place. */
static int install_preset(const char *root, const yv_config *cfg, const yv_create_opts *o,
                          const preset_plan *p, const char *part, int64_t t0, yv_err *err)
{
    char *dir, *iso, *iid;
    if (cancelled(o, err)) return -1;
    progress(o, "seed", t0);
    yv_cloudinit_guest g = {
        p->hash, (const char *const *)p->keys.keys, p->keys.n, o->user, o->packages, o->npackages};
    int rc =
        yv_cloudinit_seed(cfg, part, o->name, p->hostname, &g, o->cancel, &dir, &iso, &iid, err);
    if (rc < 0) return -1;
    rc = yv_install_first_boot(root, cfg, o->name, part, iso, o->install_timeout, t0, o->progress,
                               o->progress_ctx, o->cancel, err);
    progress(o, "cleanup", t0);
    yv_cloudinit_remove(dir, iso);
    if (rc == 0) rc = keep_seed(cfg, o, part, iid, p->hostname, err);
    free(iid);
    return rc;
}

static int make_disk(const char *root, const yv_config *cfg, const yv_create_opts *o,
                     const preset_plan *p, const char *disk, yv_err *err)
{
    if (p->cloudimg) { /* a preset: the cloud image converted (or overlaid) and grown */
        long mib = o->capacity ? o->capacity : YV_DEFAULT_CAPACITY;
        return o->linked
                   ? yv_storage_overlay(cfg, p->cloudimg, p->cloudimg, disk, mib, o->cancel, err)
                   : yv_storage_copy(cfg, p->cloudimg, disk, mib, o->cancel, err);
    }
    if (!o->image)
        return yv_storage_create(cfg, disk, o->capacity ? o->capacity : YV_DEFAULT_CAPACITY,
                                 o->cancel, err);
    char *ref = NULL;
    char *base = resolve_image(root, o->image, o->names_only, &ref, err);
    if (!base) return -1;
    /* the cancel flag reaches qemu-img: a long convert stops at Ctrl-C, not when it is done */
    int rc = o->linked ? yv_storage_overlay(cfg, base, ref, disk, o->capacity, o->cancel, err)
                       : yv_storage_copy(cfg, base, disk, o->capacity, o->cancel, err);
    free(base);
    free(ref);
    return rc;
}

static void build_vm(yv_vm *vm, const yv_create_opts *o, const reservation *r, const char *pw)
{
    char disp[16];
    memset(vm, 0, sizeof *vm);
    snprintf(disp, sizeof disp, ":%d", r->p.display);
    vm->name = yv_strdup(o->name);
    vm->memory = o->memory;
    vm->vcpu = o->vcpu;
    vm->ovmf = o->ovmf;
    vm->vnc_display = yv_strdup(disp);
    vm->vnc_password = yv_strdup(pw);
    if (o->preset) vm->preset = yv_strdup(o->preset); /* a clone of it gets a new instance-id */
    yv_vm_add_drive(vm, "hd0", "hd0.qcow2", YV_DRIVE_VIRTIO_BLK, YV_MEDIA_HD, 0);
    if (r->net < 0) return;
    yv_net *n = yv_vm_add_net(vm, "net0", r->mac, r->net == YV_NET_TAP ? o->master : NULL);
    n->type = (yv_net_type)r->net;
    for (size_t i = 0; i < r->nfw; i++)
        yv_vm_add_forward(n, r->fw[i].proto, r->fw[i].address, r->fw[i].host, r->fw[i].guest);
}

/* What create's fill needs (yv_ops_part_reserve calls it under the root lock). */
typedef struct {
    const char *root;
    const yv_config *cfg;
    const yv_create_opts *o;
    const char *pw;
    reservation *r;
} create_fill_ctx;

/* Under the lock: the MAC and the forwards chosen, the config built. */
static int create_fill(void *ctx, yv_ops_used *used, int display, yv_vm *vm, yv_err *err)
{
    create_fill_ctx *c = ctx;
    (void)display; /* r->p.display is set already */
    yv_ops_used_pick_mac(used, c->o->name, c->r->mac);
    if (reserve_forwards(c->root, c->cfg, c->r, err) < 0) return -1;
    build_vm(vm, c->o, c->r, c->pw);
    return 0;
}

/* Phase 1, under the lock: the name is free, a display, a MAC and the forwards are chosen and
 * recorded, the .part folder exists with the config in it and is locked by us. */
static int reserve(const char *root, const yv_config *cfg, const yv_create_opts *o, const char *pw,
                   reservation *r, yv_err *err)
{
    create_fill_ctx c = {root, cfg, o, pw, r};
    yv_vm vm;
    int rc = yv_ops_part_reserve(root, cfg, o->name, create_fill, &c, &r->p, &vm, err);
    yv_vm_done(&vm);
    return rc;
}

int yv_ops_part_publish(const char *root, const char *name, const yv_ops_part *r, yv_err *err)
{
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    char *vmdir = yv_root_vm_dir(root, name);
    int rc = 0;
    if (renameat2(AT_FDCWD, r->part, AT_FDCWD, vmdir, RENAME_NOREPLACE) < 0)
        rc = yv_err_sys(err, errno == EEXIST ? YV_E_VM_EXISTS : YV_E_IO, errno,
                        "cannot move %s to %s", r->part, vmdir);
    free(vmdir);
    yv_root_unlock(lock);
    return rc;
}

static int check_create_opts(const yv_create_opts *o, yv_err *err)
{
    if (yv_valid_name(o->name, err) < 0) return -1;
    if (o->image && o->preset)
        return yv_err_set(err, YV_E_USAGE, "give an image or a preset, not both");
    if (!o->preset && (o->hostname || o->root_password))
        return yv_err_set(err, YV_E_USAGE,
                          "a host name and a root password only apply to a preset");
    if (!o->preset && (o->nssh_keys || o->nssh_key_texts))
        return yv_err_set(err, YV_E_USAGE, "SSH keys only apply to a preset");
    if (!o->preset && (o->user || o->npackages))
        return yv_err_set(err, YV_E_USAGE, "a user and packages only apply to a preset");
    if (o->linked && !o->image && !o->preset)
        return yv_err_set(err, YV_E_USAGE, "--linked needs --image (an overlay needs a base)");
    if (yv_ops_check_net(o->master, o->net_kind, o->nforwards, err) < 0) return -1;
    return yv_ops_check_vnc_password(o->vnc_password, err);
}

int yv_ops_check_net(const char *master, const char *kind, size_t nforwards, yv_err *err)
{
    if (master && yv_valid_ifname(master, "bridge name (--master)", err) < 0) return -1;
    if (kind && strcmp(kind, "user") != 0 && strcmp(kind, "tap") != 0 && strcmp(kind, "none") != 0)
        return yv_err_set(err, YV_E_USAGE, "invalid network '%s': give user, tap or none", kind);
    if (master && kind && strcmp(kind, "tap") != 0)
        return yv_err_set(err, YV_E_USAGE, "--master needs a tap network (not --network %s)", kind);
    if (nforwards && (master || (kind && strcmp(kind, "user") != 0)))
        return yv_err_set(err, YV_E_USAGE, "--forward needs a user network (--network user)");
    return 0;
}

int yv_ops_check_vnc_password(const char *pw, yv_err *err)
{
    if (pw && !*pw)
        return yv_err_set(err, YV_E_USAGE,
                          "the VNC password is empty (an empty VNC password "
                          "locks everyone out)");
    return 0;
}

/* Everything after the options are checked: reservation, disk, config, first boot, publish. */
static int create_checked(const char *root, const yv_config *cfg, const yv_create_opts *o,
                          reservation *r, preset_plan *plan, char **generated_pw, yv_err *err)
{
    int64_t t0 = yv_now_ms();
    if (o->image) { /* fail early, before anything is reserved */
        char *ref = NULL, *base = resolve_image(root, o->image, o->names_only, &ref, err);
        if (!base) return -1;
        free(base);
        free(ref);
    }
    if (o->preset && plan_preset(root, cfg, o, plan, err) < 0) return -1;
    int ready = yv_root_ensure(root, err);
    if (ready == 0) yv_ops_reap(root, cfg); /* what killed creates left, before the name is taken */
    char *pw = o->vnc_password ? yv_strdup(o->vnc_password) : yv_ops_random_password(8);
    if (ready < 0 || reserve(root, cfg, o, pw, r, err) < 0) {
        yv_free_secret(pw);
        return -1;
    }
    char *disk = yv_root_join(r->p.part, "hd0.qcow2");
    if (o->preset) progress(o, "convert", t0);
    int rc = make_disk(root, cfg, o, plan, disk, err);
    if (rc == 0 && o->preset) rc = install_preset(root, cfg, o, plan, r->p.part, t0, err);
    if (rc == 0 && cancelled(o, err)) rc = -1;
    if (rc == 0) rc = yv_ops_part_publish(root, o->name, &r->p, err);
    if (rc < 0 && o->cancel && *o->cancel) /* whatever broke, the user's interrupt is the story */
        yv_err_set(err, YV_E_FAIL, "interrupted");
    if (rc < 0) {
        yv_ops_part_unreserve(root, o->name, &r->p, err);
        yv_free_secret(pw);
    } else {
        close(r->p.part_fd);
        if (o->vnc_password) yv_free_secret(pw);
        else *generated_pw = pw;
    }
    free(disk);
    return rc;
}

int yv_ops_create(const char *root, const yv_config *cfg, const yv_create_opts *o,
                  char **generated_pw, yv_err *err)
{
    reservation r = {0};
    preset_plan plan = {0};
    *generated_pw = NULL;
    if (check_create_opts(o, err) < 0) return -1;
    r.net = net_kind(o, cfg);
    int rc = yv_ops_parse_forwards(o->forwards, o->nforwards, &r.fw, &r.nfw, err);
    if (rc == 0) rc = create_checked(root, cfg, o, &r, &plan, generated_pw, err);
    yv_ops_forwards_free(r.fw, r.nfw);
    plan_done(&plan);
    free(r.p.part);
    return rc;
}

/* A running VM (p proved it): refused, or with force stopped at once (outside the lock: stopping
 * takes it). */
static int stop_for_delete(const char *root, const yv_config *cfg, const char *name,
                           const yv_vmstate_proof *p, bool force, yv_err *err)
{
    if (p->pid == 0) return 0;
    if (!force)
        return yv_err_set(err, YV_E_VM_RUNNING,
                          "VM '%s' is running; shut it down first (or delete --force)", name);
    yv_stop_step how;
    if (yv_lifecycle_shutdown_proven(root, cfg, name, p, true, 0, &how, err) < 0 &&
        err->code != YV_E_VM_NOT_RUNNING)
        return -1;
    return 0;
}

int yv_ops_delete(const char *root, const yv_config *cfg, const char *name, bool force, yv_err *err)
{
    if (yv_valid_name(name, err) < 0) return -1;
    yv_vmstate_proof p;
    yv_vmstate_tidy(root, cfg, name, &p); /* as batch does: what a killed run left is settled */
    int rc = yv_ops_delete_proven(root, cfg, name, &p, force, err);
    yv_vmstate_proof_done(&p);
    return rc;
}

/* Under the root lock, the VM's folder already moved aside: its VNC display and its autostart mark
 * go. A failed write undoes the one before it, so the caller only has to put the folder back. */
static int drop_from_lists(const char *root, const char *name, yv_vnctable *t, yv_strlist *marks,
                           yv_err *err)
{
    int disp = yv_vnctable_find(t, name);
    bool freed = yv_vnctable_remove(t, name) > 0;
    if (freed && yv_vnctable_save(t, root, err) < 0) return -1;
    if (!yv_autostart_remove(marks, name) || yv_autostart_save(marks, root, err) == 0) return 0;
    if (freed) { /* the display back to the VM */
        yv_err e;
        yv_vnctable_set(t, disp, name);
        if (yv_vnctable_save(t, root, &e) < 0)
            yv_err_prefix(err, "vnc_table.yaml lost display :%d of VM '%s'", disp, name);
    }
    return -1;
}

/* Under the root lock: no clone copies the VM's disks right now (it holds the VM's start mark
 * while it copies; a `run` holds it only until its QEMU is there, which the proof sees). */
static bool start_mark_free(const char *root, const char *name, yv_err *err)
{
    int mark = yv_vmstate_start_begin(root, name, err);
    if (mark < 0 && err->code == YV_E_VM_RUNNING)
        yv_err_set(err, YV_E_VM_RUNNING,
                   "VM '%s' is busy (being cloned or started): delete it when that is done", name);
    yv_vmstate_start_end(root, name, mark);
    return mark >= 0;
}

/* Under the root lock: no linked clone backs onto the VM's disks, no clone copies them. */
static bool deletable(const char *root, const char *name, yv_err *err)
{
    return yv_linked_check_base(root, name, "it cannot be deleted", err) == 0 &&
           start_mark_free(root, name, err);
}

int yv_ops_delete_proven(const char *root, const yv_config *cfg, const char *name,
                         const yv_vmstate_proof *p, bool force, yv_err *err)
{
    if (yv_vmstate_require(root, name, NULL, err) < 0) return -1;
    if (stop_for_delete(root, cfg, name, p, force, err) < 0) return -1;
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    char *vmdir = yv_root_vm_dir(root, name);
    char *suffix = yv_ops_random_password(8);
    char *trash = yv_asprintf("%s/.%s.vm.del-%s", root, name, suffix);
    yv_vnctable t = {0};
    yv_strlist marks = {0};
    yv_vmstate_proof now = {0, 0, -1};
    int rc = -1;
    if (!yv_root_exists(vmdir)) {
        yv_err_set(err, YV_E_VM_NOT_FOUND, "no VM named '%s'", name);
        goto out;
    }
    if (yv_vmstate_prove(root, cfg, name, &now) > 0) { /* under the lock: started again since? */
        yv_err_set(err, YV_E_VM_RUNNING, "VM '%s' is running; shut it down first", name);
        goto out;
    }
    if (!deletable(root, name, err)) goto out;
    if (yv_vnctable_load(&t, root, err) < 0 || yv_autostart_load(&marks, root, err) < 0) goto out;
    if (yv_root_check_mounts(vmdir, err) < 0) goto out; /* nothing deleted: spec §16 */
    if (rename(vmdir, trash) < 0) {
        yv_err_sys(err, errno == EACCES ? YV_E_PERMISSION : YV_E_IO, errno, "cannot delete %s",
                   vmdir);
        goto out;
    }
    if (drop_from_lists(root, name, &t, &marks, err) < 0) {
        if (rename(trash, vmdir) < 0) /* all-or-nothing: put the VM back, or say where it is */
            yv_err_prefix(err, "VM '%s' is half deleted (its folder is %s: rename it back to %s)",
                          name, trash, vmdir);
        goto out;
    }
    yv_vmstate_clean_stale_proven(root, name, false, &now);
    char *crash = yv_vmstate_crashfile(root, name), *mark = yv_vmstate_startfile(root, name);
    unlink(crash);
    unlink(mark); /* a killed run's, whose QEMU is gone: it must not outlive the VM */
    free(crash);
    free(mark);
    rc = 0;
out:
    yv_vmstate_proof_done(&now);
    yv_vnctable_done(&t);
    yv_strlist_free(&marks);
    yv_root_unlock(lock);
    if (rc == 0 && yv_root_rmtree(trash, err) < 0)
        rc =
            yv_err_prefix(err, "VM '%s' was deleted, but its files could not all be removed", name);
    free(trash);
    free(suffix);
    free(vmdir);
    return rc;
}
