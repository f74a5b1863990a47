/* monitor: the live view of a root for a poll() loop — every VM with its config, proven state,
 * QEMU's CPU and uptime, and whether its VNC server answers. It never blocks and never waits: it
 * hands the caller descriptors to poll (inotify on the root, a pidfd per running QEMU, the QMP
 * conversations, in-flight VNC probes) and a timeout, and is fed the results.
 *
 * Idle costs nothing it need not: a change in the root, run/ or a VM's config wakes it through
 * inotify (a periodic rescan only where inotify cannot be had, or while something settles); a
 * running VM tells its state by QMP events; CPU% and uptime are read for the rows shown only; and
 * every timer falls on the same ticks, so a refresh is one wakeup. A VM's config is read when its
 * row is first shown or asked for, the rest a few per turn of the loop: a long list paints first.
 */
#ifndef YV_MONITOR_H
#define YV_MONITOR_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "hosts.h"
#include "vmrow.h"

typedef struct {
    int refresh_ms; /* QMP query-status period (default 1000) */
    int rescan_ms;  /* root rescan period without inotify, or while something settles (1000) */
    int vnc_ms;     /* VNC probe period (default 5000) */
    int qmp_timeout_ms;
} yv_monitor_opts;

typedef struct yv_monitor yv_monitor;
typedef struct yv_remote yv_remote;

/* cfg must outlive the monitor. The first scan happens here (synchronously: it only reads files).
 */
yv_monitor *yv_monitor_new(const char *root, const yv_config *cfg, const yv_monitor_opts *opts);
void yv_monitor_free(yv_monitor *m);

/* Descriptors to poll (at most max) and the ms until the next timer (min'd into *timeout_ms). */
size_t yv_monitor_pollfds(yv_monitor *m, struct pollfd *fds, size_t max, int *timeout_ms);
/* Feeds the results of poll() for the descriptors handed out last, runs due timers. True when the
 * view changed. */
bool yv_monitor_dispatch(yv_monitor *m, const struct pollfd *fds, size_t n);
/* spec §14: the VMs of each remote host (core/remote.c: one ssh each) join the view after this
 * machine's, as rows whose name (yv_monitor_name, yv_monitor_find) is "vm@host". -1 with err when
 * the private folder of the ssh control sockets cannot be had. */
int yv_monitor_set_hosts(yv_monitor *m, const yv_hosts *hs, yv_err *err);
size_t yv_monitor_host_count(const yv_monitor *m);
yv_remote *yv_monitor_host(const yv_monitor *m, size_t i);
/* The host of a row's name "vm@host" (NULL: a VM of this machine), the VM's own name in vm. */
yv_remote *yv_monitor_remote_of(const yv_monitor *m, const char *key, char vm[64]);
/* Rescans now (after an action of ours), and probes every VM again. */
void yv_monitor_poke(yv_monitor *m);

size_t yv_monitor_count(const yv_monitor *m);
size_t yv_monitor_running(const yv_monitor *m); /* how many have a live QEMU (no config read) */
const char *yv_monitor_name(const yv_monitor *m, size_t i); /* sorted; no config read */
/* The VM, its config read if it was not yet (sorted by name). */
const yv_monitor_vm *yv_monitor_get(const yv_monitor *m, size_t i);
const yv_monitor_vm *yv_monitor_find(const yv_monitor *m, const char *name);
/* The VM as a row on screen: with its uptime and CPU% of now (read for it, at most once a
 * refresh). Rows of running VMs shown keep the refresh ticking; none shown, no tick. Its
 * addresses are asked for when it is first seen running, then every YV_ADDR_WATCH_MS while its
 * row is drawn (core/addr.h: one agent exchange each, no socket held in between). */
const yv_monitor_vm *yv_monitor_row(yv_monitor *m, size_t i);
/* Seconds since VM i's QEMU started (-1: not running), for any row, drawn or not: from the start
 * time read when it was first seen running, and a clock read. */
long yv_monitor_uptime(const yv_monitor *m, size_t i);
/* On: every running VM's CPU% is read each refresh tick (one read of its process clock each), not
 * only the rows drawn — while a list is sorted by CPU%; the first read at once. */
void yv_monitor_sample_all(yv_monitor *m, bool on);
/* The row with its metrics (spec §15), sampled at most once a refresh while it is drawn: resident
 * memory (/proc/PID/statm), the TAPs' byte counters (netlink), and query-blockstats asked on the
 * held event socket (its answer counts when it arrives: the disk rates show a refresh later) — for
 * a row only when its QEMU's CPU rose above its idle floor, its last disk rate is not 0, or 10 s
 * passed (skipped: the rates stay the last measured). A VM whose row is not drawn costs nothing.
 * _of: by name, for an open details screen, asked every refresh. */
const yv_monitor_vm *yv_monitor_row_metrics(yv_monitor *m, size_t i);
const yv_monitor_vm *yv_monitor_metrics_of(yv_monitor *m, const char *name);
/* On: every running VM's metrics (and CPU%) are sampled each refresh tick as if its row were drawn
 * (no row marked shown: its addresses are not asked for) — while a list sorts by a metric, so rows
 * off screen sort on values of now; the first sample at once (a rate needs a second). */
void yv_monitor_metrics_all(yv_monitor *m, bool on);

#endif
