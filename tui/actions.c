/* actions: the table of the TUI's actions, and the expansion of its templates. Nothing here draws
 * or starts anything: the list screen and jobs.c carry the rows out (a unit test reads it alone).
 */
#include "actions.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

const yv_action_row yv_actions[] = {
    {.act = ACT_RUN,
     .remote = true,
     .ch = L'r',
     .shown = "r",
     .label = "Run",
     .help = "start the selected VM",
     .in_bar = true,
     .need = YV_NEED_STOPPED,
     .many = true,
     .verb = "run",
     .args = {"--name", "{vm}", NULL},
     .confirm_many = "Start {vm}?",
     .started = "starting {vm}…",
     .done = "{vm} started"},
    {.act = ACT_SHUTDOWN,
     .remote = true,
     .ch = L's',
     .shown = "s",
     .label = "Stop",
     .help = "shut the guest down (ACPI), escalating after shutdown.timeout",
     .in_bar = true,
     .need = YV_NEED_RUNNING,
     .many = true,
     .verb = "shutdown",
     .args = {"--name", "{vm}", NULL},
     .confirm_many = "Shut {vm} down (ACPI)?",
     .started = "asked {vm} to shut down (ACPI); escalating after {timeout}s",
     .done = "{vm} stopped (by {stopped_by})"},
    {.act = ACT_FORCE,
     .remote = true,
     .ch = L'K',
     .shown = "K",
     .label = "Kill",
     .help = "force stop: QEMU quits at once (asks first)",
     .in_bar = true,
     .need = YV_NEED_RUNNING,
     .many = true,
     .overtakes = ACT_SHUTDOWN,
     .confirm_title = "Force stop",
     .confirm = "Stop {vm} now? The guest gets no chance to shut down cleanly.",
     .confirm_key = L'y',
     .verb = "shutdown",
     .args = {"--name", "{vm}", "--force", NULL},
     .done = "{vm} stopped (by {stopped_by})"},
    {.act = ACT_CREATE,
     .ch = L'c',
     .shown = "c",
     .label = "Create",
     .help = "create a VM (empty disk, or copy/overlay of a base image)",
     .in_bar = true,
     .verb = "create",
     .started = "creating {vm}…",
     .done = "{vm} created"},
    {.act = ACT_PRESET,
     .ch = L'p',
     .shown = "p",
     .label = "Preset",
     .help = "create a VM from a preset (cloud image + cloud-init)",
     .in_bar = true,
     .verb = "create",
     .started = "creating {vm}…",
     .done = "{vm} created"},
    {.act = ACT_DELETE,
     .remote = true,
     .ch = L'D',
     .shown = "D",
     .label = "Delete",
     .help = "delete the selected VM and its disks (asks first)",
     .in_bar = true,
     .need = YV_NEED_VM,
     .many = true,
     .confirm_title = "Delete",
     .confirm = "Delete {vm} and its disks for good?",
     .confirm_running = "Delete {vm}? It is RUNNING: it will be stopped, and its disks removed "
                        "for good.",
     .confirm_many = "Delete {vm} and their disks for good?",
     .confirm_key = L'y',
     .verb = "delete",
     .args = {"--name", "{vm}", NULL},
     .args_running = {"--name", "{vm}", "--force", NULL},
     .done = "{vm} deleted"},
    {.act = ACT_NET_UP,
     .remote = true,
     .ch = L'n',
     .shown = "n",
     .label = "NetUp",
     .help = "attach the running VM's TAP to its bridge again",
     .need = YV_NEED_NETWORK,
     .verb = "netdev",
     .args = {"--name", "{vm}", "--ifname", "{tap}", "up", NULL},
     .done = "{vm}: network attached"},
    {.act = ACT_NET_DOWN,
     .remote = true,
     .ch = L'N',
     .shown = "N",
     .label = "NetDown",
     .help = "detach the running VM's TAP from its bridge (asks first)",
     .need = YV_NEED_NETWORK,
     .confirm_title = "Detach network",
     .confirm = "Detach {vm} from its bridge? The guest loses its network until n re-attaches it.",
     .confirm_key = L'y',
     .verb = "netdev",
     .args = {"--name", "{vm}", "--ifname", "{tap}", "down", NULL},
     .done = "{vm}: network detached"},
    {.act = ACT_FORWARD,
     .local_why = "its form is filled from the VM's config on this machine",
     .ch = L'f',
     .shown = "f",
     .label = "Forward",
     .help = "add or remove a port forward of the VM's user network (a form)",
     .need = YV_NEED_USERNET,
     .verb = "forward",
     .started = "changing the forwards of {vm}…",
     .done = "forward {forward} {change} {vm} {live}"},
    {.act = ACT_RESIZE,
     .local_why = "its form is filled from the VM's config on this machine",
     .ch = L'g',
     .shown = "g",
     .label = "Grow",
     .help = "grow a disk of the VM, running or not (a form: the new size)",
     .need = YV_NEED_VM,
     .verb = "resize",
     .started = "growing a disk of {vm}…",
     .done = "{vm}: disk grown"},
    {.act = ACT_CLONE,
     .local_why = "its form is filled from the VM's config on this machine",
     .ch = L'l',
     .shown = "l",
     .label = "Clone",
     .help = "clone the VM into a new one with its own MAC, display and ports (a form; a running "
             "VM: a snapshot of its disks)",
     .need = YV_NEED_VM,
     .verb = "clone",
     .started = "cloning {vm}…",
     .done = "{vm} cloned"},
    {.act = ACT_SET,
     .local_why = "its form is filled from the VM's config on this machine, and a VNC password "
                  "goes to it by a descriptor",
     .ch = L'e',
     .shown = "e",
     .label = "Edit",
     .help = "change the VM's memory, vCPUs, VNC password, network or firmware (a form; a running "
             "VM takes them at its next start)",
     .need = YV_NEED_VM,
     .verb = "set",
     .started = "changing the config of {vm}…",
     .done = "{vm}: {change} {live}"},
    {.act = ACT_SNAPSHOTS,
     .local_why = "the snapshots screen reads the VM's disks on this machine",
     .ch = L't',
     .shown = "t",
     .label = "Snaps",
     .help = "the VM's snapshots: create (c), revert (R) and delete (D), both asked first",
     .need = YV_NEED_VM,
     .verb = "snapshot",
     .done = "{vm}: snapshot done"},
    {.act = ACT_DETAILS,
     .remote = true,
     .ch = L'\n',
     .code = KEY_ENTER,
     .shown = "Enter",
     .label = "Info",
     .help = "details: config, QMP status, qemu.log and serial.log",
     .need = YV_NEED_VM},
    {.act = ACT_LOGS,
     .local_why = "the pager reads qemu.log and serial.log on this machine",
     .ch = L'L',
     .shown = "L",
     .label = "Logs",
     .help = "the VM's serial.log and qemu.log in a pager (also from details): Tab switches, F "
             "follows, / n N search, g G ends",
     .need = YV_NEED_VM},
    {.act = ACT_CONSOLE,
     .remote = true,
     .ch = L'o',
     .shown = "o",
     .label = "Console",
     .help = "attach to the running VM's serial console (Ctrl-] comes back)",
     .need = YV_NEED_RUNNING,
     .verb = "console",
     .args = {"--name", "{vm}", NULL},
     .foreground = true,
     .done = "{vm}: left the console"},
    {.act = ACT_SSH,
     .remote = true,
     .ch = L'h',
     .shown = "h",
     .label = "SSH",
     .help = "ssh into the running VM (the list comes back when ssh ends)",
     .need = YV_NEED_RUNNING,
     .verb = "ssh",
     .args = {"--name", "{vm}", NULL},
     .foreground = true,
     .done = "{vm}: ssh ended"},
    {.act = ACT_VIEW,
     .remote = true,
     .remote_verb = "vnc-endpoint",
     .ch = L'v',
     .shown = "v",
     .label = "View",
     .help = "the running VM's screen, full screen; keys typed go to the guest (Ctrl-] comes back)",
     .need = YV_NEED_DISPLAY},
    {.act = ACT_AUTOSTART_ON,
     .remote = true,
     .ch = L'a',
     .shown = "a",
     .label = "Boot on",
     .help = "mark the VM to start at boot (autostart run, yave-autostart.service)",
     .need = YV_NEED_VM,
     .verb = "autostart",
     .args = {"--name", "{vm}", "on", NULL},
     .done = "{vm} starts at boot"},
    {.act = ACT_AUTOSTART_OFF,
     .remote = true,
     .ch = L'A',
     .shown = "A",
     .label = "Boot off",
     .help = "unmark the VM: it no longer starts at boot (asks first)",
     .need = YV_NEED_VM,
     .confirm_title = "Autostart off",
     .confirm = "Stop starting {vm} at boot?",
     .confirm_key = L'y',
     .verb = "autostart",
     .args = {"--name", "{vm}", "off", NULL},
     .done = "{vm} no longer starts at boot"},
    {.act = ACT_SORT_PREV,
     .ch = L'<',
     .shown = "<",
     .label = "Sort<",
     .help = "sort by the column to the left (remembered per root in run/tui.state)"},
    {.act = ACT_SORT_NEXT,
     .ch = L'>',
     .shown = ">",
     .label = "Sort>",
     .help = "sort by the column to the right (remembered per root in run/tui.state)"},
    {.act = ACT_SORT_INVERT,
     .ch = L'I',
     .shown = "I",
     .label = "Invert",
     .help = "invert the sort order (the header's arrow says which way)"},
    {.act = ACT_COLUMNS,
     .code = KEY_F(2),
     .shown = "F2",
     .label = "Columns",
     .help = "choose the columns shown (Space toggles; remembered per root)"},
    {.act = ACT_MARK,
     .remote = true,
     .ch = L' ',
     .shown = "Space",
     .label = "Mark",
     .help = "mark or unmark the selected VM (and move down): r, s, K and D then act on every "
             "marked VM after one question naming them",
     .need = YV_NEED_VM},
    {.act = ACT_MARK_INVERT,
     .ch = L'*',
     .shown = "*",
     .label = "Invert",
     .help = "invert the marks of the VMs shown (the filter's)"},
    {.act = ACT_MARK_CLEAR,
     .ch = L'u',
     .shown = "u",
     .label = "Unmark",
     .help = "clear every mark"},
    {.act = ACT_FILTER,
     .ch = L'/',
     .shown = "/",
     .label = "Filter",
     .help = "filter the list by name (Esc clears)",
     .in_bar = true},
    {.act = ACT_HELP,
     .ch = L'?',
     .code = KEY_F(1),
     .shown = "?",
     .label = "Help",
     .help = "this help",
     .in_bar = true},
    {.act = ACT_QUIT,
     .ch = L'q',
     .code = KEY_F(10),
     .shown = "q",
     .label = "Quit",
     .help = "quit (running VMs keep running)",
     .in_bar = true},
};
const int yv_nactions = (int)(sizeof yv_actions / sizeof yv_actions[0]);

const yv_action_row *yv_actions_key(wint_t ch, bool is_key)
{
    for (int i = 0; i < yv_nactions; i++) {
        const yv_action_row *r = &yv_actions[i];
        if (is_key && r->code && (int)ch == r->code) return r;
        if (!is_key && r->ch && ch == r->ch) return r;
    }
    return NULL;
}

yv_action yv_actions_lookup(wint_t ch, bool is_key)
{
    const yv_action_row *r = yv_actions_key(ch, is_key);
    return r ? r->act : ACT_NONE;
}

const yv_action_row *yv_actions_of(yv_action act)
{
    for (int i = 0; i < yv_nactions; i++)
        if (yv_actions[i].act == act) return &yv_actions[i];
    return NULL;
}

static bool is_word(const char *w, size_t len, const char *name)
{
    return strlen(name) == len && !strncmp(w, name, len);
}

/* The value of {w}: the words a template may use. */
static const char *word_value(const yv_action_subst *s, const char *w, size_t len)
{
    return is_word(w, len, "vm")           ? s->vm
           : is_word(w, len, "tap")        ? s->tap
           : is_word(w, len, "timeout")    ? s->timeout
           : is_word(w, len, "stopped_by") ? s->stopped_by
           : is_word(w, len, "forward")    ? s->forward
           : is_word(w, len, "change")     ? s->change
           : is_word(w, len, "live")       ? s->live
                                           : NULL;
}

int yv_actions_expand(const char *tmpl, const yv_action_subst *s, char *buf, size_t n)
{
    size_t k = 0;
    for (const char *p = tmpl; *p;) {
        const char *add = p, *end = strchr(p, '{');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) { /* at a {word} */
            const char *close = strchr(p, '}');
            if (!close) return -1;
            add = word_value(s, p + 1, (size_t)(close - p - 1));
            if (!add || !*add) return -1;
            len = strlen(add);
            p = close + 1;
        } else {
            p += len;
        }
        if (k + len >= n) return -1;
        memcpy(buf + k, add, len);
        k += len;
    }
    if (k >= n) return -1;
    buf[k] = '\0';
    return 0;
}

/* Joins the names of vms (only those running says, when only_running) by ", " into buf. */
static int join_names(const char *const *vms, int n, const bool *running, bool only_running,
                      char *buf, size_t bn)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (only_running && !running[i]) continue;
        int w = snprintf(buf + k, bn - k, "%s%s", k ? ", " : "", vms[i]);
        if (w < 0 || (size_t)w >= bn - k) return -1;
        k += (size_t)w;
    }
    return 0;
}

int yv_actions_question(const yv_action_row *r, const char *const *vms, int n, const bool *running,
                        yv_action_question *q)
{
    bool any = false;
    for (int i = 0; running && i < n; i++) any |= running[i];
    if (join_names(vms, n, running, false, q->names, sizeof q->names) < 0) return -1;
    const char *t = any && r->confirm_running ? r->confirm_running : r->confirm;
    if ((n > 1 || !r->confirm_title) && r->confirm_many) t = r->confirm_many;
    q->title = r->confirm_title ? r->confirm_title : r->label;
    q->key = r->confirm_key ? r->confirm_key : L'y';
    yv_action_subst sub = {.vm = q->names};
    if (n <= 0 || !t || yv_actions_expand(t, &sub, q->text, sizeof q->text) < 0) return -1;
    /* several VMs, some running: which ones (a delete stops them first) */
    if (n > 1 && any && r->confirm_running) {
        size_t k = strlen(q->text);
        int w = snprintf(q->text + k, sizeof q->text - k, " Running (stopped first): ");
        if (w < 0 || (size_t)w >= sizeof q->text - k) return -1;
        k += (size_t)w;
        return join_names(vms, n, running, true, q->text + k, sizeof q->text - k);
    }
    return 0;
}

const char *yv_actions_refusal(const yv_action_row *r, const yv_monitor_vm *v, char *buf, size_t n)
{
    bool live = v->pid > 0, net = v->valid && yv_vm_has_tap(&v->vm); /* attach/detach: a TAP */
    const char *why = NULL;
    if (v->host && !r->remote) {
        snprintf(buf, n,
                 "%s is on host %s: %s works on this machine's VMs only (%s); use yave-tui on %s",
                 v->name, v->host, r->label, r->local_why ? r->local_why : "not over ssh", v->host);
        return buf;
    }
    if (v->host && v->host_problem && r->verb) {
        snprintf(buf, n, "%s: host %s is unreachable (%s)", v->name, v->host, v->host_problem);
        return buf;
    }
    bool needs_live = r->need == YV_NEED_RUNNING || r->need == YV_NEED_DISPLAY;
    if (needs_live && !live) why = "%s is not running";
    else if (r->need == YV_NEED_STOPPED && live) why = "%s is already running";
    else if (r->need == YV_NEED_NETWORK && (!live || !net)) why = "%s: no running network";
    else if (r->need == YV_NEED_USERNET && !(v->valid && yv_vm_first_user_net(&v->vm)))
        why = "%s has no user network (forwards need type: user)";
    else if (r->need == YV_NEED_DISPLAY && !(v->valid && v->vm.vnc_display))
        why = "%s has no VNC display";
    if (!why) return NULL;
    snprintf(buf, n, why, v->name);
    return buf;
}

yv_action_subst yv_actions_subst(const char *name, const yv_monitor_vm *v, char tap[16])
{
    tap[0] = '\0';
    for (size_t i = 0; v && v->valid && !tap[0] && i < v->vm.nnets; i++)
        if (v->vm.nets[i].type == YV_NET_TAP) yv_vm_tap_name(&v->vm, i, tap);
    return (yv_action_subst){.vm = name, .tap = tap};
}

int yv_actions_argv(const yv_action_row *r, const yv_action_subst *s, bool running,
                    char store[YV_ACTION_ARGS][128], const char *argv[YV_ACTION_ARGS + 1])
{
    const char *const *t = running && r->args_running[0] ? r->args_running : r->args;
    int i = 0;
    for (; i < YV_ACTION_ARGS && t[i]; i++) {
        if (yv_actions_expand(t[i], s, store[i], sizeof store[i]) < 0) return -1;
        argv[i] = store[i];
    }
    argv[i] = NULL;
    return 0;
}
