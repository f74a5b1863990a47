/* screen_list: the VM list that fills the screen — the table widget fed from the monitor. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/remote.h"
#include "core/util.h"
#include "core/valid.h"
#include "tuistate.h"
#include "widgets/draw.h"
#include "widgets/keybar.h"

enum {
    COL_NAME,
    COL_HOST, /* spec §14: the machine it runs on ("local" or a host of hosts.yaml / --host) */
    COL_STATE,
    COL_VCPU,
    COL_MEM,
    COL_DISK,
    COL_VNC,
    COL_NET,
    COL_ADDR,
    COL_PID,
    COL_UP,
    COL_CPU,
    COL_RSS, /* the live metrics (spec §15): hidden until shown (F2), then as room allows */
    COL_DISKIO,
    COL_NETIO
};

/* the table's two-per-line layout kept as it was when rows were added (merges stay keep-both) */
/* clang-format off */
static const yv_column columns[] = {
    [COL_NAME] = {"NAME", 16, 0, false},  [COL_STATE] = {"STATE", 13, 0, false},
    [COL_HOST] = {"HOST", 10, 0, false, true},
    [COL_VCPU] = {"VCPU", 4, 0, true},    [COL_MEM] = {"MEM", 6, 0, true},
    [COL_DISK] = {"DISK", 6, 100, true},  [COL_VNC] = {"VNC", 10, 0, false},
    [COL_NET] = {"NETWORK", 0, 0, false}, [COL_ADDR] = {"ADDRESS", 15, 96, false},
    [COL_PID] = {"PID", 7, 0, true},      [COL_UP] = {"UPTIME", 7, 110, true},
    [COL_CPU] = {"CPU%", 5, 0, true},
    [COL_RSS] = {"RSS", 6, 0, true, true},
    [COL_DISKIO] = {"DISK R/W", 11, 0, true, true},
    [COL_NETIO] = {"NET RX/TX", 11, 0, true, true},
};
/* clang-format on */

static size_t model_count(void *ctx)
{
    return yv_monitor_count(((yv_app *)ctx)->mon);
}

static yv_role state_role(yv_state s)
{
    switch (s) {
    case YV_STATE_RUNNING: return YV_C_GOOD;
    case YV_STATE_STARTING:
    case YV_STATE_INSTALLING:
    case YV_STATE_PAUSED:
    case YV_STATE_SHUTTING_DOWN: return YV_C_WARN;
    case YV_STATE_ERROR:
    case YV_STATE_CRASHED:
    case YV_STATE_UNRESPONSIVE:
    case YV_STATE_INVALID: return YV_C_BAD;
    default: return YV_C_DIM;
    }
}

static void human_mib(uint64_t bytes, char *buf, size_t n)
{
    double g = (double)bytes / (1024.0 * 1024 * 1024);
    if (!bytes) snprintf(buf, n, "-");
    else if (g >= 1) snprintf(buf, n, "%.*fG", g < 10 ? 1 : 0, g);
    else snprintf(buf, n, "%lluM", (unsigned long long)(bytes >> 20));
}

const char *yv_vm_key(const yv_monitor_vm *v, char *buf, size_t n)
{
    if (!v->host) return v->name;
    snprintf(buf, n, "%s@%s", v->name, v->host);
    return buf;
}

/* The state as the user should read it: a job of ours in flight says more than QEMU can yet; a
 * host not reached now says so (its last state would be a guess). */
static void state_text(yv_app *a, const yv_monitor_vm *v, char *buf, size_t n, yv_role *role)
{
    char key[128];
    const yv_job *j = yv_job_for(a, yv_vm_key(v, key, sizeof key));
    *role = state_role(v->state);
    if (v->host_problem) {
        snprintf(buf, n, "unreachable");
        *role = YV_C_BAD;
    } else if (j && j->act == ACT_RUN && v->pid <= 0) {
        snprintf(buf, n, "starting");
        *role = YV_C_WARN;
    } else if (j && j->act == ACT_SHUTDOWN && v->pid > 0) {
        long left = j->timeout_s - (long)((yv_now_ms() - j->started) / 1000);
        if (left > 0) snprintf(buf, n, "stopping %lds", left);
        else snprintf(buf, n, "escalating");
        *role = YV_C_WARN;
    } else if (j && (j->act == ACT_FORCE || j->act == ACT_DELETE)) {
        snprintf(buf, n, "%s", j->act == ACT_FORCE ? "stopping" : "deleting");
        *role = YV_C_WARN;
    } else {
        snprintf(buf, n, "%s", yv_vminfo_state_name(v->state));
    }
}

static void vnc_text(const yv_monitor_vm *v, char *buf, size_t n, yv_role *role)
{
    const char *d = v->valid && v->vm.vnc_display ? v->vm.vnc_display : "-";
    static const char *const word[] = {"", "ok", "refused", "silent"};
    snprintf(buf, n, "%s%s%s", d, v->pid > 0 && v->vnc ? " " : "", v->pid > 0 ? word[v->vnc] : "");
    if (v->pid > 0 && v->vnc == YV_VNC_REACHABLE) *role = YV_C_GOOD;
    else if (v->pid > 0 && v->vnc > YV_VNC_REACHABLE) *role = YV_C_BAD;
}

static void net_text(yv_app *a, const yv_monitor_vm *v, char *buf, size_t n)
{
    if (!v->valid || !v->vm.nnets) {
        snprintf(buf, n, "-");
        return;
    }
    char tap[16];
    const yv_net *u = &v->vm.nets[0];
    if (u->type == YV_NET_USER) { /* NAT: its first forward (host→guest port) fits the column */
        bool more = v->vm.nnets > 1 || u->nforwards > 1;
        if (u->nforwards)
            snprintf(buf, n, "%d→%d%s", u->forwards[0].host, u->forwards[0].guest,
                     more ? " +" : "");
        else snprintf(buf, n, "user%s", more ? " +" : "");
        return;
    }
    yv_vm_tap_name(&v->vm, 0, tap);
    /* a remote host's row carries the bridge its host resolved; ours comes from our config */
    const char *br = v->host ? v->vm.nets[0].master : yv_vminfo_master(&v->vm.nets[0], &a->cfg);
    snprintf(buf, n, "%s→%s%s", tap, br ? br : "?", v->vm.nnets > 1 ? " +" : "");
}

/* The first address (spec §11): `ip`, or `ip:port` for a user network's forward. */
static void addr_text(const yv_monitor_vm *v, char *buf, size_t n)
{
    if (v->pid > 0 && v->addrs.n) yv_addr_format(&v->addrs.v[0], buf, n);
    else snprintf(buf, n, "-");
}

/* Two rates of a running VM as "read/write" (or "rx/tx"); "-" when neither is known. */
static void rates_text(const yv_monitor_vm *v, yv_metric a, yv_metric b, char *buf, size_t n)
{
    char x[16], y[16];
    const yv_metrics *m = v->pid > 0 ? v->metrics : NULL;
    if (!m || (m->rate[a] < 0 && m->rate[b] < 0)) {
        snprintf(buf, n, "-");
        return;
    }
    yv_metrics_rate_text(m->rate[a], x, sizeof x);
    yv_metrics_rate_text(m->rate[b], y, sizeof y);
    snprintf(buf, n, "%s/%s", x, y);
}

static void rss_text(const yv_monitor_vm *v, char *buf, size_t n)
{
    if (v->pid > 0 && v->metrics && v->metrics->rss) human_mib(v->metrics->rss, buf, n);
    else snprintf(buf, n, "-");
}

static void uptime_text(long s, char *buf, size_t n)
{
    if (s < 0) snprintf(buf, n, "-");
    else if (s < 3600) snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400) snprintf(buf, n, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else snprintf(buf, n, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
}

static void model_cell(void *ctx, size_t row, int col, char *buf, size_t n, yv_role *role)
{
    yv_app *a = ctx;
    /* the figures of now for the columns that change by themselves (a clock read: not per cell);
     * the address cell marks the row drawn, which keeps its addresses asked for */
    bool now = col == COL_UP || col == COL_CPU || col == COL_ADDR;
    bool met = col == COL_RSS || col == COL_DISKIO || col == COL_NETIO; /* sampled when drawn */
    const yv_monitor_vm *v = met   ? yv_monitor_row_metrics(a->mon, row)
                             : now ? yv_monitor_row(a->mon, row)
                                   : yv_monitor_get(a->mon, row);
    bool live = v->pid > 0;
    switch (col) {
    case COL_NAME: snprintf(buf, n, "%s", v->name); break; /* the mark: the table's gutter */
    case COL_HOST: snprintf(buf, n, "%s", v->host ? v->host : "local"); break;
    case COL_STATE: state_text(a, v, buf, n, role); break;
    case COL_VCPU: v->valid ? snprintf(buf, n, "%ld", v->vm.vcpu) : snprintf(buf, n, "-"); break;
    case COL_MEM: v->valid ? snprintf(buf, n, "%ldM", v->vm.memory) : snprintf(buf, n, "-"); break;
    case COL_DISK: human_mib(v->disk_size, buf, n); break;
    case COL_VNC: vnc_text(v, buf, n, role); break;
    case COL_NET: net_text(a, v, buf, n); break;
    case COL_ADDR: addr_text(v, buf, n); break;
    case COL_PID: live ? snprintf(buf, n, "%d", (int)v->pid) : snprintf(buf, n, "-"); break;
    case COL_UP: uptime_text(live ? v->uptime_s : -1, buf, n); break;
    case COL_CPU:
        live && v->cpu >= 0 ? snprintf(buf, n, "%.1f", v->cpu) : snprintf(buf, n, "-");
        break;
    case COL_RSS: rss_text(v, buf, n); break;
    case COL_DISKIO: rates_text(v, YV_MET_DISK_RD, YV_MET_DISK_WR, buf, n); break;
    case COL_NETIO: rates_text(v, YV_MET_NET_RX, YV_MET_NET_TX, buf, n); break;
    }
}

/* Two rates summed (read+write, rx+tx: which VM eats the disk or the network now), -1 unknown. */
static double rates_sum(const yv_monitor_vm *v, yv_metric a, yv_metric b)
{
    const yv_metrics *m = v->pid > 0 ? v->metrics : NULL;
    if (!m || (m->rate[a] < 0 && m->rate[b] < 0)) return -1;
    return (m->rate[a] > 0 ? m->rate[a] : 0) + (m->rate[b] > 0 ? m->rate[b] : 0);
}

static bool metrics_col(int col)
{
    return col == COL_RSS || col == COL_DISKIO || col == COL_NETIO;
}

/* The display number (":10" after ":2", not before as text), -1 none. */
static double vnc_number(const yv_monitor_vm *v)
{
    const char *d = v->valid && v->vm.vnc_display ? strrchr(v->vm.vnc_display, ':') : NULL;
    return d && d[1] >= '0' && d[1] <= '9' ? strtod(d + 1, NULL) : -1;
}

/* What a column sorts by: numbers by value (unknown "-" below any), the address by the one known
 * without asking for it (yv_monitor_get: a row sorted is not a row drawn, issue 16). The uptime
 * of any row is a clock read; CPU% (a metric) is read for every running VM while the list sorts by
 * it (draw). */
static bool model_sort_value(void *ctx, size_t row, int col, double *val, char *text, size_t n)
{
    yv_app *a = ctx;
    const yv_monitor_vm *v = yv_monitor_get(a->mon, row);
    bool live = v->pid > 0;
    switch (col) {
    case COL_VCPU: *val = v->valid ? (double)v->vm.vcpu : -1; return true;
    case COL_MEM: *val = v->valid ? (double)v->vm.memory : -1; return true;
    case COL_DISK: *val = v->disk_size ? (double)v->disk_size : -1; return true;
    case COL_PID: *val = live ? (double)v->pid : -1; return true;
    case COL_UP: *val = live ? (double)yv_monitor_uptime(a->mon, row) : -1; return true;
    case COL_CPU: *val = live && v->cpu >= 0 ? v->cpu : -1; return true;
    case COL_VNC: *val = vnc_number(v); return true;
    case COL_ADDR: addr_text(v, text, n); return false;
    case COL_RSS:
        *val = live && v->metrics && v->metrics->rss ? (double)v->metrics->rss : -1;
        return true;
    case COL_DISKIO: *val = rates_sum(v, YV_MET_DISK_RD, YV_MET_DISK_WR); return true;
    case COL_NETIO: *val = rates_sum(v, YV_MET_NET_RX, YV_MET_NET_TX); return true;
    default: return false;
    }
}

/* The filter: a part of the name, or "@host" for every VM of one host ("@local": this machine's),
 * the host filter of spec §14. */
static bool model_match(void *ctx, size_t row, const char *filter)
{
    yv_app *a = ctx;
    if (filter[0] == '@') {
        const yv_monitor_vm *v = yv_monitor_get(a->mon, row);
        return !strcasecmp(filter + 1, v->host ? v->host : "local");
    }
    return strcasestr(yv_monitor_name(a->mon, row), filter) != NULL;
}

static bool model_marked(void *ctx, size_t row)
{
    yv_app *a = ctx;
    return a->marks.n && yv_marks_has(&a->marks, yv_monitor_name(a->mon, row));
}

static const yv_table_model model = {.count = model_count,
                                     .cell = model_cell,
                                     .match = model_match,
                                     .sort_value = model_sort_value,
                                     .marked = model_marked};

#define NCOLS ((int)(sizeof columns / sizeof columns[0]))

/* The list's state: the table and the filter being typed or applied. */
typedef struct {
    yv_table *table;
    bool filtering;
    char filter[128];
    int64_t click_ms; /* the last click, on model row click_row: a second one soon after on the */
    long click_row;   /* same row is a double click */
    /* the title and status lines the last frame put there: a frame drawn over it (a->kept) puts
     * each again only when it changed */
    char title[768], status[600];
    yv_role status_role;
} list_st;

static size_t marked_shown(yv_app *a, const list_st *l);

static void column_names(const char *names[NCOLS])
{
    for (int c = 0; c < NCOLS; c++) names[c] = columns[c].title;
}

/* The sort and columns run/tui.state remembers for this root (spec §15). */
static void init(yv_app *a, void *st, const void *arg)
{
    (void)arg;
    list_st *l = st;
    const char *names[NCOLS];
    yv_tuistate ts;
    l->table = yv_table_new(columns, NCOLS, &model, a);
    l->click_row = -1;
    column_names(names);
    yv_tuistate_load(a->root, names, NCOLS, &ts);
    for (int c = 1; c < NCOLS && c < YV_TUISTATE_COLS; c++)
        if (ts.set & 1u << c) yv_table_set_shown(l->table, c, ts.shown & 1u << c);
    if (a->hosts.n && !(ts.set & 1u << COL_HOST)) yv_table_set_shown(l->table, COL_HOST, true);
    if (ts.sort_col >= 0 && yv_table_shown(l->table, ts.sort_col))
        yv_table_set_sort(l->table, ts.sort_col, ts.sort_desc);
    yv_table_key(l->table, KEY_HOME); /* the list opens at its top, sorted or not */
}

yv_table *yv_list_table(yv_app *a)
{
    list_st *l = yv_screen_bottom(&a->screens);
    return l ? l->table : NULL;
}

/* Keys change the sort faster than a write is worth: the last state wins a second later. */
#define SAVE_DELAY_MS 1000

void yv_list_save(yv_app *a)
{
    a->save_at = yv_now_ms() + SAVE_DELAY_MS;
}

void yv_list_save_due(yv_app *a, bool now)
{
    const char *names[NCOLS];
    yv_table *t = yv_list_table(a);
    if (!a->save_at || (!now && yv_now_ms() < a->save_at)) return;
    a->save_at = 0;
    if (!t) return;
    column_names(names);
    yv_tuistate ts = {.sort_col = yv_table_sort_col(t), .sort_desc = yv_table_sort_desc(t)};
    for (int c = 0; c < NCOLS && c < YV_TUISTATE_COLS; c++) {
        ts.set |= 1u << c;
        if (yv_table_shown(t, c)) ts.shown |= 1u << c;
    }
    if (yv_tuistate_save(a->root, &ts, names, NCOLS) < 0)
        yv_app_status(a, true, "cannot remember the sort and columns (run/tui.log says why)");
}

static void done(yv_app *a, void *st)
{
    yv_table_free(((list_st *)st)->table);
    yv_marks_free(&a->marks);
}

static bool vm_exists(void *ctx, const char *name)
{
    return yv_monitor_find(((yv_app *)ctx)->mon, name) != NULL;
}

void yv_list_prune_marks(yv_app *a)
{
    if (a->marks.n) yv_marks_prune(&a->marks, vm_exists, a);
}

const yv_monitor_vm *yv_list_selected(yv_app *a)
{
    const list_st *l = yv_screen_bottom(&a->screens);
    long r = l ? yv_table_selected(l->table) : -1;
    return r < 0 ? NULL : yv_monitor_get(a->mon, (size_t)r);
}

/* Each remote host and whether it is reached: "  lab: up  h2: unreachable". */
static void hosts_text(yv_app *a, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < yv_monitor_host_count(a->mon) && at < n; i++) {
        const yv_remote *r = yv_monitor_host(a->mon, i);
        yv_remote_state st = yv_remote_state_of(r);
        const char *word = st == YV_REMOTE_UP                                       ? "up"
                           : st == YV_REMOTE_CONNECTING && !yv_remote_problem(r)[0] ? "connecting"
                                                                                    : "unreachable";
        int w = snprintf(buf + at, n - at, "  %s: %s", yv_remote_name(r), word);
        at += w > 0 ? (size_t)w : 0;
    }
}

/* The first remote host that is down, and why (spec §14): a host with no rows has no details. */
static bool host_problem(yv_app *a, char *buf, size_t n)
{
    for (size_t i = 0; i < yv_monitor_host_count(a->mon); i++) {
        const yv_remote *r = yv_monitor_host(a->mon, i);
        if (yv_remote_state_of(r) == YV_REMOTE_UP || !yv_remote_problem(r)[0]) continue;
        snprintf(buf, n, " host %s: %s", yv_remote_name(r), yv_remote_problem(r));
        return true;
    }
    return false;
}

static void draw_title(yv_app *a, list_st *l)
{
    char t[sizeof l->title], hosts[256];
    size_t n = yv_monitor_count(a->mon), running = yv_monitor_running(a->mon);
    hosts_text(a, hosts, sizeof hosts);
    snprintf(t, sizeof t, " YAVE  %s  %zu VM%s, %zu running%s", a->root, n, n == 1 ? "" : "s",
             running, hosts);
    if (a->kept && !strcmp(t, l->title)) return;
    yv_draw_text(stdscr, 0, 0, t, a->cols, yv_theme_attr(&a->theme, YV_C_TITLE));
    memcpy(l->title, t, sizeof t);
}

static void draw_keybar(yv_app *a)
{
    if (a->kept) return; /* the same keys at the same width: what the last frame put is there */
    yv_keybar_item items[32];
    int n = 0;
    for (int i = 0; i < yv_nactions && n < 32; i++)
        if (yv_actions[i].in_bar)
            items[n++] = (yv_keybar_item){yv_actions[i].shown, yv_actions[i].label};
    yv_keybar_draw(stdscr, a->rows - 1, a->cols, items, n, &a->theme);
}

static void draw_status(yv_app *a, list_st *l)
{
    char line[sizeof l->status];
    if (l->filtering) snprintf(line, sizeof line, "/%s", l->filter);
    else if (a->status[0] && yv_now_ms() < a->status_until)
        snprintf(line, sizeof line, " %s", a->status);
    else if (l->filter[0] && a->marks.n) /* marks the filter hides are acted on too: say so */
        snprintf(line, sizeof line, " filter: %s   %zu marked (%zu hidden by the filter)",
                 l->filter, a->marks.n, a->marks.n - marked_shown(a, l));
    else if (l->filter[0])
        snprintf(line, sizeof line, " filter: %s (/ to change, Esc to clear)", l->filter);
    else if (a->marks.n)
        snprintf(line, sizeof line, " %zu marked: r, s, K, D act on every marked VM (u clears)",
                 a->marks.n);
    else if (host_problem(a, line, sizeof line)) { /* a host down: why, where nothing else says */
    } else if (yv_monitor_count(a->mon) == 0)
        snprintf(line, sizeof line, " no VMs yet: press c to create one");
    else line[0] = '\0';
    yv_role role = a->status_error && !l->filtering && yv_now_ms() < a->status_until ? YV_C_ERROR
                                                                                     : YV_C_STATUS;
    if (!a->kept || role != l->status_role || strcmp(line, l->status) != 0) {
        yv_keybar_status(stdscr, a->rows - 2, a->cols, line, role, &a->theme);
        memcpy(l->status, line, sizeof line);
        l->status_role = role;
    }
    if (l->filtering) {
        move(a->rows - 2, 1 + yv_draw_width(l->filter));
        curs_set(1);
    }
}

static void draw(yv_app *a, void *st)
{
    list_st *l = st;
    curs_set(0);
    yv_monitor_sample_all(a->mon, yv_table_sort_col(l->table) == COL_CPU);
    yv_monitor_metrics_all(a->mon, metrics_col(yv_table_sort_col(l->table)));
    yv_table_refresh(l->table);
    if (a->marks.n) yv_marks_prune(&a->marks, vm_exists, a); /* the VMs gone lose their marks */
    draw_title(a, l);
    yv_table_set_gutter(l->table, a->marks.n > 0); /* a column for the marks while there are any */
    yv_table_set_kept(l->table, a->kept);
    yv_table_draw(l->table, stdscr, 1, 0, a->rows - 3, a->cols, &a->theme);
    draw_keybar(a);
    draw_status(a, l);
}

static int filter_key(list_st *l, wint_t ch, bool is_key)
{
    size_t n = strlen(l->filter);
    if (!is_key && ch == 27) { /* Esc: clear */
        l->filter[0] = '\0';
        l->filtering = false;
    } else if (!is_key && (ch == L'\n' || ch == L'\r')) {
        l->filtering = false;
    } else if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 127 || ch == 8))) {
        if (n) l->filter[n - 1] = '\0';
    } else if (!is_key && ch > 32 && ch < 127 && n + 1 < sizeof l->filter) {
        l->filter[n] = (char)ch; /* VM names are ASCII */
        l->filter[n + 1] = '\0';
    } else if (is_key && yv_table_key(l->table, (int)ch)) {
        return KEY_REDRAW;
    }
    yv_table_set_filter(l->table, l->filter);
    return KEY_REDRAW;
}

/* Starts the batch action r on the selected VM v, after checking it makes sense now; a
 * destructive one asks first. */
static int on_vm(yv_app *a, const yv_action_row *r, const yv_monitor_vm *v)
{
    char why[512], keyb[128];
    const char *key = yv_vm_key(v, keyb, sizeof keyb);
    const yv_job *busy = yv_job_for(a, key);
    /* a force stop may overtake a graceful shutdown that is counting down; nothing else overlaps */
    if (busy && !(r->overtakes && busy->act == r->overtakes))
        return yv_app_status(a, true, "%s: an action is already in progress", key), KEY_REDRAW;
    if (yv_actions_refusal(r, v, why, sizeof why))
        return yv_app_status(a, true, "%s", why), KEY_REDRAW;
    if (r->act == ACT_FORWARD) yv_form_open_forward(a, v->name); /* its arguments: a form */
    else if (r->act == ACT_RESIZE) yv_form_open_resize(a, v->name);
    else if (r->act == ACT_CLONE) yv_form_open_clone(a, v->name);
    else if (r->act == ACT_SET) yv_form_open_set(a, v->name);
    else if (r->act == ACT_SNAPSHOTS) yv_screen_push(&a->screens, &yv_snap_screen, v->name);
    else if (r->confirm_title) yv_dialog_ask(a, r, (const char *const[]){key}, 1, v->pid > 0);
    else yv_job_action(a, r, key);
    return KEY_REDRAW;
}

/* < > I: the sort column or its direction, remembered (a second after the last change). */
static int sort_key_local(yv_app *a, list_st *l, yv_action act)
{
    if (act == ACT_SORT_INVERT)
        yv_table_set_sort(l->table,
                          yv_table_sort_col(l->table) < 0 ? 0 : yv_table_sort_col(l->table),
                          !yv_table_sort_desc(l->table));
    else yv_table_sort_step(l->table, act == ACT_SORT_NEXT ? 1 : -1);
    yv_list_save(a);
    return KEY_REDRAW;
}

/* ---- marks and bulk actions (spec §15 "Select many") ---- */

/* Space, '*' and 'u': the selected row's mark (then the next row), the shown rows' marks
 * inverted, every mark cleared. */
static int on_mark(yv_app *a, list_st *l, const yv_action_row *r, const yv_monitor_vm *v)
{
    if (r->act == ACT_MARK && v) {
        {
            char kb[128];
            yv_marks_toggle(&a->marks, yv_vm_key(v, kb, sizeof kb));
        }
        yv_table_key(l->table, KEY_DOWN);
    } else if (r->act == ACT_MARK_INVERT) {
        for (size_t i = 0, n = yv_table_visible(l->table); i < n; i++)
            yv_marks_toggle(&a->marks, yv_monitor_name(a->mon, yv_table_visible_row(l->table, i)));
    } else if (r->act == ACT_MARK_CLEAR) {
        yv_marks_clear(&a->marks);
        yv_app_status(a, false, "marks cleared");
    }
    return KEY_REDRAW;
}

/* The marked VMs among the rows the filter shows. */
static size_t marked_shown(yv_app *a, const list_st *l)
{
    size_t k = 0;
    for (size_t i = 0, n = yv_table_visible(l->table); i < n; i++)
        k += yv_marks_has(&a->marks, yv_monitor_name(a->mon, yv_table_visible_row(l->table, i)));
    return k;
}

/* A many row with marks: one question naming every marked VM (in the list's order), each one's
 * running state kept for the answer; those the filter hides are said. One bulk at a time: its
 * summary is the record of what was done. */
static int on_marked(yv_app *a, const list_st *l, const yv_action_row *r)
{
    const char *names[YV_BULK_MAX];
    bool running[YV_BULK_MAX];
    int n = 0;
    if (a->bulk.on)
        return yv_app_status(a, true, "a bulk action is in progress: wait for its summary"),
               KEY_REDRAW;
    for (size_t i = 0, c = yv_monitor_count(a->mon); i < c; i++) {
        const char *name = yv_monitor_name(a->mon, i);
        if (!yv_marks_has(&a->marks, name)) continue;
        if (n == YV_BULK_MAX)
            return yv_app_status(a, true, "%s: more than %d VMs marked: mark fewer", r->label,
                                 YV_BULK_MAX),
                   KEY_REDRAW;
        const yv_monitor_vm *v = yv_monitor_find(a->mon, name);
        running[n] = v && v->pid > 0;
        names[n++] = name;
    }
    size_t shown = marked_shown(a, l);
    if (n) yv_dialog_ask_many(a, r, names, n, running, (size_t)n > shown ? n - (int)shown : 0);
    return KEY_REDRAW;
}

/* Why the bulk action r skips VM v (NULL: it runs): what makes no sense now is reported per VM,
 * never a refusal of the whole. */
static const char *bulk_skip(yv_app *a, const yv_action_row *r, const yv_monitor_vm *v,
                             bool was_running, char *buf, size_t n)
{
    char keyb[128];
    const char *key = v ? yv_vm_key(v, keyb, sizeof keyb) : NULL;
    if (!v) return "no longer exists";
    if (yv_job_started_since(a, r, key, was_running)) return "started since the question";
    const yv_job *busy = yv_job_for(a, key);
    if (busy && !(r->overtakes && busy->act == r->overtakes))
        return "an action is already in progress";
    if (r->need == YV_NEED_RUNNING && v->pid <= 0) return "already stopped";
    if (r->need == YV_NEED_STOPPED && v->pid > 0) return "already running";
    return yv_actions_refusal(r, v, buf, n);
}

static bool job_of(const yv_app *a, yv_action act, const char *vm)
{
    for (const yv_job *j = a->jobs; j; j = j->next)
        if (j->act == act && !strcmp(j->vm, vm)) return true;
    return false;
}

/* The last VM of the bulk action ended: its summary on the status line and in a notice. */
static void bulk_check(yv_app *a)
{
    char line[160], text[4096], all[4352]; /* the notice scrolls: room for many failures */
    if (!yv_bulk_finished(&a->bulk)) return;
    a->bulk.on = false;
    yv_bulk_summary(&a->bulk, line, sizeof line, text, sizeof text);
    bool bad = false;
    for (int i = 0; i < a->bulk.n; i++) bad |= a->bulk.items[i].state != YV_BULK_DONE;
    yv_app_status(a, bad, "%s", line);
    snprintf(all, sizeof all, "%s\n\n%s", line, text);
    /* a question the user is answering is not taken away: the status line says it then */
    if (!yv_screen_modal(&a->screens)) yv_dialog_tell(a, "Summary", all);
}

void yv_list_bulk_run(yv_app *a, const yv_action_row *r, const char *const *vms,
                      const bool *running, int n)
{
    char why[160];
    if (a->bulk.on) { /* never: the question is not asked then; kept: a summary is a record */
        yv_app_status(a, true, "a bulk action is in progress: wait for its summary");
        return;
    }
    yv_bulk_begin(&a->bulk, r->act, r->confirm_title ? r->confirm_title : r->label);
    for (int i = 0; i < n; i++) {
        const char *skip =
            bulk_skip(a, r, yv_monitor_find(a->mon, vms[i]), running[i], why, sizeof why);
        if (skip) {
            yv_bulk_add(&a->bulk, vms[i], YV_BULK_SKIPPED, skip);
            yv_app_status(a, false, "%s: %s", vms[i], skip);
            continue;
        }
        yv_job_action_asked(a, r, vms[i], running[i]); /* on a failure to start: the status line */
        bool started = job_of(a, r->act, vms[i]);
        yv_bulk_add(&a->bulk, vms[i], started ? YV_BULK_PENDING : YV_BULK_FAILED,
                    started ? "" : a->status);
    }
    bulk_check(a); /* nothing started (all skipped): the summary now */
}

void yv_list_bulk_ended(yv_app *a, yv_action act, const char *vm, bool ok, const char *text)
{
    if (yv_bulk_note(&a->bulk, (int)act, vm, ok, text)) bulk_check(a);
}

/* ---- the mouse (spec §15): a click selects, a double click opens details, the wheel scrolls;
 * anything else (the header, the key bar, other buttons) does nothing ---- */
#define DOUBLE_CLICK_MS 400

static int on_mouse(yv_app *a, list_st *l)
{
    MEVENT e;
    long last = l->click_row;
    l->click_row = -1; /* a wheel or a click elsewhere between two clicks: no double click */
    if (getmouse(&e) != OK) return KEY_IGNORED;
    if (e.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
        for (int i = 0; i < 3; i++)
            yv_table_key(l->table, e.bstate & BUTTON4_PRESSED ? KEY_UP : KEY_DOWN);
        return KEY_REDRAW;
    }
    long row = e.bstate & BUTTON1_PRESSED ? yv_table_row_at(l->table, e.y) : -1;
    if (row < 0) return KEY_IGNORED;
    int64_t now = yv_now_ms();
    bool twice = row == last && now - l->click_ms <= DOUBLE_CLICK_MS;
    yv_table_select(l->table, (size_t)row);
    l->click_row = twice ? -1 : row; /* a third click starts over */
    l->click_ms = now;
    if (twice)
        yv_screen_push(&a->screens, &yv_details_screen, yv_monitor_name(a->mon, (size_t)row));
    return KEY_REDRAW;
}

/* The actions carried out inside the TUI: modes and screens. */
static int on_local(yv_app *a, list_st *l, const yv_action_row *r, const yv_monitor_vm *v)
{
    char why[512];
    switch (r->act) {
    case ACT_QUIT: return KEY_QUIT;
    case ACT_HELP: yv_screen_push(&a->screens, &yv_help_screen, NULL); return KEY_REDRAW;
    case ACT_FILTER: l->filtering = true; return KEY_REDRAW;
    case ACT_MARK:
    case ACT_MARK_INVERT:
    case ACT_MARK_CLEAR: return on_mark(a, l, r, v);
    case ACT_CREATE:
    case ACT_PRESET: yv_form_open(a, r->act); return KEY_REDRAW;
    case ACT_SORT_PREV:
    case ACT_SORT_NEXT:
    case ACT_SORT_INVERT: return sort_key_local(a, l, r->act);
    case ACT_COLUMNS: yv_screen_push(&a->screens, &yv_columns_screen, NULL); return KEY_REDRAW;
    case ACT_DETAILS:
        if (v) yv_screen_push(&a->screens, &yv_details_screen, yv_vm_key(v, why, sizeof why));
        return KEY_REDRAW;
    case ACT_LOGS:
        if (v && v->host)
            return yv_app_status(a, true, "%s", yv_actions_refusal(r, v, why, sizeof why)),
                   KEY_REDRAW;
        if (v) yv_screen_push(&a->screens, &yv_logs_screen, v->name);
        return KEY_REDRAW;
    case ACT_VIEW: {
        if (v && yv_actions_refusal(r, v, why, sizeof why))
            return yv_app_status(a, true, "%s", why), KEY_REDRAW;
        if (v && v->host) { /* its host says where the display is, then it is forwarded here */
            const char *key = yv_vm_key(v, why, sizeof why);
            if (yv_job_for(a, key))
                return yv_app_status(a, true, "%s: an action is already in progress", key),
                       KEY_REDRAW;
            if (yv_job_start(a, ACT_VIEW, key, (const char *const[]){"--name", v->name, NULL}, NULL,
                             NULL))
                yv_app_status(a, false, "%s: asking %s for its display…", key, v->host);
        } else if (v) yv_screen_push(&a->screens, &yv_view_screen, v->name);
        return KEY_REDRAW;
    }
    default: return KEY_IGNORED;
    }
}

static int key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    list_st *l = st;
    if (is_key && ch == KEY_MOUSE) return on_mouse(a, l);
    l->click_row = -1; /* a key between two clicks: no double click */
    if (l->filtering) return filter_key(l, ch, is_key);
    if (is_key && yv_table_key(l->table, (int)ch)) return KEY_REDRAW;
    if (!is_key && (ch == L'j' || ch == L'k'))
        return yv_table_key(l->table, (int)ch) ? KEY_REDRAW : KEY_IGNORED;
    const yv_action_row *r = yv_actions_key(ch, is_key);
    if (!r) {
        if (!is_key && ch == 27 && l->filter[0]) {
            l->filter[0] = '\0';
            yv_table_set_filter(l->table, "");
            return KEY_REDRAW;
        }
        return KEY_IGNORED;
    }
    const yv_monitor_vm *v = r->need == YV_NEED_NOTHING ? NULL : yv_list_selected(a);
    if (r->need != YV_NEED_NOTHING && !v)
        return yv_app_status(a, true, "no VM selected"), KEY_REDRAW;
    /* the actions run by a child on a VM (forward builds its arguments in a form, after the
     * same checks); create and preset build theirs in a form */
    if (r->many && r->verb && a->marks.n) return on_marked(a, l, r); /* every marked VM */
    return r->verb && v ? on_vm(a, r, v) : on_local(a, l, r, v);
}

const yv_screen_class yv_list_screen = {
    .name = "list",
    .size = sizeof(list_st),
    .covers = true, /* title, table, status and keys: every line, each to the right edge */
    .init = init,
    .draw = draw,
    .key = key,
    .done = done,
};
