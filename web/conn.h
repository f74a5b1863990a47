/* conn: a deadline on the time a client takes to send a request (its headers, then its body).
 * libmicrohttpd's connection timeout is an idle timeout that every received line resets, so a
 * client sending one header line (or one body byte) every few seconds would hold its connection,
 * and its thread, forever; a watchdog thread shuts down the socket of a connection whose request
 * phase outlasts the deadline. Credentials are checked only once the request is in, so this is
 * the bound on what a client without them can hold. */
#ifndef YV_CONN_H
#define YV_CONN_H

#include <microhttpd.h>

typedef struct yv_conn_guard yv_conn_guard;

/* Starts the watchdog: a request phase may last at most request_sec seconds. NULL on failure. */
yv_conn_guard *yv_conn_guard_start(unsigned request_sec);
/* Stops the watchdog (after MHD_stop_daemon: no connection is left) and frees it. */
void yv_conn_guard_stop(yv_conn_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION (cls = the guard): a new connection's request phase begins; a closed
 * one is forgotten (before MHD closes its socket, so the watchdog never touches a reused fd). */
void yv_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                    enum MHD_ConnectionNotificationCode toe);
/* The access handler's last call of a request: headers and body are in, the deadline is off (the
 * handler may take minutes). */
void yv_conn_request_in(yv_conn_guard *g, struct MHD_Connection *c);
/* A request completed: on a kept-alive connection, the next request's phase begins. */
void yv_conn_request_done(yv_conn_guard *g, struct MHD_Connection *c);

#endif
