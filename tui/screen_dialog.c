/* screen_dialog: a question before a destructive action, or a notice — the dialog widget as a
 * screen over whatever shows. A question names every VM it applies to and, on its confirming key
 * only, carries its action out on each; any other key cancels (spec §15). */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

#define ASK_MAX 32 /* the VMs one question may act on (marked rows, spec §15) */

typedef struct {
    yv_dialog d;
    const yv_action_row *row; /* NULL: a notice */
    char vms[ASK_MAX][64];
    int n;
    char names[512]; /* "a, b, c": for the cancel message */
    bool bulk;       /* the marked rows: yes starts one bulk action (a summary at its end) */
} dialog_st;

typedef struct {
    const yv_action_row *row;
    const char *const *vms;
    int n;
    const yv_action_question *q;
    const char *title, *text; /* a notice */
    bool bulk;
} dialog_arg;

static void init(yv_app *a, void *st, const void *arg)
{
    dialog_st *s = st;
    const dialog_arg *g = arg;
    (void)a;
    if (!g->row) {
        yv_dialog_notice(&s->d, g->title, g->text);
        return;
    }
    s->row = g->row;
    s->bulk = g->bulk;
    for (int i = 0; i < g->n; i++) snprintf(s->vms[s->n++], sizeof s->vms[0], "%s", g->vms[i]);
    snprintf(s->names, sizeof s->names, "%s", g->q->names);
    yv_dialog_confirm(&s->d, g->q->title, g->q->text, g->q->key);
}

static void draw(yv_app *a, void *st)
{
    curs_set(0);
    yv_dialog_draw(&((dialog_st *)st)->d, stdscr, &a->theme);
}

static int key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    dialog_st s; /* a copy: the screen (and its state) closes before the action runs */
    yv_dialog_result r = yv_dialog_key(&((dialog_st *)st)->d, ch, is_key);
    if (r == YV_DIALOG_NONE) return KEY_IGNORED;
    memcpy(&s, st, sizeof s);
    yv_screen_pop(&a->screens);
    if (!s.row) return KEY_REDRAW;
    const char *vms[ASK_MAX];
    for (int i = 0; i < s.n; i++) vms[i] = s.vms[i];
    if (r == YV_DIALOG_YES && s.bulk) yv_list_bulk_run(a, s.row, vms, s.n);
    else if (r == YV_DIALOG_YES)
        for (int i = 0; i < s.n; i++) yv_job_action(a, s.row, s.vms[i]);
    else
        yv_app_status(a, false, "%s %s: cancelled (only %lc confirms)", s.d.title, s.names,
                      (wint_t)s.d.yes_key);
    return KEY_REDRAW;
}

const yv_screen_class yv_dialog_screen = {
    .name = "dialog",
    .size = sizeof(dialog_st),
    .overlay = true,
    .modal = true,
    .init = init,
    .draw = draw,
    .key = key,
};

/* A new question or notice takes the place of one still open (a notice at a job's end). */
static void open_dialog(yv_app *a, const dialog_arg *g)
{
    if (yv_screen_modal(&a->screens)) yv_screen_pop(&a->screens);
    yv_screen_push(&a->screens, &yv_dialog_screen, g);
}

int yv_dialog_ask(yv_app *a, const yv_action_row *r, const char *const *vms, int n,
                  bool any_running)
{
    yv_action_question q;
    if (n > ASK_MAX || yv_actions_question(r, vms, n, any_running, &q) < 0) {
        yv_app_status(a, true, "%s: too many VMs to name in one question: mark fewer", r->label);
        return -1;
    }
    open_dialog(a, &(dialog_arg){.row = r, .vms = vms, .n = n, .q = &q});
    return 0;
}

int yv_dialog_ask_many(yv_app *a, const yv_action_row *r, const char *const *vms, int n,
                       bool any_running)
{
    yv_action_question q;
    if (n > ASK_MAX || yv_actions_question(r, vms, n, any_running, &q) < 0) {
        yv_app_status(a, true, "%s: too many VMs to name in one question: mark fewer", r->label);
        return -1;
    }
    open_dialog(a, &(dialog_arg){.row = r, .vms = vms, .n = n, .q = &q, .bulk = true});
    return 0;
}

void yv_dialog_tell(yv_app *a, const char *title, const char *text)
{
    open_dialog(a, &(dialog_arg){.title = title, .text = text});
}
