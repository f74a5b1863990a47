/* marks: the list's marked VMs (spec §15 "Select many") and the ledger of one bulk action on them.
 * Marks are kept by VM name, so they survive a rescan that reorders the rows, and are dropped for
 * VMs that are gone. The ledger records each VM's end (done, failed, skipped with why) and says
 * when the last one ended, for the summary. Pure: no curses, nothing started (a unit test reads it
 * alone). */
#ifndef YV_MARKS_H
#define YV_MARKS_H

#include <stdbool.h>
#include <stddef.h>

#define YV_MARK_NAME 128 /* "vm@host" of a remote host (spec §14) */
#define YV_BULK_MAX                                                                                \
    256 /* the VMs one question may name (screen_dialog.c's ASK_MAX): `*` on a big root */

typedef struct {
    char (*names)[YV_MARK_NAME];
    size_t n, cap;
} yv_marks;

bool yv_marks_has(const yv_marks *m, const char *name);
/* Marks name (on) or unmarks it; a name too long for a VM is never marked. */
void yv_marks_set(yv_marks *m, const char *name, bool on);
void yv_marks_toggle(yv_marks *m, const char *name);
void yv_marks_clear(yv_marks *m);
/* Drops the marks of the names for which exists says no (VMs deleted behind the list's back);
 * returns how many were dropped. */
size_t yv_marks_prune(yv_marks *m, bool (*exists)(void *ctx, const char *name), void *ctx);
void yv_marks_free(yv_marks *m);

typedef enum { YV_BULK_PENDING, YV_BULK_DONE, YV_BULK_FAILED, YV_BULK_SKIPPED } yv_bulk_state;

typedef struct {
    char vm[YV_MARK_NAME];
    yv_bulk_state state;
    char text[160]; /* the done text, the failure's message, or why it was skipped */
} yv_bulk_item;

typedef struct {
    bool on; /* a bulk action is being carried out (or ended, its summary not yet shown) */
    int act; /* the yv_action its jobs carry */
    char title[48];
    int n;
    yv_bulk_item items[YV_BULK_MAX];
} yv_bulk;

void yv_bulk_begin(yv_bulk *b, int act, const char *title);
/* One VM of the action: pending (a job started for it), or already ended (skipped, or failed to
 * start) with text. -1 when the ledger is full. */
int yv_bulk_add(yv_bulk *b, const char *vm, yv_bulk_state st, const char *text);
/* The job of act on vm ended: true when it was one of the ledger's pending ones (now recorded). */
bool yv_bulk_note(yv_bulk *b, int act, const char *vm, bool ok, const char *text);
/* Every VM of the ledger has ended. */
bool yv_bulk_finished(const yv_bulk *b);
/* The summary: a first line of counts ("3 VMs: 1 done, 1 failed, 1 skipped") into line, and into
 * text one line per VM that failed or was skipped, with why ("b: already stopped", "c: failed:
 * …"), first, then "N done:" and the done ones ("a stopped (by quit)"); what does not fit is
 * counted in a last line ("… and 12 more"), the failures kept before the done ones. */
void yv_bulk_summary(const yv_bulk *b, char *line, size_t ln, char *text, size_t tn);

#endif
