/* Fuzz target: vnc_table.yaml (core/vnctable.c). Oracles: no crash or leak; a loaded table has one
 * valid VM name per valid display, each display once; yv_vnctable_to_yaml → load gives the same
 * table (as a set: the writer sorts by display). */
#include "fuzz.h"

#include "core/valid.h"
#include "core/vnctable.h"

static int cmp(const void *a, const void *b)
{
    return ((const yv_vnc_entry *)a)->display - ((const yv_vnc_entry *)b)->display;
}

static yv_vnc_entry *sorted(const yv_vnctable *t)
{
    yv_vnc_entry *v = malloc((t->n ? t->n : 1) * sizeof *v);
    if (t->n) memcpy(v, t->v, t->n * sizeof *v);
    qsort(v, t->n, sizeof *v, cmp);
    return v;
}

static void check_valid(const yv_vnctable *t)
{
    yv_vnc_entry *v = sorted(t);
    yv_err e;
    for (size_t i = 0; i < t->n; i++) {
        FUZZ_CHECK(v[i].display >= 0 && v[i].display <= YV_DISPLAY_MAX, "display %d", v[i].display);
        FUZZ_CHECK(i == 0 || v[i].display != v[i - 1].display, "display :%d twice", v[i].display);
        FUZZ_CHECK(yv_valid_name(v[i].name, &e) == 0, "name '%s'", v[i].name);
        FUZZ_CHECK(fuzz_streq(yv_vnctable_owner(t, v[i].display), v[i].name), "owner of :%d",
                   v[i].display);
        FUZZ_CHECK(yv_vnctable_find(t, v[i].name) >= 0, "find %s", v[i].name);
    }
    free(v);
}

static void round_trip(const yv_vnctable *t)
{
    char *text;
    size_t len;
    yv_err err = {0};
    yv_vnctable again;
    FUZZ_CHECK(yv_vnctable_to_yaml(t, &text, &len, &err) == 0, "cannot write: %s", err.msg);
    if (yv_vnctable_load_string(&again, "written.yaml", text, &err) < 0) {
        fprintf(stderr, "---- written:\n%s----\n", text);
        FUZZ_CHECK(0, "the written table does not load: %s", err.msg);
    }
    FUZZ_CHECK(again.n == t->n, "%zu entries != %zu", again.n, t->n);
    yv_vnc_entry *a = sorted(t), *b = sorted(&again);
    for (size_t i = 0; i < t->n; i++)
        FUZZ_CHECK(a[i].display == b[i].display && !strcmp(a[i].name, b[i].name),
                   "entry %zu: :%d %s != :%d %s", i, a[i].display, a[i].name, b[i].display,
                   b[i].name);
    free(a);
    free(b);
    yv_vnctable_done(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    yv_vnctable t;
    yv_err err = {0};
    if (yv_vnctable_load_string(&t, "fuzz.yaml", text, &err) == 0) {
        check_valid(&t);
        round_trip(&t);
        yv_vnctable_done(&t);
    } else {
        FUZZ_CHECK(err.code != YV_OK && err.msg[0], "failure without a message");
        FUZZ_CHECK(!t.v && !t.n, "a failed load kept entries");
    }
    free(text);
    return 0;
}
