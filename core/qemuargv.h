/* qemuargv: VM config + host facts → QEMU's argv (spec §6). Pure: no I/O, so golden files can pin
 * it. */
#ifndef YV_QEMUARGV_H
#define YV_QEMUARGV_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "vm.h"

/* A growable NULL-terminated argv; every string is owned. */
typedef struct {
    char **v;
    size_t n, cap;
} yv_argv;

void yv_argv_add(yv_argv *a, const char *s);
void yv_argv_addf(yv_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void yv_argv_free(yv_argv *a);

/* What the argv depends on besides the VM's config. */
typedef struct {
    const char *qemu;   /* the QEMU binary */
    const char *root;   /* absolute root */
    const char *vm_dir; /* absolute <root>/<vm>.vm */
    yv_accel accel;     /* resolved: KVM or TCG */
    const char *vnc_listen;
    const char *ovmf_code; /* firmware code (read-only) */
    const char *netdevup, *netdevdown;
    bool paused; /* -S: the guest waits for QMP `cont` (a first boot that must not outrun its
                    watcher) */
} yv_qemuargv_host;

/* "a,b" → "a,,b": QEMU option values split on single commas. Malloc'd. */
char *yv_qemuargv_escape(const char *s);

/* A drive's QEMU block node is named "node-<drive id>" (node names and drive ids share one
 * namespace in QEMU, so they differ); the UEFI variable store's is YV_UEFIVARS_NODE. */
#define YV_QEMUARGV_NODE_PREFIX "node-"

/* The id of the agent's virtio port: QEMU tells a guest opening or closing a port
 * (VSERPORT_CHANGE) only for a device with an id, and the monitor listens for its agent. A QEMU
 * with this very argument tells; one started by an older yave (no id) does not. */
#define YV_QEMUARGV_AGENT_PORT "qga0port"
#define YV_QEMUARGV_AGENT_DEVICE                                                                   \
    "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0,id=" YV_QEMUARGV_AGENT_PORT

/* A forward as QEMU's hostfwd rule: "tcp:127.0.0.1:2201-:22" (the -netdev user option and HMP's
 * hostfwd_add take it); with guest 0, the form hostfwd_remove takes: "tcp:127.0.0.1:2201". */
#define YV_HOSTFWD_MAX 48
void yv_qemuargv_hostfwd(const yv_forward *f, bool with_guest, char out[YV_HOSTFWD_MAX]);

/* Builds the whole argv (argv[0] = host->qemu). */
void yv_qemuargv_build(const yv_vm *vm, const yv_qemuargv_host *host, yv_argv *out);

#endif
