/* batch: `yave-tui --batch` — the verbs of spec §8 for scripts: what every verb shares (the root,
 * its config and proof, secrets and numbers from options), the command table and the dispatch of a
 * command or of a --file's lines. The verbs are in batch_show.c (list, status, watch, screenshot,
 * vnc-endpoint), batch_make.c (create, clone, delete), batch_life.c (run, shutdown, console, ssh,
 * netdev, autostart) and batch_change.c (forward, resize, snapshot, set). */
#include <stdio.h>

#include "batch.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "batchint.h"
#include "cli.h"
#include "core/ops.h"
#include "core/root.h"
#include "core/screenshot.h"
#include "core/util.h"
#include "core/valid.h"

/* ---- shared helpers ---- */

/* The root and its config, with what dead processes left cleaned up (QEMU's runtime files, killed
 * creates' leftovers) — but not for netdev: QEMU runs it while the `run` that started QEMU holds
 * the root lock and waits for QEMU, so netdev must never take that lock (or wait for a QEMU). */
int yv_batch_load_root_for(yv_batch *b, bool tidy)
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
int yv_batch_load_root(yv_batch *b)
{
    return yv_batch_load_root_for(b, true);
}

/* A verb that names one VM looks at that VM only: what a killed create of that name left, and its
 * runtime files when they outlived its QEMU (other VMs' are list's and status's to tidy, so the
 * cost does not grow with the VMs of the root). *p is the proof of its QEMU the verb then uses
 * (release with yv_vmstate_proof_done). An invalid name is left for the verb to refuse. */
int yv_batch_load_root_vm(yv_batch *b, const char *name, yv_vmstate_proof *p)
{
    yv_err e;
    *p = (yv_vmstate_proof){0, 0, -1};
    if (yv_batch_load_root_for(b, false) < 0) return -1;
    if (yv_valid_name(name, &e) < 0) return 0;
    yv_ops_reap_one(b->root, &b->cfg, name);
    yv_vmstate_tidy(b->root, &b->cfg, name, p);
    return 0;
}

int yv_batch_usage_err(yv_batch *b, const char *fmt, const char *arg)
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
char *yv_batch_password_opt(yv_batch *b, const yv_cmd *c, const yv_args *a, const char *opt,
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

int yv_batch_long_opt(yv_batch *b, const char *name, const char *s, long min, long max, long *out)
{
    if (!s) return 0;
    if (yv_parse_long(s, min, max, out) < 0 || s[0] == '-')
        return yv_err_set(&b->err, YV_E_USAGE,
                          "invalid --%s '%s': give a whole number from %ld "
                          "to %ld",
                          name, s, min, max);
    return 0;
}

/* ---- option checks more than one verb uses ---- */

int yv_batch_check_net_kind(const char *v, char *why, size_t n)
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

int yv_batch_check_forward(const char *v, char *why, size_t n)
{
    return check_fwspec("--forward", v, why, n);
}

/* run's hidden --port-to PROTO:FROM:TO: a forward's grammar, FROM and TO as its host and guest. */
int yv_batch_check_port_to(const char *v, char *why, size_t n)
{
    return check_fwspec("--port-to", v, why, n);
}

/* ---- the command table ---- */

/* The verbs: name, summary, options, positionals (min, max, as shown), the run adapter. Help, the
 * usage errors, the man page and the bash completion all come from here. */
static const yv_cmd commands[] = {
    {"create", "Create a VM: an empty disk, a copy or overlay of a base image, or a preset.",
     yv_batch_create_opts, 0, 0, NULL, yv_batch_cmd_create},
    {"list", "List the VMs of the root, one name a line (--json: status objects).",
     yv_batch_list_opts, 0, 0, NULL, yv_batch_cmd_list},
    {"status", "Show the state of every VM, or of one.", yv_batch_status_opts, 0, 0, NULL,
     yv_batch_cmd_status},
    {"run", "Start a VM (QEMU daemonized; the VNC password is set over QMP).", yv_batch_run_opts, 0,
     0, NULL, yv_batch_cmd_run},
    {"ssh",
     "Log in to a running VM's guest with the system's ssh (its SSH forward, else its address); "
     "words after -- go to ssh as the remote command.",
     yv_batch_ssh_opts, 0, 255, "[-- ARGS...]", yv_batch_cmd_ssh},
    {"shutdown",
     "Stop a VM: ACPI power button, then the guest agent (if one answers), quit, SIGTERM, SIGKILL; "
     "says which step ended it.",
     yv_batch_shutdown_opts, 0, 0, NULL, yv_batch_cmd_shutdown},
    {"netdev",
     "Attach a VM's TAP to its bridge with its anti-spoofing rules (up), or detach it (down); run "
     "by netdevup/netdevdown.",
     yv_batch_netdev_opts, 1, 1, "up|down", yv_batch_cmd_netdev},
    {"forward",
     "Add or remove a port forward [tcp|udp:][ADDRESS:]HOST:GUEST of a VM's user network (remove: "
     "[tcp|udp:]HOST is enough); a running VM's QEMU changes at once (after a pending set "
     "--forward, only where QEMU has or lacks that forward: else the config alone, pending).",
     yv_batch_forward_opts, 2, 2, "add|remove SPEC", yv_batch_cmd_forward},
    {"resize",
     "Grow a VM's disk drive to --capacity MiB (never shrinks): qemu-img resize when the VM is "
     "stopped, QMP block_resize when it runs.",
     yv_batch_resize_opts, 0, 0, NULL, yv_batch_cmd_resize},
    {"clone",
     "Copy a VM into a new one with its own MAC, VNC display and password, forward ports and UEFI "
     "variables (a running VM: a snapshot of its disks, taken by its QEMU; a preset VM's clone "
     "gets "
     "a new cloud-init instance).",
     yv_batch_clone_opts, 0, 0, NULL, yv_batch_cmd_clone},
    {"set",
     "Change a VM's memory, vCPUs, VNC display or password, network, forwards or firmware; it "
     "takes effect at the next start (status says what is pending while it runs).",
     yv_batch_set_opts, 0, 0, NULL, yv_batch_cmd_set},
    {"delete", "Delete a VM and its disks, and free its VNC display.", yv_batch_delete_opts, 0, 0,
     NULL, yv_batch_cmd_delete},
    {"console",
     "Attach to a running VM's serial console: a terminal in raw mode until Ctrl-]; without one, "
     "standard input to the console and the console to standard output.",
     yv_batch_console_opts, 0, 0, NULL, yv_batch_cmd_console},
    {"screenshot",
     "Take a running VM's display as a PNG (QMP screendump): to FILE, or standard output.",
     yv_batch_screenshot_opts, 0, 0, NULL, yv_batch_cmd_screenshot},
    {"snapshot",
     "Create, list, revert to or delete a snapshot of every disk of a VM and its UEFI variables: "
     "qemu-img when it is stopped, QEMU's snapshot jobs (its RAM too) when it runs.",
     yv_batch_snapshot_opts, 1, 1, "create|list|revert|delete", yv_batch_cmd_snapshot},
    {"vnc-endpoint",
     "Where a running VM's VNC server listens here, and (--json only) its password: what a TUI on "
     "another machine needs to show its screen over ssh.",
     yv_batch_vnc_endpoint_opts, 0, 0, NULL, yv_batch_cmd_vnc_endpoint},
    {"watch",
     "Print the state of every VM, then a line per change (state, addresses, VNC reachability, "
     "forwards) as it happens, until standard input closes (--json: one {\"vm\": status object} "
     "or {\"gone\": name} a line, and {\"synced\": true} after the first state of every VM).",
     yv_batch_watch_opts, 0, 0, NULL, yv_batch_cmd_watch},
    {"autostart",
     "Mark a VM to start at boot (on), unmark it (off), list the marked VMs, or start every marked "
     "VM that is not running (run: what the shipped yave-autostart.service calls).",
     yv_batch_autostart_opts, 1, 1, "on|off|run|list", yv_batch_cmd_autostart},
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
