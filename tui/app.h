/* app: the full-screen manager — one poll() loop owning the keyboard, signals, the monitor's
 * descriptors (pidfds, QMP conversations, VNC probes) and the children that carry out actions. */
#ifndef YV_APP_H
#define YV_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <wchar.h>

#include "actions.h"
#include "marks.h"
#include "core/config.h"
#include "core/monitor.h"
#include "screen.h"
#include "widgets/dialog.h"
#include "widgets/form.h"
#include "widgets/table.h"
#include "widgets/theme.h"

/* An action carried out by a child `yave-tui --batch --json …` (the same verbs as batch). */
typedef struct yv_job {
    struct yv_job *next;
    yv_action act;
    char vm[128]; /* "vm", or "vm@host" (spec §14) */
    pid_t pid;
    int pidfd, out_fd, err_fd;
    char out[8192], err[1024]; /* err: the stderr line being assembled */
    size_t outlen, errlen;
    bool err_skip; /* inside a stderr line too long to be progress: dropped up to its end */
    int64_t started;
    long timeout_s; /* shutdown: when it escalates */
    yv_form *form;  /* create: the form it came from, shown again when the create fails */
} yv_job;

#define YV_MOVE_QUEUE 16 /* the move questions waiting (a bulk run of held displays) */
struct json_t;

typedef struct yv_app {
    char *root;
    char *self;
    yv_config cfg;
    yv_hosts hosts; /* the remote hosts (spec §14): hosts.yaml and --host */
    yv_monitor *mon;
    yv_theme theme;
    yv_screens screens;
    char status[512];
    bool status_error;
    int64_t status_until;
    yv_job *jobs;
    int sigpipe[2];
    bool dirty, quit;
    bool fw_reconciled; /* ownerless firewall rules removed (once, after the first frame) */
    bool mon_dirty;     /* the monitor changed something: drawn at most every DRAW_MS */
    bool repainted;     /* the next frame clears and draws the whole terminal (a resize) */
    /* this frame is drawn over the last one, not over a cleared screen: the screen may put only
     * what changed (yv_screen_keeps). frame_gen/rows/cols: the last frame's, frame_ok false when
     * it cannot be drawn over (none yet, or the terminal was too small) */
    bool kept, frame_ok;
    unsigned frame_gen;
    int frame_rows, frame_cols;
    bool keypad_sent; /* the terminal was told (smkx) to send the cursor keys curses knows */
    int64_t last_draw;
    int64_t save_at; /* when the list's sort and columns are written to run/tui.state (0: none
                        pending): a second after the last change, not a write per key */
    int rows, cols;
    int tty_err; /* the terminal's stderr (ours goes to run/tui.log): a foreground child's */
    /* a foreground child (yv_job_foreground) has the terminal: the loop neither draws nor reads
     * keys until its pidfd says it ended */
    pid_t fg_pid;
    int fg_pidfd;
    int fg_errfd; /* its stderr: copied to the terminal, the last line kept for the status line */
    char fg_err[256], fg_last[256];
    size_t fg_errlen;
    yv_action fg_act;
    char fg_vm[128];
    bool mouse;     /* clicks and the wheel are asked for (not --no-mouse) */
    yv_marks marks; /* the list's marked VMs (spec §15): bulk actions act on them */
    /* the view of a remote host's VM (spec §14): its display forwarded by that host's ssh master
     * to a UNIX socket of our private folder while the view shows; its password from the host */
    struct {
        char vm[128]; /* "vm@host"; "" when none */
        char sock[256];
        char host[64];
        int port;
        char *password;
    } rview;
    yv_bulk bulk; /* the bulk action in flight: each VM's end, then a summary */
    /* move questions waiting for no question to be open (tui/screen_move.c): one is never put
     * over another question, whose y would then answer it */
    struct {
        char vm[YV_MOVE_QUEUE][128]; /* "vm@host" for a remote host's (spec §14) */
        struct json_t *move[YV_MOVE_QUEUE];
        size_t n;
    } moveq;
} yv_app;

typedef struct {
    const char *root, *theme;
    int refresh_ms;
    bool mouse;               /* ask the terminal for clicks and the wheel (false: --no-mouse) */
    const char *const *hosts; /* --host NAME=SSH[:ROOT] values (spec §14) */
    int nhosts;
} yv_app_opts;

int yv_app_main(const yv_app_opts *o);
/* The file of theme `name`: themes/ next to the binary (source tree), or <prefix>/share/yave/themes
 * when installed; malloc'd, NULL when there is none. */
char *yv_app_theme_path(const char *name);

/* screens (screen_*.c): the classes, and what their openers call */
extern const yv_screen_class yv_list_screen, yv_details_screen, yv_help_screen, yv_form_screen,
    yv_dialog_screen, yv_view_screen, yv_snap_screen;
extern const yv_screen_class yv_logs_screen; /* arg: the VM's name */
const yv_monitor_vm *yv_list_selected(yv_app *a);
/* A row's name as the list knows it (marks, jobs, questions): "vm" for a VM of this machine,
 * "vm@host" for one of a remote host (spec §14); buf holds the latter. */
const char *yv_vm_key(const yv_monitor_vm *v, char *buf, size_t n);
/* The answer of a remote host's vnc-endpoint for the view of vm ("vm@host"; res NULL: it
 * failed): the display forwarded here, then the view opened (tui/screen_view.c). */
void yv_view_remote_ready(yv_app *a, const char *vm, const struct json_t *res);
/* The F2 column setup screen (tui/screen_columns.c) over the list's table. */
extern const yv_screen_class yv_columns_screen;
yv_table *yv_list_table(yv_app *a);
/* The list's sort or shown columns changed: run/tui.state is written a second after the last
 * change (the loop's timer) or at quit, whichever comes first. */
void yv_list_save(yv_app *a);
/* Writes what yv_list_save asked for now, if anything (a failure: the status line). */
void yv_list_save_due(yv_app *a, bool now);
/* The create (kind ACT_CREATE) or preset (ACT_PRESET) form; refused while a create runs. */
void yv_form_open(yv_app *a, yv_action kind);
/* The forward form of VM vm (add or remove a port forward of its user network). */
void yv_form_open_forward(yv_app *a, const char *vm);
/* The resize form of VM vm (grow one of its disks). */
void yv_form_open_resize(yv_app *a, const char *vm);
/* The clone form of VM vm (the new VM's name, linked, its VNC password). */
void yv_form_open_clone(yv_app *a, const char *vm);
/* The edit form of VM vm (`set`: memory, vCPUs, VNC password, network, forwards, firmware),
 * filled with its config. */
void yv_form_open_set(yv_app *a, const char *vm);
/* A create's end: the form of job j is freed, or shown again with the error by its field. */
void yv_form_job_done(yv_app *a, yv_job *j, bool ok, const char *code, const char *msg);
/* The question of action r about the n VMs vms (their names in its text); yes carries r out on
 * each. any_running: one of them runs (delete asks differently; kept in the question: yes acts
 * on that state, see yv_job_action_asked). -1 (the status line says why)
 * when one question cannot name them all. */
int yv_dialog_ask(yv_app *a, const yv_action_row *r, const char *const *vms, int n,
                  bool any_running);
void yv_dialog_tell(yv_app *a, const char *title, const char *text);
/* A run of vm refused because another program holds its VNC display or a forward port (move: the
 * --json error's "move"): the question whose y runs `run --new-display/--new-ports`
 * (tui/screen_move.c). */
void yv_move_offer(yv_app *a, const char *vm, const struct json_t *move);
/* The loop, between keys: the first waiting move question shown when no question is open (the
 * keys typed before it flushed: they answer nothing); yv_move_offers_done frees the rest. */
void yv_move_offers_show(yv_app *a);
void yv_move_offers_done(yv_app *a);
/* The question of action r about the marked VMs vms: yes carries it out as one bulk action
 * (yv_list_bulk_run). running: each one runs; hidden: how many the list's filter hides (the
 * question says so). -1 as yv_dialog_ask. */
int yv_dialog_ask_many(yv_app *a, const yv_action_row *r, const char *const *vms, int n,
                       const bool *running, int hidden);
/* A bulk action (spec §15): r on each of vms, the ones it makes no sense for (a force stop of a
 * stopped VM, a VM started since the question: running says which ran then) skipped and recorded
 * with why; a failure on one does not stop the rest. Each VM's end
 * goes to the status line; the last one's brings the summary (status line and a notice). */
void yv_list_bulk_run(yv_app *a, const yv_action_row *r, const char *const *vms,
                      const bool *running, int n);
/* A job of act on vm ended (jobs.c): recorded when it was part of the bulk action. */
void yv_list_bulk_ended(yv_app *a, yv_action act, const char *vm, bool ok, const char *text);
/* Drops the marks of VMs the monitor no longer has: called on each change of its view, so a VM
 * deleted and created again under the same name while another screen shows is not still marked. */
void yv_list_prune_marks(yv_app *a);

/* jobs */
/* Starts a child for act on vm with extra argv; secrets go through inherited pipes (fd 3, 4), never
 * argv. Returns the job, or NULL with the status line set. */
yv_job *yv_job_start(yv_app *a, yv_action act, const char *vm, const char *const *args,
                     const char *secret3, const char *secret4);
/* Carries out the batch action r on vm: its arguments from the row, the row's status when it
 * starts. An error on the status line when an argument cannot be built (the network went away
 * meanwhile) or the child cannot start. */
void yv_job_action(yv_app *a, const yv_action_row *r, const char *vm);
/* The same after a question that saw vm running or not (was_running): a VM started since is not
 * acted on (a delete would have forced it, unasked; the status line says so), and the running
 * form of the arguments is used only when the question said it runs. */
void yv_job_action_asked(yv_app *a, const yv_action_row *r, const char *vm, bool was_running);
/* vm runs now, but did not when the question about r was asked, and r acts otherwise on a
 * running VM (a delete forces it). */
bool yv_job_started_since(const yv_app *a, const yv_action_row *r, const char *vm,
                          bool was_running);
/* A foreground row (r->foreground): leaves curses and starts `yave-tui --batch VERB ARGS…` with
 * the terminal as its standard input and output, its stderr through a->fg_errfd (the loop copies
 * it to the terminal and keeps its last line for the status line); the loop waits for its end on
 * a->fg_pidfd
 * and then calls yv_job_foreground_done. The status line says why when it cannot start. */
void yv_job_foreground(yv_app *a, const yv_action_row *r, const char *vm, const char *const *args);
/* The foreground child wrote to its stderr (a->fg_errfd readable): on to the terminal. */
void yv_job_foreground_err(yv_app *a);
/* The foreground child ended: reaped, curses back (the terminal's modes as curses had them, the
 * whole screen redrawn), its end on the status line. */
void yv_job_foreground_done(yv_app *a);
const yv_job *yv_job_for(const yv_app *a, const char *vm);
bool yv_job_running(const yv_app *a, yv_action act); /* a job of act is in flight */
size_t yv_job_pollfds(yv_app *a, struct pollfd *fds, size_t max);
void yv_job_dispatch(yv_app *a, const struct pollfd *fds, size_t n);
void yv_job_kill_all(yv_app *a);

void yv_app_status(yv_app *a, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
