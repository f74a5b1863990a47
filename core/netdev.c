#include "netdev.h"

#include <net/if.h>
#include <netlink/errno.h>
#include <stdbool.h>
#include <string.h>

#include "nl.h"

static yv_code code_of(int nlerr)
{
    return (nlerr == -NLE_PERM || nlerr == -NLE_NOACCESS) ? YV_E_PERMISSION : YV_E_FAIL;
}

/* The bridge as a kernel link object, or NULL with err filled. */
static struct rtnl_link *get_bridge(const yv_nl_api *nl, struct nl_sock *sk, const char *bridge,
                                    const char *where, yv_err *err)
{
    struct rtnl_link *br = NULL;
    int rc = nl->rtnl_link_get_kernel(sk, 0, bridge, &br);
    if (rc < 0) {
        yv_err_set(err, rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? YV_E_FAIL : code_of(rc),
                   "bridge '%s' (%s) does not exist%s%s", bridge, where,
                   rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? "" : ": ",
                   rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? "" : nl->nl_geterror(rc));
        return NULL;
    }
    if (!nl->rtnl_link_is_bridge(br)) {
        yv_err_set(err, YV_E_FAIL, "'%s' (%s) is not a bridge", bridge, where);
        nl->rtnl_link_put(br);
        return NULL;
    }
    return br;
}

int yv_netdev_check_bridge(const char *bridge, const char *where, yv_err *err)
{
    const yv_nl_api *nl;
    struct nl_sock *sk = yv_nl_route_socket(&nl, "netlink", err);
    if (!sk) return -1;
    struct rtnl_link *br = get_bridge(nl, sk, bridge, where, err);
    if (br) nl->rtnl_link_put(br);
    nl->nl_socket_free(sk);
    return br ? 0 : -1;
}

/* Only TAP devices are ours to move: a name that happens to be a real NIC is refused. */
static int check_tap(const yv_nl_api *nl, struct rtnl_link *l, const char *ifname, yv_err *err)
{
    const char *type = nl->rtnl_link_get_type(l);
    if (type && !strcmp(type, "tun")) return 0;
    return yv_err_set(err, YV_E_USAGE, "interface %s is not a TAP device (it is %s)", ifname,
                      type ? type : "a physical or unknown device");
}

int yv_netdev_attach(const char *ifname, const char *bridge, const char *where, yv_err *err)
{
    const yv_nl_api *nl;
    struct nl_sock *sk = yv_nl_route_socket(&nl, "netlink", err);
    struct rtnl_link *br = NULL, *tap = NULL, *chg = NULL;
    int rc = -1, nrc;
    if (!sk) return -1;
    if (!(br = get_bridge(nl, sk, bridge, where, err))) goto out;
    if ((nrc = nl->rtnl_link_get_kernel(sk, 0, ifname, &tap)) < 0) {
        yv_err_set(err, code_of(nrc), "interface %s: %s", ifname, nl->nl_geterror(nrc));
        goto out;
    }
    if (check_tap(nl, tap, ifname, err) < 0) goto out;
    int bidx = nl->rtnl_link_get_ifindex(br);
    if (nl->rtnl_link_get_master(tap) == bidx && (nl->rtnl_link_get_flags(tap) & IFF_UP)) {
        rc = 0; /* already there */
        goto out;
    }
    /* master and up in one request */
    chg = nl->rtnl_link_alloc();
    nl->rtnl_link_set_master(chg, bidx);
    nl->rtnl_link_set_flags(chg, IFF_UP);
    if ((nrc = nl->rtnl_link_change(sk, tap, chg, 0)) < 0) {
        yv_err_set(err, code_of(nrc), "cannot attach %s to bridge %s: %s", ifname, bridge,
                   nl->nl_geterror(nrc));
        goto out;
    }
    rc = 0;
out:
    if (chg) nl->rtnl_link_put(chg);
    if (tap) nl->rtnl_link_put(tap);
    if (br) nl->rtnl_link_put(br);
    nl->nl_socket_free(sk);
    return rc;
}

int yv_netdev_detach(const char *ifname, yv_err *err)
{
    const yv_nl_api *nl;
    struct nl_sock *sk = yv_nl_route_socket(&nl, "netlink", err);
    struct rtnl_link *tap = NULL, *chg = NULL;
    int rc = 0, nrc;
    if (!sk) return -1;
    if (nl->rtnl_link_get_kernel(sk, 0, ifname, &tap) < 0) goto out; /* gone: nothing to undo */
    if (check_tap(nl, tap, ifname, err) < 0) {
        rc = -1;
        goto out;
    }
    if (nl->rtnl_link_get_master(tap) == 0 && !(nl->rtnl_link_get_flags(tap) & IFF_UP)) goto out;
    chg = nl->rtnl_link_alloc();
    nl->rtnl_link_set_master(chg, 0);
    nl->rtnl_link_unset_flags(chg, IFF_UP);
    if ((nrc = nl->rtnl_link_change(sk, tap, chg, 0)) < 0)
        rc = yv_err_set(err, code_of(nrc), "cannot detach %s: %s", ifname, nl->nl_geterror(nrc));
out:
    if (chg) nl->rtnl_link_put(chg);
    if (tap) nl->rtnl_link_put(tap);
    nl->nl_socket_free(sk);
    return rc;
}

int yv_netdev_stats(const char *ifname, uint64_t *rx, uint64_t *tx)
{
    yv_err err;
    const yv_nl_api *nl;
    struct nl_sock *sk = yv_nl_route_socket(&nl, "netlink", &err);
    struct rtnl_link *l = NULL;
    if (!sk) return -1;
    int rc = nl->rtnl_link_get_kernel(sk, 0, ifname, &l);
    if (rc >= 0) {
        *rx = nl->rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
        *tx = nl->rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
        nl->rtnl_link_put(l);
    }
    nl->nl_socket_free(sk);
    return rc < 0 ? -1 : 0;
}
