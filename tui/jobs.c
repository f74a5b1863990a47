/* jobs: actions run by a child `yave-tui --batch --json …`, so a graceful shutdown that waits a
 * minute or a copy of a big image never blocks the loop; the child's pidfd and pipes are polled. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "core/proc.h"
#include "core/remote.h"
#include "core/util.h"

/* A pipe whose read end carries a secret to the child (never on its command line). */
static int secret_pipe(const char *secret)
{
    int p[2];
    if (!secret || pipe2(p, O_CLOEXEC) < 0) return -1;
    size_t n = strlen(secret);
    ssize_t w = write(p[1], secret, n); /* far below the pipe's capacity */
    close(p[1]);
    if (w != (ssize_t)n) {
        close(p[0]);
        return -1;
    }
    return p[0];
}

/* Runs argv: this yave-tui, or ssh for a VM of a remote host (spec §14). */
static void exec_argv(yv_app *a, char **argv, bool remote)
{
    if (remote) execvp("ssh", argv); /* the user's ssh, found as their shell would */
    else execv(a->self, argv);
}

/* The ssh argv of a job on a VM of a remote host (NULL: a VM of this machine): `yave-tui --batch
 * [--json] VERB ARGS…` there, over the host's shared connection; a terminal there for the
 * foreground ones (console, ssh). */
static char **remote_argv(yv_app *a, const char *vm, bool json, bool tty, const char *verb,
                          const char *const *args)
{
    char name[64];
    yv_remote *rh = yv_monitor_remote_of(a->mon, vm, name);
    const char *words[44];
    int n = 0;
    if (!rh) return NULL;
    if (json) words[n++] = "--json";
    words[n++] = verb;
    for (int i = 0; args && args[i] && n < 43; i++) words[n++] = args[i];
    words[n] = NULL;
    return yv_remote_batch_argv(rh, tty, words);
}

static void child(yv_app *a, char **argv, bool remote, int out, int err, int s3, int s4)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (s3 >= 0) dup2(s3, 3);
    if (s4 >= 0) dup2(s4, 4);
    closefrom(s4 >= 0 ? 5 : s3 >= 0 ? 4 : 3);
    exec_argv(a, argv, remote);
    _exit(127);
}

yv_job *yv_job_start(yv_app *a, yv_action act, const char *vm, const char *const *args,
                     const char *secret3, const char *secret4)
{
    const char *argv[40];
    int n = 0, op[2], ep[2];
    argv[n++] = a->self;
    argv[n++] = "--batch";
    argv[n++] = "--json";
    argv[n++] = "--root";
    argv[n++] = a->root;
    const yv_action_row *row = yv_actions_of(act);
    const char *verb = row->verb ? row->verb : row->remote_verb;
    argv[n++] = verb;
    for (int i = 0; args && args[i] && n < 38; i++) argv[n++] = args[i];
    argv[n] = NULL;
    char **rargv = remote_argv(a, vm, true, false, verb, args);
    if (rargv && (secret3 || secret4)) { /* only our own children get descriptors */
        yv_remote_argv_free(rargv);
        return yv_app_status(a, true, "%s: not on a remote host (it needs a secret)", vm), NULL;
    }
    if (pipe2(op, O_CLOEXEC) < 0) {
        yv_remote_argv_free(rargv);
        return yv_app_status(a, true, "cannot start: %s", strerror(errno)), NULL;
    }
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(op[0]);
        close(op[1]);
        yv_remote_argv_free(rargv);
        return yv_app_status(a, true, "cannot start: %s", strerror(errno)), NULL;
    }
    int s3 = secret_pipe(secret3), s4 = secret_pipe(secret4);
    pid_t pid = fork();
    if (pid == 0) child(a, rargv ? rargv : (char **)argv, rargv != NULL, op[1], ep[1], s3, s4);
    yv_remote_argv_free(rargv);
    close(op[1]);
    close(ep[1]);
    if (s3 >= 0) close(s3);
    if (s4 >= 0) close(s4);
    if (pid < 0) {
        close(op[0]);
        close(ep[0]);
        return yv_app_status(a, true, "cannot start: %s", strerror(errno)), NULL;
    }
    yv_job *j = yv_calloc(1, sizeof *j);
    j->act = act;
    snprintf(j->vm, sizeof j->vm, "%s", vm);
    j->pid = pid;
    j->pidfd = yv_proc_pidfd_open(pid);
    j->out_fd = op[0];
    j->err_fd = ep[0];
    j->started = yv_now_ms();
    j->timeout_s = act == ACT_SHUTDOWN ? a->cfg.shutdown_timeout : 0;
    j->next = a->jobs;
    a->jobs = j;
    return j;
}

void yv_job_action(yv_app *a, const yv_action_row *r, const char *vm)
{
    const yv_monitor_vm *v = yv_monitor_find(a->mon, vm);
    yv_job_action_asked(a, r, vm, v && v->pid > 0);
}

bool yv_job_started_since(const yv_app *a, const yv_action_row *r, const char *vm, bool was_running)
{
    const yv_monitor_vm *v = yv_monitor_find(a->mon, vm);
    return r->args_running[0] && !was_running && v && v->pid > 0;
}

void yv_job_action_asked(yv_app *a, const yv_action_row *r, const char *vm, bool was_running)
{
    char tap[16], store[YV_ACTION_ARGS][128], timeout[24], status[256];
    const char *argv[YV_ACTION_ARGS + 1];
    const yv_monitor_vm *v = yv_monitor_find(a->mon, vm);
    if (yv_job_started_since(a, r, vm, was_running)) { /* a delete would force it: not asked */
        yv_app_status(a, true, "%s %s: started since the question: not done", r->label, vm);
        return;
    }
    char bare[64]; /* a VM of a remote host is named there without its "@host" */
    yv_action_subst s =
        yv_actions_subst(yv_monitor_remote_of(a->mon, vm, bare) ? bare : vm, v, tap);
    snprintf(timeout, sizeof timeout, "%ld", a->cfg.shutdown_timeout);
    s.timeout = timeout;
    /* the running form (delete --force) only for a VM the question said runs, and still does */
    if (yv_actions_argv(r, &s, was_running && v && v->pid > 0, store, argv) < 0) {
        /* the VM changed under the question (its network or config went away) */
        yv_app_status(a, true, "%s %s: not possible now", r->label, vm);
        return;
    }
    if (r->foreground) {
        yv_job_foreground(a, r, vm, argv);
        return;
    }
    if (!yv_job_start(a, r->act, vm, argv, NULL, NULL)) return; /* the status line says why */
    if (r->started && yv_actions_expand(r->started, &s, status, sizeof status) == 0)
        yv_app_status(a, false, "%s", status);
}

/* ---- a child in the foreground: it has the terminal until it ends ---- */

static void fg_child(yv_app *a, char **argv, bool remote, int err, pid_t parent)
{
    /* a TUI killed meanwhile (SIGKILL, OOM) must not leave its console holding the VM's only
     * console slot until someone types into the terminal: the child hangs up with it, as it
     * would with a dropped SSH session (kept across exec: ssh gets it too) */
    prctl(PR_SET_PDEATHSIG, SIGHUP);
    if (getppid() != parent) _exit(1); /* it died before the line above */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    if (err >= 0) dup2(err, STDERR_FILENO); /* ours is run/tui.log */
    else if (a->tty_err >= 0) dup2(a->tty_err, STDERR_FILENO);
    closefrom(3);
    exec_argv(a, argv, remote);
    _exit(127);
}

void yv_job_foreground(yv_app *a, const yv_action_row *r, const char *vm, const char *const *args)
{
    const char *argv[40];
    int n = 0;
    argv[n++] = a->self;
    argv[n++] = "--batch";
    argv[n++] = "--root";
    argv[n++] = a->root;
    argv[n++] = r->verb;
    for (int i = 0; args && args[i] && n < 39; i++) argv[n++] = args[i];
    argv[n] = NULL;
    char **rargv = remote_argv(a, vm, false, true, r->verb, args);
    int ep[2] = {-1, -1};
    if (pipe2(ep, O_CLOEXEC) < 0) ep[0] = ep[1] = -1; /* then straight to the terminal */
    def_prog_mode(); /* the modes curses set, for reset_prog_mode when the child is done */
    endwin();
    fflush(stdout);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) fg_child(a, rargv ? rargv : (char **)argv, rargv != NULL, ep[1], parent);
    yv_remote_argv_free(rargv);
    if (ep[1] >= 0) close(ep[1]);
    if (pid < 0) {
        if (ep[0] >= 0) close(ep[0]);
        reset_prog_mode();
        yv_app_status(a, true, "%s %s: cannot start: %s", r->label, vm, strerror(errno));
        return;
    }
    if (ep[0] >= 0) fcntl(ep[0], F_SETFL, O_NONBLOCK);
    a->fg_errfd = ep[0];
    a->fg_errlen = 0;
    a->fg_last[0] = '\0';
    a->fg_pid = pid;
    a->fg_pidfd = yv_proc_pidfd_open(pid);
    a->fg_act = r->act;
    snprintf(a->fg_vm, sizeof a->fg_vm, "%s", vm);
    if (a->fg_pidfd < 0) yv_job_foreground_done(a); /* no pidfds: waited for here */
}

/* What a batch exit status means, for the status line (the child's own message was on the
 * terminal, which the list has just covered). */
static const char *exit_meaning(int code)
{
    switch (code) {
    case 2: return "usage";
    case 3: return "not found";
    case 4: return "not running, or in use";
    case 5: return "a program failed";
    case 6: return "timed out";
    case 77: return "permission";
    case 127: return "cannot run";
    default: return "failed";
    }
}

/* Keeps the line being assembled as the last one when it has something; what the line holds is
 * shown on the status line, so control characters (ssh may pass on a guest's text) become '?'. */
static void fg_line_end(yv_app *a)
{
    a->fg_err[a->fg_errlen] = '\0';
    if (a->fg_errlen) memcpy(a->fg_last, a->fg_err, a->fg_errlen + 1);
    a->fg_errlen = 0;
}

/* Reads what the child's stderr has now (the read end is non-blocking) and copies it to the
 * terminal; closes it at its end. Returns the bytes read, 0 when nothing was there. */
static ssize_t fg_read(yv_app *a)
{
    char tmp[4096];
    ssize_t n = read(a->fg_errfd, tmp, sizeof tmp);
    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(a->fg_errfd);
            a->fg_errfd = -1;
        }
        return 0;
    }
    for (ssize_t off = 0; off < n && a->tty_err >= 0;) { /* the terminal's: it may block */
        ssize_t w = write(a->tty_err, tmp + off, (size_t)(n - off));
        if (w < 0 && errno != EINTR) break;
        off += w > 0 ? w : 0;
    }
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tmp[i];
        if (c == '\n' || c == '\r') fg_line_end(a);
        else if (a->fg_errlen + 1 < sizeof a->fg_err)
            a->fg_err[a->fg_errlen++] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return n;
}

void yv_job_foreground_err(yv_app *a)
{
    fg_read(a);
}

/* The status line after the child: its done text, else its last stderr line (ours without the
 * "yave-tui: " prefix, another program's after the action and VM), else what its exit status
 * means. */
static void fg_status(yv_app *a, int code)
{
    const yv_action_row *r = yv_actions_of(a->fg_act);
    char done[256];
    yv_action_subst s = {.vm = a->fg_vm};
    const char *last = a->fg_last, *pre = "yave-tui: ";
    bool ours = !strncmp(last, pre, strlen(pre)); /* names its verb and VM already */
    if (code == 0 && r->done && yv_actions_expand(r->done, &s, done, sizeof done) == 0)
        yv_app_status(a, false, "%s", done);
    else if (code != 0 && ours) yv_app_status(a, true, "%s", last + strlen(pre));
    else if (code != 0 && *last) yv_app_status(a, true, "%s %s: %s", r->label, a->fg_vm, last);
    else if (code != 0)
        yv_app_status(a, true, "%s %s: ended with exit status %d (%s)", r->label, a->fg_vm, code,
                      exit_meaning(code));
}

void yv_job_foreground_done(yv_app *a)
{
    int status = 0;
    while (waitpid(a->fg_pid, &status, 0) < 0 && errno == EINTR) {
    }
    /* what it wrote last; never waited for (a grandchild may hold the pipe open) */
    while (a->fg_errfd >= 0 && fg_read(a) > 0) {
    }
    if (a->fg_errfd >= 0) close(a->fg_errfd);
    a->fg_errfd = -1;
    fg_line_end(a);
    if (a->fg_pidfd >= 0) close(a->fg_pidfd);
    a->fg_pid = 0;
    a->fg_pidfd = -1;
    reset_prog_mode();     /* whatever modes the child left, curses' own again */
    clearok(curscr, TRUE); /* the child wrote over the screen: everything is drawn again */
    flushinp();
    fg_status(a, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    yv_monitor_poke(a->mon);
    a->dirty = true;
}

bool yv_job_running(const yv_app *a, yv_action act)
{
    for (const yv_job *j = a->jobs; j; j = j->next)
        if (j->act == act) return true;
    return false;
}

const yv_job *yv_job_for(const yv_app *a, const char *vm)
{
    for (const yv_job *j = a->jobs; j; j = j->next)
        if (!strcmp(j->vm, vm)) return j;
    return NULL;
}

size_t yv_job_pollfds(yv_app *a, struct pollfd *fds, size_t max)
{
    size_t k = 0;
    for (yv_job *j = a->jobs; j && k + 3 <= max; j = j->next) {
        fds[k++] = (struct pollfd){j->out_fd, POLLIN, 0};
        fds[k++] = (struct pollfd){j->err_fd, POLLIN, 0};
        fds[k++] = (struct pollfd){j->pidfd, POLLIN, 0};
    }
    return k;
}

static void drain(int *fd, char *buf, size_t cap, size_t *len)
{
    char tmp[4096];
    if (*fd < 0) return;
    ssize_t r = read(*fd, tmp, sizeof tmp);
    if (r > 0) {
        size_t take = (size_t)r < cap - 1 - *len ? (size_t)r : cap - 1 - *len;
        memcpy(buf + *len, tmp, take);
        *len += take;
        buf[*len] = '\0';
    } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(*fd);
        *fd = -1;
    }
}

/* A preset install reports progress as JSON lines on the child's stderr: the newest goes to the
 * status line (phase, elapsed time, the guest's last console line). Any other line (a warning such
 * as the 8-character VNC one) is skipped: the result or the error comes on stdout. */
static void take_line(yv_app *a, yv_job *j, const char *line)
{
    if (j->act != ACT_PRESET && j->act != ACT_SNAPSHOTS) return;
    json_t *root = json_loads(line, 0, NULL), *p = json_object_get(root, "progress");
    if (json_is_object(p) && j->act == ACT_SNAPSHOTS) { /* a phase of a snapshot job */
        yv_app_status(a, false, "%s: %.200s", j->vm,
                      json_string_value(json_object_get(p, "phase")) ?: "?");
    } else if (json_is_object(p)) {
        const char *serial = json_string_value(json_object_get(p, "serial")) ?: "";
        yv_app_status(a, false, "installing %s: %s %.0fs%s%.100s", j->vm,
                      json_string_value(json_object_get(p, "phase")) ?: "?",
                      json_number_value(json_object_get(p, "elapsed")), *serial ? " — " : "",
                      serial);
        a->status_until = yv_now_ms() + 3600 * 1000;
    }
    json_decref(root);
}

/* Cuts what the child wrote to stderr into lines, whatever the chunks; a line longer than the
 * buffer is no progress line and is dropped up to its end, so the next one is read whole. */
static void take_err(yv_app *a, yv_job *j, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            j->err[j->errlen] = '\0';
            if (!j->err_skip) take_line(a, j, j->err);
            j->errlen = 0;
            j->err_skip = false;
        } else if (j->err_skip) {
            continue;
        } else if (j->errlen + 1 < sizeof j->err) {
            j->err[j->errlen++] = p[i];
        } else {
            j->errlen = 0;
            j->err_skip = true;
        }
    }
}

static void read_err(yv_app *a, yv_job *j)
{
    char tmp[4096];
    if (j->err_fd < 0) return;
    ssize_t r = read(j->err_fd, tmp, sizeof tmp);
    if (r > 0) {
        take_err(a, j, tmp, (size_t)r);
    } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(j->err_fd);
        j->err_fd = -1;
    }
}

/* The words of a forward add|remove answer ({"action", "forward": {…}, "live"}) into s; fw holds
 * the forward's text. */
static void forward_words(json_t *res, yv_action_subst *s, char *fw, size_t n)
{
    json_t *f = json_object_get(res, "forward");
    const char *proto = json_string_value(json_object_get(f, "proto"));
    const char *addr = json_string_value(json_object_get(f, "address"));
    snprintf(fw, n, "%s %s:%lld -> %lld", proto ? proto : "?", addr ? addr : "?",
             (long long)json_integer_value(json_object_get(f, "host")),
             (long long)json_integer_value(json_object_get(f, "guest")));
    s->forward = fw;
    const char *action = json_string_value(json_object_get(res, "action"));
    s->change = action && !strcmp(action, "removed") ? "removed from" : "added to";
    s->live = json_is_true(json_object_get(res, "live")) ? "(also in the running QEMU)"
                                                         : "(from its next start)";
}

/* The strings of a JSON array joined by ", ", after first. */
static size_t join_words(json_t *arr, const char *first, char *buf, size_t n)
{
    const char *w[16];
    size_t i, k = 0;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (k < sizeof w / sizeof w[0]) w[k++] = json_string_value(v) ? json_string_value(v) : "?";
    }
    return yv_join(w, k, first, buf, n);
}

/* The words of a set answer ({"changed", "pending"}) into s: "changed memory, vcpu" and
 * "(pending: memory, vcpu — at its next start)". */
static void set_words(json_t *res, yv_action_subst *s, char *ch, size_t chn, char *pend, size_t pn)
{
    if (!join_words(json_object_get(res, "changed"), "changed ", ch, chn))
        snprintf(ch, chn, "nothing changed");
    size_t at = join_words(json_object_get(res, "pending"), "(pending: ", pend, pn);
    if (at && at < pn) snprintf(pend + at, pn - at, " — at its next start)");
    else if (!at) /* a template word is never empty */
        snprintf(pend, pn, "%s",
                 json_is_true(json_object_get(res, "running")) ? "(nothing pending)"
                                                               : "(from its next start)");
    s->change = ch;
    s->live = pend;
}

/* A run's "moved" (what --new-display / --new-ports moved) after its done text: "a started; VNC
 * display :1 -> :3, tcp port 2222 -> 2223". */
static void moved_words(const json_t *mv, char *buf, size_t n)
{
    const json_t *d = json_object_get(mv, "display"), *f;
    size_t at = strlen(buf), i, k = 0;
    if (json_is_object(d) && at < n)
        at += (size_t)snprintf(buf + at, n - at, "; VNC display %s -> %s",
                               json_string_value(json_object_get(d, "from")) ?: "?",
                               json_string_value(json_object_get(d, "to")) ?: "?"),
            k++;
    json_array_foreach(json_object_get(mv, "forwards"), i, f)
    {
        if (at >= n) break;
        at += (size_t)snprintf(buf + at, n - at, "%s%s port %lld -> %lld", k++ ? ", " : "; ",
                               json_string_value(json_object_get(f, "proto")) ?: "?",
                               (long long)json_integer_value(json_object_get(f, "from")),
                               (long long)json_integer_value(json_object_get(f, "to")));
    }
}

static const char *done_text(const yv_job *j, json_t *res)
{
    static char buf[256];
    char fw[96], ch[128], pend[128];
    const yv_action_row *r = yv_actions_of(j->act);
    yv_action_subst s = {
        .vm = j->vm, .stopped_by = json_string_value(json_object_get(res, "stopped_by")) ?: "?"};
    if (j->act == ACT_FORWARD) forward_words(res, &s, fw, sizeof fw);
    if (j->act == ACT_SET) set_words(res, &s, ch, sizeof ch, pend, sizeof pend);
    const char *snap = json_string_value(json_object_get(res, "snapshot"));
    const char *what = json_string_value(json_object_get(res, "action"));
    if (j->act == ACT_SNAPSHOTS && snap && what) { /* {"snapshot", "action", "live"} */
        snprintf(buf, sizeof buf, "%s: snapshot %s %s%s", j->vm, snap,
                 !strcmp(what, "reverted") ? "reverted to" : what,
                 json_is_true(json_object_get(res, "live")) ? " (the running VM, RAM included)"
                                                            : "");
        return buf;
    }
    if (!r || !r->done || yv_actions_expand(r->done, &s, buf, sizeof buf) < 0)
        snprintf(buf, sizeof buf, "%s: done", j->vm);
    if (j->act == ACT_RUN) moved_words(json_object_get(res, "moved"), buf, sizeof buf);
    return buf;
}

/* A clone's new VM and, when it was generated, its VNC password (shown once, as create's). */
static void clone_told(yv_app *a, const yv_job *j, json_t *res)
{
    const char *pw = json_string_value(json_object_get(res, "generated_vnc_password"));
    const char *vm = json_string_value(json_object_get(res, "vm"));
    if (!pw || !vm) return;
    char text[320];
    snprintf(text, sizeof text, "%s was cloned to %s.\nIts VNC password (shown only now): %s",
             j->vm, vm, pw);
    yv_dialog_tell(a, "VNC password", text);
    explicit_bzero(text, sizeof text);
}

static void finish(yv_app *a, yv_job *j)
{
    int status = 0;
    while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR) {
    }
    while (j->out_fd >= 0) drain(&j->out_fd, j->out, sizeof j->out, &j->outlen);
    while (j->err_fd >= 0) read_err(a, j);
    json_t *res = json_loads(j->out, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *e = json_object_get(res, "error");
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !e;
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *code = json_string_value(json_object_get(e, "code"));
    if (j->act == ACT_VIEW) yv_view_remote_ready(a, j->vm, ok ? res : NULL); /* its own words */
    else if (ok) yv_app_status(a, false, "%s", done_text(j, res));
    if (!ok) yv_app_status(a, true, "%s: %s", j->vm, msg ? msg : "failed (see qemu.log)");
    if (!ok && j->act == ACT_RUN) yv_move_offer(a, j->vm, json_object_get(e, "move"));
    if (j->act == ACT_CREATE || j->act == ACT_PRESET) {
        yv_form_job_done(a, j, ok, code ? code : "", msg ? msg : "");
        const char *pw = json_string_value(json_object_get(res, "generated_vnc_password"));
        if (ok && pw) {
            char text[256];
            snprintf(text, sizeof text, "VM %s was created.\nIts VNC password (shown only now): %s",
                     j->vm, pw);
            yv_dialog_tell(a, "VNC password", text);
        }
    }
    if (j->act == ACT_CLONE && ok) clone_told(a, j, res);
    /* one VM of a bulk action (spec §15): the last one's end brings the summary */
    yv_list_bulk_ended(a, j->act, j->vm, ok, ok ? done_text(j, res) : msg ? msg : "see qemu.log");
    /* a password in the answer (vnc-endpoint) is wiped in jansson's copy too, not only in ours */
    const char *pw = json_string_value(json_object_get(res, "password"));
    if (pw) explicit_bzero((char *)pw, strlen(pw));
    json_decref(res);
    explicit_bzero(j->out, sizeof j->out);
    if (j->pidfd >= 0) close(j->pidfd);
    yv_monitor_poke(a->mon);
    a->dirty = true;
}

void yv_job_dispatch(yv_app *a, const struct pollfd *fds, size_t n)
{
    size_t k = 0;
    for (yv_job **pp = &a->jobs; *pp && k + 3 <= n;) {
        yv_job *j = *pp;
        if (fds[k].revents) drain(&j->out_fd, j->out, sizeof j->out, &j->outlen);
        if (fds[k + 1].revents) read_err(a, j);
        bool exited = fds[k + 2].revents != 0;
        k += 3;
        if (!exited) {
            pp = &j->next;
            continue;
        }
        finish(a, j);
        *pp = j->next;
        free(j);
    }
}

void yv_job_kill_all(yv_app *a)
{
    /* Jobs are left to finish on their own: a create or a shutdown half-done by a quitting TUI
     * would be worse than one that completes. Only our bookkeeping goes. */
    for (yv_job *j = a->jobs, *next; j; j = next) {
        next = j->next;
        if (j->out_fd >= 0) close(j->out_fd);
        if (j->err_fd >= 0) close(j->err_fd);
        if (j->pidfd >= 0) close(j->pidfd);
        yv_form_free(j->form);
        free(j);
    }
    a->jobs = NULL;
}
