/* fuzz: shared helpers of the libFuzzer targets (tests/fuzz/fuzz_<name>.c). Header-only; every
 * helper is static. A broken oracle aborts with a message, so libFuzzer saves the input as a crash.
 */
#ifndef YV_FUZZ_H
#define YV_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: oracle failed: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a C string (cut at its first NUL byte, as a C caller would see it); free it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Two optional strings are equal (both NULL, or the same bytes). */
static inline bool fuzz_streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static inline const char *fuzz_show(const char *s)
{
    return s ? s : "(null)";
}

#endif
