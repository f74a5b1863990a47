#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Length of the well-formed UTF-8 character at s (shortest form, no surrogate, at most U+10FFFF),
 * or 0; *cp gets its code point. */
static size_t utf8_char(const unsigned char *s, unsigned *cp)
{
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || s[0] > 0xf4) return 0;
    unsigned c = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

size_t yv_err_escape(const char *in, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t j = 0;
    if (!cap) return 0;
    while (*s) {
        unsigned cp = 0;
        size_t n = *s < 0x80 ? 1 : utf8_char(s, &cp);
        bool plain = n > 1 ? cp > 0x9f : n == 1 && *s >= 0x20 && *s != 0x7f;
        size_t need = plain ? n : 4 * (n ? n : 1);
        if (j + need >= cap) break; /* no half escape, no half character */
        if (plain) {
            memcpy(out + j, s, n);
        } else {
            for (size_t i = 0; i < (n ? n : 1); i++) snprintf(out + j + 4 * i, 5, "\\x%02x", s[i]);
        }
        j += need;
        s += n ? n : 1;
    }
    out[j] = '\0';
    return j;
}

/* Every message is made safe here, whatever its parts: control characters (ESC, newlines, C1) and
 * bytes that are not UTF-8 become \xNN, so a name or value from outside can neither drive the
 * terminal nor split the one-line message, and the message is always valid in JSON. Escaping only
 * those leaves an already escaped message as it is: prefixing one never escapes it twice. */
static void set_msg(yv_err *err, const char *raw)
{
    yv_err_escape(raw, err->msg, sizeof err->msg);
}

static void vset(yv_err *err, yv_code code, const char *fmt, va_list ap)
{
    char raw[sizeof err->msg];
    if (!err) return;
    err->code = code;
    vsnprintf(raw, sizeof raw, fmt, ap);
    set_msg(err, raw);
}

int yv_err_set(yv_err *err, yv_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

int yv_err_sys(yv_err *err, yv_code code, int errnum, const char *fmt, ...)
{
    va_list ap;
    if (!err) return -1;
    va_start(ap, fmt);
    vset(err, code, fmt, ap);
    va_end(ap);
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(errnum));
    return -1;
}

int yv_err_prefix(yv_err *err, const char *fmt, ...)
{
    char pre[512], raw[sizeof err->msg];
    va_list ap;
    if (!err) return -1;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    snprintf(raw, sizeof raw, "%s: %s", pre, err->msg);
    set_msg(err, raw);
    return -1;
}

void yv_err_clear(yv_err *err)
{
    if (!err) return;
    err->code = YV_OK;
    err->msg[0] = '\0';
}

static const struct {
    const char *name;
    int status;
} codes[] = {
    [YV_OK] = {"OK", 0},
    [YV_E_FAIL] = {"FAILED", 1},
    [YV_E_USAGE] = {"USAGE", 2},
    [YV_E_INVALID_NAME] = {"INVALID_NAME", 2},
    [YV_E_VM_NOT_FOUND] = {"VM_NOT_FOUND", 3},
    [YV_E_IMAGE_NOT_FOUND] = {"IMAGE_NOT_FOUND", 3},
    [YV_E_PRESET_NOT_FOUND] = {"PRESET_NOT_FOUND", 3},
    [YV_E_VM_EXISTS] = {"VM_EXISTS", 4},
    [YV_E_VM_RUNNING] = {"VM_RUNNING", 4},
    [YV_E_VM_NOT_RUNNING] = {"VM_NOT_RUNNING", 4},
    [YV_E_TOOL_FAILED] = {"TOOL_FAILED", 5},
    [YV_E_TIMEOUT] = {"TIMEOUT", 6},
    [YV_E_PERMISSION] = {"PERMISSION", 77},
    [YV_E_CONFIG_INVALID] = {"CONFIG_INVALID", 1},
    [YV_E_IO] = {"IO", 1},
    [YV_E_IN_USE] = {"IN_USE", 4},
    [YV_E_SNAPSHOT_NOT_FOUND] = {"SNAPSHOT_NOT_FOUND", 3},
    [YV_E_SNAPSHOT_EXISTS] = {"SNAPSHOT_EXISTS", 4},
};

int yv_err_exit_status(yv_code code)
{
    if ((size_t)code >= sizeof codes / sizeof codes[0]) return 1;
    return codes[code].status;
}

const char *yv_err_code_name(yv_code code)
{
    if ((size_t)code >= sizeof codes / sizeof codes[0]) return "FAILED";
    return codes[code].name;
}
