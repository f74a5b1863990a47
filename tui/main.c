/* yave-tui: the full-screen VM manager, and `--batch` for scripts. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "batch.h"

static void usage(FILE *out)
{
    fputs("usage: yave-tui [--root DIR] [--theme NAME]            full-screen manager\n"
          "       yave-tui --batch [--root DIR] [--json] COMMAND [OPTIONS]\n"
          "       yave-tui --batch [--root DIR] [--json] --file FILE|-\n"
          "\n"
          "options:\n"
          "  -C, --root DIR   the folder holding the VMs (default: $YAVE_ROOT, ./debug when it\n"
          "                   has a config.yaml, else ~/.local/share/yave or /var/lib/yave)\n"
          "  --batch          run one command headless (see below)\n"
          "  --json           print one JSON document per command on stdout\n"
          "  --file FILE      run the commands of FILE, one a line ('-' = standard input);\n"
          "                   stops at the first failure\n"
          "  -h, --help       this help\n"
          "  --version        print the version\n\n",
          out);
    yv_batch_usage(out);
    fputs("\nexit status: 0 ok, 1 failure, 2 usage or invalid value, 3 not found, 4 state "
          "conflict,\n5 an external program failed, 6 timed out, 77 permission\n",
          out);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"batch", no_argument, NULL, 'b'},     {"root", required_argument, NULL, 'C'},
        {"json", no_argument, NULL, 'j'},      {"file", required_argument, NULL, 'f'},
        {"theme", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},   {0},
    };
    yv_batch_opts bo = {0};
    const char *theme = NULL;
    int batch = 0, ch;
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is an error return, not a death */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:C:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'b': batch = 1; break;
        case 'C': bo.root = optarg; break;
        case 'j': bo.json = 1; break;
        case 'f': bo.file = optarg; break;
        case 't': theme = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("yave-tui %s\n", YV_VERSION); return 0;
        case ':':
            fprintf(stderr, "yave-tui: option %s needs a value (try --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "yave-tui: unknown option '%s' (try --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (!batch) {
        if (optind < argc) {
            fprintf(stderr, "yave-tui: '%s': commands need --batch (try --help)\n", argv[optind]);
            return 2;
        }
        return yv_app_main(bo.root, theme);
    }
    return yv_batch_main(&bo, argc - optind, argv + optind);
}
