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
