/* yave-tui: the full-screen VM manager, and `--batch` for scripts. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "batch.h"
#include "docs.h"

/* --refresh SECONDS (0.1 to 3600, decimals allowed) → milliseconds, or -1 after saying why. */
static int parse_refresh(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0.1 || v > 3600) {
        fprintf(stderr, "yave-tui: --refresh '%s': give seconds from 0.1 to 3600\n", s);
        return -1;
    }
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
        case ':':
            fprintf(stderr, "yave-tui: option %s needs a value (try --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "yave-tui: unknown option '%s' (try --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (paths) return yv_docs_paths(stdout, bo.root);
    if (!batch) {
        if (optind < argc) {
            fprintf(stderr, "yave-tui: '%s': commands need --batch (try --help)\n", argv[optind]);
            return 2;
        }
        return yv_app_main(bo.root, theme, refresh_ms);
    }
    return yv_batch_main(&bo, argc - optind, argv + optind);
}
