/* widgets: table, form, dialog, key bar and text drawing on a real terminal — a pty with its own
 * ncurses SCREEN (newterm). Keys are typed as a keyboard would (terminfo key strings written to the
 * pty's master side, read back with wget_wch); what a user would see is read back from the screen
 * (mvwinnwstr / mvwinch), never guessed from the widgets' insides. */
#define UT_TERM
#include "unit.h"

#include <curses.h>
#include <locale.h>
#include <poll.h>
#include <pty.h>

/* The widgets are not in the unit tests' link line: compiled in here. */
#include "../../widgets/dialog.c"
#include "../../widgets/draw.c"
#include "../../widgets/form.c"
#include "../../widgets/keybar.c"
#include "../../widgets/table.c"
#include "../../widgets/theme.c"

/* ---- the terminal ---- */

static struct {
    ut_term t;
    yv_theme th;
} T;

static int term_setup(void **state)
{
    (void)state;
    ut_term_open(&T.t, "xterm-256color");
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    yv_theme_builtin_mono(&T.th); /* attributes only: the selection is A_REVERSE */
    yv_theme_apply(&T.th, false);
    assert_int_equal(LINES, 24);
    assert_int_equal(COLS, 80);
    erase();
    return 0;
}

static int term_teardown(void **state)
{
    (void)state;
    ut_term_close(&T.t);
    memset(&T, 0, sizeof T);
    return 0;
}

/* Puts the drawing on the terminal (as the TUI's loop does). */
static void show(void)
{
    wnoutrefresh(stdscr);
    doupdate();
    ut_term_drain(&T.t);
}

/* Line y of the screen as UTF-8 (a wide character once, trailing blanks removed); static buffer. */
static const char *line_at(int y)
{
    static char out[1024];
    wchar_t w[256];
    int n = mvwinnwstr(stdscr, y, 0, w, COLS);
    if (n == ERR) fail_msg("mvwinnwstr line %d failed", y);
    w[n < 0 ? 0 : n] = L'\0';
    size_t r = wcstombs(out, w, sizeof out - 1);
    if (r == (size_t)-1) {
        fail_msg("line %d does not convert to UTF-8", y);
        r = 0; /* not reached: fail_msg jumps out */
    }
    out[r] = '\0';
    while (r > 0 && out[r - 1] == ' ') out[--r] = '\0';
    return out;
}

/* The whole screen, lines joined with '\n'; malloc'd. */
static char *screen_text(void)
{
    size_t cap = (size_t)LINES * 1100 + 1, len = 0;
    char *s = yv_malloc(cap);
    s[0] = '\0';
    for (int y = 0; y < LINES; y++) len += (size_t)snprintf(s + len, cap - len, "%s\n", line_at(y));
    return s;
}

/* The first word of line y ("" when blank); static buffer. */
static const char *word_at(int y)
{
    static char w[128];
    const char *l = line_at(y);
    while (*l == ' ') l++;
    size_t n = strcspn(l, " ");
    snprintf(w, sizeof w, "%.*s", (int)n, l);
    return w;
}

/* Lines (within [from, to]) whose first cell is drawn in reverse video: the highlighted row. */
static int reverse_line(int from, int to)
{
    int found = -1;
    for (int y = from; y <= to; y++)
        if (mvwinch(stdscr, y, 0) & A_REVERSE) {
            if (found >= 0) fail_msg("lines %d and %d are both highlighted", found, y);
            found = y;
        }
    return found;
}

/* The terminal's own string for a key (terminfo), e.g. "kcud1" → "\033OB". */
static const char *cap_of(const char *name)
{
    const char *s = tigetstr(name);
    if (!s || s == (char *)-1) fail_msg("xterm-256color has no %s", name);
    return s;
}

/* Types bytes on the keyboard and calls fn for each key the terminal decodes from them; returns the
 * number of keys. A ^A typed after them marks the end, so no guessing how long to wait. */
typedef void (*key_fn)(void *ctx, wint_t ch, bool is_key);
#define END_MARK "\001"
static int type_keys(const char *bytes, key_fn fn, void *ctx)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s" END_MARK, bytes);
    if (write(T.t.master, buf, (size_t)n) != n) fail_msg("write to the pty: %s", strerror(errno));
    int keys = 0;
    wint_t ch;
    wtimeout(stdscr, 2000);
    for (;;) {
        int r = wget_wch(stdscr, &ch);
        if (r == ERR) fail_msg("the keys of '%s' did not all arrive", bytes);
        if (r == OK && ch == 1) break;
        fn(ctx, ch, r == KEY_CODE_YES);
        keys++;
    }
    ut_term_drain(&T.t);
    if (keys == 0) fail_msg("no key decoded from '%s'", bytes);
    return keys;
}

/* ---- yv_draw_text: cut and padded by display width ---- */

static void test_draw_width(void **state)
{
    (void)state;
    assert_int_equal(yv_draw_width("abc"), 3);
    assert_int_equal(yv_draw_width("héllo"), 5); /* é: 2 bytes, 1 cell */
    assert_int_equal(yv_draw_width("漢字"), 4);  /* wide: 2 cells each */
    assert_int_equal(yv_draw_width("a\xff"
                                   "b"),
                     3); /* an invalid byte counts one cell */
    assert_int_equal(yv_draw_width(""), 0);
}

static void test_draw_text_cuts_and_pads(void **state)
{
    (void)state;
    mvwaddstr(stdscr, 0, 0, "##########");
    yv_draw_text(stdscr, 0, 0, "héllo wörld", 5, A_NORMAL);
    mvwaddstr(stdscr, 1, 0, "##########");
    yv_draw_text(stdscr, 1, 0, "ab", 5, A_NORMAL); /* padded: the old text under it is gone */
    mvwaddstr(stdscr, 2, 0, "##########");
    yv_draw_text(stdscr, 2, 0, "漢字abc", 5, A_NORMAL);
    mvwaddstr(stdscr, 3, 0, "##########");
    yv_draw_text(stdscr, 3, 0, "a漢字", 4, A_NORMAL); /* 字 would need cells 3-4: cut, one pad */
    mvwaddstr(stdscr, 4, 0, "##########");
    yv_draw_text_right(stdscr, 4, 0, "漢", 4, A_NORMAL);
    mvwaddstr(stdscr, 5, 0, "##########");
    yv_draw_text(stdscr, 5, 2, "x\ty", 4, A_NORMAL); /* a control character never reaches the tty */
    yv_draw_text(stdscr, 6, 75, "abcdefghij", 20, A_NORMAL); /* clipped at the screen's edge */
    show();
    assert_string_equal(line_at(0), "héllo#####");
    assert_string_equal(line_at(1), "ab   #####");
    assert_string_equal(line_at(2), "漢字a#####");
    assert_string_equal(line_at(3), "a漢 ######");
    assert_string_equal(line_at(4), "  漢######");
    assert_string_equal(line_at(5), "##x?y ####");
    assert_string_equal(
        line_at(6),
        "                                                                           abcde");
    assert_string_equal(line_at(7), "");
}

/* ---- table ---- */

typedef struct {
    size_t n;
} tmodel;

static size_t tm_count(void *ctx)
{
    return ((tmodel *)ctx)->n;
}

static void tm_cell(void *ctx, size_t row, int col, char *buf, size_t n, yv_role *role)
{
    (void)ctx;
    (void)role;
    if (col == 0) snprintf(buf, n, "row%03zu", row);
    else if (col == 1) snprintf(buf, n, "v%zu", row * 2);
    else snprintf(buf, n, "x%zu", row);
}

static bool tm_match(void *ctx, size_t row, const char *filter)
{
    char b[16];
    (void)ctx;
    snprintf(b, sizeof b, "row%03zu", row);
    return strstr(b, filter) != NULL;
}

static const yv_column tcols[] = {
    {"NAME", 8, 0, false, false},
    {"VAL", 6, 0, true, false},
    {"EXTRA", 7, 60, false, false}, /* hidden below 60 columns */
};
static const yv_table_model tmodel_cb = {.count = tm_count, .cell = tm_cell, .match = tm_match};

/* Header on line 0, 10 rows on lines 1-10. */
static void tdraw(yv_table *t, int width)
{
    erase();
    yv_table_draw(t, stdscr, 0, 0, 11, width, &T.th);
    show();
}

static void table_key(void *ctx, wint_t ch, bool is_key)
{
    assert_true(is_key);
    assert_true(yv_table_key(ctx, (int)ch));
}

/* A key pressed on the keyboard, then the table drawn again (as the TUI does). */
static void tpress(yv_table *t, const char *cap)
{
    assert_int_equal(type_keys(cap_of(cap), table_key, t), 1);
    tdraw(t, COLS);
}

/* The highlighted row is model row `sel`, on screen line `y`, and line 1 shows row `top`. */
static void assert_view(yv_table *t, long sel, int y, int top)
{
    char want[16];
    assert_int_equal(yv_table_selected(t), sel);
    assert_int_equal(reverse_line(1, 10), y);
    snprintf(want, sizeof want, "row%03ld", sel);
    assert_string_equal(word_at(y), want);
    snprintf(want, sizeof want, "row%03d", top);
    assert_string_equal(word_at(1), want);
}

/* Sorting (spec §15): VAL sorts by value (row % 3, so ties), ties by name whichever the
 * direction; unknown values ("-", row 9) below all; the selection stays on its row. */
static bool tm_sort_value(void *ctx, size_t row, int col, double *v, char *text, size_t n)
{
    (void)ctx, (void)text, (void)n;
    if (col != 1) return false;
    *v = row == 9 ? -1 : (double)(row % 3);
    return true;
}

static const yv_table_model tmodel_sort = {
    .count = tm_count, .cell = tm_cell, .match = tm_match, .sort_value = tm_sort_value};

static void assert_order(const char *const *want, int n)
{
    for (int i = 0; i < n; i++) assert_string_equal(word_at(1 + i), want[i]);
}

static void test_table_sort_and_columns(void **state)
{
    (void)state;
    tmodel m = {10};
    yv_table *t = yv_table_new(tcols, 3, &tmodel_sort, &m);
    yv_table_select(t, 4);
    yv_table_set_sort(t, 1, false);
    tdraw(t, COLS);
    assert_order((const char *const[]){"row009", "row000", "row003", "row006", "row001", "row004"},
                 6);
    assert_int_equal(yv_table_selected(t), 4);
    assert_int_equal(reverse_line(1, 10), 6);
    assert_non_null(strstr(line_at(0), "VAL")); /* with its arrow: the sort column */
    assert_true(strstr(line_at(0), "VAL▲") || strstr(line_at(0), "VAL^"));
    yv_table_set_sort(t, 1, true);
    tdraw(t, COLS);
    assert_order((const char *const[]){"row002", "row005", "row008", "row001", "row004", "row007",
                                       "row000", "row003", "row006", "row009"},
                 10);
    assert_int_equal(yv_table_selected(t), 4);
    assert_true(strstr(line_at(0), "VAL▼") || strstr(line_at(0), "VALv"));
    yv_table_sort_step(t, 1); /* EXTRA: by its text, x0 x1 … x9 */
    assert_int_equal(yv_table_sort_col(t), 2);
    yv_table_set_shown(t, 2, false); /* hiding the sort column: the model's order again */
    yv_table_set_shown(t, 0, false); /* the first column always shows */
    assert_int_equal(yv_table_sort_col(t), -1);
    tdraw(t, COLS);
    assert_null(strstr(line_at(0), "EXTRA"));
    assert_true(yv_table_shown(t, 0));
    assert_order((const char *const[]){"row000", "row001", "row002"}, 3);
    yv_table_sort_step(t, -1); /* from NAME leftwards, wrapping past the hidden EXTRA to VAL */
    assert_int_equal(yv_table_sort_col(t), 1);
    yv_table_set_shown(t, 2, true);
    tdraw(t, 50); /* no room for EXTRA (60 columns): skipped too */
    yv_table_sort_step(t, 1);
    assert_int_equal(yv_table_sort_col(t), 0);
    yv_table_free(t);
    /* a column marked off (a metric few need) is hidden until the user shows it */
    static const yv_column offcols[] = {
        {"NAME", 8, 0, false, false}, {"VAL", 6, 0, true, true}, {"EXTRA", 7, 0, false, false}};
    t = yv_table_new(offcols, 3, &tmodel_sort, &m);
    tdraw(t, COLS);
    assert_false(yv_table_shown(t, 1));
    assert_null(strstr(line_at(0), "VAL"));
    assert_non_null(strstr(line_at(0), "EXTRA"));
    yv_table_set_shown(t, 1, true);
    tdraw(t, COLS);
    assert_non_null(strstr(line_at(0), "VAL"));
    yv_table_free(t);
}

/* Text keys in version order: VNC displays and addresses by their numbers, not as text. */
static const char *const vtext[] = {"192.168.122.10", ":10", "192.168.122.9", ":2", ":1", "-"};

static void vt_cell(void *ctx, size_t row, int col, char *buf, size_t n, yv_role *role)
{
    (void)ctx, (void)role;
    if (col == 0) snprintf(buf, n, "row%03zu", row);
    else snprintf(buf, n, "%s", vtext[row]);
}

static bool vt_sort_value(void *ctx, size_t row, int col, double *v, char *text, size_t n)
{
    (void)ctx, (void)row, (void)col, (void)v, (void)text, (void)n;
    return false; /* by the cell's text */
}

static void test_table_sort_text_by_numbers(void **state)
{
    (void)state;
    tmodel m = {6};
    static const yv_table_model vmodel = {
        .count = tm_count, .cell = vt_cell, .sort_value = vt_sort_value};
    yv_table *t = yv_table_new(tcols, 2, &vmodel, &m);
    yv_table_set_sort(t, 1, false);
    tdraw(t, COLS);
    /* "-", ".9", ".10", ":1", ":2", ":10" */
    assert_order((const char *const[]){"row005", "row002", "row000", "row004", "row003", "row001"},
                 6);
    yv_table_free(t);
}

/* A narrow screen: a column that does not fit is not drawn cut at the right edge (its arrow
 * would not show), and < > skip it; the flexible column keeps room for its title and arrow. */
static void test_table_narrow_columns(void **state)
{
    (void)state;
    tmodel m = {3};
    static const yv_column ncols[] = {{"NAME", 8, 0, false, false},
                                      {"VAL", 6, 0, true, false},
                                      {"WIDE", 20, 0, false, false},
                                      {"LAST", 6, 0, false, false}};
    yv_table *t = yv_table_new(ncols, 4, &tmodel_cb, &m);
    yv_table_set_sort(t, 1, false);
    tdraw(t, 30);
    assert_null(strstr(line_at(0), "WIDE"));
    yv_table_sort_step(t, 1); /* VAL → LAST: WIDE has no room */
    assert_int_equal(yv_table_sort_col(t), 3);
    tdraw(t, 30);
    assert_true(strstr(line_at(0), "LAST▲") || strstr(line_at(0), "LAST^"));
    yv_table_sort_step(t, 1);
    assert_int_equal(yv_table_sort_col(t), 0);
    yv_table_sort_step(t, -1);
    assert_int_equal(yv_table_sort_col(t), 3);
    yv_table_free(t);
    static const yv_column fcols[] = {
        {"NAME", 8, 0, false, false}, {"NETWORK", 0, 0, false, false}, {"VAL", 6, 0, true, false}};
    t = yv_table_new(fcols, 3, &tmodel_cb, &m);
    yv_table_set_sort(t, 1, false);
    tdraw(t, 22);
    assert_true(strstr(line_at(0), "NETWORK▲") || strstr(line_at(0), "NETWORK^"));
    assert_null(strstr(line_at(0), "VAL"));
    yv_table_free(t);
}

static void test_table_scrolling(void **state)
{
    (void)state;
    tmodel m = {100};
    yv_table *t = yv_table_new(tcols, 3, &tmodel_cb, &m);
    tdraw(t, COLS);
    assert_string_equal(line_at(0), "NAME        VAL EXTRA");
    assert_string_equal(line_at(1), "row000       v0 x0");
    assert_string_equal(word_at(10), "row009");
    assert_view(t, 0, 1, 0);

    for (int i = 0; i < 15; i++) tpress(t, "kcud1"); /* the top follows the selection down */
    assert_view(t, 15, 10, 6);
    tpress(t, "knp"); /* a page: the rows on screen less one */
    assert_view(t, 24, 10, 15);
    for (int i = 0; i < 5; i++) tpress(t, "kcuu1"); /* still visible: the view stays */
    assert_view(t, 19, 5, 15);
    tpress(t, "kpp");
    assert_view(t, 10, 1, 10);
    tpress(t, "kend");
    assert_view(t, 99, 10, 90);
    tpress(t, "kcud1"); /* clamps at the end */
    assert_view(t, 99, 10, 90);
    tpress(t, "knp");
    assert_view(t, 99, 10, 90);
    tpress(t, "khome");
    assert_view(t, 0, 1, 0);
    tpress(t, "kcuu1"); /* and at the start */
    assert_view(t, 0, 1, 0);
    tpress(t, "kpp");
    assert_view(t, 0, 1, 0);
    assert_true(yv_table_key(t, 'j'));
    tdraw(t, COLS);
    assert_view(t, 1, 2, 0);
    assert_false(yv_table_key(t, 'x'));
    yv_table_free(t);
}

static bool tm_marked(void *ctx, size_t row)
{
    (void)ctx;
    return row % 3 == 0;
}

/* Marked rows (spec §15) are drawn bold, the others not; a screen line maps back to the model
 * row drawn there (a mouse click), nothing for the header or below the rows. */
static void test_table_marks_and_row_at(void **state)
{
    (void)state;
    tmodel m = {100};
    yv_table_model mm = tmodel_cb;
    mm.marked = tm_marked;
    yv_table *t = yv_table_new(tcols, 3, &mm, &m);
    for (int i = 0; i < 20; i++) assert_true(yv_table_key(t, KEY_DOWN));
    tdraw(t, COLS); /* rows 11..20 on lines 1..10 */
    assert_string_equal(word_at(1), "row011");
    for (int y = 1; y <= 10; y++) {
        bool bold = (mvwinch(stdscr, y, 0) & A_BOLD) != 0;
        assert_int_equal(bold, (y + 10) % 3 == 0);
        assert_int_equal(yv_table_row_at(t, y), y + 10);
    }
    assert_int_equal(yv_table_row_at(t, 0), -1);  /* the header */
    assert_int_equal(yv_table_row_at(t, 11), -1); /* below */
    yv_table_set_filter(t, "7");                  /* 19 rows match: 007, 017, 027 … */
    tdraw(t, COLS);
    assert_int_equal(yv_table_visible(t), 19);
    assert_int_equal(yv_table_visible_row(t, 0), 7);
    assert_int_equal(yv_table_visible_row(t, 1), 17);
    yv_table_set_filter(t, "099");
    tdraw(t, COLS);
    assert_int_equal(yv_table_row_at(t, 1), 99);
    assert_int_equal(yv_table_row_at(t, 2), -1); /* an empty line */
    yv_table_free(t);
}

/* The mark is drawn by the table in a gutter before the first column, not put into the name: a
 * sort by name keeps its order with marks, and every name keeps all its characters. */
static void test_table_gutter_marks(void **state)
{
    (void)state;
    tmodel m = {6};
    yv_table_model mm = tmodel_sort;
    mm.marked = tm_marked; /* rows 0 and 3 */
    yv_table *t = yv_table_new(tcols, 3, &mm, &m);
    yv_table_set_sort(t, 0, false);
    yv_table_set_gutter(t, true);
    tdraw(t, COLS);
    assert_order((const char *const[]){"*row000", "row001", "row002", "*row003", "row004"}, 5);
    assert_int_equal(strncmp(line_at(2), " row001  ", 9), 0); /* the name whole, after the gutter */
    assert_int_equal(strncmp(line_at(0), " NAME", 5), 0);
    yv_table_set_sort(t, 0, true);
    tdraw(t, COLS);
    assert_order((const char *const[]){"row005", "row004", "*row003", "row002", "row001"}, 5);
    yv_table_set_gutter(t, false); /* no marks: no gutter, the names at the left edge */
    tdraw(t, COLS);
    assert_int_equal(strncmp(line_at(1), "row005", 6), 0);
    yv_table_free(t);
}

static void test_table_filter_and_refresh(void **state)
{
    (void)state;
    tmodel m = {100};
    yv_table *t = yv_table_new(tcols, 3, &tmodel_cb, &m);
    yv_table_select(t, 17);
    yv_table_set_filter(t, "7");
    assert_string_equal(yv_table_filter(t), "7");
    assert_int_equal(yv_table_visible(t), 19); /* 007 017 … 067, 070-079, 087, 097 */
    tdraw(t, COLS);
    assert_view(t, 17, 2, 7); /* the selection stayed on model row 17 */
    for (int y = 1; y <= 10; y++) ut_assert_contains(word_at(y), "7");
    tpress(t, "kcud1");
    assert_view(t, 27, 3, 7); /* the next visible row, not model row 18 */
    tpress(t, "kend");
    assert_view(t, 97, 10, 72); /* the 10 last matches: 72 … 79, 87, 97 */

    yv_table_set_filter(t, ""); /* back to all: still on model row 97 */
    assert_int_equal(yv_table_visible(t), 100);
    tdraw(t, COLS);
    assert_view(t, 97, 10, 88);

    yv_table_select(t, 30);
    m.n = 60; /* rows went away after it: a refresh keeps model row 30 */
    yv_table_refresh(t);
    tdraw(t, COLS);
    assert_int_equal(yv_table_selected(t), 30);
    assert_int_equal(yv_table_visible(t), 60);
    assert_string_equal(word_at(reverse_line(1, 10)), "row030");

    m.n = 20; /* the selected row itself went away: the selection clamps to the last row */
    yv_table_refresh(t);
    tdraw(t, COLS);
    assert_view(t, 19, 10, 10);

    yv_table_set_filter(t, "zzz"); /* nothing matches: no selection, no rows drawn */
    assert_int_equal(yv_table_selected(t), -1);
    assert_int_equal(yv_table_visible(t), 0);
    tdraw(t, COLS);
    assert_string_equal(line_at(0), "NAME        VAL EXTRA");
    for (int y = 1; y <= 10; y++) assert_string_equal(line_at(y), "");
    assert_true(yv_table_key(t, KEY_DOWN)); /* harmless */
    assert_int_equal(yv_table_selected(t), -1);
    yv_table_set_filter(t, "1");
    assert_int_not_equal(yv_table_selected(t), -1);
    yv_table_free(t);
}

static void test_table_hidden_columns(void **state)
{
    (void)state;
    tmodel m = {3};
    yv_table *t = yv_table_new(tcols, 3, &tmodel_cb, &m);
    tdraw(t, 60);
    assert_string_equal(line_at(0), "NAME        VAL EXTRA");
    assert_string_equal(line_at(2), "row001       v2 x1");
    tdraw(t, 59);
    assert_string_equal(line_at(0), "NAME        VAL");
    assert_string_equal(line_at(2), "row001       v2");
    ut_assert_not_contains(line_at(3), "x2");
    yv_table_free(t);
}

/* A table drawn over its last draw (yv_table_set_kept: only the cells that changed are put again)
 * leaves the window as a draw on a cleared one does, whatever changed between the two: values that
 * grow and shrink, a mark (bold, the gutter's '*'), the selection, scrolling, rows going away,
 * the gutter, a column hidden, the width. Two tables on one model: one drawn kept into window A,
 * the other drawn whole into window B; every cell of both, glyph and attributes, compared. */
typedef struct {
    size_t n;
    unsigned tick; /* changes the values of some rows */
    size_t marked; /* the row marked, or (size_t)-1 */
} kmodel;

static size_t km_count(void *ctx)
{
    return ((kmodel *)ctx)->n;
}

static void km_cell(void *ctx, size_t row, int col, char *buf, size_t n, yv_role *role)
{
    const kmodel *m = ctx;
    if (col == 0) snprintf(buf, n, "row%03zu", row);
    else if (col == 1) /* every third row's value changes with the tick: longer, then shorter */
        snprintf(buf, n, "%u", row % 3 ? (unsigned)row : (m->tick % 2 ? 123456u : 7u) + m->tick);
    else snprintf(buf, n, "x%zu", row);
    if (col == 2 && row == m->tick % m->n) *role = YV_C_ERROR; /* an attribute that moves */
}

static bool km_marked(void *ctx, size_t row)
{
    return row == ((kmodel *)ctx)->marked;
}

static const yv_table_model kmodel_cb = {.count = km_count, .cell = km_cell, .marked = km_marked};

/* Draws t kept into a and u whole into b (h lines, width), then compares every cell. */
static void kept_step(yv_table *t, yv_table *u, WINDOW *a, WINDOW *b, int h, int width,
                      const char *what)
{
    yv_table_refresh(t);
    yv_table_refresh(u);
    yv_table_set_kept(t, true);
    yv_table_draw(t, a, 0, 0, h, width, &T.th);
    werase(b);
    yv_table_draw(u, b, 0, 0, h, width, &T.th);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < COLS; x++) {
            chtype ca = mvwinch(a, y, x), cb = mvwinch(b, y, x);
            if (ca != cb)
                fail_msg("%s: line %d column %d is '%c' %#lx drawn kept, '%c' %#lx drawn whole",
                         what, y, x, (int)(ca & A_CHARTEXT), (unsigned long)(ca & A_ATTRIBUTES),
                         (int)(cb & A_CHARTEXT), (unsigned long)(cb & A_ATTRIBUTES));
        }
}

static void test_table_kept_draw(void **state)
{
    (void)state;
    kmodel m = {30, 0, (size_t)-1};
    yv_table *t = yv_table_new(tcols, 3, &kmodel_cb, &m),
             *u = yv_table_new(tcols, 3, &kmodel_cb, &m);
    WINDOW *a = newwin(12, COLS, 0, 0), *b = newwin(12, COLS, 12, 0);
    assert_non_null(a);
    assert_non_null(b);
    yv_table_draw(t, a, 0, 0, 12, COLS, &T.th); /* the first draw: on a cleared window */
    for (int i = 0; i < 5; i++) {
        m.tick++;
        kept_step(t, u, a, b, 12, COLS, "values changed");
    }
    m.marked = 3;
    kept_step(t, u, a, b, 12, COLS, "a row marked");
    yv_table_set_gutter(t, true), yv_table_set_gutter(u, true);
    kept_step(t, u, a, b, 12, COLS, "the gutter on");
    m.marked = 6, m.tick++;
    kept_step(t, u, a, b, 12, COLS, "another row marked");
    yv_table_set_gutter(t, false), yv_table_set_gutter(u, false);
    kept_step(t, u, a, b, 12, COLS, "the gutter off");
    for (int i = 0; i < 14; i++) { /* down past the last row shown: the view scrolls */
        assert_true(yv_table_key(t, KEY_DOWN));
        assert_true(yv_table_key(u, KEY_DOWN));
        m.tick++;
        kept_step(t, u, a, b, 12, COLS, "the selection moved");
    }
    m.n = 4; /* rows gone: blank lines below the rest */
    kept_step(t, u, a, b, 12, COLS, "rows removed");
    m.n = 30;
    kept_step(t, u, a, b, 12, COLS, "rows back");
    yv_table_set_shown(t, 2, false), yv_table_set_shown(u, 2, false);
    kept_step(t, u, a, b, 12, COLS, "a column hidden");
    yv_table_set_shown(t, 2, true), yv_table_set_shown(u, 2, true);
    werase(a); /* another width: the caller clears (the TUI, on a resize); the table draws whole */
    kept_step(t, u, a, b, 12, 59, "narrower (EXTRA does not fit)");
    werase(a);
    kept_step(t, u, a, b, 12, COLS, "wider again");
    yv_table_set_sort(t, 1, true), yv_table_set_sort(u, 1, true);
    kept_step(t, u, a, b, 12, COLS, "sorted by value");

    /* and the work saved: a kept draw with nothing changed puts nothing (the window untouched) */
    wnoutrefresh(a); /* clears the window's record of what changed */
    yv_table_set_kept(t, true);
    yv_table_draw(t, a, 0, 0, 12, COLS, &T.th);
    for (int y = 0; y < 12; y++) assert_false(is_linetouched(a, y));
    m.tick++; /* one value changes: only its line is touched (rows 0, 3, 6 …, and the ERROR cell) */
    yv_table_set_kept(t, true);
    yv_table_draw(t, a, 0, 0, 12, COLS, &T.th);
    int touched = 0;
    for (int y = 0; y < 12; y++) touched += is_linetouched(a, y);
    assert_true(touched > 0 && touched < 11);
    delwin(a);
    delwin(b);
    yv_table_free(t);
    yv_table_free(u);
}

/* ---- form ---- */

enum { FF_NAME, FF_SECRET, FF_COUNT, FF_SIZE, FF_ENABLE, FF_N };
static const yv_field_spec fspecs[FF_N] = {
    [FF_NAME] = {"Name", YV_FIELD_TEXT, "letters please"},
    [FF_SECRET] = {"Secret", YV_FIELD_PASSWORD, NULL},
    [FF_COUNT] = {"Count", YV_FIELD_NUMBER, NULL},
    [FF_SIZE] = {"Size", YV_FIELD_CHOICE, NULL},
    [FF_ENABLE] = {"Enable", YV_FIELD_CHECK, NULL},
};

typedef struct {
    yv_form *f;
    yv_form_result last;
    int submits, cancels;
} fctx;

static void form_key(void *ctx, wint_t ch, bool is_key)
{
    fctx *c = ctx;
    c->last = yv_form_key(c->f, ch, is_key);
    c->submits += c->last == YV_FORM_SUBMIT;
    c->cancels += c->last == YV_FORM_CANCEL;
}

static void fdraw(fctx *c)
{
    erase();
    yv_form_draw(c->f, stdscr, &T.th);
    show();
}

/* Types bytes into the form, then draws it; returns the last key's result. */
static yv_form_result ftype(fctx *c, const char *bytes)
{
    type_keys(bytes, form_key, c);
    fdraw(c);
    return c->last;
}

static fctx form_new(void)
{
    static const char *const sizes[] = {"small", "medium", "large"};
    fctx c = {yv_form_new("Make a thing", fspecs, FF_N), YV_FORM_NONE, 0, 0};
    yv_form_set_choices(c.f, FF_SIZE, sizes, 3);
    fdraw(&c);
    return c;
}

/* The screen line holding a field's label. */
static const char *field_line(const char *label)
{
    for (int y = 0; y < LINES; y++) {
        const char *l = line_at(y);
        char pat[64];
        snprintf(pat, sizeof pat, " %s ", label);
        if (strstr(l, pat)) return l;
    }
    fail_msg("no line with the label %s", label);
    return NULL;
}

static void test_form_text_editing(void **state)
{
    (void)state;
    fctx c = form_new();
    char *all = screen_text();
    ut_assert_contains(all, "Make a thing");
    free(all);
    assert_int_equal(ftype(&c, "abc"), YV_FORM_CHANGED);
    assert_string_equal(yv_form_get(c.f, FF_NAME), "abc");
    ut_assert_contains(field_line("Name"), "abc");
    char buf[64];
    snprintf(buf, sizeof buf, "%s%sX", cap_of("kcub1"), cap_of("kcub1")); /* Left Left X */
    ftype(&c, buf);
    assert_string_equal(yv_form_get(c.f, FF_NAME), "aXbc");
    snprintf(buf, sizeof buf, "%sS%sE", cap_of("khome"), cap_of("kend"));
    ftype(&c, buf);
    assert_string_equal(yv_form_get(c.f, FF_NAME), "SaXbcE");
    snprintf(buf, sizeof buf, "%s\x7f", cap_of("kcub1")); /* Left, Backspace: the c goes */
    ftype(&c, buf);
    assert_string_equal(yv_form_get(c.f, FF_NAME), "SaXbE");
    snprintf(buf, sizeof buf, "%s%s", cap_of("khome"), cap_of("kdch1")); /* Home, Delete: S goes */
    ftype(&c, buf);
    assert_string_equal(yv_form_get(c.f, FF_NAME), "aXbE");
    snprintf(buf, sizeof buf, "%s%s", cap_of("kcuf1"), cap_of("kcuf1")); /* Right Right, ^H */
    ftype(&c, buf);
    ftype(&c, "\b");
    assert_string_equal(yv_form_get(c.f, FF_NAME), "abE");
    ut_assert_contains(field_line("Name"), "abE");
    ftype(&c, cap_of("kend"));
    ftype(&c, "\x15"); /* ^U */
    assert_string_equal(yv_form_get(c.f, FF_NAME), "");
    ftype(&c, "\x7f"); /* Backspace on empty: nothing */
    ftype(&c, cap_of("kdch1"));
    assert_string_equal(yv_form_get(c.f, FF_NAME), "");
    /* long text scrolls so that the end (and the cursor) stays visible */
    ftype(&c, "0123456789012345678901234567890123456789TAIL");
    ut_assert_contains(field_line("Name"), "TAIL");
    assert_int_equal(strlen(yv_form_get(c.f, FF_NAME)), 44);
    yv_form_free(c.f);
}

static void test_form_number_choice_check(void **state)
{
    (void)state;
    fctx c = form_new();
    yv_form_set_focus(c.f, FF_COUNT);
    ftype(&c, "1a2-b 3");
    assert_string_equal(yv_form_get(c.f, FF_COUNT), "123");
    ut_assert_contains(field_line("Count"), "123");
    ut_assert_not_contains(field_line("Count"), "a");

    yv_form_set_focus(c.f, FF_SIZE);
    fdraw(&c);
    assert_string_equal(yv_form_get(c.f, FF_SIZE), "small");
    ut_assert_contains(field_line("Size"), "< small >");
    ftype(&c, cap_of("kcuf1"));
    assert_string_equal(yv_form_get(c.f, FF_SIZE), "medium");
    ftype(&c, " ");
    assert_string_equal(yv_form_get(c.f, FF_SIZE), "large");
    ut_assert_contains(field_line("Size"), "< large >");
    ftype(&c, cap_of("kcuf1")); /* wraps */
    assert_string_equal(yv_form_get(c.f, FF_SIZE), "small");
    ftype(&c, cap_of("kcub1"));
    assert_string_equal(yv_form_get(c.f, FF_SIZE), "large");
    ftype(&c, "x"); /* letters do nothing to a choice */
    assert_string_equal(yv_form_get(c.f, FF_SIZE), "large");
    yv_form_set(c.f, FF_SIZE, "medium");
    assert_string_equal(yv_form_get(c.f, FF_SIZE), "medium");

    yv_form_set_focus(c.f, FF_ENABLE);
    fdraw(&c);
    assert_string_equal(yv_form_get(c.f, FF_ENABLE), "");
    ut_assert_contains(field_line("Enable"), "[ ]");
    ftype(&c, " ");
    assert_string_equal(yv_form_get(c.f, FF_ENABLE), "1");
    ut_assert_contains(field_line("Enable"), "[x]");
    ftype(&c, "y");
    assert_string_equal(yv_form_get(c.f, FF_ENABLE), "1");
    ftype(&c, " ");
    assert_string_equal(yv_form_get(c.f, FF_ENABLE), "");
    ut_assert_contains(field_line("Enable"), "[ ]");
    yv_form_free(c.f);
}

static void test_form_focus_submit_cancel(void **state)
{
    (void)state;
    fctx c = form_new();
    assert_int_equal(yv_form_focus(c.f), FF_NAME);
    ftype(&c, "\t");
    assert_int_equal(yv_form_focus(c.f), FF_SECRET);
    ftype(&c, cap_of("kcud1"));
    assert_int_equal(yv_form_focus(c.f), FF_COUNT);
    ftype(&c, cap_of("kcuu1"));
    ftype(&c, cap_of("kcuu1"));
    assert_int_equal(yv_form_focus(c.f), FF_NAME);
    ftype(&c, cap_of("kcuu1")); /* Up on the first field wraps to the last */
    assert_int_equal(yv_form_focus(c.f), FF_ENABLE);
    ftype(&c, "\t"); /* Tab on the last wraps to the first, no submit */
    assert_int_equal(yv_form_focus(c.f), FF_NAME);
    ftype(&c, cap_of("kcbt")); /* Shift-Tab */
    assert_int_equal(yv_form_focus(c.f), FF_ENABLE);
    assert_int_equal(c.submits, 0);
    ftype(&c, "\t");
    /* Enter moves on, and submits on the last field */
    for (int i = 0; i < FF_N - 1; i++) assert_int_equal(ftype(&c, "\r"), YV_FORM_CHANGED);
    assert_int_equal(yv_form_focus(c.f), FF_ENABLE);
    assert_int_equal(c.submits, 0);
    assert_int_equal(ftype(&c, "\r"), YV_FORM_SUBMIT);
    assert_int_equal(c.submits, 1);
    /* F10 submits from anywhere; Esc cancels */
    yv_form_set_focus(c.f, FF_NAME);
    assert_int_equal(ftype(&c, cap_of("kf10")), YV_FORM_SUBMIT);
    assert_int_equal(c.submits, 2);
    assert_int_equal(ftype(&c, "\033"), YV_FORM_CANCEL);
    assert_int_equal(c.cancels, 1);
    yv_form_free(c.f);
}

static void test_form_utf8(void **state)
{
    (void)state;
    fctx c = form_new();
    ftype(&c, "caf\xc3\xa9 \xe6\xbc\xa2"); /* "café 漢" as the terminal sends it */
    assert_string_equal(yv_form_get(c.f, FF_NAME), "café 漢");
    ut_assert_contains(field_line("Name"), "café 漢");
    ftype(&c, "\x7f"); /* one Backspace removes one character, not one byte */
    assert_string_equal(yv_form_get(c.f, FF_NAME), "café ");
    yv_form_set(c.f, FF_NAME, "żółw");
    assert_string_equal(yv_form_get(c.f, FF_NAME), "żółw");
    yv_form_free(c.f);
}

static void test_form_password_never_drawn(void **state)
{
    (void)state;
    fctx c = form_new();
    yv_form_set_focus(c.f, FF_SECRET);
    fdraw(&c);
    char *empty = screen_text();
    ftype(&c, "Qx");
    char *two = screen_text();
    ftype(&c, "7#Kp2!");
    char *full = screen_text();
    assert_string_equal(yv_form_get(c.f, FF_SECRET), "Qx7#Kp2!");
    /* not a character of it on the screen, not even how long it is */
    const char *subs[] = {"Qx", "x7", "7#", "#K", "Kp", "p2", "2!"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        ut_assert_not_contains(two, subs[i]);
        ut_assert_not_contains(full, subs[i]);
    }
    assert_string_equal(two, full);
    assert_string_not_equal(empty, full); /* but the user sees that something is set */
    ut_assert_contains(field_line("Secret"), "(set)");
    ut_assert_not_contains(full, "*");
    /* the cursor is not left in the field either (it would move with every character) */
    assert_int_equal(curs_set(0), 0);
    free(empty);
    free(two);
    free(full);
    yv_form_free(c.f);
}

static void test_form_error_on_field_line(void **state)
{
    (void)state;
    fctx c = form_new();
    yv_form_set(c.f, FF_COUNT, "0");
    yv_form_set_error(c.f, FF_COUNT, "1 to 1024");
    fdraw(&c);
    ut_assert_contains(field_line("Count"), "1 to 1024");
    ut_assert_not_contains(field_line("Name"), "1 to 1024");
    ut_assert_contains(field_line("Name"), "letters please"); /* the focused field's hint */
    yv_form_set_error(c.f, FF_NAME, "taken");
    fdraw(&c);
    ut_assert_contains(field_line("Name"), "taken"); /* the error wins over the hint */
    ut_assert_not_contains(field_line("Name"), "letters please");
    yv_form_set_error(c.f, FF_COUNT, NULL);
    fdraw(&c);
    ut_assert_not_contains(field_line("Count"), "1 to 1024");
    yv_form_clear_errors(c.f);
    fdraw(&c);
    ut_assert_not_contains(field_line("Name"), "taken");
    yv_form_free(c.f);
}

/* ---- dialog ---- */

static void test_dialog_confirm(void **state)
{
    (void)state;
    yv_dialog d;
    yv_dialog_confirm(&d, "Delete", "Delete web1 and its disks?", L'y');
    assert_int_equal(yv_dialog_key(&d, L'y', false), YV_DIALOG_YES);
    assert_int_equal(yv_dialog_key(&d, L'n', false), YV_DIALOG_NO);
    assert_int_equal(yv_dialog_key(&d, 27, false), YV_DIALOG_NO);
    /* any other key says no (spec §15): a stray or pasted key never confirms, nor waits for one */
    const wint_t stray[] = {L'Y', L'x', L' ', L'\r', L'\n', L'd', L'1', L'D', L'a'};
    for (size_t i = 0; i < sizeof stray / sizeof stray[0]; i++)
        assert_int_equal(yv_dialog_key(&d, stray[i], false), YV_DIALOG_NO);
    assert_int_equal(yv_dialog_key(&d, KEY_ENTER, true), YV_DIALOG_NO);
    assert_int_equal(yv_dialog_key(&d, L'y', true), YV_DIALOG_NO);         /* a function key code */
    assert_int_equal(yv_dialog_key(&d, KEY_RESIZE, true), YV_DIALOG_NONE); /* not the user's */
    yv_dialog_draw(&d, stdscr, &T.th);
    show();
    char *s = screen_text();
    ut_assert_contains(s, "Delete web1 and its disks?");
    ut_assert_contains(s, "y: yes   any other key: no");
    ut_assert_contains(s, "Delete");
    free(s);
    /* an upper-case key for a destructive action */
    yv_dialog_confirm(&d, "Kill", "Stop it now?", L'K');
    assert_int_equal(yv_dialog_key(&d, L'k', false), YV_DIALOG_NO);
    assert_int_equal(yv_dialog_key(&d, L'K', false), YV_DIALOG_YES);
}

static void test_dialog_notice(void **state)
{
    (void)state;
    yv_dialog d;
    yv_dialog_notice(&d, "VNC password", "VM a was created.\nIts VNC password: s3cr3t");
    assert_int_equal(yv_dialog_key(&d, L'x', false), YV_DIALOG_YES);
    assert_int_equal(yv_dialog_key(&d, KEY_F(1), true), YV_DIALOG_YES);
    yv_dialog_draw(&d, stdscr, &T.th);
    show();
    char *s = screen_text();
    ut_assert_contains(s, "VM a was created.");
    ut_assert_contains(s, "Its VNC password: s3cr3t");
    ut_assert_contains(s, "any key: close");
    free(s);
}

/* A question longer than the screen is wide wraps, and one taller than the screen scrolls: every
 * VM it names can be read before y (which still confirms at once); the box says more is below. */
static void test_dialog_wraps_and_scrolls(void **state)
{
    (void)state;
    static yv_dialog d;
    char text[4096];
    size_t k = (size_t)snprintf(text, sizeof text, "Delete ");
    for (int i = 0; i < 60; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%svery-long-machine-name-%02d",
                              i ? ", " : "", i);
    snprintf(text + k, sizeof text - k, " and their disks for good? Running (stopped first): x");
    yv_dialog_confirm(&d, "Delete", text, L'y');
    erase();
    yv_dialog_draw(&d, stdscr, &T.th);
    show();
    char *s = screen_text();
    ut_assert_contains(s, "very-long-machine-name-00");
    ut_assert_contains(s, "very-long-machine-name-05"); /* wrapped, not cut at the width */
    ut_assert_not_contains(s, "Running (stopped first)");
    ut_assert_contains(s, "more");
    free(s);
    assert_int_equal(yv_dialog_key(&d, KEY_NPAGE, true), YV_DIALOG_NONE); /* scrolls */
    assert_int_equal(yv_dialog_key(&d, KEY_END, true), YV_DIALOG_NONE);
    erase();
    yv_dialog_draw(&d, stdscr, &T.th);
    show();
    s = screen_text();
    ut_assert_contains(s, "very-long-machine-name-59");
    ut_assert_contains(s, "Running (stopped first): x");
    ut_assert_not_contains(s, "more");
    free(s);
    assert_int_equal(yv_dialog_key(&d, L'y', false), YV_DIALOG_YES);
    /* a question that fits: an arrow is an answer (no), as any other key */
    yv_dialog_confirm(&d, "Kill", "Stop it now?", L'K');
    yv_dialog_draw(&d, stdscr, &T.th);
    assert_int_equal(yv_dialog_key(&d, KEY_DOWN, true), YV_DIALOG_NO);
}

/* ---- key bar ---- */

static void test_keybar_fits(void **state)
{
    (void)state;
    const yv_keybar_item items[] = {{"r", "Run"}, {"s", "Stop"}, {"K", "Kill"}, {"Enter", "Info"}};
    mvwaddstr(stdscr, 5, 0, "##############################");
    yv_keybar_draw(stdscr, 5, 20, items, 4, &T.th); /* "r Run  s Stop  K Kill" is 21 cells */
    yv_keybar_draw(stdscr, 6, 80, items, 4, &T.th);
    yv_keybar_draw(stdscr, 7, 3, items, 4, &T.th); /* not even one fits */
    mvwaddstr(stdscr, 9, 0, "##############################");
    yv_keybar_draw(stdscr, 9, 21, items, 4, &T.th); /* exactly room for three */
    show();
    assert_string_equal(line_at(5), "r Run  s Stop       ##########");
    assert_string_equal(line_at(9), "r Run  s Stop  K Kill#########");
    assert_string_equal(line_at(6), "r Run  s Stop  K Kill  Enter Info");
    assert_string_equal(line_at(7), "");
    /* the key is drawn in its role (reverse in mono), the label is not */
    assert_true(mvwinch(stdscr, 6, 0) & A_REVERSE);
    assert_false(mvwinch(stdscr, 6, 2) & A_REVERSE);
    yv_keybar_status(stdscr, 8, 10, "a very long status message", YV_C_ERROR, &T.th);
    show();
    assert_string_equal(line_at(8), "a very lon");
}

int main(void)
{
    /* the TUI runs in the user's UTF-8 locale; the tests need one too, whatever the caller has */
    if (!setlocale(LC_ALL, "C.UTF-8")) setlocale(LC_ALL, "en_US.UTF-8");
    unsetenv("LINES");
    unsetenv("COLUMNS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draw_width),
        cmocka_unit_test_setup_teardown(test_draw_text_cuts_and_pads, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_scrolling, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_filter_and_refresh, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_marks_and_row_at, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_gutter_marks, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_hidden_columns, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_sort_and_columns, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_sort_text_by_numbers, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_narrow_columns, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_table_kept_draw, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_form_text_editing, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_form_number_choice_check, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_form_focus_submit_cancel, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_form_utf8, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_form_password_never_drawn, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_form_error_on_field_line, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_dialog_confirm, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_dialog_notice, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_dialog_wraps_and_scrolls, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_keybar_fits, term_setup, term_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
