#include "vmmove.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "util.h"
#include "valid.h"
#include "vnctable.h"

typedef struct {
    const char *self;
    int *v;
    size_t n;
} displays;

/* The displays of every other VM config of the root (and of creates under way). */
static void note_display(const yv_vm *vm, void *ctx)
{
    displays *d = ctx;
    int disp = yv_valid_display_number(vm->vnc_display);
    if (disp < 0 || !strcmp(vm->name, d->self)) return;
    d->v = yv_realloc(d->v, (d->n + 1) * sizeof *d->v);
    d->v[d->n++] = disp;
}

static bool port_usable(int display, void *listen)
{
    return yv_vnctable_port_free(listen, display);
}

static int move_display(const char *root, const yv_config *cfg, yv_vm *vm, yv_vmmove *m,
                        yv_err *err)
{
    int from = yv_valid_display_number(vm->vnc_display);
    if (from < 0 || yv_vnctable_port_free(cfg->vnc_listen, from)) return 0;
    yv_vnctable t = {0};
    displays d = {vm->name, NULL, 0};
    if (yv_vnctable_load(&t, root, err) < 0) return -1;
    yv_vm_each(root, note_display, &d);
    yv_vm_each_part(root, note_display, &d);
    int to = yv_vnctable_pick(&t, d.v, d.n, port_usable, (void *)cfg->vnc_listen);
    yv_vnctable_done(&t);
    free(d.v);
    if (to < 0) return yv_err_set(err, YV_E_FAIL, "no free VNC display left for VM '%s'", vm->name);
    char buf[16];
    snprintf(buf, sizeof buf, ":%d", to);
    free(vm->vnc_display);
    vm->vnc_display = yv_strdup(buf);
    m->display = true;
    m->display_from = from;
    m->display_to = to;
    return 0;
}

/* A host port for forward f: above the held one, no other VM's, not another of vm's, bindable. */
static int free_port(const yv_forward_uses *u, const yv_vm *vm, const yv_forward *f)
{
    for (int p = f->host + 1; p <= 65535; p++) {
        yv_forward probe = *f;
        probe.host = p;
        if (yv_forward_used_by(u, vm->name, f->proto, p) || yv_vm_find_forward(vm, f->proto, p))
            continue;
        if (yv_forward_host_free(&probe)) return p;
    }
    return -1;
}

static int move_ports(const char *root, yv_vm *vm, yv_vmmove *m, yv_err *err)
{
    yv_forward_uses u = {0};
    bool collected = false; /* the root's forwards read only when one is held: a run's usual
                             * check looks at its own VM alone (issue 16) */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < vm->nnets; i++)
        for (size_t j = 0; rc == 0 && j < vm->nets[i].nforwards; j++) {
            yv_forward *f = &vm->nets[i].forwards[j];
            if (yv_forward_bind_errno(f) != EADDRINUSE) continue;
            if (!collected) yv_forward_collect(root, &u);
            collected = true;
            int to = free_port(&u, vm, f);
            if (to < 0 || m->nports == YV_VMMOVE_PORTS)
                rc = yv_err_set(err, YV_E_FAIL, "no free %s port left above %d for VM '%s'",
                                yv_vm_proto_name(f->proto), f->host, vm->name);
            else {
                yv_vmmove_port *p = &m->ports[m->nports++];
                p->proto = f->proto;
                snprintf(p->address, sizeof p->address, "%s", f->address ? f->address : "");
                p->from = f->host;
                p->to = f->host = to;
            }
        }
    if (collected) yv_forward_uses_done(&u);
    return rc;
}

int yv_vmmove_held(const char *root, const yv_config *cfg, yv_vm *vm, bool display, bool ports,
                   yv_vmmove *m, yv_err *err)
{
    memset(m, 0, sizeof *m);
    if (display && move_display(root, cfg, vm, m, err) < 0) return -1;
    if (ports && move_ports(root, vm, m, err) < 0) return -1;
    return 0;
}

json_t *yv_vmmove_json(const yv_vmmove *m)
{
    json_t *j = json_object(), *opts = json_array();
    char from[16], to[16];
    if (m->display) {
        snprintf(from, sizeof from, ":%d", m->display_from);
        snprintf(to, sizeof to, ":%d", m->display_to);
        json_object_set_new(j, "display", json_pack("{s:s, s:s}", "from", from, "to", to));
        json_array_append_new(opts, json_string("new-display"));
    }
    if (m->nports) {
        json_t *a = json_array();
        for (size_t i = 0; i < m->nports; i++)
            json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i}", "proto",
                                               yv_vm_proto_name(m->ports[i].proto), "address",
                                               m->ports[i].address, "from", m->ports[i].from, "to",
                                               m->ports[i].to));
        json_object_set_new(j, "forwards", a);
        json_array_append_new(opts, json_string("new-ports"));
    }
    json_object_set_new(j, "options", opts);
    return j;
}

void yv_vmmove_text(const yv_vmmove *m, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    if (m->display)
        at += (size_t)snprintf(buf, n, "VNC display :%d -> :%d", m->display_from, m->display_to);
    for (size_t i = 0; i < m->nports && at < n; i++)
        at +=
            (size_t)snprintf(buf + at, n - at, "%s%s port %d -> %d", at ? ", " : "",
                             yv_vm_proto_name(m->ports[i].proto), m->ports[i].from, m->ports[i].to);
}

bool yv_vmmove_within(const yv_vmmove *moved, const yv_vmmove *expect)
{
    if (moved->display && expect->display && moved->display_to != expect->display_to) return false;
    for (size_t i = 0; expect->nports && i < moved->nports; i++) {
        const yv_vmmove_port *p = &moved->ports[i];
        size_t k = 0;
        while (k < expect->nports &&
               (expect->ports[k].proto != p->proto || expect->ports[k].from != p->from))
            k++;
        if (k == expect->nports || expect->ports[k].to != p->to) return false;
    }
    return true;
}
