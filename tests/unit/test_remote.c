/* core/remote.c: a remote host's rows from its `watch --json` lines, the ssh argv, the control
 * folder, why a connection ended, and the connection's life with a stand-in `ssh` on PATH (a
 * script that prints what a host would, or fails as ssh does): the real ssh and sshd are
 * tests/integration/test-hosts.sh. */
#include "unit.h"

#include <sys/wait.h>

#include "core/remote.h"

static yv_remote *new_remote(void)
{
    yv_host h = {.name = "lab", .ssh = "admin@lab.example", .root = "/srv/vms"};
    return yv_remote_new(&h, NULL, "/tmp/ctl");
}

static void feed(yv_remote *r, const char *line)
{
    yv_remote_feed_line(r, line, strlen(line));
}

static void test_rows_from_watch_lines(void **state)
{
    (void)state;
    yv_remote *r = new_remote();
    feed(r, "{\"vm\": {\"name\": \"web\", \"state\": \"running\", \"pid\": 77, \"memory\": 512, "
            "\"vcpu\": 2, \"ovmf\": true, \"vnc\": {\"display\": \":4\", \"reachable\": true}, "
            "\"networks\": [{\"id\": \"net0\", \"type\": \"user\", \"mac\": \"52:54:00:00:00:01\", "
            "\"forwards\": [{\"proto\": \"tcp\", \"address\": \"127.0.0.1\", \"host\": 2201, "
            "\"guest\": 22}]}], \"addresses\": [{\"ip\": \"127.0.0.1\", \"port\": 2201, "
            "\"source\": \"forward\"}]}}");
    feed(r, "{\"vm\": {\"name\": \"db\", \"state\": \"stopped\", \"pid\": null, \"memory\": 64}}");
    assert_int_equal(yv_remote_count(r), 2);
    /* before `synced` the host is not UP: its rows say why (connecting) */
    assert_int_equal(yv_remote_state_of(r), YV_REMOTE_CONNECTING);
    const yv_monitor_vm *db = yv_remote_get(r, 0), *web = yv_remote_get(r, 1);
    assert_string_equal(db->name, "db"); /* sorted by name */
    assert_string_equal(yv_remote_key(r, 1), "web@lab");
    assert_string_equal(web->host, "lab");
    assert_int_equal(web->state, YV_STATE_RUNNING);
    assert_int_equal(web->pid, 77);
    assert_int_equal(web->vm.memory, 512);
    assert_true(web->vm.ovmf);
    assert_string_equal(web->vm.vnc_display, ":4");
    assert_int_equal(web->vnc, YV_VNC_REACHABLE);
    assert_int_equal(web->vm.nets[0].type, YV_NET_USER);
    assert_int_equal(web->vm.nets[0].forwards[0].host, 2201);
    assert_int_equal(web->addrs.n, 1);
    assert_int_equal(yv_remote_running(r), 1);
    feed(r, "{\"synced\": true}");
    assert_int_equal(yv_remote_state_of(r), YV_REMOTE_UP);
    assert_null(yv_remote_get(r, 0)->host_problem);
    feed(r, "{\"gone\": \"db\"}");
    assert_int_equal(yv_remote_count(r), 1);
    assert_non_null(yv_remote_find(r, "web"));
    assert_null(yv_remote_find(r, "db"));
    yv_remote_free(r);
}

/* What another machine sends is untrusted: bad names, control characters, numbers out of range
 * and lines that are not ours change nothing or come in cleaned. */
static void test_hostile_lines(void **state)
{
    (void)state;
    yv_remote *r = new_remote();
    feed(r, "{\"vm\": {\"name\": \"../etc\", \"state\": \"running\"}}");
    feed(r, "{\"vm\": {\"name\": \"-x\", \"state\": \"running\"}}");
    feed(r, "{\"vm\": {\"state\": \"running\"}}");
    feed(r, "not json");
    feed(r, "[1,2]");
    feed(r, "{\"gone\": \"nobody\"}");
    assert_int_equal(yv_remote_count(r), 0);
    feed(r, "{\"vm\": {\"name\": \"a\", \"state\": \"flying\", \"pid\": -5, \"memory\": -1, "
            "\"detail\": \"x\\u001b[2Jy\", \"vnc\": {\"display\": \"; rm\"}, "
            "\"addresses\": [{\"ip\": \"not-an-ip\"}, {\"ip\": \"192.0.2.7\"}]}}");
    const yv_monitor_vm *a = yv_remote_find(r, "a");
    assert_non_null(a);
    assert_int_equal(a->state, YV_STATE_ERROR); /* a state we do not know: nothing to act on */
    assert_int_equal(a->pid, 0);
    assert_int_equal(a->vm.memory, 0);
    assert_string_equal(a->detail, "x?[2Jy"); /* no escape reaches the terminal */
    assert_null(a->vm.vnc_display);
    assert_int_equal(a->addrs.n, 1);
    assert_string_equal(a->addrs.v[0].ip, "192.0.2.7");
    feed(
        r,
        "{\"vm\": {\"name\": \"b\", \"state\": \"invalid\", \"problem\": \"config.yaml:1:1: x\"}}");
    assert_false(yv_remote_find(r, "b")->valid);
    assert_string_equal(yv_remote_find(r, "b")->problem, "config.yaml:1:1: x");
    /* a VM being created (watch: "problem": null, no config yet): a row without figures */
    feed(r, "{\"vm\": {\"name\": \"c\", \"state\": \"installing\", \"problem\": null, "
            "\"pid\": null, \"detail\": \"being created\"}}");
    assert_false(yv_remote_find(r, "c")->valid);
    assert_string_equal(yv_remote_find(r, "c")->problem, "being created");
    assert_int_equal(yv_remote_find(r, "c")->state, YV_STATE_INSTALLING);
    yv_remote_free(r);
}

static void test_quote_and_argv(void **state)
{
    (void)state;
    char *q = yv_remote_quote((const char *const[]){"yave-tui", "it's", "a b", "", NULL});
    assert_string_equal(q, "'yave-tui' 'it'\\''s' 'a b' ''");
    free(q);
    yv_remote *r = new_remote();
    char **v = yv_remote_batch_argv(r, false, (const char *const[]){"--json", "watch", NULL});
    int n = 0, dashdash = -1;
    bool batchmode = false, ctl = false;
    for (; v[n]; n++) {
        if (!strcmp(v[n], "--")) dashdash = n;
        batchmode |= !strcmp(v[n], "BatchMode=yes");
        ctl |= !strcmp(v[n], "ControlPath=/tmp/ctl/%C");
        assert_null(strstr(v[n], "StrictHostKeyChecking")); /* the user's known hosts decide */
    }
    assert_string_equal(v[0], "ssh");
    assert_true(batchmode && ctl);
    assert_int_equal(dashdash, n - 3); /* -- HOST 'COMMAND': one word after the destination */
    assert_string_equal(v[n - 2], "lab.example");
    assert_string_equal(v[n - 1], "'yave-tui' '--batch' '--root' '/srv/vms' '--json' 'watch'");
    assert_string_equal(v[n - 4], "admin"); /* -l USER: the form every OpenSSH reads alike */
    assert_string_equal(v[n - 5], "-l");
    assert_string_equal(v[n - 6], "-T");
    yv_remote_argv_free(v);
    v = yv_remote_batch_argv(r, true, (const char *const[]){"console", NULL});
    for (n = 0; v[n]; n++) {
    }
    assert_string_equal(v[n - 6], "-tt"); /* a terminal there: the console's raw mode */
    yv_remote_argv_free(v);
    yv_remote_free(r);
    /* an IPv6 literal and a port: `-p PORT -- ADDRESS`, no brackets (ssh would look them up) */
    yv_host h6 = {.name = "v6", .ssh = "ssh://root@[2001:db8::7]:2222"};
    r = yv_remote_new(&h6, "/cfg", "/tmp/ctl");
    v = yv_remote_batch_argv(r, false, (const char *const[]){"list", NULL});
    for (n = 0; v[n]; n++) {
    }
    assert_string_equal(v[1], "-F");
    assert_string_equal(v[2], "/cfg");
    assert_string_equal(v[n - 2], "2001:db8::7");
    assert_string_equal(v[n - 4], "2222");
    assert_string_equal(v[n - 5], "-p");
    assert_string_equal(v[n - 6], "root");
    yv_remote_argv_free(v);
    yv_remote_free(r);
}

static void test_explain(void **state)
{
    (void)state;
    char out[512];
    yv_remote_explain("lab", "a@lab", NULL, 255,
                      "@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
                      "Host key verification failed.\n",
                      false, out, sizeof out);
    assert_non_null(strstr(out, "host key of lab (a@lab) changed"));
    yv_remote_explain("lab", "a@lab", NULL, 255, "Host key verification failed.\n", false, out,
                      sizeof out);
    assert_non_null(strstr(out, "is not known"));
    yv_remote_explain("lab", "a@lab", NULL, 127, "sh: 1: yave-tui: not found\n", false, out,
                      sizeof out);
    assert_string_equal(out, "yave-tui not found on lab: install yave there or set bin: in "
                             "hosts.yaml");
    yv_remote_explain("lab", "a@lab", "/opt/y", 2, "yave-tui: unknown command 'watch'\n", false,
                      out, sizeof out);
    assert_non_null(strstr(out, "/opt/y on lab is too old"));
    yv_remote_explain("lab", "a@lab", NULL, 2,
                      "yave-tui: watch: unknown option '--heartbeat' (see watch --help)\n", false,
                      out, sizeof out);
    assert_non_null(strstr(out, "yave-tui on lab is too old")); /* a watch without heartbeats */
    yv_remote_explain("lab", "a@lab", NULL, 255,
                      "ssh: connect to host 10.0.0.1 port 22: Connection refused\r\n", true, out,
                      sizeof out);
    assert_string_equal(out, "unreachable: ssh: connect to host 10.0.0.1 port 22: Connection "
                             "refused");
}

static void test_ctl_dir_private(void **state)
{
    (void)state;
    char *tmp = ut_mkdtemp(), *old = getenv("XDG_RUNTIME_DIR");
    char *saved = old ? yv_strdup(old) : NULL;
    yv_err err;
    setenv("XDG_RUNTIME_DIR", tmp, 1);
    char *dir = yv_remote_ctl_dir(&err);
    assert_non_null(dir);
    struct stat st;
    assert_int_equal(lstat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    chmod(dir, 0755); /* opened to others: refused, not repaired behind the user's back */
    assert_null(yv_remote_ctl_dir(&err));
    assert_non_null(strstr(err.msg, "not a private folder"));
    rmdir(dir);
    char *elsewhere = yv_asprintf("%s/other", tmp);
    mkdir(elsewhere, 0700);
    assert_int_equal(symlink(elsewhere, dir), 0); /* a symlink planted there: refused */
    assert_null(yv_remote_ctl_dir(&err));
    free(dir);
    free(elsewhere);
    if (saved) setenv("XDG_RUNTIME_DIR", saved, 1);
    else unsetenv("XDG_RUNTIME_DIR");
    free(saved);
    ut_rmdir(tmp);
}

/* ---- the connection, with a stand-in ssh ---- */

/* PATH gets a folder whose `ssh` is script (a sh script body). */
static char *fake_ssh(const char *script)
{
    char *dir = ut_mkdtemp(), *body = yv_asprintf("#!/bin/sh\n%s\n", script);
    ut_write(dir, "ssh", body);
    char *path = yv_asprintf("%s/ssh", dir);
    chmod(path, 0755);
    char *newpath = yv_asprintf("%s:%s", dir, getenv("PATH"));
    setenv("PATH", newpath, 1);
    free(newpath);
    free(path);
    free(body);
    return dir;
}

static void drop_fake(char *dir, const char *oldpath)
{
    setenv("PATH", oldpath, 1);
    ut_rmdir(dir);
}

/* Turns r's loop until its state is want or ms pass; true when it got there. */
static bool turn_until(yv_remote *r, yv_remote_state want, int ms)
{
    int64_t end = yv_now_ms() + ms;
    while (yv_now_ms() < end) {
        struct pollfd fds[3];
        int timeout = 100;
        size_t n = yv_remote_pollfds(r, fds, 3, yv_now_ms(), &timeout);
        if (timeout > 100 || timeout < 0) timeout = 100;
        poll(fds, n, timeout);
        yv_remote_dispatch(r, fds, n, yv_now_ms());
        if (yv_remote_state_of(r) == want) return true;
    }
    return false;
}

static void test_connection_lifecycle(void **state)
{
    (void)state;
    char *oldpath = yv_strdup(getenv("PATH"));
    /* a host that tells one VM, then goes away as a dropped connection does */
    char *dir = fake_ssh("echo '{\"vm\": {\"name\": \"a\", \"state\": \"running\", \"pid\": 9}}'\n"
                         "echo '{\"synced\": true}'\nsleep 0.3\n"
                         "echo 'Connection to lab closed by remote host.' >&2\nexit 255");
    yv_remote *r = new_remote();
    assert_true(turn_until(r, YV_REMOTE_UP, 5000));
    assert_int_equal(yv_remote_count(r), 1);
    assert_null(yv_remote_get(r, 0)->host_problem);
    assert_true(turn_until(r, YV_REMOTE_DOWN, 5000));
    assert_int_equal(yv_remote_count(r), 1); /* the rows stay, marked */
    assert_string_equal(yv_remote_get(r, 0)->host_problem,
                        "unreachable: Connection to lab closed by remote host.");
    /* retried after its backoff: the host is back, with a VM less */
    drop_fake(dir, oldpath);
    dir = fake_ssh("echo '{\"synced\": true}'\nexec sleep 30");
    assert_true(turn_until(r, YV_REMOTE_UP, 5000));
    assert_int_equal(yv_remote_count(r), 0); /* not named before `synced`: gone */
    yv_remote_free(r);                       /* ends the sleeping stand-in */
    drop_fake(dir, oldpath);
    free(oldpath);
}

/* A host cannot make us hold without bound: past 4096 VMs it is dropped, saying so. */
static void test_flooding_host_dropped(void **state)
{
    (void)state;
    char *oldpath = yv_strdup(getenv("PATH"));
    char *dir = fake_ssh("i=0; while [ $i -lt 5000 ]; do i=$((i+1)); "
                         "echo \"{\\\"vm\\\": {\\\"name\\\": \\\"v$i\\\", "
                         "\\\"state\\\": \\\"stopped\\\"}}\"; done; exec sleep 30");
    yv_remote *r = new_remote();
    assert_true(turn_until(r, YV_REMOTE_DOWN, 20000));
    assert_string_equal(yv_remote_problem(r), "unreachable: it has more than 4096 VMs");
    assert_true(yv_remote_count(r) <= 4096);
    yv_remote_free(r);
    drop_fake(dir, oldpath);
    free(oldpath);
}

static void test_too_old_and_missing(void **state)
{
    (void)state;
    char *oldpath = yv_strdup(getenv("PATH"));
    char *dir = fake_ssh("echo \"yave-tui: unknown command 'watch' (try --help)\" >&2\nexit 2");
    yv_remote *r = new_remote();
    assert_true(turn_until(r, YV_REMOTE_DOWN, 5000));
    assert_non_null(strstr(yv_remote_problem(r), "too old"));
    yv_remote_free(r);
    drop_fake(dir, oldpath);
    dir = fake_ssh("echo 'sh: 1: yave-tui: not found' >&2\nexit 127");
    r = new_remote();
    assert_true(turn_until(r, YV_REMOTE_DOWN, 5000));
    assert_non_null(strstr(yv_remote_problem(r), "yave-tui not found on lab"));
    yv_remote_free(r);
    drop_fake(dir, oldpath);
    free(oldpath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_from_watch_lines), cmocka_unit_test(test_hostile_lines),
        cmocka_unit_test(test_quote_and_argv),        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_ctl_dir_private),       cmocka_unit_test(test_connection_lifecycle),
        cmocka_unit_test(test_too_old_and_missing),   cmocka_unit_test(test_flooding_host_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
