/* api: the original YAVE's /v1/vms routes on our core. */
#ifndef YV_API_H
#define YV_API_H

#include <microhttpd.h>
#include <signal.h>

#include "conn.h"
#include "core/config.h"

#define YV_API_BODY_MAX (64 * 1024)
/* Wait requests served at once: the rest get 503 (each holds a thread for up to 600 s). */
#define YV_API_WAIT_MAX 16
/* POST …/console: the longest timeout a client may ask, and the most of the guest's answer kept. */
#define YV_API_CONSOLE_S   30
#define YV_API_CONSOLE_MAX (64 * 1024)

typedef struct {
    char *root;
    yv_config cfg;
    const char *pam_service;
    yv_conn_guard *guard;         /* the request deadline of every connection */
    volatile sig_atomic_t cancel; /* up when yave-web stops: creates in flight abort and clean up */
    int waits; /* wait and console requests in flight (atomic): each holds a thread */
} yv_api;

/* The MHD access handler (cls = yv_api *). */
enum MHD_Result yv_api_handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req);
/* Frees what the handler kept for a request. */
void yv_api_done(void *cls, struct MHD_Connection *c, void **req,
                 enum MHD_RequestTerminationCode toe);

#endif
