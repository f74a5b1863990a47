/* app: start-up, the poll() loop, signals, and the terminal's state on every way out. */
#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/root.h"
#include "core/screenshot.h"
#include "core/util.h"
#include "core/vmstate.h"
#include "widgets/draw.h"

#define MIN_COLS   40
#define MIN_ROWS   10
#define STATUS_MS  8000
#define MAX_FDS    512
#define SCREEN_FDS 4 /* descriptors of screens (a live picture) */

static yv_app app; /* the one instance: signal handlers reach it through sigpipe only */

/* YAVE_TUI_PROFILE=1: frame timings printed to stderr at exit (make bench reads them). */
static struct {
    bool on;
    long frames;
    int64_t total_us, max_us;
} prof;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void yv_app_status(yv_app *a, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->status, sizeof a->status, fmt, ap);
    va_end(ap);
    a->status_error = error;
    a->status_until = yv_now_ms() + STATUS_MS;
    a->dirty = true;
}

/* ---- signals: handlers only write the signal number to a pipe ---- */

static void on_signal(int sig)
{
    int e = errno;
    unsigned char b = (unsigned char)sig;
    if (write(app.sigpipe[1], &b, 1) < 0) {
    }
    errno = e;
}

static void on_crash(int sig)
{
    endwin(); /* not async-signal-safe, but a dead program with a dead terminal is worse */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    /* Ours, not curses': installed before initscr(), which then leaves SIGWINCH alone. curses' own
     * handler only sets a flag, and a resize landing between the loop's last look at it and poll()
     * stayed unseen until some other wake-up (the next rescan); through the pipe it wakes poll().
     */
    sigaction(SIGWINCH, &sa, NULL);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- themes ---- */

char *yv_app_theme_path(const char *name)
{
    static const char *const cands[] = {"themes/%s.theme", "../share/yave/themes/%s.theme",
                                        "../../themes/%s.theme", NULL};
    return yv_proc_sibling(cands, name, R_OK);
}

/* NO_COLOR, or a terminal without colours, gets the mono theme whatever was asked. */
static int load_theme(yv_app *a, const char *name, char *err, size_t n)
{
    bool color = has_colors() && !getenv("NO_COLOR");
    if (!color) name = "mono";
    char *p =
        name && strchr(name, '/') ? yv_strdup(name) : yv_app_theme_path(name ? name : "default");
    int rc = 0;
    if (!p) {
        snprintf(err, n, "theme '%s' not found", name ? name : "default");
        rc = -1;
    } else {
        rc = yv_theme_load(&a->theme, p, err, n);
    }
    if (rc < 0) yv_theme_builtin_mono(&a->theme);
    if (color) {
        start_color();
        use_default_colors();
    }
    yv_theme_apply(&a->theme, color);
    free(p);
    return rc;
}

/* ---- drawing ---- */

static void draw_frame(yv_app *a);

static void draw(yv_app *a)
{
    int64_t t0 = prof.on ? now_us() : 0;
    draw_frame(a);
    if (!prof.on) return;
    int64_t d = now_us() - t0;
    prof.frames++;
    prof.total_us += d;
    if (d > prof.max_us) prof.max_us = d;
}

static void draw_frame(yv_app *a)
{
    getmaxyx(stdscr, a->rows, a->cols);
    bool fits = a->rows >= MIN_ROWS && a->cols >= MIN_COLS;
    /* the list alone, as in the last frame: every cell it does not put again still shows what it
     * put there (an idle frame changes two cells a row: issue 16) */
    a->kept = fits && a->frame_ok && !a->repainted && a->rows == a->frame_rows &&
              a->cols == a->frame_cols && yv_screen_keeps(&a->screens, a->frame_gen);
    if (!a->kept) erase();
    if (!fits) {
        curs_set(0);
        char msg[64];
        snprintf(msg, sizeof msg, "terminal too small (%dx%d, need %dx%d)", a->cols, a->rows,
                 MIN_COLS, MIN_ROWS);
        yv_draw_text(stdscr, a->rows / 2, 0, msg, a->cols, A_BOLD);
    } else {
        yv_screen_draw(&a->screens);
    }
    a->frame_ok = fits;
    a->frame_gen = a->screens.gen;
    a->frame_rows = a->rows;
    a->frame_cols = a->cols;
    wnoutrefresh(stdscr);
    doupdate();
    if (a->rows >= MIN_ROWS && a->cols >= MIN_COLS) yv_screen_drawn(&a->screens, a->repainted);
    a->repainted = false;
    a->dirty = false;
    /* Resumed from endwin (start_curses, a foreground child), curses sends smkx only at its next
     * read of a key: until then the terminal sends the cursor keys in its other mode (ESC [ B,
     * not the ESC O B of terminfo) and the first arrow key typed was lost. Told once here. */
    if (!a->keypad_sent) {
        keypad(stdscr, TRUE);
        a->keypad_sent = true;
    }
}

/* ---- keys ---- */

static int on_key(yv_app *a, wint_t ch, bool is_key)
{
    if (is_key && ch == KEY_RESIZE) {
        a->repainted = true;
        return KEY_REDRAW;
    }
    if (a->rows < MIN_ROWS || a->cols < MIN_COLS) /* too small: only quitting works */
        return (!is_key && ch == L'q') ? KEY_QUIT : KEY_IGNORED;
    if (is_key && ch == KEY_MOUSE && yv_screen_top(&a->screens)->cls != &yv_list_screen) {
        MEVENT e; /* only the list takes clicks: one over a form, a question or a view is dropped,
                     never taken as a key (a question would read it as "no") */
        getmouse(&e);
        return KEY_IGNORED;
    }
    return yv_screen_key(&a->screens, ch, is_key);
}

/* Enter arrives as CR (nonl() turns ICRNL off) or as LF (Ctrl-J): one key, '\n', for the key
 * table and every screen. */
static wint_t canon_key(wint_t ch, bool is_key)
{
    return !is_key && ch == L'\r' ? L'\n' : ch;
}

static void read_keys(yv_app *a)
{
    wint_t ch;
    int kr;
    while ((kr = get_wch(&ch)) != ERR) { /* one wake-up may carry several keys */
        bool is_key = kr == KEY_CODE_YES, was_open = yv_screen_modal(&a->screens);
        int r = on_key(a, canon_key(ch, is_key), is_key);
        if (r & KEY_QUIT) a->quit = true;
        if (r & KEY_REDRAW) a->dirty = true;
        if (a->fg_pid) break; /* the keys typed after it are the foreground child's */
        /* A question opened or answered: the keys already queued behind that key were typed
         * before the question was on screen (a paste), so they answer nothing. */
        if (yv_screen_modal(&a->screens) != was_open) {
            flushinp();
            break;
        }
    }
}

/* The terminal's new size, told to curses (which redraws everything on the next refresh). */
static void on_resize(yv_app *a)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    a->dirty = true;
    a->repainted = true; /* curses clears and draws the whole terminal */
}

static void read_signals(yv_app *a)
{
    unsigned char b[16];
    bool winch = false;
    ssize_t n;
    while ((n = read(a->sigpipe[0], b, sizeof b)) > 0) /* all of a storm: one resize is enough */
        for (ssize_t i = 0; i < n; i++) {
            /* with a child in the foreground, Ctrl-C and Ctrl-\ were the child's (our process
             * group's terminal signals); a hangup or a TERM ends it too, and then us */
            bool fg = a->fg_pid > 0, stop = b[i] == SIGTERM || b[i] == SIGHUP;
            if (fg && stop) kill(a->fg_pid, b[i]); /* ours, not reaped yet: cannot be reused */
            if (stop || (!fg && (b[i] == SIGINT || b[i] == SIGQUIT))) a->quit = true;
            winch |= b[i] == SIGWINCH;
        }
    if (winch && !a->fg_pid) on_resize(a); /* else when the child is done */
}

/* ---- the loop ---- */

static int timeout_ms(yv_app *a)
{
    int t = -1;
    int64_t now = yv_now_ms();
    if (a->status[0] && a->status_until > now) t = (int)(a->status_until - now);
    if (a->jobs) t = t < 0 || t > 500 ? 500 : t; /* countdowns on screen */
    if (a->save_at) {                            /* run/tui.state to write (yv_list_save) */
        int s = a->save_at > now ? (int)(a->save_at - now) : 0;
        t = t < 0 || t > s ? s : t;
    }
    return t;
}

/* What the monitor learns (a QMP answer per VM per second, CPU figures) is drawn at most every
 * DRAW_MS: with many VMs a frame per answer would cost more than everything else. Keys draw at
 * once. */
#define DRAW_MS 250

/* Clicks and the wheel (spec §15): the terminal reports buttons only, never motion, so an idle
 * pointer over the list costs nothing. Presses only, with curses' click timing off (mouse_on): it
 * merged an SGR press and release into a bare release; the list tells a double click itself. */
#define MOUSE_EVENTS (BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED)

static void mouse_on(void)
{
    mousemask(MOUSE_EVENTS, NULL);
    mouseinterval(0);
}

/* The foreground child ended: the list comes back at the terminal's size of now. */
static void foreground_done(yv_app *a)
{
    yv_job_foreground_done(a);
    if (a->mouse) mouse_on(); /* the child may have turned the terminal's mode off */
    a->keypad_sent = false;
    on_resize(a);
}

static void loop(yv_app *a)
{
    struct pollfd fds[MAX_FDS];
    while (!a->quit || a->fg_pid > 0) { /* a quit waits for the foreground child's end */
        int64_t now = yv_now_ms();
        if (!a->fg_pid) yv_move_offers_show(a); /* a run's question, when none is open */
        if (a->mon_dirty && now - a->last_draw >= DRAW_MS) a->dirty = true;
        if (a->dirty && !a->fg_pid) { /* the terminal is the foreground child's */
            draw(a);
            a->mon_dirty = false;
            a->last_draw = now;
        }
        if (!a->fw_reconciled) { /* after the first frame: nothing of it shows on the list, and
                                    asking the kernel for the ruleset delayed the first paint */
            yv_vmstate_reconcile_firewall(a->root);
            a->fw_reconciled = true;
        }
        int t = timeout_ms(a);
        bool own_timer = t >= 0; /* a countdown or a status to expire (else only the monitor's) */
        if (a->mon_dirty) {
            int wait = (int)(a->last_draw + DRAW_MS - now);
            if (t < 0 || wait < t) t = wait < 0 ? 0 : wait;
        }
        /* the keyboard, or the foreground child's end (its keys are its own) */
        fds[0] = (struct pollfd){a->fg_pid ? a->fg_pidfd : STDIN_FILENO, POLLIN, 0};
        fds[1] = (struct pollfd){a->sigpipe[0], POLLIN, 0};
        size_t nj = yv_job_pollfds(a, fds + 2, MAX_FDS / 4);
        /* the slots past the monitor's: SCREEN_FDS for screens, one for a foreground child */
        size_t nm = yv_monitor_pollfds(a->mon, fds + 2 + nj, MAX_FDS - 3 - nj - SCREEN_FDS, &t);
        size_t ns =
            a->fg_pid ? 0 : yv_screen_pollfds(&a->screens, fds + 2 + nj + nm, SCREEN_FDS, &t);
        size_t nf = 2 + nj + nm + ns;
        if (a->fg_pid && a->fg_errfd >= 0) fds[nf++] = (struct pollfd){a->fg_errfd, POLLIN, 0};
        int r = poll(fds, nf, t);
        if (r < 0 && errno != EINTR) break;
        bool any = r > 0;
        if (any && fds[1].revents) read_signals(a);
        if (any) yv_job_dispatch(a, fds + 2, nj);
        if (yv_monitor_dispatch(a->mon, any ? fds + 2 + nj : fds, any ? nm : 0)) {
            a->mon_dirty = true;
            yv_list_prune_marks(a); /* not only when the list draws: another screen may show */
        }
        if (!a->fg_pid &&
            yv_screen_ready(&a->screens, any ? fds + 2 + nj + nm : NULL, ns) & KEY_REDRAW)
            a->dirty = true; /* a new picture: drawn at once, as a key is */
        if (a->fg_pid) {
            if (r > 0 && nf > 2 + nj + nm && fds[nf - 1].revents) yv_job_foreground_err(a);
            if (r > 0 && fds[0].revents) foreground_done(a);
            continue;
        }
        if (r < 0 || (fds[0].revents & (POLLIN | POLLHUP)))
            read_keys(a);                                         /* EINTR: maybe a resize */
        if (fds[0].revents & (POLLHUP | POLLERR)) a->quit = true; /* the terminal went away */
        /* our timer: countdowns and status expiry (the monitor says itself when a timer of its
         * changed the view: most of its timeouts end a wait for answers) */
        if (r == 0 && own_timer) a->mon_dirty = true;
        yv_list_save_due(a, false);
    }
    yv_move_offers_done(a); /* the questions not shown go with the TUI */
}

static void start_curses(yv_app *a, bool mouse)
{
    initscr();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    /* no typeahead check during refresh: ncurses would flush its output before each check (a write
     * per changed cell — a dozen a second for the uptime column); keys are read by our poll() */
    typeahead(-1);
    /* ncurses 6.4 flushes its output after every cursor move until the screen has been suspended
     * once (its "not initialised yet" state lasts until then): one write per changed cell, a
     * dozen system calls and pty wakeups a second for the uptime column. Suspended here, the first
     * doupdate resumes it and every frame is then one write. */
    endwin();
    a->mouse = mouse;
    if (mouse) mouse_on();
}

/* hosts.yaml and the --host options (spec §14); the options win by name. A hosts file that cannot
 * be used leaves this machine's VMs shown, and says why (file_err) on the first frame; a bad
 * --host is a usage error. */
static int load_hosts(yv_app *a, const yv_app_opts *o, yv_err *file_err, yv_err *err)
{
    if (yv_hosts_load(&a->hosts, NULL, file_err) < 0) memset(&a->hosts, 0, sizeof a->hosts);
    for (int i = 0; i < o->nhosts; i++)
        if (yv_hosts_add_spec(&a->hosts, o->hosts[i], err) < 0) return -1;
    return 0;
}

/* Library chatter must not land on the screen: stderr goes to run/tui.log, the terminal's is kept
 * in a->tty_err (for a foreground child, and back at the end). -1 with err when the log cannot be
 * written: a link there is refused, never truncated through. */
static int log_stderr(yv_app *a, yv_err *err)
{
    char *log = yv_root_path(a->root, "run/tui.log");
    int lfd = yv_root_open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (lfd < 0) {
        yv_root_open_error(err, errno, YV_E_IO, "cannot write", log);
        free(log);
        return -1;
    }
    a->tty_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    dup2(lfd, STDERR_FILENO), close(lfd);
    free(log);
    return 0;
}

/* After the loop: what the TUI leaves behind, and the terminal back as it was. */
static void app_end(yv_app *a)
{
    yv_list_save_due(a, true); /* a sort changed within the last second */
    /* the screens close while curses still owns the terminal: a view's done puts its raw mode
     * back to cbreak, which after endwin would leave the user's shell without echo */
    yv_screen_pop_all(&a->screens);
    endwin();
    if (a->tty_err >= 0) dup2(a->tty_err, STDERR_FILENO), close(a->tty_err);
    if (prof.on)
        fprintf(stderr, "yave-tui profile: frames=%ld draw_avg_us=%lld draw_max_us=%lld\n",
                prof.frames, (long long)(prof.frames ? prof.total_us / prof.frames : 0),
                (long long)prof.max_us);
    yv_job_kill_all(a);
    yv_monitor_free(a->mon);
    yv_hosts_done(&a->hosts);
    yv_config_done(&a->cfg);
    free(a->root);
    free(a->self);
}

int yv_app_main(const yv_app_opts *o)
{
    yv_app *a = &app;
    yv_err err, herr = {0};
    char terr[256];
    const char *root_opt = o->root;
    setlocale(LC_ALL, "");
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fputs("yave-tui: the full-screen manager needs a terminal (use --batch in scripts)\n",
              stderr);
        return 2;
    }
    if (!(a->root = yv_root_resolve(root_opt, &err)) || yv_root_ensure(a->root, &err) < 0 ||
        yv_config_load(&a->cfg, a->root, &err) < 0 || load_hosts(a, o, &herr, &err) < 0) {
        fprintf(stderr, "yave-tui: %s\n", err.msg);
        return yv_err_exit_status(err.code);
    }
    a->self = yv_proc_self_exe();
    yv_vmstate_reconcile(a->root, &a->cfg); /* the firewall's: after the first frame */
    yv_screenshot_sweep(a->root);           /* what killed screenshots left in run/ */
    yv_root_sweep_temps(a->root);           /* and what killed atomic writes left */
    if (pipe2(a->sigpipe, O_CLOEXEC | O_NONBLOCK) < 0) return 1;
    if (log_stderr(a, &err) < 0) {
        fprintf(stderr, "yave-tui: %s\n", err.msg);
        return yv_err_exit_status(err.code);
    }
    a->fg_pidfd = -1;
    a->fg_errfd = -1;
    install_signals();
    prof.on = getenv("YAVE_TUI_PROFILE") != NULL;
    start_curses(a, o->mouse);
    int trc = load_theme(a, o->theme, terr, sizeof terr);
    a->mon = yv_monitor_new(a->root, &a->cfg, &(yv_monitor_opts){.refresh_ms = o->refresh_ms});
    if (yv_monitor_set_hosts(a->mon, &a->hosts, &err) < 0) yv_app_status(a, true, "%s", err.msg);
    if (herr.code) yv_app_status(a, true, "no remote hosts: %s", herr.msg);
    yv_screens_init(&a->screens, a, &a->dirty);
    yv_screen_push(&a->screens, &yv_list_screen, NULL);
    if (trc < 0) yv_app_status(a, true, "%s (using mono)", terr);
    a->dirty = true;
    loop(a);
    app_end(a);
    return 0;
}
