/* Fuzz target: the hosts list (core/hosts.c): the input as hosts.yaml (yv_hosts_parse, its bytes
 * as they are, NUL included), then its first lines as `--host NAME=SSH[:ROOT]` specs added to what
 * loaded (yv_hosts_add_spec). Oracles: no crash or leak; every loaded host passes the checks, once
 * per name; its ssh destination splits into parts that rebuild it, none starting with '-', no
 * space or control byte; root and bin quote for the remote shell into a word a by-hand sh reading
 * gives back; an accepted spec is exactly NAME=SSH[:ROOT] of the host it added or replaced; a
 * refusal says why and changes nothing. */
#include "fuzz.h"

#include "core/hosts.h"
#include "core/util.h"

#define MAX_SPECS 8

/* A by-hand reading of a single-quoted sh word: '...' segments and \' between them. */
static char *sh_unquote(const char *q)
{
    size_t n = strlen(q);
    char *out = malloc(n + 1), *o = out;
    FUZZ_CHECK(out, "malloc");
    for (size_t i = 0; i < n;) {
        if (q[i] == '\\') {
            FUZZ_CHECK(q[i + 1] == '\'', "a backslash outside quotes before '%c'", q[i + 1]);
            *o++ = '\'';
            i += 2;
            continue;
        }
        FUZZ_CHECK(q[i] == '\'', "'%s': an unquoted byte at %zu", q, i);
        const char *end = strchr(q + i + 1, '\'');
        FUZZ_CHECK(end, "'%s': an open quote", q);
        memcpy(o, q + i + 1, (size_t)(end - q - i - 1));
        o += end - q - i - 1;
        i = (size_t)(end - q) + 1;
    }
    *o = '\0';
    return out;
}

static void check_quote(const char *s)
{
    if (!s) return;
    FUZZ_CHECK(!strchr(s, '\\') && !strchr(s, '\n'), "'%s' reached the remote shell", s);
    char *q = yv_hosts_shell_quote(s), *back = sh_unquote(q);
    FUZZ_CHECK(!strcmp(back, s), "quoted '%s' reads back as '%s'", s, back);
    free(back);
    free(q);
}

/* The parts rebuild the destination: [ssh://][user@]host or [v6] [:port (a URI only)]. */
static void check_dest(const char *ssh)
{
    yv_ssh_dest d;
    yv_err err = {0};
    FUZZ_CHECK(yv_hosts_split_ssh(ssh, &d, &err) == 0, "'%s' checked but not split: %s", ssh,
               err.msg);
    for (const unsigned char *p = (const unsigned char *)ssh; *p; p++)
        FUZZ_CHECK(*p > ' ' && *p < 0x7f, "'%s' holds byte 0x%02x", ssh, *p);
    FUZZ_CHECK(ssh[0] != '-' && d.host[0] != '-' && (!d.user || d.user[0] != '-'),
               "'%s': an option", ssh);
    bool uri = !strncmp(ssh, "ssh://", 6), v6 = strchr(d.host, ':') != NULL;
    char *built = yv_asprintf("%s%s%s%s%s%s", uri ? "ssh://" : "", d.user ? d.user : "",
                              d.user ? "@" : "", v6 ? "[" : "", d.host, v6 ? "]" : "");
    size_t n = strlen(built);
    FUZZ_CHECK(!strncmp(ssh, built, n), "'%s' rebuilt as '%s'", ssh, built);
    const char *rest = ssh + n;
    if (d.port) {
        FUZZ_CHECK(uri && rest[0] == ':' && atol(rest + 1) == d.port && d.port <= 65535,
                   "'%s': port %d", ssh, d.port);
    } else {
        FUZZ_CHECK(!*rest, "'%s': '%s' left after '%s'", ssh, rest, built);
    }
    free(built);
    yv_ssh_dest_done(&d);
}

static void check_host(const yv_hosts *h, size_t i)
{
    const yv_host *x = &h->hosts[i];
    char why[320];
    FUZZ_CHECK(x->name && yv_hosts_check_name(x->name, why, sizeof why) == 0, "name '%s'",
               fuzz_show(x->name));
    FUZZ_CHECK(x->ssh && yv_hosts_check_ssh(x->ssh, why, sizeof why) == 0, "ssh '%s'",
               fuzz_show(x->ssh));
    FUZZ_CHECK(!x->root || yv_hosts_check_root(x->root, why, sizeof why) == 0, "root '%s'",
               x->root);
    FUZZ_CHECK(!x->bin || yv_hosts_check_bin(x->bin, why, sizeof why) == 0, "bin '%s'", x->bin);
    FUZZ_CHECK(!x->root || x->root[0] == '/', "root '%s'", x->root);
    FUZZ_CHECK(yv_hosts_find(h, x->name) == x, "'%s' is not found as itself", x->name);
    for (size_t j = 0; j < i; j++)
        FUZZ_CHECK(strcmp(h->hosts[j].name, x->name), "'%s' twice", x->name);
    check_dest(x->ssh);
    check_quote(x->root);
    check_quote(x->bin);
}

static void check_list(const yv_hosts *h)
{
    FUZZ_CHECK(h->n <= YV_HOSTS_MAX, "%zu hosts", h->n);
    FUZZ_CHECK(!h->ssh_config || h->ssh_config[0] == '/', "ssh_config '%s'", h->ssh_config);
    for (size_t i = 0; i < h->n; i++) check_host(h, i);
}

static void add_spec(yv_hosts *h, const char *spec)
{
    size_t n = h->n;
    yv_host *before = h->hosts;
    yv_err err = {0};
    if (yv_hosts_add_spec(h, spec, &err) < 0) {
        FUZZ_CHECK(err.code == YV_E_USAGE && !strncmp(err.msg, "--host '", 8), "refused: %s",
                   err.msg);
        FUZZ_CHECK(h->n == n && h->hosts == before, "a refused spec changed the list");
        return;
    }
    FUZZ_CHECK(h->n == n || h->n == n + 1, "%zu hosts after %zu", h->n, n);
    const char *eq = strchr(spec, '=');
    FUZZ_CHECK(eq, "'%s' accepted without '='", spec);
    char *name = yv_strndup(spec, (size_t)(eq - spec));
    const yv_host *x = yv_hosts_find(h, name);
    FUZZ_CHECK(x && !x->bin, "'%s' not added as a host of its own", spec);
    char *built =
        yv_asprintf("%s=%s%s%s", x->name, x->ssh, x->root ? ":" : "", x->root ? x->root : "");
    FUZZ_CHECK(!strcmp(built, spec), "'%s' added as '%s'", spec, built);
    free(built);
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) { /* ssh_config: ~/… expands with it */
        setenv("HOME", "/home/fuzz", 1);
        init = true;
    }
    yv_hosts h;
    yv_err err = {0};
    if (yv_hosts_parse(&h, "fuzz.yaml", (const char *)data, size, &err) == 0) {
        check_list(&h);
    } else {
        FUZZ_CHECK(err.code == YV_E_CONFIG_INVALID && !strncmp(err.msg, "fuzz.yaml", 9),
                   "refused without the file's name: %s", err.msg);
        FUZZ_CHECK(!h.n && !h.hosts && !h.ssh_config, "a failed load kept values");
    }
    char *text = fuzz_cstr(data, size), *line = text;
    for (int i = 0; i < MAX_SPECS && line; i++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        add_spec(&h, line);
        line = nl ? nl + 1 : NULL;
    }
    check_list(&h);
    yv_hosts_done(&h);
    free(text);
    return 0;
}
