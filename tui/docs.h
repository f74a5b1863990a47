/* docs: everything that describes the program — --help, the man page, bash completion, --paths — is
 * generated from the same tables (global options, batch commands, keys), so they never disagree. */
#ifndef YV_DOCS_H
#define YV_DOCS_H

#include <stdio.h>

#include "cmdtab.h"

void yv_docs_usage(FILE *out);
void yv_docs_man(FILE *out);
void yv_docs_bash_completion(FILE *out);
/* --complete KIND: the names of KIND one a line, sorted, only those safe to offer to a shell;
 * reads folder listings only. -1 for an unknown KIND. The kinds are those of docs.c's table of
 * argument kinds that list names; yv_docs_complete_kinds says them ("vm, image, … or state"). */
int yv_docs_complete(FILE *out, const char *root_opt, const char *kind);
void yv_docs_complete_kinds(char *buf, size_t n);
/* root, scripts and themes as this binary resolves them. */
int yv_docs_paths(FILE *out, const char *root_opt);

#endif
