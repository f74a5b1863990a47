#include "chan_qga.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "util.h"

#define DELIM '\xff'

struct yv_chan_qga {
    yv_chan *ch;
    yv_chan_qga_cbs cbs;
    int64_t sync_id;
    int64_t next_id;
    int64_t req; /* the request outstanding, -1: none */
    bool delim;  /* a line is being collected (after a 0xFF, or any line once synced) */
    bool synced;
    bool skip; /* before the sync: the rest of an oversized leftover line is dropped */
    char *line;
    size_t len, cap;
};

static const char *const kind_name = "guest agent";

static int qga_input(yv_chan *c, const char *buf, size_t n, yv_err *err)
{
    return yv_chan_qga_feed(yv_chan_impl(c), buf, n, err);
}

/* The sync is the greeting: the channel stays GREETING (the open deadline counting) until the
 * agent answers it. */
static const yv_chan_kind qga_kind = {.name = "guest agent", .greets = true, .input = qga_input};

yv_chan_qga *yv_chan_qga_new(const yv_chan_qga_cbs *cbs, yv_chan_busy_fn busy)
{
    yv_chan_qga *q = yv_calloc(1, sizeof *q);
    q->ch = yv_chan_new(&qga_kind, q, busy);
    if (cbs) q->cbs = *cbs;
    q->req = -1;
    q->next_id = 1;
    return q;
}

void yv_chan_qga_free(yv_chan_qga *q)
{
    if (!q) return;
    yv_chan_free(q->ch);
    free(q->line);
    free(q);
}

yv_chan *yv_chan_qga_chan(const yv_chan_qga *q)
{
    return q->ch;
}

int64_t yv_chan_qga_sync_id(const yv_chan_qga *q)
{
    return q->sync_id;
}

bool yv_chan_qga_synced(const yv_chan_qga *q)
{
    return q->synced;
}

void yv_chan_qga_reset(yv_chan_qga *q, int64_t sync_id)
{
    q->sync_id = sync_id;
    q->req = -1;
    q->delim = q->synced = q->skip = false;
    q->len = 0;
}

/* A fresh id for each connection: a sync reply an earlier client left behind never matches. */
static int64_t fresh_id(void)
{
    uint32_t u;
    if (getrandom(&u, sizeof u, GRND_NONBLOCK) != (ssize_t)sizeof u)
        u = (uint32_t)yv_now_ms() ^ (uint32_t)getpid() << 16;
    return (int64_t)(u & 0x7fffffff) + 1;
}

static char *command_line(const char *cmd, json_t *args, int64_t id, bool delimited, size_t *len)
{
    json_t *o = json_pack("{s:s}", "execute", cmd);
    if (args) json_object_set_new(o, "arguments", args);
    if (id > 0) json_object_set_new(o, "id", json_integer(id));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    size_t n = strlen(s);
    char *line = yv_malloc(n + 3);
    size_t k = 0;
    if (delimited) line[k++] = DELIM; /* the agent drops a partial command someone left */
    memcpy(line + k, s, n);
    k += n;
    line[k++] = '\n';
    line[k] = '\0';
    free(s);
    *len = k;
    return line;
}

static void send_sync(yv_chan_qga *q)
{
    size_t len;
    json_t *args = json_pack("{s:I}", "id", (json_int_t)q->sync_id);
    char *line = command_line("guest-sync-delimited", args, 0, true, &len);
    yv_chan_write(q->ch, line, len);
    free(line);
}

int yv_chan_qga_open(yv_chan_qga *q, const char *path, int64_t now, int sync_ms, yv_err *err)
{
    yv_chan_qga_reset(q, fresh_id());
    if (yv_chan_open(q->ch, path, now, sync_ms, err) < 0) return -1;
    send_sync(q);
    return 0;
}

void yv_chan_qga_adopt(yv_chan_qga *q, int fd, int64_t now, int sync_ms)
{
    yv_chan_qga_reset(q, fresh_id());
    yv_chan_adopt(q->ch, fd, now, sync_ms);
    send_sync(q);
}

int64_t yv_chan_qga_request(yv_chan_qga *q, const char *cmd, json_t *args, int64_t now,
                            int timeout_ms)
{
    if (yv_chan_state_of(q->ch) != YV_CHAN_READY || q->req >= 0) {
        json_decref(args);
        return -1;
    }
    int64_t id = q->next_id++;
    size_t len;
    char *line = command_line(cmd, args, id, false, &len);
    q->req = id;
    yv_chan_request(q->ch, id, line, len, now, timeout_ms);
    explicit_bzero(line, len); /* guest-set-user-password and the like carry secrets */
    free(line);
    return id;
}

/* ---- the parser ---- */

/* A line before the sync: the answer to ours, or a leftover (then wait for the next 0xFF). */
static void sync_line(yv_chan_qga *q, const json_t *j)
{
    json_t *ret = json_object_get(j, "return");
    if (json_is_integer(ret) && json_integer_value(ret) == q->sync_id) {
        q->synced = true;
        yv_chan_greeted(q->ch);
    } else {
        q->delim = false;
    }
}

/* A line after the sync: the answer to the request outstanding, or ignored (an answer with
 * another id, a reply nobody asked for). */
static void reply_line(yv_chan_qga *q, const json_t *j)
{
    if (!json_object_get(j, "return") && !json_object_get(j, "error")) return;
    json_t *id = json_object_get(j, "id");
    if (q->req < 0 || (id && (!json_is_integer(id) || json_integer_value(id) != q->req))) return;
    int64_t req = q->req;
    q->req = -1;
    if (yv_chan_replied(q->ch, req) && q->cbs.reply) q->cbs.reply(q->cbs.user, j);
}

static int line_done(yv_chan_qga *q, yv_err *err)
{
    const char *s = q->line;
    size_t n = q->len;
    q->len = 0;
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (!n) return 0;
    json_t *j = json_loadb(s, n, 0, NULL);
    int rc = 0;
    if (!q->synced) sync_line(q, j);
    else if (json_is_object(j)) reply_line(q, j);
    else rc = yv_err_set(err, YV_E_IO, "%s: an answer that is not a JSON object", kind_name);
    json_decref(j);
    return rc;
}

static void line_add(yv_chan_qga *q, char ch)
{
    if (q->len == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->line = yv_realloc(q->line, q->cap);
    }
    q->line[q->len++] = ch;
}

/* One byte before the sync: a 0xFF (re)starts a line, a line without one is dropped. */
static void presync_byte(yv_chan_qga *q, char ch)
{
    if (ch == DELIM) {
        q->delim = true;
        q->skip = false;
        q->len = 0;
    } else if (q->delim && !q->skip) {
        if (q->len < YV_CHAN_QGA_LINE_MAX) line_add(q, ch);
        else q->skip = true, q->len = 0; /* a leftover too long to be our answer */
    }
}

int yv_chan_qga_feed(yv_chan_qga *q, const char *buf, size_t n, yv_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        bool synced = q->synced;
        if (ch == '\n' && (synced || (q->delim && !q->skip))) {
            if (line_done(q, err) < 0) return -1;
            continue;
        }
        if (ch == '\n') { /* before the sync, outside a delimited line: wait for a 0xFF */
            q->delim = q->skip = false;
            continue;
        }
        if (!synced) {
            presync_byte(q, ch);
        } else if (q->len >= YV_CHAN_QGA_LINE_MAX) {
            return yv_err_set(err, YV_E_IO, "%s: an answer longer than %d bytes", kind_name,
                              YV_CHAN_QGA_LINE_MAX);
        } else {
            line_add(q, ch);
        }
    }
    return 0;
}
