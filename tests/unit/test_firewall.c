/* Unit tests of core/firewall.c: the kernel's answer to "is there YAVE's table" (a GETTABLE over
 * nfnetlink, read without libnftables so list and status need not load it): a described table,
 * none (ENOENT), and everything that cannot tell — another error, another message, a message cut
 * short or claiming more than arrived. The query itself runs in the integration tests
 * (test-net-trust.sh), inside a network namespace with and without the table. */
#include "unit.h"

#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "core/firewall.h"

/* A datagram as the kernel sends it, aligned as recv's buffer is. */
typedef union {
    struct nlmsghdr h;
    char bytes[256];
} datagram;

static size_t message(datagram *d, size_t at, uint16_t type, const void *body, size_t len)
{
    struct nlmsghdr *h = (struct nlmsghdr *)(d->bytes + at);
    *h = (struct nlmsghdr){.nlmsg_len = (uint32_t)NLMSG_LENGTH(len), .nlmsg_type = type};
    memcpy(NLMSG_DATA(h), body, len);
    return at + NLMSG_ALIGN(h->nlmsg_len);
}

static size_t error_message(datagram *d, size_t at, int error)
{
    struct nlmsgerr e = {.error = error};
    return message(d, at, NLMSG_ERROR, &e, sizeof e);
}

static size_t table_message(datagram *d, size_t at)
{
    struct nfgenmsg g = {.nfgen_family = 7, .version = NFNETLINK_V0};
    return message(d, at, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE, &g, sizeof g);
}

static void test_answers(void **state)
{
    (void)state;
    datagram d;
    memset(&d, 0, sizeof d);
    assert_int_equal(yv_firewall_table_answer(&d, table_message(&d, 0)), 1);
    assert_int_equal(yv_firewall_table_answer(&d, error_message(&d, 0, -ENOENT)), 0);
    /* the same answers behind a message that says nothing (a no-op) */
    size_t at = message(&d, 0, NLMSG_NOOP, "", 0);
    assert_int_equal(yv_firewall_table_answer(&d, table_message(&d, at)), 1);
    assert_int_equal(yv_firewall_table_answer(&d, error_message(&d, at, -ENOENT)), 0);
}

static void test_cannot_tell(void **state)
{
    (void)state;
    datagram d;
    memset(&d, 0, sizeof d);
    /* another error (no right to look, a kernel without nf_tables), or a bare acknowledgement */
    assert_int_equal(yv_firewall_table_answer(&d, error_message(&d, 0, -EPERM)), -1);
    assert_int_equal(yv_firewall_table_answer(&d, error_message(&d, 0, -EPROTONOSUPPORT)), -1);
    assert_int_equal(yv_firewall_table_answer(&d, error_message(&d, 0, 0)), -1);
    /* nothing, or a message of another kind only (a chain is not the table) */
    assert_int_equal(yv_firewall_table_answer(&d, 0), -1);
    struct nfgenmsg g = {0};
    size_t len = message(&d, 0, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN, &g, sizeof g);
    assert_int_equal(yv_firewall_table_answer(&d, len), -1);
}

static void test_cut_messages(void **state)
{
    (void)state;
    datagram d;
    memset(&d, 0, sizeof d);
    size_t len = table_message(&d, 0);
    /* fewer bytes than the header, or than the message says it has: not read */
    assert_int_equal(yv_firewall_table_answer(&d, sizeof(struct nlmsghdr) - 1), -1);
    assert_int_equal(yv_firewall_table_answer(&d, len - 1), -1);
    /* a length shorter than a header, and an error too short to hold its code */
    d.h.nlmsg_len = sizeof(struct nlmsghdr) - 1;
    assert_int_equal(yv_firewall_table_answer(&d, len), -1);
    len = error_message(&d, 0, -ENOENT);
    d.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(sizeof(int));
    assert_int_equal(yv_firewall_table_answer(&d, len), -1);
    /* a message whose aligned length runs past the end is the last one read: the table behind
     * it is not among the bytes given */
    len = message(&d, 0, NLMSG_NOOP, "abc", 3); /* 19 bytes, aligned to 20 */
    table_message(&d, len);
    assert_int_equal(yv_firewall_table_answer(&d, len - 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_cannot_tell),
        cmocka_unit_test(test_cut_messages),
    };
    return cmocka_run_group_tests_name("firewall", tests, NULL, NULL);
}
