/* forward: the port forwards of `user` networks (spec §10) — a forward from a spec, whether its
 * host port is free and who holds it, the forwards of every VM of a root, the SSH port of a new VM,
 * and `forward add|remove` on a VM's config and its running QEMU. */
#ifndef YV_FORWARD_H
#define YV_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"
#include "vm.h"

/* A forward from "[PROTO:][ADDR:]HOST:GUEST" (USAGE on a bad spec); f->address is malloc'd. */
int yv_forward_parse(const char *spec, yv_forward *f, yv_err *err);
/* The key of a forward to remove: a full spec, or "[PROTO:]HOST" (USAGE otherwise). */
int yv_forward_parse_key(const char *spec, yv_proto *proto, int *host, yv_err *err);

/* Whether the host port of f can be bound now (proto, address): what QEMU's slirp will do. */
bool yv_forward_host_free(const yv_forward *f);
/* The same as bind's errno: 0 (free), EADDRINUSE, EADDRNOTAVAIL (not this host's address),
 * EACCES (a port below 1024 without the right to it), … */
int yv_forward_bind_errno(const yv_forward *f);
/* The process holding f's host port, when /proc tells (only what the user may read): its pid and
 * command name; 0 when unknown. */
pid_t yv_forward_holder(const yv_forward *f, char comm[32]);
/* Every forward of vm can be bound now; else VM_EXISTS naming the port and its holder if known
 * (USAGE for an address that is not this host's, PERMISSION for a port below 1024 without the
 * right to it): run's pre-flight, before QEMU starts. */
int yv_forward_check_free(const yv_vm *vm, yv_err *err);

/* The forwards of every readable VM config of a root (its .vm folders and the .part folders of
 * creates under way). Read under the root lock. */
typedef struct {
    char *vm;
    yv_proto proto;
    int host;
} yv_forward_use;
typedef struct {
    yv_forward_use *v;
    size_t n;
} yv_forward_uses;
void yv_forward_collect(const char *root, yv_forward_uses *u);
void yv_forward_uses_done(yv_forward_uses *u);
/* The VM other than self that forwards proto + host, or NULL. */
const char *yv_forward_used_by(const yv_forward_uses *u, const char *self, yv_proto proto,
                               int host);
/* Each of fw[0..n) is used by no VM of the root but self (VM_EXISTS naming the other VM). */
int yv_forward_check_root(const yv_forward_uses *u, const char *self, const yv_forward *fw,
                          size_t n, yv_err *err);
/* The lowest TCP host port from base on 127.0.0.1 that no VM forwards and nothing listens on;
 * -1 with an error when none is left up to 65535. */
int yv_forward_pick_ssh(const yv_forward_uses *u, long base, yv_err *err);

/* forward add|remove: under the root lock, the VM's first user network gains f (add; its port
 * free on the host and across the root) or loses the forward on proto + host (remove, f NULL);
 * a running VM's QEMU is changed at once over QMP (hostfwd_add / hostfwd_remove). All-or-nothing:
 * a QMP failure leaves the config as it was, a failed write undoes the QMP change. *changed (may
 * be NULL) gets the forward added or removed (address malloc'd) and *live whether QEMU was
 * changed. */
int yv_forward_add(const char *root, const yv_config *cfg, const char *name, const yv_forward *f,
                   yv_forward *changed, bool *live, yv_err *err);
int yv_forward_remove(const char *root, const yv_config *cfg, const char *name, yv_proto proto,
                      int host, yv_forward *changed, bool *live, yv_err *err);

#endif
