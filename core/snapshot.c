#include "snapshot.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linked.h"
#include "proc.h"
#include "qemuargv.h"
#include "qmp.h"
#include "root.h"
#include "storage.h"
#include "uefivars.h"
#include "util.h"
#include "valid.h"
#include "vm.h"
#include "vmstate.h"

/* The snapshot a stopped revert takes first, so a failure halfway can go back; never a valid
 * user name (it starts with a dot), so it is never listed nor targeted. */
#define UNDO_NAME ".yave-undo"
/* In the VM folder while a revert of several images is under way (written before the first undo
 * snapshot, removed once none is left): `run` settles only when it is there, so a start costs one
 * stat rather than a `qemu-img info` per image. */
#define REVERT_MARK ".yave-reverting"
#define JOB_PREFIX  YV_QMP_JOB_SNAPSHOT /* then <pid>-<ns>: each invocation's own job */
#define QMP_MS      10000               /* one short exchange with a running QEMU */
#define NOWAIT_MS   500 /* a list that must not block a loop: a busy QEMU is "busy" */
#define POLL_MS     200 /* how often a running job is asked for its state */

/* ---- names and lists (pure) ---- */

int yv_snapshot_valid_name(const char *name, yv_err *err)
{
    size_t n = name ? strlen(name) : 0;
    bool digits = true, ok = n >= 1 && n <= YV_SNAPSHOT_NAME_MAX && isalnum((unsigned char)name[0]);
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        ok = (c < 0x80 && isalnum(c)) || c == '.' || c == '_' || c == '-';
        digits = digits && isdigit(c);
    }
    if (ok && !digits) return 0;
    return yv_err_set(err, YV_E_USAGE,
                      "snapshot name '%s' is not valid: 1 to %d of A-Z a-z 0-9 . _ -, starting "
                      "with a letter or digit, not only digits",
                      name ? name : "", YV_SNAPSHOT_NAME_MAX);
}

static yv_snapshot *find_mut(yv_snapshot_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name)) return &l->v[i];
    return NULL;
}

const yv_snapshot *yv_snapshot_find(const yv_snapshot_list *l, const char *name)
{
    return find_mut((yv_snapshot_list *)l, name);
}

static uint64_t uint_of(const json_t *j)
{
    return json_is_integer(j) && json_integer_value(j) > 0 ? (uint64_t)json_integer_value(j) : 0;
}

/* all: keep names yave would not target too (the undo snapshot). */
static void merge_names(yv_snapshot_list *l, const json_t *snapshots, size_t image, bool all)
{
    size_t i;
    const json_t *s;
    json_array_foreach(snapshots, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        yv_err e;
        if (!name || strlen(name) > YV_SNAPSHOT_NAME_MAX) continue;
        if (!all && yv_snapshot_valid_name(name, &e) < 0) continue;
        yv_snapshot *x = find_mut(l, name);
        if (!x) {
            l->v = yv_realloc(l->v, (l->n + 1) * sizeof *l->v);
            x = &l->v[l->n++];
            memset(x, 0, sizeof *x);
            snprintf(x->name, sizeof x->name, "%s", name);
            x->date = (int64_t)uint_of(json_object_get(s, "date-sec"));
        }
        uint64_t vs = uint_of(json_object_get(s, "vm-state-size"));
        if (vs > x->vm_state_size) x->vm_state_size = vs;
        if (x->last_image == image + 1) continue; /* twice in one image */
        x->last_image = image + 1;
        x->on++;
    }
}

void yv_snapshot_merge(yv_snapshot_list *l, const json_t *snapshots, size_t image)
{
    merge_names(l, snapshots, image, false);
}

static int parse_info(yv_snapshot_list *l, const char *text, size_t len, size_t image, bool all,
                      yv_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return yv_err_set(err, YV_E_TOOL_FAILED, "qemu-img info: unexpected output");
    }
    merge_names(l, json_object_get(j, "snapshots"), image, all);
    json_decref(j);
    return 0;
}

int yv_snapshot_parse_info(yv_snapshot_list *l, const char *text, size_t len, size_t image,
                           yv_err *err)
{
    return parse_info(l, text, len, image, false, err);
}

void yv_snapshot_list_done(yv_snapshot_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

json_t *yv_snapshot_json(const yv_snapshot *s, size_t images)
{
    char date[32] = "";
    time_t t = (time_t)s->date;
    struct tm tm;
    if (gmtime_r(&t, &tm)) strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:s, s:I, s:b, s:b}", "name", s->name, "date", date, "size",
                     (json_int_t)s->vm_state_size, "vm_state", s->vm_state_size > 0, "complete",
                     s->on == images);
}

json_t *yv_snapshot_list_json(const char *name, const yv_snapshot_list *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(arr, yv_snapshot_json(&l->v[i], l->images));
    return json_pack("{s:s, s:o}", "vm", name, "snapshots", arr);
}

/* One format for the header and the rows, so the columns line up in both front ends. */
#define ROW_FMT "%-24s %-20s %-8s %10s  %s"

void yv_snapshot_row_text(const yv_snapshot *s, size_t images, char *buf, size_t n)
{
    if (!s) {
        snprintf(buf, n, ROW_FMT, "NAME", "DATE", "VM-STATE", "SIZE", "");
        return;
    }
    char date[32] = "", size[32] = "-";
    time_t t = (time_t)s->date;
    struct tm tm;
    if (localtime_r(&t, &tm)) strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    if (s->vm_state_size)
        snprintf(size, sizeof size, "%.1f MiB", (double)s->vm_state_size / (1024.0 * 1024.0));
    snprintf(buf, n, ROW_FMT, s->name, date, s->vm_state_size ? "yes" : "no", size,
             s->on == images ? "" : "incomplete");
}

/* ---- the VM's images ---- */

typedef struct {
    char *path;
    char label[40];       /* hd0, …, or "UEFI variables" */
    char node[48];        /* its QEMU block node (core/qemuargv.c) */
    yv_snapshot_list own; /* its snapshots, every name (offline) */
} image;

typedef struct {
    yv_vm vm;
    char *dir;
    image *img;
    size_t n;
    bool live;
    bool vars_new;                    /* the UEFI store was made from the template by this call */
    char job[YV_SNAPSHOT_JOB_ID_MAX]; /* the id of this invocation's QMP job */
} target;

static void target_done(target *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->img[i].path);
        yv_snapshot_list_done(&t->img[i].own);
    }
    free(t->img);
    free(t->dir);
    yv_vm_done(&t->vm);
}

static bool is_qcow2(const char *path)
{
    return !strcmp(yv_storage_format_of(path), "qcow2"); /* the format QEMU is given */
}

static void add_image(target *t, char *path, const char *label, const char *node)
{
    image *m = &t->img[t->n++];
    memset(m, 0, sizeof *m);
    m->path = path;
    snprintf(m->label, sizeof m->label, "%s", label);
    snprintf(m->node, sizeof m->node, "%s", node);
}

/* Every disk (cdroms are read-only and left out) and the UEFI store; a raw disk is refused. */
static int collect_images(target *t, yv_err *err)
{
    t->img = yv_calloc(t->vm.ndrives + 1, sizeof *t->img);
    for (size_t i = 0; i < t->vm.ndrives; i++) {
        const yv_drive *d = &t->vm.drives[i];
        if (d->type == YV_DRIVE_IDE && d->media == YV_MEDIA_CD) continue;
        char *path = yv_vm_drive_path(&t->vm, t->dir, d), node[48];
        if (!is_qcow2(path)) {
            yv_err_set(err, YV_E_USAGE,
                       "drive %s of VM '%s' is a raw disk (%s): a raw disk cannot hold internal "
                       "snapshots (convert it to qcow2 first)",
                       d->id, t->vm.name, path);
            free(path);
            return -1;
        }
        snprintf(node, sizeof node, "%s%s", YV_QEMUARGV_NODE_PREFIX, d->id);
        add_image(t, path, d->id, node);
    }
    if (t->vm.ovmf)
        add_image(t, yv_root_join(t->dir, YV_UEFIVARS_FILE), "UEFI variables", YV_UEFIVARS_NODE);
    if (t->n == 0)
        return yv_err_set(err, YV_E_USAGE, "VM '%s' has no disk that can hold a snapshot",
                          t->vm.name);
    return 0;
}

/* ---- stopped: qemu-img on each image ---- */

static void say(yv_snapshot_progress progress, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(yv_snapshot_progress progress, void *ctx, const char *fmt, ...)
{
    if (!progress) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    progress(ctx, line);
}

/* qemu-img snapshot FLAG SNAP on one image; the format is given (--image-opts), never probed. */
static int img_snapshot(const yv_config *cfg, const image *m, const char *flag, const char *snap,
                        yv_err *err)
{
    char *e = yv_qemuargv_escape(m->path);
    char *opts = yv_asprintf("driver=qcow2,file.driver=file,file.filename=%s", e);
    char *argv[] = {(char *)yv_config_img(cfg),
                    "snapshot",
                    "-q",
                    "--image-opts",
                    (char *)flag,
                    (char *)snap,
                    opts,
                    NULL};
    int rc = yv_proc_run(argv, NULL, NULL, err);
    free(opts);
    free(e);
    return rc;
}

/* Every image's snapshots (every name: the undo one too), and the VM's list (valid names). */
static int load_lists(const yv_config *cfg, target *t, yv_snapshot_list *all, yv_err *err)
{
    memset(all, 0, sizeof *all);
    all->images = t->n;
    for (size_t i = 0; i < t->n; i++) {
        image *m = &t->img[i];
        char *out = NULL;
        char *argv[] = {(char *)yv_config_img(cfg),
                        "info",
                        "--output=json",
                        "-f",
                        "qcow2",
                        "--",
                        m->path,
                        NULL};
        yv_snapshot_list_done(&m->own);
        if (yv_proc_run_output(argv, NULL, NULL, &out, err) < 0)
            return yv_err_prefix(err, "cannot read the snapshots of %s of VM '%s'", m->label,
                                 t->vm.name);
        int rc = parse_info(&m->own, out, strlen(out), 0, true, err);
        if (rc == 0) rc = parse_info(all, out, strlen(out), i, false, err);
        free(out);
        if (rc < 0) return -1;
    }
    return 0;
}

static bool img_has(const image *m, const char *snap)
{
    return yv_snapshot_find(&m->own, snap) != NULL;
}

/* Back from the undo snapshot of a revert (each image that has it), then without it. */
static int undo_revert(const yv_config *cfg, target *t, bool apply, yv_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!img_has(&t->img[i], UNDO_NAME)) continue;
        if (apply && img_snapshot(cfg, &t->img[i], "-a", UNDO_NAME, err) < 0) rc = -1;
        if (img_snapshot(cfg, &t->img[i], "-d", UNDO_NAME, err) < 0) rc = -1;
    }
    return rc;
}

/* What a killed revert left: its undo snapshot. On the first image it means the revert did not
 * finish (it is deleted from there first once every image is reverted): every image goes back;
 * only on later ones, the revert finished: they lose it. */
static void revert_mark_set(const target *t, bool on, yv_err *err, int *rc)
{
    char *mark = yv_root_join(t->dir, REVERT_MARK);
    if (on && yv_root_write_atomic(mark, "", 0, 0600, err) < 0) *rc = -1;
    if (!on) unlink(mark);
    free(mark);
}

static int settle(const yv_config *cfg, target *t, yv_snapshot_list *all, yv_err *err)
{
    bool any = false;
    int rc = 0;
    for (size_t i = 0; i < t->n; i++) any = any || img_has(&t->img[i], UNDO_NAME);
    if (!any) return revert_mark_set(t, false, err, &rc), 0;
    if (undo_revert(cfg, t, img_has(&t->img[0], UNDO_NAME), err) < 0)
        return yv_err_prefix(err, "cannot settle an interrupted revert of VM '%s'", t->vm.name);
    revert_mark_set(t, false, err, &rc);
    yv_snapshot_list_done(all);
    return load_lists(cfg, t, all, err);
}

static int offline_create(const yv_config *cfg, target *t, const char *snap,
                          yv_snapshot_progress progress, void *ctx, yv_err *err)
{
    for (size_t i = 0; i < t->n; i++) {
        if (img_snapshot(cfg, &t->img[i], "-c", snap, err) == 0) {
            say(progress, ctx, "%s: snapshot %s created", t->img[i].label, snap);
            continue;
        }
        yv_err_prefix(err, "cannot snapshot %s of VM '%s'", t->img[i].label, t->vm.name);
        for (size_t j = i; j-- > 0;) { /* one name on all images or on none */
            yv_err e;
            if (img_snapshot(cfg, &t->img[j], "-d", snap, &e) < 0)
                return yv_err_prefix(err, "and snapshot %s stays on %s (delete it)", snap,
                                     t->img[j].label);
        }
        return -1;
    }
    return 0;
}

/* Back to the undo snapshot on every image (after a failure), then without it, the first
 * image's first. */
static int revert_back(const yv_config *cfg, target *t, size_t made, yv_err *err)
{
    yv_err e;
    for (size_t j = 0; j < made; j++)
        if (img_snapshot(cfg, &t->img[j], "-a", UNDO_NAME, &e) < 0)
            return yv_err_prefix(err, "and %s could not go back (the next command goes back)",
                                 t->img[j].label);
    for (size_t j = 0; j < made; j++)
        if (img_snapshot(cfg, &t->img[j], "-d", UNDO_NAME, &e) < 0)
            return yv_err_prefix(err, "(the next command removes its undo snapshot)");
    int rc = -1;
    revert_mark_set(t, false, &e, &rc);
    return -1;
}

static int revert_all(const yv_config *cfg, target *t, const char *snap,
                      yv_snapshot_progress progress, void *ctx, yv_err *err)
{
    for (size_t j = 0; j < t->n; j++) {
        if (img_snapshot(cfg, &t->img[j], "-a", snap, err) < 0)
            return yv_err_prefix(err, "cannot revert %s of VM '%s'", t->img[j].label, t->vm.name);
        say(progress, ctx, "%s: reverted to %s", t->img[j].label, snap);
    }
    return 0;
}

/* One image: qemu-img applies the snapshot or fails with the image as it was. Several: an undo
 * snapshot on every image first, then each image reverted; a failure goes back. The undo
 * snapshot of the first image is removed first: that is the commit (settle's rule). A later
 * image's that cannot be removed then is left hidden (never listed) for the next command. */
static int offline_revert(const yv_config *cfg, target *t, const char *snap,
                          yv_snapshot_progress progress, void *ctx, yv_err *err)
{
    if (t->n == 1) return revert_all(cfg, t, snap, progress, ctx, err);
    size_t made = 0;
    int rc = 0;
    revert_mark_set(t, true, err, &rc);
    if (rc < 0) return yv_err_prefix(err, "cannot revert VM '%s'", t->vm.name);
    while (rc == 0 && made < t->n)
        if ((rc = img_snapshot(cfg, &t->img[made], "-c", UNDO_NAME, err)) == 0) made++;
    if (rc == 0) rc = revert_all(cfg, t, snap, progress, ctx, err);
    if (rc == 0) rc = img_snapshot(cfg, &t->img[0], "-d", UNDO_NAME, err);
    if (rc < 0) return revert_back(cfg, t, made, err);
    bool left = false;
    for (size_t j = 1; j < made; j++) {
        yv_err e; /* after the commit: a leftover is hidden and settled by the next command */
        left = img_snapshot(cfg, &t->img[j], "-d", UNDO_NAME, &e) < 0 || left;
    }
    if (!left) revert_mark_set(t, false, err, &rc);
    return 0;
}

static int offline_delete(const yv_config *cfg, target *t, const char *snap,
                          yv_snapshot_progress progress, void *ctx, yv_err *err)
{
    size_t done = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!img_has(&t->img[i], snap)) continue;
        if (img_snapshot(cfg, &t->img[i], "-d", snap, err) < 0) {
            yv_err_prefix(err, "cannot delete snapshot %s of %s of VM '%s'", snap, t->img[i].label,
                          t->vm.name);
            if (done) yv_err_prefix(err, "snapshot %s is now incomplete (delete it again)", snap);
            return -1;
        }
        done++;
        say(progress, ctx, "%s: snapshot %s deleted", t->img[i].label, snap);
    }
    return 0;
}

/* ---- running: QMP jobs ---- */

static yv_qmp *qmp_open(const char *root, const char *name, int64_t deadline, yv_err *err)
{
    char *sock = yv_vmstate_sockfile(root, name);
    yv_qmp *q = yv_qmp_new();
    int rc = yv_qmp_connect_wait(q, sock, deadline, err);
    if (rc == 0) rc = yv_qmp_greet(q, deadline, err);
    free(sock);
    if (rc == 0) return q;
    yv_qmp_free(q);
    return NULL;
}

/* One command on a fresh connection (never held: spec §6). 1 when QEMU refused it. */
static int qmp_once(const char *root, const char *name, const char *cmd, json_t *args, json_t **ret,
                    int64_t deadline, yv_err *err)
{
    yv_qmp *q = qmp_open(root, name, deadline, err);
    if (!q) {
        json_decref(args);
        return -1;
    }
    int rc = yv_qmp_call(q, cmd, args, ret, deadline, err);
    yv_qmp_free(q);
    return rc;
}

static const json_t *block_of(const json_t *blocks, const char *node)
{
    size_t i;
    const json_t *b;
    json_array_foreach(blocks, i, b)
    {
        const json_t *ins = json_object_get(b, "inserted");
        const char *nn = json_string_value(json_object_get(ins, "node-name"));
        if (nn && !strcmp(nn, node)) return ins;
    }
    return NULL;
}

/* The snapshots QEMU sees (query-block, by node name). A QEMU started before drives had node
 * names (or with the raw UEFI store of before) cannot take part: refused, with what to do. */
static int online_lists(const char *root, target *t, yv_snapshot_list *all, int64_t deadline,
                        yv_err *err)
{
    json_t *blocks = NULL;
    memset(all, 0, sizeof *all);
    all->images = t->n;
    int rc = qmp_once(root, t->vm.name, "query-block", NULL, &blocks, deadline, err);
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        const json_t *ins = block_of(blocks, t->img[i].node);
        const char *drv = json_string_value(json_object_get(ins, "drv"));
        if (!ins || !drv || strcmp(drv, "qcow2") != 0)
            rc = yv_err_set(err, YV_E_FAIL,
                            "the running QEMU of VM '%s' has no qcow2 node %s for %s (it was "
                            "started before snapshots were possible): shut it down and start it "
                            "again",
                            t->vm.name, t->img[i].node, t->img[i].label);
        const json_t *snaps = json_object_get(json_object_get(ins, "image"), "snapshots");
        if (rc == 0) merge_names(&t->img[i].own, snaps, 0, true);
        if (rc == 0) merge_names(all, snaps, i, false);
    }
    if (rc == 1) rc = yv_err_prefix(err, "QEMU refused query-block");
    json_decref(blocks);
    return rc < 0 ? -1 : 0;
}

static const char *const job_cmd[] = {"snapshot-save", "snapshot-load", "snapshot-delete"};

void yv_snapshot_job_id(char out[YV_SNAPSHOT_JOB_ID_MAX])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, YV_SNAPSHOT_JOB_ID_MAX, JOB_PREFIX "%ld-%lld", (long)getpid(),
             (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* The pid in a yave-snapshot-<pid>-<ns> id, or 0. */
static pid_t job_pid(const char *id)
{
    char *end;
    long pid = strtol(id + strlen(JOB_PREFIX), &end, 10);
    return *end == '-' && pid > 0 ? (pid_t)pid : 0;
}

const char *yv_snapshot_jobs_scan(const json_t *jobs, bool (*alive)(pid_t), json_t *dismiss)
{
    size_t i;
    const json_t *j;
    json_array_foreach(jobs, i, j)
    {
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *st = json_string_value(json_object_get(j, "status"));
        /* yave-snapshot alone: the one id of a yave before, whose command is gone by now */
        bool legacy = id && !strcmp(id, "yave-snapshot");
        if (!id || !st || (!legacy && strncmp(id, JOB_PREFIX, strlen(JOB_PREFIX)) != 0)) continue;
        pid_t pid = legacy ? 0 : job_pid(id);
        if (strcmp(st, "concluded") != 0) return id;
        if (!pid || !alive(pid)) json_array_append_new(dismiss, json_string(id));
    }
    return NULL;
}

static bool pid_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno != ESRCH;
}

/* Another invocation's job still running is waited for by it: refused. A concluded one of an
 * invocation that was killed is in the way of nobody's result: dismissed; one whose invocation
 * lives is left for it to read. */
static int jobs_clear(const char *root, const char *name, int64_t deadline, yv_err *err)
{
    json_t *jobs = NULL, *old = json_array();
    int rc = qmp_once(root, name, "query-jobs", NULL, &jobs, deadline, err);
    const char *busy = rc == 0 ? yv_snapshot_jobs_scan(jobs, pid_alive, old) : NULL;
    if (rc == 1) rc = yv_err_prefix(err, "QEMU refused query-jobs");
    else if (busy)
        rc = yv_err_set(err, YV_E_IN_USE,
                        "another snapshot job is running on VM '%s' (%s): try again when it ended",
                        name, busy);
    size_t i;
    const json_t *id;
    json_array_foreach(old, i, id)
    {
        yv_err e;
        qmp_once(root, name, "job-dismiss", json_pack("{s:O}", "id", id), NULL, deadline, &e);
    }
    json_decref(old);
    json_decref(jobs);
    return rc < 0 ? -1 : 0;
}

static int job_start(const char *root, target *t, yv_snapshot_op op, const char *snap, yv_err *err)
{
    json_t *devs = json_array();
    for (size_t i = 0; i < t->n; i++)
        if (op != YV_SNAPSHOT_DELETE || img_has(&t->img[i], snap))
            json_array_append_new(devs, json_string(t->img[i].node));
    yv_snapshot_job_id(t->job);
    json_t *args = json_pack("{s:s, s:s, s:o}", "job-id", t->job, "tag", snap, "devices", devs);
    if (op != YV_SNAPSHOT_DELETE) /* the RAM goes into (comes from) the first image */
        json_object_set_new(args, "vmstate", json_string(t->img[0].node));
    int64_t deadline = yv_now_ms() + QMP_MS;
    if (jobs_clear(root, t->vm.name, deadline, err) < 0) {
        json_decref(args);
        return -1;
    }
    int rc = qmp_once(root, t->vm.name, job_cmd[op], args, NULL, deadline, err);
    if (rc == 1) {
        err->code = YV_E_TOOL_FAILED; /* e.g. another snapshot job runs: QEMU's reason */
        return yv_err_prefix(err, "QEMU refused %s", job_cmd[op]);
    }
    return rc;
}

/* Our job in a query-jobs answer, or NULL. */
static const json_t *job_in(const json_t *jobs, const char *job)
{
    size_t i;
    const json_t *j;
    json_array_foreach(jobs, i, j)
    {
        const char *id = json_string_value(json_object_get(j, "id"));
        if (id && !strcmp(id, job)) return j;
    }
    return NULL;
}

/* Our concluded job goes. A failed exchange is tried again, in time: the job would stay in
 * query-jobs until a later command dismissed it. */
static void job_dismiss(const char *root, const char *name, const char *job)
{
    int64_t deadline = yv_now_ms() + QMP_MS;
    for (;;) {
        yv_err e;
        int rc =
            qmp_once(root, name, "job-dismiss", json_pack("{s:s}", "id", job), NULL, deadline, &e);
        /* refused: gone already (an answer lost after QEMU dismissed it) */
        if (rc >= 0 || e.code == YV_E_VM_NOT_RUNNING || yv_now_ms() + POLL_MS > deadline) return;
        usleep(POLL_MS * 1000);
    }
}

/* One look at the job: 1 while it runs, 2 when QEMU could not be asked (the job runs on in QEMU
 * all the same: asked again), 0 concluded without error, -1 with its error (both dismissed) or
 * with QEMU gone. QEMU runs a snapshot job in its main loop, so this may wait until it ends. */
static int job_poll(const char *root, const char *name, const char *job, int64_t deadline,
                    char *status, size_t cap, yv_err *err)
{
    json_t *jobs = NULL;
    int rc = qmp_once(root, name, "query-jobs", NULL, &jobs, deadline, err);
    if (rc != 0) {
        json_decref(jobs);
        if (rc == 1) return yv_err_prefix(err, "QEMU refused query-jobs");
        return err->code == YV_E_VM_NOT_RUNNING ? -1 : 2;
    }
    const json_t *j = job_in(jobs, job);
    const char *st = json_string_value(json_object_get(j, "status"));
    snprintf(status, cap, "%s", st ? st : "");
    if (!j || !st) rc = yv_err_set(err, YV_E_FAIL, "the snapshot job of VM '%s' is gone", name);
    else if (strcmp(st, "concluded") != 0) rc = 1;
    else {
        const char *msg = json_string_value(json_object_get(j, "error"));
        if (msg) rc = yv_err_set(err, YV_E_TOOL_FAILED, "QEMU: %s", msg);
        job_dismiss(root, name, job);
    }
    json_decref(jobs);
    return rc;
}

/* Until the job ends. Giving up at a failed look would report a failure of a job that goes on
 * and succeeds: only QEMU gone, the job's own error or the deadline end the wait. */
static int job_wait(const char *root, const char *name, const char *job, int64_t deadline,
                    yv_snapshot_progress progress, void *ctx, yv_err *err)
{
    char last[32] = "", st[32];
    for (;;) {
        int rc = job_poll(root, name, job, deadline, st, sizeof st, err);
        if (rc <= 0) return rc;
        if (rc == 1 && strcmp(st, last) != 0) say(progress, ctx, "QEMU job %s", st);
        if (rc == 1) snprintf(last, sizeof last, "%s", st);
        if (yv_now_ms() + POLL_MS > deadline)
            return yv_err_set(err, YV_E_TIMEOUT,
                              "the snapshot job of VM '%s' did not end in time (it may still "
                              "finish in QEMU: look with `snapshot list`)",
                              name);
        usleep(POLL_MS * 1000);
    }
}

/* Whether the guest runs (query-status), for a revert: QEMU loads a snapshot stopped, and resumes
 * only a guest that ran when the job began. */
static bool guest_running(const char *root, const char *name)
{
    json_t *st = NULL;
    yv_err e;
    bool on = qmp_once(root, name, "query-status", NULL, &st, yv_now_ms() + QMP_MS, &e) == 0 &&
              json_is_true(json_object_get(st, "running"));
    json_decref(st);
    return on;
}

/* A failed load leaves the guest stopped (QEMU resumes it only on success): a guest that ran is
 * continued, or the error says it is paused and how to go on. */
static void resume_after(const char *root, const char *name, yv_err *err)
{
    yv_err e;
    size_t n = strlen(err->msg);
    if (guest_running(root, name)) return;
    if (qmp_once(root, name, "cont", NULL, NULL, yv_now_ms() + QMP_MS, &e) == 0) {
        snprintf(err->msg + n, sizeof err->msg - n,
                 " (QEMU had stopped the guest for the load: it was resumed)");
        return;
    }
    snprintf(err->msg + n, sizeof err->msg - n,
             " (the guest is left paused and could not be continued: QMP `cont` resumes it, or "
             "shut the VM down with --force and start it again)");
}

/* ---- the verbs ---- */

static int load_target(const char *root, const yv_config *cfg, const char *name, target *t,
                       yv_err *err)
{
    memset(t, 0, sizeof *t);
    t->dir = yv_root_vm_dir(root, name);
    if (yv_vm_load(&t->vm, root, name, err) < 0) return -1;
    t->live = yv_vmstate_live_pid(root, cfg, name) > 0;
    return collect_images(t, err);
}

/* Stopped: the images' files must be regular files reached without a symlink (qemu-img opens them
 * by path), a UEFI store in its qcow2 form (made or converted first when `ensure`), then the lists
 * (what a killed revert left settled first). A list leaves out a UEFI store not made yet. */
static int check_files(const target *t, yv_err *err)
{
    for (size_t i = 0; i < t->vm.ndrives; i++) {
        const yv_drive *d = &t->vm.drives[i];
        char *p = d->path[0] == '/' ? NULL : yv_root_join(t->dir, d->path);
        int rc = p ? yv_root_check_regular(p, err) : 0;
        free(p);
        if (rc < 0) return -1;
    }
    if (!t->vm.ovmf) return 0;
    char *vars = yv_root_join(t->dir, YV_UEFIVARS_FILE); /* a list reads it too */
    int rc = yv_root_check_regular(vars, err);
    free(vars);
    return rc;
}

static int offline_prepare(const yv_config *cfg, target *t, bool ensure, yv_snapshot_list *all,
                           yv_snapshot_result *res, yv_err *err)
{
    if (check_files(t, err) < 0) return -1;
    if (t->vm.ovmf && ensure) {
        bool made, migrated;
        if (yv_uefivars_ensure(cfg, t->dir, &made, &migrated, err) < 0) return -1;
        res->vars_made = made || migrated;
        t->vars_new = made;
    } else if (t->vm.ovmf && !yv_root_exists(t->img[t->n - 1].path)) {
        free(t->img[--t->n].path);
    }
    if (t->n == 0) return yv_err_set(err, YV_E_USAGE, "VM '%s' has no disk", t->vm.name);
    if (load_lists(cfg, t, all, err) < 0) return -1;
    return ensure ? settle(cfg, t, all, err) : 0;
}

static int refuse(const target *t, yv_snapshot_op op, const char *snap, const yv_snapshot_list *all,
                  yv_err *err)
{
    const yv_snapshot *s = yv_snapshot_find(all, snap);
    if (op == YV_SNAPSHOT_CREATE && s)
        return yv_err_set(err, YV_E_SNAPSHOT_EXISTS, "VM '%s' already has a snapshot named '%s'",
                          t->vm.name, snap);
    if (op != YV_SNAPSHOT_CREATE && !s)
        return yv_err_set(err, YV_E_SNAPSHOT_NOT_FOUND, "VM '%s' has no snapshot named '%s'",
                          t->vm.name, snap);
    if (op == YV_SNAPSHOT_REVERT && s->on < t->n)
        return yv_err_set(err, YV_E_USAGE,
                          "snapshot '%s' of VM '%s' is incomplete (on %zu of its %zu images: "
                          "disks, UEFI variables): it cannot be reverted to, only deleted",
                          snap, t->vm.name, s->on, t->n);
    /* QEMU stops the guest to load, finds no RAM in it and fails: refused before anything */
    if (op == YV_SNAPSHOT_REVERT && t->live && s->vm_state_size == 0)
        return yv_err_set(err, YV_E_USAGE,
                          "snapshot '%s' of VM '%s' is a disk-only snapshot (taken while it was "
                          "stopped): revert it with the VM stopped",
                          snap, t->vm.name);
    return 0;
}

/* A running VM whose image holds the undo snapshot of a killed revert was started before it was
 * settled (an older yave): its disks may be of two times, and settling it later would undo what
 * the guest wrote since. Nothing is done on it; the user decides. */
static bool held_undo(const target *t, yv_err *err)
{
    for (size_t i = 0; i < t->n; i++)
        if (img_has(&t->img[i], UNDO_NAME)) {
            yv_err_set(err, YV_E_FAIL,
                       "%s of VM '%s' holds the undo snapshot %s of a revert that was killed "
                       "before this QEMU started (its disks may not match): shut it down; "
                       "its next start rolls that revert back or finishes it",
                       t->img[i].label, t->vm.name, UNDO_NAME);
            return true;
        }
    return false;
}

typedef struct {
    yv_snapshot_op op;
    const char *snap;
    yv_snapshot_progress progress;
    void *ctx;
} request;

/* Under the root lock and the start mark: a stopped VM's whole operation; a running VM's refusals
 * and the start of its job (waited for by the caller, without the locks). */
static int do_locked(const char *root, const yv_config *cfg, const char *name, const request *rq,
                     target *t, yv_snapshot_list *all, yv_snapshot_result *res, yv_err *err)
{
    int rc = load_target(root, cfg, name, t, err);
    res->live = t->live;
    if (rc == 0 && t->live && t->vm.ovmf && !yv_root_exists(t->img[t->n - 1].path))
        rc = yv_err_set(err, YV_E_FAIL,
                        "VM '%s' runs with its UEFI variables in the raw form of before (%s): "
                        "shut it down once (the next start converts them), then snapshot",
                        name, YV_UEFIVARS_RAW);
    if (rc == 0 && t->live) {
        /* a live clone killed mid-copy left its jobs: their filter nodes sit over the disks (Node
         * is busy); the start mark this command holds keeps any other clone of the VM out */
        char *sock = yv_vmstate_sockfile(root, name);
        yv_qmp_end_jobs(sock, YV_QMP_JOB_CLONE, QMP_MS);
        free(sock);
    }
    if (rc == 0)
        rc = t->live ? online_lists(root, t, all, yv_now_ms() + QMP_MS, err)
                     : offline_prepare(cfg, t, true, all, res, err);
    res->images = t->n;
    if (rc < 0) return rc;
    if (t->live && held_undo(t, err)) return -1;
    if (refuse(t, rq->op, rq->snap, all, err) < 0) return -1;
    /* a base of linked clones (core/linked.h): a revert would change the disks under them */
    if (rq->op == YV_SNAPSHOT_REVERT &&
        yv_linked_check_base(root, name, "it cannot be reverted", err) < 0)
        return -1;
    if (t->live) return job_start(root, t, rq->op, rq->snap, err);
    if (rq->op == YV_SNAPSHOT_CREATE)
        return offline_create(cfg, t, rq->snap, rq->progress, rq->ctx, err);
    if (rq->op == YV_SNAPSHOT_REVERT) {
        res->ram_unused = yv_snapshot_find(all, rq->snap)->vm_state_size > 0;
        return offline_revert(cfg, t, rq->snap, rq->progress, rq->ctx, err);
    }
    return offline_delete(cfg, t, rq->snap, rq->progress, rq->ctx, err);
}

static int with_lock(const char *root, const yv_config *cfg, const char *name, const request *rq,
                     target *t, yv_snapshot_list *all, yv_snapshot_result *res, yv_err *err)
{
    memset(res, 0, sizeof *res);
    memset(t, 0, sizeof *t);
    memset(all, 0, sizeof *all);
    if (yv_valid_name(name, err) < 0) return -1;
    if (yv_snapshot_valid_name(rq->snap, err) < 0) return -1;
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    /* the start mark: refused while a `run` starts the VM (it holds the mark, not the root lock) */
    int mark = yv_vmstate_start_begin(root, name, err);
    int rc = mark < 0 ? -1 : do_locked(root, cfg, name, rq, t, all, res, err);
    if (rc < 0 && t->vars_new) { /* a failed operation leaves the VM as it was */
        char *vars = yv_root_join(t->dir, YV_UEFIVARS_FILE);
        unlink(vars);
        free(vars);
    }
    yv_vmstate_start_end(root, name, mark);
    yv_root_unlock(lock);
    return rc;
}

int yv_snapshot_settle(const char *root, const yv_config *cfg, const char *name, yv_err *err)
{
    target t;
    yv_snapshot_list all;
    yv_snapshot_result res;
    char *dir = yv_root_vm_dir(root, name), *mark = yv_root_join(dir, REVERT_MARK);
    bool pending = yv_root_exists(mark);
    free(mark);
    free(dir);
    if (!pending) return 0; /* no revert of several images was under way */
    memset(&all, 0, sizeof all);
    memset(&res, 0, sizeof res);
    int rc = load_target(root, cfg, name, &t, err);
    if (rc == 0) rc = offline_prepare(cfg, &t, false, &all, &res, err);
    if (rc < 0 && err->code == YV_E_USAGE) rc = 0; /* a raw disk, none: no revert could begin */
    else if (rc < 0)
        yv_err_prefix(
            err, "cannot check the disks of VM '%s' for a snapshot revert that was killed", name);
    else if (settle(cfg, &t, &all, err) < 0)
        rc = yv_err_prefix(err, "its disks could be of two times: `snapshot list` shows them, a "
                                "revert of the stopped VM sets them again");
    target_done(&t);
    yv_snapshot_list_done(&all);
    return rc;
}

/* Reading only: neither the start mark (a `run` may start the VM meanwhile) nor the root lock
 * across QMP. A stopped VM's images are read under the root lock (no revert or create is halfway
 * through them); nowait: never waited for (IN_USE), QMP given NOWAIT_MS. */
static int list_vm(const char *root, const yv_config *cfg, const char *name, bool nowait,
                   yv_snapshot_list *out, yv_err *err)
{
    target t;
    yv_snapshot_result res;
    memset(out, 0, sizeof *out);
    memset(&t, 0, sizeof t);
    int rc = yv_valid_name(name, err) < 0 ? -1 : load_target(root, cfg, name, &t, err);
    if (rc == 0 && t.live) {
        rc = online_lists(root, &t, out, yv_now_ms() + (nowait ? NOWAIT_MS : QMP_MS), err);
    } else if (rc == 0) {
        int lock = nowait ? yv_root_trylock(root) : yv_root_lock(root, err);
        if (lock < 0 && nowait)
            rc = yv_err_set(err, YV_E_IN_USE, "VM '%s' is busy (another command works in the root)",
                            name);
        else if (lock < 0) rc = -1;
        else {
            rc = offline_prepare(cfg, &t, false, out, &res, err);
            yv_root_unlock(lock);
        }
    }
    target_done(&t);
    if (rc < 0) yv_snapshot_list_done(out);
    return rc;
}

int yv_snapshot_list_vm(const char *root, const yv_config *cfg, const char *name,
                        yv_snapshot_list *out, yv_err *err)
{
    return list_vm(root, cfg, name, false, out, err);
}

int yv_snapshot_list_vm_nowait(const char *root, const yv_config *cfg, const char *name,
                               yv_snapshot_list *out, yv_err *err)
{
    return list_vm(root, cfg, name, true, out, err);
}

int yv_snapshot_do(const char *root, const yv_config *cfg, const char *name, yv_snapshot_op op,
                   const char *snap, int64_t timeout_ms, yv_snapshot_progress progress,
                   void *progress_ctx, yv_snapshot_result *out, yv_err *err)
{
    request rq = {op, snap, progress, progress_ctx};
    target t;
    yv_snapshot_list all;
    int64_t deadline = yv_now_ms() + (timeout_ms > 0 ? timeout_ms : YV_SNAPSHOT_TIMEOUT_MS);
    bool was_running = false;
    if (op == YV_SNAPSHOT_REVERT && yv_valid_name(name, err) == 0)
        was_running = guest_running(root, name); /* false when stopped: nothing to ask */
    int rc = with_lock(root, cfg, name, &rq, &t, &all, out, err);
    if (rc == 0 && t.live) { /* the job runs in QEMU: waited for without the root lock */
        say(progress, progress_ctx, "%s started on the running VM", job_cmd[op]);
        rc = job_wait(root, name, t.job, deadline, progress, progress_ctx, err);
        if (rc == 0 && was_running && !guest_running(root, name) &&
            qmp_once(root, name, "cont", NULL, NULL, yv_now_ms() + QMP_MS, err) != 0)
            rc = yv_err_prefix(err, "snapshot loaded, but the guest could not be continued");
    }
    if (rc < 0 && t.live) yv_err_prefix(err, "%s of VM '%s'", job_cmd[op], name);
    if (rc < 0 && t.live && op == YV_SNAPSHOT_REVERT && was_running) resume_after(root, name, err);
    target_done(&t);
    yv_snapshot_list_done(&all);
    return rc;
}
