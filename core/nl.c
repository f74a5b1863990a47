#include "nl.h"

#include <dlfcn.h>
#include <netlink/errno.h>
#include <pthread.h>
#include <stdio.h>

/* it pulls libnl-3.so.200, where the nl_ functions are */
#define NL_SONAME "libnl-route-3.so.200"

static struct {
    yv_nl_api api;
    char error[256]; /* why it could not be loaded; empty when loaded */
} nl_lib;

static void nl_load_once(void)
{
    void *h = dlopen(NL_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    /* dlsym on the handle searches its dependencies too: libnl-3 */
#define NL_SYM(f)                                                                                  \
    if (h && !missing && !(nl_lib.api.f = (__typeof__(f) *)dlsym(h, #f))) missing = #f;
    YV_NL_FUNCS(NL_SYM)
#undef NL_SYM
    if (!h) snprintf(nl_lib.error, sizeof nl_lib.error, "cannot load %s: %s", NL_SONAME, dlerror());
    else if (missing)
        snprintf(nl_lib.error, sizeof nl_lib.error, "%s has no %s", NL_SONAME, missing);
}

const yv_nl_api *yv_nl(yv_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* yave-web's threads may get here together */
    pthread_once(&once, nl_load_once);
    if (!nl_lib.error[0]) return &nl_lib.api;
    yv_err_set(err, YV_E_FAIL, "netlink: %s", nl_lib.error);
    return NULL;
}

struct nl_sock *yv_nl_route_socket(const yv_nl_api **nl, const char *what, yv_err *err)
{
    if (!(*nl = yv_nl(err))) return NULL;
    struct nl_sock *sk = (*nl)->nl_socket_alloc();
    int rc = sk ? (*nl)->nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;
    if (rc == 0) return sk;
    if (sk) (*nl)->nl_socket_free(sk);
    yv_err_set(err, rc == -NLE_PERM || rc == -NLE_NOACCESS ? YV_E_PERMISSION : YV_E_FAIL, "%s: %s",
               what, (*nl)->nl_geterror(rc));
    return NULL;
}
