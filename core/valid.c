#include "valid.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int yv_valid_name(const char *name, yv_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0) return yv_err_set(err, YV_E_INVALID_NAME, "invalid VM name: the name is empty");
    if (n > YV_NAME_MAX)
        return yv_err_set(err, YV_E_INVALID_NAME,
                          "invalid VM name: %zu characters, at most %d are allowed", n,
                          YV_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (is_alnum(c) || (i > 0 && (c == '.' || c == '_' || c == '-'))) continue;
        if (c == '.' || c == '_' || c == '-')
            return yv_err_set(err, YV_E_INVALID_NAME,
                              "invalid VM name '%s': it must start with a letter or a digit", name);
        if (c < 0x20 || c >= 0x7f)
            return yv_err_set(err, YV_E_INVALID_NAME,
                              "invalid VM name: byte 0x%02x at position %zu is not allowed (use "
                              "letters, digits, '.', '_' and '-')",
                              c, i + 1);
        return yv_err_set(
            err, YV_E_INVALID_NAME,
            "invalid VM name '%s': '%c' is not allowed (use letters, digits, '.', '_' "
            "and '-')",
            name, c);
    }
    return 0;
}

int yv_valid_ifname_check(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= YV_IFNAME_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ok = is_alnum(c) || c == '_' || c == '.' || c == '-';
    }
    if (ok && (!strcmp(s, ".") || !strcmp(s, ".."))) ok = false;
    if (!ok)
        snprintf(why, whylen, "must be 1 to %d characters of A-Z a-z 0-9 _ . -", YV_IFNAME_MAX);
    return ok ? 0 : -1;
}

int yv_valid_ifname(const char *ifname, const char *what, yv_err *err)
{
    char why[128];
    if (yv_valid_ifname_check(ifname ? ifname : "", why, sizeof why) == 0) return 0;
    /* the value may be hostile: show only its length, not its bytes */
    return yv_err_set(err, YV_E_USAGE, "invalid %s (%zu bytes): it %s", what,
                      ifname ? strlen(ifname) : 0, why);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int yv_valid_mac_check(const char *s, char *why, size_t whylen)
{
    bool ok = strlen(s) == 17;
    for (int i = 0; ok && i < 17; i++) ok = (i % 3 == 2) ? s[i] == ':' : hexval(s[i]) >= 0;
    /* a unicast address: the low bit of the first byte set would be multicast */
    if (ok) ok = (hexval(s[1]) & 1) == 0;
    if (!ok) snprintf(why, whylen, "must be a unicast MAC address like 52:54:00:12:34:56");
    return ok ? 0 : -1;
}

int yv_valid_display_number(const char *s)
{
    long n;
    if (!s || s[0] != ':' || s[1] == '-' || (s[1] == '0' && s[2])) return -1; /* no leading zeros */
    if (yv_parse_long(s + 1, 0, YV_DISPLAY_MAX, &n) < 0) return -1;
    return (int)n;
}

int yv_valid_display_check(const char *s, char *why, size_t whylen)
{
    if (yv_valid_display_number(s) >= 0) return 0;
    snprintf(why, whylen, "must be a VNC display ':N' with N from 0 to %d", YV_DISPLAY_MAX);
    return -1;
}

int yv_valid_mib(const char *s, const char *what, long *out, yv_err *err)
{
    if (!s || !*s || s[0] == '-' || yv_parse_long(s, 1, 16L * 1024 * 1024, out) < 0)
        return yv_err_set(err, YV_E_USAGE,
                          "invalid %s '%s': give a whole number of MiB from 1 to 16777216", what,
                          s ? s : "");
    return 0;
}

int yv_valid_memory_value(long long mib, yv_err *err)
{
    if (mib >= YV_MEMORY_MIN && mib <= YV_MEMORY_MAX) return 0;
    return yv_err_set(err, YV_E_USAGE, "invalid memory %lld MiB: give %d to %ld MiB", mib,
                      YV_MEMORY_MIN, YV_MEMORY_MAX);
}

int yv_valid_memory(const char *s, long *out, yv_err *err)
{
    if (yv_valid_mib(s, "memory", out, err) < 0) return -1;
    if (*out < YV_MEMORY_MIN)
        return yv_err_set(err, YV_E_USAGE, "invalid memory '%s': at least %d MiB", s,
                          YV_MEMORY_MIN);
    return 0;
}

int yv_valid_vcpu_value(long long n, yv_err *err)
{
    if (n >= 1 && n <= YV_VCPU_MAX) return 0;
    return yv_err_set(err, YV_E_USAGE, "invalid vcpu %lld: give 1 to %d", n, YV_VCPU_MAX);
}

int yv_valid_vcpu(const char *s, long *out, yv_err *err)
{
    if (!s || s[0] == '-' || yv_parse_long(s, 1, YV_VCPU_MAX, out) < 0)
        return yv_err_set(err, YV_E_USAGE, "invalid --vcpu '%s': give a whole number from 1 to %d",
                          s ? s : "", YV_VCPU_MAX);
    return 0;
}

int yv_valid_port(const char *s)
{
    long n = 0;
    size_t len = strlen(s);
    if (len < 1 || len > 5 || s[0] == '0') return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        n = n * 10 + (s[i] - '0');
    }
    return n <= 65535 ? (int)n : -1;
}

/* One decimal octet of a.b.c.d ending at '.' or the end; advances *s past it. */
static bool ipv4_octet(const char **s)
{
    const char *p = *s;
    int v = 0, n = 0;
    while (*p >= '0' && *p <= '9' && n < 4) v = v * 10 + (*p++ - '0'), n++;
    if (n < 1 || n > 3 || v > 255 || (n > 1 && **s == '0')) return false;
    *s = p;
    return true;
}

int yv_valid_ipv4_check(const char *s, char *why, size_t whylen)
{
    const char *p = s;
    bool ok = true;
    for (int i = 0; ok && i < 4; i++) {
        ok = ipv4_octet(&p) && *p == (i < 3 ? '.' : '\0');
        if (ok && i < 3) p++;
    }
    if (!ok) snprintf(why, whylen, "must be an IPv4 address like 127.0.0.1");
    return ok ? 0 : -1;
}

int yv_valid_proto(const char *s)
{
    if (!strcmp(s, "tcp")) return 0;
    if (!strcmp(s, "udp")) return 1;
    return -1;
}

/* Splits s at ':' into at most 5 parts (5 = too many) inside buf. */
static int split_colons(const char *s, char *buf, size_t buflen, char *parts[5])
{
    int n = 0;
    snprintf(buf, buflen, "%s", s);
    for (char *p = buf;; n++) {
        if (n == 5) return n;
        parts[n] = p;
        char *c = strchr(p, ':');
        if (!c) return n + 1;
        *c = '\0';
        p = c + 1;
    }
}

const char *yv_valid_shown(const char *s)
{
    bool show = strlen(s) <= 64;
    for (const char *p = s; show && *p; p++) show = *p >= 0x20 && *p < 0x7f;
    return show ? s : "…";
}

static int forward_fail(const char *s, const char *why, yv_err *err)
{
    return yv_err_set(
        err, YV_E_USAGE,
        "invalid forward '%s': %s (give [tcp|udp:][ADDRESS:]HOST:GUEST, e.g. 2201:22)",
        yv_valid_shown(s), why);
}

int yv_valid_forward(const char *s, yv_fwspec *out, yv_err *err)
{
    char buf[64], *parts[5], why[64];
    if (strlen(s) >= sizeof buf) return forward_fail(s, "too long", err);
    int n = split_colons(s, buf, sizeof buf, parts), i = 0;
    if (n < 2 || n > 4) return forward_fail(s, "wrong number of ':'-separated parts", err);
    *out = (yv_fwspec){0, "127.0.0.1", 0, 0};
    if (n == 4 || (n == 3 && yv_valid_proto(parts[0]) >= 0)) {
        out->proto = yv_valid_proto(parts[i++]);
        if (out->proto < 0) return forward_fail(s, "the protocol must be tcp or udp", err);
    }
    if (n - i == 3) {
        if (yv_valid_ipv4_check(parts[i], why, sizeof why) < 0)
            return forward_fail(s, "the address must be an IPv4 address like 127.0.0.1", err);
        snprintf(out->address, sizeof out->address, "%s", parts[i++]);
    }
    out->host = yv_valid_port(parts[i]);
    out->guest = yv_valid_port(parts[i + 1]);
    if (out->host < 0 || out->guest < 0)
        return forward_fail(s, "ports must be whole numbers from 1 to 65535", err);
    return 0;
}
