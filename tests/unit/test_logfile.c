/* Unit tests of core/logfile.c: the pager's window on a VM's log — lines found around a position
 * (long lines in pieces), a 200 MB file opened and searched without reading it whole, a changed
 * file noticed (grown, truncated, rotated), links and FIFOs refused, guest bytes made safe. */
#include "unit.h"

#include <locale.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/logfile.h"

static char *path_in(void **state, const char *rel)
{
    return yv_root_join(*state, rel);
}

static void open_text(void **state, yv_logfile *f, const char *text)
{
    ut_write(*state, "serial.log", text);
    char *p = path_in(state, "serial.log");
    yv_logfile_open(f, p);
    free(p);
    assert_true(f->fd >= 0);
}

static const char *line_at(yv_logfile *f, off_t start)
{
    static char buf[YV_LOG_LINE_MAX + 1];
    yv_logfile_line(f, start, buf, sizeof buf);
    return buf;
}

static void test_lines(void **state)
{
    yv_logfile f;
    open_text(state, &f, "a\nbb\n\nccc");
    assert_int_equal(yv_logfile_next(&f, 0), 2);
    assert_int_equal(yv_logfile_next(&f, 2), 5);
    assert_int_equal(yv_logfile_next(&f, 5), 6);
    assert_int_equal(yv_logfile_next(&f, 6), 9); /* the last line: size */
    assert_int_equal(yv_logfile_last(&f), 6);
    assert_int_equal(yv_logfile_prev(&f, 6), 5);
    assert_int_equal(yv_logfile_prev(&f, 5), 2);
    assert_int_equal(yv_logfile_prev(&f, 2), 0);
    assert_int_equal(yv_logfile_prev(&f, 0), 0);
    assert_int_equal(yv_logfile_line_start(&f, 3), 2);
    assert_string_equal(line_at(&f, 2), "bb");
    assert_string_equal(line_at(&f, 5), "");
    assert_string_equal(line_at(&f, 6), "ccc");
    yv_logfile_close(&f);
    open_text(state, &f, "a\nb\n"); /* a final newline ends the last line, opens none */
    assert_int_equal(yv_logfile_last(&f), 2);
    assert_string_equal(line_at(&f, 2), "b");
    yv_logfile_close(&f);
    open_text(state, &f, "");
    assert_int_equal(yv_logfile_last(&f), 0);
    assert_int_equal(yv_logfile_next(&f, 0), 0);
    assert_string_equal(line_at(&f, 0), "");
    yv_logfile_close(&f);
}

/* A line with no newline for 10000 bytes is shown in pieces of YV_LOG_LINE_MAX, both ways. */
static void test_long_line_pieces(void **state)
{
    char *text = yv_malloc(10004);
    memset(text, 'x', 10000);
    memcpy(text + 10000, "\nz\n", 4);
    yv_logfile f;
    open_text(state, &f, text);
    assert_int_equal(yv_logfile_next(&f, 0), 4096);
    assert_int_equal(yv_logfile_next(&f, 4096), 8192);
    assert_int_equal(yv_logfile_next(&f, 8192), 10001);
    assert_int_equal(yv_logfile_line_start(&f, 5000), 4096);
    assert_int_equal(yv_logfile_last(&f), 10001);
    assert_int_equal(yv_logfile_prev(&f, 10001), 8192);
    assert_int_equal(yv_logfile_prev(&f, 8192), 4096);
    assert_int_equal(strlen(line_at(&f, 0)), 4096);
    assert_int_equal(strlen(line_at(&f, 8192)), 10000 - 8192);
    yv_logfile_close(&f);
    free(text);
}

/* A line of exactly 1 or 2 × YV_LOG_LINE_MAX bytes is 1 or 2 rows: its newline ends the last
 * piece, not an empty row of its own (there was one). */
static void test_whole_pieces(void **state)
{
    char *text = yv_malloc(2 * YV_LOG_LINE_MAX + 4);
    memset(text, 'x', 2 * YV_LOG_LINE_MAX);
    memcpy(text + YV_LOG_LINE_MAX, "\nz\n", 4);
    yv_logfile f;
    open_text(state, &f, text);
    assert_int_equal(yv_logfile_next(&f, 0), YV_LOG_LINE_MAX + 1);
    assert_int_equal(strlen(line_at(&f, 0)), YV_LOG_LINE_MAX);
    assert_string_equal(line_at(&f, YV_LOG_LINE_MAX + 1), "z");
    assert_int_equal(yv_logfile_line_start(&f, YV_LOG_LINE_MAX), 0);
    assert_int_equal(yv_logfile_prev(&f, YV_LOG_LINE_MAX + 1), 0);
    assert_int_equal(yv_logfile_last(&f), YV_LOG_LINE_MAX + 1);
    yv_logfile_close(&f);
    memset(text, 'x', 2 * YV_LOG_LINE_MAX); /* two pieces, then its newline, then z */
    memcpy(text + 2 * YV_LOG_LINE_MAX, "\nz", 3);
    open_text(state, &f, text);
    off_t two = 2 * YV_LOG_LINE_MAX;
    assert_int_equal(yv_logfile_next(&f, 0), YV_LOG_LINE_MAX);
    assert_int_equal(yv_logfile_next(&f, YV_LOG_LINE_MAX), two + 1);
    assert_int_equal(yv_logfile_line_start(&f, two), YV_LOG_LINE_MAX);
    assert_int_equal(yv_logfile_prev(&f, two + 1), YV_LOG_LINE_MAX);
    assert_int_equal(yv_logfile_last(&f), two + 1);
    yv_logfile_close(&f);
    free(text);
}

static const char *render(const char *raw, size_t n, size_t cap)
{
    static char out[512];
    int col = 0;
    yv_logfile_render(raw, n, &col, out, cap);
    return out;
}

/* What a guest wrote never reaches the terminal as a control: ESC, C1 (as UTF-8 too), bad UTF-8,
 * bidi overrides all show as text; UTF-8 text stays. */
static void test_render_safe(void **state)
{
    (void)state;
    assert_string_equal(render("\x1b[31mred\x1b]2;t\x07", 14, 512), "^[[31mred^[]2;t^G");
    assert_string_equal(render("a\xc2\x9b"
                               "2J",
                               5, 512),
                        "a\\u{9b}2J");
    assert_string_equal(render("\xff\xc3\xa9\xe2\x80\xae!", 7, 512), "\\xff\xc3\xa9\\u{202e}!");
    /* every format character, separator, tag: shown as its code point (they passed: width 0) */
    assert_string_equal(render("a\xd8\x9c"         /* U+061C arabic letter mark */
                               "b\xf3\xa0\x81\x81" /* U+E0041 tag A */
                               "c\xe1\xa0\x8e"     /* U+180E mongolian vowel separator */
                               "d\xef\xbf\xb9"     /* U+FFF9 interlinear annotation */
                               "e\xe2\x80\xa8"     /* U+2028 line separator */
                               "f\xe2\x80\x8b",    /* U+200B zero width space */
                               24, 512),
                        "a\\u{61c}b\\u{e0041}c\\u{180e}d\\u{fff9}e\\u{2028}f\\u{200b}");
    assert_string_equal(render("e\xcc\x81", 3, 512), "e\\u{301}"); /* zero width: seen too */
    assert_string_equal(render("a\0b\x7f", 4, 512), "a^@b^?");
    assert_string_equal(render("ok\r", 3, 512), "ok"); /* a console's CRLF */
    assert_string_equal(render("a\tb", 3, 512), "a       b");
    assert_string_equal(render("ab\x1b", 3, 4), "ab"); /* ^[ would not fit: nothing of it */
    assert_string_equal(render("a\xc3\xa9", 3, 3), "a");
    int col = 3;
    char out[16];
    yv_logfile_render("\tx", 2, &col, out, sizeof out); /* tabs count from the given column */
    assert_string_equal(out, "     x");
    assert_int_equal(col, 9);
    col = 0; /* a wide character is two cells: the tab after it, and the column of what follows */
    yv_logfile_render("\xe6\x97\xa5\xe6\x9c\xac\tx", 8, &col, out, sizeof out);
    assert_string_equal(out, "\xe6\x97\xa5\xe6\x9c\xac    x");
    assert_int_equal(col, 9);
}

static void test_find(void **state)
{
    size_t n = 200000;
    char *text = yv_malloc(n + 1);
    memset(text, '.', n);
    text[n] = '\0';
    memcpy(text + 10, "Needle", 6);
    memcpy(text + 65536 - 3, "NEEDLE", 6); /* across the first chunk's end */
    memcpy(text + 150000, "needle", 6);
    yv_logfile f;
    open_text(state, &f, text);
    off_t at = -1, resume = -1;
    assert_int_equal(yv_logfile_find(&f, "needle", 0, f.size, false, 1 << 30, &at, &resume), 1);
    assert_int_equal(at, 10);
    assert_int_equal(yv_logfile_find(&f, "needle", 11, f.size, false, 1 << 30, &at, &resume), 1);
    assert_int_equal(at, 65536 - 3);
    assert_int_equal(yv_logfile_find(&f, "needle", 0, f.size, true, 1 << 30, &at, &resume), 1);
    assert_int_equal(at, 150000);
    assert_int_equal(yv_logfile_find(&f, "needle", 0, 150000, true, 1 << 30, &at, &resume), 1);
    assert_int_equal(at, 65536 - 3);
    assert_int_equal(yv_logfile_find(&f, "needle", 11, 65536 - 3, false, 1 << 30, &at, &resume), 0);
    assert_int_equal(yv_logfile_find(&f, "absent", 0, f.size, false, 1 << 30, &at, &resume), 0);
    /* a small budget: one chunk per call, then where to go on */
    assert_int_equal(yv_logfile_find(&f, "needle", 70000, f.size, false, 1, &at, &resume), 2);
    assert_int_equal(resume, 70000 + 65536);
    assert_int_equal(yv_logfile_find(&f, "needle", resume, f.size, false, 1, &at, &resume), 1);
    assert_int_equal(at, 150000);
    assert_int_equal(yv_logfile_find(&f, "", 0, f.size, false, 1 << 30, &at, &resume), 0);
    yv_logfile_close(&f);
    free(text);
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* 200 MB (sparse: no newline in the middle) opens, shows its end and is searched whole while the
 * process grows by far less than the file: nothing reads it whole. */
static void test_big_file(void **state)
{
    char *p = path_in(state, "qemu.log");
    off_t big = 200LL << 20;
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "head\n", 5, 0), 5);
    assert_int_equal(ftruncate(fd, big), 0);
    assert_int_equal(pwrite(fd, "\ntail one\ntail two\n", 19, big), 19);
    close(fd);
    long before = maxrss_kb();
    yv_logfile f;
    yv_logfile_open(&f, p);
    assert_int_equal(f.size, big + 19);
    off_t last = yv_logfile_last(&f);
    assert_string_equal(line_at(&f, last), "tail two");
    assert_string_equal(line_at(&f, yv_logfile_prev(&f, last)), "tail one");
    off_t s = yv_logfile_prev(&f, yv_logfile_prev(&f, last));
    for (int i = 0; i < 50; i++) s = yv_logfile_prev(&f, s); /* into the zeros: whole pieces */
    assert_int_equal(s, big - 51 * YV_LOG_LINE_MAX);         /* the newline at big ends a piece */
    assert_int_equal(strlen(line_at(&f, s)), 0); /* NUL bytes: the raw length is not strlen */
    off_t at = -1, resume;
    assert_int_equal(
        yv_logfile_find(&f, "TAIL ONE", 5, f.size, false, (size_t)f.size, &at, &resume), 1);
    assert_int_equal(at, big + 1);
    assert_int_equal(yv_logfile_find(&f, "head", 1, f.size, false, 8 << 20, &at, &resume), 2);
    assert_true(maxrss_kb() - before < 32 * 1024); /* KiB: the file is 200 MiB */
    yv_logfile_close(&f);
    free(p);
}

/* 1 MiB with no newline (a guest printing without one): far from any newline, pieces are the
 * file's 4 KiB grid, stepping back moves a whole piece (it moved 1 byte), and the end shows a full
 * page of pieces, not one row. */
static void test_no_newline_grid(void **state)
{
    off_t big = 1 << 20;
    char *text = yv_malloc((size_t)big + 1);
    memset(text, 'x', (size_t)big);
    text[big] = '\0';
    yv_logfile f;
    open_text(state, &f, text);
    off_t last = yv_logfile_last(&f);
    assert_int_equal(last, big - YV_LOG_LINE_MAX);
    off_t t = last;
    for (int i = 1; i < 24; i++) { /* a page of 24 rows from the end, as the pager's end_top */
        off_t p = yv_logfile_prev(&f, t);
        assert_int_equal(p, t - YV_LOG_LINE_MAX);
        assert_int_equal(yv_logfile_next(&f, p), t);
        assert_int_equal(strlen(line_at(&f, p)), YV_LOG_LINE_MAX);
        t = p;
    }
    for (off_t g = 0; g < big; g += 37 * YV_LOG_LINE_MAX) {
        assert_int_equal(yv_logfile_prev(&f, yv_logfile_next(&f, g)), g);
        assert_int_equal(yv_logfile_line_start(&f, g + 4095), g);
    }
    yv_logfile_close(&f);
    free(text);
}

/* Grown, truncated (QEMU truncates serial.log at a start; also when written past the old size
 * before a look), rotated, gone, back. */
static void test_refresh(void **state)
{
    yv_logfile f;
    open_text(state, &f, "one\n");
    assert_int_equal(yv_logfile_refresh(&f), YV_LOG_SAME);
    char *p = path_in(state, "serial.log"), *old = path_in(state, "serial.log.1");
    FILE *w = fopen(p, "a");
    fputs("two\n", w);
    fclose(w);
    assert_int_equal(yv_logfile_refresh(&f), YV_LOG_GREW);
    assert_int_equal(f.size, 8);
    ut_write(*state, "serial.log", "started again, longer\n"); /* truncated, grown past 8 */
    assert_int_equal(yv_logfile_refresh(&f), YV_LOG_RESET);
    assert_int_equal(f.size, 22);
    w = fopen(p, "a");
    fputs("more\n", w);
    fclose(w);
    assert_int_equal(yv_logfile_refresh(&f), YV_LOG_GREW);
    assert_int_equal(truncate(p, 0), 0);
    assert_int_equal(yv_logfile_refresh(&f), YV_LOG_RESET);
    assert_int_equal(f.size, 0);
    assert_int_equal(rename(p, old), 0);
    assert_int_equal(yv_logfile_refresh(&f), YV_LOG_RESET);
    assert_true(f.fd < 0);
    assert_int_equal(f.errnum, ENOENT);
    ut_write(*state, "serial.log", "new\n");
    assert_int_equal(yv_logfile_refresh(&f), YV_LOG_RESET);
    assert_string_equal(line_at(&f, 0), "new");
    yv_logfile_close(&f);
    free(p);
    free(old);
}

/* A symbolic link or a FIFO where the log should be: refused, without blocking. */
static void test_refused(void **state)
{
    char *link = path_in(state, "qemu.log"), *fifo = path_in(state, "serial.log");
    ut_write(*state, "secret", "secret\n");
    assert_int_equal(symlink("secret", link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    yv_logfile f;
    yv_logfile_open(&f, link);
    assert_true(f.fd < 0);
    assert_int_equal(f.errnum, ELOOP);
    assert_int_equal(yv_logfile_last(&f), 0);
    yv_logfile_close(&f);
    yv_logfile_open(&f, fifo);
    assert_true(f.fd < 0);
    assert_int_equal(f.errnum, EINVAL);
    yv_logfile_close(&f);
    free(link);
    free(fifo);
}

int main(void)
{
    setlocale(LC_CTYPE, "C.UTF-8"); /* as the TUI's UTF-8 locale: the widths of characters */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_long_line_pieces, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_whole_pieces, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_render_safe, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_find, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_big_file, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_no_newline_grid, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_refresh, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_refused, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("logfile", tests, NULL, NULL);
}
