#include "vnctable.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "root.h"
#include "util.h"
#include "valid.h"
#include "yamlio.h"

static int read_table(yv_ydoc *d, yaml_node_t *node, void *base, const char *path, yv_err *err)
{
    yv_vnctable *t = base;
    if (yv_yamlio_check_map(d, node, path, err) < 0) return -1;
    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yv_yamlio_node(d, pr->key), *v = yv_yamlio_node(d, pr->value);
        int disp = yv_valid_display_number(yv_yamlio_scalar(k));
        if (disp < 0)
            return yv_yamlio_fail(d, k, err, "table: '%s' is not a VNC display like ':1'",
                                  yv_yamlio_scalar(k));
        const char *name = yv_yamlio_scalar(v);
        yv_err e2;
        if (!name || yv_valid_name(name, &e2) < 0)
            return yv_yamlio_fail(d, v, err, "table.':%d' must name a VM", disp);
        yv_vnctable_set(t, disp, name);
    }
    return 0;
}

static const yv_yfield top_fields[] = {
    {.key = "table", .type = YV_YF_FN, .fn = read_table},
    {0},
};

int yv_vnctable_load_string(yv_vnctable *t, const char *file, const char *text, yv_err *err)
{
    memset(t, 0, sizeof *t);
    yv_ydoc *d = yv_yamlio_load_string(file, text, strlen(text), err);
    if (!d) return -1;
    int rc = yv_yamlio_read_map(d, yv_yamlio_root(d), top_fields, t, "", err);
    yv_yamlio_free(d);
    if (rc < 0) yv_vnctable_done(t);
    return rc;
}

int yv_vnctable_load(yv_vnctable *t, const char *root, yv_err *err)
{
    char *path = yv_root_path(root, "vnc_table.yaml");
    bool missing;
    char *text = yv_yamlio_read_optional(path, &missing, err);
    int rc = missing ? 0 : -1; /* missing: an empty table */
    memset(t, 0, sizeof *t);
    if (text) rc = yv_vnctable_load_string(t, path, text, err);
    free(text);
    free(path);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return ((const yv_vnc_entry *)a)->display - ((const yv_vnc_entry *)b)->display;
}

int yv_vnctable_to_yaml(const yv_vnctable *t, char **out, size_t *len, yv_err *err)
{
    yv_vnc_entry *sorted = yv_malloc((t->n ? t->n : 1) * sizeof *sorted);
    if (t->n) memcpy(sorted, t->v, t->n * sizeof *sorted);
    qsort(sorted, t->n, sizeof *sorted, cmp_entry);
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_map_begin(w, "table");
    for (size_t i = 0; i < t->n; i++) {
        char key[16];
        snprintf(key, sizeof key, ":%d", sorted[i].display);
        yv_yamlio_w_str(w, NULL, key);
        yv_yamlio_w_str(w, NULL, sorted[i].name);
    }
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_map_end(w);
    free(sorted);
    int rc = yv_yamlio_w_finish(w, out, len, err);
    yv_yamlio_w_free(w);
    return rc;
}

int yv_vnctable_save(const yv_vnctable *t, const char *root, yv_err *err)
{
    char *text, *path;
    size_t len;
    if (yv_vnctable_to_yaml(t, &text, &len, err) < 0) return -1;
    path = yv_root_path(root, "vnc_table.yaml");
    int rc = yv_root_write_atomic(path, text, len, 0644, err);
    free(text);
    free(path);
    return rc;
}

void yv_vnctable_done(yv_vnctable *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->v[i].name);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

int yv_vnctable_find(const yv_vnctable *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].name, name)) return t->v[i].display;
    return -1;
}

const char *yv_vnctable_owner(const yv_vnctable *t, int display)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].display == display) return t->v[i].name;
    return NULL;
}

void yv_vnctable_set(yv_vnctable *t, int display, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].display == display) {
            free(t->v[i].name);
            t->v[i].name = yv_strdup(name);
            return;
        }
    t->v = yv_realloc(t->v, (t->n + 1) * sizeof *t->v);
    t->v[t->n++] = (yv_vnc_entry){display, yv_strdup(name)};
}

size_t yv_vnctable_remove(yv_vnctable *t, const char *name)
{
    size_t kept = 0, removed = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].name, name) != 0) {
            t->v[kept++] = t->v[i];
            continue;
        }
        free(t->v[i].name);
        removed++;
    }
    t->n = kept;
    return removed;
}

int yv_vnctable_pick(const yv_vnctable *t, const int *taken, size_t ntaken,
                     bool (*usable)(int display, void *ctx), void *ctx)
{
    for (int disp = 1; disp <= YV_DISPLAY_MAX; disp++) {
        bool busy = yv_vnctable_owner(t, disp) != NULL;
        for (size_t i = 0; !busy && i < ntaken; i++) busy = taken[i] == disp;
        if (!busy && (!usable || usable(disp, ctx))) return disp;
    }
    return -1;
}

bool yv_vnctable_port_free(const char *listen, int display)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    int port = 5900 + display;
    if (inet_pton(AF_INET, listen, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, listen, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        return true; /* a host name: QEMU resolves it; we cannot probe it cheaply */
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return true;
    int one = 1;
    /* SO_REUSEADDR: connections in TIME_WAIT do not make a port busy, a listener does */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = bind(fd, (struct sockaddr *)&ss, sl) == 0;
    close(fd);
    return ok;
}
