#include "chan_qmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "qemuargv.h"
#include "util.h"
#include "vmstate.h"

/* ---- the kind ---- */

struct yv_chan_qmp {
    yv_chan *ch;
    yv_qmp *parse; /* framing and classification only: it never has a socket */
    yv_chan_qmp_cbs cbs;
    json_int_t next_id;
};

static void qmp_message(yv_chan_qmp *q, const yv_qmp_msg *m)
{
    if (m->kind == YV_QMP_GREETING && yv_chan_state_of(q->ch) == YV_CHAN_GREETING) {
        /* the negotiation and a request made meanwhile go out in one write: QEMU runs them in
         * order, and the answers usually come back in one read (the negotiation's is dropped) */
        size_t len;
        char *line = yv_qmp_command("qmp_capabilities", NULL, q->next_id++, &len);
        yv_chan_write(q->ch, line, len);
        free(line);
        yv_chan_greeted(q->ch);
    } else if (m->kind == YV_QMP_EVENT) {
        if (q->cbs.event) q->cbs.event(q->cbs.user, m);
    } else if ((m->kind == YV_QMP_RETURN || m->kind == YV_QMP_ERROR) &&
               yv_chan_replied(q->ch, m->id)) {
        if (q->cbs.reply) q->cbs.reply(q->cbs.user, m);
    }
}

static int qmp_input(yv_chan *c, const char *buf, size_t n, yv_err *err)
{
    yv_chan_qmp *q = yv_chan_impl(c);
    if (yv_qmp_feed(q->parse, buf, n, err) < 0) return -1;
    yv_qmp_msg m;
    while (yv_chan_state_of(c) != YV_CHAN_CLOSED && yv_qmp_pop(q->parse, &m)) {
        qmp_message(q, &m);
        json_decref(m.json);
    }
    return 0;
}

static const yv_chan_kind qmp_kind = {.name = "QMP", .greets = true, .input = qmp_input};

yv_chan_qmp *yv_chan_qmp_new(const yv_chan_qmp_cbs *cbs, yv_chan_busy_fn busy)
{
    yv_chan_qmp *q = yv_calloc(1, sizeof *q);
    q->ch = yv_chan_new(&qmp_kind, q, busy);
    q->parse = yv_qmp_new();
    if (cbs) q->cbs = *cbs;
    q->next_id = 1;
    return q;
}

void yv_chan_qmp_free(yv_chan_qmp *q)
{
    if (!q) return;
    yv_chan_free(q->ch);
    yv_qmp_free(q->parse);
    free(q);
}

yv_chan *yv_chan_qmp_chan(const yv_chan_qmp *q)
{
    return q->ch;
}

static void fresh_parser(yv_chan_qmp *q)
{
    yv_qmp_free(q->parse);
    q->parse = yv_qmp_new();
}

int yv_chan_qmp_open(yv_chan_qmp *q, const char *path, int64_t now, int timeout_ms, yv_err *err)
{
    fresh_parser(q);
    return yv_chan_open(q->ch, path, now, timeout_ms, err);
}

void yv_chan_qmp_adopt(yv_chan_qmp *q, int fd, int64_t now, int timeout_ms)
{
    fresh_parser(q);
    yv_chan_adopt(q->ch, fd, now, timeout_ms);
}

json_int_t yv_chan_qmp_request(yv_chan_qmp *q, const char *cmd, json_t *args, int64_t now,
                               int timeout_ms)
{
    if (yv_chan_state_of(q->ch) == YV_CHAN_CLOSED || yv_chan_outstanding(q->ch)) {
        json_decref(args);
        return -1;
    }
    json_int_t id = q->next_id++;
    size_t len;
    char *line = yv_qmp_command(cmd, args, id, &len);
    yv_chan_request(q->ch, id, line, len, now, timeout_ms);
    explicit_bzero(line, len);
    free(line);
    return id;
}

/* ---- the watch ---- */

enum {
    HELD_RETRY_MS = 30000, /* how long to leave the event socket to another TUI */
    /* On the held event socket QEMU tells every change of its run state as it happens: a query
     * there only proves its main loop still turns (a hang sends no event). Each query costs QEMU
     * about half a millisecond, so this is rare; a process the kernel stopped is asked at once
     * (yv_chan_qmp_watch_poke from the monitor's look at /proc). */
    HELD_CHECK_MS = 30000,
    /* QEMU writes its pidfile before it makes its QMP sockets, and the monitor sees the pidfile
     * at once (inotify): a QMP that cannot be reached in a watch's first seconds, before it ever
     * answered, is a QEMU still starting, asked again soon — not an unresponsive one */
    YOUNG_MS = 5000,
    YOUNG_RETRY_MS = 250,
};

struct yv_chan_qmp_watch {
    yv_chan_qmp *q;
    char *sock, *events;
    int refresh_ms, timeout_ms;
    bool held;             /* on run/<vm>.events, kept open between queries (else one exchange) */
    bool agent_event;      /* a VSERPORT_CHANGE not yet reported by handle */
    int64_t held_retry;    /* another TUI holds run/<vm>.events: use .sock until then */
    int64_t next;          /* the next query */
    int64_t born;          /* when the watch began (its QEMU was just seen alive) */
    bool answered;         /* QMP has answered once */
    bool blk_wanted;       /* query-blockstats to ask when the channel is free */
    json_int_t blk_id;     /* the id of the query-blockstats under way (0: none) */
    bool chardev_wanted;   /* query-chardev to ask when the channel is free (the agent's port) */
    json_int_t chardev_id; /* the id of the query-chardev under way (0: none) */
    bool port_events;      /* its QEMU tells VSERPORT_CHANGE of the agent's port */
    int64_t blk_asked;     /* when it was sent: the counters' time (the answer may be read late) */
    yv_chan_qmp_view view;
};

static bool young(const yv_chan_qmp_watch *w, int64_t now)
{
    return !w->answered && now - w->born < YOUNG_MS;
}

/* A start seen under way (prelaunch: `run` continues the guest in a moment, maybe before the event
 * socket is ours to hear it) is asked again soon rather than on the next refresh. */
static void recheck_if_starting(yv_chan_qmp_watch *w, int64_t now)
{
    if (w->view.state == YV_STATE_STARTING && now - w->born < YOUNG_MS &&
        w->next > now + YOUNG_RETRY_MS)
        w->next = now + YOUNG_RETRY_MS;
}

static void set_state(yv_chan_qmp_watch *w, yv_state st, const char *detail)
{
    w->view.state = st;
    if (detail) snprintf(w->view.detail, sizeof w->view.detail, "%s", detail);
}

/* The first multiple of period after now: every VM's queries fall on the same ticks. */
static int64_t next_tick(int64_t now, int period)
{
    return (now / period + 1) * period;
}

/* Events after which query-status may answer differently (the ones that change QEMU's run state):
 * the answer is asked for on the next refresh tick, as a periodic query would have. */
static bool changes_status(const char *ev)
{
    static const char *const evs[] = {"RESUME",         "SHUTDOWN",          "POWERDOWN",
                                      "SUSPEND",        "SUSPEND_DISK",      "WAKEUP",
                                      "GUEST_PANICKED", "GUEST_CRASHLOADED", "BLOCK_IO_ERROR",
                                      "WATCHDOG",       "MIGRATION",         "RESET"};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (!strcmp(ev, evs[i])) return true;
    return false;
}

/* The guest opened or closed a virtio serial port: ours (the agent's) tells whether an agent runs.
 * An event comes after the state it reports, so it overrides an earlier query-chardev answer. */
static void on_vserport(yv_chan_qmp_watch *w, const yv_qmp_msg *m)
{
    const json_t *data = json_object_get(m->json, "data");
    const char *id = json_string_value(json_object_get(data, "id"));
    const json_t *open = json_object_get(data, "open");
    w->agent_event = true;
    if (id && !strcmp(id, YV_QEMUARGV_AGENT_PORT) && json_is_boolean(open))
        w->view.agent = json_is_true(open) ? YV_AGENT_OPEN : YV_AGENT_CLOSED;
}

static void on_event(void *user, const yv_qmp_msg *m)
{
    yv_chan_qmp_watch *w = user;
    const char *ev = m->event;
    int64_t tick = next_tick(yv_now_ms(), w->refresh_ms);
    if (changes_status(ev) && w->next > tick) w->next = tick;
    if (!strcmp(ev, "VSERPORT_CHANGE")) on_vserport(w, m);
    if (!strcmp(ev, "SHUTDOWN") || !strcmp(ev, "POWERDOWN")) {
        set_state(w, YV_STATE_SHUTTING_DOWN, NULL);
    } else if (!strcmp(ev, "STOP") && w->view.state != YV_STATE_SHUTTING_DOWN) {
        set_state(w, YV_STATE_PAUSED, NULL);
        w->next = 0; /* ask at once why: paused, or internal-error, io-error, … */
    } else if (!strcmp(ev, "RESUME")) {
        set_state(w, YV_STATE_RUNNING, "");
    } else if (!strcmp(ev, "GUEST_PANICKED")) {
        set_state(w, YV_STATE_ERROR, "guest-panicked");
    }
}

/* The answer to our query-blockstats: its sums, timed when it was asked. */
static void on_blockstats(yv_chan_qmp_watch *w, const yv_qmp_msg *m)
{
    uint64_t rd, wr;
    w->blk_id = 0;
    if (m->kind != YV_QMP_RETURN ||
        yv_metrics_parse_blockstats(json_object_get(m->json, "return"), &rd, &wr) < 0)
        return;
    w->view.rd_bytes = rd;
    w->view.wr_bytes = wr;
    w->view.blk_at = w->blk_asked;
}

static void on_reply(void *user, const yv_qmp_msg *m)
{
    yv_chan_qmp_watch *w = user;
    if (w->blk_id && m->id == w->blk_id) {
        on_blockstats(w, m);
        return;
    }
    if (w->chardev_id && m->id == w->chardev_id) {
        w->chardev_id = 0;
        if (m->kind == YV_QMP_RETURN)
            w->view.agent = yv_vmstate_agent_open_in(json_object_get(m->json, "return"))
                                ? YV_AGENT_OPEN
                                : YV_AGENT_CLOSED;
        return;
    }
    const char *st =
        json_string_value(json_object_get(json_object_get(m->json, "return"), "status"));
    w->answered = true;
    if (m->kind == YV_QMP_ERROR || !st) {
        set_state(w, YV_STATE_UNRESPONSIVE, "QMP: unexpected answer to query-status");
    } else {
        snprintf(w->view.status, sizeof w->view.status, "%s", st);
        w->view.state = yv_vmstate_from_qmp(st, w->view.detail, sizeof w->view.detail);
    }
    /* on .sock: one exchange, then leave (QEMU serves one client at a time) */
    if (!w->held) yv_chan_close(yv_chan_qmp_chan(w->q));
}

yv_chan_qmp_watch *yv_chan_qmp_watch_new(const char *sock, const char *events, int refresh_ms,
                                         int timeout_ms, int64_t now)
{
    yv_chan_qmp_watch *w = yv_calloc(1, sizeof *w);
    yv_chan_qmp_cbs cbs = {.user = w, .event = on_event, .reply = on_reply};
    w->q = yv_chan_qmp_new(&cbs, yv_vmstate_qmp_busy);
    w->sock = yv_strdup(sock);
    w->events = yv_strdup(events);
    w->refresh_ms = refresh_ms;
    w->timeout_ms = timeout_ms;
    w->next = now;
    w->born = now;
    w->view.state = YV_STATE_RUNNING;
    return w;
}

void yv_chan_qmp_watch_free(yv_chan_qmp_watch *w)
{
    if (!w) return;
    yv_chan_qmp_free(w->q);
    free(w->sock);
    free(w->events);
    free(w);
}

static void forget_agent(yv_chan_qmp_watch *w)
{
    w->view.agent = YV_AGENT_UNKNOWN;
    w->chardev_wanted = false;
    w->chardev_id = 0;
}

/* How a conversation that ended tells in the view; flags for the monitor. */
static unsigned conversation_ended(yv_chan_qmp_watch *w, int64_t now)
{
    yv_chan *c = yv_chan_qmp_chan(w->q);
    /* events may be missed from now on: the agent's port is asked again with the next held one */
    if (w->held) forget_agent(w);
    /* the held socket is gone: probe again on the next refresh, not the next check */
    if (w->held && w->next > next_tick(now, w->refresh_ms)) w->next = next_tick(now, w->refresh_ms);
    if (yv_chan_verdict_of(c) == YV_CHAN_UNRESPONSIVE && young(w, now)) {
        set_state(w, YV_STATE_STARTING, "");
        w->next = now + YOUNG_RETRY_MS;
        return 0;
    }
    switch (yv_chan_verdict_of(c)) {
    /* OK: one exchange on .sock, done; GONE: QEMU is going away, its pidfd will tell */
    case YV_CHAN_OK:
    case YV_CHAN_GONE: return 0;
    case YV_CHAN_BUSY:
        if (w->held) { /* another TUI has the event socket: ask on .sock from now on */
            w->held_retry = now + HELD_RETRY_MS;
            w->next = now;
        } else {
            /* a client QEMU is serving (batch, the web API) keeps others waiting: not hung */
            snprintf(w->view.detail, sizeof w->view.detail, "%s", yv_chan_why(c));
        }
        return 0;
    case YV_CHAN_UNRESPONSIVE: set_state(w, YV_STATE_UNRESPONSIVE, yv_chan_why(c)); break;
    }
    return YV_CHAN_QMP_HUNG;
}

/* Opens a conversation with the query under way: on the event socket when it is ours to hold,
 * else (no such socket: a QEMU started by an older yave, or its queue is full) on .sock. */
static unsigned open_conversation(yv_chan_qmp_watch *w, int64_t now)
{
    yv_err err;
    w->held = false;
    if (now >= w->held_retry) {
        w->held = yv_chan_qmp_open(w->q, w->events, now, w->timeout_ms, &err) == 0;
        /* not there yet (a QEMU still starting) is not another TUI holding it */
        if (!w->held) w->held_retry = young(w, now) ? now : now + HELD_RETRY_MS;
    }
    if (!w->held && yv_chan_qmp_open(w->q, w->sock, now, w->timeout_ms, &err) < 0)
        return conversation_ended(w, now);
    yv_chan_qmp_request(w->q, "query-status", NULL, now, w->timeout_ms);
    /* held: the events tell the agent's port from now on; one query-chardev tells it now */
    if (w->held) w->chardev_wanted = true;
    return 0;
}

static bool in_conversation(const yv_chan_qmp_watch *w)
{
    yv_chan_state st = yv_chan_state_of(yv_chan_qmp_chan(w->q));
    return st != YV_CHAN_CLOSED && st != YV_CHAN_READY;
}

size_t yv_chan_qmp_watch_pollfd(const yv_chan_qmp_watch *w, struct pollfd *p)
{
    yv_chan *c = yv_chan_qmp_chan(w->q);
    if (yv_chan_fd(c) < 0) return 0;
    *p = (struct pollfd){yv_chan_fd(c), yv_chan_poll_events(c), 0};
    return 1;
}

int64_t yv_chan_qmp_watch_due(const yv_chan_qmp_watch *w)
{
    return in_conversation(w) ? yv_chan_deadline(yv_chan_qmp_chan(w->q)) : w->next;
}

/* When the next query is due: each refresh while probing, each check while held. */
static int64_t next_query(const yv_chan_qmp_watch *w, int64_t now)
{
    bool held = w->held && yv_chan_state_of(yv_chan_qmp_chan(w->q)) != YV_CHAN_CLOSED;
    int check = w->refresh_ms > HELD_CHECK_MS ? w->refresh_ms : HELD_CHECK_MS;
    return next_tick(now, held ? check : w->refresh_ms);
}

static bool free_to_ask(const yv_chan_qmp_watch *w)
{
    return w->held && yv_chan_state_of(yv_chan_qmp_chan(w->q)) == YV_CHAN_READY;
}

/* Sends the wanted queries when the held channel is free (one request at a time): the agent's
 * port first (the address watch waits for it), then query-blockstats. */
static void send_wanted(yv_chan_qmp_watch *w, int64_t now)
{
    if (w->chardev_wanted && free_to_ask(w)) {
        w->chardev_wanted = false;
        w->chardev_id = yv_chan_qmp_request(w->q, "query-chardev", NULL, now, w->timeout_ms);
        if (w->chardev_id < 0) w->chardev_id = 0;
    }
    if (!w->blk_wanted || !free_to_ask(w)) return;
    w->blk_wanted = false;
    w->blk_id = yv_chan_qmp_request(w->q, "query-blockstats", NULL, now, w->timeout_ms);
    if (w->blk_id < 0) w->blk_id = 0;
    w->blk_asked = now;
}

void yv_chan_qmp_watch_want_blockstats(yv_chan_qmp_watch *w, int64_t now)
{
    w->blk_wanted = true;
    send_wanted(w, now);
}

unsigned yv_chan_qmp_watch_handle(yv_chan_qmp_watch *w, short revents, int64_t now)
{
    yv_chan *c = yv_chan_qmp_chan(w->q);
    unsigned flags = 0;
    if (yv_chan_state_of(c) != YV_CHAN_CLOSED) {
        yv_chan_handle(c, revents, now);
        if (yv_chan_state_of(c) == YV_CHAN_CLOSED) flags |= conversation_ended(w, now);
        recheck_if_starting(w, now);
    }
    if (!in_conversation(w) && now >= w->next) {
        int64_t dflt = next_tick(now, w->refresh_ms);
        w->next = dflt;
        if (yv_chan_state_of(c) == YV_CHAN_READY) { /* held: one write, one read */
            yv_chan_qmp_request(w->q, "query-status", NULL, now, w->timeout_ms);
            /* a QEMU started by an older yave tells no VSERPORT_CHANGE (its port has no id): an
             * agent that starts there is seen on this check, as before the events */
            if (w->view.agent == YV_AGENT_CLOSED && !w->port_events) w->chardev_wanted = true;
        } else flags |= open_conversation(w, now);
        /* a conversation that failed at once may have brought it nearer (a QEMU still starting) */
        if (w->next == dflt) w->next = next_query(w, now);
    }
    send_wanted(w, now); /* after the query due, which may have been sent just now */
    if (w->agent_event) flags |= YV_CHAN_QMP_AGENT;
    w->agent_event = false;
    return flags;
}

void yv_chan_qmp_watch_poke(yv_chan_qmp_watch *w, int64_t now)
{
    w->next = now;
}

void yv_chan_qmp_watch_port_events(yv_chan_qmp_watch *w, bool tells)
{
    w->port_events = tells;
}

bool yv_chan_qmp_watch_agent_pending(const yv_chan_qmp_watch *w)
{
    return w->chardev_wanted || w->chardev_id;
}

const yv_chan_qmp_view *yv_chan_qmp_watch_view(const yv_chan_qmp_watch *w)
{
    return &w->view;
}
