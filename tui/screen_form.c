/* screen_form: the create and preset forms — every `create` option, pick lists of what the root
 * holds, local validation next to each field, then the batch `create` in a child. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/root.h"
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
    F_UEFI,
    F_HOSTNAME,
    F_ROOTPW,
    F_TIMEOUT,
    F_COUNT
};

#define EMPTY_DISK "(empty disk)"

static const yv_field_spec create_specs[] = {
    [F_NAME] = {"Name", YV_FIELD_TEXT, "letters, digits, . _ - (at most 48)"},
    [F_SOURCE] = {"Base image", YV_FIELD_CHOICE, "Left/Right: an image of the root, or empty"},
    [F_LINKED] = {"Linked overlay", YV_FIELD_CHECK, "Space: overlay on the base instead of a copy"},
    [F_CAPACITY] = {"Disk MiB", YV_FIELD_NUMBER, "empty: 15360 (or the base image's size)"},
    [F_MEMORY] = {"Memory MiB", YV_FIELD_NUMBER, NULL},
    [F_VCPU] = {"vCPUs", YV_FIELD_NUMBER, NULL},
    [F_VNCPW] = {"VNC password", YV_FIELD_PASSWORD, "empty: a random one, shown once"},
    [F_BRIDGE] = {"Bridge", YV_FIELD_TEXT, "empty: network.master of config.yaml"},
    [F_NETWORK] = {"Network", YV_FIELD_CHECK, "Space: a TAP network (needs root)"},
    [F_UEFI] = {"UEFI (OVMF)", YV_FIELD_CHECK, "Space: off = SeaBIOS"},
    [F_HOSTNAME] = {"Hostname", YV_FIELD_TEXT, "empty: the VM name"},
    [F_ROOTPW] = {"Root password", YV_FIELD_PASSWORD, "the guest's root password"},
    [F_TIMEOUT] = {"Install timeout s", YV_FIELD_NUMBER, "first boot limit (default 900)"},
};

/* Which fields each form shows, in order. */
static const int create_fields[] = {F_NAME, F_SOURCE, F_LINKED, F_CAPACITY, F_MEMORY,
                                    F_VCPU, F_VNCPW,  F_BRIDGE, F_NETWORK,  F_UEFI};
static const int preset_fields[] = {F_NAME,     F_SOURCE, F_HOSTNAME, F_ROOTPW, F_VNCPW,
                                    F_CAPACITY, F_MEMORY, F_VCPU,     F_BRIDGE, F_NETWORK,
                                    F_UEFI,     F_LINKED, F_TIMEOUT};

static const int *fields_of(yv_action kind, size_t *n)
{
    if (kind == ACT_PRESET) {
        *n = sizeof preset_fields / sizeof preset_fields[0];
        return preset_fields;
    }
    *n = sizeof create_fields / sizeof create_fields[0];
    return create_fields;
}

/* Form index of a field id, or -1 when this form does not show it. */
static int idx(yv_app *a, int id)
{
    size_t n;
    const int *f = fields_of(a->form_kind, &n);
    for (size_t i = 0; i < n; i++)
        if (f[i] == id) return (int)i;
    return -1;
}

static const char *get(yv_app *a, int id)
{
    int i = idx(a, id);
    return i < 0 ? "" : yv_form_get(a->form, (size_t)i);
}

static void set_err(yv_app *a, int id, const char *msg)
{
    int i = idx(a, id);
    if (i >= 0) yv_form_set_error(a->form, (size_t)i, msg);
}

/* Base images (*.qcow2) or presets (*.preset) of the root, for the pick list. */
static void fill_choices(yv_app *a)
{
    size_t n;
    yv_err e;
    bool preset = a->form_kind == ACT_PRESET;
    char **names = yv_root_list_suffix(a->root, preset ? ".preset" : ".qcow2", &n, &e);
    const char **items = yv_calloc(n + 1, sizeof *items);
    size_t k = 0;
    if (!preset) items[k++] = EMPTY_DISK;
    for (size_t i = 0; names && i < n; i++) items[k++] = names[i];
    yv_form_set_choices(a->form, (size_t)idx(a, F_SOURCE), items, k);
    free(items);
    yv_root_free_names(names, n);
}

void yv_form_open(yv_app *a, yv_action kind)
{
    size_t n;
    const int *ids;
    yv_field_spec specs[F_COUNT];
    if (a->form_busy) {
        yv_app_status(a, true, "a create is already running");
        return;
    }
    yv_form_free(a->form);
    a->form_kind = kind;
    ids = fields_of(kind, &n);
    for (size_t i = 0; i < n; i++) {
        specs[i] = create_specs[ids[i]];
        if (kind == ACT_PRESET && ids[i] == F_SOURCE) {
            specs[i].label = "Preset";
            specs[i].hint = "Left/Right: a preset of the root";
        }
    }
    a->form =
        yv_form_new(kind == ACT_PRESET ? "Create a VM from a preset" : "Create a VM", specs, n);
    fill_choices(a);
    yv_form_set(a->form, (size_t)idx(a, F_MEMORY), "1024");
    yv_form_set(a->form, (size_t)idx(a, F_VCPU), "1");
    if (idx(a, F_NETWORK) >= 0) yv_form_set(a->form, (size_t)idx(a, F_NETWORK), "1");
    if (idx(a, F_UEFI) >= 0) yv_form_set(a->form, (size_t)idx(a, F_UEFI), "1");
    if (kind == ACT_PRESET) yv_form_set(a->form, (size_t)idx(a, F_TIMEOUT), "900");
    a->screen = SCR_FORM;
}

/* Checks every field; the message goes next to the field. True when all are fine. */
static bool validate(yv_app *a)
{
    yv_err e;
    long v;
    bool ok = true;
    yv_form_clear_errors(a->form);
    if (yv_valid_name(get(a, F_NAME), &e) < 0) set_err(a, F_NAME, e.msg), ok = false;
    const char *src = get(a, F_SOURCE);
    bool empty = !*src || !strcmp(src, EMPTY_DISK);
    if (a->form_kind == ACT_PRESET && empty)
        set_err(a, F_SOURCE, "no preset in the root"), ok = false;
    if (*get(a, F_LINKED) && empty && a->form_kind == ACT_CREATE)
        set_err(a, F_LINKED, "an overlay needs a base image"), ok = false;
    if (*get(a, F_CAPACITY) && yv_valid_mib(get(a, F_CAPACITY), "size", &v, &e) < 0)
        set_err(a, F_CAPACITY, "1 to 16777216 MiB"), ok = false;
    if (yv_valid_mib(get(a, F_MEMORY), "memory", &v, &e) < 0 || v < 16)
        set_err(a, F_MEMORY, "16 to 16777216 MiB"), ok = false;
    if (yv_parse_long(get(a, F_VCPU), 1, 1024, &v) < 0) set_err(a, F_VCPU, "1 to 1024"), ok = false;
    if (*get(a, F_BRIDGE) && yv_valid_ifname(get(a, F_BRIDGE), "bridge", &e) < 0)
        set_err(a, F_BRIDGE, "1-15 of A-Z a-z 0-9 _ . -"), ok = false;
    if (strlen(get(a, F_VNCPW)) > 8) set_err(a, F_VNCPW, "note: VNC uses only 8 characters");
    if (a->form_kind == ACT_PRESET) {
        if (!*get(a, F_ROOTPW)) set_err(a, F_ROOTPW, "required"), ok = false;
        if (yv_parse_long(get(a, F_TIMEOUT), 1, 604800, &v) < 0)
            set_err(a, F_TIMEOUT, "1 to 604800 s"), ok = false;
    }
    return ok;
}

/* The argv for `create` (no secret in it: passwords go through fds 3 and 4). */
static void submit(yv_app *a)
{
    static char store[F_COUNT][300];
    const char *args[40];
    int n = 0;
    char *vncpw = yv_strdup(get(a, F_VNCPW)), *rootpw = yv_strdup(get(a, F_ROOTPW));
    for (int id = 0; id < F_COUNT; id++) snprintf(store[id], sizeof store[id], "%s", get(a, id));
    explicit_bzero(store[F_VNCPW], sizeof store[F_VNCPW]);
    explicit_bzero(store[F_ROOTPW], sizeof store[F_ROOTPW]);
    args[n++] = "--name";
    args[n++] = store[F_NAME];
    if (a->form_kind == ACT_PRESET) args[n++] = "--preset", args[n++] = store[F_SOURCE];
    else if (strcmp(store[F_SOURCE], EMPTY_DISK) != 0)
        args[n++] = "--image", args[n++] = store[F_SOURCE];
    if (*store[F_LINKED]) args[n++] = "--linked";
    if (*store[F_CAPACITY]) args[n++] = "--capacity", args[n++] = store[F_CAPACITY];
    args[n++] = "--memory";
    args[n++] = store[F_MEMORY];
    args[n++] = "--vcpu";
    args[n++] = store[F_VCPU];
    if (*store[F_BRIDGE]) args[n++] = "--master", args[n++] = store[F_BRIDGE];
    if (!*store[F_NETWORK]) args[n++] = "--no-network";
    if (!*store[F_UEFI]) args[n++] = "--no-ovmf";
    if (a->form_kind == ACT_PRESET) {
        if (*store[F_HOSTNAME]) args[n++] = "--hostname", args[n++] = store[F_HOSTNAME];
        args[n++] = "--install-timeout";
        args[n++] = store[F_TIMEOUT];
        args[n++] = "--root-password-file";
        args[n++] = "/dev/fd/4";
    }
    if (*vncpw) args[n++] = "--vnc-password-file", args[n++] = "/dev/fd/3";
    args[n] = NULL;
    if (yv_job_start(a, a->form_kind, store[F_NAME], args, *vncpw ? vncpw : NULL,
                     a->form_kind == ACT_PRESET ? rootpw : NULL) == 0) {
        a->form_busy = true;
        a->screen = SCR_LIST;
        yv_app_status(a, false, "creating %s…", store[F_NAME]);
    }
    yv_free_secret(vncpw);
    yv_free_secret(rootpw);
}

void yv_form_job_done(yv_app *a, bool ok, const char *code, const char *msg)
{
    a->form_busy = false;
    if (ok || !a->form) {
        yv_form_free(a->form);
        a->form = NULL;
        return;
    }
    /* Back to the form, with what was typed and the error next to the field it is about. */
    int id = (!strcmp(code, "VM_EXISTS") || !strcmp(code, "INVALID_NAME"))             ? F_NAME
             : (!strcmp(code, "IMAGE_NOT_FOUND") || !strcmp(code, "PRESET_NOT_FOUND")) ? F_SOURCE
                                                                                       : -1;
    yv_form_clear_errors(a->form);
    if (id >= 0) set_err(a, id, msg);
    a->screen = SCR_FORM;
}

void yv_form_screen_draw(yv_app *a)
{
    yv_form_draw(a->form, stdscr, &a->theme);
}

int yv_form_screen_key(yv_app *a, wint_t ch, bool is_key)
{
    switch (yv_form_key(a->form, ch, is_key)) {
    case YV_FORM_CANCEL:
        yv_form_free(a->form);
        a->form = NULL;
        a->screen = SCR_LIST;
        curs_set(0);
        return KEY_REDRAW;
    case YV_FORM_SUBMIT:
        if (validate(a)) submit(a);
        return KEY_REDRAW;
    case YV_FORM_CHANGED: return KEY_REDRAW;
    default: return KEY_IGNORED;
    }
}
