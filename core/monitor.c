/* The monitor is a registry of VMs (what the root holds, sorted by name, looked up by name, shown
 * as rows) and a scheduler of their descriptors and timers. One VM of the root — its config read
 * lazily — is core/vmentry.c; while its QEMU runs, its process, QMP, guest agent, VNC probe and
 * metrics are core/vmlive.c; the root's inotify core/rootwatch.c; a remote host core/remote.c. */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "remote.h"
#include "root.h"
#include "rootwatch.h"
#include "util.h"
#include "valid.h"
#include "vmentry.h"
#include "vmlive.h"

typedef enum { SLOT_PIDFD, SLOT_LIVE, SLOT_INOTIFY, SLOT_REMOTE } slot_kind;

typedef yv_vmentry entry;

typedef struct {
    entry *e;
    slot_kind kind;
    yv_vmlive_chan chan; /* SLOT_LIVE */
    yv_remote *r;        /* SLOT_REMOTE */
} slot;

struct yv_monitor {
    char *root;
    const yv_config *cfg;
    yv_monitor_opts o;
    yv_vmentry_env env; /* what each entry needs of the monitor */
    entry **v;
    size_t n;
    int64_t next_scan;   /* INT64_MAX: none due (inotify tells of every change) */
    yv_rootwatch watch;  /* fd -1: none, then the root is rescanned every rescan_ms as before */
    yv_vmlive_scan scan; /* what a rescan knows of run/, and whether it left things unsettled */
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
    yv_remote **hosts; /* spec §14: remote hosts, their rows after this machine's */
    size_t nhosts;
};

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* ---- scanning ---- */

enum { SETTLE_MS = 250 }; /* a divisor of the usual refresh: its ticks coincide */

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(entry *const *)a)->pub.name, (*(entry *const *)b)->pub.name);
}

/* By name among the first n entries (sorted; during a rescan, the ones it added are not yet). */
static entry *find_sorted(const yv_monitor *m, size_t n, const char *name)
{
    entry key, *kp = &key, **hit;
    key.pub.name = (char *)name;
    hit = n ? bsearch(&kp, m->v, n, sizeof *m->v, cmp_entry) : NULL;
    return hit ? *hit : NULL;
}

static entry *find_entry(const yv_monitor *m, const char *name)
{
    return find_sorted(m, m->n, name);
}

static entry *add_entry(yv_monitor *m, const char *name)
{
    entry *e = yv_vmentry_new(&m->env, name);
    m->load_from = 0; /* a config to read in the background */
    m->v = yv_realloc(m->v, (m->n + 1) * sizeof *m->v);
    m->v[m->n++] = e;
    return e;
}

/* Old or added by this rescan (a linear look at the few added), so a VM whose folder appeared
 * while its create still holds the .part lock is not listed twice. */
static entry *find_any(yv_monitor *m, size_t nold, const char *name)
{
    entry *e = find_sorted(m, nold, name);
    for (size_t i = nold; !e && i < m->n; i++)
        if (!strcmp(m->v[i]->pub.name, name)) e = m->v[i];
    return e;
}

/* The VM folders of the root: lookups use the sorted old entries, new ones are appended. */
static void scan_folders(yv_monitor *m, size_t nold, int64_t now)
{
    size_t n;
    yv_err err;
    char **names = yv_root_list_suffix(m->root, ".vm", &n, &err);
    for (size_t i = 0; names && i < n; i++) {
        if (yv_valid_name(names[i], &err) < 0) continue;
        entry *e = find_sorted(m, nold, names[i]); /* the listing names each folder once */
        if (!e) e = add_entry(m, names[i]);
        e->seen = true;
        e->creating = false; /* its real folder exists */
        yv_vmentry_refresh(e, &m->scan, now);
    }
    yv_root_free_names(names, n);
}

/* VMs still under construction show as `installing` until their folder gets its name. */
static void scan_creating(yv_monitor *m, size_t nold, int64_t now)
{
    size_t n, left;
    char **names = yv_ops_in_creation(m->root, m->cfg, false, &n, &left); /* reaps killed ones */
    for (size_t i = 0; i < n; i++) {
        entry *e = find_any(m, nold, names[i]);
        if (e && e->seen) continue; /* the real folder exists already */
        if (!e) e = add_entry(m, names[i]);
        e->seen = e->creating = true;
        yv_vmentry_refresh(e, &m->scan, now);
    }
    yv_root_free_names(names, n);
    /* a killed create's folder not reaped (the root lock was held): no event says it is free */
    if (left) m->scan.unsettled = true;
}

static void rescan(yv_monitor *m, int64_t now)
{
    size_t nold = m->n;
    yv_err err;
    char *run = yv_root_path(m->root, "run");
    m->scan.run_names = yv_root_list_suffix(run, "", &m->scan.nrun, &err); /* sorted with strcmp */
    free(run);
    m->scan.unsettled = m->scan.starting = false;
    for (size_t i = 0; i < m->n; i++) m->v[i]->seen = false;
    scan_folders(m, nold, now);
    scan_creating(m, nold, now);
    yv_root_free_names(m->scan.run_names, m->scan.nrun);
    m->scan.run_names = NULL;
    m->scan.nrun = 0;
    /* Removing entries keeps the order; any new one (even with as many gone: same count) must be
     * sorted in, or lookups by name (bsearch) miss and the TUI acts on the wrong row */
    bool added = m->n > nold;
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i]->seen) m->v[k++] = m->v[i];
        else yv_vmentry_free(m->v[i]);
    }
    if (k != m->n) m->load_from = 0; /* an entry not read yet may have moved before it */
    m->n = k;
    if (added) qsort(m->v, m->n, sizeof *m->v, cmp_entry);
    /* with inotify the next rescan waits for a change, unless something must settle first */
    m->next_scan =
        m->watch.fd < 0 || m->scan.unsettled ? yv_vmlive_next_tick(now, m->o.rescan_ms) : INT64_MAX;
    /* a QEMU being started tells nothing more once its pidfile and sockets exist */
    if (m->scan.starting) m->next_scan = min64(m->next_scan, yv_vmlive_next_tick(now, SETTLE_MS));
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
    m->env = (yv_vmentry_env){.live = {.root = m->root,
                                       .cfg = cfg,
                                       .refresh_ms = m->o.refresh_ms,
                                       .vnc_ms = m->o.vnc_ms,
                                       .qmp_timeout_ms = m->o.qmp_timeout_ms},
                              .watch = &m->watch};
    m->next_show = INT64_MAX;
    yv_rootwatch_start(&m->watch, m->root); /* before the first listing: nothing missed between */
    rescan(m, yv_now_ms());
    return m;
}

void yv_monitor_free(yv_monitor *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) yv_vmentry_free(m->v[i]);
    for (size_t i = 0; i < m->nhosts; i++) yv_remote_free(m->hosts[i]);
    free(m->hosts);
    yv_rootwatch_stop(&m->watch);
    free(m->v);
    free(m->slots);
    free(m->root);
    free(m);
}

/* ---- scheduling: the descriptors handed to poll, and what their answers and timers do ---- */

/* A VM folder that could not be watched (a symlink, the watch limit) stopped the root's watch
 * since the last rescan: rescan now, and every rescan_ms from then on (rescan). */
static void watch_lost(yv_monitor *m, int64_t now)
{
    if (m->watch.fd < 0 && m->next_scan == INT64_MAX) m->next_scan = now;
}

static bool add_slot(yv_monitor *m, struct pollfd *fds, size_t max, size_t *k, int fd, short ev,
                     slot s)
{
    if (*k >= max || fd < 0) return false;
    fds[*k] = (struct pollfd){fd, ev, 0};
    m->slots[(*k)++] = s;
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

/* A running VM's descriptors, and when it next needs us. */
static int64_t live_slots(yv_monitor *m, entry *e, struct pollfd *fds, size_t max, size_t *k,
                          int64_t now)
{
    struct pollfd p[YV_VMLIVE_FDS];
    yv_vmlive_chan c[YV_VMLIVE_FDS];
    size_t n;
    int64_t next = yv_vmlive_pollfds(&e->live, now < m->quiet_until, now, p, c, &n);
    for (size_t i = 0; i < n; i++)
        add_slot(m, fds, max, k, p[i].fd, p[i].events,
                 (slot){.e = e, .kind = SLOT_LIVE, .chan = c[i]});
    return next;
}

/* The shown rows of running VMs change every refresh (uptime, CPU%): one tick for all of them,
 * on the grid every other timer uses, and none once no such row was drawn since the last. */
static int64_t show_due(yv_monitor *m, int64_t now)
{
    bool shown = (m->shown_at && m->shown_at >= m->show_tick) ||
                 ((m->sample_all || m->metrics_all) && local_running(m) > 0);
    m->next_show = shown ? yv_vmlive_next_tick(now, m->o.refresh_ms) : INT64_MAX;
    return m->next_show;
}

/* Each host's ssh: its pipes, pidfd and retry. */
static size_t host_slots(yv_monitor *m, struct pollfd *fds, size_t max, size_t k, int64_t now,
                         int *timeout_ms)
{
    for (size_t h = 0; h < m->nhosts; h++) {
        size_t got = yv_remote_pollfds(m->hosts[h], fds + k, max - k, now, timeout_ms);
        for (size_t j = 0; j < got; j++)
            m->slots[k + j] = (slot){.kind = SLOT_REMOTE, .r = m->hosts[h]};
        k += got;
    }
    return k;
}

size_t yv_monitor_pollfds(yv_monitor *m, struct pollfd *fds, size_t max, int *timeout_ms)
{
    size_t k = 0;
    int64_t now = yv_now_ms();
    m->slots = yv_realloc(m->slots, (max ? max : 1) * sizeof *m->slots);
    watch_lost(m, now);
    add_slot(m, fds, max, &k, m->watch.fd, POLLIN, (slot){.kind = SLOT_INOTIFY});
    /* pidfds first: when the set is full, a VM left out is re-proven by every rescan instead */
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        e->live.pidfd_polled =
            add_slot(m, fds, max, &k, e->live.pidfd, POLLIN, (slot){.e = e, .kind = SLOT_PIDFD});
        if (e->live.pidfd >= 0 && !e->live.pidfd_polled)
            m->next_scan = min64(m->next_scan, yv_vmlive_next_tick(now, m->o.rescan_ms));
    }
    int64_t next = min64(m->next_scan, show_due(m, now));
    if (now < m->quiet_until) next = min64(next, m->quiet_until);
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i]->pub.pid > 0 && yv_vmlive_running(&m->v[i]->live))
            next = min64(next, live_slots(m, m->v[i], fds, max, &k, now));
    if (m->load_from < m->n) next = now; /* configs to read: the loop turns at once */
    m->nslots = k = host_slots(m, fds, max, k, now, timeout_ms);
    if (next == INT64_MAX) return k; /* nothing due: only a descriptor wakes the loop */
    int t = next <= now ? 0 : (int)min64(next - now, 60000);
    if (*timeout_ms < 0 || t < *timeout_ms) *timeout_ms = t;
    return k;
}

/* Reads configs not read yet, a few per turn of the loop: keys stay answered. */
enum { LOAD_BATCH = 32 };

static void load_some(yv_monitor *m)
{
    size_t done = 0;
    for (; m->load_from < m->n && done < LOAD_BATCH; m->load_from++) {
        entry *e = m->v[m->load_from];
        if (e->loaded || e->creating) continue;
        yv_vmentry_load(e);
        done++;
    }
}

/* Every running VM's CPU% (and metrics while the list sorts by one): one read of its process
 * clock each (and its metrics' reads, as for a row drawn). */
static void sample_running(yv_monitor *m, int64_t now)
{
    for (size_t i = 0; i < m->n; i++) {
        entry *e = m->v[i];
        if (e->pub.pid <= 0) continue;
        yv_vmlive_sample(&e->live, now);
        if (m->metrics_all) yv_vmlive_metrics(&e->live, now, false);
    }
}

static bool run_timers(yv_monitor *m, int64_t now)
{
    bool changed = false;
    watch_lost(m, now);
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
        if (e->pub.pid > 0 && yv_vmlive_running(&e->live))
            changed |= yv_vmlive_timers(&e->live, now, &asked);
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
        const slot *s = &m->slots[i];
        if (s->kind == SLOT_REMOTE) { /* a host's descriptors, together */
            size_t j = i;
            while (j < n && j < m->nslots && m->slots[j].r == s->r) j++;
            changed |= yv_remote_dispatch(s->r, fds + i, j - i, now);
            i = j - 1;
            continue;
        }
        if (!fds[i].revents) continue;
        switch (s->kind) {
        case SLOT_INOTIFY: scan |= yv_rootwatch_read(&m->watch); break;
        case SLOT_PIDFD: /* it exited: the rescan below settles what it left (crashed or not) */
            yv_vmlive_stop(&s->e->live);
            died = true;
            break;
        case SLOT_LIVE:
            changed |= yv_vmlive_handle(&s->e->live, s->chan, fds[i].revents, now);
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
    for (size_t i = 0; i < m->n; i++) yv_vmlive_poke(&m->v[i]->live, now);
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

/* ---- rows ---- */

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
    yv_vmentry_load(m->v[i]);
    return &m->v[i]->pub;
}

const yv_monitor_vm *yv_monitor_find(const yv_monitor *m, const char *name)
{
    char vm[64];
    yv_remote *r = yv_monitor_remote_of(m, name, vm);
    if (r) return yv_remote_find(r, vm);
    entry *e = find_entry(m, name);
    if (e) yv_vmentry_load(e);
    return e ? &e->pub : NULL;
}

/* The entry as a row drawn now: its uptime and CPU% of now (at most once a refresh). */
static const yv_monitor_vm *show_row(yv_monitor *m, entry *e)
{
    yv_vmentry_load(e);
    if (e->pub.pid <= 0) return &e->pub;
    int64_t now = yv_now_ms();
    m->shown_at = now;
    yv_vmlive_shown(&e->live, now);
    return &e->pub;
}

long yv_monitor_uptime(const yv_monitor *m, size_t i)
{
    /* a remote row (i >= m->n): unknown */
    if (i >= m->n || m->v[i]->pub.pid <= 0) return -1;
    return yv_vmlive_uptime(&m->v[i]->live);
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

static const yv_monitor_vm *show_metrics(yv_monitor *m, entry *e, bool every)
{
    show_row(m, e);
    if (e->pub.pid > 0) yv_vmlive_metrics(&e->live, yv_now_ms(), every);
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
