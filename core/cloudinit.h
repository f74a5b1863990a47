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
/* What user-data carries besides the host name. */
typedef struct {
    const char *hash;        /* root's password, "$6$…" */
    const char *const *keys; /* SSH public keys for root (yv_sshkey, already checked), or NULL */
    size_t nkeys;
} yv_cloudinit_guest;

/* The two documents (malloc'd). The keys go in as top-level `ssh_authorized_keys`: with
 * `disable_root: false`, cloud-init's cc_ssh (apply_credentials) writes them to root's
 * authorized_keys without the "Please login as" prefix (and to the image's default user). */
int yv_cloudinit_user_data(const char *hostname, const yv_cloudinit_guest *g, char **out,
                           yv_err *err);
int yv_cloudinit_meta_data(const char *instance_id, const char *hostname, char **out, yv_err *err);

/* Writes the seed into a new 0700 folder `seed` of parent (the VM's folder under construction:
 * the seed shares its lifetime, also when the create is killed) and packs it. *dir and *iso are
 * malloc'd; remove with yv_cloudinit_remove. On failure nothing is left. cancel: as yv_proc_run's.
 */
int yv_cloudinit_seed(const yv_config *cfg, const char *parent, const char *vm,
                      const char *hostname, const yv_cloudinit_guest *g,
                      volatile sig_atomic_t *cancel, char **dir, char **iso, yv_err *err);
void yv_cloudinit_remove(char *dir, char *iso);

/* A clone's seed (spec §13): the guest made from a preset must not come up as its source's twin.
 * user-data: the host name (and root's login kept as the first boot set it); no password, no
 * keys: the disk has them. meta-data: a new instance-id and local-hostname, so cloud-init runs its
 * per-instance modules again (new SSH host keys, the host name). */
int yv_cloudinit_clone_user_data(const char *hostname, char **out, yv_err *err);
/* Writes that seed as the ISO parent/iso_name (label cidata), through a temporary 0700 folder
 * parent/seed (as the first boot's) that is gone afterwards; *instance_id (malloc'd) is the new id.
 * On failure nothing is left. */
int yv_cloudinit_reseed(const yv_config *cfg, const char *parent, const char *iso_name,
                        const char *vm, const char *hostname, volatile sig_atomic_t *cancel,
                        char **instance_id, yv_err *err);

#endif
