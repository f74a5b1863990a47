/* addr: a running VM's addresses (spec §11) — from its guest agent (guest-network-get-interfaces),
 * from the host's neighbour table by the MAC of a TAP network (libnl rtnl_neigh), and for a `user`
 * network its SSH forward (the forward whose guest port is 22). Order: a user VM's forward first,
 * then the agent's; a TAP VM's agent addresses, else the neighbour table's. */
#ifndef YV_ADDR_H
#define YV_ADDR_H

#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "vm.h"

#define YV_ADDR_MAX 32 /* a guest reporting more is cut here: it is untrusted */

typedef enum { YV_ADDR_AGENT, YV_ADDR_NEIGHBOUR, YV_ADDR_FORWARD } yv_addr_source;

typedef struct {
    char ip[48]; /* as inet_ntop writes it */
    int port;    /* a forward's host port; 0 otherwise */
    yv_addr_source source;
} yv_addr;

typedef struct {
    yv_addr *v;
    size_t n;
} yv_addrs;

void yv_addrs_done(yv_addrs *a);
/* Appends ip (validated and normalised; a duplicate or one past YV_ADDR_MAX is dropped). */
void yv_addrs_add(yv_addrs *a, const char *ip, int port, yv_addr_source src);
const char *yv_addr_source_name(yv_addr_source s); /* "agent", "neighbour", "forward" */
/* "192.0.2.10", or "127.0.0.1:2201" / "[::1]:2201" for a forward. */
void yv_addr_format(const yv_addr *a, char *out, size_t n);
/* [{"ip": …, "source": …}] (a forward adds "port"). New reference. */
json_t *yv_addr_json(const yv_addrs *a);

/* The addresses of a guest-network-get-interfaces answer (its "return" value, untrusted): IPv4
 * and IPv6, neither loopback nor IPv6 link-local, each checked by inet_pton. */
void yv_addr_from_agent(const json_t *ret, yv_addrs *out);
/* The SSH forward of each `user` network (guest port 22). */
void yv_addr_from_forwards(const yv_vm *vm, yv_addrs *out);
/* Neighbour entries (not FAILED/INCOMPLETE) whose link-layer address is a TAP network's MAC. */
int yv_addr_from_neighbours(const yv_vm *vm, yv_addrs *out, yv_err *err);
bool yv_addr_has_tap(const yv_vm *vm);
bool yv_addr_has_user(const yv_vm *vm);

/* The addresses in the order of spec §11 from the parts (agent, neighbour may be NULL). */
void yv_addr_combine(const yv_vm *vm, const yv_addrs *agent, const yv_addrs *neigh, yv_addrs *out);

/* Asks n agents at once (paths: run/<vm>.qga; NULL: skipped), each for its interfaces: out[i]
 * gets agent i's addresses. Blocks at most sync_ms when no agent answers, sync_ms + call_ms in
 * all; each socket is closed after its one exchange. */
void yv_addr_agent_many(const char *const *paths, yv_addrs *out, size_t n, int sync_ms,
                        int call_ms);

/* ---- the watch: the monitor's use (the TUI), never blocking ---- */

/* A running VM's addresses kept for a poll loop: one agent exchange (connect, sync,
 * guest-network-get-interfaces, close: no socket held in between) when the VM is first seen
 * running, then every YV_ADDR_WATCH_MS — but only while its row is drawn (yv_addr_watch_shown
 * since the last exchange): a VM out of sight costs no wakeup. The neighbour table is read with
 * each exchange's end for a TAP VM whose agent gave nothing. */
#define YV_ADDR_WATCH_MS 30000

typedef struct yv_addr_watch yv_addr_watch;

/* qga: the VM's run/<vm>.qga; the first exchange is due now. */
yv_addr_watch *yv_addr_watch_new(const char *qga, int64_t now);
void yv_addr_watch_free(yv_addr_watch *w);
/* The row was drawn: the next exchange (when due) is wanted. */
void yv_addr_watch_shown(yv_addr_watch *w);
/* The guest's agent came or went (QMP VSERPORT_CHANGE): an exchange is due soon, wherever the row
 * is, so an address appears when the agent starts rather than up to YV_ADDR_WATCH_MS later. */
void yv_addr_watch_poke(yv_addr_watch *w, int64_t now);
/* Its descriptor for poll() (0 or 1 filled), and when it next needs handle (INT64_MAX: never,
 * until shown again). */
size_t yv_addr_watch_pollfd(const yv_addr_watch *w, struct pollfd *p);
bool yv_addr_watch_busy(const yv_addr_watch *w); /* an exchange is under way */
int64_t yv_addr_watch_due(const yv_addr_watch *w);
/* What an exchange does with the guest's agent. */
typedef enum {
    YV_ADDR_ASK,  /* ask it (its port is open, or nobody can tell) */
    YV_ADDR_KEEP, /* the guest cannot answer now (paused): what it said last stays */
    YV_ADDR_GONE, /* the guest closed its port (no agent runs): what it said is forgotten */
} yv_addr_agent;

/* Feeds poll() results (0: timers only); starts an exchange when due and wanted, the agent asked
 * or not as `agent` says (forwards and neighbours either way). vm: the VM's config (NULL:
 * unknown). True when the addresses changed. */
bool yv_addr_watch_handle(yv_addr_watch *w, const yv_vm *vm, yv_addr_agent agent, short revents,
                          int64_t now);
const yv_addrs *yv_addr_watch_addrs(const yv_addr_watch *w);
/* The guest's network byte counters of the agent's last answer (every interface but loopback),
 * and when its exchange began; false when no answer had statistics. The monitor makes a `user`
 * network's rates of them (QEMU counts nothing there): a rate over the exchanges' interval. */
bool yv_addr_watch_net(const yv_addr_watch *w, uint64_t *rx, uint64_t *tx, int64_t *at);

#endif
