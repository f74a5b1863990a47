/* linked: linked clones (`clone --linked`, spec §13). A linked clone's disks are qcow2 overlays
 * whose backing files are its source's disks. A backing file must never change while an overlay
 * uses it, so a VM whose disks back another VM's is a base: it is not started (run refuses it),
 * not reverted to a snapshot and not deleted, until its linked clones are gone. Which VMs back onto
 * which is read from the qcow2 headers themselves (no list to keep in step). */
#ifndef YV_LINKED_H
#define YV_LINKED_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The names of the VMs of the root (other than name) with a disk whose backing file is in
 * <root>/<name>.vm/, sorted as listed; free with yv_root_free_names. */
char **yv_linked_dependents(const char *root, const char *name, size_t *n);

/* The mark a linked clone leaves in its source's folder: only a marked VM's start and delete
 * read the root's disks (a stale mark costs a scan, never a refusal). */
#define YV_LINKED_MARK "linked-base"
/* *made (may be NULL): whether this call wrote it (a failed linked clone removes it again with
 * yv_linked_unmark: all-or-nothing). */
int yv_linked_mark(const char *root, const char *name, bool *made, yv_err *err);
void yv_linked_unmark(const char *root, const char *name);

/* 0 when no VM's disk backs onto VM name's; else -1, IN_USE, naming them and `what` was refused
 * ("cannot start it", "cannot delete it"). */
int yv_linked_check_base(const char *root, const char *name, const char *what, yv_err *err);

#endif
