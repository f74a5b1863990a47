/* rootwatch: inotify on a root for the monitor — the root itself (a VM folder comes or goes), run/
 * (a VM's runtime files) and each VM folder read (its config written, replaced or removed). What
 * changes there wakes the monitor's loop; nothing else does. Without inotify, or once a folder
 * cannot be watched (a symlink, the watch limit), it stops, and the monitor rescans periodically.
 */
#ifndef YV_ROOTWATCH_H
#define YV_ROOTWATCH_H

#include <stdbool.h>

typedef struct {
    int fd; /* the inotify descriptor to poll, -1: none (stopped, or never started) */
    int wd_root, wd_run;
} yv_rootwatch;

/* Watches root and root/run (before the first listing: a change in between is not missed). False
 * when inotify cannot be had (fd -1). */
bool yv_rootwatch_start(yv_rootwatch *w, const char *root);
void yv_rootwatch_stop(yv_rootwatch *w);
/* Watches a VM's folder for its config (before it is read: a write in between is not missed).
 * Never unwatched: a renamed folder keeps its one watch; a removed one drops it by itself. A
 * folder that cannot be watched stops the watch (fd -1: the caller rescans periodically). */
void yv_rootwatch_add_vm(yv_rootwatch *w, const char *dir);
/* Drains the queue (after poll said fd is readable); true when a rescan is due: a folder in the
 * root, a VM's runtime file (not the lock, not a TUI's log) or a VM's config changed. */
bool yv_rootwatch_read(yv_rootwatch *w);

#endif
