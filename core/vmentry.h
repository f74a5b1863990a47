/* vmentry: one VM of this machine's root as the monitor's registry keeps it — its row
 * (yv_monitor_vm), its config read lazily (at first sight only the name is known: a list of a
 * thousand paints before their configs are read) and again whenever its file changes, its folder
 * watched before, and whether it runs, with what its QEMU tells while it does (core/vmlive.c). */
#ifndef YV_VMENTRY_H
#define YV_VMENTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "rootwatch.h"
#include "vmlive.h"
#include "vmrow.h"

/* What every entry needs of its registry (one per monitor, outliving its entries). */
typedef struct {
    yv_vmlive_env live;  /* the root, its config, the monitor's options */
    yv_rootwatch *watch; /* a VM's folder is watched before its config is read */
} yv_vmentry_env;

typedef struct {
    yv_monitor_vm pub;
    const yv_vmentry_env *env;
    struct stat cfg_st;
    bool seen;      /* by the rescan in progress */
    bool loaded;    /* its config read (when shown or asked for, or in the background) */
    bool creating;  /* another process is building it (create, a preset's first boot) */
    yv_vmlive live; /* its QEMU, while it runs: its process and conversations */
} yv_vmentry;

yv_vmentry *yv_vmentry_new(const yv_vmentry_env *env, const char *name);
void yv_vmentry_free(yv_vmentry *e);
/* Reads its config if it was not yet (a VM being created has none yet). */
void yv_vmentry_load(yv_vmentry *e);
/* A rescan's look: `installing` while being created, its config read again if its file changed,
 * whether it runs (yv_vmlive_check: scan). */
void yv_vmentry_refresh(yv_vmentry *e, yv_vmlive_scan *scan, int64_t now);

#endif
