/* Unit tests of core/ssh.c: where ssh reaches a guest (spec §11) and the argv it runs. The VMs
 * are built in memory (the forwards as the net lane's parser fills them). */
#include "unit.h"

#include "core/ssh.h"

static void user_vm(yv_vm *vm, const char *addr, int host, int guest, yv_proto proto)
{
    memset(vm, 0, sizeof *vm);
    vm->name = yv_strdup("web1");
    yv_net *n = yv_vm_add_net(vm, "net0", "52:54:00:00:00:01", NULL);
    n->type = YV_NET_USER;
    n->forwards = yv_calloc(2, sizeof *n->forwards);
    n->forwards[0] = (yv_forward){YV_PROTO_TCP, addr ? yv_strdup(addr) : NULL, 8080, 80};
    n->forwards[1] = (yv_forward){proto, yv_strdup("127.0.0.1"), host, guest};
    n->nforwards = 2;
}

/* Frees what user_vm added itself (and clears it: yv_vm_done may free forwards too). */
static void user_vm_done(yv_vm *vm)
{
    yv_net *n = &vm->nets[0];
    for (size_t i = 0; i < n->nforwards; i++) free(n->forwards[i].address);
    free(n->forwards);
    n->forwards = NULL;
    n->nforwards = 0;
    yv_vm_done(vm);
}

static void test_forward(void **state)
{
    (void)state;
    yv_vm vm;
    yv_ssh_target t;
    yv_err err;
    user_vm(&vm, NULL, 2201, 22, YV_PROTO_TCP);
    if (yv_ssh_target_of("/r", &vm, NULL, "10.0.0.9", &t, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(t.user, "root");
    assert_string_equal(t.host, "127.0.0.1"); /* the forward wins over an address */
    assert_int_equal(t.port, 2201);
    assert_true(!strncmp(t.alias, "yave-web1-", 10));
    char *alias1 = yv_strdup(t.alias);
    yv_ssh_target_done(&t);
    /* another root: another known_hosts entry for a VM of the same name */
    if (yv_ssh_target_of("/other", &vm, "debian", NULL, &t, &err) < 0) fail_msg("%s", err.msg);
    assert_string_not_equal(t.alias, alias1);
    assert_string_equal(t.user, "debian");
    yv_ssh_target_done(&t);
    free(alias1);
    user_vm_done(&vm);
    /* a UDP forward to port 22 is not SSH */
    user_vm(&vm, NULL, 2202, 22, YV_PROTO_UDP);
    assert_int_equal(yv_ssh_target_of("/r", &vm, NULL, NULL, &t, &err), -1);
    assert_non_null(strstr(err.msg, "no address known for VM 'web1'"));
    user_vm_done(&vm);
}

static void test_address_and_user(void **state)
{
    (void)state;
    yv_vm vm;
    yv_ssh_target t;
    yv_err err;
    memset(&vm, 0, sizeof vm);
    vm.name = yv_strdup("tap1");
    yv_vm_add_net(&vm, "net0", "52:54:00:00:00:02", "br0");
    if (yv_ssh_target_of("/r", &vm, NULL, "192.0.2.10", &t, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(t.host, "192.0.2.10");
    assert_int_equal(t.port, 22);
    yv_ssh_target_done(&t);
    static const char *const bad[] = {
        "-oProxyCommand=x", "", "Root", "a b", "x;y", "abcdefghijabcdefghijabcdefghijabc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(yv_ssh_target_of("/r", &vm, bad[i], "192.0.2.10", &t, &err), -1);
        assert_int_equal(err.code, YV_E_USAGE);
    }
    yv_vm_done(&vm);
}

static void test_argv_and_print(void **state)
{
    (void)state;
    yv_ssh_target t = {"root", "127.0.0.1", 2201, "yave-web1-0000abcd"};
    char *args[] = {"echo", "it's $HOME", "a=b"};
    char **v = yv_ssh_argv("/usr/bin/ssh", &t, args, 3);
    static const char *const want[] = {
        "/usr/bin/ssh", "-p",   "2201", "-o",        "HostKeyAlias=yave-web1-0000abcd",
        "-l",           "root", "--",   "127.0.0.1", "echo",
        "it's $HOME",   "a=b",  NULL};
    for (int i = 0; want[i]; i++) assert_string_equal(v[i], want[i]);
    assert_null(v[12]);
    for (char **p = v; *p; p++) /* OpenSSH's host key checking is never turned off */
        assert_null(strstr(*p, "StrictHostKeyChecking"));
    char *line = yv_ssh_quote_argv(v);
    assert_string_equal(line, "/usr/bin/ssh -p 2201 -o HostKeyAlias=yave-web1-0000abcd -l root -- "
                              "127.0.0.1 echo 'it'\\''s $HOME' a=b");
    free(line);
    yv_ssh_argv_free(v);
    char *empty[] = {"", NULL};
    line = yv_ssh_quote_argv(empty);
    assert_string_equal(line, "''");
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_address_and_user),
        cmocka_unit_test(test_argv_and_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
