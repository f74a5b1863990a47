/* Fuzz target: the forward spec parser yv_valid_forward ([PROTO:][ADDR:]HOST:GUEST, spec §10),
 * against an independent reading: inet_pton for the address, strtol for the ports. Accepted ⇔ the
 * reading accepts; the parts read are the same; the spec printed back in full form parses to the
 * same forward. */
#include "fuzz.h"

#include <arpa/inet.h>

#include "core/valid.h"

/* Canonical decimal 1 … 65535. */
static int port(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 5 || s[0] == '0' || strspn(s, "0123456789") != n) return -1;
    long v = strtol(s, NULL, 10);
    return v <= 65535 ? (int)v : -1;
}

/* glibc's inet_pton takes dotted quads only, without leading zeros: the documented grammar. */
static bool ipv4(const char *s)
{
    struct in_addr a;
    return inet_pton(AF_INET, s, &a) == 1;
}

static bool by_hand(char *s, yv_fwspec *want)
{
    char *parts[5];
    int n = 0;
    for (char *p = s; n < 5; n++) {
        parts[n] = p;
        char *c = strchr(p, ':');
        if (!c) {
            n++;
            break;
        }
        *c = '\0';
        p = c + 1;
    }
    if (n < 2 || n > 4) return false;
    int i = 0;
    *want = (yv_fwspec){0, "127.0.0.1", 0, 0};
    if (n == 4 || (n == 3 && (!strcmp(parts[0], "tcp") || !strcmp(parts[0], "udp")))) {
        if (strcmp(parts[0], "tcp") && strcmp(parts[0], "udp")) return false;
        want->proto = !strcmp(parts[i++], "udp");
    }
    if (n - i == 3) {
        if (!ipv4(parts[i]) || strlen(parts[i]) >= sizeof want->address) return false;
        strcpy(want->address, parts[i++]);
    }
    want->host = port(parts[i]);
    want->guest = port(parts[i + 1]);
    return want->host > 0 && want->guest > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), *copy = fuzz_cstr(data, size), back[96];
    yv_fwspec got, want, again;
    yv_err err = {0};
    bool ok = yv_valid_forward(s, &got, &err) == 0;
    bool hand = strlen(s) < 64 && by_hand(copy, &want);
    FUZZ_CHECK(ok == hand, "'%s' %s", fuzz_show(s), ok ? "accepted" : "refused");
    if (ok) {
        FUZZ_CHECK(got.proto == want.proto && got.host == want.host && got.guest == want.guest &&
                       !strcmp(got.address, want.address),
                   "'%s' read wrong", s);
        snprintf(back, sizeof back, "%s:%s:%d:%d", got.proto ? "udp" : "tcp", got.address, got.host,
                 got.guest);
        FUZZ_CHECK(yv_valid_forward(back, &again, &err) == 0 && again.proto == got.proto &&
                       again.host == got.host && again.guest == got.guest &&
                       !strcmp(again.address, got.address),
                   "'%s' does not read back", back);
    } else {
        FUZZ_CHECK(err.code == YV_E_USAGE && !strncmp(err.msg, "invalid forward '", 17), "%s",
                   err.msg);
    }
    free(s);
    free(copy);
    return 0;
}
