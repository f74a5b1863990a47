/* cmdtab: batch commands and their options declared as data. The same tables drive getopt parsing,
 * the usage errors (required options, exclusive pairs, options that need another), `--help` of
 * every command, and — through docs — the man page and the bash completion. cmdtab knows no
 * command: it includes nothing of tui/. */
#ifndef YV_CMDTAB_H
#define YV_CMDTAB_H

#include <stdbool.h>
#include <stdio.h>

/* What an option's argument names: the man page says it, the bash completion offers it. */
typedef enum {
    YV_ARG_TEXT,   /* free text (also: the name of a new VM) */
    YV_ARG_NUMBER, /* a number */
    YV_ARG_VM,     /* a VM of the root */
    YV_ARG_IMAGE,  /* a base image of the root (<image>.qcow2), or a path */
    YV_ARG_PRESET, /* a preset of the root (<preset>.preset) */
    YV_ARG_THEME,  /* a theme name, or a path */
    YV_ARG_FILE,   /* a file; '-' = standard input */
    YV_ARG_DIR,    /* a folder */
    YV_ARG_BRIDGE, /* a bridge of the host */
    YV_ARG_IFACE,  /* a network interface of the host */
    YV_ARG_STATE,  /* a VM state as status shows it */
} yv_argkind;

enum {
    YV_OPT_REQUIRED = 1, /* the parser refuses the command without it */
    YV_OPT_HIDDEN = 2,   /* not in --help, the man page nor the completion */
    YV_OPT_NOW = 4,      /* acts at once: parsing stops there (--help, --version) */
    YV_OPT_MANY = 8,     /* may be given again: every value is kept (yv_cmdtab_get_all) */
};

typedef struct {
    const char *lng;   /* long name without "--" */
    char shrt;         /* 0 = none */
    const char *arg;   /* metavariable; NULL for a flag (a flag's kind is ignored) */
    yv_argkind kind;   /* what the argument names */
    unsigned flags;    /* YV_OPT_* */
    const char *excl;  /* long name of an option that may not be given with this one */
    const char *needs; /* long name of an option without which this one is refused */
    const char *dflt;  /* the default, as --help and the man page say it: "(default: …)" */
    const char *help;
    /* Checks a value as soon as it is read (before later options act); -1 with why. */
    int (*check)(const char *val, char *why, size_t whylen);
} yv_opt;

#define YV_MAX_OPTS 24

typedef struct yv_cmd yv_cmd;
typedef struct yv_batch yv_batch;

/* Parsed options of one invocation: value per option index (flags get "1"), positionals after. */
#define YV_MAX_MANY 16
typedef struct {
    const char *val[YV_MAX_OPTS]; /* a YV_OPT_MANY row: its last value */
    char **pos;
    int npos;
    const char *many[YV_MAX_MANY]; /* the values of YV_OPT_MANY rows in order, */
    int many_row[YV_MAX_MANY];     /* and the row of each */
    int nmany;
} yv_args;

struct yv_cmd {
    const char *name;
    const char *summary;
    const yv_opt *opts;   /* terminated by a NULL lng */
    int min_pos, max_pos; /* positional arguments allowed */
    const char *pos; /* how the synopsis shows them ("up|down": the words completed), or NULL */
    int (*run)(yv_batch *b, const yv_cmd *c, const yv_args *a);
};

/* Index of option `lng` in opts, or -1. */
int yv_cmdtab_find(const yv_opt *opts, const char *lng);
/* Value of option `lng` of c, or NULL. */
const char *yv_cmdtab_get(const yv_cmd *c, const yv_args *a, const char *lng);
/* The values of YV_OPT_MANY option `lng` in the order given, at most max; returns their count. */
int yv_cmdtab_get_all(const yv_cmd *c, const yv_args *a, const char *lng, const char **out,
                      int max);
/* Value of option `lng`, or its row's default when not given. */
const char *yv_cmdtab_get_or_default(const yv_cmd *c, const yv_args *a, const char *lng);

/* What yv_cmdtab_scan does besides reading options. */
enum {
    YV_SCAN_IN_ORDER = 1,  /* stop at the first word that is not an option (getopt's '+') */
    YV_SCAN_LAST_WINS = 2, /* an option given twice keeps the last value (else an error) */
};
/* Results of yv_cmdtab_scan. */
enum {
    YV_SCAN_VALUE = -3, /* a row's check refused a value (why is its message) */
    YV_SCAN_TWICE = -2, /* an option given twice (why says which) */
    YV_SCAN_BAD = -1,   /* getopt refused an option (why says which, see yv_cmdtab_bad_option) */
    YV_SCAN_DONE = 0,   /* optind is the first positional */
    YV_SCAN_NOW = 1,    /* stopped at a YV_OPT_NOW option (its value is set) */
    YV_SCAN_HELP = 2,   /* -h/--help, for a table without a "help" row */
};

/* getopt_long over argv (argv[0] = program or command) with the options of opts: val[i] gets the
 * value of opts[i] ("1" for a flag). Returns a YV_SCAN_* (negative: what went wrong is in why). */
int yv_cmdtab_scan(const yv_opt *opts, unsigned mode, int argc, char **argv, const char **val,
                   char *why, size_t whylen);
/* The same, with every value of a YV_OPT_MANY row kept in many (the global --host). */
int yv_cmdtab_scan_many(const yv_opt *opts, unsigned mode, int argc, char **argv, const char **val,
                        yv_args *many, char *why, size_t whylen);

/* Parses argv (argv[0] = command name) into a: options, positionals, then the rules of the rows
 * (required, needs, excl). Returns 0, 1 when --help was asked (before any rule: the caller prints
 * yv_cmdtab_help), or -1 with a message "<command>: …" in msg. */
int yv_cmdtab_parse(const yv_cmd *c, int argc, char **argv, yv_args *a, char *msg, size_t msglen);
/* "usage: <prefix> <command> <synopsis>", the summary, the options. */
void yv_cmdtab_help(const yv_cmd *c, const char *prefix, FILE *out);
/* What follows the command name in its usage line: required options, the others (by name when
 * there are at most three, else [OPTIONS]), the positionals. */
void yv_cmdtab_synopsis(const yv_cmd *c, char *buf, size_t n);

/* Writes text word-wrapped at width, continuation lines indented (the first line is not). */
void yv_cmdtab_wrap(FILE *out, const char *text, int indent, int width);
/* The help of o with its default: "help (default: x)", or "help (…; default: x)". */
void yv_cmdtab_help_text(const yv_opt *o, char *buf, size_t n);
/* The visible options of opts, one a line: "  -x, --long ARG" padded to 2 + left columns, then the
 * help (with its default) wrapped at width. */
void yv_cmdtab_print_opts(FILE *out, const yv_opt *opts, int left, int width);

struct option;
/* After getopt_long returned '?' or ':' (as ch) for argv with options lo: what went wrong, naming
 * the option ("--vnc-pasword", "-z") and never a value given with it, nor a neighbouring argument
 * (the value of the option before may be a password). */
void yv_cmdtab_bad_option(int ch, char **argv, const struct option *lo, char *msg, size_t msglen);

/* Splits a --file line into words in place: blanks separate, '…' and "…" quote, backslash escapes,
 * '#' at the start of a word begins a comment. Returns the word count (at most max), or -1 on an
 * unclosed quote or more than max words. */
int yv_cmdtab_split_line(char *line, char **words, int max);

#endif
