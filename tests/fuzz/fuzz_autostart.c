/* Fuzz target: autostart.yaml (core/autostart.c). Oracles: no crash or leak; a loaded list holds
 * valid VM names, each once; yv_autostart_to_yaml → load gives the same list in the same order; a
 * failed load keeps nothing and says why. */
#include "fuzz.h"

#include "core/autostart.h"
#include "core/valid.h"

static void check_valid(const yv_strlist *l)
{
    yv_err e;
    for (size_t i = 0; i < l->n; i++) {
        FUZZ_CHECK(yv_valid_name(l->v[i], &e) == 0, "name '%s'", l->v[i]);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(l->v[i], l->v[j]) != 0, "'%s' twice", l->v[i]);
    }
}

static void round_trip(const yv_strlist *l)
{
    char *text;
    size_t len;
    yv_err err = {0};
    yv_strlist again;
    FUZZ_CHECK(yv_autostart_to_yaml(l, &text, &len, &err) == 0, "cannot write: %s", err.msg);
    if (yv_autostart_load_string(&again, "written.yaml", text, &err) < 0) {
        fprintf(stderr, "---- written:\n%s----\n", text);
        FUZZ_CHECK(0, "the written list does not load: %s", err.msg);
    }
    FUZZ_CHECK(again.n == l->n, "%zu names != %zu", again.n, l->n);
    for (size_t i = 0; i < l->n; i++)
        FUZZ_CHECK(!strcmp(l->v[i], again.v[i]), "name %zu: %s != %s", i, l->v[i], again.v[i]);
    yv_strlist_free(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    yv_strlist l;
    yv_err err = {0};
    if (yv_autostart_load_string(&l, "fuzz.yaml", text, &err) == 0) {
        check_valid(&l);
        round_trip(&l);
        yv_strlist_free(&l);
    } else {
        FUZZ_CHECK(err.code != YV_OK && err.msg[0], "failure without a message");
        FUZZ_CHECK(!l.v && !l.n, "a failed load kept names");
    }
    free(text);
    return 0;
}
