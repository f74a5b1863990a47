/* screen: what a screen of the TUI is — a class of functions over a state of its own — and the
 * app's stack of them. The list is at the bottom; details, help and the forms are pushed over it;
 * a question (dialog) goes on top of whatever shows. Only the top screen gets keys; a key handler
 * returns what the loop must do (KEY_* flags) and never draws: the loop draws, bottom-up from the
 * first screen that fills the terminal. */
#ifndef YV_SCREEN_H
#define YV_SCREEN_H

#include <stdbool.h>
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
int yv_screen_key(yv_screens *s, wint_t ch, bool is_key);

#endif
