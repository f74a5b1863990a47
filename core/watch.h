/* watch: the `watch` verb (spec §14) — the state of every VM of a root, then a line per change as
 * it happens, driven by the TUI's monitor (QMP events, pidfds, inotify on the root), until its
 * input ends, a signal raises the caller's stop flag, or its reader goes away. With json: one
 * object a line, {"vm": <status object>} / {"gone": "name"}, and one {"synced": true} once the
 * first state of every VM is queued: the stream a remote TUI reads.
 *
 * A slow reader never makes it buffer without bound: the output queue (yv_watch_q, pure) holds at
 * most one line per VM waiting (a newer one replaces it where it stands: intermediate states are
 * dropped, never the latest) plus the line being written, which is finished before any other. */
#ifndef YV_WATCH_H
#define YV_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* ---- the output queue ---- */

typedef struct yv_watch_q yv_watch_q;

yv_watch_q *yv_watch_q_new(void);
void yv_watch_q_free(yv_watch_q *q);
/* Queues line (a '\n' is added) under key: a line of the same key still waiting (not begun) is
 * replaced where it stands. key NULL: never replaced (the synced line). */
void yv_watch_q_put(yv_watch_q *q, const char *key, const char *line);
/* The lines not fully written yet, the one begun included. */
size_t yv_watch_q_pending(const yv_watch_q *q);
/* Writes what is queued to fd: a non-blocking fd until it would block or all is written; once (a
 * blocking fd poll said is writable): a single write of at most PIPE_BUF bytes, which does not
 * block. A line begun is always continued first. 0, or -1 with errno (EPIPE: the reader left). */
int yv_watch_q_write(yv_watch_q *q, int fd, bool once);

/* ---- the verb ---- */

typedef enum {
    YV_WATCH_INPUT_ENDED,   /* in ended (end of file or hangup) */
    YV_WATCH_STOPPED,       /* *stop went up (a signal) */
    YV_WATCH_OUTPUT_GONE,   /* out's reader went away (EPIPE, POLLERR) */
    YV_WATCH_READER_SILENT, /* heartbeat_ms: nothing came on in for three beats */
} yv_watch_end;

typedef struct {
    const char *root;
    const yv_config *cfg;
    int in;         /* its end ends the watch (bytes read are dropped) */
    int out;        /* the lines; a pipe gets a non-blocking description of its own */
    bool json;      /* one object a line; else `NAME STATE ADDRESS VNC FORWARDS` / `NAME gone` */
    int refresh_ms; /* the monitor's refresh (0: its default) */
    /* a remote TUI's liveness (spec §14; 0: none): {"alive":true} goes out when nothing did for
     * this long (its reader tells a silent host from a quiet one), and the watch ends when `in`
     * brought nothing for 3 times as long (the reader writes a newline that often: a connection
     * that died unseen, a cable pulled, must not leave this watch and its QMP sockets behind) */
    int heartbeat_ms;
    const volatile sig_atomic_t *stop; /* ends it when it goes up; NULL: none */
    const sigset_t *mask; /* the signal mask while waiting (ppoll): the signals that raise stop are
                             blocked outside the wait, so none is missed; NULL: unchanged */
} yv_watch_opts;

yv_watch_end yv_watch_run(const yv_watch_opts *o);
const char *yv_watch_end_name(yv_watch_end e);

#endif
