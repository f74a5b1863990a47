/* proc: running other programs without a shell (fork + execve, explicit environment, clean signal
 * state), capturing the tail of their stderr for error messages. */
#ifndef YV_PROC_H
#define YV_PROC_H

#include "err.h"

/* Finds `prog` (a path, or a name looked up on $PATH); malloc'd, or NULL when not found. */
char *yv_proc_which(const char *prog);

/* Runs argv[0] (looked up on PATH when it has no slash) with envp (NULL = a minimal environment),
 * stdin and stdout on /dev/null, and waits. Exit 0 → 0. Otherwise TOOL_FAILED with "<tool> failed
 * (exit N): <last stderr line(s)>"; a program that cannot be found or executed is TOOL_FAILED too. */
int yv_proc_run(char *const argv[], char *const envp[], yv_err *err);

/* Same, but also returns stdout (malloc'd, NUL-terminated; at most 1 MiB). */
int yv_proc_run_output(char *const argv[], char *const envp[], char **out, yv_err *err);

#endif
