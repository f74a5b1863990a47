/* metrics: a running VM's live figures (spec §15) — rates from counters, a ring of the last
 * samples for the details' sparklines, and the small readers that feed them (/proc/PID/statm for
 * resident memory, QMP query-blockstats for disk bytes). Pure but for the /proc read: the monitor
 * decides when to sample (the rows drawn and an open details screen only, issue 16's idle goal). */
#ifndef YV_METRICS_H
#define YV_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
    YV_MET_CPU,     /* % of one core (a gauge) */
    YV_MET_DISK_RD, /* bytes per second, all drives */
    YV_MET_DISK_WR,
    YV_MET_NET_RX, /* bytes per second the guest received / sent, all TAPs */
    YV_MET_NET_TX,
    YV_MET_N
} yv_metric;

enum { YV_METRICS_HIST = 60 }; /* a minute at the usual 1 s refresh */

typedef struct {
    uint64_t last[YV_MET_N]; /* the counter at the previous sample */
    int64_t at[YV_MET_N];    /* when it was taken (ms); 0: no baseline yet */
    double rate[YV_MET_N];   /* per second (CPU: %); -1 unknown */
    float hist[YV_MET_N][YV_METRICS_HIST];
    size_t nhist[YV_MET_N], head[YV_MET_N]; /* head: the slot the next sample goes to */
    uint64_t rss;                           /* resident bytes; 0 unknown */
    double cpu_floor[2]; /* the lowest CPU% of this window of YV_METRICS_DISK_MS and the last */
    int64_t floor_at;    /* when this window began (0: none yet) */
    int64_t disk_asked;  /* when the disk counters were last asked for */
} yv_metrics;

void yv_metrics_init(yv_metrics *m);
/* Disk I/O costs a QEMU CPU (a guest that writes keeps it well above its idle use) and an idle
 * QEMU's use is steady (timers: ~0.15 % for an idle TCG guest; an ask ~0.02 %), so its disk
 * counters (query-blockstats: a round trip and a JSON answer) are worth asking for, at a sample
 * with cpu (its CPU% since the last, -1 unknown) at now_ms, when: cpu rose above twice its floor
 * (the lowest of the last 10 to 20 s) plus 0.1, or is unknown; the floor is 2 % or more (a busy
 * QEMU: its CPU cannot tell a write, and an ask is ~1 % of its use); the last disk rate is not 0
 * (or unknown: a write that ends shows 0 at once); YV_METRICS_DISK_MS passed since the last ask
 * (what moved in between shows then, over the whole interval: a skip is no sample, never a made-up
 * 0); or force. True (and the ask recorded) when it is to be asked. Every sample counts in the
 * floor.
 */
enum { YV_METRICS_DISK_MS = 10000 };
bool yv_metrics_disk_due(yv_metrics *m, double cpu, int64_t now_ms, bool force);
/* A cumulative counter read at now_ms: the rate since the previous one (kept and pushed to the
 * history). The first value, or one lower than the last (the source was reset), is a new
 * baseline: the rate is unknown until the next. */
void yv_metrics_counter(yv_metrics *m, yv_metric k, uint64_t value, int64_t now_ms);
/* A figure that is already a rate (CPU %), pushed as it is; negative = unknown (not pushed). */
void yv_metrics_gauge(yv_metrics *m, yv_metric k, double value);
/* Its source is gone (no TAP, no answer): unknown, and the next counter is a new baseline. */
void yv_metrics_unknown(yv_metrics *m, yv_metric k);
/* The last samples of k, oldest first, at most max; how many written. */
size_t yv_metrics_history(const yv_metrics *m, yv_metric k, double *out, size_t max);

/* A rate in bytes per second, short (1024-based, as the list's MEM and DISK): "-" unknown, 0, 512,
 * 12K, 3.4M, 1.2G. */
void yv_metrics_rate_text(double r, char *buf, size_t n);

/* The resident pages of /proc/PID/statm's text (its second field). -1 when it is not that. */
int yv_metrics_parse_statm(const char *text, size_t len, uint64_t *pages);
/* Resident bytes of pid (0 when it cannot be read). */
uint64_t yv_metrics_read_rss(pid_t pid);
/* The same through *fd, opened on the first call (-1: not yet) and kept by the caller for the
 * next ones (a read each, no path lookup; the caller closes it when that process ends). */
uint64_t yv_metrics_read_rss_at(int *fd, pid_t pid);
/* The bytes read and written by every drive in a query-blockstats "return" array. -1 when it is
 * not such an array (a drive without stats counts nothing). */
int yv_metrics_parse_blockstats(const json_t *ret, uint64_t *rd, uint64_t *wr);

/* The bytes every interface but loopback received and sent, from a guest agent's
 * guest-network-get-interfaces "return" (its "statistics"). -1 when it is not an array or no
 * interface has statistics (an old agent). */
int yv_metrics_parse_guest_net(const json_t *ret, uint64_t *rx, uint64_t *tx);

#endif
