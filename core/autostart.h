/* autostart: autostart.yaml (spec §13) — the VMs `autostart run` starts (the shipped systemd unit
 * at boot). A root-level file, not a key in <vm>.vm/config.yaml: the VM configs stay readable by
 * the original YAVE. `vms: [a, b]`; a missing file is an empty list. */
#ifndef YV_AUTOSTART_H
#define YV_AUTOSTART_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "yamlio.h"

#define YV_AUTOSTART_FILE "autostart.yaml"

/* A missing file is an empty list; a broken one is CONFIG_INVALID naming file:line:col. */
int yv_autostart_load(yv_strlist *l, const char *root, yv_err *err);
int yv_autostart_load_string(yv_strlist *l, const char *file, const char *text, yv_err *err);
int yv_autostart_to_yaml(const yv_strlist *l, char **out, size_t *len, yv_err *err);
/* Atomic write (yv_root_write_atomic). */
int yv_autostart_save(const yv_strlist *l, const char *root, yv_err *err);

bool yv_autostart_has(const yv_strlist *l, const char *name);
/* True when the list changed. */
bool yv_autostart_add(yv_strlist *l, const char *name);
bool yv_autostart_remove(yv_strlist *l, const char *name);

/* Marks (on) or unmarks a VM under the root lock. `on` needs the VM; `off` also takes a name
 * without a VM (what a hand-made list left). */
int yv_autostart_set(const char *root, const char *name, bool on, yv_err *err);
/* The marked names (sorted as in the file), for list and run; the caller frees. */
int yv_autostart_names(const char *root, yv_strlist *out, yv_err *err);

/* What `autostart run` did: each list holds names; failed[i] failed with errors[i]. */
typedef struct {
    yv_strlist started, already_running, missing, failed, errors;
} yv_autostart_report;

/* Starts every marked VM that is not running; one failure does not stop the others. -1 only when
 * the list cannot be read (then nothing was started). */
int yv_autostart_run(const char *root, const yv_config *cfg, yv_autostart_report *r, yv_err *err);
void yv_autostart_report_done(yv_autostart_report *r);

#endif
