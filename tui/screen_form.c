/* screen_form: the create and preset forms — every `create` option, pick lists of what the root
 * holds, local validation next to each field, then the batch `create` in a child — the forward
 * form of a VM (add or remove, the spec checked by the batch's own parser, then the batch
 * `forward` in a child) and its resize form (a disk and its new size, then the batch `resize`). */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/forward.h"
#include "core/root.h"
#include "core/cloudinit.h"
#include "core/sshkey.h"
#include "core/util.h"
#include "core/valid.h"

enum {
    F_NAME,
    F_SOURCE,
    F_LINKED,
    F_CAPACITY,
    F_MEMORY,
    F_VCPU,
    F_VNCPW,
    F_BRIDGE,
    F_NETWORK,
    F_FORWARDS,
    F_UEFI,
    F_HOSTNAME,
    F_ROOTPW,
    F_TIMEOUT,
    F_FWOP,
    F_FWSPEC,
    F_SSHKEY,
    F_RSDRIVE,
    F_RSCAP,
    F_CLNAME,
    F_CLLINKED,
    F_DISPLAY,
    F_USER,
    F_PACKAGES,
    F_COUNT
};

#define EMPTY_DISK   "(empty disk)"
#define FORWARDS_MAX 16 /* what batch's --forward takes */
#define PACKAGES_MAX 64 /* YV_CLOUDINIT_MAX_PACKAGES: the form passes one --package a,b,… */

static const yv_field_spec create_specs[] = {
    [F_NAME] = {"Name", YV_FIELD_TEXT, "letters, digits, . _ - (at most 48)"},
    [F_SOURCE] = {"Base image", YV_FIELD_CHOICE, "Left/Right: an image of the root, or empty"},
    [F_LINKED] = {"Linked overlay", YV_FIELD_CHECK, "Space: overlay on the base instead of a copy"},
    [F_CAPACITY] = {"Disk MiB", YV_FIELD_NUMBER, "empty: 15360 (or the base image's size)"},
    [F_MEMORY] = {"Memory MiB", YV_FIELD_NUMBER, NULL},
    [F_VCPU] = {"vCPUs", YV_FIELD_NUMBER, NULL},
    [F_VNCPW] = {"VNC password", YV_FIELD_PASSWORD, "empty: a random one, shown once"},
    [F_BRIDGE] = {"Bridge", YV_FIELD_TEXT, "tap: empty = network.master of config.yaml"},
    [F_NETWORK] = {"Network", YV_FIELD_CHOICE, "user: NAT, no root; tap: a bridge (root); none"},
    [F_FORWARDS] = {"Forwards", YV_FIELD_TEXT,
                    "user: empty = SSH on a free port; 2201:22 udp:53:53"},
    [F_UEFI] = {"UEFI (OVMF)", YV_FIELD_CHECK, "Space: off = SeaBIOS"},
    [F_HOSTNAME] = {"Hostname", YV_FIELD_TEXT, "empty: the VM name"},
    [F_ROOTPW] = {"Root password", YV_FIELD_PASSWORD, "the guest's root password"},
    [F_TIMEOUT] = {"Install timeout s", YV_FIELD_NUMBER, "first boot limit (default 900)"},
    [F_FWOP] = {"Action", YV_FIELD_CHOICE, "remove: give [tcp|udp:]HOST"},
    [F_FWSPEC] = {"Forward", YV_FIELD_TEXT, "[tcp|udp:][ADDR:]HOST:GUEST"},
    [F_SSHKEY] = {"SSH key file", YV_FIELD_TEXT, "empty: none; a .pub file for root's ssh login"},
    [F_RSDRIVE] = {"Drive", YV_FIELD_CHOICE, "Left/Right: a disk of the VM"},
    [F_RSCAP] = {"New size MiB", YV_FIELD_NUMBER, "larger than now: disks only grow"},
    [F_CLNAME] = {"New name", YV_FIELD_TEXT, "letters, digits, . _ - (at most 48)"},
    [F_CLLINKED] = {"Linked", YV_FIELD_CHECK, "Space: overlays on its disks (it then cannot run)"},
    [F_DISPLAY] = {"VNC display", YV_FIELD_TEXT, ":N (port 5900+N), free of other VMs"},
    [F_USER] = {"Sudo user", YV_FIELD_TEXT, "empty: none; gets the key and root's password"},
    [F_PACKAGES] = {"Packages", YV_FIELD_TEXT, "empty: none; e.g. vim curl (needs a mirror)"},
};

/* Which fields each form shows, in order. */
static const int create_fields[] = {F_NAME,  F_SOURCE, F_LINKED,  F_CAPACITY, F_MEMORY, F_VCPU,
                                    F_VNCPW, F_BRIDGE, F_NETWORK, F_FORWARDS, F_UEFI};
static const int preset_fields[] = {F_NAME,     F_SOURCE,  F_HOSTNAME, F_ROOTPW,  F_VNCPW,
                                    F_CAPACITY, F_MEMORY,  F_VCPU,     F_BRIDGE,  F_NETWORK,
                                    F_FORWARDS, F_UEFI,    F_LINKED,   F_TIMEOUT, F_SSHKEY,
                                    F_USER,     F_PACKAGES};
static const int forward_fields[] = {F_FWOP, F_FWSPEC};
static const int resize_fields[] = {F_RSDRIVE, F_RSCAP};
static const int clone_fields[] = {F_CLNAME, F_CLLINKED, F_VNCPW};
static const int set_fields[] = {F_MEMORY,  F_VCPU,   F_DISPLAY,  F_VNCPW,
                                 F_NETWORK, F_BRIDGE, F_FORWARDS, F_UEFI};

/* The network kinds of the pick list (spec §10). */
static const char *const net_kinds[] = {"user", "tap", "none"};
/* What the forward form does: the batch verb's first word. */
static const char *const fw_ops[] = {"add", "remove"};

static const int *fields_of(yv_action kind, size_t *n)
{
    if (kind == ACT_PRESET) {
        *n = sizeof preset_fields / sizeof preset_fields[0];
        return preset_fields;
    }
    if (kind == ACT_FORWARD) {
        *n = sizeof forward_fields / sizeof forward_fields[0];
        return forward_fields;
    }
    if (kind == ACT_RESIZE) {
        *n = sizeof resize_fields / sizeof resize_fields[0];
        return resize_fields;
    }
    if (kind == ACT_CLONE) {
        *n = sizeof clone_fields / sizeof clone_fields[0];
        return clone_fields;
    }
    if (kind == ACT_SET) {
        *n = sizeof set_fields / sizeof set_fields[0];
        return set_fields;
    }
    *n = sizeof create_fields / sizeof create_fields[0];
    return create_fields;
}

/* The form's state: the widget, which form it is (a kind of form_kinds[]) and, for a form on a
 * VM (forward, resize, clone, set), that VM. */
typedef struct {
    yv_form *form;
    yv_action kind;
    char vm[64];
    /* the edit form: each field as it was filled (set sends only what the user changed, so a
     * change made meanwhile by someone else to another field is not reverted) */
    char *filled[F_COUNT];
} form_st;

/* What opens it: a new form of kind (of VM vm for a forward), or (form set) one typed before,
 * given back. */
typedef struct {
    yv_action kind;
    yv_form *form;
    const char *vm;
} form_arg;

/* Form index of a field id, or -1 when this form does not show it. */
static int idx(const form_st *fs, int id)
{
    size_t n;
    const int *f = fields_of(fs->kind, &n);
    for (size_t i = 0; i < n; i++)
        if (f[i] == id) return (int)i;
    return -1;
}

static const char *get(const form_st *f, int id)
{
    int i = idx(f, id);
    return i < 0 ? "" : yv_form_get(f->form, (size_t)i);
}

static void set_err(form_st *f, int id, const char *msg)
{
    int i = idx(f, id);
    if (i >= 0) yv_form_set_error(f->form, (size_t)i, msg);
}

/* Base images (*.qcow2) or presets (*.preset) of the root, for the pick list. */
static void fill_choices(yv_app *a, form_st *f)
{
    size_t n;
    yv_err e;
    bool preset = f->kind == ACT_PRESET;
    char **names = yv_root_list_suffix(a->root, preset ? ".preset" : ".qcow2", &n, &e);
    const char **items = yv_calloc(n + 1, sizeof *items);
    size_t k = 0;
    if (!preset) items[k++] = EMPTY_DISK;
    for (size_t i = 0; names && i < n; i++) items[k++] = names[i];
    yv_form_set_choices(f->form, (size_t)idx(f, F_SOURCE), items, k);
    free(items);
    yv_root_free_names(names, n);
}

/* The forward form of VM f->vm: add is the default. */
static void build_forward(yv_app *a, form_st *f)
{
    (void)a;
    yv_field_spec specs[] = {create_specs[F_FWOP], create_specs[F_FWSPEC]};
    char title[96];
    snprintf(title, sizeof title, "Port forward of %s", f->vm);
    f->form = yv_form_new(title, specs, 2);
    yv_form_set_choices(f->form, (size_t)idx(f, F_FWOP), fw_ops, 2);
    yv_form_set(f->form, (size_t)idx(f, F_FWOP), "add");
}

/* The resize form of VM f->vm: its disks (not a cdrom) to pick, the first one first. */
static void build_resize(yv_app *a, form_st *f)
{
    yv_field_spec specs[] = {create_specs[F_RSDRIVE], create_specs[F_RSCAP]};
    char title[96];
    snprintf(title, sizeof title, "Grow a disk of %s", f->vm);
    f->form = yv_form_new(title, specs, 2);
    const yv_monitor_vm *v = yv_monitor_find(a->mon, f->vm);
    const char *ids[16];
    size_t n = 0;
    for (size_t i = 0; v && v->valid && i < v->vm.ndrives && n < 16; i++)
        if (!(v->vm.drives[i].type == YV_DRIVE_IDE && v->vm.drives[i].media == YV_MEDIA_CD))
            ids[n++] = v->vm.drives[i].id;
    yv_form_set_choices(f->form, (size_t)idx(f, F_RSDRIVE), ids, n);
    if (n) yv_form_set(f->form, (size_t)idx(f, F_RSDRIVE), ids[0]);
}

/* The clone form of VM f->vm: the new name, linked or not, a VNC password (empty: random). */
static void build_clone(yv_app *a, form_st *f)
{
    (void)a;
    yv_field_spec specs[] = {create_specs[F_CLNAME], create_specs[F_CLLINKED],
                             create_specs[F_VNCPW]};
    char title[96];
    snprintf(title, sizeof title, "Clone %s", f->vm);
    f->form = yv_form_new(title, specs, 3);
}

/* The user network's forwards as the field shows them ("2201:22 udp:0.0.0.0:53:53"), which is
 * also how --forward reads them; false (buf empty) when they do not fit the field: a cut list
 * sent back would drop or corrupt forwards, an empty field keeps them. */
static bool forwards_field(const yv_net *n, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n->nforwards && at < len; i++) {
        const yv_forward *w = &n->forwards[i];
        bool local = !strcmp(w->address, "127.0.0.1");
        at += (size_t)snprintf(buf + at, len - at, "%s%s%s%s%d:%d", i ? " " : "",
                               w->proto == YV_PROTO_UDP ? "udp:" : "", local ? "" : w->address,
                               local ? "" : ":", w->host, w->guest);
    }
    if (at < len && at <= YV_FORM_VALUE_MAX) return true;
    buf[0] = '\0';
    return false;
}

/* The fields of VM vm's config (the password is never shown: empty keeps it). */
static void fill_set(form_st *f, const yv_vm *vm, const char *fw)
{
    char num[32];
    snprintf(num, sizeof num, "%ld", vm->memory);
    yv_form_set(f->form, (size_t)idx(f, F_MEMORY), num);
    snprintf(num, sizeof num, "%ld", vm->vcpu);
    yv_form_set(f->form, (size_t)idx(f, F_VCPU), num);
    yv_form_set(f->form, (size_t)idx(f, F_UEFI), vm->ovmf ? "1" : "");
    if (vm->vnc_display) yv_form_set(f->form, (size_t)idx(f, F_DISPLAY), vm->vnc_display);
    const yv_net *net = vm->nnets ? &vm->nets[0] : NULL;
    yv_form_set(f->form, (size_t)idx(f, F_NETWORK),
                !net                       ? "none"
                : net->type == YV_NET_USER ? "user"
                                           : "tap");
    if (net && net->master) yv_form_set(f->form, (size_t)idx(f, F_BRIDGE), net->master);
    yv_form_set(f->form, (size_t)idx(f, F_FORWARDS), fw);
}

/* The edit form of VM f->vm, filled with its config; what it was filled with is kept (filled). */
static void build_set(yv_app *a, form_st *f)
{
    yv_field_spec specs[F_COUNT];
    size_t n;
    const int *ids = fields_of(ACT_SET, &n);
    char title[96], fw[1024];
    const yv_monitor_vm *v = yv_monitor_find(a->mon, f->vm);
    bool valid = v && v->valid, fits = true;
    if (valid && v->vm.nnets) fits = forwards_field(&v->vm.nets[0], fw, sizeof fw);
    else fw[0] = '\0';
    for (size_t i = 0; i < n; i++) specs[i] = create_specs[ids[i]];
    specs[idx(f, F_VNCPW)].hint = "empty: unchanged; a running VM takes it at once";
    specs[idx(f, F_FORWARDS)].hint =
        fits ? "user: they replace the old ones (empty: kept)" : "too many to show; empty: kept";
    snprintf(title, sizeof title, "Change %s (from its next start)", f->vm);
    f->form = yv_form_new(title, specs, n);
    yv_form_set_choices(f->form, (size_t)idx(f, F_NETWORK), net_kinds, 3);
    if (valid) fill_set(f, &v->vm, fw);
    for (size_t i = 0; i < n; i++)
        if (ids[i] != F_VNCPW) f->filled[ids[i]] = yv_strdup(yv_form_get(f->form, i));
}

/* The create form (f->kind ACT_CREATE or ACT_PRESET), with the defaults filled in. */
static void build_create(yv_app *a, form_st *f)
{
    size_t n;
    yv_field_spec specs[F_COUNT];
    const int *ids = fields_of(f->kind, &n);
    for (size_t i = 0; i < n; i++) {
        specs[i] = create_specs[ids[i]];
        if (f->kind == ACT_PRESET && ids[i] == F_SOURCE) {
            specs[i].label = "Preset";
            specs[i].hint = "Left/Right: a preset of the root";
        }
    }
    f->form =
        yv_form_new(f->kind == ACT_PRESET ? "Create a VM from a preset" : "Create a VM", specs, n);
    fill_choices(a, f);
    yv_form_set(f->form, (size_t)idx(f, F_MEMORY), "1024");
    yv_form_set(f->form, (size_t)idx(f, F_VCPU), "1");
    yv_form_set_choices(f->form, (size_t)idx(f, F_NETWORK), net_kinds, 3);
    /* the default of create (spec §10): tap when a bridge is configured, else user */
    yv_form_set(f->form, (size_t)idx(f, F_NETWORK), a->cfg.network_master ? "tap" : "user");
    if (idx(f, F_UEFI) >= 0) yv_form_set(f->form, (size_t)idx(f, F_UEFI), "1");
    if (f->kind == ACT_PRESET) yv_form_set(f->form, (size_t)idx(f, F_TIMEOUT), "900");
}

static void done(yv_app *a, void *st)
{
    (void)a;
    form_st *f = st;
    yv_form_free(f->form);
    for (int id = 0; id < F_COUNT; id++) free(f->filled[id]);
}

/* The field differs from what the edit form was filled with. */
static bool changed(const form_st *f, int id)
{
    return idx(f, id) >= 0 && strcmp(get(f, id), f->filled[id] ? f->filled[id] : "") != 0;
}

/* The child of a form on VM f->vm (a VNC password, when vncpw is not empty, through fd 3, never
 * argv; vncpw is wiped and freed), its row's `started` text on the status line, the form closed
 * (the last use of f). When it cannot start, the status line says why and the form stays. */
static void start_vm_job(yv_app *a, form_st *f, const char *const *args, char *vncpw)
{
    char status[160];
    yv_job *j = yv_job_start(a, f->kind, f->vm, args, vncpw && *vncpw ? vncpw : NULL, NULL);
    yv_free_secret(vncpw);
    if (!j) return;
    yv_action_subst s = {.vm = j->vm};
    if (yv_actions_expand(yv_actions_of(f->kind)->started, &s, status, sizeof status) == 0)
        yv_app_status(a, false, "%s", status);
    yv_screen_pop(&a->screens);
}

void yv_form_open(yv_app *a, yv_action kind)
{
    /* one create at a time: its form is kept (hidden) until it ends, to show again on failure */
    if (yv_job_running(a, ACT_CREATE) || yv_job_running(a, ACT_PRESET)) {
        yv_app_status(a, true, "a create is already running");
        return;
    }
    yv_screen_push(&a->screens, &yv_form_screen, &(form_arg){kind, NULL, NULL});
}

void yv_form_open_forward(yv_app *a, const char *vm)
{
    yv_screen_push(&a->screens, &yv_form_screen, &(form_arg){ACT_FORWARD, NULL, vm});
}

void yv_form_open_resize(yv_app *a, const char *vm)
{
    yv_screen_push(&a->screens, &yv_form_screen, &(form_arg){ACT_RESIZE, NULL, vm});
}

void yv_form_open_clone(yv_app *a, const char *vm)
{
    yv_screen_push(&a->screens, &yv_form_screen, &(form_arg){ACT_CLONE, NULL, vm});
}

/* The clone form: a valid name (whether it is free, and the VM stopped, is the batch's to say). */
static bool validate_clone(yv_app *a, form_st *f)
{
    (void)a;
    yv_err e;
    yv_form_clear_errors(f->form);
    if (yv_valid_name(get(f, F_CLNAME), &e) < 0) {
        set_err(f, F_CLNAME, e.msg);
        return false;
    }
    if (strlen(get(f, F_VNCPW)) > 8) set_err(f, F_VNCPW, "note: VNC uses only 8 characters");
    return true;
}

/* `clone --name VM --to NEW [--linked]` in a child, the password through fd 3 (never in argv);
 * the form closes, the answer (and a generated password, once) comes when the child ends. */
static void submit_clone(yv_app *a, form_st *f)
{
    char to[64];
    char *vncpw = yv_strdup(get(f, F_VNCPW));
    snprintf(to, sizeof to, "%s", get(f, F_CLNAME));
    const char *args[10] = {"--name", f->vm, "--to", to};
    int n = 4;
    if (*get(f, F_CLLINKED)) args[n++] = "--linked";
    if (*vncpw) args[n++] = "--vnc-password-file", args[n++] = "/dev/fd/3";
    args[n] = NULL;
    start_vm_job(a, f, args, vncpw);
}

void yv_form_open_set(yv_app *a, const char *vm)
{
    yv_screen_push(&a->screens, &yv_form_screen, &(form_arg){ACT_SET, NULL, vm});
}

/* The resize form: a disk, and a size in MiB (whether it is larger than now is the batch's to
 * say: the running QEMU knows the size, the form does not). */
static bool validate_resize(yv_app *a, form_st *f)
{
    (void)a;
    yv_err e;
    long v;
    yv_form_clear_errors(f->form);
    if (!*get(f, F_RSDRIVE)) {
        set_err(f, F_RSDRIVE, "the VM has no disk to grow");
        return false;
    }
    if (yv_valid_mib(get(f, F_RSCAP), "size", &v, &e) < 0) {
        set_err(f, F_RSCAP, "1 to 16777216 MiB");
        return false;
    }
    return true;
}

/* `resize --name VM --drive D --capacity N` in a child; the form closes (a size that is not
 * larger goes to the status line when the child ends). */
static void submit_resize(yv_app *a, form_st *f)
{
    char drive[64], cap[32];
    snprintf(drive, sizeof drive, "%s", get(f, F_RSDRIVE));
    snprintf(cap, sizeof cap, "%s", get(f, F_RSCAP));
    const char *args[] = {"--name", f->vm, "--drive", drive, "--capacity", cap, NULL};
    start_vm_job(a, f, args, NULL);
}

/* The forward form: the spec through the batch's own parser (a full spec to add; a full one or
 * [PROTO:]HOST to remove). Its reason goes next to the field, the whole message (with what a
 * spec looks like) on the status line. */
static bool validate_forward(yv_app *a, form_st *f)
{
    yv_forward fw = {0};
    yv_proto proto;
    yv_err e;
    int host, rc;
    char spec[128]; /* a copy: the form's next answer reuses its buffer */
    snprintf(spec, sizeof spec, "%s", get(f, F_FWSPEC));
    yv_form_clear_errors(f->form);
    if (!strcmp(get(f, F_FWOP), "remove")) rc = yv_forward_parse_key(spec, &proto, &host, &e);
    else rc = yv_forward_parse(spec, &fw, &e);
    free(fw.address);
    if (rc == 0) return true;
    /* "invalid forward 'S': WHY (give …)": WHY fits next to the field */
    const char *why = strstr(e.msg, "': "), *end = why ? strstr(why, " (give") : NULL;
    char shortmsg[128];
    if (why && end) snprintf(shortmsg, sizeof shortmsg, "%.*s", (int)(end - why - 3), why + 3);
    else snprintf(shortmsg, sizeof shortmsg, "%s", e.msg);
    set_err(f, F_FWSPEC, shortmsg);
    yv_app_status(a, true, "%s", e.msg);
    return false;
}

/* The forwards field: specs separated by blanks or commas, only with a user network. */
static bool validate_forwards(form_st *f)
{
    char buf[300], *save = NULL, why[128];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", get(f, F_FORWARDS));
    for (char *w = strtok_r(buf, " ,", &save); w; w = strtok_r(NULL, " ,", &save), n++) {
        yv_fwspec s;
        yv_err e;
        if (yv_valid_forward(w, &s, &e) == 0) continue;
        snprintf(why, sizeof why, "not [udp:][ADDR:]HOST:GUEST: '%.16s'", w);
        set_err(f, F_FORWARDS, why);
        return false;
    }
    if (n > FORWARDS_MAX) set_err(f, F_FORWARDS, "at most 16 forwards");
    else if (n && strcmp(get(f, F_NETWORK), "user") != 0)
        set_err(f, F_FORWARDS, "forwards need network user");
    return n == 0 || (n <= FORWARDS_MAX && !strcmp(get(f, F_NETWORK), "user"));
}

/* Memory and vCPUs by the rule create and set share (core/valid.c). */
static bool check_hw(form_st *f)
{
    yv_err e;
    long v;
    bool ok = true;
    char msg[64]; /* the limits core/valid.h sets */
    snprintf(msg, sizeof msg, "%d to %ld MiB", YV_MEMORY_MIN, (long)YV_MEMORY_MAX);
    if (yv_valid_memory(get(f, F_MEMORY), &v, &e) < 0) set_err(f, F_MEMORY, msg), ok = false;
    snprintf(msg, sizeof msg, "1 to %d", YV_VCPU_MAX);
    if (yv_valid_vcpu(get(f, F_VCPU), &v, &e) < 0) set_err(f, F_VCPU, msg), ok = false;
    return ok;
}

/* The preset's user and packages (blanks or commas between names), checked as the core does. */
static bool validate_user_packages(form_st *f)
{
    char buf[300], *save = NULL;
    yv_err e;
    bool ok = true;
    int n = 0;
    if (*get(f, F_USER) && yv_cloudinit_check_user(get(f, F_USER), &e) < 0) /* short: it fits */
        set_err(f, F_USER,
                strstr(e.msg, "reserved") ? "reserved: a system account"
                                          : "a-z 0-9 _ -, 32 at most"),
            ok = false;
    snprintf(buf, sizeof buf, "%s", get(f, F_PACKAGES));
    for (char *w = strtok_r(buf, " ,", &save); w; w = strtok_r(NULL, " ,", &save), n++)
        if (yv_cloudinit_check_package(w, &e) < 0) {
            char why[96];
            snprintf(why, sizeof why, "not a package: '%.12s'", w);
            set_err(f, F_PACKAGES, why);
            return false;
        }
    if (n > PACKAGES_MAX) set_err(f, F_PACKAGES, "at most 64 packages"), ok = false;
    return ok;
}

/* Checks every field; the message goes next to the field. True when all are fine. */
static bool validate(yv_app *a, form_st *f)
{
    (void)a;
    yv_err e;
    long v;
    bool ok = true;
    yv_form_clear_errors(f->form);
    if (yv_valid_name(get(f, F_NAME), &e) < 0) set_err(f, F_NAME, e.msg), ok = false;
    const char *src = get(f, F_SOURCE);
    bool empty = !*src || !strcmp(src, EMPTY_DISK);
    if (f->kind == ACT_PRESET && empty) set_err(f, F_SOURCE, "no preset in the root"), ok = false;
    if (*get(f, F_LINKED) && empty && f->kind == ACT_CREATE)
        set_err(f, F_LINKED, "an overlay needs a base image"), ok = false;
    if (*get(f, F_CAPACITY) && yv_valid_mib(get(f, F_CAPACITY), "size", &v, &e) < 0)
        set_err(f, F_CAPACITY, "1 to 16777216 MiB"), ok = false;
    if (!check_hw(f)) ok = false;
    if (*get(f, F_BRIDGE) && yv_valid_ifname(get(f, F_BRIDGE), "bridge", &e) < 0)
        set_err(f, F_BRIDGE, "1-15 of A-Z a-z 0-9 _ . -"), ok = false;
    else if (*get(f, F_BRIDGE) && strcmp(get(f, F_NETWORK), "tap") != 0)
        set_err(f, F_BRIDGE, "a bridge needs network tap"), ok = false;
    if (!validate_forwards(f)) ok = false;
    if (strlen(get(f, F_VNCPW)) > 8) set_err(f, F_VNCPW, "note: VNC uses only 8 characters");
    if (f->kind == ACT_PRESET) {
        if (!*get(f, F_ROOTPW)) set_err(f, F_ROOTPW, "required"), ok = false;
        if (yv_parse_long(get(f, F_TIMEOUT), 1, 604800, &v) < 0)
            set_err(f, F_TIMEOUT, "1 to 604800 s"), ok = false;
        yv_sshkeys k = {0}; /* checked here too, so the message sits next to the field */
        if (*get(f, F_SSHKEY) && yv_sshkey_load(&k, get(f, F_SSHKEY), &e) < 0)
            set_err(f, F_SSHKEY, e.msg), ok = false;
        yv_sshkey_done(&k);
        if (!validate_user_packages(f)) ok = false;
    }
    return ok;
}

/* `forward add|remove --name VM SPEC` in a child; the form closes (an error goes to the status
 * line when the child ends: a port held by another program, a forward the VM does not have). */
static void submit_forward(yv_app *a, form_st *f)
{
    char op[8], spec[128];
    snprintf(op, sizeof op, "%s", get(f, F_FWOP));
    snprintf(spec, sizeof spec, "%s", get(f, F_FWSPEC));
    const char *args[] = {op, "--name", f->vm, spec, NULL};
    start_vm_job(a, f, args, NULL);
}

/* The packages field's names joined by ',' (batch's --package P[,P…]); false when none. */
static bool join_packages(char *field, char *out, size_t n)
{
    char *save = NULL;
    size_t len = 0;
    out[0] = '\0';
    for (char *w = strtok_r(field, " ,", &save); w; w = strtok_r(NULL, " ,", &save))
        len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", len ? "," : "", w);
    return len > 0 && len < n;
}

/* The argv for `create` (no secret in it: passwords go through fds 3 and 4). */
static void submit(yv_app *a, form_st *f)
{
    static char store[F_COUNT][300];
    static char pkgs[300];
    const char *args[44 + 2 * FORWARDS_MAX];
    char *save = NULL;
    int n = 0;
    char *vncpw = yv_strdup(get(f, F_VNCPW)), *rootpw = yv_strdup(get(f, F_ROOTPW));
    for (int id = 0; id < F_COUNT; id++) snprintf(store[id], sizeof store[id], "%s", get(f, id));
    explicit_bzero(store[F_VNCPW], sizeof store[F_VNCPW]);
    explicit_bzero(store[F_ROOTPW], sizeof store[F_ROOTPW]);
    args[n++] = "--name";
    args[n++] = store[F_NAME];
    if (f->kind == ACT_PRESET) args[n++] = "--preset", args[n++] = store[F_SOURCE];
    else if (strcmp(store[F_SOURCE], EMPTY_DISK) != 0)
        args[n++] = "--image", args[n++] = store[F_SOURCE];
    if (*store[F_LINKED]) args[n++] = "--linked";
    if (*store[F_CAPACITY]) args[n++] = "--capacity", args[n++] = store[F_CAPACITY];
    args[n++] = "--memory";
    args[n++] = store[F_MEMORY];
    args[n++] = "--vcpu";
    args[n++] = store[F_VCPU];
    if (*store[F_BRIDGE]) args[n++] = "--master", args[n++] = store[F_BRIDGE];
    args[n++] = "--network";
    args[n++] = store[F_NETWORK];
    for (char *w = strtok_r(store[F_FORWARDS], " ,", &save); w; w = strtok_r(NULL, " ,", &save))
        args[n++] = "--forward", args[n++] = w; /* validated: at most FORWARDS_MAX */
    if (!*store[F_UEFI]) args[n++] = "--no-ovmf";
    if (f->kind == ACT_PRESET) {
        if (*store[F_HOSTNAME]) args[n++] = "--hostname", args[n++] = store[F_HOSTNAME];
        args[n++] = "--install-timeout";
        args[n++] = store[F_TIMEOUT];
        args[n++] = "--root-password-file";
        args[n++] = "/dev/fd/4";
        if (*store[F_SSHKEY]) args[n++] = "--ssh-key", args[n++] = store[F_SSHKEY];
        if (*store[F_USER]) args[n++] = "--user", args[n++] = store[F_USER];
        if (join_packages(store[F_PACKAGES], pkgs, sizeof pkgs))
            args[n++] = "--package", args[n++] = pkgs; /* one value: batch's many are few */
    }
    if (*vncpw) args[n++] = "--vnc-password-file", args[n++] = "/dev/fd/3";
    args[n] = NULL;
    yv_job *j = yv_job_start(a, f->kind, store[F_NAME], args, *vncpw ? vncpw : NULL,
                             f->kind == ACT_PRESET ? rootpw : NULL);
    if (j) { /* the form goes with the job, and the screen closes */
        char status[128];
        yv_action_subst s = {.vm = store[F_NAME]};
        j->form = f->form;
        f->form = NULL;
        yv_screen_pop(&a->screens);
        if (yv_actions_expand(yv_actions_of(j->act)->started, &s, status, sizeof status) == 0)
            yv_app_status(a, false, "%s", status);
    }
    yv_free_secret(vncpw);
    yv_free_secret(rootpw);
}

/* The edit form: the rules create's form checks (the batch checks them again, and what the form
 * cannot know: another VM's forward port). */
static bool validate_set(yv_app *a, form_st *f)
{
    (void)a;
    yv_err e;
    bool ok = true;
    yv_form_clear_errors(f->form);
    char why[128];
    if (!check_hw(f)) ok = false;
    if (*get(f, F_DISPLAY) && yv_valid_display_check(get(f, F_DISPLAY), why, sizeof why) < 0) {
        snprintf(why, sizeof why, ":N, N from 0 to %d", YV_DISPLAY_MAX); /* short: beside it */
        set_err(f, F_DISPLAY, why), ok = false;
    }
    if (*get(f, F_BRIDGE) && yv_valid_ifname(get(f, F_BRIDGE), "bridge", &e) < 0)
        set_err(f, F_BRIDGE, "1-15 of A-Z a-z 0-9 _ . -"), ok = false;
    /* forwards left as filled are not sent (a network change drops or makes them itself) */
    if (changed(f, F_FORWARDS) && !validate_forwards(f)) ok = false;
    if (strlen(get(f, F_VNCPW)) > 8) set_err(f, F_VNCPW, "note: VNC uses only 8 characters");
    return ok;
}

/* The options of `set` for the fields the user changed (store: their values, kept for the child's
 * argv), the bridge only with tap, the forwards only with user; what the form was filled with is
 * not sent, so a change made meanwhile (a `forward add`, another user's set) is not reverted. */
static int set_args(form_st *f, char store[][300], const char **args)
{
    int n = 0;
    char *save = NULL;
    for (int id = 0; id < F_COUNT; id++)
        if (id != F_VNCPW && idx(f, id) >= 0)
            snprintf(store[id], sizeof store[id], "%s", get(f, id));
    bool tap = !strcmp(store[F_NETWORK], "tap"), user = !strcmp(store[F_NETWORK], "user");
    if (changed(f, F_MEMORY)) args[n++] = "--memory", args[n++] = store[F_MEMORY];
    if (changed(f, F_VCPU)) args[n++] = "--vcpu", args[n++] = store[F_VCPU];
    if (changed(f, F_UEFI)) args[n++] = *store[F_UEFI] ? "--ovmf" : "--no-ovmf";
    if (changed(f, F_DISPLAY) && *store[F_DISPLAY])
        args[n++] = "--display", args[n++] = store[F_DISPLAY];
    if (changed(f, F_NETWORK)) args[n++] = "--network", args[n++] = store[F_NETWORK];
    if (changed(f, F_BRIDGE) && tap && *store[F_BRIDGE])
        args[n++] = "--master", args[n++] = store[F_BRIDGE];
    for (char *w = strtok_r(store[F_FORWARDS], " ,", &save); changed(f, F_FORWARDS) && user && w;
         w = strtok_r(NULL, " ,", &save))
        args[n++] = "--forward", args[n++] = w; /* validated: at most FORWARDS_MAX */
    return n;
}

/* `set --name VM …` in a child with what the user changed; the password through fd 3, never argv.
 */
static void submit_set(yv_app *a, form_st *f)
{
    static char store[F_COUNT][300];
    const char *args[24 + 2 * FORWARDS_MAX];
    char *vncpw = yv_strdup(get(f, F_VNCPW));
    args[0] = "--name";
    args[1] = f->vm;
    int n = 2 + set_args(f, store, args + 2);
    if (*vncpw) args[n++] = "--vnc-password-file", args[n++] = "/dev/fd/3";
    args[n] = NULL;
    if (n == 2) { /* nothing to change: no job */
        yv_free_secret(vncpw);
        yv_app_status(a, false, "%s: nothing changed", f->vm);
        yv_screen_pop(&a->screens);
        return;
    }
    start_vm_job(a, f, args, vncpw);
}

void yv_form_job_done(yv_app *a, yv_job *j, bool ok, const char *code, const char *msg)
{
    yv_form *form = j->form;
    j->form = NULL;
    if (ok || !form) {
        yv_form_free(form);
        return;
    }
    /* Back to the form, with what was typed and the error next to the field it is about. */
    form_st *f = yv_screen_show(&a->screens, &yv_form_screen, &(form_arg){j->act, form, NULL});
    if (!f) { /* no room on the stack: what was typed is lost, the status says why */
        yv_form_free(form);
        return;
    }
    int id = (!strcmp(code, "VM_EXISTS") || !strcmp(code, "INVALID_NAME"))             ? F_NAME
             : (!strcmp(code, "IMAGE_NOT_FOUND") || !strcmp(code, "PRESET_NOT_FOUND")) ? F_SOURCE
                                                                                       : -1;
    if (strstr(msg, "forward")) id = F_FORWARDS; /* another VM's port, a taken one */
    yv_form_clear_errors(f->form);
    if (id >= 0) set_err(f, id, msg);
}

/* Each form by its kind: how it is built, checked and sent. */
typedef struct {
    yv_action kind;
    void (*build)(yv_app *a, form_st *f);
    bool (*validate)(yv_app *a, form_st *f); /* marks the fields in error; false: not sent */
    void (*submit)(yv_app *a, form_st *f);
} form_kind;

static const form_kind form_kinds[] = {
    {ACT_CREATE, build_create, validate, submit},
    {ACT_PRESET, build_create, validate, submit},
    {ACT_FORWARD, build_forward, validate_forward, submit_forward},
    {ACT_RESIZE, build_resize, validate_resize, submit_resize},
    {ACT_CLONE, build_clone, validate_clone, submit_clone},
    {ACT_SET, build_set, validate_set, submit_set},
};

static const form_kind *kind_of(yv_action kind)
{
    for (size_t i = 0; i < sizeof form_kinds / sizeof form_kinds[0]; i++)
        if (form_kinds[i].kind == kind) return &form_kinds[i];
    return &form_kinds[0]; /* the create form, as before: no other kind opens one */
}

static void init(yv_app *a, void *st, const void *arg)
{
    form_st *f = st;
    const form_arg *g = arg;
    f->kind = g->kind;
    snprintf(f->vm, sizeof f->vm, "%s", g->vm ? g->vm : "");
    if (g->form) f->form = g->form;
    else kind_of(f->kind)->build(a, f);
}

static void draw(yv_app *a, void *st)
{
    yv_form_draw(((form_st *)st)->form, stdscr, &a->theme);
}

static int key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    form_st *f = st;
    switch (yv_form_key(f->form, ch, is_key)) {
    case YV_FORM_CANCEL:
        yv_screen_pop(&a->screens);
        curs_set(0);
        return KEY_REDRAW;
    case YV_FORM_SUBMIT:
        if (kind_of(f->kind)->validate(a, f)) kind_of(f->kind)->submit(a, f);
        return KEY_REDRAW;
    case YV_FORM_CHANGED: return KEY_REDRAW;
    default: return KEY_IGNORED;
    }
}

const yv_screen_class yv_form_screen = {
    .name = "form",
    .size = sizeof(form_st),
    .overlay = true,
    .init = init,
    .draw = draw,
    .key = key,
    .done = done,
};
