/* vmwait: waiting until a VM is in a given state (`status --wait`, the web API's wait route),
 * bounded by a timeout and the caller's cancel flag. The state is proven the same way status proves
 * it (vmstate), asked again every poll interval, and at once when a watched QEMU exits. */
#ifndef YV_VMWAIT_H
#define YV_VMWAIT_H

#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "err.h"
#include "vminfo.h"

/* The state called `name` as status prints it ("running", "shutting-down", …); USAGE naming the
 * states a wait can see otherwise (not `installing`: by name, a VM being created is not found). */
int yv_vmwait_parse_state(const char *name, yv_state *out, yv_err *err);
/* Those states, one a line (for the completion). */
void yv_vmwait_states(FILE *out);

/* Returns 0 as soon as VM `name` is proven in state `want` (a running VM whose QMP another client
 * holds proves only that it runs: the wait goes on). VM_NOT_FOUND when it does not exist (or is
 * deleted meanwhile); TIMEOUT after timeout_ms, saying which state it is still in; FAIL
 * ("interrupted") once *cancel is set (NULL: never), or when the peer of hangup_fd (a web client
 * that asked for the wait; -1: none) hangs up. */
int yv_vmwait(const char *root, const yv_config *cfg, const char *name, yv_state want,
              long timeout_ms, volatile sig_atomic_t *cancel, int hangup_fd, yv_err *err);

#endif
