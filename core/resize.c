#include "resize.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "qmp.h"
#include "root.h"
#include "clone.h"
#include "storage.h"
#include "util.h"
#include "valid.h"
#include "vm.h"
#include "vmstate.h"

#define MIB            (1024ULL * 1024ULL)
#define RESIZE_MAX_MIB (1L << 30) /* 1 PiB: far above any disk, far below overflow in bytes */
/* How long the QMP exchange with a running QEMU may take (block_resize is a metadata change). */
#define RESIZE_QMP_MS 10000

int yv_resize_parse_mib(const char *text, long *mib, yv_err *err)
{
    if (!text || yv_parse_long(text, 1, RESIZE_MAX_MIB, mib) < 0)
        return yv_err_set(err, YV_E_USAGE, "capacity must be a whole number of MiB from 1 to %ld",
                          RESIZE_MAX_MIB);
    return 0;
}

/* The drive to resize: the named one, else the first drive that is a disk (not a cdrom). */
static const yv_drive *pick_drive(const yv_vm *vm, const char *id, yv_err *err)
{
    for (size_t i = 0; i < vm->ndrives; i++) {
        const yv_drive *d = &vm->drives[i];
        bool cd = d->type == YV_DRIVE_IDE && d->media == YV_MEDIA_CD;
        if (id && strcmp(d->id, id) != 0) continue;
        if (!cd) return d;
        if (id)
            return yv_err_set(err, YV_E_USAGE,
                              "drive %s of VM '%s' is a cdrom: it cannot be resized", id, vm->name),
                   NULL;
    }
    if (id) yv_err_set(err, YV_E_USAGE, "VM '%s' has no drive %s", vm->name, id);
    else yv_err_set(err, YV_E_USAGE, "VM '%s' has no disk drive", vm->name);
    return NULL;
}

static int refuse_smaller(const char *name, const char *drive, uint64_t cur, long mib, yv_err *err)
{
    if ((uint64_t)mib * MIB > cur) return 0;
    return yv_err_set(err, YV_E_USAGE,
                      "capacity %ld MiB is not larger than drive %s of VM '%s' (%llu MiB): disks "
                      "are only grown, never shrunk",
                      mib, drive, name, (unsigned long long)((cur + MIB - 1) / MIB));
}

/* Offline: qemu-img resize on the file (an overlay is resized itself, its base untouched). */
static int resize_file(const yv_config *cfg, const char *name, const char *path,
                       yv_resize_result *out, long mib, yv_err *err)
{
    yv_storage_info info;
    if (yv_storage_info_of(cfg, path, &info, err) < 0) return -1;
    out->old_mib = (info.virtual_size + MIB - 1) / MIB;
    if (refuse_smaller(name, out->drive, info.virtual_size, mib, err) < 0) return -1;
    char size[32];
    snprintf(size, sizeof size, "%ldM", mib);
    char *argv[] = {(char *)yv_config_img(cfg),
                    "resize",
                    "-q",
                    "-f",
                    (char *)yv_storage_format_of(path),
                    "--",
                    (char *)path,
                    size,
                    NULL};
    if (yv_proc_run(argv, NULL, NULL, err) < 0)
        return yv_err_prefix(err, "cannot resize drive %s of VM '%s'", out->drive, name);
    /* qemu-img sets exactly that size; not read back: a failed `info` now would report a failure
     * of a resize that happened */
    out->new_mib = (uint64_t)mib;
    return 0;
}

/* The virtual size QEMU reports for device in one query-block reply (untrusted shape: 0 when
 * absent). */
static uint64_t block_size_in(const json_t *blocks, const char *device)
{
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b)
    {
        const char *dev = json_string_value(json_object_get(b, "device"));
        json_t *img = json_object_get(json_object_get(b, "inserted"), "image");
        json_t *vs = json_object_get(img, "virtual-size");
        if (dev && !strcmp(dev, device) && json_is_integer(vs) && json_integer_value(vs) > 0)
            return (uint64_t)json_integer_value(vs);
    }
    return 0;
}

static int block_size(yv_qmp *q, const char *device, int64_t deadline, uint64_t *size, yv_err *err)
{
    json_t *ret = NULL;
    int rc = yv_qmp_call(q, "query-block", NULL, &ret, deadline, err);
    *size = rc == 0 ? block_size_in(ret, device) : 0;
    json_decref(ret);
    if (rc == 0 && *size == 0)
        return yv_err_set(err, YV_E_TOOL_FAILED, "QEMU does not report the size of drive %s",
                          device);
    return rc == 0 ? 0 : -1;
}

/* Online: the size QEMU has, block_resize, and the size QEMU has then (one short exchange on the
 * VM's QMP socket, never held: spec §6). */
static int resize_live(const char *root, const char *name, yv_resize_result *out, long mib,
                       yv_err *err)
{
    int64_t deadline = yv_now_ms() + RESIZE_QMP_MS;
    char *sock = yv_vmstate_sockfile(root, name);
    yv_qmp *q = yv_qmp_new();
    uint64_t cur = 0;
    int rc = yv_qmp_connect_wait(q, sock, deadline, err);
    if (rc == 0) rc = yv_qmp_greet(q, deadline, err);
    if (rc == 0) rc = block_size(q, out->drive, deadline, &cur, err);
    if (rc == 0) {
        out->old_mib = (cur + MIB - 1) / MIB;
        rc = refuse_smaller(name, out->drive, cur, mib, err);
    }
    if (rc == 0) {
        json_t *args = json_pack("{s:s, s:I}", "device", out->drive, "size",
                                 (json_int_t)((uint64_t)mib * MIB));
        rc = yv_qmp_call(q, "block_resize", args, NULL, deadline, err);
        if (rc == 1) err->code = YV_E_TOOL_FAILED; /* QEMU refused: its reason is in the message */
        rc = rc == 0 ? 0 : -1;
    }
    if (rc == 0) {
        /* the size QEMU has now; when it cannot say, the one it accepted (the resize happened:
         * reporting a failure would be wrong) */
        yv_err e;
        out->new_mib =
            block_size(q, out->drive, deadline, &cur, &e) == 0 ? cur / MIB : (uint64_t)mib;
    } else if (err->code != YV_E_USAGE)
        yv_err_prefix(err, "cannot resize drive %s of running VM '%s'", out->drive, name);
    yv_qmp_free(q);
    free(sock);
    return rc;
}

/* Under the root lock and the VM's start mark (no `run` starts it meanwhile). */
static int resize_locked(const char *root, const yv_config *cfg, const char *name,
                         const char *drive, long mib, yv_resize_result *out, yv_err *err)
{
    yv_vm vm = {0};
    char *dir = yv_root_vm_dir(root, name), *path = NULL;
    int rc = yv_vm_load(&vm, root, name, err);
    const yv_drive *d = rc == 0 ? pick_drive(&vm, drive, err) : NULL;
    if (!d) rc = -1;
    if (rc == 0) {
        snprintf(out->drive, sizeof out->drive, "%s", d->id);
        out->live = yv_vmstate_live_pid(root, cfg, name) > 0;
        path = yv_vm_drive_path(&vm, dir, d);
        /* a live clone killed mid-copy left its jobs: they would hold the disk (Node is busy) */
        if (out->live) yv_clone_end_stale_jobs(root, name);
        rc = out->live ? resize_live(root, name, out, mib, err)
                       : resize_file(cfg, name, path, out, mib, err);
    }
    free(path);
    free(dir);
    yv_vm_done(&vm);
    return rc;
}

int yv_resize(const char *root, const yv_config *cfg, const char *name, const char *drive, long mib,
              yv_resize_result *out, yv_err *err)
{
    memset(out, 0, sizeof *out);
    if (yv_valid_name(name, err) < 0) return -1;
    if (mib < 1 || mib > RESIZE_MAX_MIB)
        return yv_err_set(err, YV_E_USAGE, "capacity must be from 1 to %ld MiB", RESIZE_MAX_MIB);
    int lock = yv_root_lock(root, err);
    if (lock < 0) return -1;
    /* the start mark: refused while a `run` starts the VM (it holds the mark, not the root lock);
     * one a killed run abandoned is settled first, its prelaunch QEMU ended */
    int mark = yv_vmstate_start_take(root, cfg, name, err);
    int rc = mark < 0 ? -1 : resize_locked(root, cfg, name, drive, mib, out, err);
    yv_vmstate_start_end(root, name, mark);
    yv_root_unlock(lock);
    return rc;
}
