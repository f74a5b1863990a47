/* chan_qga: the QEMU guest agent on a channel. The agent does not greet: on connect we send a 0xFF
 * byte (the agent drops any partial command an earlier client left) and
 * {"execute":"guest-sync-delimited","arguments":{"id":N}} with a fresh N. The agent answers with a
 * 0xFF byte, then {"return": N}. Everything before that byte, and sync replies whose id is not N
 * (leftovers of an earlier client), is discarded; the sync is the channel's greeting, so the open
 * deadline bounds it: an absent agent (QEMU accepts the connection, nothing answers) is silence,
 * then the deadline, then "no agent". After the sync, one request at a time, one JSON line each.
 *
 * The guest is untrusted: a line over YV_CHAN_QGA_LINE_MAX breaks the conversation, every line is
 * parsed by jansson (no deeper than jansson's own limit), and every exchange has a deadline. */
#ifndef YV_CHAN_QGA_H
#define YV_CHAN_QGA_H

#include <jansson.h>

#include "channel.h"

#define YV_CHAN_QGA_LINE_MAX (256 * 1024) /* guest-network-get-interfaces of 100 NICs: ~40 KB */

typedef struct {
    void *user;
    /* The answer to the request: msg is the whole object ({"return": …} or {"error": …}),
     * borrowed for the call. May close the channel (yv_chan_close), never free it. */
    void (*reply)(void *user, const json_t *msg);
} yv_chan_qga_cbs;

typedef struct yv_chan_qga yv_chan_qga;

yv_chan_qga *yv_chan_qga_new(const yv_chan_qga_cbs *cbs, yv_chan_busy_fn busy);
void yv_chan_qga_free(yv_chan_qga *q);
yv_chan *yv_chan_qga_chan(const yv_chan_qga *q);
/* yv_chan_open / yv_chan_adopt with a fresh parser and sync id; the sync is sent at once and must
 * be answered within sync_ms (READY then). */
int yv_chan_qga_open(yv_chan_qga *q, const char *path, int64_t now, int sync_ms, yv_err *err);
void yv_chan_qga_adopt(yv_chan_qga *q, int fd, int64_t now, int sync_ms);
/* Sends cmd (args stolen, may be NULL) once synced (READY): its id, or -1 (not ready, or one is
 * outstanding). */
int64_t yv_chan_qga_request(yv_chan_qga *q, const char *cmd, json_t *args, int64_t now,
                            int timeout_ms);
/* The sync id the parser waits for (tests: the fake agent echoes it). */
int64_t yv_chan_qga_sync_id(const yv_chan_qga *q);

/* ---- the parser alone (the fuzzer, tests) ---- */

/* A fresh parser waiting for the sync answer with this id (open/adopt choose a random one). */
void yv_chan_qga_reset(yv_chan_qga *q, int64_t sync_id);
/* Feeds the agent's bytes as the channel's input hook does. -1 (err set): an oversized line, or a
 * line after the sync that is not a JSON object. */
int yv_chan_qga_feed(yv_chan_qga *q, const char *buf, size_t n, yv_err *err);
/* Whether the sync answer was seen (the channel is then greeted). */
bool yv_chan_qga_synced(const yv_chan_qga *q);

#endif
