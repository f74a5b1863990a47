#include "vmlive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "netdev.h"
#include "qemuargv.h"
#include "root.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"

/* A VNC server that answered is QEMU's own: it stays up while QEMU's main loop runs, and a hung
 * main loop shows in QMP first (which re-probes at once). So it is re-checked less often, and not
 * at all while QMP answers for that main loop (no detail: not busy with another client). */
enum { VNC_OK_MS = 30000 };

int64_t yv_vmlive_next_tick(int64_t now, int period)
{
    return (now / period + 1) * period;
}

void yv_vmlive_init(yv_vmlive *l, const yv_vmlive_env *env, yv_monitor_vm *row,
                    void (*load)(void *owner), void *owner)
{
    memset(l, 0, sizeof *l);
    l->env = env;
    l->row = row;
    l->load = load;
    l->owner = owner;
    l->pidfd = -1;
    l->statm_fd = -1;
    yv_proc_sampler_init(&l->stat, 0);
}

bool yv_vmlive_running(const yv_vmlive *l)
{
    return l->qmp != NULL;
}

/* The state of a live QEMU, as QMP or its absence tells it; a VM whose config is broken shows
 * `invalid` whatever its process does (the problem is what the user must fix). */
static void set_live_state(yv_vmlive *l, yv_state st)
{
    l->row->state = l->broken ? YV_STATE_INVALID : st;
}

/* What QMP last told, shown (its watch is the only writer of a live VM's state and detail). */
void yv_vmlive_show_qmp(yv_vmlive *l)
{
    if (!l->qmp) return;
    const yv_chan_qmp_view *v = yv_chan_qmp_watch_view(l->qmp);
    set_live_state(l, v->state);
    snprintf(l->row->detail, sizeof l->row->detail, "%s", v->detail);
    snprintf(l->row->qmp_status, sizeof l->row->qmp_status, "%s", v->status);
}

/* One read of /proc/PID/stat: CPU since the last sample, and a QEMU the kernel stopped (SIGSTOP,
 * a tracer) answers no query: its QMP is asked at once, which then tells it is unresponsive. */
static void sample_cpu(yv_vmlive *l, int64_t now)
{
    yv_proc_sample(&l->stat, now, &l->row->cpu, &l->row->uptime_s);
    bool stopped = l->stat.state == 'T' || l->stat.state == 't';
    if (stopped && l->qmp && l->row->state != YV_STATE_UNRESPONSIVE)
        yv_chan_qmp_watch_poke(l->qmp, now);
}

/* Its QEMU pid is proven alive: the row shows it running, its conversations begin. */
static void start(yv_vmlive *l, pid_t pid, int64_t now)
{
    const yv_vmlive_env *env = l->env;
    const char *name = l->row->name;
    l->row->pid = pid;
    set_live_state(l, YV_STATE_RUNNING);
    l->row->detail[0] = '\0';
    l->row->cpu = -1;
    l->row->vnc = 0;
    l->pidfd = yv_proc_pidfd_open(pid);
    yv_proc_sampler_init(&l->stat, pid);
    char *sock = yv_vmstate_sockfile(env->root, name);
    char *events = yv_vmstate_eventsfile(env->root, name);
    l->qmp = yv_chan_qmp_watch_new(sock, events, env->refresh_ms, env->qmp_timeout_ms, now);
    yv_chan_qmp_watch_port_events(l->qmp, yv_proc_has_arg(pid, YV_QEMUARGV_AGENT_DEVICE));
    char *qga = yv_vmstate_qgafile(env->root, name);
    l->addr = yv_addr_watch_new(qga, now);
    free(qga);
    free(sock);
    free(events);
    l->next_vnc = now;
    sample_cpu(l, now); /* its start time: the uptime needs no more reads */
}

void yv_vmlive_stop(yv_vmlive *l)
{
    if (l->pidfd >= 0) close(l->pidfd);
    l->pidfd = -1;
    yv_proc_sampler_done(&l->stat);
    yv_chan_qmp_watch_free(l->qmp);
    l->qmp = NULL;
    yv_addr_watch_free(l->addr);
    l->addr = NULL;
    yv_addrs_done(&l->row->addrs);
    yv_vnccheck_free(l->vnc);
    l->vnc = NULL;
    if (l->statm_fd >= 0) close(l->statm_fd); /* before its PID can be reused */
    l->statm_fd = -1;
    free(l->row->metrics); /* a new QEMU's counters start again */
    l->row->metrics = NULL;
    l->met_at = l->blk_fed = l->net_fed = 0;
    l->row->pid = 0;
    l->row->cpu = -1;
    l->row->uptime_s = -1;
    l->row->vnc = 0;
}

/* ---- liveness ---- */

/* A VM that is not running: stopped, or crashed when QEMU left its runtime files behind (cleaned
 * here when the root lock is free; a `run` holding it is starting a QEMU right now). */
static void settle_dead(yv_vmlive *l, yv_vmlive_scan *scan)
{
    const char *root = l->env->root, *name = l->row->name;
    char *pidfile = yv_vmstate_pidfile(root, name);
    char *sock = yv_vmstate_sockfile(root, name);
    char *crash = yv_vmstate_crashfile(root, name);
    if (yv_root_exists(pidfile) || yv_root_exists(sock)) {
        scan->starting = true; /* a run starting it, or our cleaning: look again */
        int lock = yv_root_trylock(root);
        if (lock >= 0) {
            yv_vmstate_clean_stale(root, l->env->cfg, name, true);
            yv_root_unlock(lock);
        }
    }
    bool crashed = yv_root_exists(crash);
    l->row->state = crashed ? YV_STATE_CRASHED : YV_STATE_STOPPED;
    snprintf(l->row->detail, sizeof l->row->detail, "%s",
             crashed ? "QEMU died without a clean shutdown" : "");
    if (l->broken) l->row->state = YV_STATE_INVALID;
    free(pidfile);
    free(sock);
    free(crash);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether run/ holds any file of this VM (pidfile, sockets, crash record), by the listing taken
 * once per rescan: a VM with none is stopped, and a thousand such VMs cost no system call each. */
static bool has_runtime_files(const yv_vmlive_scan *scan, const char *name)
{
    static const char *const suffixes[] = {".pid", ".sock", ".events", ".crashed"};
    if (!scan->run_names) return true; /* unknown: look */
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char file[128], *key = file;
        snprintf(file, sizeof file, "%s%s", name, suffixes[i]);
        if (scan->nrun &&
            bsearch(&key, scan->run_names, scan->nrun, sizeof *scan->run_names, cmp_name))
            return true;
    }
    return false;
}

void yv_vmlive_check(yv_vmlive *l, yv_vmlive_scan *scan, int64_t now)
{
    yv_monitor_vm *v = l->row;
    /* A QEMU we hold a pidfd for is proven alive until the pidfd says otherwise (its death wakes
     * the loop and rescans at once): no pidfile, lock or /proc/PID/exe to read every second. */
    if (l->pidfd >= 0 && l->pidfd_polled && v->pid > 0) {
        yv_vmlive_show_qmp(l); /* its config may have broken, or been mended */
        return;
    }
    if (!has_runtime_files(scan, v->name)) {
        if (v->pid > 0) yv_vmlive_stop(l);
        v->state = l->broken ? YV_STATE_INVALID : YV_STATE_STOPPED;
        v->detail[0] = '\0';
        return;
    }
    pid_t live = yv_vmstate_live_pid(l->env->root, l->env->cfg, v->name);
    if (live > 0 && live == v->pid) return;
    if (v->pid > 0) yv_vmlive_stop(l);
    if (live > 0) start(l, live, now);
    else settle_dead(l, scan);
    if (live > 0 && l->pidfd < 0) scan->unsettled = true; /* its death is seen by rescans */
}

void yv_vmlive_poke(yv_vmlive *l, int64_t now)
{
    if (l->qmp) yv_chan_qmp_watch_poke(l->qmp, now);
    l->next_vnc = now;
}

/* ---- VNC ---- */

static void vnc_start(yv_vmlive *l, int64_t now)
{
    const yv_vmlive_env *env = l->env;
    l->load(l->owner);
    const yv_monitor_vm *v = l->row;
    int disp = v->valid ? yv_valid_display_number(v->vm.vnc_display) : -1;
    bool ok = v->vnc == YV_VNC_REACHABLE && v->state == YV_STATE_RUNNING;
    l->next_vnc = yv_vmlive_next_tick(now, ok && env->vnc_ms < VNC_OK_MS ? VNC_OK_MS : env->vnc_ms);
    if (disp < 0) return;
    l->vnc = yv_vnccheck_start(env->cfg->vnc_listen, 5900 + disp, now + 1500);
}

static bool vnc_progress(yv_vmlive *l, short revents)
{
    yv_vnc_result r = yv_vnccheck_handle(l->vnc, revents);
    if (r == YV_VNC_PENDING) return false;
    if (r == YV_VNC_REACHABLE && l->row->state == YV_STATE_RUNNING && !l->row->detail[0])
        l->next_vnc = INT64_MAX; /* its QMP's hang, an action of ours, a new QEMU re-probe it */
    bool changed = l->row->vnc != r;
    l->row->vnc = r;
    yv_vnccheck_free(l->vnc);
    l->vnc = NULL;
    return changed;
}

/* ---- QMP and the guest agent ---- */

/* A query-blockstats answer that came since the last: its counters, at the time it was asked.
 * Rates that changed are a change of the view, drawn now: left to the row's next frame they
 * showed a refresh late (dd's end in a guest showed as 0 up to 3 s after, spec §15's bound). An
 * idle VM's rates stay 0: no frame of their own. */
static bool feed_blockstats(yv_vmlive *l)
{
    const yv_chan_qmp_view *v = yv_chan_qmp_watch_view(l->qmp);
    yv_metrics *x = l->row->metrics;
    if (!x || v->blk_at <= l->blk_fed) return false;
    double rd = x->rate[YV_MET_DISK_RD], wr = x->rate[YV_MET_DISK_WR];
    l->blk_fed = v->blk_at;
    yv_metrics_counter(x, YV_MET_DISK_RD, v->rd_bytes, v->blk_at);
    yv_metrics_counter(x, YV_MET_DISK_WR, v->wr_bytes, v->blk_at);
    return x->rate[YV_MET_DISK_RD] != rd || x->rate[YV_MET_DISK_WR] != wr;
}

/* Feeds the VM's QMP watch (revents 0: its timers only) and shows what it tells. */
static bool qmp_step(yv_vmlive *l, short revents, int64_t now)
{
    yv_monitor_vm *v = l->row;
    yv_state before = v->state;
    char before_detail[sizeof v->detail];
    memcpy(before_detail, v->detail, sizeof before_detail);
    unsigned f = yv_chan_qmp_watch_handle(l->qmp, revents, now);
    if ((f & YV_CHAN_QMP_HUNG) && !l->vnc) l->next_vnc = now; /* does its VNC server answer? */
    if ((f & YV_CHAN_QMP_AGENT) && l->addr) yv_addr_watch_poke(l->addr, now);
    yv_vmlive_show_qmp(l);
    bool rates = feed_blockstats(l);
    return rates || v->state != before || strcmp(before_detail, v->detail) != 0;
}

/* A VM without a TAP (its `user` network's traffic QEMU does not count): the guest's own counters
 * from its agent's answers to the address watch, a rate over their interval (about 30 s). */
static void feed_guest_net(yv_vmlive *l)
{
    uint64_t rx, tx;
    int64_t at;
    yv_monitor_vm *v = l->row;
    if (!v->metrics || !v->valid || yv_vm_has_tap(&v->vm)) return;
    if (!yv_addr_watch_net(l->addr, &rx, &tx, &at) || at <= l->net_fed) return;
    l->net_fed = at;
    yv_metrics_counter(v->metrics, YV_MET_NET_RX, rx, at);
    yv_metrics_counter(v->metrics, YV_MET_NET_TX, tx, at);
}

/* The agent as QMP tells it: a guest that never opened its port is not asked (the exchange would
 * wait out the sync deadline, then look for another client of the socket, every YV_ADDR_WATCH_MS
 * for every such VM); a paused guest's agent cannot answer. */
static yv_addr_agent agent_mode(const yv_vmlive *l)
{
    if (yv_chan_qmp_watch_view(l->qmp)->agent == YV_AGENT_CLOSED) return YV_ADDR_GONE;
    return l->row->state == YV_STATE_RUNNING ? YV_ADDR_ASK : YV_ADDR_KEEP;
}

/* An exchange not under way waits while QMP is being asked about the agent's port (its answer
 * comes within the QMP timeout, or the conversation ends): asking the agent before would be the
 * very wait the answer spares. */
static bool addr_waits(const yv_vmlive *l)
{
    return !yv_addr_watch_busy(l->addr) && yv_chan_qmp_watch_agent_pending(l->qmp);
}

/* Feeds the VM's address watch (revents 0: its timers only); true when its addresses changed.
 * The config (forwards, MACs) is read when an exchange is about to start. */
static bool addr_step(yv_vmlive *l, short revents, int64_t now)
{
    yv_monitor_vm *v = l->row;
    if (!l->addr || addr_waits(l)) return false;
    if (yv_addr_watch_due(l->addr) <= now) l->load(l->owner);
    bool changed =
        yv_addr_watch_handle(l->addr, v->valid ? &v->vm : NULL, agent_mode(l), revents, now);
    feed_guest_net(l);
    if (!changed) return false;
    const yv_addrs *a = yv_addr_watch_addrs(l->addr);
    yv_addrs_done(&v->addrs);
    for (size_t i = 0; i < a->n; i++)
        yv_addrs_add(&v->addrs, a->v[i].ip, a->v[i].port, a->v[i].source);
    return true;
}

/* ---- scheduling ---- */

static void add_fd(int fd, short ev, yv_vmlive_chan chan, bool quiet, struct pollfd *fds,
                   yv_vmlive_chan *chans, size_t *n)
{
    if (quiet && !(ev & POLLOUT)) return; /* it only waits for input while answers gather */
    fds[*n] = (struct pollfd){fd, ev, 0};
    chans[(*n)++] = chan;
}

int64_t yv_vmlive_pollfds(yv_vmlive *l, bool quiet, int64_t now, struct pollfd *fds,
                          yv_vmlive_chan *chans, size_t *n)
{
    struct pollfd p;
    int64_t next = yv_chan_qmp_watch_due(l->qmp), t;
    *n = 0;
    if (yv_chan_qmp_watch_pollfd(l->qmp, &p))
        add_fd(p.fd, p.events, YV_VMLIVE_QMP, quiet, fds, chans, n);
    if (l->addr) {
        if (!addr_waits(l) && (t = yv_addr_watch_due(l->addr)) < next) next = t;
        if (yv_addr_watch_pollfd(l->addr, &p))
            add_fd(p.fd, p.events, YV_VMLIVE_QGA, quiet, fds, chans, n);
    }
    if (!l->vnc) return l->next_vnc < next ? l->next_vnc : next;
    add_fd(yv_vnccheck_fd(l->vnc), yv_vnccheck_poll_events(l->vnc), YV_VMLIVE_VNC, quiet, fds,
           chans, n);
    return now + 100 < next ? now + 100 : next; /* its deadline is checked on every pass */
}

bool yv_vmlive_handle(yv_vmlive *l, yv_vmlive_chan chan, short revents, int64_t now)
{
    switch (chan) { /* a descriptor of a QEMU that died earlier in this dispatch: nothing */
    case YV_VMLIVE_QMP: return l->qmp && qmp_step(l, revents, now);
    case YV_VMLIVE_QGA: return addr_step(l, revents, now);
    case YV_VMLIVE_VNC: return l->vnc && vnc_progress(l, revents);
    }
    return false;
}

bool yv_vmlive_timers(yv_vmlive *l, int64_t now, bool *asked)
{
    bool changed = false;
    *asked |= yv_chan_qmp_watch_due(l->qmp) <= now;
    changed |= qmp_step(l, 0, now);
    changed |= addr_step(l, 0, now);
    if (l->vnc) {
        changed |= vnc_progress(l, 0);
    } else if (now >= l->next_vnc) {
        vnc_start(l, now);
        *asked = true;
    }
    return changed;
}

/* ---- CPU, uptime, metrics ---- */

void yv_vmlive_sample(yv_vmlive *l, int64_t now)
{
    if (!l->stat.at || now - l->stat.at >= (int64_t)l->env->refresh_ms * 9 / 10) sample_cpu(l, now);
}

void yv_vmlive_shown(yv_vmlive *l, int64_t now)
{
    if (l->addr) yv_addr_watch_shown(l->addr);
    yv_vmlive_sample(l, now); /* a frame drawn for a key in between keeps the last figure */
    l->row->uptime_s = yv_proc_sampler_uptime(&l->stat);
}

long yv_vmlive_uptime(const yv_vmlive *l)
{
    return yv_proc_sampler_uptime(&l->stat);
}

/* The TAPs' counters summed, as the guest sees them (a TAP's transmit is the guest's receive). */
static void sample_net(const yv_monitor_vm *v, yv_metrics *x, int64_t now)
{
    uint64_t rx = 0, tx = 0;
    bool any = false;
    for (size_t i = 0; v->valid && i < v->vm.nnets; i++) {
        char tap[16];
        uint64_t r, t;
        if (v->vm.nets[i].type != YV_NET_TAP) continue;
        yv_vm_tap_name(&v->vm, i, tap);
        if (yv_netdev_stats(tap, &r, &t) < 0) continue;
        rx += t;
        tx += r;
        any = true;
    }
    if (!any) {
        if (v->valid && yv_vm_has_tap(&v->vm)) { /* its TAP is gone */
            yv_metrics_unknown(x, YV_MET_NET_RX);
            yv_metrics_unknown(x, YV_MET_NET_TX);
        }
        return; /* no TAP: the agent's counters tell, if any (feed_guest_net) */
    }
    yv_metrics_counter(x, YV_MET_NET_RX, rx, now);
    yv_metrics_counter(x, YV_MET_NET_TX, tx, now);
}

/* Skipped, the disk rates stay the last measured: 50 idle VMs would cost 50 queries and answers
 * a second. */
void yv_vmlive_metrics(yv_vmlive *l, int64_t now, bool every)
{
    yv_monitor_vm *v = l->row;
    if (l->met_at && now - l->met_at < (int64_t)l->env->refresh_ms * 9 / 10) return;
    if (!v->metrics) {
        v->metrics = yv_calloc(1, sizeof *v->metrics);
        yv_metrics_init(v->metrics);
    }
    l->met_at = now;
    v->metrics->rss = yv_metrics_read_rss_at(&l->statm_fd, v->pid);
    yv_metrics_gauge(v->metrics, YV_MET_CPU, v->cpu);
    sample_net(v, v->metrics, now);
    if (yv_metrics_disk_due(v->metrics, v->cpu, now, every) && l->qmp)
        yv_chan_qmp_watch_want_blockstats(l->qmp, now);
}
