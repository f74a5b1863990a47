/* Fuzz target: a preset's config.yaml (core/preset.c). Oracles: no crash or leak; a loaded preset
 * has a non-empty cloud image path made absolute against the preset folder. */
#include "fuzz.h"

#include "core/preset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    yv_preset p;
    yv_err err = {0};
    if (yv_preset_load_string(&p, "fuzz.yaml", text, "/base/x.preset", &err) == 0) {
        FUZZ_CHECK(p.cloudimg && p.cloudimg[0] == '/', "cloudimg '%s'", fuzz_show(p.cloudimg));
        FUZZ_CHECK(strcmp(p.cloudimg, "/base/x.preset/") != 0, "empty cloudimg accepted");
        yv_preset_done(&p);
    } else {
        FUZZ_CHECK(err.code != YV_OK && err.msg[0], "failure without a message");
        FUZZ_CHECK(!p.cloudimg && !p.name, "a failed load kept values");
    }
    free(text);
    return 0;
}
