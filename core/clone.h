/* clone: `clone --name SRC --to DST [--linked]` (spec §13) — a VM (stopped, or running: a snapshot
 * of its disks taken by its QEMU) becomes a new VM with an identity of its own: a new MAC per
 * network, a free VNC display and a new VNC password, new host ports for every forward of its user
 * networks (guest ports kept), the UEFI variable store copied, no autostart mark and no runtime
 * file. All-or-nothing like create (core/ops.h: the .part folder, reserved under the root lock,
 * published by rename, reaped when killed). */
#ifndef YV_CLONE_H
#define YV_CLONE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>

#include "cloudinit.h"
#include "config.h"
#include "err.h"
#include "vm.h"

/* The cdrom a clone of a preset VM boots with: a NoCloud seed (label cidata) with a new
 * instance-id and the clone's name as host name, kept in its folder (drive id CLONE_SEED_ID). */
#define YV_CLONE_SEED    YV_CLOUDINIT_SEED_ISO
#define YV_CLONE_SEED_ID YV_CLOUDINIT_SEED_ID

typedef struct {
    const char *src, *dst;
    /* the clone's qcow2 disks become overlays on the source's (whose VM becomes a base: core/
     * linked.h); raw disks and cdrom images are copied either way */
    bool linked;
    const char *vnc_password;      /* NULL: a random one, given back once */
    volatile sig_atomic_t *cancel; /* set by a signal handler: abort, leaving nothing */
} yv_clone_opts;

typedef struct {
    yv_vm vm;           /* the clone's config as written */
    char *generated_pw; /* the VNC password when it was generated (yv_free_secret), else NULL */
    char *instance_id;  /* the new cloud-init instance-id (a preset source), else NULL */
} yv_clone_result;

/* VM_NOT_FOUND (src), VM_EXISTS (dst), VM_RUNNING (src is busy: being started, resized or cloned;
 * or it runs and the clone is linked), USAGE (same names; a drive in a subfolder, or a writable
 * disk outside the source's folder, which the clone would share; a preset clone
 * whose name is not a host name), TOOL_FAILED (qemu-img, genisoimage). Nothing changes on any
 * error. */
int yv_clone(const char *root, const yv_config *cfg, const yv_clone_opts *o, yv_clone_result *out,
             yv_err *err);
void yv_clone_result_done(yv_clone_result *r);

/* Ends (cancels, dismisses) the copy jobs a live clone killed mid-copy left in VM name's running
 * QEMU: they write into a removed .part folder and keep its disks busy (block_resize, a new live
 * clone). Best effort, within seconds. Only under the VM's start mark: a clone holds it
 * throughout, so no clone of the VM is under way then. */
void yv_clone_end_stale_jobs(const char *root, const char *name);

/* The answer of batch --json and the web: {vm, from, mac (the first network's, or null), display,
 * forwards: [{proto, address, host, guest}], linked, instance_id (a preset source's clone),
 * generated_vnc_password (when generated: shown once)}. */
json_t *yv_clone_json(const yv_clone_result *r, const char *src, bool linked);

#endif
