/* vm: one VM's config.yaml (spec §3) — load, validate, write. */
#ifndef YV_VM_H
#define YV_VM_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

typedef enum { YV_DRIVE_VIRTIO_BLK, YV_DRIVE_IDE } yv_drive_type;
typedef enum { YV_MEDIA_HD, YV_MEDIA_CD } yv_media;
typedef enum { YV_NET_TAP, YV_NET_USER } yv_net_type;
typedef enum { YV_PROTO_TCP, YV_PROTO_UDP } yv_proto;

/* A host → guest port forward of a `user` network (spec §10). */
typedef struct {
    yv_proto proto;
    char *address; /* host address it listens on; "127.0.0.1" unless given */
    int host, guest;
} yv_forward;

typedef struct {
    char *id;   /* hd0, hd1, … (the key in `drives`) */
    char *path; /* as written: relative to the VM folder, or absolute */
    yv_drive_type type;
    yv_media media;  /* ide only */
    long boot_index; /* -1 = none */
} yv_drive;

typedef struct {
    char *id; /* net0, … */
    yv_net_type type;
    char *mac;
    char *master;         /* tap: NULL = the global network.master */
    char *ifname;         /* tap: NULL = chosen at run time */
    yv_forward *forwards; /* user */
    size_t nforwards;
} yv_net;

typedef struct {
    char *name;
    long memory; /* MiB */
    long vcpu;
    bool ovmf;
    char *vnc_display; /* ":N" or NULL */
    char *vnc_password;
    yv_drive *drives;
    size_t ndrives;
    yv_net *nets;
    size_t nnets;
    /* the preset it was made from (`preset:`; written by create since clone needs it: a clone of a
     * preset VM gets a new cloud-init instance-id). NULL: not made from a preset, or a config
     * written before the key existed (treated as not a preset). */
    char *preset;
} yv_vm;

/* Loads <root>/<name>.vm/config.yaml. A missing folder → VM_NOT_FOUND; a broken file →
 * CONFIG_INVALID with file:line:col. */
int yv_vm_load(yv_vm *vm, const char *root, const char *name, yv_err *err);
/* The same from the folder dir (a VM's `.part` folder while it is created). */
int yv_vm_load_dir(yv_vm *vm, const char *dir, const char *name, yv_err *err);
/* yv_vm_load, keeping the file's text in *text (malloc'd, *len bytes; it may hold the VNC password:
 * free it with yv_free_secret) when it parsed, else *text is NULL. */
int yv_vm_load_text(yv_vm *vm, const char *root, const char *name, char **text, size_t *len,
                    yv_err *err);
/* Parses text (file name `file` for messages); the `name` key must equal expect_name when given. */
int yv_vm_load_string(yv_vm *vm, const char *file, const char *text, size_t len,
                      const char *expect_name, yv_err *err);
/* Serialises to YAML (malloc'd). */
int yv_vm_to_yaml(const yv_vm *vm, char **out, size_t *len, yv_err *err);
/* Writes <dir>/config.yaml atomically with mode 0600. */
int yv_vm_save(const yv_vm *vm, const char *dir, yv_err *err);
void yv_vm_done(yv_vm *vm);

/* Calls fn with every VM config of the root that reads (broken ones are skipped: they hold
 * nothing a new VM could collide with that a user could not see in `list`). */
void yv_vm_each(const char *root, void (*fn)(const yv_vm *vm, void *ctx), void *ctx);
/* The same with the configs of the .part folders (`.<name>.vm.part`): a create or clone under way
 * has written its config there, and its MAC, display and forwards are as taken as a VM's. */
void yv_vm_each_part(const char *root, void (*fn)(const yv_vm *vm, void *ctx), void *ctx);

/* Adds a drive/network (copies the strings). */
yv_drive *yv_vm_add_drive(yv_vm *vm, const char *id, const char *path, yv_drive_type type,
                          yv_media media, long boot_index);
yv_net *yv_vm_add_net(yv_vm *vm, const char *id, const char *mac, const char *master);

/* Adds a forward to a network (copies address); removes forward i. */
yv_forward *yv_vm_add_forward(yv_net *n, yv_proto proto, const char *address, int host, int guest);
void yv_vm_remove_forward(yv_net *n, size_t i);
/* Removes every forward of a network; every network of a VM (`set --network none`). */
void yv_vm_clear_forwards(yv_net *n);
void yv_vm_clear_nets(yv_vm *vm);
/* The forward on proto + host port among all networks of vm, or NULL. */
const yv_forward *yv_vm_find_forward(const yv_vm *vm, yv_proto proto, int host);
/* Whether vm has a network of type tap (which needs a TAP, a bridge, netdevup and root). */
bool yv_vm_has_tap(const yv_vm *vm);
/* The first network of type user (the one forward add|remove changes), or NULL. */
yv_net *yv_vm_first_user_net(const yv_vm *vm);

/* The absolute path of a drive (relative paths are relative to the VM folder); malloc'd. */
char *yv_vm_drive_path(const yv_vm *vm, const char *vm_dir, const yv_drive *d);

/* The TAP name of network i: its stored ifname, else "yv" + 8 hex digits of MD5(vm name) + "n" + i
 * (deterministic, so status, rules and cleanup can find it without asking QEMU). */
void yv_vm_tap_name(const yv_vm *vm, size_t i, char out[16]);

/* 52:54 + bytes 0..3 of MD5(name), plus `bump` (the next value when that MAC is taken). */
void yv_vm_mac_for(const char *name, unsigned bump, char out[18]);

const char *yv_vm_drive_type_name(yv_drive_type t);
const char *yv_vm_media_name(yv_media m);
const char *yv_vm_net_type_name(yv_net_type t); /* "tap", "user" */
const char *yv_vm_proto_name(yv_proto p);       /* "tcp", "udp" */

#endif
