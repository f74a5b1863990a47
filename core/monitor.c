#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan_qmp.h"
#include "ops.h"
#include "proc.h"
#include "root.h"
#include "storage.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"

typedef enum { SLOT_PIDFD, SLOT_QMP, SLOT_VNC } slot_kind;

typedef struct {
    yv_monitor_vm pub;
    struct stat cfg_st;
    bool seen;
    bool creating; /* another process is building it (create, a preset's first boot) */
    int pidfd;
    bool pidfd_polled; /* in the last poll set: only then does the pidfd stand for proof of life */
    yv_proc_sampler stat;   /* CPU and uptime, while running */
    yv_chan_qmp_watch *qmp; /* while running: its state, by QMP */
    int64_t next_cpu;
    yv_vnccheck *vnc;
    int64_t next_vnc;
} entry;

typedef struct {
    entry *e;
    slot_kind kind;
} slot;

struct yv_monitor {
    char *root;
    const yv_config *cfg;
    yv_monitor_opts o;
    entry **v;
    size_t n;
    int64_t next_scan;
    slot *slots;
    size_t nslots;
    char *qemu_real;  /* resolved once: PATH lookups for every VM every second cost more than all
                         else */
    char **run_names; /* during a rescan: what run/ holds, sorted (NULL: unknown) */
    size_t nrun;
};

/* ---- timers ---- */

/* The first multiple of period after now. Every VM's timers fall on the same ticks, so a refresh
 * of twenty VMs is one wakeup that sends twenty queries, not twenty wakeups. */
static int64_t next_tick(int64_t now, int period)
{
    return (now / period + 1) * period;
}

/* A VNC server that answered is QEMU's own: it stays up while QEMU's main loop runs, and a hung
 * main loop shows in QMP first (which re-probes at once). So it is re-checked less often. */
enum { VNC_OK_MS = 30000 };

/* ---- entries ---- */

static void entry_stop_watching(entry *e)
{
    if (e->pidfd >= 0) close(e->pidfd);
    e->pidfd = -1;
    yv_proc_sampler_done(&e->stat);
    yv_chan_qmp_watch_free(e->qmp);
    e->qmp = NULL;
    yv_vnccheck_free(e->vnc);
    e->vnc = NULL;
}

static void entry_free(entry *e)
{
    entry_stop_watching(e);
    free(e->pub.name);
    free(e->pub.problem);
    if (e->pub.valid) yv_vm_done(&e->pub.vm);
    free(e);
}

static void entry_load_config(yv_monitor *m, entry *e, const struct stat *st)
{
    yv_err err;
    if (e->pub.valid) yv_vm_done(&e->pub.vm);
    free(e->pub.problem);
    e->pub.problem = NULL;
    e->pub.valid = yv_vm_load(&e->pub.vm, m->root, e->pub.name, &err) == 0;
    if (!e->pub.valid) e->pub.problem = yv_strdup(err.msg);
    e->cfg_st = *st;
    e->pub.disk_size = 0;
    if (e->pub.valid && e->pub.vm.ndrives) {
        char *dir = yv_root_vm_dir(m->root, e->pub.name);
        char *p = yv_vm_drive_path(&e->pub.vm, dir, &e->pub.vm.drives[0]);
        e->pub.disk_size = yv_storage_qcow2_size(p);
        free(p);
        free(dir);
    }
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The state of a live QEMU, as QMP or its absence tells it; a VM whose config is broken shows
 * `invalid` whatever its process does (the problem is what the user must fix). */
static void set_live_state(entry *e, yv_state st)
{
    e->pub.state = e->pub.valid ? st : YV_STATE_INVALID;
}

/* What QMP last told, shown (its watch is the only writer of a live VM's state and detail). */
static void show_qmp_view(entry *e)
{
    const yv_chan_qmp_view *v = yv_chan_qmp_watch_view(e->qmp);
    set_live_state(e, v->state);
    snprintf(e->pub.detail, sizeof e->pub.detail, "%s", v->detail);
    snprintf(e->pub.qmp_status, sizeof e->pub.qmp_status, "%s", v->status);
}

static void sample_cpu(entry *e, int64_t now)
{
    yv_proc_sample(&e->stat, now, &e->pub.cpu, &e->pub.uptime_s);
}

/* ---- liveness ---- */

static void became_live(yv_monitor *m, entry *e, pid_t pid, int64_t now)
{
    e->pub.pid = pid;
    set_live_state(e, YV_STATE_RUNNING);
    e->pub.detail[0] = '\0';
    e->pub.cpu = -1;
    e->pub.vnc = 0;
    e->pidfd = yv_proc_pidfd_open(pid);
    yv_proc_sampler_init(&e->stat, pid);
    char *sock = yv_vmstate_sockfile(m->root, e->pub.name);
    char *events = yv_vmstate_eventsfile(m->root, e->pub.name);
    e->qmp = yv_chan_qmp_watch_new(sock, events, m->o.refresh_ms, m->o.qmp_timeout_ms, now);
    free(sock);
    free(events);
    e->next_cpu = next_tick(now, m->o.refresh_ms);
    e->next_vnc = now;
    sample_cpu(e, now);
}

/* A VM that is not running: stopped, or crashed when QEMU left its runtime files behind (cleaned
 * here when the root lock is free; a `run` holding it is starting a QEMU right now). */
static void settle_dead(yv_monitor *m, entry *e)
{
    char *pidfile = yv_vmstate_pidfile(m->root, e->pub.name);
    char *sock = yv_vmstate_sockfile(m->root, e->pub.name);
    char *crash = yv_vmstate_crashfile(m->root, e->pub.name);
    if (yv_root_exists(pidfile) || yv_root_exists(sock)) {
        int lock = yv_root_trylock(m->root);
        if (lock >= 0) {
            yv_vmstate_clean_stale(m->root, m->cfg, e->pub.name, true);
            yv_root_unlock(lock);
        }
    }
    bool crashed = yv_root_exists(crash);
    e->pub.state = crashed ? YV_STATE_CRASHED : YV_STATE_STOPPED;
    snprintf(e->pub.detail, sizeof e->pub.detail, "%s",
             crashed ? "QEMU died without a clean shutdown" : "");
    if (!e->pub.valid) e->pub.state = YV_STATE_INVALID;
    free(pidfile);
    free(sock);
    free(crash);
}

/* Its QEMU died (or was replaced): nothing of that process is kept, not even its descriptors. */
static void forget_process(entry *e)
{
    entry_stop_watching(e);
    e->pub.pid = 0;
    e->pub.cpu = -1;
    e->pub.uptime_s = -1;
    e->pub.vnc = 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether run/ holds any file of this VM (pidfile, sockets, crash record), by the listing taken
 * once per rescan: a VM with none is stopped, and a thousand such VMs cost no system call each. */
static bool has_runtime_files(const yv_monitor *m, const char *name)
{
    static const char *const suffixes[] = {".pid", ".sock", ".events", ".crashed"};
    if (!m->run_names) return true; /* unknown: look */
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char file[128], *key = file;
        snprintf(file, sizeof file, "%s%s", name, suffixes[i]);
        if (m->nrun && bsearch(&key, m->run_names, m->nrun, sizeof *m->run_names, cmp_name))
            return true;
    }
    return false;
}

static void check_liveness(yv_monitor *m, entry *e, int64_t now)
{
    if (!has_runtime_files(m, e->pub.name)) {
        if (e->pub.pid > 0) forget_process(e);
        e->pub.state = e->pub.valid ? YV_STATE_STOPPED : YV_STATE_INVALID;
        e->pub.detail[0] = '\0';
        return;
    }
    if (!m->qemu_real) m->qemu_real = yv_vmstate_qemu_real(m->cfg);
    pid_t live = yv_vmstate_live_pid_of(m->root, m->cfg, e->pub.name, m->qemu_real);
    if (live > 0 && live == e->pub.pid) return;
    if (e->pub.pid > 0) forget_process(e);
    if (live > 0) became_live(m, e, live, now);
    else settle_dead(m, e);
}

/* ---- scanning ---- */

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(entry *const *)a)->pub.name, (*(entry *const *)b)->pub.name);
}

static entry *find_entry(yv_monitor *m, const char *name)
{
    entry key, *kp = &key, **hit;
    key.pub.name = (char *)name;
    hit = m->n ? bsearch(&kp, m->v, m->n, sizeof *m->v, cmp_entry) : NULL;
    return hit ? *hit : NULL;
}

static entry *add_entry(yv_monitor *m, const char *name)
{
    entry *e = yv_calloc(1, sizeof *e);
    e->pub.name = yv_strdup(name);
    e->pub.cpu = -1;
    e->pub.uptime_s = -1;
    e->pidfd = -1;
    yv_proc_sampler_init(&e->stat, 0);
    m->v = yv_realloc(m->v, (m->n + 1) * sizeof *m->v);
    m->v[m->n++] = e;
    return e;
}

static void refresh_entry(yv_monitor *m, entry *e, int64_t now)
{
    if (e->creating) {
        e->pub.state = YV_STATE_INSTALLING;
        snprintf(e->pub.detail, sizeof e->pub.detail, "being created");
        return;
    }
    char *dir = yv_root_vm_dir(m->root, e->pub.name), *cfgp = yv_root_join(dir, "config.yaml");
    struct stat st;
    memset(&st, 0, sizeof st);
    stat(cfgp, &st);
    if (!e->cfg_st.st_ino || !same_file(&st, &e->cfg_st)) entry_load_config(m, e, &st);
    free(cfgp);
    free(dir);
    /* A QEMU we hold a pidfd for is proven alive until the pidfd says otherwise (its death wakes
     * the loop and rescans at once): no pidfile, lock or /proc/PID/exe to read every second. */
    if (e->pidfd >= 0 && e->pidfd_polled && e->pub.pid > 0) {
        if (e->qmp) show_qmp_view(e); /* its config may have broken, or been mended */
        return;
    }
    check_liveness(m, e, now);
}

/* During a rescan the first nold entries are sorted, the ones it added are not yet. */
static entry *find_old(yv_monitor *m, size_t nold, const char *name)
{
    entry key, *kp = &key, **hit;
    key.pub.name = (char *)name;
    hit = nold ? bsearch(&kp, m->v, nold, sizeof *m->v, cmp_entry) : NULL;
    return hit ? *hit : NULL;
}

/* Old or added by this rescan (a linear look at the few added), so a VM whose folder appeared
 * while its create still holds the .part lock is not listed twice. */
static entry *find_any(yv_monitor *m, size_t nold, const char *name)
{
    entry *e = find_old(m, nold, name);
    for (size_t i = nold; !e && i < m->n; i++)
        if (!strcmp(m->v[i]->pub.name, name)) e = m->v[i];
    return e;
}

static void rescan(yv_monitor *m, int64_t now)
{
    size_t n, nold = m->n;
    yv_err err;
    char **names = yv_root_list_suffix(m->root, ".vm", &n, &err);
    char *run = yv_root_path(m->root, "run");
    m->run_names = yv_root_list_suffix(run, "", &m->nrun, &err); /* sorted with strcmp */
    free(run);
    for (size_t i = 0; i < m->n; i++) m->v[i]->seen = false;
    /* lookups use the sorted old entries; new ones are appended and sorted once at the end */
    for (size_t i = 0; names && i < n; i++) {
        if (yv_valid_name(names[i], &err) < 0) continue;
        entry *e = find_old(m, nold, names[i]); /* the listing names each folder once */
        if (!e) e = add_entry(m, names[i]);
        e->seen = true;
        e->creating = false; /* its real folder exists */
        refresh_entry(m, e, now);
    }
    yv_root_free_names(names, n);
    /* VMs still under construction show as `installing` until their folder gets its name */
    names = yv_ops_in_creation(m->root, m->cfg, false, &n); /* and reaps what killed creates left */
    for (size_t i = 0; i < n; i++) {
        entry *e = find_any(m, nold, names[i]);
        if (e && e->seen) continue; /* the real folder exists already */
        if (!e) e = add_entry(m, names[i]);
        e->seen = e->creating = true;
        refresh_entry(m, e, now);
    }
    yv_root_free_names(names, n);
    yv_root_free_names(m->run_names, m->nrun);
    m->run_names = NULL;
    m->nrun = 0;
    /* Removing entries keeps the order; any new one (even with as many gone: same count) must be
     * sorted in, or lookups by name (bsearch) miss and the TUI acts on the wrong row */
    bool added = m->n > nold;
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i]->seen) m->v[k++] = m->v[i];
        else entry_free(m->v[i]);
    }
    m->n = k;
    if (added) qsort(m->v, m->n, sizeof *m->v, cmp_entry);
    m->next_scan = next_tick(now, m->o.rescan_ms);
}

/* ---- VNC ---- */

static void vnc_start(yv_monitor *m, entry *e, int64_t now)
{
    int disp = e->pub.valid ? yv_valid_display_number(e->pub.vm.vnc_display) : -1;
    bool ok = e->pub.vnc == YV_VNC_REACHABLE && e->pub.state == YV_STATE_RUNNING;
    e->next_vnc = next_tick(now, ok && m->o.vnc_ms < VNC_OK_MS ? VNC_OK_MS : m->o.vnc_ms);
    if (disp < 0) return;
    e->vnc = yv_vnccheck_start(m->cfg->vnc_listen, 5900 + disp, now + 1500);
}

static bool vnc_progress(entry *e, short revents)
{
    yv_vnc_result r = yv_vnccheck_handle(e->vnc, revents);
    if (r == YV_VNC_PENDING) return false;
    bool changed = e->pub.vnc != r;
    e->pub.vnc = r;
    yv_vnccheck_free(e->vnc);
    e->vnc = NULL;
    return changed;
}

/* ---- public ---- */

yv_monitor *yv_monitor_new(const char *root, const yv_config *cfg, const yv_monitor_opts *opts)
{
    yv_monitor *m = yv_calloc(1, sizeof *m);
    m->root = yv_strdup(root);
    m->cfg = cfg;
    m->o = opts ? *opts : (yv_monitor_opts){0};
    if (m->o.refresh_ms <= 0) m->o.refresh_ms = 1000;
    if (m->o.rescan_ms <= 0) m->o.rescan_ms = 1000;
    if (m->o.vnc_ms <= 0) m->o.vnc_ms = 5000;
    if (m->o.qmp_timeout_ms <= 0) m->o.qmp_timeout_ms = 1000;
    rescan(m, yv_now_ms());
    return m;
}

void yv_monitor_free(yv_monitor *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) entry_free(m->v[i]);
    free(m->v);
    free(m->slots);
    free(m->qemu_real);
    free(m->root);
    free(m);
}

static bool add_slot(yv_monitor *m, struct pollfd *fds, size_t max, size_t *k, int fd, short ev,
                     entry *e, slot_kind kind)
{
    if (*k >= max || fd < 0) return false;
    fds[*k] = (struct pollfd){fd, ev, 0};
    m->slots[(*k)++] = (slot){e, kind};
    return true;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

size_t yv_monitor_pollfds(yv_monitor *m, struct pollfd *fds, size_t max, int *timeout_ms)
{
    size_t k = 0;
    int64_t now = yv_now_ms(), next = m->next_scan;
    m->slots = yv_realloc(m->slots, (max ? max : 1) * sizeof *m->slots);
    /* pidfds first: when the set is full, a VM left out is re-proven by every rescan instead */
    for (size_t i = 0; i < m->n; i++)
        m->v[i]->pidfd_polled =
            add_slot(m, fds, max, &k, m->v[i]->pidfd, POLLIN, m->v[i], SLOT_PIDFD);
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        struct pollfd p;
        if (e->pub.pid <= 0 || !e->qmp) continue;
        if (yv_chan_qmp_watch_pollfd(e->qmp, &p))
            add_slot(m, fds, max, &k, p.fd, p.events, e, SLOT_QMP);
        next = min64(next, min64(yv_chan_qmp_watch_due(e->qmp), e->next_cpu));
        if (e->vnc) {
            add_slot(m, fds, max, &k, yv_vnccheck_fd(e->vnc), yv_vnccheck_poll_events(e->vnc), e,
                     SLOT_VNC);
            next = min64(next, now + 100); /* its deadline is checked on every pass */
        } else {
            next = min64(next, e->next_vnc);
        }
    }
    m->nslots = k;
    int t = next <= now ? 0 : (int)min64(next - now, 60000);
    if (*timeout_ms < 0 || t < *timeout_ms) *timeout_ms = t;
    return k;
}

/* Feeds the VM's QMP watch (revents 0: its timers only) and shows what it tells. */
static bool qmp_step(entry *e, short revents, int64_t now)
{
    yv_state before = e->pub.state;
    char before_detail[sizeof e->pub.detail];
    memcpy(before_detail, e->pub.detail, sizeof before_detail);
    unsigned f = yv_chan_qmp_watch_handle(e->qmp, revents, now);
    if ((f & YV_CHAN_QMP_HUNG) && !e->vnc) e->next_vnc = now; /* does its VNC server answer? */
    show_qmp_view(e);
    return e->pub.state != before || strcmp(before_detail, e->pub.detail) != 0;
}

static bool run_timers(yv_monitor *m, int64_t now)
{
    bool changed = false;
    if (now >= m->next_scan) {
        rescan(m, now);
        changed = true;
    }
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        if (e->pub.pid <= 0 || !e->qmp) continue;
        changed |= qmp_step(e, 0, now);
        if (now >= e->next_cpu) {
            e->next_cpu = next_tick(now, m->o.refresh_ms);
            sample_cpu(e, now);
        }
        if (e->vnc) changed |= vnc_progress(e, 0);
        else if (now >= e->next_vnc) vnc_start(m, e, now);
    }
    return changed;
}

bool yv_monitor_dispatch(yv_monitor *m, const struct pollfd *fds, size_t n)
{
    bool changed = false, died = false;
    int64_t now = yv_now_ms();
    for (size_t i = 0; i < n && i < m->nslots; i++) {
        entry *e = m->slots[i].e;
        if (!fds[i].revents) continue;
        switch (m->slots[i].kind) {
        case SLOT_PIDFD: /* it exited: the rescan below settles what it left (crashed or not) */
            forget_process(e);
            died = true;
            break;
        case SLOT_QMP:
            if (e->qmp) changed |= qmp_step(e, fds[i].revents, now);
            break;
        case SLOT_VNC:
            if (e->vnc) changed |= vnc_progress(e, fds[i].revents);
            break;
        }
    }
    now = yv_now_ms();
    if (died) m->next_scan = now; /* a QEMU exited: show it at once */
    changed |= run_timers(m, now);
    return changed;
}

void yv_monitor_poke(yv_monitor *m)
{
    int64_t now = yv_now_ms();
    m->next_scan = now;
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        if (e->qmp) yv_chan_qmp_watch_poke(e->qmp, now);
        e->next_cpu = now;
        e->next_vnc = now;
    }
}

size_t yv_monitor_count(const yv_monitor *m)
{
    return m->n;
}

const yv_monitor_vm *yv_monitor_get(const yv_monitor *m, size_t i)
{
    return i < m->n ? &m->v[i]->pub : NULL;
}

const yv_monitor_vm *yv_monitor_find(const yv_monitor *m, const char *name)
{
    entry *e = find_entry((yv_monitor *)m, name);
    return e ? &e->pub : NULL;
}
