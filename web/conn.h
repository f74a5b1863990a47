/* conn: a deadline on the time a client takes to send a request's headers. libmicrohttpd's
 * connection timeout is an idle timeout that every received line resets, so a client sending one
 * header line every few seconds would hold its connection (and its thread) forever; a watchdog
 * thread shuts down the socket of a connection whose header phase outlasts the deadline. */
#ifndef YV_CONN_H
#define YV_CONN_H

#include <microhttpd.h>

typedef struct yv_conn_guard yv_conn_guard;

/* Starts the watchdog: a header phase may last at most header_sec seconds. NULL on failure. */
yv_conn_guard *yv_conn_guard_start(unsigned header_sec);
/* Stops the watchdog (after MHD_stop_daemon: no connection is left) and frees it. */
void yv_conn_guard_stop(yv_conn_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION (cls = the guard): a new connection's header phase begins; a closed
 * one is forgotten (before MHD closes its socket, so the watchdog never touches a reused fd). */
void yv_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                    enum MHD_ConnectionNotificationCode toe);
/* The access handler's first call of a request: its headers are in, the deadline is off. */
void yv_conn_headers_done(yv_conn_guard *g, struct MHD_Connection *c);
/* A request completed: on a kept-alive connection, the next request's header phase begins. */
void yv_conn_request_done(yv_conn_guard *g, struct MHD_Connection *c);

#endif
