#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chan_qga.h"
#include "metrics.h"
#include "nl.h"
#include "qga.h"
#include "util.h"
#include "vmstate.h"

void yv_addrs_done(yv_addrs *a)
{
    free(a->v);
    *a = (yv_addrs){0};
}

const char *yv_addr_source_name(yv_addr_source s)
{
    static const char *const names[] = {"agent", "neighbour", "forward"};
    return names[s];
}

/* ip in its canonical text form, or false when it is not an address. */
static bool normalise(const char *ip, char out[48], int *family)
{
    unsigned char bin[16];
    *family = strchr(ip, ':') ? AF_INET6 : AF_INET;
    return inet_pton(*family, ip, bin) == 1 && inet_ntop(*family, bin, out, 48) != NULL;
}

void yv_addrs_add(yv_addrs *a, const char *ip, int port, yv_addr_source src)
{
    char norm[48];
    int family;
    if (a->n >= YV_ADDR_MAX || !ip || !normalise(ip, norm, &family)) return;
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].ip, norm) && a->v[i].port == port) return;
    a->v = yv_realloc(a->v, (a->n + 1) * sizeof *a->v);
    yv_addr *x = &a->v[a->n++];
    memcpy(x->ip, norm, sizeof x->ip);
    x->port = port;
    x->source = src;
}

void yv_addr_format(const yv_addr *a, char *out, size_t n)
{
    bool v6 = strchr(a->ip, ':') != NULL;
    if (!a->port) snprintf(out, n, "%s", a->ip);
    else snprintf(out, n, "%s%s%s:%d", v6 ? "[" : "", a->ip, v6 ? "]" : "", a->port);
}

json_t *yv_addr_json(const yv_addrs *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n; i++) {
        json_t *o = json_pack("{s:s, s:s}", "ip", a->v[i].ip, "source",
                              yv_addr_source_name(a->v[i].source));
        if (a->v[i].port) json_object_set_new(o, "port", json_integer(a->v[i].port));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* An IPv4 address (4 bytes) other than loopback (127/8) and unspecified (0.0.0.0). */
static bool useful_v4(const unsigned char *b)
{
    return b[0] != 127 && (b[0] | b[1] | b[2] | b[3]) != 0;
}

/* Loopback, unspecified and IPv6 link-local addresses lead nowhere from the host (an IPv4-mapped
 * IPv6 address is judged as the IPv4 one). */
static bool useful(const char *norm)
{
    unsigned char b[16];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!strchr(norm, ':')) return inet_pton(AF_INET, norm, b) == 1 && useful_v4(b);
    if (inet_pton(AF_INET6, norm, b) != 1) return false;
    if (!memcmp(b, mapped, sizeof mapped)) return useful_v4(b + 12);
    bool loop = !memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16),
         none = !memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    return !loop && !none && !(b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

static void add_agent_ip(yv_addrs *out, const json_t *ip)
{
    const char *s = json_string_value(json_object_get(ip, "ip-address"));
    char norm[48];
    int family;
    if (s && normalise(s, norm, &family) && useful(norm)) yv_addrs_add(out, norm, 0, YV_ADDR_AGENT);
}

void yv_addr_from_agent(const json_t *ret, yv_addrs *out)
{
    for (size_t i = 0; i < json_array_size(ret); i++) { /* 0 when not an array */
        const json_t *ips = json_object_get(json_array_get(ret, i), "ip-addresses");
        for (size_t k = 0; k < json_array_size(ips); k++) add_agent_ip(out, json_array_get(ips, k));
    }
}

void yv_addr_from_forwards(const yv_vm *vm, yv_addrs *out)
{
    for (size_t i = 0; i < vm->nnets; i++) {
        const yv_net *n = &vm->nets[i];
        if (n->type != YV_NET_USER) continue;
        for (size_t k = 0; k < n->nforwards; k++) {
            const yv_forward *f = &n->forwards[k];
            if (f->proto != YV_PROTO_TCP || f->guest != 22) continue;
            /* a forward on every address is reached on the loopback one */
            const char *a = !f->address || !strcmp(f->address, "0.0.0.0") ? "127.0.0.1"
                            : !strcmp(f->address, "::")                   ? "::1"
                                                                          : f->address;
            yv_addrs_add(out, a, f->host, YV_ADDR_FORWARD);
        }
    }
}

static bool has_type(const yv_vm *vm, yv_net_type t)
{
    for (size_t i = 0; i < vm->nnets; i++)
        if (vm->nets[i].type == t) return true;
    return false;
}

bool yv_addr_has_tap(const yv_vm *vm)
{
    return has_type(vm, YV_NET_TAP);
}

bool yv_addr_has_user(const yv_vm *vm)
{
    return has_type(vm, YV_NET_USER);
}

/* The entry's address when it is a usable IP neighbour with one of the VM's TAP MACs. */
static bool neigh_match(const yv_nl_api *nl, const yv_vm *vm, struct rtnl_neigh *ng, char ip[48])
{
    int fam = nl->rtnl_neigh_get_family(ng), st = nl->rtnl_neigh_get_state(ng);
    struct nl_addr *ll = nl->rtnl_neigh_get_lladdr(ng), *dst = nl->rtnl_neigh_get_dst(ng);
    if ((fam != AF_INET && fam != AF_INET6) || (st & (NUD_FAILED | NUD_INCOMPLETE)) || !ll || !dst)
        return false;
    char mac[64];
    nl->nl_addr2str(ll, mac, sizeof mac);
    bool ours = false;
    for (size_t i = 0; i < vm->nnets && !ours; i++)
        ours =
            vm->nets[i].type == YV_NET_TAP && vm->nets[i].mac && !strcasecmp(vm->nets[i].mac, mac);
    return ours && nl->nl_addr_get_len(dst) <= 16 &&
           inet_ntop(fam, nl->nl_addr_get_binary_addr(dst), ip, 48) != NULL && useful(ip);
}

int yv_addr_from_neighbours(const yv_vm *vm, yv_addrs *out, yv_err *err)
{
    const yv_nl_api *nl;
    struct nl_sock *sk = yv_nl_route_socket(&nl, "the neighbour table", err);
    struct nl_cache *cache = NULL;
    if (!sk) return -1;
    int rc = nl->rtnl_neigh_alloc_cache(sk, &cache);
    if (rc < 0) {
        nl->nl_socket_free(sk);
        return yv_err_set(err, YV_E_FAIL, "the neighbour table: %s", nl->nl_geterror(rc));
    }
    char ip[48];
    for (struct nl_object *o = nl->nl_cache_get_first(cache); o; o = nl->nl_cache_get_next(o))
        if (neigh_match(nl, vm, (struct rtnl_neigh *)o, ip))
            yv_addrs_add(out, ip, 0, YV_ADDR_NEIGHBOUR);
    nl->nl_cache_free(cache);
    nl->nl_socket_free(sk);
    return 0;
}

static void append(yv_addrs *out, const yv_addrs *in)
{
    for (size_t i = 0; in && i < in->n; i++)
        yv_addrs_add(out, in->v[i].ip, in->v[i].port, in->v[i].source);
}

void yv_addr_combine(const yv_vm *vm, const yv_addrs *agent, const yv_addrs *neigh, yv_addrs *out)
{
    yv_addr_from_forwards(vm, out);
    append(out, agent);
    if ((!agent || !agent->n) && yv_addr_has_tap(vm)) append(out, neigh);
}

/* ---- many agents at once ---- */

typedef struct {
    yv_chan_qga *q;
    yv_addrs *out;
    bool asked;
} fetch;

static void on_interfaces(void *user, const json_t *m)
{
    fetch *f = user;
    yv_addr_from_agent(json_object_get(m, "return"), f->out);
    yv_chan_close(yv_chan_qga_chan(f->q)); /* one exchange: the socket is the next client's */
}

/* One turn of the loop over every open channel; false when all are closed. */
static bool fetch_turn(fetch *f, size_t n, struct pollfd *p, int call_ms)
{
    int64_t now = yv_now_ms(), due = INT64_MAX;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        yv_chan *c = f[i].q ? yv_chan_qga_chan(f[i].q) : NULL;
        if (c && yv_chan_state_of(c) == YV_CHAN_READY && !f[i].asked)
            f[i].asked =
                yv_chan_qga_request(f[i].q, "guest-network-get-interfaces", NULL, now, call_ms) > 0;
        if (!c || yv_chan_fd(c) < 0) continue;
        p[k++] = (struct pollfd){yv_chan_fd(c), yv_chan_poll_events(c), 0};
        if (yv_chan_deadline(c) < due) due = yv_chan_deadline(c);
    }
    if (!k) return false;
    int wait = due <= now ? 0 : due - now > 1000 ? 1000 : (int)(due - now);
    if (poll(p, k, wait) < 0 && errno != EINTR) return false;
    now = yv_now_ms();
    for (size_t i = 0, j = 0; i < n; i++) {
        yv_chan *c = f[i].q ? yv_chan_qga_chan(f[i].q) : NULL;
        if (!c || yv_chan_fd(c) < 0) continue;
        yv_chan_handle(c, p[j].fd == yv_chan_fd(c) ? p[j].revents : 0, now);
        j++;
    }
    return true;
}

void yv_addr_agent_many(const char *const *paths, yv_addrs *out, size_t n, int sync_ms, int call_ms)
{
    fetch *f = yv_calloc(n ? n : 1, sizeof *f);
    struct pollfd *p = yv_calloc(n ? n : 1, sizeof *p);
    yv_err e;
    for (size_t i = 0; i < n; i++) {
        if (!paths[i]) continue;
        yv_chan_qga_cbs cbs = {.user = &f[i], .reply = on_interfaces};
        f[i].q = yv_chan_qga_new(&cbs, yv_vmstate_qmp_busy);
        f[i].out = &out[i];
        yv_chan_qga_open(f[i].q, paths[i], yv_now_ms(), sync_ms, &e); /* fails: closed */
    }
    while (fetch_turn(f, n, p, call_ms)) {
    }
    for (size_t i = 0; i < n; i++) yv_chan_qga_free(f[i].q);
    free(f);
    free(p);
}

/* ---- the watch ---- */

struct yv_addr_watch {
    yv_chan_qga *q;
    char *path;
    int64_t next;  /* the next exchange */
    bool shown;    /* drawn since the last exchange began */
    bool answered; /* the agent answered in this exchange */
    yv_addrs agent, addrs;
    int64_t began;   /* when this exchange began */
    uint64_t rx, tx; /* the guest's counters of the last answer with statistics */
    int64_t net_at;  /* the time of those (0: none yet) */
};

static void watch_reply(void *user, const json_t *m)
{
    yv_addr_watch *w = user;
    w->answered = true;
    yv_addrs_done(&w->agent);
    yv_addr_from_agent(json_object_get(m, "return"), &w->agent);
    if (yv_metrics_parse_guest_net(json_object_get(m, "return"), &w->rx, &w->tx) == 0)
        w->net_at = w->began;
    yv_chan_close(yv_chan_qga_chan(w->q)); /* one exchange: the socket is the next client's */
}

yv_addr_watch *yv_addr_watch_new(const char *qga, int64_t now)
{
    yv_addr_watch *w = yv_calloc(1, sizeof *w);
    yv_chan_qga_cbs cbs = {.user = w, .reply = watch_reply};
    w->q = yv_chan_qga_new(&cbs, yv_vmstate_qmp_busy);
    w->path = yv_strdup(qga);
    w->next = now;
    w->shown = true; /* the first exchange is wanted wherever the row is */
    return w;
}

void yv_addr_watch_free(yv_addr_watch *w)
{
    if (!w) return;
    yv_chan_qga_free(w->q);
    free(w->path);
    yv_addrs_done(&w->agent);
    yv_addrs_done(&w->addrs);
    free(w);
}

void yv_addr_watch_shown(yv_addr_watch *w)
{
    w->shown = true;
}

void yv_addr_watch_poke(yv_addr_watch *w, int64_t now)
{
    /* half a second: the agent opens its port before its main loop answers */
    if (w->next > now + 500) w->next = now + 500;
    w->shown = true;
}

static bool in_exchange(const yv_addr_watch *w)
{
    return yv_chan_state_of(yv_chan_qga_chan(w->q)) != YV_CHAN_CLOSED;
}

bool yv_addr_watch_busy(const yv_addr_watch *w)
{
    return in_exchange(w);
}

size_t yv_addr_watch_pollfd(const yv_addr_watch *w, struct pollfd *p)
{
    yv_chan *c = yv_chan_qga_chan(w->q);
    if (yv_chan_fd(c) < 0) return 0;
    *p = (struct pollfd){yv_chan_fd(c), yv_chan_poll_events(c), 0};
    return 1;
}

int64_t yv_addr_watch_due(const yv_addr_watch *w)
{
    if (in_exchange(w)) {
        yv_chan *c = yv_chan_qga_chan(w->q);
        /* synced and not yet asked: the request goes out on the next handle */
        return yv_chan_state_of(c) == YV_CHAN_READY ? 0 : yv_chan_deadline(c);
    }
    return w->shown ? w->next : INT64_MAX;
}

static bool same(const yv_addrs *a, const yv_addrs *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].ip, b->v[i].ip) != 0 || a->v[i].port != b->v[i].port ||
            a->v[i].source != b->v[i].source)
            return false;
    return true;
}

/* An exchange ended (or none was possible): the addresses from what it brought. An agent that was
 * busy with another client keeps what it said last; one that did not answer says nothing. */
static bool exchange_done(yv_addr_watch *w, const yv_vm *vm)
{
    yv_chan *c = yv_chan_qga_chan(w->q);
    if (!w->answered && yv_chan_verdict_of(c) != YV_CHAN_BUSY &&
        yv_chan_verdict_of(c) != YV_CHAN_OK)
        yv_addrs_done(&w->agent);
    yv_addrs neigh = {0}, all = {0};
    yv_err e;
    if (vm && !w->agent.n && yv_addr_has_tap(vm)) yv_addr_from_neighbours(vm, &neigh, &e);
    if (vm) yv_addr_combine(vm, &w->agent, &neigh, &all);
    else append(&all, &w->agent);
    bool changed = !same(&all, &w->addrs);
    yv_addrs_done(&w->addrs);
    w->addrs = all;
    yv_addrs_done(&neigh);
    return changed;
}

/* Starts an exchange (the agent asked, or not); true when it ended at once and changed them. */
static bool exchange_start(yv_addr_watch *w, const yv_vm *vm, yv_addr_agent agent, int64_t now)
{
    yv_err e;
    w->next = (now / YV_ADDR_WATCH_MS + 1) * YV_ADDR_WATCH_MS; /* on the same grid as the rest */
    w->shown = false;
    w->answered = false;
    w->began = now;
    if (agent == YV_ADDR_GONE) yv_addrs_done(&w->agent);
    if (agent == YV_ADDR_ASK && yv_chan_qga_open(w->q, w->path, now, YV_QGA_SYNC_MS, &e) == 0)
        return false;
    return exchange_done(w, vm); /* not asked: what it said last stays, unless it is gone */
}

bool yv_addr_watch_handle(yv_addr_watch *w, const yv_vm *vm, yv_addr_agent agent, short revents,
                          int64_t now)
{
    yv_chan *c = yv_chan_qga_chan(w->q);
    if (in_exchange(w)) {
        yv_chan_handle(c, revents, now);
        if (yv_chan_state_of(c) == YV_CHAN_READY && !yv_chan_outstanding(c))
            yv_chan_qga_request(w->q, "guest-network-get-interfaces", NULL, now, YV_QGA_CALL_MS);
        return in_exchange(w) ? false : exchange_done(w, vm);
    }
    if (!w->shown || now < w->next) return false;
    return exchange_start(w, vm, agent, now);
}

const yv_addrs *yv_addr_watch_addrs(const yv_addr_watch *w)
{
    return &w->addrs;
}

bool yv_addr_watch_net(const yv_addr_watch *w, uint64_t *rx, uint64_t *tx, int64_t *at)
{
    if (!w->net_at) return false;
    *rx = w->rx;
    *tx = w->tx;
    *at = w->net_at;
    return true;
}
