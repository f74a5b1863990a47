#include "netdev.h"

#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <stdbool.h>
#include <string.h>

static yv_code code_of(int nlerr)
{
    return (nlerr == -NLE_PERM || nlerr == -NLE_NOACCESS) ? YV_E_PERMISSION : YV_E_FAIL;
}

static struct nl_sock *open_sock(yv_err *err)
{
    struct nl_sock *sk = nl_socket_alloc();
    int rc = sk ? nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;
    if (rc < 0) {
        if (sk) nl_socket_free(sk);
        yv_err_set(err, code_of(rc), "netlink: %s", nl_geterror(rc));
        return NULL;
    }
    return sk;
}

/* The bridge as a kernel link object, or NULL with err filled. */
static struct rtnl_link *get_bridge(struct nl_sock *sk, const char *bridge, const char *where,
                                    yv_err *err)
{
    struct rtnl_link *br = NULL;
    int rc = rtnl_link_get_kernel(sk, 0, bridge, &br);
    if (rc < 0) {
        yv_err_set(err, rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? YV_E_FAIL : code_of(rc),
                   "bridge '%s' (%s) does not exist%s%s", bridge, where,
                   rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? "" : ": ",
                   rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? "" : nl_geterror(rc));
        return NULL;
    }
    if (!rtnl_link_is_bridge(br)) {
        yv_err_set(err, YV_E_FAIL, "'%s' (%s) is not a bridge", bridge, where);
        rtnl_link_put(br);
        return NULL;
    }
    return br;
}

int yv_netdev_check_bridge(const char *bridge, const char *where, yv_err *err)
{
    struct nl_sock *sk = open_sock(err);
    if (!sk) return -1;
    struct rtnl_link *br = get_bridge(sk, bridge, where, err);
    if (br) rtnl_link_put(br);
    nl_socket_free(sk);
    return br ? 0 : -1;
}

/* Only TAP devices are ours to move: a name that happens to be a real NIC is refused. */
static int check_tap(struct rtnl_link *l, const char *ifname, yv_err *err)
{
    const char *type = rtnl_link_get_type(l);
    if (type && !strcmp(type, "tun")) return 0;
    return yv_err_set(err, YV_E_USAGE, "interface %s is not a TAP device (it is %s)", ifname,
                      type ? type : "a physical or unknown device");
}

int yv_netdev_attach(const char *ifname, const char *bridge, const char *where, yv_err *err)
{
    struct nl_sock *sk = open_sock(err);
    struct rtnl_link *br = NULL, *tap = NULL, *chg = NULL;
    int rc = -1, nrc;
    if (!sk) return -1;
    if (!(br = get_bridge(sk, bridge, where, err))) goto out;
    if ((nrc = rtnl_link_get_kernel(sk, 0, ifname, &tap)) < 0) {
        yv_err_set(err, code_of(nrc), "interface %s: %s", ifname, nl_geterror(nrc));
        goto out;
    }
    if (check_tap(tap, ifname, err) < 0) goto out;
    int bidx = rtnl_link_get_ifindex(br);
    if (rtnl_link_get_master(tap) == bidx && (rtnl_link_get_flags(tap) & IFF_UP)) {
        rc = 0; /* already there */
        goto out;
    }
    /* master and up in one request */
    chg = rtnl_link_alloc();
    rtnl_link_set_master(chg, bidx);
    rtnl_link_set_flags(chg, IFF_UP);
    if ((nrc = rtnl_link_change(sk, tap, chg, 0)) < 0) {
        yv_err_set(err, code_of(nrc), "cannot attach %s to bridge %s: %s", ifname, bridge,
                   nl_geterror(nrc));
        goto out;
    }
    rc = 0;
out:
    if (chg) rtnl_link_put(chg);
    if (tap) rtnl_link_put(tap);
    if (br) rtnl_link_put(br);
    nl_socket_free(sk);
    return rc;
}

int yv_netdev_detach(const char *ifname, yv_err *err)
{
    struct nl_sock *sk = open_sock(err);
    struct rtnl_link *tap = NULL, *chg = NULL;
    int rc = 0, nrc;
    if (!sk) return -1;
    if (rtnl_link_get_kernel(sk, 0, ifname, &tap) < 0) goto out; /* gone: nothing to undo */
    if (check_tap(tap, ifname, err) < 0) {
        rc = -1;
        goto out;
    }
    if (rtnl_link_get_master(tap) == 0 && !(rtnl_link_get_flags(tap) & IFF_UP)) goto out;
    chg = rtnl_link_alloc();
    rtnl_link_set_master(chg, 0);
    rtnl_link_unset_flags(chg, IFF_UP);
    if ((nrc = rtnl_link_change(sk, tap, chg, 0)) < 0)
        rc = yv_err_set(err, code_of(nrc), "cannot detach %s: %s", ifname, nl_geterror(nrc));
out:
    if (chg) rtnl_link_put(chg);
    if (tap) rtnl_link_put(tap);
    nl_socket_free(sk);
    return rc;
}

int yv_netdev_stats(const char *ifname, uint64_t *rx, uint64_t *tx)
{
    yv_err err;
    struct nl_sock *sk = open_sock(&err);
    struct rtnl_link *l = NULL;
    if (!sk) return -1;
    int rc = rtnl_link_get_kernel(sk, 0, ifname, &l);
    if (rc >= 0) {
        *rx = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
        *tx = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
        rtnl_link_put(l);
    }
    nl_socket_free(sk);
    return rc < 0 ? -1 : 0;
}
