/* netdev: a VM's TAP on its bridge, through libnl-route-3 (netlink; no `ip`, no shell). Every call
 * is idempotent. Interface names must have passed yv_valid_ifname. */
#ifndef YV_NETDEV_H
#define YV_NETDEV_H

#include <stdint.h>

#include "err.h"

/* The bridge exists and is a bridge; `where` names the setting in messages ("network.master"). */
int yv_netdev_check_bridge(const char *bridge, const char *where, yv_err *err);
/* Enslaves ifname to bridge and sets it up (nothing to do when it already is). */
int yv_netdev_attach(const char *ifname, const char *bridge, const char *where, yv_err *err);
/* Releases ifname from its bridge and sets it down; a TAP that is already gone is fine. */
int yv_netdev_detach(const char *ifname, yv_err *err);

/* The byte counters of ifname as the host sees them (rx: what it received from the TAP, that is
 * what the guest sent). -1 when there is no such interface or netlink refuses. */
int yv_netdev_stats(const char *ifname, uint64_t *rx, uint64_t *tx);

#endif
