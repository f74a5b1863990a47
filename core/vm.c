#include "vm.h"

#include <dirent.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "root.h"
#include "util.h"
#include "valid.h"
#include "yamlio.h"

static const char *const drive_types[] = {"virtio-blk", "ide", NULL};
static const char *const media_types[] = {"hd", "cd", NULL};
static const char *const net_types[] = {"tap", "user", NULL};
static const char *const protos[] = {"tcp", "udp", NULL};

const char *yv_vm_drive_type_name(yv_drive_type t)
{
    return drive_types[t];
}

const char *yv_vm_media_name(yv_media m)
{
    return media_types[m];
}

const char *yv_vm_net_type_name(yv_net_type t)
{
    return net_types[t];
}

const char *yv_vm_proto_name(yv_proto p)
{
    return protos[p];
}

/* ---- reading ---- */

#define VMF(k, t, m, req, lo, hi)                                                                  \
    {                                                                                              \
        .key = (k), .type = (t), .off = offsetof(yv_vm, m), .required = (req), .min = (lo),        \
        .max = (hi)                                                                                \
    }

static const yv_yfield hardware_fields[] = {
    VMF("memory", YV_YF_INT, memory, true, YV_MEMORY_MIN, YV_MEMORY_MAX), /* core/valid.h */
    VMF("vcpu", YV_YF_INT, vcpu, true, 1, YV_VCPU_MAX),
    VMF("ovmf", YV_YF_BOOL, ovmf, false, 0, 0),
    {0},
};

static const yv_yfield vnc_fields[] = {
    {.key = "display",
     .type = YV_YF_STR,
     .off = offsetof(yv_vm, vnc_display),
     .check = yv_valid_display_check},
    VMF("password", YV_YF_STR, vnc_password, false, 0, 0),
    {0},
};

static const yv_yfield drive_device_fields[] = {
    {.key = "type",
     .type = YV_YF_ENUM,
     .off = offsetof(yv_drive, type),
     .required = true,
     .names = drive_types},
    {.key = "media_type",
     .type = YV_YF_ENUM,
     .off = offsetof(yv_drive, media),
     .names = media_types},
    {.key = "boot_index",
     .type = YV_YF_INT,
     .off = offsetof(yv_drive, boot_index),
     .min = 0,
     .max = 1000},
    {0},
};

static const yv_yfield drive_fields[] = {
    {.key = "path", .type = YV_YF_STR, .off = offsetof(yv_drive, path), .required = true},
    {.key = "device", .type = YV_YF_MAP, .required = true, .sub = drive_device_fields},
    {0},
};

static const yv_yfield net_device_fields[] = {
    {.key = "mac",
     .type = YV_YF_STR,
     .off = offsetof(yv_net, mac),
     .required = true,
     .check = yv_valid_mac_check},
    {.key = "master",
     .type = YV_YF_STR,
     .off = offsetof(yv_net, master),
     .check = yv_valid_ifname_check},
    {.key = "ifname",
     .type = YV_YF_STR,
     .off = offsetof(yv_net, ifname),
     .check = yv_valid_ifname_check},
    {0},
};

/* One item of `forwards` as read (yamlio's INT fields are longs). */
typedef struct {
    int proto;
    long host, guest;
    char *address;
} fw_item;

static const yv_yfield forward_fields[] = {
    {.key = "proto", .type = YV_YF_ENUM, .off = offsetof(fw_item, proto), .names = protos},
    {.key = "host",
     .type = YV_YF_INT,
     .off = offsetof(fw_item, host),
     .required = true,
     .min = 1,
     .max = 65535},
    {.key = "guest",
     .type = YV_YF_INT,
     .off = offsetof(fw_item, guest),
     .required = true,
     .min = 1,
     .max = 65535},
    {.key = "address",
     .type = YV_YF_STR,
     .off = offsetof(fw_item, address),
     .check = yv_valid_ipv4_check},
    {0},
};

/* The forward of vm's networks on proto + host port, or NULL. */
const yv_forward *yv_vm_find_forward(const yv_vm *vm, yv_proto proto, int host)
{
    for (size_t i = 0; i < vm->nnets; i++)
        for (size_t j = 0; j < vm->nets[i].nforwards; j++) {
            const yv_forward *f = &vm->nets[i].forwards[j];
            if (f->proto == proto && f->host == host) return f;
        }
    return NULL;
}

static int read_forwards(yv_ydoc *d, yaml_node_t *node, void *base, const char *path, yv_err *err)
{
    yv_net *n = base;
    if (node->type != YAML_SEQUENCE_NODE)
        return yv_yamlio_fail(d, node, err, "%s must be a list of {proto, host, guest, address}",
                              path);
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top;
         it++) {
        yaml_node_t *in = yv_yamlio_node(d, *it);
        fw_item f = {0, 0, 0, NULL};
        int rc = yv_yamlio_read_map(d, in, forward_fields, &f, path, err);
        for (size_t j = 0; rc == 0 && j < n->nforwards; j++)
            if (n->forwards[j].proto == (yv_proto)f.proto && n->forwards[j].host == f.host)
                rc = yv_yamlio_fail(d, in, err, "%s: %s host port %ld is forwarded twice", path,
                                    protos[f.proto], f.host);
        if (rc == 0)
            yv_vm_add_forward(n, (yv_proto)f.proto, f.address ? f.address : "127.0.0.1",
                              (int)f.host, (int)f.guest);
        free(f.address);
        if (rc < 0) return -1;
    }
    return 0;
}

static const yv_yfield net_fields[] = {
    {.key = "type",
     .type = YV_YF_ENUM,
     .off = offsetof(yv_net, type),
     .required = true,
     .names = net_types},
    {.key = "forwards", .type = YV_YF_FN, .fn = read_forwards},
    {.key = "device", .type = YV_YF_MAP, .required = true, .sub = net_device_fields},
    {0},
};

/* What a network of its type may not have, and a forward another network of the VM has. */
static int check_net(yv_ydoc *d, yaml_node_t *k, const yv_vm *vm, const char *path, yv_err *err)
{
    const yv_net *n = &vm->nets[vm->nnets - 1];
    if (n->type == YV_NET_TAP && n->nforwards)
        return yv_yamlio_fail(d, k, err, "%s.%s: forwards need type: user", path, n->id);
    if (n->type == YV_NET_USER && (n->master || n->ifname))
        return yv_yamlio_fail(d, k, err, "%s.%s: a user network has no %s", path, n->id,
                              n->master ? "master" : "ifname");
    for (size_t i = 0; i + 1 < vm->nnets; i++)
        for (size_t j = 0; j < n->nforwards; j++) {
            yv_vm other = {.nets = &vm->nets[i], .nnets = 1};
            if (yv_vm_find_forward(&other, n->forwards[j].proto, n->forwards[j].host))
                return yv_yamlio_fail(d, k, err, "%s.%s: %s host port %d is forwarded twice", path,
                                      n->id, protos[n->forwards[j].proto], n->forwards[j].host);
        }
    return 0;
}

static int check_id(yv_ydoc *d, yaml_node_t *k, const char *path, yv_err *err)
{
    char why[128];
    const char *id = yv_yamlio_scalar(k);
    if (yv_valid_ifname_check(id, why, sizeof why) < 0 || strchr(id, '.'))
        return yv_yamlio_fail(d, k, err,
                              "%s: the id '%s' must be 1 to 15 characters of A-Z a-z "
                              "0-9 _ -",
                              path, id);
    return 0;
}

static int read_drives(yv_ydoc *d, yaml_node_t *node, void *base, const char *path, yv_err *err)
{
    yv_vm *vm = base;
    if (yv_yamlio_check_map(d, node, path, err) < 0) return -1;
    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yv_yamlio_node(d, pr->key);
        if (check_id(d, k, path, err) < 0) return -1;
        yv_drive *dr =
            yv_vm_add_drive(vm, yv_yamlio_scalar(k), "", YV_DRIVE_VIRTIO_BLK, YV_MEDIA_HD, -1);
        free(dr->path);
        dr->path = NULL;
        char *p = yv_asprintf("%s.%s", path, dr->id);
        int rc = yv_yamlio_read_map(d, yv_yamlio_node(d, pr->value), drive_fields, dr, p, err);
        free(p);
        if (rc < 0) return -1;
        if (!*dr->path) return yv_yamlio_fail(d, k, err, "%s.%s.path is empty", path, dr->id);
    }
    return 0;
}

static int read_nets(yv_ydoc *d, yaml_node_t *node, void *base, const char *path, yv_err *err)
{
    yv_vm *vm = base;
    if (yv_yamlio_check_map(d, node, path, err) < 0) return -1;
    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yv_yamlio_node(d, pr->key);
        if (check_id(d, k, path, err) < 0) return -1;
        yv_net *n = yv_vm_add_net(vm, yv_yamlio_scalar(k), "", NULL);
        free(n->mac);
        n->mac = NULL;
        char *p = yv_asprintf("%s.%s", path, n->id);
        int rc = yv_yamlio_read_map(d, yv_yamlio_node(d, pr->value), net_fields, n, p, err);
        free(p);
        if (rc < 0 || check_net(d, k, vm, path, err) < 0) return -1;
    }
    return 0;
}

/* `preset:` names a preset of the root (a name like a VM's); only read, never followed. */
static int check_preset(const char *s, char *why, size_t whylen)
{
    yv_err e;
    if (yv_valid_name(s, &e) == 0) return 0;
    snprintf(why, whylen, "must be the name of a preset");
    return -1;
}

static const yv_yfield top_fields[] = {
    VMF("name", YV_YF_STR, name, true, 0, 0),
    {.key = "hardware", .type = YV_YF_MAP, .required = true, .sub = hardware_fields},
    {.key = "vnc", .type = YV_YF_MAP, .sub = vnc_fields},
    {.key = "drives", .type = YV_YF_FN, .fn = read_drives},
    {.key = "networks", .type = YV_YF_FN, .fn = read_nets},
    {.key = "preset", .type = YV_YF_STR, .off = offsetof(yv_vm, preset), .check = check_preset},
    {0},
};

int yv_vm_load_string(yv_vm *vm, const char *file, const char *text, size_t len,
                      const char *expect_name, yv_err *err)
{
    memset(vm, 0, sizeof *vm);
    yv_ydoc *d = yv_yamlio_load_string(file, text, len, err);
    if (!d) return -1;
    yaml_node_t *top = yv_yamlio_root(d);
    int rc = yv_yamlio_read_map(d, top, top_fields, vm, "", err);
    if (rc == 0 && expect_name && strcmp(vm->name, expect_name) != 0) {
        /* find the node of `name` for the location */
        yaml_node_t *at = top;
        for (yaml_node_pair_t *pr = top->data.mapping.pairs.start; pr < top->data.mapping.pairs.top;
             pr++)
            if (!strcmp(yv_yamlio_scalar(yv_yamlio_node(d, pr->key)), "name"))
                at = yv_yamlio_node(d, pr->value);
        rc = yv_yamlio_fail(d, at, err, "name '%s' does not match the folder name '%s.vm'",
                            vm->name, expect_name);
    }
    yv_yamlio_free(d);
    if (rc < 0) yv_vm_done(vm);
    return rc;
}

int yv_vm_load(yv_vm *vm, const char *root, const char *name, yv_err *err)
{
    char *dir = yv_root_vm_dir(root, name);
    int rc = yv_vm_load_dir(vm, dir, name, err);
    free(dir);
    return rc;
}

static int load_dir(yv_vm *vm, const char *dir, const char *name, char **keep, size_t *keep_len,
                    yv_err *err)
{
    char *path = yv_root_join(dir, "config.yaml");
    size_t len;
    int rc = -1;
    memset(vm, 0, sizeof *vm);
    char *text = yv_root_read_file(path, &len, YV_E_CONFIG_INVALID, err);
    if (!text) {
        if (!yv_root_exists(dir)) yv_err_set(err, YV_E_VM_NOT_FOUND, "no VM named '%s'", name);
        goto out;
    }
    rc = yv_vm_load_string(vm, path, text, len, name, err);
    if (rc == 0 && keep) {
        *keep = text;
        *keep_len = len;
        text = NULL;
    }
out:
    yv_free_secret(text);
    free(path);
    return rc;
}

int yv_vm_load_dir(yv_vm *vm, const char *dir, const char *name, yv_err *err)
{
    return load_dir(vm, dir, name, NULL, NULL, err);
}

int yv_vm_load_text(yv_vm *vm, const char *root, const char *name, char **text, size_t *len,
                    yv_err *err)
{
    *text = NULL;
    char *dir = yv_root_vm_dir(root, name);
    int rc = load_dir(vm, dir, name, text, len, err);
    free(dir);
    return rc;
}

/* ---- writing ---- */

static void write_drive(yv_yw *w, const yv_drive *d)
{
    yv_yamlio_w_map_begin(w, d->id);
    yv_yamlio_w_str(w, "path", d->path);
    yv_yamlio_w_map_begin(w, "device");
    yv_yamlio_w_str(w, "type", drive_types[d->type]);
    if (d->type == YV_DRIVE_IDE) yv_yamlio_w_str(w, "media_type", media_types[d->media]);
    if (d->boot_index >= 0) yv_yamlio_w_int(w, "boot_index", d->boot_index);
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_map_end(w);
}

static void write_forwards(yv_yw *w, const yv_net *n)
{
    if (!n->nforwards) return;
    yv_yamlio_w_seq_begin(w, "forwards");
    for (size_t i = 0; i < n->nforwards; i++) {
        const yv_forward *f = &n->forwards[i];
        yv_yamlio_w_map_begin(w, NULL);
        yv_yamlio_w_str(w, "proto", protos[f->proto]);
        yv_yamlio_w_int(w, "host", f->host);
        yv_yamlio_w_int(w, "guest", f->guest);
        yv_yamlio_w_str(w, "address", f->address);
        yv_yamlio_w_map_end(w);
    }
    yv_yamlio_w_seq_end(w);
}

static void write_net(yv_yw *w, const yv_net *n)
{
    yv_yamlio_w_map_begin(w, n->id);
    yv_yamlio_w_str(w, "type", net_types[n->type]);
    write_forwards(w, n);
    yv_yamlio_w_map_begin(w, "device");
    yv_yamlio_w_str(w, "mac", n->mac);
    if (n->master) yv_yamlio_w_str(w, "master", n->master);
    if (n->ifname) yv_yamlio_w_str(w, "ifname", n->ifname);
    yv_yamlio_w_map_end(w);
    yv_yamlio_w_map_end(w);
}

int yv_vm_to_yaml(const yv_vm *vm, char **out, size_t *len, yv_err *err)
{
    yv_yw *w = yv_yamlio_w_new();
    yv_yamlio_w_map_begin(w, NULL);
    yv_yamlio_w_str(w, "name", vm->name);
    yv_yamlio_w_map_begin(w, "hardware");
    yv_yamlio_w_int(w, "memory", vm->memory);
    yv_yamlio_w_int(w, "vcpu", vm->vcpu);
    yv_yamlio_w_bool(w, "ovmf", vm->ovmf);
    yv_yamlio_w_map_end(w);
    if (vm->vnc_display || vm->vnc_password) {
        yv_yamlio_w_map_begin(w, "vnc");
        if (vm->vnc_display) yv_yamlio_w_str(w, "display", vm->vnc_display);
        if (vm->vnc_password) yv_yamlio_w_str(w, "password", vm->vnc_password);
        yv_yamlio_w_map_end(w);
    }
    if (vm->ndrives) {
        yv_yamlio_w_map_begin(w, "drives");
        for (size_t i = 0; i < vm->ndrives; i++) write_drive(w, &vm->drives[i]);
        yv_yamlio_w_map_end(w);
    }
    if (vm->nnets) {
        yv_yamlio_w_map_begin(w, "networks");
        for (size_t i = 0; i < vm->nnets; i++) write_net(w, &vm->nets[i]);
        yv_yamlio_w_map_end(w);
    }
    if (vm->preset) yv_yamlio_w_str(w, "preset", vm->preset);
    yv_yamlio_w_map_end(w);
    int rc = yv_yamlio_w_finish(w, out, len, err);
    yv_yamlio_w_free(w);
    return rc;
}

int yv_vm_save(const yv_vm *vm, const char *dir, yv_err *err)
{
    char *text, *path;
    size_t len;
    if (yv_vm_to_yaml(vm, &text, &len, err) < 0) return -1;
    path = yv_root_join(dir, "config.yaml");
    int rc = yv_root_write_atomic(path, text, len, 0600, err);
    yv_free_secret(text); /* it holds the VNC password */
    free(path);
    return rc;
}

void yv_vm_done(yv_vm *vm)
{
    if (!vm) return;
    free(vm->preset);
    free(vm->name);
    free(vm->vnc_display);
    yv_free_secret(vm->vnc_password);
    for (size_t i = 0; i < vm->ndrives; i++) {
        free(vm->drives[i].id);
        free(vm->drives[i].path);
    }
    free(vm->drives);
    yv_vm_clear_nets(vm);
    memset(vm, 0, sizeof *vm);
}

void yv_vm_clear_forwards(yv_net *n)
{
    for (size_t j = 0; j < n->nforwards; j++) free(n->forwards[j].address);
    free(n->forwards);
    n->forwards = NULL;
    n->nforwards = 0;
}

void yv_vm_clear_nets(yv_vm *vm)
{
    for (size_t i = 0; i < vm->nnets; i++) {
        free(vm->nets[i].id);
        free(vm->nets[i].mac);
        free(vm->nets[i].master);
        free(vm->nets[i].ifname);
        yv_vm_clear_forwards(&vm->nets[i]);
    }
    free(vm->nets);
    vm->nets = NULL;
    vm->nnets = 0;
}

void yv_vm_each(const char *root, void (*fn)(const yv_vm *vm, void *ctx), void *ctx)
{
    size_t n;
    yv_err e;
    char **names = yv_root_list_suffix(root, ".vm", &n, &e);
    for (size_t i = 0; names && i < n; i++) {
        yv_vm vm;
        if (yv_vm_load(&vm, root, names[i], &e) < 0) continue;
        fn(&vm, ctx);
        yv_vm_done(&vm);
    }
    yv_root_free_names(names, n);
}

void yv_vm_each_part(const char *root, void (*fn)(const yv_vm *vm, void *ctx), void *ctx)
{
    DIR *d = opendir(root);
    struct dirent *de;
    size_t sl = strlen(YV_ROOT_PART_SUFFIX);
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] != '.' || l <= sl + 1 ||
            strcmp(de->d_name + l - sl, YV_ROOT_PART_SUFFIX) != 0)
            continue;
        char *name = yv_strndup(de->d_name + 1, l - sl - 1), *dir = yv_root_part_dir(root, name);
        yv_vm vm;
        yv_err e;
        if (yv_valid_name(name, &e) == 0 && yv_vm_load_dir(&vm, dir, name, &e) == 0) {
            fn(&vm, ctx);
            yv_vm_done(&vm);
        }
        free(dir);
        free(name);
    }
    if (d) closedir(d);
}

yv_drive *yv_vm_add_drive(yv_vm *vm, const char *id, const char *path, yv_drive_type type,
                          yv_media media, long boot_index)
{
    vm->drives = yv_realloc(vm->drives, (vm->ndrives + 1) * sizeof *vm->drives);
    yv_drive *d = &vm->drives[vm->ndrives++];
    *d = (yv_drive){yv_strdup(id), yv_strdup(path), type, media, boot_index};
    return d;
}

yv_net *yv_vm_add_net(yv_vm *vm, const char *id, const char *mac, const char *master)
{
    vm->nets = yv_realloc(vm->nets, (vm->nnets + 1) * sizeof *vm->nets);
    yv_net *n = &vm->nets[vm->nnets++];
    *n =
        (yv_net){yv_strdup(id), YV_NET_TAP, yv_strdup(mac), master ? yv_strdup(master) : NULL, NULL,
                 NULL,          0};
    return n;
}

yv_forward *yv_vm_add_forward(yv_net *n, yv_proto proto, const char *address, int host, int guest)
{
    n->forwards = yv_realloc(n->forwards, (n->nforwards + 1) * sizeof *n->forwards);
    yv_forward *f = &n->forwards[n->nforwards++];
    *f = (yv_forward){proto, yv_strdup(address), host, guest};
    return f;
}

void yv_vm_remove_forward(yv_net *n, size_t i)
{
    free(n->forwards[i].address);
    memmove(&n->forwards[i], &n->forwards[i + 1], (n->nforwards - i - 1) * sizeof *n->forwards);
    n->nforwards--;
}

bool yv_vm_has_tap(const yv_vm *vm)
{
    for (size_t i = 0; i < vm->nnets; i++)
        if (vm->nets[i].type == YV_NET_TAP) return true;
    return false;
}

yv_net *yv_vm_first_user_net(const yv_vm *vm)
{
    for (size_t i = 0; i < vm->nnets; i++)
        if (vm->nets[i].type == YV_NET_USER) return &vm->nets[i];
    return NULL;
}

char *yv_vm_drive_path(const yv_vm *vm, const char *vm_dir, const yv_drive *d)
{
    (void)vm;
    return yv_root_join(vm_dir, d->path);
}

static uint32_t md5_prefix(const char *name)
{
    struct md5_ctx ctx;
    uint8_t dig[MD5_DIGEST_SIZE];
    md5_init(&ctx);
    md5_update(&ctx, strlen(name), (const uint8_t *)name);
    md5_digest(&ctx, sizeof dig, dig);
    return (uint32_t)dig[0] << 24 | (uint32_t)dig[1] << 16 | (uint32_t)dig[2] << 8 | dig[3];
}

void yv_vm_tap_name(const yv_vm *vm, size_t i, char out[16])
{
    if (vm->nets[i].ifname) snprintf(out, 16, "%s", vm->nets[i].ifname);
    else snprintf(out, 16, "yv%08xn%zu", md5_prefix(vm->name), i % 100);
}

void yv_vm_mac_for(const char *name, unsigned bump, char out[18])
{
    uint32_t v = md5_prefix(name) + bump;
    snprintf(out, 18, "52:54:%02x:%02x:%02x:%02x", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
             v & 0xff);
}
