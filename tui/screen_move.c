/* screen_move: a run that failed because another program holds the VM's VNC display or a forward
 * host port (the batch's --json error carries "move": where each would go) asks whether to move
 * them and start; only y confirms, and only then `run --new-display` / `--new-ports` runs (issue
 * 20). Nothing is changed without that yes. */
#include <curses.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

typedef struct {
    yv_dialog d;
    char vm[64];
    bool display, ports; /* the options the yes runs with */
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
    }
    json_array_foreach(fw, i, f)
    {
        s->ports = true;
        count++;
        if (nf < sizeof from)
            nf += (size_t)snprintf(from + nf, sizeof from - nf, "%s%s port %lld", nf ? ", " : "",
                                   json_string_value(json_object_get(f, "proto")) ?: "?",
                                   (long long)json_integer_value(json_object_get(f, "from")));
        if (nt < sizeof to)
            nt += (size_t)snprintf(to + nt, sizeof to - nt, "%s%lld", nt ? ", " : "",
                                   (long long)json_integer_value(json_object_get(f, "to")));
    }
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
    const char *args[6] = {"--name", s.vm, NULL, NULL, NULL};
    int n = 2;
    if (s.display) args[n++] = "--new-display";
    if (s.ports) args[n++] = "--new-ports";
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

void yv_move_offer(yv_app *a, const char *vm, const json_t *move)
{
    if (!json_is_object(move)) return;
    if (yv_screen_modal(&a->screens)) yv_screen_pop(&a->screens);
    yv_screen_push(&a->screens, &yv_move_screen, &(move_arg){vm, move});
}
