#include "metrics.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void yv_metrics_init(yv_metrics *m)
{
    memset(m, 0, sizeof *m);
    for (int k = 0; k < YV_MET_N; k++) m->rate[k] = -1;
}

#define DISK_IDLE_CPU 0.1 /* % of a core: the jitter of an idle QEMU over a short refresh */
/* % of a core above which a QEMU is busy: its CPU cannot tell a write (a guest at 40 % on a loaded
 * host cannot double its use to show a dd, and its writes went unseen for 10 s), and an ask costs
 * it about 1 % of its own use, so it is asked every sample */
#define DISK_BUSY_CPU 2.0

/* The floor of the CPU%, cpu counted: the lowest of this window and the last. */
static double cpu_floor(yv_metrics *m, double cpu, int64_t now)
{
    if (!m->floor_at || now - m->floor_at >= YV_METRICS_DISK_MS) {
        m->cpu_floor[1] = m->floor_at ? m->cpu_floor[0] : -1;
        m->cpu_floor[0] = cpu;
        m->floor_at = now;
    } else if (cpu >= 0 && (m->cpu_floor[0] < 0 || cpu < m->cpu_floor[0])) {
        m->cpu_floor[0] = cpu;
    }
    double a = m->cpu_floor[0], b = m->cpu_floor[1];
    return b >= 0 && (a < 0 || b < a) ? b : a;
}

bool yv_metrics_disk_due(yv_metrics *m, double cpu, int64_t now_ms, bool force)
{
    double floor = cpu_floor(m, cpu, now_ms);
    bool due = force || cpu < 0 || floor < 0 || floor >= DISK_BUSY_CPU ||
               cpu > floor * 2 + DISK_IDLE_CPU || m->rate[YV_MET_DISK_RD] != 0 ||
               m->rate[YV_MET_DISK_WR] != 0 || !m->disk_asked ||
               now_ms - m->disk_asked >= YV_METRICS_DISK_MS;
    if (due) m->disk_asked = now_ms;
    return due;
}

static void push(yv_metrics *m, yv_metric k, double v)
{
    m->hist[k][m->head[k]] = (float)v;
    m->head[k] = (m->head[k] + 1) % YV_METRICS_HIST;
    if (m->nhist[k] < YV_METRICS_HIST) m->nhist[k]++;
}

void yv_metrics_counter(yv_metrics *m, yv_metric k, uint64_t value, int64_t now_ms)
{
    if (k < 0 || k >= YV_MET_N) return;
    if (m->at[k] && now_ms <= m->at[k]) return; /* the same instant again: nothing new */
    bool baseline = !m->at[k] || value < m->last[k];
    if (baseline) {
        m->rate[k] = -1;
    } else {
        m->rate[k] = (double)(value - m->last[k]) * 1000.0 / (double)(now_ms - m->at[k]);
        push(m, k, m->rate[k]);
    }
    m->last[k] = value;
    m->at[k] = now_ms;
}

void yv_metrics_gauge(yv_metrics *m, yv_metric k, double value)
{
    if (k < 0 || k >= YV_MET_N) return;
    m->rate[k] = value < 0 ? -1 : value;
    if (value >= 0) push(m, k, value);
}

void yv_metrics_unknown(yv_metrics *m, yv_metric k)
{
    if (k < 0 || k >= YV_MET_N) return;
    m->rate[k] = -1;
    m->at[k] = 0;
}

size_t yv_metrics_history(const yv_metrics *m, yv_metric k, double *out, size_t max)
{
    if (k < 0 || k >= YV_MET_N) return 0;
    size_t n = m->nhist[k] < max ? m->nhist[k] : max;
    /* the newest n, oldest first: they end just before head */
    size_t start = (m->head[k] + YV_METRICS_HIST - n) % YV_METRICS_HIST;
    for (size_t i = 0; i < n; i++) out[i] = m->hist[k][(start + i) % YV_METRICS_HIST];
    return n;
}

void yv_metrics_rate_text(double r, char *buf, size_t n)
{
    static const char units[] = "KMGT";
    int u = -1;
    if (!(r >= 0)) {
        snprintf(buf, n, "-");
        return;
    }
    while (r >= 1024 && u < 3) {
        r /= 1024;
        u++;
    }
    if (u < 0) snprintf(buf, n, "%.0f", r);
    else snprintf(buf, n, r < 9.95 ? "%.1f%c" : "%.0f%c", r, units[u]);
}

/* One decimal field at *p (no sign, no overflow), skipping the blanks before it. */
static int read_field(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    while (s < end && *s == ' ') s++;
    if (s == end || *s < '0' || *s > '9') return -1;
    uint64_t x = 0;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (x > (UINT64_MAX - 9) / 10) return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *v = x;
    return 0;
}

int yv_metrics_parse_statm(const char *text, size_t len, uint64_t *pages)
{
    const char *p = text, *end = text + len;
    uint64_t size;
    if (read_field(&p, end, &size) < 0 || p == end || *p != ' ') return -1;
    return read_field(&p, end, pages);
}

static int open_statm(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

uint64_t yv_metrics_read_rss(pid_t pid)
{
    int fd = open_statm(pid);
    if (fd < 0) return 0;
    uint64_t bytes = yv_metrics_read_rss_at(&fd, pid);
    close(fd);
    return bytes;
}

uint64_t yv_metrics_read_rss_at(int *fd, pid_t pid)
{
    char buf[256];
    if (*fd < 0) *fd = open_statm(pid);
    if (*fd < 0) return 0;
    ssize_t n = pread(*fd, buf, sizeof buf, 0); /* the file is made anew at offset 0 */
    uint64_t pages;
    if (n <= 0 || yv_metrics_parse_statm(buf, (size_t)n, &pages) < 0) return 0;
    long ps = sysconf(_SC_PAGESIZE);
    return pages * (uint64_t)(ps > 0 ? ps : 4096);
}

/* A non-negative integer member of o, or 0 (QEMU omits nothing here, but a peer may). */
static uint64_t count_of(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

int yv_metrics_parse_blockstats(const json_t *ret, uint64_t *rd, uint64_t *wr)
{
    if (!json_is_array(ret)) return -1;
    uint64_t r = 0, w = 0;
    size_t i;
    const json_t *dev;
    json_array_foreach(ret, i, dev)
    {
        const json_t *st = json_object_get(dev, "stats");
        r += count_of(st, "rd_bytes"); /* wrapping is harmless: a lower sum is a new baseline */
        w += count_of(st, "wr_bytes");
    }
    *rd = r;
    *wr = w;
    return 0;
}

int yv_metrics_parse_guest_net(const json_t *ret, uint64_t *rx, uint64_t *tx)
{
    if (!json_is_array(ret)) return -1;
    uint64_t r = 0, t = 0;
    bool any = false;
    size_t i;
    const json_t *ifc;
    json_array_foreach(ret, i, ifc)
    {
        const char *name = json_string_value(json_object_get(ifc, "name"));
        const json_t *st = json_object_get(ifc, "statistics");
        if (!json_is_object(st) || (name && !strcmp(name, "lo"))) continue;
        r += count_of(st, "rx-bytes");
        t += count_of(st, "tx-bytes");
        any = true;
    }
    if (!any) return -1;
    *rx = r;
    *tx = t;
    return 0;
}
