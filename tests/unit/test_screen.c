/* screen: the TUI's stack of screens, with fake screen classes that write down what is done to
 * them — which screen gets a key, which are drawn and in what order, when each one's done runs. */
#include "unit.h"

/* The TUI is not in the unit tests' link line: the stack (no curses call, no app) is compiled in.
 */
#include "../../tui/screen.c"

static yv_screens stack;
static bool dirty;
static char log_[256]; /* "init:A draw:A key:B done:B …" */

static void note(const char *what, const void *st)
{
    size_t n = strlen(log_);
    snprintf(log_ + n, sizeof log_ - n, "%s%s:%c", n ? " " : "", what, *(const char *)st);
}

/* A state starts with the screen's letter, written by init from arg. */
static void f_init(yv_app *a, void *st, const void *arg)
{
    (void)a;
    *(char *)st = *(const char *)arg;
    note("init", st);
}
static void f_draw(yv_app *a, void *st)
{
    (void)a;
    note("draw", st);
}
static int f_key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    (void)a, (void)is_key;
    note("key", st);
    if (ch == L'x') yv_screen_pop(&stack); /* a screen closes itself from its handler */
    return KEY_REDRAW;
}
static void f_done(yv_app *a, void *st)
{
    (void)a;
    note("done", st);
}

static const yv_screen_class full = {"full", 8,      false, false, f_init, f_draw,
                                     f_key,  f_done, NULL,  NULL,  NULL,   false};
static const yv_screen_class over = {"over", 8,      true, false, f_init, f_draw,
                                     f_key,  f_done, NULL, NULL,  NULL,   false};
static const yv_screen_class ask = {"ask", 8,      true, true, f_init, f_draw,
                                    f_key, f_done, NULL, NULL, NULL,   false};
/* one that puts every cell of the terminal, as the list does */
static const yv_screen_class cover = {"cover", 8,      false, false, f_init, f_draw,
                                      f_key,   f_done, NULL,  NULL,  NULL,   true};

/* A screen waiting on a descriptor: 40 + its letter's offset from 'a'; 'c' has none now. */
static int f_pollfd(yv_app *a, void *st, int *timeout_ms)
{
    (void)a;
    char c = *(char *)st;
    if (c == 'b') *timeout_ms = 7; /* b holds a frame back */
    return c == 'c' ? -1 : 40 + (c - 'a');
}
static int f_ready(yv_app *a, void *st, short revents)
{
    (void)a;
    note(revents ? "ready+" : "ready", st);
    if (*(char *)st == 'b' && revents) yv_screen_pop(&stack); /* closes itself (the top) */
    return KEY_REDRAW;
}
static void f_drawn(yv_app *a, void *st, bool repainted)
{
    (void)a;
    note(repainted ? "drawn!" : "drawn", st);
}
static const yv_screen_class live = {"live", 8,      false,    false,   f_init,  f_draw,
                                     f_key,  f_done, f_pollfd, f_ready, f_drawn, false};

static int setup(void **state)
{
    (void)state;
    yv_screens_init(&stack, NULL, &dirty);
    log_[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    yv_screen_pop_all(&stack);
    return 0;
}

static void drawn(const char *want)
{
    log_[0] = '\0';
    yv_screen_draw(&stack);
    assert_string_equal(log_, want);
}

/* The loop draws bottom-up from the first screen that fills the terminal; keys go to the top. */
static void test_draw_from_the_first_full_screen(void **state)
{
    (void)state;
    dirty = false;
    yv_screen_push(&stack, &full, "L");
    assert_true(dirty); /* an opened screen makes the loop redraw */
    yv_screen_push(&stack, &over, "F");
    drawn("draw:L draw:F");
    yv_screen_push(&stack, &full, "H");
    yv_screen_push(&stack, &ask, "Q");
    drawn("draw:H draw:Q");
    log_[0] = '\0';
    assert_int_equal(yv_screen_key(&stack, L'a', false), KEY_REDRAW);
    assert_string_equal(log_, "key:Q");
    assert_true(yv_screen_modal(&stack));
    assert_int_equal(*(char *)yv_screen_bottom(&stack), 'L');
}

/* A frame may be drawn over the last one only when it is drawn by the one covering screen that
 * drew the last one: not under an overlay, not after a screen opened or closed in between (gen),
 * not for a screen that leaves cells to a clear. */
static void test_keeps_only_the_same_covering_screen(void **state)
{
    (void)state;
    assert_false(yv_screen_keeps(&stack, stack.gen)); /* nothing to draw */
    yv_screen_push(&stack, &cover, "L");
    unsigned gen = stack.gen;
    assert_true(yv_screen_keeps(&stack, gen));
    assert_false(yv_screen_keeps(&stack, gen - 1)); /* the last frame was before it opened */
    yv_screen_push(&stack, &over, "F");
    assert_false(yv_screen_keeps(&stack, stack.gen)); /* a form over it */
    yv_screen_pop(&stack);
    assert_false(yv_screen_keeps(&stack, gen)); /* the form's cells are still there */
    assert_true(yv_screen_keeps(&stack, stack.gen));
    yv_screen_push(&stack, &full, "H");
    assert_false(yv_screen_keeps(&stack, stack.gen)); /* drawn alone, but not covering */
    yv_screen_pop(&stack);
    yv_screen_show(&stack, &full, "D");
    assert_false(yv_screen_keeps(&stack, stack.gen));
    gen = stack.gen;
    yv_screen_pop_all(&stack);
    yv_screen_push(&stack, &cover, "M");
    assert_false(yv_screen_keeps(&stack, gen));
}

/* A handler may close its own screen; the one below gets the next key. */
static void test_pop_from_a_handler(void **state)
{
    (void)state;
    yv_screen_push(&stack, &full, "L");
    yv_screen_push(&stack, &full, "H");
    log_[0] = '\0';
    yv_screen_key(&stack, L'x', false);
    assert_string_equal(log_, "key:H done:H");
    assert_int_equal(stack.n, 1);
    log_[0] = '\0';
    yv_screen_key(&stack, L'a', false);
    assert_string_equal(log_, "key:L");
}

/* show: over the bottom screen, in place of the screens there, under an open question. */
static void test_show_keeps_a_question_on_top(void **state)
{
    (void)state;
    yv_screen_push(&stack, &full, "L");
    yv_screen_push(&stack, &full, "H");
    yv_screen_push(&stack, &ask, "Q");
    log_[0] = '\0';
    assert_int_equal(*(char *)yv_screen_show(&stack, &over, "F"), 'F');
    assert_string_equal(log_, "done:H init:F");
    assert_int_equal(stack.n, 3);
    assert_ptr_equal(stack.at[1].cls, &over);
    assert_ptr_equal(yv_screen_top(&stack)->cls, &ask);
    drawn("draw:L draw:F draw:Q");
}

static void test_full_stack_and_pop_all(void **state)
{
    (void)state;
    yv_screen_push(&stack, &full, "L");
    for (int i = 1; i < YV_SCREEN_MAX; i++) assert_non_null(yv_screen_push(&stack, &over, "O"));
    assert_null(yv_screen_push(&stack, &over, "X"));
    assert_int_equal(stack.n, YV_SCREEN_MAX);
    log_[0] = '\0';
    yv_screen_pop_all(&stack);
    assert_int_equal(stack.n, 0);
    assert_non_null(strstr(log_, "done:L"));
    assert_null(yv_screen_top(&stack));
    assert_int_equal(yv_screen_key(&stack, L'a', false), KEY_IGNORED);
}

/* Descriptors of the screens that wait on one, in stack order (-1 for one without a descriptor
 * now); ready reaches each with its revents, and not a screen closed in between; drawn reaches the
 * screens drawn. */
static void test_screens_with_a_descriptor(void **state)
{
    (void)state;
    struct pollfd fds[4];
    int t = -1;
    yv_screen_push(&stack, &live, "a");
    yv_screen_push(&stack, &live, "c"); /* no descriptor now */
    yv_screen_push(&stack, &full, "x");
    yv_screen_push(&stack, &live, "b");
    assert_int_equal(yv_screen_pollfds(&stack, fds, 4, &t), 3);
    assert_int_equal(fds[0].fd, 40);
    assert_int_equal(fds[1].fd, -1); /* c: poll skips it, ready still reaches it (it may be busy) */
    assert_int_equal(fds[2].fd, 41);
    assert_int_equal(t, 7);
    log_[0] = '\0';
    fds[0].revents = 0, fds[1].revents = 0, fds[2].revents = POLLIN;
    assert_int_equal(yv_screen_ready(&stack, fds, 3), KEY_REDRAW);
    assert_string_equal(log_, "ready:a ready:c ready+:b done:b");
    log_[0] = '\0';
    yv_screen_drawn(&stack, true); /* x fills the terminal: only it is drawn, and it has none */
    assert_string_equal(log_, "");
    yv_screen_pop(&stack); /* x */
    log_[0] = '\0';
    yv_screen_drawn(&stack, false);
    assert_string_equal(log_, "drawn:c");
    /* after a timeout: every screen that gave one, with no revents; b is gone */
    log_[0] = '\0';
    assert_int_equal(yv_screen_ready(&stack, NULL, 3), KEY_REDRAW);
    assert_string_equal(log_, "ready:a ready:c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_draw_from_the_first_full_screen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pop_from_a_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keeps_only_the_same_covering_screen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_keeps_a_question_on_top, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_stack_and_pop_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_screens_with_a_descriptor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
