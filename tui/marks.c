/* marks: the set of marked VM names and the ledger of a bulk action (see marks.h). */
#include "marks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The names are kept sorted: the list asks for every row it draws (bsearch, not a scan). Returns
 * the index of name, or -(insertion point) - 1. */
static long find(const yv_marks *m, const char *name)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->names[mid], name);
        if (!c) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -(long)lo - 1;
}

bool yv_marks_has(const yv_marks *m, const char *name)
{
    return find(m, name) >= 0;
}

static void grow(yv_marks *m)
{
    if (m->n < m->cap) return;
    size_t cap = m->cap ? m->cap * 2 : 16;
    void *p = realloc(m->names, cap * sizeof *m->names);
    if (!p) abort();
    m->names = p;
    m->cap = cap;
}

void yv_marks_set(yv_marks *m, const char *name, bool on)
{
    long i = find(m, name);
    if (!on && i >= 0) {
        memmove(m->names[i], m->names[i + 1], (m->n - (size_t)i - 1) * sizeof *m->names);
        m->n--;
    }
    if (!on || i >= 0 || strlen(name) >= YV_MARK_NAME) return;
    grow(m);
    size_t at = (size_t)(-i - 1);
    memmove(m->names[at + 1], m->names[at], (m->n - at) * sizeof *m->names);
    snprintf(m->names[at], YV_MARK_NAME, "%s", name);
    m->n++;
}

void yv_marks_toggle(yv_marks *m, const char *name)
{
    yv_marks_set(m, name, !yv_marks_has(m, name));
}

void yv_marks_clear(yv_marks *m)
{
    m->n = 0;
}

size_t yv_marks_prune(yv_marks *m, bool (*exists)(void *ctx, const char *name), void *ctx)
{
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (!exists(ctx, m->names[i])) {
            gone++;
            continue;
        }
        if (k != i) memcpy(m->names[k], m->names[i], YV_MARK_NAME);
        k++;
    }
    m->n = k;
    return gone;
}

void yv_marks_free(yv_marks *m)
{
    free(m->names);
    *m = (yv_marks){0};
}

void yv_bulk_begin(yv_bulk *b, int act, const char *title)
{
    *b = (yv_bulk){.on = true, .act = act};
    snprintf(b->title, sizeof b->title, "%s", title);
}

int yv_bulk_add(yv_bulk *b, const char *vm, yv_bulk_state st, const char *text)
{
    if (b->n >= YV_BULK_MAX) return -1;
    yv_bulk_item *it = &b->items[b->n++];
    snprintf(it->vm, sizeof it->vm, "%s", vm);
    it->state = st;
    snprintf(it->text, sizeof it->text, "%s", text ? text : "");
    return 0;
}

bool yv_bulk_note(yv_bulk *b, int act, const char *vm, bool ok, const char *text)
{
    if (!b->on || act != b->act) return false;
    for (int i = 0; i < b->n; i++) {
        yv_bulk_item *it = &b->items[i];
        if (it->state != YV_BULK_PENDING || strcmp(it->vm, vm) != 0) continue;
        it->state = ok ? YV_BULK_DONE : YV_BULK_FAILED;
        snprintf(it->text, sizeof it->text, "%s", text ? text : "");
        return true;
    }
    return false;
}

bool yv_bulk_finished(const yv_bulk *b)
{
    for (int i = 0; i < b->n; i++)
        if (b->items[i].state == YV_BULK_PENDING) return false;
    return b->on;
}

/* One VM's line: the done text names the VM itself; the others get it in front. */
static int item_line(const yv_bulk_item *it, char *buf, size_t n)
{
    switch (it->state) {
    case YV_BULK_DONE: return snprintf(buf, n, "%s", it->text[0] ? it->text : "done");
    case YV_BULK_FAILED: return snprintf(buf, n, "%s: failed: %s", it->vm, it->text);
    case YV_BULK_SKIPPED: return snprintf(buf, n, "%s: %s", it->vm, it->text);
    default: return snprintf(buf, n, "%s: still running", it->vm);
    }
}

/* Appends "\n"-separated one to text at *k, keeping room for the closing "… and N more" line;
 * false when it does not fit (nothing appended). */
static bool append(char *text, size_t tn, size_t *k, const char *one)
{
    size_t w = strlen(one) + (*k ? 1 : 0);
    if (*k + w + 48 > tn) return false;
    *k += (size_t)snprintf(text + *k, tn - *k, "%s%s", *k ? "\n" : "", one);
    return true;
}

/* What went wrong first (failed, skipped, unfinished: each with why), then what was done: the
 * count, and each done VM while there is room; the rest counted, never a failure cut for a done. */
void yv_bulk_summary(const yv_bulk *b, char *line, size_t ln, char *text, size_t tn)
{
    int count[4] = {0}, left = 0;
    size_t k = 0;
    char one[224];
    text[0] = '\0';
    for (int i = 0; i < b->n; i++) count[b->items[i].state]++;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && count[YV_BULK_DONE]) {
            snprintf(one, sizeof one, "%d done:", count[YV_BULK_DONE]);
            if (!append(text, tn, &k, one)) left += count[YV_BULK_DONE];
            if (left) break;
        }
        for (int i = 0; i < b->n; i++) {
            if ((b->items[i].state == YV_BULK_DONE) != (pass == 1)) continue;
            if (left || (item_line(&b->items[i], one, sizeof one), !append(text, tn, &k, one)))
                left++;
        }
    }
    if (left && k + 4 < tn)
        snprintf(text + k, tn - k, "%s… and %d more (the status line said each)", k ? "\n" : "",
                 left);
    snprintf(line, ln, "%s: %d VM%s: %d done, %d failed, %d skipped", b->title, b->n,
             b->n == 1 ? "" : "s", count[YV_BULK_DONE], count[YV_BULK_FAILED],
             count[YV_BULK_SKIPPED]);
}
