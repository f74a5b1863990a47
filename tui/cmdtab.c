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
            const char *bad = argv[optind - 1];
            if (ch == ':') snprintf(msg, msglen, "%s: option %s needs a value", c->name, bad);
            else
                snprintf(msg, msglen, "%s: unknown option '%s' (see %s --help)", c->name, bad,
                         c->name);
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
        if (a->npos > c->max_pos)
            snprintf(msg, msglen, "%s: unexpected argument '%s' (see %s --help)", c->name,
                     a->pos[c->max_pos], c->name);
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
