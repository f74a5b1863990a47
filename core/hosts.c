#include "hosts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "yamlio.h"

#define SSH_MAX        512 /* a whole destination */
#define SSH_USER_MAX   128 /* "user@domain" logins are longer than Linux's 32 */
#define SSH_HOST_MAX   253 /* a DNS name */
#define BIN_NAME_MAX   255
#define HOSTS_FILE_MAX (1 << 20) /* a list of hosts, not a data file */

static int why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why_set(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Whether s[0..n) is made only of letters, digits and the characters of extra. */
static bool span_in(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && !strchr(extra, s[i])) return false;
    return true;
}

/* Strict UTF-8 without control characters (C0, DEL, C1): the bytes of a value a user sees in
 * messages and the remote shell reads. NULL when fine, else what is wrong. */
static const char *text_problem(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s, n, v;
        if (c < 0x20 || c == 0x7f) return "a control character";
        if (c < 0x80) n = 0, v = c;
        else if (c >= 0xc2 && c <= 0xdf) n = 1, v = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef) n = 2, v = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4) n = 3, v = c & 0x07;
        else return "a byte that is not UTF-8";
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80) return "a byte that is not UTF-8";
            v = v << 6 | (s[i] & 0x3f);
        }
        if ((n == 2 && v < 0x800) || (n == 3 && v < 0x10000) || v > 0x10ffff ||
            (v >= 0xd800 && v <= 0xdfff))
            return "a byte that is not UTF-8";
        if (v >= 0x80 && v <= 0x9f) return "a control character";
        s += n + 1;
    }
    return NULL;
}

/* ---- the checks ---- */

int yv_hosts_check_name(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    if (!n) return why_set(why, whylen, "must not be empty");
    if (n > YV_HOST_NAME_MAX)
        return why_set(why, whylen, "must be at most %d characters", YV_HOST_NAME_MAX);
    if (!is_alnum(s[0]) || !span_in(s, n, "._-"))
        return why_set(why, whylen,
                       "must start with a letter or digit and hold only letters, digits, '.', "
                       "'_' and '-'");
    /* the HOST column says "local" for this machine's VMs; "LOCAL" would read the same */
    if (!strcasecmp(s, "local"))
        return why_set(why, whylen, "must not be 'local' (the name of this machine's VMs)");
    return 0;
}

/* A path for the remote command line: absolute, at most YV_HOSTS_PATH_MAX, strict UTF-8 without
 * control characters, and no backslash (yv_hosts_shell_quote's quoting is portable without it). */
static int check_abs_path(const char *s, char *why, size_t whylen)
{
    if (s[0] != '/') return why_set(why, whylen, "must be an absolute path (start with '/')");
    if (strlen(s) > YV_HOSTS_PATH_MAX)
        return why_set(why, whylen, "must be at most %d bytes", YV_HOSTS_PATH_MAX);
    const char *bad = text_problem((const unsigned char *)s);
    if (bad) return why_set(why, whylen, "must not hold %s", bad);
    if (strchr(s, '\\'))
        return why_set(why, whylen, "must not hold a backslash (the remote shell reads it)");
    return 0;
}

int yv_hosts_check_root(const char *s, char *why, size_t whylen)
{
    return check_abs_path(s, why, whylen);
}

int yv_hosts_check_bin(const char *s, char *why, size_t whylen)
{
    if (s[0] == '/') return check_abs_path(s, why, whylen);
    size_t n = strlen(s);
    /* a command name the remote PATH finds; "." and ".." are the shell's, '-' an option */
    if (!n || n > BIN_NAME_MAX || !span_in(s, n, "._+-") || s[0] == '-' || !strcmp(s, ".") ||
        !strcmp(s, ".."))
        return why_set(why, whylen,
                       "must be an absolute path or a command name of letters, digits, '.', '_', "
                       "'+' and '-' (not starting with '-')");
    return 0;
}

/* ---- ssh destinations ---- */

/* The user part of a destination, s[0..n). In an ssh:// URI ssh decodes %XX in the user (so
 * "%2D" would be a '-') and refuses a second '@'. */
static int check_user(const char *s, size_t n, bool uri, char *why, size_t whylen)
{
    if (!n) return why_set(why, whylen, "must have a user before '@'");
    if (n > SSH_USER_MAX)
        return why_set(why, whylen, "must have a user of at most %d characters", SSH_USER_MAX);
    if (s[0] == '-') return why_set(why, whylen, "must not have a user starting with '-'");
    if (uri && !span_in(s, n, "._+-"))
        return why_set(why, whylen,
                       "must have a user of letters, digits, '.', '_', '+' and '-' in an ssh:// "
                       "URI");
    if (!span_in(s, n, "._@%+-"))
        return why_set(why, whylen,
                       "must have a user of letters, digits, '.', '_', '@', '%%', '+' and '-'");
    return 0;
}

/* An IPv6 address in brackets, s[0..n) without them, with an optional %zone (an interface). */
static int check_v6(const char *s, size_t n, char *why, size_t whylen)
{
    const char *pct = memchr(s, '%', n);
    size_t an = pct ? (size_t)(pct - s) : n;
    char addr[INET6_ADDRSTRLEN + 1];
    struct in6_addr a;
    bool ok = an > 0 && an < sizeof addr && span_in(s, an, ":.");
    if (ok) {
        memcpy(addr, s, an);
        addr[an] = '\0';
        ok = inet_pton(AF_INET6, addr, &a) == 1;
    }
    if (ok && pct) ok = n - an - 1 >= 1 && n - an - 1 <= 15 && span_in(pct + 1, n - an - 1, "._-");
    if (!ok)
        return why_set(why, whylen,
                       "must have an IPv6 address in brackets such as [2001:db8::1] or "
                       "[fe80::1%%eth0]");
    return 0;
}

static int check_hostname(const char *s, size_t n, char *why, size_t whylen)
{
    if (!n) return why_set(why, whylen, "must name a host");
    if (n > SSH_HOST_MAX)
        return why_set(why, whylen, "must have a host of at most %d characters", SSH_HOST_MAX);
    if (s[0] == '-') return why_set(why, whylen, "must not have a host starting with '-'");
    if (!span_in(s, n, "._%+-"))
        return why_set(why, whylen,
                       "must have a host of letters, digits, '.', '_', '%%', '+' and '-' (':' "
                       "only in an IPv6 address in brackets or before the port of an ssh:// URI)");
    return 0;
}

static int parse_port(const char *s, int *port, char *why, size_t whylen)
{
    size_t n = strlen(s);
    long v = 0;
    if (n < 1 || n > 5 || strspn(s, "0123456789") != n || (v = strtol(s, NULL, 10)) < 1 ||
        v > 65535)
        return why_set(why, whylen, "must have a port from 1 to 65535 after the host");
    *port = (int)v;
    return 0;
}

/* The host and, in a URI, the port: s is what follows the user. */
static int parse_hostport(const char *s, bool uri, yv_ssh_dest *out, char *why, size_t whylen)
{
    const char *h = s, *rest;
    size_t hn;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) return why_set(why, whylen, "must close the '[' of an IPv6 address with ']'");
        h = s + 1;
        hn = (size_t)(close - h);
        if (check_v6(h, hn, why, whylen) < 0) return -1;
        rest = close + 1;
    } else {
        hn = uri ? strcspn(s, ":") : strlen(s);
        if (check_hostname(h, hn, why, whylen) < 0) return -1;
        rest = s + hn;
    }
    int port = 0;
    if (uri && rest[0] == ':' && parse_port(rest + 1, &port, why, whylen) < 0) return -1;
    if (uri && rest[0] == ':') rest += strlen(rest);
    if (*rest)
        return why_set(why, whylen, "must end after the host%s (it holds \"%.40s\" after it)",
                       uri ? " and port" : "", rest);
    if (out) {
        out->host = yv_strndup(h, hn);
        out->port = port;
    }
    return 0;
}

/* ssh's own reading: a URI's user ends at its first '@' (ssh refuses a second), a plain
 * destination's at its last (ssh splits there: "a@b@h" is user "a@b"). */
static int parse_dest(const char *s, yv_ssh_dest *out, char *why, size_t whylen)
{
    if (!*s) return why_set(why, whylen, "must not be empty");
    if (s[0] == '-')
        return why_set(why, whylen, "must not start with '-' (ssh would read it as an option)");
    if (strlen(s) > SSH_MAX) return why_set(why, whylen, "must be at most %d bytes", SSH_MAX);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return why_set(why, whylen,
                           "must not hold spaces, control characters or non-ASCII characters");
    bool uri = !strncmp(s, "ssh://", 6);
    const char *p = uri ? s + 6 : s;
    const char *at = uri ? strchr(p, '@') : strrchr(p, '@');
    if (at && check_user(p, (size_t)(at - p), uri, why, whylen) < 0) return -1;
    if (out) memset(out, 0, sizeof *out);
    if (parse_hostport(at ? at + 1 : p, uri, out, why, whylen) < 0) return -1;
    if (out && at) out->user = yv_strndup(p, (size_t)(at - p));
    return 0;
}

int yv_hosts_check_ssh(const char *s, char *why, size_t whylen)
{
    return parse_dest(s, NULL, why, whylen);
}

int yv_hosts_split_ssh(const char *s, yv_ssh_dest *out, yv_err *err)
{
    char why[256];
    memset(out, 0, sizeof *out);
    if (parse_dest(s, out, why, sizeof why) < 0) {
        yv_ssh_dest_done(out);
        return yv_err_set(err, YV_E_USAGE, "the ssh destination '%s' %s", s, why);
    }
    return 0;
}

void yv_ssh_dest_done(yv_ssh_dest *d)
{
    free(d->user);
    free(d->host);
    memset(d, 0, sizeof *d);
}

char *yv_hosts_shell_quote(const char *s)
{
    size_t n = 2;
    for (const char *p = s; *p; p++) n += *p == '\'' ? 4 : 1;
    char *out = yv_malloc(n + 1), *o = out;
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* ---- the list ---- */

static void host_free(yv_host *x)
{
    free(x->name);
    free(x->ssh);
    free(x->root);
    free(x->bin);
    memset(x, 0, sizeof *x);
}

void yv_hosts_done(yv_hosts *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) host_free(&h->hosts[i]);
    free(h->hosts);
    free(h->ssh_config);
    memset(h, 0, sizeof *h);
}

const yv_host *yv_hosts_find(const yv_hosts *h, const char *name)
{
    if (!h || !name) return NULL;
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->hosts[i].name, name)) return &h->hosts[i];
    return NULL;
}

/* Takes x over (its strings now belong to h). */
static void append(yv_hosts *h, yv_host *x)
{
    h->hosts = yv_realloc(h->hosts, (h->n + 1) * sizeof *h->hosts);
    h->hosts[h->n++] = *x;
    memset(x, 0, sizeof *x);
}

/* ---- --host NAME=SSH[:ROOT] ---- */

static int spec_fail(yv_err *err, const char *spec, const char *what, const char *val,
                     const char *why)
{
    if (!*val) return yv_err_set(err, YV_E_USAGE, "--host '%s': %s %s", spec, what, why);
    return yv_err_set(err, YV_E_USAGE, "--host '%s': %s %s, not '%s'", spec, what, why, val);
}

static int check_spec(const yv_host *x, const char *spec, yv_err *err)
{
    char why[320];
    if (yv_hosts_check_name(x->name, why, sizeof why) < 0)
        return spec_fail(err, spec, "the name", x->name, why);
    if (yv_hosts_check_ssh(x->ssh, why, sizeof why) < 0)
        return spec_fail(err, spec, "the ssh destination", x->ssh, why);
    if (x->root && yv_hosts_check_root(x->root, why, sizeof why) < 0)
        return spec_fail(err, spec, "the root", x->root, why);
    return 0;
}

int yv_hosts_add_spec(yv_hosts *h, const char *spec, yv_err *err)
{
    const char *eq = strchr(spec, '=');
    if (!eq)
        return yv_err_set(err, YV_E_USAGE,
                          "--host '%s': expected NAME=SSH[:ROOT], such as "
                          "lab=admin@lab.example:/srv/vms",
                          spec);
    const char *dest = eq + 1;
    /* the root starts at the first ":/", which the "://" of an ssh:// URI is not */
    const char *colon = strstr(strncmp(dest, "ssh://", 6) ? dest : dest + 6, ":/");
    yv_host x = {
        .name = yv_strndup(spec, (size_t)(eq - spec)),
        .ssh = colon ? yv_strndup(dest, (size_t)(colon - dest)) : yv_strdup(dest),
        .root = colon ? yv_strdup(colon + 1) : NULL,
    };
    yv_host *old = (yv_host *)yv_hosts_find(h, x.name);
    int rc = check_spec(&x, spec, err);
    if (rc == 0 && !old && h->n >= YV_HOSTS_MAX)
        rc = yv_err_set(err, YV_E_USAGE, "--host '%s': more than %d hosts", spec, YV_HOSTS_MAX);
    if (rc < 0) {
        host_free(&x);
        return -1;
    }
    if (old) { /* the command line wins over the file, the last --host over an earlier one */
        host_free(old);
        *old = x;
    } else {
        append(h, &x);
    }
    return 0;
}

/* ---- hosts.yaml ---- */

char *yv_hosts_default_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/') return yv_asprintf("%s/yave/hosts.yaml", xdg);
    if (home && home[0] == '/') return yv_asprintf("%s/.config/yave/hosts.yaml", home);
    return NULL;
}

static int read_ssh_config(yv_ydoc *d, yaml_node_t *v, void *base, const char *path, yv_err *err)
{
    yv_hosts *h = base;
    const char *s = yv_yamlio_scalar(v), *home = getenv("HOME");
    if (!s) return yv_yamlio_fail(d, v, err, "%s must be a string", path);
    bool tilde = !strcmp(s, "~") || !strncmp(s, "~/", 2);
    if (tilde && (!home || home[0] != '/'))
        return yv_yamlio_fail(d, v, err, "%s '%s' starts with ~ but $HOME is not an absolute path",
                              path, s);
    char *full = tilde ? yv_asprintf("%s%s", home, s + 1) : yv_strdup(s);
    const char *bad = text_problem((const unsigned char *)full);
    int rc = 0;
    if (full[0] != '/')
        rc = yv_yamlio_fail(d, v, err, "%s must be an absolute path (or start with ~/), not '%s'",
                            path, s);
    else if (strlen(full) > YV_HOSTS_PATH_MAX)
        rc = yv_yamlio_fail(d, v, err, "%s must be at most %d bytes", path, YV_HOSTS_PATH_MAX);
    else if (bad) rc = yv_yamlio_fail(d, v, err, "%s must not hold %s, not '%s'", path, bad, s);
    if (rc < 0) {
        free(full);
        return -1;
    }
    free(h->ssh_config);
    h->ssh_config = full;
    return 0;
}

/* clang-format off */
#define HF(k, m, req, chk) {.key = (k), .type = YV_YF_STR, .off = offsetof(yv_host, m), .required = (req), .check = (chk)}
/* clang-format on */
static const yv_yfield host_fields[] = {
    HF("name", name, true, yv_hosts_check_name),
    HF("ssh", ssh, true, yv_hosts_check_ssh),
    HF("root", root, false, yv_hosts_check_root),
    HF("bin", bin, false, yv_hosts_check_bin),
    {0},
};

static yaml_node_t *map_key(yv_ydoc *d, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yv_yamlio_node(d, pr->key);
        const char *ks = yv_yamlio_scalar(k);
        if (ks && !strcmp(ks, key)) return k;
    }
    return map;
}

static int read_host(yv_ydoc *d, yaml_node_t *node, yv_hosts *h, size_t i, yv_err *err)
{
    char path[40];
    snprintf(path, sizeof path, "hosts[%zu]", i);
    yv_host x = {0};
    if (yv_yamlio_read_map(d, node, host_fields, &x, path, err) < 0) {
        host_free(&x);
        return -1;
    }
    const yv_host *dup = yv_hosts_find(h, x.name);
    if (dup) {
        yv_yamlio_fail(d, map_key(d, node, "name"), err,
                       "%s.name '%s' is already the name of hosts[%zu]: names must be unique", path,
                       x.name, (size_t)(dup - h->hosts));
        host_free(&x);
        return -1;
    }
    append(h, &x);
    return 0;
}

static int read_hosts(yv_ydoc *d, yaml_node_t *v, void *base, const char *path, yv_err *err)
{
    yv_hosts *h = base;
    if (v->type != YAML_SEQUENCE_NODE)
        return yv_yamlio_fail(d, v, err,
                              "%s must be a list of hosts such as "
                              "- {name: lab, ssh: admin@lab.example}",
                              path);
    size_t i = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++, i++) {
        yaml_node_t *in = yv_yamlio_node(d, *it);
        if (i >= YV_HOSTS_MAX)
            return yv_yamlio_fail(d, in, err, "%s holds more than %d hosts", path, YV_HOSTS_MAX);
        if (read_host(d, in, h, i, err) < 0) return -1;
    }
    return 0;
}

static const yv_yfield top_fields[] = {
    {.key = "ssh_config", .type = YV_YF_FN, .fn = read_ssh_config},
    {.key = "hosts", .type = YV_YF_FN, .fn = read_hosts},
    {0},
};

int yv_hosts_parse(yv_hosts *h, const char *file, const char *text, size_t len, yv_err *err)
{
    memset(h, 0, sizeof *h);
    if (!text) text = "", len = 0;
    const char *nul = memchr(text, '\0', len);
    if (nul) /* libyaml would stop there; the same words as yv_yamlio_check_text */
        return yv_err_set(err, YV_E_CONFIG_INVALID,
                          "%s: byte %zu: invalid text: control characters are not allowed", file,
                          (size_t)(nul - text) + 1);
    yv_ydoc *d = yv_yamlio_load_string(file, text, len, err);
    if (!d) return -1;
    int rc = yv_yamlio_read_map(d, yv_yamlio_root(d), top_fields, h, "", err);
    yv_yamlio_free(d);
    if (rc < 0) yv_hosts_done(h);
    return rc;
}

/* ---- whose file is it (spec §16) ---- */

static char *user_name(uid_t uid)
{
    struct passwd *pw = getpwuid(uid);
    return pw ? yv_asprintf("uid %d, %s", (int)uid, pw->pw_name) : yv_asprintf("uid %d", (int)uid);
}

/* The file the descriptor holds, as the root's config.yaml: the user's or root's, not writable by
 * group or others. A symlink to it is followed (dotfile managers link ~/.config files); what is
 * checked is the file it reaches, by the descriptor read, so no swap between check and read. */
static int trust_as(const char *what, const char *path, const struct stat *st, yv_err *err)
{
    if (!S_ISREG(st->st_mode))
        return yv_err_set(err, YV_E_PERMISSION,
                          "refusing to use the %s %s: it is not a regular file", what, path);
    uid_t me = geteuid();
    if (st->st_uid != me && st->st_uid != 0) {
        char *owner = user_name(st->st_uid), *self = user_name(me);
        yv_err_set(err, YV_E_PERMISSION,
                   "refusing to use the %s %s: it is owned by %s, not by you (%s) or "
                   "root; if you trust it, make it yours: chown %d %s",
                   what, path, owner, self, (int)me, path);
        free(owner);
        free(self);
        return -1;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return yv_err_set(err, YV_E_PERMISSION,
                          "refusing to use the %s %s: it is writable by group or others "
                          "(mode %04o); fix it with: chmod go-w %s",
                          what, path, (unsigned)(st->st_mode & 07777), path);
    return 0;
}

static int trust(const char *path, const struct stat *st, yv_err *err)
{
    return trust_as("hosts file", path, st, err);
}

/* The ssh_config the hosts file names goes to `ssh -F`, which checks nothing of a file given so
 * (only ~/.ssh/config): a ProxyCommand or Match exec written there by someone else would run as
 * us. The same rule as the hosts file's (spec §16). */
static int trust_ssh_config(const char *path, yv_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return yv_err_sys(err, YV_E_CONFIG_INVALID, errno, "the ssh_config %s of the hosts file",
                          path);
    return trust_as("ssh_config", path, &st, err);
}

static char *read_fd(int fd, const char *path, size_t *len, yv_err *err)
{
    size_t n = 0, cap = 4096;
    char *buf = yv_malloc(cap + 1);
    for (;;) {
        if (n == cap) buf = yv_realloc(buf, (cap *= 2) + 1);
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            yv_err_sys(err, YV_E_IO, errno, "cannot read the hosts file %s", path);
            free(buf);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n > HOSTS_FILE_MAX) { /* read no further than that */
            yv_err_set(err, YV_E_CONFIG_INVALID, "%s: larger than %d bytes: not a hosts file", path,
                       HOSTS_FILE_MAX);
            free(buf);
            return NULL;
        }
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The text of path; NULL with *missing (no error) when there is no such file. */
static char *read_trusted(const char *path, size_t *len, bool *missing, yv_err *err)
{
    *missing = false;
    /* O_NONBLOCK: a FIFO put there must not hang the TUI's start (it is refused below) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT) {
        *missing = true;
        return NULL;
    }
    if (fd < 0) {
        yv_err_sys(err, errno == EACCES ? YV_E_PERMISSION : YV_E_IO, errno,
                   "cannot read the hosts file %s", path);
        return NULL;
    }
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) < 0) yv_err_sys(err, YV_E_IO, errno, "cannot check the hosts file %s", path);
    else if (trust(path, &st, err) == 0) text = read_fd(fd, path, len, err);
    close(fd);
    return text;
}

int yv_hosts_load(yv_hosts *h, const char *path, yv_err *err)
{
    memset(h, 0, sizeof *h);
    char *def = path ? NULL : yv_hosts_default_path();
    if (!path && !def) return 0; /* no $HOME: nowhere to look */
    const char *p = path ? path : def;
    size_t len = 0;
    bool missing;
    char *text = read_trusted(p, &len, &missing, err);
    int rc = text ? yv_hosts_parse(h, p, text, len, err) : missing ? 0 : -1;
    if (rc == 0 && h->ssh_config && trust_ssh_config(h->ssh_config, err) < 0) {
        yv_hosts_done(h);
        rc = -1;
    }
    free(text);
    free(def);
    return rc;
}
