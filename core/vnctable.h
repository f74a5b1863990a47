/* vnctable: vnc_table.yaml (spec §5) — which VNC display belongs to which VM, and picking a free
 * one. Callers hold the root lock across load → change → save. */
#ifndef YV_VNCTABLE_H
#define YV_VNCTABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

typedef struct {
    int display;
    char *name;
} yv_vnc_entry;

typedef struct {
    yv_vnc_entry *v;
    size_t n;
} yv_vnctable;

/* A missing file is an empty table. */
int yv_vnctable_load(yv_vnctable *t, const char *root, yv_err *err);
int yv_vnctable_load_string(yv_vnctable *t, const char *file, const char *text, yv_err *err);
/* Atomic write, entries sorted by display. */
int yv_vnctable_save(const yv_vnctable *t, const char *root, yv_err *err);
int yv_vnctable_to_yaml(const yv_vnctable *t, char **out, size_t *len, yv_err *err);
void yv_vnctable_done(yv_vnctable *t);

/* Display of `name`, or -1. */
int yv_vnctable_find(const yv_vnctable *t, const char *name);
/* Owner of `display`, or NULL. */
const char *yv_vnctable_owner(const yv_vnctable *t, int display);
void yv_vnctable_set(yv_vnctable *t, int display, const char *name);
/* Removes every entry of `name`; returns how many. */
size_t yv_vnctable_remove(yv_vnctable *t, const char *name);

/* Lowest display from :1 that is not in the table, not in `taken` and for which usable(display,
 * ctx) says true; -1 when none is left. */
int yv_vnctable_pick(const yv_vnctable *t, const int *taken, size_t ntaken,
                     bool (*usable)(int display, void *ctx), void *ctx);

/* True when TCP port 5900+display can be bound on `listen` (nobody listens there). */
bool yv_vnctable_port_free(const char *listen, int display);

#endif
