/* screen_dialog: a question before a destructive action, or a notice — the dialog widget as a
 * screen over whatever shows. A question names every VM it applies to and, on its confirming key
 * only, carries its action out on each; any other key cancels (spec §15). */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

#define ASK_MAX YV_BULK_MAX /* the VMs one question may act on (marked rows, spec §15) */

typedef struct {
    yv_dialog d;
    const yv_action_row *row; /* NULL: a notice */
    char vms[ASK_MAX][64];
    bool running[ASK_MAX]; /* each VM ran when asked: yes acts on what the question said */
    int n;
    char names[YV_BULK_MAX * 66]; /* "a, b, c": for the cancel message */
    bool bulk; /* the marked rows: yes starts one bulk action (a summary at its end) */
} dialog_st;

typedef struct {
    const yv_action_row *row;
    const char *const *vms;
    const bool *running;
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
    for (int i = 0; i < g->n; i++) {
        s->running[s->n] = g->running[i];
        snprintf(s->vms[s->n++], sizeof s->vms[0], "%s", g->vms[i]);
    }
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
    static dialog_st s; /* a copy (big: static): the screen closes before the action runs */
    yv_dialog_result r = yv_dialog_key(&((dialog_st *)st)->d, ch, is_key);
    if (r == YV_DIALOG_NONE) return KEY_REDRAW; /* a resize, or the text scrolled */
    memcpy(&s, st, sizeof s);
    yv_screen_pop(&a->screens);
    if (!s.row) return KEY_REDRAW;
    const char *vms[ASK_MAX];
    for (int i = 0; i < s.n; i++) vms[i] = s.vms[i];
    if (r == YV_DIALOG_YES && s.bulk) yv_list_bulk_run(a, s.row, vms, s.running, s.n);
    else if (r == YV_DIALOG_YES)
        for (int i = 0; i < s.n; i++) yv_job_action_asked(a, s.row, s.vms[i], s.running[i]);
    else if (s.n > 1) /* the names would push the word off the status line */
        yv_app_status(a, false, "%s of %d VMs: cancelled (only %lc confirms)", s.d.title, s.n,
                      (wint_t)s.d.yes_key);
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

/* hidden: how many of vms the list's filter hides (said: they are acted on too). */
static int ask(yv_app *a, const yv_action_row *r, const char *const *vms, int n,
               const bool *running, bool bulk, int hidden)
{
    static yv_action_question q; /* big: not on the stack */
    size_t k;
    if (n > ASK_MAX || yv_actions_question(r, vms, n, running, &q) < 0 ||
        (hidden && (k = strlen(q.text)) + 40 > sizeof q.text)) {
        yv_app_status(a, true, "%s: too many VMs to name in one question: mark fewer", r->label);
        return -1;
    }
    if (hidden) snprintf(q.text + k, sizeof q.text - k, " (%d not shown in the list)", hidden);
    open_dialog(
        a, &(dialog_arg){.row = r, .vms = vms, .running = running, .n = n, .q = &q, .bulk = bulk});
    return 0;
}

int yv_dialog_ask(yv_app *a, const yv_action_row *r, const char *const *vms, int n,
                  bool any_running)
{
    bool running[ASK_MAX];
    for (int i = 0; i < n && i < ASK_MAX; i++) running[i] = any_running;
    return ask(a, r, vms, n, running, false, 0);
}

int yv_dialog_ask_many(yv_app *a, const yv_action_row *r, const char *const *vms, int n,
                       const bool *running, int hidden)
{
    return ask(a, r, vms, n, running, true, hidden);
}

void yv_dialog_tell(yv_app *a, const char *title, const char *text)
{
    open_dialog(a, &(dialog_arg){.title = title, .text = text});
}
