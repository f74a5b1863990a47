/* screen_logs: the logs pager of a VM (spec §15 "Logs"): serial.log and qemu.log (Tab switches),
 * scrolled, followed (F) and searched (/, n, N). Both are guest-influenced and can be huge, so the
 * pager holds no file content between frames: each frame reads the lines it shows through
 * core/logfile.c and draws them rendered safe. An inotify watch on each log wakes it when the log
 * is written, one on the VM folder when a log appears, goes or is replaced (no timer while nothing
 * changes, no wake-up for the guest's disk image written in the same folder); a search scans a
 * bounded number of bytes per wake-up, so the keyboard never waits for a big file. */
#include <curses.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <wchar.h>

#include "app.h"
#include "core/logfile.h"
#include "core/root.h"
#include "widgets/draw.h"

#define NFILES      2
#define SEARCH_STEP (8 << 20) /* bytes a search scans per wake-up of the loop */

static const char *const file_names[NFILES] = {"serial.log", "qemu.log"};

typedef struct {
    char vm[64];
    yv_logfile f[NFILES];
    off_t top[NFILES]; /* the first line shown of each file */
    int cur;
    bool follow;
    int ino;        /* inotify on the VM folder and the logs, -1 without */
    int wd[NFILES]; /* the watch of each log file, -1 without (absent) */
    int rows, cols; /* text rows and columns of the last frame */
    int left;       /* the first column shown (Left/Right scroll long lines) */
    bool prompt;    /* typing a search after / */
    char edit[YV_LOG_NEEDLE_MAX + 1];
    char needle[YV_LOG_NEEDLE_MAX + 1];
    /* a search under way: matches looked for in [lo, hi), once more over the rest (wrapped) */
    bool searching, back, wrapped;
    off_t lo, hi, origin;
    bool hit; /* match: the offset of the match shown, highlighted */
    off_t match;
    char msg[160];
} logs_st;

static bool look_again(logs_st *s);

static yv_logfile *cur_file(logs_st *s)
{
    return &s->f[s->cur];
}

/* The top that shows the file's last line on the last row. */
static off_t end_top(logs_st *s)
{
    yv_logfile *f = cur_file(s);
    off_t t = yv_logfile_last(f);
    for (int i = 1; i < s->rows && t > 0; i++) t = yv_logfile_prev(f, t);
    return t;
}

static void scroll_by(logs_st *s, int n)
{
    yv_logfile *f = cur_file(s);
    off_t *top = &s->top[s->cur];
    if (n < 0) {
        for (int i = 0; i > n && *top > 0; i--) *top = yv_logfile_prev(f, *top);
        return;
    }
    off_t et = end_top(s);
    for (int i = 0; i < n && *top < et; i++) *top = yv_logfile_next(f, *top);
}

/* The logs themselves watched for writes (the folder only for names coming and going: a guest
 * writing its disk image there must not wake the pager), again after a log was replaced. */
static void watch_logs(logs_st *s)
{
    for (int i = 0; i < NFILES && s->ino >= 0; i++) {
        int wd = inotify_add_watch(s->ino, s->f[i].path,
                                   IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF |
                                       IN_DONT_FOLLOW);
        if (s->wd[i] >= 0 && s->wd[i] != wd) /* the old file (rotated away) is no news */
            inotify_rm_watch(s->ino, s->wd[i]);
        s->wd[i] = wd;
    }
}

static void logs_init(yv_app *a, void *st, const void *vm)
{
    logs_st *s = st;
    snprintf(s->vm, sizeof s->vm, "%s", (const char *)vm);
    char *dir = yv_root_vm_dir(a->root, s->vm);
    for (int i = 0; i < NFILES; i++) {
        char *p = yv_root_join(dir, file_names[i]);
        yv_logfile_open(&s->f[i], p);
        free(p);
    }
    s->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    s->wd[0] = s->wd[1] = -1;
    if (s->ino >= 0 && inotify_add_watch(s->ino, dir,
                                         IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                             IN_ONLYDIR | IN_DONT_FOLLOW) < 0) {
        close(s->ino);
        s->ino = -1;
    }
    watch_logs(s);
    if (s->ino < 0)
        snprintf(s->msg, sizeof s->msg, "not watching the logs (inotify: %s): F shows the end",
                 strerror(errno));
    free(dir);
    s->rows = a->rows - 2;
    s->cols = a->cols;
    s->follow = true; /* a log is read from its end, as it grows */
}

static void logs_done(yv_app *a, void *st)
{
    (void)a;
    logs_st *s = st;
    for (int i = 0; i < NFILES; i++) yv_logfile_close(&s->f[i]);
    if (s->ino >= 0) close(s->ino);
}

/* Past the first *skip cells of s (rendered text: whole UTF-8 characters, a wide one 2 cells; a
 * wide one across the edge is skipped whole and *skip left at -1: a blank cell in its place). */
static const char *skip_cells(const char *s, int *skip)
{
    mbstate_t ms = {0};
    while (*skip > 0 && *s) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s, MB_LEN_MAX, &ms);
        int w = k == 0 || k > MB_LEN_MAX ? 1 : wcwidth(wc);
        if (k == 0 || k > MB_LEN_MAX) k = 1, memset(&ms, 0, sizeof ms);
        s += k;
        *skip -= w > 0 ? w : 1;
    }
    return s;
}

/* The line starting at start on row y, from its column s->left, the match in it highlighted. */
static void draw_line(yv_app *a, logs_st *s, int y, off_t start)
{
    char raw[YV_LOG_LINE_MAX + 1], out[4 * YV_LOG_LINE_MAX + 16];
    size_t n = yv_logfile_line(cur_file(s), start, raw, sizeof raw), cut[4] = {0, n, n, n};
    if (s->hit && s->match >= start && s->match < start + (off_t)n) {
        cut[1] = (size_t)(s->match - start);
        cut[2] = cut[1] + strlen(s->needle) < n ? cut[1] + strlen(s->needle) : n;
    }
    int col = 0, x = 0, skip = s->left;
    for (int p = 0; p < 3 && x < a->cols; p++) {
        yv_logfile_render(raw + cut[p], cut[p + 1] - cut[p], &col, out, sizeof out);
        const char *shown = skip_cells(out, &skip);
        if (skip < 0) { /* half a wide character off the left edge: the other half blank */
            yv_draw_text(stdscr, y, x, " ", 1, yv_theme_attr(&a->theme, YV_C_NORMAL));
            x++, skip = 0;
        }
        int w = p == 2 ? a->cols - x : yv_draw_width(shown);
        if (w > a->cols - x) w = a->cols - x;
        yv_draw_text(stdscr, y, x, shown, w,
                     yv_theme_attr(&a->theme, p == 1 ? YV_C_SELECTED : YV_C_NORMAL));
        x += w;
    }
}

/* Why a log shows nothing. */
static const char *absent_why(const yv_logfile *f)
{
    if (f->errnum == ELOOP) return "refused: a symbolic link";
    if (f->errnum == EINVAL) return "refused: not a regular file";
    if (f->errnum == ENOENT) return "none yet";
    return strerror(f->errnum);
}

static void draw_title(yv_app *a, logs_st *s)
{
    yv_logfile *f = cur_file(s);
    char title[256], size[48] = "";
    if (f->fd < 0) snprintf(size, sizeof size, "(%s)", absent_why(f));
    else if (f->size < 10 << 20) snprintf(size, sizeof size, "%lld bytes", (long long)f->size);
    else snprintf(size, sizeof size, "%lld MiB", (long long)(f->size >> 20));
    int pct = f->size > 0 ? (int)(s->top[s->cur] * 100 / f->size) : 100;
    char cols[24] = "";
    if (s->left) snprintf(cols, sizeof cols, "  from column %d", s->left + 1);
    snprintf(title, sizeof title, " Logs: %s — %s  %s  %d%%%s%s  (Tab: %s)", s->vm,
             file_names[s->cur], size, s->follow ? 100 : pct, cols, s->follow ? "  [FOLLOW]" : "",
             file_names[!s->cur]);
    yv_draw_text(stdscr, 0, 0, title, a->cols, yv_theme_attr(&a->theme, YV_C_TITLE));
}

static void draw_bottom(yv_app *a, logs_st *s)
{
    char line[256];
    const char *text = line;
    attr_t attr = yv_theme_attr(&a->theme, YV_C_KEYTEXT);
    if (s->prompt) {
        char shown[4 * YV_LOG_NEEDLE_MAX + 1];
        int col = 1;
        yv_logfile_render(s->edit, strlen(s->edit), &col, shown, sizeof shown);
        snprintf(line, sizeof line, "/%s", shown);
        attr = yv_theme_attr(&a->theme, YV_C_NORMAL);
    } else if (s->msg[0]) {
        text = s->msg;
        attr = yv_theme_attr(&a->theme, YV_C_STATUS);
    } else {
        text = " Arrows PgUp/PgDn g/G: scroll  F: follow  /: search  n/N: next/previous  "
               "Tab: other log  q/Esc: back";
    }
    yv_draw_text(stdscr, a->rows - 1, 0, text, a->cols, attr);
    if (s->prompt) {
        move(a->rows - 1, yv_draw_width(line) < a->cols ? yv_draw_width(line) : a->cols - 1);
        curs_set(1);
    }
}

static void logs_draw(yv_app *a, void *st)
{
    logs_st *s = st;
    yv_logfile *f = cur_file(s);
    curs_set(0);
    s->rows = a->rows - 2 > 0 ? a->rows - 2 : 0;
    s->cols = a->cols;
    if (s->follow) s->top[s->cur] = end_top(s);
    draw_title(a, s);
    off_t pos = s->top[s->cur];
    for (int r = 0; r < s->rows; r++) {
        if (pos < f->size) draw_line(a, s, 1 + r, pos);
        else yv_draw_text(stdscr, 1 + r, 0, "", a->cols, yv_theme_attr(&a->theme, YV_C_NORMAL));
        pos = pos < f->size ? yv_logfile_next(f, pos) : pos;
    }
    draw_bottom(a, s);
}

/* The match at `at` shown: its line a third down the page; follow ends. */
static void show_match(logs_st *s, off_t at)
{
    yv_logfile *f = cur_file(s);
    s->hit = true;
    s->match = at;
    s->follow = false;
    off_t t = yv_logfile_line_start(f, at);
    char raw[YV_LOG_LINE_MAX + 1], out[4 * YV_LOG_LINE_MAX + 16];
    size_t n = yv_logfile_line(f, t, raw, sizeof raw);
    int col = 0; /* the match's column: on the screen, a third in when it is past the edge */
    yv_logfile_render(raw, (size_t)(at - t) < n ? (size_t)(at - t) : n, &col, out, sizeof out);
    s->left = col + (int)strlen(s->needle) > s->cols && col > s->cols / 3 ? col - s->cols / 3 : 0;
    for (int i = 0; i < s->rows / 3 && t > 0; i++) t = yv_logfile_prev(f, t);
    s->top[s->cur] = t;
}

/* One bounded step of the search under way (the first from the key, the rest from wake-ups). */
static void search_step(logs_st *s)
{
    yv_logfile *f = cur_file(s);
    off_t at = 0, resume = 0;
    int rc = yv_logfile_find(f, s->needle, s->lo, s->hi, s->back, SEARCH_STEP, &at, &resume);
    if (rc == 2) {
        if (s->back) s->hi = resume;
        else s->lo = resume;
        off_t done = s->back ? f->size - resume : resume;
        snprintf(s->msg, sizeof s->msg, "searching… %d%%  (Esc stops)",
                 f->size ? (int)(done * 100 / f->size) : 100);
        return;
    }
    if (rc == 1) {
        s->searching = false;
        show_match(s, at);
        snprintf(s->msg, sizeof s->msg, "%s",
                 !s->wrapped ? ""
                 : s->back   ? "search hit TOP, continued at BOTTOM"
                             : "search hit BOTTOM, continued at TOP");
        return;
    }
    if (!s->wrapped) { /* the rest of the file, from the other end */
        s->wrapped = true;
        s->lo = s->back ? s->origin : 0;
        s->hi = s->back ? f->size : s->origin;
        search_step(s);
        return;
    }
    s->searching = false;
    s->hit = false;
    char shown[4 * YV_LOG_NEEDLE_MAX + 1];
    int col = 0;
    yv_logfile_render(s->needle, strlen(s->needle), &col, shown, sizeof shown);
    snprintf(s->msg, sizeof s->msg, "not found: %s", shown);
}

/* Whether the byte at `at` is on the page shown (the rows from the top line). */
static bool on_page(logs_st *s, off_t at)
{
    yv_logfile *f = cur_file(s);
    off_t pos = s->top[s->cur];
    if (at < pos) return false;
    for (int r = 0; r < s->rows && pos < f->size; r++) pos = yv_logfile_next(f, pos);
    return at < pos;
}

/* n (forward) or N: from the match shown, else (none, or scrolled away from it) from the top
 * line of the page shown. */
static void search_start(logs_st *s, bool back)
{
    if (!s->needle[0]) {
        snprintf(s->msg, sizeof s->msg, "no search yet: / and a text");
        return;
    }
    if (s->follow) s->top[s->cur] = end_top(s); /* the page shown, as drawn */
    off_t from = s->hit && on_page(s, s->match) ? s->match + (back ? 0 : 1) : s->top[s->cur];
    s->back = back;
    s->wrapped = false;
    s->searching = true;
    s->origin = from;
    s->lo = back ? 0 : from;
    s->hi = back ? from : cur_file(s)->size;
    search_step(s);
}

/* Typing the search text after /: Enter searches forward, Esc gives up. */
static int prompt_key(logs_st *s, wint_t ch, bool is_key)
{
    size_t n = strlen(s->edit);
    if (!is_key && ch == 27) {
        s->prompt = false;
    } else if ((!is_key && ch == L'\n') || (is_key && ch == KEY_ENTER)) {
        s->prompt = false;
        if (n) {
            memcpy(s->needle, s->edit, n + 1);
            s->hit = false;
            search_start(s, false);
        }
    } else if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 127 || ch == 8))) {
        while (n > 0 && ((unsigned char)s->edit[--n] & 0xc0) == 0x80) {
        } /* a whole character */
        s->edit[n] = '\0';
    } else if (!is_key && ch >= 32 && ch != 127) {
        char mb[MB_LEN_MAX];
        mbstate_t ms = {0};
        size_t k = wcrtomb(mb, (wchar_t)ch, &ms);
        if (k != (size_t)-1 && n + k <= YV_LOG_NEEDLE_MAX) {
            memcpy(s->edit + n, mb, k);
            s->edit[n + k] = '\0';
        }
    } else {
        return KEY_IGNORED;
    }
    return KEY_REDRAW;
}

/* The moving keys: each leaves follow mode. 0 when ch is none of them. */
static int move_key(logs_st *s, wint_t ch, bool is_key)
{
    int page = s->rows > 1 ? s->rows - 1 : 1;
    if ((is_key && ch == KEY_UP) || (!is_key && ch == L'k')) scroll_by(s, -1);
    else if ((is_key && ch == KEY_DOWN) || (!is_key && ch == L'j')) scroll_by(s, 1);
    else if ((is_key && ch == KEY_PPAGE) || (!is_key && ch == L'b')) scroll_by(s, -page);
    else if ((is_key && ch == KEY_NPAGE) || (!is_key && ch == L' ')) scroll_by(s, page);
    else if ((is_key && ch == KEY_HOME) || (!is_key && ch == L'g')) s->top[s->cur] = 0;
    else if ((is_key && ch == KEY_END) || (!is_key && ch == L'G')) s->top[s->cur] = end_top(s);
    else if ((is_key && ch == KEY_LEFT) || (!is_key && ch == L'h'))
        s->left = s->left > s->cols / 2 ? s->left - s->cols / 2 : 0;
    else if ((is_key && ch == KEY_RIGHT) || (!is_key && ch == L'l'))
        s->left = s->left < 4 * YV_LOG_LINE_MAX ? s->left + s->cols / 2 : s->left;
    else return 0;
    s->follow = false;
    return 1;
}

static int logs_key(yv_app *a, void *st, wint_t ch, bool is_key)
{
    logs_st *s = st;
    if (s->prompt) return prompt_key(s, ch, is_key);
    s->msg[0] = '\0';
    if (s->ino < 0) look_again(s); /* without inotify, a key shows what was written */
    if (!is_key && ch == 27 && s->searching) {
        s->searching = false;
        snprintf(s->msg, sizeof s->msg, "search stopped");
    } else if ((!is_key && (ch == 27 || ch == L'q')) || (is_key && ch == KEY_F(10))) {
        yv_screen_pop(&a->screens);
    } else if (move_key(s, ch, is_key)) {
        return KEY_REDRAW;
    } else if (!is_key && ch == L'\t') {
        s->cur = !s->cur;
        s->hit = s->searching = false;
    } else if (!is_key && (ch == L'F' || ch == L'f')) {
        s->follow = !s->follow;
    } else if (!is_key && ch == L'/') {
        s->prompt = true;
        s->edit[0] = '\0';
    } else if (!is_key && (ch == L'n' || ch == L'N')) {
        search_start(s, ch == L'N');
    } else {
        return KEY_IGNORED;
    }
    return KEY_REDRAW;
}

static int logs_pollfd(yv_app *a, void *st, int *timeout_ms)
{
    (void)a;
    logs_st *s = st;
    if (s->searching) *timeout_ms = 0; /* the next step at once, after the keys */
    return s->ino;
}

/* The files looked at again (sizes, truncation, rotation): whether the one shown changed. */
static bool look_again(logs_st *s)
{
    bool changed = false, rewatch = false;
    for (int i = 0; i < NFILES; i++) {
        bool had = s->f[i].fd >= 0; /* a log that appears is no news */
        yv_log_change c = yv_logfile_refresh(&s->f[i]);
        if (c == YV_LOG_RESET) s->top[i] = 0, rewatch = true;
        if (c == YV_LOG_RESET && i == s->cur && had) {
            s->hit = s->searching = false;
            snprintf(s->msg, sizeof s->msg, "%s started again (truncated or replaced)",
                     file_names[i]);
        }
        changed |= c != YV_LOG_SAME && i == s->cur;
    }
    if (rewatch) watch_logs(s); /* appeared, replaced or gone: the file at the path now */
    return changed;
}

/* A log was written (or the search goes on). */
static int logs_ready(yv_app *a, void *st, short revents)
{
    logs_st *s = st;
    int r = KEY_IGNORED;
    if (revents & POLLIN) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        while (read(s->ino, buf, sizeof buf) > 0) {
        }                                       /* which file does not matter: both looked at */
        if (look_again(s)) a->mon_dirty = true; /* a chatty guest: a frame per DRAW_MS, no more */
    }
    if (s->searching) {
        search_step(s);
        r = KEY_REDRAW;
    }
    return r;
}

const yv_screen_class yv_logs_screen = {
    .name = "logs",
    .size = sizeof(logs_st),
    .init = logs_init,
    .draw = logs_draw,
    .key = logs_key,
    .done = logs_done,
    .pollfd = logs_pollfd,
    .ready = logs_ready,
};
