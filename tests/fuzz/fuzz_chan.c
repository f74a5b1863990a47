/* Fuzz target: the QMP kind on a channel (core/channel.c + core/chan_qmp.c) over a socketpair: the
 * input is what the peer says, delivered in chunks whose sizes the first byte plans (its low 2
 * bits: 1–4, 1–64, 1–4096 bytes or all at once; the whole byte seeds the PRNG). Whenever the
 * channel is open with nothing outstanding, a request goes out (so ids 1, 2, 3… are in play and
 * replies with them are reachable). At the end the peer closes.
 *
 * Oracles: the state and the outstanding request agree (WAITING ⇔ one outstanding once greeted,
 * READY ⇒ none); a reply is delivered only for the request outstanding, at most once each; a
 * closed channel has no descriptor and a verdict other than OK (nothing here closes it on
 * purpose) and never BUSY (no busy probe); after the peer closes, the channel is closed. */
#include "fuzz.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/chan_qmp.h"
#include "core/util.h"

typedef struct {
    json_int_t outstanding; /* -1: none */
    size_t requests, replies;
} run;

static run g_run;

static void on_reply(void *user, const yv_qmp_msg *m)
{
    (void)user;
    FUZZ_CHECK(m->id == g_run.outstanding, "reply to %lld, outstanding %lld", (long long)m->id,
               (long long)g_run.outstanding);
    g_run.outstanding = -1;
    g_run.replies++;
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
    FUZZ_CHECK(g_run.replies <= g_run.requests, "%zu replies to %zu requests", g_run.replies,
               g_run.requests);
    if (st != YV_CHAN_CLOSED) return;
    FUZZ_CHECK(yv_chan_fd(c) < 0, "closed with a descriptor");
    FUZZ_CHECK(yv_chan_verdict_of(c) == YV_CHAN_GONE ||
                   yv_chan_verdict_of(c) == YV_CHAN_UNRESPONSIVE,
               "closed with verdict %d (%s)", (int)yv_chan_verdict_of(c), yv_chan_why(c));
}

/* One turn of a poll loop: a request when there is room for one, our bytes out, theirs in. */
static void turn(yv_chan_qmp *q, int peer)
{
    yv_chan *c = yv_chan_qmp_chan(q);
    if (yv_chan_state_of(c) != YV_CHAN_CLOSED && !yv_chan_outstanding(c)) {
        g_run.outstanding = yv_chan_qmp_request(q, "query-status", NULL, yv_now_ms(), 60000);
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
    g_run = (run){.outstanding = -1};
    yv_chan_qmp_cbs cbs = {.reply = on_reply};
    yv_chan_qmp *q = yv_chan_qmp_new(&cbs, NULL);
    yv_chan_qmp_adopt(q, sv[0], yv_now_ms(), 60000);
    while (off < size && yv_chan_state_of(yv_chan_qmp_chan(q)) != YV_CHAN_CLOSED) {
        size_t n = size - off;
        if (cap != (size_t)-1 && n > 1 + rng_next(&seed) % cap) n = 1 + seed % cap;
        ssize_t w = write(sv[1], data + off, n);
        if (w > 0) off += (size_t)w;
        turn(q, sv[1]);
    }
    close(sv[1]);
    for (int i = 0; i < 64 && yv_chan_state_of(yv_chan_qmp_chan(q)) != YV_CHAN_CLOSED; i++)
        turn(q, -1);
    FUZZ_CHECK(yv_chan_state_of(yv_chan_qmp_chan(q)) == YV_CHAN_CLOSED,
               "still open after the peer closed");
    yv_chan_qmp_free(q);
    return 0;
}
