#include "form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "draw.h"

#define VAL_MAX (YV_FORM_VALUE_MAX + 1)

typedef struct {
    yv_field_spec spec;
    wchar_t val[VAL_MAX];
    size_t len, cur;
    char **items;
    size_t nitems, item;
    bool on;
    char error[160];
} field;

struct yv_form {
    char title[64];
    field *f;
    size_t n, focus;
    char out[VAL_MAX * 4 + 1];
};

yv_form *yv_form_new(const char *title, const yv_field_spec *specs, size_t n)
{
    yv_form *f = calloc(1, sizeof *f);
    if (!f || !(f->f = calloc(n ? n : 1, sizeof *f->f))) abort();
    snprintf(f->title, sizeof f->title, "%s", title);
    f->n = n;
    for (size_t i = 0; i < n; i++) f->f[i].spec = specs[i];
    return f;
}

static void free_items(field *fl)
{
    for (size_t i = 0; i < fl->nitems; i++) free(fl->items[i]);
    free(fl->items);
    fl->items = NULL;
    fl->nitems = fl->item = 0;
}

void yv_form_free(yv_form *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free_items(&f->f[i]);
    explicit_bzero(f->f, f->n * sizeof *f->f);
    explicit_bzero(f->out, sizeof f->out);
    free(f->f);
    free(f);
}

const char *yv_form_get(yv_form *f, size_t i)
{
    field *fl = &f->f[i];
    f->out[0] = '\0';
    if (fl->spec.type == YV_FIELD_CHOICE) {
        if (fl->nitems) snprintf(f->out, sizeof f->out, "%s", fl->items[fl->item]);
    } else if (fl->spec.type == YV_FIELD_CHECK) {
        snprintf(f->out, sizeof f->out, "%s", fl->on ? "1" : "");
    } else {
        fl->val[fl->len] = L'\0';
        size_t r = wcstombs(f->out, fl->val, sizeof f->out - 1);
        if (r == (size_t)-1) f->out[0] = '\0';
        else f->out[r] = '\0';
    }
    return f->out;
}

void yv_form_set(yv_form *f, size_t i, const char *value)
{
    field *fl = &f->f[i];
    if (fl->spec.type == YV_FIELD_CHECK) {
        fl->on = value && *value;
        return;
    }
    if (fl->spec.type == YV_FIELD_CHOICE) {
        for (size_t k = 0; k < fl->nitems; k++)
            if (!strcmp(fl->items[k], value)) fl->item = k;
        return;
    }
    size_t r = mbstowcs(fl->val, value, VAL_MAX - 1);
    fl->len = fl->cur = r == (size_t)-1 ? 0 : r;
}

void yv_form_set_choices(yv_form *f, size_t i, const char *const *items, size_t n)
{
    field *fl = &f->f[i];
    free_items(fl);
    fl->items = calloc(n ? n : 1, sizeof *fl->items);
    if (!fl->items) abort();
    for (size_t k = 0; k < n; k++) fl->items[k] = strdup(items[k]);
    fl->nitems = n;
}

void yv_form_set_error(yv_form *f, size_t i, const char *msg)
{
    snprintf(f->f[i].error, sizeof f->f[i].error, "%s", msg ? msg : "");
}

void yv_form_clear_errors(yv_form *f)
{
    for (size_t i = 0; i < f->n; i++) f->f[i].error[0] = '\0';
}

size_t yv_form_focus(const yv_form *f)
{
    return f->focus;
}

void yv_form_set_focus(yv_form *f, size_t i)
{
    if (i < f->n) f->focus = i;
}

static void insert(field *fl, wchar_t c)
{
    if (fl->len + 1 >= VAL_MAX) return;
    if (fl->spec.type == YV_FIELD_NUMBER && !(c >= L'0' && c <= L'9')) return;
    if (!iswprint((wint_t)c)) return;
    wmemmove(fl->val + fl->cur + 1, fl->val + fl->cur, fl->len - fl->cur);
    fl->val[fl->cur++] = c;
    fl->len++;
}

static void delete_char(field *fl, bool before)
{
    if (before && fl->cur == 0) return;
    if (!before && fl->cur >= fl->len) return;
    if (before) fl->cur--;
    wmemmove(fl->val + fl->cur, fl->val + fl->cur + 1, fl->len - fl->cur - 1);
    fl->len--;
}

static bool edit_key(field *fl, wint_t ch, bool is_key)
{
    bool text = fl->spec.type == YV_FIELD_TEXT || fl->spec.type == YV_FIELD_PASSWORD ||
                fl->spec.type == YV_FIELD_NUMBER;
    if (fl->spec.type == YV_FIELD_CHOICE && fl->nitems) {
        if ((is_key && ch == KEY_RIGHT) || (!is_key && ch == L' '))
            fl->item = (fl->item + 1) % fl->nitems;
        else if (is_key && ch == KEY_LEFT) fl->item = (fl->item + fl->nitems - 1) % fl->nitems;
        else return false;
        return true;
    }
    if (fl->spec.type == YV_FIELD_CHECK) {
        if (is_key || ch != L' ') return false;
        fl->on = !fl->on;
        return true;
    }
    if (!text) return false;
    if (is_key) {
        switch (ch) {
        case KEY_LEFT: fl->cur -= fl->cur > 0; return true;
        case KEY_RIGHT: fl->cur += fl->cur < fl->len; return true;
        case KEY_HOME: fl->cur = 0; return true;
        case KEY_END: fl->cur = fl->len; return true;
        case KEY_BACKSPACE: delete_char(fl, true); return true;
        case KEY_DC: delete_char(fl, false); return true;
        default: return false;
        }
    }
    if (ch == 127 || ch == 8) delete_char(fl, true);
    else if (ch == 21) fl->len = fl->cur = 0; /* ^U */
    else if (ch >= 32) insert(fl, (wchar_t)ch);
    else return false;
    return true;
}

yv_form_result yv_form_key(yv_form *f, wint_t ch, bool is_key)
{
    if (!is_key && ch == 27) return YV_FORM_CANCEL;
    if (is_key && ch == KEY_F(10)) return YV_FORM_SUBMIT;
    bool next = (!is_key && (ch == L'\t' || ch == L'\n' || ch == L'\r')) ||
                (is_key && (ch == KEY_DOWN || ch == KEY_ENTER));
    bool prev = is_key && (ch == KEY_UP || ch == KEY_BTAB);
    if (next) {
        if (f->focus + 1 >= f->n && ch != L'\t' && ch != KEY_DOWN) return YV_FORM_SUBMIT;
        f->focus = (f->focus + 1) % f->n;
        return YV_FORM_CHANGED;
    }
    if (prev) {
        f->focus = (f->focus + f->n - 1) % f->n;
        return YV_FORM_CHANGED;
    }
    return edit_key(&f->f[f->focus], ch, is_key) ? YV_FORM_CHANGED : YV_FORM_NONE;
}

static void value_text(yv_form *f, size_t i, char *buf, size_t n)
{
    field *fl = &f->f[i];
    switch (fl->spec.type) {
    case YV_FIELD_PASSWORD: /* never a character of it, not even its length */
        snprintf(buf, n, "%s", fl->len ? "(set)" : "");
        break;
    case YV_FIELD_CHOICE:
        snprintf(buf, n, "< %s >", fl->nitems ? fl->items[fl->item] : "(none)");
        break;
    case YV_FIELD_CHECK: snprintf(buf, n, "[%c]", fl->on ? 'x' : ' '); break;
    default: snprintf(buf, n, "%s", yv_form_get(f, i));
    }
}

void yv_form_draw(yv_form *f, WINDOW *w, const yv_theme *th)
{
    int H, W, lw = 0;
    getmaxyx(w, H, W);
    for (size_t i = 0; i < f->n; i++) {
        int l = yv_draw_width(f->f[i].spec.label);
        if (l > lw) lw = l;
    }
    int bw = W - 2 < 76 ? W - 2 : 76, bh = (int)f->n + 4;
    if (bh > H) bh = H;
    int by = (H - bh) / 2, bx = (W - bw) / 2, vw = bw - lw - 6;
    int fw = vw > 28 ? 28 : vw, mw = vw - fw - 1;
    attr_t dlg = yv_theme_attr(th, YV_C_DIALOG);
    yv_draw_box(w, by, bx, bh, bw, dlg);
    yv_draw_text(w, by, bx + 2, f->title, yv_draw_width(f->title) + 2, dlg | A_BOLD);
    char val[VAL_MAX * 4 + 16];
    int cur_y = -1, cur_x = -1;
    for (size_t i = 0; i < f->n && (int)i + 2 < bh - 1; i++) {
        field *fl = &f->f[i];
        int y = by + 2 + (int)i, x = bx + 2;
        bool focus = i == f->focus;
        yv_draw_text(w, y, x, fl->spec.label, lw, dlg);
        value_text(f, i, val, sizeof val);
        bool text = fl->spec.type == YV_FIELD_TEXT || fl->spec.type == YV_FIELD_NUMBER;
        /* long text scrolls so the cursor stays visible */
        const char *shown = val;
        if (text && (int)fl->cur >= fw) {
            char tmp[VAL_MAX * 4 + 1];
            size_t r = wcstombs(tmp, fl->val + fl->cur - fw + 1, sizeof tmp - 1);
            tmp[r == (size_t)-1 ? 0 : r] = '\0';
            snprintf(val, sizeof val, "%s", tmp);
        }
        yv_draw_text(w, y, x + lw + 2, shown, fw,
                     yv_theme_attr(th, focus ? YV_C_FIELD_ACTIVE : YV_C_FIELD));
        const char *msg = fl->error[0] ? fl->error : (focus && fl->spec.hint ? fl->spec.hint : "");
        if (mw > 0)
            yv_draw_text(w, y, x + lw + 3 + fw, msg, mw,
                         fl->error[0] ? yv_theme_attr(th, YV_C_ERROR) : dlg);
        if (focus && text) {
            cur_y = y;
            cur_x = x + lw + 2 + ((int)fl->cur < fw ? (int)fl->cur : fw - 1);
        }
    }
    yv_draw_text(w, by + bh - 1, bx + 2, " Enter: next/create  Tab/Up/Down: move  Esc: cancel ",
                 bw - 4 > 52 ? 52 : bw - 4, dlg);
    if (cur_y >= 0) {
        wmove(w, cur_y, cur_x);
        curs_set(1);
    } else {
        curs_set(0);
    }
}
