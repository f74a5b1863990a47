/* ssh: how to reach a VM's guest over SSH (spec §11 `ssh`), as an argv for the system's `ssh`:
 * never a shell, never a command line string. Pure: the caller proves the VM runs and executes. */
#ifndef YV_SSH_H
#define YV_SSH_H

#include "config.h"
#include "err.h"
#include "vm.h"

#define YV_SSH_DEFAULT_USER "root"

typedef struct {
    char *user;  /* login name (default root) */
    char *host;  /* the forward's listening address (127.0.0.1 unless set), or the guest's */
    int port;    /* 22 when the guest is reached directly */
    char *alias; /* HostKeyAlias: known_hosts remembers the VM, not 127.0.0.1:PORT */
} yv_ssh_target;

/* A login name ssh and the guest accept: [a-z_][a-z0-9_.-]*, at most 32, no leading '-'
 * (USAGE). */
int yv_ssh_check_user(const char *user, yv_err *err);

/* Where SSH reaches the guest of vm (whose root is root): the TCP forward to guest port 22 of its
 * first `user` network; else the guest's address (guest_ip, from core/addr: NULL = not known →
 * FAIL "no address known"). user NULL = root. Fill t; free with yv_ssh_target_done. */
int yv_ssh_target_of(const char *root, const yv_vm *vm, const char *user, const char *guest_ip,
                     yv_ssh_target *t, yv_err *err);
void yv_ssh_target_done(yv_ssh_target *t);

/* The target of a running VM of root: loads its config (VM_NOT_FOUND), proves its QEMU live
 * (VM_NOT_RUNNING otherwise), then as yv_ssh_target_of. */
int yv_ssh_target_vm(const char *root, const yv_config *cfg, const char *name, const char *user,
                     yv_ssh_target *t, yv_err *err);

/* The argv (NULL-terminated, malloc'd strings; free with yv_ssh_argv_free):
 *   SSH -p PORT -o HostKeyAlias=ALIAS -l USER -- HOST [ARGS…]
 * OpenSSH's host key checking stays as the user configured it (never StrictHostKeyChecking=no). */
char **yv_ssh_argv(const char *ssh, const yv_ssh_target *t, char *const *args, int nargs);
void yv_ssh_argv_free(char **argv);

/* argv as one line for a POSIX shell: words with only [A-Za-z0-9@%+=:,./_-] as they are (so plain
 * $(…) works for the usual argv), others in single quotes ('\'' for a quote): eval-safe. */
char *yv_ssh_quote_argv(char *const *argv);

#endif
