/* Fuzz target: the allowlist validators (core/valid.c, yv_cloudinit_check_hostname, _user and
 * _package). Each one is
 * checked in both directions against an independent, by-hand reading of its documented grammar:
 * what it accepts matches the grammar, and what matches the grammar is accepted. */
#include "fuzz.h"

#include "core/cloudinit.h"
#include "core/valid.h"

static bool alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool digits(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

/* ^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$ */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 48 || !alnum((unsigned char)s[0])) return false;
    for (size_t i = 1; i < n; i++)
        if (!alnum((unsigned char)s[i]) && !strchr("._-", s[i])) return false;
    return true;
}

/* [A-Za-z0-9_.-]{1,15}, never "." or ".." */
static bool ifname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 15 || !strcmp(s, ".") || !strcmp(s, "..")) return false;
    for (size_t i = 0; i < n; i++)
        if (!alnum((unsigned char)s[i]) && !strchr("_.-", s[i])) return false;
    return true;
}

static bool hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* six hex pairs joined by ':', the first octet even (unicast) */
static bool mac_ok(const char *s)
{
    if (strlen(s) != 17) return false;
    for (int i = 0; i < 6; i++) {
        if (!hex(s[3 * i]) || !hex(s[3 * i + 1])) return false;
        if (i < 5 && s[3 * i + 2] != ':') return false;
    }
    char first[3] = {s[0], s[1], 0};
    return (strtol(first, NULL, 16) & 1) == 0;
}

/* digits only, value 1 … 16777216 (leading zeros allowed) */
static bool mib_ok(const char *s, long *v)
{
    if (!digits(s)) return false;
    while (s[0] == '0' && s[1]) s++;
    if (strlen(s) > 9) return false;
    *v = strtol(s, NULL, 10);
    return *v >= 1 && *v <= 16L * 1024 * 1024;
}

/* labels of [A-Za-z0-9-], 1 … 63 each, not starting or ending with '-', 253 in all */
static bool hostname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 253) return false;
    for (const char *l = s;;) {
        const char *dot = strchr(l, '.');
        size_t len = dot ? (size_t)(dot - l) : strlen(l);
        if (len < 1 || len > 63 || l[0] == '-' || l[len - 1] == '-') return false;
        for (size_t i = 0; i < len; i++)
            if (!alnum((unsigned char)l[i]) && l[i] != '-') return false;
        if (!dot) return true;
        l = dot + 1;
    }
}

/* ^[a-z_][a-z0-9_-]{0,31}$ (adduser's default), minus root and the system names (spot checks:
 * the list itself is the unit test's) */
static bool user_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("_-", s[i])))
            return false;
    return strcmp(s, "root") && strcmp(s, "nobody") && strcmp(s, "_apt") &&
           strncmp(s, "systemd-", 8);
}

/* ^[a-z0-9][a-z0-9+.-]{1,127}$ (Debian policy 5.6.1) */
static bool package_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 128) return false;
    for (size_t i = 0; i < n; i++) {
        bool lower_digit = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
        if (!lower_digit && (i == 0 || !strchr("+.-", s[i]))) return false;
    }
    return true;
}

static void check_display(const char *s)
{
    int d = yv_valid_display_number(s);
    char back[32], why[128];
    if (d >= 0) {
        FUZZ_CHECK(d <= YV_DISPLAY_MAX, "display %d", d);
        snprintf(back, sizeof back, ":%d", d);
        FUZZ_CHECK(!strcmp(back, s), "display '%s' read as %d", s, d);
    } else if (s[0] == ':' && digits(s + 1) && strlen(s) < 8) {
        long v = strtol(s + 1, NULL, 10);
        snprintf(back, sizeof back, ":%ld", v);
        FUZZ_CHECK(strcmp(back, s) != 0 || v > YV_DISPLAY_MAX, "display '%s' refused", s);
    }
    FUZZ_CHECK((yv_valid_display_check(s, why, sizeof why) == 0) == (d >= 0), "display_check");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), why[128];
    yv_err err = {0};
    long v = 0, want = 0;

    FUZZ_CHECK((yv_valid_name(s, &err) == 0) == name_ok(s), "name '%s'", s);
    FUZZ_CHECK((yv_valid_ifname_check(s, why, sizeof why) == 0) == ifname_ok(s), "ifname '%s'", s);
    FUZZ_CHECK((yv_valid_ifname(s, "fuzz", &err) == 0) == ifname_ok(s), "ifname '%s'", s);
    FUZZ_CHECK((yv_valid_mac_check(s, why, sizeof why) == 0) == mac_ok(s), "mac '%s'", s);
    check_display(s);
    bool mib = yv_valid_mib(s, "fuzz", &v, &err) == 0;
    FUZZ_CHECK(mib == mib_ok(s, &want), "mib '%s'", s);
    FUZZ_CHECK(!mib || v == want, "mib '%s' read as %ld", s, v);
    FUZZ_CHECK((yv_cloudinit_check_hostname(s, &err) == 0) == hostname_ok(s), "hostname '%s'", s);
    bool user = yv_cloudinit_check_user(s, &err) == 0;
    FUZZ_CHECK(!user || user_ok(s), "user '%s' accepted", s);
    FUZZ_CHECK(user || !user_ok(s) || strstr(err.msg, "is reserved"), "user '%s' refused", s);
    FUZZ_CHECK((yv_cloudinit_check_package(s, &err) == 0) == package_ok(s), "package '%s'", s);
    FUZZ_CHECK(yv_valid_name(NULL, &err) < 0 && yv_valid_ifname(NULL, "x", &err) < 0, "NULL");
    free(s);
    return 0;
}
