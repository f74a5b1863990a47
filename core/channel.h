/* channel: one non-blocking conversation with a VM over a socket, fed by the caller's poll() loop
 * and bounded by deadlines: connect → (the peer's greeting) → requests with ids and their replies,
 * with events in between. The channel owns the socket, the byte pump, the one state enum and the
 * one place that decides how a conversation ended (the verdict); a kind (QMP, later the guest
 * agent, the console, the VNC screen) owns only its protocol: it parses the bytes handed to its
 * input hook and tells the channel "greeted" and "this is the reply to id N".
 *
 * Rules every kind gets for free: one request outstanding at a time (a second is refused: busy);
 * a request made before the greeting is held and sent after the kind's own handshake; a deadline
 * counts while connecting, greeting or waiting for a reply, never while idle (events may come any
 * time); any end closes the socket at once (QEMU serves one client per socket). */
#ifndef YV_CHANNEL_H
#define YV_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum {
    YV_CHAN_CLOSED,     /* no socket: never opened, or ended (the verdict says how) */
    YV_CHAN_CONNECTING, /* connect() under way */
    YV_CHAN_GREETING,   /* connected, the kind waits for the peer to speak first */
    YV_CHAN_READY,      /* open, nothing outstanding: events may arrive */
    YV_CHAN_WAITING,    /* a request is outstanding: its deadline counts */
} yv_chan_state;

typedef enum {
    YV_CHAN_OK,           /* no failure: the last request (if any) was answered */
    YV_CHAN_BUSY,         /* the peer serves another client on this socket: not hung */
    YV_CHAN_UNRESPONSIVE, /* no answer before the deadline, or a broken conversation */
    YV_CHAN_GONE,         /* the peer closed the connection */
} yv_chan_verdict;

typedef struct yv_chan yv_chan;

typedef struct {
    const char *name; /* "QMP": how messages name the peer */
    bool greets;      /* the peer speaks first (QMP, RFB): GREETING until the kind says so */
    /* Bytes arrived: the kind frames and parses them, and calls back yv_chan_greeted,
     * yv_chan_replied and yv_chan_write. -1 (err set): the conversation is broken. */
    int (*input)(yv_chan *c, const char *buf, size_t n, yv_err *err);
} yv_chan_kind;

/* Whether a client other than own_fd is connected to the socket at path (QEMU keeps others
 * waiting: busy, not hung). NULL: never busy. */
typedef bool (*yv_chan_busy_fn)(const char *path, int own_fd);

/* impl is the kind's state, returned by yv_chan_impl (the kind frees it, not the channel). */
yv_chan *yv_chan_new(const yv_chan_kind *kind, void *impl, yv_chan_busy_fn busy);
void yv_chan_free(yv_chan *c); /* closes the socket */

/* Starts a non-blocking connect to the UNIX socket at path; the open phase (connect and greeting)
 * must end within timeout_ms. -1 (err set, verdict decided, CLOSED) when it fails at once. */
int yv_chan_open(yv_chan *c, const char *path, int64_t now, int timeout_ms, yv_err *err);
/* Adopts a connected descriptor (tests: one end of a socketpair); the open phase as above. */
void yv_chan_adopt(yv_chan *c, int fd, int64_t now, int timeout_ms);
/* Ends the conversation from our side (the verdict stays). */
void yv_chan_close(yv_chan *c);

yv_chan_state yv_chan_state_of(const yv_chan *c);
yv_chan_verdict yv_chan_verdict_of(const yv_chan *c);
const char *yv_chan_why(const yv_chan *c); /* the verdict in words; "" when OK */
void *yv_chan_impl(const yv_chan *c);

/* For poll(): the descriptor (-1 when CLOSED), the events, and the deadline (INT64_MAX: none). */
int yv_chan_fd(const yv_chan *c);
short yv_chan_poll_events(const yv_chan *c);
int64_t yv_chan_deadline(const yv_chan *c);
/* Feeds poll() results (0: the deadline check only): connects, writes, reads and hands the bytes
 * to the kind; then a passed deadline ends the conversation. */
void yv_chan_handle(yv_chan *c, short revents, int64_t now);

/* Sends a request with this id (its bytes, framed by the kind): -1 when one is outstanding or the
 * channel is CLOSED. Its reply is due within timeout_ms (or by the open deadline, if earlier). */
int yv_chan_request(yv_chan *c, int64_t id, const char *buf, size_t n, int64_t now, int timeout_ms);
bool yv_chan_outstanding(const yv_chan *c);

/* ---- for kinds ---- */

/* Queues bytes (a handshake, a command without reply) ahead of anything held. */
void yv_chan_write(yv_chan *c, const char *buf, size_t n);
/* The greeting (and the kind's answer to it) is done: held requests go out. */
void yv_chan_greeted(yv_chan *c);
/* A reply with this id arrived: true when it answers the outstanding request. */
bool yv_chan_replied(yv_chan *c, int64_t id);

/* The non-blocking connect both the channel and the blocking QMP client use: the descriptor, with
 * *pending when the connect is under way. ENOENT/ECONNREFUSED → VM_NOT_RUNNING, a full queue →
 * TIMEOUT (what names the peer in messages). */
int yv_chan_unix_connect(const char *path, const char *what, bool *pending, yv_err *err);

#endif
