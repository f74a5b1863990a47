/* cloudinit: the NoCloud seed of a preset's first boot — user-data (#cloud-config) with the root
 * password only as a SHA-512 crypt hash, meta-data with a unique instance-id, packed into an ISO by
 * genisoimage in a private folder inside the VM's folder under construction. */
#ifndef YV_CLOUDINIT_H
#define YV_CLOUDINIT_H

#include <signal.h>

#include "config.h"
#include "err.h"

/* "$6$…" SHA-512 crypt hash with a random salt (libxcrypt); malloc'd. */
char *yv_cloudinit_hash(const char *password, yv_err *err);
/* A host name cloud-init and the guest accept: labels of [A-Za-z0-9-], no leading/trailing '-',
 * at most 63 each, 253 in all (USAGE). */
int yv_cloudinit_check_hostname(const char *h, yv_err *err);
/* A user name for `--user` (spec §13): what Debian's adduser accepts by default,
 * `[a-z_][a-z0-9_-]*`, at most 32 — and not a name the image already has for itself: root, the
 * fixed names of Debian's base-passwd (daemon, bin, sys, … nobody), the system users of Debian and
 * Ubuntu cloud images (_apt, messagebus, sshd, polkitd, …) and any `systemd-*` (USAGE). */
#define YV_CLOUDINIT_MAX_USER 32
int yv_cloudinit_check_user(const char *name, yv_err *err);
/* A package name for `--package` (Debian policy 5.6.1: `[a-z0-9][a-z0-9+.-]+`; at most
 * YV_CLOUDINIT_MAX_PKG characters here), USAGE otherwise. No version, no option: a name only. */
#define YV_CLOUDINIT_MAX_PKG      128
#define YV_CLOUDINIT_MAX_PACKAGES 64
int yv_cloudinit_check_package(const char *name, yv_err *err);

/* What user-data carries besides the host name. */
typedef struct {
    const char *hash;        /* root's password, "$6$…" */
    const char *const *keys; /* SSH public keys for root (yv_sshkey, already checked), or NULL */
    size_t nkeys;
    const char *user;            /* a sudo user (yv_cloudinit_check_user), or NULL */
    const char *const *packages; /* to install on first boot (checked), or NULL */
    size_t npackages;
} yv_cloudinit_guest;

/* The two documents (malloc'd). The keys go in as top-level `ssh_authorized_keys`: with
 * `disable_root: false`, cloud-init's cc_ssh (apply_credentials) writes them to root's
 * authorized_keys without the "Please login as" prefix (and to the image's default user).
 * A user goes in as `users: [{name, sudo: "ALL=(ALL) NOPASSWD:ALL", shell: /bin/bash,
 * lock_passwd: false, hashed_passwd: <root's hash>, ssh_authorized_keys: <the keys>}]` — without
 * `default`, so it takes the place of the image's default user (debian, ubuntu: not created);
 * root keeps its password (chpasswd) and its keys (disable_root false). Later boots keep a seed
 * of the same instance (YV_CLOUDINIT_SEED_ISO); for a later instance all the same (a clone, or a
 * VM that lost its seed: DataSourceNone, which would create the default user after all), a
 * `write_files` entry also puts `users: []` into YV_CLOUDINIT_USERS_CFG of the guest. Packages go
 * in as `packages: [...]`: cloud-init's package-update-upgrade-install (final stage) updates the
 * package lists and installs them; package_update/upgrade are not set (no upgrade). */
#define YV_CLOUDINIT_USERS_CFG "/etc/cloud/cloud.cfg.d/90-yave-users.cfg"
int yv_cloudinit_user_data(const char *hostname, const yv_cloudinit_guest *g, char **out,
                           yv_err *err);
int yv_cloudinit_meta_data(const char *instance_id, const char *hostname, char **out, yv_err *err);

/* Writes the seed into a new 0700 folder `seed` of parent (the VM's folder under construction:
 * the seed shares its lifetime, also when the create is killed) and packs it. *dir, *iso and
 * *instance_id (the new instance's, "iid-yave-<vm>-<16 hex>") are malloc'd; remove the seed with
 * yv_cloudinit_remove. On failure nothing is left. cancel: as yv_proc_run's. */
int yv_cloudinit_seed(const yv_config *cfg, const char *parent, const char *vm,
                      const char *hostname, const yv_cloudinit_guest *g,
                      volatile sig_atomic_t *cancel, char **dir, char **iso, char **instance_id,
                      yv_err *err);
void yv_cloudinit_remove(char *dir, char *iso);

/* The seed a VM made from a preset keeps after its install, and the one its clone gets: an ISO
 * of this name in the VM's folder, an IDE cdrom of this drive id in its vm.yaml. Without a seed
 * at later boots cloud-init would take DataSourceNone — a new instance (`iid-datasource-none`)
 * that runs the per-instance modules again: new SSH host keys, the image's default user. */
#define YV_CLOUDINIT_SEED_ISO "cidata.iso"
#define YV_CLOUDINIT_SEED_ID  "cidata"

/* A clone's seed (spec §13): the guest made from a preset must not come up as its source's twin.
 * user-data: the host name (and root's login kept as the first boot set it); no password, no
 * keys: the disk has them; a runcmd (per instance) that gives the guest a new /etc/machine-id
 * (`rm -f /etc/machine-id /var/lib/dbus/machine-id`, then `systemd-machine-id-setup`: the dbus
 * one would be copied back otherwise) — the disk's copy would give two clones one DHCP client id.
 * meta-data: a new instance-id and local-hostname, so cloud-init runs its per-instance modules
 * again (new SSH host keys, the host name, the runcmd). */
int yv_cloudinit_clone_user_data(const char *hostname, char **out, yv_err *err);
/* The seed a VM keeps after its install: the host name and root's login, as the clone's, without
 * the runcmd — no secret (no password hash, no key: the same instance-id runs no per-instance
 * module again, the disk has them). */
int yv_cloudinit_kept_user_data(const char *hostname, char **out, yv_err *err);
/* Writes a later seed as the ISO parent/iso_name (label cidata), through a temporary 0700 folder
 * parent/seed (as the first boot's) that is gone afterwards. keep_id NULL: a clone's (a new
 * instance-id, yv_cloudinit_clone_user_data); else the kept seed of that instance
 * (yv_cloudinit_kept_user_data). *instance_id (malloc'd) is the seed's id. On failure nothing is
 * left. */
int yv_cloudinit_reseed(const yv_config *cfg, const char *parent, const char *iso_name,
                        const char *vm, const char *hostname, const char *keep_id,
                        volatile sig_atomic_t *cancel, char **instance_id, yv_err *err);

#endif
