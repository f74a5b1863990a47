/* vmlive: one VM of the monitor while its QEMU runs — its process (a pidfd, the CPU clock,
 * /proc/PID/statm), its QMP watch (its state, by events), its address watch (the guest agent), its
 * VNC probe and its metrics. core/monitor.c is the registry of VMs and the scheduler of their
 * descriptors; this is one VM's part of both: it writes the VM's row (yv_monitor_vm) and hands the
 * scheduler its descriptors and when it next needs a turn.
 *
 * Embedded in the registry's entry: init once, then each rescan checks whether it runs (start when
 * a QEMU is proven alive, stop when it is gone, or the entry goes). Every timer falls on the ticks
 * of yv_vmlive_next_tick. */
#ifndef YV_VMLIVE_H
#define YV_VMLIVE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "chan_qmp.h"
#include "config.h"
#include "proc.h"
#include "vmrow.h"
#include "vnccheck.h"

/* What each VM's live part needs of its monitor (one per monitor, outliving its VMs). */
typedef struct {
    const char *root;
    const yv_config *cfg;
    int refresh_ms, vnc_ms, qmp_timeout_ms; /* the monitor's options, defaults filled */
} yv_vmlive_env;

/* The descriptors of one running VM (at most one each in a poll set). */
typedef enum { YV_VMLIVE_QMP, YV_VMLIVE_QGA, YV_VMLIVE_VNC } yv_vmlive_chan;
enum { YV_VMLIVE_FDS = 3 };

typedef struct {
    const yv_vmlive_env *env;
    yv_monitor_vm *row; /* the VM's row: its state, detail, CPU%, uptime, VNC, addresses, metrics */
    /* the registry's: reads the VM's config if it was not yet (configs are read lazily; the VNC
     * probe and the address watch need it) */
    void (*load)(void *owner);
    void *owner;
    /* its config was read and is broken: the row shows `invalid` whatever its QEMU does (set by
     * the registry, which reads configs; kept across starts) */
    bool broken;
    int pidfd;         /* its QEMU's, -1: none (its death is seen by rescans) */
    bool pidfd_polled; /* in the last poll set: only then does the pidfd stand for proof of life */
    yv_proc_sampler stat;   /* CPU and uptime */
    yv_chan_qmp_watch *qmp; /* its state, by QMP; NULL: not running */
    yv_addr_watch *addr;    /* its addresses */
    yv_vnccheck *vnc;       /* a VNC probe in flight */
    int64_t next_vnc;
    int64_t met_at;  /* when its metrics were last sampled */
    int64_t blk_fed; /* the time of the last blockstats counters fed to its metrics */
    int64_t net_fed; /* … and of the last guest agent's network counters */
    int statm_fd;    /* its QEMU's /proc/PID/statm once sampled, else -1 */
} yv_vmlive;

/* What a rescan of the root knows, for yv_vmlive_check, and what the checks found. */
typedef struct {
    char **run_names; /* what run/ holds, sorted with strcmp (NULL: unknown, look) */
    size_t nrun;
    bool unsettled; /* something only a later look settles: a QEMU without a pidfd, a create … */
    bool starting;  /* … a VM's runtime files without its proven QEMU: look again soon */
} yv_vmlive_scan;

/* The first multiple of period after now. Every VM's timers fall on the same ticks, so a refresh
 * of twenty VMs is one wakeup that sends twenty queries, not twenty wakeups. */
int64_t yv_vmlive_next_tick(int64_t now, int period);

void yv_vmlive_init(yv_vmlive *l, const yv_vmlive_env *env, yv_monitor_vm *row,
                    void (*load)(void *owner), void *owner);
/* Whether the VM runs, by its runtime files in run/, its pidfile and the root lock: started when a
 * QEMU is proven alive, stopped when it is gone; a VM not running shows stopped, crashed (a QEMU
 * that left its files behind, cleaned here when the root lock is free) or invalid. */
void yv_vmlive_check(yv_vmlive *l, yv_vmlive_scan *scan, int64_t now);
/* Its QEMU died (or was replaced): nothing of that process is kept, not even its descriptors. */
void yv_vmlive_stop(yv_vmlive *l);
/* Whether it was started and not stopped (its QMP watch runs). */
bool yv_vmlive_running(const yv_vmlive *l);
/* Shows what QMP last told again (its config may have broken, or been mended). */
void yv_vmlive_show_qmp(yv_vmlive *l);
/* Asks again at once: QMP and the VNC probe (after an action of ours). */
void yv_vmlive_poke(yv_vmlive *l, int64_t now);

/* Its descriptors (at most YV_VMLIVE_FDS, in fds and chans; *n set), only those it writes on while
 * quiet (answers being gathered), and when it next needs yv_vmlive_timers. */
int64_t yv_vmlive_pollfds(yv_vmlive *l, bool quiet, int64_t now, struct pollfd *fds,
                          yv_vmlive_chan *chans, size_t *n);
/* poll() said something of descriptor chan (revents). True when the row changed. */
bool yv_vmlive_handle(yv_vmlive *l, yv_vmlive_chan chan, short revents, int64_t now);
/* Its timers; *asked set when it asked something whose answer is on its way (a query, a probe).
 * True when the row changed. */
bool yv_vmlive_timers(yv_vmlive *l, int64_t now, bool *asked);

/* CPU% over about a refresh (a sample at most once a refresh). */
void yv_vmlive_sample(yv_vmlive *l, int64_t now);
/* Its row is drawn now: CPU% and uptime of now, and its addresses are worth asking for. */
void yv_vmlive_shown(yv_vmlive *l, int64_t now);
/* Its metrics of now, at most once a refresh; every: query-blockstats each time (an open details
 * screen's sparkline), else only when its disks may have moved (yv_metrics_disk_due). */
void yv_vmlive_metrics(yv_vmlive *l, int64_t now, bool every);
/* Seconds since its QEMU started (from the start time read when it was first seen), -1 unknown. */
long yv_vmlive_uptime(const yv_vmlive *l);

#endif
