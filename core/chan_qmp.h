/* chan_qmp: QMP on a channel. The kind: QEMU greets, we negotiate capabilities (one write with the
 * first request), commands carry ids, events come any time. The watch: the monitor's use of it —
 * a running VM's state kept current by events (STOP, RESUME, SHUTDOWN, GUEST_PANICKED the moment
 * QEMU sends them) and by `query-status`.
 *
 * The watch keeps run/<vm>.events (the second QMP socket, reserved for the TUI) open: it asks
 * query-status once when that connection is made, then after an event that changes the run state,
 * and otherwise only every 30 s (or every refresh if longer) to prove QEMU's main loop turns — a
 * query every second costs the QEMUs more CPU than the TUI spends itself. When another TUI holds
 * that socket (QEMU keeps a second client waiting without a greeting), or a QEMU started without
 * it, or it cannot be connected (QEMU hung), each refresh is one short exchange on run/<vm>.sock,
 * which no one may hold. */
#ifndef YV_CHAN_QMP_H
#define YV_CHAN_QMP_H

#include <poll.h>

#include "channel.h"
#include "qmp.h"
#include "vminfo.h"

/* ---- the kind ---- */

typedef struct {
    void *user;
    void (*event)(void *user, const yv_qmp_msg *m); /* m->event names it */
    void (*reply)(void *user, const yv_qmp_msg *m); /* the answer to the request (RETURN/ERROR) */
} yv_chan_qmp_cbs;

typedef struct yv_chan_qmp yv_chan_qmp;

/* The callbacks may close the channel (yv_chan_close), never free it. busy: see channel.h. */
yv_chan_qmp *yv_chan_qmp_new(const yv_chan_qmp_cbs *cbs, yv_chan_busy_fn busy);
void yv_chan_qmp_free(yv_chan_qmp *q);
yv_chan *yv_chan_qmp_chan(const yv_chan_qmp *q);
/* yv_chan_open / yv_chan_adopt with a fresh parser (nothing of an earlier conversation stays). */
int yv_chan_qmp_open(yv_chan_qmp *q, const char *path, int64_t now, int timeout_ms, yv_err *err);
void yv_chan_qmp_adopt(yv_chan_qmp *q, int fd, int64_t now, int timeout_ms);
/* Sends cmd (args stolen, may be NULL) as the request: its id, or -1 when one is outstanding or
 * the channel is closed. Before the greeting it waits for the capabilities negotiation. */
json_int_t yv_chan_qmp_request(yv_chan_qmp *q, const char *cmd, json_t *args, int64_t now,
                               int timeout_ms);

/* ---- the watch ---- */

/* The guest's end of the agent's virtio port: open while an agent runs in it. */
typedef enum { YV_AGENT_UNKNOWN, YV_AGENT_CLOSED, YV_AGENT_OPEN } yv_agent_port;

typedef struct {
    yv_state state; /* as QMP tells it (the monitor shows `invalid` for a broken config) */
    char detail[256];
    char status[32]; /* the last query-status answer */
    /* the drives' byte counters of the last query-blockstats answer (spec §15), and when it was
     * asked (0: none yet) */
    uint64_t rd_bytes, wr_bytes;
    int64_t blk_at;
    /* from the held event socket: one query-chardev when it is opened, then VSERPORT_CHANGE;
     * UNKNOWN until then, and when queries go over .sock (they hear no events) */
    yv_agent_port agent;
} yv_chan_qmp_view;

enum {
    YV_CHAN_QMP_HUNG = 1,  /* the conversation ended unresponsive: worth a VNC probe */
    YV_CHAN_QMP_AGENT = 2, /* the guest opened or closed a virtio serial port (VSERPORT_CHANGE):
                              its agent came or went, worth asking for addresses now */
};

typedef struct yv_chan_qmp_watch yv_chan_qmp_watch;

/* sock and events are the VM's run/<vm>.sock and run/<vm>.events; the first query is due now. */
yv_chan_qmp_watch *yv_chan_qmp_watch_new(const char *sock, const char *events, int refresh_ms,
                                         int timeout_ms, int64_t now);
void yv_chan_qmp_watch_free(yv_chan_qmp_watch *w);
/* Its descriptor for poll() (0 or 1 filled) and when it next needs yv_chan_qmp_watch_handle. */
size_t yv_chan_qmp_watch_pollfd(const yv_chan_qmp_watch *w, struct pollfd *p);
int64_t yv_chan_qmp_watch_due(const yv_chan_qmp_watch *w);
/* Feeds poll() results (0: timers only), ends a conversation past its deadline, starts the next
 * query when due. Returns YV_CHAN_QMP_* flags. */
unsigned yv_chan_qmp_watch_handle(yv_chan_qmp_watch *w, short revents, int64_t now);
void yv_chan_qmp_watch_poke(yv_chan_qmp_watch *w, int64_t now); /* query at once */
/* Asks query-blockstats on the held event socket (now, or after the query under way); the answer
 * fills the view's counters. Nothing when the socket is not held (one exchange per refresh on
 * .sock is for the state only): the counters stay as they are. */
void yv_chan_qmp_watch_want_blockstats(yv_chan_qmp_watch *w, int64_t now);
/* Its QEMU tells VSERPORT_CHANGE of the agent's port (YV_QEMUARGV_AGENT_DEVICE): a closed port is
 * then left to the events, else asked again with each check of the held socket. */
void yv_chan_qmp_watch_port_events(yv_chan_qmp_watch *w, bool tells);
/* The agent's port is being asked (the view's agent is about to be known): an address watch that
 * would connect to the agent waits for it. Ends with the answer, or the conversation. */
bool yv_chan_qmp_watch_agent_pending(const yv_chan_qmp_watch *w);
const yv_chan_qmp_view *yv_chan_qmp_watch_view(const yv_chan_qmp_watch *w);

#endif
