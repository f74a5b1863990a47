/* yave-tui: the full-screen VM manager, and `--batch` for scripts. The options before the command
 * are the rows of yv_cli_opts (cli.c), which also make --help, the man page and the
 * completion. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "batch.h"
#include "cli.h"
#include "cmdtab.h"
#include "core/err.h"
#include "core/proc.h"
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

/* The value of the global option lng, or NULL. */
static const char *opt(const char **val, const char *lng)
{
    return val[yv_cmdtab_find(yv_cli_opts, lng)];
}

/* The option that stopped the scan (a YV_OPT_NOW row): --help, --version, --man,
 * --bash-completion. */
static int act_now(const char **val)
{
    bool ok;
    if (opt(val, "help") || opt(val, "man") || opt(val, "bash-completion")) {
        if (opt(val, "help")) yv_docs_usage(stdout);
        else if (opt(val, "man")) yv_docs_man(stdout);
        else yv_docs_bash_completion(stdout);
        ok = fflush(stdout) == 0 && !ferror(stdout);
    } else { /* one write, no stdio: --version is how scripts and `make bench` time our start */
        static const char line[] = "yave-tui " YV_VERSION "\n";
        ok = write(STDOUT_FILENO, line, sizeof line - 1) == (ssize_t)(sizeof line - 1);
    }
    if (ok) return 0;
    if (errno != EPIPE) /* a reader that went away (`| head`) needs no message */
        fprintf(stderr, "yave-tui: cannot write the output: %s\n", strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    const char *val[YV_MAX_OPTS];
    yv_args hosts = {0};
    char why[256];
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is an error return, not a death */
    /* in order: the command's own options follow it; the last of a repeated option wins */
    int rc = yv_cmdtab_scan_many(yv_cli_opts, YV_SCAN_IN_ORDER | YV_SCAN_LAST_WINS, argc, argv, val,
                                 &hosts, why, sizeof why);
    /* before anything allocates (the scan does not): a command is over in milliseconds, its heap
     * off brk; the TUI lives on, and glibc gives freed memory back only at the top of a brk heap
     * (measured: 0.1-0.3 MiB more resident with 200 VMs). Not for --version and the other
     * options that only print: their one stdio buffer costs less than the guard's calls
     * (measured: --version 2.18 ms with it, 2.11 without) */
    if (opt(val, "batch") || opt(val, "complete") || opt(val, "paths")) yv_proc_heap_off_brk();
    if (rc == YV_SCAN_VALUE) return usage_error("%s", why);
    if (rc < 0) return usage_error("%s (try --help)", why);
    if (rc == YV_SCAN_NOW) return act_now(val);
    yv_batch_opts bo = {.root = opt(val, "root"),
                        .file = opt(val, "file"),
                        .json = opt(val, "json"),
                        .hosts = hosts.many,
                        .nhosts = hosts.nmany};
    const char *kind = opt(val, "complete"), *refresh = opt(val, "refresh");
    if (kind && yv_docs_complete(stdout, bo.root, kind) < 0) {
        yv_docs_complete_kinds(why, sizeof why);
        return usage_error("--complete '%s': give %s", kind, why);
    }
    if (kind) return 0;
    if (opt(val, "paths")) return yv_docs_paths(stdout, bo.root);
    if (!opt(val, "batch")) {
        if (optind < argc)
            return usage_error("'%s': commands need --batch (try --help)", argv[optind]);
        return yv_app_main(
            &(yv_app_opts){.root = bo.root,
                           .theme = opt(val, "theme"),
                           .refresh_ms = refresh ? (int)(strtod(refresh, NULL) * 1000 + 0.5) : 0,
                           .mouse = !opt(val, "no-mouse"),
                           .hosts = hosts.many,
                           .nhosts = hosts.nmany});
    }
    return yv_batch_main(&bo, argc - optind, argv + optind);
}
