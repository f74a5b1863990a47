/* attach: raw mode and the signals around core's console pump. Handlers only raise a flag; the
 * pump waits with them unblocked (ppoll), so one landing at any moment ends the wait, and the
 * terminal is restored by the code after the pump, never in a handler. */
#include "attach.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/console.h"
#include "core/util.h"

#define QUIET_MS                                                                                   \
    500 /* piped, no timeout: the console's quiet after the input's end that ends it               \
         */

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
    stop_sig = sig;
}

static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NCAUGHT ((int)(sizeof caught / sizeof caught[0]))

typedef struct {
    struct sigaction old[NCAUGHT];
    sigset_t oldmask, waitmask;
    struct termios tio;
    bool raw;
} attach_saved;

/* The stop signals blocked except while the pump waits (SIGPIPE is ignored by main: a reader that
 * went away ends the pump through its write error). A hangup the caller ignores (nohup) stays
 * ignored. */
static void catch_signals(attach_saved *s)
{
    sigset_t block;
    sigemptyset(&block);
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    stop_sig = 0;
    for (int i = 0; i < NCAUGHT; i++) {
        sigaction(caught[i], NULL, &s->old[i]);
        if (caught[i] == SIGHUP && s->old[i].sa_handler == SIG_IGN) continue;
        sigaction(caught[i], &sa, NULL);
        sigaddset(&block, caught[i]);
    }
    sigprocmask(SIG_BLOCK, &block, &s->oldmask);
    s->waitmask = s->oldmask;
    for (int i = 0; i < NCAUGHT; i++) sigdelset(&s->waitmask, caught[i]);
}

static void restore_signals(attach_saved *s)
{
    for (int i = 0; i < NCAUGHT; i++) sigaction(caught[i], &s->old[i], NULL);
    sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
}

/* Raw mode as virsh console sets it: every byte, Ctrl-C and Ctrl-Z too, goes to the guest. */
static void make_raw(attach_saved *s)
{
    s->raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &s->tio) == 0;
    if (!s->raw) return;
    struct termios raw = s->tio;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) s->raw = false;
}

/* The guest's bytes went to the terminal as they were (as virsh console does): modes it set must
 * not outlive the session in the user's shell — the line-drawing character set (SI), colours,
 * a hidden cursor, mouse reporting, bracketed paste, the alternate screen. */
static const char TERM_RESET[] = "\x0f\033[0m\033[?25h\033[?1000l\033[?1002l\033[?1003l"
                                 "\033[?1006l\033[?2004l\033[?1049l";

static void restore_tty(const attach_saved *s)
{
    if (!s->raw) return;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &s->tio);
    if (isatty(STDOUT_FILENO) && write(STDOUT_FILENO, TERM_RESET, sizeof TERM_RESET - 1) < 0)
        return; /* a terminal that is gone needs no reset */
}

int yv_attach_run(int con, const char *name, long timeout_s, yv_err *err)
{
    attach_saved s;
    memset(&s, 0, sizeof s);
    bool tty = isatty(STDIN_FILENO);
    fflush(stdout);
    catch_signals(&s);
    /* \r\n: stderr may reach the terminal later than raw mode does (through the TUI) */
    if (tty) fprintf(stderr, "Connected to VM '%s'; Ctrl-] to leave\r\n", name);
    make_raw(&s);
    yv_console_pump_opts o = {
        .in = STDIN_FILENO,
        .out = STDOUT_FILENO,
        .con = con,
        .escape = s.raw ? YV_CONSOLE_ESCAPE : -1,
        .deadline = timeout_s >= 0 ? yv_now_ms() + timeout_s * 1000 : 0,
        .quiet_ms = s.raw ? 0 : QUIET_MS,
        .stop = &stop_sig,
        .mask = &s.waitmask,
    };
    yv_console_end end = yv_console_pump(&o);
    restore_tty(&s);
    int sig = stop_sig;
    restore_signals(&s);
    if (tty && end != YV_CONSOLE_STOPPED)
        fprintf(stderr, "\r\nLeft the console of VM '%s' (%s)\n", name, yv_console_end_name(end));
    if (end != YV_CONSOLE_STOPPED) return 0;
    return yv_err_set(err, YV_E_FAIL, "console of VM '%s' left on signal %s", name,
                      sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}
