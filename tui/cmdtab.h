/* cmdtab: batch commands and their options declared as data; the same tables drive getopt parsing,
 * `--help` of every command and (later) the man page. */
#ifndef YV_CMDTAB_H
#define YV_CMDTAB_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    const char *lng; /* long name without "--" */
    char shrt;       /* 0 = none */
    const char *arg; /* metavariable, NULL for a flag */
    const char *help;
} yv_opt;

#define YV_MAX_OPTS 24

typedef struct yv_cmd yv_cmd;
typedef struct yv_batch yv_batch;

/* Parsed options of one invocation: value per option index (flags get "1"), positionals after. */
typedef struct {
    const char *val[YV_MAX_OPTS];
    char **pos;
    int npos;
} yv_args;

struct yv_cmd {
    const char *name;
    const char *synopsis; /* after the command name */
    const char *summary;
    const yv_opt *opts;   /* terminated by a NULL lng */
    int min_pos, max_pos; /* positional arguments allowed */
    int (*run)(yv_batch *b, const yv_cmd *c, const yv_args *a);
};

/* Index of option `lng` in c->opts (must exist). */
int yv_cmdtab_index(const yv_cmd *c, const char *lng);
/* Value of option `lng`, or NULL. */
const char *yv_cmdtab_get(const yv_cmd *c, const yv_args *a, const char *lng);

/* Parses argv (argv[0] = command name) into a. Returns 0, 1 when --help was asked (help printed to
 * out), or -1 with a message in msg. */
int yv_cmdtab_parse(const yv_cmd *c, int argc, char **argv, yv_args *a, FILE *out, char *msg,
                    size_t msglen);
void yv_cmdtab_help(const yv_cmd *c, FILE *out);

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
