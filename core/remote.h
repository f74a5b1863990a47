/* remote: the VMs of another machine over plain OpenSSH (spec §14). A host is one `ssh` connection
 * multiplexed by OpenSSH itself (ControlMaster/ControlPersist, its control socket in a private
 * folder), which carries the host's `yave-tui --batch --json watch`: its lines become rows of the
 * live view, and each action on them is `yave-tui --batch …` on the host over the same
 * connection (yv_remote_batch_argv). Like the monitor it never blocks: the caller's poll loop
 * hands it the ssh's pipes and pidfd. A host that cannot be reached keeps its rows with
 * host_problem set and is tried again with backoff; nothing it does slows another host.
 *
 * Security: the ssh destination and every word of the remote command come from hosts.yaml or the
 * command line (core/hosts.c checks them); the remote command is one string of single-quoted
 * words (ssh hands it to the remote user's shell whatever we do), after `--` and the destination.
 * BatchMode=yes: nothing is ever asked; host keys are checked as the user's ssh config says —
 * never StrictHostKeyChecking=no. */
#ifndef YV_REMOTE_H
#define YV_REMOTE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hosts.h"
#include "vmrow.h"

typedef enum {
    YV_REMOTE_CONNECTING, /* the watch is starting (first time, or a retry) */
    YV_REMOTE_UP,         /* the watch told the host's whole state: rows are current */
    YV_REMOTE_DOWN, /* unreachable, refused, or its yave-tui missing/too old: why in problem */
} yv_remote_state;

typedef struct yv_remote yv_remote;

/* The private folder of the control sockets: $XDG_RUNTIME_DIR/yave-ssh, else /tmp/yave-ssh-UID;
 * made 0700, or refused when it exists and is not a folder of ours that only we can enter (a
 * symlink, another owner, group/other bits). malloc'd path, or NULL with err. */
char *yv_remote_ctl_dir(yv_err *err);

/* A host (copied); ssh_config may be NULL; ctl_dir from yv_remote_ctl_dir. Nothing starts until
 * the first yv_remote_pollfds. */
yv_remote *yv_remote_new(const yv_host *h, const char *ssh_config, const char *ctl_dir);
/* Ends the watch (its stdin closed, then the ssh ended) and frees the rows. */
void yv_remote_free(yv_remote *r);

/* Descriptors to poll (at most max: 3) and the ms until it next needs a turn. */
size_t yv_remote_pollfds(yv_remote *r, struct pollfd *fds, size_t max, int64_t now,
                         int *timeout_ms);
/* Feeds what poll said of the descriptors handed out last (n of them; revents 0: its timers
 * only). True when its rows or its state changed. */
bool yv_remote_dispatch(yv_remote *r, const struct pollfd *fds, size_t n, int64_t now);
/* A retry now instead of at the end of its backoff (the user asked). */
void yv_remote_poke(yv_remote *r, int64_t now);

const char *yv_remote_name(const yv_remote *r);
yv_remote_state yv_remote_state_of(const yv_remote *r);
/* Why it is DOWN (or, while a retry is CONNECTING, why the last try failed); "" when UP. */
const char *yv_remote_problem(const yv_remote *r);
/* Its rows, sorted by name; key: "vm@host", the identity the TUI marks and acts on. */
size_t yv_remote_count(const yv_remote *r);
const yv_monitor_vm *yv_remote_get(const yv_remote *r, size_t i);
const char *yv_remote_key(const yv_remote *r, size_t i);
const yv_monitor_vm *yv_remote_find(const yv_remote *r, const char *vm);
size_t yv_remote_running(const yv_remote *r);

/* The argv (NULL-terminated, malloc'd: yv_remote_argv_free) of `ssh … HOST 'BIN' '--batch'
 * ['--root' 'ROOT'] WORDS…` over the host's shared connection; tty: a terminal on the host
 * (`-tt`, the console and ssh verbs), else none (`-T`). */
char **yv_remote_batch_argv(const yv_remote *r, bool tty, const char *const *words);
void yv_remote_argv_free(char **argv);

/* on: host:port of the remote host (its loopback: a VM's VNC server) reachable here at the UNIX
 * socket sock (in the private control folder), over the host's master connection (`ssh -O
 * forward -L SOCK:HOST:PORT`); off: that forward cancelled. Waits for ssh (a message to the
 * local master: milliseconds). */
int yv_remote_forward(const yv_remote *r, bool on, const char *sock, const char *host, int port,
                      yv_err *err);
/* The private folder of r's control sockets (the place for its forwarded sockets too). */
const char *yv_remote_ctl(const yv_remote *r);

/* One `yave-tui --batch WORDS…` on the host, waited for (batch: `status --host`, spec §14): its
 * stdout (malloc'd, at most 4 MiB), exit status and the last line of its stderr (into last,
 * printable), bounded by timeout_ms (then ended: TIMEOUT). -1 with err when ssh could not run,
 * did not get through (exit 255: unreachable, a host key refused — yv_remote_explain's words),
 * or the host's yave-tui is missing or too old. */
int yv_remote_run(const yv_remote *r, const char *const *words, int timeout_ms, char **out,
                  int *status, char *last, size_t lastn, yv_err *err);

/* ---- pure parts (unit-tested, fuzzed) ---- */

/* words as one string for a POSIX shell: each in single quotes, a ' as '\''; malloc'd. */
char *yv_remote_quote(const char *const *words);
/* One line of `watch --json` (untrusted): applies it to r's rows. 1 changed, 0 nothing (also
 * a line not understood: a newer yave may say more), never a crash. */
int yv_remote_feed_line(yv_remote *r, const char *line, size_t len);
/* A VM object of `status --json` (untrusted) into row (zeroed first; yv_remote_vm_done frees). */
int yv_remote_vm_from_json(yv_monitor_vm *row, const void *json_obj);
void yv_remote_vm_done(yv_monitor_vm *row);
/* Why a watch's ssh ended, for people: from its exit status and the last lines it wrote on
 * stderr (e.g. a changed host key, yave-tui missing on the host or too old, refused). */
void yv_remote_explain(const char *host, const char *dest, const char *bin, int status,
                       const char *stderr_text, bool synced, char *out, size_t n);

#endif
