/* screen_snap: the snapshots of one VM (spec §13, key t): the list (name, date, RAM state, size,
 * complete), and create (a name, prefilled), revert and delete of the selected one — both ask
 * first, y confirms. Each runs as a child `snapshot …` (jobs.c), so a long save of a running VM's
 * RAM never blocks the loop; the list is read again when the VM's job has ended. */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include "app.h"
#include "core/snapshot.h"
#include "core/util.h"
#include "core/vmstate.h"
#include "widgets/draw.h"
#include "widgets/keybar.h"

typedef enum { MODE_LIST, MODE_NAME, MODE_REVERT, MODE_DELETE } snap_mode;

typedef struct {
    char vm[64];
    yv_snapshot_list list;
    char problem[300]; /* why the list could not be read */
    int sel;
    snap_mode mode;
    char name[YV_SNAPSHOT_NAME_MAX + 1]; /* the new snapshot's, while it is typed */
    bool pending;                        /* a job of ours runs: the list is read after it */
    bool live;                           /* the VM ran when a revert was asked */
} snap_st;

/* Read in the loop's process, never waiting: qemu-img info per disk under a root lock that is
 * free now, or one QMP query-block given half a second. Another client's command (a snapshot job
 * keeps QEMU busy, an operation holds the lock) shows "busy" and the list read before stays; F5
 * retries. Not while a job of ours runs (it is read again when it ends). */
static void load(yv_app *a, snap_st *s)
{
    yv_err e;
    yv_snapshot_list l;
    if (yv_snapshot_list_vm_nowait(a->root, &a->cfg, s->vm, &l, &e) == 0) {
        yv_snapshot_list_done(&s->list);
        s->list = l;
        s->problem[0] = '\0';
    } else if (e.code == YV_E_IN_USE || e.code == YV_E_TIMEOUT) {
        snprintf(s->problem, sizeof s->problem, "busy — F5 retries (%s)", e.msg);
        yv_app_status(a, true, "%s: busy — F5 retries", s->vm);
    } else {
        yv_snapshot_list_done(&s->list);
        snprintf(s->problem, sizeof s->problem, "%s", e.msg);
    }
    if (s->sel >= (int)s->list.n) s->sel = (int)s->list.n - 1;
    if (s->sel < 0) s->sel = 0;
}

static void init(yv_app *a, void *st, const void *arg)
{
    snap_st *s = st;
    snprintf(s->vm, sizeof s->vm, "%s", (const char *)arg);
    load(a, s);
}

static void done(yv_app *a, void *st)
{
    (void)a;
    yv_snapshot_list_done(&((snap_st *)st)->list);
}

static void draw_prompt(yv_app *a, snap_st *s)
{
    char line[300];
    const yv_snapshot *x = s->list.n ? &s->list.v[s->sel] : NULL;
    if (s->mode == MODE_NAME) snprintf(line, sizeof line, " New snapshot name: %s", s->name);
    else if (s->mode == MODE_REVERT && x)
        snprintf(line, sizeof line, " Revert %s to snapshot %s? %s y: yes", s->vm, x->name,
                 !x->vm_state_size ? "Its disks go back."
                 : s->live         ? "Its disks and RAM go back."
                                   : "Its disks go back (the VM is stopped: its saved RAM is not "
                                     "used).");
    else if (s->mode == MODE_DELETE && x)
        snprintf(line, sizeof line, " Delete snapshot %s of %s for good? y: yes", x->name, s->vm);
    else if (a->status[0] && yv_now_ms() < a->status_until)
        snprintf(line, sizeof line, " %s", a->status);
    else line[0] = '\0';
    bool err = s->mode == MODE_LIST && a->status_error && yv_now_ms() < a->status_until;
    yv_keybar_status(stdscr, a->rows - 2, a->cols, line,
                     s->mode != MODE_LIST ? YV_C_WARN
                     : err                ? YV_C_ERROR
                                          : YV_C_STATUS,
                     &a->theme);
    if (s->mode == MODE_NAME) {
        move(a->rows - 2, 20 + (int)strlen(s->name));
        curs_set(1);
    }
}

static void draw(yv_app *a, void *st)
{
    snap_st *s = st;
    char title[128], row[200];
    curs_set(0);
    if (s->pending && !yv_job_for(a, s->vm)) { /* our job ended: what it changed */
        s->pending = false;
        load(a, s);
    }
    snprintf(title, sizeof title, " Snapshots: %s", s->vm);
    yv_draw_text(stdscr, 0, 0, title, a->cols, yv_theme_attr(&a->theme, YV_C_TITLE));
    row[0] = ' '; /* the rows' text one cell in from the edge, as the title's */
    yv_snapshot_row_text(NULL, 0, row + 1, sizeof row - 1);
    yv_draw_text(stdscr, 1, 0, row, a->cols, yv_theme_attr(&a->theme, YV_C_HEADER));
    for (int r = 0; r < a->rows - 4; r++) {
        const char *text = r == 0 && s->problem[0] ? s->problem
                           : r == 0 && !s->list.n  ? " no snapshots yet: c creates one"
                                                   : "";
        if (r < (int)s->list.n)
            yv_snapshot_row_text(&s->list.v[r], s->list.images, row + 1, sizeof row - 1);
        yv_draw_text(
            stdscr, 2 + r, 0, r < (int)s->list.n ? row : text, a->cols,
            yv_theme_attr(&a->theme, r == s->sel && s->list.n ? YV_C_SELECTED : YV_C_NORMAL));
    }
    yv_draw_text(stdscr, a->rows - 1, 0,
                 " c create   R revert   D delete   F5 reload   Up/Down move   Esc/q back", a->cols,
                 yv_theme_attr(&a->theme, YV_C_KEYTEXT));
    draw_prompt(a, s);
}

/* `snapshot --name VM --snap S WHAT` in a child. */
static void start(yv_app *a, snap_st *s, const char *what, const char *snap)
{
    const char *args[] = {"--name", s->vm, "--snap", snap, what, NULL};
    if (yv_job_start(a, ACT_SNAPSHOTS, s->vm, args, NULL, NULL)) {
        s->pending = true;
        yv_app_status(a, false, "%s: snapshot %s: %s…", s->vm, snap, what);
    }
}

static int name_key(yv_app *a, snap_st *s, wint_t ch, bool is_key)
{
    size_t n = strlen(s->name);
    yv_err e;
    if (!is_key && ch == 27) s->mode = MODE_LIST;
    else if (!is_key && (ch == L'\n' || ch == L'\r')) {
        if (yv_snapshot_valid_name(s->name, &e) < 0) {
            yv_app_status(a, true, "%s", e.msg);
        } else {
            s->mode = MODE_LIST;
            start(a, s, "create", s->name);
        }
    } else if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 127 || ch == 8))) {
        if (n) s->name[n - 1] = '\0';
    } else if (!is_key && ch < 127 && (iswalnum(ch) || ch == L'.' || ch == L'_' || ch == L'-') &&
               n < YV_SNAPSHOT_NAME_MAX) {
        s->name[n] = (char)ch;
        s->name[n + 1] = '\0';
    }
    return KEY_REDRAW;
}

/* A revert or delete question: y carries it out, any other key cancels. */
static int confirm_key(yv_app *a, snap_st *s, wint_t ch, bool is_key)
{
    snap_mode m = s->mode;
    s->mode = MODE_LIST;
    if (is_key || ch != L'y' || !s->list.n) return KEY_REDRAW;
    start(a, s, m == MODE_REVERT ? "revert" : "delete", s->list.v[s->sel].name);
    return KEY_REDRAW;
}

/* c, R, D: refused while a job of the VM runs; R and D need a snapshot, and ask. */
static int act_key(yv_app *a, snap_st *s, wint_t ch)
{
    if (yv_job_for(a, s->vm))
        return yv_app_status(a, true, "%s: an action is already in progress", s->vm), KEY_REDRAW;
    if (ch == L'c') {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(s->name, sizeof s->name, "snap-%Y%m%d-%H%M%S", &tm);
        s->mode = MODE_NAME;
    } else if (!s->list.n) {
        yv_app_status(a, true, "%s has no snapshot", s->vm);
    } else {
        s->mode = ch == L'R' ? MODE_REVERT : MODE_DELETE;
        s->live = yv_vmstate_live_pid(a->root, &a->cfg, s->vm) > 0; /* what the question says */
    }
    return KEY_REDRAW;
}

static int key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    snap_st *s = st;
    if (s->mode == MODE_NAME) return name_key(a, s, ch, is_key);
    if (s->mode != MODE_LIST) return confirm_key(a, s, ch, is_key);
    if ((!is_key && (ch == 27 || ch == L'q'))) {
        yv_screen_pop(&a->screens);
        return KEY_REDRAW;
    }
    if ((is_key && ch == KEY_UP) || (!is_key && ch == L'k')) s->sel -= s->sel > 0;
    else if ((is_key && ch == KEY_DOWN) || (!is_key && ch == L'j'))
        s->sel += s->sel + 1 < (int)s->list.n;
    else if (is_key && ch == KEY_F(5)) {
        if (!yv_job_for(a, s->vm)) load(a, s);
    } else if (!is_key && (ch == L'c' || ch == L'R' || ch == L'D')) return act_key(a, s, ch);
    else return KEY_IGNORED;
    return KEY_REDRAW;
}

const yv_screen_class yv_snap_screen = {
    .name = "snapshots",
    .size = sizeof(snap_st),
    .init = init,
    .draw = draw,
    .key = key,
    .done = done,
};
