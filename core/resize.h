/* resize: `resize` (spec §13) — grows one disk drive of a VM: offline with `qemu-img resize`, on a
 * running VM with QMP block_resize. Never shrinks. */
#ifndef YV_RESIZE_H
#define YV_RESIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

typedef struct {
    char drive[32]; /* the drive resized (hd0 when none was named) */
    uint64_t old_mib, new_mib;
    bool live; /* changed in the running QEMU (block_resize), else with qemu-img on the file */
} yv_resize_result;

/* Grows drive (NULL: the VM's first disk drive) of VM name to mib MiB, under the root lock.
 * USAGE for a capacity not above the current size, a drive the VM does not have or a cdrom;
 * VM_RUNNING while a `run` is starting the VM; TOOL_FAILED when qemu-img or QEMU refuses.
 * Nothing changes on any error. */
int yv_resize(const char *root, const yv_config *cfg, const char *name, const char *drive, long mib,
              yv_resize_result *out, yv_err *err);

/* A capacity in MiB from text: a whole number 1..(1 << 30) (USAGE otherwise). */
int yv_resize_parse_mib(const char *text, long *mib, yv_err *err);

#endif
