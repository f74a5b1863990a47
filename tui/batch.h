/* batch: `yave-tui --batch` — the verbs of spec §8 for scripts. */
#ifndef YV_BATCH_H
#define YV_BATCH_H

#include <stdbool.h>
#include <stdio.h>

typedef struct yv_batch_opts {
    const char *root; /* --root, or NULL */
    const char *file; /* --file, or NULL */
    bool json;
    const char *const *hosts; /* --host NAME=SSH[:ROOT] values: status --host finds them too */
    int nhosts;
} yv_batch_opts;

/* Runs one command (argv[0] = command) or, with opts->file, every line of the file; returns the
 * exit status of spec §8. */
int yv_batch_main(const yv_batch_opts *opts, int argc, char **argv);
/* The command table (NULL-name terminated), for --help, the man page and shell completion. */
struct yv_cmd;
const struct yv_cmd *yv_batch_commands(void);

#endif
