/* Fuzz target: the guest agent kind on a channel (core/channel.c + core/chan_qga.c) over a
 * socketpair: the input is what the guest's agent says (the guest is untrusted), delivered in
 * chunks whose sizes the first byte plans (as fuzz_chan). The sync id is fixed to 1 so that the
 * fuzzer can reach the synced state; whenever the channel is READY with nothing outstanding, a
 * request goes out (ids 1, 2, 3…). At the end the peer closes.
 *
 * Oracles: GREETING ⇔ open and not synced; WAITING ⇔ one outstanding; a reply is delivered only
 * after the sync, for the request outstanding, at most once each, and is an object with "return"
 * or "error" whose id (if any) is the request's, and read as the agent's interfaces gives only
 * canonical, useful, distinct addresses, at most YV_ADDR_MAX; a closed channel has no descriptor
 * and a verdict (gone or unresponsive); after the peer closes, the channel is closed. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/chan_qga.h"
#include "core/util.h"

typedef struct {
    int64_t outstanding; /* -1: none */
    size_t requests, replies;
    yv_chan_qga *q;
} run;

static run g_run;

/* The answer read as guest-network-get-interfaces' (core/addr.c): at most YV_ADDR_MAX addresses,
 * each a canonical IPv4/IPv6 address (inet_pton → inet_ntop gives it back), neither loopback nor
 * IPv6 link-local, no duplicates, all from the agent. */
static void check_addresses(const json_t *ret)
{
    yv_addrs a = {0};
    yv_addr_from_agent(ret, &a);
    FUZZ_CHECK(a.n <= YV_ADDR_MAX, "%zu addresses", a.n);
    for (size_t i = 0; i < a.n; i++) {
        unsigned char b[16];
        char back[64];
        int fam = strchr(a.v[i].ip, ':') ? AF_INET6 : AF_INET;
        FUZZ_CHECK(inet_pton(fam, a.v[i].ip, b) == 1, "not an address: %s", a.v[i].ip);
        FUZZ_CHECK(inet_ntop(fam, b, back, sizeof back) && !strcmp(back, a.v[i].ip),
                   "not canonical: %s", a.v[i].ip);
        static const unsigned char zero[16];
        FUZZ_CHECK(fam == AF_INET ? b[0] != 127 : !(b[0] == 0xfe && (b[1] & 0xc0) == 0x80),
                   "loopback or link-local: %s", a.v[i].ip);
        FUZZ_CHECK(memcmp(b, zero, fam == AF_INET ? 4 : 16) != 0, "unspecified: %s", a.v[i].ip);
        FUZZ_CHECK(a.v[i].source == YV_ADDR_AGENT && a.v[i].port == 0, "source/port");
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(a.v[k].ip, a.v[i].ip) != 0, "duplicate %s", a.v[i].ip);
    }
    yv_addrs_done(&a);
}

static void on_reply(void *user, const json_t *m)
{
    (void)user;
    FUZZ_CHECK(g_run.outstanding > 0, "a reply with nothing outstanding");
    FUZZ_CHECK(yv_chan_qga_synced(g_run.q), "a reply before the sync");
    FUZZ_CHECK(json_object_get(m, "return") || json_object_get(m, "error"), "not an answer");
    json_t *id = json_object_get(m, "id");
    FUZZ_CHECK(!id || json_integer_value(id) == g_run.outstanding, "answer to another id");
    g_run.outstanding = -1;
    g_run.replies++;
    check_addresses(json_object_get(m, "return"));
}

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void check(yv_chan *c)
{
    yv_chan_state st = yv_chan_state_of(c);
    bool out = yv_chan_outstanding(c);
    FUZZ_CHECK(st != YV_CHAN_WAITING || out, "WAITING with nothing outstanding");
    FUZZ_CHECK(st != YV_CHAN_READY || !out, "READY with a request outstanding");
    FUZZ_CHECK((st == YV_CHAN_GREETING) == (st != YV_CHAN_CLOSED && !yv_chan_qga_synced(g_run.q)),
               "GREETING (%d) disagrees with the sync", (int)st);
    FUZZ_CHECK(g_run.replies <= g_run.requests, "%zu replies to %zu requests", g_run.replies,
               g_run.requests);
    if (st != YV_CHAN_CLOSED) return;
    FUZZ_CHECK(yv_chan_fd(c) < 0, "closed with a descriptor");
    FUZZ_CHECK(yv_chan_verdict_of(c) == YV_CHAN_GONE ||
                   yv_chan_verdict_of(c) == YV_CHAN_UNRESPONSIVE,
               "closed with verdict %d (%s)", (int)yv_chan_verdict_of(c), yv_chan_why(c));
}

static void turn(int peer)
{
    yv_chan *c = yv_chan_qga_chan(g_run.q);
    if (yv_chan_state_of(c) == YV_CHAN_READY && !yv_chan_outstanding(c)) {
        g_run.outstanding =
            yv_chan_qga_request(g_run.q, "guest-network-get-interfaces", NULL, yv_now_ms(), 60000);
        FUZZ_CHECK(g_run.outstanding > 0, "READY refused a request");
        g_run.requests++;
    }
    char sink[65536];
    while (read(peer, sink, sizeof sink) > 0) { /* the peer never answers for real */
    }
    yv_chan_handle(c, POLLIN | POLLOUT, yv_now_ms());
    check(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const size_t caps[] = {4, 64, 4096, (size_t)-1};
    uint32_t seed = data[0] | 0x100u;
    size_t cap = caps[data[0] & 3], off = 1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) abort();
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    yv_chan_qga_cbs cbs = {.reply = on_reply};
    g_run = (run){.outstanding = -1, .q = yv_chan_qga_new(&cbs, NULL)};
    yv_chan_qga_adopt(g_run.q, sv[0], yv_now_ms(), 60000);
    yv_chan_qga_reset(g_run.q, 1);
    yv_chan *c = yv_chan_qga_chan(g_run.q);
    while (off < size && yv_chan_state_of(c) != YV_CHAN_CLOSED) {
        size_t n = size - off;
        if (cap != (size_t)-1 && n > 1 + rng_next(&seed) % cap) n = 1 + seed % cap;
        ssize_t w = write(sv[1], data + off, n);
        if (w > 0) off += (size_t)w;
        turn(sv[1]);
    }
    close(sv[1]);
    for (int i = 0; i < 64 && yv_chan_state_of(c) != YV_CHAN_CLOSED; i++) turn(-1);
    FUZZ_CHECK(yv_chan_state_of(c) == YV_CHAN_CLOSED, "still open after the peer closed");
    yv_chan_qga_free(g_run.q);
    return 0;
}
