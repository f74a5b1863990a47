/* vmnet: a VM's networks as the `netdev` verb sees them — which network a TAP belongs to, its
 * bridge, attaching it and its anti-spoofing rules, and cleaning up after VMs that are gone. */
#ifndef YV_VMNET_H
#define YV_VMNET_H

#include <stdbool.h>

#include "config.h"
#include "err.h"
#include "vm.h"

/* `netdev --name vm --ifname IF up|down`: the interface name is validated before anything else
 * (USAGE), then the VM's network is found (the one whose TAP name matches, else the first), its
 * bridge checked, the TAP attached (up) or released (down) and its rules installed or removed. */
int yv_vmnet_netdev(const char *root, const yv_config *cfg, const char *vm_name, const char *ifname,
                    bool up, yv_err *err);

/* Before QEMU starts: every network has a bridge that exists and is a bridge (the message names the
 * bridge and where it was configured). */
int yv_vmnet_preflight(const yv_vm *vm, const yv_config *cfg, yv_err *err);

/* Removes the rules of a VM's TAPs that no longer exist (after its QEMU died without running
 * netdevdown). */
void yv_vmnet_forget(const char *root, const yv_vm *vm);

/* The same for a VM whose config cannot be read: the TAPs its rules name ("vm:NAME") or that carry
 * its derived name. */
void yv_vmnet_forget_name(const char *root, const char *name);

/* Removes the rules no VM owns, except those of `keep` (may be NULL): the rules of every TAP that
 * no longer exists (a QEMU's TAP goes with it). A TAP that exists keeps its rules: the table is
 * shared by every root on the host, and it may be another root's VM of the same name. Caller holds
 * the firewall lock. */
void yv_vmnet_reconcile(const char *keep);

#endif
