#include "cmdtab.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int yv_cmdtab_find(const yv_opt *opts, const char *lng)
{
    for (int i = 0; opts[i].lng; i++)
        if (!strcmp(opts[i].lng, lng)) return i;
    return -1;
}

const char *yv_cmdtab_get(const yv_cmd *c, const yv_args *a, const char *lng)
{
    int i = yv_cmdtab_find(c->opts, lng);
    return i < 0 ? NULL : a->val[i];
}

const char *yv_cmdtab_get_or_default(const yv_cmd *c, const yv_args *a, const char *lng)
{
    int i = yv_cmdtab_find(c->opts, lng);
    return i < 0 ? NULL : a->val[i] ? a->val[i] : c->opts[i].dflt;
}

/* ---- help ---- */

void yv_cmdtab_wrap(FILE *out, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (w && p[w - 1] == ':' && p[w] == ' ' && p[w + 1]) /* "default: 1" stays on one line */
            w += 1 + strcspn(p + w + 1, " ");
        if (col > indent && col + 1 + (int)w > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, w, out);
        col += (int)w;
        p += w;
        while (*p == ' ') p++;
    }
    fputc('\n', out);
}

void yv_cmdtab_help_text(const yv_opt *o, char *buf, size_t n)
{
    size_t l = strlen(o->help);
    if (!o->dflt) snprintf(buf, n, "%s", o->help);
    else if (l && o->help[l - 1] == ')') /* "name (presets)": "name (presets; default: x)" */
        snprintf(buf, n, "%.*s; default: %s)", (int)l - 1, o->help, o->dflt);
    else snprintf(buf, n, "%s (default: %s)", o->help, o->dflt);
}

void yv_cmdtab_print_opts(FILE *out, const yv_opt *opts, int left, int width)
{
    for (const yv_opt *o = opts; o->lng; o++) {
        if (o->flags & YV_OPT_HIDDEN) continue;
        char name[64], text[512];
        snprintf(name, sizeof name, "%c%c%s--%s%s%s", o->shrt ? '-' : ' ', o->shrt ? o->shrt : ' ',
                 o->shrt ? ", " : "  ", o->lng, o->arg ? " " : "", o->arg ? o->arg : "");
        yv_cmdtab_help_text(o, text, sizeof text);
        fprintf(out, "  %-*s ", left, name);
        yv_cmdtab_wrap(out, text, left + 3, width);
    }
}

/* Appends to buf (size n) what fmt makes, never past its end. */
static void append(char *buf, size_t n, const char *fmt, const char *a, const char *b)
{
    size_t l = strlen(buf);
    if (l < n) snprintf(buf + l, n - l, fmt, a, b);
}

void yv_cmdtab_synopsis(const yv_cmd *c, char *buf, size_t n)
{
    int optional = 0;
    buf[0] = '\0';
    for (const yv_opt *o = c->opts; o->lng; o++) {
        if (o->flags & YV_OPT_HIDDEN) continue;
        if (o->flags & YV_OPT_REQUIRED)
            append(buf, n, *buf ? " --%s%s" : "--%s%s", o->lng, o->arg ? " " : "");
        if (o->flags & YV_OPT_REQUIRED && o->arg) append(buf, n, "%s%s", o->arg, "");
        optional += !(o->flags & YV_OPT_REQUIRED);
    }
    for (const yv_opt *o = c->opts; o->lng && optional <= 3; o++)
        if (!(o->flags & (YV_OPT_HIDDEN | YV_OPT_REQUIRED))) {
            append(buf, n, *buf ? " [--%s%s" : "[--%s%s", o->lng, o->arg ? " " : "");
            append(buf, n, "%s%s]", o->arg ? o->arg : "", "");
        }
    if (optional > 3) append(buf, n, "%s%s", *buf ? " " : "", "[OPTIONS]");
    if (c->pos) append(buf, n, "%s%s", *buf ? " " : "", c->pos);
}

void yv_cmdtab_help(const yv_cmd *c, const char *prefix, FILE *out)
{
    char syn[256];
    yv_cmdtab_synopsis(c, syn, sizeof syn);
    fprintf(out, "usage: %s %s %s\n\n%s\n", prefix, c->name, syn, c->summary);
    if (c->opts[0].lng) fputs("\noptions:\n", out);
    yv_cmdtab_print_opts(out, c->opts, 30, 99);
    fprintf(out, "  %-30s %s\n", "-h, --help", "show this help");
}

/* ---- parsing ---- */

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

#define HELP_VAL 'h' /* getopt's value of the implicit -h/--help; the rows' values are 1000 + i */

/* getopt's tables for opts: long options lo (with -h/--help unless opts has a "help" row) and
 * the short option string so. */
static void getopt_tables(const yv_opt *opts, unsigned mode, struct option *lo, char *so)
{
    int n = 0;
    size_t sl = 0;
    if (mode & YV_SCAN_IN_ORDER) so[sl++] = '+';
    so[sl++] = ':';
    for (const yv_opt *o = opts; o->lng; o++, n++) {
        lo[n] = (struct option){o->lng, o->arg ? required_argument : no_argument, NULL, 1000 + n};
        if (o->shrt) {
            so[sl++] = o->shrt;
            if (o->arg) so[sl++] = ':';
        }
    }
    if (yv_cmdtab_find(opts, "help") < 0) {
        so[sl++] = 'h';
        lo[n++] = (struct option){"help", no_argument, NULL, HELP_VAL};
    }
    so[sl] = '\0';
    lo[n] = (struct option){0};
}

/* The row getopt's value ch stands for, or -1. */
static int row_of(const yv_opt *opts, int ch)
{
    if (ch >= 1000) return ch - 1000;
    for (int i = 0; opts[i].lng; i++)
        if (opts[i].shrt == ch) return i;
    return -1;
}

/* A YV_OPT_MANY value kept in a (NULL: only the last is kept, in val). */
static int keep_many(const yv_opt *opts, int i, yv_args *a, char *why, size_t whylen)
{
    if (!a) return 0;
    if (a->nmany == YV_MAX_MANY) {
        snprintf(why, whylen, "--%s given more than %d times", opts[i].lng, YV_MAX_MANY);
        return YV_SCAN_TWICE;
    }
    a->many_row[a->nmany] = i;
    a->many[a->nmany++] = optarg;
    return 0;
}

static int scan(const yv_opt *opts, unsigned mode, int argc, char **argv, const char **val,
                yv_args *a, char *why, size_t whylen)
{
    struct option lo[YV_MAX_OPTS + 2];
    char so[YV_MAX_OPTS * 2 + 6];
    int ch, i;
    getopt_tables(opts, mode, lo, so);
    memset(val, 0, YV_MAX_OPTS * sizeof *val);
    optind = 0; /* GNU: full re-initialisation, so --file can parse many lines */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        if (ch == HELP_VAL && yv_cmdtab_find(opts, "help") < 0) return YV_SCAN_HELP;
        if (ch == '?' || ch == ':') return yv_cmdtab_bad_option(ch, argv, lo, why, whylen), -1;
        if ((i = row_of(opts, ch)) < 0) continue;
        bool many = opts[i].arg && (opts[i].flags & YV_OPT_MANY);
        if (val[i] && opts[i].arg && !many && !(mode & YV_SCAN_LAST_WINS)) {
            snprintf(why, whylen, "--%s given twice", opts[i].lng);
            return YV_SCAN_TWICE;
        }
        val[i] = opts[i].arg ? optarg : "1";
        if (opts[i].check && opts[i].check(val[i], why, whylen) < 0) return YV_SCAN_VALUE;
        if (many && keep_many(opts, i, a, why, whylen) < 0) return YV_SCAN_TWICE;
        if (opts[i].flags & YV_OPT_NOW) return YV_SCAN_NOW;
    }
    return YV_SCAN_DONE;
}

int yv_cmdtab_scan(const yv_opt *opts, unsigned mode, int argc, char **argv, const char **val,
                   char *why, size_t whylen)
{
    return scan(opts, mode, argc, argv, val, NULL, why, whylen);
}

int yv_cmdtab_scan_many(const yv_opt *opts, unsigned mode, int argc, char **argv, const char **val,
                        yv_args *many, char *why, size_t whylen)
{
    many->nmany = 0;
    return scan(opts, mode, argc, argv, val, many, why, whylen);
}

int yv_cmdtab_get_all(const yv_cmd *c, const yv_args *a, const char *lng, const char **out, int max)
{
    int i = yv_cmdtab_find(c->opts, lng), n = 0;
    for (int k = 0; i >= 0 && k < a->nmany && n < max; k++)
        if (a->many_row[k] == i) out[n++] = a->many[k];
    return n;
}

/* "--a is required" / "--a and --b are required" (every required option: a command's message
 * names them all, as the synopsis does) when one of them is missing. */
static int check_required(const yv_cmd *c, const yv_args *a, char *why, size_t n)
{
    int req = 0, missing = 0;
    why[0] = '\0';
    for (int i = 0; c->opts[i].lng; i++) {
        if (!(c->opts[i].flags & YV_OPT_REQUIRED)) continue;
        missing += !a->val[i];
        append(why, n, req++ ? " and --%s%s" : "--%s%s", c->opts[i].lng, "");
    }
    if (!missing) return 0;
    append(why, n, " %s required%s", req > 1 ? "are" : "is", "");
    return -1;
}

/* A first positional shown as words ("up|down", "add|remove SPEC": the words before a blank) must
 * be one of them: "…must be up or down, not 'x'". */
static int check_choice(const yv_cmd *c, const yv_args *a, char *why, size_t n)
{
    size_t end = c->pos ? strcspn(c->pos, " ") : 0;
    if (!c->pos || !memchr(c->pos, '|', end) || a->npos < 1) return 0;
    const char *arg = a->pos[0];
    size_t len = strlen(arg);
    for (const char *w = c->pos; w < c->pos + end; w += strcspn(w, "| "), w += *w == '|')
        if (strcspn(w, "| ") == len && !strncmp(w, arg, len)) return 0;
    char words[128] = "";
    for (const char *p = c->pos; p < c->pos + end; p++)
        append(words, sizeof words, *p == '|' ? " or " : "%.1s", p, "");
    snprintf(why, n, "the %s argument must be %s, not '%s'", c->max_pos > 1 ? "first" : "last",
             words, arg);
    return -1;
}

/* The rules of the rows beyond getopt's: required options, the words of a positional, then
 * options that need another, then pairs that exclude each other. */
static int check_rules(const yv_cmd *c, const yv_args *a, char *why, size_t n)
{
    if (check_required(c, a, why, n) < 0 || check_choice(c, a, why, n) < 0) return -1;
    for (int i = 0; c->opts[i].lng; i++)
        if (a->val[i] && c->opts[i].needs && !yv_cmdtab_get(c, a, c->opts[i].needs)) {
            snprintf(why, n, "--%s only applies with --%s", c->opts[i].lng, c->opts[i].needs);
            return -1;
        }
    for (int i = 0; c->opts[i].lng; i++)
        if (a->val[i] && c->opts[i].excl && yv_cmdtab_get(c, a, c->opts[i].excl)) {
            snprintf(why, n, "give --%s or --%s, not both", c->opts[i].lng, c->opts[i].excl);
            return -1;
        }
    return 0;
}

/* Too many or too few positionals: the message. */
static void bad_positionals(const yv_cmd *c, const yv_args *a, char *msg, size_t msglen)
{
    char syn[256];
    if (a->npos > c->max_pos) { /* "vnc-password=x" (dashes forgotten): not its value */
        const char *p = a->pos[c->max_pos];
        snprintf(msg, msglen, "%s: unexpected argument '%.*s%s' (see %s --help)", c->name,
                 (int)strcspn(p, "="), p, strchr(p, '=') ? "=…" : "", c->name);
        return;
    }
    yv_cmdtab_synopsis(c, syn, sizeof syn);
    snprintf(msg, msglen, "%s: missing argument (usage: %s %s)", c->name, c->name, syn);
}

int yv_cmdtab_parse(const yv_cmd *c, int argc, char **argv, yv_args *a, char *msg, size_t msglen)
{
    char why[256];
    memset(a, 0, sizeof *a);
    int rc = scan(c->opts, 0, argc, argv, a->val, a, why, sizeof why);
    if (rc == YV_SCAN_HELP) return 1;
    if (rc == YV_SCAN_TWICE || rc == YV_SCAN_VALUE) {
        snprintf(msg, msglen, "%s: %s", c->name, why);
        return -1;
    }
    if (rc < 0) {
        snprintf(msg, msglen, "%s: %s (see %s --help)", c->name, why, c->name);
        return -1;
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    if (a->npos < c->min_pos || a->npos > c->max_pos) {
        bad_positionals(c, a, msg, msglen);
        return -1;
    }
    if (check_rules(c, a, why, sizeof why) < 0) {
        snprintf(msg, msglen, "%s: %s", c->name, why);
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
