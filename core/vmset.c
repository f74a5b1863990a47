#include "vmset.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"
#include "ops.h"
#include "qmp.h"
#include "root.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"
#include "vnctable.h"
#include "yamlio.h"

/* How long the QMP exchange that hands a running QEMU its new VNC password may take. */
#define VMSET_QMP_MS 5000

void yv_vmset_defaults(yv_vmset_opts *o)
{
    memset(o, 0, sizeof *o);
    o->ovmf = -1;
}

int yv_vmset_check(const yv_vmset_opts *o, yv_err *err)
{
    char why[128];
    if (!o->memory && !o->vcpu && o->ovmf < 0 && !o->display && !o->vnc_password && !o->net_kind &&
        !o->master && !o->nforwards && !o->new_display && !o->new_ports)
        return yv_err_set(err, YV_E_USAGE,
                          "nothing to change: give --memory, --vcpu, --display, "
                          "--vnc-password-file, --network, --master, --forward, --ovmf or "
                          "--no-ovmf");
    if (o->display && yv_valid_display_check(o->display, why, sizeof why) < 0)
        return yv_err_set(err, YV_E_USAGE, "invalid display '%s': %s", yv_valid_shown(o->display),
                          why);
    if (o->memory && yv_valid_memory_value(o->memory, err) < 0) return -1;
    if (o->vcpu && yv_valid_vcpu_value(o->vcpu, err) < 0) return -1;
    if (yv_ops_check_vnc_password(o->vnc_password, err) < 0) return -1;
    if (yv_ops_check_net(o->master, o->net_kind, o->nforwards, err) < 0) return -1;
    yv_forward *fw;
    size_t n;
    int rc = yv_ops_parse_forwards(o->forwards, o->nforwards, &fw, &n, err);
    yv_ops_forwards_free(fw, n);
    return rc;
}

static json_t *fields_json(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *yv_vmset_result_json(const char *name, const yv_vmset_result *r)
{
    json_t *j = json_pack("{s:s, s:o, s:o, s:b}", "vm", name, "changed",
                          fields_json(r->changed, r->nchanged), "pending",
                          fields_json(r->pending, r->npending), "running", r->running);
    if (r->live_password)
        json_object_set_new(j, "live", fields_json((const char *[]){"vnc_password"}, 1));
    return j;
}

/* ---- what differs ---- */

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static bool same_forward(const yv_forward *x, const yv_forward *y)
{
    return x->proto == y->proto && x->host == y->host && x->guest == y->guest &&
           !str_differs(x->address, y->address);
}

/* As sets: the same forwards in another order are the same (a forward remove then add moves one
 * to the end of the list, and QEMU's hostfwd rules have no order). */
static bool forwards_differ(const yv_net *a, const yv_net *b)
{
    if (a->nforwards != b->nforwards) return true;
    for (size_t i = 0; i < a->nforwards; i++) {
        bool found = false;
        for (size_t j = 0; !found && j < b->nforwards; j++)
            found = same_forward(&a->forwards[i], &b->forwards[j]);
        if (!found) return true;
    }
    return false;
}

/* network, master, forwards: each true when any network differs so. */
static void nets_differ(const yv_vm *a, const yv_vm *b, bool d[3])
{
    d[0] = a->nnets != b->nnets;
    for (size_t i = 0; !d[0] && i < a->nnets; i++) {
        const yv_net *x = &a->nets[i], *y = &b->nets[i];
        d[0] = x->type != y->type || str_differs(x->id, y->id) || str_differs(x->mac, y->mac);
        d[1] = d[1] || str_differs(x->master, y->master);
        d[2] = d[2] || forwards_differ(x, y);
    }
    if (d[0]) d[1] = d[2] = false; /* a network that is another one: "network" says it all */
}

size_t yv_vmset_diff(const yv_vm *now, const yv_vm *was, const char *out[YV_VMSET_FIELDS])
{
    size_t n = 0;
    bool nd[3] = {false, false, false};
    nets_differ(now, was, nd);
    if (now->memory != was->memory) out[n++] = "memory";
    if (now->vcpu != was->vcpu) out[n++] = "vcpu";
    if (now->ovmf != was->ovmf) out[n++] = "ovmf";
    if (str_differs(now->vnc_display, was->vnc_display)) out[n++] = "display";
    if (str_differs(now->vnc_password, was->vnc_password)) out[n++] = "vnc_password";
    if (nd[0]) out[n++] = "network";
    if (nd[1]) out[n++] = "master";
    if (nd[2]) out[n++] = "forwards";
    return n;
}

int yv_vmset_pending(const char *root, const yv_vm *now, const char *out[YV_VMSET_FIELDS],
                     size_t *n)
{
    yv_vm was;
    *n = 0;
    if (yv_vmstate_load_started(root, now->name, &was) < 0) return -1;
    *n = yv_vmset_diff(now, &was, out);
    yv_vm_done(&was);
    return 0;
}

/* ---- the change ---- */

/* net0 made of kind want (-1 none): kept when it already is, else converted (a tap's bridge or a
 * user network's forwards dropped), added with a MAC of its own, or removed with every network. */
static void net_become(const char *root, yv_vm *vm, int want)
{
    if (want < 0) {
        yv_vm_clear_nets(vm);
        return;
    }
    if (!vm->nnets) {
        char mac[18];
        yv_ops_pick_mac(root, vm->name, mac);
        yv_vm_add_net(vm, "net0", mac, NULL);
    }
    yv_net *n = &vm->nets[0];
    if ((int)n->type == want) return;
    n->type = (yv_net_type)want;
    free(n->master);
    n->master = NULL;
    free(n->ifname);
    n->ifname = NULL;
    yv_vm_clear_forwards(n);
}

static int kind_of(const char *k)
{
    return !strcmp(k, "none") ? -1 : !strcmp(k, "tap") ? YV_NET_TAP : YV_NET_USER;
}

/* The network options on the VM's net0, under the root lock: a forward port another VM of the
 * root holds is refused as create refuses it. */
static int apply_net(const char *root, const yv_config *cfg, yv_vm *vm, const yv_vmset_opts *o,
                     yv_err *err)
{
    if (!o->net_kind && !o->master && !o->nforwards) return 0;
    int cur = vm->nnets ? (int)vm->nets[0].type : -1;
    int want = o->net_kind ? kind_of(o->net_kind) : cur;
    if (o->master && want != YV_NET_TAP)
        return yv_err_set(err, YV_E_USAGE, "--master needs a tap network (VM '%s' has %s)",
                          vm->name, want < 0 ? "none" : "a user network: give --network tap");
    if (o->nforwards && want != YV_NET_USER)
        return yv_err_set(err, YV_E_USAGE, "--forward needs a user network (VM '%s' has %s)",
                          vm->name, want < 0 ? "none" : "a tap network: give --network user");
    net_become(root, vm, want);
    if (want < 0) return 0;
    yv_net *n = &vm->nets[0];
    if (o->master) {
        free(n->master);
        n->master = yv_strdup(o->master);
    }
    /* forwards given replace the old ones; a network that became user gets the SSH forward */
    if (want != YV_NET_USER || (!o->nforwards && want == cur)) return 0;
    yv_forward *fw;
    size_t nfw;
    int rc = yv_ops_parse_forwards(o->forwards, o->nforwards, &fw, &nfw, err);
    if (rc == 0) rc = yv_ops_reserve_forwards(root, cfg, vm->name, fw, &nfw, err);
    yv_vm_clear_forwards(n);
    for (size_t i = 0; rc == 0 && i < nfw; i++)
        yv_vm_add_forward(n, fw[i].proto, fw[i].address, fw[i].host, fw[i].guest);
    yv_ops_forwards_free(fw, nfw);
    return rc;
}

static void apply_hw(yv_vm *vm, const yv_vmset_opts *o)
{
    if (o->display) {
        free(vm->vnc_display);
        vm->vnc_display = yv_strdup(o->display);
    }
    if (o->memory) vm->memory = o->memory;
    if (o->vcpu) vm->vcpu = o->vcpu;
    if (o->ovmf >= 0) vm->ovmf = o->ovmf;
    if (o->vnc_password) {
        yv_free_secret(vm->vnc_password);
        vm->vnc_password = yv_strdup(o->vnc_password);
    }
}

static void note_password(yv_vm *st, void *pw)
{
    yv_free_secret(st->vnc_password);
    st->vnc_password = yv_strdup(pw);
}

/* The new password in the running QEMU (as run sets it: QMP set_password), and in the config it
 * runs with; false when QEMU did not take it (then it is pending like the rest). */
static bool password_live(const char *root, const yv_vm *vm)
{
    if (yv_valid_display_number(vm->vnc_display) < 0) return false;
    int64_t deadline = yv_now_ms() + VMSET_QMP_MS;
    char *sock = yv_vmstate_sockfile(root, vm->name);
    yv_qmp *q = yv_qmp_new();
    yv_err e;
    int rc = yv_qmp_connect_wait(q, sock, deadline, &e);
    if (rc == 0) rc = yv_qmp_greet(q, deadline, &e);
    if (rc == 0) {
        json_t *args = json_pack("{s:s, s:s}", "protocol", "vnc", "password", vm->vnc_password);
        rc = yv_qmp_call(q, "set_password", args, NULL, deadline, &e);
    }
    yv_qmp_free(q);
    free(sock);
    if (rc != 0) return false;
    yv_vmstate_update_started(root, vm->name, note_password, (void *)vm->vnc_password);
    return true;
}

/* A running VM's VNC password to push: the one its QEMU has (its record) differs from the new one,
 * even when the config has it already (a first push that failed). No record: the config's. */
static bool password_differs(const char *root, const yv_vm *vm, const yv_vm *was)
{
    yv_vm st;
    if (yv_vmstate_load_started(root, vm->name, &st) < 0)
        return str_differs(vm->vnc_password, was->vnc_password);
    bool d = str_differs(vm->vnc_password, st.vnc_password);
    yv_vm_done(&st);
    return d;
}

/* A new display: free as create's pick sees one (vnc_table.yaml loaded into t for save_table). */
static int check_display(const char *root, const yv_config *cfg, const yv_vm *vm, const yv_vm *was,
                         yv_vnctable *t, yv_err *err)
{
    yv_vm st;
    bool own = false; /* the display the running QEMU listens on: its port is ours */
    if (!str_differs(vm->vnc_display, was->vnc_display)) return 0;
    if (!t->v && yv_vnctable_load(t, root, err) < 0) return -1;
    if (yv_vmstate_live_pid(root, cfg, vm->name) > 0 &&
        yv_vmstate_load_started(root, vm->name, &st) == 0) {
        own = !str_differs(st.vnc_display, vm->vnc_display);
        yv_vm_done(&st);
    }
    return yv_ops_check_display(root, cfg, t, vm->name, yv_valid_display_number(vm->vnc_display),
                                !own, err);
}

/* --display given: vnc_table.yaml (loaded into t) holds another display for this VM beside its
 * own, as a set killed between its writes leaves it (see save_table): written again without it. */
static int table_stale(const char *root, const yv_vm *vm, const yv_vmset_opts *o, yv_vnctable *t,
                       yv_err *err)
{
    if (!o->display) return 0;
    if (yv_vnctable_load(t, root, err) < 0) return -1;
    int disp = yv_valid_display_number(vm->vnc_display);
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].name, vm->name) && t->v[i].display != disp) return 1;
    return 0;
}

/* A file put back as it was read before the change (NULL: it was not there). */
static int put_back(const char *path, const char *text, size_t len, mode_t mode, yv_err *e)
{
    if (text) return yv_root_write_atomic(path, text, len, mode, e);
    if (unlink(path) == 0 || errno == ENOENT) return 0;
    return yv_err_set(e, YV_E_IO, "cannot remove %s: %s", path, strerror(errno));
}

/* Undoes the steps of save_table that were written (done: 1 the table, 2 the config too). */
static void table_undo(const char *cpath, const char *cold, size_t clen, const char *tpath,
                       const char *told, const yv_vm *vm, int done, yv_err *err)
{
    yv_err e;
    if (done >= 2 && put_back(cpath, cold, clen, 0600, &e) < 0) {
        yv_err_prefix(err,
                      "config.yaml of VM '%s' keeps display %s, which vnc_table.yaml reserves "
                      "beside its old one (%s)",
                      vm->name, vm->vnc_display, e.msg);
        return; /* the table reserves both: never a display nobody holds */
    }
    if (done >= 1 && put_back(tpath, told, told ? strlen(told) : 0, 0644, &e) < 0)
        yv_err_prefix(err, "vnc_table.yaml keeps display %s reserved for VM '%s' as well (%s)",
                      vm->vnc_display, vm->name, e.msg);
}

/* A new display in three atomic writes, so that a kill between any two leaves vnc_table.yaml
 * reserving the display config.yaml names (over-reserving, never wrong): the table with the new
 * display added and the old kept, then the config, then the table without the old. A write that
 * fails puts back what the earlier ones wrote, byte for byte (read before the change). */
static int save_table(const char *root, const char *dir, const yv_vm *vm, yv_vnctable *t,
                      yv_err *err)
{
    size_t clen;
    bool missing = false;
    int done = 0, disp = yv_valid_display_number(vm->vnc_display);
    char *cpath = yv_root_join(dir, "config.yaml"), *tpath = yv_root_path(root, "vnc_table.yaml");
    char *cold = yv_root_read_file(cpath, &clen, YV_E_IO, err);
    char *told = cold ? yv_yamlio_read_optional(tpath, &missing, err) : NULL;
    if (cold && (told || missing)) { /* else nothing written yet: see set_locked */
        yv_vnctable_set(t, disp, vm->name);
        if (yv_vnctable_save(t, root, err) == 0) done = 1;
        if (done == 1 && yv_vm_save(vm, dir, err) == 0) done = 2;
        yv_vnctable_remove(t, vm->name);
        yv_vnctable_set(t, disp, vm->name);
        if (done == 2 && yv_vnctable_save(t, root, err) == 0) done = 3;
        if (done < 3) table_undo(cpath, cold, clen, tpath, told, vm, done, err);
    }
    yv_free_secret(cold);
    free(told);
    free(cpath);
    free(tpath);
    return done == 3 ? 0 : -1;
}

/* What a running VM has pending after the change. */
static void fill_pending(const char *root, const yv_vm *vm, yv_vmset_result *out)
{
    out->pending_known = yv_vmset_pending(root, vm, out->pending, &out->npending) == 0;
    if (out->pending_known) return;
    for (size_t i = 0; i < out->nchanged; i++) /* what this set changed is not in that QEMU */
        if (!(out->live_password && !strcmp(out->changed[i], "vnc_password")))
            out->pending[out->npending++] = out->changed[i];
}

static int set_locked(const char *root, const yv_config *cfg, const char *name,
                      const yv_vmset_opts *o, yv_vmset_result *out, yv_err *err)
{
    yv_vm vm, was;
    yv_vnctable t = {0};
    if (yv_vm_load(&was, root, name, err) < 0) return -1;
    if (yv_vm_load(&vm, root, name, err) < 0) return yv_vm_done(&was), -1;
    char *dir = yv_root_vm_dir(root, name);
    apply_hw(&vm, o);
    int rc = apply_net(root, cfg, &vm, o, err), stale = 0;
    /* under the lock, so the display or port chosen is no other VM's when written */
    if (rc == 0 && (o->new_display || o->new_ports) && yv_vmstate_live_pid(root, cfg, name) <= 0)
        rc = yv_vmmove_held(root, cfg, &vm, o->new_display, o->new_ports, &out->moved, err);
    if (rc == 0 && o->expect && !yv_vmmove_within(&out->moved, o->expect)) {
        char text[512];
        yv_vmmove_text(&out->moved, text, sizeof text);
        out->elsewhere = true;
        rc = yv_err_set(err, YV_E_FAIL,
                        "what VM '%s' was to move to is no longer free: now %s (not moved)", name,
                        text);
    }
    if (rc == 0) rc = stale = table_stale(root, &vm, o, &t, err);
    if (rc > 0) rc = 0;
    if (rc == 0) rc = check_display(root, cfg, &vm, &was, &t, err);
    if (rc == 0) out->nchanged = yv_vmset_diff(&vm, &was, out->changed);
    bool table = rc == 0 && (stale > 0 || str_differs(vm.vnc_display, was.vnc_display));
    if (rc == 0 && (out->nchanged || table)) /* a new display: the config and the table together */
        rc = table ? save_table(root, dir, &vm, &t, err) : yv_vm_save(&vm, dir, err);
    yv_vnctable_done(&t);
    out->running = rc == 0 && yv_vmstate_live_pid(root, cfg, name) > 0;
    if (out->running && o->vnc_password && password_differs(root, &vm, &was))
        out->live_password = password_live(root, &vm);
    if (out->running) fill_pending(root, &vm, out);
    free(dir);
    yv_vm_done(&vm);
    yv_vm_done(&was);
    return rc;
}

int yv_vmset(const char *root, const yv_config *cfg, const char *name, const yv_vmset_opts *o,
             yv_vmset_result *out, yv_err *err)
{
    memset(out, 0, sizeof *out);
    if (yv_valid_name(name, err) < 0 || yv_vmset_check(o, err) < 0) return -1;
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    char *dir = yv_root_vm_dir(root, name);
    bool there = yv_root_exists(dir);
    free(dir);
    if (!there) {
        yv_root_unlock(lock);
        return yv_err_set(err, YV_E_VM_NOT_FOUND, "VM '%s' not found", name);
    }
    /* the start mark: refused while a `run` starts the VM (it sets the password it read); one a
     * killed run abandoned is settled first (web and TUI callers do not tidy before) */
    int mark = yv_vmstate_start_take(root, cfg, name, err);
    int rc = mark < 0 ? -1 : set_locked(root, cfg, name, o, out, err);
    yv_vmstate_start_end(root, name, mark);
    yv_root_unlock(lock);
    return rc;
}

/* The error of a start refused for what another program holds (proposal: where it would go). */
static int refuse_held(const char *root, const yv_config *cfg, const char *name, const yv_vmmove *m,
                       yv_err *err)
{
    yv_vm vm;
    if (m->display)
        return yv_err_set(err, YV_E_FAIL,
                          "VNC display :%d (port %d on %s) of VM '%s' is in use by another "
                          "program: run --new-display moves it to :%d",
                          m->display_from, 5900 + m->display_from, cfg->vnc_listen, name,
                          m->display_to);
    /* the port's holder named as run's pre-flight names it, the way out after it */
    if (yv_vm_load(&vm, root, name, err) == 0 && yv_forward_check_free(&vm, err) == 0)
        yv_err_set(err, YV_E_VM_EXISTS, "a forward port of VM '%s' is in use", name);
    yv_vm_done(&vm);
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, ": run --new-ports moves it to %d", m->ports[0].to);
    return -1;
}

int yv_vmset_move_held(const char *root, const yv_config *cfg, const char *name, bool display,
                       bool ports, yv_vmmove *moved, yv_vmmove *proposal, yv_err *err)
{
    return yv_vmset_move_held_to(root, cfg, name, display, ports, NULL, moved, proposal, err);
}

int yv_vmset_move_held_to(const char *root, const yv_config *cfg, const char *name, bool display,
                          bool ports, const yv_vmmove *expect, yv_vmmove *moved,
                          yv_vmmove *proposal, yv_err *err)
{
    yv_vmset_opts o;
    yv_vmset_result r;
    yv_vm vm;
    memset(moved, 0, sizeof *moved);
    memset(proposal, 0, sizeof *proposal);
    yv_vmset_defaults(&o);
    o.new_display = display;
    o.new_ports = ports;
    o.expect = expect;
    /* what was not asked for first: a refused start moves nothing */
    if (!display || !ports) {
        if (yv_vm_load(&vm, root, name, err) < 0) return -1;
        int rc = yv_vmmove_held(root, cfg, &vm, !display, !ports, proposal, err);
        yv_vm_done(&vm);
        if (rc < 0) return -1;
        if (proposal->display || proposal->nports)
            return refuse_held(root, cfg, name, proposal, err);
    }
    if (!display && !ports) return 0;
    if (yv_vmset(root, cfg, name, &o, &r, err) < 0) {
        if (r.elsewhere) *proposal = r.moved; /* asked again, with where now */
        return -1;
    }
    *moved = r.moved;
    return 0;
}
