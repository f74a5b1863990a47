#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --refresh SECONDS: 0.1 to 3600, decimals allowed. */
static int check_refresh(const char *s, char *why, size_t n)
{
    char *end;
    double v = strtod(s, &end);
    if (end != s && !*end && isfinite(v) && v >= 0.1 && v <= 3600) return 0;
    snprintf(why, n, "--refresh '%s': give seconds from 0.1 to 3600", s);
    return -1;
}

const yv_opt yv_cli_opts[] = {
    {.lng = "root",
     .shrt = 'C',
     .arg = "DIR",
     .kind = YV_ARG_DIR,
     .flags = YV_CLI_TUI | YV_CLI_BATCH,
     .dflt = "$YAVE_ROOT, ./debug when it has a config.yaml, else ~/.local/share/yave, or "
             "/var/lib/yave for root",
     .help = "the folder holding the VMs"},
    {.lng = "batch", .help = "run one command headless, for scripts (see COMMANDS)"},
    {.lng = "json",
     .flags = YV_CLI_BATCH,
     .help = "print one JSON document per command on standard output"},
    {.lng = "file",
     .arg = "FILE",
     .kind = YV_ARG_FILE,
     .help = "run the commands of FILE, one a line ('-' = standard input); '#' starts a comment; "
             "stops at the first failure"},
    {.lng = "theme",
     .arg = "NAME",
     .kind = YV_ARG_THEME,
     .flags = YV_CLI_TUI,
     .help = "colour theme of the full-screen manager (default, mono, high-contrast, or a path)"},
    {.lng = "refresh",
     .arg = "SECONDS",
     .kind = YV_ARG_NUMBER,
     .check = check_refresh,
     .flags = YV_CLI_TUI,
     .dflt = "1",
     .help = "how often the full-screen manager updates CPU% and uptime, and asks a running VM "
             "whose event socket it cannot hold for its state (events such as a pause show at "
             "once)"},
    {.lng = "host",
     .arg = "NAME=SSH[:ROOT]",
     .kind = YV_ARG_TEXT,
     .flags = YV_CLI_TUI | YV_CLI_BATCH | YV_OPT_MANY,
     .help = "show the VMs of another machine too, reached with ssh SSH ([user@]host, or "
             "ssh://[user@]host:port) where yave-tui runs them in ROOT (default: its default "
             "root); repeatable; adds to (and by NAME overrides) the hosts of "
             "$XDG_CONFIG_HOME/yave/hosts.yaml (batch: for status --host)"},
    {.lng = "no-mouse",
     .flags = YV_CLI_TUI,
     .help = "leave the mouse to the terminal: no clicks or wheel in the full-screen manager"},
    {.lng = "paths", .help = "print the root, scripts and themes this binary uses"},
    {.lng = "help", .shrt = 'h', .flags = YV_OPT_NOW, .help = "show the help"},
    {.lng = "version", .flags = YV_OPT_NOW, .help = "print the version"},
    /* for packagers (make builds them) and the completion script */
    {.lng = "man", .flags = YV_OPT_NOW | YV_OPT_HIDDEN, .help = "print the man page"},
    {.lng = "bash-completion",
     .flags = YV_OPT_NOW | YV_OPT_HIDDEN,
     .help = "print the bash completion script"},
    {.lng = "complete",
     .arg = "KIND",
     .flags = YV_OPT_HIDDEN,
     .help = "print, one a line, the names the completion offers for an argument of KIND (an "
             "unknown KIND is told the kinds), reading nothing but folder listings"},
    {0},
};

void yv_cli_synopsis(unsigned mode, char *buf, size_t n)
{
    size_t l = 0;
    buf[0] = '\0';
    for (const yv_opt *o = yv_cli_opts; o->lng && l < n; o++)
        if (o->flags & mode)
            l += (size_t)snprintf(buf + l, n - l, "%s[--%s%s%s]", l ? " " : "", o->lng,
                                  o->arg ? " " : "", o->arg ? o->arg : "");
}
