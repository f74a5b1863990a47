/* Fuzz target: the kernel's answer to "is there YAVE's table" (core/firewall.c
 * yv_firewall_table_answer, a GETTABLE over nfnetlink). The input is one datagram, copied to a
 * buffer of its exact size (aligned, as recv's is). Oracle: the same verdict as a by-hand walk of
 * the netlink headers — 1 at the first NEWTABLE of nf_tables, 0 at the first error message that
 * holds its code and says ENOENT, -1 at any other error, at a header cut short or longer than
 * what is left, or at the end. */
#include "fuzz.h"

#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "core/firewall.h"

static int by_hand(const uint8_t *d, size_t n)
{
    size_t at = 0;
    while (n - at >= sizeof(struct nlmsghdr)) {
        uint32_t len;
        uint16_t type;
        memcpy(&len, d + at, sizeof len);
        memcpy(&type, d + at + 4, sizeof type);
        if (len < sizeof(struct nlmsghdr) || len > n - at) return -1;
        if (type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) return 1;
        if (type == NLMSG_ERROR) {
            int code;
            if (len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return -1;
            memcpy(&code, d + at + sizeof(struct nlmsghdr), sizeof code);
            return code == -ENOENT ? 0 : -1;
        }
        at += (len + 3) & ~(size_t)3;
        if (at > n) return -1;
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *buf = malloc(size ? size : 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    int got = yv_firewall_table_answer(buf, size), want = by_hand(data, size);
    FUZZ_CHECK(got == want, "answer %d, by hand %d (%zu bytes)", got, want, size);
    free(buf);
    return 0;
}
