#include "sshkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* OpenSSH's public key types (sshkey.c keytypes[], without certificates: authorized_keys of a
 * fresh guest wants plain keys; without ssh-dss: OpenSSH ≥ 9.8 has no DSA at all). */
static const char *const key_types[] = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    NULL,
};

static bool known_type(const char *t, size_t n)
{
    for (int i = 0; key_types[i]; i++)
        if (strlen(key_types[i]) == n && !memcmp(key_types[i], t, n)) return true;
    return false;
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict base64 (RFC 4648, padded, no blanks) into out (at least n/4*3 bytes); -1 when malformed.
 */
static long b64_decode(const char *s, size_t n, unsigned char *out)
{
    size_t o = 0;
    if (n == 0 || n % 4) return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            bool tail = i + 4 == n && j >= 2 && s[i + j] == '=';
            if (tail || pad) {
                if (s[i + j] != '=') return -1; /* data after padding */
                pad++;
                v[j] = 0;
            } else if ((v[j] = b64_val(s[i + j])) < 0) {
                return -1;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2) out[o++] = (unsigned char)(w >> 8);
        if (pad < 1) out[o++] = (unsigned char)w;
        if (pad && (w & (pad == 2 ? 0xffffu : 0xffu))) return -1; /* non-canonical bits */
    }
    return (long)o;
}

/* The blob starts with a uint32 length and the key type string: it must be type. */
static bool blob_matches(const char *b64, size_t n, const char *type, size_t tlen)
{
    unsigned char *blob = yv_malloc(n / 4 * 3 + 3);
    long len = b64_decode(b64, n, blob);
    bool ok = false;
    if (len >= 4) {
        uint32_t l =
            (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
        /* the type, then at least the key material's first length field */
        ok = l == tlen && (size_t)len >= 4 + tlen + 4 && !memcmp(blob + 4, type, tlen);
    }
    free(blob);
    return ok;
}

/* A comment is text for a person: printable, no control characters (it goes into a file of the
 * guest and a YAML string; bytes ≥ 0x80 are checked as UTF-8 by the caller's emitter). */
static bool comment_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), as libyaml wants it. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80                 ? 0
                   : c >= 0xc2 && c <= 0xdf ? 1
                   : c >= 0xe0 && c <= 0xef ? 2
                   : c >= 0xf0 && c <= 0xf4 ? 3
                                            : 9;
        if (k == 9 || i + k >= n + !k) return false;
        /* the second byte's range narrows for E0, ED, F0, F4 */
        unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
        if (k && (s[i + 1] < lo || s[i + 1] > hi)) return false;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80) return false;
        i += k + 1;
    }
    return true;
}

/* Length of the word at s (up to a blank), within n bytes (the text is not NUL-terminated). */
static size_t word_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != ' ' && s[i] != '\t') i++;
    return i;
}

/* One line (no line end, blanks trimmed, not empty, not a comment) → a normalized key, or NULL
 * with *why set. */
static char *parse_line(const char *l, size_t n, const char **why)
{
    size_t tl = word_len(l, n);
    if (!known_type(l, tl)) {
        *why = "not an SSH public key (expected 'TYPE BASE64 [comment]' with TYPE one of "
               "ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, "
               "sk-ecdsa-sha2-nistp256@openssh.com)";
        return NULL;
    }
    size_t p = tl;
    while (p < n && (l[p] == ' ' || l[p] == '\t')) p++;
    size_t bl = word_len(l + p, n - p);
    if (!blob_matches(l + p, bl, l, tl)) {
        *why = "the key data is not valid base64 of a key of that type";
        return NULL;
    }
    size_t c = p + bl;
    while (c < n && (l[c] == ' ' || l[c] == '\t')) c++;
    if (!comment_ok(l + c, n - c) || !utf8_ok((const unsigned char *)l + c, n - c)) {
        *why = "the comment holds control characters or is not UTF-8";
        return NULL;
    }
    return c < n ? yv_asprintf("%.*s %.*s %.*s", (int)tl, l, (int)bl, l + p, (int)(n - c), l + c)
                 : yv_asprintf("%.*s %.*s", (int)tl, l, (int)bl, l + p);
}

static void add(yv_sshkeys *k, char *key)
{
    k->keys = yv_realloc(k->keys, (k->n + 1) * sizeof *k->keys);
    k->keys[k->n++] = key;
}

static void truncate_to(yv_sshkeys *k, size_t n)
{
    while (k->n > n) free(k->keys[--k->n]);
    if (n == 0) { /* as it was before the first key: nothing to free */
        free(k->keys);
        k->keys = NULL;
    }
}

int yv_sshkey_parse(yv_sshkeys *k, const char *what, const char *text, size_t len, yv_err *err)
{
    size_t before = k->n, lineno = 0;
    const char *why = NULL;
    if (memchr(text, '\0', len)) why = "holds NUL bytes (not a text file)";
    for (size_t i = 0; !why && i < len;) {
        const char *l = text + i;
        size_t n = (const char *)(memchr(l, '\n', len - i) ?: text + len) - l;
        i += n + 1;
        lineno++;
        while (n > 0 && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t')) n--;
        while (n > 0 && (*l == ' ' || *l == '\t')) l++, n--;
        if (n == 0 || *l == '#') continue;
        char *key =
            k->n >= YV_SSHKEY_MAX_KEYS ? (why = "too many keys", NULL) : parse_line(l, n, &why);
        if (key) add(k, key);
    }
    if (why) {
        truncate_to(k, before);
        return lineno
                   ? yv_err_set(err, YV_E_USAGE, "SSH key file %s, line %zu: %s", what, lineno, why)
                   : yv_err_set(err, YV_E_USAGE, "SSH key file %s %s", what, why);
    }
    if (k->n == before) return yv_err_set(err, YV_E_USAGE, "SSH key file %s holds no key", what);
    return 0;
}

int yv_sshkey_load(yv_sshkeys *k, const char *path, yv_err *err)
{
    /* O_NONBLOCK: a FIFO given by mistake is refused below instead of blocking the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
        return yv_err_sys(err, errno == ENOENT ? YV_E_USAGE : YV_E_IO, errno, "SSH key file %s",
                          path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return yv_err_set(err, YV_E_USAGE, "SSH key file %s is not a regular file", path);
    }
    char *buf = yv_malloc(YV_SSHKEY_MAX_FILE + 1);
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd, buf + len, YV_SSHKEY_MAX_FILE + 1 - len)) > 0 &&
           len < YV_SSHKEY_MAX_FILE + 1)
        len += (size_t)r;
    int e = errno;
    close(fd);
    int rc;
    if (r < 0) rc = yv_err_sys(err, YV_E_IO, e, "cannot read SSH key file %s", path);
    else if (len > YV_SSHKEY_MAX_FILE)
        rc = yv_err_set(err, YV_E_USAGE, "SSH key file %s is larger than %d bytes (a public key?)",
                        path, YV_SSHKEY_MAX_FILE);
    else rc = yv_sshkey_parse(k, path, buf, len, err);
    free(buf);
    return rc;
}

void yv_sshkey_done(yv_sshkeys *k)
{
    truncate_to(k, 0);
}
