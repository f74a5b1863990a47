/* batch's own header: what batch.c and its verbs (batch_show.c, batch_make.c, batch_life.c,
 * batch_change.c) share. Not for the rest of the TUI: batch.h is. */
#ifndef YV_BATCHINT_H
#define YV_BATCHINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cmdtab.h"
#include "core/config.h"
#include "core/err.h"
#include "core/vmstate.h"

struct yv_batch {
    const struct yv_batch_opts *opts; /* batch.h */
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

#define YV_BATCH_PROBE_MS 1000 /* how long a status probe waits for a VM's QMP and VNC */

/* ---- what every verb shares (batch.c) ---- */

/* The root and its config; tidy: with what dead processes left cleaned up (not for netdev). */
int yv_batch_load_root_for(yv_batch *b, bool tidy);
/* list and status: the whole root tidied. */
int yv_batch_load_root(yv_batch *b);
/* A verb that names one VM: the root, that VM tidied, *p the proof of its QEMU (release with
 * yv_vmstate_proof_done). */
int yv_batch_load_root_vm(yv_batch *b, const char *name, yv_vmstate_proof *p);
int yv_batch_usage_err(yv_batch *b, const char *fmt, const char *arg);
/* A password from --OPT or --OPT-file; NULL with err clear = not given. */
char *yv_batch_password_opt(yv_batch *b, const yv_cmd *c, const yv_args *a, const char *opt,
                            const char *what);
/* s (when given) as a whole number from min to max into *out; a usage error naming --name. */
int yv_batch_long_opt(yv_batch *b, const char *name, const char *s, long min, long max, long *out);
/* Option checks more than one verb's table uses. */
int yv_batch_check_net_kind(const char *v, char *why, size_t n);
int yv_batch_check_forward(const char *v, char *why, size_t n);
int yv_batch_check_port_to(const char *v, char *why, size_t n);

/* ---- the verbs: each one's option table and adapter, for the command table ---- */

/* batch_show.c */
extern const yv_opt yv_batch_list_opts[], yv_batch_status_opts[], yv_batch_watch_opts[],
    yv_batch_screenshot_opts[], yv_batch_vnc_endpoint_opts[];
int yv_batch_cmd_list(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_status(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_watch(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_screenshot(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_vnc_endpoint(yv_batch *b, const yv_cmd *c, const yv_args *a);

/* batch_make.c */
extern const yv_opt yv_batch_create_opts[], yv_batch_clone_opts[], yv_batch_delete_opts[];
int yv_batch_cmd_create(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_clone(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_delete(yv_batch *b, const yv_cmd *c, const yv_args *a);

/* batch_life.c */
extern const yv_opt yv_batch_run_opts[], yv_batch_shutdown_opts[], yv_batch_console_opts[],
    yv_batch_ssh_opts[], yv_batch_netdev_opts[], yv_batch_autostart_opts[];
int yv_batch_cmd_run(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_shutdown(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_console(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_ssh(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_netdev(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_autostart(yv_batch *b, const yv_cmd *c, const yv_args *a);

/* batch_change.c */
extern const yv_opt yv_batch_forward_opts[], yv_batch_resize_opts[], yv_batch_snapshot_opts[],
    yv_batch_set_opts[];
int yv_batch_cmd_forward(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_resize(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_snapshot(yv_batch *b, const yv_cmd *c, const yv_args *a);
int yv_batch_cmd_set(yv_batch *b, const yv_cmd *c, const yv_args *a);

#endif
