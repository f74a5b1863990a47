/* Fuzz target: the strict pidfile parser (core/proc.c yv_proc_parse_pid). Oracles: an accepted pid
 * is 2 … 4194304 and printing it gives back the input (less one trailing newline): no sign, no
 * blanks, no leading zeros; and every such canonical input is accepted. */
#include "fuzz.h"

#include "core/proc.h"

static bool canonical(const uint8_t *d, size_t n, long *v)
{
    if (n > 0 && d[n - 1] == '\n') n--;
    if (n == 0 || n > 7 || d[0] == '0') return false;
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9') return false;
        *v = *v * 10 + (d[i] - '0');
    }
    return *v > 1 && *v <= 4194304;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pid_t p = yv_proc_parse_pid((const char *)data, size);
    long want = 0;
    bool ok = canonical(data, size, &want);
    FUZZ_CHECK(p == -1 || p > 1, "returned %d", (int)p);
    if (p > 1) {
        char back[32];
        int n = snprintf(back, sizeof back, "%d", (int)p);
        size_t len = size > 0 && data[size - 1] == '\n' ? size - 1 : size;
        FUZZ_CHECK((size_t)n == len && !memcmp(back, data, len), "pid %d from other text", (int)p);
    }
    FUZZ_CHECK((p > 1) == ok && (!ok || p == want), "canonical pid %ld read as %d", want, (int)p);
    return 0;
}
