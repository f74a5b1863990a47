#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vset(yv_err *err, yv_code code, const char *fmt, va_list ap)
{
    if (!err) return;
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
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
    char pre[512], old[sizeof err->msg];
    va_list ap;
    if (!err) return -1;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old);
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
