#include "yamlio.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "root.h"
#include "util.h"

struct yv_ydoc {
    char *name;
    yaml_document_t doc;
};

static const char *parser_error_kind(yaml_error_type_t t)
{
    switch (t) {
    case YAML_READER_ERROR: return "invalid text";
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
    case YAML_COMPOSER_ERROR: return "YAML syntax error";
    case YAML_MEMORY_ERROR: return "out of memory";
    default: return "YAML error";
    }
}

static yv_ydoc *load(yaml_parser_t *p, const char *name, yv_err *err)
{
    yv_ydoc *d = yv_calloc(1, sizeof *d);
    if (!yaml_parser_load(p, &d->doc)) {
        const char *problem = p->problem ? p->problem : "unknown problem";
        if (p->error == YAML_READER_ERROR)
            yv_err_set(err, YV_E_CONFIG_INVALID, "%s: byte %zu: %s: %s", name,
                       p->problem_offset + 1, parser_error_kind(p->error), problem);
        else if (p->context)
            yv_err_set(err, YV_E_CONFIG_INVALID, "%s:%zu:%zu: %s: %s (%s at line %zu)", name,
                       p->problem_mark.line + 1, p->problem_mark.column + 1,
                       parser_error_kind(p->error), problem, p->context, p->context_mark.line + 1);
        else
            yv_err_set(err, YV_E_CONFIG_INVALID, "%s:%zu:%zu: %s: %s", name,
                       p->problem_mark.line + 1, p->problem_mark.column + 1,
                       parser_error_kind(p->error), problem);
        free(d);
        return NULL;
    }
    d->name = yv_strdup(name);
    return d;
}

/* libyaml 0.2.5 has no nesting limit, and its scanner walks the whole stack of open flow
 * collections for every token: "[[[[…" a few hundred kilobytes long takes minutes (100 000 levels:
 * 88 s). Block collections cost nothing like it (the scanner keeps their indents on a stack it does
 * not walk). Our formats nest four levels at most. */
enum { MAX_DEPTH = YV_YAMLIO_MAX_DEPTH };

/* Whether the event pre-pass must run. Each '[' or '{' opens one flow collection, plus at most one
 * implicit single-pair mapping inside a sequence ("[a: b]"), so a text with no more than half the
 * limit in brackets cannot nest flow collections deeper than the limit; only a text with more
 * pays for the pre-pass. */
static bool may_nest_deep(const char *buf, size_t len)
{
    size_t brackets = 0;
    for (size_t i = 0; i < len; i++)
        if ((buf[i] == '[' || buf[i] == '{') && ++brackets > MAX_DEPTH / 2) return true;
    return false;
}

static bool flow_start(const yaml_event_t *ev)
{
    if (ev->type == YAML_SEQUENCE_START_EVENT)
        return ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
    if (ev->type == YAML_MAPPING_START_EVENT)
        return ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
    return false;
}

/* Walks the events counting open collections; everything inside a flow collection is flow, so the
 * flow depth is the depth above the level where the outermost flow collection opened. */
static bool depth_ok(yaml_parser_t *p, const char *name, yv_err *err)
{
    long depth = 0, flow_base = -1;
    for (;;) {
        yaml_event_t ev;
        /* A syntax error is left for the real load to report with its position. */
        if (!yaml_parser_parse(p, &ev)) return true;
        yaml_event_type_t t = ev.type;
        yaml_mark_t at = ev.start_mark;
        if (flow_base < 0 && flow_start(&ev)) flow_base = depth;
        yaml_event_delete(&ev);
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            depth++;
            if (flow_base >= 0 && depth - flow_base > MAX_DEPTH) {
                yv_err_set(err, YV_E_CONFIG_INVALID,
                           "%s:%zu:%zu: YAML flow collections nested deeper than %d levels", name,
                           at.line + 1, at.column + 1, MAX_DEPTH);
                return false;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            if (--depth == flow_base) flow_base = -1;
        } else if (t == YAML_STREAM_END_EVENT) {
            return true;
        }
    }
}

static yaml_parser_t *parser_new(const char *buf, size_t len, yv_err *err)
{
    yaml_parser_t *p = yv_calloc(1, sizeof *p);
    if (!yaml_parser_initialize(p)) {
        free(p);
        yv_err_set(err, YV_E_IO, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(p, (const unsigned char *)buf, len);
    return p;
}

static void parser_free(yaml_parser_t *p)
{
    if (!p) return;
    yaml_parser_delete(p);
    free(p);
}

yv_ydoc *yv_yamlio_load_string(const char *name, const char *buf, size_t len, yv_err *err)
{
    if (may_nest_deep(buf, len)) {
        yaml_parser_t *pre = parser_new(buf, len, err);
        if (!pre) return NULL;
        bool ok = depth_ok(pre, name, err);
        parser_free(pre);
        if (!ok) return NULL;
    }
    yaml_parser_t *p = parser_new(buf, len, err);
    if (!p) return NULL;
    yv_ydoc *d = load(p, name, err);
    parser_free(p);
    return d;
}

int yv_yamlio_check_text(const char *name, const char *text, size_t len, yv_err *err)
{
    size_t n = strlen(text);
    if (n == len) return 0;
    return yv_err_set(err, YV_E_CONFIG_INVALID,
                      "%s: byte %zu: invalid text: control characters are not allowed", name,
                      n + 1);
}

yv_ydoc *yv_yamlio_load_file(const char *path, yv_code notfound_code, yv_err *err)
{
    size_t len;
    char *buf = yv_root_read_file(path, &len, notfound_code, err);
    if (!buf) return NULL;
    yv_ydoc *d = yv_yamlio_load_string(path, buf, len, err);
    free(buf);
    return d;
}

char *yv_yamlio_read_optional(const char *path, bool *missing, yv_err *err)
{
    size_t len;
    yv_err e = {.code = YV_OK};
    /* absent: no message is built (strerror and its locale cost every command page faults) */
    char *text = yv_root_read_file(path, &len, YV_OK, &e);
    *missing = !text && e.code == YV_OK;
    if (!text && !*missing) *err = e;
    if (text && yv_yamlio_check_text(path, text, len, err) < 0) {
        free(text);
        return NULL;
    }
    return text;
}

void yv_yamlio_free(yv_ydoc *d)
{
    if (!d) return;
    yaml_document_delete(&d->doc);
    free(d->name);
    free(d);
}

yaml_node_t *yv_yamlio_root(yv_ydoc *d)
{
    return yaml_document_get_root_node(&d->doc);
}

yaml_node_t *yv_yamlio_node(yv_ydoc *d, int id)
{
    return yaml_document_get_node(&d->doc, id);
}

int yv_yamlio_fail(yv_ydoc *d, const yaml_node_t *node, yv_err *err, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line = node ? node->start_mark.line + 1 : 1,
           col = node ? node->start_mark.column + 1 : 1;
    return yv_err_set(err, YV_E_CONFIG_INVALID, "%s:%zu:%zu: %s", d->name, line, col, msg);
}

const char *yv_yamlio_scalar(const yaml_node_t *n)
{
    return (n && n->type == YAML_SCALAR_NODE) ? (const char *)n->data.scalar.value : NULL;
}

bool yv_yamlio_is_null(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

void yv_strlist_free(yv_strlist *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static char *join_path(const char *path, const char *key)
{
    return *path ? yv_asprintf("%s.%s", path, key) : yv_strdup(key);
}

int yv_yamlio_check_map(yv_ydoc *d, yaml_node_t *node, const char *path, yv_err *err)
{
    if (node->type != YAML_MAPPING_NODE)
        return yv_yamlio_fail(d, node, err, "%s must be a mapping (key: value lines)",
                              *path ? path : "the file");
    yaml_node_pair_t *start = node->data.mapping.pairs.start, *top = node->data.mapping.pairs.top;
    for (yaml_node_pair_t *pr = start; pr < top; pr++) {
        yaml_node_t *k = yv_yamlio_node(d, pr->key);
        const char *ks = yv_yamlio_scalar(k);
        if (!ks)
            return yv_yamlio_fail(d, k, err, "keys in %s must be plain strings",
                                  *path ? path : "the file");
        for (yaml_node_pair_t *q = start; q < pr; q++) {
            const char *qs = yv_yamlio_scalar(yv_yamlio_node(d, q->key));
            if (qs && !strcmp(qs, ks))
                return yv_yamlio_fail(d, k, err, "duplicate key '%s' in %s", ks,
                                      *path ? path : "the file");
        }
    }
    return 0;
}

static const yv_yfield *find_field(const yv_yfield *f, const char *key)
{
    for (; f->key; f++)
        if (!strcmp(f->key, key)) return f;
    return NULL;
}

static void expected_keys(const yv_yfield *f, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (; f->key && n + 1 < cap; f++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", f->key);
}

static int parse_bool(const char *s, bool *out)
{
    static const char *t[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *f[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (!strcmp(s, t[i])) return *out = true, 0;
        if (!strcmp(s, f[i])) return *out = false, 0;
    }
    return -1;
}

static int read_strlist(yv_ydoc *d, yaml_node_t *v, yv_strlist *l, const char *p, yv_err *err)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return yv_yamlio_fail(d, v, err, "%s must be a list of strings", p);
    yv_strlist_free(l);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *in = yv_yamlio_node(d, *it);
        const char *s = yv_yamlio_scalar(in);
        if (!s) return yv_yamlio_fail(d, in, err, "items of %s must be strings", p);
        l->v = yv_realloc(l->v, (l->n + 1) * sizeof *l->v);
        l->v[l->n++] = yv_strdup(s);
    }
    return 0;
}

static int read_value(yv_ydoc *d, yaml_node_t *v, const yv_yfield *f, void *base, const char *p,
                      yv_err *err)
{
    char *at = (char *)base + f->off;
    const char *s = yv_yamlio_scalar(v);
    switch (f->type) {
    case YV_YF_STR:
        if (!s) return yv_yamlio_fail(d, v, err, "%s must be a string", p);
        if (f->check) {
            char why[256];
            if (f->check(s, why, sizeof why) < 0)
                return yv_yamlio_fail(d, v, err, "%s %s, not '%s'", p, why, s);
        }
        free(*(char **)at);
        *(char **)at = yv_strdup(s);
        return 0;
    case YV_YF_INT: {
        long x;
        if (!s || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
            yv_parse_long(s, f->min, f->max, &x) < 0)
            return yv_yamlio_fail(d, v, err, "%s must be an integer from %ld to %ld, not '%s'", p,
                                  f->min, f->max, s ? s : "(not a scalar)");
        *(long *)at = x;
        return 0;
    }
    case YV_YF_BOOL:
        if (!s || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || parse_bool(s, (bool *)at) < 0)
            return yv_yamlio_fail(d, v, err, "%s must be true or false, not '%s'", p,
                                  s ? s : "(not a scalar)");
        return 0;
    case YV_YF_ENUM: {
        char exp[128];
        size_t n = 0;
        exp[0] = '\0';
        for (size_t i = 0; f->names[i]; i++) {
            if (s && !strcmp(s, f->names[i])) return *(int *)at = (int)i, 0;
            if (n < sizeof exp) /* a long list is cut, never written past the buffer */
                n += (size_t)snprintf(exp + n, sizeof exp - n, "%s%s", i ? ", " : "", f->names[i]);
        }
        return yv_yamlio_fail(d, v, err, "%s must be one of %s, not '%s'", p, exp,
                              s ? s : "(not a scalar)");
    }
    case YV_YF_MAP: return yv_yamlio_read_map(d, v, f->sub, base, p, err);
    case YV_YF_STRLIST: return read_strlist(d, v, (yv_strlist *)at, p, err);
    case YV_YF_FN: return f->fn(d, v, base, p, err);
    }
    return yv_yamlio_fail(d, v, err, "%s: unsupported field type", p);
}

static int check_required(yv_ydoc *d, yaml_node_t *node, const yv_yfield *fields, const char *path,
                          unsigned long seen, yv_err *err)
{
    size_t i = 0;
    for (const yv_yfield *f = fields; f->key; f++, i++) {
        if (!f->required || (seen & (1UL << i))) continue;
        char *p = join_path(path, f->key);
        yv_yamlio_fail(d, node, err, "%s is missing", p);
        free(p);
        return -1;
    }
    return 0;
}

int yv_yamlio_read_map(yv_ydoc *d, yaml_node_t *node, const yv_yfield *fields, void *base,
                       const char *path, yv_err *err)
{
    if (!node || yv_yamlio_is_null(node)) return check_required(d, node, fields, path, 0, err);
    if (yv_yamlio_check_map(d, node, path, err) < 0) return -1;
    unsigned long seen = 0;
    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yv_yamlio_node(d, pr->key), *v = yv_yamlio_node(d, pr->value);
        const char *ks = yv_yamlio_scalar(k);
        const yv_yfield *f = find_field(fields, ks);
        if (!f) {
            char exp[256];
            expected_keys(fields, exp, sizeof exp);
            return yv_yamlio_fail(d, k, err, "unknown key '%s' in %s (known: %s)", ks,
                                  *path ? path : "the file", exp);
        }
        if (yv_yamlio_is_null(v) && f->type != YV_YF_MAP) continue; /* `key:` alone = absent */
        seen |= 1UL << (f - fields);
        char *p = join_path(path, f->key);
        int rc = read_value(d, v, f, base, p, err);
        free(p);
        if (rc < 0) return -1;
    }
    return check_required(d, node, fields, path, seen, err);
}

/* ---- quoting ---- */

static bool all_in(const char *s, const char *set)
{
    for (; *s; s++)
        if (!strchr(set, *s)) return false;
    return true;
}

static bool has_digit(const char *s)
{
    for (; *s; s++)
        if (isdigit((unsigned char)*s)) return true;
    return false;
}

bool yv_yamlio_needs_quotes(const char *s)
{
    static const char *words[] = {"y",     "Y",     "yes",  "Yes",  "YES",  "n",    "N",
                                  "no",    "No",    "NO",   "true", "True", "TRUE", "false",
                                  "False", "FALSE", "on",   "On",   "ON",   "off",  "Off",
                                  "OFF",   "null",  "Null", "NULL", "~",    "<<",   "="};
    if (!*s) return true;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) /* Ruby: in any case (tRuE) */
        if (!strcasecmp(s, words[i])) return true;
    /* Numbers in every YAML 1.1 spelling (decimal, 0x, 0o/0 octal, 0b, base 60 such as MACs and
     * ':1', floats, .inf/.nan, Ruby's 1,000) and timestamps are made only of these characters;
     * quoting a few plain strings too many is harmless. */
    if (has_digit(s) && all_in(s, "0123456789abcdefABCDEFxXoO+-.,:_ tTzZ")) return true;
    char low[8];
    size_t n = strlen(s);
    if (n < sizeof low) {
        for (size_t i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)s[i]);
        const char *lp = (low[0] == '+' || low[0] == '-') ? low + 1 : low;
        if (!strcmp(lp, ".inf") || !strcmp(low, ".nan")) return true;
    }
    return s[0] == ':';
}

/* ---- writing ---- */

struct yv_yw {
    yaml_emitter_t em;
    char *buf;
    size_t len, cap;
    int failed;
    char problem[256];
};

static int out_handler(void *data, unsigned char *buffer, size_t size)
{
    yv_yw *w = data;
    if (w->len + size + 1 > w->cap) {
        while (w->len + size + 1 > w->cap) w->cap = w->cap ? w->cap * 2 : 1024;
        w->buf = yv_realloc(w->buf, w->cap);
    }
    memcpy(w->buf + w->len, buffer, size);
    w->len += size;
    return 1;
}

static void emit(yv_yw *w, yaml_event_t *ev)
{
    if (w->failed) {
        yaml_event_delete(ev);
        return;
    }
    if (!yaml_emitter_emit(&w->em, ev)) { /* the emitter consumed the event even on failure */
        w->failed = 1;
        snprintf(w->problem, sizeof w->problem, "%s",
                 w->em.problem ? w->em.problem : "YAML emitter error");
    }
}

/* Strict UTF-8: shortest forms, no surrogates, at most U+10FFFF. libyaml's own check lets
 * surrogates and code points past U+10FFFF through, writes them as \uD800-style escapes, and then
 * refuses to read its own output. */
static bool utf8_ok(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s, n, v;
        if (c < 0x80) n = 0, v = c;
        else if (c >= 0xc2 && c <= 0xdf) n = 1, v = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef) n = 2, v = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4) n = 3, v = c & 0x07;
        else return false;
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80) return false; /* also stops at the NUL */
            v = v << 6 | (s[i] & 0x3f);
        }
        if ((n == 2 && v < 0x800) || (n == 3 && v < 0x10000) || v > 0x10ffff ||
            (v >= 0xd800 && v <= 0xdfff))
            return false;
        s += n + 1;
    }
    return true;
}

static void scalar(yv_yw *w, const char *s, bool plain_ok, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (w->failed) return;
    /* libyaml refuses invalid UTF-8 here and leaves ev uninitialised: never emit it */
    if (!utf8_ok((const unsigned char *)s) ||
        !yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), plain_ok,
                                      1, style)) {
        w->failed = 1;
        snprintf(w->problem, sizeof w->problem, "a value is not valid UTF-8");
        return;
    }
    emit(w, &ev);
}

/* Strings, quoted when another reader would retype them (a key `on` is a bool in YAML 1.1). */
static void str(yv_yw *w, const char *s)
{
    if (yv_yamlio_needs_quotes(s)) scalar(w, s, false, YAML_SINGLE_QUOTED_SCALAR_STYLE);
    else scalar(w, s, true, YAML_ANY_SCALAR_STYLE);
}

static void key(yv_yw *w, const char *k)
{
    if (k) str(w, k);
}

yv_yw *yv_yamlio_w_new(void)
{
    yv_yw *w = yv_calloc(1, sizeof *w);
    yaml_event_t ev;
    yaml_emitter_initialize(&w->em);
    yaml_emitter_set_output(&w->em, out_handler, w);
    yaml_emitter_set_unicode(&w->em, 1);
    yaml_emitter_set_width(&w->em, -1);
    yaml_emitter_set_indent(&w->em, 2);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    emit(w, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    emit(w, &ev);
    return w;
}

void yv_yamlio_w_free(yv_yw *w)
{
    if (!w) return;
    yaml_emitter_delete(&w->em);
    free(w->buf);
    free(w);
}

/* A block mapping or sequence under key k: its start (begin) or its end. */
static void collection(yv_yw *w, const char *k, bool seq, bool begin)
{
    yaml_event_t ev;
    if (begin) key(w, k);
    if (begin && seq)
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    else if (begin)
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    else if (seq) yaml_sequence_end_event_initialize(&ev);
    else yaml_mapping_end_event_initialize(&ev);
    emit(w, &ev);
}

void yv_yamlio_w_map_begin(yv_yw *w, const char *k)
{
    collection(w, k, false, true);
}

void yv_yamlio_w_map_end(yv_yw *w)
{
    collection(w, NULL, false, false);
}

void yv_yamlio_w_seq_begin(yv_yw *w, const char *k)
{
    collection(w, k, true, true);
}

void yv_yamlio_w_seq_end(yv_yw *w)
{
    collection(w, NULL, true, false);
}

void yv_yamlio_w_str(yv_yw *w, const char *k, const char *val)
{
    key(w, k);
    str(w, val);
}

void yv_yamlio_w_int(yv_yw *w, const char *k, long val)
{
    char num[32];
    snprintf(num, sizeof num, "%ld", val);
    key(w, k);
    scalar(w, num, true, YAML_PLAIN_SCALAR_STYLE);
}

void yv_yamlio_w_bool(yv_yw *w, const char *k, bool val)
{
    key(w, k);
    scalar(w, val ? "true" : "false", true, YAML_PLAIN_SCALAR_STYLE);
}

int yv_yamlio_w_finish(yv_yw *w, char **out, size_t *len, yv_err *err)
{
    yaml_event_t ev;
    yaml_document_end_event_initialize(&ev, 1);
    emit(w, &ev);
    yaml_stream_end_event_initialize(&ev);
    emit(w, &ev);
    if (!w->failed && !yaml_emitter_flush(&w->em)) w->failed = 1;
    if (w->failed)
        return yv_err_set(err, YV_E_IO, "cannot write YAML: %s",
                          w->problem[0] ? w->problem : "emitter error");
    out_handler(w, (unsigned char *)"", 0);
    w->buf[w->len] = '\0';
    *out = w->buf;
    if (len) *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return 0;
}
