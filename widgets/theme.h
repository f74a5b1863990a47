/* theme: colours and attributes by role, loaded from a data file (themes/<name>.theme). Draw code
 * asks for a role, never for a colour. */
#ifndef YV_THEME_H
#define YV_THEME_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    YV_C_NORMAL,
    YV_C_TITLE,
    YV_C_HEADER,
    YV_C_SELECTED,
    YV_C_GOOD,
    YV_C_WARN,
    YV_C_BAD,
    YV_C_DIM,
    YV_C_KEY,
    YV_C_KEYTEXT,
    YV_C_STATUS,
    YV_C_ERROR,
    YV_C_DIALOG,
    YV_C_FIELD,
    YV_C_FIELD_ACTIVE,
    YV_C_COUNT
} yv_role;

typedef struct {
    short fg[YV_C_COUNT], bg[YV_C_COUNT];
    attr_t attrs[YV_C_COUNT];
    attr_t resolved[YV_C_COUNT]; /* after yv_theme_apply */
} yv_theme;

/* Parses a theme file: lines "role fg bg [attr…]" ('#' comments). Colours: default, black, red,
 * green, yellow, blue, magenta, cyan, white or 0-255; attrs: bold, dim, reverse, underline,
 * standout. Unknown roles, colours or attributes are errors with line number (errbuf). */
int yv_theme_load(yv_theme *t, const char *path, char *errbuf, size_t n);
int yv_theme_parse(yv_theme *t, const char *text, const char *name, char *errbuf, size_t n);
/* Built-in fallback when no file can be read: attributes only. */
void yv_theme_builtin_mono(yv_theme *t);
/* Makes colour pairs (when use_color) and the final attributes. Call after initscr/start_color. */
void yv_theme_apply(yv_theme *t, bool use_color);
attr_t yv_theme_attr(const yv_theme *t, yv_role r);

#endif
