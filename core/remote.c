#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"
#include "valid.h"

extern char **environ;

enum {
    LINE_MAX_BYTES = 1 << 20, /* a VM's status object is a few KiB: longer is not a line of ours */
    BACKOFF_FIRST_MS = 1000,
    BACKOFF_MAX_MS = 8000, /* a host back up is seen within this (spec §14: retried with backoff) */
    BACKOFF_OLD_MS = 60000, /* yave-tui missing or too old there: someone must install it first */
    ERR_KEEP = 2048,        /* the tail of ssh's stderr kept to explain an end */
    /* what a host (untrusted) can make us hold: rows, and the bytes of their lines (a row takes
     * about what its line did); past either the host is dropped with why */
    ROWS_MAX = 4096,
    ROW_BYTES_MAX = 64 << 20,
    LINES_PER_TURN = 512, /* a flood of lines waits for the next turn: the keyboard goes first */
    /* liveness (spec §14): the watch's heartbeat is BEAT_MS (an alive line when it has nothing
     * else to say; a newline from us as often); a host silent for SILENT_MS, or with no first
     * line CONNECT_MS after the ssh started, is unreachable — the ssh's own keepalive (5 s × 3)
     * only ends the shared master, leaving a console over it time for a short dropout */
    BEAT_MS = 2000,
    SILENT_MS = 3 * BEAT_MS,
    CONNECT_MS = 15000,
};

typedef struct {
    yv_monitor_vm pub;
    char *key;    /* "vm@host" */
    bool seen;    /* named since the watch (re)started: the others are gone at its `synced` */
    size_t bytes; /* the length of its line: what it holds, about */
} rvm;

struct yv_remote {
    yv_host h;
    char *ssh_config, *ctl_dir;
    rvm **v;
    size_t n;
    yv_remote_state state;
    char problem[512];
    bool synced; /* this watch told the whole state */
    pid_t pid;
    int pidfd, out, err, in;
    char *buf; /* stdout: the line being assembled */
    size_t len, cap;
    bool skipping; /* inside a line over LINE_MAX_BYTES: dropped up to its end */
    char errtail[ERR_KEEP];
    size_t errlen;
    int64_t next_try;
    int backoff_ms;
    int slot_kind[3]; /* what the descriptors handed out last were: 0 out, 1 err, 2 pidfd */
    size_t nslots;
    size_t bytes;        /* the rows' bytes (ROW_BYTES_MAX) */
    int64_t last_line;   /* when the watch's last line came (or its ssh started) */
    int64_t next_beat;   /* when our next newline goes to the watch */
    bool got_line;       /* this watch said something: SILENT_MS counts, not CONNECT_MS */
    char killed_why[96]; /* we ended its ssh (silent, too much): why, instead of ssh's words */
};

/* ---- the rows ---- */

static rvm *find_rvm(const yv_remote *r, const char *name, size_t *at)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->v[mid]->pub.name, name);
        if (c == 0) {
            if (at) *at = mid;
            return r->v[mid];
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (at) *at = lo;
    return NULL;
}

static void rvm_free(rvm *x)
{
    if (!x) return;
    yv_remote_vm_done(&x->pub);
    free(x->key);
    free(x);
}

static void remove_at(yv_remote *r, size_t i)
{
    r->bytes -= r->v[i]->bytes;
    rvm_free(r->v[i]);
    memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof *r->v);
    r->n--;
}

/* The host's view on one row: its name and, while it is not UP, why. */
static void stamp_row(yv_remote *r, rvm *x)
{
    x->pub.host = r->h.name;
    x->pub.host_problem = r->state == YV_REMOTE_UP || !r->problem[0] ? NULL : r->problem;
}

/* The rows' view of the host: each row carries its name and, while it is not UP, why. */
static void stamp_rows(yv_remote *r)
{
    /* a first connection still telling its rows is no problem; a retry keeps the last one's
     * until the host told its whole state again */
    const char *why = r->state == YV_REMOTE_UP || !r->problem[0] ? NULL : r->problem;
    for (size_t i = 0; i < r->n; i++) {
        r->v[i]->pub.host = r->h.name;
        r->v[i]->pub.host_problem = why;
    }
}

/* A VM's line: a watch sends one only when the VM changed, so every line is news. */
static void abandon(yv_remote *r, const char *why);

static int upsert(yv_remote *r, const json_t *o, size_t len)
{
    yv_monitor_vm row;
    if (yv_remote_vm_from_json(&row, o) < 0) return 0;
    size_t at;
    rvm *x = find_rvm(r, row.name, &at);
    if (r->bytes - (x ? x->bytes : 0) + len > ROW_BYTES_MAX || (!x && r->n >= ROWS_MAX)) {
        yv_remote_vm_done(&row);
        abandon(r, x ? "its VMs' state is larger than 64 MiB" : "it has more than 4096 VMs");
        return 0;
    }
    if (!x) {
        x = yv_calloc(1, sizeof *x);
        x->key = yv_asprintf("%s@%s", row.name, r->h.name);
        r->v = yv_realloc(r->v, (r->n + 1) * sizeof *r->v);
        memmove(&r->v[at + 1], &r->v[at], (r->n - at) * sizeof *r->v);
        r->v[at] = x;
        r->n++;
    } else {
        yv_remote_vm_done(&x->pub);
    }
    x->pub = row;
    x->seen = true;
    r->bytes += len - x->bytes;
    x->bytes = len;
    stamp_row(r, x); /* one row: a host sending many stays linear */
    return 1;
}

/* `synced`: the host named every VM it has since this watch began; the rest are gone. */
static int synced(yv_remote *r)
{
    for (size_t i = r->n; i-- > 0;)
        if (!r->v[i]->seen) remove_at(r, i);
    r->synced = true;
    r->state = YV_REMOTE_UP;
    r->problem[0] = '\0';
    r->backoff_ms = 0;
    stamp_rows(r);
    return 1;
}

int yv_remote_feed_line(yv_remote *r, const char *line, size_t len)
{
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    int changed = 0;
    if (!json_is_object(o)) {
        json_decref(o);
        return 0;
    }
    const json_t *vm = json_object_get(o, "vm");
    const char *gone = json_string_value(json_object_get(o, "gone"));
    size_t at;
    if (json_is_object(vm)) changed = upsert(r, vm, len);
    else if (gone && find_rvm(r, gone, &at)) {
        remove_at(r, at);
        changed = 1;
    } else if (json_is_true(json_object_get(o, "synced"))) changed = synced(r);
    json_decref(o);
    return changed;
}

/* ---- a VM object of status --json, untrusted ---- */

static yv_state state_of(const char *s)
{
    yv_state st;
    /* a state only a newer yave knows: not one to act on */
    return yv_vminfo_state_parse(s, &st) == 0 ? st : YV_STATE_ERROR;
}

/* A string of the host shown on our terminal: printable ASCII only, cut to max bytes. */
static char *clean_str(const json_t *j, size_t max)
{
    const char *s = json_string_value(j);
    if (!s) return NULL;
    size_t n = strnlen(s, max);
    char *c = yv_strndup(s, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)c[i] < 0x20 || (unsigned char)c[i] >= 0x7f) c[i] = '?';
    return c;
}

static long int_in(const json_t *j, long lo, long hi, long dflt)
{
    if (!json_is_integer(j)) return dflt;
    json_int_t v = json_integer_value(j);
    return v < lo || v > hi ? dflt : (long)v;
}

static void vnc_from(yv_monitor_vm *row, const json_t *o)
{
    char *d = clean_str(json_object_get(o, "display"), 16);
    if (d && yv_valid_display_number(d) >= 0) row->vm.vnc_display = d;
    else free(d);
    if (json_is_true(json_object_get(o, "reachable"))) row->vnc = YV_VNC_REACHABLE;
    const char *c = json_string_value(json_object_get(o, "check"));
    for (int r = YV_VNC_PENDING; c && r <= YV_VNC_NO_ANSWER; r++)
        if (!strcmp(c, yv_vnccheck_result_name((yv_vnc_result)r))) row->vnc = (yv_vnc_result)r;
}

static void drives_from(yv_vm *vm, const json_t *a)
{
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    if (n > 64) n = 64;
    vm->drives = yv_calloc(n ? n : 1, sizeof *vm->drives);
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(a, i);
        char *id = clean_str(json_object_get(d, "id"), 16);
        if (!id) continue;
        yv_drive *x = &vm->drives[vm->ndrives++];
        x->id = id;
        x->path = clean_str(json_object_get(d, "path"), 4096);
        if (!x->path) x->path = yv_strdup("?");
        const char *t = json_string_value(json_object_get(d, "type"));
        x->type = t && !strcmp(t, "ide") ? YV_DRIVE_IDE : YV_DRIVE_VIRTIO_BLK;
        const char *m = json_string_value(json_object_get(d, "media_type"));
        x->media = m && !strcmp(m, "cdrom") ? YV_MEDIA_CD : YV_MEDIA_HD;
        x->boot_index = int_in(json_object_get(d, "boot_index"), 0, 1000, -1);
    }
}

static void forwards_from(yv_net *net, const json_t *a)
{
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    if (n > 64) n = 64;
    net->forwards = yv_calloc(n ? n : 1, sizeof *net->forwards);
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_array_get(a, i);
        long host = int_in(json_object_get(f, "host"), 1, 65535, 0);
        long guest = int_in(json_object_get(f, "guest"), 1, 65535, 0);
        char *addr = clean_str(json_object_get(f, "address"), 46);
        if (!host || !guest || !addr) {
            free(addr);
            continue;
        }
        const char *p = json_string_value(json_object_get(f, "proto"));
        net->forwards[net->nforwards++] =
            (yv_forward){.proto = p && !strcmp(p, "udp") ? YV_PROTO_UDP : YV_PROTO_TCP,
                         .address = addr,
                         .host = (int)host,
                         .guest = (int)guest};
    }
}

static void nets_from(yv_vm *vm, const json_t *a)
{
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    if (n > 16) n = 16;
    vm->nets = yv_calloc(n ? n : 1, sizeof *vm->nets);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(a, i);
        char *id = clean_str(json_object_get(o, "id"), 16);
        if (!id) continue;
        yv_net *x = &vm->nets[vm->nnets++];
        x->id = id;
        const char *t = json_string_value(json_object_get(o, "type"));
        x->type = t && !strcmp(t, "user") ? YV_NET_USER : YV_NET_TAP;
        x->mac = clean_str(json_object_get(o, "mac"), 17);
        if (!x->mac) x->mac = yv_strdup("?");
        x->master = clean_str(json_object_get(o, "master"), 15);
        x->ifname = clean_str(json_object_get(o, "ifname"), 15);
        if (x->type == YV_NET_USER) forwards_from(x, json_object_get(o, "forwards"));
    }
}

static void addrs_from(yv_addrs *out, const json_t *a)
{
    size_t i;
    const json_t *o;
    json_array_foreach(a, i, o)
    {
        if (i >= YV_ADDR_MAX) break;
        const char *ip = json_string_value(json_object_get(o, "ip"));
        const char *src = json_string_value(json_object_get(o, "source"));
        yv_addr_source s = YV_ADDR_AGENT;
        if (src && !strcmp(src, "neighbour")) s = YV_ADDR_NEIGHBOUR;
        if (src && !strcmp(src, "forward")) s = YV_ADDR_FORWARD;
        /* yv_addrs_add checks the address with inet_pton: nothing else gets in */
        if (ip) yv_addrs_add(out, ip, (int)int_in(json_object_get(o, "port"), 0, 65535, 0), s);
    }
}

int yv_remote_vm_from_json(yv_monitor_vm *row, const void *json_obj)
{
    const json_t *o = json_obj;
    memset(row, 0, sizeof *row);
    row->cpu = -1;
    row->uptime_s = -1;
    const char *name = json_string_value(json_object_get(o, "name"));
    if (!json_is_object(o) || !name || yv_valid_name(name, NULL) < 0) return -1;
    row->name = yv_strdup(name);
    row->state = state_of(json_string_value(json_object_get(o, "state")));
    row->pid = (pid_t)int_in(json_object_get(o, "pid"), 1, 1L << 22, 0);
    char *detail = clean_str(json_object_get(o, "detail"), sizeof row->detail - 1);
    if (detail) snprintf(row->detail, sizeof row->detail, "%s", detail);
    free(detail);
    /* "problem": a broken config; null: a VM being created (no config yet) — neither has figures */
    const json_t *problem = json_object_get(o, "problem");
    row->problem = problem ? clean_str(problem, 1024) : NULL;
    if (problem && !row->problem)
        row->problem = yv_strdup(row->detail[0] ? row->detail : "no config yet");
    addrs_from(&row->addrs, json_object_get(o, "addresses"));
    if (row->problem) return 0;
    row->valid = true;
    row->vm.name = yv_strdup(name);
    row->vm.memory = int_in(json_object_get(o, "memory"), 0, 1L << 30, 0);
    row->vm.vcpu = int_in(json_object_get(o, "vcpu"), 0, 4096, 0);
    row->vm.ovmf = json_is_true(json_object_get(o, "ovmf"));
    vnc_from(row, json_object_get(o, "vnc"));
    drives_from(&row->vm, json_object_get(o, "drives"));
    nets_from(&row->vm, json_object_get(o, "networks"));
    return 0;
}

void yv_remote_vm_done(yv_monitor_vm *row)
{
    free(row->name);
    free(row->problem);
    if (row->valid) yv_vm_done(&row->vm);
    yv_addrs_done(&row->addrs);
    memset(row, 0, sizeof *row);
}

/* ---- the remote command line ---- */

char *yv_remote_quote(const char *const *words)
{
    size_t len = 0;
    char *line = yv_strdup("");
    for (size_t i = 0; words[i]; i++) {
        char *q = yv_hosts_shell_quote(words[i]);
        size_t ql = strlen(q);
        line = yv_realloc(line, len + ql + 2);
        if (i) line[len++] = ' ';
        memcpy(line + len, q, ql + 1);
        len += ql;
        free(q);
    }
    return line;
}

static void push(char ***v, size_t *n, const char *s)
{
    *v = yv_realloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = yv_strdup(s);
    (*v)[*n] = NULL;
}

/* ssh's options for every use of the host: one shared connection, never a question. */
/* extra: what goes before the destination (-T, -tt, or -O forward -L …). */
static void ssh_opts(const yv_remote *r, char ***v, size_t *n, const char *const *extra)
{
    char opt[4200];
    push(v, n, "ssh");
    if (r->ssh_config) {
        push(v, n, "-F");
        push(v, n, r->ssh_config);
    }
    static const char *const fixed[] = {
        "BatchMode=yes",         "ControlMaster=auto", "ControlPersist=60", "ServerAliveInterval=5",
        "ServerAliveCountMax=3", "ConnectTimeout=5",   "EscapeChar=none",   NULL};
    for (size_t i = 0; fixed[i]; i++) {
        push(v, n, "-o");
        push(v, n, fixed[i]);
    }
    snprintf(opt, sizeof opt, "ControlPath=%s/%%C", r->ctl_dir);
    push(v, n, "-o");
    push(v, n, opt);
    for (size_t i = 0; extra[i]; i++) push(v, n, extra[i]);
    /* `-l USER -p PORT -- HOST`: the one form every OpenSSH reads alike (an IPv6 literal too) */
    yv_ssh_dest d = {0};
    if (yv_hosts_split_ssh(r->h.ssh, &d, NULL) == 0 && d.user) {
        push(v, n, "-l");
        push(v, n, d.user);
    }
    if (d.port) {
        snprintf(opt, sizeof opt, "%d", d.port);
        push(v, n, "-p");
        push(v, n, opt);
    }
    push(v, n, "--");
    push(v, n, d.host ? d.host : r->h.ssh);
    yv_ssh_dest_done(&d);
}

char **yv_remote_batch_argv(const yv_remote *r, bool tty, const char *const *words)
{
    char **v = NULL;
    size_t n = 0, k = 0;
    ssh_opts(r, &v, &n, (const char *const[]){tty ? "-tt" : "-T", NULL});
    const char *cmd[64];
    cmd[k++] = r->h.bin ? r->h.bin : "yave-tui";
    cmd[k++] = "--batch";
    if (r->h.root) {
        cmd[k++] = "--root";
        cmd[k++] = r->h.root;
    }
    for (size_t i = 0; words[i] && k < 63; i++) cmd[k++] = words[i];
    cmd[k] = NULL;
    char *line = yv_remote_quote(cmd);
    push(&v, &n, line); /* one word, starting with a quote: never taken for an ssh option */
    free(line);
    return v;
}

void yv_remote_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++) free(argv[i]);
    free(argv);
}

static bool has(const char *s, const char *what);
static bool too_old(const char *err);
static void close_fd(int *fd);

int yv_remote_forward(const yv_remote *r, bool on, const char *sock, const char *host, int port,
                      yv_err *err)
{
    char spec[512];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(spec, sizeof spec, "%s:%s%s%s:%d", sock, v6 ? "[" : "", host, v6 ? "]" : "", port);
    char **v = NULL;
    size_t n = 0;
    ssh_opts(r, &v, &n, (const char *const[]){"-O", on ? "forward" : "cancel", "-L", spec, NULL});
    int rc = yv_proc_run(v, environ, NULL, err);
    yv_remote_argv_free(v);
    if (rc < 0)
        yv_err_prefix(err, "host %s: %s the forward of %s", r->h.name,
                      on ? "cannot make" : "cannot cancel", host);
    return rc;
}

/* ---- one command, waited for ---- */

typedef struct {
    int out, err;
    char *buf;
    size_t len;
    char tail[ERR_KEEP];
    size_t tlen;
} run_io;

/* Appends n bytes of b to the tail kept in t (cap bytes with its NUL), dropping the oldest. */
static void tail_keep(char *t, size_t *len, size_t cap, const char *b, size_t n)
{
    if (n >= cap) {
        b += n - (cap - 1);
        n = cap - 1;
    }
    if (*len + n >= cap) {
        size_t drop = *len + n - (cap - 1);
        memmove(t, t + drop, *len - drop);
        *len -= drop;
    }
    memcpy(t + *len, b, n);
    *len += n;
    t[*len] = '\0';
}

/* Reads what the child wrote until both pipes end or the deadline; false at the deadline. */
static bool run_pump(run_io *io, int64_t end)
{
    enum { OUT_MAX = 4 << 20 };
    while (io->out >= 0 || io->err >= 0) {
        struct pollfd p[2] = {{io->out, POLLIN, 0}, {io->err, POLLIN, 0}};
        int64_t left = end - yv_now_ms();
        if (left <= 0) return false;
        if (poll(p, 2, (int)left) < 0 && errno != EINTR) return false;
        char b[16384];
        if (p[0].revents) {
            ssize_t k = read(io->out, b, sizeof b);
            if (k <= 0) close_fd(&io->out);
            else if (io->len + (size_t)k <= OUT_MAX) {
                io->buf = yv_realloc(io->buf, io->len + (size_t)k + 1);
                memcpy(io->buf + io->len, b, (size_t)k);
                io->len += (size_t)k;
            }
        }
        if (p[1].revents) { /* its tail: the last lines say why (a long Banner comes first) */
            ssize_t k = read(io->err, b, sizeof b);
            if (k <= 0) close_fd(&io->err);
            else tail_keep(io->tail, &io->tlen, sizeof io->tail, b, (size_t)k);
        }
    }
    return true;
}

static void last_line(const char *text, char *out, size_t n);

int yv_remote_run(const yv_remote *r, const char *const *words, int timeout_ms, char **out,
                  int *status, char *last, size_t lastn, yv_err *err)
{
    int po[2], pe[2], st = 0;
    if (pipe2(po, O_CLOEXEC) < 0) return yv_err_sys(err, YV_E_IO, errno, "pipe");
    if (pipe2(pe, O_CLOEXEC) < 0) {
        close(po[0]), close(po[1]);
        return yv_err_sys(err, YV_E_IO, errno, "pipe");
    }
    char **argv = yv_remote_batch_argv(r, false, words);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, "ssh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    yv_remote_argv_free(argv);
    close(po[1]), close(pe[1]);
    run_io io = {.out = po[0], .err = pe[0]};
    if (rc != 0) {
        close(po[0]), close(pe[0]);
        return yv_err_sys(err, YV_E_TOOL_FAILED, rc, "cannot run ssh");
    }
    bool in_time = run_pump(&io, yv_now_ms() + timeout_ms);
    close_fd(&io.out), close_fd(&io.err);
    if (!in_time) kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    io.tail[io.tlen] = '\0';
    last_line(io.tail, last, lastn);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    *out = io.buf ? io.buf : yv_strdup("");
    (*out)[io.len] = '\0';
    if (!in_time)
        return yv_err_set(err, YV_E_TIMEOUT, "host %s: no answer within %d s", r->h.name,
                          timeout_ms / 1000);
    bool old = *status == 127 || *status == 126 || (*status == 2 && too_old(io.tail));
    if (*status == 255 || *status < 0 || old) {
        char why[512];
        yv_remote_explain(r->h.name, r->h.ssh, r->h.bin, *status, io.tail, false, why, sizeof why);
        free(*out);
        *out = NULL;
        return yv_err_set(err, YV_E_TOOL_FAILED, "host %s: %s", r->h.name, why);
    }
    return 0;
}

/* ---- why it ended ---- */

static bool has(const char *s, const char *what)
{
    return s && strstr(s, what);
}

/* A yave-tui from before watch (or its --heartbeat) says so in its usage error. */
static bool too_old(const char *err)
{
    return has(err, "unknown command") || has(err, "unknown option '--heartbeat'");
}

/* The last non-empty line of text, for a message (printable only). */
static void last_line(const char *text, char *out, size_t n)
{
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ')) end--;
    const char *start = end;
    while (start > text && start[-1] != '\n') start--;
    size_t len = (size_t)(end - start) < n - 1 ? (size_t)(end - start) : n - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)start[i];
        out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    out[len] = '\0';
}

void yv_remote_explain(const char *host, const char *dest, const char *bin, int status,
                       const char *err, bool was_synced, char *out, size_t n)
{
    char last[256];
    last_line(err ? err : "", last, sizeof last);
    const char *b = bin ? bin : "yave-tui";
    /* ssh's own words count only when ssh failed (255): the host's program writes on the same
     * stderr and must not be able to make us advise removing a host key */
    bool ssh_failed = status == 255;
    if (ssh_failed && has(err, "REMOTE HOST IDENTIFICATION HAS CHANGED"))
        snprintf(out, n,
                 "host key of %s (%s) changed: ssh refused to connect. If the host was "
                 "reinstalled, check its new key and remove the old one (ssh-keygen -R)",
                 host, dest);
    else if (ssh_failed && has(err, "Host key verification failed"))
        snprintf(out, n,
                 "host key of %s (%s) is not known: connect once with ssh %s and check it "
                 "(nothing is asked here: BatchMode)",
                 host, dest, dest);
    else if (status == 127)
        snprintf(out, n, "%s not found on %s: install yave there or set bin: in hosts.yaml", b,
                 host);
    else if (status == 126) snprintf(out, n, "%s on %s cannot be run: %s", b, host, last);
    else if (status == 2 && too_old(err))
        snprintf(out, n, "%s on %s is too old: it has no watch (spec §14); update it", b, host);
    else if (status == 255 || status < 0)
        snprintf(out, n, "unreachable: %s", last[0] ? last : "ssh failed");
    else if (was_synced)
        snprintf(out, n, "connection lost (%s exited %d%s%s)", b, status, last[0] ? ": " : "",
                 last);
    else
        snprintf(out, n, "%s on %s failed (exit %d)%s%s", b, host, status, last[0] ? ": " : "",
                 last);
}

/* ---- the connection ---- */

char *yv_remote_ctl_dir(yv_err *err)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char *dir = xdg && xdg[0] == '/' ? yv_asprintf("%s/yave-ssh", xdg)
                                     : yv_asprintf("/tmp/yave-ssh-%u", (unsigned)getuid());
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        yv_err_sys(err, YV_E_IO, errno, "cannot make the ssh control folder %s", dir);
        free(dir);
        return NULL;
    }
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 077)) {
        yv_err_set(err, YV_E_PERMISSION,
                   "the ssh control folder %s is not a private folder of this user (a symlink, "
                   "another owner, or open to others): remove it and start again",
                   dir);
        free(dir);
        return NULL;
    }
    return dir;
}

yv_remote *yv_remote_new(const yv_host *h, const char *ssh_config, const char *ctl_dir)
{
    yv_remote *r = yv_calloc(1, sizeof *r);
    r->h.name = yv_strdup(h->name);
    r->h.ssh = yv_strdup(h->ssh);
    r->h.root = h->root ? yv_strdup(h->root) : NULL;
    r->h.bin = h->bin ? yv_strdup(h->bin) : NULL;
    r->ssh_config = ssh_config ? yv_strdup(ssh_config) : NULL;
    r->ctl_dir = yv_strdup(ctl_dir);
    r->pid = -1;
    r->pidfd = r->out = r->err = r->in = -1;
    r->state = YV_REMOTE_CONNECTING;
    return r;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static void spawn_fail(yv_remote *r, const char *what, int e, int64_t now);

/* The ssh child: stdin, stdout and stderr are our pipes; nothing else of ours is inherited
 * (every descriptor of the TUI is O_CLOEXEC). */
static void spawn_watch(yv_remote *r, int64_t now)
{
    int pin[2], pout[2], perr[2];
    if (pipe2(pin, O_CLOEXEC) < 0) return spawn_fail(r, "pipe", errno, now);
    if (pipe2(pout, O_CLOEXEC) < 0) {
        close(pin[0]), close(pin[1]);
        return spawn_fail(r, "pipe", errno, now);
    }
    if (pipe2(perr, O_CLOEXEC) < 0) {
        close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
        return spawn_fail(r, "pipe", errno, now);
    }
    char beat[16];
    snprintf(beat, sizeof beat, "%d", BEAT_MS / 1000);
    const char *const words[] = {"--json", "watch", "--heartbeat", beat, NULL};
    char **argv = yv_remote_batch_argv(r, false, words);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID); /* a Ctrl-C on our terminal is ours */
    int rc = posix_spawnp(&r->pid, "ssh", &fa, &at, argv, environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    yv_remote_argv_free(argv);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    r->in = pin[1];
    r->out = pout[0];
    r->err = perr[0];
    if (rc != 0) {
        r->pid = -1;
        close_fd(&r->in);
        close_fd(&r->out);
        close_fd(&r->err);
        return spawn_fail(r, "ssh", rc, now);
    }
    fcntl(r->out, F_SETFL, O_NONBLOCK);
    fcntl(r->err, F_SETFL, O_NONBLOCK);
    fcntl(r->in, F_SETFL, O_NONBLOCK); /* a hung host never blocks our heartbeat */
    r->pidfd = yv_proc_pidfd_open(r->pid);
    r->last_line = now;
    r->next_beat = now + BEAT_MS;
    r->got_line = false;
    r->killed_why[0] = '\0';
    r->synced = false;
    r->len = r->errlen = 0;
    r->skipping = false;
    r->state = YV_REMOTE_CONNECTING;
    for (size_t i = 0; i < r->n; i++) r->v[i]->seen = false;
    stamp_rows(r);
}

static void schedule_retry(yv_remote *r, int64_t now, bool old)
{
    r->backoff_ms = old                                  ? BACKOFF_OLD_MS
                    : r->backoff_ms == 0                 ? BACKOFF_FIRST_MS
                    : r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                         : r->backoff_ms * 2;
    r->next_try = now + r->backoff_ms;
}

static void spawn_fail(yv_remote *r, const char *what, int e, int64_t now)
{
    snprintf(r->problem, sizeof r->problem, "cannot start %s: %s", what, strerror(e));
    r->state = YV_REMOTE_DOWN;
    stamp_rows(r);
    schedule_retry(r, now, false);
}

/* We end the watch's ssh ourselves (a silent host, one that sends too much): why, for people;
 * its end (the pidfd) does the rest. */
static void abandon(yv_remote *r, const char *why)
{
    if (r->pid <= 0 || r->killed_why[0]) return;
    snprintf(r->killed_why, sizeof r->killed_why, "%s", why);
    yv_proc_signal(r->pid, r->pidfd, SIGKILL);
}

static void keep_err(yv_remote *r, const char *b, size_t n)
{
    tail_keep(r->errtail, &r->errlen, sizeof r->errtail, b, n); /* the last lines say why */
}

/* Reads what ssh's stderr holds now. */
static void read_err(yv_remote *r)
{
    char b[1024];
    ssize_t k = -1;
    while (r->err >= 0 && (k = read(r->err, b, sizeof b)) > 0) keep_err(r, b, (size_t)k);
    if (k == 0) close_fd(&r->err);
}

static bool take_bytes(yv_remote *r, const char *b, size_t k, int *lines)
{
    bool changed = false;
    for (size_t i = 0; i < k && !r->killed_why[0]; i++) {
        if (b[i] == '\n') {
            if (!r->skipping) changed |= yv_remote_feed_line(r, r->buf, r->len) > 0;
            r->len = 0;
            r->skipping = false;
            r->last_line = yv_now_ms(); /* an alive line counts too */
            r->got_line = true;
            ++*lines;
            continue;
        }
        if (r->skipping) continue;
        if (r->len + 1 >= LINE_MAX_BYTES) {
            r->skipping = true;
            continue;
        }
        if (r->len + 1 >= r->cap) {
            r->cap = r->cap ? r->cap * 2 : 4096;
            r->buf = yv_realloc(r->buf, r->cap);
        }
        r->buf[r->len++] = b[i];
    }
    return changed;
}

/* Reads what the watch wrote (at most 256 KiB or LINES_PER_TURN lines a turn: a host cannot
 * starve the keyboard). */
static bool read_out(yv_remote *r)
{
    char b[16384];
    bool changed = false;
    int lines = 0;
    for (int turn = 0; turn < 16 && r->out >= 0 && lines < LINES_PER_TURN; turn++) {
        ssize_t k = read(r->out, b, sizeof b);
        if (k == 0) close_fd(&r->out);
        if (k <= 0) break;
        changed |= take_bytes(r, b, (size_t)k, &lines);
    }
    return changed;
}

/* The ssh ended: what it left said, the rows marked, a retry planned. */
static void ended(yv_remote *r, int64_t now)
{
    int st = 0, status = -1;
    for (int i = 0; i < 64 && r->out >= 0 && !r->killed_why[0]; i++) read_out(r); /* its last */
    read_err(r);
    if (waitpid(r->pid, &st, 0) == r->pid && WIFEXITED(st)) status = WEXITSTATUS(st);
    r->pid = -1;
    close_fd(&r->pidfd);
    close_fd(&r->in);
    close_fd(&r->out);
    close_fd(&r->err);
    if (r->killed_why[0]) snprintf(r->problem, sizeof r->problem, "unreachable: %s", r->killed_why);
    else
        yv_remote_explain(r->h.name, r->h.ssh, r->h.bin, status, r->errtail, r->synced, r->problem,
                          sizeof r->problem);
    r->killed_why[0] = '\0';
    bool old = status == 127 || status == 126 || (status == 2 && too_old(r->errtail));
    r->errlen = 0;
    r->errtail[0] = '\0';
    r->state = YV_REMOTE_DOWN;
    stamp_rows(r);
    schedule_retry(r, now, old);
}

/* Our newline every BEAT_MS (the watch ends when none came for three: a connection that died
 * unseen leaves nothing running there), and the host's silence found out: no line for SILENT_MS
 * (its alive lines come every BEAT_MS), or none at all CONNECT_MS after the ssh started. */
static void liveness(yv_remote *r, int64_t now, int *timeout_ms)
{
    if (now >= r->next_beat) {
        if (write(r->in, "\n", 1) < 0 && errno != EAGAIN) close_fd(&r->in);
        r->next_beat = now + BEAT_MS;
    }
    int64_t limit = r->last_line + (r->got_line ? SILENT_MS : CONNECT_MS);
    if (now >= limit) {
        char why[96];
        snprintf(why, sizeof why, "no answer for %d s", (int)((now - r->last_line) / 1000));
        abandon(r, why);
    }
    int64_t next = r->next_beat < limit ? r->next_beat : limit;
    int t = next <= now ? 0 : (int)(next - now);
    if (*timeout_ms < 0 || t < *timeout_ms) *timeout_ms = t;
}

size_t yv_remote_pollfds(yv_remote *r, struct pollfd *fds, size_t max, int64_t now, int *timeout_ms)
{
    size_t k = 0;
    if (r->pid < 0 && now >= r->next_try && max < 3) { /* no room to follow it: said, not hung */
        snprintf(r->problem, sizeof r->problem, "not followed: too many hosts and VMs for one TUI");
        r->state = YV_REMOTE_DOWN;
        stamp_rows(r);
        schedule_retry(r, now, false);
    }
    if (r->pid < 0 && now >= r->next_try) spawn_watch(r, now);
    if (r->pid > 0) liveness(r, now, timeout_ms);
    if (r->pid < 0) {
        int64_t t = r->next_try - now;
        if (t < 0) t = 0;
        if (*timeout_ms < 0 || t < *timeout_ms) *timeout_ms = (int)t;
        r->nslots = 0;
        return 0;
    }
    int want[3] = {r->out, r->err, r->pidfd};
    for (int i = 0; i < 3 && k < max; i++) {
        if (want[i] < 0) continue;
        fds[k] = (struct pollfd){want[i], POLLIN, 0};
        r->slot_kind[k++] = i;
    }
    r->nslots = k;
    return k;
}

bool yv_remote_dispatch(yv_remote *r, const struct pollfd *fds, size_t n, int64_t now)
{
    bool changed = false, dead = false;
    for (size_t i = 0; i < n && i < r->nslots; i++) {
        if (!fds[i].revents) continue;
        switch (r->slot_kind[i]) {
        case 0: changed |= read_out(r); break;
        case 1: read_err(r); break;
        default: dead = true; break;
        }
    }
    /* without a pidfd, the end of its stdout is its end */
    if (r->pid > 0 && (dead || (r->pidfd < 0 && r->out < 0))) {
        ended(r, now);
        changed = true;
    }
    return changed;
}

void yv_remote_poke(yv_remote *r, int64_t now)
{
    if (r->pid < 0) r->next_try = now;
}

void yv_remote_free(yv_remote *r)
{
    if (!r) return;
    close_fd(&r->in); /* the watch ends at the end of its input */
    if (r->pid > 0 && yv_proc_end(r->pid, r->pidfd, 1000)) waitpid(r->pid, NULL, 0); /* reaped */
    close_fd(&r->pidfd);
    close_fd(&r->out);
    close_fd(&r->err);
    for (size_t i = 0; i < r->n; i++) rvm_free(r->v[i]);
    free(r->v);
    free(r->buf);
    free(r->h.name);
    free(r->h.ssh);
    free(r->h.root);
    free(r->h.bin);
    free(r->ssh_config);
    free(r->ctl_dir);
    free(r);
}

const char *yv_remote_ctl(const yv_remote *r)
{
    return r->ctl_dir;
}

const char *yv_remote_name(const yv_remote *r)
{
    return r->h.name;
}

yv_remote_state yv_remote_state_of(const yv_remote *r)
{
    return r->state;
}

const char *yv_remote_problem(const yv_remote *r)
{
    return r->problem;
}

size_t yv_remote_count(const yv_remote *r)
{
    return r->n;
}

const yv_monitor_vm *yv_remote_get(const yv_remote *r, size_t i)
{
    return i < r->n ? &r->v[i]->pub : NULL;
}

const char *yv_remote_key(const yv_remote *r, size_t i)
{
    return i < r->n ? r->v[i]->key : NULL;
}

const yv_monitor_vm *yv_remote_find(const yv_remote *r, const char *vm)
{
    rvm *x = find_rvm(r, vm, NULL);
    return x ? &x->pub : NULL;
}

size_t yv_remote_running(const yv_remote *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) k += r->v[i]->pub.pid > 0;
    return k;
}
