/* provisional: replaced by the hosts lane's module at merge */
#include "hosts.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

char *yv_hosts_default_path(void)
{
    return NULL;
}

int yv_hosts_load(yv_hosts *h, const char *path, yv_err *err)
{
    (void)path;
    (void)err;
    memset(h, 0, sizeof *h);
    const char *cfg = getenv("YAVE_PROV_SSH_CONFIG");
    if (cfg) h->ssh_config = yv_strdup(cfg);
    return 0;
}

int yv_hosts_parse(yv_hosts *h, const char *file, const char *text, size_t len, yv_err *err)
{
    (void)file, (void)text, (void)len, (void)err;
    memset(h, 0, sizeof *h);
    return 0;
}

int yv_hosts_add_spec(yv_hosts *h, const char *spec, yv_err *err)
{
    const char *eq = strchr(spec, '=');
    if (!eq) return yv_err_set(err, YV_E_USAGE, "bad --host");
    h->hosts = yv_realloc(h->hosts, (h->n + 1) * sizeof *h->hosts);
    yv_host *x = &h->hosts[h->n++];
    memset(x, 0, sizeof *x);
    x->name = yv_strndup(spec, (size_t)(eq - spec));
    const char *root = strstr(eq + 1, ":/");
    x->ssh = root ? yv_strndup(eq + 1, (size_t)(root - eq - 1)) : yv_strdup(eq + 1);
    if (root) x->root = yv_strdup(root + 1);
    x->bin = getenv("YAVE_PROV_BIN") ? yv_strdup(getenv("YAVE_PROV_BIN")) : NULL;
    return 0;
}

const yv_host *yv_hosts_find(const yv_hosts *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->hosts[i].name, name)) return &h->hosts[i];
    return NULL;
}

void yv_hosts_done(yv_hosts *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->hosts[i].name);
        free(h->hosts[i].ssh);
        free(h->hosts[i].root);
        free(h->hosts[i].bin);
    }
    free(h->hosts);
    free(h->ssh_config);
    memset(h, 0, sizeof *h);
}
