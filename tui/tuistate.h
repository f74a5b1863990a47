/* tuistate: what the list remembers per root in run/tui.state (spec §15) — the sort and which
 * columns show. One setting a line, "sort MEM desc", "columns NAME,STATE,MEM", "hidden DISK";
 * a line it does not know, or a name of no column, is skipped with a note: a bad file never stops
 * the TUI. The parser and the writer are pure (no curses, no files: fuzzed alone); load and save
 * go through core/root.c. */
#ifndef YV_TUISTATE_H
#define YV_TUISTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YV_TUISTATE_COLS 32

typedef struct {
    int sort_col; /* -1: none said */
    bool sort_desc;
    uint32_t set;   /* columns the file says something about */
    uint32_t shown; /* of those, the ones shown */
} yv_tuistate;

/* Parses text (len bytes, not NUL-ended) against the column titles names[0..ncols). Every line it
 * skips is described in notes (one "line N: why" per line, cut to n bytes). Returns how many lines
 * were skipped. */
int yv_tuistate_parse(const char *text, size_t len, const char *const *names, int ncols,
                      yv_tuistate *st, char *notes, size_t n);
/* The file's text for st (every column of names in "columns" or "hidden"); its length, or -1 when
 * buf is too small. */
int yv_tuistate_format(const yv_tuistate *st, const char *const *names, int ncols, char *buf,
                       size_t n);
/* run/tui.state of root: read (absent: st says nothing; unreadable or bad lines: a note on stderr,
 * which is run/tui.log in the TUI) and written (0600, by rename: old or new content, never a part;
 * no fsync, a preference is not worth one: after a power cut an empty file reads as defaults). */
void yv_tuistate_load(const char *root, const char *const *names, int ncols, yv_tuistate *st);
int yv_tuistate_save(const char *root, const yv_tuistate *st, const char *const *names, int ncols);

#endif
