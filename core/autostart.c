#include "autostart.h"

#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "root.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"

/* vms: a list of VM names, each valid and listed once (a name a hand edit broke or doubled is an
 * error at its line, never guessed at). */
static int read_vms(yv_ydoc *d, yaml_node_t *node, void *base, const char *path, yv_err *err)
{
    yv_strlist *l = base;
    if (yv_yamlio_is_null(node)) return 0;
    if (node->type != YAML_SEQUENCE_NODE)
        return yv_yamlio_fail(d, node, err, "%s must be a list of VM names", path);
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top;
         it++) {
        yaml_node_t *in = yv_yamlio_node(d, *it);
        const char *s = yv_yamlio_scalar(in);
        yv_err e2;
        if (!s || yv_valid_name(s, &e2) < 0)
            return yv_yamlio_fail(d, in, err, "items of %s must name a VM", path);
        if (yv_autostart_has(l, s))
            return yv_yamlio_fail(d, in, err, "%s lists '%s' twice", path, s);
        yv_autostart_add(l, s);
    }
    return 0;
}

static const yv_yfield top_fields[] = {
    {.key = "vms", .type = YV_YF_FN, .fn = read_vms},
    {0},
};

int yv_autostart_load_string(yv_strlist *l, const char *file, const char *text, yv_err *err)
{
    memset(l, 0, sizeof *l);
    yv_ydoc *d = yv_yamlio_load_string(file, text, strlen(text), err);
    if (!d) return -1;
    int rc = yv_yamlio_read_map(d, yv_yamlio_root(d), top_fields, l, "", err);
    yv_yamlio_free(d);
    if (rc < 0) yv_strlist_free(l);
    return rc;
}

int yv_autostart_load(yv_strlist *l, const char *root, yv_err *err)
{
    char *path = yv_root_path(root, YV_AUTOSTART_FILE);
    bool missing;
    char *text = yv_yamlio_read_optional(path, &missing, err); /* never through a symlink */
    int rc = missing ? 0 : -1;                                 /* missing: an empty list */
    memset(l, 0, sizeof *l);
    if (text) rc = yv_autostart_load_string(l, path, text, err);
    free(text);
    free(path);
    return rc;
}

int yv_autostart_to_yaml(const yv_strlist *l, char **out, size_t *len, yv_err *err)
{
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_seq_begin(w, "vms");
    for (size_t i = 0; i < l->n; i++) yv_yamlio_w_str(w, NULL, l->v[i]);
    yv_yamlio_w_seq_end(w);
    yv_yamlio_w_map_end(w);
    int rc = yv_yamlio_w_finish(w, out, len, err);
    yv_yamlio_w_free(w);
    return rc;
}

int yv_autostart_save(const yv_strlist *l, const char *root, yv_err *err)
{
    char *text, *path;
    size_t len;
    if (yv_autostart_to_yaml(l, &text, &len, err) < 0) return -1;
    path = yv_root_path(root, YV_AUTOSTART_FILE);
    int rc = yv_root_write_atomic(path, text, len, 0644, err);
    free(text);
    free(path);
    return rc;
}

bool yv_autostart_has(const yv_strlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], name)) return true;
    return false;
}

bool yv_autostart_add(yv_strlist *l, const char *name)
{
    if (yv_autostart_has(l, name)) return false;
    l->v = yv_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = yv_strdup(name);
    return true;
}

bool yv_autostart_remove(yv_strlist *l, const char *name)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], name) != 0) l->v[kept++] = l->v[i];
        else free(l->v[i]);
    }
    bool changed = kept != l->n;
    l->n = kept;
    return changed;
}

int yv_autostart_set(const char *root, const char *name, bool on, yv_err *err)
{
    if (yv_valid_name(name, err) < 0) return -1;
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    yv_strlist l = {0};
    int rc = -1;
    /* an unmark needs no VM: the mark of one removed by hand can still go */
    bool ok = !on || yv_vmstate_require(root, name, NULL, err) == 0;
    if (ok && yv_autostart_load(&l, root, err) == 0)
        rc = (on ? yv_autostart_add(&l, name) : yv_autostart_remove(&l, name))
                 ? yv_autostart_save(&l, root, err)
                 : 0; /* already so: nothing written */
    yv_strlist_free(&l);
    yv_root_unlock(lock);
    return rc;
}

int yv_autostart_names(const char *root, yv_strlist *out, yv_err *err)
{
    int lock = yv_root_lock(root, err); /* a reader sees a whole file: writes are atomic anyway */
    if (lock < 0) return -1;
    int rc = yv_autostart_load(out, root, err);
    yv_root_unlock(lock);
    return rc;
}

static void push(yv_strlist *l, const char *s)
{
    l->v = yv_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = yv_strdup(s);
}

/* One marked VM: started, already running, gone (a name whose VM was removed by hand), failed. */
static void run_one(const char *root, const yv_config *cfg, const char *name,
                    yv_autostart_report *r)
{
    yv_run_result res;
    yv_err e;
    if (yv_vmstate_require(root, name, NULL, &e) < 0) {
        push(&r->missing, name);
        return;
    }
    if (yv_lifecycle_run(root, cfg, name, &res, &e) == 0) {
        push(&r->started, name);
    } else if (e.code == YV_E_VM_RUNNING) {
        push(&r->already_running, name);
    } else {
        push(&r->failed, name);
        push(&r->errors, e.msg);
    }
}

int yv_autostart_run(const char *root, const yv_config *cfg, yv_autostart_report *r, yv_err *err)
{
    memset(r, 0, sizeof *r);
    yv_strlist names;
    if (yv_autostart_names(root, &names, err) < 0) return -1;
    for (size_t i = 0; i < names.n; i++) run_one(root, cfg, names.v[i], r);
    yv_strlist_free(&names);
    return 0;
}

void yv_autostart_report_done(yv_autostart_report *r)
{
    yv_strlist_free(&r->started);
    yv_strlist_free(&r->already_running);
    yv_strlist_free(&r->missing);
    yv_strlist_free(&r->failed);
    yv_strlist_free(&r->errors);
}
