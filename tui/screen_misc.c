/* screen_misc: the details view (config without passwords, QMP status, log tails) and help (from
 * the key table). */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "core/root.h"
#include "core/util.h"
#include "core/vmset.h"
#include "core/vmstate.h"
#include "livepic.h"
#include "widgets/draw.h"
#include "widgets/spark.h"

#define LINES_MAX 200

typedef struct {
    char *v[LINES_MAX];
    int n;
} lines;

static void add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(lines *l, const char *fmt, ...)
{
    va_list ap;
    char buf[512];
    if (l->n >= LINES_MAX) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    l->v[l->n++] = yv_strdup(buf);
}

/* The last `want` lines of a log file (read from its end: logs can be large). */
static void add_tail(lines *l, const char *path, int want)
{
    char buf[8192];
    int fd = yv_root_open(path, O_RDONLY | O_NONBLOCK, 0); /* a log of the root: never via a link */
    if (fd < 0) {
        add(l, errno == ELOOP ? "  (refused: a symbolic link)" : "  (none)");
        return;
    }
    off_t end = lseek(fd, 0, SEEK_END),
          start = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
    ssize_t n = pread(fd, buf, (size_t)(end - start), start);
    close(fd);
    if (n <= 0) {
        add(l, "  (empty)");
        return;
    }
    buf[n] = '\0';
    int count = 0;
    char *p = buf + n;
    while (p > buf && count <= want) {
        p--;
        if (*p == '\n' && p[1]) count++;
    }
    if (*p == '\n') p++;
    for (char *s = p, *nl; s && *s; s = nl ? nl + 1 : NULL) {
        nl = strchr(s, '\n');
        if (nl) *nl = '\0';
        for (char *c = s; *c; c++)
            if ((unsigned char)*c < 32) *c = ' '; /* a guest's console may hold escapes */
        add(l, "  %s", s);
    }
}

/* Every address of a running VM, with where it came from (spec §11). */
static void add_addresses(lines *l, const yv_monitor_vm *v)
{
    if (v->pid <= 0) return;
    if (!v->addrs.n)
        add(l, "addresses: none known (no guest agent answered, none in the neighbour table)");
    for (size_t i = 0; i < v->addrs.n; i++) {
        char a[64];
        yv_addr_format(&v->addrs.v[i], a, sizeof a);
        add(l, "address %s (%s)", a, yv_addr_source_name(v->addrs.v[i].source));
    }
}

/* The state of a scrolling view: details (of vm, with its screen's thumbnail) or help. */
typedef struct {
    int top;
    char vm[128];     /* "vm", or "vm@host" for a remote host's (spec §14) */
    yv_livepic thumb; /* open while the VM runs with a display */
    bool tried;       /* the thumbnail was opened once (a VM that stops keeps its last state) */
    /* run/<vm>.started, read when the details open and again when the VM's QEMU or state
     * changes (not on every draw) */
    bool seen, has_started;
    pid_t seen_pid;
    yv_state seen_state;
    yv_vm started;
} view_st;

/* A running VM's config fields its QEMU was not started with (`set`, spec §13). */
static void add_pending(yv_app *a, view_st *s, lines *l, const yv_monitor_vm *v)
{
    const char *p[YV_VMSET_FIELDS];
    char buf[160];
    if (!s->seen || v->pid != s->seen_pid || v->state != s->seen_state) {
        if (s->has_started) yv_vm_done(&s->started);
        s->has_started = v->pid > 0 && yv_vmstate_load_started(a->root, v->name, &s->started) == 0;
        s->seen = true;
        s->seen_pid = v->pid;
        s->seen_state = v->state;
    }
    if (v->pid <= 0 || !s->has_started) return;
    size_t n = yv_vmset_diff(&v->vm, &s->started, p);
    if (n == 0) return;
    yv_join(p, n, "", buf, sizeof buf);
    add(l, "pending: [%s] (the running QEMU has the old values until its next start)", buf);
}

/* One metric's last minute as a sparkline, its figure of now after it. */
static void add_spark(lines *l, const yv_metrics *m, yv_metric k, const char *label, double max,
                      int cells)
{
    double h[YV_METRICS_HIST];
    char line[1024], now[32];
    size_t n = yv_metrics_history(m, k, h, YV_METRICS_HIST);
    if (k == YV_MET_CPU)
        m->rate[k] >= 0 ? snprintf(now, sizeof now, "%.1f%%", m->rate[k])
                        : snprintf(now, sizeof now, "-");
    else yv_metrics_rate_text(m->rate[k], now, sizeof now);
    add(l, "%-10s %s %s%s", label,
        yv_spark_render(h, n, max, cells, yv_spark_utf8(), line, sizeof line), now,
        k == YV_MET_CPU || m->rate[k] < 0 ? "" : "/s");
}

/* A running VM's live figures (spec §15): sampled for this screen while it is open. */
static void add_metrics(yv_app *a, const char *vm, lines *l)
{
    const yv_monitor_vm *v = yv_monitor_metrics_of(a->mon, vm);
    if (!v || v->pid <= 0 || !v->metrics) return;
    const yv_metrics *m = v->metrics;
    char rss[32];
    int cells = a->cols >= 130 ? YV_METRICS_HIST : 30;
    double cpu_max = 100.0 * (v->valid && v->vm.vcpu > 0 ? (double)v->vm.vcpu : 1.0);
    yv_metrics_rate_text(m->rss ? (double)m->rss : -1, rss, sizeof rss);
    add(l, "resident memory %s (the last minute, newest at the right):", rss);
    add_spark(l, m, YV_MET_CPU, "cpu", cpu_max, cells);
    add_spark(l, m, YV_MET_DISK_RD, "disk read", 0, cells);
    add_spark(l, m, YV_MET_DISK_WR, "disk write", 0, cells);
    add_spark(l, m, YV_MET_NET_RX, "net rx", 0, cells);
    add_spark(l, m, YV_MET_NET_TX, "net tx", 0, cells);
}

/* A VM of a remote host: what its `watch` says (its files are there, not here). */
static void build_remote(lines *l, const yv_monitor_vm *v)
{
    if (v->pid > 0) add(l, "pid %d on its host", (int)v->pid);
    add_addresses(l, v);
    if (!v->valid) {
        add(l, "config: %s", v->problem);
        return;
    }
    add(l, "memory %ld MiB, %ld vCPU, firmware %s", v->vm.memory, v->vm.vcpu,
        v->vm.ovmf ? "UEFI (OVMF)" : "SeaBIOS");
    add(l, "VNC %s on its host", v->vm.vnc_display ? v->vm.vnc_display : "none");
    for (size_t i = 0; i < v->vm.ndrives; i++)
        add(l, "drive %s: %s (%s)", v->vm.drives[i].id, v->vm.drives[i].path,
            yv_vm_drive_type_name(v->vm.drives[i].type));
    for (size_t i = 0; i < v->vm.nnets; i++) {
        char fw[200];
        yv_vminfo_forwards_text(&v->vm.nets[i], fw, sizeof fw);
        add(l, "network %s: %s, mac %s%s%s", v->vm.nets[i].id,
            v->vm.nets[i].type == YV_NET_USER ? "user (NAT)" : "tap", v->vm.nets[i].mac,
            *fw ? ", forwards " : "", fw);
    }
    add(l, "%s", "");
    add(l, "its logs are on its host (L works on this machine's VMs only)");
}

static void build(yv_app *a, view_st *st, lines *l)
{
    const char *vm = st->vm;
    const yv_monitor_vm *v = yv_monitor_find(a->mon, vm);
    if (!v) {
        add(l, "VM %s is gone.", vm);
        return;
    }
    add(l, "VM %s — %s%s%s", v->name, yv_vminfo_state_name(v->state), v->detail[0] ? ": " : "",
        v->detail);
    if (v->host) { /* spec §14: what its host last told, and whether it is reached now */
        add(l, "host %s: %s", v->host, v->host_problem ? v->host_problem : "reached");
        build_remote(l, v);
        return;
    }
    if (v->pid > 0)
        add(l, "pid %d, QMP status: %s", (int)v->pid, v->qmp_status[0] ? v->qmp_status : "?");
    add_addresses(l, v);
    add_metrics(a, vm, l);
    if (!v->valid) {
        add(l, "config: %s", v->problem);
    } else {
        add(l, "memory %ld MiB, %ld vCPU, firmware %s", v->vm.memory, v->vm.vcpu,
            v->vm.ovmf ? "UEFI (OVMF)" : "SeaBIOS");
        add_pending(a, st, l, v);
        add(l, "VNC %s on %s (password set: %s)", v->vm.vnc_display ? v->vm.vnc_display : "none",
            a->cfg.vnc_listen, v->vm.vnc_password ? "yes" : "no");
        for (size_t i = 0; i < v->vm.ndrives; i++)
            add(l, "drive %s: %s (%s%s%s)", v->vm.drives[i].id, v->vm.drives[i].path,
                yv_vm_drive_type_name(v->vm.drives[i].type),
                v->vm.drives[i].type == YV_DRIVE_IDE ? ", " : "",
                v->vm.drives[i].type == YV_DRIVE_IDE ? yv_vm_media_name(v->vm.drives[i].media)
                                                     : "");
        for (size_t i = 0; i < v->vm.nnets; i++) {
            char tap[16], fw[200];
            if (v->vm.nets[i].type == YV_NET_USER) {
                yv_vminfo_forwards_text(&v->vm.nets[i], fw, sizeof fw);
                add(l, "network %s: user (NAT), mac %s, forwards %s", v->vm.nets[i].id,
                    v->vm.nets[i].mac, *fw ? fw : "(none)");
                continue;
            }
            const char *br = yv_vminfo_master(&v->vm.nets[i], &a->cfg);
            yv_vm_tap_name(&v->vm, i, tap);
            add(l, "network %s: tap %s, mac %s, bridge %s", v->vm.nets[i].id, tap,
                v->vm.nets[i].mac, br ? br : "(none)");
        }
    }
    char *dir = yv_root_vm_dir(a->root, v->name), *q = yv_root_join(dir, "qemu.log"),
         *s = yv_root_join(dir, "serial.log");
    add(l, "%s", "");
    add(l, "qemu.log (last lines):");
    add_tail(l, q, 8);
    add(l, "%s", "");
    add(l, "serial.log (last lines):");
    add_tail(l, s, 12);
    free(dir);
    free(q);
    free(s);
}

/* The lines, the first `beside` rows of the text area narrowed by `right` columns (a thumbnail). */
static void draw_lines(yv_app *a, lines *l, int *top, const char *title, int beside, int right)
{
    int h = a->rows - 2;
    if (*top > l->n - h) *top = l->n - h;
    if (*top < 0) *top = 0;
    yv_draw_text(stdscr, 0, 0, title, a->cols, yv_theme_attr(&a->theme, YV_C_TITLE));
    for (int r = 0; r < h; r++)
        yv_draw_text(stdscr, 1 + r, 0, *top + r < l->n ? l->v[*top + r] : "",
                     r < beside ? a->cols - right : a->cols, yv_theme_attr(&a->theme, YV_C_NORMAL));
    yv_draw_text(stdscr, a->rows - 1, 0, " Up/Down: scroll   L: logs   Esc/q/Enter: back", a->cols,
                 yv_theme_attr(&a->theme, YV_C_KEYTEXT));
    for (int i = 0; i < l->n; i++) free(l->v[i]);
}

/* The thumbnail: 4:3 pictures fill it in 2:1 cells; only on terminals wide enough for text too. */
#define THUMB_COLS     32
#define THUMB_ROWS     10
#define THUMB_MIN_COLS 90
#define THUMB_EVERY_MS 2000

/* Esc, or the key of the table that opened a view (Enter, ?) or quits, goes back to the list. */
static int scroll_key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    int *top = &((view_st *)st)->top;
    yv_action act = yv_actions_lookup(ch, is_key);
    if ((!is_key && ch == 27) || act == ACT_QUIT || act == ACT_HELP || act == ACT_DETAILS) {
        yv_screen_pop(&a->screens);
        return KEY_REDRAW;
    }
    /* details → its VM's logs (not from help; not of a remote host's VM: its files are there) */
    if (act == ACT_LOGS && ((view_st *)st)->vm[0] && !strchr(((view_st *)st)->vm, '@')) {
        yv_screen_push(&a->screens, &yv_logs_screen, ((view_st *)st)->vm);
        return KEY_REDRAW;
    }
    if (is_key && ch == KEY_UP) (*top)--;
    else if (is_key && ch == KEY_DOWN) (*top)++;
    else if (is_key && ch == KEY_PPAGE) *top -= 10;
    else if (is_key && ch == KEY_NPAGE) *top += 10;
    else return KEY_IGNORED;
    return KEY_REDRAW;
}

/* The thumbnail of a running VM with a display, opened the first time details shows it. */
static bool thumb_wanted(yv_app *a, view_st *s)
{
    const yv_monitor_vm *v = yv_monitor_find(a->mon, s->vm);
    return v && !v->host && v->pid > 0 && v->valid && v->vm.vnc_display;
}

static void details_init(yv_app *a, void *st, const void *vm)
{
    view_st *s = st;
    snprintf(s->vm, sizeof s->vm, "%s", (const char *)vm);
    if (thumb_wanted(a, s)) { /* a failure shows in its place, with why */
        yv_livepic_open(&s->thumb, a, s->vm, THUMB_EVERY_MS, false);
        s->tried = true;
    }
}

static void details_done(yv_app *a, void *st)
{
    (void)a;
    view_st *s = st;
    yv_livepic_close(&s->thumb);
    if (s->has_started) yv_vm_done(&s->started);
}

static void details_draw(yv_app *a, void *st)
{
    view_st *s = st;
    lines l = {0};
    char title[128];
    curs_set(0);
    build(a, s, &l);
    snprintf(title, sizeof title, " Details: %s", s->vm);
    bool thumb = s->tried && a->cols >= THUMB_MIN_COLS && a->rows >= THUMB_ROWS + 6;
    draw_lines(a, &l, &s->top, title, thumb ? THUMB_ROWS : 0, thumb ? THUMB_COLS + 1 : 0);
    if (thumb)
        yv_livepic_draw(&s->thumb, stdscr, 1, a->cols - THUMB_COLS, THUMB_ROWS, THUMB_COLS,
                        yv_theme_attr(&a->theme, YV_C_DIM));
}

static int details_pollfd(yv_app *a, void *st, int *timeout_ms)
{
    (void)a;
    return yv_livepic_pollfd(&((view_st *)st)->thumb, timeout_ms);
}

static int details_ready(yv_app *a, void *st, short revents)
{
    (void)a;
    return yv_livepic_ready(&((view_st *)st)->thumb, revents) ? KEY_REDRAW : KEY_IGNORED;
}

const yv_screen_class yv_details_screen = {
    .name = "details",
    .size = sizeof(view_st),
    .init = details_init,
    .draw = details_draw,
    .key = scroll_key,
    .done = details_done,
    .pollfd = details_pollfd,
    .ready = details_ready,
};

static void help_draw(yv_app *a, void *st)
{
    lines l = {0};
    curs_set(0);
    add(&l, "Keys:");
    for (int i = 0; i < yv_nactions; i++)
        add(&l, "  %-7s %-8s %s", yv_actions[i].shown, yv_actions[i].label, yv_actions[i].help);
    add(&l, "  %-7s %-8s %s", "Up/Down", "", "move (also j/k, PgUp/PgDn, Home/End)");
    add(&l, "%s", "");
    add(&l, "States: running, paused, starting, shutting-down, stopped, crashed (QEMU died),");
    add(&l,
        "unresponsive (QMP silent), error (internal-error, io-error, guest-panicked), invalid.");
    add(&l, "VNC: ok = the server completed the RFB handshake; refused; silent = no answer.");
    draw_lines(a, &l, &((view_st *)st)->top, " Help — yave-tui", 0, 0);
}

const yv_screen_class yv_help_screen = {
    .name = "help",
    .size = sizeof(view_st),
    .draw = help_draw,
    .key = scroll_key,
};
