#include "forward.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp.h"
#include "qemuargv.h"
#include "root.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"

/* How long one HMP exchange with a running QEMU may take. */
#define FORWARD_QMP_MS 5000

int yv_forward_parse(const char *spec, yv_forward *f, yv_err *err)
{
    yv_fwspec s;
    if (yv_valid_forward(spec, &s, err) < 0) return -1;
    *f = (yv_forward){(yv_proto)s.proto, yv_strdup(s.address), s.host, s.guest};
    return 0;
}

int yv_forward_parse_key(const char *spec, yv_proto *proto, int *host, yv_err *err)
{
    yv_fwspec s;
    yv_err e;
    if (yv_valid_forward(spec, &s, &e) == 0) {
        *proto = (yv_proto)s.proto;
        *host = s.host;
        return 0;
    }
    const char *colon = strchr(spec, ':');
    char p[8] = "tcp";
    if (colon && (size_t)(colon - spec) < sizeof p)
        snprintf(p, sizeof p, "%.*s", (int)(colon - spec), spec);
    int pr = colon ? yv_valid_proto(p) : 0;
    *host = yv_valid_port(colon ? colon + 1 : spec);
    if (pr >= 0 && *host > 0 && (!colon || (size_t)(colon - spec) < sizeof p)) {
        *proto = (yv_proto)pr;
        return 0;
    }
    *err = e; /* the full form's reason says what a spec looks like */
    return -1;
}

/* ---- the host side ---- */

int yv_forward_bind_errno(const yv_forward *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->host)};
    if (inet_pton(AF_INET, f->address, &a.sin_addr) != 1) return 0; /* validated before */
    int fd =
        socket(AF_INET, (f->proto == YV_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int one = 1;
    /* slirp's TCP listener sets SO_REUSEADDR too: TIME_WAIT connections do not block it, a
     * listener does */
    if (f->proto == YV_PROTO_TCP) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int e = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
    close(fd);
    return e;
}

bool yv_forward_host_free(const yv_forward *f)
{
    return yv_forward_bind_errno(f) == 0;
}

/* The inode of a socket bound to port in /proc/net/<file> (a listener for TCP); 0 if none. */
static unsigned long socket_inode(const char *file, bool tcp, int port)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/net/%s", file);
    FILE *fp = fopen(path, "re");
    unsigned long found = 0;
    if (!fp) return 0;
    while (!found && fgets(line, sizeof line, fp)) {
        /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
        char *w[10], *save = NULL, *colon;
        int k = 0;
        for (char *t = strtok_r(line, " \t\n", &save); t && k < 10;
             t = strtok_r(NULL, " \t\n", &save))
            w[k++] = t;
        if (k < 10 || !(colon = strchr(w[1], ':'))) continue; /* the header line */
        unsigned long p = strtoul(colon + 1, NULL, 16), st = strtoul(w[3], NULL, 16);
        unsigned long inode = strtoul(w[9], NULL, 10);
        if (p == (unsigned long)port && (!tcp || st == 0x0A) && inode) found = inode;
    }
    fclose(fp);
    return found;
}

/* Whether process pid (a /proc entry) has the socket inode open. */
static bool has_socket(const char *pid, const char *want)
{
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/%s/fd", pid);
    DIR *d = opendir(path); /* another user's: EACCES, not ours to know */
    struct dirent *de;
    bool found = false;
    while (d && !found && (de = readdir(d))) {
        char fd[96];
        snprintf(fd, sizeof fd, "%s/%s", path, de->d_name);
        ssize_t n = readlink(fd, link, sizeof link - 1);
        if (n > 0) found = (link[n] = '\0', !strcmp(link, want));
    }
    if (d) closedir(d);
    return found;
}

static pid_t inode_owner(unsigned long inode, char comm[32])
{
    char want[48];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *d = opendir("/proc");
    struct dirent *de;
    pid_t pid = 0;
    while (d && !pid && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || !has_socket(de->d_name, want)) continue;
        pid = (pid_t)strtol(de->d_name, NULL, 10);
        char path[64];
        snprintf(path, sizeof path, "/proc/%s/comm", de->d_name);
        FILE *fp = fopen(path, "re");
        if (!fp || !fgets(comm, 32, fp)) comm[0] = '\0';
        comm[strcspn(comm, "\n")] = '\0';
        if (fp) fclose(fp);
    }
    if (d) closedir(d);
    return pid;
}

pid_t yv_forward_holder(const yv_forward *f, char comm[32])
{
    bool tcp = f->proto == YV_PROTO_TCP;
    unsigned long inode = socket_inode(tcp ? "tcp" : "udp", tcp, f->host);
    if (!inode) inode = socket_inode(tcp ? "tcp6" : "udp6", tcp, f->host);
    comm[0] = '\0';
    return inode ? inode_owner(inode, comm) : 0;
}

/* Why f's host port cannot be bound (e: bind's errno), in the user's terms. */
static int bind_refused(const yv_vm *vm, const yv_net *n, const yv_forward *f, int e, yv_err *err)
{
    char what[160], comm[32], who[96] = "";
    snprintf(what, sizeof what, "cannot forward %s port %d on %s (networks.%s of VM '%s')",
             yv_vm_proto_name(f->proto), f->host, f->address, n->id, vm->name);
    if (e == EADDRNOTAVAIL)
        return yv_err_set(err, YV_E_USAGE, "%s: %s is not an address of this host", what,
                          f->address);
    if (e == EACCES || e == EPERM)
        return yv_err_set(err, YV_E_PERMISSION,
                          "%s: ports below 1024 need root (or CAP_NET_BIND_SERVICE)", what);
    if (e != EADDRINUSE) return yv_err_sys(err, YV_E_IO, e, "%s", what);
    pid_t pid = yv_forward_holder(f, comm);
    if (pid > 0) snprintf(who, sizeof who, " by %s (pid %d)", comm, (int)pid);
    return yv_err_set(err, YV_E_VM_EXISTS, "%s: the port is in use%s", what, who);
}

int yv_forward_check_free(const yv_vm *vm, yv_err *err)
{
    for (size_t i = 0; i < vm->nnets; i++)
        for (size_t j = 0; j < vm->nets[i].nforwards; j++) {
            const yv_forward *f = &vm->nets[i].forwards[j];
            int e = yv_forward_bind_errno(f);
            if (e) return bind_refused(vm, &vm->nets[i], f, e, err);
        }
    return 0;
}

/* ---- the root side ---- */

static void collect_vm(const yv_vm *vm, void *ctx)
{
    yv_forward_uses *u = ctx;
    for (size_t i = 0; i < vm->nnets; i++)
        for (size_t j = 0; j < vm->nets[i].nforwards; j++) {
            u->v = yv_realloc(u->v, (u->n + 1) * sizeof *u->v);
            u->v[u->n++] = (yv_forward_use){yv_strdup(vm->name), vm->nets[i].forwards[j].proto,
                                            vm->nets[i].forwards[j].host};
        }
}

void yv_forward_collect(const char *root, yv_forward_uses *u)
{
    memset(u, 0, sizeof *u);
    yv_vm_each(root, collect_vm, u);
    yv_vm_each_part(root, collect_vm, u);
}

void yv_forward_uses_done(yv_forward_uses *u)
{
    for (size_t i = 0; i < u->n; i++) free(u->v[i].vm);
    free(u->v);
    memset(u, 0, sizeof *u);
}

const char *yv_forward_used_by(const yv_forward_uses *u, const char *self, yv_proto proto, int host)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->v[i].proto == proto && u->v[i].host == host &&
            (!self || strcmp(u->v[i].vm, self) != 0))
            return u->v[i].vm;
    return NULL;
}

int yv_forward_check_root(const yv_forward_uses *u, const char *self, const yv_forward *fw,
                          size_t n, yv_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *other = yv_forward_used_by(u, self, fw[i].proto, fw[i].host);
        if (other)
            return yv_err_set(err, YV_E_VM_EXISTS, "%s port %d is already forwarded by VM '%s'",
                              yv_vm_proto_name(fw[i].proto), fw[i].host, other);
    }
    return 0;
}

int yv_forward_pick_ssh(const yv_forward_uses *u, long base, yv_err *err)
{
    for (long p = base; p <= 65535; p++) {
        yv_forward f = {YV_PROTO_TCP, (char *)"127.0.0.1", (int)p, 22};
        if (!yv_forward_used_by(u, NULL, YV_PROTO_TCP, (int)p) && yv_forward_host_free(&f))
            return (int)p;
    }
    return yv_err_set(err, YV_E_FAIL,
                      "no free host port for the SSH forward from network.ssh_port_base (%ld) up "
                      "to 65535",
                      base);
}

/* ---- forward add|remove ---- */

/* One short exchange on the VM's QMP socket (never held: spec §6): connect, negotiate, one command.
 * 0 with *ret, 1 when QEMU answered with an error, -1 otherwise. */
static int qmp_once(const char *root, const char *name, json_t *args, json_t **ret, yv_err *err)
{
    int64_t deadline = yv_now_ms() + FORWARD_QMP_MS;
    char *sock = yv_vmstate_sockfile(root, name);
    yv_qmp *q = yv_qmp_new();
    int rc = yv_qmp_connect_wait(q, sock, deadline, err);
    if (rc == 0) rc = yv_qmp_greet(q, deadline, err);
    if (rc == 0) rc = yv_qmp_call(q, "human-monitor-command", args, ret, deadline, err);
    else json_decref(args);
    yv_qmp_free(q);
    free(sock);
    return rc;
}

/* QEMU's human monitor over QMP: hostfwd_add prints nothing when it worked, hostfwd_remove
 * "host forwarding rule for … removed"; anything else is QEMU's reason. */
static int hmp(const char *root, const char *name, const char *net, const yv_forward *f, bool add,
               yv_err *err)
{
    char rule[YV_HOSTFWD_MAX], *line;
    json_t *ret = NULL;
    yv_qemuargv_hostfwd(f, add, rule);
    line = yv_asprintf("%s %s %s", add ? "hostfwd_add" : "hostfwd_remove", net, rule);
    int rc = qmp_once(root, name, json_pack("{s:s}", "command-line", line), &ret, err);
    const char *out = json_is_string(ret) ? json_string_value(ret) : "";
    if (rc == 0 && (add ? *out != '\0' : !strstr(out, " removed"))) {
        char *why = yv_strndup(out, strcspn(out, "\r\n"));
        rc = yv_err_set(err, YV_E_TOOL_FAILED, "QEMU refused '%s': %s", line, why);
        free(why);
    } else if (rc != 0) {
        rc = yv_err_prefix(err, "cannot change the forwards of running VM '%s'", name);
    }
    json_decref(ret);
    free(line);
    return rc;
}

/* The change, under the root lock: the config written, and the running QEMU changed first. */
typedef struct {
    const char *root, *name;
    yv_vm vm;
    char *dir;
    bool live; /* the running QEMU is changed too */
    bool held; /* add: the running QEMU forwards that port already (its own: not in use) */
    bool has_rec;
    yv_forward rec; /* remove: the forward as the running QEMU has it (its record) */
} change_ctx;

/* The running QEMU's forward proto:host by its record (run/<vm>.started), copied into *out: 1 it
 * has it, 0 it has not, -1 no record (started by an older yave: the config is all there is). */
static int started_forward(const char *root, const char *name, yv_proto proto, int host,
                           yv_forward *out)
{
    yv_vm st;
    if (yv_vmstate_load_started(root, name, &st) < 0) return -1;
    const yv_forward *f = yv_vm_find_forward(&st, proto, host);
    if (f) {
        *out = *f;
        out->address = yv_strdup(f->address);
    }
    yv_vm_done(&st);
    return f != NULL;
}

/* A running VM whose forwards are pending (set --forward): QEMU is changed only when it has
 * (remove) or lacks (add) the forward; otherwise only the config changes, pending until the next
 * start, so neither QEMU's refusal nor its own hold of the port stops the change. */
static void change_live(change_ctx *c, bool add, yv_proto proto, int host)
{
    int has = started_forward(c->root, c->name, proto, host, &c->rec);
    c->has_rec = has == 1;
    if (has < 0 || has == !add) return;
    c->live = false;
    c->held = add;
}

static int change_load(change_ctx *c, const yv_config *cfg, yv_err *err)
{
    if (yv_valid_name(c->name, err) < 0) return -1;
    c->dir = yv_root_vm_dir(c->root, c->name);
    if (yv_vm_load(&c->vm, c->root, c->name, err) < 0) return -1;
    if (!yv_vm_first_user_net(&c->vm))
        return yv_err_set(err, YV_E_USAGE,
                          "VM '%s' has no network of type user: forwards need one (create it "
                          "with --network user)",
                          c->name);
    /* under the lock no run starts it meanwhile (a QEMU that ends fails the QMP exchange) */
    c->live = yv_vmstate_live_pid(c->root, cfg, c->name) > 0;
    return 0;
}

/* Writes the config; when that fails, QEMU's change is undone (undo: the opposite of what was
 * done). */
static int change_save(change_ctx *c, const yv_net *n, const yv_forward *f, bool added, yv_err *err)
{
    if (yv_vm_save(&c->vm, c->dir, err) == 0) return 0;
    yv_err e;
    if (c->live && hmp(c->root, c->name, n->id, f, !added, &e) < 0) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (and QEMU keeps the change: %s)", e.msg);
    }
    return -1;
}

static int do_add(change_ctx *c, const yv_forward *f, yv_err *err)
{
    yv_net *n = yv_vm_first_user_net(&c->vm);
    yv_forward_uses u;
    if (yv_vm_find_forward(&c->vm, f->proto, f->host))
        return yv_err_set(err, YV_E_VM_EXISTS, "VM '%s' already forwards %s port %d", c->name,
                          yv_vm_proto_name(f->proto), f->host);
    yv_forward_collect(c->root, &u);
    int rc = yv_forward_check_root(&u, c->name, f, 1, err);
    yv_forward_uses_done(&u);
    if (rc < 0) return -1;
    yv_vm probe = {.name = c->vm.name,
                   .nets = &(yv_net){.id = n->id, .forwards = (yv_forward *)f, .nforwards = 1},
                   .nnets = 1};
    if (!c->held && yv_forward_check_free(&probe, err) < 0) return -1;
    if (c->live && hmp(c->root, c->name, n->id, f, true, err) < 0) return -1;
    yv_vm_add_forward(n, f->proto, f->address, f->host, f->guest);
    return change_save(c, n, f, true, err);
}

static int do_remove(change_ctx *c, yv_proto proto, int host, yv_forward *out, yv_err *err)
{
    for (size_t i = 0; i < c->vm.nnets; i++) {
        yv_net *n = &c->vm.nets[i];
        for (size_t j = 0; n->type == YV_NET_USER && j < n->nforwards; j++) {
            yv_forward f = n->forwards[j];
            const yv_forward *q = c->has_rec ? &c->rec : &f; /* as QEMU has it */
            if (f.proto != proto || f.host != host) continue;
            if (c->live && hmp(c->root, c->name, n->id, q, false, err) < 0) return -1;
            f.address = yv_strdup(f.address);
            yv_vm_remove_forward(n, j);
            int rc = change_save(c, n, q, false, err);
            *out = f;
            return rc;
        }
    }
    return yv_err_set(err, YV_E_USAGE, "VM '%s' has no forward on %s port %d", c->name,
                      yv_vm_proto_name(proto), host);
}

typedef struct {
    const yv_forward *add; /* NULL: remove proto:host */
    yv_proto proto;
    int host;
} live_change;

/* The running QEMU's record changed as QEMU was (yv_vmstate_update_started). */
static void note_live(yv_vm *st, void *ctx)
{
    const live_change *l = ctx;
    yv_net *n = yv_vm_first_user_net(st);
    if (n && l->add)
        yv_vm_add_forward(n, l->add->proto, l->add->address, l->add->host, l->add->guest);
    for (size_t j = 0; n && !l->add && j < n->nforwards; j++)
        if (n->forwards[j].proto == l->proto && n->forwards[j].host == l->host) {
            yv_vm_remove_forward(n, j);
            break;
        }
}

static int change(const char *root, const yv_config *cfg, const char *name, const yv_forward *add,
                  yv_proto proto, int host, yv_forward *changed, bool *live, yv_err *err)
{
    change_ctx c = {root, name, {0}, NULL, false, false, false, {0}};
    yv_forward done = {proto, NULL, host, 0};
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    int rc = change_load(&c, cfg, err);
    if (rc == 0 && c.live) change_live(&c, add != NULL, proto, host);
    if (rc == 0 && add) rc = do_add(&c, add, err);
    else if (rc == 0) rc = do_remove(&c, proto, host, &done, err);
    if (rc == 0 && c.live) /* else status would call it pending */
        yv_vmstate_update_started(root, name, note_live, &(live_change){add, proto, host});
    yv_root_unlock(lock);
    if (rc == 0 && add)
        done = (yv_forward){add->proto, yv_strdup(add->address), add->host, add->guest};
    if (rc < 0) {
        free(done.address);
        done.address = NULL;
    }
    if (live) *live = c.live;
    if (changed) *changed = done;
    else free(done.address);
    yv_vm_done(&c.vm);
    free(c.dir);
    free(c.rec.address);
    return rc;
}

int yv_forward_add(const char *root, const yv_config *cfg, const char *name, const yv_forward *f,
                   yv_forward *changed, bool *live, yv_err *err)
{
    return change(root, cfg, name, f, f->proto, f->host, changed, live, err);
}

int yv_forward_remove(const char *root, const yv_config *cfg, const char *name, yv_proto proto,
                      int host, yv_forward *changed, bool *live, yv_err *err)
{
    return change(root, cfg, name, NULL, proto, host, changed, live, err);
}
