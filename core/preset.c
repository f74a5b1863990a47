#include "preset.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "root.h"
#include "util.h"
#include "valid.h"
#include "yamlio.h"

static const yv_yfield fields[] = {
    {.key = "cloudimg", .type = YV_YF_STR, .off = offsetof(yv_preset, cloudimg), .required = true},
    {0},
};

int yv_preset_load_string(yv_preset *p, const char *file, const char *text, const char *dir,
                          yv_err *err)
{
    memset(p, 0, sizeof *p);
    yv_ydoc *d = yv_yamlio_load_string(file, text, strlen(text), err);
    if (!d) return -1;
    int rc = yv_yamlio_read_map(d, yv_yamlio_root(d), fields, p, "", err);
    if (rc == 0 && !*p->cloudimg)
        rc = yv_yamlio_fail(d, yv_yamlio_root(d), err, "cloudimg is empty");
    yv_yamlio_free(d);
    if (rc < 0) {
        yv_preset_done(p);
        return -1;
    }
    char *abs = yv_root_join(dir, p->cloudimg); /* relative = relative to the preset folder */
    free(p->cloudimg);
    p->cloudimg = abs;
    return 0;
}

int yv_preset_load(yv_preset *p, const char *root, const char *name, yv_err *err)
{
    size_t l = strlen(name);
    char *base =
        (l > 7 && !strcmp(name + l - 7, ".preset")) ? yv_strndup(name, l - 7) : yv_strdup(name);
    int rc = -1;
    char *dir = NULL, *path = NULL, *text = NULL;
    size_t len = 0;
    memset(p, 0, sizeof *p);
    yv_err e;
    if (yv_valid_name(base, &e) < 0) {
        yv_err_set(err, YV_E_PRESET_NOT_FOUND, "invalid preset name '%s'", name);
        goto out;
    }
    dir = yv_asprintf("%s/%s.preset", root, base);
    path = yv_root_join(dir, "config.yaml");
    text = yv_root_read_file(path, &len, YV_E_PRESET_NOT_FOUND, err);
    if (!text) {
        if (err->code == YV_E_PRESET_NOT_FOUND)
            yv_err_set(err, YV_E_PRESET_NOT_FOUND, "preset '%s' not found (looked for %s)", name,
                       path);
        goto out;
    }
    if (yv_yamlio_check_text(path, text, len, err) < 0) goto out;
    rc = yv_preset_load_string(p, path, text, dir, err);
    if (rc == 0) p->name = yv_strdup(base);
out:
    free(text);
    free(path);
    free(dir);
    free(base);
    return rc;
}

void yv_preset_done(yv_preset *p)
{
    free(p->name);
    free(p->cloudimg);
    memset(p, 0, sizeof *p);
}
