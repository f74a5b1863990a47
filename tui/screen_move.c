/* screen_move: a run that failed because another program holds the VM's VNC display or a forward
 * host port (the batch's --json error carries "move": where each would go) asks whether to move
 * them and start; only y confirms, and only then `run --new-display` / `--new-ports` runs (issue
 * 20). Nothing is changed without that yes. */
#include <curses.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

#define MOVE_PORTS 12 /* the --port-to a job's argv holds; more: moved without them */

typedef struct {
    yv_dialog d;
    char vm[128];        /* "vm", or "vm@host" of a remote host (spec §14) */
    bool display, ports; /* the options the yes runs with */
    /* where the question said (--display-to, --port-to): the yes moves there or asks again */
    char display_to[16];
    char port_to[MOVE_PORTS][48];
    size_t nports;
} move_st;

typedef struct {
    const char *vm;
    const json_t *move;
} move_arg;

/* "VNC display :1 of vm1 is held by another program. Move it to :3 and start?" (and the ports). */
static void question(const move_arg *g, move_st *s, char *text, size_t n)
{
    const json_t *d = json_object_get(g->move, "display"),
                 *fw = json_object_get(g->move, "forwards");
    char from[256] = "", to[256] = "";
    size_t nf = 0, nt = 0, count = 0, i;
    const json_t *f;
    if (json_is_object(d)) {
        s->display = true;
        count++;
        nf += (size_t)snprintf(from, sizeof from, "VNC display %s",
                               json_string_value(json_object_get(d, "from")) ?: "?");
        nt += (size_t)snprintf(to, sizeof to, "%s",
                               json_string_value(json_object_get(d, "to")) ?: "?");
        snprintf(s->display_to, sizeof s->display_to, "%s",
                 json_string_value(json_object_get(d, "to")) ?: "");
    }
    json_array_foreach(fw, i, f)
    {
        s->ports = true;
        count++;
        if (i < MOVE_PORTS)
            snprintf(s->port_to[s->nports++], sizeof s->port_to[0], "%s:%lld:%lld",
                     json_string_value(json_object_get(f, "proto")) ?: "?",
                     (long long)json_integer_value(json_object_get(f, "from")),
                     (long long)json_integer_value(json_object_get(f, "to")));
        if (nf < sizeof from)
            nf += (size_t)snprintf(from + nf, sizeof from - nf, "%s%s port %lld", nf ? ", " : "",
                                   json_string_value(json_object_get(f, "proto")) ?: "?",
                                   (long long)json_integer_value(json_object_get(f, "from")));
        if (nt < sizeof to)
            nt += (size_t)snprintf(to + nt, sizeof to - nt, "%s%lld", nt ? ", " : "",
                                   (long long)json_integer_value(json_object_get(f, "to")));
    }
    if (json_array_size(fw) > MOVE_PORTS) s->nports = 0; /* too many to name: moved anywhere */
    snprintf(text, n, "%s of %s %s held by another program. Move %s to %s and start?", from, g->vm,
             count > 1 ? "are" : "is", count > 1 ? "them" : "it", to);
}

static void init(yv_app *a, void *st, const void *arg)
{
    move_st *s = st;
    const move_arg *g = arg;
    char text[512];
    (void)a;
    snprintf(s->vm, sizeof s->vm, "%s", g->vm);
    question(g, s, text, sizeof text);
    yv_dialog_confirm(&s->d, "Held by another program", text, L'y');
}

static void draw(yv_app *a, void *st)
{
    curs_set(0);
    yv_dialog_draw(&((move_st *)st)->d, stdscr, &a->theme);
}

static int key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    move_st s; /* a copy: the screen (and its state) closes before the run starts */
    yv_dialog_result r = yv_dialog_key(&((move_st *)st)->d, ch, is_key);
    if (r == YV_DIALOG_NONE) return KEY_IGNORED;
    memcpy(&s, st, sizeof s);
    yv_screen_pop(&a->screens);
    if (r != YV_DIALOG_YES) {
        yv_app_status(a, false, "%s: not moved, not started (only y confirms)", s.vm);
        return KEY_REDRAW;
    }
    char bare[64]; /* a remote host's VM is named there without "@host" */
    const char *args[8 + 2 * MOVE_PORTS] = {"--name",
                                            yv_monitor_remote_of(a->mon, s.vm, bare) ? bare : s.vm};
    int n = 2;
    if (s.display) args[n++] = "--new-display";
    if (s.display && s.display_to[0]) args[n++] = "--display-to", args[n++] = s.display_to;
    if (s.ports) args[n++] = "--new-ports";
    for (size_t i = 0; s.ports && i < s.nports; i++)
        args[n++] = "--port-to", args[n++] = s.port_to[i];
    if (yv_job_start(a, ACT_RUN, s.vm, args, NULL, NULL))
        yv_app_status(a, false, "moving and starting %s…", s.vm);
    return KEY_REDRAW;
}

const yv_screen_class yv_move_screen = {
    .name = "move",
    .size = sizeof(move_st),
    .overlay = true,
    .modal = true,
    .init = init,
    .draw = draw,
    .key = key,
};

/* Queued, never shown over an open question (a "Delete b?" replaced by this one would have its y
 * answer this); a newer offer for the same VM replaces its older one (the newer says where now). */
void yv_move_offer(yv_app *a, const char *vm, const json_t *move)
{
    size_t i = 0;
    if (!json_is_object(move)) return;
    while (i < a->moveq.n && strcmp(a->moveq.vm[i], vm) != 0) i++;
    if (i == YV_MOVE_QUEUE) {
        yv_app_status(a, true, "%s: not moved, not started (too many questions waiting)", vm);
        return;
    }
    if (i == a->moveq.n) a->moveq.n++;
    else json_decref(a->moveq.move[i]);
    snprintf(a->moveq.vm[i], sizeof a->moveq.vm[i], "%s", vm);
    a->moveq.move[i] = json_deep_copy(move);
}

void yv_move_offers_show(yv_app *a)
{
    if (!a->moveq.n || yv_screen_modal(&a->screens)) return;
    json_t *m = a->moveq.move[0];
    char vm[128]; /* "vm", or "vm@host" of a remote host (spec §14) */
    snprintf(vm, sizeof vm, "%s", a->moveq.vm[0]);
    a->moveq.n--;
    memmove(a->moveq.vm[0], a->moveq.vm[1], a->moveq.n * sizeof a->moveq.vm[0]);
    memmove(&a->moveq.move[0], &a->moveq.move[1], a->moveq.n * sizeof a->moveq.move[0]);
    flushinp(); /* typed before the question showed: they answer nothing */
    yv_screen_push(&a->screens, &yv_move_screen, &(move_arg){vm, m});
    json_decref(m);
    a->dirty = true;
}

void yv_move_offers_done(yv_app *a)
{
    for (size_t i = 0; i < a->moveq.n; i++) json_decref(a->moveq.move[i]);
    a->moveq.n = 0;
}
