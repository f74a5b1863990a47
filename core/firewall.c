#include "firewall.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "root.h"
#include "util.h"
#include "valid.h"

#define TABLE        "bridge yave"
#define TABLE_FAMILY NFPROTO_BRIDGE /* the same table, as netlink names it */
#define TABLE_NAME   "yave"

int yv_firewall_lock(const char *root, yv_err *err)
{
    char *path = yv_root_path(root, "run/nft.lock");
    int fd = yv_root_open(path, O_RDWR | O_CREAT, 0600);
    free(path);
    if (fd < 0) return yv_err_sys(err, YV_E_IO, errno, "cannot open run/nft.lock");
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            close(fd);
            return yv_err_sys(err, YV_E_IO, errno, "cannot lock run/nft.lock");
        }
    return fd;
}

void yv_firewall_chain(const char *ifname, char out[40])
{
    size_t n = 0;
    n += (size_t)snprintf(out, 40, "tap_");
    for (const char *p = ifname; *p && n + 3 < 40; p++)
        n += (size_t)snprintf(out + n, 40 - n, "%02x", (unsigned char)*p);
}

/* libnftables is loaded on first use, not linked: it pulls libnftnl, libmnl, libxtables and libgmp,
 * whose mapping and relocation cost every batch command about 1 ms (issue 16), and only the
 * commands that touch a TAP's rules need it. The pointers keep the header's types, so a changed
 * prototype still fails the build. */
#define NFT_FUNCS(X)                                                                               \
    X(nft_ctx_new)                                                                                 \
    X(nft_ctx_free)                                                                                \
    X(nft_ctx_buffer_output)                                                                       \
    X(nft_ctx_buffer_error)                                                                        \
    X(nft_ctx_get_output_buffer)                                                                   \
    X(nft_ctx_get_error_buffer)                                                                    \
    X(nft_ctx_output_set_flags)                                                                    \
    X(nft_run_cmd_from_buffer)

#define NFT_SONAME "libnftables.so.1"
#define NFT_PTR(f) __typeof__(f) *f; /* NOLINT(bugprone-macro-parentheses): f names a member */
static struct {
    NFT_FUNCS(NFT_PTR)
    char error[256]; /* why it could not be loaded; empty when loaded */
} nft_lib;
#undef NFT_PTR

static void nft_load_once(void)
{
    void *h = dlopen(NFT_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
#define NFT_SYM(f)                                                                                 \
    if (h && !missing && !(nft_lib.f = (__typeof__(f) *)dlsym(h, #f))) missing = #f;
    NFT_FUNCS(NFT_SYM)
#undef NFT_SYM
    if (!h)
        snprintf(nft_lib.error, sizeof nft_lib.error, "cannot load %s: %s", NFT_SONAME, dlerror());
    else if (missing)
        snprintf(nft_lib.error, sizeof nft_lib.error, "%s has no %s", NFT_SONAME, missing);
}

/* A context of the loaded library; NULL with err set when it cannot be had. */
static struct nft_ctx *ctx_new(yv_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* yave-web's threads may get here together */
    pthread_once(&once, nft_load_once);
    if (nft_lib.error[0]) {
        yv_err_set(err, YV_E_FAIL, "nftables: %s", nft_lib.error);
        return NULL;
    }
    struct nft_ctx *nft = nft_lib.nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft) {
        yv_err_set(err, YV_E_FAIL, "nftables: cannot create a context");
        return NULL;
    }
    nft_lib.nft_ctx_buffer_output(nft);
    nft_lib.nft_ctx_buffer_error(nft);
    return nft;
}

/* Runs one buffer (one kernel transaction). */
static int run_nft(struct nft_ctx *nft, const char *text, const char *what, yv_err *err)
{
    if (nft_lib.nft_run_cmd_from_buffer(nft, text) == 0) return 0;
    const char *e = nft_lib.nft_ctx_get_error_buffer(nft);
    char first[256] = "";
    if (e) snprintf(first, sizeof first, "%.*s", (int)strcspn(e, "\n"), e);
    bool perm = strstr(e ? e : "", "Operation not permitted") != NULL;
    return yv_err_set(err, perm ? YV_E_PERMISSION : YV_E_FAIL, "nftables: %s: %s", what,
                      *first ? first : "failed");
}

static int check_args(const char *ifname, const char *mac, yv_err *err)
{
    char why[128];
    if (yv_valid_ifname(ifname, "interface name", err) < 0) return -1;
    if (mac && yv_valid_mac_check(mac, why, sizeof why) < 0)
        return yv_err_set(err, YV_E_USAGE, "invalid MAC address: it %s", why);
    return 0;
}

int yv_firewall_up(const char *vm, const char *ifname, const char *mac, yv_err *err)
{
    char chain[40], *text;
    if (check_args(ifname, mac, err) < 0 || yv_valid_name(vm, err) < 0) return -1;
    yv_firewall_chain(ifname, chain);
    struct nft_ctx *nft = ctx_new(err);
    if (!nft) return -1;
    /* The dispatch rule is flushed and re-added in the same transaction, so it exists exactly once
     * however often this runs. */
    text =
        yv_asprintf("add table " TABLE "\n"
                    "add map " TABLE " taps { type ifname : verdict; }\n"
                    "add chain " TABLE " prerouting { type filter hook prerouting priority -200; "
                    "policy accept; }\n"
                    "flush chain " TABLE " prerouting\n"
                    "add rule " TABLE " prerouting iifname vmap @taps\n"
                    "add chain " TABLE " %s\n"
                    "flush chain " TABLE " %s\n"
                    "add rule " TABLE " %s ether saddr != %s counter drop comment \"vm:%s\"\n"
                    "add element " TABLE " taps { \"%s\" : jump %s }\n",
                    chain, chain, chain, mac, vm, ifname, chain);
    int rc = run_nft(nft, text, "installing the rules", err);
    free(text);
    nft_lib.nft_ctx_free(nft);
    return rc;
}

int yv_firewall_down(const char *ifname, yv_err *err)
{
    char chain[40], *text;
    if (check_args(ifname, NULL, err) < 0) return -1;
    yv_firewall_chain(ifname, chain);
    struct nft_ctx *nft = ctx_new(err);
    if (!nft) return -1;
    text = yv_asprintf("list chain " TABLE " %s", chain);
    bool present = nft_lib.nft_run_cmd_from_buffer(nft, text) == 0;
    free(text);
    int rc = 0;
    if (present) {
        /* adding the element first makes the delete valid whether or not it is there */
        text = yv_asprintf("add element " TABLE " taps { \"%s\" : jump %s }\n"
                           "delete element " TABLE " taps { \"%s\" }\n"
                           "flush chain " TABLE " %s\n"
                           "delete chain " TABLE " %s\n",
                           ifname, chain, ifname, chain, chain);
        rc = run_nft(nft, text, "removing the rules", err);
        free(text);
    }
    nft_lib.nft_ctx_free(nft);
    return rc;
}

/* The TAPs found in the table, with the VM each rule names. */
typedef struct {
    char **ifnames, **vms;
    size_t n;
} tap_list;

static size_t tap_index(tap_list *l, const char *ifname)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->ifnames[i], ifname)) return i;
    l->ifnames = yv_realloc(l->ifnames, (l->n + 1) * sizeof *l->ifnames);
    l->vms = yv_realloc(l->vms, (l->n + 1) * sizeof *l->vms);
    l->ifnames[l->n] = yv_strdup(ifname);
    l->vms[l->n] = NULL;
    return l->n++;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1; /* yv_firewall_chain writes lower case only */
}

/* The interface name of a chain tap_<hex of its bytes>; false for any other chain. */
static bool chain_ifname(const char *chain, char out[16])
{
    size_t len = chain ? strlen(chain) : 0;
    yv_err e;
    if (len < 6 || len > 4 + 30 || len % 2 || strncmp(chain, "tap_", 4) != 0) return false;
    for (size_t i = 4, k = 0; i < len; i += 2, k++) {
        int hi = hex_nibble(chain[i]), lo = hex_nibble(chain[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[k] = (char)(hi * 16 + lo);
        out[k + 1] = '\0';
    }
    return yv_valid_ifname(out, "interface name", &e) == 0;
}

static void collect(json_t *obj, tap_list *l)
{
    char ifname[16];
    size_t k;
    json_t *pair, *map = json_object_get(obj, "map"), *rule = json_object_get(obj, "rule");
    json_t *chain = json_object_get(obj, "chain");
    json_array_foreach(json_object_get(map, "elem"), k, pair)
    {
        const char *name = json_string_value(json_array_get(pair, 0));
        if (name && yv_valid_ifname(name, "interface name", &(yv_err){0}) == 0) tap_index(l, name);
    }
    if (chain_ifname(json_string_value(json_object_get(chain, "name")), ifname))
        tap_index(l, ifname);
    const char *comment = json_string_value(json_object_get(rule, "comment"));
    if (chain_ifname(json_string_value(json_object_get(rule, "chain")), ifname) && comment &&
        !strncmp(comment, "vm:", 3)) {
        size_t i = tap_index(l, ifname);
        free(l->vms[i]);
        l->vms[i] = yv_strdup(comment + 3);
    }
}

/* Whether the kernel would show this process nftables rules: CAP_NET_ADMIN in its effective set.
 * Without it every request is refused and libnftables prints "Operation not permitted (you must be
 * root)" on stderr itself (not into the error buffer): under each `list` of a user without root
 * (issue 17: `make run` without root). Unknown: the kernel decides. */
static bool may_see_rules(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &h, d) < 0) return true;
    return d[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

/* Reads the kernel's answer to GETTABLE (table_exists): one datagram, aligned for nlmsghdr. A
 * described table is one; an error message saying ENOENT is none; anything else (another error,
 * another type, a cut message) cannot tell. */
int yv_firewall_table_answer(const void *buf, size_t size)
{
    long len = size > (size_t)LONG_MAX ? 0 : (long)size; /* signed: NLMSG_NEXT subtracts */
    for (const struct nlmsghdr *h = buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) return 1;
        if (h->nlmsg_type != NLMSG_ERROR) continue;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return -1;
        const struct nlmsgerr *e = NLMSG_DATA(h);
        return e->error == -ENOENT ? 0 : -1;
    }
    return -1;
}

/* Whether YAVE's table exists, asked over nfnetlink without libnftables: 1 yes, 0 no, -1 cannot
 * tell. Loading libnftables and the five libraries it pulls costs list and status about 3 ms as
 * root (issue 16), and the table is there only once a TAP VM has run on this host. */
static int table_exists(void)
{
    struct {
        struct nlmsghdr h;
        struct nfgenmsg g;
        struct nlattr a;
        char name[8]; /* TABLE_NAME, NUL-terminated, padded to NLA_ALIGNTO */
    } req;
    _Static_assert(sizeof req == NLMSG_LENGTH(sizeof(struct nfgenmsg)) +
                                     NLA_ALIGN(NLA_HDRLEN + sizeof TABLE_NAME),
                   "the GETTABLE request has no padding of its own");
    memset(&req, 0, sizeof req);
    req.h = (struct nlmsghdr){.nlmsg_len = sizeof req,
                              .nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
                              .nlmsg_flags = NLM_F_REQUEST, /* an error answers too */
                              .nlmsg_seq = 1};
    req.g = (struct nfgenmsg){.nfgen_family = TABLE_FAMILY, .version = NFNETLINK_V0};
    req.a = (struct nlattr){.nla_len = NLA_HDRLEN + sizeof TABLE_NAME, .nla_type = NFTA_TABLE_NAME};
    memcpy(req.name, TABLE_NAME, sizeof TABLE_NAME);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER), found = -1;
    if (fd < 0) return -1;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    _Alignas(struct nlmsghdr) char buf[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t got = -1;
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) ==
            (ssize_t)sizeof req &&
        poll(&p, 1, 1000) == 1) /* the kernel answers within sendto: a bound, not a wait */
        got = recv(fd, buf, sizeof buf, 0);
    if (got > 0) found = yv_firewall_table_answer(buf, (size_t)got);
    close(fd);
    return found;
}

int yv_firewall_list(char ***ifnames, char ***vms, size_t *n, yv_err *err)
{
    tap_list l = {NULL, NULL, 0};
    *ifnames = NULL;
    *n = 0;
    if (vms) *vms = NULL;
    if (!may_see_rules()) return 0;    /* no rule it could see, or remove */
    if (table_exists() == 0) return 0; /* no table, no rules: libnftables stays unloaded */
    struct nft_ctx *nft = ctx_new(err);
    if (!nft) return -1;
    nft_lib.nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
    if (nft_lib.nft_run_cmd_from_buffer(nft, "list table " TABLE) != 0) {
        nft_lib.nft_ctx_free(nft);
        return 0; /* no table: no rules */
    }
    json_t *j = json_loads(nft_lib.nft_ctx_get_output_buffer(nft), 0, NULL);
    nft_lib.nft_ctx_free(nft);
    size_t i;
    json_t *obj;
    json_array_foreach(json_object_get(j, "nftables"), i, obj)
    {
        collect(obj, &l);
    }
    json_decref(j);
    *ifnames = l.ifnames;
    *n = l.n;
    if (vms) *vms = l.vms;
    else yv_firewall_free_list(l.vms, l.n);
    return 0;
}

void yv_firewall_free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}
