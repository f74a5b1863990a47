/* yave-web: the original YAVE's web API (/v1/vms) on the same core as yave-tui. HTTP(S) with
 * libmicrohttpd, one thread per connection (a graceful stop may take a minute), HTTP Basic checked
 * by PAM. */
#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "conn.h"
#include "core/ops.h"
#include "core/root.h"
#include "core/screenshot.h"
#include "core/util.h"
#include "core/vmstate.h"

static void usage(FILE *out)
{
    fputs("usage: yave-web [--root DIR] [--listen ADDR:PORT]\n\n"
          "Serves the YAVE web API (/v1/vms) for the VMs of the root.\n"
          "  -C, --root DIR        the root (default as yave-tui: $YAVE_ROOT, ./debug, …)\n"
          "  -l, --listen ADDR:PORT where to listen (default: api.listen of config.yaml, else\n"
          "                        127.0.0.1:3000); IPv6 as [::1]:3000\n"
          "Every request needs HTTP Basic credentials of a user in one of api.groups (default\n"
          "yave), checked by the PAM service api.pam_service (default yave). HTTPS when "
          "api.tls.cert\n"
          "and api.tls.key are set.\n",
          out);
}

/* "ADDR:PORT" or "[V6]:PORT" → a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    long port;
    memset(ss, 0, sizeof *ss);
    if (!colon || yv_parse_long(colon + 1, 1, 65535, &port) < 0) return -1;
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof host) return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            return 0;
        }
    }
    return -1;
}

/* GnuTLS priorities: TLS 1.2 and 1.3 only (1.0 and 1.1 are broken and deprecated, RFC 8996) */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Connections: all at once, from one address, and how long one may idle (MHD resets it at every
 * line received) or take to send a request, headers and body (a deadline no trickle resets). */
#define MAX_CONN    256
#define MAX_PER_IP  64
#define IDLE_SEC    30
#define REQUEST_SEC 10

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("yave-web: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* One thread per connection, on purpose: a handler blocks for as long as its verb takes (a preset
 * create waits minutes for the first boot, a graceful stop up to shutdown.timeout), so a bounded
 * pool would let a few such requests starve every other client. Threads are bounded instead by the
 * connection limits, and a slow client loses its thread at the request deadline. */
static struct MHD_Daemon *start_daemon(yv_api *api, const struct sockaddr_storage *sa,
                                       const char *cert, const char *key)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (sa->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                     (cert ? MHD_USE_TLS : 0);
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert},
                                   {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key},
                                   {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
                                   {MHD_OPTION_END, 0, NULL}};
    struct MHD_OptionItem plain[] = {{MHD_OPTION_END, 0, NULL}};
    return MHD_start_daemon(
        flags, 0, NULL, NULL, yv_api_handle, api, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa, MHD_OPTION_NOTIFY_COMPLETED, yv_api_done,
        api, MHD_OPTION_NOTIFY_CONNECTION, yv_conn_notify, api->guard,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_SEC, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)MAX_CONN, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MAX_PER_IP,
        MHD_OPTION_ARRAY, cert ? tls : plain, MHD_OPTION_END);
}

/* The command line: -1 to go on, else the exit status (--help, a bad option). */
static int parse_args(int argc, char **argv, const char **root_opt, const char **listen)
{
    static const struct option lo[] = {{"root", required_argument, NULL, 'C'},
                                       {"listen", required_argument, NULL, 'l'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "C:l:h", lo, NULL)) != -1) {
        if (ch == 'C') *root_opt = optarg;
        else if (ch == 'l') *listen = optarg;
        else if (ch == 'h') return usage(stdout), 0;
        else return usage(stderr), 2;
    }
    return -1;
}

/* The root and its config, checked: true when ready, else false with the exit status (the
 * reason said on stderr, nothing left allocated). */
static bool load_root(yv_api *api, const char *root_opt, int *status)
{
    yv_err err;
    if (!(api->root = yv_root_resolve(root_opt, &err)) || yv_root_ensure(api->root, &err) < 0 ||
        yv_config_load(&api->cfg, api->root, &err) < 0) {
        fprintf(stderr, "yave-web: %s\n", err.msg);
        free(api->root);
        *status = yv_err_exit_status(err.code);
        return false;
    }
    int rc = -1;
    const yv_config *c = &api->cfg;
    if (!c->api_tls_cert != !c->api_tls_key) { /* never plain HTTP by a half setting */
        fprintf(stderr,
                "yave-web: api.tls has %s but no %s: set both (HTTPS) or neither (plain "
                "HTTP)\n",
                c->api_tls_cert ? "cert" : "key", c->api_tls_cert ? "key" : "cert");
        rc = 2;
    } else if (c->api_tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        fprintf(stderr, "yave-web: api.tls is set, but this libmicrohttpd has no TLS support\n");
        rc = 1;
    }
    if (rc < 0) return true;
    yv_config_done(&api->cfg);
    free(api->root);
    *status = rc;
    return false;
}

/* The certificate and key of api.tls (both NULL without TLS): 0, or -1 said on stderr. */
static int read_tls(const yv_config *cfg, char **cert, char **key)
{
    yv_err err;
    *cert = *key = NULL;
    if (!cfg->api_tls_cert) return 0;
    if (!(*cert = yv_root_read_external(cfg->api_tls_cert, NULL, YV_E_IO, &err)) ||
        !(*key = yv_root_read_external(cfg->api_tls_key, NULL, YV_E_IO, &err))) {
        fprintf(stderr, "yave-web: api.tls: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Serves until SIGTERM, SIGINT or SIGHUP (taken by sigwait: blocked here, and in every thread,
 * which inherits the mask). The exit status. */
static int serve(yv_api *api, const struct sockaddr_storage *sa, const char *listen,
                 const char *cert, const char *key)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    yv_conn_guard *guard = yv_conn_guard_start(REQUEST_SEC); /* inherits the signal mask */
    api->guard = guard;
    struct MHD_Daemon *d = guard ? start_daemon(api, sa, cert, key) : NULL;
    if (!d) {
        fprintf(stderr, "yave-web: cannot listen on %s\n", listen);
        yv_conn_guard_stop(guard);
        return 1;
    }
    fprintf(stderr, "yave-web: serving %s on %s%s\n", api->root, cert ? "https://" : "http://",
            listen);
    int sig;
    sigwait(&set, &sig);
    /* a create in flight (a preset's first boot takes minutes) stops now and removes its first-boot
     * QEMU, seed and .part folder; stop_daemon then waits for every connection's thread */
    api->cancel = 1;
    MHD_stop_daemon(d);
    yv_conn_guard_stop(guard);
    return 0;
}

int main(int argc, char **argv)
{
    const char *root_opt = NULL, *listen = NULL;
    int rc = parse_args(argc, argv, &root_opt, &listen);
    if (rc >= 0) return rc;
    yv_api api = {0};
    if (!load_root(&api, root_opt, &rc)) return rc;
    api.pam_service = api.cfg.api_pam_service ? api.cfg.api_pam_service : "yave";
    if (!listen) listen = api.cfg.api_listen ? api.cfg.api_listen : "127.0.0.1:3000";
    struct sockaddr_storage sa;
    if (parse_listen(listen, &sa) < 0) {
        fprintf(stderr, "yave-web: invalid listen address '%s' (ADDR:PORT)\n", listen);
        return 2;
    }
    yv_vmstate_reconcile(api.root, &api.cfg);
    yv_screenshot_sweep(api.root); /* what killed screenshots left in run/ */
    yv_root_sweep_temps(api.root); /* and what killed atomic writes left */
    yv_vmstate_reconcile_firewall(api.root);
    yv_ops_reap(api.root, &api.cfg); /* what creates killed with an earlier yave-web left */
    char *cert, *key;
    if (read_tls(&api.cfg, &cert, &key) < 0) return 1;
    rc = serve(&api, &sa, listen, cert, key);
    if (key) yv_free_secret(key);
    free(cert);
    yv_config_done(&api.cfg);
    free(api.root);
    return rc;
}
