/* util: allocation that aborts on OOM, string helpers. */
#ifndef YV_UTIL_H
#define YV_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *yv_malloc(size_t n);
void *yv_calloc(size_t n, size_t size);
void *yv_realloc(void *p, size_t n);
char *yv_strdup(const char *s);
char *yv_strndup(const char *s, size_t n);
char *yv_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal integer in [min, max]: digits only (optional leading '-'), no spaces, no suffix.
 */
int yv_parse_long(const char *s, long min, long max, long *out);

/* Overwrites then frees a secret. */
void yv_free_secret(char *s);

/* first, then the n words joined by ", " ("changed " + "memory, vcpu"), into buf (cut to len);
 * buf is "" when n is 0. Returns the length written (len when cut). */
size_t yv_join(const char *const *v, size_t n, const char *first, char *buf, size_t len);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t yv_now_ms(void);

#endif
