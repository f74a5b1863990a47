/* Unit tests of tui/cmdtab.c: the rules a row declares (required, needs, excl, the words of a
 * positional), the generated synopsis and help text, yv_cmdtab_scan's modes, split_line.
 * cmdtab.c needs nothing but libc, so it is compiled into this test directly: the unit rule of
 * the Makefile links core objects only. */
#include "unit.h"

#include "tui/cmdtab.c"

static int run_nothing(yv_batch *b, const yv_cmd *c, const yv_args *a)
{
    (void)b, (void)c, (void)a;
    return 0;
}

static const yv_opt make_opts[] = {
    {.lng = "name", .shrt = 'n', .arg = "NAME", .flags = YV_OPT_REQUIRED, .help = "the name"},
    {.lng = "image",
     .shrt = 'i',
     .arg = "BASE",
     .kind = YV_ARG_IMAGE,
     .excl = "preset",
     .help = "an image"},
    {.lng = "preset", .shrt = 'p', .arg = "NAME", .kind = YV_ARG_PRESET, .help = "a preset"},
    {.lng = "host", .arg = "H", .needs = "preset", .dflt = "the name", .help = "host (presets)"},
    {.lng = "size", .arg = "MiB", .kind = YV_ARG_NUMBER, .dflt = "16", .help = "disk size"},
    {.lng = "quick", .shrt = 'q', .help = "a flag"},
    {0},
};
static const yv_cmd make_cmd = {"make", "Makes a thing.", make_opts, 0, 0, NULL, run_nothing};

static const yv_opt link_opts[] = {
    {.lng = "name", .shrt = 'n', .arg = "NAME", .flags = YV_OPT_REQUIRED, .help = "the VM"},
    {.lng = "ifname", .arg = "IF", .flags = YV_OPT_REQUIRED, .help = "the TAP"},
    {.lng = "force", .shrt = 'f', .help = "force"},
    {0},
};
static const yv_cmd link_cmd = {"link", "Links.", link_opts, 1, 1, "up|down", run_nothing};

/* Parses the words (a NULL-terminated list, the command name first) into a; returns the result,
 * the message (without "<command>: ") in msg. */
static int parse(const yv_cmd *c, yv_args *a, char *msg, char **words)
{
    int n = 0;
    while (words[n]) n++;
    msg[0] = '\0';
    int rc = yv_cmdtab_parse(c, n, words, a, msg, 256);
    if (rc < 0) memmove(msg, msg + strlen(c->name) + 2, strlen(msg + strlen(c->name) + 2) + 1);
    return rc;
}

#define PARSE(c, a, msg, ...) parse(c, a, msg, (char *[]){__VA_ARGS__, NULL})

static void test_synopsis_from_the_rows(void **s)
{
    (void)s;
    char buf[256];
    yv_cmdtab_synopsis(&make_cmd, buf, sizeof buf);
    assert_string_equal(buf, "--name NAME [OPTIONS]");
    yv_cmdtab_synopsis(&link_cmd, buf, sizeof buf);
    assert_string_equal(buf, "--name NAME --ifname IF [--force] up|down");
    static const yv_opt none[] = {{0}};
    static const yv_cmd empty = {"list", "Lists.", none, 0, 0, NULL, run_nothing};
    yv_cmdtab_synopsis(&empty, buf, sizeof buf);
    assert_string_equal(buf, "");
}

static void test_values_flags_and_defaults(void **s)
{
    (void)s;
    yv_args a;
    char msg[256];
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-n", "x", "-q", "--size=32"), 0);
    assert_string_equal(yv_cmdtab_get(&make_cmd, &a, "name"), "x");
    assert_string_equal(yv_cmdtab_get(&make_cmd, &a, "quick"), "1");
    assert_string_equal(yv_cmdtab_get_or_default(&make_cmd, &a, "size"), "32");
    assert_null(yv_cmdtab_get(&make_cmd, &a, "image"));
    assert_null(yv_cmdtab_get(&make_cmd, &a, "nonexistent"));
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-n", "x"), 0);
    assert_string_equal(yv_cmdtab_get_or_default(&make_cmd, &a, "size"), "16");
    assert_int_equal(a.npos, 0);
}

/* A YV_OPT_MANY option keeps every value in order; after `--`, words are positionals (ssh). */
static void test_many_then_positionals(void **s)
{
    (void)s;
    static const yv_opt opts[] = {
        {.lng = "name", .shrt = 'n', .arg = "NAME", .help = "the VM"},
        {.lng = "key", .arg = "FILE", .flags = YV_OPT_MANY, .help = "a key"},
        {0},
    };
    static const yv_cmd cmd = {"keys", "Keys.", opts, 0, 9, "[-- ARGS...]", run_nothing};
    yv_args a;
    char msg[256];
    const char *v[2];
    assert_int_equal(PARSE(&cmd, &a, msg, "keys", "--key", "a", "-n", "x", "--key=b", "--key", "c",
                           "--", "--key", "d"),
                     0);
    assert_int_equal(yv_cmdtab_get_all(&cmd, &a, "key", v, 2), 2); /* at most max */
    assert_string_equal(v[0], "a");
    assert_string_equal(v[1], "b");
    assert_string_equal(yv_cmdtab_get(&cmd, &a, "key"), "c");
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.pos[0], "--key");
    assert_int_equal(yv_cmdtab_get_all(&cmd, &a, "name", v, 2), 0); /* not MANY */
    assert_int_equal(PARSE(&cmd, &a, msg, "keys", "-n", "x"), 0);
    assert_int_equal(yv_cmdtab_get_all(&cmd, &a, "key", v, 2), 0);
    assert_int_equal(PARSE(&cmd, &a, msg, "keys", "-n", "x", "-n", "y"), -1); /* not MANY */
}

static void test_rules_of_the_rows(void **s)
{
    (void)s;
    yv_args a;
    char msg[256];
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-q"), -1);
    assert_string_equal(msg, "--name is required");
    assert_int_equal(PARSE(&link_cmd, &a, msg, "link", "--name", "a", "up"), -1);
    assert_string_equal(msg, "--name and --ifname are required");
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-n", "x", "--host", "h"), -1);
    assert_string_equal(msg, "--host only applies with --preset");
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-n", "x", "-i", "a", "-p", "b"), -1);
    assert_string_equal(msg, "give --image or --preset, not both");
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-n", "x", "-p", "b", "--host", "h"), 0);
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-n", "x", "-n", "y"), -1);
    assert_string_equal(msg, "--name given twice");
}

static void test_positionals(void **s)
{
    (void)s;
    yv_args a;
    char msg[256];
    assert_int_equal(PARSE(&link_cmd, &a, msg, "link", "-n", "a", "--ifname", "t", "down"), 0);
    assert_int_equal(a.npos, 1);
    assert_string_equal(a.pos[0], "down");
    assert_int_equal(PARSE(&link_cmd, &a, msg, "link", "-n", "a", "--ifname", "t", "do"), -1);
    assert_string_equal(msg, "the last argument must be up or down, not 'do'");
    assert_int_equal(PARSE(&link_cmd, &a, msg, "link", "-n", "a", "--ifname", "t"), -1);
    assert_string_equal(msg, "missing argument (usage: link --name NAME --ifname IF [--force] "
                             "up|down)");
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-n", "x", "pw=secret"), -1);
    assert_string_equal(msg, "unexpected argument 'pw=…' (see make --help)");
}

static const yv_opt fwd_opts[] = {
    {.lng = "name", .shrt = 'n', .arg = "NAME", .flags = YV_OPT_REQUIRED, .help = "the VM"},
    {.lng = "port", .arg = "P", .flags = YV_OPT_MANY, .help = "repeatable"},
    {0},
};
static const yv_cmd fwd_cmd = {"fwd", "Forwards.", fwd_opts, 2, 2, "add|remove SPEC", run_nothing};

static void test_many_and_first_choice(void **s)
{
    (void)s;
    yv_args a;
    char msg[256];
    const char *v[4];
    assert_int_equal(
        PARSE(&fwd_cmd, &a, msg, "fwd", "--port", "1", "-n", "x", "--port=2", "add", "1:2"), 0);
    assert_int_equal(yv_cmdtab_get_all(&fwd_cmd, &a, "port", v, 4), 2);
    assert_string_equal(v[0], "1");
    assert_string_equal(v[1], "2");
    assert_int_equal(yv_cmdtab_get_all(&fwd_cmd, &a, "port", v, 1), 1);
    assert_int_equal(yv_cmdtab_get_all(&fwd_cmd, &a, "name", v, 4), 0);
    assert_string_equal(a.pos[1], "1:2");
    assert_int_equal(PARSE(&fwd_cmd, &a, msg, "fwd", "-n", "x", "remove", "1"), 0);
    assert_int_equal(yv_cmdtab_get_all(&fwd_cmd, &a, "port", v, 4), 0);
    assert_int_equal(PARSE(&fwd_cmd, &a, msg, "fwd", "-n", "x", "SPEC", "1"), -1);
    assert_string_equal(msg, "the first argument must be add or remove, not 'SPEC'");
    char *many[2 * YV_MAX_MANY + 8] = {"fwd", "-n", "x"};
    int n = 3;
    for (int i = 0; i <= YV_MAX_MANY; i++) many[n++] = "--port", many[n++] = "9";
    many[n++] = "add";
    many[n++] = "1:2";
    assert_int_equal(yv_cmdtab_parse(&fwd_cmd, n, many, &a, msg, sizeof msg), -1);
    assert_string_equal(msg, "fwd: --port given more than 16 times");
}

static void test_bad_options_and_help(void **s)
{
    (void)s;
    yv_args a;
    char msg[256];
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "--bogus=1"), -1);
    assert_string_equal(msg, "unknown option '--bogus' (see make --help)");
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-n"), -1);
    assert_string_equal(msg, "option -n needs a value (see make --help)");
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "--quick=yes"), -1);
    assert_string_equal(msg, "option --quick takes no value (see make --help)");
    /* --help wins over the rules (nothing required is given) */
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "-h"), 1);
    assert_int_equal(PARSE(&make_cmd, &a, msg, "make", "--help"), 1);
}

static int refuse_zero(const char *v, char *why, size_t n)
{
    if (strcmp(v, "0") != 0) return 0;
    snprintf(why, n, "no zero");
    return -1;
}

static void test_scan_modes(void **s)
{
    (void)s;
    static const yv_opt globals[] = {
        {.lng = "root", .shrt = 'C', .arg = "DIR", .help = "root"},
        {.lng = "level", .arg = "N", .check = refuse_zero, .help = "level"},
        {.lng = "help", .shrt = 'h', .flags = YV_OPT_NOW, .help = "help"},
        {0},
    };
    const char *val[YV_MAX_OPTS];
    char why[128];
    char *argv1[] = {"p", "-C", "a", "--root", "b", "cmd", "--root", "c", NULL};
    assert_int_equal(yv_cmdtab_scan(globals, YV_SCAN_IN_ORDER | YV_SCAN_LAST_WINS, 8, argv1, val,
                                    why, sizeof why),
                     YV_SCAN_DONE);
    assert_string_equal(val[0], "b"); /* the last wins, and the command's own options stay */
    assert_string_equal(argv1[optind], "cmd");
    char *argv2[] = {"p", "--level", "0", "--help", NULL};
    assert_int_equal(yv_cmdtab_scan(globals, 0, 4, argv2, val, why, sizeof why), YV_SCAN_VALUE);
    assert_string_equal(why, "no zero");
    char *argv3[] = {"p", "--help", "--level", "0", NULL};
    assert_int_equal(yv_cmdtab_scan(globals, 0, 4, argv3, val, why, sizeof why), YV_SCAN_NOW);
    assert_non_null(val[2]);
}

static void test_help_text_and_options(void **s)
{
    (void)s;
    char buf[256];
    yv_cmdtab_help_text(&make_opts[3], buf, sizeof buf);
    assert_string_equal(buf, "host (presets; default: the name)");
    yv_cmdtab_help_text(&make_opts[4], buf, sizeof buf);
    assert_string_equal(buf, "disk size (default: 16)");
    yv_cmdtab_help_text(&make_opts[0], buf, sizeof buf);
    assert_string_equal(buf, "the name");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    yv_cmdtab_help(&link_cmd, "prog --batch", f);
    fclose(f);
    assert_non_null(strstr(text, "usage: prog --batch link --name NAME --ifname IF [--force] "
                                 "up|down\n\nLinks.\n"));
    assert_non_null(strstr(text, "  -n, --name NAME "));
    assert_non_null(strstr(text, "      --ifname IF "));
    assert_non_null(strstr(text, "  -h, --help "));
    free(text);
}

static void test_split_line(void **s)
{
    (void)s;
    char line[] = "create -n 'a b' \"c\\\"d\" e\\ f # comment";
    char *w[8];
    assert_int_equal(yv_cmdtab_split_line(line, w, 8), 5);
    assert_string_equal(w[2], "a b");
    assert_string_equal(w[3], "c\"d");
    assert_string_equal(w[4], "e f");
    char open[] = "run 'unclosed";
    assert_int_equal(yv_cmdtab_split_line(open, w, 8), -1);
    char many[] = "a b c";
    assert_int_equal(yv_cmdtab_split_line(many, w, 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synopsis_from_the_rows),
        cmocka_unit_test(test_values_flags_and_defaults),
        cmocka_unit_test(test_rules_of_the_rows),
        cmocka_unit_test(test_many_then_positionals),
        cmocka_unit_test(test_positionals),
        cmocka_unit_test(test_many_and_first_choice),
        cmocka_unit_test(test_bad_options_and_help),
        cmocka_unit_test(test_scan_modes),
        cmocka_unit_test(test_help_text_and_options),
        cmocka_unit_test(test_split_line),
    };
    return cmocka_run_group_tests_name("cmdtab", tests, NULL, NULL);
}
