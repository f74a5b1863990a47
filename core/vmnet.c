#include "vmnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firewall.h"
#include "netdev.h"
#include "root.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"

/* The bridge of network i and where it was configured, for messages. NULL when none is set. */
static const char *bridge_of(const yv_vm *vm, size_t i, const yv_config *cfg, char *where,
                             size_t wn)
{
    const yv_net *n = &vm->nets[i];
    if (n->master) {
        snprintf(where, wn, "networks.%s.device.master of VM '%s'", n->id, vm->name);
        return n->master;
    }
    snprintf(where, wn, "network.master in config.yaml");
    return cfg->network_master;
}

int yv_vmnet_preflight(const yv_vm *vm, const yv_config *cfg, yv_err *err)
{
    for (size_t i = 0; i < vm->nnets; i++) {
        char where[160];
        const char *br = bridge_of(vm, i, cfg, where, sizeof where);
        if (!br)
            return yv_err_set(err, YV_E_FAIL,
                              "network %s of VM '%s' has no bridge: set "
                              "network.master in config.yaml, or create the VM with --master",
                              vm->nets[i].id, vm->name);
        if (yv_valid_ifname(br, "bridge name", err) < 0 ||
            yv_netdev_check_bridge(br, where, err) < 0)
            return -1;
    }
    return 0;
}

static int find_net(const yv_vm *vm, const char *ifname)
{
    for (size_t i = 0; i < vm->nnets; i++) {
        char tap[16];
        yv_vm_tap_name(vm, i, tap);
        if (!strcmp(tap, ifname)) return (int)i;
    }
    return vm->nnets ? 0 : -1;
}

int yv_vmnet_netdev(const char *root, const yv_config *cfg, const char *vm_name, const char *ifname,
                    bool up, yv_err *err)
{
    yv_vm vm;
    char where[160];
    if (yv_valid_ifname(ifname, "interface name (--ifname)", err) < 0) return -1;
    if (yv_valid_name(vm_name, err) < 0 || yv_vm_load(&vm, root, vm_name, err) < 0) return -1;
    int i = find_net(&vm, ifname), rc = -1;
    if (i < 0) {
        yv_err_set(err, YV_E_VM_NOT_FOUND, "VM '%s' has no network", vm_name);
        goto out;
    }
    const char *br = bridge_of(&vm, (size_t)i, cfg, where, sizeof where);
    if (up && !br) {
        yv_vmnet_preflight(&vm, cfg, err);
        goto out;
    }
    int lock = yv_firewall_lock(root, err);
    if (lock < 0) goto out;
    if (up) {
        rc = yv_netdev_attach(ifname, br, where, err);
        if (rc == 0) rc = yv_firewall_up(vm_name, ifname, vm.nets[i].mac, err);
        if (rc == 0) yv_vmnet_reconcile(root, cfg, ifname);
    } else {
        rc = yv_firewall_down(ifname, err);
        if (yv_netdev_detach(ifname, rc == 0 ? err : &(yv_err){0}) < 0) rc = -1;
    }
    close(lock);
out:
    yv_vm_done(&vm);
    return rc;
}

void yv_vmnet_forget(const char *root, const yv_vm *vm)
{
    yv_err e;
    if (vm->nnets == 0) return;
    int lock = yv_firewall_lock(root, &e);
    for (size_t i = 0; i < vm->nnets; i++) {
        char tap[16];
        yv_vm_tap_name(vm, i, tap);
        yv_firewall_down(tap, &e); /* without CAP_NET_ADMIN there is nothing we could have added */
    }
    if (lock >= 0) close(lock);
}

/* Which VM owns a TAP name, among every VM of the root; NULL when none. */
static char *owner_of(const char *root, const char *ifname)
{
    size_t n;
    yv_err e;
    char **names = yv_root_list_suffix(root, ".vm", &n, &e), *owner = NULL;
    for (size_t k = 0; names && k < n && !owner; k++) {
        yv_vm vm;
        if (yv_vm_load(&vm, root, names[k], &e) < 0) continue;
        for (size_t i = 0; i < vm.nnets && !owner; i++) {
            char tap[16];
            yv_vm_tap_name(&vm, i, tap);
            if (!strcmp(tap, ifname)) owner = yv_strdup(names[k]);
        }
        yv_vm_done(&vm);
    }
    yv_root_free_names(names, n);
    return owner;
}

void yv_vmnet_reconcile(const char *root, const yv_config *cfg, const char *keep)
{
    char **taps;
    size_t n;
    yv_err e;
    if (yv_firewall_list(&taps, &n, &e) < 0) return;
    for (size_t i = 0; i < n; i++) {
        if (keep && !strcmp(taps[i], keep)) continue;
        /* the table is shared by every root on the host: only TAPs of this root's VMs are ours */
        char *owner = owner_of(root, taps[i]);
        if (owner && yv_vmstate_live_pid(root, cfg, owner) == 0) yv_firewall_down(taps[i], &e);
        free(owner);
    }
    for (size_t i = 0; i < n; i++) free(taps[i]);
    free(taps);
}
