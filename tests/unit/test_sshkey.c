/* Unit tests of core/sshkey.c (preset --ssh-key, spec §13) and of how the keys reach user-data
 * (core/cloudinit.c). The keys are real ssh-keygen output. */
#include "unit.h"

#include <yaml.h>

#include "core/cloudinit.h"
#include "core/sshkey.h"
#include "core/yamlio.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBNYMTC0ZqGMakECRD7DIt9pkqxiQfVaEI4U+NQZoHsE"
#define ECDSA                                                                                      \
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBE5i3ugCQeGCx6vjFkM6" \
    "YIXt+KadIu6CBpKSUu0Biqk/ZVHafHt/HRBEc8nbcak1oZdm4UolH4hldoIj17bEUC4="
#define RSA                                                                                        \
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDA4ANVb6h2REGqscsZj/4SUI+DwZGh8wF5czye6NS/NXDf5tLXFOFL" \
    "b5+spY9CfEBhswE+7xQQcwu+KL6Bo6WBzpphKuHXRabL94lw2rXuVTRMHiKJiwyHfpX3glc0o8Ycpdzd28+BYXA5Q7Ey" \
    "bYLXU+5KcHv8jjqH4/b/YBXhWQ=="
#define ED25519_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIBNYMTC0ZqGMakECRD7DIt9pkqxiQfVaEI4U+NQZoHsE"

static int parse(yv_sshkeys *k, const char *text, yv_err *err)
{
    return yv_sshkey_parse(k, "keys.pub", text, strlen(text), err);
}

static void test_good_files(void **state)
{
    (void)state;
    yv_sshkeys k = {0};
    yv_err err;
    const char *text = "# my keys\n\n" ED25519 "  alice@host \r\n\t" ECDSA "\n" RSA " x y z";
    if (parse(&k, text, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(k.n, 3);
    assert_string_equal(k.keys[0], ED25519 " alice@host"); /* blanks and CR trimmed */
    assert_string_equal(k.keys[1], ECDSA);
    assert_string_equal(k.keys[2], RSA " x y z");
    /* a second file appends */
    if (parse(&k, ED25519 "\n", &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(k.n, 4);
    yv_sshkey_done(&k);
    assert_int_equal(k.n, 0);
}

/* Every refusal names the file and the line, and leaves what was parsed before as it was. */
static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"\n"
         "ssh-rsa " ED25519_B64 "\n",
         "keys.pub, line 2: the key data"}, /* type mismatch */
        {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBNYMTC0ZqGMakECRD7DIt9pkqxiQfVaEI4U+NQZoHs\n",
         "line 1: the key data"}, /* cut short: not a multiple of 4 */
        {"ecdsa-sha2-nistp256 "
         "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBE5i3ugCQeGCx6vjFkM6"
         "YIXt+KadIu6CBpKSUu0Biqk/ZVHafHt/HRBEc8nbcak1oZdm4UolH4hldoIj17bEUC5=\n",
         "line 1: the key data"}, /* non-canonical bits before the padding */
        {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBNYMTC0ZqGMakECRD7DIt9pkqxiQfVaEI4U+NQZo=sE\n",
         "line 1: the key data"},                                       /* padding inside */
        {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n", "line 1: the key data"}, /* type only */
        {"ssh-ed25519\n", "line 1: the key data"},
        {"ssh-dss AAAAB3NzaC1kc3MAAACB\n", "line 1: not an SSH public key"},
        {"from=\"10.0.0.1\" " ED25519 "\n", "line 1: not an SSH public key"}, /* options */
        {"-----BEGIN OPENSSH PRIVATE KEY-----\n", "line 1: not an SSH public key"},
        {ED25519 "\n" ED25519 " a\033[2Jb\n", "line 2: the comment"},
        {ED25519 " \xff\xfe\n", "line 1: the comment"},
        {ED25519 "\n#\n\n", NULL}, /* fine */
        {"# only a comment\n\n", "holds no key"},
        {"", "holds no key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        yv_sshkeys k = {0};
        yv_err err;
        if (parse(&k, ED25519 "\n", &err) < 0) fail_msg("%s", err.msg);
        int rc = parse(&k, bad[i].text, &err);
        if (!bad[i].want) {
            assert_int_equal(rc, 0);
        } else {
            if (rc == 0) fail_msg("accepted: %s", bad[i].text);
            assert_int_equal(err.code, YV_E_USAGE);
            if (!strstr(err.msg, bad[i].want)) fail_msg("%zu: %s", i, err.msg);
            assert_non_null(strstr(err.msg, "keys.pub"));
            assert_int_equal(k.n, 1);
        }
        yv_sshkey_done(&k);
    }
    yv_sshkeys k = {0};
    yv_err err;
    assert_int_equal(yv_sshkey_parse(&k, "keys.pub", ED25519 "\0x", sizeof ED25519 + 1, &err), -1);
    assert_non_null(strstr(err.msg, "NUL"));
}

static void test_load(void **state)
{
    char *dir = *state;
    yv_sshkeys k = {0};
    yv_err err;
    ut_write(dir, "a.pub", ED25519 " me\n");
    char *p = yv_asprintf("%s/a.pub", dir);
    if (yv_sshkey_load(&k, p, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(k.n, 1);
    free(p);
    p = yv_asprintf("%s/missing.pub", dir);
    assert_int_equal(yv_sshkey_load(&k, p, &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    assert_non_null(strstr(err.msg, "missing.pub"));
    free(p);
    assert_int_equal(yv_sshkey_load(&k, dir, &err), -1); /* a folder */
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(k.n, 1);
    yv_sshkey_done(&k);
}

/* The value of a top-level key of a YAML document. */
static yaml_node_t *top(yv_ydoc *d, const char *key)
{
    yaml_node_t *root = yv_yamlio_root(d);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *k = yv_yamlio_scalar(yv_yamlio_node(d, p->key));
        if (k && !strcmp(k, key)) return yv_yamlio_node(d, p->value);
    }
    return NULL;
}

/* The keys are data: a comment that looks like YAML, or like more keys, stays one string. */
static void test_user_data(void **state)
{
    (void)state;
    const char *keys[] = {ED25519 " a: b #c\n- ssh-rsa AAAA", ECDSA " 'q\" {x: [1]}"};
    yv_cloudinit_guest g = {"$6$salt$hash", keys, 2, NULL, NULL, 0};
    char *ud;
    yv_err err;
    if (yv_cloudinit_user_data("h1", &g, &ud, &err) < 0) fail_msg("%s", err.msg);
    assert_true(!strncmp(ud, "#cloud-config\n", 14));
    yv_ydoc *d = yv_yamlio_load_string("user-data", ud, strlen(ud), &err);
    if (!d) fail_msg("%s", err.msg);
    yaml_node_t *seq = top(d, "ssh_authorized_keys");
    assert_non_null(seq);
    assert_int_equal(seq->type, YAML_SEQUENCE_NODE);
    assert_int_equal(seq->data.sequence.items.top - seq->data.sequence.items.start, 2);
    for (int i = 0; i < 2; i++)
        assert_string_equal(yv_yamlio_scalar(yv_yamlio_node(d, seq->data.sequence.items.start[i])),
                            keys[i]);
    assert_string_equal(yv_yamlio_scalar(top(d, "disable_root")), "false");
    yv_yamlio_free(d);
    free(ud);
    g.nkeys = 0; /* no keys: no key list at all */
    if (yv_cloudinit_user_data("h1", &g, &ud, &err) < 0) fail_msg("%s", err.msg);
    assert_null(strstr(ud, "ssh_authorized_keys"));
    free(ud);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_files),
        cmocka_unit_test(test_refused),
        cmocka_unit_test_setup_teardown(test_load, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test(test_user_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
