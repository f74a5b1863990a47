/* Unit tests of core/addr.c: the agent's interfaces (untrusted: loopback, IPv6 link-local and
 * non-addresses dropped, a cap), a user VM's SSH forward, the order of spec §11, the neighbour
 * table (a permanent entry in a network namespace of our own, when we may make one), and the many-
 * agents fetch against silence (no agent: bounded by the sync deadline). */
#include "unit.h"

#include <poll.h>
#include <sched.h>
#include <sys/wait.h>

#include "core/addr.h"
#include "core/qga.h"

static json_t *interfaces(void)
{
    return json_loads(
        "[{\"name\": \"lo\", \"ip-addresses\": [{\"ip-address-type\": \"ipv4\", \"ip-address\": "
        "\"127.0.0.1\"}, {\"ip-address-type\": \"ipv6\", \"ip-address\": \"::1\"}]},"
        " {\"name\": \"eth0\", \"ip-addresses\": [{\"ip-address\": \"10.0.2.15\"},"
        " {\"ip-address\": \"fe80::5054:ff:fe12:3456\"}, {\"ip-address\": \"2001:DB8::0:1\"},"
        " {\"ip-address\": \"10.0.2.15\"}, {\"ip-address\": \"1.2.3\"}, {\"ip-address\": 7},"
        " {\"ip-address\": \"192.0.2.1; rm -rf /\"}, {\"ip-address\": \"0.0.0.0\"},"
        " {\"ip-address\": \"::\"}, {\"ip-address\": \"::ffff:127.0.0.2\"},"
        " {\"ip-address\": \"::ffff:192.0.2.7\"}]},"
        " {\"name\": \"bad\", \"ip-addresses\": {}}, 3]",
        0, NULL);
}

static void test_from_agent(void **state)
{
    (void)state;
    json_t *ret = interfaces();
    yv_addrs a = {0};
    yv_addr_from_agent(ret, &a);
    assert_int_equal(a.n, 3);
    assert_string_equal(a.v[0].ip, "10.0.2.15");
    assert_string_equal(a.v[1].ip, "2001:db8::1"); /* normalised */
    assert_string_equal(a.v[2].ip, "::ffff:192.0.2.7");
    assert_int_equal(a.v[1].source, YV_ADDR_AGENT);
    yv_addr_from_agent(json_object_get(ret, "nothing"), &a); /* not an array: nothing */
    assert_int_equal(a.n, 3);
    json_decref(ret);
    yv_addrs_done(&a);
}

static void test_cap(void **state)
{
    (void)state;
    yv_addrs a = {0};
    for (int i = 0; i < 100; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
        yv_addrs_add(&a, ip, 0, YV_ADDR_AGENT);
    }
    assert_int_equal(a.n, YV_ADDR_MAX);
    yv_addrs_done(&a);
}

/* A user VM: its forward to guest port 22 (not the others) first, then the agent's; a TAP VM: the
 * agent's, else the neighbour's. */
static void test_order(void **state)
{
    (void)state;
    yv_forward fw[] = {{YV_PROTO_TCP, NULL, 8080, 80},
                       {YV_PROTO_UDP, NULL, 2222, 22},
                       {YV_PROTO_TCP, NULL, 2201, 22}};
    yv_net user = {.id = "net0",
                   .type = YV_NET_USER,
                   .mac = "52:54:00:00:00:01",
                   .forwards = fw,
                   .nforwards = 3};
    yv_vm vm = {.name = "u", .nets = &user, .nnets = 1};
    yv_addrs agent = {0}, neigh = {0}, out = {0};
    yv_addrs_add(&agent, "10.0.2.15", 0, YV_ADDR_AGENT);
    yv_addrs_add(&neigh, "192.0.2.10", 0, YV_ADDR_NEIGHBOUR);
    yv_addr_combine(&vm, &agent, &neigh, &out);
    assert_int_equal(out.n, 2);
    char s[64];
    yv_addr_format(&out.v[0], s, sizeof s);
    assert_string_equal(s, "127.0.0.1:2201");
    assert_int_equal(out.v[0].source, YV_ADDR_FORWARD);
    assert_string_equal(out.v[1].ip, "10.0.2.15");
    json_t *j = yv_addr_json(&out);
    char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(txt, "[{\"ip\":\"127.0.0.1\",\"port\":2201,\"source\":\"forward\"},"
                             "{\"ip\":\"10.0.2.15\",\"source\":\"agent\"}]");
    free(txt);
    json_decref(j);
    yv_addrs_done(&out);

    yv_net tap = {.id = "net0", .type = YV_NET_TAP, .mac = "52:54:00:00:00:02"};
    vm.nets = &tap;
    yv_addr_combine(&vm, &agent, &neigh, &out);
    assert_int_equal(out.n, 1);
    assert_string_equal(out.v[0].ip, "10.0.2.15");
    yv_addrs_done(&out);
    yv_addr_combine(&vm, NULL, &neigh, &out); /* no agent */
    assert_int_equal(out.n, 1);
    assert_string_equal(out.v[0].ip, "192.0.2.10");
    assert_int_equal(out.v[0].source, YV_ADDR_NEIGHBOUR);
    yv_addrs_done(&out);
    yv_addrs_done(&agent);
    yv_addrs_done(&neigh);
}

static const char *ip_tool(void)
{
    return access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip"
           : access("/sbin/ip", X_OK) == 0   ? "/sbin/ip"
                                             : NULL;
}

/* Runs `ip ARGS…`; its exit status. */
static int ip_run(const char **args)
{
    const char *argv[16] = {ip_tool()};
    for (int i = 0; args[i] && i < 14; i++) argv[i + 1] = args[i];
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* In a network namespace of its own (root only), a bridge with a permanent neighbour entry for
 * the VM's MAC and a failed one for another address: only the usable one is found. */
static void test_neighbours(void **state)
{
    (void)state;
    if (geteuid() != 0 || !ip_tool()) skip();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0) _exit(77);
        const char *l1[] = {"link", "add", "d0", "type", "bridge", NULL},
                   *l2[] = {"link", "set", "d0", "up", NULL},
                   *n1[] = {"neigh", "add", "192.0.2.10", "lladdr",    "52:54:00:aa:bb:cc",
                            "dev",   "d0",  "nud",        "permanent", NULL},
                   *n2[] = {"neigh", "add", "192.0.2.11", "lladdr",    "52:54:00:aa:bb:dd",
                            "dev",   "d0",  "nud",        "permanent", NULL};
        if (ip_run(l1) || ip_run(l2) || ip_run(n1) || ip_run(n2)) _exit(77);
        yv_net tap = {.id = "net0", .type = YV_NET_TAP, .mac = "52:54:00:AA:BB:CC"};
        yv_vm vm = {.name = "t", .nets = &tap, .nnets = 1};
        yv_addrs a = {0};
        yv_err err;
        if (yv_addr_from_neighbours(&vm, &a, &err) != 0) _exit(2);
        int ok = a.n == 1 && !strcmp(a.v[0].ip, "192.0.2.10") && a.v[0].source == YV_ADDR_NEIGHBOUR;
        yv_addrs_done(&a);
        _exit(ok ? 0 : 3);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) skip();
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* Eight VMs whose agents are silent (listeners that never accept), one with no socket and one not
 * asked: all asked at once, so the wait is about one sync deadline, not eight (2.4 s); nothing
 * found. */
static void test_many_silent(void **state)
{
    char *dir = *state, *paths[10] = {NULL};
    int l[8];
    for (int i = 0; i < 8; i++) {
        paths[i] = yv_asprintf("%s/%d.qga", dir, i);
        l[i] = ut_unix_listen(paths[i], 4);
    }
    paths[9] = yv_asprintf("%s/none.qga", dir);
    yv_addrs out[10] = {{0}};
    int64_t t0 = yv_now_ms();
    yv_addr_agent_many((const char *const *)paths, out, 10, 300, 1000);
    int64_t took = yv_now_ms() - t0;
    assert_true(took >= 300);
    assert_true(took < 8 * 300 - 600); /* a loose bound: not one deadline after the other */
    for (int i = 0; i < 10; i++) assert_int_equal(out[i].n, 0);
    for (int i = 0; i < 8; i++) close(l[i]);
    for (int i = 0; i < 10; i++) free(paths[i]);
}

/* The watch: an exchange when first seen, then nothing due until the row is drawn again (a VM out
 * of sight costs no wakeup); no descriptor between exchanges. */
static void test_watch_idle_until_shown(void **state)
{
    char *path = yv_asprintf("%s/w.qga", (char *)*state);
    int l = ut_unix_listen(path, 4); /* accepts nothing: no agent */
    yv_net user = {.id = "net0", .type = YV_NET_USER};
    yv_forward fw = {YV_PROTO_TCP, NULL, 2201, 22};
    user.forwards = &fw;
    user.nforwards = 1;
    yv_vm vm = {.name = "w", .nets = &user, .nnets = 1};
    int64_t now = yv_now_ms();
    yv_addr_watch *w = yv_addr_watch_new(path, now);
    assert_true(yv_addr_watch_due(w) <= now);
    assert_false(yv_addr_watch_handle(w, &vm, YV_ADDR_ASK, 0, now)); /* the exchange begins */
    struct pollfd p;
    int64_t end = now + 5000;
    while (yv_now_ms() < end && yv_addr_watch_pollfd(w, &p)) {
        poll(&p, 1, 20);
        yv_addr_watch_handle(w, &vm, YV_ADDR_ASK, p.revents, yv_now_ms());
    }
    assert_int_equal(yv_addr_watch_pollfd(w, &p), 0);
    assert_int_equal(yv_addr_watch_addrs(w)->n, 1); /* the forward, without the agent */
    assert_int_equal(yv_addr_watch_addrs(w)->v[0].source, YV_ADDR_FORWARD);
    assert_true(yv_addr_watch_due(w) == INT64_MAX); /* not drawn: nothing due */
    yv_addr_watch_shown(w);
    /* the next exchange: the first point of the YV_ADDR_WATCH_MS grid after the one that began at
     * `now` (not "later than the clock": an exchange begun just before a grid point, slow under
     * valgrind, ends after it) */
    int64_t due = yv_addr_watch_due(w);
    assert_true(due == (now / YV_ADDR_WATCH_MS + 1) * YV_ADDR_WATCH_MS);
    /* the agent came (VSERPORT_CHANGE): the next exchange is due within half a second */
    int64_t t = yv_now_ms();
    yv_addr_watch_poke(w, t);
    assert_true(yv_addr_watch_due(w) <= t + 500);
    yv_addr_watch_free(w);
    close(l);
    free(path);
}

/* One JSON line the client wrote (after an optional 0xFF); NULL at its end. */
static json_t *agent_line(int fd)
{
    char line[4096];
    size_t n = 0;
    while (n < sizeof line - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n') n++;
    line[n] = '\0';
    return n ? json_loads(line[0] == '\xff' ? line + 1 : line, 0, NULL) : NULL;
}

/* A fake agent in a child: serves `clients` clients one after the other (the sync, then eth0's
 * addresses to any command), each until it leaves. */
static pid_t fake_agent(int l, int clients)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid) return pid;
    for (int i = 0; i < clients; i++) {
        int fd = accept(l, NULL, NULL);
        json_t *j;
        for (int k = 0; fd >= 0 && (j = agent_line(fd)); k++) {
            json_t *args = json_object_get(j, "arguments");
            json_int_t id = json_integer_value(json_object_get(k ? j : args, "id"));
            char buf[512];
            int n = k ? snprintf(buf, sizeof buf,
                                 "{\"return\": [{\"name\": \"eth0\", \"ip-addresses\": "
                                 "[{\"ip-address\": \"10.0.2.15\"}]}], \"id\": %lld}\n",
                                 (long long)id)
                      : snprintf(buf, sizeof buf, "\xff{\"return\": %lld}\n", (long long)id);
            json_decref(j);
            if (write(fd, buf, (size_t)n) != n) _exit(1);
        }
        if (fd >= 0) close(fd);
    }
    _exit(0);
}

/* Turns the watch through one exchange with the agent as `agent` says; whether they changed. */
static bool watch_exchange(yv_addr_watch *w, const yv_vm *vm, yv_addr_agent agent)
{
    int64_t now = yv_now_ms(), end = now + 5000;
    yv_addr_watch_poke(w, now - 500); /* due now */
    bool changed = yv_addr_watch_handle(w, vm, agent, 0, now);
    struct pollfd p;
    while (yv_now_ms() < end && yv_addr_watch_pollfd(w, &p)) {
        poll(&p, 1, 20);
        changed |= yv_addr_watch_handle(w, vm, agent, p.revents, yv_now_ms());
    }
    assert_false(yv_addr_watch_busy(w));
    return changed;
}

/* What the agent said: asked, it is there; a paused guest's (KEEP) stays; a guest that closed
 * its port (GONE) is not asked — no connection — and what its agent said is forgotten, the
 * forward stays. */
static void test_watch_agent_modes(void **state)
{
    char *path = yv_asprintf("%s/m.qga", (char *)*state);
    int l = ut_unix_listen(path, 4);
    pid_t agent = fake_agent(l, 1);
    yv_net user = {.id = "net0", .type = YV_NET_USER};
    yv_forward fw = {YV_PROTO_TCP, NULL, 2201, 22};
    user.forwards = &fw;
    user.nforwards = 1;
    yv_vm vm = {.name = "m", .nets = &user, .nnets = 1};
    yv_addr_watch *w = yv_addr_watch_new(path, yv_now_ms());
    assert_true(watch_exchange(w, &vm, YV_ADDR_ASK));
    const yv_addrs *a = yv_addr_watch_addrs(w);
    assert_int_equal(a->n, 2); /* a user VM's forward, then its agent's (spec §11's order) */
    assert_int_equal(a->v[0].source, YV_ADDR_FORWARD);
    assert_string_equal(a->v[1].ip, "10.0.2.15");
    assert_int_equal(a->v[1].source, YV_ADDR_AGENT);
    int st;
    assert_int_equal(waitpid(agent, &st, 0), agent); /* its one client came and left */
    assert_false(watch_exchange(w, &vm, YV_ADDR_KEEP));
    assert_int_equal(a->n, 2);
    assert_true(watch_exchange(w, &vm, YV_ADDR_GONE));
    assert_int_equal(a->n, 1);
    assert_int_equal(a->v[0].source, YV_ADDR_FORWARD);
    /* neither KEEP nor GONE connected: nobody waits in the listener's queue */
    struct pollfd p = {l, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 0), 0);
    yv_addr_watch_free(w);
    close(l);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_agent),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_neighbours),
        cmocka_unit_test_setup_teardown(test_many_silent, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_watch_idle_until_shown, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_watch_agent_modes, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
