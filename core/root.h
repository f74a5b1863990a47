/* root: the storage root (spec §1) — which folder, its paths, the lock, atomic writes. */
#ifndef YV_ROOT_H
#define YV_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Picks the root (made absolute): explicit (--root), else $YAVE_ROOT, else ./debug when
 * ./debug/config.yaml exists, else $XDG_DATA_HOME/yave (~/.local/share/yave) for a user and
 * /var/lib/yave for root. Returns a malloc'd absolute-or-as-given path the caller frees, or NULL on
 * error. */
char *yv_root_resolve(const char *explicit_root, yv_err *err);

/* Creates the root (0755) and run/ (0700) when missing. */
int yv_root_ensure(const char *root, yv_err *err);

/* Path helpers: malloc'd, never NULL (abort on OOM). */
char *yv_root_path(const char *root, const char *rel);
char *yv_root_vm_dir(const char *root, const char *name);
char *yv_root_join(const char *dir, const char *rel);

/* Takes the exclusive flock on run/lock (blocking); returns the fd, or -1. */
int yv_root_lock(const char *root, yv_err *err);
void yv_root_unlock(int fd);
/* Like yv_root_lock, but never waits: -1 with errno EWOULDBLOCK when another process holds it (a
 * poll loop tries again later). */
int yv_root_trylock(const char *root);

/* Writes data to path atomically: temp file in the same folder (created with `mode`, O_EXCL),
 * write, fsync, rename, fsync of the folder. On failure nothing is left and path is unchanged. */
int yv_root_write_atomic(const char *path, const void *data, size_t len, mode_t mode, yv_err *err);

/* Reads a whole regular file into a malloc'd NUL-terminated buffer. ENOENT → err code
 * notfound_code; a FIFO, device or folder, or a file larger than YV_ROOT_MAX_READ → YV_E_IO,
 * without blocking. */
#define YV_ROOT_MAX_READ (16 << 20)
char *yv_root_read_file(const char *path, size_t *len, yv_code notfound_code, yv_err *err);

/* Removes a folder tree (no symlink following); ENOENT is success. */
int yv_root_rmtree(const char *path, yv_err *err);

bool yv_root_exists(const char *path);

/* Names of `<name>.vm` folders (the VM names), sorted; *n set. Caller frees with
 * yv_root_free_names. */
char **yv_root_list_suffix(const char *root, const char *suffix, size_t *n, yv_err *err);
void yv_root_free_names(char **names, size_t n);

#endif
