#include "docs.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "batch.h"
#include "cli.h"
#include "core/lifecycle.h"
#include "core/root.h"
#include "core/valid.h"
#include "core/vmwait.h"

static const char *const exit_codes[][2] = {
    {"0", "success"},
    {"1", "other failure"},
    {"2", "usage or invalid value"},
    {"3", "not found (VM, image, preset)"},
    {"4", "state conflict (exists, running, not running)"},
    {"5", "an external program failed (its stderr tail is in the message)"},
    {"6", "timed out"},
    {"77", "permission (not root, no CAP_NET_ADMIN, /dev/kvm or /dev/net/tun not usable)"},
};

void yv_docs_usage(FILE *out)
{
    char tui[128], batch[128];
    yv_cli_synopsis(YV_CLI_TUI, tui, sizeof tui);
    yv_cli_synopsis(YV_CLI_BATCH, batch, sizeof batch);
    fprintf(out,
            "usage: yave-tui %s   full-screen manager\n"
            "       yave-tui --batch %s COMMAND [OPTIONS]\n"
            "       yave-tui --batch %s --file FILE|-\n\noptions:\n",
            tui, batch, batch);
    yv_cmdtab_print_opts(out, yv_cli_opts, 18, 79);
    fputs("\ncommands (yave-tui --batch COMMAND --help for the options of each):\n", out);
    for (const yv_cmd *c = yv_batch_commands(); c->name; c++) {
        fprintf(out, "  %-10s ", c->name);
        yv_cmdtab_wrap(out, c->summary, 13, 79);
    }
    fputs("\nexit status:", out);
    for (size_t i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++)
        fprintf(out, "%s %s %s", i ? "," : "", exit_codes[i][0], exit_codes[i][1]);
    fputs("\n", out);
}

/* ---- man page ---- */

/* Text for roff: backslashes and hyphens escaped, no line starting with a control character. */
static void roff(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'') fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\') fputs("\\e", out);
        else if (*s == '-') fputs("\\-", out);
        else fputc(*s, out);
    }
}

/* ---- --complete KIND: names for the completion, read-only ---- */

/* Prints, sorted, the entries of dir named <name><suffix> (name printed) whose name is safe to
 * offer: valid(name) (a shell never sees any other character), and — with sub — that have the
 * entry sub inside (a bridge has bridge/). */
static void print_names(FILE *out, const char *dir, const char *suffix, const char *sub,
                        bool (*valid)(const char *))
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    size_t sl = strlen(suffix);
    for (int i = 0; i < n; i++) {
        char *name = ents[i]->d_name, path[4096];
        size_t l = strlen(name);
        snprintf(path, sizeof path, "%s/%s/%s", dir, name, sub ? sub : "");
        if (l > sl && !strcmp(name + l - sl, suffix) && (!sub || access(path, F_OK) == 0)) {
            name[l - sl] = '\0';
            if (valid(name)) fprintf(out, "%s\n", name);
        }
        free(ents[i]);
    }
    if (n >= 0) free(ents);
}

static bool valid_name(const char *s)
{
    yv_err err;
    return yv_valid_name(s, &err) == 0;
}

static bool valid_ifname(const char *s)
{
    char why[128];
    return yv_valid_ifname_check(s, why, sizeof why) == 0;
}

/* The root as the batch commands would use it, when it may be read; NULL else. */
static char *readable_root(const char *root_opt)
{
    yv_err err;
    char *root = yv_root_resolve(root_opt, &err);
    if (root && yv_root_trust(root, &err) < 0) {
        free(root);
        return NULL;
    }
    return root;
}

/* The names of one kind in the root (entries <name><suffix>); none when it may not be read. */
static void root_names(FILE *out, const char *root_opt, const char *suffix)
{
    char *root = readable_root(root_opt);
    if (root) print_names(out, root, suffix, NULL, valid_name);
    free(root);
}

static void list_vms(FILE *out, const char *root_opt)
{
    root_names(out, root_opt, ".vm");
}

static void list_images(FILE *out, const char *root_opt)
{
    root_names(out, root_opt, ".qcow2");
}

static void list_presets(FILE *out, const char *root_opt)
{
    root_names(out, root_opt, ".preset");
}

static void list_themes(FILE *out, const char *root_opt)
{
    (void)root_opt;
    char *theme = yv_app_theme_path("default"), *slash = theme ? strrchr(theme, '/') : NULL;
    if (slash) *slash = '\0', print_names(out, theme, ".theme", NULL, valid_name);
    free(theme);
}

static void list_states(FILE *out, const char *root_opt)
{
    (void)root_opt;
    yv_vmwait_states(out);
}

static void list_bridges(FILE *out, const char *root_opt)
{
    (void)root_opt;
    print_names(out, "/sys/class/net", "", "bridge", valid_ifname);
}

static void list_ifaces(FILE *out, const char *root_opt)
{
    (void)root_opt;
    print_names(out, "/sys/class/net", "", NULL, valid_ifname);
}

/* What an argument of each kind is: the man page says it, the completion offers files or folders
 * for those two and asks `--complete WORD` for the names of the kinds that list them. The one
 * table of kinds: --complete's words and its usage error come from it too. */
static const struct {
    const char *complete; /* the completion's word: a --complete KIND, "file", "dir"; NULL: none */
    void (*list)(FILE *out, const char *root_opt); /* --complete's names, or NULL (the shell's) */
    const char *man; /* roff text, or NULL: the metavariable says enough */
} kinds[] = {
    [YV_ARG_TEXT] = {NULL, NULL, NULL},
    [YV_ARG_NUMBER] = {NULL, NULL, "a number"},
    [YV_ARG_VM] = {"vm", list_vms, "the name of a VM of the root"},
    [YV_ARG_IMAGE] = {"image", list_images,
                      "a base image of the root (\\fI<image>.qcow2\\fR without .qcow2), or a path"},
    [YV_ARG_PRESET] = {"preset", list_presets,
                       "a preset of the root (\\fI<preset>.preset\\fR without .preset)"},
    [YV_ARG_THEME] = {"theme", list_themes, "a theme name, or the path of a theme file"},
    [YV_ARG_FILE] = {"file", NULL, "a file"},
    [YV_ARG_DIR] = {"dir", NULL, "a folder"},
    [YV_ARG_BRIDGE] = {"bridge", list_bridges, "a bridge of the host"},
    [YV_ARG_IFACE] = {"iface", list_ifaces, "a network interface of the host"},
    [YV_ARG_STATE] = {"state", list_states,
                      "a state as status shows it (stopped, running, paused, crashed, ...)"},
};

#define NKINDS (sizeof kinds / sizeof kinds[0])

int yv_docs_complete(FILE *out, const char *root_opt, const char *kind)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (kinds[i].list && !strcmp(kind, kinds[i].complete)) {
            kinds[i].list(out, root_opt);
            return 0;
        }
    return -1;
}

void yv_docs_complete_kinds(char *buf, size_t n)
{
    size_t l = 0, count = 0, k = 0;
    for (size_t i = 0; i < NKINDS; i++) count += kinds[i].list != NULL;
    buf[0] = '\0';
    for (size_t i = 0; i < NKINDS && l < n; i++)
        if (kinds[i].list) {
            const char *sep = k++ == 0 ? "" : k == count ? " or " : ", ";
            l += (size_t)snprintf(buf + l, n - l, "%s%s", sep, kinds[i].complete);
        }
}

static void man_opt(FILE *out, const yv_opt *o)
{
    if (o->flags & YV_OPT_HIDDEN) return;
    fputs(".TP\n", out);
    if (o->shrt) fprintf(out, "\\fB\\-%c\\fR, ", o->shrt);
    fputs("\\fB\\-\\-", out);
    roff(out, o->lng);
    fputs("\\fR", out);
    if (o->arg) {
        fputs(" \\fI", out);
        roff(out, o->arg);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    char text[512];
    yv_cmdtab_help_text(o, text, sizeof text);
    roff(out, text);
    if (o->flags & YV_OPT_REQUIRED) fputs("; required", out);
    if (o->needs) fprintf(out, "; only with \\fB\\-\\-%s\\fR", o->needs);
    if (o->excl) fprintf(out, "; not with \\fB\\-\\-%s\\fR", o->excl);
    if (o->arg && kinds[o->kind].man) {
        fputs(".\n.br\n\\fI", out);
        roff(out, o->arg);
        fprintf(out, "\\fR: %s", kinds[o->kind].man);
    }
    fputc('\n', out);
}

static void man_commands(FILE *out)
{
    fputs(".SH COMMANDS\nWith \\fB\\-\\-batch\\fR, one of:\n", out);
    for (const yv_cmd *c = yv_batch_commands(); c->name; c++) {
        char syn[256];
        yv_cmdtab_synopsis(c, syn, sizeof syn);
        fputs(".SS ", out);
        roff(out, c->name);
        fputs("\n.B yave\\-tui \\-\\-batch ", out);
        roff(out, c->name);
        fputc(' ', out);
        roff(out, syn);
        fputs("\n.PP\n", out);
        roff(out, c->summary);
        fputc('\n', out);
        for (const yv_opt *o = c->opts; o->lng; o++) man_opt(out, o);
    }
}

static void man_keys(FILE *out)
{
    fputs(".SH KEYS\nIn the full\\-screen manager (also shown by \\fB?\\fR):\n", out);
    for (int i = 0; i < yv_nactions; i++) {
        fputs(".TP\n\\fB", out);
        roff(out, yv_actions[i].shown);
        fputs("\\fR\n", out);
        roff(out, yv_actions[i].help);
        fputc('\n', out);
    }
    fputs(".TP\n\\fBUp\\fR, \\fBDown\\fR, \\fBPgUp\\fR, \\fBPgDn\\fR, \\fBHome\\fR, \\fBEnd\\fR, "
          "\\fBj\\fR, \\fBk\\fR\nmove in the list\n",
          out);
}

static const char man_head[] =
    ".SH DESCRIPTION\n\\fByave\\-tui\\fR manages QEMU virtual machines kept in one folder, the "
    "\\fIroot\\fR. Without \\fB\\-\\-batch\\fR it is a full\\-screen manager that shows every VM "
    "with its live state (from QEMU's QMP socket), its VNC display and whether the VNC server "
    "answers, its network, PID, uptime and CPU use. With \\fB\\-\\-batch\\fR the same verbs run "
    "headless for scripts. QEMU runs daemonized: VMs keep running when the program exits.\n"
    ".SH OPTIONS\n";

static const char man_tail[] =
    ".SH FILES\nUnder the root:\n"
    ".TP\n\\fIconfig.yaml\\fR\nglobal configuration (optional)\n"
    ".TP\n\\fI<vm>.vm/config.yaml\\fR\none VM (mode 0600: it holds the VNC password)\n"
    ".TP\n\\fI<vm>.vm/hd0.qcow2\\fR\nits disk; \\fIOVMF_VARS.qcow2\\fR its UEFI variables; "
    "\\fIqemu.log\\fR and \\fIserial.log\\fR QEMU's messages and the guest's console\n"
    ".TP\n\\fI<image>.qcow2\\fR\nbase images for \\fBcreate \\-\\-image\\fR\n"
    ".TP\n\\fI<preset>.preset/config.yaml\\fR\npresets: \\fBcloudimg:\\fR a cloud image\n"
    ".TP\n\\fIvnc_table.yaml\\fR\nVNC displays in use\n"
    ".TP\n\\fIautostart.yaml\\fR\nthe VMs \\fBautostart run\\fR starts "
    "(\\fIyave\\-autostart.service\\fR at "
    "boot)\n"
    ".TP\n\\fIrun/\\fR\nQMP sockets, pidfiles, the lock \\fIrun/lock\\fR, \\fIrun/tui.log\\fR\n"
    ".TP\n\\fIrun/tui.state\\fR\nthe manager's sort and shown columns (\\fB<\\fR, \\fB>\\fR, "
    "\\fBI\\fR, \\fBF2\\fR), per root; mode 0600\n"
    ".SH ENVIRONMENT\n"
    ".TP\n\\fBYAVE_ROOT\\fR\nthe root when \\fB\\-\\-root\\fR is not given\n"
    ".TP\n\\fBXDG_DATA_HOME\\fR\nthe default root is \\fI$XDG_DATA_HOME/yave\\fR\n"
    ".TP\n\\fBNO_COLOR\\fR\nwhen set, the manager uses no colours (the mono theme)\n"
    ".TP\n\\fBTMPDIR\\fR\nwhere a preset's cloud\\-init seed is built (and removed)\n"
    ".PP\nQEMU, netdevup and netdevdown get \\fBYAVE_VM_NAME\\fR, \\fBYAVE_ROOT\\fR and "
    "\\fBYAVE_BIN\\fR.\n";

static const char man_examples[] =
    ".SH EXAMPLES\n.nf\n"
    "yave\\-tui \\-\\-batch create \\-\\-name web1 \\-\\-capacity 4096 \\-\\-no\\-network\n"
    "yave\\-tui \\-\\-batch create \\-\\-name web2 \\-\\-image debian \\-\\-linked "
    "\\-\\-vnc\\-password\\-file pw.txt\n"
    "yave\\-tui \\-\\-batch create \\-\\-name c1 \\-\\-preset ubuntu \\-\\-root\\-password\\-file "
    "\\- < rootpw\n"
    "yave\\-tui \\-\\-batch run \\-\\-name web1\n"
    "yave\\-tui \\-\\-batch \\-\\-json status \\-\\-name web1\n"
    "yave\\-tui \\-\\-batch shutdown \\-\\-name web1 \\-\\-timeout 30\n"
    "printf 'create \\-n a\\enrun \\-n a\\en' | yave\\-tui \\-\\-batch \\-\\-file \\-\n"
    ".fi\n.SH SEE ALSO\n\\fBqemu\\-system\\-x86_64\\fR(1), \\fBqemu\\-img\\fR(1), "
    "\\fBnft\\fR(8)\n";

/* The options of mode in a synopsis: "[\\fB\\-\\-root\\fR \\fIDIR\\fR] …". */
static void man_synopsis_opts(FILE *out, unsigned mode)
{
    bool first = true;
    for (const yv_opt *o = yv_cli_opts; o->lng; o++) {
        if (!(o->flags & mode)) continue;
        fputs(first ? "[\\fB\\-\\-" : " [\\fB\\-\\-", out); /* no line starts with a blank */
        first = false;
        roff(out, o->lng);
        fputs("\\fR", out);
        if (o->arg) fputs(" \\fI", out), roff(out, o->arg), fputs("\\fR", out);
        fputc(']', out);
    }
}

static void man_synopsis(FILE *out)
{
    fprintf(out,
            ".TH YAVE\\-TUI 1 \"\" \"yave\\-tui %s\" \"User Commands\"\n"
            /* left-adjusted: a long synopsis is not stretched with blanks between its words */
            ".ad l\n"
            ".SH NAME\nyave\\-tui \\- manage local KVM/QEMU virtual machines\n"
            ".SH SYNOPSIS\n.B yave\\-tui\n",
            YV_VERSION);
    man_synopsis_opts(out, YV_CLI_TUI);
    fputs("\n.br\n.B yave\\-tui \\-\\-batch\n", out);
    man_synopsis_opts(out, YV_CLI_BATCH);
    fputs(" \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n.B yave\\-tui \\-\\-batch\n", out);
    man_synopsis_opts(out, YV_CLI_BATCH);
    fputs(" \\fB\\-\\-file\\fR \\fIFILE\\fR|\\fB\\-\\fR\n", out);
}

void yv_docs_man(FILE *out)
{
    man_synopsis(out);
    fputs(man_head, out);
    for (const yv_opt *o = yv_cli_opts; o->lng; o++) man_opt(out, o);
    man_commands(out);
    man_keys(out);
    fputs(man_tail, out);
    fputs(".SH EXIT STATUS\n", out);
    for (size_t i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++)
        fprintf(out, ".TP\n\\fB%s\\fR\n%s\n", exit_codes[i][0], exit_codes[i][1]);
    fputs(man_examples, out);
}

/* ---- bash completion ---- */

/* _yave_tui_arg KIND offers the values of an option argument: files, folders, or the names
 * `yave-tui [--root R] --complete KIND` prints (R as typed on the line: -C/--root, else what the
 * program resolves, $YAVE_ROOT included). Names are compared as strings, never expanded (compgen -W
 * would run a $(…) in a file name). The program asked is the one being typed (a ./yave-tui of a
 * checkout runs on Tab): as with git's completion, a person completes only programs they trust. */
static const char completion_head[] =
    "# bash completion for yave-tui (generated by yave-tui --bash-completion)\n"
    "_yave_tui_arg() {\n"
    "  local i w root=()\n"
    "  case $1 in\n"
    "    file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); "
    "return ;;\n"
    "    dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- \"$cur\"); "
    "return ;;\n"
    "  esac\n"
    "  for ((i = 1; i < COMP_CWORD - 1; i++)); do\n"
    "    case ${COMP_WORDS[i]} in -C|--root) root=(--root \"${COMP_WORDS[i+1]/#\\~/$HOME}\") ;; "
    "esac\n"
    "  done\n"
    "  while IFS= read -r w; do\n"
    "    [[ $w == \"$cur\"* ]] && COMPREPLY+=(\"$w\")\n"
    "  done < <(\"${COMP_WORDS[0]/#\\~/$HOME}\" \"${root[@]}\" --complete \"$1\" 2>/dev/null)\n"
    "}\n"
    "_yave_tui_words() { mapfile -t COMPREPLY < <(compgen -W \"$1\" -- \"$cur\"); }\n";

/* "-x|--long" of o. */
static void option_pattern(FILE *out, const yv_opt *o)
{
    if (o->shrt) fprintf(out, "-%c|", o->shrt);
    fprintf(out, "--%s", o->lng);
}

/* The case over $prev for the options of opts that take a value: offer what its kind names, or
 * nothing (a number, free text). */
static void completion_values(FILE *out, const yv_opt *opts, const char *indent)
{
    fprintf(out, "%scase $prev in\n", indent);
    for (const yv_opt *o = opts; o->lng; o++) {
        if (!o->arg || o->flags & YV_OPT_HIDDEN) continue;
        fprintf(out, "%s  ", indent);
        option_pattern(out, o);
        if (kinds[o->kind].complete)
            fprintf(out, ") _yave_tui_arg %s; return ;;\n", kinds[o->kind].complete);
        else fputs(") return ;;\n", out);
    }
    fprintf(out, "%sesac\n", indent);
}

/* _yave_tui_words over the visible long options of opts, then extra. */
static void completion_words(FILE *out, const yv_opt *opts, const char *extra)
{
    fputs("_yave_tui_words '", out);
    for (const yv_opt *o = opts; o->lng; o++)
        if (!(o->flags & YV_OPT_HIDDEN)) fprintf(out, "--%s ", o->lng);
    fprintf(out, "%s'", extra);
}

/* The words of the command line before the cursor up to the command, skipping global options
 * and their values. */
static void completion_find_command(FILE *out)
{
    fputs("_yave_tui() {\n"
          "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd='' i\n"
          "  COMPREPLY=()\n"
          "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "    case ${COMP_WORDS[i]} in\n      ",
          out);
    const char *sep = "";
    for (const yv_opt *o = yv_cli_opts; o->lng; o++)
        if (o->arg) fputs(sep, out), option_pattern(out, o), sep = "|";
    fputs(") ((i++)) ;;\n      -*) ;;\n      *) cmd=${COMP_WORDS[i]}; break ;;\n    esac\n"
          "  done\n  case $cmd in\n",
          out);
}

void yv_docs_bash_completion(FILE *out)
{
    fputs(completion_head, out);
    completion_find_command(out);
    fputs("    '')\n", out);
    completion_values(out, yv_cli_opts, "      ");
    fputs("      if [[ $cur == -* ]]; then ", out);
    completion_words(out, yv_cli_opts, "");
    fputs("\n      else _yave_tui_words '", out);
    for (const yv_cmd *c = yv_batch_commands(); c->name; c++)
        fprintf(out, "%s%s", c == yv_batch_commands() ? "" : " ", c->name);
    fputs("'; fi ;;\n", out);
    for (const yv_cmd *c = yv_batch_commands(); c->name; c++) {
        char extra[128] = "--help";
        size_t l = strlen(extra);
        /* the words of a positional "up|down" */
        if (c->pos)
            snprintf(extra + l, sizeof extra - l, " %.*s", (int)strcspn(c->pos, " "), c->pos);
        for (char *p = extra; *p; p++)
            if (*p == '|') *p = ' ';
        fprintf(out, "    %s)\n", c->name);
        completion_values(out, c->opts, "      ");
        fputs("      ", out);
        completion_words(out, c->opts, extra);
        fputs(" ;;\n", out);
    }
    fputs("  esac\n}\ncomplete -F _yave_tui yave-tui\n", out);
}

int yv_docs_paths(FILE *out, const char *root_opt)
{
    yv_err err;
    char *root = yv_root_resolve(root_opt, &err), *up = yv_lifecycle_script("netdevup"),
         *down = yv_lifecycle_script("netdevdown"), *theme = yv_app_theme_path("default");
    if (theme && strrchr(theme, '/')) *strrchr(theme, '/') = '\0';
    fprintf(out, "root: %s\nnetdevup: %s\nnetdevdown: %s\nthemes: %s\n", root ? root : err.msg,
            up ? up : "(not found)", down ? down : "(not found)", theme ? theme : "(not found)");
    int rc = root ? 0 : 1;
    free(root);
    free(up);
    free(down);
    free(theme);
    return rc;
}
