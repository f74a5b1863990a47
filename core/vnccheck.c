#include "vnccheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

typedef enum { ST_CONNECT, ST_VERSION, ST_SECURITY, ST_DONE } step;

struct yv_vnccheck {
    int fd;
    step st;
    int64_t deadline;
    unsigned char buf[64];
    size_t have;
    yv_vnc_result result;
};

static int make_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *sl = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *sl = sizeof *a6;
        return 0;
    }
    return -1;
}

static void finish(yv_vnccheck *c, yv_vnc_result r)
{
    c->result = r;
    c->st = ST_DONE;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

yv_vnccheck *yv_vnccheck_start(const char *host, int port, int64_t deadline_ms)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    yv_vnccheck *c = yv_calloc(1, sizeof *c);
    c->deadline = deadline_ms;
    c->fd = -1;
    c->result = YV_VNC_PENDING;
    /* 0.0.0.0 / :: listen on every address: probe through loopback */
    if (!strcmp(host, "0.0.0.0")) host = "127.0.0.1";
    if (!strcmp(host, "::")) host = "::1";
    if (make_addr(host, port, &ss, &sl) < 0) {
        finish(c, YV_VNC_REFUSED);
        return c;
    }
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        free(c);
        return NULL;
    }
    if (connect(c->fd, (struct sockaddr *)&ss, sl) == 0) c->st = ST_VERSION;
    else if (errno != EINPROGRESS) finish(c, YV_VNC_REFUSED);
    return c;
}

int yv_vnccheck_fd(const yv_vnccheck *c)
{
    return c->fd;
}

short yv_vnccheck_poll_events(const yv_vnccheck *c)
{
    return c->st == ST_CONNECT ? POLLOUT : c->st == ST_DONE ? 0 : POLLIN;
}

/* Reads toward `want` bytes in buf; true when they are there. EOF or an error ends the probe. */
static bool fill(yv_vnccheck *c, size_t want)
{
    while (c->have < want) {
        ssize_t r = recv(c->fd, c->buf + c->have, want - c->have, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return false;
        if (r <= 0) {
            finish(c, YV_VNC_NO_ANSWER);
            return false;
        }
        c->have += (size_t)r;
    }
    return true;
}

static void step_connect(yv_vnccheck *c)
{
    int e = 0;
    socklen_t l = sizeof e;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
    if (e) finish(c, YV_VNC_REFUSED);
    else c->st = ST_VERSION;
}

/* "RFB 003.008\n" from the server; we answer with the same version (at most 3.8). */
static void step_version(yv_vnccheck *c)
{
    if (!fill(c, 12)) return;
    if (memcmp(c->buf, "RFB 003.", 8) != 0 || c->buf[11] != '\n') {
        finish(c, YV_VNC_NO_ANSWER);
        return;
    }
    const char *ours = memcmp(c->buf + 8, "008", 3) >= 0 ? "RFB 003.008\n" : "RFB 003.003\n";
    if (send(c->fd, ours, 12, MSG_NOSIGNAL) != 12) {
        finish(c, YV_VNC_NO_ANSWER);
        return;
    }
    c->have = 0;
    c->st = ST_SECURITY;
}

/* 3.7+: a count and that many security types (0 = a refusal with a reason); 3.3: a u32 type. Either
 * way the server has spoken RFB: the handshake is complete as far as a probe goes. */
static void step_security(yv_vnccheck *c)
{
    if (!fill(c, 1)) return;
    finish(c, YV_VNC_REACHABLE);
}

yv_vnc_result yv_vnccheck_handle(yv_vnccheck *c, short revents)
{
    if (c->st != ST_DONE && revents) {
        if (c->st == ST_CONNECT) step_connect(c);
        else if (c->st == ST_VERSION) step_version(c);
        else if (c->st == ST_SECURITY) step_security(c);
    }
    if (c->st != ST_DONE && yv_now_ms() >= c->deadline) finish(c, YV_VNC_NO_ANSWER);
    return c->result;
}

void yv_vnccheck_free(yv_vnccheck *c)
{
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    free(c);
}

yv_vnc_result yv_vnccheck_probe(const char *host, int port, int timeout_ms)
{
    yv_vnccheck *c = yv_vnccheck_start(host, port, yv_now_ms() + timeout_ms);
    if (!c) return YV_VNC_NO_ANSWER;
    yv_vnc_result r;
    while ((r = yv_vnccheck_handle(c, 0)) == YV_VNC_PENDING) {
        struct pollfd p = {c->fd, yv_vnccheck_poll_events(c), 0};
        int64_t left = c->deadline - yv_now_ms();
        int n = poll(&p, 1, left > 0 ? (int)left : 0);
        if (n > 0) r = yv_vnccheck_handle(c, p.revents ? p.revents : POLLIN);
        if (r != YV_VNC_PENDING) break;
    }
    yv_vnccheck_free(c);
    return r;
}

const char *yv_vnccheck_result_name(yv_vnc_result r)
{
    static const char *const names[] = {"checking", "reachable", "refused", "no answer"};
    return names[r];
}
