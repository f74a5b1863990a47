/* nl: libnl-3 and libnl-route-3 (netlink), loaded on first use instead of linked: their
 * constructors, code and relocations cost every batch command page faults at start (issue 16:
 * about 0.2 ms of a 2.5 ms --version here), and only the commands that touch a TAP, a bridge or the
 * neighbour table need them. The pointers keep the headers' types, so a changed prototype still
 * fails the build. Used by core/netdev.c and core/addr.c only. */
#ifndef YV_NL_H
#define YV_NL_H

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/neighbour.h>

#include "err.h"

#define YV_NL_FUNCS(X)                                                                             \
    X(nl_socket_alloc)                                                                             \
    X(nl_socket_free)                                                                              \
    X(nl_connect)                                                                                  \
    X(nl_geterror)                                                                                 \
    X(nl_addr2str)                                                                                 \
    X(nl_addr_get_len)                                                                             \
    X(nl_addr_get_binary_addr)                                                                     \
    X(nl_cache_get_first)                                                                          \
    X(nl_cache_get_next)                                                                           \
    X(nl_cache_free)                                                                               \
    X(rtnl_link_get_kernel)                                                                        \
    X(rtnl_link_is_bridge)                                                                         \
    X(rtnl_link_put)                                                                               \
    X(rtnl_link_get_type)                                                                          \
    X(rtnl_link_get_ifindex)                                                                       \
    X(rtnl_link_get_master)                                                                        \
    X(rtnl_link_get_flags)                                                                         \
    X(rtnl_link_alloc)                                                                             \
    X(rtnl_link_set_master)                                                                        \
    X(rtnl_link_set_flags)                                                                         \
    X(rtnl_link_unset_flags)                                                                       \
    X(rtnl_link_change)                                                                            \
    X(rtnl_link_get_stat)                                                                          \
    X(rtnl_neigh_alloc_cache)                                                                      \
    X(rtnl_neigh_get_family)                                                                       \
    X(rtnl_neigh_get_state)                                                                        \
    X(rtnl_neigh_get_lladdr)                                                                       \
    X(rtnl_neigh_get_dst)

#define YV_NL_PTR(f) __typeof__(f) *f; /* NOLINT(bugprone-macro-parentheses): f names a member */
typedef struct {
    YV_NL_FUNCS(YV_NL_PTR)
} yv_nl_api;
#undef YV_NL_PTR

/* The library's functions, loaded once (threads may call together); NULL with err set ("netlink:
 * cannot load libnl-route-3.so.200: …") when it cannot be had. */
const yv_nl_api *yv_nl(yv_err *err);

/* A NETLINK_ROUTE socket of the loaded library (*nl set), or NULL with err set (`what` begins
 * the message). */
struct nl_sock *yv_nl_route_socket(const yv_nl_api **nl, const char *what, yv_err *err);

#endif
