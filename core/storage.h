/* storage: disks through qemu-img — empty, full copy of a base image, qcow2 overlay on it, resize.
 */
#ifndef YV_STORAGE_H
#define YV_STORAGE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* The format QEMU is given for a drive's file (core/qemuargv.c): qcow2 by the .qcow2 extension, raw
 * otherwise (ISO images, raw disks). Always given, never probed: a guest can write a qcow2 header
 * into a raw disk, so whatever runs qemu-img on a drive's file or reads its header uses this same
 * rule. */
const char *yv_storage_format_of(const char *path);

typedef struct {
    char format[32];
    uint64_t virtual_size; /* bytes */
} yv_storage_info;

/* `qemu-img info` of path (format and virtual size). */
int yv_storage_info_of(const yv_config *cfg, const char *path, yv_storage_info *info, yv_err *err);
/* New empty qcow2 of mib MiB. cancel (here and below): as yv_proc_run's, for every qemu-img run. */
int yv_storage_create(const yv_config *cfg, const char *path, long mib,
                      volatile sig_atomic_t *cancel, yv_err *err);
/* Full copy of base into a new qcow2; grows it to mib when mib > 0 (never shrinks). */
int yv_storage_copy(const yv_config *cfg, const char *base, const char *path, long mib,
                    volatile sig_atomic_t *cancel, yv_err *err);
/* qcow2 overlay on base (backing_ref is how the overlay names it: relative to path's folder, or
 * absolute); grows it to mib when mib > 0. */
int yv_storage_overlay(const yv_config *cfg, const char *base, const char *backing_ref,
                       const char *path, long mib, volatile sig_atomic_t *cancel, yv_err *err);

/* A copy of src (a disk, a cdrom image, a UEFI variable store) in the same format ("qcow2" or
 * "raw"): `qemu-img convert -f F -O F` (a qcow2 overlay becomes a whole disk of its own). shared:
 * with -U, a file a running QEMU holds (a cdrom image, the UEFI variables of a live clone). */
int yv_storage_clone_file(const yv_config *cfg, const char *src, const char *dst,
                          const char *format, bool shared, volatile sig_atomic_t *cancel,
                          yv_err *err);
/* The backing file a qcow2 image names in its header (as written: relative to its folder, or
 * absolute), malloc'd; NULL when none, not a qcow2 or unreadable. No qemu-img run. */
char *yv_storage_qcow2_backing(const char *path);
/* The same from the file's first n bytes (the first YV_STORAGE_QCOW2_HEAD are read: QEMU writes
 * the name right after the header, well inside them); pure. */
#define YV_STORAGE_QCOW2_HEAD 65536
char *yv_storage_qcow2_backing_in(const unsigned char *head, size_t n);

/* Virtual size from a qcow2 header without running qemu-img (0 when not a readable qcow2). */
uint64_t yv_storage_qcow2_size(const char *path);

#endif
