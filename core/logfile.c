/* logfile: windows of a VM's log for the pager (see logfile.h). Every read is a pread of at most a
 * chunk; nothing here keeps more than one chunk, whatever the file's size. */
#include "logfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "root.h"
#include "util.h"

#define CHUNK (64 << 10)

static int open_regular(const char *path, struct stat *st)
{
    int fd = yv_root_open(path, O_RDONLY | O_NONBLOCK, 0); /* guest-written: never via a link */
    if (fd < 0) return -1;
    if (fstat(fd, st) || !S_ISREG(st->st_mode)) { /* a FIFO or device would block or never end */
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* The last bytes before f->size as they are now (into buf, cap at most sizeof f->tail): their
 * count. */
static size_t read_tail(const yv_logfile *f, char *buf, size_t cap)
{
    size_t k = f->size < (off_t)cap ? (size_t)f->size : cap;
    return k && pread(f->fd, buf, k, f->size - (off_t)k) == (ssize_t)k ? k : 0;
}

static void adopt(yv_logfile *f, int fd, const struct stat *st)
{
    f->fd = fd;
    f->errnum = 0;
    f->size = st->st_size;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->ntail = read_tail(f, f->tail, sizeof f->tail);
}

void yv_logfile_open(yv_logfile *f, const char *path)
{
    struct stat st;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->back_max = YV_LOG_BACK_MAX;
    f->path = yv_strdup(path);
    int fd = open_regular(path, &st);
    if (fd < 0) f->errnum = errno;
    else adopt(f, fd, &st);
}

void yv_logfile_close(yv_logfile *f)
{
    if (f->fd >= 0) close(f->fd);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

yv_log_change yv_logfile_refresh(yv_logfile *f)
{
    struct stat st;
    int fd = open_regular(f->path, &st);
    if (fd < 0) {
        f->errnum = errno;
        if (f->fd < 0) return YV_LOG_SAME;
        close(f->fd); /* gone (rotated away, the VM deleted) */
        f->fd = -1;
        f->size = 0;
        return YV_LOG_RESET;
    }
    if (f->fd >= 0 && st.st_dev == f->dev && st.st_ino == f->ino) {
        close(fd);
        off_t old = f->size;
        char now[sizeof f->tail];
        bool same = st.st_size >= old && read_tail(f, now, f->ntail) == f->ntail &&
                    !memcmp(now, f->tail, f->ntail); /* else truncated, written again */
        f->size = st.st_size;
        if (!same || st.st_size != old) f->ntail = read_tail(f, f->tail, sizeof f->tail);
        return !same ? YV_LOG_RESET : st.st_size > old ? YV_LOG_GREW : YV_LOG_SAME;
    }
    if (f->fd >= 0) close(f->fd); /* another file at the path now: rotated or replaced */
    adopt(f, fd, &st);
    return YV_LOG_RESET;
}

off_t yv_logfile_line_start(yv_logfile *f, off_t pos)
{
    if (f->fd < 0 || pos <= 0 || f->size <= 0) return 0;
    if (pos >= f->size) pos = f->size - 1;
    off_t limit = pos > f->back_max ? pos - f->back_max : 0, t = -1, end = pos;
    char *buf = yv_malloc(CHUNK);
    while (end > limit) { /* the last newline before pos, a chunk at a time backwards */
        off_t s = end - CHUNK < limit ? limit : end - CHUNK;
        ssize_t r = pread(f->fd, buf, (size_t)(end - s), s);
        if (r <= 0) break;
        char *nl = memrchr(buf, '\n', (size_t)r);
        if (nl) {
            t = s + (nl - buf) + 1;
            break;
        }
        end = s;
    }
    free(buf);
    /* none within reach (or the file's start): the line's start is unknown, so its pieces count
     * from 0, the file's grid, the same from any pos (counting from the limit, which moves with
     * pos, made a step back move one byte) */
    if (t < 0) t = 0;
    /* a long line is shown in pieces of YV_LOG_LINE_MAX counted from its start; its newline on a
     * piece's boundary ends the piece before (as next reads it), no empty piece of its own */
    off_t d = pos - t;
    char c = 0;
    if (d > 0 && d % YV_LOG_LINE_MAX == 0 && pread(f->fd, &c, 1, pos) == 1 && c == '\n') d--;
    return t + d / YV_LOG_LINE_MAX * YV_LOG_LINE_MAX;
}

size_t yv_logfile_line(yv_logfile *f, off_t start, char *buf, size_t cap)
{
    size_t want = cap - 1 < YV_LOG_LINE_MAX ? cap - 1 : YV_LOG_LINE_MAX;
    if (f->fd < 0 || start >= f->size) want = 0;
    else if ((off_t)want > f->size - start) want = (size_t)(f->size - start);
    ssize_t r = want ? pread(f->fd, buf, want, start) : 0;
    size_t n = r > 0 ? (size_t)r : 0;
    char *nl = memchr(buf, '\n', n);
    if (nl) n = (size_t)(nl - buf);
    buf[n] = '\0';
    return n;
}

off_t yv_logfile_next(yv_logfile *f, off_t start)
{
    char buf[YV_LOG_LINE_MAX + 1];
    if (f->fd < 0 || start >= f->size) return f->size > 0 ? f->size : 0;
    size_t want = YV_LOG_LINE_MAX + 1; /* a newline just after a whole piece ends that piece */
    if ((off_t)want > f->size - start) want = (size_t)(f->size - start);
    ssize_t r = pread(f->fd, buf, want, start);
    if (r <= 0) return f->size;
    char *nl = memchr(buf, '\n', (size_t)r);
    off_t next = nl ? start + (nl - buf) + 1 : start + (r < YV_LOG_LINE_MAX ? r : YV_LOG_LINE_MAX);
    return next > f->size ? f->size : next;
}

off_t yv_logfile_prev(yv_logfile *f, off_t start)
{
    return start <= 0 ? 0 : yv_logfile_line_start(f, start - 1);
}

off_t yv_logfile_last(yv_logfile *f)
{
    return f->size > 0 ? yv_logfile_line_start(f, f->size - 1) : 0;
}

/* A well-formed UTF-8 character at s (n bytes left): its length and code point, or 0. */
static size_t utf8_char(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t k;
    unsigned min;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) k = 2, *cp = s[0] & 0x1fu, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) k = 3, *cp = s[0] & 0x0fu, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) k = 4, *cp = s[0] & 0x07u, min = 0x10000;
    else return 0;
    if (k > n) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        *cp = *cp << 6 | (s[i] & 0x3fu);
    }
    return *cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff) ? 0 : k;
}

/* Code points that are no text to show: C1 controls, and every format (Cf), line and paragraph
 * separator (Zl, Zp) character: invisible, they reorder or hide what is around them (bidi marks and
 * overrides, zero-width ones, tags: a log could lie with them). Unicode 15.1. */
static bool hidden_cp(unsigned cp)
{
    static const unsigned ranges[][2] = {
        {0x00, 0x9f},       {0xad, 0xad},       {0x600, 0x605},     {0x61c, 0x61c},
        {0x6dd, 0x6dd},     {0x70f, 0x70f},     {0x890, 0x891},     {0x8e2, 0x8e2},
        {0x180e, 0x180e},   {0x200b, 0x200f},   {0x2028, 0x202e},   {0x2060, 0x206f},
        {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
        {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0000, 0xe007f},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i][0] && cp <= ranges[i][1]) return true;
    return false;
}

/* How the byte(s) at s show: into tmp, their cells into *cells; returns the bytes consumed. */
static size_t render_one(const unsigned char *s, size_t n, int col, char tmp[16], size_t *tl,
                         int *cells)
{
    unsigned cp;
    size_t k;
    if (s[0] == '\t') {
        *cells = 8 - col % 8;
        memset(tmp, ' ', (size_t)*cells);
        *tl = (size_t)*cells;
        return 1;
    }
    if (s[0] < 0x20 || s[0] == 0x7f) { /* ^[ for ESC: seen, never obeyed */
        tmp[0] = '^', tmp[1] = s[0] == 0x7f ? '?' : (char)(s[0] + 64);
        *tl = 2, *cells = 2;
        return 1;
    }
    if (s[0] < 0x80) {
        tmp[0] = (char)s[0];
        *tl = 1, *cells = 1;
        return 1;
    }
    if ((k = utf8_char(s, n, &cp))) {
        int w = hidden_cp(cp) ? -1 : wcwidth((wchar_t)cp);
        if (w <= 0) { /* hidden, zero-width or not printable here: its code point, seen */
            *tl = (size_t)snprintf(tmp, 16, "\\u{%x}", cp);
            *cells = (int)*tl;
            return k;
        }
        memcpy(tmp, s, k);
        *tl = k, *cells = w; /* 2 for a wide (CJK) character */
        return k;
    }
    static const char hex[] = "0123456789abcdef";
    tmp[0] = '\\', tmp[1] = 'x', tmp[2] = hex[s[0] >> 4], tmp[3] = hex[s[0] & 15];
    *tl = 4, *cells = 4;
    return 1;
}

size_t yv_logfile_render(const char *raw, size_t n, int *col, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)raw;
    size_t i = 0, j = 0;
    if (!cap) return 0;
    if (n && s[n - 1] == '\r') n--;
    while (i < n) {
        char tmp[16];
        size_t tl;
        int cells;
        size_t adv = render_one(s + i, n - i, *col, tmp, &tl, &cells);
        if (j + tl >= cap) break; /* no half character, no half escape */
        memcpy(out + j, tmp, tl);
        j += tl;
        i += adv;
        *col += cells;
    }
    out[j] = '\0';
    return j;
}

static void lower(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) s[i] = (char)tolower((unsigned char)s[i]);
}

/* The first (or, backward, the last) match in buf[0, r) starting before lim; -1 when none. */
static off_t match_in(const char *buf, size_t r, size_t lim, const char *nd, size_t len,
                      bool backward)
{
    off_t m = -1;
    for (const char *p = buf; (p = memmem(p, r - (size_t)(p - buf), nd, len)) != NULL; p++) {
        if ((size_t)(p - buf) >= lim) break;
        m = p - buf;
        if (!backward) break;
    }
    return m;
}

int yv_logfile_find(yv_logfile *f, const char *needle, off_t lo, off_t hi, bool backward,
                    size_t budget, off_t *at, off_t *resume)
{
    size_t len = strlen(needle), spent = 0;
    char nd[YV_LOG_NEEDLE_MAX + 1];
    if (f->fd < 0 || !len || len > YV_LOG_NEEDLE_MAX) return 0;
    memcpy(nd, needle, len + 1);
    lower(nd, len);
    if (hi > f->size) hi = f->size;
    if (lo < 0) lo = 0;
    char *buf = yv_malloc(CHUNK + YV_LOG_NEEDLE_MAX);
    int rc = 0;
    while (lo < hi) {
        if (spent >= budget) {
            *resume = backward ? hi : lo;
            rc = 2;
            break;
        }
        off_t s = backward ? (hi - CHUNK > lo ? hi - CHUNK : lo) : lo,
              e = backward ? hi : (lo + CHUNK < hi ? lo + CHUNK : hi);
        size_t want = (size_t)(e - s) + len - 1; /* a match may end past the last start */
        if ((off_t)want > f->size - s) want = (size_t)(f->size - s);
        ssize_t r = pread(f->fd, buf, want, s);
        if (r < 0) break;
        lower(buf, (size_t)r);
        off_t m = match_in(buf, (size_t)r, (size_t)(e - s), nd, len, backward);
        spent += (size_t)(e - s);
        if (m >= 0) {
            *at = s + m;
            rc = 1;
            break;
        }
        if (backward) hi = s;
        else lo = e;
    }
    free(buf);
    return rc;
}
