/* Unit tests of core/hosts.c: hosts.yaml and --host NAME=SSH[:ROOT] (spec §14), every value
 * checked before it can reach an ssh argv or the remote command line. */
#include "unit.h"

#include <sys/wait.h>

#include "core/hosts.h"

static int parse(yv_hosts *h, const char *text, yv_err *err)
{
    return yv_hosts_parse(h, "/h/hosts.yaml", text, strlen(text), err);
}

static void test_parse_good(void **state)
{
    (void)state;
    yv_hosts h;
    yv_err err = {0};
    const char *text = "ssh_config: /etc/yave/ssh.conf\n"
                       "hosts:\n"
                       "  - {name: lab, ssh: admin@lab.example, root: /srv/vms, "
                       "bin: /usr/local/bin/yave-tui}\n"
                       "  - name: web-2.eu_1\n"
                       "    ssh: ssh://ops@10.0.0.7:2222\n"
                       "  - {name: v6, ssh: '[2001:db8::1]', bin: yave-tui-1.2}\n"
                       "  - {name: 7, ssh: h, root: ~, bin: }\n";
    assert_int_equal(parse(&h, text, &err), 0);
    assert_string_equal(h.ssh_config, "/etc/yave/ssh.conf");
    assert_int_equal(h.n, 4);
    assert_string_equal(h.hosts[0].name, "lab");
    assert_string_equal(h.hosts[0].ssh, "admin@lab.example");
    assert_string_equal(h.hosts[0].root, "/srv/vms");
    assert_string_equal(h.hosts[0].bin, "/usr/local/bin/yave-tui");
    assert_string_equal(h.hosts[1].name, "web-2.eu_1");
    assert_string_equal(h.hosts[1].ssh, "ssh://ops@10.0.0.7:2222");
    assert_null(h.hosts[1].root); /* the remote default root */
    assert_null(h.hosts[1].bin);  /* yave-tui on the remote PATH */
    assert_string_equal(h.hosts[2].bin, "yave-tui-1.2");
    assert_string_equal(h.hosts[3].name, "7"); /* YAML's 7 is the string "7" here */
    assert_null(h.hosts[3].root);              /* ~ and an empty value are absent */
    assert_null(h.hosts[3].bin);
    assert_ptr_equal(yv_hosts_find(&h, "v6"), &h.hosts[2]);
    assert_null(yv_hosts_find(&h, "LAB")); /* names are case-sensitive */
    assert_null(yv_hosts_find(&h, "local"));
    yv_hosts_done(&h);
    assert_int_equal(h.n, 0);
    assert_null(h.hosts);

    /* nothing at all is fine: no hosts */
    const char *empty[] = {"", "\n# only a comment\n", "hosts: []\n", "hosts:\n", "{}\n", "---\n"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        assert_int_equal(parse(&h, empty[i], &err), 0);
        assert_int_equal(h.n, 0);
        assert_null(h.ssh_config);
        yv_hosts_done(&h);
    }
    /* text need not end with a NUL: len says where it ends */
    assert_int_equal(yv_hosts_parse(&h, "f", "hosts: []\nBROKEN", 10, &err), 0);
    yv_hosts_done(&h);
}

static void test_ssh_config_tilde(void **state)
{
    (void)state;
    char *old = getenv("HOME") ? yv_strdup(getenv("HOME")) : NULL;
    yv_hosts h;
    yv_err err = {0};
    setenv("HOME", "/home/ann", 1);
    assert_int_equal(parse(&h, "ssh_config: ~/.ssh/yave.conf\n", &err), 0);
    assert_string_equal(h.ssh_config, "/home/ann/.ssh/yave.conf");
    yv_hosts_done(&h);
    assert_int_equal(parse(&h, "ssh_config: '~'\n", &err), 0);
    assert_string_equal(h.ssh_config, "/home/ann");
    yv_hosts_done(&h);
    /* ~user is not expanded: it is not an absolute path */
    assert_int_equal(parse(&h, "ssh_config: ~bob/x\n", &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    assert_string_equal(err.msg, "/h/hosts.yaml:1:13: ssh_config must be an absolute path (or "
                                 "start with ~/), not '~bob/x'");
    unsetenv("HOME");
    assert_int_equal(parse(&h, "ssh_config: ~/x\n", &err), -1);
    assert_string_equal(err.msg, "/h/hosts.yaml:1:13: ssh_config '~/x' starts with ~ but $HOME "
                                 "is not an absolute path");
    assert_null(h.ssh_config);
    if (old) setenv("HOME", old, 1);
    free(old);
}

static void assert_fails(const char *text, const char *msg)
{
    yv_hosts h;
    yv_err err = {0};
    if (parse(&h, text, &err) != -1) fail_msg("accepted:\n%s", text);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    assert_string_equal(err.msg, msg);
    /* a failed parse leaves nothing (and nothing to free) */
    assert_int_equal(h.n, 0);
    assert_null(h.hosts);
    assert_null(h.ssh_config);
}

#define F "/h/hosts.yaml:"

static void test_file_structure_errors(void **state)
{
    (void)state;
    /* structure: unknown and duplicate keys, wrong shapes, names used twice */
    assert_fails("port: 22\n", F "1:1: unknown key 'port' in the file (known: ssh_config, hosts)");
    assert_fails("hosts: []\nhosts: []\n", F "2:1: duplicate key 'hosts' in the file");
    assert_fails("hosts:\n  - {name: a, ssh: h, port: 22}\n",
                 F "2:23: unknown key 'port' in hosts[0] (known: name, ssh, root, bin)");
    assert_fails("hosts:\n  - {name: a, ssh: h, name: b}\n",
                 F "2:23: duplicate key 'name' in hosts[0]");
    assert_fails("hosts:\n  - {name: lab, ssh: h1}\n  - {name: lab, ssh: h2}\n",
                 F "3:6: hosts[1].name 'lab' is already the name of hosts[0]: names must be "
                   "unique");
    assert_fails("hosts: {name: a}\n", F "1:8: hosts must be a list of hosts such as - {name: lab, "
                                         "ssh: admin@lab.example}");
    assert_fails("hosts: [lab]\n", F "1:9: hosts[0] must be a mapping (key: value lines)");
    assert_fails("hosts:\n  - {ssh: h}\n", F "2:5: hosts[0].name is missing");
    assert_fails("hosts:\n  - {name: a}\n", F "2:5: hosts[0].ssh is missing");
    assert_fails("hosts:\n  - {name: a, ssh: [h]}\n", F "2:20: hosts[0].ssh must be a string");
    assert_fails("- a\n", F "1:1: the file must be a mapping (key: value lines)");
    assert_fails("ssh_config: [a]\n", F "1:13: ssh_config must be a string");
    assert_fails("ssh_config: etc/ssh.conf\n",
                 F "1:13: ssh_config must be an absolute path (or start with ~/), not "
                   "'etc/ssh.conf'");
    assert_fails("ssh_config: \"/a\\tb\"\n",
                 F "1:13: ssh_config must not hold a control character, not '/a\\x09b'");
    assert_fails("hosts: [\n", F "2:1: YAML syntax error: did not find expected node content "
                                 "(while parsing a flow node at line 2)");

    /* a NUL byte would end the text early for libyaml: refused, not cut */
    yv_hosts h;
    yv_err err = {0};
    assert_int_equal(yv_hosts_parse(&h, "f", "hosts: []\n\0x: y", 15, &err), -1);
    assert_string_equal(err.msg, "f: byte 11: invalid text: control characters are not allowed");
}

static void test_file_value_errors(void **state)
{
    (void)state;
    /* every value, with the rule it broke */
    assert_fails("hosts:\n  - {name: -x, ssh: h}\n",
                 F "2:12: hosts[0].name must start with a letter or digit and hold only letters, "
                   "digits, '.', '_' and '-', not '-x'");
    assert_fails("hosts:\n  - {name: local, ssh: h}\n",
                 F "2:12: hosts[0].name must not be 'local' (the name of this machine's VMs), "
                   "not 'local'");
    assert_fails("hosts:\n  - {name: Local, ssh: h}\n",
                 F "2:12: hosts[0].name must not be 'local' (the name of this machine's VMs), "
                   "not 'Local'");
    assert_fails("hosts:\n  - {name: a23456789012345678901234567890123, ssh: h}\n",
                 F "2:12: hosts[0].name must be at most 32 characters, not "
                   "'a23456789012345678901234567890123'");
    assert_fails("hosts:\n  - {name: 'a b', ssh: h}\n",
                 F "2:12: hosts[0].name must start with a letter or digit and hold only letters, "
                   "digits, '.', '_' and '-', not 'a b'");
    assert_fails("hosts:\n  - {name: a, ssh: -oProxyCommand=x}\n",
                 F "2:20: hosts[0].ssh must not start with '-' (ssh would read it as an option), "
                   "not '-oProxyCommand=x'");
    assert_fails("hosts:\n  - {name: a, ssh: 'admin@lab example'}\n",
                 F "2:20: hosts[0].ssh must not hold spaces, control characters or non-ASCII "
                   "characters, not 'admin@lab example'");
    assert_fails("hosts:\n  - {name: a, ssh: h, root: srv/vms}\n",
                 F "2:29: hosts[0].root must be an absolute path (start with '/'), not 'srv/vms'");
    assert_fails("hosts:\n  - {name: a, ssh: h, root: \"/srv\\nrm -rf ~\"}\n",
                 F "2:29: hosts[0].root must not hold a control character, not '/srv\\x0arm -rf "
                   "~'");
    assert_fails("hosts:\n  - {name: a, ssh: h, root: \"/srv\\x85\"}\n",
                 F "2:29: hosts[0].root must not hold a control character, not '/srv\\xc2\\x85'");
    assert_fails("hosts:\n  - {name: a, ssh: h, root: '/a\\b'}\n",
                 F "2:29: hosts[0].root must not hold a backslash (the remote shell reads it), "
                   "not '/a\\b'");
    assert_fails("hosts:\n  - {name: a, ssh: h, bin: bin/yave-tui}\n",
                 F "2:28: hosts[0].bin must be an absolute path or a command name of letters, "
                   "digits, '.', '_', '+' and '-' (not starting with '-'), not 'bin/yave-tui'");
    assert_fails("hosts:\n  - {name: a, ssh: h, bin: '-c'}\n",
                 F "2:28: hosts[0].bin must be an absolute path or a command name of letters, "
                   "digits, '.', '_', '+' and '-' (not starting with '-'), not '-c'");
    assert_fails("hosts:\n  - {name: a, ssh: h, bin: 'yave-tui;id'}\n",
                 F "2:28: hosts[0].bin must be an absolute path or a command name of letters, "
                   "digits, '.', '_', '+' and '-' (not starting with '-'), not 'yave-tui;id'");
    assert_fails("hosts:\n  - {name: a, ssh: h, bin: \"/bin/y\\x01\"}\n",
                 F "2:28: hosts[0].bin must not hold a control character, not '/bin/y\\x01'");
}

static void test_long_values(void **state)
{
    (void)state;
    char *root = yv_malloc(YV_HOSTS_PATH_MAX + 2);
    memset(root, 'r', YV_HOSTS_PATH_MAX + 1);
    root[0] = '/';
    root[YV_HOSTS_PATH_MAX + 1] = '\0';
    char why[256];
    assert_int_equal(yv_hosts_check_root(root, why, sizeof why), -1);
    assert_string_equal(why, "must be at most 4096 bytes");
    root[YV_HOSTS_PATH_MAX] = '\0';
    assert_int_equal(yv_hosts_check_root(root, why, sizeof why), 0);
    free(root);

    /* more hosts than a list holds */
    size_t cap = 64 + (size_t)(YV_HOSTS_MAX + 1) * 32, n = 0;
    char *text = yv_malloc(cap);
    n += (size_t)snprintf(text, cap, "hosts:\n");
    for (int i = 0; i <= YV_HOSTS_MAX; i++)
        n += (size_t)snprintf(text + n, cap - n, "- {name: h%d, ssh: h}\n", i);
    yv_hosts h;
    yv_err err = {0};
    assert_int_equal(parse(&h, text, &err), -1);
    assert_string_equal(err.msg, F "1026:3: hosts holds more than 1024 hosts");
    free(text);
}

typedef struct {
    const char *dest;
    const char *why; /* NULL: accepted */
    const char *user, *host;
    int port;
} dest_case;

static const dest_case dests[] = {
    {"lab.example", NULL, NULL, "lab.example", 0},
    {"admin@lab.example", NULL, "admin", "lab.example", 0},
    {"a.b_c+d%e@h-1", NULL, "a.b_c+d%e", "h-1", 0},
    {"ann@corp.example@jump", NULL, "ann@corp.example", "jump", 0}, /* ssh splits at the last @ */
    {"10.0.0.7", NULL, NULL, "10.0.0.7", 0},
    {"[2001:db8::1]", NULL, NULL, "2001:db8::1", 0},
    {"root@[fe80::1%eth0]", NULL, "root", "fe80::1%eth0", 0},
    {"ssh://h", NULL, NULL, "h", 0},
    {"ssh://a@h:2222", NULL, "a", "h", 2222},
    {"ssh://a@h:1", NULL, "a", "h", 1},
    {"ssh://a@h:65535", NULL, "a", "h", 65535},
    {"ssh://a@[::1]:22", NULL, "a", "::1", 22},
    {"ssh://[::1]", NULL, NULL, "::1", 0},
    {"", "must not be empty", NULL, NULL, 0},
    {"-oProxyCommand=x", "must not start with '-' (ssh would read it as an option)", NULL, NULL, 0},
    {"-lroot", "must not start with '-' (ssh would read it as an option)", NULL, NULL, 0},
    {"a@-oProxyCommand=x", "must not have a host starting with '-'", NULL, NULL, 0},
    {"-a@h", "must not start with '-'", NULL, NULL, 0},
    {"a@-lroot", "must not have a host starting with '-'", NULL, NULL, 0},
    {"ssh://-p22", "must not have a host starting with '-'", NULL, NULL, 0},
    {"x@h;id",
     "must have a host of letters, digits, '.', '_', '%', '+' and '-' (':' only in an "
     "IPv6 address in brackets or before the port of an ssh:// URI)",
     NULL, NULL, 0},
    {"a;b@h", "must have a user of letters, digits, '.', '_', '@', '%', '+' and '-'", NULL, NULL,
     0},
    {"$(id)@h", "must have a user of letters, digits", NULL, NULL, 0},
    {"a`id`@h", "must have a user of letters, digits", NULL, NULL, 0},
    {"a@h b", "must not hold spaces, control characters or non-ASCII characters", NULL, NULL, 0},
    {"a@h\tb", "must not hold spaces", NULL, NULL, 0},
    {"a@h\nb", "must not hold spaces", NULL, NULL, 0},
    {"a@h\x7f", "must not hold spaces", NULL, NULL, 0},
    {"a@h\xc3\xa9", "must not hold spaces, control characters or non-ASCII", NULL, NULL, 0},
    {"@h", "must have a user before '@'", NULL, NULL, 0},
    {"a@", "must name a host", NULL, NULL, 0},
    {"a@h:22", "(':' only in an IPv6 address in brackets or before the port of an ssh:// URI)",
     NULL, NULL, 0},
    {"fe80::1", "(':' only in an IPv6 address", NULL, NULL, 0},
    {"[::1", "must close the '[' of an IPv6 address with ']'", NULL, NULL, 0},
    {"[::1]x", "must end after the host (it holds \"x\" after it)", NULL, NULL, 0},
    {"[::1]:22", "must end after the host (it holds \":22\" after it)", NULL, NULL, 0},
    {"[h]", "must have an IPv6 address in brackets such as [2001:db8::1] or [fe80::1%eth0]", NULL,
     NULL, 0},
    {"[1.2.3.4]", "must have an IPv6 address in brackets", NULL, NULL, 0},
    {"[::1%]", "must have an IPv6 address in brackets", NULL, NULL, 0},
    {"[::1%a;b]", "must have an IPv6 address in brackets", NULL, NULL, 0},
    {"ssh://", "must name a host", NULL, NULL, 0},
    {"ssh://-oProxyCommand=x", "must not have a host starting with '-'", NULL, NULL, 0},
    {"ssh://-l@h", "must not have a user starting with '-'", NULL, NULL, 0},
    {"ssh://%2Dl@h", "must have a user of letters, digits, '.', '_', '+' and '-' in an ssh:// URI",
     NULL, NULL, 0},
    {"ssh://a@b@h", "must have a host of letters", NULL, NULL, 0},
    {"ssh://a@h:0", "must have a port from 1 to 65535 after the host", NULL, NULL, 0},
    {"ssh://a@h:65536", "must have a port from 1 to 65535", NULL, NULL, 0},
    {"ssh://a@h:", "must have a port from 1 to 65535", NULL, NULL, 0},
    {"ssh://a@h:-1", "must have a port from 1 to 65535", NULL, NULL, 0},
    {"ssh://a@h:22x", "must have a port from 1 to 65535", NULL, NULL, 0},
    {"ssh://a@h:022222", "must have a port from 1 to 65535", NULL, NULL, 0},
    {"ssh://a@h/path", "must have a host of letters", NULL, NULL, 0},
    {"ssh://a@[::1]x", "must end after the host and port (it holds \"x\" after it)", NULL, NULL, 0},
    {"sftp://a@h", "must have a user of letters", NULL, NULL, 0},
};

static void test_ssh_destinations(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dests / sizeof dests[0]; i++) {
        const dest_case *c = &dests[i];
        char why[320] = "";
        int rc = yv_hosts_check_ssh(c->dest, why, sizeof why);
        yv_ssh_dest d;
        yv_err err = {0};
        int src = yv_hosts_split_ssh(c->dest, &d, &err);
        assert_int_equal(rc, src);
        if (!c->why) {
            if (rc != 0) fail_msg("'%s' refused: %s", c->dest, why);
            if (c->user) assert_string_equal(d.user, c->user);
            else assert_null(d.user);
            assert_string_equal(d.host, c->host);
            assert_int_equal(d.port, c->port);
            yv_ssh_dest_done(&d);
            continue;
        }
        if (rc != -1) fail_msg("'%s' accepted", c->dest);
        ut_assert_contains(why, c->why);
        assert_int_equal(err.code, YV_E_USAGE);
        ut_assert_contains(err.msg, "the ssh destination '");
        ut_assert_contains(err.msg, c->why);
        assert_null(d.user);
        assert_null(d.host);
    }
    /* the longest accepted */
    char big[600];
    memset(big, 'h', sizeof big);
    big[253] = '\0';
    char why[320];
    assert_int_equal(yv_hosts_check_ssh(big, why, sizeof why), 0);
    big[253] = 'h';
    big[254] = '\0';
    assert_int_equal(yv_hosts_check_ssh(big, why, sizeof why), -1);
    assert_string_equal(why, "must have a host of at most 253 characters");
    big[254] = 'h';
    big[513] = '\0';
    assert_int_equal(yv_hosts_check_ssh(big, why, sizeof why), -1);
    assert_string_equal(why, "must be at most 512 bytes");
}

static void test_names_and_bins(void **state)
{
    (void)state;
    char why[320];
    const char *good_names[] = {
        "lab", "a", "7", "web-2.eu_1", "a2345678901234567890123456789012", "localhost", "locals"};
    for (size_t i = 0; i < sizeof good_names / sizeof good_names[0]; i++)
        if (yv_hosts_check_name(good_names[i], why, sizeof why) < 0)
            fail_msg("name '%s' refused: %s", good_names[i], why);
    const char *bad_names[] = {"", "-a", ".a", "_a", "a b", "a/b", "a:b", "a=b", "LOCAL", "é"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        if (yv_hosts_check_name(bad_names[i], why, sizeof why) == 0)
            fail_msg("name '%s' accepted", bad_names[i]);
    const char *good_bins[] = {"yave-tui",
                               "yave-tui.sh",
                               "c++",
                               "/opt/yave dir/yave-tui",
                               "/usr/local/bin/yave-tui",
                               "/srv/it's/yave-tui",
                               "/é"};
    for (size_t i = 0; i < sizeof good_bins / sizeof good_bins[0]; i++)
        if (yv_hosts_check_bin(good_bins[i], why, sizeof why) < 0)
            fail_msg("bin '%s' refused: %s", good_bins[i], why);
    const char *bad_bins[] = {"",         "-x",  ".",     "..",    "./yave-tui", "~/bin/yave-tui",
                              "yave tui", "a$b", "/a\\b", "/a\nb", "/a\xff"};
    for (size_t i = 0; i < sizeof bad_bins / sizeof bad_bins[0]; i++)
        if (yv_hosts_check_bin(bad_bins[i], why, sizeof why) == 0)
            fail_msg("bin '%s' accepted", bad_bins[i]);
    assert_int_equal(yv_hosts_check_root("/srv/a\xff", why, sizeof why), -1);
    assert_string_equal(why, "must not hold a byte that is not UTF-8");
    assert_int_equal(yv_hosts_check_root("", why, sizeof why), -1);
    assert_int_equal(yv_hosts_check_root("/", why, sizeof why), 0);
}

static void assert_spec_fails(yv_hosts *h, const char *spec, const char *msg)
{
    yv_err err = {0};
    size_t n = h->n;
    if (yv_hosts_add_spec(h, spec, &err) != -1) fail_msg("--host %s accepted", spec);
    assert_int_equal(err.code, YV_E_USAGE);
    assert_string_equal(err.msg, msg);
    assert_int_equal(h->n, n); /* nothing added */
}

static void assert_spec(yv_hosts *h, const char *spec, const char *name, const char *ssh,
                        const char *root)
{
    yv_err err = {0};
    if (yv_hosts_add_spec(h, spec, &err) != 0) fail_msg("--host %s refused: %s", spec, err.msg);
    const yv_host *x = yv_hosts_find(h, name);
    assert_non_null(x);
    assert_string_equal(x->ssh, ssh);
    if (root) assert_string_equal(x->root, root);
    else assert_null(x->root);
    assert_null(x->bin);
}

static void test_add_spec(void **state)
{
    (void)state;
    yv_hosts h = {0};
    assert_spec(&h, "lab=admin@lab.example", "lab", "admin@lab.example", NULL);
    assert_spec(&h, "lab2=admin@lab:/srv/vms", "lab2", "admin@lab", "/srv/vms");
    assert_spec(&h, "uri=ssh://a@h:2222:/srv", "uri", "ssh://a@h:2222", "/srv");
    assert_spec(&h, "uri2=ssh://a@h:/srv", "uri2", "ssh://a@h", "/srv");
    assert_spec(&h, "v6=[fe80::1%eth0]:/srv/a:b", "v6", "[fe80::1%eth0]", "/srv/a:b");
    assert_spec(&h, "u6=ssh://[::1]:22:/", "u6", "ssh://[::1]:22", "/");
    assert_spec(&h, "sp=h:/srv/my vms", "sp", "h", "/srv/my vms");
    assert_int_equal(h.n, 7);

    assert_spec_fails(&h, "lab=-oProxyCommand=x",
                      "--host 'lab=-oProxyCommand=x': the ssh destination must not start with "
                      "'-' (ssh would read it as an option), not '-oProxyCommand=x'");
    assert_spec_fails(&h, "x=-oProxyCommand=sh -c id:/srv",
                      "--host 'x=-oProxyCommand=sh -c id:/srv': the ssh destination must not "
                      "start with '-' (ssh would read it as an option), not '-oProxyCommand=sh "
                      "-c id'");
    assert_spec_fails(&h, "=x", "--host '=x': the name must not be empty");
    assert_spec_fails(&h, "lab=", "--host 'lab=': the ssh destination must not be empty");
    assert_spec_fails(&h, "local=x",
                      "--host 'local=x': the name must not be 'local' (the name of this "
                      "machine's VMs), not 'local'");
    assert_spec_fails(&h, "lab",
                      "--host 'lab': expected NAME=SSH[:ROOT], such as "
                      "lab=admin@lab.example:/srv/vms");
    assert_spec_fails(&h, "",
                      "--host '': expected NAME=SSH[:ROOT], such as "
                      "lab=admin@lab.example:/srv/vms");
    assert_spec_fails(&h, "a b=h",
                      "--host 'a b=h': the name must start with a letter or digit "
                      "and hold only letters, digits, '.', '_' and '-', not 'a b'");
    assert_spec_fails(&h, "lab=a@h:srv",
                      "--host 'lab=a@h:srv': the ssh destination must have a host of letters, "
                      "digits, '.', '_', '%', '+' and '-' (':' only in an IPv6 address in "
                      "brackets or before the port of an ssh:// URI), not 'a@h:srv'");
    assert_spec_fails(&h, "lab=a@h:/srv\x01",
                      "--host 'lab=a@h:/srv\\x01': the root must not hold a control character, "
                      "not '/srv\\x01'");
    assert_spec_fails(&h, "lab=a@h:/a\\b",
                      "--host 'lab=a@h:/a\\b': the root must not hold a backslash (the remote "
                      "shell reads it), not '/a\\b'");
    assert_spec_fails(&h, "lab=ssh://a@h:0:/srv",
                      "--host 'lab=ssh://a@h:0:/srv': the ssh destination must have a port from "
                      "1 to 65535 after the host, not 'ssh://a@h:0'");
    assert_spec_fails(&h, "lab=ssh://-oProxyCommand=x",
                      "--host 'lab=ssh://-oProxyCommand=x': the ssh destination must not have a "
                      "host starting with '-', not 'ssh://-oProxyCommand=x'");
    /* the refused specs changed nothing */
    assert_string_equal(yv_hosts_find(&h, "lab")->ssh, "admin@lab.example");

    /* the same name again replaces it, in place */
    assert_spec(&h, "lab=other@lab:/vms", "lab", "other@lab", "/vms");
    assert_int_equal(h.n, 7);
    assert_string_equal(h.hosts[0].name, "lab");
    yv_hosts_done(&h);
}

static void test_spec_overrides_file(void **state)
{
    (void)state;
    yv_hosts h;
    yv_err err = {0};
    assert_int_equal(parse(&h,
                           "ssh_config: /c\nhosts:\n"
                           "  - {name: lab, ssh: old@lab, root: /old, bin: /opt/yave-tui}\n"
                           "  - {name: b, ssh: b}\n",
                           &err),
                     0);
    assert_int_equal(yv_hosts_add_spec(&h, "lab=new@lab", &err), 0);
    assert_int_equal(yv_hosts_add_spec(&h, "c=c:/r", &err), 0);
    assert_int_equal(h.n, 3);
    const yv_host *x = yv_hosts_find(&h, "lab");
    assert_ptr_equal(x, &h.hosts[0]);
    assert_string_equal(x->ssh, "new@lab");
    assert_null(x->root); /* the option is the whole host: no root or bin of the file's */
    assert_null(x->bin);
    assert_string_equal(h.hosts[1].name, "b");
    assert_string_equal(h.hosts[2].root, "/r");
    assert_string_equal(h.ssh_config, "/c");
    yv_hosts_done(&h);
}

/* What sh reads back from the quoted word. */
static char *sh_echo(const char *word)
{
    char *script = yv_asprintf("printf %%s %s", word);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        execlp("sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[256];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    close(fds[0]);
    buf[n] = '\0';
    int st;
    waitpid(pid, &st, 0);
    free(script);
    return yv_strdup(buf);
}

static void test_shell_quote(void **state)
{
    (void)state;
    char *q = yv_hosts_shell_quote("/srv/it's $(id) `id` \"x\" ; *");
    assert_string_equal(q, "'/srv/it'\\''s $(id) `id` \"x\" ; *'");
    char *back = sh_echo(q);
    assert_string_equal(back, "/srv/it's $(id) `id` \"x\" ; *");
    free(back);
    free(q);
    q = yv_hosts_shell_quote("");
    assert_string_equal(q, "''");
    free(q);
}

static void test_default_path(void **state)
{
    (void)state;
    char *old_x = getenv("XDG_CONFIG_HOME") ? yv_strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    char *old_h = getenv("HOME") ? yv_strdup(getenv("HOME")) : NULL;
    setenv("HOME", "/home/ann", 1);
    setenv("XDG_CONFIG_HOME", "/cfg", 1);
    char *p = yv_hosts_default_path();
    assert_string_equal(p, "/cfg/yave/hosts.yaml");
    free(p);
    setenv("XDG_CONFIG_HOME", "rel", 1); /* the XDG spec: a relative one is ignored */
    p = yv_hosts_default_path();
    assert_string_equal(p, "/home/ann/.config/yave/hosts.yaml");
    free(p);
    unsetenv("XDG_CONFIG_HOME");
    p = yv_hosts_default_path();
    assert_string_equal(p, "/home/ann/.config/yave/hosts.yaml");
    free(p);
    unsetenv("HOME");
    assert_null(yv_hosts_default_path());
    yv_hosts h;
    yv_err err = {0};
    assert_int_equal(yv_hosts_load(&h, NULL, &err), 0); /* nowhere to look: no hosts */
    assert_int_equal(h.n, 0);
    if (old_x) setenv("XDG_CONFIG_HOME", old_x, 1);
    if (old_h) setenv("HOME", old_h, 1);
    free(old_x);
    free(old_h);
}

static void assert_load_refused(const char *path, yv_code code, const char *want)
{
    yv_hosts h;
    yv_err err = {0};
    if (yv_hosts_load(&h, path, &err) != -1) fail_msg("%s loaded (want %s)", path, want);
    assert_int_equal(err.code, code);
    ut_assert_contains(err.msg, want);
    assert_int_equal(h.n, 0);
}

static void test_load_file(void **state)
{
    const char *dir = *state;
    char *old_x = getenv("XDG_CONFIG_HOME") ? yv_strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    setenv("XDG_CONFIG_HOME", dir, 1);
    yv_hosts h;
    yv_err err = {0};
    /* no file: no hosts */
    assert_int_equal(yv_hosts_load(&h, NULL, &err), 0);
    assert_int_equal(h.n, 0);
    ut_mkdir(dir, "yave");
    ut_write(dir, "yave/hosts.yaml", "hosts:\n  - {name: lab, ssh: admin@lab}\n");
    char *path = yv_root_join(dir, "yave/hosts.yaml");
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(yv_hosts_load(&h, NULL, &err), 0); /* the default path */
    assert_int_equal(h.n, 1);
    assert_string_equal(h.hosts[0].ssh, "admin@lab");
    yv_hosts_done(&h);

    /* errors name the file */
    ut_write(dir, "yave/hosts.yaml", "hosts:\n  - {name: lab, ssh: -oX}\n");
    char *want = yv_asprintf("%s:2:22: hosts[0].ssh must not start with '-'", path);
    assert_load_refused(path, YV_E_CONFIG_INVALID, want);
    free(want);

    free(path);
    if (old_x) setenv("XDG_CONFIG_HOME", old_x, 1);
    else unsetenv("XDG_CONFIG_HOME");
    free(old_x);
}

/* spec §16: the file is the user's or root's and not writable by group or others */
static void test_load_trust(void **state)
{
    const char *dir = *state;
    yv_hosts h;
    yv_err err = {0};
    char *want, *path = yv_root_join(dir, "hosts.yaml");
    ut_write(dir, "hosts.yaml", "hosts: []\n");
    const mode_t bad[] = {0664, 0646, 0666};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(path, bad[i]), 0);
        want = yv_asprintf("refusing to use the hosts file %s: it is writable by group or others "
                           "(mode %04o); fix it with: chmod go-w %s",
                           path, (unsigned)bad[i], path);
        assert_load_refused(path, YV_E_PERMISSION, want);
        free(want);
    }
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(yv_hosts_load(&h, path, &err), 0);
    if (geteuid() == 0) { /* another owner: only root can make one */
        assert_int_equal(chown(path, 65534, 65534), 0);
        want = yv_asprintf("it is owned by uid 65534");
        assert_load_refused(path, YV_E_PERMISSION, want);
        free(want);
        assert_load_refused(path, YV_E_PERMISSION, "if you trust it, make it yours: chown 0 ");
        assert_int_equal(chown(path, 0, 0), 0);
    }

    /* a symlink to a good file is followed (dotfile managers); the file it reaches is checked */
    char *link = yv_root_join(dir, "link.yaml");
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(yv_hosts_load(&h, link, &err), 0);
    assert_int_equal(chmod(path, 0666), 0);
    assert_load_refused(link, YV_E_PERMISSION, "it is writable by group or others");
    assert_int_equal(chmod(path, 0600), 0);

    /* not a regular file: a folder, a FIFO (never blocks) */
    char *sub = yv_root_join(dir, "sub");
    ut_mkdir(dir, "sub");
    assert_load_refused(sub, YV_E_PERMISSION, "it is not a regular file");
    char *fifo = yv_root_join(dir, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_load_refused(fifo, YV_E_PERMISSION, "it is not a regular file");

    /* too big for a list of hosts */
    FILE *f = fopen(path, "w");
    for (int i = 0; i < (1 << 20) / 8 + 1; i++) fputs("#3456789\n", f);
    fclose(f);
    assert_load_refused(path, YV_E_CONFIG_INVALID, "larger than 1048576 bytes");

    free(fifo);
    free(sub);
    free(link);
    free(path);
}

/* The ssh_config it names goes to ssh -F, which checks nothing of it: the same rule applies. */
static void test_ssh_config_trust(void **state)
{
    const char *dir = *state;
    yv_hosts h;
    yv_err err = {0};
    char *path = yv_root_join(dir, "hosts.yaml"), *cfg = yv_root_join(dir, "ssh.conf");
    char *text = yv_asprintf("ssh_config: %s\nhosts: []\n", cfg);
    ut_write(dir, "hosts.yaml", text);
    assert_int_equal(chmod(path, 0600), 0);
    assert_load_refused(path, YV_E_CONFIG_INVALID, "the ssh_config"); /* missing */
    ut_write(dir, "ssh.conf", "Host *\n  ProxyCommand touch /tmp/pwned\n");
    assert_int_equal(chmod(cfg, 0664), 0); /* a group member could add a ProxyCommand */
    char *want =
        yv_asprintf("refusing to use the ssh_config %s: it is writable by group or others", cfg);
    assert_load_refused(path, YV_E_PERMISSION, want);
    assert_int_equal(chmod(cfg, 0644), 0);
    assert_int_equal(yv_hosts_load(&h, path, &err), 0);
    assert_string_equal(h.ssh_config, cfg);
    yv_hosts_done(&h);
    free(want);
    free(text);
    free(cfg);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_ssh_config_tilde),
        cmocka_unit_test(test_file_structure_errors),
        cmocka_unit_test(test_file_value_errors),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_ssh_destinations),
        cmocka_unit_test(test_names_and_bins),
        cmocka_unit_test(test_add_spec),
        cmocka_unit_test(test_spec_overrides_file),
        cmocka_unit_test(test_shell_quote),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test_setup_teardown(test_load_file, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_trust, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_ssh_config_trust, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("hosts", tests, NULL, NULL);
}
