#include "uefivars.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "root.h"
#include "util.h"

typedef struct {
    char *qcow2, *raw, *tmp;
} vars_paths;

static void paths_done(vars_paths *p)
{
    free(p->qcow2);
    free(p->raw);
    free(p->tmp);
}

/* Removes path itself (a symlink there too: unlink never follows it); ENOENT is success. */
static int remove_file(const char *path, yv_err *err)
{
    if (unlink(path) == 0 || errno == ENOENT) return 0;
    return yv_err_sys(err, YV_E_IO, errno, "cannot remove %s", path);
}

/* fsync of path; a file also made private (0600, as the VM's other files: qemu-img makes it with
 * the umask's mode). */
static int sync_path(const char *path, int flags, yv_err *err)
{
    int fd = yv_root_open(path, flags, 0);
    if (fd < 0) return yv_root_open_error(err, errno, YV_E_IO, "UEFI variable store", path);
    int rc = 0;
    if (!(flags & O_DIRECTORY) && fchmod(fd, 0600) < 0)
        rc = yv_err_sys(err, YV_E_IO, errno, "cannot chmod %s", path);
    if (rc == 0 && fsync(fd) < 0) rc = yv_err_sys(err, YV_E_IO, errno, "cannot sync %s", path);
    close(fd);
    return rc;
}

/* src (raw) → the temp file (qcow2, synced) → renamed to the qcow2 store, the folder synced. A
 * failure removes the temp file: the store is as it was. */
static int convert_into_place(const yv_config *cfg, const char *vm_dir, const char *src,
                              const vars_paths *p, yv_err *err)
{
    char *argv[] = {(char *)yv_config_img(cfg),
                    "convert",
                    "-q",
                    "-f",
                    "raw",
                    "-O",
                    "qcow2",
                    "--",
                    (char *)src,
                    p->tmp,
                    NULL};
    int rc = yv_proc_run(argv, NULL, NULL, err);
    if (rc < 0) yv_err_prefix(err, "cannot make the UEFI variable store %s", p->qcow2);
    if (rc == 0) rc = sync_path(p->tmp, O_RDONLY, err);
    if (rc == 0 && rename(p->tmp, p->qcow2) < 0)
        rc = yv_err_sys(err, YV_E_IO, errno, "cannot rename %s", p->tmp);
    if (rc < 0) {
        yv_err e;
        remove_file(p->tmp, &e);
        return -1;
    }
    yv_err e; /* best effort, as core/root.c's atomic writes: the rename is already visible */
    sync_path(vm_dir, O_RDONLY | O_DIRECTORY, &e);
    return 0;
}

/* What a killed conversion left: the temp file goes; a raw store beside the qcow2 one goes (the
 * qcow2 one was renamed into place complete and synced). */
static int settle(const char *vm_dir, const vars_paths *p, yv_err *err)
{
    if (remove_file(p->tmp, err) < 0) return -1;
    if (!yv_root_exists(p->qcow2) || !yv_root_exists(p->raw)) return 0;
    if (remove_file(p->raw, err) < 0) return -1;
    yv_err e; /* best effort: the raw store is gone either way */
    sync_path(vm_dir, O_RDONLY | O_DIRECTORY, &e);
    return 0;
}

int yv_uefivars_ensure(const yv_config *cfg, const char *vm_dir, bool *made, bool *migrated,
                       yv_err *err)
{
    vars_paths p = {yv_root_join(vm_dir, YV_UEFIVARS_FILE), yv_root_join(vm_dir, YV_UEFIVARS_RAW),
                    yv_root_join(vm_dir, YV_UEFIVARS_TMP)};
    *made = *migrated = false;
    /* qemu-img reads the raw store and QEMU opens the qcow2 one by path: neither through a
     * symlink (checked before anything is removed) */
    int rc = yv_root_check_regular(p.raw, err);
    if (rc == 0) rc = yv_root_check_regular(p.qcow2, err);
    if (rc == 0) rc = settle(vm_dir, &p, err);
    if (rc == 0 && !yv_root_exists(p.qcow2)) {
        if (yv_root_exists(p.raw)) {
            rc = convert_into_place(cfg, vm_dir, p.raw, &p, err);
            if (rc == 0) rc = settle(vm_dir, &p, err); /* the raw one, now converted */
            *migrated = rc == 0;
        } else {
            const char *tmpl = cfg->ovmf_vars ? cfg->ovmf_vars : YV_UEFIVARS_TEMPLATE;
            if (access(tmpl, R_OK) < 0)
                rc = yv_err_sys(err, YV_E_IO, errno, "UEFI variable store template (ovmf.vars) %s",
                                tmpl);
            if (rc == 0) rc = convert_into_place(cfg, vm_dir, tmpl, &p, err);
            *made = rc == 0;
        }
    }
    paths_done(&p);
    return rc;
}
