/* actions: the TUI's table of actions, read alone — every row reachable by one key of its own,
 * destructive rows behind an upper-case key and a question, the child's arguments each row builds,
 * and the texts of the status line. */
#include "unit.h"

#include <curses.h>
#include <wctype.h>

/* The TUI is not in the unit tests' link line: the table (core only beside curses) is compiled in.
 */
#include "../../tui/actions.c"

static yv_monitor_vm vm_of(const char *name, pid_t pid, yv_net *net)
{
    yv_monitor_vm v = {.name = (char *)name, .valid = true, .pid = pid};
    v.vm.name = (char *)name;
    v.vm.nets = net;
    v.vm.nnets = net ? 1 : 0;
    return v;
}

static void test_every_row_has_one_key_of_its_own(void **state)
{
    (void)state;
    for (int i = 0; i < yv_nactions; i++) {
        const yv_action_row *r = &yv_actions[i];
        assert_true(r->ch || r->code);
        assert_non_null(r->shown);
        assert_non_null(r->label);
        assert_non_null(r->help);
        assert_ptr_equal(yv_actions_of(r->act), r);
        if (r->ch) assert_ptr_equal(yv_actions_key(r->ch, false), r);
        if (r->code) assert_ptr_equal(yv_actions_key((wint_t)r->code, true), r);
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(r->act, yv_actions[j].act);
            if (r->ch) assert_int_not_equal(r->ch, yv_actions[j].ch);
            if (r->code) assert_int_not_equal(r->code, yv_actions[j].code);
        }
    }
    assert_null(yv_actions_key(L'x', false));
    assert_int_equal(yv_actions_lookup(L'x', false), ACT_NONE);
    assert_int_equal(yv_actions_lookup(L'\n', false), ACT_DETAILS);
    assert_int_equal(yv_actions_lookup(KEY_ENTER, true), ACT_DETAILS);
}

/* Destructive = asks first: an upper-case key, a confirming key, a question naming the VM; and
 * every upper-case key of a row that runs a child is such an action (a Shift is the first guard,
 * the question the second); one carried out inside the TUI changes nothing of a VM (I: invert the
 * sort, spec §15). */
static void test_destructive_rows_ask_behind_upper_case_keys(void **state)
{
    (void)state;
    int asking = 0;
    for (int i = 0; i < yv_nactions; i++) {
        const yv_action_row *r = &yv_actions[i];
        bool upper = r->ch && iswupper(r->ch) && r->verb;
        assert_int_equal(upper, r->confirm_title != NULL);
        if (!r->confirm_title) continue;
        asking++;
        assert_true(r->confirm_key != 0);
        assert_non_null(strstr(r->confirm, "{vm}"));
        if (r->confirm_running) assert_non_null(strstr(r->confirm_running, "{vm}"));
        assert_non_null(r->verb);
        assert_int_not_equal(r->need, YV_NEED_NOTHING);
    }
    assert_int_equal(asking, 4); /* K, D, N, A (autostart off) */
}

/* Select many (spec 15): run, shutdown, force stop and delete apply to every marked row after one
 * question naming them all: each such row has one, and the other rows are for one VM only. */
static void test_many_rows_ask_once_for_all(void **state)
{
    (void)state;
    int many = 0;
    for (int i = 0; i < yv_nactions; i++) {
        const yv_action_row *r = &yv_actions[i];
        if (!r->many) continue;
        many++;
        assert_non_null(r->verb);
        assert_non_null(r->args[0]);
        const char *q = r->confirm_many ? r->confirm_many : r->confirm;
        assert_non_null(q);
        assert_non_null(strstr(q, "{vm}"));
    }
    assert_int_equal(many, 4);
    assert_true(yv_actions_of(ACT_RUN)->many && yv_actions_of(ACT_SHUTDOWN)->many &&
                yv_actions_of(ACT_FORCE)->many && yv_actions_of(ACT_DELETE)->many);
}

/* The marks' own keys (Space, '*', 'u'): carried out inside the list, in the help (not the bar). */
static void test_mark_rows(void **state)
{
    (void)state;
    assert_ptr_equal(yv_actions_key(L' ', false), yv_actions_of(ACT_MARK));
    assert_ptr_equal(yv_actions_key(L'*', false), yv_actions_of(ACT_MARK_INVERT));
    assert_ptr_equal(yv_actions_key(L'u', false), yv_actions_of(ACT_MARK_CLEAR));
    assert_int_equal(yv_actions_of(ACT_MARK)->need, YV_NEED_VM);
    yv_action marks[] = {ACT_MARK, ACT_MARK_INVERT, ACT_MARK_CLEAR};
    for (int i = 0; i < 3; i++) {
        const yv_action_row *r = yv_actions_of(marks[i]);
        assert_null(r->verb);
        assert_false(r->many || r->in_bar || r->confirm_title);
    }
    assert_string_equal(yv_actions_of(ACT_MARK)->shown, "Space");
}

/* The question names every VM it acts on: one VM gets the row's question, several the many one
 * (key y for a row that asks nothing for one), and names that do not fit refuse the question. */
static void test_questions_name_every_vm(void **state)
{
    (void)state;
    static yv_action_question q;
    const char *two[] = {"web1", "db1"};
    const bool yes[] = {true, true};
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_RUN), two, 2, NULL, &q), 0);
    assert_string_equal(q.text, "Start web1, db1?");
    assert_string_equal(q.title, "Run");
    assert_true(q.key == L'y');
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_FORCE), two, 1, yes, &q), 0);
    assert_string_equal(q.names, "web1");
    assert_string_equal(q.title, "Force stop");
    assert_non_null(strstr(q.text, "Stop web1 now?"));
    /* several, some running: the question says which run (a delete stops them first) */
    const char *three[] = {"a", "b", "c"};
    const bool b_runs[] = {false, true, false}, none[] = {false, false, false};
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_DELETE), three, 3, b_runs, &q), 0);
    assert_string_equal(q.text,
                        "Delete a, b, c and their disks for good? Running (stopped first): b");
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_DELETE), three, 3, none, &q), 0);
    assert_string_equal(q.text, "Delete a, b, c and their disks for good?");
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_DELETE), two, 1, yes, &q), 0);
    assert_non_null(strstr(q.text, "Delete web1? It is RUNNING")); /* one VM: the row's words */
    /* too many names for one question: refused, never cut short */
    static const char *many[500];
    static char store[500][64];
    static bool all_run[500];
    for (int i = 0; i < 500; i++) {
        snprintf(store[i], sizeof store[i], "a-rather-long-virtual-machine-name-%03d", i);
        many[i] = store[i];
        all_run[i] = true;
    }
    /* 200 marked (an admin's `*` on a big root): one question names them all, running too */
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_DELETE), many, 200, all_run, &q), 0);
    assert_non_null(strstr(q.names, "a-rather-long-virtual-machine-name-199"));
    assert_non_null(
        strstr(q.text, "Running (stopped first): a-rather-long-virtual-machine-name-000"));
    assert_non_null(strstr(q.text, "machine-name-198, a-rather-long-virtual-machine-name-199"));
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_DELETE), many, 500, NULL, &q), -1);
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_HELP), two, 1, NULL, &q), -1);
    assert_int_equal(yv_actions_question(yv_actions_of(ACT_RUN), two, 0, NULL, &q), -1);
}

static void assert_argv(const yv_action_row *r, const yv_action_subst *s, bool running,
                        const char *const *want)
{
    char store[YV_ACTION_ARGS][128];
    const char *argv[YV_ACTION_ARGS + 1];
    assert_int_equal(yv_actions_argv(r, s, running, store, argv), 0);
    int i = 0;
    for (; want[i]; i++) {
        assert_non_null(argv[i]);
        assert_string_equal(argv[i], want[i]);
    }
    assert_null(argv[i]);
}

static void test_batch_arguments_of_each_row(void **state)
{
    (void)state;
    yv_action_subst s = {.vm = "web1", .tap = "yvtap0"};
    assert_argv(yv_actions_of(ACT_RUN), &s, false, (const char *[]){"--name", "web1", NULL});
    assert_argv(yv_actions_of(ACT_SHUTDOWN), &s, true, (const char *[]){"--name", "web1", NULL});
    assert_argv(yv_actions_of(ACT_FORCE), &s, true,
                (const char *[]){"--name", "web1", "--force", NULL});
    assert_argv(yv_actions_of(ACT_DELETE), &s, false, (const char *[]){"--name", "web1", NULL});
    assert_argv(yv_actions_of(ACT_DELETE), &s, true,
                (const char *[]){"--name", "web1", "--force", NULL});
    assert_argv(yv_actions_of(ACT_NET_UP), &s, true,
                (const char *[]){"--name", "web1", "--ifname", "yvtap0", "up", NULL});
    assert_argv(yv_actions_of(ACT_NET_DOWN), &s, true,
                (const char *[]){"--name", "web1", "--ifname", "yvtap0", "down", NULL});
    /* no TAP (the network went away): no half-built command */
    char store[YV_ACTION_ARGS][128];
    const char *argv[YV_ACTION_ARGS + 1];
    s.tap = "";
    assert_int_equal(yv_actions_argv(yv_actions_of(ACT_NET_DOWN), &s, true, store, argv), -1);
    /* the verbs of the children, and rows carried out inside the TUI */
    assert_string_equal(yv_actions_of(ACT_FORCE)->verb, "shutdown");
    assert_string_equal(yv_actions_of(ACT_PRESET)->verb, "create");
    assert_null(yv_actions_of(ACT_CREATE)->args[0]); /* the form builds them */
    assert_null(yv_actions_of(ACT_HELP)->verb);
    assert_null(yv_actions_of(ACT_DETAILS)->verb);
}

/* Every template expands with the words a caller gives; none is cut. */
static void test_templates_expand(void **state)
{
    (void)state;
    yv_action_subst s = {.vm = "a, b",
                         .tap = "t0",
                         .timeout = "60",
                         .stopped_by = "acpi",
                         .forward = "tcp 127.0.0.1:2201 -> 22",
                         .change = "added to",
                         .live = "(also in the running QEMU)"};
    char buf[512];
    for (int i = 0; i < yv_nactions; i++) {
        const yv_action_row *r = &yv_actions[i];
        const char *t[] = {r->confirm, r->confirm_running, r->confirm_many, r->started, r->done};
        for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
            if (t[k]) assert_int_equal(yv_actions_expand(t[k], &s, buf, sizeof buf), 0);
        if (r->verb) assert_non_null(r->done);
    }
    s.vm = "web1";
    yv_actions_expand(yv_actions_of(ACT_SHUTDOWN)->started, &s, buf, sizeof buf);
    assert_string_equal(buf, "asked web1 to shut down (ACPI); escalating after 60s");
    yv_actions_expand(yv_actions_of(ACT_FORCE)->done, &s, buf, sizeof buf);
    assert_string_equal(buf, "web1 stopped (by acpi)");
    yv_actions_expand(yv_actions_of(ACT_FORWARD)->done, &s, buf, sizeof buf);
    assert_string_equal(buf, "forward tcp 127.0.0.1:2201 -> 22 added to web1 (also in the running "
                             "QEMU)");
    assert_int_equal(yv_actions_expand("{nope}", &s, buf, sizeof buf), -1);
    assert_int_equal(yv_actions_expand("{vm", &s, buf, sizeof buf), -1);
    assert_int_equal(yv_actions_expand("{vm} started", &s, buf, 8), -1);
}

static void test_refusals_follow_the_need(void **state)
{
    (void)state;
    char buf[128];
    yv_net net = {.ifname = (char *)"tap7"};
    yv_monitor_vm off = vm_of("web1", 0, &net), on = vm_of("web1", 42, &net),
                  bare = vm_of("web1", 42, NULL);
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_RUN), &on, buf, sizeof buf),
                        "web1 is already running");
    assert_null(yv_actions_refusal(yv_actions_of(ACT_RUN), &off, buf, sizeof buf));
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_FORCE), &off, buf, sizeof buf),
                        "web1 is not running");
    assert_null(yv_actions_refusal(yv_actions_of(ACT_DELETE), &off, buf, sizeof buf));
    assert_null(yv_actions_refusal(yv_actions_of(ACT_DELETE), &on, buf, sizeof buf));
    assert_null(yv_actions_refusal(yv_actions_of(ACT_NET_UP), &on, buf, sizeof buf));
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_NET_DOWN), &bare, buf, sizeof buf),
                        "web1: no running network");
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_NET_UP), &off, buf, sizeof buf),
                        "web1: no running network");
    char tap[16];
    yv_action_subst s = yv_actions_subst("web1", &on, tap);
    assert_string_equal(s.tap, "tap7");
    s = yv_actions_subst("gone", NULL, tap);
    assert_string_equal(s.vm, "gone");
    assert_string_equal(s.tap, "");
}

/* The rows whose child has the terminal (console, ssh): a running VM, one at a time, no question,
 * a verb of one VM, and never in the key bar's way (the bar at 80 columns is full). */
static void test_foreground_rows(void **state)
{
    (void)state;
    int fg = 0;
    for (int i = 0; i < yv_nactions; i++) {
        const yv_action_row *r = &yv_actions[i];
        if (!r->foreground) continue;
        fg++;
        assert_int_equal(r->need, YV_NEED_RUNNING);
        assert_false(r->many);
        assert_null(r->confirm_title);
        assert_non_null(r->verb);
        assert_non_null(r->done);
    }
    assert_int_equal(fg, 2);
    yv_action_subst s = {.vm = "web1"};
    assert_true(yv_actions_of(ACT_CONSOLE)->foreground && yv_actions_of(ACT_SSH)->foreground);
    assert_string_equal(yv_actions_of(ACT_CONSOLE)->verb, "console");
    assert_string_equal(yv_actions_of(ACT_SSH)->verb, "ssh");
    assert_argv(yv_actions_of(ACT_CONSOLE), &s, true,
                (const char *const[]){"--name", "web1", NULL});
    assert_argv(yv_actions_of(ACT_SSH), &s, true, (const char *const[]){"--name", "web1", NULL});
    assert_int_equal(yv_actions_lookup(L'o', false), ACT_CONSOLE);
    assert_int_equal(yv_actions_lookup(L'h', false), ACT_SSH);
    yv_monitor_vm stopped = vm_of("web1", 0, NULL);
    char why[64];
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_CONSOLE), &stopped, why, sizeof why),
                        "web1 is not running");
}

/* The forward row: a VM with a user network, running or not; its arguments come from a form
 * (none in the table), it asks nothing and stays out of the full key bar (help lists it). */
static void test_forward_row(void **state)
{
    (void)state;
    const yv_action_row *r = yv_actions_of(ACT_FORWARD);
    assert_int_equal(yv_actions_lookup(L'f', false), ACT_FORWARD);
    assert_string_equal(r->verb, "forward");
    assert_null(r->args[0]);
    assert_null(r->confirm_title);
    assert_false(r->many || r->foreground || r->in_bar);
    char buf[128];
    yv_net user = {.type = YV_NET_USER}, tap = {.ifname = (char *)"tap7"};
    yv_monitor_vm off = vm_of("web1", 0, &user), on = vm_of("web1", 42, &user),
                  tapvm = vm_of("web1", 42, &tap), bare = vm_of("web1", 0, NULL);
    assert_null(yv_actions_refusal(r, &off, buf, sizeof buf));
    assert_null(yv_actions_refusal(r, &on, buf, sizeof buf));
    assert_string_equal(yv_actions_refusal(r, &tapvm, buf, sizeof buf),
                        "web1 has no user network (forwards need type: user)");
    assert_non_null(yv_actions_refusal(r, &bare, buf, sizeof buf));
    bare.valid = false; /* a config that does not load: nothing to change */
    bare.vm.nets = &user;
    bare.vm.nnets = 1;
    assert_non_null(yv_actions_refusal(r, &bare, buf, sizeof buf));
}

/* The view row: carried out inside the TUI (a screen), for a running VM with a VNC display. */
static void test_view_row(void **state)
{
    (void)state;
    const yv_action_row *r = yv_actions_of(ACT_VIEW);
    assert_int_equal(yv_actions_lookup(L'v', false), ACT_VIEW);
    assert_null(r->verb);
    assert_false(r->many || r->foreground || r->in_bar);
    char buf[128];
    yv_monitor_vm off = vm_of("web1", 0, NULL), on = vm_of("web1", 42, NULL);
    assert_string_equal(yv_actions_refusal(r, &off, buf, sizeof buf), "web1 is not running");
    assert_string_equal(yv_actions_refusal(r, &on, buf, sizeof buf), "web1 has no VNC display");
    on.vm.vnc_display = (char *)":3";
    assert_null(yv_actions_refusal(r, &on, buf, sizeof buf));
    on.valid = false; /* a config that does not load: no display known */
    assert_non_null(yv_actions_refusal(r, &on, buf, sizeof buf));
}

/* spec §14: the rows that are one verb and its arguments run on a remote VM's host as they are
 * (`yave-tui --batch …` there); a row that stays on this machine (a form filled from the VM's
 * config, a screen or a pager of its local files) says why when refused on a remote VM. */
static void test_remote_rows(void **state)
{
    (void)state;
    const yv_action remote[] = {ACT_RUN,    ACT_SHUTDOWN, ACT_FORCE,        ACT_DELETE,
                                ACT_NET_UP, ACT_NET_DOWN, ACT_DETAILS,      ACT_CONSOLE,
                                ACT_SSH,    ACT_VIEW,     ACT_AUTOSTART_ON, ACT_AUTOSTART_OFF,
                                ACT_MARK};
    const yv_action local[] = {ACT_CREATE, ACT_PRESET, ACT_FORWARD,   ACT_RESIZE,
                               ACT_CLONE,  ACT_SET,    ACT_SNAPSHOTS, ACT_LOGS};
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        assert_true(yv_actions_of(remote[i])->remote);
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        assert_false(yv_actions_of(local[i])->remote);
    for (int i = 0; i < yv_nactions; i++) { /* a VM's row: remote, or why not */
        const yv_action_row *r = &yv_actions[i];
        if (r->need != YV_NEED_NOTHING && !r->remote) assert_non_null(r->local_why);
        /* a plain verb with its arguments in the table needs nothing of this machine */
        if (r->verb && r->args[0] && !r->foreground) assert_true(r->remote);
    }
    char buf[256];
    yv_net net = {.ifname = (char *)"tap7"};
    yv_monitor_vm on = vm_of("web1", 42, &net);
    on.host = "lab";
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_SET), &on, buf, sizeof buf),
                        "web1 is on host lab: Edit works on this machine's VMs only (its form is "
                        "filled from the VM's config on this machine, and a VNC password goes to "
                        "it by a descriptor); use yave-tui on lab");
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_LOGS), &on, buf, sizeof buf),
                        "web1 is on host lab: Logs works on this machine's VMs only (the pager "
                        "reads qemu.log and serial.log on this machine); use yave-tui on lab");
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_SNAPSHOTS), &on, buf, sizeof buf),
                        "web1 is on host lab: Snaps works on this machine's VMs only (the "
                        "snapshots screen reads the VM's disks on this machine); use yave-tui on "
                        "lab");
    /* the network rows: the TAP's name from the host's row, the verb run there */
    assert_null(yv_actions_refusal(yv_actions_of(ACT_NET_DOWN), &on, buf, sizeof buf));
    assert_null(yv_actions_refusal(yv_actions_of(ACT_NET_UP), &on, buf, sizeof buf));
    char tap[16];
    yv_action_subst s = yv_actions_subst("web1", &on, tap);
    assert_argv(yv_actions_of(ACT_NET_DOWN), &s, true,
                (const char *[]){"--name", "web1", "--ifname", "tap7", "down", NULL});
    on.host_problem = "Connection refused";
    assert_string_equal(yv_actions_refusal(yv_actions_of(ACT_NET_UP), &on, buf, sizeof buf),
                        "web1: host lab is unreachable (Connection refused)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_has_one_key_of_its_own),
        cmocka_unit_test(test_destructive_rows_ask_behind_upper_case_keys),
        cmocka_unit_test(test_many_rows_ask_once_for_all),
        cmocka_unit_test(test_questions_name_every_vm),
        cmocka_unit_test(test_mark_rows),
        cmocka_unit_test(test_batch_arguments_of_each_row),
        cmocka_unit_test(test_templates_expand),
        cmocka_unit_test(test_refusals_follow_the_need),
        cmocka_unit_test(test_view_row),
        cmocka_unit_test(test_foreground_rows),
        cmocka_unit_test(test_forward_row),
        cmocka_unit_test(test_remote_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
