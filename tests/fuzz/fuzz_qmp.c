/* Fuzz target: QMP framing and classification (core/qmp.c, no socket). The first input byte plans
 * the delivery: its low 2 bits choose the chunk sizes (1–4, 1–64, 1–4096 bytes, or all at once);
 * the whole byte seeds a small PRNG that picks each chunk's length and how many messages to pop
 * between feeds; bit 7: also pop replies by id, out of order; bit 6: chunks 64 times larger; bits
 * 6 and 5 together: the next byte N makes the stream the rest repeated 2^(N % 16) times (at most
 * SMALL_MSGS_MAX lines and SMALL_STREAM_MAX bytes, but MSGS_MAX and STREAM_MAX when N = 0xff), so
 * that floods of lines and lines past YV_QMP_LINE_MAX are reachable while most runs stay small
 * (a run over a repeated stream costs milliseconds: when half of them did, the target managed 43
 * runs a second). The other bytes are the stream; chunks grow with it (one more step per 16 KiB).
 *
 * Oracles: yv_qmp_feed fails exactly when a pending line passes YV_QMP_LINE_MAX; exactly one
 * message per complete non-blank line before that (so never more than the '\n's); in order mode
 * each message is the JSON of its line; kind, id and event agree with the JSON; a greeting makes
 * yv_qmp_greeted true. */
#include "fuzz.h"

#include <jansson.h>

#include "core/qmp.h"

#define STREAM_MAX       (YV_QMP_LINE_MAX + 65536)
#define SMALL_STREAM_MAX (256 << 10)
/* lines of a repeated stream: enough to show a quadratic queue (N = 0xff), or to stay fast */
#define MSGS_MAX       32768
#define SMALL_MSGS_MAX 512

typedef struct {
    const char *stream;
    size_t n;
    size_t next_line; /* offset of the next expected line (order mode) */
    size_t popped, expected;
    bool ordered;
    yv_qmp *q;
} run;

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static bool blank(const char *l, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (l[i] != ' ' && l[i] != '\r' && l[i] != '\t') return false;
    return true;
}

static size_t count_expected(const char *s, size_t n)
{
    size_t c = 0;
    for (const char *l = s, *nl; (nl = memchr(l, '\n', n - (size_t)(l - s))); l = nl + 1)
        if (!blank(l, (size_t)(nl - l))) c++;
    return c;
}

/* The next complete non-blank line from r->next_line (order mode). */
static void next_line(run *r, const char **l, size_t *len)
{
    for (;;) {
        const char *nl = memchr(r->stream + r->next_line, '\n', r->n - r->next_line);
        FUZZ_CHECK(nl, "a message with no line left");
        *l = r->stream + r->next_line;
        *len = (size_t)(nl - *l);
        r->next_line += *len + 1;
        if (!blank(*l, *len)) return;
    }
}

static void check_msg(run *r, const yv_qmp_msg *m)
{
    FUZZ_CHECK(m->json, "message without json");
    FUZZ_CHECK(m->kind >= YV_QMP_GREETING && m->kind <= YV_QMP_UNKNOWN, "kind %d", m->kind);
    json_t *id = json_object_get(m->json, "id"), *ev = json_object_get(m->json, "event");
    FUZZ_CHECK(m->id == (json_is_integer(id) ? json_integer_value(id) : -1), "id %lld",
               (long long)m->id);
    if (m->kind == YV_QMP_EVENT)
        FUZZ_CHECK(m->event && json_is_string(ev) && !strcmp(m->event, json_string_value(ev)),
                   "event name");
    else FUZZ_CHECK(!m->event, "event name on a kind %d message", m->kind);
    if (m->kind == YV_QMP_GREETING) FUZZ_CHECK(yv_qmp_greeted(r->q), "greeting not noted");
    if (m->kind != YV_QMP_UNKNOWN) FUZZ_CHECK(json_is_object(m->json), "classified a non-object");
    if (r->ordered) {
        const char *l;
        size_t len;
        json_error_t je;
        next_line(r, &l, &len);
        json_t *want = json_loadb(l, len, JSON_REJECT_DUPLICATES, &je);
        if (want) FUZZ_CHECK(json_equal(want, m->json), "message differs from its line");
        else FUZZ_CHECK(json_object_get(m->json, "unparsed"), "unparsable line not marked");
        json_decref(want);
    }
    r->popped++;
    FUZZ_CHECK(r->popped <= r->expected, "%zu messages from %zu lines", r->popped, r->expected);
}

static void pop_some(run *r, unsigned k, uint32_t *rng)
{
    yv_qmp_msg m;
    for (unsigned i = 0; i < k && yv_qmp_pop(r->q, &m); i++) {
        check_msg(r, &m);
        json_decref(m.json);
    }
    if (r->ordered) return;
    json_int_t id = (json_int_t)(rng_next(rng) % 4) - 1; /* -1 … 2 */
    if (yv_qmp_pop_reply(r->q, id, &m)) {
        FUZZ_CHECK(m.id == id && (m.kind == YV_QMP_RETURN || m.kind == YV_QMP_ERROR),
                   "pop_reply(%lld) gave id %lld kind %d", (long long)id, (long long)m.id, m.kind);
        check_msg(r, &m);
        json_decref(m.json);
    }
}

/* The stream: the payload, or (bit 6) the payload repeated; *owned is set when it was built. */
static const char *make_stream(const uint8_t *data, size_t size, size_t *n, char **owned)
{
    *owned = NULL;
    if ((data[0] & 0x60) != 0x60 || size < 3) {
        *n = size - 1;
        return (const char *)data + 1;
    }
    size_t plen = size - 2, reps = (size_t)1 << (data[1] % 16), nl = 0;
    for (const uint8_t *p = data + 2; (p = memchr(p, '\n', size - (size_t)(p - data))); p++) nl++;
    size_t max = data[1] == 0xff ? STREAM_MAX : SMALL_STREAM_MAX; /* big ones are slow: rarer */
    if (reps > max / plen) reps = max / plen;
    size_t msgs = data[1] == 0xff ? MSGS_MAX : SMALL_MSGS_MAX;
    if (nl && reps > msgs / nl) reps = msgs / nl ? msgs / nl : 1;
    char *s = malloc(plen * reps ? plen * reps : 1);
    if (!s) abort();
    for (size_t i = 0; i < reps; i++) memcpy(s + i * plen, data + 2, plen);
    *n = plen * reps;
    return *owned = s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const size_t max_chunk[] = {4, 64, 4096, 0};
    size_t maxc = max_chunk[data[0] & 3] * (data[0] & 0x40 ? 64 : 1);
    uint32_t rng = 0x9e3779b9u ^ ((uint32_t)data[0] << 8) ^ (uint32_t)size;
    char *owned;
    run r = {.ordered = !(data[0] & 0x80)};
    r.stream = make_stream(data, size, &r.n, &owned);
    maxc *= 1 + r.n / 16384; /* a big stream in bigger chunks: at most ~16k feeds stay fast */
    r.expected = count_expected(r.stream, r.n);
    r.q = yv_qmp_new();
    yv_err err = {0};
    size_t line_start = 0; /* of the pending line */
    for (size_t off = 0; off < r.n;) {
        size_t c = maxc ? 1 + rng_next(&rng) % maxc : r.n;
        if (c > r.n - off) c = r.n - off;
        int rc = yv_qmp_feed(r.q, r.stream + off, c, &err);
        const char *nl = memrchr(r.stream + off, '\n', c);
        if (nl) line_start = (size_t)(nl - r.stream) + 1;
        off += c;
        size_t left = off - line_start;
        if (rc < 0) { /* an oversized line: the connection is over, what came before stays */
            FUZZ_CHECK(left > YV_QMP_LINE_MAX, "feed failed with a %zu-byte line: %s", left,
                       err.msg);
            FUZZ_CHECK(yv_qmp_eof(r.q), "no eof after an oversized line");
            r.expected = count_expected(r.stream, off);
            break;
        }
        FUZZ_CHECK(left <= YV_QMP_LINE_MAX, "a %zu-byte line was accepted", left);
        pop_some(&r, rng_next(&rng) % 3, &rng);
    }
    pop_some(&r, (unsigned)-1, &rng);
    yv_qmp_msg m;
    FUZZ_CHECK(!yv_qmp_pop(r.q, &m), "a message left after popping all");
    FUZZ_CHECK(r.popped == r.expected, "%zu messages from %zu non-blank lines", r.popped,
               r.expected);
    FUZZ_CHECK(yv_qmp_fd(r.q) == -1, "fd");
    yv_qmp_free(r.q);
    free(owned);
    return 0;
}
