/* vnccheck: does a VNC server answer? A non-blocking RFB handshake (connect, server version, our
 * version, the security types) as a state machine a poll() loop can drive, bounded by a deadline:
 * a listener that accepts and stays silent is "no answer", never a hang. */
#ifndef YV_VNCCHECK_H
#define YV_VNCCHECK_H

#include <stdint.h>

typedef enum {
    YV_VNC_PENDING,   /* still talking */
    YV_VNC_REACHABLE, /* RFB handshake completed */
    YV_VNC_REFUSED,   /* nobody listens */
    YV_VNC_NO_ANSWER, /* accepted, but no RFB within the deadline (or garbage) */
} yv_vnc_result;

typedef struct yv_vnccheck yv_vnccheck;

/* Starts a probe of host:port (numeric IPv4/IPv6). NULL only when out of sockets. */
yv_vnccheck *yv_vnccheck_start(const char *host, int port, int64_t deadline_ms);
int yv_vnccheck_fd(const yv_vnccheck *c);
short yv_vnccheck_poll_events(const yv_vnccheck *c);
/* Feeds poll() results (0 = the deadline check only); returns the result so far. */
yv_vnc_result yv_vnccheck_handle(yv_vnccheck *c, short revents);
void yv_vnccheck_free(yv_vnccheck *c);

/* Blocking convenience for batch: the whole probe within timeout_ms. */
yv_vnc_result yv_vnccheck_probe(const char *host, int port, int timeout_ms);
const char *yv_vnccheck_result_name(yv_vnc_result r);

#endif
