#include "rootwatch.h"

#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "root.h"

enum {
    DIR_EVENTS = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW,
};

void yv_rootwatch_stop(yv_rootwatch *w)
{
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
}

bool yv_rootwatch_start(yv_rootwatch *w, const char *root)
{
    char *run = yv_root_path(root, "run");
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd >= 0) {
        w->wd_root = inotify_add_watch(w->fd, root, DIR_EVENTS);
        w->wd_run = inotify_add_watch(w->fd, run, DIR_EVENTS | IN_CLOSE_WRITE);
        if (w->wd_root < 0 || w->wd_run < 0) yv_rootwatch_stop(w);
    }
    free(run);
    return w->fd >= 0;
}

void yv_rootwatch_add_vm(yv_rootwatch *w, const char *dir)
{
    if (w->fd >= 0 && inotify_add_watch(w->fd, dir, DIR_EVENTS | IN_CLOSE_WRITE) < 0)
        yv_rootwatch_stop(w); /* a symlink, or the watch limit: rescans tell as before */
}

static bool is_runtime_name(const char *name)
{
    static const char *const suffixes[] = {".pid", ".sock", ".events", ".crashed"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (!strcmp(dot, suffixes[i])) return true;
    return false;
}

/* Whether an event can change the view. */
static bool event_matters(const yv_rootwatch *w, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) return true;
    if (ev->mask & IN_IGNORED) return false;
    const char *name = ev->len ? ev->name : "";
    if (ev->wd == w->wd_root) return true;
    if (ev->wd == w->wd_run) return is_runtime_name(name);
    return !strcmp(name, "config.yaml");
}

bool yv_rootwatch_read(yv_rootwatch *w)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool due = false;
    ssize_t r;
    while (w->fd >= 0 && (r = read(w->fd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + r;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            due |= event_matters(w, ev);
            p += sizeof *ev + ev->len;
        }
    return due;
}
