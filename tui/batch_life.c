/* batch: the verbs of a VM's life (run, shutdown, console, ssh, netdev, autostart). */
#include "batchint.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "attach.h"
#include "core/autostart.h"
#include "core/console.h"
#include "core/lifecycle.h"
#include "core/proc.h"
#include "core/ssh.h"
#include "core/util.h"
#include "core/valid.h"
#include "core/vminfo.h"
#include "core/vmmove.h"
#include "core/vmnet.h"
#include "core/vmset.h"

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

/* run --dry-run: QEMU's argv, a word a line (--json: an array). */
static int run_dry(yv_batch *b, const char *name)
{
    yv_run_result res;
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

int yv_batch_cmd_run(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_run_result res = {0}; /* res.held is read after a start that may not have begun */
    yv_vmstate_proof p;
    if (yv_batch_load_root_vm(b, name, &p) < 0) return -1;
    if (yv_cmdtab_get(c, a, "dry-run")) {
        yv_vmstate_proof_done(&p);
        return run_dry(b, name);
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
     * 16); only a start refused there for what another program holds looks for where it could go,
     * to refuse naming the way out (run --new-display / --new-ports, and where), as the check
     * before the start did. */
    if (rc < 0 && plain && stopped && res.held) {
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
    yv_vminfo_probe(&info, b->root, &b->cfg, YV_BATCH_PROBE_MS);
    b->result = yv_vminfo_json(&info, &b->cfg);
    if (moved) json_object_set(b->result, "moved", moved);
    json_decref(moved);
    yv_vminfo_done(&info);
    return 0;
}

int yv_batch_cmd_shutdown(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    yv_stop_step how;
    yv_vmstate_proof p;
    if (yv_batch_load_root_vm(b, name, &p) < 0) return -1;
    long timeout = b->cfg.shutdown_timeout;
    bool force = yv_cmdtab_get(c, a, "force") != NULL;
    int rc = yv_batch_long_opt(b, "timeout", yv_cmdtab_get(c, a, "timeout"), 0, 86400, &timeout);
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

int yv_batch_cmd_netdev(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name"), *ifname = yv_cmdtab_get(c, a, "ifname");
    const char *dir = a->pos[0];
    /* checked before anything else touches it (it ends up in nftables' language) */
    if (yv_valid_ifname(ifname, "interface name (--ifname)", &b->err) < 0) return -1;
    if (yv_batch_load_root_for(b, false) < 0) return -1;
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
    if (!name) return yv_batch_usage_err(b, "autostart %s needs --name", on ? "on" : "off");
    if (yv_batch_load_root_for(b, false) < 0 || yv_autostart_set(b->root, name, on, &b->err) < 0)
        return -1;
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
    if (yv_batch_load_root_for(b, false) < 0 || yv_autostart_names(b->root, &l, &b->err) < 0)
        return -1;
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
    if (yv_batch_load_root(b) < 0 || yv_autostart_run(b->root, &b->cfg, &r, &b->err) < 0) return -1;
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

int yv_batch_cmd_autostart(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *what = a->pos[0], *name = yv_cmdtab_get(c, a, "name");
    if (!strcmp(what, "run") || !strcmp(what, "list")) {
        if (name) return yv_batch_usage_err(b, "autostart %s takes no --name", what);
        return !strcmp(what, "run") ? autostart_run(b) : autostart_list(b);
    }
    return autostart_mark(b, name, !strcmp(what, "on"));
}

/* The console: errors as every verb's (JSON with --json); once attached, standard output carries
 * the guest's bytes and nothing else (no JSON document after them). */
int yv_batch_cmd_console(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    const char *name = yv_cmdtab_get(c, a, "name");
    long timeout = -1;
    yv_vmstate_proof p;
    if (yv_batch_long_opt(b, "timeout", yv_cmdtab_get(c, a, "timeout"), 1, 86400, &timeout) < 0)
        return -1;
    if (b->stdin_taken) /* --file -: standard input holds the commands */
        return yv_err_set(&b->err, YV_E_USAGE, "console needs standard input (not with --file -)");
    if (yv_batch_load_root_vm(b, name, &p) < 0) return -1;
    int fd = yv_console_open(b->root, name, &p, YV_CONSOLE_CONNECT_MS, &b->err);
    yv_vmstate_proof_done(&p);
    if (fd < 0) return -1;
    int rc = yv_attach_run(fd, name, timeout, &b->err);
    close(fd);
    return rc;
}

const yv_opt yv_batch_netdev_opts[] = {
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
const yv_opt yv_batch_run_opts[] = {
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
     .check = yv_batch_check_port_to},
    {0},
};
const yv_opt yv_batch_shutdown_opts[] = {
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
const yv_opt yv_batch_console_opts[] = {
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

const yv_opt yv_batch_autostart_opts[] = {
    {.lng = "name",
     .shrt = 'n',
     .arg = "NAME",
     .kind = YV_ARG_VM,
     .help = "the VM to mark (on) or unmark (off)"},
    {0},
};

const yv_opt yv_batch_ssh_opts[] = {
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
int yv_batch_cmd_ssh(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    yv_ssh_target t;
    bool print = yv_cmdtab_get(c, a, "print") || b->opts->json;
    if (!print && b->opts->file)
        return yv_batch_usage_err(b, "%s: ssh replaces the batch process: use --print in a --file",
                                  b->opts->file);
    if (yv_batch_load_root_for(b, false) < 0 ||
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
