#include "vmwait.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"
#include "vmstate.h"

/* How often the state is asked again: from files and the process (cheap), or with a QMP exchange
 * too, which holds QEMU's one QMP client slot for a moment (a `shutdown` may need it): seldom. A
 * QEMU that exits wakes the wait at once either way. */
#define POLL_MS     200
#define QMP_POLL_MS 1000
#define QMP_MS      1000

/* `installing` is only seen by the TUI's monitor: by name, a VM under construction is not found. */
static bool waitable(yv_state s)
{
    return s != YV_STATE_INSTALLING;
}

/* Stopped, crashed and invalid are proven from files and the process; the rest needs QEMU's word.
 */
static bool needs_qmp(yv_state want)
{
    return want != YV_STATE_STOPPED && want != YV_STATE_CRASHED && want != YV_STATE_INVALID;
}

int yv_vmwait_parse_state(const char *name, yv_state *out, yv_err *err)
{
    char all[256] = "";
    for (int s = YV_STATE_STOPPED; s <= YV_STATE_INVALID; s++) {
        if (!waitable((yv_state)s)) continue;
        if (!strcmp(name, yv_vminfo_state_name((yv_state)s))) return *out = (yv_state)s, 0;
        snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", *all ? ", " : "",
                 yv_vminfo_state_name((yv_state)s));
    }
    char shown[64];
    yv_err_escape(name, shown, sizeof shown);
    return yv_err_set(err, YV_E_USAGE, "no state '%s' (states: %s)", shown, all);
}

void yv_vmwait_states(FILE *out)
{
    for (int s = YV_STATE_STOPPED; s <= YV_STATE_INVALID; s++)
        if (waitable((yv_state)s)) fprintf(out, "%s\n", yv_vminfo_state_name((yv_state)s));
}

/* The current state of the VM (QMP asked only when want needs it), or -1 with VM_NOT_FOUND once
 * it is gone. */
static int current(const char *root, const yv_config *cfg, const char *name, yv_state want,
                   yv_vmstate *st, yv_err *err)
{
    yv_vminfo info;
    if (yv_vminfo_load(&info, root, name, err) < 0) return -1;
    if (info.state == YV_STATE_INVALID) st->state = YV_STATE_INVALID, st->pid = 0;
    else yv_vmstate_probe(root, cfg, name, needs_qmp(want) ? QMP_MS : 0, st);
    yv_vminfo_done(&info);
    return 0;
}

/* Sleeps up to ms, waking at once when the QEMU pid exits (watched through a pidfd) or the peer
 * of hangup_fd hangs up. False when it did. */
static bool pause_for(pid_t pid, int hangup_fd, int ms)
{
    struct pollfd p[2] = {{.fd = hangup_fd, .events = POLLRDHUP},
                          {.fd = pid > 0 ? yv_proc_pidfd_open(pid) : -1, .events = POLLIN}};
    poll(p, 2, ms); /* negative descriptors are ignored */
    if (p[1].fd >= 0) close(p[1].fd);
    return !(p[0].revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int timed_out(const char *name, const yv_vmstate *st, yv_state want, long timeout_ms,
                     yv_err *err)
{
    long s = (timeout_ms + 999) / 1000;
    if (st->qmp_busy) /* running, but whether paused or not only QMP could say */
        return yv_err_set(err, YV_E_TIMEOUT,
                          "%s: its state is not known (%s) after %ld s (waited for %s)", name,
                          st->detail, s, yv_vminfo_state_name(want));
    return yv_err_set(err, YV_E_TIMEOUT, "%s is still %s after %ld s (waited for %s)", name,
                      yv_vminfo_state_name(st->state), s, yv_vminfo_state_name(want));
}

int yv_vmwait(const char *root, const yv_config *cfg, const char *name, yv_state want,
              long timeout_ms, volatile sig_atomic_t *cancel, int hangup_fd, yv_err *err)
{
    int64_t deadline = yv_now_ms() + timeout_ms;
    for (;;) {
        yv_vmstate st = {0};
        if (current(root, cfg, name, want, &st, err) < 0) return -1;
        if (st.state == want && !st.qmp_busy) return 0; /* a busy QMP proves no state */
        if (cancel && *cancel) return yv_err_set(err, YV_E_FAIL, "interrupted");
        int64_t left = deadline - yv_now_ms();
        if (left <= 0) return timed_out(name, &st, want, timeout_ms, err);
        int period = st.pid > 0 && needs_qmp(want) ? QMP_POLL_MS : POLL_MS;
        if (!pause_for(st.pid, hangup_fd, left < period ? (int)left : period))
            return yv_err_set(err, YV_E_FAIL, "the client went away");
    }
}
