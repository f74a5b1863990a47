/* root: the storage root (spec §1) — which folder, its paths, the lock, atomic writes. */
#ifndef YV_ROOT_H
#define YV_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Picks the root (made absolute): explicit (--root), else $YAVE_ROOT, else ./debug when
 * ./debug/config.yaml exists, else $XDG_DATA_HOME/yave (~/.local/share/yave) for a user and
 * /var/lib/yave for root; canonical (no symlink in it, also when it does not exist yet). Returns a
 * malloc'd absolute-or-as-given path the caller frees, or NULL on error. */
char *yv_root_resolve(const char *explicit_root, yv_err *err);

/* Whose root is it (spec §16): the root, its config.yaml and run/ (those that exist) must be owned
 * by the effective user or root, not be symlinks, and not be writable by group or others;
 * otherwise YV_E_PERMISSION naming the path and the fix. Called before anything in the root is
 * read. */
int yv_root_trust(const char *root, yv_err *err);

/* Creates the root (0755) and run/ (0700) when missing, after yv_root_trust passed. */
int yv_root_ensure(const char *root, yv_err *err);

/* Opens path (flags | O_NOFOLLOW | O_CLOEXEC) following no symlink in any component (the root's own
 * path is canonical, see yv_root_resolve): one openat2 with RESOLVE_NO_SYMLINKS, or where the
 * kernel lacks it (before 5.6), yv_root_open_walk. -1 with errno, ELOOP when a symlink is in the
 * way. */
int yv_root_open(const char *path, int flags, mode_t mode);
/* The same, each folder opened relative to the one before with O_NOFOLLOW. */
int yv_root_open_walk(const char *path, int flags, mode_t mode);
/* Fills err for a failed yv_root_open: "<what> <path>: …" (a symlink: YV_E_PERMISSION; ENOENT:
 * notfound_code). Returns -1. */
int yv_root_open_error(yv_err *err, int errnum, yv_code notfound_code, const char *what,
                       const char *path);
/* For a file another program (QEMU) opens by path: absent, or a regular file reached without a
 * symlink; else -1 (YV_E_PERMISSION). */
int yv_root_check_regular(const char *path, yv_err *err);

/* Path helpers: malloc'd, never NULL (abort on OOM). */
char *yv_root_path(const char *root, const char *rel);
char *yv_root_vm_dir(const char *root, const char *name);
/* The hidden folder `.<name>.vm.part` a VM is built in until create renames it into place. */
#define YV_ROOT_PART_SUFFIX ".vm.part"
char *yv_root_part_dir(const char *root, const char *name);
char *yv_root_join(const char *dir, const char *rel);

/* Takes the exclusive flock on run/lock (blocking); returns the fd, or -1. */
int yv_root_lock(const char *root, yv_err *err);
void yv_root_unlock(int fd);
/* Like yv_root_lock, but never waits: -1 with errno EWOULDBLOCK when another process holds it (a
 * poll loop tries again later). */
int yv_root_trylock(const char *root);

/* Writes data to path atomically (no symlink followed on the way; a link at path itself is
 * replaced): temp file in the same folder (created with `mode`, O_EXCL),
 * write, fsync, rename, fsync of the folder. On failure nothing is left and path is unchanged. */
int yv_root_write_atomic(const char *path, const void *data, size_t len, mode_t mode, yv_err *err);
/* The same without the fsyncs, for run/'s runtime state that a reboot ends anyway (a start's
 * record of its config): other processes see the old or the new content, never a part; after a
 * power cut the file may be empty, which its readers take as unknown. */
int yv_root_write_runtime(const char *path, const void *data, size_t len, mode_t mode, yv_err *err);

/* A killed yv_root_write_atomic leaves its temp file ("NAME.tmp-XXXXXXXX"): the next command that
 * tidies the root (list, status, the TUI's and yave-web's start) removes those in the root, run/
 * and the VM folders once they are YV_ROOT_TEMP_STALE_S old. Never fails (best effort). */
#define YV_ROOT_TEMP_STALE_S 60
void yv_root_sweep_temps(const char *root);

/* Reads a whole regular file into a malloc'd NUL-terminated buffer. ENOENT → err code
 * notfound_code (YV_OK: an absent file is no error, NULL with err untouched and no message built,
 * for the optional files every command looks for); a FIFO, device or folder, or a file larger
 * than YV_ROOT_MAX_READ → YV_E_IO, without blocking. */
#define YV_ROOT_MAX_READ (16 << 20)
char *yv_root_read_file(const char *path, size_t *len, yv_code notfound_code, yv_err *err);
/* The same for a host file the admin named (TLS certificates, the UEFI template): symlinks are
 * followed there. Never for a file in the root. */
char *yv_root_read_external(const char *path, size_t *len, yv_code notfound_code, yv_err *err);

/* Removes a folder tree (no symlink following); ENOENT is success. Never crosses into another
 * mount: when one is inside the tree (a mount point, a bind mount), nothing is removed and the
 * error names it. */
int yv_root_rmtree(const char *path, yv_err *err);
/* 0 when the tree at path (absent is fine) holds no mount point; else -1 naming it. */
int yv_root_check_mounts(const char *path, yv_err *err);

bool yv_root_exists(const char *path);

/* Names of `<name>.vm` folders (the VM names), sorted; *n set. Caller frees with
 * yv_root_free_names. */
char **yv_root_list_suffix(const char *root, const char *suffix, size_t *n, yv_err *err);
void yv_root_free_names(char **names, size_t n);

#endif
