#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan_qmp.h"
#include "netdev.h"
#include "ops.h"
#include "remote.h"
#include "proc.h"
#include "root.h"
#include "storage.h"
#include "util.h"
#include "valid.h"
#include "vmstate.h"

typedef enum { SLOT_PIDFD, SLOT_QMP, SLOT_VNC, SLOT_INOTIFY, SLOT_QGA, SLOT_REMOTE } slot_kind;

typedef struct {
    yv_monitor_vm pub;
    struct stat cfg_st;
    bool seen;
    bool loaded;   /* its config read: at first sight only the name is known (a list of a thousand
                      paints before their configs are read); loaded when shown or asked for */
    bool creating; /* another process is building it (create, a preset's first boot) */
    int pidfd;
    bool pidfd_polled; /* in the last poll set: only then does the pidfd stand for proof of life */
    yv_proc_sampler stat;   /* CPU and uptime, while running */
    yv_chan_qmp_watch *qmp; /* while running: its state, by QMP */
    yv_addr_watch *addr;    /* while running: its addresses */
    yv_vnccheck *vnc;
    int64_t next_vnc;
    int64_t met_at;  /* when its metrics were last sampled */
    int64_t blk_fed; /* the time of the last blockstats counters fed to its metrics */
    int64_t net_fed; /* … and of the last guest agent's network counters */
    int statm_fd;    /* its QEMU's /proc/PID/statm once sampled, else -1 */
} entry;

typedef struct {
    entry *e;
    slot_kind kind;
    yv_remote *r; /* SLOT_REMOTE */
} slot;

struct yv_monitor {
    char *root;
    const yv_config *cfg;
    yv_monitor_opts o;
    entry **v;
    size_t n;
    int64_t next_scan; /* INT64_MAX: none due (inotify tells of every change) */
    int ino;           /* inotify on the root, run/ and each loaded VM's folder; -1: none, then the
                          root is rescanned every rescan_ms as before */
    int ino_root, ino_run;
    bool unsettled;      /* the last rescan left something only a later look settles */
    bool starting;       /* … a VM's runtime files without its proven QEMU: look again soon */
    size_t load_from;    /* entries before it have their config read (or are being created) */
    int64_t shown_at;    /* when a running VM's row was last shown (yv_monitor_row) */
    int64_t show_tick;   /* when the last tick for the shown rows came */
    int64_t next_show;   /* the tick at which the shown rows' CPU% and uptime change */
    int64_t quiet_until; /* answers to what a tick asked are read together then (GATHER_MS) */
    bool sample_all;     /* every running VM's CPU% each tick, not the shown rows' only (a list
                            sorted by CPU%: yv_monitor_sample_all) */
    bool metrics_all;    /* … and their metrics (a list sorted by one: yv_monitor_metrics_all) */
    slot *slots;
    size_t nslots;
    char *qemu_real;  /* resolved once: PATH lookups for every VM every second cost more than all
                         else */
    char **run_names; /* during a rescan: what run/ holds, sorted (NULL: unknown) */
    size_t nrun;
    yv_remote **hosts; /* spec §14: remote hosts, their rows after this machine's */
    size_t nhosts;
};

/* ---- timers ---- */

/* The first multiple of period after now. Every VM's timers fall on the same ticks, so a refresh
 * of twenty VMs is one wakeup that sends twenty queries, not twenty wakeups. */
static int64_t next_tick(int64_t now, int period)
{
    return (now / period + 1) * period;
}

/* A VNC server that answered is QEMU's own: it stays up while QEMU's main loop runs, and a hung
 * main loop shows in QMP first (which re-probes at once). So it is re-checked less often, and not
 * at all while QMP answers for that main loop (no detail: not busy with another client). */
enum { VNC_OK_MS = 30000 };

/* ---- entries ---- */

static void entry_stop_watching(entry *e)
{
    if (e->pidfd >= 0) close(e->pidfd);
    e->pidfd = -1;
    yv_proc_sampler_done(&e->stat);
    yv_chan_qmp_watch_free(e->qmp);
    e->qmp = NULL;
    yv_addr_watch_free(e->addr);
    e->addr = NULL;
    yv_addrs_done(&e->pub.addrs);
    yv_vnccheck_free(e->vnc);
    e->vnc = NULL;
    if (e->statm_fd >= 0) close(e->statm_fd); /* before its PID can be reused */
    e->statm_fd = -1;
    free(e->pub.metrics); /* a new QEMU's counters start again */
    e->pub.metrics = NULL;
    e->met_at = e->blk_fed = e->net_fed = 0;
}

static void entry_free(entry *e)
{
    entry_stop_watching(e);
    free(e->pub.name);
    free(e->pub.problem);
    if (e->pub.valid) yv_vm_done(&e->pub.vm);
    free(e);
}

/* ---- inotify: what changes in the root wakes the loop; nothing else does ---- */

/* Back to rescanning every rescan_ms (no inotify, or a folder it cannot watch). */
static void stop_inotify(yv_monitor *m)
{
    if (m->ino >= 0) close(m->ino);
    m->ino = -1;
    m->next_scan = 0;
}

enum {
    DIR_EVENTS = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW,
};

static void start_inotify(yv_monitor *m)
{
    char *run = yv_root_path(m->root, "run");
    m->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (m->ino >= 0) {
        m->ino_root = inotify_add_watch(m->ino, m->root, DIR_EVENTS);
        m->ino_run = inotify_add_watch(m->ino, run, DIR_EVENTS | IN_CLOSE_WRITE);
        if (m->ino_root < 0 || m->ino_run < 0) stop_inotify(m);
    }
    free(run);
}

/* A VM's folder, watched for its config being written, replaced or removed (before it is read:
 * a write in between is not missed). Never unwatched: a renamed folder keeps its one watch, which
 * its new entry shares; a removed one drops it by itself. */
static void watch_vm_dir(yv_monitor *m, const char *dir)
{
    if (m->ino >= 0 && inotify_add_watch(m->ino, dir, DIR_EVENTS | IN_CLOSE_WRITE) < 0)
        stop_inotify(m); /* a symlink, or the watch limit: rescans tell as before */
}

static bool is_runtime_name(const char *name)
{
    static const char *const suffixes[] = {".pid", ".sock", ".events", ".crashed"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (!strcmp(dot, suffixes[i])) return true;
    return false;
}

/* Whether an event can change the view: a folder in the root, a VM's runtime file (not the lock,
 * not a TUI's log), a VM's config. */
static bool event_matters(const yv_monitor *m, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) return true;
    if (ev->mask & IN_IGNORED) return false;
    const char *name = ev->len ? ev->name : "";
    if (ev->wd == m->ino_root) return true;
    if (ev->wd == m->ino_run) return is_runtime_name(name);
    return !strcmp(name, "config.yaml");
}

/* Drains the queue; true when a rescan is due. */
static bool read_inotify(yv_monitor *m)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool due = false;
    ssize_t r;
    while (m->ino >= 0 && (r = read(m->ino, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + r;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            due |= event_matters(m, ev);
            p += sizeof *ev + ev->len;
        }
    return due;
}

/* ---- configs ---- */

static void entry_load_config(yv_monitor *m, entry *e, const struct stat *st)
{
    yv_err err;
    if (e->pub.valid) yv_vm_done(&e->pub.vm);
    free(e->pub.problem);
    e->pub.problem = NULL;
    e->pub.valid = yv_vm_load(&e->pub.vm, m->root, e->pub.name, &err) == 0;
    if (!e->pub.valid) e->pub.problem = yv_strdup(err.msg);
    e->cfg_st = *st;
    e->loaded = true;
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

static bool broken(const entry *e)
{
    return e->loaded && !e->pub.valid; /* not read yet: its state shows until it is */
}

/* The state of a live QEMU, as QMP or its absence tells it; a VM whose config is broken shows
 * `invalid` whatever its process does (the problem is what the user must fix). */
static void set_live_state(entry *e, yv_state st)
{
    e->pub.state = broken(e) ? YV_STATE_INVALID : st;
}

/* Reads the config of an entry seen by name only (watching its folder first). */
static void ensure_loaded(yv_monitor *m, entry *e)
{
    if (e->loaded || e->creating) return;
    char *dir = yv_root_vm_dir(m->root, e->pub.name), *cfgp = yv_root_join(dir, "config.yaml");
    struct stat st;
    watch_vm_dir(m, dir);
    memset(&st, 0, sizeof st);
    stat(cfgp, &st);
    entry_load_config(m, e, &st);
    if (broken(e)) e->pub.state = YV_STATE_INVALID; /* its state was found before its config */
    free(cfgp);
    free(dir);
}

/* What QMP last told, shown (its watch is the only writer of a live VM's state and detail). */
static void show_qmp_view(entry *e)
{
    const yv_chan_qmp_view *v = yv_chan_qmp_watch_view(e->qmp);
    set_live_state(e, v->state);
    snprintf(e->pub.detail, sizeof e->pub.detail, "%s", v->detail);
    snprintf(e->pub.qmp_status, sizeof e->pub.qmp_status, "%s", v->status);
}

/* One read of /proc/PID/stat: CPU since the last sample, and a QEMU the kernel stopped (SIGSTOP,
 * a tracer) answers no query: its QMP is asked at once, which then tells it is unresponsive. */
static void sample_cpu(entry *e, int64_t now)
{
    yv_proc_sample(&e->stat, now, &e->pub.cpu, &e->pub.uptime_s);
    bool stopped = e->stat.state == 'T' || e->stat.state == 't';
    if (stopped && e->qmp && e->pub.state != YV_STATE_UNRESPONSIVE)
        yv_chan_qmp_watch_poke(e->qmp, now);
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
    char *qga = yv_vmstate_qgafile(m->root, e->pub.name);
    e->addr = yv_addr_watch_new(qga, now);
    free(qga);
    free(sock);
    free(events);
    e->next_vnc = now;
    sample_cpu(e, now); /* its start time: the uptime needs no more reads */
}

/* A VM that is not running: stopped, or crashed when QEMU left its runtime files behind (cleaned
 * here when the root lock is free; a `run` holding it is starting a QEMU right now). */
static void settle_dead(yv_monitor *m, entry *e)
{
    char *pidfile = yv_vmstate_pidfile(m->root, e->pub.name);
    char *sock = yv_vmstate_sockfile(m->root, e->pub.name);
    char *crash = yv_vmstate_crashfile(m->root, e->pub.name);
    if (yv_root_exists(pidfile) || yv_root_exists(sock)) {
        m->starting = true; /* a run starting it, or our cleaning: look again */
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
    if (broken(e)) e->pub.state = YV_STATE_INVALID;
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
        e->pub.state = broken(e) ? YV_STATE_INVALID : YV_STATE_STOPPED;
        e->pub.detail[0] = '\0';
        return;
    }
    if (!m->qemu_real) m->qemu_real = yv_vmstate_qemu_real(m->cfg);
    pid_t live = yv_vmstate_live_pid_of(m->root, m->cfg, e->pub.name, m->qemu_real);
    if (live > 0 && live == e->pub.pid) return;
    if (e->pub.pid > 0) forget_process(e);
    if (live > 0) became_live(m, e, live, now);
    else settle_dead(m, e);
    if (live > 0 && e->pidfd < 0) m->unsettled = true; /* no pidfd: its death is seen by rescans */
}

/* ---- scanning ---- */

enum { SETTLE_MS = 250 }; /* a divisor of the usual refresh: its ticks coincide */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

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
    e->statm_fd = -1;
    yv_proc_sampler_init(&e->stat, 0);
    m->load_from = 0; /* a config to read in the background */
    m->v = yv_realloc(m->v, (m->n + 1) * sizeof *m->v);
    m->v[m->n++] = e;
    return e;
}

static void refresh_entry(yv_monitor *m, entry *e, int64_t now)
{
    if (e->creating) {
        e->pub.state = YV_STATE_INSTALLING;
        snprintf(e->pub.detail, sizeof e->pub.detail, "being created");
        m->unsettled = true; /* a killed create leaves its folder without a word */
        return;
    }
    if (e->loaded) { /* else it is read when shown or in the background */
        char *dir = yv_root_vm_dir(m->root, e->pub.name), *cfgp = yv_root_join(dir, "config.yaml");
        struct stat st;
        memset(&st, 0, sizeof st);
        stat(cfgp, &st);
        if (!e->cfg_st.st_ino || !same_file(&st, &e->cfg_st)) {
            watch_vm_dir(m, dir); /* a folder replaced since: its watch follows the new one */
            entry_load_config(m, e, &st);
        }
        free(cfgp);
        free(dir);
    }
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
    m->unsettled = m->starting = false;
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
    size_t left;
    names = yv_ops_in_creation(m->root, m->cfg, false, &n, &left); /* reaps killed creates' too */
    for (size_t i = 0; i < n; i++) {
        entry *e = find_any(m, nold, names[i]);
        if (e && e->seen) continue; /* the real folder exists already */
        if (!e) e = add_entry(m, names[i]);
        e->seen = e->creating = true;
        refresh_entry(m, e, now);
    }
    yv_root_free_names(names, n);
    /* a killed create's folder not reaped (the root lock was held): no event says it is free */
    if (left) m->unsettled = true;
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
    if (k != m->n) m->load_from = 0; /* an entry not read yet may have moved before it */
    m->n = k;
    if (added) qsort(m->v, m->n, sizeof *m->v, cmp_entry);
    /* with inotify the next rescan waits for a change, unless something must settle first */
    m->next_scan = m->ino < 0 || m->unsettled ? next_tick(now, m->o.rescan_ms) : INT64_MAX;
    /* a QEMU being started tells nothing more once its pidfile and sockets exist */
    if (m->starting) m->next_scan = min64(m->next_scan, next_tick(now, SETTLE_MS));
}

/* ---- VNC ---- */

static void vnc_start(yv_monitor *m, entry *e, int64_t now)
{
    ensure_loaded(m, e);
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
    if (r == YV_VNC_REACHABLE && e->pub.state == YV_STATE_RUNNING && !e->pub.detail[0])
        e->next_vnc = INT64_MAX; /* its QMP's hang, an action of ours, a new QEMU re-probe it */
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
    m->ino = -1;
    m->next_show = INT64_MAX;
    start_inotify(m); /* before the first listing: a change in between is not missed */
    rescan(m, yv_now_ms());
    return m;
}

void yv_monitor_free(yv_monitor *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) entry_free(m->v[i]);
    for (size_t i = 0; i < m->nhosts; i++) yv_remote_free(m->hosts[i]);
    free(m->hosts);
    if (m->ino >= 0) close(m->ino);
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
    m->slots[(*k)++] = (slot){e, kind, NULL};
    return true;
}

/* Twenty VMs asked on one tick answer over some milliseconds, each answer a wakeup of its own (and
 * a VNC probe makes QEMU send VNC_* events on QMP after it): with several VMs running, after a tick
 * asked or an answer came only writes and connects are polled for this long, and what arrives is
 * read in one wakeup at its end (an event, or a step of a conversation, is late by as much at most;
 * a single VM is never kept waiting). */
enum { GATHER_MS = 100 };

static size_t local_running(const yv_monitor *m);

static void gather(yv_monitor *m, int64_t now)
{
    if (local_running(m) >= 2) m->quiet_until = now + GATHER_MS;
}

/* Its descriptor, unless it only waits for input while answers are being gathered. */
static void add_live_slot(yv_monitor *m, struct pollfd *fds, size_t max, size_t *k, int fd,
                          short ev, entry *e, slot_kind kind, bool quiet)
{
    if (!quiet || (ev & POLLOUT)) add_slot(m, fds, max, k, fd, ev, e, kind);
}

/* A running VM's QMP conversation and VNC probe: their descriptors, and when they next need us. */
static int64_t live_slots(yv_monitor *m, entry *e, struct pollfd *fds, size_t max, size_t *k,
                          int64_t now)
{
    struct pollfd p;
    bool quiet = now < m->quiet_until;
    int64_t next = yv_chan_qmp_watch_due(e->qmp);
    if (yv_chan_qmp_watch_pollfd(e->qmp, &p))
        add_live_slot(m, fds, max, k, p.fd, p.events, e, SLOT_QMP, quiet);
    if (e->addr) {
        next = min64(next, yv_addr_watch_due(e->addr));
        if (yv_addr_watch_pollfd(e->addr, &p))
            add_live_slot(m, fds, max, k, p.fd, p.events, e, SLOT_QGA, quiet);
    }
    if (!e->vnc) return min64(next, e->next_vnc);
    add_live_slot(m, fds, max, k, yv_vnccheck_fd(e->vnc), yv_vnccheck_poll_events(e->vnc), e,
                  SLOT_VNC, quiet);
    return min64(next, now + 100); /* its deadline is checked on every pass */
}

/* The shown rows of running VMs change every refresh (uptime, CPU%): one tick for all of them,
 * on the grid every other timer uses, and none once no such row was drawn since the last. */
static int64_t show_due(yv_monitor *m, int64_t now)
{
    bool shown = (m->shown_at && m->shown_at >= m->show_tick) ||
                 ((m->sample_all || m->metrics_all) && local_running(m) > 0);
    m->next_show = shown ? next_tick(now, m->o.refresh_ms) : INT64_MAX;
    return m->next_show;
}

size_t yv_monitor_pollfds(yv_monitor *m, struct pollfd *fds, size_t max, int *timeout_ms)
{
    size_t k = 0;
    int64_t now = yv_now_ms();
    m->slots = yv_realloc(m->slots, (max ? max : 1) * sizeof *m->slots);
    add_slot(m, fds, max, &k, m->ino, POLLIN, NULL, SLOT_INOTIFY);
    /* pidfds first: when the set is full, a VM left out is re-proven by every rescan instead */
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        e->pidfd_polled = add_slot(m, fds, max, &k, e->pidfd, POLLIN, e, SLOT_PIDFD);
        if (e->pidfd >= 0 && !e->pidfd_polled)
            m->next_scan = min64(m->next_scan, next_tick(now, m->o.rescan_ms));
    }
    int64_t next = min64(m->next_scan, show_due(m, now));
    if (now < m->quiet_until) next = min64(next, m->quiet_until);
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i]->pub.pid > 0 && m->v[i]->qmp)
            next = min64(next, live_slots(m, m->v[i], fds, max, &k, now));
    if (m->load_from < m->n) next = now;     /* configs to read: the loop turns at once */
    for (size_t h = 0; h < m->nhosts; h++) { /* each host's ssh: its pipes, pidfd and retry */
        size_t got = yv_remote_pollfds(m->hosts[h], fds + k, max - k, now, timeout_ms);
        for (size_t j = 0; j < got; j++) m->slots[k + j] = (slot){NULL, SLOT_REMOTE, m->hosts[h]};
        k += got;
    }
    m->nslots = k;
    if (next == INT64_MAX) return k; /* nothing due: only a descriptor wakes the loop */
    int t = next <= now ? 0 : (int)min64(next - now, 60000);
    if (*timeout_ms < 0 || t < *timeout_ms) *timeout_ms = t;
    return k;
}

/* A query-blockstats answer that came since the last: its counters, at the time it was asked.
 * Rates that changed are a change of the view, drawn now: left to the row's next frame they
 * showed a refresh late (dd's end in a guest showed as 0 up to 3 s after, spec §15's bound). An
 * idle VM's rates stay 0: no frame of their own. */
static bool feed_blockstats(entry *e)
{
    const yv_chan_qmp_view *v = yv_chan_qmp_watch_view(e->qmp);
    yv_metrics *x = e->pub.metrics;
    if (!x || v->blk_at <= e->blk_fed) return false;
    double rd = x->rate[YV_MET_DISK_RD], wr = x->rate[YV_MET_DISK_WR];
    e->blk_fed = v->blk_at;
    yv_metrics_counter(x, YV_MET_DISK_RD, v->rd_bytes, v->blk_at);
    yv_metrics_counter(x, YV_MET_DISK_WR, v->wr_bytes, v->blk_at);
    return x->rate[YV_MET_DISK_RD] != rd || x->rate[YV_MET_DISK_WR] != wr;
}

/* Feeds the VM's QMP watch (revents 0: its timers only) and shows what it tells. */
static bool qmp_step(entry *e, short revents, int64_t now)
{
    yv_state before = e->pub.state;
    char before_detail[sizeof e->pub.detail];
    memcpy(before_detail, e->pub.detail, sizeof before_detail);
    unsigned f = yv_chan_qmp_watch_handle(e->qmp, revents, now);
    if ((f & YV_CHAN_QMP_HUNG) && !e->vnc) e->next_vnc = now; /* does its VNC server answer? */
    if ((f & YV_CHAN_QMP_AGENT) && e->addr) yv_addr_watch_poke(e->addr, now);
    show_qmp_view(e);
    bool rates = feed_blockstats(e);
    return rates || e->pub.state != before || strcmp(before_detail, e->pub.detail) != 0;
}

/* A VM without a TAP (its `user` network's traffic QEMU does not count): the guest's own counters
 * from its agent's answers to the address watch, a rate over their interval (about 30 s). */
static void feed_guest_net(entry *e)
{
    uint64_t rx, tx;
    int64_t at;
    if (!e->pub.metrics || !e->pub.valid || yv_vm_has_tap(&e->pub.vm)) return;
    if (!yv_addr_watch_net(e->addr, &rx, &tx, &at) || at <= e->net_fed) return;
    e->net_fed = at;
    yv_metrics_counter(e->pub.metrics, YV_MET_NET_RX, rx, at);
    yv_metrics_counter(e->pub.metrics, YV_MET_NET_TX, tx, at);
}

/* Feeds the VM's address watch (revents 0: its timers only); true when its addresses changed.
 * The config (forwards, MACs) is read when an exchange is about to start. */
static bool addr_step(yv_monitor *m, entry *e, short revents, int64_t now)
{
    if (!e->addr) return false;
    if (yv_addr_watch_due(e->addr) <= now) ensure_loaded(m, e);
    bool agent = e->pub.state == YV_STATE_RUNNING; /* a paused guest's agent cannot answer */
    bool changed =
        yv_addr_watch_handle(e->addr, e->pub.valid ? &e->pub.vm : NULL, agent, revents, now);
    feed_guest_net(e);
    if (!changed) return false;
    const yv_addrs *a = yv_addr_watch_addrs(e->addr);
    yv_addrs_done(&e->pub.addrs);
    for (size_t i = 0; i < a->n; i++)
        yv_addrs_add(&e->pub.addrs, a->v[i].ip, a->v[i].port, a->v[i].source);
    return true;
}

/* Reads configs not read yet, a few per turn of the loop: keys stay answered. */
enum { LOAD_BATCH = 32 };

static void load_some(yv_monitor *m)
{
    size_t done = 0;
    for (; m->load_from < m->n && done < LOAD_BATCH; m->load_from++) {
        entry *e = m->v[m->load_from];
        if (e->loaded || e->creating) continue;
        ensure_loaded(m, e);
        done++;
    }
}

/* CPU% over about a refresh, as yv_monitor_row reads it for a row drawn. */
static void sample_due(yv_monitor *m, entry *e, int64_t now)
{
    if (!e->stat.at || now - e->stat.at >= (int64_t)m->o.refresh_ms * 9 / 10) sample_cpu(e, now);
}

/* Every running VM's CPU%: one read of its process clock each. */
static void sample_metrics(yv_monitor *m, entry *e, int64_t now, bool every);

/* Every running VM's CPU% (and metrics while the list sorts by one): one read of its process
 * clock each (and its metrics' reads, as for a row drawn). */
static void sample_running(yv_monitor *m, int64_t now)
{
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        if (e->pub.pid <= 0) continue;
        sample_due(m, e, now);
        if (m->metrics_all) sample_metrics(m, e, now, false);
    }
}

static bool run_timers(yv_monitor *m, int64_t now)
{
    bool changed = false;
    if (now >= m->next_scan) {
        rescan(m, now);
        changed = true;
    }
    if (now >= m->next_show) { /* the shown rows' uptime and CPU%: the caller draws them */
        m->show_tick = now;
        m->next_show = INT64_MAX;
        if (m->sample_all || m->metrics_all) sample_running(m, now);
        changed = true;
    }
    bool asked = false;
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        if (e->pub.pid <= 0 || !e->qmp) continue;
        asked |= yv_chan_qmp_watch_due(e->qmp) <= now;
        changed |= qmp_step(e, 0, now);
        changed |= addr_step(m, e, 0, now);
        if (e->vnc) {
            changed |= vnc_progress(e, 0);
        } else if (now >= e->next_vnc) {
            vnc_start(m, e, now);
            asked = true;
        }
    }
    if (asked) gather(m, now);
    load_some(m);
    return changed;
}

bool yv_monitor_dispatch(yv_monitor *m, const struct pollfd *fds, size_t n)
{
    bool changed = false, died = false, scan = false, answered = false;
    int64_t now = yv_now_ms();
    for (size_t i = 0; i < n && i < m->nslots; i++) {
        entry *e = m->slots[i].e;
        if (m->slots[i].kind == SLOT_REMOTE) { /* a host's descriptors, together */
            size_t j = i;
            while (j < n && j < m->nslots && m->slots[j].r == m->slots[i].r) j++;
            changed |= yv_remote_dispatch(m->slots[i].r, fds + i, j - i, now);
            i = j - 1;
            continue;
        }
        if (!fds[i].revents) continue;
        switch (m->slots[i].kind) {
        case SLOT_INOTIFY: scan |= read_inotify(m); break;
        case SLOT_PIDFD: /* it exited: the rescan below settles what it left (crashed or not) */
            forget_process(e);
            died = true;
            break;
        case SLOT_QMP:
            if (e->qmp) changed |= qmp_step(e, fds[i].revents, now);
            answered = true;
            break;
        case SLOT_VNC:
            if (e->vnc) changed |= vnc_progress(e, fds[i].revents);
            answered = true;
            break;
        case SLOT_QGA:
            changed |= addr_step(m, e, fds[i].revents, now);
            answered = true;
            break;
        case SLOT_REMOTE: break;
        }
    }
    if (answered) gather(m, now);
    now = yv_now_ms();
    if (died || scan) m->next_scan = now; /* a QEMU exited, or the root changed: show it at once */
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
        e->next_vnc = now;
    }
}

/* ---- remote hosts (spec §14): their rows come after this machine's, host by host ---- */

int yv_monitor_set_hosts(yv_monitor *m, const yv_hosts *hs, yv_err *err)
{
    if (!hs || hs->n == 0) return 0;
    char *dir = yv_remote_ctl_dir(err);
    if (!dir) return -1;
    m->hosts = yv_calloc(hs->n, sizeof *m->hosts);
    for (size_t i = 0; i < hs->n; i++)
        m->hosts[m->nhosts++] = yv_remote_new(&hs->hosts[i], hs->ssh_config, dir);
    free(dir);
    return 0;
}

size_t yv_monitor_host_count(const yv_monitor *m)
{
    return m->nhosts;
}

yv_remote *yv_monitor_host(const yv_monitor *m, size_t i)
{
    return i < m->nhosts ? m->hosts[i] : NULL;
}

/* Row i past this machine's: its host, and its index there in *j. */
static yv_remote *remote_at(const yv_monitor *m, size_t i, size_t *j)
{
    if (i < m->n) return NULL;
    i -= m->n;
    for (size_t h = 0; h < m->nhosts; h++) {
        size_t c = yv_remote_count(m->hosts[h]);
        if (i < c) {
            *j = i;
            return m->hosts[h];
        }
        i -= c;
    }
    return NULL;
}

yv_remote *yv_monitor_remote_of(const yv_monitor *m, const char *key, char vm[64])
{
    const char *at = key ? strchr(key, '@') : NULL;
    if (!at || (size_t)(at - key) >= 64) return NULL;
    for (size_t h = 0; h < m->nhosts; h++)
        if (!strcmp(yv_remote_name(m->hosts[h]), at + 1)) {
            memcpy(vm, key, (size_t)(at - key));
            vm[at - key] = '\0';
            return m->hosts[h];
        }
    return NULL;
}

size_t yv_monitor_count(const yv_monitor *m)
{
    size_t n = m->n;
    for (size_t h = 0; h < m->nhosts; h++) n += yv_remote_count(m->hosts[h]);
    return n;
}

/* This machine's running VMs: the ones whose answers the monitor gathers. */
static size_t local_running(const yv_monitor *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) n += m->v[i]->pub.pid > 0;
    return n;
}

size_t yv_monitor_running(const yv_monitor *m)
{
    size_t n = local_running(m);
    for (size_t h = 0; h < m->nhosts; h++) n += yv_remote_running(m->hosts[h]);
    return n;
}

const char *yv_monitor_name(const yv_monitor *m, size_t i)
{
    size_t j;
    yv_remote *r = remote_at(m, i, &j);
    if (r) return yv_remote_key(r, j);
    return i < m->n ? m->v[i]->pub.name : NULL;
}

/* An entry seen by name only is read when someone looks at it: the monitor stays logically
 * const to its readers (the read is a cache fill). */
const yv_monitor_vm *yv_monitor_get(const yv_monitor *m, size_t i)
{
    size_t j;
    yv_remote *r = remote_at(m, i, &j);
    if (r) return yv_remote_get(r, j);
    if (i >= m->n) return NULL;
    ensure_loaded((yv_monitor *)m, m->v[i]);
    return &m->v[i]->pub;
}

const yv_monitor_vm *yv_monitor_find(const yv_monitor *m, const char *name)
{
    char vm[64];
    yv_remote *r = yv_monitor_remote_of(m, name, vm);
    if (r) return yv_remote_find(r, vm);
    entry *e = find_entry((yv_monitor *)m, name);
    if (e) ensure_loaded((yv_monitor *)m, e);
    return e ? &e->pub : NULL;
}

/* The entry as a row drawn now: its uptime and CPU% of now (at most once a refresh). */
static const yv_monitor_vm *show_row(yv_monitor *m, entry *e)
{
    ensure_loaded(m, e);
    if (e->pub.pid <= 0) return &e->pub;
    int64_t now = yv_now_ms();
    m->shown_at = now;
    if (e->addr) yv_addr_watch_shown(e->addr);
    /* CPU% over about a refresh (a frame drawn for a key in between keeps the last figure) */
    if (!e->stat.at || now - e->stat.at >= (int64_t)m->o.refresh_ms * 9 / 10) sample_cpu(e, now);
    e->pub.uptime_s = yv_proc_sampler_uptime(&e->stat);
    return &e->pub;
}

long yv_monitor_uptime(const yv_monitor *m, size_t i)
{
    /* a remote row (i >= m->n): unknown */
    if (i >= m->n || m->v[i]->pub.pid <= 0) return -1;
    return yv_proc_sampler_uptime(&m->v[i]->stat);
}

void yv_monitor_sample_all(yv_monitor *m, bool on)
{
    if (on && !m->sample_all) sample_running(m, yv_now_ms()); /* the first order: of now */
    m->sample_all = on;
}

const yv_monitor_vm *yv_monitor_row(yv_monitor *m, size_t i)
{
    return i < m->n ? show_row(m, m->v[i]) : yv_monitor_get(m, i);
}

/* The TAPs' counters summed, as the guest sees them (a TAP's transmit is the guest's receive). */
static void sample_net(entry *e, yv_metrics *x, int64_t now)
{
    uint64_t rx = 0, tx = 0;
    bool any = false;
    for (size_t i = 0; e->pub.valid && i < e->pub.vm.nnets; i++) {
        char tap[16];
        uint64_t r, t;
        if (e->pub.vm.nets[i].type != YV_NET_TAP) continue;
        yv_vm_tap_name(&e->pub.vm, i, tap);
        if (yv_netdev_stats(tap, &r, &t) < 0) continue;
        rx += t;
        tx += r;
        any = true;
    }
    if (!any) {
        if (e->pub.valid && yv_vm_has_tap(&e->pub.vm)) { /* its TAP is gone */
            yv_metrics_unknown(x, YV_MET_NET_RX);
            yv_metrics_unknown(x, YV_MET_NET_TX);
        }
        return; /* no TAP: the agent's counters tell, if any (feed_guest_net) */
    }
    yv_metrics_counter(x, YV_MET_NET_RX, rx, now);
    yv_metrics_counter(x, YV_MET_NET_TX, tx, now);
}

/* Its metrics of now, at most once a refresh; every: query-blockstats each time (an open details
 * screen's sparkline), else only when it may have moved (yv_metrics_disk_due: 50 idle VMs would
 * cost 50 queries and answers a second). Skipped, the disk rates stay the last measured. */
static void sample_metrics(yv_monitor *m, entry *e, int64_t now, bool every)
{
    if (e->met_at && now - e->met_at < (int64_t)m->o.refresh_ms * 9 / 10) return;
    if (!e->pub.metrics) {
        e->pub.metrics = yv_calloc(1, sizeof *e->pub.metrics);
        yv_metrics_init(e->pub.metrics);
    }
    e->met_at = now;
    e->pub.metrics->rss = yv_metrics_read_rss_at(&e->statm_fd, e->pub.pid);
    yv_metrics_gauge(e->pub.metrics, YV_MET_CPU, e->pub.cpu);
    sample_net(e, e->pub.metrics, now);
    if (yv_metrics_disk_due(e->pub.metrics, e->pub.cpu, now, every) && e->qmp)
        yv_chan_qmp_watch_want_blockstats(e->qmp, now);
}

static const yv_monitor_vm *show_metrics(yv_monitor *m, entry *e, bool every)
{
    show_row(m, e);
    if (e->pub.pid > 0) sample_metrics(m, e, yv_now_ms(), every);
    return &e->pub;
}

const yv_monitor_vm *yv_monitor_row_metrics(yv_monitor *m, size_t i)
{
    return i < m->n ? show_metrics(m, m->v[i], false) : yv_monitor_get(m, i);
}

const yv_monitor_vm *yv_monitor_metrics_of(yv_monitor *m, const char *name)
{
    if (strchr(name, '@')) return yv_monitor_find(m, name); /* a remote row: none */
    entry *e = find_entry(m, name);
    return e ? show_metrics(m, e, true) : NULL;
}

void yv_monitor_metrics_all(yv_monitor *m, bool on)
{
    bool was = m->metrics_all;
    m->metrics_all = on;
    if (on && !was) sample_running(m, yv_now_ms()); /* the first order: of now */
}
