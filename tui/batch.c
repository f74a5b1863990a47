#include <stdio.h>

#include "batch.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "cmdtab.h"
#include "core/autostart.h"
#include "core/clone.h"
#include "core/cloudinit.h"
#include "core/config.h"
#include "core/console.h"
#include "core/err.h"
#include "core/forward.h"
#include "core/lifecycle.h"
#include "core/metrics.h"
#include "core/ops.h"
#include "core/proc.h"
#include "core/remote.h"
#include "core/resize.h"
#include "core/root.h"
#include "core/screenshot.h"
#include "core/snapshot.h"
#include "core/ssh.h"
#include "core/sshkey.h"
#include "core/util.h"
#include "core/valid.h"
#include "core/vminfo.h"
#include "core/vmmove.h"
#include "core/vmnet.h"
#include "core/vmset.h"
#include "core/vmstate.h"
#include "core/vmwait.h"
#include "core/vnccheck.h"
#include "core/watch.h"

struct yv_batch {
    const yv_batch_opts *opts;
    char *root;
    yv_config cfg;
    bool cfg_loaded;
    bool tidied;      /* the whole root's tidy ran (once a process) */
    bool stdin_taken; /* by --file - or a password file '-' */
    yv_err err;
    json_t *result;   /* the JSON document of the command (with --json) */
    bool partial;     /* a failed verb's result is still its document (autostart run: who failed) */
    json_t *err_move; /* run: a held display or port, the error's "move" (the option and where) */
    json_t *err_moved; /* run: what was moved before a start that failed, the error's "moved" */
};

/* ---- shared helpers ---- */

/* The root and its config, with what dead processes left cleaned up (QEMU's runtime files, killed
 * creates' leftovers) — but not for netdev: QEMU runs it while the `run` that started QEMU holds
 * the root lock and waits for QEMU, so netdev must never take that lock (or wait for a QEMU). */
static int load_root_for(yv_batch *b, bool tidy)
{
    if (!b->cfg_loaded) {
        if (!b->root && !(b->root = yv_root_resolve(b->opts->root, &b->err))) return -1;
        if (yv_root_trust(b->root, &b->err) < 0) return -1; /* before anything in it is read */
        if (yv_config_load(&b->cfg, b->root, &b->err) < 0) return -1;
        b->cfg_loaded = true;
    }
    if (tidy && !b->tidied) {
        yv_vmstate_reconcile(b->root, &b->cfg);
        yv_ops_reap(b->root, &b->cfg);
        yv_screenshot_sweep(b->root); /* what killed screenshots left in run/ */
        yv_root_sweep_temps(b->root); /* and what killed atomic writes left */
        b->tidied = true;
    }
    return 0;
}

/* list and status: the whole root tidied (every VM's state is shown). */
static int load_root(yv_batch *b)
{
    return load_root_for(b, true);
}

/* A verb that names one VM looks at that VM only: what a killed create of that name left, and its
 * runtime files when they outlived its QEMU (other VMs' are list's and status's to tidy, so the
 * cost does not grow with the VMs of the root). *p is the proof of its QEMU the verb then uses
 * (release with yv_vmstate_proof_done). An invalid name is left for the verb to refuse. */
static int load_root_vm(yv_batch *b, const char *name, yv_vmstate_proof *p)
{
    yv_err e;
    *p = (yv_vmstate_proof){0, 0, -1};
    if (load_root_for(b, false) < 0) return -1;
    if (yv_valid_name(name, &e) < 0) return 0;
    yv_ops_reap_one(b->root, &b->cfg, name);
    yv_vmstate_tidy(b->root, &b->cfg, name, p);
    return 0;
}

static int usage_err(yv_batch *b, const char *fmt, const char *arg)
{
    return yv_err_set(&b->err, YV_E_USAGE, fmt, arg);
}

/* Reads a secret from a file's first line ('-' = stdin), without the line end. */
static char *read_secret_file(yv_batch *b, const char *path, const char *what)
{
    FILE *f;
    if (!strcmp(path, "-")) {
        if (b->stdin_taken) {
            yv_err_set(&b->err, YV_E_USAGE, "%s: standard input is already used", what);
            return NULL;
        }
        b->stdin_taken = true;
        f = stdin;
    } else if (!(f = fopen(path, "re"))) {
        yv_err_sys(&b->err, errno == ENOENT ? YV_E_USAGE : YV_E_IO, errno, "%s file %s", what,
                   path);
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    if (f != stdin) fclose(f);
    if (n < 0) {
        free(line);
        yv_err_set(&b->err, YV_E_USAGE, "%s file %s is empty", what, path);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    return line;
}

/* A password from --X-password or --X-password-file (the rows exclude giving both); NULL with err
 * clear = not given. */
static char *password_opt(yv_batch *b, const yv_cmd *c, const yv_args *a, const char *opt,
                          const char *what)
{
    char fopt[64];
    snprintf(fopt, sizeof fopt, "%s-file", opt);
    const char *direct = yv_cmdtab_get(c, a, opt), *file = yv_cmdtab_get(c, a, fopt);
    char *pw = direct ? yv_strdup(direct) : file ? read_secret_file(b, file, what) : NULL;
    if (pw && !*pw) {
        yv_free_secret(pw);
        yv_err_set(&b->err, YV_E_USAGE, "the %s is empty", what);
        return NULL;
    }
    return pw;
}

static int parse_long_opt(yv_batch *b, const char *name, const char *s, long min, long max,
                          long *out)
{
    if (!s) return 0;
    if (yv_parse_long(s, min, max, out) < 0 || s[0] == '-')
        return yv_err_set(&b->err, YV_E_USAGE,
                          "invalid --%s '%s': give a whole number from %ld "
                          "to %ld",
                          name, s, min, max);
    return 0;
}

static const char *vnc_cell(const yv_vminfo *i, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", i->valid && i->vm.vnc_display ? i->vm.vnc_display : "-",
             i->vnc ? " " : "", i->vnc ? yv_vnccheck_result_name(i->vnc) : "");
    return buf;
}

static const char *net_cell(const yv_vminfo *i, const yv_config *cfg, char *buf, size_t n)
{
    if (!i->valid || i->vm.nnets == 0) return "-";
    char tap[16], fw[160];
    if (i->vm.nets[0].type == YV_NET_USER) {
        yv_vminfo_forwards_text(&i->vm.nets[0], fw, sizeof fw);
        snprintf(buf, n, "user%s%s%s", *fw ? " " : "", fw, i->vm.nnets > 1 ? " …" : "");
        return buf;
    }
    const char *m = yv_vminfo_master(&i->vm.nets[0], cfg);
    yv_vm_tap_name(&i->vm, 0, tap);
    snprintf(buf, n, "%s -> %s%s", tap, m ? m : "(no bridge)", i->vm.nnets > 1 ? " …" : "");
    return buf;
}

/* A running VM's addresses, one line each VM: "vm1: addresses: 127.0.0.1:2201 (forward), …". */
static void print_addresses(const yv_vminfo *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!v[i].addrs.n) continue;
        printf("%s: addresses:", v[i].name);
        for (size_t k = 0; k < v[i].addrs.n; k++) {
            char a[64];
            yv_addr_format(&v[i].addrs.v[k], a, sizeof a);
            printf("%s %s (%s)", k ? "," : "", a, yv_addr_source_name(v[i].addrs.v[k].source));
        }
        printf("\n");
    }
}

/* "a: usage: resident 212M, cpu 41.2 s, disk read 1.2G written 30M, network rx 1.1M tx 20K" */
static void print_usage(const yv_vminfo *v)
{
    const yv_vminfo_usage *u = &v->usage;
    char line[256], a[16], b[16];
    int k = 0;
    if (!u->known) return;
    yv_metrics_rate_text((double)u->rss, a, sizeof a);
    k += snprintf(line + k, sizeof line - (size_t)k, "resident %s", u->rss ? a : "-");
    if (u->cpu_s >= 0) k += snprintf(line + k, sizeof line - (size_t)k, ", cpu %.1f s", u->cpu_s);
    if (u->disk_known) {
        yv_metrics_rate_text((double)u->disk_rd, a, sizeof a);
        yv_metrics_rate_text((double)u->disk_wr, b, sizeof b);
        k += snprintf(line + k, sizeof line - (size_t)k, ", disk read %s written %s", a, b);
    }
    if (u->net_known) {
        yv_metrics_rate_text((double)u->net_rx, a, sizeof a);
        yv_metrics_rate_text((double)u->net_tx, b, sizeof b);
        snprintf(line + k, sizeof line - (size_t)k, ", network rx %s tx %s", a, b);
    }
    printf("%s: usage: %s\n", v->name, line);
}

static void print_table(yv_batch *b, const yv_vminfo *v, size_t n)
{
    printf("%-24s %-13s %7s %4s %8s %-16s %s\n", "NAME", "STATE", "PID", "VCPU", "MEMORY", "VNC",
           "NETWORK");
    for (size_t i = 0; i < n; i++) {
        char mem[32] = "-", vcpu[16] = "-", vnc[32], net[200], pid[16] = "-";
        if (v[i].pid) snprintf(pid, sizeof pid, "%ld", v[i].pid);
        if (v[i].valid) {
            snprintf(mem, sizeof mem, "%ldM", v[i].vm.memory);
            snprintf(vcpu, sizeof vcpu, "%ld", v[i].vm.vcpu);
        }
        printf("%-24s %-13s %7s %4s %8s %-16s %s\n", v[i].name, yv_vminfo_state_name(v[i].state),
               pid, vcpu, mem, vnc_cell(&v[i], vnc, sizeof vnc),
               net_cell(&v[i], &b->cfg, net, sizeof net));
    }
    for (size_t i = 0; i < n; i++)
        if (v[i].valid && v[i].detail[0]) printf("%s: %s\n", v[i].name, v[i].detail);
    for (size_t i = 0; i < n; i++) {
        char pend[160];
        yv_vminfo_pending_text(&v[i], pend, sizeof pend);
        if (v[i].npending) printf("%s: pending: %s (at the next start)\n", v[i].name, pend);
    }
    print_addresses(v, n);
    for (size_t i = 0; i < n; i++) print_usage(&v[i]);
    for (size_t i = 0; i < n; i++)
        if (!v[i].valid) printf("%s: invalid: %s\n", v[i].name, v[i].problem);
}

#define PROBE_MS 1000

static void probe_all(yv_batch *b, yv_vminfo *v, size_t n)
{
    for (size_t i = 0; i < n; i++) yv_vminfo_probe(&v[i], b->root, &b->cfg, PROBE_MS);
    yv_vminfo_addresses(v, n, b->root); /* every agent at once: no agent costs its deadline once */
}

static json_t *infos_json(yv_batch *b, const yv_vminfo *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, yv_vminfo_json(&v[i], &b->cfg));
    return a;
}

/* ---- commands ---- */

static int check_net_kind(const char *v, char *why, size_t n)
{
    if (!strcmp(v, "user") || !strcmp(v, "tap") || !strcmp(v, "none")) return 0;
    snprintf(why, n, "invalid --network '%s': give user, tap or none", v);
    return -1;
}

/* A forward's grammar checked for option opt. */
static int check_fwspec(const char *opt, const char *v, char *why, size_t n)
{
    yv_fwspec f;
    yv_err e;
    if (yv_valid_forward(v, &f, &e) == 0) return 0;
    snprintf(why, n, "%s: %s", opt, e.msg);
    return -1;
}

static int check_forward(const char *v, char *why, size_t n)
{
    return check_fwspec("--forward", v, why, n);
}

/* run's hidden --port-to PROTO:FROM:TO: a forward's grammar, FROM and TO as its host and guest. */
static int check_port_to(const char *v, char *why, size_t n)
{
    return check_fwspec("--port-to", v, why, n);
}

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

static const yv_opt create_opts[] = {
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
     .check = check_net_kind},
    {.lng = "forward",
     .arg = "SPEC",
     .flags = YV_OPT_MANY,
     .excl = "no-network",
     .dflt = "an SSH forward to guest port 22 from the lowest free port from network.ssh_port_base",
     .help = "a user network's port forward [tcp|udp:][ADDRESS:]HOST:GUEST (e.g. 2201:22; "
             "address 127.0.0.1 unless given); repeatable",
     .check = check_forward},
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
    if (parse_long_opt(b, "install-timeout", yv_cmdtab_get_or_default(c, a, "install-timeout"), 1,
                       604800, &timeout) < 0)
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

static int cmd_create(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    yv_create_opts o;
    char *vnc_pw = NULL, *root_pw = NULL, *generated = NULL;
    const char *fw[YV_MAX_MANY];
    int rc = -1;
    if (create_parse(b, c, a, &o) < 0) return -1;
    o.nforwards = (size_t)yv_cmdtab_get_all(c, a, "forward", fw, YV_MAX_MANY);
    o.forwards = fw;
    vnc_pw = password_opt(b, c, a, "vnc-password", "VNC password");
    if (!vnc_pw && b->err.code) goto out;
    root_pw = password_opt(b, c, a, "root-password", "root password");
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
    int crc = load_root_vm(b, o.name, &p) < 0
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

static int cmd_list(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    (void)c;
    (void)a;
    yv_vminfo *v;
    size_t n;
    if (load_root(b) < 0) return -1;
    yv_vmstate_reconcile_firewall(b->root);
    if (yv_vminfo_list(b->root, &v, &n, &b->err) < 0) return -1;
    if (b->opts->json) {
        probe_all(b, v, n);
        b->result = infos_json(b, v, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            printf("%s\n", v[i].name);
            if (!v[i].valid)
                fprintf(stderr, "yave-tui: warning: %s is invalid: %s\n", v[i].name, v[i].problem);
        }
    }
    yv_vminfo_free_list(v, n);
    return 0;
}

/* status --wait STATE: returns once the VM is in it (then status shows it), or fails. */
static int wait_state(yv_batch *b, const yv_cmd *c, const yv_args *a, const char *name)
{
    const char *want = yv_cmdtab_get(c, a, "wait");
    long timeout = 0; /* set from the row's default when not given */
    yv_state st;
    if (!want) return 0;
    if (parse_long_opt(b, "timeout", yv_cmdtab_get_or_default(c, a, "timeout"), 0, 86400,
                       &timeout) < 0 ||
        yv_vmwait_parse_state(want, &st, &b->err) < 0)
        return -1;
    return yv_vmwait(b->root, &b->cfg, name, st, timeout * 1000, NULL, -1, &b->err);
}

/* The code of an error document's "code" (another yave's), FAIL when unknown. */
static yv_code code_named(const char *name)
{
    for (int c = YV_E_FAIL; name && c <= YV_E_SNAPSHOT_EXISTS; c++)
        if (!strcmp(name, yv_err_code_name((yv_code)c))) return (yv_code)c;
    return YV_E_FAIL;
}

/* Another machine's text on our terminal: no control characters but newlines and tabs (an escape
 * sequence could retitle the terminal, write the clipboard, …); C1 controls are UTF-8 C2 80..9F. */
static void put_clean(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        bool c1 = c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f;
        if (c1) c++;
        putchar(c1 || (*c < 0x20 && *c != '\n' && *c != '\t') || *c == 0x7f ? '?' : *c);
    }
}

/* The host's answer as ours: its document (--json) or its text; its failure with its code. */
static int remote_answer(yv_batch *b, const char *host, const char *out, int status,
                         const char *last)
{
    json_t *doc = b->opts->json ? json_loads(out, 0, NULL) : NULL;
    if (status == 0 && !b->opts->json) return put_clean(out), 0;
    if (status == 0 && doc) return b->result = doc, 0;
    json_t *e = json_object_get(doc, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    yv_code code = code_named(json_string_value(json_object_get(e, "code")));
    if (status == 0) code = YV_E_TOOL_FAILED, msg = "its answer is not JSON";
    yv_err_set(&b->err, code, "host %s: %s", host, msg ? msg : *last ? last : "failed");
    json_decref(doc);
    return -1;
}

/* status --host NAME (spec §14): the same command run by yave-tui on that host over ssh. */
static int status_remote(yv_batch *b, const char *host, const char *name)
{
    yv_hosts hs;
    char *dir = NULL, *out = NULL, last[256];
    int status = 0, rc = -1;
    if (yv_hosts_load(&hs, NULL, &b->err) < 0) return -1;
    for (int i = 0; i < b->opts->nhosts; i++) /* the global --host NAME=SSH[:ROOT] ones too */
        if (yv_hosts_add_spec(&hs, b->opts->hosts[i], &b->err) < 0) {
            yv_hosts_done(&hs);
            return -1;
        }
    const yv_host *h = yv_hosts_find(&hs, host);
    if (!h)
        yv_err_set(&b->err, YV_E_USAGE, "--host %s: no such host in hosts.yaml or a --host option",
                   host);
    else if ((dir = yv_remote_ctl_dir(&b->err))) {
        yv_remote *r = yv_remote_new(h, hs.ssh_config, dir);
        const char *words[6];
        int k = 0;
        if (b->opts->json) words[k++] = "--json";
        words[k++] = "status";
        if (name) words[k++] = "--name", words[k++] = name;
        words[k] = NULL;
        if (yv_remote_run(r, words, 30000, &out, &status, last, sizeof last, &b->err) == 0)
            rc = remote_answer(b, host, out, status, last);
        yv_remote_free(r);
    }
    free(out);
    free(dir);
    yv_hosts_done(&hs);
    return rc;
}

static int cmd_status(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *host = yv_cmdtab_get(c, a, "host");
    yv_vminfo one, *v = &one;
    size_t n = 1;
    if (host) return status_remote(b, host, name);
    if (load_root(b) < 0 || wait_state(b, c, a, name) < 0) return -1;
    yv_vmstate_reconcile_firewall(b->root);
    if (name ? yv_vminfo_load(&one, b->root, name, &b->err) < 0
             : yv_vminfo_list(b->root, &v, &n, &b->err) < 0)
        return -1;
    probe_all(b, v, n);
    if (name) yv_vminfo_usage_probe(&one, b->root, PROBE_MS); /* one VM: its usage counters too */
    if (b->opts->json) b->result = name ? yv_vminfo_json(&one, &b->cfg) : infos_json(b, v, n);
    else print_table(b, v, n);
    if (name) yv_vminfo_done(&one);
    else yv_vminfo_free_list(v, n);
    return 0;
}

static int cmd_delete(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_vmstate_proof p;
    if (load_root_vm(b, name, &p) < 0) return -1;
    int rc = yv_ops_delete_proven(b->root, &b->cfg, name, &p, yv_cmdtab_get(c, a, "force") != NULL,
                                  &b->err);
    yv_vmstate_proof_done(&p);
    if (rc < 0) return -1;
    if (b->opts->json) b->result = json_pack("{s:s}", "deleted", name);
    else printf("deleted VM '%s'\n", name);
    return 0;
}

/* --new-display / --new-ports, and what another program holds refused naming them (the --json
 * error's "move", which the TUI's question reads); what moved said on stdout, in *moved for --json.
 */
static int move_held(yv_batch *b, const char *name, bool display, bool ports,
                     const yv_vmmove *expect, yv_vmmove *m, json_t **moved)
{
    yv_vmmove prop;
    char text[512];
    if (yv_vmset_move_held_to(b->root, &b->cfg, name, display, ports, expect, m, &prop, &b->err) <
        0) {
        if (prop.display || prop.nports) b->err_move = yv_vmmove_json(&prop);
        return -1;
    }
    if (!m->display && !m->nports) return 0;
    *moved = yv_vmmove_json(m);
    yv_vmmove_text(m, text, sizeof text);
    if (!b->opts->json) printf("VM '%s': moved %s (held by another program)\n", name, text);
    return 0;
}

/* The hidden --display-to / --port-to (the TUI's question): where the move may go; false: none. */
static bool move_expect(const yv_cmd *c, const yv_args *a, yv_vmmove *x)
{
    const char *d = yv_cmdtab_get(c, a, "display-to"), *v[YV_VMMOVE_PORTS];
    int n = yv_cmdtab_get_all(c, a, "port-to", v, YV_VMMOVE_PORTS);
    yv_fwspec f;
    yv_err e;
    memset(x, 0, sizeof *x);
    x->display = d != NULL;
    x->display_to = d ? yv_valid_display_number(d) : -1;
    for (int i = 0; i < n; i++)
        if (yv_valid_forward(v[i], &f, &e) == 0)
            x->ports[x->nports++] =
                (yv_vmmove_port){.proto = (yv_proto)f.proto, .from = f.host, .to = f.guest};
    return d || n;
}

static int cmd_run(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_run_result res;
    yv_vmstate_proof p;
    if (load_root_vm(b, name, &p) < 0) return -1;
    if (yv_cmdtab_get(c, a, "dry-run")) {
        yv_vmstate_proof_done(&p);
        yv_argv argv;
        if (yv_lifecycle_argv(b->root, &b->cfg, name, &argv, &res, &b->err) < 0) return -1;
        if (b->opts->json) {
            b->result = json_array();
            for (size_t i = 0; i < argv.n; i++)
                json_array_append_new(b->result, json_string(argv.v[i]));
        } else {
            for (size_t i = 0; i < argv.n; i++) printf("%s\n", argv.v[i]);
        }
        yv_argv_free(&argv);
        return 0;
    }
    bool nd = yv_cmdtab_get(c, a, "new-display"), np = yv_cmdtab_get(c, a, "new-ports");
    json_t *moved = NULL;
    yv_vmmove m = {0};
    int rc = 0;
    yv_vmmove x;
    bool to = move_expect(c, a, &x), plain = !nd && !np && !to, stopped = p.pid <= 0;
    if (stopped && !plain) rc = move_held(b, name, nd, np, to ? &x : NULL, &m, &moved);
    if (rc == 0) rc = yv_lifecycle_run_proven(b->root, &b->cfg, name, &p, &res, &b->err);
    yv_vmstate_proof_done(&p);
    /* A plain run: its pre-flight checks the display and the ports (reading the config once, issue
     * 16); only a start that failed looks for what another program holds, to refuse naming the way
     * out (run --new-display / --new-ports, and where), as the check before the start did. */
    if (rc < 0 && plain && stopped) {
        yv_err why = b->err;
        if (move_held(b, name, false, false, NULL, &m, &moved) == 0 || !b->err_move) b->err = why;
    }
    if (rc < 0 && moved) { /* the move stays (its own operation): the error says it */
        char text[512];
        yv_vmmove_text(&m, text, sizeof text);
        yv_err_prefix(&b->err, "VM '%s': moved %s (held by another program); the start failed",
                      name, text);
        b->err_moved = moved;
        return -1;
    }
    if (rc < 0) return -1;
    if (res.warning[0]) fprintf(stderr, "yave-tui: warning: %s\n", res.warning);
    if (!b->opts->json) {
        printf("started VM '%s' (pid %d, %s)\n", name, (int)res.pid,
               res.accel == YV_ACCEL_KVM ? "kvm" : "tcg");
        return json_decref(moved), 0;
    }
    yv_vminfo info; /* JSON: the full status object, proven again */
    if (yv_vminfo_load(&info, b->root, name, &b->err) < 0) return json_decref(moved), -1;
    yv_vminfo_probe(&info, b->root, &b->cfg, PROBE_MS);
    b->result = yv_vminfo_json(&info, &b->cfg);
    if (moved) json_object_set(b->result, "moved", moved);
    json_decref(moved);
    yv_vminfo_done(&info);
    return 0;
}

static int cmd_shutdown(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_stop_step how;
    yv_vmstate_proof p;
    if (load_root_vm(b, name, &p) < 0) return -1;
    long timeout = b->cfg.shutdown_timeout;
    bool force = yv_cmdtab_get(c, a, "force") != NULL;
    int rc = parse_long_opt(b, "timeout", yv_cmdtab_get(c, a, "timeout"), 0, 86400, &timeout);
    if (rc == 0)
        rc =
            yv_lifecycle_shutdown_proven(b->root, &b->cfg, name, &p, force, timeout, &how, &b->err);
    yv_vmstate_proof_done(&p);
    if (rc != 0) return -1;
    if (b->opts->json)
        b->result = json_pack("{s:s, s:s, s:s}", "name", name, "state", "stopped", "stopped_by",
                              yv_lifecycle_step_name(how));
    else printf("VM '%s' stopped (by %s)\n", name, yv_lifecycle_step_name(how));
    return 0;
}

static int cmd_netdev(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *ifname = yv_cmdtab_get(c, a, "ifname");
    const char *dir = a->pos[0];
    /* checked before anything else touches it (it ends up in nftables' language) */
    if (yv_valid_ifname(ifname, "interface name (--ifname)", &b->err) < 0) return -1;
    if (load_root_for(b, false) < 0) return -1;
    bool up = !strcmp(dir, "up");
    if (yv_vmnet_netdev(b->root, &b->cfg, name, ifname, up, &b->err) < 0) return -1;
    if (b->opts->json)
        b->result = json_pack("{s:s, s:s, s:s}", "name", name, "ifname", ifname, "state", dir);
    else printf("%s: %s %s\n", name, ifname, up ? "attached" : "detached");
    return 0;
}

/* autostart (spec §13): on|off marks or unmarks one VM in autostart.yaml; list; run. */
static int autostart_mark(yv_batch *b, const char *name, bool on)
{
    if (!name) return usage_err(b, "autostart %s needs --name", on ? "on" : "off");
    if (load_root_for(b, false) < 0 || yv_autostart_set(b->root, name, on, &b->err) < 0) return -1;
    if (b->opts->json) b->result = json_pack("{s:s, s:b}", "vm", name, "autostart", on);
    else printf("VM '%s' %s\n", name, on ? "starts at boot (autostart on)" : "autostart off");
    return 0;
}

static json_t *names_json(const yv_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++) json_array_append_new(a, json_string(l->v[i]));
    return a;
}

static int autostart_list(yv_batch *b)
{
    yv_strlist l;
    if (load_root_for(b, false) < 0 || yv_autostart_names(b->root, &l, &b->err) < 0) return -1;
    if (b->opts->json) b->result = json_pack("{s:o}", "autostart", names_json(&l));
    else
        for (size_t i = 0; i < l.n; i++) printf("%s\n", l.v[i]);
    yv_strlist_free(&l);
    return 0;
}

/* Every marked VM that is not running starts; each one's result is told; any failure (or a name
 * without a VM) makes the exit status non-zero, after all were tried. */
static int autostart_run(yv_batch *b)
{
    yv_autostart_report r;
    if (load_root(b) < 0 || yv_autostart_run(b->root, &b->cfg, &r, &b->err) < 0) return -1;
    for (size_t i = 0; i < r.missing.n; i++) {
        char *msg = yv_asprintf("no VM named '%s' (in autostart.yaml)", r.missing.v[i]);
        yv_autostart_add(&r.failed, r.missing.v[i]);
        r.errors.v = yv_realloc(r.errors.v, (r.errors.n + 1) * sizeof *r.errors.v);
        r.errors.v[r.errors.n++] = msg;
    }
    json_t *failed = json_array();
    for (size_t i = 0; i < r.failed.n; i++)
        json_array_append_new(failed,
                              json_pack("{s:s, s:s}", "vm", r.failed.v[i], "error", r.errors.v[i]));
    if (b->opts->json)
        b->result = json_pack("{s:o, s:o, s:O}", "started", names_json(&r.started),
                              "already_running", names_json(&r.already_running), "failed", failed);
    for (size_t i = 0; !b->opts->json && i < r.started.n; i++)
        printf("started VM '%s'\n", r.started.v[i]);
    for (size_t i = 0; !b->opts->json && i < r.already_running.n; i++)
        printf("VM '%s' is already running\n", r.already_running.v[i]);
    for (size_t i = 0; i < r.failed.n; i++)
        fprintf(stderr, "yave-tui: autostart: %s: %s\n", r.failed.v[i], r.errors.v[i]);
    int rc = r.failed.n
                 ? yv_err_set(&b->err, YV_E_FAIL, "%zu of the marked VMs did not start", r.failed.n)
                 : 0;
    b->partial = true;
    json_decref(failed);
    yv_autostart_report_done(&r);
    return rc;
}

static int cmd_autostart(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *what = a->pos[0], *name = yv_cmdtab_get(c, a, "name");
    if (!strcmp(what, "run") || !strcmp(what, "list")) {
        if (name) return usage_err(b, "autostart %s takes no --name", what);
        return !strcmp(what, "run") ? autostart_run(b) : autostart_list(b);
    }
    return autostart_mark(b, name, !strcmp(what, "on"));
}

/* The console: errors as every verb's (JSON with --json); once attached, standard output carries
 * the guest's bytes and nothing else (no JSON document after them). */
static int cmd_console(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    long timeout = -1;
    yv_vmstate_proof p;
    if (parse_long_opt(b, "timeout", yv_cmdtab_get(c, a, "timeout"), 1, 86400, &timeout) < 0)
        return -1;
    if (b->stdin_taken) /* --file -: standard input holds the commands */
        return yv_err_set(&b->err, YV_E_USAGE, "console needs standard input (not with --file -)");
    if (load_root_vm(b, name, &p) < 0) return -1;
    int fd = yv_console_open(b->root, name, &p, YV_CONSOLE_CONNECT_MS, &b->err);
    yv_vmstate_proof_done(&p);
    if (fd < 0) return -1;
    int rc = yv_attach_run(fd, name, timeout, &b->err);
    close(fd);
    return rc;
}

/* ---- watch (spec §14): the stop signals only raise a flag, and are blocked except while its loop
 * waits (ppoll), so one landing at any moment ends the wait ---- */

static volatile sig_atomic_t watch_stop;

static void on_watch_stop(int sig)
{
    watch_stop = sig;
}

static const int watch_caught[] = {SIGINT, SIGTERM, SIGHUP};
#define WATCH_NCAUGHT ((int)(sizeof watch_caught / sizeof watch_caught[0]))

typedef struct {
    struct sigaction old[WATCH_NCAUGHT];
    sigset_t oldmask, waitmask;
} watch_saved;

/* A hangup the caller ignores (nohup) stays ignored; a closed pipe is an error return (EPIPE). */
static void watch_signals(watch_saved *s)
{
    struct sigaction sa = {.sa_handler = on_watch_stop};
    sigset_t block;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    signal(SIGPIPE, SIG_IGN);
    watch_stop = 0;
    for (int i = 0; i < WATCH_NCAUGHT; i++) {
        sigaction(watch_caught[i], NULL, &s->old[i]);
        if (watch_caught[i] == SIGHUP && s->old[i].sa_handler == SIG_IGN) continue;
        sigaction(watch_caught[i], &sa, NULL);
        sigaddset(&block, watch_caught[i]);
    }
    sigprocmask(SIG_BLOCK, &block, &s->oldmask);
    s->waitmask = s->oldmask;
    for (int i = 0; i < WATCH_NCAUGHT; i++) sigdelset(&s->waitmask, watch_caught[i]);
}

/* watch: every VM's state, then a line per change, until standard input ends, a signal, or the
 * reader goes away (all exit 0); a failure before the first line is reported as every verb's. */
static int cmd_watch(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *beat = yv_cmdtab_get(c, a, "heartbeat");
    long beat_s = 0; /* checked by check_heartbeat when it was read */
    if (beat && yv_parse_long(beat, 1, 3600, &beat_s) < 0)
        return usage_err(b, "--heartbeat %s", beat);
    watch_saved s;
    if (b->stdin_taken) /* --file -: standard input holds the commands */
        return yv_err_set(&b->err, YV_E_USAGE,
                          "watch ends with standard input (not with --file -)");
    if (load_root(b) < 0) return -1;
    fflush(stdout);
    watch_signals(&s);
    yv_watch_opts o = {.root = b->root,
                       .cfg = &b->cfg,
                       .in = STDIN_FILENO,
                       .out = STDOUT_FILENO,
                       .json = b->opts->json,
                       .heartbeat_ms = (int)beat_s * 1000,
                       .stop = &watch_stop,
                       .mask = &s.waitmask};
    yv_watch_run(&o);
    for (int i = 0; i < WATCH_NCAUGHT; i++) sigaction(watch_caught[i], &s.old[i], NULL);
    sigprocmask(SIG_SETMASK, &s.oldmask, NULL);
    return 0;
}

static int cmd_forward(yv_batch *b, const yv_cmd *c, const yv_args *a)
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
    rc = load_root_vm(b, name, &p);
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
static int cmd_resize(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *drive = yv_cmdtab_get(c, a, "drive");
    long mib;
    yv_resize_result r;
    if (yv_resize_parse_mib(yv_cmdtab_get(c, a, "capacity"), &mib, &b->err) < 0) return -1;
    yv_vmstate_proof p;
    int rc = load_root_vm(b, name, &p);
    yv_vmstate_proof_done(&p);
    if (rc == 0) rc = yv_resize(b->root, &b->cfg, name, drive, mib, &r, &b->err);
    if (rc < 0) return -1;
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
static int cmd_clone(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    yv_clone_opts o = {.src = yv_cmdtab_get(c, a, "name"),
                       .dst = yv_cmdtab_get(c, a, "to"),
                       .linked = yv_cmdtab_get(c, a, "linked") != NULL};
    yv_clone_result r;
    char *vnc_pw = password_opt(b, c, a, "vnc-password", "VNC password");
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
    int rc = load_root_vm(b, o.src, &p);
    if (rc == 0) rc = load_root_vm(b, o.dst, &q); /* what a killed clone to that name left */
    if (rc == 0) rc = yv_clone(b->root, &b->cfg, &o, &r, &b->err);
    yv_vmstate_proof_done(&p);
    yv_vmstate_proof_done(&q);
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sigaction(SIGHUP, &old[2], NULL);
    yv_free_secret(vnc_pw);
    if (rc < 0) return -1;
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

static const yv_opt clone_opts[] = {
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

static int cmd_snapshot(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    static const char *const done[] = {"created", "reverted", "deleted"};
    const char *what = a->pos[0], *name = yv_cmdtab_get(c, a, "name"),
               *snap = yv_cmdtab_get(c, a, "snap"), *tmo = yv_cmdtab_get(c, a, "timeout");
    bool list = !strcmp(what, "list");
    long secs = YV_SNAPSHOT_TIMEOUT_MS / 1000;
    if (list && snap) return usage_err(b, "snapshot list takes no --snap%s", "");
    if (!list && !snap) return usage_err(b, "snapshot %s needs --snap", what);
    if (tmo && yv_parse_long(tmo, 1, 24L * 3600, &secs) < 0)
        return usage_err(b, "--timeout %s: give seconds from 1 to 86400", tmo);
    yv_vmstate_proof p;
    int rc = load_root_vm(b, name, &p);
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

static const yv_opt resize_opts[] = {
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

static int cmd_set(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_vmset_opts o;
    yv_vmset_result r;
    if (set_parse(b, c, a, &o) < 0) return -1;
    char *pw = password_opt(b, c, a, "vnc-password", "VNC password");
    if (!pw && b->err.code) return -1;
    if (pw && strlen(pw) > 8)
        fprintf(stderr, "yave-tui: warning: VNC uses only the first 8 characters of the "
                        "password\n");
    o.vnc_password = pw;
    yv_vmstate_proof p;
    int rc = yv_vmset_check(&o, &b->err) < 0 ? -1 : load_root_vm(b, name, &p);
    if (rc == 0) {
        yv_vmstate_proof_done(&p);
        rc = yv_vmset(b->root, &b->cfg, name, &o, &r, &b->err);
    }
    yv_free_secret(pw);
    if (rc < 0) return -1;
    set_print(b, name, &r);
    return 0;
}

static const yv_opt set_opts[] = {
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
     .check = check_net_kind},
    {.lng = "master",
     .arg = "BRIDGE",
     .kind = YV_ARG_BRIDGE,
     .help = "bridge the VM's TAP joins (a tap network)"},
    {.lng = "forward",
     .arg = "SPEC",
     .flags = YV_OPT_MANY,
     .help = "the user network's port forwards, replacing its old ones: [tcp|udp:][ADDRESS:]"
             "HOST:GUEST; repeatable",
     .check = check_forward},
    {.lng = "ovmf", .excl = "no-ovmf", .help = "boot with UEFI (OVMF)"},
    {.lng = "no-ovmf", .help = "boot with SeaBIOS instead of UEFI"},
    {0},
};

static const yv_opt forward_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM whose user network gains or loses the forward"},
    {0},
};

static const yv_opt netdev_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM whose network the interface is"},
    {.lng = "ifname",
     .shrt = 'i',
     .arg = "IF",
     .kind = YV_ARG_IFACE,
     .flags = YV_OPT_REQUIRED,
     .help = "the TAP interface (what QEMU passes to netdevup/netdevdown)"},
    {0},
};
static const yv_opt run_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM to start"},
    {.lng = "dry-run", .help = "print QEMU's argv, one argument a line, and start nothing"},
    {.lng = "new-display",
     .excl = "dry-run",
     .help = "a VNC display another program holds: move it to the lowest free one (the VM's "
             "config changed, said on stdout) and start"},
    {.lng = "new-ports",
     .excl = "dry-run",
     .help = "forward host ports another program holds: move each to the lowest free one above it "
             "and start"},
    /* the TUI's yes: the move only to where its question said, else refused with the new "move" */
    {.lng = "display-to",
     .arg = "DISPLAY",
     .flags = YV_OPT_HIDDEN,
     .needs = "new-display",
     .help = "the display the question named",
     .check = yv_valid_display_check},
    {.lng = "port-to",
     .arg = "PROTO:FROM:TO",
     .flags = YV_OPT_HIDDEN | YV_OPT_MANY,
     .needs = "new-ports",
     .help = "a forward host port the question named, FROM moved to TO",
     .check = check_port_to},
    {0},
};
static const yv_opt shutdown_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM to stop"},
    {.lng = "force", .shrt = 'f', .help = "quit QEMU at once instead of asking the guest (ACPI)"},
    {.lng = "timeout",
     .shrt = 't',
     .arg = "S",
     .kind = YV_ARG_NUMBER,
     .dflt = "shutdown.timeout of config.yaml, 60",
     .help = "seconds the guest gets before its agent is asked, then quit, SIGTERM, SIGKILL"},
    {0},
};
static const yv_opt console_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the running VM whose serial console to attach"},
    {.lng = "timeout",
     .shrt = 't',
     .arg = "S",
     .kind = YV_ARG_NUMBER,
     .dflt = "none",
     .help = "end after S seconds, whatever the input does (scripts: pipe the input, collect "
             "what the guest prints)"},
    {0},
};
static const yv_opt list_opts[] = {{0}};
/* --heartbeat S: 1 to 3600 seconds. */
static int check_heartbeat(const char *s, char *why, size_t n)
{
    long v;
    if (yv_parse_long(s, 1, 3600, &v) == 0) return 0;
    snprintf(why, n, "--heartbeat '%s': give whole seconds from 1 to 3600", s);
    return -1;
}

static const yv_opt watch_opts[] = {
    {.lng = "heartbeat",
     .arg = "S",
     .kind = YV_ARG_NUMBER,
     .check = check_heartbeat,
     .help =
         "for a reader over a network (a remote TUI, spec §14): an alive line when nothing "
         "was written for S seconds, and the end when standard input brought nothing for 3 times S "
         "(the reader writes a newline every S): a connection that died unseen ends it"},
    {0},
};
static const yv_opt status_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .dflt = "all",
     .help = "show one VM"},
    {.lng = "wait",
     .shrt = 'w',
     .arg = "STATE",
     .kind = YV_ARG_STATE,
     .needs = "name",
     .help = "first wait until the VM is in STATE"},
    {.lng = "timeout",
     .shrt = 't',
     .arg = "S",
     .kind = YV_ARG_NUMBER,
     .needs = "wait",
     .dflt = "60",
     .help = "seconds --wait waits before it fails (exit 6)"},
    {.lng = "host",
     .arg = "HOST",
     .kind = YV_ARG_TEXT,
     .excl = "wait",
     .help = "ask yave-tui on HOST of hosts.yaml instead (over ssh, spec §14): its answer, "
             "its exit status"},
    {0},
};
static const yv_opt snapshot_opts[] = {
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
static const yv_opt autostart_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .help = "the VM to mark (on) or unmark (off)"},
    {0},
};
static const yv_opt delete_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the VM to delete (its disks are removed)"},
    {.lng = "force", .shrt = 'f', .help = "delete even when it is running"},
    {0},
};

static const yv_opt ssh_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the running VM to reach"},
    {.lng = "user", .shrt = 'u', .arg = "USER", .dflt = "root", .help = "login name in the guest"},
    {.lng = "print",
     .help = "print the ssh command line (one line, quoted for a POSIX shell) instead of running "
             "it"},
    {0},
};

/* ssh: the argv of core/ssh, printed (--print, --json) or executed in place of this process (ssh
 * then owns the terminal; its exit status is the command's). */
static int cmd_ssh(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    yv_ssh_target t;
    bool print = yv_cmdtab_get(c, a, "print") || b->opts->json;
    if (!print && b->opts->file)
        return usage_err(b, "%s: ssh replaces the batch process: use --print in a --file",
                         b->opts->file);
    if (load_root_for(b, false) < 0 ||
        yv_ssh_target_vm(b->root, &b->cfg, yv_cmdtab_get(c, a, "name"), yv_cmdtab_get(c, a, "user"),
                         &t, &b->err) < 0)
        return -1;
    char *ssh = yv_proc_which("ssh");
    char **argv = yv_ssh_argv(ssh ? ssh : "ssh", &t, a->pos, a->npos);
    int rc = 0;
    if (b->opts->json) {
        b->result = json_pack("{s:s, s:s, s:i, s:s, s:[]}", "user", t.user, "host", t.host, "port",
                              t.port, "host_key_alias", t.alias, "argv");
        for (char **p = argv; *p; p++)
            json_array_append_new(json_object_get(b->result, "argv"), json_string(*p));
    } else if (print) {
        char *line = yv_ssh_quote_argv(argv);
        printf("%s\n", line);
        free(line);
    } else if (!ssh) {
        rc =
            yv_err_set(&b->err, YV_E_TOOL_FAILED, "ssh not found on PATH (install openssh-client)");
    } else {
        fflush(NULL);
        execv(ssh, argv); /* the environment as it is: ssh needs the agent, HOME, TERM */
        rc = yv_err_sys(&b->err, YV_E_TOOL_FAILED, errno, "cannot execute %s", ssh);
    }
    yv_ssh_argv_free(argv);
    free(ssh);
    yv_ssh_target_done(&t);
    return rc;
}

static const yv_opt screenshot_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the running VM whose display to take (QMP screendump)"},
    {.lng = "file",
     .arg = "FILE",
     .kind = YV_ARG_FILE,
     .flags = YV_OPT_REQUIRED,
     .help = "where the PNG goes ('-' = standard output); written whole or not at all"},
    {0},
};

/* Where FILE goes must be a folder, and FILE no folder: said before the screenshot is taken (a
 * usage error: nothing is written). */
static int shot_check(yv_batch *b, const char *file)
{
    struct stat st;
    const char *slash = strrchr(file, '/');
    if (!*file) return usage_err(b, "%s: give a file name ('-' = standard output)", "--file");
    char *dir = !slash          ? yv_strdup(".")
                : slash == file ? yv_strdup("/")
                                : yv_strndup(file, (size_t)(slash - file));
    int e = stat(dir, &st) < 0                            ? errno
            : !S_ISDIR(st.st_mode)                        ? ENOTDIR
            : stat(file, &st) == 0 && S_ISDIR(st.st_mode) ? EISDIR
                                                          : 0;
    free(dir);
    return e ? yv_err_sys(&b->err, YV_E_USAGE, e, "cannot write %s", file) : 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The PNG written whole or not at all: FILE.tmp.XXXXXX beside it with the mode a new file gets
 * (0666 less the umask), written, synced, renamed over FILE; on any failure it goes. */
static int shot_write(yv_batch *b, const char *file, const yv_screenshot *s)
{
    char *tmp = yv_asprintf("%s.tmp.XXXXXX", file);
    int fd = mkostemp(tmp, O_CLOEXEC), rc = 0;
    if (fd < 0) {
        rc = yv_err_sys(&b->err, errno == ENOENT || errno == ENOTDIR ? YV_E_USAGE : YV_E_IO, errno,
                        "cannot write %s", file);
        free(tmp);
        return rc;
    }
    mode_t mask = umask(0); /* batch is one thread: set back at once */
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) < 0 || write_all(fd, s->png, s->len) < 0 || fsync(fd) < 0)
        rc = yv_err_sys(&b->err, YV_E_IO, errno, "cannot write %s", file);
    if (close(fd) < 0 && rc == 0) rc = yv_err_sys(&b->err, YV_E_IO, errno, "cannot write %s", file);
    if (rc == 0 && rename(tmp, file) < 0)
        rc = yv_err_sys(&b->err, errno == EISDIR ? YV_E_USAGE : YV_E_IO, errno, "cannot write %s",
                        file);
    if (rc < 0) unlink(tmp);
    free(tmp);
    return rc;
}

/* screenshot: the PNG to FILE (all or nothing) or to standard output ('-'). */
static int cmd_screenshot(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *file = yv_cmdtab_get(c, a, "file");
    bool out = !strcmp(file, "-");
    if (out && b->opts->json)
        return usage_err(b, "%s: standard output carries the PNG: not with --json", "--file -");
    yv_vmstate_proof p;
    if ((!out && shot_check(b, file) < 0) || load_root_vm(b, name, &p) < 0) return -1;
    yv_screenshot s;
    int rc = yv_screenshot_take_proven(b->root, name, &p, &s, &b->err);
    yv_vmstate_proof_done(&p);
    if (out && rc == 0 && (fflush(stdout), write_all(STDOUT_FILENO, s.png, s.len) < 0))
        rc = yv_err_sys(&b->err, YV_E_IO, errno, "cannot write the PNG to standard output");
    else if (!out && rc == 0) rc = shot_write(b, file, &s);
    if (rc == 0 && b->opts->json)
        b->result = json_pack("{s:s, s:s, s:i, s:i, s:I}", "vm", name, "file", file, "width",
                              (int)s.width, "height", (int)s.height, "bytes", (json_int_t)s.len);
    else if (rc == 0 && !out)
        printf("%s: screenshot %ux%u written to %s (%zu bytes)\n", name, s.width, s.height, file,
               s.len);
    yv_screenshot_done(&s);
    return rc;
}

static const yv_opt vnc_endpoint_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .flags = YV_OPT_REQUIRED,
     .help = "the running VM whose VNC server to tell"},
    {0},
};

/* vnc-endpoint (spec §14): where a running VM's VNC server listens on this host and, with --json
 * only, its password — what a TUI on another machine needs to show the screen through its ssh
 * connection (a UNIX socket forwarded there). Text mode never prints the password. */
static int cmd_vnc_endpoint(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_vmstate_proof p;
    yv_vm vm;
    if (load_root_vm(b, name, &p) < 0) return -1;
    bool live = p.pid > 0;
    yv_vmstate_proof_done(&p);
    if (!live) return yv_err_set(&b->err, YV_E_VM_NOT_RUNNING, "VM '%s' is not running", name);
    if (yv_vm_load(&vm, b->root, name, &b->err) < 0) return -1;
    int disp = yv_valid_display_number(vm.vnc_display);
    if (disp < 0) {
        yv_vm_done(&vm);
        return yv_err_set(&b->err, YV_E_FAIL, "VM '%s' has no VNC display", name);
    }
    const char *listen = b->cfg.vnc_listen;
    if (!strcmp(listen, "0.0.0.0")) listen = "127.0.0.1"; /* reached on its family's loopback */
    if (!strcmp(listen, "::")) listen = "::1";
    if (b->opts->json)
        b->result =
            json_pack("{s:s, s:s, s:i, s:o}", "vm", name, "host", listen, "port", 5900 + disp,
                      "password", vm.vnc_password ? json_string(vm.vnc_password) : json_null());
    else printf("%s %d password %s\n", listen, 5900 + disp, vm.vnc_password ? "set" : "none");
    yv_vm_done(&vm);
    return 0;
}

/* The verbs: name, summary, options, positionals (min, max, as shown), the run adapter. Help, the
 * usage errors, the man page and the bash completion all come from here. */
static const yv_cmd commands[] = {
    {"create", "Create a VM: an empty disk, a copy or overlay of a base image, or a preset.",
     create_opts, 0, 0, NULL, cmd_create},
    {"list", "List the VMs of the root, one name a line (--json: status objects).", list_opts, 0, 0,
     NULL, cmd_list},
    {"status", "Show the state of every VM, or of one.", status_opts, 0, 0, NULL, cmd_status},
    {"run", "Start a VM (QEMU daemonized; the VNC password is set over QMP).", run_opts, 0, 0, NULL,
     cmd_run},
    {"ssh",
     "Log in to a running VM's guest with the system's ssh (its SSH forward, else its address); "
     "words after -- go to ssh as the remote command.",
     ssh_opts, 0, 255, "[-- ARGS...]", cmd_ssh},
    {"shutdown",
     "Stop a VM: ACPI power button, then the guest agent (if one answers), quit, SIGTERM, SIGKILL; "
     "says which step ended it.",
     shutdown_opts, 0, 0, NULL, cmd_shutdown},
    {"netdev",
     "Attach a VM's TAP to its bridge with its anti-spoofing rules (up), or detach it (down); run "
     "by netdevup/netdevdown.",
     netdev_opts, 1, 1, "up|down", cmd_netdev},
    {"forward",
     "Add or remove a port forward [tcp|udp:][ADDRESS:]HOST:GUEST of a VM's user network (remove: "
     "[tcp|udp:]HOST is enough); a running VM's QEMU changes at once (after a pending set "
     "--forward, only where QEMU has or lacks that forward: else the config alone, pending).",
     forward_opts, 2, 2, "add|remove SPEC", cmd_forward},
    {"resize",
     "Grow a VM's disk drive to --capacity MiB (never shrinks): qemu-img resize when the VM is "
     "stopped, QMP block_resize when it runs.",
     resize_opts, 0, 0, NULL, cmd_resize},
    {"clone",
     "Copy a VM into a new one with its own MAC, VNC display and password, forward ports and UEFI "
     "variables (a running VM: a snapshot of its disks, taken by its QEMU; a preset VM's clone "
     "gets "
     "a new cloud-init instance).",
     clone_opts, 0, 0, NULL, cmd_clone},
    {"set",
     "Change a VM's memory, vCPUs, VNC display or password, network, forwards or firmware; it "
     "takes effect at the next start (status says what is pending while it runs).",
     set_opts, 0, 0, NULL, cmd_set},
    {"delete", "Delete a VM and its disks, and free its VNC display.", delete_opts, 0, 0, NULL,
     cmd_delete},
    {"console",
     "Attach to a running VM's serial console: a terminal in raw mode until Ctrl-]; without one, "
     "standard input to the console and the console to standard output.",
     console_opts, 0, 0, NULL, cmd_console},
    {"screenshot",
     "Take a running VM's display as a PNG (QMP screendump): to FILE, or standard output.",
     screenshot_opts, 0, 0, NULL, cmd_screenshot},
    {"snapshot",
     "Create, list, revert to or delete a snapshot of every disk of a VM and its UEFI variables: "
     "qemu-img when it is stopped, QEMU's snapshot jobs (its RAM too) when it runs.",
     snapshot_opts, 1, 1, "create|list|revert|delete", cmd_snapshot},
    {"vnc-endpoint",
     "Where a running VM's VNC server listens here, and (--json only) its password: what a TUI on "
     "another machine needs to show its screen over ssh.",
     vnc_endpoint_opts, 0, 0, NULL, cmd_vnc_endpoint},
    {"watch",
     "Print the state of every VM, then a line per change (state, addresses, VNC reachability, "
     "forwards) as it happens, until standard input closes (--json: one {\"vm\": status object} "
     "or {\"gone\": name} a line, and {\"synced\": true} after the first state of every VM).",
     watch_opts, 0, 0, NULL, cmd_watch},
    {"autostart",
     "Mark a VM to start at boot (on), unmark it (off), list the marked VMs, or start every marked "
     "VM that is not running (run: what the shipped yave-autostart.service calls).",
     autostart_opts, 1, 1, "on|off|run|list", cmd_autostart},
    {0},
};

const yv_cmd *yv_batch_commands(void)
{
    return commands;
}

/* ---- dispatch ---- */

static void report_error(yv_batch *b, const char *cmd)
{
    if (b->opts->json) {
        json_t *e = json_pack("{s:{s:s, s:s}}", "error", "code", yv_err_code_name(b->err.code),
                              "message", b->err.msg);
        if (b->err_move) json_object_set(json_object_get(e, "error"), "move", b->err_move);
        if (b->err_moved) json_object_set(json_object_get(e, "error"), "moved", b->err_moved);
        json_dumpf(e, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(e);
    }
    fprintf(stderr, "yave-tui: %s%s%s\n", cmd ? cmd : "", cmd ? ": " : "", b->err.msg);
}

static int run_one(yv_batch *b, int argc, char **argv)
{
    const yv_cmd *c = commands;
    char msg[512];
    yv_args a;
    yv_err_clear(&b->err);
    b->partial = false;
    if (argc < 1) {
        yv_err_set(&b->err, YV_E_USAGE, "no command given (try --help)");
        report_error(b, NULL);
        return 2;
    }
    while (c->name && strcmp(c->name, argv[0]) != 0) c++;
    if (!c->name) {
        yv_err_set(&b->err, YV_E_USAGE, "unknown command '%s' (try --help)", argv[0]);
        report_error(b, NULL);
        return 2;
    }
    int p = yv_cmdtab_parse(c, argc, argv, &a, msg, sizeof msg);
    if (p == 1) {
        char prefix[160] = "yave-tui --batch ";
        yv_cli_synopsis(YV_CLI_BATCH, prefix + strlen(prefix), sizeof prefix - strlen(prefix));
        yv_cmdtab_help(c, prefix, stdout);
        return 0;
    }
    if (p < 0) {
        yv_err_set(&b->err, YV_E_USAGE, "%s", msg + strlen(c->name) + 2);
    } else if (c->run(b, c, &a) == 0) {
        if (b->result) {
            json_dumpf(b->result, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        }
        json_decref(b->result);
        b->result = NULL;
        fflush(stdout);
        return 0;
    }
    if (!b->err.code) yv_err_set(&b->err, YV_E_FAIL, "failed");
    if (b->partial && b->result) { /* the document says what failed; the message goes to stderr */
        json_dumpf(b->result, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        fprintf(stderr, "yave-tui: %s: %s\n", c->name, b->err.msg);
    } else {
        report_error(b, c->name);
    }
    json_decref(b->result);
    b->result = NULL;
    json_decref(b->err_move);
    b->err_move = NULL;
    json_decref(b->err_moved);
    b->err_moved = NULL;
    fflush(stdout);
    return yv_err_exit_status(b->err.code);
}

/* getline failed with ferror set: a directory (a usage error, 2) or an I/O error (1) — said as
 * such, never taken for the end of the file. */
static int read_error(yv_batch *b, int lines_read)
{
    int e = errno;
    const char *file = strcmp(b->opts->file, "-") ? b->opts->file : "standard input";
    if (lines_read)
        yv_err_sys(&b->err, e == EISDIR ? YV_E_USAGE : YV_E_IO, e, "cannot read %s after line %d",
                   file, lines_read);
    else yv_err_sys(&b->err, e == EISDIR ? YV_E_USAGE : YV_E_IO, e, "cannot read %s", file);
    report_error(b, NULL);
    return yv_err_exit_status(b->err.code);
}

static int run_file(yv_batch *b)
{
    FILE *f = stdin;
    if (!strcmp(b->opts->file, "-")) b->stdin_taken = true;
    else if (!(f = fopen(b->opts->file, "re"))) {
        yv_err_sys(&b->err, errno == ENOENT ? YV_E_USAGE : YV_E_IO, errno, "cannot read %s",
                   b->opts->file);
        report_error(b, NULL);
        return yv_err_exit_status(b->err.code);
    }
    char *line = NULL;
    size_t cap = 0;
    int status = 0, lineno = 0;
    while (status == 0) {
        char *words[64];
        if (getline(&line, &cap, f) < 0) {
            if (ferror(f)) status = read_error(b, lineno); /* not an end of file: nothing ran */
            break;
        }
        lineno++;
        int n = yv_cmdtab_split_line(line, words, 63);
        if (n == 0) continue;
        if (n < 0) {
            yv_err_set(&b->err, YV_E_USAGE, "%s:%d: unclosed quote or too many words",
                       b->opts->file, lineno);
            report_error(b, NULL);
            status = 2;
            break;
        }
        words[n] = NULL;
        status = run_one(b, n, words);
    }
    free(line);
    if (f != stdin) fclose(f);
    return status;
}

int yv_batch_main(const yv_batch_opts *opts, int argc, char **argv)
{
    yv_batch b = {.opts = opts};
    int status;
    if (opts->file && argc > 0) {
        yv_err_set(&b.err, YV_E_USAGE, "give a COMMAND or --file, not both");
        report_error(&b, NULL);
        return 2;
    }
    status = opts->file ? run_file(&b) : run_one(&b, argc, argv);
    if (b.cfg_loaded) yv_config_done(&b.cfg);
    free(b.root);
    return status;
}
