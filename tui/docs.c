#include "docs.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "batch.h"
#include "core/lifecycle.h"
#include "core/root.h"

const yv_opt yv_global_opts[] = {
    {"root", 'C', "DIR",
     "the folder holding the VMs (default: $YAVE_ROOT, ./debug when it has a "
     "config.yaml, else ~/.local/share/yave, or /var/lib/yave for root)"},
    {"batch", 0, NULL, "run one command headless, for scripts (see COMMANDS)"},
    {"json", 0, NULL, "print one JSON document per command on standard output"},
    {"file", 0, "FILE",
     "run the commands of FILE, one a line ('-' = standard input); '#' starts "
     "a comment; stops at the first failure"},
    {"theme", 0, "NAME",
     "colour theme of the full-screen manager (default, mono, high-contrast, "
     "or a path)"},
    {"refresh", 0, "SECONDS",
     "how often the full-screen manager asks each running VM for its state (default 1; "
     "events such as a pause show at once)"},
    {"paths", 0, NULL, "print the root, scripts and themes this binary uses"},
    {"help", 'h', NULL, "show the help"},
    {"version", 0, NULL, "print the version"},
    {0},
};

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

void yv_docs_wrap(FILE *out, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (col > indent && col + 1 + (int)w > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, w, out);
        col += (int)w;
        p += w;
        while (*p == ' ') p++;
    }
    fputc('\n', out);
}

void yv_docs_usage(FILE *out)
{
    fputs("usage: yave-tui [--root DIR] [--theme NAME] [--refresh SECONDS]   full-screen manager\n"
          "       yave-tui --batch [--root DIR] [--json] COMMAND [OPTIONS]\n"
          "       yave-tui --batch [--root DIR] [--json] --file FILE|-\n\noptions:\n",
          out);
    for (const yv_opt *o = yv_global_opts; o->lng; o++) {
        char left[48];
        if (o->shrt)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->shrt, o->lng, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->lng, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        fprintf(out, "  %-18s ", left);
        yv_docs_wrap(out, o->help, 21, 79);
    }
    fputc('\n', out);
    yv_batch_usage(out);
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

static void man_opt(FILE *out, const yv_opt *o)
{
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
    roff(out, o->help);
    fputc('\n', out);
}

static void man_commands(FILE *out)
{
    fputs(".SH COMMANDS\nWith \\fB\\-\\-batch\\fR, one of:\n", out);
    for (const yv_cmd *c = yv_batch_commands(); c->name; c++) {
        fputs(".SS ", out);
        roff(out, c->name);
        fputs("\n.B yave\\-tui \\-\\-batch ", out);
        roff(out, c->name);
        fputc(' ', out);
        roff(out, c->synopsis);
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
    ".TH YAVE\\-TUI 1 \"\" \"yave\\-tui %s\" \"User Commands\"\n"
    ".SH NAME\nyave\\-tui \\- manage local KVM/QEMU virtual machines\n"
    ".SH SYNOPSIS\n.B yave\\-tui\n[\\fB\\-\\-root\\fR \\fIDIR\\fR] [\\fB\\-\\-theme\\fR "
    "\\fINAME\\fR] [\\fB\\-\\-refresh\\fR \\fISECONDS\\fR]\n"
    ".br\n.B yave\\-tui \\-\\-batch\n[\\fB\\-\\-root\\fR \\fIDIR\\fR] [\\fB\\-\\-json\\fR] "
    "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n.B yave\\-tui \\-\\-batch\n[\\fB\\-\\-root\\fR "
    "\\fIDIR\\fR] [\\fB\\-\\-json\\fR] \\fB\\-\\-file\\fR \\fIFILE\\fR|\\fB\\-\\fR\n"
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
    ".TP\n\\fI<vm>.vm/hd0.qcow2\\fR\nits disk; \\fIOVMF_VARS.fd\\fR its UEFI variables; "
    "\\fIqemu.log\\fR and \\fIserial.log\\fR QEMU's messages and the guest's console\n"
    ".TP\n\\fI<image>.qcow2\\fR\nbase images for \\fBcreate \\-\\-image\\fR\n"
    ".TP\n\\fI<preset>.preset/config.yaml\\fR\npresets: \\fBcloudimg:\\fR a cloud image\n"
    ".TP\n\\fIvnc_table.yaml\\fR\nVNC displays in use\n"
    ".TP\n\\fIrun/\\fR\nQMP sockets, pidfiles, the lock \\fIrun/lock\\fR, \\fIrun/tui.log\\fR\n"
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

void yv_docs_man(FILE *out)
{
    fprintf(out, man_head, YV_VERSION);
    for (const yv_opt *o = yv_global_opts; o->lng; o++) man_opt(out, o);
    man_commands(out);
    man_keys(out);
    fputs(man_tail, out);
    fputs(".SH EXIT STATUS\n", out);
    for (size_t i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++)
        fprintf(out, ".TP\n\\fB%s\\fR\n%s\n", exit_codes[i][0], exit_codes[i][1]);
    fputs(man_examples, out);
}

/* ---- bash completion ---- */

void yv_docs_bash_completion(FILE *out)
{
    fputs(
        "# bash completion for yave-tui (generated by yave-tui --bash-completion)\n"
        "_yave_tui_root() {\n"
        "  local i root=\n"
        "  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do\n"
        "    case ${COMP_WORDS[i]} in -C|--root) root=${COMP_WORDS[i+1]} ;; esac\n"
        "  done\n"
        "  if [[ -n $root ]]; then printf '%s' \"$root\"; else\n"
        "    \"${COMP_WORDS[0]}\" --paths 2>/dev/null | sed -n 's/^root: //p'; fi\n"
        "}\n"
        "_yave_tui_in_root() { # suffix: names of <name><suffix> in the root\n"
        "  local r f; r=$(_yave_tui_root); [[ -d $r ]] || return\n"
        "  for f in \"$r\"/*\"$1\"; do [[ -e $f ]] && f=${f##*/} && printf '%s\\n' \"${f%$1}\"; "
        "done\n"
        "}\n"
        "_yave_tui() {\n"
        "  local cur prev cmd i\n"
        "  cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}\n"
        "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "    case ${COMP_WORDS[i]} in\n"
        "      -C|--root|--file|--theme|--refresh) ((i++)) ;;\n"
        "      -*) ;;\n"
        "      *) cmd=${COMP_WORDS[i]}; break ;;\n"
        "    esac\n"
        "  done\n"
        "  local root; root=$(for ((i = 1; i < COMP_CWORD; i++)); do case ${COMP_WORDS[i]} in "
        "-C|--root) echo \"${COMP_WORDS[i+1]}\" ;; esac; done)\n"
        "  case $prev in\n"
        "    -C|--root) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
        "    --file|--root-password-file|--vnc-password-file) COMPREPLY=($(compgen -f -- "
        "\"$cur\")); "
        "return ;;\n"
        "    --theme) COMPREPLY=($(compgen -W 'default mono high-contrast' -- \"$cur\")); return "
        ";;\n"
        "    -n|--name) [[ $cmd != create ]] && COMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" "
        "--batch ${root:+--root \"$root\"} list 2>/dev/null)\" -- \"$cur\")); return ;;\n"
        "    -i|--image) COMPREPLY=($(compgen -W \"$(_yave_tui_in_root .qcow2)\" -- \"$cur\")); "
        "return ;;\n"
        "    -p|--preset) COMPREPLY=($(compgen -W \"$(_yave_tui_in_root .preset)\" -- \"$cur\")); "
        "return ;;\n"
        "  esac\n"
        "  if [[ -z $cmd ]]; then\n"
        "    if [[ $cur == -* ]]; then\n"
        "      COMPREPLY=($(compgen -W '",
        out);
    for (const yv_opt *o = yv_global_opts; o->lng; o++)
        fprintf(out, "%s--%s", o == yv_global_opts ? "" : " ", o->lng);
    fputs("' -- \"$cur\"))\n    else\n      COMPREPLY=($(compgen -W '", out);
    for (const yv_cmd *c = yv_batch_commands(); c->name; c++)
        fprintf(out, "%s%s", c == yv_batch_commands() ? "" : " ", c->name);
    fputs("' -- \"$cur\"))\n    fi\n    return\n  fi\n  case $cmd in\n", out);
    for (const yv_cmd *c = yv_batch_commands(); c->name; c++) {
        fprintf(out, "    %s) COMPREPLY=($(compgen -W '--help", c->name);
        for (const yv_opt *o = c->opts; o->lng; o++) fprintf(out, " --%s", o->lng);
        if (!strcmp(c->name, "netdev")) fputs(" up down", out);
        fputs("' -- \"$cur\")) ;;\n", out);
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
