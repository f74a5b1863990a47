/* cli: the options of yave-tui before the command — what main parses, and what --help, the man
 * page and the completion show of them. */
#ifndef YV_CLI_H
#define YV_CLI_H

#include <stddef.h>

#include "cmdtab.h"

/* Row flags beyond YV_OPT_*: the option belongs in the usage line of the full-screen manager, of
 * batch mode. */
#define YV_CLI_TUI   (1u << 8)
#define YV_CLI_BATCH (1u << 9)

extern const yv_opt yv_cli_opts[];

/* "[--root DIR] [--json]": the options of mode (YV_CLI_TUI or YV_CLI_BATCH) for a usage line. */
void yv_cli_synopsis(unsigned mode, char *buf, size_t n);

#endif
