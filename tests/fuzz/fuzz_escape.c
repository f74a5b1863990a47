/* Fuzz target: the escaping every error message goes through (core/err.c yv_err_escape), which
 * stands between untrusted bytes (option values, VM names, a guest's console) and a terminal or
 * JSON. The input (cut at its first NUL) is escaped into buffers of every size up to 64 and one
 * big one. Oracles: the output is terminated within the buffer and its length is returned; it is
 * strict UTF-8 (jansson takes it as a JSON string) with no C0, DEL or C1 control in it; escaping it
 * again changes nothing; a smaller buffer gives a prefix of the big one (cut at a whole character
 * or escape); and with room enough, printable ASCII input comes out unchanged. */
#include "fuzz.h"

#include <jansson.h>

#include "core/err.h"

/* No control character: bytes below 0x20, 0x7f, and U+0080..U+009F (encoded 0xc2 0x80..0x9f). */
static bool no_controls(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) return false;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return false;
    }
    return true;
}

static bool printable_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p >= 0x7f) return false;
    return true;
}

static void check_one(const char *in, const char *big, size_t cap)
{
    char out[64], again[64 * 4 + 1];
    memset(out, 'Z', sizeof out);
    size_t n = yv_err_escape(in, out, cap);
    FUZZ_CHECK(n < cap && out[n] == '\0' && strlen(out) == n, "cap %zu: length %zu", cap, n);
    FUZZ_CHECK(!strncmp(out, big, n), "cap %zu: '%s' is not a prefix of '%s'", cap, out, big);
    yv_err_escape(out, again, sizeof again);
    FUZZ_CHECK(!strcmp(out, again), "escaping twice changed '%s' into '%s'", out, again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *in = fuzz_cstr(data, size);
    size_t cap = 4 * strlen(in) + 1; /* every byte escaped still fits */
    char *big = malloc(cap);
    if (!big) abort();
    size_t n = yv_err_escape(in, big, cap);
    FUZZ_CHECK(n < cap && strlen(big) == n, "length %zu of %zu", n, cap);
    json_t *j = json_string(big);
    FUZZ_CHECK(j != NULL, "not strict UTF-8: %s", big);
    json_decref(j);
    FUZZ_CHECK(no_controls(big), "a control character is left in: %s", big);
    if (printable_ascii(in)) FUZZ_CHECK(!strcmp(in, big), "'%s' became '%s'", in, big);
    for (size_t c = 1; c <= 64; c++) check_one(in, big, c);
    free(big);
    free(in);
    return 0;
}
