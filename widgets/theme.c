#include "theme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const role_names[YV_C_COUNT] = {
    "normal", "title",   "header", "selected", "good",   "warn",  "bad",          "dim",
    "key",    "keytext", "status", "error",    "dialog", "field", "field_active",
};

static int parse_color(const char *s, short *out)
{
    static const char *const names[] = {"black", "red",     "green", "yellow",
                                        "blue",  "magenta", "cyan",  "white"};
    if (!strcasecmp(s, "default")) return *out = -1, 0;
    for (short i = 0; i < 8; i++)
        if (!strcasecmp(s, names[i])) return *out = i, 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*s && !*end && v >= 0 && v <= 255) return *out = (short)v, 0;
    return -1;
}

static int parse_attr(const char *s, attr_t *a)
{
    static const struct {
        const char *n;
        attr_t a;
    } t[] = {{"bold", A_BOLD},           {"dim", A_DIM},           {"reverse", A_REVERSE},
             {"underline", A_UNDERLINE}, {"standout", A_STANDOUT}, {"normal", A_NORMAL}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcasecmp(s, t[i].n)) return *a |= t[i].a, 0;
    return -1;
}

void yv_theme_builtin_mono(yv_theme *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < YV_C_COUNT; i++) t->fg[i] = t->bg[i] = -1;
    t->attrs[YV_C_TITLE] = A_REVERSE | A_BOLD;
    t->attrs[YV_C_HEADER] = A_BOLD | A_UNDERLINE;
    t->attrs[YV_C_SELECTED] = A_REVERSE;
    t->attrs[YV_C_GOOD] = A_BOLD;
    t->attrs[YV_C_BAD] = A_BOLD | A_UNDERLINE;
    t->attrs[YV_C_DIM] = A_DIM;
    t->attrs[YV_C_KEY] = A_REVERSE;
    t->attrs[YV_C_ERROR] = A_BOLD;
    t->attrs[YV_C_FIELD] = A_UNDERLINE;
    t->attrs[YV_C_FIELD_ACTIVE] = A_REVERSE;
}

int yv_theme_parse(yv_theme *t, const char *text, const char *name, char *errbuf, size_t n)
{
    yv_theme_builtin_mono(t);
    char *copy = strdup(text), *save = NULL;
    int rc = 0;
    if (!copy) return -1;
    for (char *line = strtok_r(copy, "\n", &save); line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *w[8], *s2 = NULL;
        int nw = 0;
        for (char *tok = strtok_r(line, " \t\r", &s2); tok && nw < 8;
             tok = strtok_r(NULL, " \t\r", &s2))
            w[nw++] = tok;
        if (nw == 0) continue;
        int role = -1;
        for (int i = 0; i < YV_C_COUNT; i++)
            if (!strcmp(w[0], role_names[i])) role = i;
        attr_t a = 0;
        if (role < 0 || nw < 3 || parse_color(w[1], &t->fg[role]) < 0 ||
            parse_color(w[2], &t->bg[role]) < 0) {
            snprintf(errbuf, n, "%s: '%s': expected: role foreground background [attributes]", name,
                     w[0]);
            rc = -1;
            break;
        }
        for (int i = 3; i < nw && rc == 0; i++)
            if (parse_attr(w[i], &a) < 0) {
                snprintf(errbuf, n, "%s: '%s': unknown attribute '%s'", name, w[0], w[i]);
                rc = -1;
            }
        t->attrs[role] = a;
    }
    free(copy);
    return rc;
}

int yv_theme_load(yv_theme *t, const char *path, char *errbuf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(errbuf, n, "cannot read theme %s", path);
        return -1;
    }
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    return yv_theme_parse(t, buf, path, errbuf, n);
}

void yv_theme_apply(yv_theme *t, bool use_color)
{
    for (int i = 0; i < YV_C_COUNT; i++) {
        t->resolved[i] = t->attrs[i];
        if (!use_color || (t->fg[i] < 0 && t->bg[i] < 0)) continue;
        short fg = t->fg[i], bg = t->bg[i];
        if (fg >= COLORS) fg = fg % 8;
        if (bg >= COLORS) bg = bg % 8;
        init_pair((short)(i + 1), fg, bg);
        t->resolved[i] |= COLOR_PAIR(i + 1);
    }
}

attr_t yv_theme_attr(const yv_theme *t, yv_role r)
{
    return t->resolved[r];
}
