/* Unit tests of core/forward.c: specs, the host side (bind test, holder from /proc) and the root
 * side (the forwards of every VM and of creates under way, the SSH port). forward add|remove on a
 * running QEMU is tested for real in tests/integration/test-forward.sh. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/forward.h"

/* A listening TCP (or bound UDP) socket on 127.0.0.1 at a port the kernel picks; *port gets it. */
static int bound(int type, int *port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t l = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (type == SOCK_STREAM) assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_parse(void **state)
{
    (void)state;
    yv_forward f;
    yv_proto p;
    int host;
    yv_err err;
    assert_int_equal(yv_forward_parse("udp:0.0.0.0:5353:53", &f, &err), 0);
    assert_int_equal(f.proto, YV_PROTO_UDP);
    assert_string_equal(f.address, "0.0.0.0");
    assert_int_equal(f.host, 5353);
    assert_int_equal(f.guest, 53);
    free(f.address);
    assert_int_equal(yv_forward_parse("2201", &f, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    /* remove takes a full spec, or [PROTO:]HOST */
    assert_int_equal(yv_forward_parse_key("tcp:1.2.3.4:2201:22", &p, &host, &err), 0);
    assert_int_equal(host, 2201);
    assert_int_equal(yv_forward_parse_key("udp:53", &p, &host, &err), 0);
    assert_int_equal(p, YV_PROTO_UDP);
    assert_int_equal(host, 53);
    assert_int_equal(yv_forward_parse_key("2202", &p, &host, &err), 0);
    assert_int_equal(p, YV_PROTO_TCP);
    assert_int_equal(host, 2202);
    assert_int_equal(yv_forward_parse_key("sctp:53", &p, &host, &err), -1);
    assert_int_equal(yv_forward_parse_key("tcp:0", &p, &host, &err), -1);
    assert_int_equal(yv_forward_parse_key("verylongprotocol:53", &p, &host, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
}

static void test_host_side(void **state)
{
    (void)state;
    int port, uport;
    char comm[32];
    yv_err err;
    int fd = bound(SOCK_STREAM, &port), ufd = bound(SOCK_DGRAM, &uport);
    yv_forward f = {YV_PROTO_TCP, (char *)"127.0.0.1", port, 22};
    assert_false(yv_forward_host_free(&f));
    /* this process holds it: found through /proc/net/tcp and /proc/self/fd */
    assert_int_equal(yv_forward_holder(&f, comm), getpid());
    assert_true(*comm);
    yv_net n = {.id = (char *)"net0", .forwards = &f, .nforwards = 1};
    yv_vm vm = {.name = (char *)"v", .nets = &n, .nnets = 1};
    assert_int_equal(yv_forward_check_free(&vm, &err), -1);
    assert_int_equal(err.code, YV_E_VM_EXISTS);
    char want[160];
    snprintf(want, sizeof want, "tcp port %d on 127.0.0.1 (networks.net0 of VM 'v')", port);
    ut_assert_contains(err.msg, want);
    snprintf(want, sizeof want, "(pid %d)", (int)getpid());
    ut_assert_contains(err.msg, want);
    yv_forward u = {YV_PROTO_UDP, (char *)"127.0.0.1", uport, 53};
    assert_false(yv_forward_host_free(&u));
    assert_int_equal(yv_forward_holder(&u, comm), getpid());
    close(fd);
    close(ufd);
    assert_true(yv_forward_host_free(&f));
    assert_int_equal(yv_forward_check_free(&vm, &err), 0);
    /* an address that is not this host's is not "in use": it is a mistake (exit 2) */
    f.address = (char *)"192.0.2.7";
    assert_int_equal(yv_forward_bind_errno(&f), EADDRNOTAVAIL);
    assert_int_equal(yv_forward_check_free(&vm, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    ut_assert_contains(err.msg, "192.0.2.7 is not an address of this host");
    ut_assert_not_contains(err.msg, "in use");
}

static void write_vm(const char *root, const char *dir, const char *name, const char *forwards)
{
    char *file = yv_asprintf("%s/config.yaml", dir);
    char *text = yv_asprintf("name: %s\nhardware: {memory: 64, vcpu: 1}\n"
                             "networks:\n  net0:\n    type: user\n    forwards: [%s]\n"
                             "    device: {mac: '52:54:00:00:00:01'}\n",
                             name, forwards);
    ut_mkdir(root, dir);
    ut_write(root, file, text);
    free(text);
    free(file);
}

static void test_root_side(void **state)
{
    ut_root *f = *state;
    yv_forward_uses u;
    yv_err err;
    write_vm(f->root, "a.vm", "a",
             "{host: 40000, guest: 22}, {proto: udp, host: 40001, guest: 53}");
    write_vm(f->root, ".b.vm.part", "b", "{host: 40001, guest: 22}"); /* a create under way */
    ut_mkdir(f->root, "c.vm");
    ut_write(f->root, "c.vm/config.yaml", "not: [valid"); /* ignored */
    yv_forward_collect(f->root, &u);
    assert_int_equal(u.n, 3);
    assert_string_equal(yv_forward_used_by(&u, NULL, YV_PROTO_TCP, 40000), "a");
    assert_null(yv_forward_used_by(&u, "a", YV_PROTO_TCP, 40000)); /* its own */
    assert_string_equal(yv_forward_used_by(&u, "a", YV_PROTO_TCP, 40001), "b");
    assert_string_equal(yv_forward_used_by(&u, NULL, YV_PROTO_UDP, 40001), "a");
    assert_null(yv_forward_used_by(&u, NULL, YV_PROTO_UDP, 40000));
    yv_forward fw[] = {{YV_PROTO_TCP, (char *)"0.0.0.0", 40002, 1},
                       {YV_PROTO_TCP, (char *)"127.0.0.1", 40001, 2}};
    assert_int_equal(yv_forward_check_root(&u, "x", fw, 2, &err), -1);
    assert_int_equal(err.code, YV_E_VM_EXISTS);
    assert_string_equal(err.msg, "tcp port 40001 is already forwarded by VM 'b'");
    assert_int_equal(yv_forward_check_root(&u, "b", fw, 2, &err), 0);
    /* the SSH port: neither a VM's nor one a socket holds */
    int port, fd = bound(SOCK_STREAM, &port);
    int got = yv_forward_pick_ssh(&u, port, &err);
    assert_true(got > port);
    close(fd);
    assert_true(yv_forward_pick_ssh(&u, 40000, &err) >= 40002);
    assert_int_equal(yv_forward_pick_ssh(&u, 65536, &err), -1);
    ut_assert_contains(err.msg, "no free host port for the SSH forward");
    yv_forward_uses_done(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_host_side),
        cmocka_unit_test_setup_teardown(test_root_side, ut_setup_root, ut_teardown_root),
    };
    return cmocka_run_group_tests_name("forward", tests, NULL, NULL);
}
