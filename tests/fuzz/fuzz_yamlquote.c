/* Fuzz target: the YAML writer's quoting (core/yamlio.c). The input (cut at its first NUL) is
 * written as a value, as a key and as a list item, then read back with yv_yamlio_load_string.
 * Oracles: the writer fails exactly on text that is not strict UTF-8 (overlong forms, surrogates,
 * code points past U+10FFFF), with an error and no crash; what it writes reads back byte for byte;
 * a scalar it leaves plain is a string for YAML 1.1 readers (PyYAML's implicit resolvers, the
 * spec's y/n, and Ruby Psych's case-insensitive booleans and comma integers), and never one that
 * yv_yamlio_needs_quotes asked to quote. */
#include "fuzz.h"

#include <jansson.h>
#include <regex.h>
#include <strings.h>

#include "core/yamlio.h"

/* What a YAML 1.1 reader would resolve a plain scalar to something else than a string. */
static const char *const typed[] = {
    /* PyYAML resolver.py: bool, float, int, merge, null, timestamp, value */
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
    "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    "^<<$",
    "^(~|null|Null|NULL|)$",
    "^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
    "([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](\\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9]"
    "[0-9])?))?)$",
    "^=$",
    /* the YAML 1.1 bool type also lists y and n */
    "^(y|Y|n|N)$",
    /* Ruby Psych: booleans and null in any case; integers and floats with commas */
    "^([Yy][Ee][Ss]|[Nn][Oo]|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Oo][Nn]|[Oo][Ff][Ff]"
    "|[Nn][Uu][Ll][Ll])$",
    "^[-+]?(0|[1-9]([0-9]|,[0-9]|_[0-9])*)$",
    "^[-+]?[0-9][0-9_,]*\\.[0-9.]*([eE][-+][0-9]+)?$",
};
#define NTYPED (sizeof typed / sizeof typed[0])
static regex_t re[NTYPED];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < NTYPED; i++)
        if (regcomp(&re[i], typed[i], REG_EXTENDED | REG_NOSUB) != 0) abort();
    return 0;
}

static int resolves_typed(const char *s)
{
    for (size_t i = 0; i < NTYPED; i++)
        if (regexec(&re[i], s, 0, NULL, 0) == 0) return (int)i;
    return -1;
}

/* Strict UTF-8 (RFC 3629: shortest forms, no surrogates, at most U+10FFFF), as jansson checks it:
 * an independent implementation. */
static bool utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static void check_scalar(yv_ydoc *d, yaml_node_t *n, const char *want, const char *where,
                         const char *text)
{
    const char *got = yv_yamlio_scalar(n);
    if (!got || strlen(got) != n->data.scalar.length || strcmp(got, want) != 0) {
        fprintf(stderr, "---- written:\n%s----\n", text);
        FUZZ_CHECK(0, "%s: '%s' read back as '%s'", where, want, fuzz_show(got));
    }
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return;
    FUZZ_CHECK(!yv_yamlio_needs_quotes(want), "%s: '%s' left plain although it needs quotes", where,
               want);
    int t = resolves_typed(want);
    FUZZ_CHECK(t < 0, "%s: plain '%s' is not a string to YAML 1.1 readers (rule %d)", where, want,
               t);
    (void)d;
}

static void check_read_back(const char *s, const char *text, size_t len)
{
    yv_err err = {0};
    yv_ydoc *d = yv_yamlio_load_string("written.yaml", text, len, &err);
    if (!d) {
        fprintf(stderr, "---- written:\n%s----\n", text);
        FUZZ_CHECK(0, "the written YAML does not load: %s", err.msg);
    }
    yaml_node_t *root = yv_yamlio_root(d);
    FUZZ_CHECK(root && root->type == YAML_MAPPING_NODE, "root is not a mapping");
    yaml_node_pair_t *p = root->data.mapping.pairs.start;
    FUZZ_CHECK(root->data.mapping.pairs.top - p == 3, "not 3 pairs");
    check_scalar(d, yv_yamlio_node(d, p[0].value), s, "value", text);
    check_scalar(d, yv_yamlio_node(d, p[1].key), s, "key", text);
    yaml_node_t *seq = yv_yamlio_node(d, p[2].value);
    FUZZ_CHECK(seq && seq->type == YAML_SEQUENCE_NODE &&
                   seq->data.sequence.items.top - seq->data.sequence.items.start == 1,
               "list");
    check_scalar(d, yv_yamlio_node(d, *seq->data.sequence.items.start), s, "item", text);
    yv_yamlio_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), *text = NULL;
    size_t len = 0;
    yv_err err = {0};
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "value", s);
    yv_yamlio_w_str(w, s, "k");
    yv_yamlio_w_seq_begin(w, "list");
    yv_yamlio_w_str(w, NULL, s);
    yv_yamlio_w_seq_end(w);
    yv_yamlio_w_map_end(w);
    int rc = yv_yamlio_w_finish(w, &text, &len, &err);
    yv_yamlio_w_free(w);
    bool valid = utf8_ok(s);
    if (rc < 0) {
        FUZZ_CHECK(!valid, "the writer refused valid UTF-8 '%s': %s", s, err.msg);
        FUZZ_CHECK(err.code != YV_OK && err.msg[0], "failure without a message");
    } else {
        FUZZ_CHECK(valid, "the writer accepted invalid UTF-8 (%zu bytes)", strlen(s));
        FUZZ_CHECK(strlen(text) == len, "written length");
        check_read_back(s, text, len);
        free(text);
    }
    free(s);
    return 0;
}
