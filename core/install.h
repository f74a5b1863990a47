/* install: the first boot of a VM made from a preset — QEMU runs once with the NoCloud seed
 * attached and we wait, bounded, until the guest powers itself off (cloud-init's power_state),
 * reporting progress (phase, elapsed time, the guest's last console line). */
#ifndef YV_INSTALL_H
#define YV_INSTALL_H

#include <signal.h>

#include "config.h"
#include "err.h"
#include "vm.h"

typedef struct {
    const char *phase;  /* "convert", "seed", "first boot", "cleanup" */
    double elapsed_s;   /* since create began */
    const char *serial; /* last line of the guest's serial console ("" when none) */
} yv_install_progress;

typedef void (*yv_install_cb)(void *ctx, const yv_install_progress *p);

/* Boots the VM whose config is in vm_dir (the folder under construction) with iso as an extra IDE
 * cdrom; waits for the guest to power off. TIMEOUT after timeout_s; FAIL when *cancel becomes true
 * (a signal) or QEMU ends without the guest powering off. QEMU is never left running. */
int yv_install_first_boot(const char *root, const yv_config *cfg, const char *name,
                          const char *vm_dir, const char *iso, long timeout_s, int64_t t0_ms,
                          yv_install_cb cb, void *cb_ctx, volatile sig_atomic_t *cancel,
                          yv_err *err);

/* The last non-empty line of a log, printable characters only (for progress). */
void yv_install_last_line(const char *path, char *out, size_t n);

#endif
