/* qmp: a non-blocking QMP client. The connection is a small state machine fed by poll(): bytes in →
 * lines → classified messages (greeting, return, error, event) in a queue; commands out carry ids,
 * except a pipeline's, whose answers are told by their order.
 * The TUI's loop drives it; batch uses the blocking helpers at the bottom, which wait on the same
 * machine under deadlines. QEMU serves one client per socket: never keep a connection while waiting
 * for something else. */
#ifndef YV_QMP_H
#define YV_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define YV_QMP_LINE_MAX (10 * 1024 * 1024) /* libvirt's cap; query-qmp-schema is ~200 KB */

typedef enum {
    YV_QMP_GREETING,
    YV_QMP_RETURN,
    YV_QMP_ERROR,
    YV_QMP_EVENT,
    YV_QMP_UNKNOWN,
} yv_qmp_kind;

typedef struct {
    yv_qmp_kind kind;
    json_t *json;      /* the whole message (owned by the receiver of yv_qmp_pop) */
    json_int_t id;     /* our numeric id, or -1 when absent / not ours */
    const char *event; /* YV_QMP_EVENT: its name (borrowed from json) */
} yv_qmp_msg;

typedef struct yv_qmp yv_qmp;

yv_qmp *yv_qmp_new(void);
void yv_qmp_free(yv_qmp *q); /* closes the socket */

/* Starts a non-blocking connect to the UNIX socket at path. ENOENT/ECONNREFUSED → VM_NOT_RUNNING.
 */
int yv_qmp_connect(yv_qmp *q, const char *path, yv_err *err);
/* Adopts an already connected descriptor (tests: one end of a socketpair). */
void yv_qmp_adopt(yv_qmp *q, int fd);

int yv_qmp_fd(const yv_qmp *q);
/* poll() events the connection waits for (POLLIN, plus POLLOUT while output is queued). */
short yv_qmp_poll_events(const yv_qmp *q);
/* Handles poll() results: writes queued output, reads what is there, frames and queues messages.
 * Returns -1 on a protocol error (an oversized line: the connection is unusable). EOF (or a reset
 * after `quit`) is not an error: yv_qmp_eof() becomes true. */
int yv_qmp_handle(yv_qmp *q, short revents, yv_err *err);
bool yv_qmp_eof(const yv_qmp *q);
bool yv_qmp_greeted(const yv_qmp *q);

/* Framing without a socket (used by handle, and by tests and fuzzers): appends bytes, queues every
 * complete line. -1 on an oversized line. A line that is not a JSON object is queued as UNKNOWN. */
int yv_qmp_feed(yv_qmp *q, const char *buf, size_t n, yv_err *err);
/* Pops the oldest queued message (false when none). */
bool yv_qmp_pop(yv_qmp *q, yv_qmp_msg *m);
/* Pops the oldest queued message whose kind is RETURN or ERROR with this id. */
bool yv_qmp_pop_reply(yv_qmp *q, json_int_t id, yv_qmp_msg *m);

/* The line of a command {"execute": cmd, "arguments": args (stolen; may be NULL), "id": id} with
 * its newline (malloc'd; *len without the terminating NUL); no "id" when id < 0. Wipe it after
 * use: it may hold a password. */
char *yv_qmp_command(const char *cmd, json_t *args, json_int_t id, size_t *len);
/* Queues {"execute": cmd, "arguments": args (stolen; may be NULL), "id": N}; returns N. */
json_int_t yv_qmp_send(yv_qmp *q, const char *cmd, json_t *args);
/* Queues the command without an id; returns the N its answer gets when it comes: the answers
 * without an id are given these Ns in the order the commands were queued (QEMU answers in-band
 * commands in order), so yv_qmp_pop_reply(q, N) finds it as it finds an answer that names N. */
json_int_t yv_qmp_send_unnamed(yv_qmp *q, const char *cmd, json_t *args);

/* ---- blocking helpers (batch), every wait bounded by deadline (yv_now_ms() based) ---- */

/* yv_qmp_connect, waiting while the socket's queue is full (other clients' short exchanges drain it
 * in milliseconds; a hung QEMU keeps it full until the deadline → TIMEOUT). */
int yv_qmp_connect_wait(yv_qmp *q, const char *path, int64_t deadline, yv_err *err);
/* Waits for the greeting and negotiates capabilities. A silent peer → TIMEOUT. */
int yv_qmp_greet(yv_qmp *q, int64_t deadline, yv_err *err);
/* Runs one command. 0: *ret = its "return" value (new ref, may be NULL when ret is NULL). 1: QEMU
 * answered with an error (err has class and desc). -1: no answer (TIMEOUT, EOF → IO). */
int yv_qmp_call(yv_qmp *q, const char *cmd, json_t *args, json_t **ret, int64_t deadline,
                yv_err *err);
/* Negotiates capabilities and runs the n commands cmds (args stolen, each may be NULL) in order,
 * all written at once without waiting for the greeting or an answer: one round trip where one call
 * after the other takes n + 2 (QEMU reads what came after sending its greeting). QEMU runs each
 * command even when one before it failed: only for commands where that is safe. Returns as
 * yv_qmp_call for the first that did not succeed, *failed its index (-1: the negotiation). */
int yv_qmp_pipeline(yv_qmp *q, size_t n, const char *const *cmds, json_t **args, int64_t deadline,
                    long *failed, yv_err *err);
/* The two halves of yv_qmp_pipeline. Queueing may come before yv_qmp_connect*: the lines are
 * ready when QEMU accepts (its main loop wakes at the connect and takes a core of a small
 * machine). Returns the negotiation's id, the await's `first`. */
json_int_t yv_qmp_queue_pipeline(yv_qmp *q, size_t n, const char *const *cmds, json_t **args);
int yv_qmp_await_pipeline(yv_qmp *q, json_int_t first, size_t n, const char *const *cmds,
                          int64_t deadline, long *failed, yv_err *err);
/* yv_qmp_pipeline over a short connection of its own to the socket sock: the lines queued, then
 * connected (yv_qmp_connect_wait), the answers awaited, and with eof the close that follows them
 * (after quit). Returns as yv_qmp_pipeline (-1 with *failed -1 too when it could not connect). */
int yv_qmp_pipeline_at(const char *sock, size_t n, const char *const *cmds, json_t **args,
                       int64_t deadline, bool eof, long *failed, yv_err *err);
/* Writes what yv_qmp_send queued, waiting for no answer; 0, or -1 (TIMEOUT: a connect still in
 * progress or a full socket until deadline; IO). */
int yv_qmp_flush(yv_qmp *q, int64_t deadline, yv_err *err);
/* Waits until the peer closes the connection (after `quit`); -1 on timeout. */
int yv_qmp_wait_eof(yv_qmp *q, int64_t deadline, yv_err *err);
/* One short exchange on the QMP socket sock (never held: spec §6): connect, negotiate, one command
 * (args stolen), disconnect, within ms. Returns as yv_qmp_call. */
int yv_qmp_once(const char *sock, const char *cmd, json_t *args, json_t **ret, int ms, yv_err *err);

/* The ids yave gives its jobs in QEMU (query-jobs): a clone's copies "yave-clone-<random>-<drive>",
 * a snapshot command's "yave-snapshot-<pid>-<ns>". */
#define YV_QMP_JOB_CLONE    "yave-clone-"
#define YV_QMP_JOB_SNAPSHOT "yave-snapshot-"
/* A job of a query-jobs answer: its id when it starts with prefix (else NULL), *status and *error
 * (NULL when absent) borrowed from j. */
const char *yv_qmp_job_of(json_t *j, const char *prefix, const char **status, const char **error);
/* The jobs whose id starts with prefix go: the running ones cancelled, the concluded ones
 * dismissed (QEMU lets go of their files), within ms, by short exchanges on the QMP socket sock.
 * Best effort: returns at once when QEMU is gone (its jobs with it). */
void yv_qmp_end_jobs(const char *sock, const char *prefix, int ms);

#endif
