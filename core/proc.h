/* proc: running other programs without a shell (fork + execve, explicit environment, clean signal
 * state), capturing the tail of their stderr for error messages. */
#ifndef YV_PROC_H
#define YV_PROC_H

#include <signal.h>

#include "err.h"

/* Keeps malloc off the brk heap for the rest of the process: a page reserved where the heap would
 * grow makes glibc's malloc take its memory from mmap (its fallback when brk fails). For a process
 * that ends soon (a command; a long-lived one keeps the brk heap, whose top glibc gives back),
 * called before anything allocates; best effort (nothing changes when it cannot). */
void yv_proc_heap_off_brk(void);

/* Finds `prog` (a path, or a name looked up on $PATH); malloc'd, or NULL when not found. */
char *yv_proc_which(const char *prog);

/* Runs argv[0] (looked up on PATH when it has no slash) with envp (NULL = a minimal environment),
 * stdin and stdout on /dev/null, and waits. Exit 0 → 0. Otherwise TOOL_FAILED with "<tool> failed
 * (exit N): <last stderr line(s)>"; a program that cannot be found or executed is TOOL_FAILED too.
 * cancel (NULL: none): the tool is sent SIGTERM as soon as *cancel becomes non-zero (a signal
 * handler, or another thread such as yave-web's stop, sets it), and SIGKILL 5 s later, so a long
 * qemu-img convert does not outlast a Ctrl-C; the run then fails as the tool does (killed by
 * signal). A parameter, not a global: yave-web runs several creates at once in threads. */
int yv_proc_run(char *const argv[], char *const envp[], volatile sig_atomic_t *cancel, yv_err *err);

/* Same, but also returns stdout (malloc'd, NUL-terminated; at most 1 MiB). */
int yv_proc_run_output(char *const argv[], char *const envp[], volatile sig_atomic_t *cancel,
                       char **out, yv_err *err);

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Parses a pidfile's content strictly: decimal digits, optional trailing newline, value > 1 (never
 * 0 or 1: kill(0) signals our own group, 1 is init). -1 when malformed. */
pid_t yv_proc_parse_pid(const char *text, size_t len);
/* The pid in the pidfile at path (0 when missing or malformed). */
pid_t yv_proc_pidfile_pid(const char *path);
/* The same from the pidfile's open descriptor (read at offset 0). */
pid_t yv_proc_pidfile_fd_pid(int fd);
/* The pid of the process holding a write lock on path (QEMU locks its pidfile), 0 when none. */
pid_t yv_proc_pidfile_holder(const char *path);
/* Who holds a write lock on the open pidfile (QEMU locks its own): 0 nobody, -1 a holder that
 * cannot be named (another PID namespace). */
pid_t yv_proc_pidfile_fd_holder(int fd);
/* The program pid runs (/proc/PID/exe) into buf, a " (deleted)" suffix cut (QEMU upgraded under a
 * running VM is still that QEMU); false when it cannot be read (gone, not ours to look at). */
bool yv_proc_exe(pid_t pid, char *buf, size_t n);
/* True when /proc/pid/exe is the program exe (a " (deleted)" suffix after an upgrade counts). */
bool yv_proc_is_exe(pid_t pid, const char *exe);
/* The same for a path already canonical (realpath'd): no lookups, for callers that ask often. */
bool yv_proc_is_exe_real(pid_t pid, const char *real);
/* True when one of pid's arguments (/proc/PID/cmdline) is exactly arg; false when none is, or
 * when they cannot be read (gone, not ours to look at, more than 256 KiB). */
bool yv_proc_has_arg(pid_t pid, const char *arg);
/* True when pid has exited (gone, or a zombie waiting for its parent to reap it). */
bool yv_proc_exited(pid_t pid);

/* A pidfd for pid (the caller closes it), or -1 with errno: ENOSYS when this system has no pidfds
 * (kernels before 5.3, valgrind), ESRCH when the process is gone. Opened after the caller proved
 * the pid is what it wants, it pins that process: a PID reused since is never signalled. */
int yv_proc_pidfd_open(pid_t pid);
/* Sends sig through pidfd when it is >= 0, else with kill(pid). */
void yv_proc_signal(pid_t pid, int pidfd, int sig);
/* Waits up to ms for the process to exit: its pidfd, or /proc without one (a zombie counts as
 * gone). True once it is gone. */
bool yv_proc_wait_exit(pid_t pid, int pidfd, int64_t ms);

/* Ends a process the caller proved to be its own (pidfd opened after the proof; -1 without pidfds,
 * then the pid is signalled): SIGTERM, up to term_ms to exit, then SIGKILL and up to 5 s more.
 * True once it is gone. */
bool yv_proc_end(pid_t pid, int pidfd, int term_ms);

/* Starts argv (QEMU, without -daemonize) as a daemon and returns as soon as it runs: in a session
 * of its own that it does not lead (out of reach of the terminal's signals, no controlling
 * terminal), with cwd / and umask 027 (as QEMU's -daemonize), not our child (its parent exits at
 * once: no process of ours keeps its zombie), stdin/stdout on /dev/null and stderr the log at
 * log_path (truncated: each start begins it anew), nothing else open, every signal default and
 * none blocked. *pid is its pid, *pidfd a pidfd on it (-1 without pidfds), opened before anyone
 * could reap it: it is this daemon's even when the daemon ended at once. 0, or -1: TOOL_FAILED
 * (not found, cannot execute), IO (the log). */
int yv_proc_daemon(char *const argv[], char *const envp[], const char *log_path, pid_t *pid,
                   int *pidfd, yv_err *err);
/* A daemon that ended while it started: TOOL_FAILED "<prog> failed: <the log's last lines>"; -1. */
int yv_proc_daemon_failed(const char *prog, const char *log_path, yv_err *err);

/* Absolute path of the running executable (malloc'd). */
char *yv_proc_self_exe(void);
/* The folder of the running executable (malloc'd). */
char *yv_proc_self_dir(void);
/* What ships beside the binary (scripts, themes), found in the source tree (also from build/asan/)
 * and under an install prefix: the first of the candidates (paths relative to the folder of the
 * executable, NULL-terminated, each with one %s that becomes name) that access(mode) allows,
 * canonical (malloc'd); NULL when none does. */
char *yv_proc_sibling(const char *const *cands, const char *name, int mode);

/* CPU use and uptime of a running process. The CPU time comes from the process's CPU clock
 * (clock_getcpuclockid: one cheap system call, in ns), the start time from /proc/PID/stat read once
 * (kept open), and its state letter from that file again only when the clock stood still (a
 * process the kernel stopped uses no CPU). The clock is named by PID: the caller drops the sampler
 * when that process ends (the monitor's pidfd tells), before the PID can be reused. Embedded by its
 * user: init (pid 0 = none), done. */
typedef struct {
    pid_t pid;
    int fd;         /* /proc/PID/stat, -1 until the first sample */
    bool has_clock; /* clock is its CPU clock (else ticks from the file) */
    clockid_t clock;
    long long cpu_ns;         /* its CPU time at the previous sample */
    unsigned long long start; /* when it started, in ticks since boot (0 = not read yet) */
    int64_t at;               /* when that was (ms), 0 = no sample yet */
    char state;               /* its state letter when last read (R, S, T…); 0: not read, or it
                                 used CPU since */
} yv_proc_sampler;

void yv_proc_sampler_init(yv_proc_sampler *s, pid_t pid);
void yv_proc_sampler_done(yv_proc_sampler *s);
/* Samples at now_ms: *cpu = % of one core since the previous sample (left as it was on the first),
 * *uptime_s = seconds since the process started. False (nothing changed) once it is gone. */
bool yv_proc_sample(yv_proc_sampler *s, int64_t now_ms, double *cpu, long *uptime_s);
/* Seconds since the process started, from the start time of the first sample: no read. -1 before
 * the first sample. */
long yv_proc_sampler_uptime(const yv_proc_sampler *s);
#endif
