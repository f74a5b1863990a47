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

/* Names the image has for itself: Debian's base-passwd users and its fixed groups, the system
 * users and groups of Debian and Ubuntu cloud images. A --user of a user would change a system
 * account; of a group, useradd refuses ("group exists") and cloud-init goes on without the user. */
/* clang-format would spread the rows of related names over one name per line */
/* clang-format off */
static const char *const reserved_users[] = {
    /* base-passwd users */
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
    "www-data", "backup", "list", "irc", "gnats", "_gnats", "nobody", "_apt",
    /* base-passwd groups */
    "adm", "tty", "disk", "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo",
    "audio", "dip", "operator", "src", "shadow", "utmp", "video", "sasl", "plugdev", "staff",
    "users", "nogroup",
    /* system groups of udev, systemd and the images */
    "input", "kvm", "render", "sgx", "netdev", "crontab", "_ssh", "ssh", "lxd", "admin", "wheel",
    "rdma", "_chrony", "_rpc", "_laurel",
    /* system users of the cloud images */
    "messagebus", "sshd", "polkitd", "syslog", "uuidd", "tss", "tcpdump", "dnsmasq", "ntp",
    "ntpsec", "avahi", "statd", "landscape", "pollinate", "usbmux", "fwupd-refresh", "dhcpcd",
    "halt", "shutdown",
};
/* clang-format on */

int yv_cloudinit_check_user(const char *name, yv_err *err)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= YV_CLOUDINIT_MAX_USER &&
              ((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_');
    for (size_t i = 1; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }
    if (!ok)
        return yv_err_set(err, YV_E_USAGE,
                          "invalid user name '%.64s': a lowercase letter or '_', then lowercase "
                          "letters, digits, '_' or '-', at most %d (as Debian's adduser)",
                          name, YV_CLOUDINIT_MAX_USER);
    bool taken = !strncmp(name, "systemd-", 8);
    for (size_t i = 0; !taken && i < sizeof reserved_users / sizeof reserved_users[0]; i++)
        taken = !strcmp(name, reserved_users[i]);
    if (taken)
        return yv_err_set(err, YV_E_USAGE,
                          "user name '%s' is reserved: the guest has it as a system account or "
                          "group (root gets the password and the keys anyway); pick another",
                          name);
    return 0;
}

int yv_cloudinit_check_package(const char *name, yv_err *err)
{
    size_t n = strlen(name);
    bool ok = n >= 2 && n <= YV_CLOUDINIT_MAX_PKG;
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             (i > 0 && (c == '+' || c == '-' || c == '.'));
    }
    if (!ok)
        return yv_err_set(err, YV_E_USAGE,
                          "invalid package name '%.64s': lowercase letters, digits, '+', '-' and "
                          "'.', starting with a letter or digit, 2 to %d characters (Debian "
                          "policy; a name only, no version)",
                          name, YV_CLOUDINIT_MAX_PKG);
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

static void write_keys(yv_yw *w, const yv_cloudinit_guest *g)
{
    if (!g->nkeys) return; /* each key one YAML string: data, whatever its comment holds */
    yv_yamlio_w_seq_begin(w, "ssh_authorized_keys");
    for (size_t i = 0; i < g->nkeys; i++) yv_yamlio_w_str(w, NULL, g->keys[i]);
    yv_yamlio_w_seq_end(w);
}

/* `users:` with the one user and no `default` (see the header); `packages:` as a list. */
static void write_user_packages(yv_yw *w, const yv_cloudinit_guest *g)
{
    if (g->user) {
        yv_yamlio_w_seq_begin(w, "users");
        yv_yamlio_w_map_begin(w, NULL);
        yv_yamlio_w_str(w, "name", g->user);
        yv_yamlio_w_str(w, "sudo", "ALL=(ALL) NOPASSWD:ALL");
        yv_yamlio_w_str(w, "shell", "/bin/bash");
        yv_yamlio_w_bool(w, "lock_passwd", false);
        yv_yamlio_w_str(w, "hashed_passwd", g->hash);
        write_keys(w, g);
        yv_yamlio_w_map_end(w);
        yv_yamlio_w_seq_end(w);
        /* A later instance (a clone; a VM that lost its kept seed: DataSourceNone) would create
         * the image's default user after all. This config makes every later instance create
         * none (a fixed text, nothing of the caller in it). */
        yv_yamlio_w_seq_begin(w, "write_files");
        yv_yamlio_w_map_begin(w, NULL);
        yv_yamlio_w_str(w, "path", YV_CLOUDINIT_USERS_CFG);
        yv_yamlio_w_str(w, "permissions", "0644");
        yv_yamlio_w_str(w, "content",
                        "# yave preset --user: no default user for later instances\n"
                        "users: []\n");
        yv_yamlio_w_map_end(w);
        yv_yamlio_w_seq_end(w);
    }
    if (g->npackages) {
        yv_yamlio_w_seq_begin(w, "packages");
        for (size_t i = 0; i < g->npackages; i++) yv_yamlio_w_str(w, NULL, g->packages[i]);
        yv_yamlio_w_seq_end(w);
    }
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
    write_keys(w, g);
    yv_yamlio_w_bool(w, "ssh_pwauth", true);
    write_user_packages(w, g);
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
                      volatile sig_atomic_t *cancel, char **dir, char **iso, char **instance_id,
                      yv_err *err)
{
    char *ud = NULL, *md = NULL, *iid = NULL;
    *iso = NULL;
    *instance_id = NULL;
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
    if (rc == 0) *instance_id = iid;
    else free(iid);
    if (rc < 0) {
        yv_cloudinit_remove(*dir, *iso);
        *dir = *iso = NULL;
    }
    return rc;
}

/* The user-data of a later seed: the host name, and root's login as the first boot set it (these
 * only matter to a new instance: cloud-init's ssh and set-passwords modules run once per instance).
 * A new instance (a clone) also gets a new machine-id: runcmd runs once per instance. */
static int later_user_data(const char *hostname, bool new_machine, char **out, yv_err *err)
{
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "hostname", hostname);
    yv_yamlio_w_bool(w, "disable_root", false);
    yv_yamlio_w_bool(w, "ssh_pwauth", true);
    if (new_machine) { /* a fixed argv each (data): cloud-init quotes them into its script */
        static const char *const rm[] = {"rm", "-f", "/etc/machine-id", "/var/lib/dbus/machine-id"};
        yv_yamlio_w_seq_begin(w, "runcmd");
        yv_yamlio_w_seq_begin(w, NULL);
        for (size_t i = 0; i < sizeof rm / sizeof rm[0]; i++) yv_yamlio_w_str(w, NULL, rm[i]);
        yv_yamlio_w_seq_end(w);
        yv_yamlio_w_seq_begin(w, NULL);
        yv_yamlio_w_str(w, NULL, "systemd-machine-id-setup");
        yv_yamlio_w_seq_end(w);
        yv_yamlio_w_seq_end(w);
    }
    yv_yamlio_w_map_end(w);
    return finish_doc(w, "#cloud-config\n", out, err);
}

int yv_cloudinit_clone_user_data(const char *hostname, char **out, yv_err *err)
{
    return later_user_data(hostname, true, out, err);
}

int yv_cloudinit_kept_user_data(const char *hostname, char **out, yv_err *err)
{
    return later_user_data(hostname, false, out, err);
}

int yv_cloudinit_reseed(const yv_config *cfg, const char *parent, const char *iso_name,
                        const char *vm, const char *hostname, const char *keep_id,
                        volatile sig_atomic_t *cancel, char **instance_id, yv_err *err)
{
    char *ud = NULL, *md = NULL, *dir = yv_root_join(parent, "seed");
    char *iso = yv_root_join(parent, iso_name);
    *instance_id = keep_id ? yv_strdup(keep_id) : new_instance_id(vm);
    int rc = mkdir(dir, 0700) < 0 ? yv_err_sys(err, YV_E_IO, errno, "cannot create %s", dir) : 0;
    bool made = rc == 0;
    if (rc == 0)
        rc = keep_id ? yv_cloudinit_kept_user_data(hostname, &ud, err)
                     : yv_cloudinit_clone_user_data(hostname, &ud, err);
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
