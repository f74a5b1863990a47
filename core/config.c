#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "root.h"
#include "util.h"

/* clang-format would spread this one-line initializer over four lines */
/* clang-format off */
#define F(k, t, m) {.key = (k), .type = (t), .off = offsetof(yv_config, m)}
/* clang-format on */

static const yv_yfield cli_fields[] = {
    F("bin", YV_YF_STR, cli_bin),
    F("img", YV_YF_STR, cli_img),
    F("genisoimage", YV_YF_STR, cli_genisoimage),
    {0},
};
static const yv_yfield ovmf_fields[] = {
    F("code", YV_YF_STR, ovmf_code),
    F("vars", YV_YF_STR, ovmf_vars),
    {0},
};
static const yv_yfield tls_fields[] = {
    F("cert", YV_YF_STR, api_tls_cert),
    F("key", YV_YF_STR, api_tls_key),
    {0},
};
static const yv_yfield api_fields[] = {
    F("groups", YV_YF_STRLIST, api_groups),
    F("listen", YV_YF_STR, api_listen),
    F("pam_service", YV_YF_STR, api_pam_service),
    {.key = "tls", .type = YV_YF_MAP, .sub = tls_fields},
    {0},
};
static const yv_yfield network_fields[] = {
    F("master", YV_YF_STR, network_master),
    /* the SSH forward of a new user-network VM takes the lowest free host port from here */
    {.key = "ssh_port_base",
     .type = YV_YF_INT,
     .off = offsetof(yv_config, network_ssh_port_base),
     .min = 1,
     .max = 65535},
    {0},
};
static const yv_yfield vnc_fields[] = {
    F("listen", YV_YF_STR, vnc_listen),
    {0},
};
static const char *const accel_names[] = {"auto", "kvm", "tcg", NULL};

static const yv_yfield qemu_fields[] = {
    {.key = "accel",
     .type = YV_YF_ENUM,
     .off = offsetof(yv_config, qemu_accel),
     .names = accel_names},
    {0},
};
static const yv_yfield shutdown_fields[] = {
    {.key = "timeout",
     .type = YV_YF_INT,
     .off = offsetof(yv_config, shutdown_timeout),
     .min = 1,
     .max = 86400},
    {0},
};
static const yv_yfield top_fields[] = {
    {.key = "cli", .type = YV_YF_MAP, .sub = cli_fields},
    {.key = "ovmf", .type = YV_YF_MAP, .sub = ovmf_fields},
    {.key = "api", .type = YV_YF_MAP, .sub = api_fields},
    {.key = "network", .type = YV_YF_MAP, .sub = network_fields},
    {.key = "vnc", .type = YV_YF_MAP, .sub = vnc_fields},
    {.key = "qemu", .type = YV_YF_MAP, .sub = qemu_fields},
    {.key = "shutdown", .type = YV_YF_MAP, .sub = shutdown_fields},
    {0},
};

static void defaults(yv_config *c)
{
    memset(c, 0, sizeof *c);
    c->shutdown_timeout = 60;
    c->network_ssh_port_base = YV_SSH_PORT_BASE;
}

/* A path option that names a program may be a bare name (looked up on PATH); anything with a slash
 * is a path relative to the config's folder. */
static void resolve(char **p, const char *base_dir, bool bare_ok)
{
    if (!*p || (*p)[0] == '/' || (bare_ok && !strchr(*p, '/'))) return;
    char *abs = yv_root_join(base_dir, *p);
    free(*p);
    *p = abs;
}

/* The defaults a file leaves to us once it was read (none read: all of them). */
static void fill_defaults(yv_config *c)
{
    if (!c->vnc_listen) c->vnc_listen = yv_strdup("127.0.0.1");
}

static int finish(yv_config *c, yv_ydoc *d, yaml_node_t *top, const char *base_dir, yv_err *err)
{
    if (yv_yamlio_read_map(d, top, top_fields, c, "", err) < 0) return -1;
    fill_defaults(c);
    resolve(&c->cli_bin, base_dir, true);
    resolve(&c->cli_img, base_dir, true);
    resolve(&c->cli_genisoimage, base_dir, true);
    resolve(&c->ovmf_code, base_dir, false);
    resolve(&c->ovmf_vars, base_dir, false);
    resolve(&c->api_tls_cert, base_dir, false);
    resolve(&c->api_tls_key, base_dir, false);
    return 0;
}

int yv_config_load_string(yv_config *c, const char *name, const char *text, const char *base_dir,
                          yv_err *err)
{
    defaults(c);
    yv_ydoc *d = yv_yamlio_load_string(name, text, strlen(text), err);
    if (!d) return -1;
    int rc = finish(c, d, yv_yamlio_root(d), base_dir, err);
    yv_yamlio_free(d);
    if (rc < 0) yv_config_done(c);
    return rc;
}

int yv_config_load(yv_config *c, const char *root, yv_err *err)
{
    char *path = yv_root_path(root, "config.yaml");
    bool missing;
    char *text = yv_yamlio_read_optional(path, &missing, err);
    int rc = -1;
    /* missing: the built-in defaults, as an empty file gives them, without starting a YAML parser
     * (every batch command reads this file, and libyaml's buffers are 64 KiB: issue 16) */
    if (text) {
        rc = yv_config_load_string(c, path, text, root, err);
    } else {
        defaults(c);
        if (missing) fill_defaults(c);
        rc = missing ? 0 : -1;
    }
    free(text);
    free(path);
    return rc;
}

void yv_config_done(yv_config *c)
{
    free(c->cli_bin);
    free(c->cli_img);
    free(c->cli_genisoimage);
    free(c->ovmf_code);
    free(c->ovmf_vars);
    yv_strlist_free(&c->api_groups);
    free(c->api_listen);
    free(c->api_pam_service);
    free(c->api_tls_cert);
    free(c->api_tls_key);
    free(c->network_master);
    free(c->vnc_listen);
    memset(c, 0, sizeof *c);
}

const char *yv_config_img(const yv_config *c)
{
    return c->cli_img ? c->cli_img : "qemu-img";
}
