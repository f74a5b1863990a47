/* qga: one blocking exchange with a VM's guest agent (batch, the web API, the stop ladder):
 * connect to run/<vm>.qga, sync, one command, close — the whole bounded by deadlines. QEMU serves
 * the agent's socket to one client at a time (like QMP, spec §6), so it is never held longer than
 * that one exchange; a second client kept waiting is told "busy" (yv_vmstate_qmp_busy works for
 * any of QEMU's sockets). */
#ifndef YV_QGA_H
#define YV_QGA_H

#include <jansson.h>

#include "err.h"

/* The sync's deadline: an agent that runs answers it in milliseconds even under TCG; no agent is
 * silence, and this is what a status of a VM without one costs. */
#define YV_QGA_SYNC_MS 1000
/* A command's deadline once the agent answered the sync (guest-network-get-interfaces reads the
 * guest's interfaces: slower under TCG, still well below this). */
#define YV_QGA_CALL_MS 3000

/* Runs cmd (args stolen, may be NULL) on the agent at path. 0: *ret = its "return" value (a new
 * reference; ret may be NULL). 1: the agent answered with an error (err says it). -1: no answer:
 * VM_NOT_RUNNING (no socket), TIMEOUT ("no guest agent", or busy with another client), IO. */
int yv_qga_call(const char *path, const char *cmd, json_t *args, json_t **ret, int sync_ms,
                int call_ms, yv_err *err);

/* Asks the agent to power the guest off (guest-shutdown, which answers nothing when it works).
 * 0: the agent answered the sync and took the request; -1: no agent, or it refused (err). */
int yv_qga_shutdown(const char *path, int sync_ms, yv_err *err);

#endif
