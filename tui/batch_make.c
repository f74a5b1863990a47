/* batch: the verbs that make and unmake VMs (create, clone, delete). */
#include "batchint.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "core/clone.h"
#include "core/cloudinit.h"
#include "core/ops.h"
#include "core/util.h"
#include "core/valid.h"
#include "core/vminfo.h"

static int check_user(const char *v, char *why, size_t n)
{
    yv_err e;
    if (yv_cloudinit_check_user(v, &e) == 0) return 0;
    snprintf(why, n, "--user: %s", e.msg);
    return -1;
}

/* --package NAME[,NAME…]: each name checked as it is read. */
static int check_package(const char *v, char *why, size_t n)
{
    char buf[YV_CLOUDINIT_MAX_PACKAGES * (YV_CLOUDINIT_MAX_PKG + 1)], *save = NULL;
    yv_err e;
    if (strlen(v) >= sizeof buf || !*v || v[strlen(v) - 1] == ',' || v[0] == ',' ||
        strstr(v, ",,")) {
        snprintf(why, n, "--package: invalid list '%.64s': names separated by ','", v);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", v);
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
        if (yv_cloudinit_check_package(w, &e) < 0) {
            snprintf(why, n, "--package: %s", e.msg);
            return -1;
        }
    return 0;
}

const yv_opt yv_batch_create_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .flags = YV_OPT_REQUIRED,
     .help = "name of the new VM (letters, digits, '.', '_', '-'; at most 48)"},
    {.lng = "image",
     .shrt = 'i',
     .arg = "BASE",
     .kind = YV_ARG_IMAGE,
     .excl = "preset",
     .help = "copy the base image BASE.qcow2 of the root (or a path)"},
    {.lng = "preset",
     .shrt = 'p',
     .arg = "NAME",
     .kind = YV_ARG_PRESET,
     .help = "create from the preset NAME(.preset) (cloud image + cloud-init)"},
    {.lng = "capacity",
     .shrt = 'c',
     .arg = "MiB",
     .kind = YV_ARG_NUMBER,
     .dflt = "15360 for an empty disk, the base's size for a copy",
     .help = "disk size"},
    {.lng = "memory",
     .shrt = 'm',
     .arg = "MiB",
     .kind = YV_ARG_NUMBER,
     .dflt = "1024",
     .help = "memory"},
    {.lng = "vcpu",
     .shrt = 'v',
     .arg = "N",
     .kind = YV_ARG_NUMBER,
     .dflt = "1",
     .help = "virtual CPUs"},
    {.lng = "hostname",
     .shrt = 'H',
     .arg = "NAME",
     .needs = "preset",
     .dflt = "the VM name",
     .help = "guest host name (presets)"},
    {.lng = "root-password",
     .shrt = 'r',
     .arg = "PW",
     .needs = "preset",
     .excl = "root-password-file",
     .help = "guest root password (presets; visible to other users: prefer the file)"},
    {.lng = "root-password-file",
     .arg = "FILE",
     .kind = YV_ARG_FILE,
     .needs = "preset",
     .help = "read the root password from FILE ('-' = standard input)"},
    {.lng = "vnc-password",
     .shrt = 'V',
     .arg = "PW",
     .excl = "vnc-password-file",
     .dflt = "random, printed once",
     .help = "VNC password (8 characters count)"},
    {.lng = "vnc-password-file",
     .arg = "FILE",
     .kind = YV_ARG_FILE,
     .help = "read the VNC password from FILE ('-' = standard input)"},
    {.lng = "master",
     .arg = "BRIDGE",
     .kind = YV_ARG_BRIDGE,
     .dflt = "network.master of config.yaml",
     .help = "bridge the VM's TAP joins (a tap network)"},
    {.lng = "network",
     .arg = "KIND",
     .excl = "no-network",
     .dflt = "tap when --master or network.master names a bridge, else user",
     .help = "user (NAT, no root; forwards), tap (a bridge; root) or none",
     .check = yv_batch_check_net_kind},
    {.lng = "forward",
     .arg = "SPEC",
     .flags = YV_OPT_MANY,
     .excl = "no-network",
     .dflt = "an SSH forward to guest port 22 from the lowest free port from network.ssh_port_base",
     .help = "a user network's port forward [tcp|udp:][ADDRESS:]HOST:GUEST (e.g. 2201:22; "
             "address 127.0.0.1 unless given); repeatable",
     .check = yv_batch_check_forward},
    {.lng = "linked", .help = "make the disk a qcow2 overlay on the base instead of a copy"},
    {.lng = "no-ovmf", .help = "boot with SeaBIOS instead of UEFI"},
    {.lng = "no-network", .help = "no network interface (the same as --network none)"},
    {.lng = "install-timeout",
     .arg = "S",
     .kind = YV_ARG_NUMBER,
     .needs = "preset",
     .dflt = "900",
     .help = "presets: how long the first boot may take"},
    {.lng = "ssh-key",
     .arg = "FILE",
     .kind = YV_ARG_FILE,
     .flags = YV_OPT_MANY,
     .needs = "preset",
     .help = "presets: SSH public keys for root's authorized_keys (one or more "
             "'TYPE BASE64 [comment]' lines; repeatable)"},
    {.lng = "user",
     .arg = "NAME",
     .needs = "preset",
     .help = "presets: a sudo user (no password asked) with the --ssh-key keys and the root "
             "password, instead of the image's default user",
     .check = check_user},
    {.lng = "package",
     .arg = "PKG",
     .flags = YV_OPT_MANY,
     .needs = "preset",
     .help = "presets: packages to install on first boot (Debian package names, several "
             "separated by ','; the guest needs its package mirror); repeatable",
     .check = check_package},
    {0},
};

/* Set by SIGINT/SIGTERM/SIGHUP while any create runs (a long copy too): the core stops its tool
 * and removes what it made, and the create fails with "interrupted". */
static volatile sig_atomic_t create_cancel;

static void on_cancel(int sig)
{
    (void)sig;
    create_cancel = 1;
}

/* Catches sig for a create, keeping what it was in *old. A hangup the caller ignores (nohup) stays
 * ignored: the create is meant to outlive the terminal. */
static void catch_cancel(int sig, struct sigaction *old)
{
    struct sigaction sa = {.sa_handler = on_cancel};
    sigemptyset(&sa.sa_mask);
    sigaction(sig, NULL, old);
    if (sig == SIGHUP && old->sa_handler == SIG_IGN) return;
    sigaction(sig, &sa, NULL);
}

typedef struct {
    bool json, tty;
    char last_phase[32];
    double last_line_at;
} progress_state;

/* Progress of a preset install on stderr: a line per phase and every 10 s (in place on a
 * terminal), or one JSON object a line with --json, for front ends. */
static void on_progress(void *ctx, const yv_install_progress *p)
{
    progress_state *ps = ctx;
    bool new_phase = strcmp(ps->last_phase, p->phase) != 0;
    snprintf(ps->last_phase, sizeof ps->last_phase, "%s", p->phase);
    if (ps->json) {
        json_t *j =
            json_pack("{s:{s:s, s:f, s:s}}", "progress", "phase", p->phase, "elapsed",
                      (double)(long)(p->elapsed_s * 10) / 10, "serial", p->serial ? p->serial : "");
        /* the elapsed time is rounded to 0.1 s: print it so (not 18.800000000000001) */
        json_dumpf(j, stderr, JSON_COMPACT | JSON_REAL_PRECISION(10));
        fputc('\n', stderr);
        json_decref(j);
    } else if (ps->tty) {
        fprintf(stderr, "\r\033[Kyave-tui: create: %s %.0fs%s%.60s", p->phase, p->elapsed_s,
                p->serial && *p->serial ? ": " : "", p->serial ? p->serial : "");
        if (!strcmp(p->phase, "cleanup")) fputc('\n', stderr);
    } else if (new_phase || p->elapsed_s - ps->last_line_at >= 10) {
        fprintf(stderr, "yave-tui: create: %s %.0fs%s%s\n", p->phase, p->elapsed_s,
                p->serial && *p->serial ? ": " : "", p->serial ? p->serial : "");
        ps->last_line_at = p->elapsed_s;
    }
    fflush(stderr);
}

/* --ssh-key FILE…: the paths (the core reads and checks them before anything is written). */
static void create_ssh_keys(const yv_cmd *c, const yv_args *a, yv_create_opts *o)
{
    static const char *keys[YV_MAX_MANY]; /* one command at a time, also with --file */
    o->ssh_keys = keys;
    o->nssh_keys = (size_t)yv_cmdtab_get_all(c, a, "ssh-key", keys, YV_MAX_MANY);
}

/* --user and --package P[,P…] (each value checked by its row): the names, split at ','. */
static int create_user_packages(yv_batch *b, const yv_cmd *c, const yv_args *a, yv_create_opts *o)
{
    static char buf[YV_MAX_MANY][YV_CLOUDINIT_MAX_PACKAGES * (YV_CLOUDINIT_MAX_PKG + 1)];
    static const char *names[YV_CLOUDINIT_MAX_PACKAGES]; /* one command at a time */
    const char *vals[YV_MAX_MANY];
    int nv = yv_cmdtab_get_all(c, a, "package", vals, YV_MAX_MANY);
    size_t n = 0;
    o->user = yv_cmdtab_get(c, a, "user");
    for (int i = 0; i < nv; i++) {
        char *save = NULL;
        snprintf(buf[i], sizeof buf[i], "%s", vals[i]);
        for (char *w = strtok_r(buf[i], ",", &save); w; w = strtok_r(NULL, ",", &save)) {
            if (n == YV_CLOUDINIT_MAX_PACKAGES)
                return yv_err_set(&b->err, YV_E_USAGE, "too many packages: at most %d",
                                  YV_CLOUDINIT_MAX_PACKAGES);
            names[n++] = w;
        }
    }
    o->packages = names;
    o->npackages = n;
    return 0;
}

static int create_parse(yv_batch *b, const yv_cmd *c, const yv_args *a, yv_create_opts *o)
{
    const char *cap = yv_cmdtab_get(c, a, "capacity"), *mem = yv_cmdtab_get(c, a, "memory");
    long timeout = 0; /* set: the row has a default */
    yv_ops_create_defaults(o);
    o->name = yv_cmdtab_get(c, a, "name");
    if (yv_valid_name(o->name, &b->err) < 0) return -1;
    o->image = yv_cmdtab_get(c, a, "image");
    o->preset = yv_cmdtab_get(c, a, "preset");
    if (cap && yv_valid_mib(cap, "capacity", &o->capacity, &b->err) < 0) return -1;
    const char *vcpu = yv_cmdtab_get(c, a, "vcpu");
    if (mem && yv_valid_memory(mem, &o->memory, &b->err) < 0) return -1;
    if (vcpu && yv_valid_vcpu(vcpu, &o->vcpu, &b->err) < 0) return -1;
    if (yv_batch_long_opt(b, "install-timeout", yv_cmdtab_get_or_default(c, a, "install-timeout"),
                          1, 604800, &timeout) < 0)
        return -1;
    o->install_timeout = timeout;
    o->hostname = yv_cmdtab_get(c, a, "hostname");
    o->master = yv_cmdtab_get(c, a, "master");
    o->linked = yv_cmdtab_get(c, a, "linked") != NULL;
    o->ovmf = !yv_cmdtab_get(c, a, "no-ovmf");
    o->net_kind = yv_cmdtab_get(c, a, "no-network") ? "none" : yv_cmdtab_get(c, a, "network");
    return create_user_packages(b, c, a, o);
}

/* A new VM's forwards, one a line: where to reach its guest. */
static void print_forwards(const yv_vminfo *info)
{
    for (size_t i = 0; info->valid && i < info->vm.nnets; i++)
        for (size_t j = 0; j < info->vm.nets[i].nforwards; j++) {
            const yv_forward *f = &info->vm.nets[i].forwards[j];
            printf("forward: %s %s:%d -> guest port %d\n", yv_vm_proto_name(f->proto), f->address,
                   f->host, f->guest);
        }
}

int yv_batch_cmd_create(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    yv_create_opts o;
    char *vnc_pw = NULL, *root_pw = NULL, *generated = NULL;
    const char *fw[YV_MAX_MANY];
    int rc = -1;
    if (create_parse(b, c, a, &o) < 0) return -1;
    o.nforwards = (size_t)yv_cmdtab_get_all(c, a, "forward", fw, YV_MAX_MANY);
    o.forwards = fw;
    vnc_pw = yv_batch_password_opt(b, c, a, "vnc-password", "VNC password");
    if (!vnc_pw && b->err.code) goto out;
    root_pw = yv_batch_password_opt(b, c, a, "root-password", "root password");
    if (!root_pw && b->err.code) goto out;
    if (vnc_pw && strlen(vnc_pw) > 8)
        fprintf(stderr, "yave-tui: warning: VNC uses only the first 8 characters of the "
                        "password\n");
    o.vnc_password = vnc_pw;
    o.root_password = root_pw;
    create_ssh_keys(c, a, &o);
    progress_state ps = {.json = b->opts->json, .tty = isatty(STDERR_FILENO)};
    struct sigaction old[3];
    if (o.preset) {
        o.progress = on_progress;
        o.progress_ctx = &ps;
    }
    create_cancel = 0;
    o.cancel = &create_cancel;
    catch_cancel(SIGINT, &old[0]);
    catch_cancel(SIGTERM, &old[1]);
    catch_cancel(SIGHUP, &old[2]);
    yv_vmstate_proof p;
    int crc = yv_batch_load_root_vm(b, o.name, &p) < 0
                  ? -1
                  : yv_ops_create(b->root, &b->cfg, &o, &generated, &b->err);
    yv_vmstate_proof_done(&p);
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sigaction(SIGHUP, &old[2], NULL);
    if (crc < 0) goto out;
    yv_vminfo info;
    if (yv_vminfo_load(&info, b->root, o.name, &b->err) < 0) goto out;
    if (b->opts->json) {
        b->result = yv_vminfo_json(&info, &b->cfg);
        if (generated)
            json_object_set_new(b->result, "generated_vnc_password", json_string(generated));
    } else {
        printf("created VM '%s' (VNC display %s)\n", o.name,
               info.valid && info.vm.vnc_display ? info.vm.vnc_display : "-");
        if (generated) printf("VNC password (generated, shown only now): %s\n", generated);
        print_forwards(&info);
    }
    yv_vminfo_done(&info);
    rc = 0;
out:
    yv_free_secret(vnc_pw);
    yv_free_secret(root_pw);
    yv_free_secret(generated);
    return rc;
}

int yv_batch_cmd_delete(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_vmstate_proof p;
    if (yv_batch_load_root_vm(b, name, &p) < 0) return -1;
    int rc = yv_ops_delete_proven(b->root, &b->cfg, name, &p, yv_cmdtab_get(c, a, "force") != NULL,
                                  &b->err);
    yv_vmstate_proof_done(&p);
    if (rc < 0) return -1;
    if (b->opts->json) b->result = json_pack("{s:s}", "deleted", name);
    else printf("deleted VM '%s'\n", name);
    return 0;
}

static void clone_print(const char *src, const yv_clone_opts *o, const yv_clone_result *r)
{
    const yv_vm *vm = &r->vm;
    printf("cloned VM '%s' to '%s' (VNC display %s%s)\n", src, vm->name,
           vm->vnc_display ? vm->vnc_display : "-",
           o->linked ? ", linked: its disks are overlays" : "");
    for (size_t i = 0; i < vm->nnets; i++) {
        printf("mac: %s %s\n", vm->nets[i].id, vm->nets[i].mac);
        for (size_t j = 0; j < vm->nets[i].nforwards; j++) {
            const yv_forward *f = &vm->nets[i].forwards[j];
            printf("forward: %s %s:%d -> guest port %d\n", yv_vm_proto_name(f->proto), f->address,
                   f->host, f->guest);
        }
    }
    if (r->instance_id) printf("cloud-init: new instance-id %s\n", r->instance_id);
    if (r->generated_pw) printf("VNC password (generated, shown only now): %s\n", r->generated_pw);
}

/* clone (spec §13): like create, interruptible (Ctrl-C removes what it made). */
int yv_batch_cmd_clone(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    yv_clone_opts o = {.src = yv_cmdtab_get(c, a, "name"),
                       .dst = yv_cmdtab_get(c, a, "to"),
                       .linked = yv_cmdtab_get(c, a, "linked") != NULL};
    yv_clone_result r;
    char *vnc_pw = yv_batch_password_opt(b, c, a, "vnc-password", "VNC password");
    if (!vnc_pw && b->err.code) return -1;
    if (vnc_pw && strlen(vnc_pw) > 8)
        fprintf(stderr, "yave-tui: warning: VNC uses only the first 8 characters of the "
                        "password\n");
    o.vnc_password = vnc_pw;
    struct sigaction old[3];
    create_cancel = 0;
    o.cancel = &create_cancel;
    catch_cancel(SIGINT, &old[0]);
    catch_cancel(SIGTERM, &old[1]);
    catch_cancel(SIGHUP, &old[2]);
    yv_vmstate_proof p = {0, 0, -1}, q = {0, 0, -1};
    int rc = yv_batch_load_root_vm(b, o.src, &p);
    if (rc == 0)
        rc = yv_batch_load_root_vm(b, o.dst, &q); /* what a killed clone to that name left */
    if (rc == 0) rc = yv_clone(b->root, &b->cfg, &o, &r, &b->err);
    yv_vmstate_proof_done(&p);
    yv_vmstate_proof_done(&q);
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sigaction(SIGHUP, &old[2], NULL);
    yv_free_secret(vnc_pw);
    if (rc != 0) return -1;
    if (b->opts->json) b->result = yv_clone_json(&r, o.src, o.linked);
    else clone_print(o.src, &o, &r);
    if (o.linked)
        fprintf(stderr,
                "yave-tui: warning: '%s' is now the base of a linked clone: it cannot be "
                "started or deleted while '%s' exists\n",
                o.src, o.dst);
    yv_clone_result_done(&r);
    return 0;
}

const yv_opt yv_batch_clone_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM to clone (stopped; running: a snapshot of its disks)"},
    {.lng = "to", .shrt = 't', .arg = "NEW", .flags = YV_OPT_REQUIRED, .help = "the new VM's name"},
    {.lng = "linked",
     .help = "qcow2 overlays on the stopped source's disks instead of copies (the source then "
             "cannot run or be deleted while the clone exists)"},
    {.lng = "vnc-password",
     .shrt = 'V',
     .arg = "PW",
     .excl = "vnc-password-file",
     .dflt = "random, printed once",
     .help = "the clone's VNC password (8 characters count)"},
    {.lng = "vnc-password-file",
     .arg = "FILE",
     .kind = YV_ARG_FILE,
     .help = "read the VNC password from FILE ('-' = standard input)"},
    {0},
};

const yv_opt yv_batch_delete_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM to delete (its disks are removed)"},
    {.lng = "force", .shrt = 'f', .help = "delete even when it is running"},
    {0},
};
