/* console: a client of a VM's serial console (spec §11), the socket QEMU serves at
 * run/<vm>.console (everything the guest prints also goes to <vm>.vm/serial.log). QEMU serves one
 * client at a time and keeps the next ones queued without a word: opening refuses at once with
 * "console in use" rather than join that queue. The guest is untrusted: every exchange is bounded
 * in time and in size. Nothing here prints or touches a terminal (tui/attach.c does). */
#ifndef YV_CONSOLE_H
#define YV_CONSOLE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "vmstate.h"

/* Ctrl-]: the byte that detaches a terminal (as virsh and telnet). */
#define YV_CONSOLE_ESCAPE 0x1d
/* How long QEMU gets to accept our connection before the console counts as not answering. */
#define YV_CONSOLE_CONNECT_MS 2000

/* The console of VM name, whose QEMU p proved live: a non-blocking descriptor QEMU has accepted
 * (so the guest's bytes reach us). No such VM → VM_NOT_FOUND; p proved no QEMU → VM_NOT_RUNNING;
 * another client holds the console (now, or won the race for it while we waited in the queue) →
 * IN_USE at once; QEMU accepting nobody within timeout_ms → TIMEOUT. */
int yv_console_open(const char *root, const char *name, const yv_vmstate_proof *p, int timeout_ms,
                    yv_err *err);

/* How a pump ended. */
typedef enum {
    YV_CONSOLE_DETACHED,    /* the escape byte came on in */
    YV_CONSOLE_CLOSED,      /* QEMU closed the console: the VM stopped */
    YV_CONSOLE_TIMED_OUT,   /* the deadline passed (the normal end of a timed run) */
    YV_CONSOLE_INPUT_ENDED, /* in ended and the console stayed quiet for quiet_ms */
    YV_CONSOLE_STOPPED,     /* *stop went up (a signal) */
    YV_CONSOLE_OUTPUT_GONE, /* out cannot be written any more (a closed pipe) */
} yv_console_end;

typedef struct {
    int in;                            /* bytes for the console (a terminal or a pipe), -1: none */
    int out;                           /* where the console's bytes go */
    int con;                           /* from yv_console_open */
    int escape;                        /* the byte on in that detaches, -1: none */
    int64_t deadline;                  /* yv_now_ms() time it ends at, 0: none */
    int quiet_ms;                      /* no deadline: after in's end, the console's quiet time */
    const volatile sig_atomic_t *stop; /* ends the pump when it goes up; NULL: none */
    const sigset_t *mask; /* the signal mask while waiting (ppoll): the signals that raise stop are
                             blocked outside the wait, so none is missed; NULL: unchanged */
} yv_console_pump_opts;

/* Copies in to the console and the console to out until one of yv_console_end happens, with
 * bounded buffers: a slow out makes it read the console slower, never buffer without bound (a
 * write to out is at most PIPE_BUF after poll said it has room, so it does not block). out is
 * written as it is (no O_NONBLOCK is set on descriptors the caller shares). After the deadline,
 * what is buffered for out still gets a second to be written. */
yv_console_end yv_console_pump(const yv_console_pump_opts *o);
/* The end in words ("detached", "the VM closed its console", …). */
const char *yv_console_end_name(yv_console_end e);

/* One bounded exchange for a caller without descriptors of its own (the web API): proves VM name
 * live, opens its console (as yv_console_open), sends in, and collects what the console prints
 * until timeout_ms passed or the console closed, at most cap bytes into out (*outlen; the guest
 * talking more is cut, and said in *cut). *cancel going up ends it early. */
int yv_console_exchange(const char *root, const yv_config *cfg, const char *name, const char *in,
                        size_t inlen, int timeout_ms, char *out, size_t cap, size_t *outlen,
                        bool *cut, const volatile sig_atomic_t *cancel, yv_err *err);

#endif
