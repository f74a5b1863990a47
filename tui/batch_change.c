/* batch: the verbs that change a VM (forward, resize, snapshot, set). */
#include "batchint.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "core/forward.h"
#include "core/resize.h"
#include "core/snapshot.h"
#include "core/util.h"
#include "core/valid.h"
#include "core/vmset.h"

int yv_batch_cmd_forward(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *spec = a->pos[1];
    bool add = !strcmp(a->pos[0], "add"), live = false, running;
    yv_forward f = {0}, done = {0};
    yv_proto proto = YV_PROTO_TCP;
    int host = 0, rc;
    /* the spec first: a bad one changes nothing and needs no root */
    if (add ? yv_forward_parse(spec, &f, &b->err) < 0
            : yv_forward_parse_key(spec, &proto, &host, &b->err) < 0)
        return -1;
    yv_vmstate_proof p;
    rc = yv_batch_load_root_vm(b, name, &p);
    running = p.pid > 0;
    yv_vmstate_proof_done(&p);
    if (rc == 0)
        rc = add ? yv_forward_add(b->root, &b->cfg, name, &f, &done, &live, &b->err)
                 : yv_forward_remove(b->root, &b->cfg, name, proto, host, &done, &live, &b->err);
    free(f.address);
    if (rc < 0) return -1;
    if (b->opts->json)
        b->result = json_pack("{s:s, s:s, s:{s:s, s:s, s:i, s:i}, s:b}", "name", name, "action",
                              add ? "added" : "removed", "forward", "proto",
                              yv_vm_proto_name(done.proto), "address", done.address, "host",
                              done.host, "guest", done.guest, "live", live);
    else
        printf("%s: forward %s %s:%d -> guest port %d %s%s\n", name, yv_vm_proto_name(done.proto),
               done.address, done.host, done.guest, add ? "added" : "removed",
               live      ? " (also in the running QEMU)"
               : running ? " (pending: the running QEMU keeps its forwards until its next start)"
                         : "");
    free(done.address);
    return 0;
}

/* resize: the spec's capacity first (a bad one needs no root), then the VM's drive grown. */
int yv_batch_cmd_resize(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *drive = yv_cmdtab_get(c, a, "drive");
    long mib;
    yv_resize_result r;
    if (yv_resize_parse_mib(yv_cmdtab_get(c, a, "capacity"), &mib, &b->err) < 0) return -1;
    yv_vmstate_proof p;
    int rc = yv_batch_load_root_vm(b, name, &p);
    yv_vmstate_proof_done(&p);
    if (rc == 0) rc = yv_resize(b->root, &b->cfg, name, drive, mib, &r, &b->err);
    if (rc != 0) return -1;
    if (b->opts->json)
        b->result =
            json_pack("{s:s, s:s, s:I, s:I, s:b}", "vm", name, "drive", r.drive, "old_mib",
                      (json_int_t)r.old_mib, "new_mib", (json_int_t)r.new_mib, "live", r.live);
    else
        printf("%s: drive %s grown from %llu MiB to %llu MiB%s\n", name, r.drive,
               (unsigned long long)r.old_mib, (unsigned long long)r.new_mib,
               r.live ? " (in the running QEMU)" : "");
    return 0;
}

/* snapshot (spec §13): create|revert|delete --snap S, list. Progress: a line per phase on standard
 * output, or with --json one {"progress": {"phase": …}} object a line on standard error. */
static void on_snapshot_progress(void *ctx, const char *line)
{
    yv_batch *b = ctx;
    if (b->opts->json) {
        json_t *j = json_pack("{s:{s:s}}", "progress", "phase", line);
        json_dumpf(j, stderr, JSON_COMPACT);
        fputc('\n', stderr);
        json_decref(j);
        fflush(stderr);
    } else {
        printf("%s\n", line);
        fflush(stdout);
    }
}

static void snapshot_table(const yv_snapshot_list *l)
{
    char row[160];
    for (size_t i = 0; i <= l->n; i++) { /* the header, then a row a snapshot */
        yv_snapshot_row_text(i ? &l->v[i - 1] : NULL, l->images, row, sizeof row);
        printf("%s\n", row);
    }
}

static int snapshot_list(yv_batch *b, const char *name)
{
    yv_snapshot_list l;
    if (yv_snapshot_list_vm(b->root, &b->cfg, name, &l, &b->err) < 0) return -1;
    if (b->opts->json) b->result = yv_snapshot_list_json(name, &l);
    else snapshot_table(&l);
    yv_snapshot_list_done(&l);
    return 0;
}

int yv_batch_cmd_snapshot(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    static const char *const done[] = {"created", "reverted", "deleted"};
    const char *what = a->pos[0], *name = yv_cmdtab_get(c, a, "name"),
               *snap = yv_cmdtab_get(c, a, "snap"), *tmo = yv_cmdtab_get(c, a, "timeout");
    bool list = !strcmp(what, "list");
    long secs = YV_SNAPSHOT_TIMEOUT_MS / 1000;
    if (list && snap) return yv_batch_usage_err(b, "snapshot list takes no --snap%s", "");
    if (!list && !snap) return yv_batch_usage_err(b, "snapshot %s needs --snap", what);
    if (tmo && yv_parse_long(tmo, 1, 24L * 3600, &secs) < 0)
        return yv_batch_usage_err(b, "--timeout %s: give seconds from 1 to 86400", tmo);
    yv_vmstate_proof p;
    int rc = yv_batch_load_root_vm(b, name, &p);
    yv_vmstate_proof_done(&p);
    if (rc < 0) return -1;
    if (list) return snapshot_list(b, name);
    yv_snapshot_op op = !strcmp(what, "create")   ? YV_SNAPSHOT_CREATE
                        : !strcmp(what, "revert") ? YV_SNAPSHOT_REVERT
                                                  : YV_SNAPSHOT_DELETE;
    yv_snapshot_result r;
    if (yv_snapshot_do(b->root, &b->cfg, name, op, snap, (int64_t)secs * 1000, on_snapshot_progress,
                       b, &r, &b->err) < 0)
        return -1;
    if (b->opts->json) {
        b->result = json_pack("{s:s, s:s, s:s, s:b, s:I}", "vm", name, "snapshot", snap, "action",
                              done[op], "live", r.live, "images", (json_int_t)r.images);
        if (r.ram_unused) json_object_set_new(b->result, "ram_unused", json_true());
    } else if (op == YV_SNAPSHOT_REVERT)
        printf("%s: reverted to snapshot %s%s\n", name, snap,
               r.live         ? " (the running VM, its RAM included)"
               : r.ram_unused ? " (its disks: the VM is stopped, the RAM state saved in the "
                                "snapshot is not used)"
                              : "");
    else
        printf("%s: snapshot %s %s%s\n", name, snap, done[op],
               r.live ? " (the running VM, its RAM included)" : "");
    return 0;
}

const yv_opt yv_batch_resize_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM whose disk grows"},
    {.lng = "capacity",
     .shrt = 'c',
     .arg = "MiB",
     .kind = YV_ARG_NUMBER,
     .flags = YV_OPT_REQUIRED,
     .help = "the new size (larger than the current one: disks are never shrunk)"},
    {.lng = "drive",
     .shrt = 'd',
     .arg = "hdN",
     .kind = YV_ARG_TEXT,
     .dflt = "the first disk drive (hd0)",
     .help = "the drive to grow (not a cdrom)"},
    {0},
};

/* set: the options read by the rules create uses (a bad value needs no root), the VNC password
 * only from a file or standard input (never on a command line), then the config changed. */
static int set_parse(yv_batch *b, const yv_cmd *c, const yv_args *a, yv_vmset_opts *o)
{
    const char *mem = yv_cmdtab_get(c, a, "memory"), *vcpu = yv_cmdtab_get(c, a, "vcpu");
    static const char *fw[YV_MAX_MANY]; /* one command at a time, also with --file */
    yv_vmset_defaults(o);
    if (mem && yv_valid_memory(mem, &o->memory, &b->err) < 0) return -1;
    if (vcpu && yv_valid_vcpu(vcpu, &o->vcpu, &b->err) < 0) return -1;
    const char *disp = yv_cmdtab_get(c, a, "display");
    static char dbuf[32];
    if (disp) { /* ":N" as in config.yaml, or N */
        snprintf(dbuf, sizeof dbuf, "%s%s", disp[0] == ':' ? "" : ":", disp);
        o->display = dbuf;
    }
    if (yv_cmdtab_get(c, a, "ovmf")) o->ovmf = 1;
    if (yv_cmdtab_get(c, a, "no-ovmf")) o->ovmf = 0;
    o->net_kind = yv_cmdtab_get(c, a, "network");
    o->master = yv_cmdtab_get(c, a, "master");
    o->nforwards = (size_t)yv_cmdtab_get_all(c, a, "forward", fw, YV_MAX_MANY);
    o->forwards = fw;
    return 0;
}

static void set_print(yv_batch *b, const char *name, const yv_vmset_result *r)
{
    char ch[160], pend[160];
    yv_join(r->changed, r->nchanged, "", ch, sizeof ch);
    yv_join(r->pending, r->npending, "", pend, sizeof pend);
    if (b->opts->json) {
        b->result = yv_vmset_result_json(name, r);
        return;
    }
    if (!r->nchanged) printf("%s: nothing changed (the config already says so)\n", name);
    else printf("%s: changed %s\n", name, ch);
    if (r->live_password) printf("%s: the running QEMU has the new VNC password\n", name);
    if (r->npending)
        printf("%s: pending: [%s] (the running QEMU has the old values until its next start)\n",
               name, pend);
}

int yv_batch_cmd_set(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_vmset_opts o;
    yv_vmset_result r;
    if (set_parse(b, c, a, &o) < 0) return -1;
    char *pw = yv_batch_password_opt(b, c, a, "vnc-password", "VNC password");
    if (!pw && b->err.code) return -1;
    if (pw && strlen(pw) > 8)
        fprintf(stderr, "yave-tui: warning: VNC uses only the first 8 characters of the "
                        "password\n");
    o.vnc_password = pw;
    yv_vmstate_proof p;
    int rc = yv_vmset_check(&o, &b->err) < 0 ? -1 : yv_batch_load_root_vm(b, name, &p);
    if (rc == 0) {
        yv_vmstate_proof_done(&p);
        rc = yv_vmset(b->root, &b->cfg, name, &o, &r, &b->err);
    }
    yv_free_secret(pw);
    if (rc != 0) return -1;
    set_print(b, name, &r);
    return 0;
}

const yv_opt yv_batch_set_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM to change (running or not: the change takes effect at its next start)"},
    {.lng = "memory", .shrt = 'm', .arg = "MiB", .kind = YV_ARG_NUMBER, .help = "memory"},
    {.lng = "vcpu", .shrt = 'v', .arg = "N", .kind = YV_ARG_NUMBER, .help = "virtual CPUs"},
    {.lng = "display",
     .arg = ":N",
     .help = "the VNC display (port 5900+N): one no other VM has and no program listens on"},
    {.lng = "vnc-password-file",
     .arg = "FILE",
     .kind = YV_ARG_FILE,
     .help = "read the new VNC password from FILE ('-' = standard input; never on the command "
             "line); a running VM takes it at once"},
    {.lng = "network",
     .arg = "KIND",
     .help = "user (NAT, no root; forwards), tap (a bridge; root) or none",
     .check = yv_batch_check_net_kind},
    {.lng = "master",
     .arg = "BRIDGE",
     .kind = YV_ARG_BRIDGE,
     .help = "bridge the VM's TAP joins (a tap network)"},
    {.lng = "forward",
     .arg = "SPEC",
     .flags = YV_OPT_MANY,
     .help = "the user network's port forwards, replacing its old ones: [tcp|udp:][ADDRESS:]"
             "HOST:GUEST; repeatable",
     .check = yv_batch_check_forward},
    {.lng = "ovmf", .excl = "no-ovmf", .help = "boot with UEFI (OVMF)"},
    {.lng = "no-ovmf", .help = "boot with SeaBIOS instead of UEFI"},
    {0},
};

const yv_opt yv_batch_forward_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM whose user network gains or loses the forward"},
    {0},
};

const yv_opt yv_batch_snapshot_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM"},
    {.lng = "snap",
     .shrt = 's',
     .arg = "S",
     .kind = YV_ARG_TEXT,
     .help = "the snapshot (create, revert, delete): A-Z a-z 0-9 . _ -, up to 64"},
    {.lng = "timeout",
     .shrt = 't',
     .arg = "S",
     .kind = YV_ARG_NUMBER,
     .dflt = "1800",
     .help = "seconds a running VM's QEMU job may take before the command fails (exit 6)"},
    {0},
};
