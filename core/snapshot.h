/* snapshot: `snapshot create|list|revert|delete` (spec §13) — internal qcow2 snapshots of every
 * disk of a VM together with its UEFI variable store (core/uefivars.c), one name on all of them.
 * Stopped VM: `qemu-img snapshot` on each file, under the root lock and the VM's start mark (no
 * `run` races it). Running VM: the QMP jobs snapshot-save / snapshot-load / snapshot-delete, which
 * include the guest's RAM and devices (the `vmstate`, kept in the first disk). */
#ifndef YV_SNAPSHOT_H
#define YV_SNAPSHOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"

#define YV_SNAPSHOT_NAME_MAX 64
/* How long an online job may take unless the caller says (RAM is written to the disk: under TCG
 * with a few GiB of RAM this takes minutes). */
#define YV_SNAPSHOT_TIMEOUT_MS (30 * 60 * 1000)

typedef struct {
    char name[YV_SNAPSHOT_NAME_MAX + 1];
    int64_t date;           /* seconds since the epoch (its first image's date-sec) */
    uint64_t vm_state_size; /* bytes of RAM and device state (0: the disks only, taken stopped) */
    size_t on;              /* how many of the VM's images hold it */
    size_t last_image;      /* (merge bookkeeping: the image that counted it last, +1) */
} yv_snapshot;

typedef struct {
    yv_snapshot *v;
    size_t n;
    size_t images; /* how many images the VM has: a snapshot with on < images is incomplete */
} yv_snapshot_list;

/* A snapshot name: 1..64 of [A-Za-z0-9._-], starting with a letter or digit, not all digits
 * (QEMU also finds a snapshot by its numeric ID: "2" could mean another one). USAGE otherwise. */
int yv_snapshot_valid_name(const char *name, yv_err *err);

/* Merges the "snapshots" array of image number `image` (0-based; QEMU's SnapshotInfo objects:
 * `qemu-img info --output=json`, QMP query-block) into l. Entries that are not objects, lack a
 * name or carry a name yave could not target (yv_snapshot_valid_name) are skipped; a name twice in
 * one image counts once. Pure. */
void yv_snapshot_merge(yv_snapshot_list *l, const json_t *snapshots, size_t image);
/* The same from the text of a `qemu-img info --output=json` document (untrusted shape: -1 with
 * TOOL_FAILED when it is not a JSON object). */
int yv_snapshot_parse_info(yv_snapshot_list *l, const char *text, size_t len, size_t image,
                           yv_err *err);
/* The entry named name, or NULL. */
const yv_snapshot *yv_snapshot_find(const yv_snapshot_list *l, const char *name);
void yv_snapshot_list_done(yv_snapshot_list *l);
/* One entry as `snapshot list --json` and the web API show it: {"name", "date" (UTC, ISO 8601),
 * "size" (bytes of RAM and device state), "vm_state" (taken running, RAM included), "complete"
 * (on every image of the VM)}. */
json_t *yv_snapshot_json(const yv_snapshot *s, size_t images);
/* {"vm": name, "snapshots": [those entries]}. */
json_t *yv_snapshot_list_json(const char *name, const yv_snapshot_list *l);
/* One entry as `snapshot list` and the TUI's snapshots screen show it, in columns: name, local
 * date, whether RAM is in it, its size in MiB ("-" without RAM), "incomplete" when not on every
 * image. s NULL: the header of those columns. Pure. */
void yv_snapshot_row_text(const yv_snapshot *s, size_t images, char *buf, size_t n);

/* A running VM's snapshot job is named yave-snapshot-<pid>-<ns>: each invocation's own, so two
 * commands on one VM never take each other's job (or its result). */
#define YV_SNAPSHOT_JOB_ID_MAX 64
void yv_snapshot_job_id(char out[YV_SNAPSHOT_JOB_ID_MAX]);
/* In a QMP query-jobs answer: the id of a yave snapshot job that has not concluded (another
 * command's, running: the caller refuses), or NULL; the ids of concluded ones whose command is
 * gone (alive(pid) false: killed before it dismissed them) are appended to dismiss. Pure. */
const char *yv_snapshot_jobs_scan(const json_t *jobs, bool (*alive)(pid_t), json_t *dismiss);

typedef enum { YV_SNAPSHOT_CREATE, YV_SNAPSHOT_REVERT, YV_SNAPSHOT_DELETE } yv_snapshot_op;

/* Progress of an operation: a line per phase ("hd0: created", "saving 40%"). */
typedef void (*yv_snapshot_progress)(void *ctx, const char *line);

typedef struct {
    bool live;       /* done by QEMU on the running VM (RAM included), else with qemu-img */
    size_t images;   /* the images it covered (disks and the UEFI variable store) */
    bool vars_made;  /* a UEFI VM's variable store was made or converted to qcow2 first */
    bool ram_unused; /* a stopped VM reverted to a snapshot taken running: its disks went back,
                        the RAM state saved in it is not used (the VM boots afresh) */
} yv_snapshot_result;

/* The snapshots of VM name (complete and incomplete, in the order of its first disk). Reading:
 * never the VM's start mark, nor the root lock while QEMU is asked (a stopped VM's files are read
 * under it). */
int yv_snapshot_list_vm(const char *root, const yv_config *cfg, const char *name,
                        yv_snapshot_list *out, yv_err *err);
/* The same for a loop that must not block (the TUI): IN_USE at once when another command holds the
 * root lock; a running QEMU is given half a second (a busy one: TIMEOUT). */
int yv_snapshot_list_vm_nowait(const char *root, const yv_config *cfg, const char *name,
                               yv_snapshot_list *out, yv_err *err);

/* Under the root lock, the VM stopped (run, before its QEMU starts): what a revert killed halfway
 * left (its hidden undo snapshot on the images) is finished or rolled back, exactly as the next
 * snapshot command would, so the guest never boots on disks of two different times. Looks at the
 * images only when the revert's mark (.yave-reverting in the VM folder) is there. 0 when there
 * was nothing to settle (or the VM cannot hold snapshots); -1 when it could not be settled. */
int yv_snapshot_settle(const char *root, const yv_config *cfg, const char *name, yv_err *err);

/* Creates, reverts to or deletes snapshot snap of VM name. Refusals before anything changes:
 * VM_NOT_FOUND, USAGE (a bad name, a raw disk: it cannot hold internal snapshots), SNAPSHOT_EXISTS
 * (create), SNAPSHOT_NOT_FOUND, USAGE for a revert to an incomplete snapshot or, running, to a
 * disk-only one (taken stopped: no RAM to load), VM_RUNNING while a `run` starts it, IN_USE while
 * another command's snapshot job runs on it, FAIL when a running VM's image holds the undo
 * snapshot of a revert killed before it started. Stopped: create is undone on every image when one
 * fails (one name on all or on none); a revert that fails halfway goes back to where it was (a
 * temporary snapshot). Running: one QMP job, waited for at most timeout_ms (TIMEOUT: the job may
 * still finish in QEMU); a failed revert of a guest that ran leaves it running (QEMU stops it to
 * load), or says it is paused. */
int yv_snapshot_do(const char *root, const yv_config *cfg, const char *name, yv_snapshot_op op,
                   const char *snap, int64_t timeout_ms, yv_snapshot_progress progress,
                   void *progress_ctx, yv_snapshot_result *out, yv_err *err);

#endif
