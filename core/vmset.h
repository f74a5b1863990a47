/* vmset: `set` (spec §13) — changes a VM's config (memory, vCPUs, VNC password, network and
 * forwards, firmware) for its next start, under the root lock, all-or-nothing; and which fields of
 * a running VM's config its QEMU was not started with (status's `pending`). */
#ifndef YV_VMSET_H
#define YV_VMSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "vm.h"
#include "vmmove.h"

/* The fields set changes and pending names, in this order: memory, vcpu, ovmf, display,
 * vnc_password, network (kind, MAC, how many), master, forwards. */
#define YV_VMSET_FIELDS 8

typedef struct {
    long memory, vcpu;        /* 0: unchanged */
    int ovmf;                 /* -1: unchanged; 0 SeaBIOS; 1 UEFI */
    const char *display;      /* the VNC display ":N" (vnc_table.yaml follows); NULL: unchanged */
    const char *vnc_password; /* NULL: unchanged */
    const char *net_kind;     /* "user" | "tap" | "none"; NULL: unchanged */
    const char *master;       /* the bridge of a tap network; NULL: unchanged */
    /* a user network's forwards "[PROTO:][ADDR:]HOST:GUEST": given, they replace net0's; a
     * network that becomes user without any gets the SSH forward, as create does */
    const char *const *forwards;
    size_t nforwards;
    /* run --new-display / --new-ports: a display or forward host port another program holds is
     * moved to the lowest free one (core/vmmove.c); a running VM's are left alone */
    bool new_display, new_ports;
    /* with those: what the user was shown (the TUI's question); a move elsewhere (the target taken
     * since) is refused, nothing written, result.elsewhere set and result.moved the new choice */
    const yv_vmmove *expect;
} yv_vmset_opts;

void yv_vmset_defaults(yv_vmset_opts *o);

typedef struct {
    const char *changed[YV_VMSET_FIELDS]; /* fields whose value changed in the config */
    size_t nchanged;
    bool running;
    /* the running QEMU's differences from the config (a VM started by an older yave: unknown, so
     * pending holds what this set changed, pending_known false) */
    const char *pending[YV_VMSET_FIELDS];
    size_t npending;
    bool pending_known;
    bool live_password; /* the running QEMU took the new VNC password (QMP set_password) */
    yv_vmmove moved;    /* what new_display / new_ports moved */
    bool elsewhere;     /* refused: moved would not be opts.expect (moved: where it would go now) */
} yv_vmset_result;

/* The result as batch --json and the web answer it: {"vm", "changed": [...], "pending": [...],
 * "running"} and "live": ["vnc_password"] when the running QEMU took the new password (new
 * reference). */
json_t *yv_vmset_result_json(const char *name, const yv_vmset_result *r);

/* The options alone (no root): a value out of range, an empty password, network options that do
 * not go together, a forward spec that does not parse, nothing to change (USAGE). The same rules
 * as create (core/valid.c, core/ops.c). */
int yv_vmset_check(const yv_vmset_opts *o, yv_err *err);

/* Changes VM name's config under the root lock and the VM's start mark (VM_RUNNING while a `run`
 * starts it): checked as create checks (a forward port or a VNC display another VM of the root
 * holds, a display whose port another program listens on: VM_EXISTS), written atomically with
 * vnc_table.yaml for a new display, or nothing at all. A running VM keeps what it runs with until
 * its next start (the VNC password excepted: QMP set_password, best effort). */
int yv_vmset(const char *root, const yv_config *cfg, const char *name, const yv_vmset_opts *o,
             yv_vmset_result *out, yv_err *err);

/* run's --new-display (display) / --new-ports (ports), before the start of a VM that does not run:
 * what another program holds of those is moved (yv_vmset, under the root lock; *moved says what);
 * what is still held and was not asked for refuses the start (err names the option and where it
 * would go: FAIL for a display, VM_EXISTS for a port, as run's pre-flight; *proposal says it),
 * nothing changed. Both moved and proposal zeroed first. The move is an operation of its own, kept
 * whatever the start after it does (undoing it could take back a display another VM got since). */
int yv_vmset_move_held(const char *root, const yv_config *cfg, const char *name, bool display,
                       bool ports, yv_vmmove *moved, yv_vmmove *proposal, yv_err *err);
/* The same, the move only to where expect says (NULL: anywhere): a target taken since the user was
 * asked refuses the start naming the new one (FAIL, *proposal: where it would go now). */
int yv_vmset_move_held_to(const char *root, const yv_config *cfg, const char *name, bool display,
                          bool ports, const yv_vmmove *expect, yv_vmmove *moved,
                          yv_vmmove *proposal, yv_err *err);

/* The fields that differ between a config and the one a QEMU was started with (pure). */
size_t yv_vmset_diff(const yv_vm *now, const yv_vm *was, const char *out[YV_VMSET_FIELDS]);

/* The pending fields of a VM whose QEMU runs: now against run/<vm>.started. -1 when that is not
 * there (started by an older yave, or not running): no list rather than a wrong one. */
int yv_vmset_pending(const char *root, const yv_vm *now, const char *out[YV_VMSET_FIELDS],
                     size_t *n);

#endif
