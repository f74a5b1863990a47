/* vmstate: what state a VM is in, proven — pidfile + its lock + /proc/PID/exe + QMP — never
 * inferred from files alone. Stale runtime files are cleaned and the VM remembered as crashed until
 * its next run. */
#ifndef YV_VMSTATE_H
#define YV_VMSTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"
#include "vm.h"

/* The states of spec §6. */
typedef enum {
    YV_STATE_STOPPED,
    YV_STATE_STARTING,
    YV_STATE_INSTALLING,
    YV_STATE_RUNNING,
    YV_STATE_PAUSED,
    YV_STATE_SHUTTING_DOWN,
    YV_STATE_ERROR,
    YV_STATE_CRASHED,
    YV_STATE_UNRESPONSIVE,
    YV_STATE_INVALID,
} yv_state;

typedef struct {
    yv_state state;
    pid_t pid;        /* the live QEMU, else 0 */
    char detail[256]; /* why: "internal-error", "QMP busy: another client is connected", … */
    bool qmp_busy;    /* running by its process, but QMP could not say more (another client) */
    bool agent_open;  /* the guest holds its agent port open (QMP query-chardev: qga0's
                         frontend-open), so an agent listens; false: asking it would only wait */
} yv_vmstate;

/* Whether the guest holds the agent's virtio port open (an agent runs), from one QMP reply of
 * query-chardev (untrusted shape: anything else is false). */
bool yv_vmstate_agent_open_in(const json_t *chardevs);

/* Runtime paths of a VM (malloc'd): run/<vm>.pid, run/<vm>.sock, run/<vm>.events, run/<vm>.crashed.
 * run/<vm>.events is a second QMP socket, reserved for a TUI that keeps it open to receive events
 * (QEMU serves one client per socket: run/<vm>.sock stays free for short exchanges). Its suffix
 * is not .sock, so no VM's socket can be another VM's event socket (names may hold dots). */
char *yv_vmstate_pidfile(const char *root, const char *name);
char *yv_vmstate_sockfile(const char *root, const char *name);
char *yv_vmstate_eventsfile(const char *root, const char *name);
/* The serial console's and the guest agent's sockets (spec §11), served by QEMU. */
char *yv_vmstate_consolefile(const char *root, const char *name);
char *yv_vmstate_qgafile(const char *root, const char *name);
char *yv_vmstate_crashfile(const char *root, const char *name);
/* run/<vm>.starting: marks a start in progress (yv_vmstate_start_begin). */
char *yv_vmstate_startfile(const char *root, const char *name);

/* run/<vm>.started (0600: it holds the VNC password): the config the running QEMU was started
 * with, as `run` read it (written under the root lock right before the launch, removed with QEMU's
 * runtime files), so status can say which changes are pending (spec §13). Set or forward add|remove
 * update it when they change the running QEMU too. load: 0, or -1 when there is none (a VM started
 * by an older yave) or it does not parse. */
char *yv_vmstate_startedfile(const char *root, const char *name);
int yv_vmstate_save_started(const char *root, const yv_vm *vm, yv_err *err);
/* The same from the config's text as read (what vm was parsed from): no YAML emitted. */
int yv_vmstate_save_started_text(const char *root, const char *name, const char *text, size_t len,
                                 yv_err *err);
int yv_vmstate_load_started(const char *root, const char *name, yv_vm *vm);
/* The record changed by change(record, ctx) and written again, for a verb that changed the running
 * QEMU too (set's VNC password, forward add|remove): else status would call that change pending.
 * -1 when there is no record (nothing to change) or it cannot be written (then it shows pending).
 */
int yv_vmstate_update_started(const char *root, const char *name, void (*change)(yv_vm *, void *),
                              void *ctx);

/* A start in progress, for `run` (under the root lock, before QEMU is launched -S): the locked
 * mark run/<vm>.starting; its fd, or -1 with err. yv_vmstate_start_end removes it once the guest
 * was continued (or the start undone). A mark whose `run` was killed is settled by the next
 * yv_vmstate_tidy or reconcile: a QEMU still in prelaunch is ended (the VM is stopped). */
int yv_vmstate_start_begin(const char *root, const char *name, yv_err *err);
void yv_vmstate_start_end(const char *root, const char *name, int fd);
/* yv_vmstate_start_begin for a verb that changes a VM without starting it (set, resize), under the
 * root lock: a mark a killed `run` abandoned is settled first (its prelaunch QEMU ended, as
 * yv_vmstate_tidy does), never taken over and deleted with that QEMU left behind. VM_RUNNING when
 * such a QEMU cannot be told yet (QMP does not answer). */
int yv_vmstate_start_take(const char *root, const yv_config *cfg, const char *name, yv_err *err);

/* The QEMU binary: cli.bin, else qemu-system-x86_64 (or kvm) on PATH; malloc'd or NULL. Found once
 * per process (and again only when cli.bin changes or it was not found). */
char *yv_vmstate_qemu(const yv_config *cfg);

/* One proof of liveness (spec: the pidfile names the pid, that pid holds the pidfile's lock, its
 * exe is QEMU), made once per command and carried through it. pidfd pins the proven process, so
 * a PID reused since is never signalled (-1 without pidfds: then a signal proves the pid again). */
typedef struct {
    pid_t pid;    /* the live QEMU of the VM, else 0 */
    pid_t holder; /* who holds the pidfile's lock: 0 nobody (or no pidfile), -1 cannot be named */
    int pidfd;    /* on pid when pid > 0 and the system has pidfds, else -1 */
} yv_vmstate_proof;

/* Proves the VM's QEMU live and pins it; returns p->pid. Release with yv_vmstate_proof_done. */
pid_t yv_vmstate_prove(const char *root, const yv_config *cfg, const char *name,
                       yv_vmstate_proof *p);
void yv_vmstate_proof_done(yv_vmstate_proof *p);
/* What a verb on one VM checks first, with the same errors everywhere: the name is valid, the VM
 * exists (VM_NOT_FOUND "no VM named 'x'") and, when running is given, its proof names a live QEMU
 * (VM_NOT_RUNNING "VM 'x' is not running"). NULL: the VM may be in any state. */
int yv_vmstate_require(const char *root, const char *name, const yv_vmstate_proof *running,
                       yv_err *err);

/* The reconcile of one VM, for a verb that names it: proves it (as yv_vmstate_prove), and when
 * its runtime files outlived its QEMU, removes them under the root lock and records it crashed
 * (proven again under the lock). Other VMs' files are left to list, status and the TUI. */
pid_t yv_vmstate_tidy(const char *root, const yv_config *cfg, const char *name,
                      yv_vmstate_proof *p);

/* The live QEMU of this VM (pidfile names it, it holds the pidfile's lock, its exe is QEMU), or 0.
 */
pid_t yv_vmstate_live_pid(const char *root, const yv_config *cfg, const char *name);

/* Proves the state. qmp_timeout_ms bounds the QMP exchange (0 = do not ask QMP: a live process is
 * reported running). Cleans stale runtime files under the root lock. */
void yv_vmstate_probe(const char *root, const yv_config *cfg, const char *name, int qmp_timeout_ms,
                      yv_vmstate *st);

/* Removes run/<vm>.pid, run/<vm>.sock and run/<vm>.events when no live QEMU holds them; with
 * `crashed`, records the VM as crashed. Caller holds the root lock. */
void yv_vmstate_clean_stale(const char *root, const yv_config *cfg, const char *name, bool crashed);
/* Any of run/<vm>.pid, .sock, .events, .console, .qga, .started is there. */
bool yv_vmstate_has_runtime_files(const char *root, const char *name);
/* The same with the proof the caller made under the root lock (not proven again). */
void yv_vmstate_clean_stale_proven(const char *root, const char *name, bool crashed,
                                   const yv_vmstate_proof *p);

/* The reconcile pass run at every start of the program: every VM whose runtime files outlived its
 * QEMU is cleaned up and remembered as crashed. */
void yv_vmstate_reconcile(const char *root, const yv_config *cfg);

/* Maps a query-status "status" to a state (and fills detail for error states). */
yv_state yv_vmstate_from_qmp(const char *status, char *detail, size_t n);

/* Who QEMU is serving on a socket it serves one client at a time (QMP, the serial console), by
 * sock_diag: YV_SOCK_OTHER when it accepted a client that is still connected and is not own_fd
 * (our own connection, -1: none), YV_SOCK_OURS when the client it accepted is own_fd, YV_SOCK_FREE
 * when none (queued clients hold nothing), -1 when the kernel cannot tell. */
enum { YV_SOCK_FREE = 0, YV_SOCK_OURS = 1, YV_SOCK_OTHER = 2 };
int yv_vmstate_sock_holder(const char *sock_path, int own_fd);
/* True when another client holds the socket (YV_SOCK_OTHER; without sock_diag, any accepted
 * client: then own_fd cannot be told apart). For QMP: the VM is busy, not unresponsive; a server
 * that accepted our own probe and stays silent is not busy but hung. */
bool yv_vmstate_sock_busy(const char *sock_path, int own_fd);
/* yv_vmstate_sock_busy for the QMP socket (the name its callers know). */
bool yv_vmstate_qmp_busy(const char *sock_path, int own_fd);

/* Removes the nftables rules no VM owns (vmnet's reconcile), under the root lock when it is free
 * (a `run` holding it is starting a QEMU whose netdevup adds rules; the next call does it then).
 * Costs nothing but one nft listing when there is no rule. The TUI and yave-web run it at start,
 * batch `list` and `status` each time. */
void yv_vmstate_reconcile_firewall(const char *root);

#endif
