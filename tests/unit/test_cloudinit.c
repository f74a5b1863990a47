/* Unit tests of core/cloudinit.c's preset --user and --package (spec §13): which names are
 * accepted, and how they reach user-data (data read back with libyaml, never pasted text). */
#include "unit.h"

#include <yaml.h>

#include "core/cloudinit.h"
#include "core/yamlio.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBNYMTC0ZqGMakECRD7DIt9pkqxiQfVaEI4U+NQZoHsE c"

static void test_user_names(void **state)
{
    (void)state;
    yv_err err;
    const char *good[] = {"alice",  "_svc", "a",
                          "a-b_c9", "bob-", "u2345678901234567890123456789012"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (yv_cloudinit_check_user(good[i], &err) < 0) fail_msg("%s: %s", good[i], err.msg);
    const char *bad[] = {"",
                         "Alice",
                         "1abc",
                         "-a",
                         "a b",
                         "a.b",
                         "a$",
                         "a:b",
                         "é",
                         "a\nb",
                         "a/b",
                         "ab@c",
                         "u2345678901234567890123456789012x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(yv_cloudinit_check_user(bad[i], &err), -1);
        assert_int_equal(err.code, YV_E_USAGE);
        assert_non_null(strstr(err.msg, "invalid user name"));
    }
    /* users, Debian base-passwd's fixed groups (useradd refuses a user named as a group), the
     * images' system users */
    const char *reserved[] = {"root",
                              "daemon",
                              "nobody",
                              "_apt",
                              "sshd",
                              "www-data",
                              "systemd-network",
                              "systemd-anything",
                              "sudo",
                              "users",
                              "staff",
                              "kvm",
                              "netdev",
                              "plugdev",
                              "tty",
                              "disk",
                              "audio",
                              "video",
                              "_ssh",
                              "adm",
                              "fwupd-refresh",
                              "dhcpcd",
                              "systemd-timesync"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        assert_int_equal(yv_cloudinit_check_user(reserved[i], &err), -1);
        assert_int_equal(err.code, YV_E_USAGE);
        assert_non_null(strstr(err.msg, "is reserved"));
    }
}

static void test_package_names(void **state)
{
    (void)state;
    yv_err err;
    char longest[YV_CLOUDINIT_MAX_PKG + 2];
    memset(longest, 'a', sizeof longest);
    longest[YV_CLOUDINIT_MAX_PKG] = '\0';
    const char *good[] = {"vim", "g++", "libc6.1-dev", "0ad", "yes", "xz-utils", longest};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (yv_cloudinit_check_package(good[i], &err) < 0) fail_msg("%s: %s", good[i], err.msg);
    longest[YV_CLOUDINIT_MAX_PKG] = 'a';
    longest[YV_CLOUDINIT_MAX_PKG + 1] = '\0';
    const char *bad[] = {"",      "a",    "Vim",   "-vim",   "+x",  ".x",      "vim=2",
                         "vim:a", "v im", "vim\n", "x$(id)", "a/b", "vim,git", longest};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(yv_cloudinit_check_package(bad[i], &err), -1);
        assert_int_equal(err.code, YV_E_USAGE);
        assert_non_null(strstr(err.msg, "invalid package name"));
    }
}

/* The value of key in mapping node m, or NULL. */
static yaml_node_t *get(yv_ydoc *d, yaml_node_t *m, const char *key)
{
    assert_int_equal(m->type, YAML_MAPPING_NODE);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = yv_yamlio_scalar(yv_yamlio_node(d, p->key));
        if (k && !strcmp(k, key)) return yv_yamlio_node(d, p->value);
    }
    return NULL;
}

static size_t seq_len(yaml_node_t *s)
{
    assert_int_equal(s->type, YAML_SEQUENCE_NODE);
    return (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
}

static const char *item(yv_ydoc *d, yaml_node_t *s, size_t i)
{
    return yv_yamlio_scalar(yv_yamlio_node(d, s->data.sequence.items.start[i]));
}

/* A quoted scalar (a string) or a plain one. */
static bool quoted(yv_ydoc *d, yaml_node_t *s, size_t i)
{
    return yv_yamlio_node(d, s->data.sequence.items.start[i])->data.scalar.style !=
           YAML_PLAIN_SCALAR_STYLE;
}

/* The user: one entry (no `default`), the sudo rule, root's hash, the keys; packages a list of
 * strings, those YAML would read as booleans or null quoted. */
static void test_user_data_user_packages(void **state)
{
    (void)state;
    const char *keys[] = {KEY};
    const char *pkgs[] = {"vim", "yes", "null", "g++", "0ad"};
    yv_cloudinit_guest g = {"$6$salt$hash", keys, 1, "alice", pkgs, 5};
    char *ud;
    yv_err err;
    if (yv_cloudinit_user_data("h1", &g, &ud, &err) < 0) fail_msg("%s", err.msg);
    yv_ydoc *d = yv_yamlio_load_string("user-data", ud, strlen(ud), &err);
    if (!d) fail_msg("%s", err.msg);
    yaml_node_t *top = yv_yamlio_root(d), *users = get(d, top, "users");
    assert_non_null(users);
    assert_int_equal(seq_len(users), 1);
    yaml_node_t *u = yv_yamlio_node(d, users->data.sequence.items.start[0]);
    assert_string_equal(yv_yamlio_scalar(get(d, u, "name")), "alice");
    assert_string_equal(yv_yamlio_scalar(get(d, u, "sudo")), "ALL=(ALL) NOPASSWD:ALL");
    assert_string_equal(yv_yamlio_scalar(get(d, u, "shell")), "/bin/bash");
    assert_string_equal(yv_yamlio_scalar(get(d, u, "lock_passwd")), "false");
    assert_string_equal(yv_yamlio_scalar(get(d, u, "hashed_passwd")), "$6$salt$hash");
    yaml_node_t *uk = get(d, u, "ssh_authorized_keys");
    assert_int_equal(seq_len(uk), 1);
    assert_string_equal(item(d, uk, 0), KEY);
    yaml_node_t *p = get(d, top, "packages");
    assert_int_equal(seq_len(p), 5);
    for (size_t i = 0; i < 5; i++) assert_string_equal(item(d, p, i), pkgs[i]);
    assert_false(quoted(d, p, 0));
    assert_true(quoted(d, p, 1) && quoted(d, p, 2) && quoted(d, p, 4));
    /* later instances (no seed: DataSourceNone) create no default user either */
    yaml_node_t *wf = get(d, top, "write_files");
    assert_int_equal(seq_len(wf), 1);
    yaml_node_t *f = yv_yamlio_node(d, wf->data.sequence.items.start[0]);
    assert_string_equal(yv_yamlio_scalar(get(d, f, "path")), YV_CLOUDINIT_USERS_CFG);
    assert_string_equal(yv_yamlio_scalar(get(d, f, "permissions")), "0644");
    assert_non_null(strstr(yv_yamlio_scalar(get(d, f, "content")), "\nusers: []\n"));
    assert_null(get(d, top, "package_update"));
    assert_null(get(d, top, "package_upgrade"));
    /* root keeps its password and keys */
    assert_string_equal(yv_yamlio_scalar(get(d, top, "disable_root")), "false");
    assert_int_equal(seq_len(get(d, top, "ssh_authorized_keys")), 1);
    yv_yamlio_free(d);
    free(ud);

    g.user = NULL; /* none: no users key (the image's default user stays); no packages key */
    g.npackages = 0;
    if (yv_cloudinit_user_data("h1", &g, &ud, &err) < 0) fail_msg("%s", err.msg);
    assert_null(strstr(ud, "users:\n-"));
    assert_null(strstr(ud, "packages"));
    assert_null(strstr(ud, "write_files"));
    free(ud);

    g.user = "bob"; /* a user without keys: no key list of its own */
    g.nkeys = 0;
    if (yv_cloudinit_user_data("h1", &g, &ud, &err) < 0) fail_msg("%s", err.msg);
    d = yv_yamlio_load_string("user-data", ud, strlen(ud), &err);
    if (!d) fail_msg("%s", err.msg);
    users = get(d, yv_yamlio_root(d), "users");
    u = yv_yamlio_node(d, users->data.sequence.items.start[0]);
    assert_string_equal(yv_yamlio_scalar(get(d, u, "name")), "bob");
    assert_null(get(d, u, "ssh_authorized_keys"));
    yv_yamlio_free(d);
    free(ud);
}

/* The seed a VM keeps after its install: its host name and root's login, no secret at all (it
 * lies in the VM folder for every later boot); no runcmd (no new machine-id for the same VM). */
static void test_kept_user_data_has_no_secret(void **state)
{
    (void)state;
    char *ud;
    yv_err err;
    if (yv_cloudinit_kept_user_data("web-1", &ud, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(ud, "#cloud-config\nhostname: web-1\ndisable_root: false\n"
                            "ssh_pwauth: true\n");
    static const char *const never[] = {
        "password", "hashed_passwd", "ssh_authorized_keys", "chpasswd", "users", "$6$",
        "ssh-",     "runcmd",        "power_state",         "packages"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strstr(ud, never[i])) fail_msg("kept user-data holds '%s'", never[i]);
    free(ud);
}

/* A clone's user-data: no secret either, and a new machine-id once (runcmd: per instance), each
 * command a fixed argv list (data: cloud-init quotes every word). */
static void test_clone_user_data_new_machine_id(void **state)
{
    (void)state;
    char *ud;
    yv_err err;
    if (yv_cloudinit_clone_user_data("web-2", &ud, &err) < 0) fail_msg("%s", err.msg);
    assert_null(strstr(ud, "password"));
    assert_null(strstr(ud, "ssh_authorized_keys"));
    yv_ydoc *d = yv_yamlio_load_string("user-data", ud, strlen(ud), &err);
    if (!d) fail_msg("%s", err.msg);
    yaml_node_t *top = yv_yamlio_root(d), *rc = get(d, top, "runcmd");
    assert_string_equal(yv_yamlio_scalar(get(d, top, "hostname")), "web-2");
    assert_null(get(d, top, "bootcmd")); /* bootcmd would run at every boot */
    assert_int_equal(seq_len(rc), 2);
    yaml_node_t *c0 = yv_yamlio_node(d, rc->data.sequence.items.start[0]);
    yaml_node_t *c1 = yv_yamlio_node(d, rc->data.sequence.items.start[1]);
    static const char *const rm[] = {"rm", "-f", "/etc/machine-id", "/var/lib/dbus/machine-id"};
    assert_int_equal(seq_len(c0), 4);
    for (size_t i = 0; i < 4; i++) assert_string_equal(item(d, c0, i), rm[i]);
    assert_int_equal(seq_len(c1), 1);
    assert_string_equal(item(d, c1, 0), "systemd-machine-id-setup");
    yv_yamlio_free(d);
    free(ud);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_names),
        cmocka_unit_test(test_package_names),
        cmocka_unit_test(test_user_data_user_packages),
        cmocka_unit_test(test_kept_user_data_has_no_secret),
        cmocka_unit_test(test_clone_user_data_new_machine_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
