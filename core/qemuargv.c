#include "qemuargv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "root.h"
#include "storage.h"
#include "uefivars.h"
#include "util.h"
#include "valid.h"

void yv_argv_add(yv_argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = yv_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = yv_strdup(s);
    a->v[a->n] = NULL;
}

void yv_argv_addf(yv_argv *a, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    yv_argv_add(a, s);
    free(s);
}

void yv_argv_free(yv_argv *a)
{
    for (size_t i = 0; i < a->n; i++) free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

char *yv_qemuargv_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) n += *p == ',' ? 2 : 1;
    char *out = yv_malloc(n + 1), *w = out;
    for (const char *p = s; *p; p++) {
        *w++ = *p;
        if (*p == ',') *w++ = ',';
    }
    *w = '\0';
    return out;
}

/* Adds "-opt" and a value "prefix<escaped path>suffix". */
static void add_path_opt(yv_argv *a, const char *opt, const char *prefix, const char *path,
                         const char *suffix)
{
    char *e = yv_qemuargv_escape(path);
    yv_argv_add(a, opt);
    yv_argv_addf(a, "%s%s%s", prefix, e, suffix);
    free(e);
}

static void add_machine(const yv_vm *vm, const yv_qemuargv_host *h, yv_argv *a)
{
    char *sock = yv_asprintf("%s/run/%s.sock", h->root, vm->name);
    char *events = yv_asprintf("%s/run/%s.events", h->root, vm->name);
    char *pid = yv_asprintf("%s/run/%s.pid", h->root, vm->name);
    yv_argv_add(a, "-accel");
    yv_argv_add(a, h->accel == YV_ACCEL_KVM ? "kvm" : "tcg");
    add_path_opt(a, "-qmp", "unix:", sock, ",server=on,wait=off");
    /* the TUI's event stream: held open by one TUI, so the socket above stays free */
    add_path_opt(a, "-qmp", "unix:", events, ",server=on,wait=off");
    if (h->paused) yv_argv_add(a, "-S");
    yv_argv_add(a, "-name");
    yv_argv_add(a, vm->name);
    yv_argv_add(a, "-m");
    yv_argv_addf(a, "%ldM", vm->memory);
    yv_argv_add(a, "-cpu");
    yv_argv_add(a, h->accel == YV_ACCEL_KVM ? "host" : "max");
    yv_argv_add(a, "-smp");
    yv_argv_addf(a, "%ld", vm->vcpu);
    yv_argv_add(a, "-device");
    yv_argv_add(a, "virtio-vga");
    yv_argv_add(a, "-nodefaults");
    yv_argv_add(a, "-pidfile");
    yv_argv_add(a, pid); /* a plain path, not an option string: no escaping */
    free(sock);
    free(events);
    free(pid);
}

static void add_drive(const yv_vm *vm, const yv_qemuargv_host *h, const yv_drive *d, yv_argv *a)
{
    char *path = yv_root_join(h->vm_dir, d->path), *e = yv_qemuargv_escape(path);
    bool cd = d->type == YV_DRIVE_IDE && d->media == YV_MEDIA_CD;
    (void)vm;
    yv_argv_add(a, "-drive");
    /* node-name: what the QMP snapshot jobs (core/snapshot.c) name the drive by */
    yv_argv_addf(a, "file=%s,format=%s,if=none,id=%s,node-name=%s%s%s%s", e,
                 yv_storage_format_of(path), d->id, YV_QEMUARGV_NODE_PREFIX, d->id,
                 cd ? ",media=cdrom" : "", cd ? ",readonly=on" : "");
    yv_argv_add(a, "-device");
    const char *dev = d->type == YV_DRIVE_VIRTIO_BLK ? "virtio-blk-pci" : cd ? "ide-cd" : "ide-hd";
    if (d->boot_index >= 0) yv_argv_addf(a, "%s,drive=%s,bootindex=%ld", dev, d->id, d->boot_index);
    else yv_argv_addf(a, "%s,drive=%s", dev, d->id);
    free(e);
    free(path);
}

static void add_firmware(const yv_qemuargv_host *h, yv_argv *a)
{
    char *vars = yv_root_join(h->vm_dir, YV_UEFIVARS_FILE);
    add_path_opt(a, "-drive", "if=pflash,format=raw,readonly=on,file=", h->ovmf_code, "");
    /* qcow2 (core/uefivars.c): the variables take part in internal snapshots */
    add_path_opt(a, "-drive", "if=pflash,format=qcow2,node-name=" YV_UEFIVARS_NODE ",file=", vars,
                 "");
    free(vars);
}

static void add_vnc(const yv_vm *vm, const yv_qemuargv_host *h, yv_argv *a)
{
    int disp = yv_valid_display_number(vm->vnc_display);
    if (disp < 0) {
        yv_argv_add(a, "-display");
        yv_argv_add(a, "none");
        return;
    }
    bool v6 = strchr(h->vnc_listen, ':') != NULL;
    yv_argv_add(a, "-vnc");
    yv_argv_addf(a, "%s%s%s:%d,password=on", v6 ? "[" : "", h->vnc_listen, v6 ? "]" : "", disp);
}

void yv_qemuargv_hostfwd(const yv_forward *f, bool with_guest, char out[YV_HOSTFWD_MAX])
{
    int n =
        snprintf(out, YV_HOSTFWD_MAX, "%s:%s:%d", yv_vm_proto_name(f->proto), f->address, f->host);
    if (with_guest && n > 0) snprintf(out + n, (size_t)(YV_HOSTFWD_MAX - n), "-:%d", f->guest);
}

/* QEMU's user-mode network (slirp): no TAP, no root; its forwards listen on the host. */
static void add_user_net(const yv_net *n, yv_argv *a)
{
    size_t len = 64 + n->nforwards * (YV_HOSTFWD_MAX + 9);
    char *opt = yv_malloc(len);
    int at = snprintf(opt, len, "user,id=%s", n->id);
    for (size_t i = 0; i < n->nforwards; i++) {
        char rule[YV_HOSTFWD_MAX];
        yv_qemuargv_hostfwd(&n->forwards[i], true, rule);
        at += snprintf(opt + at, len - (size_t)at, ",hostfwd=%s", rule);
    }
    yv_argv_add(a, "-netdev");
    yv_argv_add(a, opt);
    yv_argv_add(a, "-device");
    yv_argv_addf(a, "virtio-net-pci,netdev=%s,mac=%s", n->id, n->mac);
    free(opt);
}

static void add_net(const yv_vm *vm, size_t i, const yv_qemuargv_host *h, yv_argv *a)
{
    const yv_net *n = &vm->nets[i];
    if (n->type == YV_NET_USER) {
        add_user_net(n, a);
        return;
    }
    char *up = yv_qemuargv_escape(h->netdevup), *down = yv_qemuargv_escape(h->netdevdown);
    char tap[16];
    yv_vm_tap_name(vm, i, tap);
    yv_argv_add(a, "-netdev");
    yv_argv_addf(a, "tap,id=%s,ifname=%s,script=%s,downscript=%s", n->id, tap, up, down);
    yv_argv_add(a, "-device");
    yv_argv_addf(a, "virtio-net-pci,netdev=%s,mac=%s", n->id, n->mac);
    free(up);
    free(down);
}

/* The serial console and the guest agent (spec §11): two sockets in run/ that QEMU serves, one
 * client at a time. Everything the guest prints is logged to serial.log whether or not a client is
 * attached (QEMU truncates it at start, as the former `-serial file:` did). */
static void add_console_and_agent(const yv_vm *vm, const yv_qemuargv_host *h, yv_argv *a)
{
    char *console = yv_asprintf("%s/run/%s.console", h->root, vm->name);
    char *qga = yv_asprintf("%s/run/%s.qga", h->root, vm->name);
    char *log = yv_root_join(h->vm_dir, "serial.log");
    char *ec = yv_qemuargv_escape(console), *el = yv_qemuargv_escape(log);
    yv_argv_add(a, "-chardev");
    yv_argv_addf(a, "socket,id=console0,path=%s,server=on,wait=off,logfile=%s", ec, el);
    yv_argv_add(a, "-serial");
    yv_argv_add(a, "chardev:console0");
    add_path_opt(a, "-chardev", "socket,id=qga0,path=", qga, ",server=on,wait=off");
    yv_argv_add(a, "-device");
    yv_argv_add(a, "virtio-serial-pci");
    yv_argv_add(a, "-device");
    yv_argv_add(a, YV_QEMUARGV_AGENT_DEVICE);
    free(ec);
    free(el);
    free(console);
    free(qga);
    free(log);
}

void yv_qemuargv_build(const yv_vm *vm, const yv_qemuargv_host *h, yv_argv *out)
{
    memset(out, 0, sizeof *out);
    yv_argv_add(out, h->qemu);
    add_machine(vm, h, out);
    for (size_t i = 0; i < vm->ndrives; i++) add_drive(vm, h, &vm->drives[i], out);
    if (vm->ovmf) add_firmware(h, out);
    add_vnc(vm, h, out);
    for (size_t i = 0; i < vm->nnets; i++) add_net(vm, i, h, out);
    add_console_and_agent(vm, h, out);
}
