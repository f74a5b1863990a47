/* screen: the app's stack of screens. */
#include "screen.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void yv_screens_init(yv_screens *s, yv_app *app, bool *dirty)
{
    memset(s, 0, sizeof *s);
    s->app = app;
    s->dirty = dirty;
}

static void changed(yv_screens *s)
{
    s->gen++;
    if (s->dirty) *s->dirty = true;
}

static void close_at(yv_screens *s, int i)
{
    yv_screen sc = s->at[i];
    if (sc.cls->done) sc.cls->done(s->app, sc.st);
    free(sc.st);
    memmove(&s->at[i], &s->at[i + 1], (size_t)(s->n - i - 1) * sizeof sc);
    s->n--;
}

/* Opens c at index i, shifting the screens from i up. */
static void *open_at(yv_screens *s, int i, const yv_screen_class *c, const void *arg)
{
    if (s->n >= YV_SCREEN_MAX) return NULL;
    void *st = yv_calloc(1, c->size ? c->size : 1);
    memmove(&s->at[i + 1], &s->at[i], (size_t)(s->n - i) * sizeof s->at[0]);
    s->at[i] = (yv_screen){c, st};
    s->n++;
    if (c->init) c->init(s->app, st, arg);
    changed(s);
    return st;
}

void *yv_screen_push(yv_screens *s, const yv_screen_class *c, const void *arg)
{
    return open_at(s, s->n, c, arg);
}

void yv_screen_pop(yv_screens *s)
{
    if (s->n > 0) close_at(s, s->n - 1);
    changed(s);
}

void *yv_screen_show(yv_screens *s, const yv_screen_class *c, const void *arg)
{
    for (int i = s->n - 1; i >= 1; i--)
        if (!s->at[i].cls->modal) close_at(s, i);
    return open_at(s, s->n ? 1 : 0, c, arg);
}

void yv_screen_pop_all(yv_screens *s)
{
    while (s->n > 0) close_at(s, s->n - 1);
    s->gen++;
}

const yv_screen *yv_screen_top(const yv_screens *s)
{
    return s->n ? &s->at[s->n - 1] : NULL;
}

void *yv_screen_bottom(const yv_screens *s)
{
    return s->n ? s->at[0].st : NULL;
}

bool yv_screen_modal(const yv_screens *s)
{
    const yv_screen *t = yv_screen_top(s);
    return t && t->cls->modal;
}

/* The first screen drawn: the top one, or the one under the overlays on top. */
static int first_drawn(const yv_screens *s)
{
    int first = s->n - 1;
    while (first > 0 && s->at[first].cls->overlay) first--;
    return first < 0 ? 0 : first;
}

void yv_screen_draw(yv_screens *s)
{
    for (int i = first_drawn(s); i < s->n; i++) s->at[i].cls->draw(s->app, s->at[i].st);
}

bool yv_screen_keeps(const yv_screens *s, unsigned gen)
{
    return s->n > 0 && gen == s->gen && first_drawn(s) == s->n - 1 && s->at[s->n - 1].cls->covers;
}

void yv_screen_drawn(yv_screens *s, bool repainted)
{
    for (int i = first_drawn(s); i < s->n; i++)
        if (s->at[i].cls->drawn) s->at[i].cls->drawn(s->app, s->at[i].st, repainted);
}

size_t yv_screen_pollfds(yv_screens *s, struct pollfd *fds, size_t max, int *timeout_ms)
{
    s->npolled = 0;
    for (int i = 0; i < s->n && s->npolled < max; i++) {
        if (!s->at[i].cls->pollfd) continue;
        /* a screen without a descriptor now (-1: poll ignores it) is still handed its turn:
         * one that asked for a timeout of 0 (a search under way without inotify) must be
         * called or the loop spins */
        int fd = s->at[i].cls->pollfd(s->app, s->at[i].st, timeout_ms);
        fds[s->npolled] = (struct pollfd){fd < 0 ? -1 : fd, POLLIN, 0};
        s->polled[s->npolled++] = s->at[i].st;
    }
    return s->npolled;
}

int yv_screen_ready(yv_screens *s, const struct pollfd *fds, size_t n)
{
    int r = 0;
    /* each screen still open with its revents; a screen closed since pollfds is not called (and
     * one closed by a ready handler is not either: looked up again for each) */
    for (size_t k = 0; k < n && k < s->npolled; k++)
        for (int i = 0; i < s->n; i++)
            if (s->at[i].st == s->polled[k] && s->at[i].cls->ready) {
                r |= s->at[i].cls->ready(s->app, s->at[i].st, fds ? fds[k].revents : 0);
                break;
            }
    return r;
}

int yv_screen_key(yv_screens *s, wint_t ch, bool is_key)
{
    const yv_screen *t = yv_screen_top(s);
    return t ? t->cls->key(s->app, t->st, ch, is_key) : KEY_IGNORED;
}
