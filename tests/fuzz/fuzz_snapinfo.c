/* Fuzz target: the snapshots of `qemu-img info --output=json` (core/snapshot.c,
 * yv_snapshot_parse_info; the same SnapshotInfo shape QMP's query-block gives). The input is
 * merged as image 0 and again as image 1. Oracles: no crash or leak; every listed name is one
 * yave could target (yv_snapshot_valid_name), listed once, on 2 images at most, on exactly 2 (the
 * same text twice); a refusal says why and leaves the list as it was. */
#include "fuzz.h"

#include "core/snapshot.h"

static void check(const yv_snapshot_list *l, size_t images)
{
    yv_err e;
    for (size_t i = 0; i < l->n; i++) {
        FUZZ_CHECK(yv_snapshot_valid_name(l->v[i].name, &e) == 0, "name '%s'", l->v[i].name);
        FUZZ_CHECK(l->v[i].on >= 1 && l->v[i].on <= images, "'%s' on %zu of %zu", l->v[i].name,
                   l->v[i].on, images);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(l->v[i].name, l->v[j].name) != 0, "'%s' twice", l->v[i].name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    yv_snapshot_list l = {.images = 2};
    yv_err err = {0};
    if (yv_snapshot_parse_info(&l, (const char *)data, size, 0, &err) < 0) {
        FUZZ_CHECK(err.code == YV_E_TOOL_FAILED && err.msg[0], "a refusal without a reason");
        FUZZ_CHECK(l.n == 0, "a refusal kept %zu names", l.n);
    } else {
        check(&l, 1);
        size_t n = l.n;
        FUZZ_CHECK(yv_snapshot_parse_info(&l, (const char *)data, size, 1, &err) == 0,
                   "the same text refused the second time");
        FUZZ_CHECK(l.n == n, "%zu names, then %zu", n, l.n);
        check(&l, 2);
        for (size_t i = 0; i < l.n; i++)
            FUZZ_CHECK(l.v[i].on == 2, "'%s' not on both", l.v[i].name);
    }
    yv_snapshot_list_done(&l);
    return 0;
}
