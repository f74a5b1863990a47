/* yamlio: the thin libyaml layer — load a file into a node tree, walk mappings against a field
 * table (unknown keys, duplicates and wrong types are errors with file:line:col), and emit YAML
 * that other YAML 1.1 readers read back as the same strings. */
#ifndef YV_YAMLIO_H
#define YV_YAMLIO_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "err.h"

typedef struct yv_ydoc yv_ydoc;

/* Loads `path`. A missing file gives NULL with err->code == notfound_code. */
yv_ydoc *yv_yamlio_load_file(const char *path, yv_code notfound_code, yv_err *err);
/* Flow collections ([…], {…}) nested deeper than this are refused (CONFIG_INVALID) before libyaml
 * builds them: its scanner slows down with the square of their depth. */
#define YV_YAMLIO_MAX_DEPTH 64
/* Loads from memory; `name` is used in error messages. */
yv_ydoc *yv_yamlio_load_string(const char *name, const char *buf, size_t len, yv_err *err);
/* For loaders that take the text as a C string: a file whose len bytes hold a NUL would silently
 * end there (and be written back shorter), so it is refused like libyaml refuses it
 * (CONFIG_INVALID). */
int yv_yamlio_check_text(const char *name, const char *text, size_t len, yv_err *err);
/* The text of a YAML file a root may lack (config.yaml, vnc_table.yaml), checked as above
 * (malloc'd). NULL with *missing when there is no such file (not an error), else NULL with err. */
char *yv_yamlio_read_optional(const char *path, bool *missing, yv_err *err);
void yv_yamlio_free(yv_ydoc *d);

/* The root node; NULL for an empty document. */
yaml_node_t *yv_yamlio_root(yv_ydoc *d);
yaml_node_t *yv_yamlio_node(yv_ydoc *d, int id);

/* Sets CONFIG_INVALID with "file:line:col: message" at node (or at the start when node is NULL). */
int yv_yamlio_fail(yv_ydoc *d, const yaml_node_t *node, yv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A plain ~, null, Null, NULL or empty scalar: YAML's null. */
bool yv_yamlio_is_null(const yaml_node_t *n);

typedef struct {
    char **v;
    size_t n;
} yv_strlist;
void yv_strlist_free(yv_strlist *l);

typedef enum {
    YV_YF_STR,     /* char * at off (malloc'd; replaces and frees a previous value) */
    YV_YF_INT,     /* long at off, in [min, max] */
    YV_YF_BOOL,    /* bool at off */
    YV_YF_MAP,     /* nested mapping whose fields (sub) write into the same base */
    YV_YF_STRLIST, /* yv_strlist at off: a sequence of strings */
    YV_YF_ENUM,    /* int at off: index of the value in names (NULL-terminated) */
    YV_YF_FN,      /* custom reader fn(node) */
} yv_yftype;

typedef struct yv_yfield yv_yfield;
struct yv_yfield {
    const char *key;
    yv_yftype type;
    size_t off;
    bool required;
    long min, max;
    const yv_yfield *sub; /* YV_YF_MAP: terminated by a NULL key */
    int (*fn)(yv_ydoc *d, yaml_node_t *node, void *base, const char *path, yv_err *err);
    const char *const *names; /* YV_YF_ENUM */
    /* YV_YF_STR: optional validator; returns -1 and fills why (e.g. "must look like 52:54:…"). */
    int (*check)(const char *s, char *why, size_t whylen);
};

/* Reads mapping `node` (NULL = empty mapping) into base according to fields (NULL-key terminated).
 * `path` names the mapping in messages ("" for the top level, "hardware", …). */
int yv_yamlio_read_map(yv_ydoc *d, yaml_node_t *node, const yv_yfield *fields, void *base,
                       const char *path, yv_err *err);

/* Checks node is a mapping without duplicate keys whose keys are scalars; for custom readers that
 * walk dynamic keys themselves. */
int yv_yamlio_check_map(yv_ydoc *d, yaml_node_t *node, const char *path, yv_err *err);
const char *yv_yamlio_scalar(const yaml_node_t *n);

/* True when a YAML 1.1 reader (PyYAML, Ruby) would resolve the plain scalar s to something other
 * than a string (bool, null, int including base 60, float, timestamp, merge key…); such values are
 * quoted. */
bool yv_yamlio_needs_quotes(const char *s);

/* ---- writing ---- */
typedef struct yv_yw yv_yw;
yv_yw *yv_yamlio_w_new(void);
void yv_yamlio_w_free(yv_yw *w);
/* Errors are sticky: the first one is reported by yv_yamlio_w_finish. key NULL = sequence item or
 * the top-level mapping. */
void yv_yamlio_w_map_begin(yv_yw *w, const char *key);
void yv_yamlio_w_map_end(yv_yw *w);
void yv_yamlio_w_seq_begin(yv_yw *w, const char *key);
void yv_yamlio_w_seq_end(yv_yw *w);
void yv_yamlio_w_str(yv_yw *w, const char *key, const char *val);
void yv_yamlio_w_int(yv_yw *w, const char *key, long val);
void yv_yamlio_w_bool(yv_yw *w, const char *key, bool val);
/* Ends the document; *out is malloc'd (caller frees), NUL-terminated. */
int yv_yamlio_w_finish(yv_yw *w, char **out, size_t *len, yv_err *err);

#endif
