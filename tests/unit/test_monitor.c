/* Unit tests of core/monitor.c on a temporary root: after every rescan the list is sorted by
 * name and every lookup by name finds its own entry, whatever came and went in between. */
#include "unit.h"

#include <poll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "core/config.h"
#include "core/lifecycle.h"
#include "core/monitor.h"
#include "core/ops.h"
#include "core/qmp.h"
#include "core/vminfo.h"

typedef ut_root fixture;

/* unit.h's temporary root, with run/ made */
static int setup(void **state)
{
    if (ut_setup_root(state) < 0) return -1;
    ut_mkdir(((fixture *)*state)->root, "run");
    return 0;
}

static int teardown(void **state)
{
    return ut_teardown_root(state);
}

static void add_vm(fixture *f, const char *name)
{
    char *rel = yv_asprintf("%s.vm", name);
    ut_mkdir(f->root, rel);
    free(rel);
}

static void rename_vm(fixture *f, const char *from, const char *to)
{
    char *a = yv_asprintf("%s/%s.vm", f->root, from), *b = yv_asprintf("%s/%s.vm", f->root, to);
    if (rename(a, b) < 0) fail_msg("rename %s %s: %s", a, b, strerror(errno));
    free(a);
    free(b);
}

static void remove_vm(fixture *f, const char *name)
{
    char *p = yv_asprintf("%s/%s.vm", f->root, name);
    if (rmdir(p) < 0) fail_msg("rmdir %s: %s", p, strerror(errno));
    free(p);
}

/* Rescans now, as the TUI does after an action of its own. */
static void rescan(yv_monitor *m)
{
    yv_monitor_poke(m);
    yv_monitor_dispatch(m, NULL, 0);
}

/* The monitor lists exactly want (sorted, space-separated), each found by name. */
static void assert_listing(const yv_monitor *m, const char *want)
{
    char got[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < yv_monitor_count(m) && len < sizeof got; i++) {
        const yv_monitor_vm *v = yv_monitor_get(m, i);
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i ? " " : "", v->name);
        if (i && strcmp(yv_monitor_get(m, i - 1)->name, v->name) >= 0)
            fail_msg("not sorted: %s", got);
    }
    assert_string_equal(got, want);
    for (size_t i = 0; i < yv_monitor_count(m); i++) {
        const yv_monitor_vm *v = yv_monitor_get(m, i);
        const yv_monitor_vm *hit = yv_monitor_find(m, v->name);
        if (hit != v) fail_msg("find(\"%s\") found %s", v->name, hit ? hit->name : "nothing");
    }
}

/* One VM gone and one new in the same rescan: the count stays, the order must not break. */
static void test_swap_in_one_rescan(void **state)
{
    fixture *f = *state;
    add_vm(f, "a");
    add_vm(f, "c");
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, NULL);
    assert_listing(m, "a c");
    remove_vm(f, "a"); /* the first gone, a new one before the last */
    add_vm(f, "b");
    rescan(m);
    assert_listing(m, "b c");
    assert_null(yv_monitor_find(m, "a"));
    rename_vm(f, "c", "a"); /* renamed: the new name sorts first */
    rescan(m);
    assert_listing(m, "a b");
    assert_null(yv_monitor_find(m, "c"));
    yv_monitor_free(m);
}

/* Several gone and as many new, interleaved, over a few rescans. */
static void test_churn(void **state)
{
    fixture *f = *state;
    add_vm(f, "d");
    add_vm(f, "h");
    add_vm(f, "m");
    add_vm(f, "t");
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, NULL);
    assert_listing(m, "d h m t");
    remove_vm(f, "t");
    remove_vm(f, "h");
    add_vm(f, "a");
    add_vm(f, "k");
    rescan(m);
    assert_listing(m, "a d k m");
    assert_null(yv_monitor_find(m, "h"));
    assert_null(yv_monitor_find(m, "t"));
    rename_vm(f, "m", "b");
    remove_vm(f, "a");
    add_vm(f, "z");
    rescan(m);
    assert_listing(m, "b d k z");
    rescan(m); /* nothing changed */
    assert_listing(m, "b d k z");
    yv_monitor_free(m);
}

/* A create that still holds its .part lock while the folder of that name exists (it is about to
 * fail, or it has just renamed it): one entry, the real one, in the first scan and in later ones.
 */
static void test_creating_and_real_listed_once(void **state)
{
    fixture *f = *state;
    add_vm(f, "b");
    add_vm(f, "x");
    ut_mkdir(f->root, ".x.vm.part");
    char *part = yv_asprintf("%s/.x.vm.part", f->root);
    int fd = open(part, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, NULL);
    assert_listing(m, "b x");
    remove_vm(f, "x");
    rescan(m);
    assert_listing(m, "b x"); /* only the create's now */
    assert_int_equal(yv_monitor_find(m, "x")->state, YV_STATE_INSTALLING);
    add_vm(f, "x");
    add_vm(f, "a");
    rescan(m);
    assert_listing(m, "a b x");
    assert_int_not_equal(yv_monitor_find(m, "x")->state, YV_STATE_INSTALLING);
    close(fd);
    yv_monitor_free(m);
    rmdir(part);
    free(part);
}

/* A config yv_vm_load accepts, with this much memory. */
static void write_config(fixture *f, const char *name, int memory)
{
    char *rel = yv_asprintf("%s.vm/config.yaml", name);
    char *text = yv_asprintf("name: %s\nhardware:\n  memory: %d\n  vcpu: 1\n  ovmf: false\n"
                             "vnc:\n  display: ':7'\n  password: 'Abcdefgh'\n",
                             name, memory);
    ut_write(f->root, rel, text);
    free(text);
    free(rel);
}

/* One turn of the caller's poll loop, waiting as long as the monitor asks (at most 10 s: a bound on
 * a hang); the timeout it asked for. */
static int turn(yv_monitor *m)
{
    struct pollfd fds[16];
    int timeout = -1;
    size_t n = yv_monitor_pollfds(m, fds, 16, &timeout);
    poll(fds, n, timeout < 0 || timeout > 10000 ? 10000 : timeout);
    yv_monitor_dispatch(m, fds, n);
    return timeout;
}

/* Nothing runs and nothing changes: once every config is read the monitor asks the loop for no
 * timer at all; a VM folder made and a config edited by another process still show (inotify). */
static void test_idle_needs_no_timer(void **state)
{
    fixture *f = *state;
    add_vm(f, "a");
    write_config(f, "a", 64);
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, NULL);
    int timeout = 0;
    for (int i = 0; i < 100 && timeout >= 0; i++) timeout = turn(m); /* the configs first */
    assert_int_equal(timeout, -1);
    add_vm(f, "b");
    for (int i = 0; i < 5 && yv_monitor_count(m) < 2; i++) turn(m);
    assert_listing(m, "a b");
    assert_int_equal(yv_monitor_find(m, "a")->vm.memory, 64);
    write_config(f, "a", 128);
    for (int i = 0; i < 5 && yv_monitor_find(m, "a")->vm.memory != 128; i++) turn(m);
    assert_int_equal(yv_monitor_find(m, "a")->vm.memory, 128);
    assert_int_equal(yv_monitor_find(m, "a")->state, YV_STATE_STOPPED);
    yv_monitor_free(m);
}

/* A list of VMs is known by name before any config is read, and a row asked for is read then. */
static void test_names_before_configs(void **state)
{
    fixture *f = *state;
    add_vm(f, "a");
    write_config(f, "a", 96);
    add_vm(f, "b"); /* no config: invalid, once read */
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, NULL);
    assert_int_equal(yv_monitor_count(m), 2);
    assert_string_equal(yv_monitor_name(m, 0), "a");
    assert_string_equal(yv_monitor_name(m, 1), "b");
    assert_int_equal(yv_monitor_running(m), 0);
    const yv_monitor_vm *v = yv_monitor_row(m, 1);
    assert_false(v->valid);
    assert_int_equal(v->state, YV_STATE_INVALID);
    v = yv_monitor_get(m, 0);
    assert_true(v->valid);
    assert_int_equal(v->vm.memory, 96);
    assert_int_equal(v->state, YV_STATE_STOPPED);
    yv_monitor_free(m);
}

/* ---- a live QEMU whose QMP sockets accept and stay silent ---- */

static int setup_qemu(void **state)
{
    if (setup(state) < 0) return -1;
    fixture *f = *state;
    free(f->cfg.vnc_listen); /* a loopback address of its own: no clash with other VNC servers */
    f->cfg.vnc_listen = yv_strdup("127.78.0.1");
    return 0;
}

/* Stops the test's QEMU however the test ended. */
static int teardown_qemu(void **state)
{
    fixture *f = *state;
    yv_stop_step how;
    yv_err err;
    yv_lifecycle_shutdown(f->root, &f->cfg, "q", true, 1, &how, &err);
    return teardown(state);
}

/* run/<vm><suffix> moves aside and a listener that never greets takes its place. */
static int fake_socket(fixture *f, const char *suffix)
{
    char *path = yv_asprintf("%s/run/q%s", f->root, suffix);
    char *aside = yv_asprintf("%s.real", path);
    if (rename(path, aside) < 0) fail_msg("rename %s: %s", path, strerror(errno));
    int l = ut_unix_listen(path, 8);
    fcntl(l, F_SETFL, O_NONBLOCK);
    free(aside);
    free(path);
    return l;
}

/* Creates VM q (no disk to boot, no network) and runs it. */
static void start_qemu(fixture *f)
{
    yv_create_opts o;
    yv_run_result res;
    yv_err err;
    char *pw = NULL;
    yv_ops_create_defaults(&o);
    o.name = "q";
    o.capacity = 64;
    o.memory = 64;
    o.ovmf = false;
    o.net_kind = "none";
    o.vnc_password = "Abcdefgh";
    if (yv_ops_create(f->root, &f->cfg, &o, &pw, &err) < 0) fail_msg("create: %s", err.msg);
    free(pw);
    if (yv_lifecycle_run(f->root, &f->cfg, "q", &res, &err) < 0) fail_msg("run: %s", err.msg);
}

/* The TUI's view of a live QEMU whose QMP sockets accept its probes and never say a word: hung,
 * `unresponsive` (its own accepted probe is not "another client", so not `running`, busy). */
static void test_silent_qmp_is_unresponsive(void **state)
{
    fixture *f = *state;
    start_qemu(f);
    int ls[2] = {fake_socket(f, ".sock"), fake_socket(f, ".events")}, held[64], nheld = 0;
    yv_monitor_opts mo = {.refresh_ms = 200, .qmp_timeout_ms = 300};
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, &mo);
    const yv_monitor_vm *v = yv_monitor_find(m, "q");
    int64_t end = yv_now_ms() + 10000; /* a bound on a hang, not a timing claim */
    while (yv_now_ms() < end && (v = yv_monitor_find(m, "q"))->state != YV_STATE_UNRESPONSIVE) {
        struct pollfd fds[16];
        int timeout = 50;
        size_t n = yv_monitor_pollfds(m, fds, 16, &timeout);
        poll(fds, n, timeout < 50 ? timeout : 50);
        yv_monitor_dispatch(m, fds, n);
        for (int i = 0; i < 2; i++) { /* accept, never greet */
            int c;
            while (nheld < 64 && (c = accept(ls[i], NULL, NULL)) >= 0) held[nheld++] = c;
        }
    }
    assert_true(nheld > 0); /* the monitor did connect */
    if (v->state != YV_STATE_UNRESPONSIVE)
        fail_msg("state %s (%s), want unresponsive", yv_vminfo_state_name(v->state), v->detail);
    assert_null(strstr(v->detail, "busy"));
    yv_monitor_free(m);
    for (int i = 0; i < nheld; i++) close(held[i]);
    close(ls[0]);
    close(ls[1]);
}

/* ---- a real QEMU, as the TUI's loop sees it ---- */

/* One turn of the caller's poll loop (at most 50 ms). */
static void spin(yv_monitor *m)
{
    struct pollfd fds[16];
    int timeout = 50;
    size_t n = yv_monitor_pollfds(m, fds, 16, &timeout);
    poll(fds, n, timeout < 50 ? timeout : 50);
    yv_monitor_dispatch(m, fds, n);
}

/* q shows want, and a detail containing has (NULL: any detail; "": none). */
static bool shows(const yv_monitor_vm *v, yv_state want, const char *has)
{
    return v->state == want && (!has || (*has ? strstr(v->detail, has) != NULL : !v->detail[0]));
}

/* Runs the caller's poll loop until q shows want and has, at most ms (a bound on a hang, not a
 * timing claim); q's row then. */
static const yv_monitor_vm *loop_until(yv_monitor *m, yv_state want, const char *has, int ms)
{
    int64_t end = yv_now_ms() + ms;
    const yv_monitor_vm *v = yv_monitor_find(m, "q");
    while (yv_now_ms() < end && !shows(v, want, has)) {
        spin(m);
        v = yv_monitor_find(m, "q");
    }
    if (!shows(v, want, has))
        fail_msg("state %s (%s), want %s (%s)", yv_vminfo_state_name(v->state), v->detail,
                 yv_vminfo_state_name(want), has ? has : "");
    return v;
}

/* A client of our own on run/q<suffix>, greeted (QEMU serves it, others wait). */
static yv_qmp *hold_qmp(fixture *f, const char *suffix)
{
    yv_err err;
    char *path = yv_asprintf("%s/run/q%s", f->root, suffix);
    yv_qmp *q = yv_qmp_new();
    int64_t deadline = yv_now_ms() + 5000;
    if (yv_qmp_connect_wait(q, path, deadline, &err) < 0 || yv_qmp_greet(q, deadline, &err) < 0)
        fail_msg("QMP on %s: %s", path, err.msg);
    free(path);
    return q;
}

static void qmp_run(yv_qmp *q, const char *cmd)
{
    yv_err err;
    if (yv_qmp_call(q, cmd, NULL, NULL, yv_now_ms() + 5000, &err) != 0)
        fail_msg("%s: %s", cmd, err.msg);
}

/* Running, its QMP status and process facts; paused and resumed by another client (the event on
 * the held event socket shows it); stopped when its QEMU exits (the pidfd tells). */
static void test_real_qemu_states(void **state)
{
    fixture *f = *state;
    start_qemu(f);
    yv_monitor_opts mo = {.refresh_ms = 200, .qmp_timeout_ms = 2000};
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, &mo);
    const yv_monitor_vm *v = loop_until(m, YV_STATE_RUNNING, "", 10000);
    assert_true(v->pid > 0);
    for (int i = 0; i < 100 && !v->qmp_status[0]; i++) { /* the first answer */
        spin(m);
        v = yv_monitor_find(m, "q");
    }
    assert_string_equal(v->qmp_status, "running");
    assert_string_equal(v->detail, "");
    yv_qmp *other = hold_qmp(f, ".sock");
    qmp_run(other, "stop");
    v = loop_until(m, YV_STATE_PAUSED, NULL, 10000);
    qmp_run(other, "cont");
    v = loop_until(m, YV_STATE_RUNNING, "", 10000);
    assert_true(v->uptime_s >= 0);
    yv_qmp_free(other);
    yv_stop_step how;
    yv_err err;
    if (yv_lifecycle_shutdown(f->root, &f->cfg, "q", true, 5, &how, &err) < 0)
        fail_msg("shutdown: %s", err.msg);
    v = loop_until(m, YV_STATE_STOPPED, NULL, 10000);
    assert_int_equal(v->pid, 0);
    yv_monitor_free(m);
}

/* The metrics of a running VM (spec §15) are sampled only for a row drawn with them: a row drawn
 * without (yv_monitor_row) and the loop turning leave none; drawn with them, its resident memory
 * shows, and its disk counters come by query-blockstats on the held socket (rates of 0: a guest in
 * SeaBIOS with an empty disk, after its boot tried it); no network: unknown. Stopped: gone. */
static void test_real_qemu_metrics_only_when_drawn(void **state)
{
    fixture *f = *state;
    start_qemu(f);
    yv_monitor_opts mo = {.refresh_ms = 200, .qmp_timeout_ms = 2000};
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, &mo);
    const yv_monitor_vm *v = loop_until(m, YV_STATE_RUNNING, "", 10000);
    for (int i = 0; i < 10; i++) spin(m);
    assert_null(yv_monitor_row(m, 0)->metrics);
    assert_null(v->metrics);
    int64_t end = yv_now_ms() + 10000; /* a bound on a hang, not a timing claim */
    while (yv_now_ms() < end) {
        v = yv_monitor_row_metrics(m, 0);
        if (v->metrics && v->metrics->rate[YV_MET_DISK_WR] == 0 &&
            v->metrics->rate[YV_MET_DISK_RD] == 0)
            break;
        spin(m);
    }
    assert_non_null(v->metrics);
    assert_true(v->metrics->rss > 1024 * 1024);
    assert_true(v->metrics->rate[YV_MET_DISK_WR] == 0);
    assert_true(v->metrics->rate[YV_MET_NET_RX] < 0);
    double h[YV_METRICS_HIST];
    assert_true(yv_metrics_history(v->metrics, YV_MET_DISK_WR, h, YV_METRICS_HIST) >= 1);
    yv_stop_step how;
    yv_err err;
    if (yv_lifecycle_shutdown(f->root, &f->cfg, "q", true, 5, &how, &err) < 0)
        fail_msg("shutdown: %s", err.msg);
    v = loop_until(m, YV_STATE_STOPPED, NULL, 10000);
    assert_null(v->metrics);
    yv_monitor_free(m);
}

/* Sleeps until just after a refresh tick (every timer of the monitor falls on that grid). */
static void just_after_tick(int refresh_ms)
{
    int64_t now = yv_now_ms();
    usleep((useconds_t)((refresh_ms - now % refresh_ms + 10) * 1000));
}

/* New disk rates are a change of the view by themselves: the poll turn that reads the
 * query-blockstats answer says so (yv_monitor_dispatch), so the row shows them at once instead
 * of a refresh late (dd's end in a guest showed as 0 only ~3 s after, issue 20). Asked just after
 * a tick, the answer comes long before the next: no show tick says "changed" for it. */
static void test_real_qemu_new_rates_drawn_at_once(void **state)
{
    fixture *f = *state;
    start_qemu(f);
    yv_monitor_opts mo = {.refresh_ms = 1000, .qmp_timeout_ms = 2000};
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, &mo);
    const yv_monitor_vm *v = loop_until(m, YV_STATE_RUNNING, "", 10000);
    bool changed = false;
    for (int ask = 0; ask < 10 && !(v->metrics && v->metrics->rate[YV_MET_DISK_WR] >= 0); ask++) {
        just_after_tick(mo.refresh_ms); /* a refresh since the last ask: the row asks again */
        v = yv_monitor_row_metrics(m, 0);
        int64_t end = yv_now_ms() + 900; /* the answer, before the next tick */
        changed = false;
        while (yv_now_ms() < end && !(v->metrics->rate[YV_MET_DISK_WR] >= 0)) {
            struct pollfd fds[16];
            int timeout = 50;
            size_t n = yv_monitor_pollfds(m, fds, 16, &timeout);
            poll(fds, n, timeout < 50 ? timeout : 50);
            changed = yv_monitor_dispatch(m, fds, n);
        }
    }
    assert_non_null(v->metrics);
    assert_true(v->metrics->rate[YV_MET_DISK_WR] >= 0); /* the second answer: a rate */
    assert_true(changed); /* … and the turn that read it said the view changed */
    yv_monitor_free(m);
}

/* Both QMP sockets served to other clients: `running` and "busy", never `unresponsive`; the
 * monitor asks again once one is free. */
static void test_real_qemu_busy_is_not_hung(void **state)
{
    fixture *f = *state;
    start_qemu(f);
    yv_qmp *held[2] = {hold_qmp(f, ".events"), hold_qmp(f, ".sock")};
    yv_monitor_opts mo = {.refresh_ms = 200, .qmp_timeout_ms = 300};
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, &mo);
    const yv_monitor_vm *v = loop_until(m, YV_STATE_RUNNING, "QMP busy", 10000);
    assert_string_equal(v->detail, "QMP busy: another client is connected");
    yv_qmp_free(held[1]); /* .sock is free again: the next refresh answers there */
    v = loop_until(m, YV_STATE_RUNNING, "", 10000);
    assert_string_equal(v->qmp_status, "running");
    yv_qmp_free(held[0]);
    yv_monitor_free(m);
}

/* A fake guest agent on the listener l (QEMU's run/q.qga moved aside): answers the sync and the
 * interfaces, then waits for the client to leave; exits 0 only if it did. */
static pid_t fake_agent(int l)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) return pid;
    struct pollfd p = {l, POLLIN, 0}; /* l stays non-blocking: its flags are the parent's too */
    poll(&p, 1, -1);
    int fd = accept(l, NULL, NULL);
    fcntl(fd, F_SETFL, 0);
    char line[1024], buf[512];
    for (int round = 0; round < 2; round++) {
        size_t n = 0;
        while (n < sizeof line - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
            if (line[n] != '\xff') n++;
        line[n] = '\0';
        json_t *j = json_loads(line, 0, NULL);
        json_int_t id = json_integer_value(json_object_get(j, "id"));
        json_int_t sync =
            json_integer_value(json_object_get(json_object_get(j, "arguments"), "id"));
        json_decref(j);
        int k = round == 0 ? snprintf(buf, sizeof buf, "\xff{\"return\": %lld}\n", (long long)sync)
                           : snprintf(buf, sizeof buf,
                                      "{\"return\": [{\"name\": \"lo\", \"ip-addresses\": "
                                      "[{\"ip-address\": \"127.0.0.1\"}]}, {\"name\": \"eth0\", "
                                      "\"ip-addresses\": [{\"ip-address\": \"10.0.2.15\"}]}], "
                                      "\"id\": %lld}\n",
                                      (long long)id);
        if (write(fd, buf, (size_t)k) != k) _exit(1);
    }
    while (read(fd, buf, sizeof buf) > 0) {
    }
    _exit(0);
}

/* Answers of an event socket whose guest holds the agent's port open. */
static const char *agent_open_answer(const char *cmd, void *user)
{
    (void)user;
    if (cmd && !strcmp(cmd, "query-status")) return "{\"status\": \"running\"}";
    if (cmd && !strcmp(cmd, "query-chardev"))
        return "[{\"label\": \"qga0\", \"filename\": \"x\", \"frontend-open\": true}]";
    return NULL;
}

/* A QMP event socket in a child, in place of QEMU's: greets each client and answers by name —
 * query-status "running", query-chardev with the agent's port open (what a guest running an agent
 * makes QEMU say; an empty 64 MiB guest runs none) — until SIGTERM. */
static pid_t fake_events_agent_open(int l)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that fails midway never sends the SIGTERM */
    for (;;) {
        struct pollfd p = {l, POLLIN, 0};
        poll(&p, 1, -1);
        int fd = accept(l, NULL, NULL);
        if (fd < 0) continue;
        fcntl(fd, F_SETFL, 0);
        FILE *in = fdopen(fd, "r"), *out = fdopen(dup(fd), "w");
        char line[4096];
        if (!in || !out) _exit(1);
        fputs("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n", out);
        fflush(out);
        while (fgets(line, sizeof line, in)) ut_qmp_reply(out, line, agent_open_answer, NULL);
        fclose(in);
        fclose(out);
    }
}

/* The agent's addresses reach the row when the VM is first seen running, over one exchange that
 * ends with the socket closed (the fake agent exits only then). The event socket says the guest
 * opened the agent's port: QEMU's own would say it is closed, and a closed port is not asked
 * (test_real_qemu_without_agent). */
static void test_real_qemu_addresses_from_agent(void **state)
{
    fixture *f = *state;
    start_qemu(f);
    int l = fake_socket(f, ".qga"), le = fake_socket(f, ".events");
    pid_t agent = fake_agent(l), events = fake_events_agent_open(le);
    yv_monitor_opts mo = {.refresh_ms = 200, .qmp_timeout_ms = 2000};
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, &mo);
    const yv_monitor_vm *v = yv_monitor_find(m, "q");
    int64_t end = yv_now_ms() + 10000; /* a bound on a hang */
    while (yv_now_ms() < end && (v = yv_monitor_find(m, "q"))->addrs.n == 0) spin(m);
    assert_int_equal(v->addrs.n, 1);
    assert_string_equal(v->addrs.v[0].ip, "10.0.2.15");
    assert_int_equal(v->addrs.v[0].source, YV_ADDR_AGENT);
    int st;
    assert_int_equal(waitpid(agent, &st, 0), agent); /* we left: the socket is free */
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (int i = 0; i < 10; i++) spin(m); /* its row not drawn: no second exchange */
    assert_int_equal(accept(l, NULL, NULL), -1);
    yv_monitor_free(m);
    kill(events, SIGTERM);
    assert_int_equal(waitpid(events, &st, 0), events);
    close(l);
    close(le);
}

/* No agent in the guest: QEMU's query-chardev says the guest never opened the agent's port, so
 * the agent is never asked — no connection to run/q.qga at all (it would wait out the sync's
 * deadline, then look for another client of the socket), and no address. */
static void test_real_qemu_without_agent(void **state)
{
    fixture *f = *state;
    start_qemu(f);
    int l = fake_socket(f, ".qga"); /* a listener that counts who connects */
    yv_monitor_opts mo = {.refresh_ms = 200, .qmp_timeout_ms = 2000};
    yv_monitor *m = yv_monitor_new(f->root, &f->cfg, &mo);
    loop_until(m, YV_STATE_RUNNING, "", 10000);
    int64_t end = yv_now_ms() + 2500; /* past the 1 s sync deadline */
    while (yv_now_ms() < end) spin(m);
    assert_int_equal(yv_monitor_find(m, "q")->addrs.n, 0);
    assert_int_equal(accept(l, NULL, NULL), -1);
    assert_int_equal(errno, EAGAIN);
    yv_monitor_free(m);
    close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_swap_in_one_rescan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_churn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creating_and_real_listed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_needs_no_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_qemu_addresses_from_agent, setup_qemu,
                                        teardown_qemu),
        cmocka_unit_test_setup_teardown(test_real_qemu_without_agent, setup_qemu, teardown_qemu),
        cmocka_unit_test_setup_teardown(test_names_before_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_qmp_is_unresponsive, setup_qemu, teardown_qemu),
        cmocka_unit_test_setup_teardown(test_real_qemu_states, setup_qemu, teardown_qemu),
        cmocka_unit_test_setup_teardown(test_real_qemu_metrics_only_when_drawn, setup_qemu,
                                        teardown_qemu),
        cmocka_unit_test_setup_teardown(test_real_qemu_busy_is_not_hung, setup_qemu, teardown_qemu),
        cmocka_unit_test_setup_teardown(test_real_qemu_new_rates_drawn_at_once, setup_qemu,
                                        teardown_qemu),
    };
    return cmocka_run_group_tests_name("monitor", tests, NULL, NULL);
}
