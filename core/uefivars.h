/* uefivars: a UEFI VM's variable store in its folder. It is a qcow2 file, OVMF_VARS.qcow2, so the
 * internal snapshots of `snapshot` (spec §13) hold the variables with the disks (a raw pflash
 * cannot hold a snapshot); QEMU gets it as `-drive if=pflash,format=qcow2`. It is made from the
 * raw template (ovmf.vars) with `qemu-img convert` on first start; the raw OVMF_VARS.fd of a VM
 * made before is converted once, by the next start or snapshot. */
#ifndef YV_UEFIVARS_H
#define YV_UEFIVARS_H

#include <stdbool.h>

#include "config.h"
#include "err.h"

#define YV_UEFIVARS_FILE     "OVMF_VARS.qcow2"
#define YV_UEFIVARS_RAW      "OVMF_VARS.fd"        /* the form before: converted, then removed */
#define YV_UEFIVARS_TMP      "OVMF_VARS.qcow2.tmp" /* a conversion under way */
#define YV_UEFIVARS_TEMPLATE "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define YV_UEFIVARS_NODE     "node-vars" /* its QEMU block node (core/qemuargv.c) */

/* Makes sure vm_dir holds OVMF_VARS.qcow2. The caller holds the root lock and the VM is not
 * running. First settles what a killed earlier call left (the temp file is removed; a raw store
 * beside a qcow2 one, which is renamed into place only once complete and synced, is removed);
 * then: the qcow2 there → nothing; the raw one there → converted into the temp file, synced,
 * renamed into place, the raw one removed (*migrated); neither → made from the template
 * (cfg's ovmf.vars, else YV_UEFIVARS_TEMPLATE) (*made). A kill at any point leaves the raw or the
 * qcow2 store usable. On an error nothing changed. */
int yv_uefivars_ensure(const yv_config *cfg, const char *vm_dir, bool *made, bool *migrated,
                       yv_err *err);

#endif
