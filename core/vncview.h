/* vncview: a live picture of a VM's VNC display for a poll loop (spec §12). libvncclient's calls
 * block (a handshake, and a server message once it has begun: bounded only by its readTimeout), so
 * they run in a worker thread whose only contact with the caller is this API: a pipe that becomes
 * readable when something changed, a picture copied out under a mutex, and a bounded queue of key
 * events. A server that accepts and stays silent, or stalls in the middle of an update, stalls the
 * worker only: the caller sees NO_PICTURE with the reason, and the worker keeps retrying.
 * libvncclient is loaded with dlopen the first time a view opens (it pulls gnutls and gcrypt; no
 * batch command should map them). */
#ifndef YV_VNCVIEW_H
#define YV_VNCVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct yv_vncview yv_vncview;

typedef enum {
    YV_VNCVIEW_CONNECTING, /* the first connection, until its first picture */
    YV_VNCVIEW_LIVE,       /* a picture is there and the server answers */
    YV_VNCVIEW_NO_PICTURE, /* failed, stalled, refused, sent no picture (why); stays while retrying
                            */
} yv_vncview_state;

typedef struct {
    const char *host;     /* "127.0.0.1", "::1" (a numeric address), or a UNIX socket's path */
    int port;             /* TCP port (5900 + display) */
    const char *password; /* the VNC password (copied, wiped on close); NULL: none */
    int timeout_ms;       /* a handshake or a begun message that takes longer fails; 0: 3000 */
    int retry_ms;         /* the wait before connecting again after a failure; 0: 1000 */
} yv_vncview_opts;

typedef struct {
    int x, y, w, h;
} yv_vncview_rect;

/* The caller's copy of the picture, kept in step by yv_vncview_take. */
typedef struct {
    uint8_t *rgba;         /* width*height pixels, 4 bytes each: R, G, B, 255; malloc'd, grows */
    int width, height;     /* 0 before the first picture */
    size_t cap;            /* bytes allocated */
    yv_vncview_rect dirty; /* the region changed by the last take; w == 0: nothing */
} yv_vncview_frame;

/* Starts the worker; NULL with err when libvncclient cannot be loaded or a thread not made. */
yv_vncview *yv_vncview_open(const yv_vncview_opts *o, yv_err *err);
/* Ends the worker without waiting on the server (its socket is shut down to wake it) and frees. */
void yv_vncview_close(yv_vncview *v);
/* Readable when the state or the picture changed; then call yv_vncview_handle. */
int yv_vncview_fd(const yv_vncview *v);
void yv_vncview_handle(yv_vncview *v);
/* The state now; why (may be NULL) gets the reason in words for NO_PICTURE ("" otherwise). */
yv_vncview_state yv_vncview_state_now(yv_vncview *v, char *why, size_t n);
/* Brings f up to date: copies what changed since f's last take (all of it after a size change)
 * and sets f->dirty. False (f unchanged, dirty empty) when there has been no picture yet. */
bool yv_vncview_take(yv_vncview *v, yv_vncview_frame *f);
void yv_vncview_frame_done(yv_vncview_frame *f);
/* The largest desktop side taken from a server (QEMU's own limit is 5120 x 2160). */
#define YV_VNCVIEW_DIM_MAX 8192

typedef struct {
    uint32_t sym; /* an X keysym (rfb/keysym.h) */
    bool down;
} yv_vncview_keyev;

/* Queues the events of one key for the server, all or none: none while 256 are waiting or before
 * the connection's first picture (nothing is typed blind into whatever answers). */
void yv_vncview_keys(yv_vncview *v, const yv_vncview_keyev *ev, size_t n);
void yv_vncview_key(yv_vncview *v, uint32_t keysym, bool down);

#endif
