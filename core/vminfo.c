#include "vminfo.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autostart.h"
#include "metrics.h"
#include "netdev.h"
#include "qmp.h"
#include "qga.h"
#include "root.h"
#include "util.h"
#include "valid.h"
#include "vmset.h"
#include "vmstate.h"
#include "vnccheck.h"

static const char *const state_names[] = {
    [YV_STATE_STOPPED] = "stopped",
    [YV_STATE_STARTING] = "starting",
    [YV_STATE_INSTALLING] = "installing",
    [YV_STATE_RUNNING] = "running",
    [YV_STATE_PAUSED] = "paused",
    [YV_STATE_SHUTTING_DOWN] = "shutting-down",
    [YV_STATE_ERROR] = "error",
    [YV_STATE_CRASHED] = "crashed",
    [YV_STATE_UNRESPONSIVE] = "unresponsive",
    [YV_STATE_INVALID] = "invalid",
};

const char *yv_vminfo_state_name(yv_state s)
{
    return state_names[s];
}

int yv_vminfo_state_parse(const char *name, yv_state *out)
{
    for (size_t i = 0; name && i < sizeof state_names / sizeof *state_names; i++)
        if (state_names[i] && !strcmp(name, state_names[i])) return *out = (yv_state)i, 0;
    return -1;
}

int yv_vminfo_load(yv_vminfo *info, const char *root, const char *name, yv_err *err)
{
    yv_err e;
    memset(info, 0, sizeof *info);
    if (yv_valid_name(name, err) < 0) return -1;
    if (yv_vm_load(&info->vm, root, name, &e) < 0) {
        if (e.code == YV_E_VM_NOT_FOUND) return *err = e, -1;
        info->problem = yv_strdup(e.msg);
        info->state = YV_STATE_INVALID;
    } else {
        info->valid = true;
        info->state = YV_STATE_STOPPED;
    }
    info->name = yv_strdup(name);
    info->dir = yv_root_vm_dir(root, name);
    yv_strlist marks; /* a broken autostart.yaml leaves the key out: status still shows the VM */
    info->autostart = yv_autostart_load(&marks, root, &e) < 0 ? -1 : yv_autostart_has(&marks, name);
    yv_strlist_free(&marks);
    return 0;
}

void yv_vminfo_probe(yv_vminfo *info, const char *root, const yv_config *cfg, int timeout_ms)
{
    yv_vmstate st;
    yv_vmstate_probe(root, cfg, info->name, timeout_ms, &st);
    info->pid = st.pid;
    info->agent_open = st.agent_open;
    info->qmp_busy = st.qmp_busy;
    snprintf(info->detail, sizeof info->detail, "%s", st.detail);
    if (info->valid) info->state = st.state; /* a broken config stays `invalid`, pid shown */
    int disp = info->valid ? yv_valid_display_number(info->vm.vnc_display) : -1;
    if (st.pid > 0 && disp >= 0)
        info->vnc = yv_vnccheck_probe(cfg->vnc_listen, 5900 + disp, timeout_ms);
    info->pending_known = info->valid && st.pid > 0 &&
                          yv_vmset_pending(root, &info->vm, info->pending, &info->npending) == 0;
}

void yv_vminfo_pending_text(const yv_vminfo *info, char *buf, size_t len)
{
    char list[160];
    yv_join(info->pending, info->npending, "", list, sizeof list);
    snprintf(buf, len, "[%s]", list);
}

void yv_vminfo_done(yv_vminfo *info)
{
    if (!info) return;
    free(info->name);
    free(info->dir);
    free(info->problem);
    if (info->valid) yv_vm_done(&info->vm);
    yv_addrs_done(&info->addrs);
    memset(info, 0, sizeof *info);
}

/* Its QEMU's CPU time: the process clock (one system call), -1 when it cannot be read. */
static double cpu_seconds(pid_t pid)
{
    clockid_t clk;
    struct timespec ts;
    if (clock_getcpuclockid(pid, &clk) != 0 || clock_gettime(clk, &ts) != 0) return -1;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage_net(yv_vminfo_usage *u, const yv_vm *vm)
{
    for (size_t i = 0; i < vm->nnets; i++) {
        char tap[16];
        uint64_t r, t;
        if (vm->nets[i].type != YV_NET_TAP) continue;
        yv_vm_tap_name(vm, i, tap);
        if (yv_netdev_stats(tap, &r, &t) < 0) continue;
        u->net_rx += t; /* the TAP's transmit is what the guest receives */
        u->net_tx += r;
        u->net_known = true;
    }
}

void yv_vminfo_usage_probe(yv_vminfo *info, const char *root, int timeout_ms)
{
    yv_vminfo_usage *u = &info->usage;
    memset(u, 0, sizeof *u);
    if (!info->valid || info->pid <= 0) return;
    u->known = true;
    u->rss = yv_metrics_read_rss((pid_t)info->pid);
    u->cpu_s = cpu_seconds((pid_t)info->pid);
    usage_net(u, &info->vm);
    /* QMP only where the probe's exchange went through: a busy or silent one would wait it out */
    if ((info->state != YV_STATE_RUNNING && info->state != YV_STATE_PAUSED) || info->qmp_busy)
        return;
    char *sock = yv_vmstate_sockfile(root, info->name);
    json_t *ret = NULL;
    yv_err e;
    if (yv_qmp_once(sock, "query-blockstats", NULL, &ret, timeout_ms, &e) == 0)
        u->disk_known = yv_metrics_parse_blockstats(ret, &u->disk_rd, &u->disk_wr) == 0;
    json_decref(ret);
    free(sock);
}

static json_t *usage_json(const yv_vminfo_usage *u)
{
    json_t *o = json_object();
    if (u->rss) json_object_set_new(o, "rss_bytes", json_integer((json_int_t)u->rss));
    if (u->cpu_s >= 0) json_object_set_new(o, "cpu_seconds", json_real(u->cpu_s));
    if (u->disk_known) {
        json_object_set_new(o, "disk_read_bytes", json_integer((json_int_t)u->disk_rd));
        json_object_set_new(o, "disk_written_bytes", json_integer((json_int_t)u->disk_wr));
    }
    if (u->net_known) {
        json_object_set_new(o, "net_rx_bytes", json_integer((json_int_t)u->net_rx));
        json_object_set_new(o, "net_tx_bytes", json_integer((json_int_t)u->net_tx));
    }
    return o;
}

/* One VM's addresses once its agent was asked (or not: agent NULL). */
static void address_one(yv_vminfo *info, const yv_addrs *agent)
{
    yv_addrs neigh = {0};
    yv_err e;
    if ((!agent || !agent->n) && yv_addr_has_tap(&info->vm))
        yv_addr_from_neighbours(&info->vm, &neigh, &e); /* none readable: none shown */
    yv_addrs_done(&info->addrs);
    yv_addr_combine(&info->vm, agent, &neigh, &info->addrs);
    yv_addrs_done(&neigh);
}

void yv_vminfo_addresses(yv_vminfo *v, size_t n, const char *root)
{
    char **paths = yv_calloc(n ? n : 1, sizeof *paths);
    yv_addrs *agent = yv_calloc(n ? n : 1, sizeof *agent);
    /* a paused guest's agent cannot answer: not asked */
    for (size_t i = 0; i < n; i++)
        if (v[i].valid && v[i].pid > 0 && v[i].state == YV_STATE_RUNNING && v[i].agent_open)
            paths[i] = yv_vmstate_qgafile(root, v[i].name);
    yv_addr_agent_many((const char *const *)paths, agent, n, YV_QGA_SYNC_MS, YV_QGA_CALL_MS);
    for (size_t i = 0; i < n; i++) {
        if (v[i].valid && v[i].pid > 0) address_one(&v[i], &agent[i]);
        yv_addrs_done(&agent[i]);
        free(paths[i]);
    }
    free(paths);
    free(agent);
}

int yv_vminfo_list(const char *root, yv_vminfo **out, size_t *n, yv_err *err)
{
    size_t count;
    char **names = yv_root_list_suffix(root, ".vm", &count, err);
    if (!names) return -1;
    yv_vminfo *v = yv_calloc(count ? count : 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        yv_err e;
        /* a folder whose name is not a valid VM name is not ours to show */
        if (yv_vminfo_load(&v[k], root, names[i], &e) == 0) k++;
    }
    yv_root_free_names(names, count);
    *out = v;
    *n = k;
    return 0;
}

void yv_vminfo_free_list(yv_vminfo *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) yv_vminfo_done(&v[i]);
    free(v);
}

const char *yv_vminfo_master(const yv_net *n, const yv_config *cfg)
{
    return n->master ? n->master : cfg->network_master;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *vnc_json(const yv_vminfo *info, const yv_config *cfg)
{
    int disp = yv_valid_display_number(info->vm.vnc_display);
    if (disp < 0) return json_null();
    json_t *o =
        json_pack("{s:s, s:i, s:s, s:b}", "display", info->vm.vnc_display, "port", 5900 + disp,
                  "listen", cfg->vnc_listen, "reachable", info->vnc == YV_VNC_REACHABLE);
    if (info->vnc) json_object_set_new(o, "check", json_string(yv_vnccheck_result_name(info->vnc)));
    return o;
}

static json_t *drives_json(const yv_vminfo *info)
{
    json_t *a = json_array();
    for (size_t i = 0; i < info->vm.ndrives; i++) {
        const yv_drive *d = &info->vm.drives[i];
        char *path = yv_vm_drive_path(&info->vm, info->dir, d);
        json_t *o = json_pack("{s:s, s:s, s:s}", "id", d->id, "path", path, "type",
                              yv_vm_drive_type_name(d->type));
        free(path);
        if (d->type == YV_DRIVE_IDE)
            json_object_set_new(o, "media_type", json_string(yv_vm_media_name(d->media)));
        json_object_set_new(o, "boot_index",
                            d->boot_index >= 0 ? json_integer(d->boot_index) : json_null());
        json_array_append_new(a, o);
    }
    return a;
}

json_t *yv_vminfo_forwards_json(const yv_net *n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n->nforwards; i++) {
        const yv_forward *f = &n->forwards[i];
        json_array_append_new(a,
                              json_pack("{s:s, s:s, s:i, s:i}", "proto", yv_vm_proto_name(f->proto),
                                        "address", f->address, "host", f->host, "guest", f->guest));
    }
    return a;
}

void yv_vminfo_forwards_text(const yv_net *n, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n->nforwards && at < len; i++) {
        const yv_forward *f = &n->forwards[i];
        bool local = !strcmp(f->address, "127.0.0.1");
        int w =
            snprintf(buf + at, len - at, "%s%s%s%d->%d%s", i ? " " : "", local ? "" : f->address,
                     local ? "" : ":", f->host, f->guest, f->proto == YV_PROTO_UDP ? "/udp" : "");
        at += w > 0 ? (size_t)w : 0;
    }
}

static json_t *nets_json(const yv_vminfo *info, const yv_config *cfg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < info->vm.nnets; i++) {
        const yv_net *n = &info->vm.nets[i];
        char tap[16];
        if (n->type == YV_NET_USER) {
            json_array_append_new(a,
                                  json_pack("{s:s, s:s, s:s, s:o}", "id", n->id, "type", "user",
                                            "mac", n->mac, "forwards", yv_vminfo_forwards_json(n)));
            continue;
        }
        yv_vm_tap_name(&info->vm, i, tap);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", n->id, "type", "tap",
                                           "mac", n->mac, "master",
                                           str_or_null(yv_vminfo_master(n, cfg)), "ifname", tap));
    }
    return a;
}

json_t *yv_vminfo_json(const yv_vminfo *info, const yv_config *cfg)
{
    json_t *o;
    if (!info->valid)
        o = json_pack("{s:s, s:s, s:o, s:o}", "name", info->name, "state", state_names[info->state],
                      "problem", str_or_null(info->problem), "pid",
                      info->pid ? json_integer(info->pid) : json_null());
    else
        o = json_pack("{s:s, s:s, s:o, s:I, s:I, s:b, s:o, s:o, s:o}", "name", info->name, "state",
                      state_names[info->state], "pid",
                      info->pid ? json_integer(info->pid) : json_null(), "memory",
                      (json_int_t)info->vm.memory, "vcpu", (json_int_t)info->vm.vcpu, "ovmf",
                      info->vm.ovmf, "vnc", vnc_json(info, cfg), "drives", drives_json(info),
                      "networks", nets_json(info, cfg));
    if (info->valid) json_object_set_new(o, "addresses", yv_addr_json(&info->addrs));
    if (info->usage.known) json_object_set_new(o, "usage", usage_json(&info->usage));
    if (info->autostart >= 0) json_object_set_new(o, "autostart", json_boolean(info->autostart));
    if (info->detail[0]) json_object_set_new(o, "detail", json_string(info->detail));
    if (info->pending_known) {
        json_t *p = json_array();
        for (size_t i = 0; i < info->npending; i++)
            json_array_append_new(p, json_string(info->pending[i]));
        json_object_set_new(o, "pending", p);
    }
    return o;
}
