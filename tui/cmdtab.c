#include "cmdtab.h"

#include "docs.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int yv_cmdtab_index(const yv_cmd *c, const char *lng)
{
    for (int i = 0; c->opts[i].lng; i++)
        if (!strcmp(c->opts[i].lng, lng)) return i;
    return -1;
}

const char *yv_cmdtab_get(const yv_cmd *c, const yv_args *a, const char *lng)
{
    int i = yv_cmdtab_index(c, lng);
    return i < 0 ? NULL : a->val[i];
}

void yv_cmdtab_help(const yv_cmd *c, FILE *out)
{
    fprintf(out, "usage: yave-tui --batch [--root DIR] [--json] %s %s\n\n%s\n", c->name,
            c->synopsis, c->summary);
    if (c->opts[0].lng) fputs("\noptions:\n", out);
    for (const yv_opt *o = c->opts; o->lng; o++) {
        char left[64];
        if (o->shrt)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->shrt, o->lng, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->lng, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        fprintf(out, "  %-30s ", left);
        yv_docs_wrap(out, o->help, 33, 99);
    }
    fprintf(out, "  %-30s %s\n", "-h, --help", "show this help");
}

/* arg ("--name", "--na=x") names the long option name, abbreviated or not. */
static bool long_names(const char *arg, const char *name)
{
    size_t len = strcspn(arg + 2, "=");
    return !strncmp(arg, "--", 2) && len > 0 && !strncmp(arg + 2, name, len);
}

/* The long option of lo whose val is v and whose name arg spells, or NULL. */
static const struct option *long_of(const struct option *lo, int v, const char *arg)
{
    for (; lo->name; lo++)
        if (lo->val == v && long_names(arg, lo->name)) return lo;
    return NULL;
}

void yv_cmdtab_bad_option(int ch, char **argv, const struct option *lo, char *msg, size_t msglen)
{
    /* getopt moves optind past a long option it refuses, but not past a short one inside a
     * cluster ("-zq"): argv[optind - 1] is then the argument before. Short options are named by
     * optopt alone. */
    const char *arg = argv[optind - 1];
    const struct option *o = optopt ? long_of(lo, optopt, arg) : NULL;
    if (ch == ':' && o) snprintf(msg, msglen, "option --%s needs a value", o->name);
    else if (ch == ':') snprintf(msg, msglen, "option -%c needs a value", optopt);
    else if (o && strchr(arg, '=')) snprintf(msg, msglen, "option --%s takes no value", o->name);
    else if (optopt) snprintf(msg, msglen, "unknown option '-%c'", optopt);
    else snprintf(msg, msglen, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
}

int yv_cmdtab_parse(const yv_cmd *c, int argc, char **argv, yv_args *a, FILE *out, char *msg,
                    size_t msglen)
{
    struct option lo[YV_MAX_OPTS + 2];
    char so[YV_MAX_OPTS * 2 + 4] = ":h";
    int n = 0;
    size_t sl = strlen(so);
    memset(a, 0, sizeof *a);
    for (const yv_opt *o = c->opts; o->lng; o++, n++) {
        lo[n] = (struct option){o->lng, o->arg ? required_argument : no_argument, NULL, 1000 + n};
        if (o->shrt) {
            so[sl++] = o->shrt;
            if (o->arg) so[sl++] = ':';
        }
    }
    so[sl] = '\0';
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n] = (struct option){0};
    optind = 0; /* GNU: full re-initialisation, so --file can parse many lines */
    opterr = 0;
    int ch, li;
    while ((ch = getopt_long(argc, argv, so, lo, &li)) != -1) {
        if (ch == 'h') return yv_cmdtab_help(c, out), 1;
        if (ch == '?' || ch == ':') {
            char why[128];
            yv_cmdtab_bad_option(ch, argv, lo, why, sizeof why);
            snprintf(msg, msglen, "%s: %s (see %s --help)", c->name, why, c->name);
            return -1;
        }
        int idx = ch >= 1000 ? ch - 1000 : -1;
        for (int i = 0; idx < 0 && c->opts[i].lng; i++)
            if (c->opts[i].shrt == ch) idx = i;
        if (idx < 0) continue;
        if (a->val[idx] && c->opts[idx].arg) {
            snprintf(msg, msglen, "%s: --%s given twice", c->name, c->opts[idx].lng);
            return -1;
        }
        a->val[idx] = c->opts[idx].arg ? optarg : "1";
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    if (a->npos < c->min_pos || a->npos > c->max_pos) {
        if (a->npos > c->max_pos) /* "vnc-password=x" (dashes forgotten): not its value */
            snprintf(msg, msglen, "%s: unexpected argument '%.*s%s' (see %s --help)", c->name,
                     (int)strcspn(a->pos[c->max_pos], "="), a->pos[c->max_pos],
                     strchr(a->pos[c->max_pos], '=') ? "=…" : "", c->name);
        else
            snprintf(msg, msglen, "%s: missing argument (usage: %s %s)", c->name, c->name,
                     c->synopsis);
        return -1;
    }
    return 0;
}

int yv_cmdtab_split_line(char *line, char **words, int max)
{
    int n = 0;
    char *r = line, *w = line;
    for (;;) {
        while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n') r++;
        if (!*r || *r == '#') return n;
        if (n == max) return -1;
        words[n++] = w;
        char q = 0;
        while (*r && (q || (*r != ' ' && *r != '\t' && *r != '\r' && *r != '\n'))) {
            if (!q && (*r == '\'' || *r == '"')) q = *r++;
            else if (q && *r == q) q = 0, r++;
            else if (*r == '\\' && q != '\'' && r[1]) r++, *w++ = *r++;
            else *w++ = *r++;
        }
        if (q) return -1;
        if (*r) r++;
        *w++ = '\0';
    }
}
