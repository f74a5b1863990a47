/* err: the error value every core function fills (code + one-line message). */
#ifndef YV_ERR_H
#define YV_ERR_H

#include <stddef.h>

/* Error codes of spec §8; each maps to one exit status and one JSON code. */
typedef enum {
    YV_OK = 0,
    YV_E_FAIL,             /* 1: other failure */
    YV_E_USAGE,            /* 2 */
    YV_E_INVALID_NAME,     /* 2 */
    YV_E_VM_NOT_FOUND,     /* 3 */
    YV_E_IMAGE_NOT_FOUND,  /* 3 */
    YV_E_PRESET_NOT_FOUND, /* 3 */
    YV_E_VM_EXISTS,        /* 4 */
    YV_E_VM_RUNNING,       /* 4 */
    YV_E_VM_NOT_RUNNING,   /* 4 */
    YV_E_TOOL_FAILED,      /* 5 */
    YV_E_TIMEOUT,          /* 6 */
    YV_E_PERMISSION,       /* 77 */
    YV_E_CONFIG_INVALID,   /* 1 */
    YV_E_IO,               /* 1 */
    YV_E_IN_USE,           /* 4: held by another client (a VM's console) */

    /* snapshot (spec §13) */
    YV_E_SNAPSHOT_NOT_FOUND, /* 3: a VM has no snapshot of that name */
    YV_E_SNAPSHOT_EXISTS,    /* 4: the name is taken */
} yv_code;

typedef struct {
    yv_code code;
    char msg[1024];
} yv_err;

/* Sets code and a printf-style message; returns -1 so callers can `return yv_err_set(...)`. */
int yv_err_set(yv_err *err, yv_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like yv_err_set, appending ": strerror(errnum)". */
int yv_err_sys(yv_err *err, yv_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefixes the existing message with "prefix: " (keeps the code). */
int yv_err_prefix(yv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void yv_err_clear(yv_err *err);

/* Copies in to out (cap bytes, always terminated) with control characters (C0, DEL, C1) and bytes
 * that are not well-formed UTF-8 written as \xNN; everything else, a backslash too, as it is (so an
 * escaped string comes out unchanged). Cut at a whole character or escape. Returns the length.
 * Every message of yv_err_set/sys/prefix goes through it. */
size_t yv_err_escape(const char *in, char *out, size_t cap);

int yv_err_exit_status(yv_code code);
const char *yv_err_code_name(yv_code code);

#endif
