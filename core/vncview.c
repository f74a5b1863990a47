#include "vncview.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/rfbclient.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* libvncclient is loaded on first use, not linked (see the header). The pointers keep the header's
 * types, so a changed prototype still fails the build. */
#define VNC_FUNCS(X)                                                                               \
    X(rfbGetClient)                                                                                \
    X(rfbInitClient)                                                                               \
    X(rfbClientCleanup)                                                                            \
    X(HandleRFBServerMessage)                                                                      \
    X(SendKeyEvent)                                                                                \
    X(rfbClientSetClientData)                                                                      \
    X(rfbClientGetClientData)                                                                      \
    X(SetClientAuthSchemes)

#define VNC_SONAME "libvncclient.so.1"
#define VNC_PTR(f) __typeof__(f) *f; /* NOLINT(bugprone-macro-parentheses): f names a member */
static struct {
    VNC_FUNCS(VNC_PTR)
    char error[256]; /* why it could not be loaded; empty when loaded */
} vnc_lib;
#undef VNC_PTR

#define KEYS_MAX 256

struct yv_vncview {
    pthread_mutex_t mu;
    pthread_t thread;
    int notify[2]; /* worker → caller: something changed (one byte at most is pending) */
    int wake[2];   /* caller → worker: keys queued, or stop */
    char *host, *password;
    int port, timeout_ms, retry_ms;
    /* Shared with the worker, under mu. */
    bool stop, notify_pending, have_pic;
    bool session_pic; /* a picture came on this connection (before it, the wait is bounded) */
    bool too_big;     /* the server named a desktop larger than YV_VNCVIEW_DIM_MAX */
    int sock;         /* a dup of the client's socket while it has one: close shuts it down; -1 */
    yv_vncview_state state;
    char why[160];
    uint8_t *pic; /* pw*ph RGBA pixels */
    int pw, ph;
    yv_vncview_rect dirty; /* changed since the last take */
    struct {
        uint32_t sym;
        bool down;
    } keys[KEYS_MAX];
    unsigned khead, kcount;
    /* The worker's own. */
    uint8_t *fb; /* the client's frameBuffer: ours, because rfbClientCleanup leaves it */
};

/* The library's last message on this thread (each view's worker is a thread of its own): the
 * reason of a failure in words. Nothing goes to stderr: the terminal belongs to curses. */
static __thread char vnc_last[256];

static void vnc_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vnc_last, sizeof vnc_last, fmt, ap);
    va_end(ap);
    vnc_last[strcspn(vnc_last, "\n")] = '\0';
}

static void vnc_load_once(void)
{
    void *h = dlopen(VNC_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
#define VNC_SYM(f)                                                                                 \
    if (h && !missing && !(vnc_lib.f = (__typeof__(f) *)dlsym(h, #f))) missing = #f;
    VNC_FUNCS(VNC_SYM)
#undef VNC_SYM
    /* The log hooks are variables: dlsym gives their address. */
    __typeof__(rfbClientLog) *log = h ? dlsym(h, "rfbClientLog") : NULL;
    __typeof__(rfbClientErr) *elog = h ? dlsym(h, "rfbClientErr") : NULL;
    if (h && !missing && (!log || !elog)) missing = "rfbClientLog";
    if (!h)
        snprintf(vnc_lib.error, sizeof vnc_lib.error, "cannot load %s: %s", VNC_SONAME, dlerror());
    else if (missing)
        snprintf(vnc_lib.error, sizeof vnc_lib.error, "%s has no %s", VNC_SONAME, missing);
    else *log = *elog = vnc_log;
}

static char vnc_tag; /* the client-data key of the view */

static yv_vncview *view_of(rfbClient *cl)
{
    return vnc_lib.rfbClientGetClientData(cl, &vnc_tag);
}

/* Never the library's default, which reads the terminal. The library wipes and frees the copy,
 * but only the 8 characters VNC authentication uses: so the copy holds no more. */
static char *vv_password(rfbClient *cl)
{
    yv_vncview *v = view_of(cl);
    return v->password ? strndup(v->password, 8) : NULL;
}

/* Writes the notify byte unless one is pending (a burst of updates costs the caller one wakeup). */
static void vv_notify_locked(yv_vncview *v)
{
    if (v->notify_pending) return;
    if (write(v->notify[1], "x", 1) == 1) v->notify_pending = true;
}

static void vv_set_state(yv_vncview *v, yv_vncview_state st, const char *why)
{
    pthread_mutex_lock(&v->mu);
    if (v->state != st || strcmp(v->why, why) != 0) {
        v->state = st;
        snprintf(v->why, sizeof v->why, "%s", why);
        vv_notify_locked(v);
    }
    pthread_mutex_unlock(&v->mu);
}

static bool vv_stopped(yv_vncview *v)
{
    pthread_mutex_lock(&v->mu);
    bool s = v->stop;
    pthread_mutex_unlock(&v->mu);
    return s;
}

/* Also for a size change (the library calls it again). */
static rfbBool vv_malloc_fb(rfbClient *cl)
{
    yv_vncview *v = view_of(cl);
    free(v->fb);
    v->fb = NULL;
    cl->frameBuffer = NULL;
    /* A server names any size up to 65535 x 65535 (17 GB of pixels, copied twice): QEMU's own
     * limit is far below this, so a bigger desktop is a hostile or broken server. */
    if (cl->width <= 0 || cl->height <= 0 || cl->width > YV_VNCVIEW_DIM_MAX ||
        cl->height > YV_VNCVIEW_DIM_MAX) {
        pthread_mutex_lock(&v->mu);
        v->too_big = true;
        pthread_mutex_unlock(&v->mu);
        return FALSE;
    }
    size_t n = (size_t)cl->width * (size_t)cl->height * (size_t)(cl->format.bitsPerPixel / 8);
    v->fb = calloc(n ? n : 1, 1);
    cl->frameBuffer = v->fb;
    return v->fb != NULL;
}

/* Converts rows of the client's pixels (32 bits, the format it asked for) to R, G, B, 255. */
static void vv_convert(const rfbClient *cl, uint8_t *dst, int x, int y, int w, int h)
{
    const rfbPixelFormat *pf = &cl->format;
    for (int r = y; r < y + h; r++) {
        const uint8_t *s = cl->frameBuffer + ((size_t)r * (size_t)cl->width + (size_t)x) * 4;
        uint8_t *d = dst + ((size_t)r * (size_t)cl->width + (size_t)x) * 4;
        for (int c = 0; c < w; c++, s += 4, d += 4) {
            uint32_t p;
            memcpy(&p, s, 4); /* host order: the library asks for the host's byte order */
            d[0] = (uint8_t)(p >> pf->redShift);
            d[1] = (uint8_t)(p >> pf->greenShift);
            d[2] = (uint8_t)(p >> pf->blueShift);
            d[3] = 255;
        }
    }
}

static void vv_dirty_add(yv_vncview_rect *d, int x, int y, int w, int h)
{
    if (d->w == 0) {
        *d = (yv_vncview_rect){x, y, w, h};
        return;
    }
    int x1 = d->x + d->w > x + w ? d->x + d->w : x + w;
    int y1 = d->y + d->h > y + h ? d->y + d->h : y + h;
    d->x = d->x < x ? d->x : x;
    d->y = d->y < y ? d->y : y;
    d->w = x1 - d->x;
    d->h = y1 - d->y;
}

/* Copies the changed rectangle into the shared picture; all of it after a size change. */
static void vv_update(rfbClient *cl, int x, int y, int w, int h)
{
    yv_vncview *v = view_of(cl);
    if (cl->width <= 0 || cl->height <= 0) return;
    /* Clip: a server's rectangle is not trusted to lie inside the picture. */
    if (x < 0 || y < 0 || x >= cl->width || y >= cl->height || w <= 0 || h <= 0) return;
    if (w > cl->width - x) w = cl->width - x;
    if (h > cl->height - y) h = cl->height - y;
    pthread_mutex_lock(&v->mu);
    if (v->pw != cl->width || v->ph != cl->height) {
        v->pic = yv_realloc(v->pic, (size_t)cl->width * (size_t)cl->height * 4);
        v->pw = cl->width;
        v->ph = cl->height;
        x = y = 0;
        w = v->pw;
        h = v->ph;
        v->dirty = (yv_vncview_rect){0};
    }
    vv_convert(cl, v->pic, x, y, w, h);
    vv_dirty_add(&v->dirty, x, y, w, h);
    v->have_pic = true;
    v->session_pic = true;
    v->state = YV_VNCVIEW_LIVE;
    v->why[0] = '\0';
    vv_notify_locked(v);
    pthread_mutex_unlock(&v->mu);
}

static void vv_drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

/* Waits for the non-blocking connect (or a stop); 0 when connected, else an errno. */
static int vv_wait_connected(yv_vncview *v, int fd)
{
    int64_t end = yv_now_ms() + v->timeout_ms;
    for (;;) {
        int64_t left = end - yv_now_ms();
        if (left <= 0) return ETIMEDOUT;
        struct pollfd p[2] = {{fd, POLLOUT, 0}, {v->wake[0], POLLIN, 0}};
        if (poll(p, 2, (int)left) < 0 && errno != EINTR) return errno;
        if (p[1].revents) vv_drain(v->wake[0]);
        if (vv_stopped(v)) return ECANCELED;
        if (!p[0].revents) continue;
        int e = 0;
        socklen_t l = sizeof e;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0) return errno;
        return e;
    }
}

/* Connects here rather than in the library: the wait is interruptible by close, and the reason of
 * a refusal is an errno, not a log line. The socket stays non-blocking (the library's readTimeout
 * counts its waits on EAGAIN). */
/* A UNIX socket (a remote VM's display forwarded by ssh into our private folder, spec §14). */
static int vv_connect_unix(yv_vncview *v, char *why, size_t n)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(v->host) >= sizeof sa.sun_path) {
        snprintf(why, n, "the socket path is too long");
        return -1;
    }
    memcpy(sa.sun_path, v->host, strlen(v->host) + 1);
    int e = 0, fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) e = errno;
    else if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        e = errno == EINPROGRESS || errno == EAGAIN ? vv_wait_connected(v, fd) : errno;
    if (!e) return fd;
    if (fd >= 0) close(fd);
    snprintf(why, n, "cannot connect: %s", strerror(e));
    return -1;
}

static int vv_connect(yv_vncview *v, char *why, size_t n)
{
    if (v->host[0] == '/') return vv_connect_unix(v, why, n);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", v->port);
    if (getaddrinfo(v->host, port, &hints, &ai) != 0 || !ai) {
        snprintf(why, n, "%s is not a numeric address", v->host);
        return -1;
    }
    int e = 0, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) e = errno;
    else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        e = errno == EINPROGRESS ? vv_wait_connected(v, fd) : errno;
    freeaddrinfo(ai);
    int one = 1;
    if (!e && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) e = errno;
    if (!e) return fd;
    if (fd >= 0) close(fd);
    if (e == ECONNREFUSED) snprintf(why, n, "connection refused");
    else if (e == ETIMEDOUT) snprintf(why, n, "the VNC server did not answer");
    else snprintf(why, n, "cannot connect: %s", strerror(e));
    return -1;
}

/* The reason of a failed handshake (mid = false) or server message (mid = true), from the
 * library's last message; the password is never in one. */
static void vv_why(bool mid, char *why, size_t n)
{
    const char *m = vnc_last;
    char esc[200];
    if (strstr(m, "Unknown authentication scheme")) /* none the client allows: see vv_client */
        snprintf(why, n, "the VNC server does not offer the authentication this VM uses");
    else if (strstr(m, "uthentication")) snprintf(why, n, "VNC authentication failed");
    else if (strstr(m, "Reading password failed"))
        snprintf(why, n, "the VNC server wants a password");
    else if (strstr(m, "timed out"))
        snprintf(why, n,
                 mid ? "the VNC server stopped in the middle of an update"
                     : "the VNC server did not answer");
    else if (!*m || strstr(m, "closed connection") || strstr(m, "reset by peer") ||
             !strncmp(m, "write", 5))
        snprintf(why, n, "the VNC server closed the connection");
    else if (strstr(m, "Not a valid VNC server")) snprintf(why, n, "not a VNC server");
    else {
        yv_err_escape(m, esc, sizeof esc); /* a server's reason may hold anything */
        snprintf(why, n, "VNC: %s", esc);
    }
}

static rfbClient *vv_client(yv_vncview *v, int fd)
{
    rfbClient *cl = vnc_lib.rfbGetClient(8, 3, 4);
    if (!cl) return NULL;
    vnc_lib.rfbClientSetClientData(cl, &vnc_tag, v);
    free(cl->serverHost);             /* rfbGetClient's own "" */
    cl->serverHost = strdup(v->host); /* malloc'd: rfbClientCleanup frees it */
    cl->serverPort = v->port;
    cl->sock = fd;
    cl->listenSpecified = TRUE; /* connected already: rfbInitClient starts with the handshake */
    cl->connectTimeout = cl->readTimeout = (v->timeout_ms + 999) / 1000;
    cl->GetPassword = vv_password;
    /* Only the scheme the VM was given: VNC authentication with a password, none without. A
     * server that offers anything else (None to harvest what is typed into a look-alike login,
     * TLS whose own waits escape the timeout) is refused: whatever listens on the port once the
     * VM is gone is not the VM. */
    static const uint32_t with_pw[] = {rfbVncAuth}, without_pw[] = {rfbNoAuth};
    if (v->password) vnc_lib.SetClientAuthSchemes(cl, with_pw, 1);
    else vnc_lib.SetClientAuthSchemes(cl, without_pw, 1);
    cl->MallocFrameBuffer = vv_malloc_fb;
    cl->GotFrameBufferUpdate = vv_update;
    /* Lossless only: the picture is the guest's screen, and on 127.0.0.1 raw costs least. */
    cl->appData.encodingsString = "raw copyrect zrle hextile";
    return cl;
}

/* Publishes a dup of the socket for close to shut down; false when a stop came first. */
static bool vv_publish(yv_vncview *v, int fd)
{
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    pthread_mutex_lock(&v->mu);
    bool ok = !v->stop && d >= 0;
    if (ok) v->sock = d;
    else if (d >= 0) close(d);
    pthread_mutex_unlock(&v->mu);
    return ok;
}

static void vv_unpublish(yv_vncview *v)
{
    pthread_mutex_lock(&v->mu);
    if (v->sock >= 0) close(v->sock);
    v->sock = -1;
    pthread_mutex_unlock(&v->mu);
}

/* Sends the queued keys (taken under the mutex, sent outside it). */
static bool vv_send_keys(yv_vncview *v, rfbClient *cl)
{
    __typeof__(v->keys) k;
    pthread_mutex_lock(&v->mu);
    unsigned n = v->kcount;
    for (unsigned i = 0; i < n; i++) k[i] = v->keys[(v->khead + i) % KEYS_MAX];
    v->khead = v->kcount = 0;
    pthread_mutex_unlock(&v->mu);
    for (unsigned i = 0; i < n; i++)
        if (!vnc_lib.SendKeyEvent(cl, k[i].sym, k[i].down)) return false;
    return true;
}

/* The poll timeout of the wait for this connection's first picture: -1 once it came, 0 when
 * the time is up. */
static int vv_first_wait(yv_vncview *v, int64_t by)
{
    pthread_mutex_lock(&v->mu);
    bool got = v->session_pic;
    pthread_mutex_unlock(&v->mu);
    if (got) return -1;
    int64_t left = by - yv_now_ms();
    return left <= 0 ? 0 : (int)left;
}

/* The live connection: sleeps in poll without a timeout while the screen is idle. Returns when
 * the connection fails (why set) or a stop is asked. */
static void vv_run(yv_vncview *v, rfbClient *cl, char *why, size_t n)
{
    struct pollfd p[2] = {{cl->sock, POLLIN, 0}, {v->wake[0], POLLIN, 0}};
    if (!vv_send_keys(v, cl)) { /* typed while it connected */
        vv_why(true, why, n);
        return;
    }
    /* A server answers the first request with the whole picture at once: one that completed
     * the handshake and then sends none within the timeout is as good as silent. Once a picture
     * came, an idle screen is waited on without a timeout (no wake-ups). */
    int64_t first_by = yv_now_ms() + v->timeout_ms;
    for (;;) {
        if (cl->buffered == 0) { /* what the library read ahead is not in the socket */
            int left = vv_first_wait(v, first_by);
            if (left == 0) {
                snprintf(why, n, "the VNC server sent no picture");
                return;
            }
            int r = poll(p, 2, left);
            if (r == 0) continue;
            if (r < 0) {
                if (errno == EINTR) continue;
                snprintf(why, n, "poll: %s", strerror(errno));
                return;
            }
            if (p[1].revents) {
                vv_drain(v->wake[0]);
                if (vv_stopped(v)) return;
                vnc_last[0] = '\0';
                if (!vv_send_keys(v, cl)) {
                    vv_why(true, why, n);
                    return;
                }
            }
            if (!p[0].revents) continue;
        }
        vnc_last[0] = '\0';
        /* It also asks for the next incremental update itself (0.9.14 rfbproto.c). */
        if (!vnc_lib.HandleRFBServerMessage(cl)) {
            vv_why(true, why, n);
            return;
        }
    }
}

static void vv_session(yv_vncview *v, char *why, size_t n)
{
    int fd = vv_connect(v, why, n);
    if (fd < 0) return;
    rfbClient *cl = vv_client(v, fd);
    if (!cl) {
        close(fd);
        snprintf(why, n, "cannot create a VNC client");
        return;
    }
    if (!vv_publish(v, fd)) {
        if (!vv_stopped(v)) snprintf(why, n, "cannot duplicate the socket: %s", strerror(errno));
    } else {
        vnc_last[0] = '\0';
        /* On failure it has freed cl itself (and closed fd). */
        if (!vnc_lib.rfbInitClient(cl, NULL, NULL)) {
            vv_why(false, why, n);
            cl = NULL;
        } else vv_run(v, cl, why, n);
    }
    if (cl) vnc_lib.rfbClientCleanup(cl);
    pthread_mutex_lock(&v->mu);
    if (v->too_big)
        snprintf(why, n, "the VNC server's desktop is larger than %dx%d", YV_VNCVIEW_DIM_MAX,
                 YV_VNCVIEW_DIM_MAX);
    v->too_big = false;
    pthread_mutex_unlock(&v->mu);
    vv_unpublish(v);
    free(v->fb);
    v->fb = NULL;
}

/* Waits ms, or until a stop. */
static void vv_pause(yv_vncview *v, int ms)
{
    int64_t end = yv_now_ms() + ms;
    while (!vv_stopped(v)) {
        int64_t left = end - yv_now_ms();
        if (left <= 0) return;
        struct pollfd p = {v->wake[0], POLLIN, 0};
        if (poll(&p, 1, (int)left) > 0) vv_drain(v->wake[0]);
    }
}

static void *vv_worker(void *arg)
{
    yv_vncview *v = arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE); /* the library writes with write(): a closed peer is EPIPE here */
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    char why[160];
    bool failed = false;
    while (!vv_stopped(v)) {
        /* after a failure the view keeps saying why while it tries again: "connecting…" for the
         * seconds of each attempt would hide that there has been no picture for minutes */
        if (!failed) vv_set_state(v, YV_VNCVIEW_CONNECTING, "");
        pthread_mutex_lock(&v->mu);
        v->session_pic = false;
        pthread_mutex_unlock(&v->mu);
        why[0] = '\0';
        vv_session(v, why, sizeof why);
        if (vv_stopped(v)) break;
        vv_set_state(v, YV_VNCVIEW_NO_PICTURE, why);
        failed = true;
        pthread_mutex_lock(&v->mu);
        v->kcount = 0; /* keys typed at a dead connection go nowhere */
        pthread_mutex_unlock(&v->mu);
        vv_pause(v, v->retry_ms);
    }
    return NULL;
}

static bool vv_pipe(int p[2])
{
    return pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0;
}

static void vv_free(yv_vncview *v)
{
    for (int i = 0; i < 2; i++) {
        if (v->notify[i] >= 0) close(v->notify[i]);
        if (v->wake[i] >= 0) close(v->wake[i]);
    }
    if (v->password) explicit_bzero(v->password, strlen(v->password));
    free(v->password);
    free(v->host);
    free(v->pic);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

yv_vncview *yv_vncview_open(const yv_vncview_opts *o, yv_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, vnc_load_once);
    if (vnc_lib.error[0]) {
        yv_err_set(err, YV_E_FAIL, "libvncclient: %s", vnc_lib.error);
        return NULL;
    }
    yv_vncview *v = yv_calloc(1, sizeof *v);
    pthread_mutex_init(&v->mu, NULL);
    v->notify[0] = v->notify[1] = v->wake[0] = v->wake[1] = v->sock = -1;
    v->host = yv_strdup(o->host ? o->host : "127.0.0.1");
    v->password = o->password ? yv_strdup(o->password) : NULL;
    v->port = o->port;
    v->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 3000;
    v->retry_ms = o->retry_ms > 0 ? o->retry_ms : 1000;
    v->state = YV_VNCVIEW_CONNECTING;
    if (!vv_pipe(v->notify) || !vv_pipe(v->wake)) {
        yv_err_sys(err, YV_E_FAIL, errno, "cannot make a pipe");
        vv_free(v);
        return NULL;
    }
    /* the worker takes none of the TUI's signals (a SIGWINCH landing in the library's select
     * would end the connection): it starts with all blocked */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&v->thread, NULL, vv_worker, v);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        yv_err_sys(err, YV_E_FAIL, e, "cannot start the VNC thread");
        vv_free(v);
        return NULL;
    }
    pthread_setname_np(v->thread, "yave-vncview"); /* its own line in top -H, and for the test */
    return v;
}

void yv_vncview_close(yv_vncview *v)
{
    if (!v) return;
    pthread_mutex_lock(&v->mu);
    v->stop = true;
    /* Wakes a worker blocked in the library's read at once: a stalled server cannot hold us. */
    if (v->sock >= 0) shutdown(v->sock, SHUT_RDWR);
    pthread_mutex_unlock(&v->mu);
    if (write(v->wake[1], "q", 1) < 0) {
        /* full: a wake byte is pending already */
    }
    pthread_join(v->thread, NULL);
    vv_free(v);
}

int yv_vncview_fd(const yv_vncview *v)
{
    return v->notify[0];
}

void yv_vncview_handle(yv_vncview *v)
{
    pthread_mutex_lock(&v->mu);
    v->notify_pending = false;
    vv_drain(v->notify[0]);
    pthread_mutex_unlock(&v->mu);
}

yv_vncview_state yv_vncview_state_now(yv_vncview *v, char *why, size_t n)
{
    pthread_mutex_lock(&v->mu);
    yv_vncview_state st = v->state;
    if (why && n) snprintf(why, n, "%s", st == YV_VNCVIEW_NO_PICTURE ? v->why : "");
    pthread_mutex_unlock(&v->mu);
    return st;
}

bool yv_vncview_take(yv_vncview *v, yv_vncview_frame *f)
{
    f->dirty = (yv_vncview_rect){0};
    pthread_mutex_lock(&v->mu);
    if (!v->have_pic) {
        pthread_mutex_unlock(&v->mu);
        return false;
    }
    size_t row = (size_t)v->pw * 4, need = row * (size_t)v->ph;
    if (!f->rgba || f->width != v->pw || f->height != v->ph) {
        if (!f->rgba || f->cap < need) {
            f->rgba = yv_realloc(f->rgba, need);
            f->cap = need;
        }
        memcpy(f->rgba, v->pic, need);
        f->width = v->pw;
        f->height = v->ph;
        f->dirty = (yv_vncview_rect){0, 0, v->pw, v->ph};
    } else if (v->dirty.w > 0) {
        const yv_vncview_rect *d = &v->dirty;
        for (int y = d->y; y < d->y + d->h; y++)
            memcpy(f->rgba + (size_t)y * row + (size_t)d->x * 4,
                   v->pic + (size_t)y * row + (size_t)d->x * 4, (size_t)d->w * 4);
        f->dirty = *d;
    }
    v->dirty = (yv_vncview_rect){0};
    pthread_mutex_unlock(&v->mu);
    return true;
}

void yv_vncview_frame_done(yv_vncview_frame *f)
{
    free(f->rgba);
    *f = (yv_vncview_frame){0};
}

void yv_vncview_key(yv_vncview *v, uint32_t keysym, bool down)
{
    yv_vncview_keys(v, &(yv_vncview_keyev){keysym, down}, 1);
}

void yv_vncview_keys(yv_vncview *v, const yv_vncview_keyev *ev, size_t n)
{
    pthread_mutex_lock(&v->mu);
    /* all of a key's events or none (a lost release would leave Shift held in the guest); none
     * before this connection's first picture: the user cannot see what they would type into */
    if (v->session_pic && v->kcount + n <= KEYS_MAX)
        for (size_t k = 0; k < n; k++) {
            unsigned i = (v->khead + v->kcount++) % KEYS_MAX;
            v->keys[i].sym = ev[k].sym;
            v->keys[i].down = ev[k].down;
        }
    pthread_mutex_unlock(&v->mu);
    if (write(v->wake[1], "k", 1) < 0) {
        /* full: the worker has a wake pending already */
    }
}
