/* batch: the verbs that show (list, status, watch, screenshot, vnc-endpoint). */
#include "batchint.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "core/metrics.h"
#include "core/remote.h"
#include "core/screenshot.h"
#include "core/util.h"
#include "core/valid.h"
#include "core/vminfo.h"
#include "core/vmstate.h"
#include "core/vmwait.h"
#include "core/vnccheck.h"
#include "core/watch.h"

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

static void probe_all(yv_batch *b, yv_vminfo *v, size_t n)
{
    for (size_t i = 0; i < n; i++) yv_vminfo_probe(&v[i], b->root, &b->cfg, YV_BATCH_PROBE_MS);
    yv_vminfo_addresses(v, n, b->root); /* every agent at once: no agent costs its deadline once */
}

static json_t *infos_json(yv_batch *b, const yv_vminfo *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, yv_vminfo_json(&v[i], &b->cfg));
    return a;
}

int yv_batch_cmd_list(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    (void)c;
    (void)a;
    yv_vminfo *v;
    size_t n;
    if (yv_batch_load_root(b) < 0) return -1;
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
    if (yv_batch_long_opt(b, "timeout", yv_cmdtab_get_or_default(c, a, "timeout"), 0, 86400,
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

int yv_batch_cmd_status(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *host = yv_cmdtab_get(c, a, "host");
    yv_vminfo one, *v = &one;
    size_t n = 1;
    if (host) return status_remote(b, host, name);
    if (yv_batch_load_root(b) < 0 || wait_state(b, c, a, name) < 0) return -1;
    yv_vmstate_reconcile_firewall(b->root);
    if (name ? yv_vminfo_load(&one, b->root, name, &b->err) < 0
             : yv_vminfo_list(b->root, &v, &n, &b->err) < 0)
        return -1;
    probe_all(b, v, n);
    if (name)
        yv_vminfo_usage_probe(&one, b->root,
                              YV_BATCH_PROBE_MS); /* one VM: its usage counters too */
    if (b->opts->json) b->result = name ? yv_vminfo_json(&one, &b->cfg) : infos_json(b, v, n);
    else print_table(b, v, n);
    if (name) yv_vminfo_done(&one);
    else yv_vminfo_free_list(v, n);
    return 0;
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
int yv_batch_cmd_watch(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *beat = yv_cmdtab_get(c, a, "heartbeat");
    long beat_s = 0; /* checked by check_heartbeat when it was read */
    if (beat && yv_parse_long(beat, 1, 3600, &beat_s) < 0)
        return yv_batch_usage_err(b, "--heartbeat %s", beat);
    watch_saved s;
    if (b->stdin_taken) /* --file -: standard input holds the commands */
        return yv_err_set(&b->err, YV_E_USAGE,
                          "watch ends with standard input (not with --file -)");
    if (yv_batch_load_root(b) < 0) return -1;
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

const yv_opt yv_batch_list_opts[] = {{0}};
/* --heartbeat S: 1 to 3600 seconds. */
static int check_heartbeat(const char *s, char *why, size_t n)
{
    long v;
    if (yv_parse_long(s, 1, 3600, &v) == 0) return 0;
    snprintf(why, n, "--heartbeat '%s': give whole seconds from 1 to 3600", s);
    return -1;
}

const yv_opt yv_batch_watch_opts[] = {
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
const yv_opt yv_batch_status_opts[] = {
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

const yv_opt yv_batch_screenshot_opts[] = {
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
    if (!*file)
        return yv_batch_usage_err(b, "%s: give a file name ('-' = standard output)", "--file");
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
int yv_batch_cmd_screenshot(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *file = yv_cmdtab_get(c, a, "file");
    bool out = !strcmp(file, "-");
    if (out && b->opts->json)
        return yv_batch_usage_err(b, "%s: standard output carries the PNG: not with --json",
                                  "--file -");
    yv_vmstate_proof p;
    if ((!out && shot_check(b, file) < 0) || yv_batch_load_root_vm(b, name, &p) < 0) return -1;
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

const yv_opt yv_batch_vnc_endpoint_opts[] = {
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
int yv_batch_cmd_vnc_endpoint(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_vmstate_proof p;
    yv_vm vm;
    if (yv_batch_load_root_vm(b, name, &p) < 0) return -1;
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
