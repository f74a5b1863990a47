/* hosts: the remote hosts of the TUI (spec §14) — hosts.yaml and `--host NAME=SSH[:ROOT]`.
 * Every value ends up in an ssh argv or in the remote command line, so each is checked against a
 * narrow grammar here, once, and refused with the value and the rule. */
#ifndef YV_HOSTS_H
#define YV_HOSTS_H

#include <stddef.h>

#include "err.h"

#define YV_HOST_NAME_MAX  32   /* the HOST column */
#define YV_HOSTS_MAX      1024 /* hosts in one list */
#define YV_HOSTS_PATH_MAX 4096 /* root, bin, ssh_config */

typedef struct {
    char *name; /* the HOST column: [A-Za-z0-9][A-Za-z0-9._-]*, at most 32; "local" is reserved */
    char *ssh;  /* the ssh destination: [user@]host or ssh://[user@]host[:port] */
    char *root; /* NULL: the remote default root; else an absolute path */
    char *bin;  /* NULL: "yave-tui" (found by the remote PATH); else an absolute path or a plain
                   command name */
} yv_host;
typedef struct {
    /* NULL or an absolute path (~ and ~/ expanded with $HOME): given to ssh as -F */
    char *ssh_config;
    yv_host *hosts;
    size_t n;
} yv_hosts;

/* The default file: $XDG_CONFIG_HOME/yave/hosts.yaml, else $HOME/.config/yave/hosts.yaml (malloc'd;
 * NULL when neither is set). A relative $XDG_CONFIG_HOME is ignored, as the XDG spec says. */
char *yv_hosts_default_path(void);
/* Loads path (NULL: the default); a missing file is no hosts (0); a broken one is -1 with
 * file:line:col in err (CONFIG_INVALID). The file must be a regular file owned by the user or root
 * and not writable by group or others (spec §16), else -1 (PERMISSION) naming the fix. h need not
 * be initialised; after a failure it is empty. */
int yv_hosts_load(yv_hosts *h, const char *path, yv_err *err);
/* Parses text (len bytes; a NUL inside is refused) named file in messages; as yv_hosts_load. */
int yv_hosts_parse(yv_hosts *h, const char *file, const char *text, size_t len, yv_err *err);
/* Adds one `--host NAME=SSH[:ROOT]` (ROOT starts at the first ':' followed by '/', but not inside
 * an ssh:// prefix's "://"); a name already there is replaced by the option (the command line wins
 * over the file). h must be loaded/parsed or zeroed. A bad spec is -1 (USAGE) and h unchanged. */
int yv_hosts_add_spec(yv_hosts *h, const char *spec, yv_err *err);
const yv_host *yv_hosts_find(const yv_hosts *h, const char *name);
void yv_hosts_done(yv_hosts *h);

/* ---- the checks, also for callers that build a yv_host themselves (-1 with why filled) ---- */
int yv_hosts_check_name(const char *s, char *why, size_t whylen);
int yv_hosts_check_ssh(const char *s, char *why, size_t whylen);
int yv_hosts_check_root(const char *s, char *why, size_t whylen);
int yv_hosts_check_bin(const char *s, char *why, size_t whylen);

/* An ssh destination taken apart the way ssh itself would, for an argv of the form
 * `ssh [-l USER] [-p PORT] -- HOST` that every OpenSSH reads the same (OpenSSH 9.2 refuses
 * "ssh://[v6]" URIs and reads "user@[v6]" as a host name with brackets). */
typedef struct {
    char *user; /* NULL: ssh's default (ssh_config's User, else the local user) */
    char *host; /* a host name or an IPv6 address without its brackets */
    int port;   /* 0: ssh's default */
} yv_ssh_dest;
/* -1 (USAGE) when s is not a valid destination (yv_hosts_check_ssh). */
int yv_hosts_split_ssh(const char *s, yv_ssh_dest *out, yv_err *err);
void yv_ssh_dest_done(yv_ssh_dest *d);

/* s as one word of the remote command line, single-quoted ('it'\''s'): read the same by sh, bash,
 * dash, zsh, csh/tcsh and fish as long as s has no backslash and no newline, which the checks of
 * root and bin guarantee (fish reads \' and \\ inside single quotes). Malloc'd. */
char *yv_hosts_shell_quote(const char *s);

#endif
