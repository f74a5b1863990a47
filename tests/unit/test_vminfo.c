/* Unit tests of core/vminfo.c: what list/status show, including the status JSON of spec §8. */
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>

#include "core/config.h"
#include "core/vminfo.h"

static const char cloud[] = "name: cloud\n"
                            "hardware: {memory: 1024, vcpu: 1, ovmf: true}\n"
                            "vnc: {display: ':1', password: '87654321'}\n"
                            "drives:\n"
                            "  hd0:\n"
                            "    path: hd0.qcow2\n"
                            "    device: {type: virtio-blk, boot_index: 0}\n"
                            "  cd0:\n"
                            "    path: /isos/x.iso\n"
                            "    device: {type: ide, media_type: cd}\n"
                            "networks:\n"
                            "  net0:\n"
                            "    type: tap\n"
                            "    device: {mac: '52:54:a1:23:4b:31', master: br0}\n"
                            "  net1:\n"
                            "    type: tap\n"
                            "    device: {mac: '52:54:a1:23:4b:32', ifname: tap9}\n";

static void write_vm(const char *root, const char *name, const char *text)
{
    char *dir = yv_asprintf("%s.vm", name), *file = yv_asprintf("%s.vm/config.yaml", name);
    ut_mkdir(root, dir);
    if (text) ut_write(root, file, text);
    free(file);
    free(dir);
}

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    return s;
}

static void test_load_valid(void **state)
{
    char *root = *state;
    yv_vminfo info;
    yv_err err;
    write_vm(root, "cloud", cloud);
    assert_int_equal(yv_vminfo_load(&info, root, "cloud", &err), 0);
    assert_true(info.valid);
    assert_int_equal(info.state, YV_STATE_STOPPED);
    assert_string_equal(info.name, "cloud");
    char *dir = yv_asprintf("%s/cloud.vm", root);
    assert_string_equal(info.dir, dir);
    free(dir);
    assert_null(info.problem);
    assert_int_equal(info.pid, 0);
    assert_int_equal(info.vm.memory, 1024);

    yv_config cfg;
    assert_int_equal(yv_config_load_string(&cfg, "t", "network: {master: brglobal}\n", root, &err),
                     0);
    assert_string_equal(yv_vminfo_master(&info.vm.nets[0], &cfg), "br0");
    assert_string_equal(yv_vminfo_master(&info.vm.nets[1], &cfg), "brglobal");
    char *s = dump(yv_vminfo_json(&info, &cfg));
    char *want = yv_asprintf(
        "{\"addresses\":[],\"autostart\":false,\"drives\":[{\"boot_index\":0,\"id\":\"hd0\","
        "\"path\":\"%s/cloud.vm/"
        "hd0.qcow2\","
        "\"type\":\"virtio-blk\"},{\"boot_index\":null,\"id\":\"cd0\",\"media_type\":\"cd\","
        "\"path\":\"/isos/x.iso\",\"type\":\"ide\"}],\"memory\":1024,\"name\":\"cloud\","
        "\"networks\":[{\"id\":\"net0\",\"ifname\":\"yva1234b31n0\",\"mac\":\"52:54:a1:23:4b:31\","
        "\"master\":\"br0\",\"type\":\"tap\"},{\"id\":\"net1\",\"ifname\":\"tap9\","
        "\"mac\":\"52:54:a1:23:4b:32\",\"master\":\"brglobal\",\"type\":\"tap\"}],\"ovmf\":true,"
        "\"pid\":null,\"state\":\"stopped\",\"vcpu\":1,\"vnc\":{\"display\":\":1\","
        "\"listen\":\"127.0.0.1\",\"port\":5901,\"reachable\":false}}",
        root);
    assert_string_equal(s, want);
    /* never a password */
    ut_assert_not_contains(s, "87654321");
    ut_assert_not_contains(s, "password");
    free(want);
    free(s);
    yv_config_done(&cfg);
    yv_vminfo_done(&info);
    assert_null(info.name);
    yv_vminfo_done(NULL);
}

static void test_load_invalid(void **state)
{
    char *root = *state;
    yv_vminfo info;
    yv_err err;
    write_vm(root, "broken", "name: broken\nhardware: {memory: lots, vcpu: 1}\n");
    assert_int_equal(yv_vminfo_load(&info, root, "broken", &err), 0);
    assert_false(info.valid);
    assert_int_equal(info.state, YV_STATE_INVALID);
    char *want = yv_asprintf("%s/broken.vm/config.yaml:2:20: hardware.memory must be an integer "
                             "from 16 to 16777216, not 'lots'",
                             root);
    assert_string_equal(info.problem, want);
    free(want);
    yv_config cfg;
    assert_int_equal(yv_config_load_string(&cfg, "t", "", root, &err), 0);
    char *s = dump(yv_vminfo_json(&info, &cfg));
    want = yv_asprintf("{\"autostart\":false,\"name\":\"broken\",\"pid\":null,\"problem\":\"%s/"
                       "broken.vm/config.yaml:"
                       "2:20: hardware.memory must be an integer from 16 to 16777216, not "
                       "'lots'\",\"state\":\"invalid\"}",
                       root);
    assert_string_equal(s, want);
    free(want);
    free(s);
    yv_config_done(&cfg);
    yv_vminfo_done(&info);

    /* a folder without config.yaml is invalid, not missing */
    write_vm(root, "bare", NULL);
    assert_int_equal(yv_vminfo_load(&info, root, "bare", &err), 0);
    assert_int_equal(info.state, YV_STATE_INVALID);
    ut_assert_contains(info.problem, "bare.vm/config.yaml");
    yv_vminfo_done(&info);
}

static void test_load_missing(void **state)
{
    char *root = *state;
    yv_vminfo info;
    yv_err err;
    assert_int_equal(yv_vminfo_load(&info, root, "ghost", &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    assert_null(info.name);
    assert_int_equal(yv_vminfo_load(&info, root, "../etc", &err), -1);
    assert_int_equal(err.code, YV_E_INVALID_NAME);
}

static void test_list(void **state)
{
    char *root = *state;
    yv_vminfo *v;
    size_t n = 99;
    yv_err err;
    assert_int_equal(yv_vminfo_list(root, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    yv_vminfo_free_list(v, n);

    write_vm(root, "zeta", "name: zeta\nhardware: {memory: 64, vcpu: 1}\n");
    write_vm(root, "alpha", "name: alpha\nhardware: {memory: 128, vcpu: 2}\n");
    write_vm(root, "mid", "name: other\nhardware: {memory: 64, vcpu: 1}\n");
    /* folders whose names are not VM names are not ours to show */
    ut_mkdir(root, "bad name.vm");
    ut_mkdir(root, ".hidden.vm");
    ut_mkdir(root, "-x.vm");
    ut_write(root, "notes.txt", "x");
    assert_int_equal(yv_vminfo_list(root, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].name, "alpha");
    assert_true(v[0].valid);
    assert_int_equal(v[0].vm.vcpu, 2);
    assert_string_equal(v[1].name, "mid");
    assert_false(v[1].valid);
    ut_assert_contains(v[1].problem, "name 'other' does not match the folder name 'mid.vm'");
    assert_string_equal(v[2].name, "zeta");
    assert_true(v[2].valid);
    yv_vminfo_free_list(v, n);
    yv_vminfo_free_list(NULL, 0);
}

static void test_state_names(void **state)
{
    (void)state;
    static const char *const names[] = {"stopped",      "starting",      "installing", "running",
                                        "paused",       "shutting-down", "error",      "crashed",
                                        "unresponsive", "invalid"};
    for (int s = YV_STATE_STOPPED; s <= YV_STATE_INVALID; s++)
        assert_string_equal(yv_vminfo_state_name((yv_state)s), names[s]);
}

static void test_probe(void **state)
{
    char *root = *state;
    yv_err err;
    yv_config cfg;
    assert_int_equal(yv_root_ensure(root, &err), 0);
    assert_int_equal(yv_config_load_string(&cfg, "t", "", root, &err), 0);
    cfg.cli_bin = realpath("/proc/self/exe", NULL); /* our children stand in for QEMU */
    write_vm(root, "a", "name: a\nhardware: {memory: 64, vcpu: 1}\n");
    yv_vminfo info;
    assert_int_equal(yv_vminfo_load(&info, root, "a", &err), 0);
    yv_vminfo_probe(&info, root, &cfg, 0);
    assert_int_equal(info.state, YV_STATE_STOPPED);
    assert_int_equal(info.pid, 0);

    /* a live process holding the pidfile lock: running */
    char *pidfile = yv_asprintf("%s/run/a.pid", root);
    pid_t pid = ut_child(pidfile, false);
    free(cfg.cli_bin);
    cfg.cli_bin = ut_exe_of(pid);
    yv_vminfo_probe(&info, root, &cfg, 0);
    yv_state running = info.state;
    long running_pid = info.pid;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(running, YV_STATE_RUNNING);
    assert_int_equal(running_pid, pid);

    /* it died leaving its pidfile: crashed, and the stale file is gone */
    yv_vminfo_probe(&info, root, &cfg, 0);
    assert_int_equal(info.state, YV_STATE_CRASHED);
    assert_int_equal(info.pid, 0);
    assert_false(yv_root_exists(pidfile));
    free(pidfile);
    yv_vminfo_done(&info);
    yv_config_done(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_valid, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_invalid, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_missing, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_list, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test_setup_teardown(test_probe, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("vminfo", tests, NULL, NULL);
}
