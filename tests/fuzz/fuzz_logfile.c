/* Fuzz target: the logs pager's reader (core/logfile.c) on a guest-written log. The input is a
 * needle (its length from the first byte, 1 … 8) and the file's bytes, written to a file in a
 * temporary folder (removed at exit). Oracles: walking the lines forward from 0 visits strictly
 * increasing starts, each line at most YV_LOG_LINE_MAX bytes with no newline in it, ending at the
 * size; the last line is the piece of the last byte; every byte's line_start is the start of the
 * piece a by-hand scan gives (from the line's start within the back limit, lowered here so inputs
 * reach past it, else the file's 4 KiB grid), and prev undoes next on the grid; each line renders
 * (at every buffer size up to 64 and one big) as strict UTF-8 without C0, DEL or C1 controls, a
 * smaller buffer giving a prefix; a forward search with a budget of one byte (resumed) and one of
 * everything find the first case-folded match a by-hand scan finds, a backward one the last. */
#include "fuzz.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <locale.h>
#include <unistd.h>

#include "core/logfile.h"

static char dir[64], path[96];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

static void write_file(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/yave-fuzz-logfile-XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(path, sizeof path, "%s/serial.log", dir);
        atexit(cleanup);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) abort();
    close(fd);
}

static void check_render(const char *raw, size_t n)
{
    char big[4 * YV_LOG_LINE_MAX + 16], small[64];
    int col = 0;
    size_t len = yv_logfile_render(raw, n, &col, big, sizeof big);
    FUZZ_CHECK(strlen(big) == len, "length %zu", len);
    json_t *j = json_string(big);
    FUZZ_CHECK(j != NULL, "not strict UTF-8: %s", big);
    json_decref(j);
    for (const unsigned char *p = (const unsigned char *)big; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7f && !(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f),
                   "a control character in %s", big);
    for (size_t cap = 1; cap <= sizeof small; cap++) {
        col = 0;
        size_t k = yv_logfile_render(raw, n, &col, small, cap);
        FUZZ_CHECK(k < cap && !strncmp(small, big, k), "cap %zu: not a prefix", cap);
    }
}

/* Lowered from YV_LOG_BACK_MAX (256 KiB, more than an input) so that a line with no newline within
 * it reaches the fixed-grid pieces. */
#define BACK_MAX (3 * YV_LOG_LINE_MAX + 7)

/* after_nl[p]: 1 + the last newline before byte p, 0 when none (filled per input). */
static off_t after_nl[20000];
static bool data_nl[20000]; /* byte p is a newline */

/* The start of the piece holding byte p, by hand: from the last newline within BACK_MAX before p,
 * else the file's grid. */
static off_t piece_by_hand(off_t p)
{
    off_t t = after_nl[p] && after_nl[p] - 1 >= p - BACK_MAX ? after_nl[p] : 0;
    off_t k = p - t; /* a newline on a piece's boundary ends the piece before */
    if (k > 0 && k % YV_LOG_LINE_MAX == 0 && data_nl[p]) k--;
    return t + k / YV_LOG_LINE_MAX * YV_LOG_LINE_MAX;
}

static void check_lines(yv_logfile *f, const uint8_t *data)
{
    char buf[YV_LOG_LINE_MAX + 1];
    off_t s = 0, last = 0;
    for (off_t p = 0; p < f->size; p++) {
        data_nl[p] = data[p] == '\n';
        after_nl[p] = p == 0 ? 0 : data_nl[p - 1] ? p : after_nl[p - 1];
    }
    while (s < f->size) {
        off_t nx = yv_logfile_next(f, s);
        FUZZ_CHECK(nx > s && nx - s <= YV_LOG_LINE_MAX + 1, "next %lld of %lld", (long long)nx,
                   (long long)s);
        FUZZ_CHECK(nx == f->size || yv_logfile_prev(f, nx) == piece_by_hand(nx - 1), "prev of %lld",
                   (long long)nx);
        size_t n = yv_logfile_line(f, s, buf, sizeof buf);
        FUZZ_CHECK(!memcmp(buf, data + s, n) && !memchr(buf, '\n', n), "line at %lld",
                   (long long)s);
        for (off_t p = s; p < nx; p++) /* s itself, unless the line began out of reach */
            FUZZ_CHECK(yv_logfile_line_start(f, p) == piece_by_hand(p),
                       "byte %lld not in line %lld", (long long)p, (long long)s);
        if (s % YV_LOG_LINE_MAX == 0 && nx - s == YV_LOG_LINE_MAX) /* a whole piece of the grid */
            FUZZ_CHECK(yv_logfile_prev(f, nx) == s, "prev of grid %lld", (long long)s);
        check_render(buf, n);
        last = s;
        s = nx;
    }
    FUZZ_CHECK(s == f->size && yv_logfile_last(f) == (s ? piece_by_hand(s - 1) : 0), "last %lld",
               (long long)last);
}

/* The first (or last) case-folded match by hand; -1 when none. */
static off_t by_hand(const uint8_t *d, size_t size, const char *nd, bool last)
{
    size_t len = strlen(nd);
    off_t m = -1;
    for (size_t i = 0; i + len <= size; i++) {
        size_t k = 0;
        while (k < len && tolower(d[i + k]) == tolower((unsigned char)nd[k])) k++;
        if (k == len && (m = (off_t)i, !last)) break;
    }
    return m;
}

static void check_find(yv_logfile *f, const uint8_t *d, size_t size, const char *nd)
{
    for (int back = 0; back < 2; back++) {
        off_t want = by_hand(d, size, nd, back), at = -1, resume = 0, lo = 0, hi = f->size;
        int rc = yv_logfile_find(f, nd, 0, f->size, back, (size_t)-1, &at, &resume);
        FUZZ_CHECK(rc == (want >= 0) && (rc == 0 || at == want), "find %d: %d at %lld", back, rc,
                   (long long)at);
        while ((rc = yv_logfile_find(f, nd, lo, hi, back, 1, &at, &resume)) == 2) {
            if (back) hi = resume;
            else lo = resume;
        }
        FUZZ_CHECK(rc == (want >= 0) && (rc == 0 || at == want), "stepped find %d", back);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 20000) return 0;
    static bool once;
    if (!once) setlocale(LC_CTYPE, "C.UTF-8"), once = true; /* widths as in the TUI */
    size_t nl = (size_t)(data[0] % 8) + 1;
    if (nl > size - 1) nl = size - 1;
    char nd[9];
    memcpy(nd, data + 1, nl);
    nd[nl] = '\0';
    data += 1 + nl, size -= 1 + nl;
    write_file(data, size);
    yv_logfile f;
    yv_logfile_open(&f, path);
    f.back_max = BACK_MAX;
    FUZZ_CHECK(f.fd >= 0 && f.size == (off_t)size, "open");
    check_lines(&f, data);
    if (nd[0]) check_find(&f, data, size, nd);
    yv_logfile_close(&f);
    return 0;
}
