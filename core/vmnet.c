#include "vmnet.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firewall.h"
#include "netdev.h"
#include "root.h"
#include "util.h"
#include "valid.h"

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
        if (vm->nets[i].type != YV_NET_TAP) continue; /* user: no TAP, no bridge */
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

/* The tap network whose TAP is ifname, else the first tap network, else -1. */
static int find_net(const yv_vm *vm, const char *ifname)
{
    int first = -1;
    for (size_t i = 0; i < vm->nnets; i++) {
        char tap[16];
        if (vm->nets[i].type != YV_NET_TAP) continue;
        yv_vm_tap_name(vm, i, tap);
        if (!strcmp(tap, ifname)) return (int)i;
        if (first < 0) first = (int)i;
    }
    return first;
}

/* `netdev … down` needs only the interface name: the rules are found by it, so a VM whose config
 * broke while it ran still loses its rules when QEMU runs netdevdown. */
static int netdev_down(const char *root, const char *ifname, yv_err *err)
{
    int lock = yv_firewall_lock(root, err);
    if (lock < 0) return -1;
    int rc = yv_firewall_down(ifname, err);
    if (yv_netdev_detach(ifname, rc == 0 ? err : &(yv_err){0}) < 0) rc = -1;
    close(lock);
    return rc;
}

/* The VM whose TAP QEMU brings up: <name>.vm, or while a preset's first boot runs, the
 * `.<name>.vm.part` folder its create still holds (netdevup is called before it is renamed). */
static int load_vm(yv_vm *vm, const char *root, const char *name, yv_err *err)
{
    if (yv_vm_load(vm, root, name, err) == 0) return 0;
    if (err->code != YV_E_VM_NOT_FOUND) return -1;
    char *part = yv_root_part_dir(root, name);
    int rc = yv_vm_load_dir(vm, part, name, err);
    free(part);
    return rc;
}

int yv_vmnet_netdev(const char *root, const yv_config *cfg, const char *vm_name, const char *ifname,
                    bool up, yv_err *err)
{
    yv_vm vm;
    char where[160];
    if (yv_valid_ifname(ifname, "interface name (--ifname)", err) < 0) return -1;
    if (yv_valid_name(vm_name, err) < 0) return -1;
    if (!up) return netdev_down(root, ifname, err);
    if (load_vm(&vm, root, vm_name, err) < 0) return -1;
    int i = find_net(&vm, ifname), rc = -1;
    if (i < 0) {
        yv_err_set(err, YV_E_VM_NOT_FOUND, "VM '%s' has no tap network", vm_name);
        goto out;
    }
    const char *br = bridge_of(&vm, (size_t)i, cfg, where, sizeof where);
    if (!br) {
        yv_vmnet_preflight(&vm, cfg, err);
        goto out;
    }
    int lock = yv_firewall_lock(root, err);
    if (lock < 0) goto out;
    rc = yv_netdev_attach(ifname, br, where, err);
    if (rc == 0) rc = yv_firewall_up(vm_name, ifname, vm.nets[i].mac, err);
    if (rc == 0) yv_vmnet_reconcile(ifname);
    close(lock);
out:
    yv_vm_done(&vm);
    return rc;
}

/* The nftables table is shared by every root on the host, and a TAP's name derives from its VM's
 * name alone: the rules of a TAP that exists may be another root's running VM of the same name. A
 * dead QEMU's TAP is gone with it, so only rules of TAPs that no longer exist are ever swept. */
static bool tap_gone(const char *ifname)
{
    return if_nametoindex(ifname) == 0 && errno == ENODEV;
}

void yv_vmnet_forget(const char *root, const yv_vm *vm)
{
    yv_err e;
    if (!yv_vm_has_tap(vm)) return;
    int lock = yv_firewall_lock(root, &e);
    for (size_t i = 0; i < vm->nnets; i++) {
        char tap[16];
        if (vm->nets[i].type != YV_NET_TAP) continue;
        yv_vm_tap_name(vm, i, tap);
        /* without CAP_NET_ADMIN there is nothing we could have added */
        if (tap_gone(tap)) yv_firewall_down(tap, &e);
    }
    if (lock >= 0) close(lock);
}

/* Whether ifname is the TAP name YAVE derives for network index i of VM name (yv<md5>n<i>). */
static bool default_tap_of(const char *name, const char *ifname)
{
    yv_net net = {0};
    yv_vm vm = {0};
    char tap[16];
    vm.name = (char *)name;
    vm.nets = &net;
    vm.nnets = 1;
    yv_vm_tap_name(&vm, 0, tap); /* yv<8 hex>n0 */
    size_t pl = strlen(tap) - 1;
    if (strncmp(ifname, tap, pl) != 0 || !ifname[pl] || strlen(ifname + pl) > 2) return false;
    return strspn(ifname + pl, "0123456789") == strlen(ifname + pl);
}

void yv_vmnet_forget_name(const char *root, const char *name)
{
    char **taps, **vms;
    size_t n;
    yv_err e;
    if (yv_firewall_list(&taps, &vms, &n, &e) < 0) return;
    int lock = n ? yv_firewall_lock(root, &e) : -1;
    for (size_t i = 0; i < n; i++)
        if (((vms[i] && !strcmp(vms[i], name)) || default_tap_of(name, taps[i])) &&
            tap_gone(taps[i]))
            yv_firewall_down(taps[i], &e);
    if (lock >= 0) close(lock);
    yv_firewall_free_list(taps, n);
    yv_firewall_free_list(vms, n);
}

void yv_vmnet_reconcile(const char *keep)
{
    char **taps, **vms;
    size_t n;
    yv_err e;
    if (yv_firewall_list(&taps, &vms, &n, &e) < 0) return;
    for (size_t i = 0; i < n; i++) {
        if (keep && !strcmp(taps[i], keep)) continue;
        if (tap_gone(taps[i])) yv_firewall_down(taps[i], &e);
    }
    yv_firewall_free_list(taps, n);
    yv_firewall_free_list(vms, n);
}
