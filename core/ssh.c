#include "ssh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "qga.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"

int yv_ssh_check_user(const char *u, yv_err *err)
{
    size_t n = strlen(u);
    bool ok = n > 0 && n <= 32 && ((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_');
    for (size_t i = 1; ok && i < n; i++)
        ok = (u[i] >= 'a' && u[i] <= 'z') || (u[i] >= '0' && u[i] <= '9') || u[i] == '_' ||
             u[i] == '-' || u[i] == '.';
    if (!ok)
        return yv_err_set(err, YV_E_USAGE,
                          "invalid user name '%s': use lower-case letters, digits, '_', '-' and "
                          "'.', starting with a letter or '_' (at most 32)",
                          u);
    return 0;
}

/* The SSH forward of a user network: TCP to guest port 22 (the one create adds), else NULL. */
static const yv_forward *ssh_forward(const yv_vm *vm)
{
    for (size_t i = 0; i < vm->nnets; i++) {
        const yv_net *n = &vm->nets[i];
        if (n->type != YV_NET_USER) continue;
        for (size_t j = 0; j < n->nforwards; j++)
            if (n->forwards[j].proto == YV_PROTO_TCP && n->forwards[j].guest == 22)
                return &n->forwards[j];
    }
    return NULL;
}

/* FNV-1a of the root's path: VMs of the same name in two roots are two hosts for known_hosts. */
static unsigned long root_tag(const char *root)
{
    unsigned long h = 2166136261u;
    for (const char *p = root; *p; p++) h = ((h ^ (unsigned char)*p) * 16777619u) & 0xffffffffu;
    return h;
}

int yv_ssh_target_of(const char *root, const yv_vm *vm, const char *user, const char *guest_ip,
                     yv_ssh_target *t, yv_err *err)
{
    memset(t, 0, sizeof *t);
    if (!user) user = YV_SSH_DEFAULT_USER;
    if (yv_ssh_check_user(user, err) < 0) return -1;
    const yv_forward *f = ssh_forward(vm);
    if (!f && !guest_ip)
        return yv_err_set(err, YV_E_FAIL,
                          "no address known for VM '%s': it has no SSH forward (a user network "
                          "forwarding to guest port 22) and no address from its guest agent or the "
                          "neighbour table",
                          vm->name);
    t->user = yv_strdup(user);
    /* a forward on every address (0.0.0.0) is reached on the loopback */
    const char *fa = f && f->address && *f->address && strcmp(f->address, "0.0.0.0") != 0
                         ? f->address
                         : "127.0.0.1";
    t->host = yv_strdup(f ? fa : guest_ip);
    t->port = f ? f->host : 22;
    t->alias = yv_asprintf("yave-%s-%08lx", vm->name, root_tag(root));
    return 0;
}

/* The guest's address for a VM without an SSH forward: the host's neighbour table by the VM's MAC
 * first (what the host itself saw on the wire), else what its guest agent reports. Either may be
 * wrong (a guest chooses both); the host key check (HostKeyAlias) is what keeps a wrong answer
 * from reaching another machine. */
static char *guest_address(const char *root, const yv_config *cfg, const yv_vm *vm)
{
    (void)cfg;
    yv_addrs neigh = {0}, agent = {0};
    yv_err e;
    char *ip = NULL;
    if (yv_addr_has_tap(vm)) yv_addr_from_neighbours(vm, &neigh, &e);
    if (neigh.n) {
        ip = yv_strdup(neigh.v[0].ip);
    } else {
        char *qga = yv_vmstate_qgafile(root, vm->name);
        const char *paths[1] = {qga};
        yv_addr_agent_many(paths, &agent, 1, YV_QGA_SYNC_MS, YV_QGA_CALL_MS);
        if (agent.n) ip = yv_strdup(agent.v[0].ip);
        free(qga);
    }
    yv_addrs_done(&neigh);
    yv_addrs_done(&agent);
    return ip;
}

int yv_ssh_target_vm(const char *root, const yv_config *cfg, const char *name, const char *user,
                     yv_ssh_target *t, yv_err *err)
{
    yv_vm vm;
    yv_vmstate_proof p;
    memset(t, 0, sizeof *t);
    if (user && yv_ssh_check_user(user, err) < 0) return -1; /* a usage error before any state */
    if (yv_valid_name(name, err) < 0 || yv_vm_load(&vm, root, name, err) < 0) return -1;
    int rc = -1;
    if (yv_vmstate_prove(root, cfg, name, &p) <= 0) {
        yv_err_set(err, YV_E_VM_NOT_RUNNING, "VM '%s' is not running", name);
    } else {
        char *ip = guest_address(root, cfg, &vm);
        rc = yv_ssh_target_of(root, &vm, user, ip, t, err);
        free(ip);
    }
    yv_vmstate_proof_done(&p);
    yv_vm_done(&vm);
    return rc;
}

void yv_ssh_target_done(yv_ssh_target *t)
{
    free(t->user);
    free(t->host);
    free(t->alias);
    memset(t, 0, sizeof *t);
}

char **yv_ssh_argv(const char *ssh, const yv_ssh_target *t, char *const *args, int nargs)
{
    char **v = yv_calloc((size_t)nargs + 11, sizeof *v);
    int i = 0;
    v[i++] = yv_strdup(ssh);
    v[i++] = yv_strdup("-p");
    v[i++] = yv_asprintf("%d", t->port);
    v[i++] = yv_strdup("-o");
    v[i++] = yv_asprintf("HostKeyAlias=%s", t->alias);
    v[i++] = yv_strdup("-l");
    v[i++] = yv_strdup(t->user);
    v[i++] = yv_strdup("--"); /* the host is never read as an option */
    v[i++] = yv_strdup(t->host);
    for (int j = 0; j < nargs; j++) v[i++] = yv_strdup(args[j]);
    return v;
}

void yv_ssh_argv_free(char **argv)
{
    if (!argv) return;
    for (char **p = argv; *p; p++) free(*p);
    free(argv);
}

static bool plain_word(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!strchr("@%+=:,./_-", *s) &&
            !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

char *yv_ssh_quote_argv(char *const *argv)
{
    size_t cap = 1;
    for (char *const *p = argv; *p; p++) cap += 4 * strlen(*p) + 3;
    char *out = yv_malloc(cap), *o = out;
    for (char *const *p = argv; *p; p++) {
        if (p != argv) *o++ = ' ';
        if (plain_word(*p)) {
            o = stpcpy(o, *p);
            continue;
        }
        *o++ = '\'';
        for (const char *s = *p; *s; s++) o = *s == '\'' ? stpcpy(o, "'\\''") : (*o = *s, o + 1);
        *o++ = '\'';
    }
    *o = '\0';
    return out;
}
