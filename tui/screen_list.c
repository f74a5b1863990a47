/* screen_list: the VM list that fills the screen — the table widget fed from the monitor. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/util.h"
#include "core/valid.h"
#include "widgets/draw.h"
#include "widgets/keybar.h"

enum {
    COL_NAME,
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
    COL_RSS, /* the live metrics (spec §15): only on wide screens */
    COL_DISKIO,
    COL_NETIO
};

/* the table's two-per-line layout kept as it was when rows were added (merges stay keep-both) */
/* clang-format off */
static const yv_column columns[] = {
    [COL_NAME] = {"NAME", 16, 0, false},  [COL_STATE] = {"STATE", 13, 0, false},
    [COL_VCPU] = {"VCPU", 4, 0, true},    [COL_MEM] = {"MEM", 6, 0, true},
    [COL_DISK] = {"DISK", 6, 100, true},  [COL_VNC] = {"VNC", 10, 0, false},
    [COL_NET] = {"NETWORK", 0, 0, false}, [COL_ADDR] = {"ADDRESS", 15, 96, false},
    [COL_PID] = {"PID", 7, 0, true},      [COL_UP] = {"UPTIME", 7, 110, true},
    [COL_CPU] = {"CPU%", 5, 0, true},
    [COL_RSS] = {"RSS", 6, 150, true},
    [COL_DISKIO] = {"DISK R/W", 11, 150, true},
    [COL_NETIO] = {"NET RX/TX", 11, 150, true},
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

/* The state as the user should read it: a job of ours in flight says more than QEMU can yet. */
static void state_text(yv_app *a, const yv_monitor_vm *v, char *buf, size_t n, yv_role *role)
{
    const yv_job *j = yv_job_for(a, v->name);
    *role = state_role(v->state);
    if (j && j->act == ACT_RUN && v->pid <= 0) {
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
    const char *br = yv_vminfo_master(&v->vm.nets[0], &a->cfg);
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
    case COL_NAME: snprintf(buf, n, "%s", v->name); break;
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

static bool model_match(void *ctx, size_t row, const char *filter)
{
    return strcasestr(yv_monitor_name(((yv_app *)ctx)->mon, row), filter) != NULL;
}

static const yv_table_model model = {model_count, model_cell, model_match};

/* The list's state: the table and the filter being typed or applied. */
typedef struct {
    yv_table *table;
    bool filtering;
    char filter[128];
} list_st;

static void init(yv_app *a, void *st, const void *arg)
{
    (void)arg;
    ((list_st *)st)->table =
        yv_table_new(columns, (int)(sizeof columns / sizeof columns[0]), &model, a);
}

static void done(yv_app *a, void *st)
{
    (void)a;
    yv_table_free(((list_st *)st)->table);
}

const yv_monitor_vm *yv_list_selected(yv_app *a)
{
    const list_st *l = yv_screen_bottom(&a->screens);
    long r = l ? yv_table_selected(l->table) : -1;
    return r < 0 ? NULL : yv_monitor_get(a->mon, (size_t)r);
}

static void draw_title(yv_app *a)
{
    char t[512];
    size_t n = yv_monitor_count(a->mon), running = yv_monitor_running(a->mon);
    snprintf(t, sizeof t, " YAVE  %s  %zu VM%s, %zu running", a->root, n, n == 1 ? "" : "s",
             running);
    yv_draw_text(stdscr, 0, 0, t, a->cols, yv_theme_attr(&a->theme, YV_C_TITLE));
}

static void draw_keybar(yv_app *a)
{
    yv_keybar_item items[32];
    int n = 0;
    for (int i = 0; i < yv_nactions && n < 32; i++)
        if (yv_actions[i].in_bar)
            items[n++] = (yv_keybar_item){yv_actions[i].shown, yv_actions[i].label};
    yv_keybar_draw(stdscr, a->rows - 1, a->cols, items, n, &a->theme);
}

static void draw_status(yv_app *a, const list_st *l)
{
    char line[600];
    if (l->filtering) snprintf(line, sizeof line, "/%s", l->filter);
    else if (a->status[0] && yv_now_ms() < a->status_until)
        snprintf(line, sizeof line, " %s", a->status);
    else if (l->filter[0])
        snprintf(line, sizeof line, " filter: %s (/ to change, Esc to clear)", l->filter);
    else if (yv_monitor_count(a->mon) == 0)
        snprintf(line, sizeof line, " no VMs yet: press c to create one");
    else line[0] = '\0';
    yv_keybar_status(stdscr, a->rows - 2, a->cols, line,
                     a->status_error && !l->filtering && yv_now_ms() < a->status_until
                         ? YV_C_ERROR
                         : YV_C_STATUS,
                     &a->theme);
    if (l->filtering) {
        move(a->rows - 2, 1 + yv_draw_width(l->filter));
        curs_set(1);
    }
}

static void draw(yv_app *a, void *st)
{
    list_st *l = st;
    curs_set(0);
    yv_table_refresh(l->table);
    draw_title(a);
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
    char why[128];
    const yv_job *busy = yv_job_for(a, v->name);
    /* a force stop may overtake a graceful shutdown that is counting down; nothing else overlaps */
    if (busy && !(r->overtakes && busy->act == r->overtakes))
        return yv_app_status(a, true, "%s: an action is already in progress", v->name), KEY_REDRAW;
    if (yv_actions_refusal(r, v, why, sizeof why))
        return yv_app_status(a, true, "%s", why), KEY_REDRAW;
    if (r->act == ACT_FORWARD) yv_form_open_forward(a, v->name); /* its arguments: a form */
    else if (r->act == ACT_RESIZE) yv_form_open_resize(a, v->name);
    else if (r->act == ACT_CLONE) yv_form_open_clone(a, v->name);
    else if (r->act == ACT_SET) yv_form_open_set(a, v->name);
    else if (r->act == ACT_SNAPSHOTS) yv_screen_push(&a->screens, &yv_snap_screen, v->name);
    else if (r->confirm_title) yv_dialog_ask(a, r, (const char *const[]){v->name}, 1, v->pid > 0);
    else yv_job_action(a, r, v->name);
    return KEY_REDRAW;
}

/* The actions carried out inside the TUI: modes and screens. */
static int on_local(yv_app *a, list_st *l, const yv_action_row *r, const yv_monitor_vm *v)
{
    switch (r->act) {
    case ACT_QUIT: return KEY_QUIT;
    case ACT_HELP: yv_screen_push(&a->screens, &yv_help_screen, NULL); return KEY_REDRAW;
    case ACT_FILTER: l->filtering = true; return KEY_REDRAW;
    case ACT_CREATE:
    case ACT_PRESET: yv_form_open(a, r->act); return KEY_REDRAW;
    case ACT_DETAILS:
        if (v) yv_screen_push(&a->screens, &yv_details_screen, v->name);
        return KEY_REDRAW;
    case ACT_VIEW: {
        char why[160];
        if (v && yv_actions_refusal(r, v, why, sizeof why))
            return yv_app_status(a, true, "%s", why), KEY_REDRAW;
        if (v) yv_screen_push(&a->screens, &yv_view_screen, v->name);
        return KEY_REDRAW;
    }
    default: return KEY_IGNORED;
    }
}

static int key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    list_st *l = st;
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
    return r->verb && v ? on_vm(a, r, v) : on_local(a, l, r, v);
}

const yv_screen_class yv_list_screen = {
    .name = "list",
    .size = sizeof(list_st),
    .init = init,
    .draw = draw,
    .key = key,
    .done = done,
};
