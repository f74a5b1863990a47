/* logfile: a VM's log (qemu.log, serial.log) read in windows for a pager, never whole: a log can be
 * gigabytes and its bytes are the guest's (spec §16). Lines are found by pread of chunks around a
 * position, a search scans a bounded number of bytes per call, and a line is made safe for a
 * terminal before anyone draws it. Curses-free. */
#ifndef YV_LOGFILE_H
#define YV_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A line longer than this is shown in pieces of this many bytes (a guest may print no newline). */
#define YV_LOG_LINE_MAX 4096
/* How far back a line's start is looked for; past it, a piece starts there (bounds a key's cost on
 * a file with no newline: a page is rows × this at worst). */
#define YV_LOG_BACK_MAX (256 << 10)
/* A search's needle, at most (bytes). */
#define YV_LOG_NEEDLE_MAX 64

typedef struct {
    int fd;     /* -1: none (absent, refused) */
    int errnum; /* why fd is -1: ENOENT, ELOOP (a symbolic link), EINVAL (not a regular file) */
    off_t size; /* as of the last open or refresh */
    dev_t dev;
    ino_t ino;
    off_t back_max; /* YV_LOG_BACK_MAX from open; the fuzz target lowers it to reach past it */
    char tail[16];  /* the last bytes before size: a file truncated then grown past its old size
                       between two looks has other bytes there (sizes alone said "grew") */
    size_t ntail;
    char *path;
} yv_logfile;

/* Opens path read-only through core/root.c (no symlink followed anywhere, O_NONBLOCK: a FIFO put
 * there never blocks), a regular file only. Never fails as a whole: a missing or refused file
 * leaves fd -1 with errnum, and refresh tries again. */
void yv_logfile_open(yv_logfile *f, const char *path);
void yv_logfile_close(yv_logfile *f);

typedef enum {
    YV_LOG_SAME,  /* nothing changed */
    YV_LOG_GREW,  /* more bytes at the end: what was read stays valid */
    YV_LOG_RESET, /* truncated (QEMU truncates serial.log at a start), replaced (rotated),
                     appeared or vanished: offsets held before mean nothing now */
} yv_log_change;
/* Looks again: the size, whether the path still names the file held open, and whether the bytes
 * before the old size are still those seen (else it was truncated and written again). */
yv_log_change yv_logfile_refresh(yv_logfile *f);

/* The start of the line (or piece of a long line) holding the byte at pos (pos < size). A line's
 * pieces count from its start; when no newline is within back_max before pos, they are the file's
 * fixed grid of YV_LOG_LINE_MAX (pos rounded down), so stepping back there moves a whole piece and
 * prev(next(g)) == g. */
off_t yv_logfile_line_start(yv_logfile *f, off_t pos);
/* The start of the line after the one starting at start; size when there is none. */
off_t yv_logfile_next(yv_logfile *f, off_t start);
/* The start of the line before the one starting at start (0 stays 0). */
off_t yv_logfile_prev(yv_logfile *f, off_t start);
/* The start of the last line (0 for an empty file). */
off_t yv_logfile_last(yv_logfile *f);
/* The raw bytes of the line starting at start, without its newline, into buf (cap >=
 * YV_LOG_LINE_MAX + 1, NUL-terminated; the bytes may hold NULs themselves). Returns their count. */
size_t yv_logfile_line(yv_logfile *f, off_t start, char *buf, size_t cap);

/* Makes n raw bytes safe to show: strict UTF-8 with no control character in it. ESC and the other
 * C0 controls become ^[ ^A …, DEL ^?, C1 controls and bytes that are not UTF-8 \xNN, a tab spaces
 * to the next multiple of 8 (*col: the cell the text starts at, advanced), a final CR (consoles end
 * lines with CRLF) nothing. *col counts cells (a wide character is 2). Cut at a whole character or
 * escape within cap (always terminated). Returns the length written. */
size_t yv_logfile_render(const char *raw, size_t n, int *col, char *out, size_t cap);

/* A search of needle (ASCII letters without case) among match starts in [lo, hi), forward (the
 * first) or backward (the last), scanning at most budget bytes. 1: found at *at; 0: none in the
 * range; 2: the budget was spent, *resume is where to go on (forward: the new lo; backward: the new
 * hi). A needle of 0 or more than YV_LOG_NEEDLE_MAX bytes finds nothing. */
int yv_logfile_find(yv_logfile *f, const char *needle, off_t lo, off_t hi, bool backward,
                    size_t budget, off_t *at, off_t *resume);

#endif
