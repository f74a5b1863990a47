#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

#define MIB (1024ULL * 1024ULL)

const char *yv_storage_format_of(const char *path)
{
    size_t l = strlen(path);
    return (l > 6 && !strcmp(path + l - 6, ".qcow2")) ? "qcow2" : "raw";
}

static int info_of(const yv_config *cfg, const char *path, volatile sig_atomic_t *cancel,
                   yv_storage_info *info, yv_err *err)
{
    char *out = NULL;
    char *argv[] = {
        (char *)yv_config_img(cfg), "info", "--output=json", "-U", "--", (char *)path, NULL};
    if (yv_proc_run_output(argv, NULL, cancel, &out, err) < 0) return -1;
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    free(out);
    const char *fmt = NULL;
    json_int_t size = 0;
    if (!j || json_unpack(j, "{s:s, s:I}", "format", &fmt, "virtual-size", &size) < 0) {
        json_decref(j);
        return yv_err_set(err, YV_E_TOOL_FAILED, "qemu-img info %s: unexpected output", path);
    }
    snprintf(info->format, sizeof info->format, "%s", fmt);
    info->virtual_size = (uint64_t)size;
    json_decref(j);
    return 0;
}

int yv_storage_info_of(const yv_config *cfg, const char *path, yv_storage_info *info, yv_err *err)
{
    return info_of(cfg, path, NULL, info, err);
}

int yv_storage_create(const yv_config *cfg, const char *path, long mib,
                      volatile sig_atomic_t *cancel, yv_err *err)
{
    char size[32];
    snprintf(size, sizeof size, "%ldM", mib);
    char *argv[] = {
        (char *)yv_config_img(cfg), "create", "-q", "-f", "qcow2", "--", (char *)path, size, NULL};
    return yv_proc_run(argv, NULL, cancel, err);
}

/* Grows path to mib MiB; a base larger than that is an error, not a silent shrink. */
static int grow(const yv_config *cfg, const char *path, uint64_t current, long mib,
                volatile sig_atomic_t *cancel, yv_err *err)
{
    if (mib <= 0 || (uint64_t)mib * MIB == current) return 0;
    if ((uint64_t)mib * MIB < current)
        return yv_err_set(err, YV_E_USAGE,
                          "capacity %ld MiB is smaller than the base image (%llu MiB); disks are "
                          "never shrunk",
                          mib, (unsigned long long)((current + MIB - 1) / MIB));
    char size[32];
    snprintf(size, sizeof size, "%ldM", mib);
    char *argv[] = {
        (char *)yv_config_img(cfg), "resize", "-q", "-f", "qcow2", "--", (char *)path, size, NULL};
    return yv_proc_run(argv, NULL, cancel, err);
}

/* `qemu-img convert -f from_fmt -O to_fmt src dst`; shared: -U (src held by a running QEMU). */
static int convert(const yv_config *cfg, const char *src, const char *from_fmt, const char *dst,
                   const char *to_fmt, bool shared, volatile sig_atomic_t *cancel, yv_err *err)
{
    char *argv[] = {(char *)yv_config_img(cfg),
                    "convert",
                    "-q",
                    "-f",
                    (char *)from_fmt,
                    "-O",
                    (char *)to_fmt,
                    shared ? "-U" : "--",
                    shared ? "--" : (char *)src,
                    shared ? (char *)src : (char *)dst,
                    shared ? (char *)dst : NULL,
                    NULL};
    return yv_proc_run(argv, NULL, cancel, err);
}

int yv_storage_copy(const yv_config *cfg, const char *base, const char *path, long mib,
                    volatile sig_atomic_t *cancel, yv_err *err)
{
    yv_storage_info info;
    if (info_of(cfg, base, cancel, &info, err) < 0) return -1;
    if (mib > 0 && (uint64_t)mib * MIB < info.virtual_size)
        return grow(cfg, path, info.virtual_size, mib, cancel, err);
    if (convert(cfg, base, info.format, path, "qcow2", false, cancel, err) < 0) return -1;
    return grow(cfg, path, info.virtual_size, mib, cancel, err);
}

int yv_storage_overlay(const yv_config *cfg, const char *base, const char *backing_ref,
                       const char *path, long mib, volatile sig_atomic_t *cancel, yv_err *err)
{
    yv_storage_info info;
    if (info_of(cfg, base, cancel, &info, err) < 0) return -1;
    if (mib > 0 && (uint64_t)mib * MIB < info.virtual_size)
        return grow(cfg, path, info.virtual_size, mib, cancel, err);
    char size[32];
    snprintf(size, sizeof size, "%lluM",
             (unsigned long long)(mib > 0 ? (uint64_t)mib : (info.virtual_size + MIB - 1) / MIB));
    char *argv[] = {(char *)yv_config_img(cfg),
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-b",
                    (char *)backing_ref,
                    "-F",
                    info.format,
                    "--",
                    (char *)path,
                    size,
                    NULL};
    return yv_proc_run(argv, NULL, cancel, err);
}

uint64_t yv_storage_qcow2_size(const char *path)
{
    unsigned char h[32];
    /* the TUI's loop calls this: a FIFO (or a terminal) named as the disk must not block it; their
     * pread fails (ESPIPE) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return 0;
    ssize_t r = pread(fd, h, sizeof h, 0);
    close(fd);
    if (r != (ssize_t)sizeof h || memcmp(h, "QFI\xfb", 4) != 0) return 0;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++) v = v << 8 | h[i]; /* big-endian size at offset 24 */
    return v;
}

int yv_storage_clone_file(const yv_config *cfg, const char *src, const char *dst,
                          const char *format, bool shared, volatile sig_atomic_t *cancel,
                          yv_err *err)
{
    /* -f and -O the same format: a raw disk stays raw (QEMU is given the format by the name), and
     * qemu-img never probes a guest-writable image's format */
    return convert(cfg, src, format, dst, format, shared, cancel, err);
}

/* The qcow2 header's backing file name: offset (8 bytes) at 8, length (4 bytes) at 16. */
char *yv_storage_qcow2_backing_in(const unsigned char *h, size_t n)
{
    if (n < 20 || memcmp(h, "QFI\xfb", 4) != 0) return NULL;
    uint64_t off = 0;
    uint32_t len = 0;
    for (int i = 8; i < 16; i++) off = off << 8 | h[i];
    for (int i = 16; i < 20; i++) len = len << 8 | h[i];
    /* QEMU writes at most 1023 bytes, in the header's first cluster */
    if (!off || !len || len > 1023 || off > n || len > n - off) return NULL;
    if (memchr(h + off, '\0', len)) return NULL;
    return yv_strndup((const char *)h + off, len);
}

char *yv_storage_qcow2_backing(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0) return NULL;
    unsigned char *h = yv_malloc(YV_STORAGE_QCOW2_HEAD);
    ssize_t r = pread(fd, h, YV_STORAGE_QCOW2_HEAD, 0);
    close(fd);
    char *name = r > 0 ? yv_storage_qcow2_backing_in(h, (size_t)r) : NULL;
    free(h);
    return name;
}
