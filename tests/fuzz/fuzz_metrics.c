/* Fuzz target: core/metrics.c's parsers of what a QEMU, a guest agent or /proc hands us —
 * query-blockstats' and guest-network-get-interfaces' "return" (the input as JSON) and
 * /proc/PID/statm (the input as text). Oracles: no crash or
 * leak; a parsed statm's resident pages is the second field as written; a parsed blockstats of an
 * array twice as long (the same drives twice) sums to twice as much (modulo 2^64). */
#include "fuzz.h"

#include "core/metrics.h"

static void statm(const uint8_t *data, size_t size)
{
    uint64_t pages = 0;
    if (yv_metrics_parse_statm((const char *)data, size, &pages) < 0) return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)pages);
    FUZZ_CHECK(memmem(data, size, buf, (size_t)n) != NULL, "pages %s not in the text", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    statm(data, size);
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    uint64_t rd, wr, rd2, wr2;
    if (j && yv_metrics_parse_blockstats(j, &rd, &wr) == 0) {
        json_t *twice = json_array();
        json_array_extend(twice, j);
        json_array_extend(twice, j);
        FUZZ_CHECK(yv_metrics_parse_blockstats(twice, &rd2, &wr2) == 0, "twice refused");
        FUZZ_CHECK(rd2 == rd * 2 && wr2 == wr * 2, "twice does not sum twice");
        json_decref(twice);
    } else if (j) {
        FUZZ_CHECK(!json_is_array(j), "an array refused");
    }
    if (j && yv_metrics_parse_guest_net(j, &rd, &wr) == 0)
        FUZZ_CHECK(json_is_array(j) && json_array_size(j) > 0, "counters from no interface");
    json_decref(j);
    return 0;
}
