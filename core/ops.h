/* ops: the verbs both front ends call (create, delete; run/shutdown/netdev come later). Every verb
 * that writes is all-or-nothing: on failure the root is as it was. */
#ifndef YV_OPS_H
#define YV_OPS_H

#include <stdbool.h>

#include <signal.h>

#include "config.h"
#include "err.h"
#include "install.h"
#include "vm.h"
#include "vmstate.h"
#include "vnctable.h"

typedef struct {
    const char *name;
    const char *image; /* base image: NAME, NAME.qcow2 (in the root) or a path; NULL = empty disk */
    const char *preset; /* NULL = none */
    long capacity;      /* MiB; 0 = default (15360 for an empty disk, the base's size for a copy) */
    long memory;        /* MiB */
    long vcpu;
    const char *hostname;
    const char *root_password;
    const char *vnc_password; /* NULL = generate one */
    const char *master;       /* bridge of net0 (tap); NULL = global network.master at run time */
    bool linked;
    bool ovmf;
    /* net0 (spec §10): "user" | "tap" | "none"; NULL = the default: tap when --master or
     * network.master names a bridge, else user (also when forwards are given) */
    const char *net_kind;
    /* a user network's forwards, "[PROTO:][ADDR:]HOST:GUEST" each; none given = one SSH forward
     * (guest 22) on the lowest free host port from network.ssh_port_base */
    const char *const *forwards;
    size_t nforwards;
    /* presets: files with SSH public keys for root's authorized_keys (spec §13) */
    const char *const *ssh_keys;
    size_t nssh_keys;
    /* the same as text (the web API: a client sends key text, never a host path); each item may
       hold several lines. The items are named "ssh key N" in errors. */
    const char *const *ssh_key_texts;
    size_t nssh_key_texts;
    /* presets (spec §13): a sudo user with the keys and root's password, or NULL; packages to
       install on first boot (names only; each checked before anything is written) */
    const char *user;
    const char *const *packages;
    size_t npackages;
    bool names_only; /* image and preset must name a base image / preset of the root, never a
                        host path (the web API: a client must not reach the host's files) */
    /* presets */
    long install_timeout;   /* seconds (default 900) */
    yv_install_cb progress; /* may be NULL */
    void *progress_ctx;
    volatile sig_atomic_t *cancel; /* set by a signal handler: abort, leaving nothing */
} yv_create_opts;

#define YV_DEFAULT_CAPACITY        15360
#define YV_DEFAULT_MEMORY          1024
#define YV_DEFAULT_INSTALL_TIMEOUT 900

void yv_ops_create_defaults(yv_create_opts *o);

/* Creates the VM. When the VNC password was generated, *generated_pw (malloc'd, caller frees with
 * yv_free_secret) holds it so the front end can show it once; otherwise it is set to NULL. */
int yv_ops_create(const char *root, const yv_config *cfg, const yv_create_opts *o,
                  char **generated_pw, yv_err *err);

/* Deletes the VM folder and frees its VNC display. A running VM is refused (VM_RUNNING) unless
 * force, which stops its QEMU first (quit, then signals). */
int yv_ops_delete(const char *root, const yv_config *cfg, const char *name, bool force,
                  yv_err *err);
/* The same with the caller's proof of the VM (yv_vmstate_tidy): a running VM is stopped through it
 * (proven again under the root lock before its folder goes). */
int yv_ops_delete_proven(const char *root, const yv_config *cfg, const char *name,
                         const yv_vmstate_proof *p, bool force, yv_err *err);

/* Names of the VMs another `create` is building right now (their .part folder is locked). Free
 * with yv_root_free_names. With cfg, what a killed create left (a .part whose lock is free) is
 * reaped on the way: its first boot's QEMU ended, the folder (and the seed in it) removed, its VNC
 * display freed. Costs one readdir of the root when there is nothing to reap. */
/* wait false (a poll loop: the TUI's rescan): the locks are only tried, and a first boot's QEMU
 * gets SIGKILL without being waited for; a later call finishes the reaping. *left (NULL: not
 * wanted) counts what a killed create left that this call could not reap yet. */
char **yv_ops_in_creation(const char *root, const yv_config *cfg, bool wait, size_t *n,
                          size_t *left);

/* Reaps what killed creates left (see yv_ops_in_creation): create, list, status, the TUI and
 * yave-web call it. */
void yv_ops_reap(const char *root, const yv_config *cfg);
/* The same for one name: what a killed create of that name left (a verb naming one VM looks at
 * that VM only; create, list and status reap the whole root). */
void yv_ops_reap_one(const char *root, const yv_config *cfg, const char *name);

/* ---- the .part machinery: create and clone build a new VM the same way ----
 * Phase 1 (reserve, under the root lock): the name is free (no VM, .part or QEMU has it), a VNC
 * display is chosen, the caller's fill builds the config (MACs with yv_ops_used_pick_mac,
 * forwards), the hidden folder `.<name>.vm.part` is made and flock'ed by us, the config written
 * into it and the display recorded in vnc_table.yaml. Phase 2 (the caller, no root lock): the
 * disks. Phase 3 (publish, under the lock): the folder renamed to `<name>.vm`. On failure unreserve
 * removes the folder and frees the display. A maker killed at any point leaves a .part whose lock
 * is free: the next command reaps it (yv_ops_reap), whoever made it. */
typedef struct {
    int *displays;
    size_t ndisplays;
    char **macs;
    size_t nmacs;
} yv_ops_used; /* displays and MACs of every readable VM config of the root */

typedef struct {
    char *part;  /* the .part folder (malloc'd: free it) */
    int part_fd; /* holds its flock; close it once published */
    int display;
    bool table_was_new; /* vnc_table.yaml did not exist before the reservation wrote it */
} yv_ops_part;

/* Builds the new VM's config into vm (zeroed; display is the one chosen) under the root lock;
 * nothing may be written. */
typedef int (*yv_ops_fill_fn)(void *ctx, yv_ops_used *used, int display, yv_vm *vm, yv_err *err);

/* vm: the config written (the caller frees it with yv_vm_done, also on failure). */
int yv_ops_part_reserve(const char *root, const yv_config *cfg, const char *name,
                        yv_ops_fill_fn fill, void *ctx, yv_ops_part *r, yv_vm *vm, yv_err *err);
int yv_ops_part_publish(const char *root, const char *name, const yv_ops_part *r, yv_err *err);
/* A display that cannot be freed is added to err (the failed verb's error). */
void yv_ops_part_unreserve(const char *root, const char *name, yv_ops_part *r, yv_err *err);
/* A MAC for a new network of VM name that no VM of the root uses (52:54 + MD5(name), bumped while
 * taken); recorded in used, so the next call gives another. */
void yv_ops_used_pick_mac(yv_ops_used *used, const char *name, char mac[18]);
/* The rules create and set share. The network options: a bridge name, the kind user|tap|none
 * (NULL: not given), --master only with tap, --forward only with user (USAGE). */
int yv_ops_check_net(const char *master, const char *kind, size_t nforwards, yv_err *err);
/* A VNC password given (NULL: not given) is not empty (USAGE). */
int yv_ops_check_vnc_password(const char *pw, yv_err *err);
/* Forward specs parsed, none twice on one proto + host port, into *out with one slot more (an SSH
 * forward); free with yv_ops_forwards_free. */
int yv_ops_parse_forwards(const char *const *specs, size_t nspecs, yv_forward **out, size_t *n,
                          yv_err *err);
void yv_ops_forwards_free(yv_forward *fw, size_t n);
/* Under the root lock: fw[0..*n) used by no VM of the root but self (NULL: a new VM); none given:
 * the SSH forward on the lowest free port from network.ssh_port_base is added (the free slot). */
int yv_ops_reserve_forwards(const char *root, const yv_config *cfg, const char *self,
                            yv_forward *fw, size_t *n, yv_err *err);
/* Under the root lock: VNC display N is free for VM self (NULL: a new VM) as create's pick sees a
 * free one — no other VM of vnc_table.yaml t nor of a config holds it, and (check_port: not the
 * port self's running QEMU listens on) nothing listens on its port on vnc.listen; else VM_EXISTS
 * naming the holder. */
int yv_ops_check_display(const char *root, const yv_config *cfg, const yv_vnctable *t,
                         const char *self, int display, bool check_port, yv_err *err);
/* Under the root lock: a MAC for VM name that no readable VM config of the root uses. */
void yv_ops_pick_mac(const char *root, const char *name, char mac[18]);

/* A random password of n characters from [A-Za-z0-9] (malloc'd). */
char *yv_ops_random_password(size_t n);

#endif
