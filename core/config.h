/* config: the global config.yaml of a root (spec §2). */
#ifndef YV_CONFIG_H
#define YV_CONFIG_H

#include "err.h"
#include "yamlio.h"

#define YV_SSH_PORT_BASE 2200

typedef enum { YV_ACCEL_AUTO, YV_ACCEL_KVM, YV_ACCEL_TCG } yv_accel;

/* Paths are absolute or relative to the root's folder, already resolved by yv_config_load. NULL =
 * the built-in default (found on PATH, or none). */
typedef struct {
    char *cli_bin, *cli_img, *cli_genisoimage;
    char *ovmf_code, *ovmf_vars;
    yv_strlist api_groups;
    char *api_listen, *api_pam_service, *api_tls_cert, *api_tls_key;
    char *network_master;
    long network_ssh_port_base; /* default YV_SSH_PORT_BASE (spec §10) */
    char *vnc_listen;           /* default 127.0.0.1 */
    yv_accel qemu_accel;
    long shutdown_timeout; /* seconds, default 60 */
} yv_config;

/* Loads <root>/config.yaml; a missing file means defaults. */
int yv_config_load(yv_config *c, const char *root, yv_err *err);
/* Loads from a string (file name `name`, relative paths against `base_dir`). */
int yv_config_load_string(yv_config *c, const char *name, const char *text, const char *base_dir,
                          yv_err *err);
void yv_config_done(yv_config *c);

/* The program to run for cli.img / cli.bin / cli.genisoimage: the configured path, else `fallback`
 * (a name looked up on PATH by the spawner). */
const char *yv_config_img(const yv_config *c);

#endif
