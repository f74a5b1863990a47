#include "linked.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "root.h"
#include "storage.h"
#include "util.h"
#include "vm.h"

typedef struct {
    const char *root;
    const char *name;
    char *base_dir; /* realpath of <root>/<name>.vm, with a trailing '/' */
    char **names;
    size_t n;
    char *unreadable; /* the first other VM whose config does not read, else NULL */
} dep_scan;

/* Whether drive d of vm (in vm_dir) is an overlay on a file in s->base_dir. Only a drive QEMU
 * opens as qcow2 (not a cdrom, qcow2 by yv_storage_format_of) can be one: a raw disk's first
 * bytes are the guest's, and a forged header there must not make its VM a "linked clone" of
 * another that could then no longer be started or deleted. */
static bool backs_onto(const dep_scan *s, const yv_vm *vm, const char *vm_dir, const yv_drive *d)
{
    if (d->type == YV_DRIVE_IDE && d->media == YV_MEDIA_CD) return false;
    char *path = yv_vm_drive_path(vm, vm_dir, d), *backing = NULL, *full = NULL, real[PATH_MAX];
    if (!strcmp(yv_storage_format_of(path), "qcow2")) backing = yv_storage_qcow2_backing(path);
    bool yes = false;
    if (backing) {
        /* a relative backing name is relative to the overlay's own folder */
        char *slash = strrchr(path, '/');
        if (slash) *slash = '\0';
        full = backing[0] == '/' ? yv_strdup(backing) : yv_root_join(path, backing);
        yes = realpath(full, real) && !strncmp(real, s->base_dir, strlen(s->base_dir));
    }
    free(full);
    free(backing);
    free(path);
    return yes;
}

static void scan_vm(const yv_vm *vm, dep_scan *s)
{
    char *dir = yv_root_vm_dir(s->root, vm->name);
    for (size_t i = 0; i < vm->ndrives; i++) {
        if (!backs_onto(s, vm, dir, &vm->drives[i])) continue;
        s->names = yv_realloc(s->names, (s->n + 1) * sizeof *s->names);
        s->names[s->n++] = yv_strdup(vm->name);
        break;
    }
    free(dir);
}

/* Every other VM of the root, its config read here (not yv_vm_each, which skips broken ones: a
 * linked clone whose config does not read would not be seen, and its base's disk changed under
 * it). */
static void scan_root(dep_scan *s)
{
    size_t n = 0;
    yv_err e;
    char **names = yv_root_list_suffix(s->root, ".vm", &n, &e);
    for (size_t i = 0; names && i < n; i++) {
        yv_vm vm;
        if (!strcmp(names[i], s->name)) continue;
        if (yv_vm_load(&vm, s->root, names[i], &e) < 0) {
            if (!s->unreadable) s->unreadable = yv_strdup(names[i]);
            continue;
        }
        scan_vm(&vm, s);
        yv_vm_done(&vm);
    }
    yv_root_free_names(names, n);
}

static char **dependents(const char *root, const char *name, size_t *n, char **unreadable)
{
    char *dir = yv_root_vm_dir(root, name), real[PATH_MAX];
    dep_scan s = {root, name, NULL, NULL, 0, NULL};
    if (realpath(dir, real)) {
        s.base_dir = yv_asprintf("%s/", real);
        scan_root(&s);
    }
    free(s.base_dir);
    free(dir);
    *n = s.n;
    if (unreadable) *unreadable = s.unreadable;
    else free(s.unreadable);
    return s.names;
}

char **yv_linked_dependents(const char *root, const char *name, size_t *n)
{
    return dependents(root, name, n, NULL);
}

static char *mark_path(const char *root, const char *name)
{
    char *dir = yv_root_vm_dir(root, name), *path = yv_root_join(dir, YV_LINKED_MARK);
    free(dir);
    return path;
}

int yv_linked_mark(const char *root, const char *name, bool *made, yv_err *err)
{
    static const char text[] = "# a linked clone was made of this VM (yave clone --linked)\n";
    char *path = mark_path(root, name);
    bool there = yv_root_exists(path);
    int rc = there ? 0 : yv_root_write_atomic(path, text, strlen(text), 0600, err);
    if (made) *made = rc == 0 && !there;
    free(path);
    return rc;
}

void yv_linked_unmark(const char *root, const char *name)
{
    char *path = mark_path(root, name);
    unlink(path);
    free(path);
}

int yv_linked_check_base(const char *root, const char *name, const char *what, yv_err *err)
{
    size_t n = 0;
    char *mark = mark_path(root, name);
    bool marked = yv_root_exists(mark);
    free(mark);
    if (!marked) return 0; /* never a base: one stat, not a scan of the root */
    char *bad = NULL;
    char **deps = dependents(root, name, &n, &bad);
    if (n == 0 && bad) {
        yv_err_set(err, YV_E_IN_USE,
                   "VM '%s' was the base of a linked clone and the config of VM '%s' cannot be "
                   "read (it may be one of its linked clones): %s (fix or delete '%s' first)",
                   name, bad, what, bad);
        free(bad);
        free(deps);
        return -1;
    }
    free(bad);
    if (n == 0) {
        free(deps);
        return 0;
    }
    char list[512] = "";
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s'%s'", i ? ", " : "", deps[i]);
    }
    yv_err_set(err, YV_E_IN_USE,
               "VM '%s' is the base of linked clone%s %s: %s (its disk must not change under "
               "them; delete them first)",
               name, n > 1 ? "s" : "", list, what);
    yv_root_free_names(deps, n);
    return -1;
}
