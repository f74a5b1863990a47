#include "conn.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

typedef struct tracked {
    struct tracked *prev, *next;
    int fd;
    int64_t since; /* ms: when the current request phase began */
    bool waiting;  /* receiving a request (the deadline applies) */
    bool cut;      /* already shut down by the watchdog */
} tracked;

struct yv_conn_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool stop;
    int64_t deadline_ms;
    tracked *head;
};

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Every half second: a connection still receiving its request past the deadline has its socket shut
 * down; the connection's thread then sees end of file and MHD closes it. */
static void *watchdog(void *arg)
{
    yv_conn_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        int64_t now = mono_ms();
        for (tracked *t = g->head; t; t = t->next)
            if (t->waiting && !t->cut && now - t->since > g->deadline_ms) {
                shutdown(t->fd, SHUT_RDWR);
                t->cut = true;
            }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 500000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->wake, &g->lock, &until);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

yv_conn_guard *yv_conn_guard_start(unsigned request_sec)
{
    yv_conn_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    g->deadline_ms = (int64_t)request_sec * 1000;
    if (pthread_create(&g->thread, NULL, watchdog, g) != 0) {
        pthread_cond_destroy(&g->wake);
        pthread_mutex_destroy(&g->lock);
        free(g);
        return NULL;
    }
    return g;
}

void yv_conn_guard_stop(yv_conn_guard *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->lock);
    g->stop = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    while (g->head) {
        tracked *t = g->head;
        g->head = t->next;
        free(t);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void yv_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                    enum MHD_ConnectionNotificationCode toe)
{
    yv_conn_guard *g = cls;
    tracked *t = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(t = calloc(1, sizeof *t))) return; /* untracked: only the idle timeout */
        t->fd = ci->connect_fd;
        t->since = mono_ms();
        t->waiting = true;
        pthread_mutex_lock(&g->lock);
        t->next = g->head;
        if (g->head) g->head->prev = t;
        g->head = t;
        pthread_mutex_unlock(&g->lock);
        *socket_context = t;
        return;
    }
    if (!t) return;
    pthread_mutex_lock(&g->lock);
    if (t->prev) t->prev->next = t->next;
    else g->head = t->next;
    if (t->next) t->next->prev = t->prev;
    pthread_mutex_unlock(&g->lock);
    free(t);
    *socket_context = NULL;
}

static void set_waiting(yv_conn_guard *g, struct MHD_Connection *c, bool waiting)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    tracked *t = ci ? ci->socket_context : NULL;
    if (!g || !t) return;
    pthread_mutex_lock(&g->lock);
    t->waiting = waiting;
    t->since = mono_ms();
    pthread_mutex_unlock(&g->lock);
}

void yv_conn_request_in(yv_conn_guard *g, struct MHD_Connection *c)
{
    set_waiting(g, c, false);
}

void yv_conn_request_done(yv_conn_guard *g, struct MHD_Connection *c)
{
    set_waiting(g, c, true);
}
