#include "cloudinit.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "root.h"
#include "util.h"
#include "yamlio.h"

char *yv_cloudinit_hash(const char *password, yv_err *err)
{
    struct crypt_data *cd = yv_calloc(1, sizeof *cd);
    char *salt = crypt_gensalt_ra("$6$", 0, NULL, 0), *out = NULL;
    const char *h = salt ? crypt_r(password, salt, cd) : NULL;
    if (!h || h[0] == '*') yv_err_set(err, YV_E_FAIL, "cannot hash the root password (libxcrypt)");
    else out = yv_strdup(h);
    explicit_bzero(cd, sizeof *cd); /* crypt_data holds the phrase */
    free(cd);
    free(salt);
    return out;
}

int yv_cloudinit_check_hostname(const char *h, yv_err *err)
{
    size_t n = strlen(h), label = 0;
    bool ok = n > 0 && n <= 253 && h[0] != '-' && h[0] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char c = h[i], prev = i ? h[i - 1] : '.';
        if (c == '.') {
            ok = label > 0 && prev != '-';
            label = 0;
        } else {
            ok = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c == '-' && prev != '.')) &&
                 ++label <= 63;
        }
    }
    if (ok && (h[n - 1] == '-' || h[n - 1] == '.')) ok = false;
    if (!ok)
        return yv_err_set(err, YV_E_USAGE,
                          "invalid host name '%s': use labels of letters, digits "
                          "and '-' separated by '.' (give one with --hostname)",
                          h);
    return 0;
}

static int finish_doc(yv_yw *w, const char *header, char **out, yv_err *err)
{
    char *body;
    size_t len;
    int rc = yv_yamlio_w_finish(w, &body, &len, err);
    yv_yamlio_w_free(w);
    if (rc < 0) return -1;
    *out = yv_asprintf("%s%s", header, body);
    free(body);
    return 0;
}

int yv_cloudinit_user_data(const char *hostname, const yv_cloudinit_guest *g, char **out,
                           yv_err *err)
{
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "hostname", hostname);
    yv_yamlio_w_map_begin(w, "chpasswd");
    yv_yamlio_w_bool(w, "expire", false);
    yv_yamlio_w_seq_begin(w, "users");
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "name", "root");
    yv_yamlio_w_str(w, "password", g->hash);
    yv_yamlio_w_str(w, "type", "hash");
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_seq_end(w);
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_bool(w, "disable_root", false);
    if (g->nkeys) { /* each key one YAML string: data, whatever its comment holds */
        yv_yamlio_w_seq_begin(w, "ssh_authorized_keys");
        for (size_t i = 0; i < g->nkeys; i++) yv_yamlio_w_str(w, NULL, g->keys[i]);
        yv_yamlio_w_seq_end(w);
    }
    yv_yamlio_w_bool(w, "ssh_pwauth", true);
    yv_yamlio_w_map_begin(w, "power_state");
    yv_yamlio_w_str(w, "mode", "poweroff");
    yv_yamlio_w_str(w, "delay", "now");
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_map_end(w);
    return finish_doc(w, "#cloud-config\n", out, err);
}

int yv_cloudinit_meta_data(const char *instance_id, const char *hostname, char **out, yv_err *err)
{
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "instance-id", instance_id);
    yv_yamlio_w_str(w, "local-hostname", hostname);
    yv_yamlio_w_map_end(w);
    return finish_doc(w, "", out, err);
}

static int write_file(const char *dir, const char *name, const char *text, yv_err *err)
{
    char *p = yv_root_join(dir, name);
    int rc = yv_root_write_atomic(p, text, strlen(text), 0600, err);
    free(p);
    return rc;
}

void yv_cloudinit_remove(char *dir, char *iso)
{
    yv_err e;
    if (dir) yv_root_rmtree(dir, &e);
    free(dir);
    free(iso);
}

/* "iid-yave-<vm>-<16 hex digits>": a new instance to cloud-init each time (malloc'd). */
static char *new_instance_id(const char *vm)
{
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) memset(rnd, 0, sizeof rnd);
    return yv_asprintf("iid-yave-%s-%02x%02x%02x%02x%02x%02x%02x%02x", vm, rnd[0], rnd[1], rnd[2],
                       rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
}

/* dir/user-data and dir/meta-data packed into the ISO iso, volume label `cidata` (NoCloud). */
static int pack_seed(const yv_config *cfg, const char *dir, const char *iso,
                     volatile sig_atomic_t *cancel, yv_err *err)
{
    char *u = yv_root_join(dir, "user-data"), *m = yv_root_join(dir, "meta-data");
    char *argv[] = {cfg->cli_genisoimage ? cfg->cli_genisoimage : "genisoimage",
                    "-quiet",
                    "-output",
                    (char *)iso,
                    "-volid",
                    "cidata",
                    "-joliet",
                    "-rock",
                    u,
                    m,
                    NULL};
    int rc = yv_proc_run(argv, NULL, cancel, err);
    free(u);
    free(m);
    return rc;
}

int yv_cloudinit_seed(const yv_config *cfg, const char *parent, const char *vm,
                      const char *hostname, const yv_cloudinit_guest *g,
                      volatile sig_atomic_t *cancel, char **dir, char **iso, yv_err *err)
{
    char *ud = NULL, *md = NULL, *iid = NULL;
    *iso = NULL;
    *dir = yv_root_join(parent, "seed");
    if (mkdir(*dir, 0700) < 0) { /* 0700: the hash is not for other users */
        yv_err_sys(err, YV_E_IO, errno, "cannot create the seed folder %s", *dir);
        free(*dir);
        *dir = NULL;
        return -1;
    }
    iid = new_instance_id(vm);
    int rc = yv_cloudinit_user_data(hostname, g, &ud, err);
    if (rc == 0) rc = yv_cloudinit_meta_data(iid, hostname, &md, err);
    if (rc == 0) rc = write_file(*dir, "user-data", ud, err);
    if (rc == 0) rc = write_file(*dir, "meta-data", md, err);
    if (rc == 0) {
        *iso = yv_root_join(*dir, "seed.iso");
        rc = pack_seed(cfg, *dir, *iso, cancel, err);
    }
    if (ud) yv_free_secret(ud); /* it holds the hash */
    free(md);
    free(iid);
    if (rc < 0) {
        yv_cloudinit_remove(*dir, *iso);
        *dir = *iso = NULL;
    }
    return rc;
}

int yv_cloudinit_clone_user_data(const char *hostname, char **out, yv_err *err)
{
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "hostname", hostname);
    /* as the source's first boot had them: root keeps its keys and password login */
    yv_yamlio_w_bool(w, "disable_root", false);
    yv_yamlio_w_bool(w, "ssh_pwauth", true);
    yv_yamlio_w_map_end(w);
    return finish_doc(w, "#cloud-config\n", out, err);
}

int yv_cloudinit_reseed(const yv_config *cfg, const char *parent, const char *iso_name,
                        const char *vm, const char *hostname, volatile sig_atomic_t *cancel,
                        char **instance_id, yv_err *err)
{
    char *ud = NULL, *md = NULL, *dir = yv_root_join(parent, "seed");
    char *iso = yv_root_join(parent, iso_name);
    *instance_id = new_instance_id(vm);
    int rc = mkdir(dir, 0700) < 0 ? yv_err_sys(err, YV_E_IO, errno, "cannot create %s", dir) : 0;
    bool made = rc == 0;
    if (rc == 0) rc = yv_cloudinit_clone_user_data(hostname, &ud, err);
    if (rc == 0) rc = yv_cloudinit_meta_data(*instance_id, hostname, &md, err);
    if (rc == 0) rc = write_file(dir, "user-data", ud, err);
    if (rc == 0) rc = write_file(dir, "meta-data", md, err);
    if (rc == 0) rc = pack_seed(cfg, dir, iso, cancel, err);
    yv_err e;
    if (made) yv_root_rmtree(dir, &e); /* the ISO holds it all */
    if (rc < 0) {
        unlink(iso);
        free(*instance_id);
        *instance_id = NULL;
    }
    free(ud);
    free(md);
    free(dir);
    free(iso);
    return rc;
}
