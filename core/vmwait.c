#include "vmwait.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "root.h"
#include "util.h"
#include "vmstate.h"

/* How often the state is asked again: files and at most one short QMP exchange each time. */
#define POLL_MS 200
#define QMP_MS  1000

int yv_vmwait_parse_state(const char *name, yv_state *out, yv_err *err)
{
    char all[256] = "";
    for (int s = YV_STATE_STOPPED; s <= YV_STATE_INVALID; s++) {
        if (!strcmp(name, yv_vminfo_state_name((yv_state)s))) return *out = (yv_state)s, 0;
        snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", s ? ", " : "",
                 yv_vminfo_state_name((yv_state)s));
    }
    char shown[64];
    yv_err_escape(name, shown, sizeof shown);
    return yv_err_set(err, YV_E_USAGE, "no state '%s' (states: %s)", shown, all);
}

/* The current state of the VM, or -1 with VM_NOT_FOUND once it is gone. */
static int current(const char *root, const yv_config *cfg, const char *name, yv_vmstate *st,
                   yv_err *err)
{
    yv_vminfo info;
    if (yv_vminfo_load(&info, root, name, err) < 0) return -1;
    if (info.state == YV_STATE_INVALID) st->state = YV_STATE_INVALID, st->pid = 0;
    else yv_vmstate_probe(root, cfg, name, QMP_MS, st);
    yv_vminfo_done(&info);
    return 0;
}

/* Sleeps up to ms, waking at once when the QEMU pid exits (watched through a pidfd). */
static void pause_for(pid_t pid, int ms)
{
    int fd = pid > 0 ? yv_proc_pidfd_open(pid) : -1;
    if (fd < 0) {
        poll(NULL, 0, ms);
        return;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, ms);
    close(fd);
}

int yv_vmwait(const char *root, const yv_config *cfg, const char *name, yv_state want,
              long timeout_ms, volatile sig_atomic_t *cancel, yv_err *err)
{
    int64_t deadline = yv_now_ms() + timeout_ms;
    for (;;) {
        yv_vmstate st = {0};
        if (current(root, cfg, name, &st, err) < 0) return -1;
        if (st.state == want) return 0;
        if (cancel && *cancel) return yv_err_set(err, YV_E_FAIL, "interrupted");
        int64_t left = deadline - yv_now_ms();
        if (left <= 0)
            return yv_err_set(err, YV_E_TIMEOUT, "%s is still %s after %ld s (waited for %s)", name,
                              yv_vminfo_state_name(st.state), (timeout_ms + 999) / 1000,
                              yv_vminfo_state_name(want));
        pause_for(st.pid, left < POLL_MS ? (int)left : POLL_MS);
    }
}
