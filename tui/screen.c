/* screen: the app's stack of screens. */
#include "screen.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/util.h"

static void close_at(yv_app *a, int i)
{
    yv_screen s = a->screens[i];
    if (s.cls->done) s.cls->done(a, s.st);
    free(s.st);
    memmove(&a->screens[i], &a->screens[i + 1], (size_t)(a->nscreens - i - 1) * sizeof s);
    a->nscreens--;
}

/* Opens c at index i, shifting the screens from i up. */
static void *open_at(yv_app *a, int i, const yv_screen_class *c, const void *arg)
{
    if (a->nscreens >= YV_SCREEN_MAX) return NULL;
    void *st = yv_calloc(1, c->size ? c->size : 1);
    memmove(&a->screens[i + 1], &a->screens[i], (size_t)(a->nscreens - i) * sizeof a->screens[0]);
    a->screens[i] = (yv_screen){c, st};
    a->nscreens++;
    if (c->init) c->init(a, st, arg);
    a->dirty = true;
    return st;
}

void *yv_screen_push(yv_app *a, const yv_screen_class *c, const void *arg)
{
    return open_at(a, a->nscreens, c, arg);
}

void yv_screen_pop(yv_app *a)
{
    if (a->nscreens > 0) close_at(a, a->nscreens - 1);
    a->dirty = true;
}

void *yv_screen_show(yv_app *a, const yv_screen_class *c, const void *arg)
{
    for (int i = a->nscreens - 1; i >= 1; i--)
        if (!a->screens[i].cls->modal) close_at(a, i);
    return open_at(a, a->nscreens ? 1 : 0, c, arg);
}

void yv_screen_pop_all(yv_app *a)
{
    while (a->nscreens > 0) close_at(a, a->nscreens - 1);
}

const yv_screen *yv_screen_top(const yv_app *a)
{
    return a->nscreens ? &a->screens[a->nscreens - 1] : NULL;
}

void *yv_screen_bottom(const yv_app *a)
{
    return a->nscreens ? a->screens[0].st : NULL;
}

bool yv_screen_modal(const yv_app *a)
{
    const yv_screen *t = yv_screen_top(a);
    return t && t->cls->modal;
}

void yv_screen_draw(yv_app *a)
{
    int first = a->nscreens - 1;
    while (first > 0 && a->screens[first].cls->overlay) first--;
    for (int i = first < 0 ? 0 : first; i < a->nscreens; i++)
        a->screens[i].cls->draw(a, a->screens[i].st);
}

int yv_screen_key(yv_app *a, wint_t ch, bool is_key)
{
    const yv_screen *t = yv_screen_top(a);
    return t ? t->cls->key(a, t->st, ch, is_key) : KEY_IGNORED;
}
