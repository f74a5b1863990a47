#include "api.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "core/autostart.h"
#include "core/clone.h"
#include "core/cloudinit.h"
#include "core/console.h"
#include "core/forward.h"
#include "core/lifecycle.h"
#include "core/ops.h"
#include "core/resize.h"
#include "core/root.h"
#include "core/screenshot.h"
#include "core/snapshot.h"
#include "core/ssh.h"
#include "core/sshkey.h"
#include "core/util.h"
#include "core/valid.h"
#include "core/vminfo.h"
#include "core/vmset.h"
#include "core/vmstate.h"
#include "core/vmwait.h"

typedef struct {
    char *body;
    size_t len;
    bool too_big;
    char rest[96]; /* what a route's trailing "{*}" matched (a snapshot name and "/revert") */
} request;

/* ---- responses ---- */

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = json_dumps(j ? j : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *detail)
{
    return send_json(c, status, json_pack("{s:s, s:i}", "detail", detail, "status", (int)status));
}

static unsigned status_of(yv_code code)
{
    switch (code) {
    case YV_E_VM_NOT_FOUND:
    case YV_E_SNAPSHOT_NOT_FOUND: return 404;
    case YV_E_VM_RUNNING:
    case YV_E_VM_NOT_RUNNING:
    case YV_E_VM_EXISTS:
    case YV_E_USAGE:
    case YV_E_INVALID_NAME:
    case YV_E_IMAGE_NOT_FOUND:
    case YV_E_PRESET_NOT_FOUND: return 400;
    case YV_E_TIMEOUT: return 504;
    case YV_E_IN_USE:
    case YV_E_SNAPSHOT_EXISTS: return 409;
    default: return 500;
    }
}

static enum MHD_Result send_err(struct MHD_Connection *c, const yv_err *e)
{
    return send_error(c, status_of(e->code), e->msg);
}

/* ---- routes ---- */

static enum MHD_Result list_vms(yv_api *api, struct MHD_Connection *c, const char *vm, request *rq)
{
    (void)vm, (void)rq;
    size_t n;
    yv_err e;
    char **names = yv_root_list_suffix(api->root, ".vm", &n, &e);
    if (!names) return send_err(c, &e);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        if (yv_valid_name(names[i], &e) == 0) json_array_append_new(a, json_string(names[i]));
    yv_root_free_names(names, n);
    return send_json(c, 200, a);
}

static enum MHD_Result get_vm(yv_api *api, struct MHD_Connection *c, const char *name, request *rq)
{
    (void)rq;
    yv_vminfo info;
    yv_err e;
    if (yv_vminfo_load(&info, api->root, name, &e) < 0) return send_err(c, &e);
    yv_vminfo_probe(&info, api->root, &api->cfg, 1000);
    yv_vminfo_addresses(&info, 1, api->root);      /* spec §11: what status --json shows */
    yv_vminfo_usage_probe(&info, api->root, 1000); /* and its usage counters */
    json_t *j = yv_vminfo_json(&info, &api->cfg);  /* never holds a password */
    yv_vminfo_done(&info);
    return send_json(c, 200, j);
}

/* GET /v1/vms/{vm}/wait?state=S&timeout=SECONDS: the VM's status once it is in state S (batch's
 * status --wait). A wait holds one of the server's threads: its timeout is bounded, so is the
 * number of waits at once, and a client that hangs up ends its wait. */
static enum MHD_Result wait_vm(yv_api *api, struct MHD_Connection *c, const char *name, request *rq)
{
    const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
    const char *tmo = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeout");
    long timeout_s = 60;
    yv_state want;
    yv_err e;
    if (!state) return send_error(c, 400, "state is required (?state=running)");
    if (tmo && yv_parse_long(tmo, 0, 600, &timeout_s) < 0)
        return send_error(c, 400, "timeout must be 0 to 600 seconds");
    if (yv_vmwait_parse_state(state, &want, &e) < 0) return send_err(c, &e);
    if (__atomic_add_fetch(&api->waits, 1, __ATOMIC_SEQ_CST) > YV_API_WAIT_MAX) {
        __atomic_sub_fetch(&api->waits, 1, __ATOMIC_SEQ_CST);
        return send_error(c, 503, "too many waits in flight: try again later");
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    int rc = yv_vmwait(api->root, &api->cfg, name, want, timeout_s * 1000, &api->cancel,
                       ci ? ci->connect_fd : -1, &e); /* a client that hangs up ends it */
    __atomic_sub_fetch(&api->waits, 1, __ATOMIC_SEQ_CST);
    return rc < 0 ? send_err(c, &e) : get_vm(api, c, name, rq);
}

/* POST /v1/vms/{vm}/console?timeout=S: the body goes to the serial console, the answer is what
 * the console printed in the S seconds after (text/plain, as the guest sent it; at most
 * YV_API_CONSOLE_MAX bytes, X-Yave-Truncated: 1 when it printed more). Like a wait it holds a
 * thread: S is bounded, and it counts among the waits. Another client on the console: 409. */
static enum MHD_Result console_vm(yv_api *api, struct MHD_Connection *c, const char *name,
                                  request *rq)
{
    const char *tmo = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeout");
    long timeout_s = 2;
    yv_err e;
    if (tmo && yv_parse_long(tmo, 1, YV_API_CONSOLE_S, &timeout_s) < 0)
        return send_error(c, 400, "timeout must be 1 to 30 seconds");
    if (__atomic_add_fetch(&api->waits, 1, __ATOMIC_SEQ_CST) > YV_API_WAIT_MAX) {
        __atomic_sub_fetch(&api->waits, 1, __ATOMIC_SEQ_CST);
        return send_error(c, 503, "too many waits in flight: try again later");
    }
    char *out = yv_malloc(YV_API_CONSOLE_MAX);
    size_t len = 0;
    bool cut = false;
    int rc = yv_console_exchange(api->root, &api->cfg, name, rq->body ? rq->body : "", rq->len,
                                 (int)timeout_s * 1000, out, YV_API_CONSOLE_MAX, &len, &cut,
                                 &api->cancel, &e);
    __atomic_sub_fetch(&api->waits, 1, __ATOMIC_SEQ_CST);
    if (rc < 0) {
        free(out);
        return send_err(c, &e);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, out, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain");
    if (cut) MHD_add_response_header(r, "X-Yave-Truncated", "1");
    enum MHD_Result q = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return q;
}

static bool vm_exists(yv_api *api, const char *name, yv_err *e)
{
    if (yv_valid_name(name, e) < 0) return false;
    char *dir = yv_root_vm_dir(api->root, name);
    bool ok = yv_root_exists(dir);
    free(dir);
    if (!ok) yv_err_set(e, YV_E_VM_NOT_FOUND, "no VM named '%s'", name);
    return ok;
}

static bool query_flag(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

/* Where SSH reaches the guest (the web cannot open a terminal): {"user", "host", "port",
 * "host_key_alias"}; ?user=U as `ssh --user`. */
static enum MHD_Result ssh_vm(yv_api *api, struct MHD_Connection *c, const char *name, request *rq)
{
    (void)rq;
    yv_err e;
    yv_ssh_target t;
    const char *user = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "user");
    if (!vm_exists(api, name, &e) || yv_ssh_target_vm(api->root, &api->cfg, name, user, &t, &e) < 0)
        return send_err(c, &e);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "user", t.user, "host", t.host, "port", t.port,
                          "host_key_alias", t.alias);
    yv_ssh_target_done(&t);
    return send_json(c, 200, j);
}

/* GET /v1/vms/{vm}/screen: the VM's display as a PNG (batch's screenshot). QEMU writes it into
 * run/ and the core reads it back: the client names the VM only, never a file. */
static enum MHD_Result screen_vm(yv_api *api, struct MHD_Connection *c, const char *name,
                                 request *rq)
{
    (void)rq;
    yv_err e;
    yv_screenshot s;
    if (!vm_exists(api, name, &e) || yv_screenshot_take(api->root, &api->cfg, name, &s, &e) < 0)
        return send_err(c, &e);
    struct MHD_Response *r = MHD_create_response_from_buffer(s.len, s.png, MHD_RESPMEM_MUST_FREE);
    s.png = NULL; /* the response frees it */
    MHD_add_response_header(r, "Content-Type", "image/png");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result q = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return q;
}

static enum MHD_Result run_state(yv_api *api, struct MHD_Connection *c, const char *name,
                                 request *rq)
{
    (void)rq;
    yv_err e;
    if (!vm_exists(api, name, &e)) return send_err(c, &e);
    return send_json(
        c, 200,
        json_pack("{s:b}", "is_running", yv_vmstate_live_pid(api->root, &api->cfg, name) > 0));
}

/* The body of POST run, optional: {"new_display": bool, "new_ports": bool} (batch's run options).
 */
static int run_choice(const request *rq, int *display, int *ports, yv_err *e)
{
    json_error_t je;
    *display = *ports = 0;
    if (!rq->body || !rq->len) return 0;
    json_t *b = json_loadb(rq->body, rq->len, 0, &je);
    int rc = b && json_unpack_ex(b, &je, JSON_STRICT, "{s?b, s?b}", "new_display", display,
                                 "new_ports", ports) == 0
                 ? 0
                 : yv_err_set(e, YV_E_USAGE,
                              "the body must be {\"new_display\": bool, \"new_ports\": bool}");
    json_decref(b);
    return rc;
}

/* A start refused for a display or port another program holds: 409 (a conflict the client can
 * resolve: the same request with the "options" of "move" set) with where each would go. */
static enum MHD_Result send_held(struct MHD_Connection *c, const yv_err *e, const yv_vmmove *p)
{
    unsigned st = 409;
    return send_json(c, st,
                     json_pack("{s:s, s:i, s:o}", "detail", e->msg, "status", (int)st, "move",
                               yv_vmmove_json(p)));
}

/* A start that failed after the move: the move is kept (its own operation), said in "moved". */
static enum MHD_Result send_moved_failed(struct MHD_Connection *c, const char *name, yv_err *e,
                                         const yv_vmmove *m)
{
    char text[512];
    unsigned st = status_of(e->code);
    yv_vmmove_text(m, text, sizeof text);
    yv_err_prefix(e, "VM '%s': moved %s (held by another program); the start failed", name, text);
    return send_json(c, st,
                     json_pack("{s:s, s:i, s:o}", "detail", e->msg, "status", (int)st, "moved",
                               yv_vmmove_json(m)));
}

static enum MHD_Result run_vm(yv_api *api, struct MHD_Connection *c, const char *name, request *rq)
{
    yv_err e;
    yv_run_result res;
    yv_vmmove moved = {0}, prop = {0};
    int nd, np;
    if (run_choice(rq, &nd, &np, &e) < 0 || !vm_exists(api, name, &e)) return send_err(c, &e);
    if (yv_vmstate_live_pid(api->root, &api->cfg, name) <= 0 &&
        yv_vmset_move_held(api->root, &api->cfg, name, nd, np, &moved, &prop, &e) < 0)
        return prop.display || prop.nports ? send_held(c, &e, &prop) : send_err(c, &e);
    if (yv_lifecycle_run(api->root, &api->cfg, name, &res, &e) < 0)
        return moved.display || moved.nports ? send_moved_failed(c, name, &e, &moved)
                                             : send_err(c, &e);
    if (!moved.display && !moved.nports) return send_json(c, 200, NULL);
    return send_json(c, 200, json_pack("{s:o}", "moved", yv_vmmove_json(&moved)));
}

static enum MHD_Result stop_vm(yv_api *api, struct MHD_Connection *c, const char *name, request *rq)
{
    (void)rq;
    yv_err e;
    yv_stop_step how;
    if (!vm_exists(api, name, &e) ||
        yv_lifecycle_shutdown(api->root, &api->cfg, name, query_flag(c, "force"),
                              api->cfg.shutdown_timeout, &how, &e) < 0)
        return send_err(c, &e);
    return send_json(c, 200, NULL);
}
/* create's "network": "user" | "tap" | "none" (or, as before, true = the default, false = none),
 * and "forwards": ["2201:22", …] into fw (at most YV_API_FORWARDS_MAX). */
#define YV_API_FORWARDS_MAX 16
/* "forwards": ["2201:22", …] into fw (create and set). */
static int forwards_of(json_t *fwd, const char **fw, size_t *n, yv_err *e)
{
    size_t i;
    json_t *v;
    *n = 0;
    if (!fwd) return 0;
    if (!json_is_array(fwd) || json_array_size(fwd) > YV_API_FORWARDS_MAX)
        return yv_err_set(e, YV_E_USAGE, "forwards must be a list of at most %d strings",
                          YV_API_FORWARDS_MAX);
    json_array_foreach(fwd, i, v)
    {
        if (!json_is_string(v)) return yv_err_set(e, YV_E_USAGE, "forwards must be strings");
        fw[i] = json_string_value(v);
    }
    *n = json_array_size(fwd);
    return 0;
}

static int create_net(json_t *net, json_t *fwd, yv_create_opts *o, const char **fw, yv_err *e)
{
    if (json_is_false(net)) o->net_kind = "none";
    else if (json_is_string(net)) o->net_kind = json_string_value(net);
    else if (net && !json_is_true(net))
        return yv_err_set(e, YV_E_USAGE, "network must be \"user\", \"tap\" or \"none\"");
    o->forwards = fw;
    return forwards_of(fwd, fw, &o->nforwards, e);
}

/* "packages": an array of package names (each checked by the create, as batch's --package). */
static int create_packages(json_t *pkgs, yv_create_opts *o, const char **pk, yv_err *e)
{
    size_t i;
    json_t *v;
    if (!pkgs) return 0;
    if (!json_is_array(pkgs) || json_array_size(pkgs) > YV_CLOUDINIT_MAX_PACKAGES)
        return yv_err_set(e, YV_E_USAGE, "packages must be a list of at most %d names",
                          YV_CLOUDINIT_MAX_PACKAGES);
    json_array_foreach(pkgs, i, v)
    {
        if (!json_is_string(v)) return yv_err_set(e, YV_E_USAGE, "packages must be strings");
        pk[i] = json_string_value(v);
    }
    o->packages = pk;
    o->npackages = json_array_size(pkgs);
    return 0;
}

/* A JSON body with the options of `create`; passwords only here, never in the URL. */
static int create_opts(json_t *b, yv_create_opts *o, const char **fw, const char **pk, yv_err *e)
{
    json_error_t je;
    yv_ops_create_defaults(o);
    o->names_only = true; /* a client names base images and presets of the root, never host paths */
    int linked = 0, ovmf = 1;
    json_t *net = NULL, *fwd = NULL, *pkgs = NULL;
    json_int_t cap = 0, mem = o->memory, vcpu = o->vcpu, timeout = o->install_timeout;
    if (json_unpack_ex(
            b, &je, JSON_STRICT,
            "{s:s, s?s, s?s, s?I, s?I, s?I, s?s, s?s, s?s, s?s, s?b, s?b, s?o, s?o, s?I, s?s, s?o}",
            "name", &o->name, "image", &o->image, "preset", &o->preset, "capacity", &cap, "memory",
            &mem, "vcpu", &vcpu, "hostname", &o->hostname, "root_password", &o->root_password,
            "vnc_password", &o->vnc_password, "master", &o->master, "linked", &linked, "ovmf",
            &ovmf, "network", &net, "forwards", &fwd, "install_timeout", &timeout, "user", &o->user,
            "packages", &pkgs) < 0)
        return yv_err_set(e, YV_E_USAGE, "bad request body: %s", je.text);
    if (create_net(net, fwd, o, fw, e) < 0 || create_packages(pkgs, o, pk, e) < 0) return -1;
    if (!o->vnc_password)
        return yv_err_set(e, YV_E_USAGE,
                          "vnc_password is required (a generated one would have "
                          "to travel back in the response)");
    if (yv_valid_memory_value(mem, e) < 0 || yv_valid_vcpu_value(vcpu, e) < 0) return -1;
    if (cap < 0 || cap > 16L * 1024 * 1024 || timeout < 1 || timeout > 604800)
        return yv_err_set(e, YV_E_USAGE, "capacity or install_timeout out of range");
    o->capacity = (long)cap;
    o->memory = (long)mem;
    o->vcpu = (long)vcpu;
    o->install_timeout = (long)timeout;
    o->linked = linked;
    o->ovmf = ovmf;
    return 0;
}

/* "ssh_keys": an array of public key *texts* (each as a key file holds it), never host paths
 * (spec §16). Taken out of the body before the strict unpack of the other options; the caller
 * holds the reference while the create runs (decref it). */
static json_t *take_keys(json_t *b)
{
    json_t *keys = json_is_object(b) ? json_incref(json_object_get(b, "ssh_keys")) : NULL;
    if (keys) json_object_del(b, "ssh_keys");
    return keys;
}

static int create_keys(json_t *keys, yv_create_opts *o, const char **texts, yv_err *e)
{
    size_t n = json_is_array(keys) ? json_array_size(keys) : 0;
    if (!keys) return 0;
    if (!json_is_array(keys) || n > YV_SSHKEY_MAX_KEYS)
        return yv_err_set(e, YV_E_USAGE, "ssh_keys must be an array of at most %d key texts",
                          YV_SSHKEY_MAX_KEYS);
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_array_get(keys, i);
        if (!json_is_string(k) || json_string_length(k) > YV_SSHKEY_MAX_FILE)
            return yv_err_set(e, YV_E_USAGE, "ssh_keys[%zu] must be a key text", i);
        texts[i] = json_string_value(k);
    }
    o->ssh_key_texts = texts;
    o->nssh_key_texts = n;
    return 0;
}

static enum MHD_Result create_vm(yv_api *api, struct MHD_Connection *c, const char *vm, request *rq)
{
    (void)vm;
    yv_err e;
    yv_create_opts o;
    json_error_t je;
    char *gen = NULL;
    const char *fw[YV_API_FORWARDS_MAX], *pk[YV_CLOUDINIT_MAX_PACKAGES];
    json_t *b = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    if (!b) return send_error(c, 400, "the body must be a JSON object with the create options");
    json_t *keys = take_keys(b);
    enum MHD_Result rc;
    int ok = create_opts(b, &o, fw, pk, &e);
    o.cancel = &api->cancel; /* yave-web's stop aborts the create and cleans up */
    const char *texts[YV_SSHKEY_MAX_KEYS];
    if (ok == 0) ok = create_keys(keys, &o, texts, &e);
    if (ok < 0 || yv_ops_create(api->root, &api->cfg, &o, &gen, &e) < 0) {
        rc = send_err(c, &e);
    } else {
        yv_vminfo info;
        rc = yv_vminfo_load(&info, api->root, o.name, &e) < 0
                 ? send_err(c, &e)
                 : send_json(c, 201, yv_vminfo_json(&info, &api->cfg));
        yv_vminfo_done(&info); /* load starts by clearing it: safe either way */
    }
    yv_free_secret(gen);
    json_decref(keys);
    json_decref(b); /* drops the passwords with it */
    return rc;
}

static enum MHD_Result delete_vm(yv_api *api, struct MHD_Connection *c, const char *name,
                                 request *rq)
{
    (void)rq;
    yv_err e;
    if (yv_ops_delete(api->root, &api->cfg, name, query_flag(c, "force"), &e) < 0)
        return send_err(c, &e);
    return send_json(c, 200, NULL);
}

static json_t *forward_json(const char *name, const char *action, const yv_forward *f, bool live)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:i, s:i}, s:b}", "name", name, "action", action,
                     "forward", "proto", yv_vm_proto_name(f->proto), "address", f->address, "host",
                     f->host, "guest", f->guest, "live", live);
}

/* POST /v1/vms/{vm}/forwards {"forward": "[PROTO:][ADDR:]HOST:GUEST"}: batch's forward add. */
static enum MHD_Result add_forward(yv_api *api, struct MHD_Connection *c, const char *name,
                                   request *rq)
{
    yv_err e;
    json_error_t je;
    const char *spec;
    yv_forward f = {0}, done = {0};
    bool live = false;
    json_t *b = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    enum MHD_Result rc;
    if (!b || json_unpack_ex(b, &je, JSON_STRICT, "{s:s}", "forward", &spec) < 0)
        rc = send_error(c, 400, "the body must be {\"forward\": \"[PROTO:][ADDR:]HOST:GUEST\"}");
    else if (!vm_exists(api, name, &e) || yv_forward_parse(spec, &f, &e) < 0 ||
             yv_forward_add(api->root, &api->cfg, name, &f, &done, &live, &e) < 0)
        rc = send_err(c, &e);
    else rc = send_json(c, 201, forward_json(name, "added", &done, live));
    free(f.address);
    free(done.address);
    json_decref(b);
    return rc;
}

/* POST /v1/vms/{vm}/resize {"capacity": MiB, "drive": "hdN"}: batch's resize (drive optional: the
 * first disk drive). Names only: the drive is the VM's, never a host path. */
static enum MHD_Result resize_vm(yv_api *api, struct MHD_Connection *c, const char *name,
                                 request *rq)
{
    yv_err e;
    json_error_t je;
    json_int_t mib = 0;
    const char *drive = NULL;
    yv_resize_result r;
    json_t *b = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    enum MHD_Result rc;
    if (!b ||
        json_unpack_ex(b, &je, JSON_STRICT, "{s:I, s?:s}", "capacity", &mib, "drive", &drive) < 0)
        rc = send_error(c, 400,
                        "the body must be {\"capacity\": MiB, \"drive\": \"hdN\"} (drive "
                        "optional)");
    else if (!vm_exists(api, name, &e) ||
             yv_resize(api->root, &api->cfg, name, drive, mib < 1 || mib > LONG_MAX ? 0 : (long)mib,
                       &r, &e) < 0)
        rc = send_err(c, &e);
    else
        rc = send_json(c, 200,
                       json_pack("{s:s, s:s, s:I, s:I, s:b}", "vm", name, "drive", r.drive,
                                 "old_mib", (json_int_t)r.old_mib, "new_mib", (json_int_t)r.new_mib,
                                 "live", r.live));
    json_decref(b);
    return rc;
}

/* POST /v1/vms/{vm}/clone {"to": NAME, "linked": bool, "vnc_password": PW}: batch's clone. Names
 * only; the new VM's VNC password is required, as create's (a generated one would have to travel
 * back in the response). yave-web's stop aborts a long copy and cleans up. */
static enum MHD_Result clone_vm(yv_api *api, struct MHD_Connection *c, const char *name,
                                request *rq)
{
    yv_err e;
    json_error_t je;
    int linked = 0;
    yv_clone_opts o = {.src = name, .cancel = &api->cancel};
    yv_clone_result r;
    json_t *b = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    enum MHD_Result rc;
    if (!b || json_unpack_ex(b, &je, JSON_STRICT, "{s:s, s?:b, s:s}", "to", &o.dst, "linked",
                             &linked, "vnc_password", &o.vnc_password) < 0) {
        rc = send_error(c, 400,
                        "the body must be {\"to\": NAME, \"linked\": false, \"vnc_password\": "
                        "PW} (linked optional)");
    } else {
        o.linked = linked;
        if (!vm_exists(api, name, &e) || yv_clone(api->root, &api->cfg, &o, &r, &e) < 0) {
            rc = send_err(c, &e);
        } else {
            rc = send_json(c, 201, yv_clone_json(&r, name, o.linked));
            yv_clone_result_done(&r);
        }
    }
    json_decref(b); /* drops the password with it */
    return rc;
}

/* A number field of set's body: absent (0: unchanged), else an integer in range (valid). */
static int set_number(const json_t *v, const char *what, int (*valid)(long long, yv_err *),
                      long *out, yv_err *e)
{
    *out = 0;
    if (!v) return 0;
    if (!json_is_integer(v)) return yv_err_set(e, YV_E_USAGE, "%s must be a whole number", what);
    if (valid(json_integer_value(v), e) < 0) return -1;
    *out = (long)json_integer_value(v); /* in range: it fits */
    return 0;
}

/* set's body: {"memory", "vcpu", "display", "vnc_password", "network", "master", "forwards",
 * "ovmf"}, each optional (given: a value in range; never a value that means "not given"); names
 * only (a bridge, never a host path). */
static int set_opts_of(json_t *b, yv_vmset_opts *o, const char **fw, yv_err *e)
{
    json_error_t je;
    json_t *mem = NULL, *vcpu = NULL, *fwd = NULL, *ovmf = NULL;
    yv_vmset_defaults(o);
    if (!b || json_unpack_ex(b, &je, JSON_STRICT, "{s?o, s?o, s?s, s?s, s?s, s?s, s?o, s?o}",
                             "memory", &mem, "vcpu", &vcpu, "display", &o->display, "vnc_password",
                             &o->vnc_password, "network", &o->net_kind, "master", &o->master,
                             "forwards", &fwd, "ovmf", &ovmf) < 0)
        return yv_err_set(e, YV_E_USAGE, "bad request body: %s", b ? je.text : "not JSON");
    if (set_number(mem, "memory", yv_valid_memory_value, &o->memory, e) < 0 ||
        set_number(vcpu, "vcpu", yv_valid_vcpu_value, &o->vcpu, e) < 0)
        return -1;
    if (ovmf && !json_is_boolean(ovmf))
        return yv_err_set(e, YV_E_USAGE, "ovmf must be true or false");
    o->ovmf = ovmf ? json_is_true(ovmf) : -1;
    o->forwards = fw;
    return forwards_of(fwd, fw, &o->nforwards, e);
}

/* PATCH /v1/vms/{vm}: batch's set; the VNC password travels in the body only. */
static enum MHD_Result set_vm(yv_api *api, struct MHD_Connection *c, const char *name, request *rq)
{
    yv_err e;
    json_error_t je;
    yv_vmset_opts o;
    yv_vmset_result r;
    const char *fw[YV_API_FORWARDS_MAX];
    json_t *b = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    enum MHD_Result rc;
    if (set_opts_of(b, &o, fw, &e) < 0 || !vm_exists(api, name, &e) ||
        yv_vmset(api->root, &api->cfg, name, &o, &r, &e) < 0) {
        rc = send_err(c, &e);
    } else {
        rc = send_json(c, 200, yv_vmset_result_json(name, &r));
    }
    json_decref(b);
    return rc;
}

/* ---- snapshots (spec §13): batch's snapshot list|create|revert|delete; names only ---- */

static json_t *snapshot_done_json(const char *name, const char *snap, const char *action,
                                  const yv_snapshot_result *r)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:I}", "vm", name, "snapshot", snap, "action",
                          action, "live", r->live, "images", (json_int_t)r->images);
    /* a stopped VM reverted to a snapshot taken running: the saved RAM is not used */
    if (r->ram_unused) json_object_set_new(j, "ram_unused", json_true());
    return j;
}

/* GET /v1/vms/{vm}/snapshots */
static enum MHD_Result list_snapshots(yv_api *api, struct MHD_Connection *c, const char *name,
                                      request *rq)
{
    (void)rq;
    yv_err e;
    yv_snapshot_list l;
    if (!vm_exists(api, name, &e) || yv_snapshot_list_vm(api->root, &api->cfg, name, &l, &e) < 0)
        return send_err(c, &e);
    enum MHD_Result rc = send_json(c, 200, yv_snapshot_list_json(name, &l));
    yv_snapshot_list_done(&l);
    return rc;
}

/* POST /v1/vms/{vm}/snapshots {"name": S} */
static enum MHD_Result create_snapshot(yv_api *api, struct MHD_Connection *c, const char *name,
                                       request *rq)
{
    yv_err e;
    json_error_t je;
    const char *snap;
    yv_snapshot_result r;
    json_t *b = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    enum MHD_Result rc;
    if (!b || json_unpack_ex(b, &je, JSON_STRICT, "{s:s}", "name", &snap) < 0)
        rc = send_error(c, 400, "the body must be {\"name\": \"SNAPSHOT\"}");
    else if (!vm_exists(api, name, &e) ||
             yv_snapshot_do(api->root, &api->cfg, name, YV_SNAPSHOT_CREATE, snap, 0, NULL, NULL, &r,
                            &e) < 0)
        rc = send_err(c, &e);
    else rc = send_json(c, 201, snapshot_done_json(name, snap, "created", &r));
    json_decref(b);
    return rc;
}

/* POST /v1/vms/{vm}/snapshots/{snap}/revert and DELETE /v1/vms/{vm}/snapshots/{snap}: the rest of
 * the path is the snapshot's name (validated: never a path) and, for a revert, "/revert". */
static enum MHD_Result snapshot_op(yv_api *api, struct MHD_Connection *c, const char *name,
                                   request *rq, yv_snapshot_op op)
{
    yv_err e;
    yv_snapshot_result r;
    char *slash = strchr(rq->rest, '/');
    if ((op == YV_SNAPSHOT_REVERT) != (slash != NULL) || (slash && strcmp(slash, "/revert") != 0))
        return send_error(c, 404, "not found");
    if (slash) *slash = '\0';
    if (yv_snapshot_valid_name(rq->rest, &e) < 0) return send_err(c, &e);
    if (!vm_exists(api, name, &e) ||
        yv_snapshot_do(api->root, &api->cfg, name, op, rq->rest, 0, NULL, NULL, &r, &e) < 0)
        return send_err(c, &e);
    return send_json(
        c, 200,
        snapshot_done_json(name, rq->rest, op == YV_SNAPSHOT_REVERT ? "reverted" : "deleted", &r));
}

static enum MHD_Result revert_snapshot(yv_api *api, struct MHD_Connection *c, const char *name,
                                       request *rq)
{
    return snapshot_op(api, c, name, rq, YV_SNAPSHOT_REVERT);
}

static enum MHD_Result delete_snapshot(yv_api *api, struct MHD_Connection *c, const char *name,
                                       request *rq)
{
    return snapshot_op(api, c, name, rq, YV_SNAPSHOT_DELETE);
}

/* DELETE /v1/vms/{vm}/forwards/{proto}/{host}: batch's forward remove. */
static enum MHD_Result remove_forward(yv_api *api, struct MHD_Connection *c, const char *name,
                                      request *rq)
{
    yv_err e;
    yv_forward done = {0};
    bool live = false;
    char *slash = strchr(rq->rest, '/');
    if (!slash || strchr(slash + 1, '/')) return send_error(c, 404, "not found");
    *slash = '\0';
    int proto = yv_valid_proto(rq->rest), host = yv_valid_port(slash + 1);
    if (proto < 0 || host < 0)
        return send_error(c, 400, "give /forwards/tcp/PORT or /forwards/udp/PORT (1 to 65535)");
    if (!vm_exists(api, name, &e) ||
        yv_forward_remove(api->root, &api->cfg, name, (yv_proto)proto, host, &done, &live, &e) < 0)
        return send_err(c, &e);
    enum MHD_Result rc = send_json(c, 200, forward_json(name, "removed", &done, live));
    free(done.address);
    return rc;
}

/* PUT /v1/vms/{vm}/autostart {"autostart": true|false}: batch's autostart on|off (spec §13). */
static enum MHD_Result put_autostart(yv_api *api, struct MHD_Connection *c, const char *name,
                                     request *rq)
{
    yv_err e;
    json_error_t je;
    int on = 0;
    json_t *b = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    enum MHD_Result rc;
    if (!b || json_unpack_ex(b, &je, JSON_STRICT, "{s:b}", "autostart", &on) < 0)
        rc = send_error(c, 400, "the body must be {\"autostart\": true} or {\"autostart\": false}");
    else if (!vm_exists(api, name, &e) || yv_autostart_set(api->root, name, on, &e) < 0)
        rc = send_err(c, &e);
    else rc = send_json(c, 200, json_pack("{s:s, s:b}", "vm", name, "autostart", on));
    json_decref(b);
    return rc;
}

/* ---- the route table: one row per method and path; "{vm}" is one path segment, a VM name ---- */

typedef enum MHD_Result (*route_fn)(yv_api *api, struct MHD_Connection *c, const char *vm,
                                    request *rq);
typedef struct {
    const char *method;
    const char *path; /* without the trailing slash, which is optional */
    route_fn fn;
} route_row;

static const route_row routes[] = {
    {"GET", "/v1/vms", list_vms},
    {"POST", "/v1/vms", create_vm},
    {"GET", "/v1/vms/{vm}", get_vm},
    {"DELETE", "/v1/vms/{vm}", delete_vm},
    {"PATCH", "/v1/vms/{vm}", set_vm},
    {"GET", "/v1/vms/{vm}/run", run_state},
    {"POST", "/v1/vms/{vm}/run", run_vm},
    {"DELETE", "/v1/vms/{vm}/run", stop_vm},
    {"GET", "/v1/vms/{vm}/wait", wait_vm},
    {"POST", "/v1/vms/{vm}/console", console_vm},
    {"POST", "/v1/vms/{vm}/forwards", add_forward},
    {"DELETE", "/v1/vms/{vm}/forwards/{*}", remove_forward},
    {"POST", "/v1/vms/{vm}/resize", resize_vm},
    {"POST", "/v1/vms/{vm}/clone", clone_vm},
    {"GET", "/v1/vms/{vm}/snapshots", list_snapshots},
    {"POST", "/v1/vms/{vm}/snapshots", create_snapshot},
    {"POST", "/v1/vms/{vm}/snapshots/{*}", revert_snapshot},
    {"DELETE", "/v1/vms/{vm}/snapshots/{*}", delete_snapshot},
    {"GET", "/v1/vms/{vm}/ssh", ssh_vm},
    {"GET", "/v1/vms/{vm}/screen", screen_vm},
    {"PUT", "/v1/vms/{vm}/autostart", put_autostart},
};

/* Whether url has the shape of pattern; the "{vm}" segment is copied into vm (any text: the
 * caller validates it as a name), a trailing "{*}" (the rest of the url, short) into rest. A
 * trailing slash is allowed. */
static bool path_match(const char *pattern, const char *url, char *vm, size_t vmlen, char *rest,
                       size_t restlen)
{
    const char *p = pattern, *u = url;
    while (*p) {
        if (!strcmp(p, "{*}")) {
            size_t n = strlen(u) - (*u && u[strlen(u) - 1] == '/');
            if (n == 0 || n >= restlen) return false;
            snprintf(rest, restlen, "%.*s", (int)n, u);
            return true;
        }
        if (!strncmp(p, "{vm}", 4)) {
            size_t n = strcspn(u, "/");
            if (n == 0) return false;
            /* too long to be a name: "/" is no name either, so it is not found */
            snprintf(vm, vmlen, "%.*s", n < vmlen ? (int)n : 1, n < vmlen ? u : "/");
            p += 4, u += n;
        } else if (*p++ != *u++) {
            return false;
        }
    }
    return !*u || !strcmp(u, "/");
}

static enum MHD_Result route(yv_api *api, struct MHD_Connection *c, const char *url,
                             const char *method, request *rq)
{
    char vm[64] = "";
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        vm[0] = '\0';
        if (!path_match(routes[i].path, url, vm, sizeof vm, rq->rest, sizeof rq->rest)) continue;
        yv_err e;
        if (*vm && yv_valid_name(vm, &e) < 0) return send_error(c, 404, "VM not found");
        path_known = true;
        if (!strcmp(method, routes[i].method)) return routes[i].fn(api, c, vm, rq);
    }
    if (path_known) return send_error(c, 405, "method not allowed");
    return send_error(c, 404, "not found");
}

/* The client's address as the failure budget knows it: IPv4 whole, IPv6 by its /64 (one host
 * owns a whole /64 and could change its low bits at will). */
static void client_addr(struct MHD_Connection *c, char *buf, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, n, "?");
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)n);
    else if (sa->sa_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (!IN6_IS_ADDR_V4MAPPED(&a)) memset(a.s6_addr + 8, 0, 8);
        inet_ntop(AF_INET6, &a, buf, (socklen_t)n);
    }
}

static enum MHD_Result send_static(struct MHD_Connection *c, unsigned status, const char *body,
                                   bool challenge)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (!challenge) MHD_add_response_header(resp, "Retry-After", "60");
    enum MHD_Result rc = challenge ? MHD_queue_basic_auth_fail_response(c, "yave", resp)
                                   : MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Every failure reads the same: a wrong password, an unknown user and a user outside api.groups
 * get one status, body and headers after one delay, so the API confirms no password. */
static enum MHD_Result authorize(yv_api *api, struct MHD_Connection *c, bool *ok)
{
    char client[64];
    client_addr(c, client, sizeof client);
    char *pw = NULL, *user = MHD_basic_auth_get_username_password(c, &pw);
    yv_auth_result r = yv_auth_request(api->pam_service, &api->cfg.api_groups, client, user, pw);
    if (pw) explicit_bzero(pw, strlen(pw));
    MHD_free(pw);
    MHD_free(user);
    *ok = r == YV_AUTH_OK;
    if (r == YV_AUTH_OK) return MHD_YES;
    if (r == YV_AUTH_THROTTLED)
        return send_static(c, 429,
                           "{\"detail\":\"too many failed logins from this address: try again "
                           "later\",\"status\":429}",
                           false);
    return send_static(c, 401, "{\"detail\":\"authentication required\",\"status\":401}", true);
}

/* A request a web browser made (it says where the page came from): refused, whatever it carries.
 * The API has no pages; a browser that cached a user's Basic credentials would otherwise send
 * them with a form any site posts here (cross-site request forgery: start a VM, type into its
 * console, open a forward on 0.0.0.0). Scripts (curl, Python) send no Origin. Checked before the
 * password, so such a request never counts as a login. */
static bool from_a_browser(struct MHD_Connection *c)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin") != NULL ||
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site") != NULL;
}

enum MHD_Result yv_api_handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req)
{
    (void)version;
    yv_api *api = cls;
    request *rq = *req;
    if (!rq) { /* first call: headers only */
        *req = rq = calloc(1, sizeof *rq);
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_size) { /* body, in pieces: kept up to the limit */
        if (rq->len + *upload_size > YV_API_BODY_MAX) rq->too_big = true;
        else {
            rq->body = yv_realloc(rq->body, rq->len + *upload_size + 1);
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
            rq->body[rq->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    yv_conn_request_in(api->guard, c); /* the deadline is off: the verb may take minutes */
    if (from_a_browser(c)) return send_error(c, 403, "requests from web browsers are not served");
    bool ok;
    enum MHD_Result rc = authorize(api, c, &ok);
    if (!ok) return rc;
    if (rq->too_big) return send_error(c, 413, "request body too large");
    return route(api, c, url, method, rq);
}

void yv_api_done(void *cls, struct MHD_Connection *c, void **req,
                 enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    yv_api *api = cls;
    yv_conn_request_done(api->guard, c); /* kept alive: the next request's deadline */
    request *rq = *req;
    if (!rq) return;
    if (rq->body) explicit_bzero(rq->body, rq->len);
    free(rq->body);
    free(rq);
    *req = NULL;
}
