/* form: labelled fields (text, password, number, choice, checkbox) edited in place, with a message
 * next to each field for what is wrong. It knows nothing of what the values mean: the owner
 * validates and sets the messages. A password field never shows a character. */
#ifndef YV_FORM_H
#define YV_FORM_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

#include "theme.h"

typedef enum {
    YV_FIELD_TEXT,
    YV_FIELD_PASSWORD,
    YV_FIELD_NUMBER, /* digits only */
    YV_FIELD_CHOICE, /* one of a list (Left/Right/Space) */
    YV_FIELD_CHECK,  /* on/off (Space) */
} yv_field_type;

typedef struct {
    const char *label;
    yv_field_type type;
    const char *hint; /* shown when the field has no message (may be NULL) */
} yv_field_spec;

typedef enum { YV_FORM_NONE, YV_FORM_CHANGED, YV_FORM_SUBMIT, YV_FORM_CANCEL } yv_form_result;

typedef struct yv_form yv_form;

/* The characters a text field holds; yv_form_set cuts a longer value there. */
#define YV_FORM_VALUE_MAX 255

yv_form *yv_form_new(const char *title, const yv_field_spec *specs, size_t n);
/* Wipes password buffers. */
void yv_form_free(yv_form *f);

/* Values are UTF-8. For a choice field the value is the chosen item ("" when there is none); for a
 * checkbox "1" or "". The returned pointer is valid until the next call on the form. */
const char *yv_form_get(yv_form *f, size_t i);
void yv_form_set(yv_form *f, size_t i, const char *value);
/* The items of a choice field (copied). */
void yv_form_set_choices(yv_form *f, size_t i, const char *const *items, size_t n);
void yv_form_set_error(yv_form *f, size_t i, const char *msg); /* NULL clears */
void yv_form_clear_errors(yv_form *f);
size_t yv_form_focus(const yv_form *f);
void yv_form_set_focus(yv_form *f, size_t i);

/* A key: is_key for function keys (get_wch's KEY_CODE_YES), else a character. Tab/Down/Enter move
 * on, Up/Shift-Tab back, Enter on the last field or F10 submits, Esc cancels. */
yv_form_result yv_form_key(yv_form *f, wint_t ch, bool is_key);
/* Draws the form centred in w. */
void yv_form_draw(yv_form *f, WINDOW *w, const yv_theme *th);

#endif
