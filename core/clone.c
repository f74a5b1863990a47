#include "clone.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloudinit.h"
#include "forward.h"
#include "linked.h"
#include "ops.h"
#include "qmp.h"
#include "root.h"
#include "storage.h"
#include "uefivars.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"

/* The UEFI variable stores a VM folder may hold (core/uefivars.h): the qcow2 one QEMU uses, and
 * the raw one of before (converted at the next start). */
static const char *const vars_files[][2] = {{YV_UEFIVARS_RAW, "raw"}, {YV_UEFIVARS_FILE, "qcow2"}};

typedef struct {
    const char *root;
    const yv_config *cfg;
    const yv_clone_opts *o;
    const yv_vm *src;
    const char *src_dir; /* <root>/<src>.vm */
    const char *pw;
    bool reseed; /* the source came from a preset, or boots a seed: the clone gets a new
                  * cloud-init instance */
    bool live;   /* the source runs: its disks are copied by its QEMU (drive-backup), at once */
    struct stat dir_st; /* of src_dir, not through a symlink (st_ino 0: it cannot be opened) */
    char *real_dir;     /* its realpath, NULL when it has none */
} clone_ctx;

static bool is_cd(const yv_drive *d)
{
    return d->type == YV_DRIVE_IDE && d->media == YV_MEDIA_CD;
}

/* Where a drive's file lies: in the source's folder itself, in a subfolder of it, or outside. */
typedef enum { AT_FOLDER, AT_SUBFOLDER, AT_OUTSIDE } clone_place;

/* By the identity (st_dev, st_ino) of the folder the file is in, so every spelling of a path into
 * the source's folder ("//", "/./", "..", a symlinked folder) is seen for what it is: a file of
 * the folder shared with the clone, not copied, would be written by both VMs. A relative path is
 * relative to the source's folder (QEMU's working directory, core/qemuargv.c). */
static clone_place place_of(const clone_ctx *c, const char *path)
{
    char *full = path[0] == '/' ? yv_strdup(path) : yv_root_join(c->src_dir, path), real[PATH_MAX];
    char *slash = strrchr(full, '/');
    slash[slash == full] = '\0'; /* its folder ("/" for a file of the root folder) */
    struct stat st;
    clone_place at = AT_OUTSIDE;
    size_t l = c->real_dir ? strlen(c->real_dir) : 0;
    if (c->dir_st.st_ino && !stat(full, &st) && st.st_dev == c->dir_st.st_dev &&
        st.st_ino == c->dir_st.st_ino)
        at = AT_FOLDER;
    else if (l && realpath(full, real) && !strncmp(real, c->real_dir, l) && real[l] == '/')
        at = AT_SUBFOLDER;
    free(full);
    return at;
}

/* The name of a drive's file when it lies in the source's folder itself (a plain name, or any
 * path into that folder): the clone gets a copy of it, named so in its own folder. NULL: a file
 * elsewhere (a cdrom image, referenced by the clone as by its source) or in a subfolder (refused
 * by check_drives). */
static const char *folder_file(const clone_ctx *c, const yv_drive *d)
{
    const char *base = strrchr(d->path, '/');
    if (!base) return d->path;
    return place_of(c, d->path) == AT_FOLDER ? base + 1 : NULL;
}

/* Names a copied drive must not have: the clone's own files would be overwritten by it. */
static bool reserved_name(const char *f)
{
    static const char *const own[] = {"config.yaml", "OVMF_VARS.fd", "OVMF_VARS.qcow2", "seed",
                                      YV_CLONE_SEED, "qemu.log",     "serial.log"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (!strcmp(f, own[i])) return true;
    return !*f || f[0] == '.' || !strcmp(f, YV_LINKED_MARK);
}

/* The source's own seed of an earlier clone: replaced by a new one, not copied. */
static bool old_seed(const clone_ctx *c, const yv_drive *d)
{
    return c->reseed && !strcmp(d->id, YV_CLONE_SEED_ID);
}

static int check_drives(const clone_ctx *c, yv_err *err)
{
    for (size_t i = 0; i < c->src->ndrives; i++) {
        const yv_drive *d = &c->src->drives[i];
        const char *f = folder_file(c, d), *p = d->path;
        if (f && !old_seed(c, d) && reserved_name(f))
            return yv_err_set(err, YV_E_USAGE,
                              "drive %s of VM '%s' is '%s', a name the clone's own files have",
                              d->id, c->src->name, p);
        if (f) continue;
        if (place_of(c, p) == AT_SUBFOLDER ||
            (p[0] != '/' &&
             (strncmp(p, "../", 3) != 0 || strchr(p + 3, '/') || !strcmp(p + 3, ".."))))
            return yv_err_set(
                err, YV_E_USAGE,
                "drive %s of VM '%s' is '%s': clone copies the files of the VM folder "
                "and shares cdrom images outside it, but not a subfolder",
                d->id, c->src->name, p);
        if (!is_cd(d))
            return yv_err_set(err, YV_E_USAGE,
                              "drive %s of VM '%s' is '%s', a disk outside its folder: the clone "
                              "would share it, writable, with its source (move it into the folder "
                              "to have it copied, or remove the drive first)",
                              d->id, c->src->name, p);
    }
    return 0;
}

/* ---- phase 1: the identity, under the root lock ---- */

static void uses_add(yv_forward_uses *u, const char *vm, yv_proto proto, int host)
{
    u->v = yv_realloc(u->v, (u->n + 1) * sizeof *u->v);
    u->v[u->n++] = (yv_forward_use){yv_strdup(vm), proto, host};
}

/* A host port for the clone's copy of forward f: from `from` up, then from 1024; one no VM of the
 * root forwards and nothing holds now. */
static int pick_port(const yv_forward_uses *u, const yv_forward *f, long from, yv_err *err)
{
    if (from < 1024 || from > 65535) from = 1024;
    for (long k = 0; k <= 65535 - 1024; k++) {
        long p = from + k > 65535 ? from + k - 65535 + 1023 : from + k;
        yv_forward probe = {f->proto, f->address, (int)p, f->guest};
        if (!yv_forward_used_by(u, NULL, f->proto, (int)p) && yv_forward_host_free(&probe))
            return (int)p;
    }
    return yv_err_set(err, YV_E_FAIL, "no free host port left for the %s forward to guest port %d",
                      yv_vm_proto_name(f->proto), f->guest);
}

/* The source's networks with a new MAC each, no fixed TAP name (the clone's is derived from its
 * own name), the forwards on new host ports (the SSH forward from network.ssh_port_base, like
 * create's; the others from the source's port + 1). */
static int clone_nets(const clone_ctx *c, yv_ops_used *used, yv_vm *vm, yv_err *err)
{
    yv_forward_uses u;
    int rc = 0;
    yv_forward_collect(c->root, &u);
    for (size_t i = 0; rc == 0 && i < c->src->nnets; i++) {
        const yv_net *s = &c->src->nets[i];
        char mac[18];
        yv_ops_used_pick_mac(used, c->o->dst, mac);
        yv_net *n = yv_vm_add_net(vm, s->id, mac, s->master);
        n->type = s->type;
        for (size_t j = 0; rc == 0 && j < s->nforwards; j++) {
            const yv_forward *f = &s->forwards[j];
            bool ssh = f->proto == YV_PROTO_TCP && f->guest == 22;
            int port = pick_port(&u, f, ssh ? c->cfg->network_ssh_port_base : f->host + 1L, err);
            if (port < 0) rc = -1;
            else uses_add(&u, c->o->dst, f->proto, port);
            if (port > 0) yv_vm_add_forward(n, f->proto, f->address, port, f->guest);
        }
    }
    yv_forward_uses_done(&u);
    return rc;
}

static void clone_drives(const clone_ctx *c, yv_vm *vm)
{
    bool seeded = false;
    for (size_t i = 0; i < c->src->ndrives; i++) {
        const yv_drive *d = &c->src->drives[i];
        bool seed = old_seed(c, d);
        const char *f = folder_file(c, d);
        yv_vm_add_drive(vm, d->id,
                        seed ? YV_CLONE_SEED
                        : f  ? f
                             : d->path,
                        d->type, d->media, d->boot_index);
        seeded |= seed;
    }
    if (c->reseed && !seeded)
        yv_vm_add_drive(vm, YV_CLONE_SEED_ID, YV_CLONE_SEED, YV_DRIVE_IDE, YV_MEDIA_CD, -1);
}

static int clone_fill(void *ctx, yv_ops_used *used, int display, yv_vm *vm, yv_err *err)
{
    const clone_ctx *c = ctx;
    char disp[16];
    snprintf(disp, sizeof disp, ":%d", display);
    vm->name = yv_strdup(c->o->dst);
    vm->memory = c->src->memory;
    vm->vcpu = c->src->vcpu;
    vm->ovmf = c->src->ovmf;
    vm->vnc_display = yv_strdup(disp);
    vm->vnc_password = yv_strdup(c->pw);
    if (c->src->preset) vm->preset = yv_strdup(c->src->preset);
    clone_drives(c, vm);
    return clone_nets(c, used, vm, err);
}

/* ---- phase 2: the files, into the .part folder (no root lock; the source's start mark held) */

static bool cancelled(const yv_clone_opts *o, yv_err *err)
{
    if (!o->cancel || !*o->cancel) return false;
    yv_err_set(err, YV_E_FAIL, "interrupted");
    return true;
}

/* A running UEFI source's qcow2 variable store: its QEMU copies it with the disks (its node, core/
 * qemuargv.c), not qemu-img from under it. (A VM still running with the raw store of before: that
 * file has no metadata to catch half-written; qemu-img -U copies it.) */
static bool vars_backed_up(const clone_ctx *c)
{
    if (!c->live || !c->src->ovmf) return false;
    char *p = yv_root_join(c->src_dir, YV_UEFIVARS_FILE);
    bool there = yv_root_exists(p);
    free(p);
    return there;
}

/* One drive of the source's folder: a qcow2 disk as an overlay on the source's (linked; named
 * ../SRC.vm/FILE, so the root can move), else a copy in its own format. */
static int copy_drive(const clone_ctx *c, const char *part, const yv_drive *d, const char *file,
                      yv_err *err)
{
    char *from = yv_root_join(c->src_dir, file), *to = yv_root_join(part, file);
    const char *fmt = yv_storage_format_of(file);
    int rc = yv_root_check_regular(from, err); /* nothing followed through a symlink: spec §16 */
    if (rc == 0 && c->o->linked && !is_cd(d) && !strcmp(fmt, "qcow2")) {
        char *ref = yv_asprintf("../%s.vm/%s", c->src->name, file);
        rc = yv_storage_overlay(c->cfg, from, ref, to, 0, c->o->cancel, err);
        free(ref);
    } else if (rc == 0) {
        rc = yv_storage_clone_file(c->cfg, from, to, fmt, c->live, c->o->cancel, err);
    }
    if (rc < 0) yv_err_prefix(err, "cannot copy drive %s of VM '%s'", d->id, c->src->name);
    free(from);
    free(to);
    return rc;
}

/* The UEFI variable stores there are (the clone boots with the source's boot entries). */
static int copy_vars(const clone_ctx *c, const char *part, yv_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof vars_files / sizeof vars_files[0]; i++) {
        if (i == 1 && vars_backed_up(c)) continue; /* the running QEMU copied it */
        char *from = yv_root_join(c->src_dir, vars_files[i][0]);
        char *to = yv_root_join(part, vars_files[i][0]);
        if (yv_root_exists(from)) {
            rc = yv_root_check_regular(from, err);
            if (rc == 0)
                rc = yv_storage_clone_file(c->cfg, from, to, vars_files[i][1], c->live,
                                           c->o->cancel, err);
            if (rc < 0) yv_err_prefix(err, "cannot copy the UEFI variables of '%s'", c->src->name);
        }
        free(from);
        free(to);
    }
    return rc;
}

/* A disk the source's running QEMU copies (drive-backup) rather than qemu-img. */
static bool backed_up(const clone_ctx *c, const yv_drive *d)
{
    return c->live && folder_file(c, d) && !is_cd(d) && !old_seed(c, d);
}

/* ---- a running source: its QEMU copies its disks, all at the same instant ---- */

#define CLONE_QMP_MS  10000 /* one exchange with the source's QEMU */
#define CLONE_POLL_MS 200   /* how often a live clone asks how the copies are going */
#define CLONE_END_MS  10000 /* for cancelled copies to end */

/* One drive-backup action per disk of the source's folder, into the .part folder; job ids
 * prefix + drive id (the prefix is random: a job a killed clone left does not stand in the way). */
static void add_backup(json_t *a, const char *part, const char *prefix, const char *id,
                       const char *device, const char *file)
{
    char *target = yv_root_join(part, file), *job = yv_asprintf("%s%s", prefix, id);
    json_array_append_new(a, json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:b}}", "type",
                                       "drive-backup", "data", "job-id", job, "device", device,
                                       "target", target, "sync", "full", "format",
                                       yv_storage_format_of(file), "auto-dismiss", 0));
    free(target);
    free(job);
}

static json_t *backup_actions(const clone_ctx *c, const char *part, const char *prefix)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->src->ndrives; i++) {
        const yv_drive *d = &c->src->drives[i];
        if (backed_up(c, d)) add_backup(a, part, prefix, d->id, d->id, folder_file(c, d));
    }
    if (vars_backed_up(c)) add_backup(a, part, prefix, "uefi", YV_UEFIVARS_NODE, YV_UEFIVARS_FILE);
    return a;
}

/* The id of job j of a query-jobs answer when it starts with prefix (*status and *error with it),
 * NULL otherwise. */
/* Our jobs in a query-jobs answer: *ours of them, *done concluded; a failed one fills err. */
static int jobs_seen(json_t *jobs, const char *prefix, size_t *ours, size_t *done, yv_err *err)
{
    size_t i;
    json_t *j;
    *ours = *done = 0;
    json_array_foreach(jobs, i, j)
    {
        const char *st, *e, *id = yv_qmp_job_of(j, prefix, &st, &e);
        if (!id) continue;
        (*ours)++;
        if (e)
            return yv_err_set(err, YV_E_TOOL_FAILED, "QEMU's copy of drive %s failed: %s",
                              id + strlen(prefix), e);
        if (st && !strcmp(st, "concluded")) (*done)++;
    }
    return 0;
}

/* Until every one of the n jobs concluded; -1 when one failed, QEMU went or the user interrupts. */
static int wait_backup(const clone_ctx *c, const char *sock, const char *prefix, size_t n,
                       yv_err *err)
{
    for (;;) {
        json_t *jobs = NULL;
        size_t ours = 0, done = 0;
        usleep(CLONE_POLL_MS * 1000); /* first: a small disk is copied by then, one poll */
        if (cancelled(c->o, err)) return -1;
        int rc = yv_qmp_once(sock, "query-jobs", NULL, &jobs, CLONE_QMP_MS, err);
        if (rc == 0) rc = jobs_seen(jobs, prefix, &ours, &done, err);
        json_decref(jobs);
        if (rc != 0) return -1;
        if (ours < n)
            return yv_err_set(err, YV_E_FAIL, "the copies of VM '%s' ended without a result",
                              c->src->name);
        if (done == n) return 0;
    }
}

void yv_clone_end_stale_jobs(const char *root, const char *name)
{
    char *sock = yv_vmstate_sockfile(root, name);
    yv_qmp_end_jobs(sock, YV_QMP_JOB_CLONE, CLONE_END_MS);
    free(sock);
}

/* One transaction (all disks at the same instant, grouped: one failing fails all), then the
 * jobs until they are done. The clone starts like its source after a power cut. First, the jobs
 * of a clone killed mid-copy go: they would go on writing into its removed .part folder and keep
 * the source's disks busy for this copy (and resize, snapshots). Every clone's jobs may go: this
 * clone holds the source's start mark, so no other clone of it runs now. */
static int live_backup(const clone_ctx *c, const char *part, yv_err *err)
{
    char *rnd = yv_ops_random_password(6), *prefix = yv_asprintf(YV_QMP_JOB_CLONE "%s-", rnd);
    char *sock = yv_vmstate_sockfile(c->root, c->src->name);
    json_t *acts = backup_actions(c, part, prefix);
    size_t n = json_array_size(acts);
    int rc = 0;
    if (n) {
        yv_clone_end_stale_jobs(c->root, c->src->name);
        json_t *args = json_pack("{s:o, s:{s:s}}", "actions", acts, "properties", "completion-mode",
                                 "grouped");
        rc = yv_qmp_once(sock, "transaction", args, NULL, CLONE_QMP_MS, err);
        if (rc == 1) err->code = YV_E_TOOL_FAILED; /* QEMU refused: its reason is in err */
        if (rc == 0) rc = wait_backup(c, sock, prefix, n, err);
        yv_err keep = *err;
        yv_qmp_end_jobs(sock, prefix, CLONE_END_MS);
        *err = keep;
        if (rc != 0)
            rc = yv_err_prefix(err, "cannot copy the disks of running VM '%s'", c->src->name);
    } else {
        json_decref(acts);
    }
    free(sock);
    free(prefix);
    free(rnd);
    return rc;
}

static int copy_files(const clone_ctx *c, const char *part, yv_clone_result *out, yv_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->src->ndrives; i++) {
        const yv_drive *d = &c->src->drives[i];
        const char *f = folder_file(c, d);
        if (f && !old_seed(c, d) && !backed_up(c, d)) rc = copy_drive(c, part, d, f, err);
        if (rc == 0 && cancelled(c->o, err)) rc = -1;
    }
    if (rc == 0 && c->live) rc = live_backup(c, part, err);
    if (rc == 0) rc = copy_vars(c, part, err);
    if (rc == 0 && c->reseed)
        rc = yv_cloudinit_reseed(c->cfg, part, YV_CLONE_SEED, c->o->dst, c->o->dst, NULL,
                                 c->o->cancel, &out->instance_id, err);
    if (rc == 0 && cancelled(c->o, err)) rc = -1;
    return rc;
}

/* ---- the verb ---- */

/* Under the root lock: the source exists (*live: it runs; a linked clone needs it stopped), and
 * its start mark is ours until the clone is done (no `run`, `resize` or `delete` meanwhile). A
 * linked clone marks it as a base first (core/linked.h: from now on its start and delete look for
 * overlays on it). */
static int hold_src(const char *root, const yv_config *cfg, const yv_clone_opts *o, yv_vm *src,
                    int *mark, bool *marked, bool *live, yv_err *err)
{
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    int rc = yv_vm_load(src, root, o->src, err);
    /* the mark first: one a killed `run` abandoned is settled (its prelaunch QEMU ended), never
     * taken over with that QEMU left (core/resize.c); then whether the source runs */
    if (rc == 0 && (*mark = yv_vmstate_start_take(root, cfg, o->src, err)) < 0)
        rc =
            err->code != YV_E_VM_RUNNING
                ? -1
                : yv_err_set(err, YV_E_VM_RUNNING,
                             "VM '%s' is busy: being started, resized or cloned right now", o->src);
    pid_t pid = rc == 0 ? yv_vmstate_live_pid(root, cfg, o->src) : 0;
    *live = pid > 0;
    if (pid > 0 && o->linked)
        rc = yv_err_set(err, YV_E_VM_RUNNING,
                        "VM '%s' is running (pid %d): a linked clone needs it stopped (its disks "
                        "become the clone's base); shut it down first, or clone it whole",
                        o->src, (int)pid);
    if (rc == 0 && o->linked && yv_linked_mark(root, o->src, marked, err) < 0) rc = -1;
    if (rc < 0 && *mark >= 0) {
        yv_vmstate_start_end(root, o->src, *mark);
        *mark = -1;
    }
    yv_root_unlock(lock);
    return rc;
}

/* A VM made from a preset (vm.yaml `preset:`), or one that boots a seed of ours (YV_CLONE_SEED_ID,
 * the kept seed of a preset VM, even with `preset:` gone from its config): a cloud-init guest whose
 * clone must be a new instance, not a copy of the source's seed. */
static bool cloud_init_guest(const yv_vm *src)
{
    bool seed = false;
    for (size_t i = 0; !seed && i < src->ndrives; i++)
        seed = !strcmp(src->drives[i].id, YV_CLONE_SEED_ID) &&
               !strcmp(src->drives[i].path, YV_CLONE_SEED);
    return src->preset || seed;
}

/* Reserve, copy, publish; on failure the reservation is undone. */
static int clone_held(const char *root, const yv_config *cfg, const yv_clone_opts *o,
                      const yv_vm *src, bool live, yv_clone_result *out, yv_err *err)
{
    char *src_dir = yv_root_vm_dir(root, src->name);
    clone_ctx c = {root, cfg, o, src, src_dir, NULL, cloud_init_guest(src), live, {0}, NULL};
    int dfd = open(src_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 || fstat(dfd, &c.dir_st) < 0) c.dir_st.st_ino = 0;
    if (dfd >= 0) close(dfd);
    c.real_dir = realpath(src_dir, NULL);
    if (check_drives(&c, err) < 0) return free(c.real_dir), free(src_dir), -1;
    if (c.reseed && yv_cloudinit_check_hostname(o->dst, err) < 0) {
        free(c.real_dir);
        free(src_dir);
        if (!src->preset)
            return yv_err_prefix(err,
                                 "VM '%s' boots a cloud-init seed: its clone's name is its "
                                 "guest's host name",
                                 src->name);
        return yv_err_prefix(err,
                             "VM '%s' came from preset '%s': its clone's name is its guest's "
                             "host name",
                             src->name, src->preset);
    }
    char *pw = o->vnc_password ? yv_strdup(o->vnc_password) : yv_ops_random_password(8);
    yv_ops_part r = {0};
    c.pw = pw;
    int rc = yv_ops_part_reserve(root, cfg, o->dst, clone_fill, &c, &r, &out->vm, err);
    bool reserved = rc == 0;
    if (rc == 0) rc = copy_files(&c, r.part, out, err);
    if (rc == 0) rc = yv_ops_part_publish(root, o->dst, &r, err);
    if (rc < 0 && o->cancel && *o->cancel) /* whatever broke, the user's interrupt is the story */
        yv_err_set(err, YV_E_FAIL, "interrupted");
    if (rc < 0 && reserved) yv_ops_part_unreserve(root, o->dst, &r, err);
    if (rc == 0) close(r.part_fd);
    if (rc == 0 && !o->vnc_password) out->generated_pw = pw;
    else yv_free_secret(pw);
    free(r.part);
    free(c.real_dir);
    free(src_dir);
    return rc;
}

int yv_clone(const char *root, const yv_config *cfg, const yv_clone_opts *o, yv_clone_result *out,
             yv_err *err)
{
    memset(out, 0, sizeof *out);
    if (yv_valid_name(o->src, err) < 0 || yv_valid_name(o->dst, err) < 0) return -1;
    if (!strcmp(o->src, o->dst))
        return yv_err_set(err, YV_E_USAGE,
                          "a VM cannot be cloned onto itself: give --to a new name");
    if (o->vnc_password && !*o->vnc_password)
        return yv_err_set(err, YV_E_USAGE,
                          "the VNC password is empty (an empty VNC password locks everyone out)");
    if (yv_root_ensure(root, err) < 0) return -1;
    yv_ops_reap(root, cfg); /* what killed creates and clones left, before the name is taken */
    yv_vm src = {0};
    int mark = -1;
    bool marked = false; /* the source's linked-base mark was written by this clone */
    bool live = false;   /* the source runs: a snapshot of its disks */
    int rc = hold_src(root, cfg, o, &src, &mark, &marked, &live, err);
    if (rc == 0) rc = clone_held(root, cfg, o, &src, live, out, err);
    if (rc < 0 && marked) yv_linked_unmark(root, o->src); /* no overlay on it was published */
    yv_vmstate_start_end(root, o->src, mark);
    yv_vm_done(&src);
    if (rc < 0) yv_clone_result_done(out);
    return rc;
}

void yv_clone_result_done(yv_clone_result *r)
{
    yv_vm_done(&r->vm);
    yv_free_secret(r->generated_pw);
    free(r->instance_id);
    memset(r, 0, sizeof *r);
}

json_t *yv_clone_json(const yv_clone_result *r, const char *src, bool linked)
{
    const yv_vm *vm = &r->vm;
    json_t *fw = json_array();
    for (size_t i = 0; i < vm->nnets; i++)
        for (size_t j = 0; j < vm->nets[i].nforwards; j++) {
            const yv_forward *f = &vm->nets[i].forwards[j];
            json_array_append_new(fw, json_pack("{s:s, s:s, s:i, s:i}", "proto",
                                                yv_vm_proto_name(f->proto), "address", f->address,
                                                "host", f->host, "guest", f->guest));
        }
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:b}", "vm", vm->name, "from", src, "mac",
                          vm->nnets ? vm->nets[0].mac : NULL, "display", vm->vnc_display,
                          "forwards", fw, "linked", linked);
    if (r->instance_id) json_object_set_new(j, "instance_id", json_string(r->instance_id));
    if (r->generated_pw)
        json_object_set_new(j, "generated_vnc_password", json_string(r->generated_pw));
    return j;
}
