/* lifecycle: starting and stopping a VM's QEMU — pre-flight checks, the launch, the VNC password
 * over QMP, and the shutdown ladder (ACPI → quit → SIGTERM → SIGKILL). */
#ifndef YV_LIFECYCLE_H
#define YV_LIFECYCLE_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"
#include "qemuargv.h"
#include "qmp.h"
#include "vm.h"
#include "vmstate.h"

typedef struct {
    pid_t pid;
    yv_accel accel;    /* what was used */
    char warning[256]; /* e.g. "KVM is not usable here (…); using TCG" */
    bool held;         /* refused by the pre-flight: the display or a port is another's */
} yv_run_result;

/* The accelerator for qemu.accel: KVM only when /dev/kvm opens read-write AND the CPU has vmx or
 * svm (a /dev/kvm of kvm_pvm cannot run ordinary guests). `auto` falls back to TCG with a warning;
 * `kvm` without KVM is PERMISSION. */
int yv_lifecycle_pick_accel(const yv_config *cfg, yv_accel *out, char *warning, size_t wn,
                            yv_err *err);

/* Absolute path of netdevup/netdevdown: next to the binary (source tree, also build/asan/…), or
 * <prefix>/libexec/yave when installed (malloc'd; NULL when none is found: never a bare name,
 * which QEMU would run from the caller's working folder). */
char *yv_lifecycle_script(const char *name);

/* The argv `run` would execute (for --dry-run and for run itself). */
int yv_lifecycle_argv(const char *root, const yv_config *cfg, const char *name, yv_argv *out,
                      yv_run_result *res, yv_err *err);

/* Starts the VM. VM_RUNNING when it already runs; all-or-nothing: when QEMU refuses or the VNC
 * password cannot be set, no QEMU is left and the error carries QEMU's last words. QEMU starts
 * with -S: the guest runs (QMP `cont`, over the connection that set the password) once its VNC
 * password is set. */
int yv_lifecycle_run(const char *root, const yv_config *cfg, const char *name, yv_run_result *res,
                     yv_err *err);
/* The same with the caller's proof of the VM (yv_vmstate_tidy): not proven again before the launch
 * (the launch proves it again under the root lock, where a concurrent run is excluded). */
int yv_lifecycle_run_proven(const char *root, const yv_config *cfg, const char *name,
                            const yv_vmstate_proof *p, yv_run_result *res, yv_err *err);

/* Starts an already loaded VM whose folder is vm_dir (the first boot of a preset runs from the
 * folder under construction, with the seed as an extra drive); paused: QEMU's -S, the guest starts
 * at QMP `cont`. */
int yv_lifecycle_start(const char *root, const yv_config *cfg, const yv_vm *vm, const char *vm_dir,
                       bool paused, yv_run_result *res, yv_err *err);

/* The steps in ladder order, except YV_STOP_AGENT (after ACPI, before quit), which came later and
 * is last so that the ms[4] arrays of the ladder's callers keep their meaning: the agent's step
 * waits as long as the ACPI step (at least YV_LIFECYCLE_AGENT_MIN_MS). */
typedef enum {
    YV_STOP_ACPI,
    YV_STOP_QUIT,
    YV_STOP_SIGTERM,
    YV_STOP_SIGKILL,
    YV_STOP_AGENT
} yv_stop_step;
/* A guest whose agent took guest-shutdown is shutting down (systemd stops its services: seconds,
 * many more under TCG). The wait after it is the graceful timeout again, at least this: a user's
 * tiny --timeout was what ACPI got, and cutting the agent's shutdown short would end in the very
 * quit it avoids. A guest without an agent costs one QMP query-chardev: QEMU says whether the
 * guest holds the agent's port open, and a closed port is not asked at all. */
#define YV_LIFECYCLE_AGENT_MIN_MS 30000
/* The agent's sync in the ladder: twice status's (YV_QGA_SYNC_MS). Here a slow answer (a loaded
 * host, TCG) would not just hide an address but end the guest with quit instead of a clean
 * shutdown, and the second is spent only after the guest already ignored ACPI for the timeout. */
#define YV_LIFECYCLE_AGENT_SYNC_MS 2000
const char *yv_lifecycle_step_name(yv_stop_step s);

/* A QEMU to stop: its VM, its pid, the pidfd opened after the pid was proven (-1 without pidfds:
 * then the pid is proven again before each signal), and the VM's QMP connection when the caller
 * holds it (NULL: each request makes a short one of its own). */
typedef struct {
    const char *root;
    const yv_config *cfg;
    const char *name;
    pid_t pid;
    int pidfd;
    yv_qmp *qmp;
} yv_lifecycle_qemu;

/* The stop ladder from step `from` on: ACPI power-down, the guest agent's guest-shutdown (when an
 * agent answers its sync), QMP quit, SIGTERM, SIGKILL, each followed by up to ms[step] for QEMU to
 * exit (the agent's: see YV_STOP_AGENT; a request that never reached QEMU or the agent is not
 * waited for). True once it is gone; *how is the step that ended it. Its runtime files are the
 * caller's business. */
bool yv_lifecycle_stop(const yv_lifecycle_qemu *q, yv_stop_step from, const int64_t ms[4],
                       yv_stop_step *how);

/* Stops the VM: graceful (ACPI, wait timeout_s; then the guest agent) unless force, then quit,
 * SIGTERM, SIGKILL. Returns
 * once the process is gone and its runtime files are removed; *how says which step ended it. */
int yv_lifecycle_shutdown(const char *root, const yv_config *cfg, const char *name, bool force,
                          long timeout_s, yv_stop_step *how, yv_err *err);
/* The same with the caller's proof of the VM (its pid and pidfd are used, not proven again). */
int yv_lifecycle_shutdown_proven(const char *root, const yv_config *cfg, const char *name,
                                 const yv_vmstate_proof *p, bool force, long timeout_s,
                                 yv_stop_step *how, yv_err *err);

#endif
