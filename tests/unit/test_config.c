/* Unit tests of core/config.c: the global config.yaml (spec §2). */
#include "unit.h"

#include "core/config.h"

/* Every field as the built-in defaults have it. */
static void assert_defaults(const yv_config *cp)
{
    yv_config c = *cp;
    assert_null(c.cli_bin);
    assert_null(c.cli_img);
    assert_null(c.cli_genisoimage);
    assert_null(c.ovmf_code);
    assert_null(c.ovmf_vars);
    assert_int_equal(c.api_groups.n, 0);
    assert_null(c.api_listen);
    assert_null(c.api_pam_service);
    assert_null(c.api_tls_cert);
    assert_null(c.api_tls_key);
    assert_null(c.network_master);
    assert_int_equal(c.network_ssh_port_base, 2200);
    assert_string_equal(c.vnc_listen, "127.0.0.1");
    assert_int_equal(c.qemu_accel, YV_ACCEL_AUTO);
    assert_int_equal(c.shutdown_timeout, 60);
    assert_string_equal(yv_config_img(&c), "qemu-img");
}

static void test_defaults(void **state)
{
    (void)state;
    yv_config c;
    yv_err err;
    assert_int_equal(yv_config_load_string(&c, "t", "", "/base", &err), 0);
    assert_defaults(&c);
    yv_config_done(&c);
    assert_null(c.vnc_listen);

    /* empty top-level mappings and null sections are defaults too */
    assert_int_equal(yv_config_load_string(&c, "t", "{}\n", "/base", &err), 0);
    assert_int_equal(c.shutdown_timeout, 60);
    yv_config_done(&c);
    assert_int_equal(yv_config_load_string(&c, "t", "cli:\nqemu:\nshutdown: ~\n", "/base", &err),
                     0);
    assert_int_equal(c.shutdown_timeout, 60);
    assert_int_equal(c.qemu_accel, YV_ACCEL_AUTO);
    yv_config_done(&c);
}

static const char full[] = "cli:\n"
                           "  bin: /usr/bin/qemu-system-x86_64\n"
                           "  img: /usr/bin/qemu-img\n"
                           "  genisoimage: /usr/bin/genisoimage\n"
                           "ovmf:\n"
                           "  code: /usr/share/OVMF/OVMF_CODE_4M.fd\n"
                           "  vars: /usr/share/OVMF/OVMF_VARS_4M.fd\n"
                           "api:\n"
                           "  groups: [yave, wheel]\n"
                           "  listen: 127.0.0.1:3000\n"
                           "  pam_service: yave-web\n"
                           "  tls: {cert: /etc/yave/cert.pem, key: /etc/yave/key.pem}\n"
                           "network:\n"
                           "  master: br0\n"
                           "  ssh_port_base: 10022\n"
                           "vnc:\n"
                           "  listen: 0.0.0.0\n"
                           "qemu:\n"
                           "  accel: tcg\n"
                           "shutdown:\n"
                           "  timeout: 5\n";

static void test_every_key(void **state)
{
    (void)state;
    yv_config c;
    yv_err err;
    if (yv_config_load_string(&c, "config.yaml", full, "/base", &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(c.cli_bin, "/usr/bin/qemu-system-x86_64");
    assert_string_equal(c.cli_img, "/usr/bin/qemu-img");
    assert_string_equal(c.cli_genisoimage, "/usr/bin/genisoimage");
    assert_string_equal(c.ovmf_code, "/usr/share/OVMF/OVMF_CODE_4M.fd");
    assert_string_equal(c.ovmf_vars, "/usr/share/OVMF/OVMF_VARS_4M.fd");
    assert_int_equal(c.api_groups.n, 2);
    assert_string_equal(c.api_groups.v[0], "yave");
    assert_string_equal(c.api_groups.v[1], "wheel");
    assert_string_equal(c.api_listen, "127.0.0.1:3000");
    assert_string_equal(c.api_pam_service, "yave-web");
    assert_string_equal(c.api_tls_cert, "/etc/yave/cert.pem");
    assert_string_equal(c.api_tls_key, "/etc/yave/key.pem");
    assert_string_equal(c.network_master, "br0");
    assert_int_equal(c.network_ssh_port_base, 10022);
    assert_string_equal(c.vnc_listen, "0.0.0.0");
    assert_int_equal(c.qemu_accel, YV_ACCEL_TCG);
    assert_int_equal(c.shutdown_timeout, 5);
    assert_string_equal(yv_config_img(&c), "/usr/bin/qemu-img");
    yv_config_done(&c);
}

static void test_accel_values(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        yv_accel want;
    } cases[] = {
        {"qemu: {accel: auto}\n", YV_ACCEL_AUTO},
        {"qemu: {accel: kvm}\n", YV_ACCEL_KVM},
        {"qemu: {accel: tcg}\n", YV_ACCEL_TCG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        yv_config c;
        yv_err err;
        assert_int_equal(yv_config_load_string(&c, "t", cases[i].text, "/b", &err), 0);
        assert_int_equal(c.qemu_accel, cases[i].want);
        yv_config_done(&c);
    }
}

static void assert_config_fails(const char *text, const char *msg)
{
    yv_config c;
    yv_err err;
    if (yv_config_load_string(&c, "/r/config.yaml", text, "/r", &err) != -1)
        fail_msg("accepted:\n%s", text);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    assert_string_equal(err.msg, msg);
    /* a failed load leaves nothing to free */
    assert_null(c.cli_bin);
    assert_null(c.vnc_listen);
}

static void test_errors(void **state)
{
    (void)state;
    assert_config_fails("cli:\n  img: /x\nbogus: 1\n",
                        "/r/config.yaml:3:1: unknown key 'bogus' in the file (known: cli, ovmf, "
                        "api, network, vnc, qemu, shutdown)");
    assert_config_fails("cli:\n  bin: /x\n  imgs: /y\n",
                        "/r/config.yaml:3:3: unknown key 'imgs' in cli (known: bin, img, "
                        "genisoimage)");
    assert_config_fails("api:\n  tls:\n    cert: a\n    chain: b\n",
                        "/r/config.yaml:4:5: unknown key 'chain' in api.tls (known: cert, key)");
    assert_config_fails(
        "qemu:\n  accel: fast\n",
        "/r/config.yaml:2:10: qemu.accel must be one of auto, kvm, tcg, not 'fast'");
    assert_config_fails("qemu:\n  accel: KVM\n",
                        "/r/config.yaml:2:10: qemu.accel must be one of auto, kvm, tcg, not 'KVM'");
    assert_config_fails("shutdown:\n  timeout: 0\n",
                        "/r/config.yaml:2:12: shutdown.timeout must be an integer from 1 to 86400, "
                        "not '0'");
    assert_config_fails("shutdown:\n  timeout: 86401\n",
                        "/r/config.yaml:2:12: shutdown.timeout must be an integer from 1 to 86400, "
                        "not '86401'");
    assert_config_fails("network:\n  ssh_port_base: 65536\n",
                        "/r/config.yaml:2:18: network.ssh_port_base must be an integer from 1 to "
                        "65535, not '65536'");
    assert_config_fails("shutdown:\n  timeout: '60'\n",
                        "/r/config.yaml:2:12: shutdown.timeout must be an integer from 1 to 86400, "
                        "not '60'");
    assert_config_fails("shutdown:\n  timeout: 1m\n",
                        "/r/config.yaml:2:12: shutdown.timeout must be an integer from 1 to 86400, "
                        "not '1m'");
    assert_config_fails("api:\n  groups: yave\n",
                        "/r/config.yaml:2:11: api.groups must be a list of strings");
    assert_config_fails("cli: /usr/bin/qemu\n",
                        "/r/config.yaml:1:6: cli must be a mapping (key: value lines)");
    assert_config_fails("vnc:\n  listen: [a]\n",
                        "/r/config.yaml:2:11: vnc.listen must be a string");
    assert_config_fails("network:\n  master: a\n  master: b\n",
                        "/r/config.yaml:3:3: duplicate key 'master' in network");
    assert_config_fails("cli:\n  bin: /a\n  img: /b\ncli:\n  img: /c\n",
                        "/r/config.yaml:4:1: duplicate key 'cli' in the file");
}

static void test_error_after_partial_read_frees(void **state)
{
    (void)state;
    /* strings read before the error are freed (ASan checks) */
    assert_config_fails(
        "cli: {bin: /a, img: b/c}\novmf: {code: x}\napi: {groups: [a, b]}\nzzz: 1\n",
        "/r/config.yaml:4:1: unknown key 'zzz' in the file (known: cli, ovmf, api, "
        "network, vnc, qemu, shutdown)");
}

static void test_relative_paths(void **state)
{
    (void)state;
    yv_config c;
    yv_err err;
    const char *text = "cli:\n"
                       "  bin: kvm\n"
                       "  img: qemu-img\n"
                       "  genisoimage: tools/genisoimage\n"
                       "ovmf:\n"
                       "  code: fw/OVMF_CODE.fd\n"
                       "  vars: OVMF_VARS.fd\n"
                       "api:\n"
                       "  listen: 127.0.0.1:3000\n"
                       "  tls: {cert: cert.pem, key: /abs/key.pem}\n";
    if (yv_config_load_string(&c, "t", text, "/etc/yave", &err) < 0) fail_msg("%s", err.msg);
    /* program names without a slash are looked up on PATH, so they stay bare */
    assert_string_equal(c.cli_bin, "kvm");
    assert_string_equal(c.cli_img, "qemu-img");
    assert_string_equal(yv_config_img(&c), "qemu-img");
    assert_string_equal(c.cli_genisoimage, "/etc/yave/tools/genisoimage");
    /* files are relative to the config's folder even without a slash */
    assert_string_equal(c.ovmf_code, "/etc/yave/fw/OVMF_CODE.fd");
    assert_string_equal(c.ovmf_vars, "/etc/yave/OVMF_VARS.fd");
    assert_string_equal(c.api_tls_cert, "/etc/yave/cert.pem");
    assert_string_equal(c.api_tls_key, "/abs/key.pem");
    /* an address is not a path */
    assert_string_equal(c.api_listen, "127.0.0.1:3000");
    yv_config_done(&c);

    assert_int_equal(yv_config_load_string(&c, "t", "cli: {img: ./bin/qemu-img}\n", "/r", &err), 0);
    assert_string_equal(c.cli_img, "/r/./bin/qemu-img");
    yv_config_done(&c);
}

static void test_load_file(void **state)
{
    char *dir = *state;
    yv_config c;
    yv_err err;
    /* missing config.yaml: built-in defaults, the same as an empty file's (read without YAML) */
    assert_int_equal(yv_config_load(&c, dir, &err), 0);
    assert_defaults(&c);
    yv_config_done(&c);
    ut_write(dir, "config.yaml", "");
    assert_int_equal(yv_config_load(&c, dir, &err), 0);
    assert_defaults(&c);
    yv_config_done(&c);

    ut_write(dir, "config.yaml", "ovmf:\n  code: OVMF_CODE.fd\nshutdown:\n  timeout: 9\n");
    assert_int_equal(yv_config_load(&c, dir, &err), 0);
    char *want = yv_asprintf("%s/OVMF_CODE.fd", dir);
    assert_string_equal(c.ovmf_code, want);
    free(want);
    assert_int_equal(c.shutdown_timeout, 9);
    yv_config_done(&c);

    ut_write(dir, "config.yaml", "shutdown:\n  timeout: 9\n  grace: 1\n");
    assert_int_equal(yv_config_load(&c, dir, &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    want = yv_asprintf("%s/config.yaml:3:3: unknown key 'grace' in shutdown", dir);
    ut_assert_contains(err.msg, want);
    free(want);

    /* a config.yaml that is a folder is an I/O error, not defaults */
    char *path = yv_root_join(dir, "config.yaml");
    unlink(path);
    free(path);
    ut_mkdir(dir, "config.yaml");
    assert_int_equal(yv_config_load(&c, dir, &err), -1);
    assert_int_equal(err.code, YV_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_accel_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_after_partial_read_frees),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test_setup_teardown(test_load_file, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
