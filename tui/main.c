/* yave-tui: the full-screen VM manager, and `--batch` for scripts. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "batch.h"
#include "cmdtab.h"
#include "core/err.h"
#include "docs.h"

/* A usage error on stderr, escaped like every message (the words come from the command line);
 * returns the exit status 2. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    char raw[512], safe[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    yv_err_escape(raw, safe, sizeof safe);
    fprintf(stderr, "yave-tui: %s\n", safe);
    return 2;
}

/* --refresh SECONDS (0.1 to 3600, decimals allowed) → milliseconds, or -1 after saying why. */
static int parse_refresh(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0.1 || v > 3600)
        return usage_error("--refresh '%s': give seconds from 0.1 to 3600", s), -1;
    return (int)(v * 1000 + 0.5);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"batch", no_argument, NULL, 'b'},
        {"root", required_argument, NULL, 'C'},
        {"json", no_argument, NULL, 'j'},
        {"file", required_argument, NULL, 'f'},
        {"theme", required_argument, NULL, 't'},
        {"refresh", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"paths", no_argument, NULL, 'P'},
        {"man", no_argument, NULL, 'M'},
        {"bash-completion", no_argument, NULL, 'B'},
        {0},
    };
    yv_batch_opts bo = {0};
    const char *theme = NULL;
    int batch = 0, paths = 0, refresh_ms = 0, ch;
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is an error return, not a death */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:C:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'b': batch = 1; break;
        case 'C': bo.root = optarg; break;
        case 'j': bo.json = 1; break;
        case 'f': bo.file = optarg; break;
        case 't': theme = optarg; break;
        case 'r':
            if ((refresh_ms = parse_refresh(optarg)) < 0) return 2;
            break;
        case 'h': yv_docs_usage(stdout); return 0;
        case 'P': paths = 1; break;
        case 'M': yv_docs_man(stdout); return 0;             /* for packagers: make builds it */
        case 'B': yv_docs_bash_completion(stdout); return 0; /* likewise */
        case 'V': printf("yave-tui %s\n", YV_VERSION); return 0;
        default: {
            char why[128];
            yv_cmdtab_bad_option(ch, argv, lo, why, sizeof why);
            return usage_error("%s (try --help)", why);
        }
        }
    }
    if (paths) return yv_docs_paths(stdout, bo.root);
    if (!batch) {
        if (optind < argc)
            return usage_error("'%s': commands need --batch (try --help)", argv[optind]);
        return yv_app_main(bo.root, theme, refresh_ms);
    }
    return yv_batch_main(&bo, argc - optind, argv + optind);
}
