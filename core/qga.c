#include "qga.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "chan_qga.h"
#include "util.h"
#include "vmstate.h"

/* guest-shutdown answers only when it fails (at once): silence this long means it was taken */
#define SHUTDOWN_ANSWER_MS 500

typedef struct {
    json_t *msg; /* the reply, a new reference */
} got;

static void on_reply(void *user, const json_t *m)
{
    got *g = user;
    json_decref(g->msg);
    g->msg = json_incref((json_t *)m);
}

/* Drives the channel until it is READY (synced, nothing outstanding) or closed. */
static bool settle(yv_chan *c)
{
    for (;;) {
        yv_chan_state st = yv_chan_state_of(c);
        if (st == YV_CHAN_CLOSED || st == YV_CHAN_READY) return st == YV_CHAN_READY;
        int64_t now = yv_now_ms(), dl = yv_chan_deadline(c);
        int wait = dl <= now ? 0 : dl - now > 1000 ? 1000 : (int)(dl - now);
        struct pollfd p = {yv_chan_fd(c), yv_chan_poll_events(c), 0};
        int r = poll(&p, 1, wait);
        if (r < 0 && errno == EINTR) continue;
        yv_chan_handle(c, r > 0 ? p.revents : 0, yv_now_ms());
    }
}

/* Why the conversation ended without an answer, as an error. */
static int no_answer(yv_chan *c, bool synced, yv_err *err)
{
    switch (yv_chan_verdict_of(c)) {
    case YV_CHAN_BUSY: return yv_err_set(err, YV_E_TIMEOUT, "%s", yv_chan_why(c));
    case YV_CHAN_GONE: return yv_err_set(err, YV_E_IO, "%s", yv_chan_why(c));
    default:
        if (!synced) return yv_err_set(err, YV_E_TIMEOUT, "no guest agent (%s)", yv_chan_why(c));
        return yv_err_set(err, YV_E_TIMEOUT, "%s", yv_chan_why(c));
    }
}

/* The error object of an answer, as err (the guest's words, escaped by yv_err_set). */
static int agent_error(const json_t *msg, yv_err *err)
{
    const char *desc = json_string_value(json_object_get(json_object_get(msg, "error"), "desc"));
    yv_err_set(err, YV_E_FAIL, "guest agent: %s", desc ? desc : "an error without a description");
    return 1;
}

/* Connects and syncs: the channel READY, or -1 (err). */
static int connect_synced(yv_chan_qga *q, const char *path, int sync_ms, yv_err *err)
{
    if (yv_chan_qga_open(q, path, yv_now_ms(), sync_ms, err) < 0) {
        if (err->code == YV_E_VM_NOT_RUNNING)
            yv_err_set(err, YV_E_VM_NOT_RUNNING, "no guest agent socket: %s", path);
        return -1;
    }
    if (!settle(yv_chan_qga_chan(q))) return no_answer(yv_chan_qga_chan(q), false, err);
    return 0;
}

int yv_qga_call(const char *path, const char *cmd, json_t *args, json_t **ret, int sync_ms,
                int call_ms, yv_err *err)
{
    got g = {NULL};
    yv_chan_qga_cbs cbs = {.user = &g, .reply = on_reply};
    yv_chan_qga *q = yv_chan_qga_new(&cbs, yv_vmstate_qmp_busy);
    yv_chan *c = yv_chan_qga_chan(q);
    int rc = -1;
    if (ret) *ret = NULL;
    if (connect_synced(q, path, sync_ms, err) < 0) {
        json_decref(args);
    } else {
        yv_chan_qga_request(q, cmd, args, yv_now_ms(), call_ms);
        settle(c);
        if (!g.msg) rc = no_answer(c, true, err);
        else if (json_object_get(g.msg, "error")) rc = agent_error(g.msg, err);
        else rc = 0;
        if (rc == 0 && ret) *ret = json_incref(json_object_get(g.msg, "return"));
    }
    json_decref(g.msg);
    yv_chan_qga_free(q); /* closes: the socket is the next client's */
    return rc;
}

int yv_qga_shutdown(const char *path, int sync_ms, yv_err *err)
{
    got g = {NULL};
    yv_chan_qga_cbs cbs = {.user = &g, .reply = on_reply};
    yv_chan_qga *q = yv_chan_qga_new(&cbs, yv_vmstate_qmp_busy);
    int rc = connect_synced(q, path, sync_ms, err);
    if (rc == 0) {
        json_t *args = json_pack("{s:s}", "mode", "powerdown");
        yv_chan_qga_request(q, "guest-shutdown", args, yv_now_ms(), SHUTDOWN_ANSWER_MS);
        settle(yv_chan_qga_chan(q)); /* silence (the deadline) or the guest going away: taken */
        if (g.msg && json_object_get(g.msg, "error")) {
            agent_error(g.msg, err);
            rc = -1;
        }
    }
    json_decref(g.msg);
    yv_chan_qga_free(q);
    return rc;
}
