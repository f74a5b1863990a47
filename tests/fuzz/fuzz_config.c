/* Fuzz target: the global config.yaml loader (core/config.c on core/yamlio.c).
 * Oracles: no crash or leak; a loaded config has its defaults filled in and every path resolved
 * (programs: absolute or a bare name; files: absolute); yv_config_done leaves it empty. */
#include "fuzz.h"

#include "core/config.h"

static void check_prog(const char *what, const char *p)
{
    FUZZ_CHECK(!p || p[0] == '/' || !strchr(p, '/'), "%s '%s' is neither absolute nor bare", what,
               p);
}

static void check_file(const char *what, const char *p)
{
    FUZZ_CHECK(!p || p[0] == '/', "%s '%s' is not absolute", what, p);
}

static void check_loaded(const yv_config *c)
{
    FUZZ_CHECK(c->vnc_listen, "vnc.listen has no default");
    FUZZ_CHECK(c->shutdown_timeout >= 1 && c->shutdown_timeout <= 86400, "timeout %ld",
               c->shutdown_timeout);
    FUZZ_CHECK(c->qemu_accel == YV_ACCEL_AUTO || c->qemu_accel == YV_ACCEL_KVM ||
                   c->qemu_accel == YV_ACCEL_TCG,
               "accel %d", (int)c->qemu_accel);
    check_prog("cli.bin", c->cli_bin);
    check_prog("cli.img", c->cli_img);
    check_prog("cli.genisoimage", c->cli_genisoimage);
    check_file("ovmf.code", c->ovmf_code);
    check_file("ovmf.vars", c->ovmf_vars);
    check_file("api.tls.cert", c->api_tls_cert);
    check_file("api.tls.key", c->api_tls_key);
    for (size_t i = 0; i < c->api_groups.n; i++)
        FUZZ_CHECK(c->api_groups.v[i], "api.groups[%zu] is NULL", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the loader takes a C string: bytes after a NUL are never seen (fuzz_cstr cuts there) */
    char *text = fuzz_cstr(data, size);
    yv_config c;
    yv_err err = {0};
    if (yv_config_load_string(&c, "fuzz.yaml", text, "/base", &err) == 0) {
        check_loaded(&c);
        yv_config_done(&c);
    } else {
        FUZZ_CHECK(err.code != YV_OK && err.msg[0], "failure without a message");
        FUZZ_CHECK(!c.vnc_listen && !c.cli_bin && !c.api_groups.v, "a failed load kept values");
    }
    free(text);
    return 0;
}
