/* docs: everything that describes the program — --help, the man page, bash completion, --paths — is
 * generated from the same tables (global options, batch commands, keys), so they never disagree. */
#ifndef YV_DOCS_H
#define YV_DOCS_H

#include <stdio.h>

#include "cmdtab.h"

/* The options before the command (the first entries have getopt short letters). */
extern const yv_opt yv_global_opts[];

void yv_docs_usage(FILE *out);
/* Writes text word-wrapped at width, continuation lines indented (the first line is not). */
void yv_docs_wrap(FILE *out, const char *text, int indent, int width);
void yv_docs_man(FILE *out);
void yv_docs_bash_completion(FILE *out);
/* root, scripts and themes as this binary resolves them. */
int yv_docs_paths(FILE *out, const char *root_opt);

#endif
