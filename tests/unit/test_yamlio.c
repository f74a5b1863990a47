/* Unit tests of core/yamlio.c: quoting, the writer, and the field-table reader with its
 * file:line:col messages. */
#include "unit.h"

#include "core/yamlio.h"

/* ---- quoting ---- */

static void test_needs_quotes_yes(void **state)
{
    (void)state;
    static const char *const quoted[] = {
        "",
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "y",
        "Y",
        "n",
        "N",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "null",
        "Null",
        "NULL",
        "~",
        "<<",
        "=",
        "123",
        "0",
        "-1",
        "+1",
        "007",
        "0x1f",
        "0X1F",
        "0o17",
        "0b1010",
        "1_000",
        "1:20",
        "190:20:30",
        "52:54:00:12:34:56",
        "52:54:a1:23:4b:31",
        ":1",
        ":59635",
        "1e3",
        "1.5",
        "-1.5e+3",
        ".5",
        ".inf",
        "-.inf",
        "+.INF",
        ".Inf",
        ".nan",
        ".NaN",
        ".NAN",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5",
        "87654321",
        "00000000",
    };
    for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++)
        if (!yv_yamlio_needs_quotes(quoted[i])) fail_msg("'%s' should need quotes", quoted[i]);
}

static void test_needs_quotes_no(void **state)
{
    (void)state;
    static const char *const plain[] = {
        "hello",         "br0",  "hd0.qcow2", "cloud", "virtio-blk", "tap",     "ide",      "net0",
        "/var/lib/yave", "yess", "nope",      "nulls", "truee",      "Cloud-1", "deadbeef", "a",
        "x y",           "café", "inf",       "nan",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (yv_yamlio_needs_quotes(plain[i])) fail_msg("'%s' should not need quotes", plain[i]);
}

/* ---- writing ---- */

static const char *const hostile[] = {
    "a: b",
    "#x",
    "x #y",
    "yes",
    "No",
    "off",
    "null",
    "~",
    "123",
    "0x1f",
    "1:20",
    "52:54:00:12:34:56",
    ":1",
    "1e3",
    ".inf",
    "2001-12-14",
    "87654321",
    "",
    "line1\nline2",
    "trailing newline\n",
    "\n",
    "it's",
    "say \"hi\"",
    "'",
    "\"",
    "''",
    "tab\there",
    "\tlead tab",
    "café ☕ 日本",
    " lead",
    "trail ",
    "  ",
    "- x",
    "-",
    "[x]",
    "{y}",
    "&a",
    "*a",
    "!tag",
    "%",
    "@",
    "`",
    "|",
    ">",
    "?",
    "? x",
    ",",
    "a,b",
    "---",
    "...",
    "\\",
    "back\\slash",
    "\x01\x1b[31m",
    "cr\r",
    "<<",
    "=",
};
#define NHOSTILE (sizeof hostile / sizeof hostile[0])

/* The value of top-level key k in a loaded mapping, or NULL. */
static yaml_node_t *lookup(yv_ydoc *d, const char *k)
{
    yaml_node_t *top = yv_yamlio_root(d);
    assert_non_null(top);
    assert_int_equal(top->type, YAML_MAPPING_NODE);
    for (yaml_node_pair_t *p = top->data.mapping.pairs.start; p < top->data.mapping.pairs.top; p++)
        if (!strcmp(yv_yamlio_scalar(yv_yamlio_node(d, p->key)), k))
            return yv_yamlio_node(d, p->value);
    return NULL;
}

static void test_writer_round_trip(void **state)
{
    (void)state;
    yv_err err;
    char *text = NULL;
    size_t len = 0;
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    for (size_t i = 0; i < NHOSTILE; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%zu", i);
        yv_yamlio_w_str(w, k, hostile[i]);
    }
    yv_yamlio_w_map_end(w);
    assert_int_equal(yv_yamlio_w_finish(w, &text, &len, &err), 0);
    yv_yamlio_w_free(w);
    assert_int_equal(strlen(text), len);

    yv_ydoc *d = yv_yamlio_load_string("rt.yaml", text, len, &err);
    if (!d) fail_msg("%s\n%s", err.msg, text);
    for (size_t i = 0; i < NHOSTILE; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%zu", i);
        yaml_node_t *v = lookup(d, k);
        assert_non_null(v);
        const char *s = yv_yamlio_scalar(v);
        assert_non_null(s);
        if (strcmp(s, hostile[i]) != 0 || v->data.scalar.length != strlen(hostile[i]))
            fail_msg("%s: wrote '%s', read back '%s'\n%s", k, hostile[i], s, text);
        /* plain only where YAML 1.1 and 1.2 both read a plain scalar back as that string */
        static const char *const plain_ok[] = {"café ☕ 日本", "it's", "say \"hi\"",
                                               "a,b",         "\\",   "back\\slash"};
        bool may_be_plain = false;
        for (size_t j = 0; j < sizeof plain_ok / sizeof plain_ok[0]; j++)
            may_be_plain |= !strcmp(hostile[i], plain_ok[j]);
        if (!may_be_plain && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            fail_msg("%s: '%s' was written plain\n%s", k, hostile[i], text);
        if (yv_yamlio_needs_quotes(hostile[i]) && !strchr(hostile[i], '\'')) {
            /* the values another YAML 1.1 reader would retype come out single-quoted, verbatim */
            char *want = yv_asprintf("\n%s: '%s'\n", k, hostile[i]);
            ut_assert_contains(text, want);
            free(want);
            assert_int_equal(v->data.scalar.style, YAML_SINGLE_QUOTED_SCALAR_STYLE);
        }
    }
    /* UTF-8 stays literal rather than \u escapes */
    ut_assert_contains(text, "café ☕ 日本");
    yv_yamlio_free(d);
    free(text);
}

static void test_writer_plain_values_stay_plain(void **state)
{
    (void)state;
    yv_err err;
    char *text;
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "a", "hello");
    yv_yamlio_w_str(w, "b", "hd0.qcow2");
    yv_yamlio_w_int(w, "c", -42);
    yv_yamlio_w_bool(w, "d", true);
    yv_yamlio_w_bool(w, "e", false);
    yv_yamlio_w_seq_begin(w, "f");
    yv_yamlio_w_str(w, NULL, "x");
    yv_yamlio_w_str(w, NULL, "on");
    yv_yamlio_w_seq_end(w);
    yv_yamlio_w_map_begin(w, "g");
    yv_yamlio_w_int(w, "h", 7);
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_map_end(w);
    assert_int_equal(yv_yamlio_w_finish(w, &text, NULL, &err), 0);
    yv_yamlio_w_free(w);
    assert_string_equal(text, "a: hello\n"
                              "b: hd0.qcow2\n"
                              "c: -42\n"
                              "d: true\n"
                              "e: false\n"
                              "f:\n"
                              "- x\n"
                              "- 'on'\n"
                              "g:\n"
                              "  h: 7\n");
    free(text);
}

static void test_writer_quotes_keys(void **state)
{
    (void)state;
    yv_err err;
    char *text;
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_map_begin(w, "on");
    yv_yamlio_w_int(w, "123", 1);
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_map_end(w);
    assert_int_equal(yv_yamlio_w_finish(w, &text, NULL, &err), 0);
    yv_yamlio_w_free(w);
    /* keys are strings too: a YAML 1.1 reader must not see a bool or an int key */
    assert_string_equal(text, "'on':\n  '123': 1\n");
    free(text);
}

static void test_writer_invalid_utf8(void **state)
{
    (void)state;
    yv_err err = {0};
    char *text = NULL;
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "ok", "fine");
    yv_yamlio_w_str(w, "bad", "caf\xe9");
    yv_yamlio_w_str(w, "after", "x");
    yv_yamlio_w_map_end(w);
    assert_int_equal(yv_yamlio_w_finish(w, &text, NULL, &err), -1);
    assert_null(text);
    assert_int_equal(err.code, YV_E_IO);
    ut_assert_contains(err.msg, "cannot write YAML");
    ut_assert_contains(err.msg, "UTF-8");
    yv_yamlio_w_free(w);
}

/* Found by tests/fuzz/fuzz_yamlquote: libyaml's own UTF-8 check lets surrogates and code points
 * past U+10FFFF through and writes them as escapes it then refuses to read ("found invalid Unicode
 * character escape code"): a VM saved with such a VNC password could not be loaded again. */
static void test_writer_refuses_unreadable_unicode(void **state)
{
    (void)state;
    static const char *const bad[] = {"ab\xed\xa0\x80"
                                      "cd",
                                      "\xed\xbf\xbf", "x\xf4\x90\x80\x80", "\xf7\xbf\xbf\xbf",
                                      "\xe0\x80\xaf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        yv_err err = {0};
        char *text = NULL;
        yv_yw *w = yv_yamlio_w_new();
        yv_yamlio_w_map_begin(w, NULL);
        yv_yamlio_w_str(w, "password", bad[i]);
        yv_yamlio_w_map_end(w);
        if (yv_yamlio_w_finish(w, &text, NULL, &err) != -1) fail_msg("value %zu was written", i);
        ut_assert_contains(err.msg, "UTF-8");
        yv_yamlio_w_free(w);
    }
}

/* Found by tests/fuzz/fuzz_yamlquote: Ruby (Psych) reads these plain scalars as a bool, null or
 * integer, so the writer quotes them too. */
static void test_needs_quotes_ruby(void **state)
{
    (void)state;
    static const char *const quoted[] = {"tRuE", "oFF", "yEs", "nULL", "1,000", "2,3", "1,000.5"};
    for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++)
        if (!yv_yamlio_needs_quotes(quoted[i])) fail_msg("'%s' should need quotes", quoted[i]);
}

static void test_writer_empty_map(void **state)
{
    (void)state;
    yv_err err;
    char *text;
    size_t len;
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_map_begin(w, "table");
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_map_end(w);
    assert_int_equal(yv_yamlio_w_finish(w, &text, &len, &err), 0);
    yv_yamlio_w_free(w);
    assert_string_equal(text, "table: {}\n");
    assert_int_equal(len, 10);
    free(text);
}

/* ---- reading ---- */

typedef struct {
    char *s;
    char *checked;
    long i;
    bool b;
    int e;
    yv_strlist l;
    char *sub_s;
    long sub_req;
    char *deep;
} rec;

static const char *const colours[] = {"red", "green", "blue", NULL};

static int check_lower(const char *s, char *why, size_t whylen)
{
    for (; *s; s++)
        if (*s < 'a' || *s > 'z') return snprintf(why, whylen, "must be lower-case letters"), -1;
    return 0;
}

static const yv_yfield deep_fields[] = {
    {.key = "deep", .type = YV_YF_STR, .off = offsetof(rec, deep)},
    {0},
};
static const yv_yfield sub_fields[] = {
    {.key = "s", .type = YV_YF_STR, .off = offsetof(rec, sub_s)},
    {.key = "req",
     .type = YV_YF_INT,
     .off = offsetof(rec, sub_req),
     .required = true,
     .min = 0,
     .max = 9},
    {.key = "inner", .type = YV_YF_MAP, .sub = deep_fields},
    {0},
};
static const yv_yfield rec_fields[] = {
    {.key = "s", .type = YV_YF_STR, .off = offsetof(rec, s)},
    {.key = "checked", .type = YV_YF_STR, .off = offsetof(rec, checked), .check = check_lower},
    {.key = "i", .type = YV_YF_INT, .off = offsetof(rec, i), .min = 1, .max = 100},
    {.key = "b", .type = YV_YF_BOOL, .off = offsetof(rec, b)},
    {.key = "e", .type = YV_YF_ENUM, .off = offsetof(rec, e), .names = colours},
    {.key = "l", .type = YV_YF_STRLIST, .off = offsetof(rec, l)},
    {.key = "sub", .type = YV_YF_MAP, .sub = sub_fields},
    {0},
};

static void rec_done(rec *r)
{
    free(r->s);
    free(r->checked);
    free(r->sub_s);
    free(r->deep);
    yv_strlist_free(&r->l);
    memset(r, 0, sizeof *r);
}

/* Parses text into r (defaults: i = 50, b = false, e = 0, sub_req = -1); returns rc, err filled. */
static int parse(const char *text, rec *r, yv_err *err)
{
    memset(r, 0, sizeof *r);
    r->i = 50;
    r->sub_req = -1;
    yv_err_clear(err);
    yv_ydoc *d = yv_yamlio_load_string("t.yaml", text, strlen(text), err);
    if (!d) return -1;
    int rc = yv_yamlio_read_map(d, yv_yamlio_root(d), rec_fields, r, "", err);
    yv_yamlio_free(d);
    return rc;
}

/* Asserts text fails with exactly msg (which includes the file:line:col prefix). */
static void assert_parse_fails(const char *text, const char *msg)
{
    rec r;
    yv_err err;
    if (parse(text, &r, &err) != -1) fail_msg("accepted:\n%s", text);
    rec_done(&r);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    assert_string_equal(err.msg, msg);
}

static void test_read_all_types(void **state)
{
    (void)state;
    rec r;
    yv_err err;
    assert_int_equal(parse("s: hello world\n"
                           "checked: abc\n"
                           "i: 100\n"
                           "b: yes\n"
                           "e: blue\n"
                           "l: [a, 'b c', \"\"]\n"
                           "sub:\n"
                           "  s: 'x: y'\n"
                           "  req: 0\n"
                           "  inner: {deep: down}\n",
                           &r, &err),
                     0);
    assert_string_equal(r.s, "hello world");
    assert_string_equal(r.checked, "abc");
    assert_int_equal(r.i, 100);
    assert_true(r.b);
    assert_int_equal(r.e, 2);
    assert_int_equal(r.l.n, 3);
    assert_string_equal(r.l.v[0], "a");
    assert_string_equal(r.l.v[1], "b c");
    assert_string_equal(r.l.v[2], "");
    assert_string_equal(r.sub_s, "x: y");
    assert_int_equal(r.sub_req, 0);
    assert_string_equal(r.deep, "down");
    rec_done(&r);
}

static void test_read_empty_and_null(void **state)
{
    (void)state;
    rec r;
    yv_err err;
    /* an empty document, a null document and null values all leave the defaults */
    assert_int_equal(parse("", &r, &err), 0);
    assert_int_equal(r.i, 50);
    assert_null(r.s);
    rec_done(&r);
    assert_int_equal(parse("~\n", &r, &err), 0);
    assert_int_equal(r.i, 50);
    rec_done(&r);
    assert_int_equal(parse("s:\ni: ~\nb: null\nl: NULL\ne: Null\nsub:\n", &r, &err), -1);
    /* `sub:` alone is an empty mapping, so its required key is missing */
    assert_string_equal(err.msg, "t.yaml:6:5: sub.req is missing");
    rec_done(&r);
    assert_int_equal(parse("s:\ni: ~\nb: null\nl: NULL\ne: Null\n", &r, &err), 0);
    assert_null(r.s);
    assert_int_equal(r.i, 50);
    assert_false(r.b);
    assert_int_equal(r.l.n, 0);
    rec_done(&r);
    /* a quoted empty string or 'null' is a string, not null */
    assert_int_equal(parse("s: ''\nchecked: 'null'\n", &r, &err), 0);
    assert_string_equal(r.s, "");
    assert_string_equal(r.checked, "null");
    rec_done(&r);
}

static void test_read_bool_forms(void **state)
{
    (void)state;
    static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *const f[] = {"false", "False", "FALSE", "no", "No",
                                    "NO",    "off",   "Off",   "OFF"};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        rec r;
        yv_err err;
        char *text = yv_asprintf("b: %s\n", t[i]);
        assert_int_equal(parse(text, &r, &err), 0);
        assert_true(r.b);
        rec_done(&r);
        free(text);
        text = yv_asprintf("b: %s\n", f[i]);
        r.b = true;
        assert_int_equal(parse(text, &r, &err), 0);
        assert_false(r.b);
        rec_done(&r);
        free(text);
    }
    assert_parse_fails("b: 'true'\n", "t.yaml:1:4: b must be true or false, not 'true'");
    assert_parse_fails("b: 1\n", "t.yaml:1:4: b must be true or false, not '1'");
    assert_parse_fails("b: tRUE\n", "t.yaml:1:4: b must be true or false, not 'tRUE'");
    assert_parse_fails("b: [true]\n", "t.yaml:1:4: b must be true or false, not '(not a scalar)'");
}

static void test_read_int_errors(void **state)
{
    (void)state;
    assert_parse_fails("i: abc\n", "t.yaml:1:4: i must be an integer from 1 to 100, not 'abc'");
    assert_parse_fails("i: '12'\n", "t.yaml:1:4: i must be an integer from 1 to 100, not '12'");
    assert_parse_fails("i: \"12\"\n", "t.yaml:1:4: i must be an integer from 1 to 100, not '12'");
    assert_parse_fails("i: 101\n", "t.yaml:1:4: i must be an integer from 1 to 100, not '101'");
    assert_parse_fails("i: 0\n", "t.yaml:1:4: i must be an integer from 1 to 100, not '0'");
    assert_parse_fails("i: -1\n", "t.yaml:1:4: i must be an integer from 1 to 100, not '-1'");
    assert_parse_fails("i: 0x10\n", "t.yaml:1:4: i must be an integer from 1 to 100, not '0x10'");
    assert_parse_fails("i: 1.5\n", "t.yaml:1:4: i must be an integer from 1 to 100, not '1.5'");
    assert_parse_fails("i: +5\n", "t.yaml:1:4: i must be an integer from 1 to 100, not '+5'");
    assert_parse_fails("i: 99999999999999999999999\n",
                       "t.yaml:1:4: i must be an integer from 1 to 100, not "
                       "'99999999999999999999999'");
    assert_parse_fails("s: x\n\nsub:\n   req: 10\n",
                       "t.yaml:4:9: sub.req must be an integer from 0 to 9, not '10'");
    assert_parse_fails("i: {a: 1}\n",
                       "t.yaml:1:4: i must be an integer from 1 to 100, not '(not a scalar)'");
}

static void test_read_other_type_errors(void **state)
{
    (void)state;
    assert_parse_fails("s: [a]\n", "t.yaml:1:4: s must be a string");
    assert_parse_fails("s: {a: b}\n", "t.yaml:1:4: s must be a string");
    assert_parse_fails("checked: aBc\n",
                       "t.yaml:1:10: checked must be lower-case letters, not 'aBc'");
    assert_parse_fails("e: purple\n",
                       "t.yaml:1:4: e must be one of red, green, blue, not 'purple'");
    assert_parse_fails("e: [red]\n",
                       "t.yaml:1:4: e must be one of red, green, blue, not '(not a scalar)'");
    assert_parse_fails("l: a\n", "t.yaml:1:4: l must be a list of strings");
    assert_parse_fails("l:\n  - a\n  - [b]\n", "t.yaml:3:5: items of l must be strings");
    assert_parse_fails("sub: 5\n", "t.yaml:1:6: sub must be a mapping (key: value lines)");
    assert_parse_fails("sub: [1]\n", "t.yaml:1:6: sub must be a mapping (key: value lines)");
    assert_parse_fails("- a\n- b\n", "t.yaml:1:1: the file must be a mapping (key: value lines)");
    assert_parse_fails("just text\n", "t.yaml:1:1: the file must be a mapping (key: value lines)");
    assert_parse_fails("? [a]\n: b\n", "t.yaml:1:3: keys in the file must be plain strings");
    assert_parse_fails("sub:\n  ? {a: b}\n  : c\n",
                       "t.yaml:2:5: keys in sub must be plain strings");
}

static void test_read_unknown_key(void **state)
{
    (void)state;
    assert_parse_fails("s: x\ncolour: red\n",
                       "t.yaml:2:1: unknown key 'colour' in the file (known: s, checked, i, b, e, "
                       "l, sub)");
    assert_parse_fails("sub:\n  req: 1\n  inner:\n    deep: x\n    deeper: y\n",
                       "t.yaml:5:5: unknown key 'deeper' in sub.inner (known: deep)");
}

static void test_read_duplicate_key(void **state)
{
    (void)state;
    assert_parse_fails("s: x\ni: 1\ns: y\n", "t.yaml:3:1: duplicate key 's' in the file");
    assert_parse_fails("sub:\n  req: 1\n  req: 2\n", "t.yaml:3:3: duplicate key 'req' in sub");
    /* a quoted key is the same key */
    assert_parse_fails("i: 1\n'i': 2\n", "t.yaml:2:1: duplicate key 'i' in the file");
}

static void test_read_missing_required(void **state)
{
    (void)state;
    assert_parse_fails("s: x\nsub:\n  s: y\n", "t.yaml:3:3: sub.req is missing");
    assert_parse_fails("sub: {}\n", "t.yaml:1:6: sub.req is missing");
    /* null is absent, not zero */
    assert_parse_fails("sub:\n  req:\n", "t.yaml:2:3: sub.req is missing");
}

static void test_read_later_value_replaces(void **state)
{
    (void)state;
    /* a nested map writes into the same base; its own `s` is a different field */
    rec r;
    yv_err err;
    assert_int_equal(parse("s: top\nsub: {s: inner, req: 3}\n", &r, &err), 0);
    assert_string_equal(r.s, "top");
    assert_string_equal(r.sub_s, "inner");
    assert_int_equal(r.sub_req, 3);
    rec_done(&r);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    assert_parse_fails("a: b: c\n", "t.yaml:1:5: YAML syntax error: mapping values are not allowed "
                                    "in this context");
    assert_parse_fails("s: x\n\ttab: 1\n", "t.yaml:2:1: YAML syntax error: found a tab character "
                                           "that violates indentation (while scanning a plain "
                                           "scalar at line 1)");
    rec r;
    yv_err err;
    assert_int_equal(parse("s: 'unterminated\n", &r, &err), -1);
    ut_assert_contains(err.msg, "t.yaml:2:1: YAML syntax error:");
    assert_int_equal(parse("s: \xff\n", &r, &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    ut_assert_contains(err.msg, "t.yaml: byte 4: invalid text:");
}

static void test_aliases_are_safe(void **state)
{
    (void)state;
    /* a sequence that contains itself must not send the reader into a loop */
    assert_parse_fails("l: &x [*x]\n", "t.yaml:1:4: items of l must be strings");
    rec r;
    yv_err err;
    assert_int_equal(parse("s: &v hello\nsub: {s: *v, req: 1}\n", &r, &err), 0);
    assert_string_equal(r.sub_s, "hello");
    rec_done(&r);
}

static char *repeat(const char *unit, size_t n, const char *tail)
{
    size_t u = strlen(unit), t = strlen(tail);
    char *s = malloc(u * n + t + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
    memcpy(s + u * n, tail, t + 1);
    return s;
}

static void test_nesting_is_bounded(void **state)
{
    (void)state;
    yv_err err;
    /* the deepest allowed document loads */
    char *ok = repeat("[", YV_YAMLIO_MAX_DEPTH, "");
    char *text = yv_asprintf("%s%s\n", ok, ok); /* "[[…[" then as many "]" below */
    memset(text + YV_YAMLIO_MAX_DEPTH, ']', YV_YAMLIO_MAX_DEPTH);
    yv_ydoc *d = yv_yamlio_load_string("d.yaml", text, strlen(text), &err);
    assert_non_null(d);
    yv_yamlio_free(d);
    free(text);
    free(ok);
    /* one level more is refused where it starts */
    text = repeat("[", YV_YAMLIO_MAX_DEPTH + 1, "\n");
    assert_null(yv_yamlio_load_string("d.yaml", text, strlen(text), &err));
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    char *want = yv_asprintf("d.yaml:1:%d: YAML flow collections nested deeper than %d levels",
                             YV_YAMLIO_MAX_DEPTH + 1, YV_YAMLIO_MAX_DEPTH);
    assert_string_equal(err.msg, want);
    free(want);
    free(text);
    /* block collections do not slow libyaml down: deeper is fine, and flow inside them counts from
     * where it starts */
    char *lines = NULL;
    for (int i = 0; i <= 2 * YV_YAMLIO_MAX_DEPTH; i++) {
        char *ind = repeat("  ", (size_t)i, "");
        char *next = yv_asprintf("%s%s-\n", lines ? lines : "", ind);
        free(ind);
        free(lines);
        lines = next;
    }
    d = yv_yamlio_load_string("b.yaml", lines, strlen(lines), &err);
    assert_non_null(d);
    yv_yamlio_free(d);
    char *flow = repeat("[", YV_YAMLIO_MAX_DEPTH + 1, "");
    char *deep = yv_asprintf("%s%*s- %s\n", lines, 2 * (2 * YV_YAMLIO_MAX_DEPTH + 1), "", flow);
    assert_null(yv_yamlio_load_string("b.yaml", deep, strlen(deep), &err));
    want = yv_asprintf("b.yaml:%d:%d: YAML flow collections nested deeper than %d levels",
                       2 * YV_YAMLIO_MAX_DEPTH + 2,
                       4 * YV_YAMLIO_MAX_DEPTH + 2 + 3 + YV_YAMLIO_MAX_DEPTH, YV_YAMLIO_MAX_DEPTH);
    assert_string_equal(err.msg, want);
    free(want);
    free(deep);
    free(flow);
    free(lines);
    /* "[a: …]" is two flow collections (the sequence and a single-pair mapping) for one bracket:
     * counted the same whatever other brackets the text holds */
    char *open2 = repeat("[a: ", YV_YAMLIO_MAX_DEPTH / 2, "x"),
         *close2 = repeat("]", YV_YAMLIO_MAX_DEPTH / 2, "\n");
    text = yv_asprintf("%s%s", open2, close2);
    d = yv_yamlio_load_string("m.yaml", text, strlen(text), &err);
    assert_non_null(d);
    yv_yamlio_free(d);
    free(text);
    free(open2);
    free(close2);
    open2 = repeat("[a: ", YV_YAMLIO_MAX_DEPTH / 2 + 1, "x");
    close2 = repeat("]", YV_YAMLIO_MAX_DEPTH / 2 + 1, "\n");
    text = yv_asprintf("%s%s", open2, close2);
    assert_null(yv_yamlio_load_string("m.yaml", text, strlen(text), &err));
    ut_assert_contains(err.msg, "YAML flow collections nested deeper than 64 levels");
    free(text);
    text = yv_asprintf("%s%s# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n", open2, close2);
    assert_null(yv_yamlio_load_string("m.yaml", text, strlen(text), &err));
    ut_assert_contains(err.msg, "YAML flow collections nested deeper than 64 levels");
    free(text);
    free(open2);
    free(close2);
    /* what took libyaml minutes fails at once */
    text = repeat("[", 200000, "");
    assert_null(yv_yamlio_load_string("d.yaml", text, strlen(text), &err));
    ut_assert_contains(err.msg, "d.yaml:1:65: YAML flow collections nested deeper than 64 levels");
    free(text);
    /* many brackets side by side are not nesting, and brackets in a string are not collections */
    text = repeat("- [a, {b: c}]\n", 100, "");
    d = yv_yamlio_load_string("w.yaml", text, strlen(text), &err);
    assert_non_null(d);
    yv_yamlio_free(d);
    free(text);
    char *pw = repeat("[", 100, "");
    text = yv_asprintf("s: '%s'\n", pw);
    d = yv_yamlio_load_string("q.yaml", text, strlen(text), &err);
    assert_non_null(d);
    assert_string_equal(yv_yamlio_scalar(lookup(d, "s")), pw);
    yv_yamlio_free(d);
    free(text);
    free(pw);
}

static void test_fail_and_is_null(void **state)
{
    (void)state;
    yv_err err;
    yv_ydoc *d = yv_yamlio_load_string("n.yaml", "a:\n  - ''\n  - ~\n", 16, &err);
    assert_non_null(d);
    yaml_node_t *seq = lookup(d, "a");
    yaml_node_t *q = yv_yamlio_node(d, seq->data.sequence.items.start[0]);
    yaml_node_t *n = yv_yamlio_node(d, seq->data.sequence.items.start[1]);
    assert_false(yv_yamlio_is_null(q));
    assert_true(yv_yamlio_is_null(n));
    assert_false(yv_yamlio_is_null(seq));
    assert_false(yv_yamlio_is_null(NULL));
    assert_int_equal(yv_yamlio_fail(d, n, &err, "value %d", 7), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    assert_string_equal(err.msg, "n.yaml:3:5: value 7");
    assert_int_equal(yv_yamlio_fail(d, NULL, &err, "whole file"), -1);
    assert_string_equal(err.msg, "n.yaml:1:1: whole file");
    assert_null(yv_yamlio_scalar(seq));
    assert_null(yv_yamlio_scalar(NULL));
    yv_yamlio_free(d);
    yv_yamlio_free(NULL);
}

static void test_load_file(void **state)
{
    char *dir = *state;
    yv_err err;
    char *path = yv_root_join(dir, "missing.yaml");
    assert_null(yv_yamlio_load_file(path, YV_E_PRESET_NOT_FOUND, &err));
    assert_int_equal(err.code, YV_E_PRESET_NOT_FOUND);
    free(path);
    ut_write(dir, "f.yaml", "a: 1\nb: [\n");
    path = yv_root_join(dir, "f.yaml");
    assert_null(yv_yamlio_load_file(path, YV_E_PRESET_NOT_FOUND, &err));
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    char *want = yv_asprintf("%s:3:1: ", path);
    ut_assert_contains(err.msg, want);
    free(want);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs_quotes_yes),
        cmocka_unit_test(test_needs_quotes_no),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_writer_plain_values_stay_plain),
        cmocka_unit_test(test_writer_quotes_keys),
        cmocka_unit_test(test_writer_invalid_utf8),
        cmocka_unit_test(test_writer_refuses_unreadable_unicode),
        cmocka_unit_test(test_needs_quotes_ruby),
        cmocka_unit_test(test_writer_empty_map),
        cmocka_unit_test(test_read_all_types),
        cmocka_unit_test(test_read_empty_and_null),
        cmocka_unit_test(test_read_bool_forms),
        cmocka_unit_test(test_read_int_errors),
        cmocka_unit_test(test_read_other_type_errors),
        cmocka_unit_test(test_read_unknown_key),
        cmocka_unit_test(test_read_duplicate_key),
        cmocka_unit_test(test_read_missing_required),
        cmocka_unit_test(test_read_later_value_replaces),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_aliases_are_safe),
        cmocka_unit_test(test_nesting_is_bounded),
        cmocka_unit_test(test_fail_and_is_null),
        cmocka_unit_test_setup_teardown(test_load_file, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("yamlio", tests, NULL, NULL);
}
