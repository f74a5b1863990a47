/* tuistate: run/tui.state, the list's sort and columns per root. */
#include "tuistate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/root.h"

static int column_of(const char *w, size_t len, const char *const *names, int ncols)
{
    for (int c = 0; c < ncols && c < YV_TUISTATE_COLS; c++)
        if (strlen(names[c]) == len && !strncasecmp(names[c], w, len)) return c;
    return -1;
}

/* "MEM", "MEM asc", "MEM desc": NULL, or why not. */
static const char *parse_sort(const char *p, const char *end, const char *const *names, int ncols,
                              yv_tuistate *st)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    const char *cend = sp ? sp : end;
    int c = column_of(p, (size_t)(cend - p), names, ncols);
    if (c < 0) return "no such column";
    bool desc = false;
    if (sp) {
        size_t dl = (size_t)(end - sp - 1);
        if (dl == 4 && !strncmp(sp + 1, "desc", 4)) desc = true;
        else if (!(dl == 3 && !strncmp(sp + 1, "asc", 3))) return "not asc or desc";
    }
    st->sort_col = c;
    st->sort_desc = desc;
    return NULL;
}

/* "NAME,STATE,MEM": each known name set (shown or hidden); NULL, or why one was skipped. */
static const char *parse_cols(const char *p, const char *end, const char *const *names, int ncols,
                              bool shown, yv_tuistate *st)
{
    const char *why = NULL;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *wend = comma ? comma : end;
        int c = column_of(p, (size_t)(wend - p), names, ncols);
        if (c < 0) why = "no such column (the others taken)";
        else if (c == 0 && !shown) why = "the first column cannot be hidden";
        else {
            st->set |= 1u << c;
            st->shown = shown ? st->shown | 1u << c : st->shown & ~(1u << c);
        }
        p = comma ? comma + 1 : end;
    }
    return why;
}

static const char *parse_line(const char *p, const char *end, const char *const *names, int ncols,
                              yv_tuistate *st)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp) return "not KEY VALUE";
    size_t kl = (size_t)(sp - p);
    if (kl == 4 && !strncmp(p, "sort", 4)) return parse_sort(sp + 1, end, names, ncols, st);
    if (kl == 7 && !strncmp(p, "columns", 7))
        return parse_cols(sp + 1, end, names, ncols, true, st);
    if (kl == 6 && !strncmp(p, "hidden", 6))
        return parse_cols(sp + 1, end, names, ncols, false, st);
    return "unknown setting";
}

int yv_tuistate_parse(const char *text, size_t len, const char *const *names, int ncols,
                      yv_tuistate *st, char *notes, size_t n)
{
    *st = (yv_tuistate){.sort_col = -1};
    size_t k = 0;
    int skipped = 0, line = 0;
    if (n) notes[0] = '\0';
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *why = NULL;
        if (le > p && le[-1] == '\r') why = "a carriage return";
        else if (le > p && *p != '#') why = parse_line(p, le, names, ncols, st);
        if (why) {
            skipped++;
            int w =
                k < n ? snprintf(notes + k, n - k, "%sline %d: %s", k ? "; " : "", line, why) : 0;
            if (w > 0) k = k + (size_t)w < n ? k + (size_t)w : n;
        }
        p = nl ? nl + 1 : end;
    }
    return skipped;
}

int yv_tuistate_format(const yv_tuistate *st, const char *const *names, int ncols, char *buf,
                       size_t n)
{
    char shown[512] = "", hidden[512] = "";
    size_t ks = 0, kh = 0;
    for (int c = 0; c < ncols && c < YV_TUISTATE_COLS; c++) {
        bool on = !(st->set & 1u << c) || st->shown & 1u << c;
        char *b = on ? shown : hidden;
        size_t *k = on ? &ks : &kh;
        int w = snprintf(b + *k, 512 - *k, "%s%s", *k ? "," : "", names[c]);
        if (w < 0 || (size_t)w >= 512 - *k) return -1;
        *k += (size_t)w;
    }
    int w =
        snprintf(buf, n, "%s%s%s%scolumns %s\n%s%s%s", st->sort_col >= 0 ? "sort " : "",
                 st->sort_col >= 0 ? names[st->sort_col] : "",
                 st->sort_col >= 0 ? (st->sort_desc ? " desc" : " asc") : "",
                 st->sort_col >= 0 ? "\n" : "", shown, kh ? "hidden " : "", hidden, kh ? "\n" : "");
    return w < 0 || (size_t)w >= n ? -1 : w;
}

void yv_tuistate_load(const char *root, const char *const *names, int ncols, yv_tuistate *st)
{
    yv_err err;
    size_t len = 0;
    char notes[512];
    char *path = yv_root_path(root, "run/tui.state");
    /* absent is YV_E_FAIL here: the reader's other failures are YV_E_IO or YV_E_PERMISSION */
    char *text = yv_root_read_file(path, &len, YV_E_FAIL, &err);
    *st = (yv_tuistate){.sort_col = -1};
    if (!text && err.code != YV_E_FAIL)
        fprintf(stderr, "yave-tui: %s: ignored (the defaults instead)\n", err.msg);
    if (text && yv_tuistate_parse(text, len, names, ncols, st, notes, sizeof notes) > 0)
        fprintf(stderr, "yave-tui: %s: lines ignored: %s\n", path, notes);
    free(text);
    free(path);
}

int yv_tuistate_save(const char *root, const yv_tuistate *st, const char *const *names, int ncols)
{
    yv_err err;
    char buf[2048];
    int len = yv_tuistate_format(st, names, ncols, buf, sizeof buf);
    char *path = yv_root_path(root, "run/tui.state");
    int rc = len < 0 ? -1 : yv_root_write_runtime(path, buf, (size_t)len, 0600, &err);
    if (rc < 0)
        fprintf(stderr, "yave-tui: cannot write %s: %s\n", path, len < 0 ? "too long" : err.msg);
    free(path);
    return rc;
}
