/* screen: what a screen of the TUI is — a class of functions over a state of its own — and the
 * app's stack of them. The list is at the bottom; details, help and the forms are pushed over it;
 * a question (dialog) goes on top of whatever shows. Only the top screen gets keys; a key handler
 * returns what the loop must do (KEY_* flags) and never draws: the loop draws, bottom-up from the
 * first screen that fills the terminal. */
#ifndef YV_SCREEN_H
#define YV_SCREEN_H

#include <stdbool.h>
#include <poll.h>
#include <stddef.h>
#include <wchar.h>

typedef struct yv_app yv_app;

/* Handler results: what the loop must do next. */
enum { KEY_IGNORED = 0, KEY_HANDLED = 1, KEY_REDRAW = 2, KEY_QUIT = 4 };

typedef struct {
    const char *name;
    size_t size;  /* of its state, zeroed by the stack before init */
    bool overlay; /* drawn over the screen below it (a form, a dialog) */
    bool modal;   /* a question: stays on top when a screen is shown under it */
    /* arg: what the opener hands over (a VM's name, a form…), the class says which */
    void (*init)(yv_app *a, void *st, const void *arg);
    void (*draw)(yv_app *a, void *st);
    int (*key)(yv_app *a, void *st, wint_t ch, bool is_key);
    void (*done)(yv_app *a, void *st); /* frees what the state holds; may be NULL */
    /* A screen that waits on something of its own (the live picture of a VM): its descriptor, or
     * -1 (it may lower *timeout_ms for a frame it holds back). NULL: nothing. */
    int (*pollfd)(yv_app *a, void *st, int *timeout_ms);
    /* After every wake-up of the loop, for each screen with a pollfd: its descriptor's revents (0:
     * its timeout or another's wake-up). Returns KEY_* flags. */
    int (*ready)(yv_app *a, void *st, short revents);
    /* The frame it drew is on the terminal; repainted: the terminal was cleared and drawn whole
     * (what a picture writing past curses must know). May be NULL. */
    void (*drawn)(yv_app *a, void *st, bool repainted);
    /* Its draw puts every cell of the terminal: drawn alone, a frame of it may be drawn over the
     * last one instead of a cleared screen (yv_screen_keeps). */
    bool covers;
} yv_screen_class;

typedef struct {
    const yv_screen_class *cls;
    void *st;
} yv_screen;

#define YV_SCREEN_MAX 8

/* The stack (the app embeds one). It knows the app only as what it hands to the screens. */
typedef struct {
    yv_app *app;                 /* passed to every screen function */
    bool *dirty;                 /* set when a screen opens or closes: the loop redraws */
    yv_screen at[YV_SCREEN_MAX]; /* [0] the list; the top one gets the keys */
    int n;
    unsigned gen;                /* changes with every screen opened or closed */
    void *polled[YV_SCREEN_MAX]; /* the states of the screens the last pollfds gave, in order */
    size_t npolled;
} yv_screens;

void yv_screens_init(yv_screens *s, yv_app *app, bool *dirty);
/* Opens c over the top screen; its state, or NULL when the stack is full. */
void *yv_screen_push(yv_screens *s, const yv_screen_class *c, const void *arg);
/* Closes the top screen (its done, then its state is freed): the last thing a handler does. */
void yv_screen_pop(yv_screens *s);
/* Opens c right over the bottom screen, in place of any screen there but a question, which stays
 * on top (what a job's end opens: the form again after a failed create). Its state. */
void *yv_screen_show(yv_screens *s, const yv_screen_class *c, const void *arg);
void yv_screen_pop_all(yv_screens *s);
const yv_screen *yv_screen_top(const yv_screens *s);
void *yv_screen_bottom(const yv_screens *s); /* the list's state */
bool yv_screen_modal(const yv_screens *s);   /* a question is on top */
void yv_screen_draw(yv_screens *s);
/* A frame drawn now may be drawn over the last one (the app does not clear the screen first): the
 * screens drawn are one screen that covers the terminal, the same as when the last frame was drawn
 * (gen: what s->gen was then). */
bool yv_screen_keeps(const yv_screens *s, unsigned gen);
int yv_screen_key(yv_screens *s, wint_t ch, bool is_key);
/* The descriptors of the screens that wait on one (at most max), lowering *timeout_ms as they ask;
 * one that gives -1 has a slot of -1 (poll skips it) so that ready is called for it all the same.
 */
size_t yv_screen_pollfds(yv_screens *s, struct pollfd *fds, size_t max, int *timeout_ms);
/* Hands each such screen its revents from fds (n as pollfds gave; 0 after a timeout): KEY_* flags.
 */
int yv_screen_ready(yv_screens *s, const struct pollfd *fds, size_t n);
/* Tells the screens drawn in the last frame that it is on the terminal. */
void yv_screen_drawn(yv_screens *s, bool repainted);

#endif
