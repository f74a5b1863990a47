/* Fuzz target: the SSH public key parser of preset --ssh-key (core/sshkey.c). Oracles: a refusal
 * names the file and leaves the list as it was; every accepted key is one line of printable text
 * that parses again to itself (the normal form is a fixed point) and goes into user-data through
 * the YAML writer, reading back byte for byte. */
#include "fuzz.h"

#include <yaml.h>

#include "core/cloudinit.h"
#include "core/sshkey.h"
#include "core/yamlio.h"

static void check_key(const char *key)
{
    for (const char *p = key; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in '%s'", key);
    yv_sshkeys again = {0};
    yv_err err;
    FUZZ_CHECK(yv_sshkey_parse(&again, "again", key, strlen(key), &err) == 0, "%s: %s", key,
               err.msg);
    FUZZ_CHECK(again.n == 1 && !strcmp(again.keys[0], key), "'%s' not a fixed point", key);
    yv_sshkey_done(&again);
}

static void check_user_data(const yv_sshkeys *k)
{
    yv_cloudinit_guest g = {"$6$s$h", (const char *const *)k->keys, k->n, NULL, NULL, 0};
    char *ud;
    yv_err err;
    FUZZ_CHECK(yv_cloudinit_user_data("h", &g, &ud, &err) == 0, "user-data: %s", err.msg);
    yv_ydoc *d = yv_yamlio_load_string("user-data", ud, strlen(ud), &err);
    FUZZ_CHECK(d != NULL, "user-data does not read back: %s", err.msg);
    yaml_node_t *root = yv_yamlio_root(d), *seq = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++)
        if (!strcmp(yv_yamlio_scalar(yv_yamlio_node(d, p->key)), "ssh_authorized_keys"))
            seq = yv_yamlio_node(d, p->value);
    FUZZ_CHECK(seq && seq->data.sequence.items.top - seq->data.sequence.items.start == (long)k->n,
               "key list lost");
    for (size_t i = 0; i < k->n; i++) {
        const char *v = yv_yamlio_scalar(yv_yamlio_node(d, seq->data.sequence.items.start[i]));
        FUZZ_CHECK(v && !strcmp(v, k->keys[i]), "key %zu reads back as '%s'", i, v ? v : "?");
    }
    yv_yamlio_free(d);
    free(ud);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    yv_sshkeys k = {0};
    yv_err err;
    if (yv_sshkey_parse(&k, "fuzz.pub", (const char *)data, size, &err) < 0) {
        FUZZ_CHECK(k.n == 0 && strstr(err.msg, "fuzz.pub"), "refusal: n=%zu, %s", k.n, err.msg);
        return 0;
    }
    FUZZ_CHECK(k.n > 0 && k.n <= YV_SSHKEY_MAX_KEYS, "%zu keys", k.n);
    for (size_t i = 0; i < k.n; i++) check_key(k.keys[i]);
    check_user_data(&k);
    yv_sshkey_done(&k);
    return 0;
}
