"""Shared helpers of make bench: alternating rounds, timing an exec, min/median/max, the table,
and the clean-up of everything a bench started (on every exit path, Ctrl-C included).

A figure is a list of per-round values of ours and of its baseline, measured in the same round, the
two alternating (A B, B A, A B, ...) so that a drift of the machine's load hits both alike. Its
ratio is computed per round (ours_i / baseline_i) and given as min/median/max. Printed, never
asserted.
"""
import fcntl, glob, os, pty, re, select, shutil, signal, socket, statistics, struct, sys, termios
import time

ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "15")))
DEVNULL = os.open(os.devnull, os.O_RDWR)

_dirs, _pids = [], set()  # temp folders (with their QEMUs) and child processes to end at exit


def tempdir(prefix):
    """A folder under /tmp removed at exit, after every QEMU whose pidfile is in it is killed."""
    import tempfile
    d = tempfile.mkdtemp(prefix=prefix)
    _dirs.append(d)
    return d


def track(pid):
    _pids.add(pid)
    return pid


def untrack(pid):
    _pids.discard(pid)


def _is_qemu(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("qemu-system")
    except OSError:
        return False


def kill_qemus(d):
    """SIGKILL to each QEMU that a pidfile under d names (proven by its exe), and waits for it."""
    for pidf in glob.glob(f"{d}/**/*.pid", recursive=True):
        try:
            pid = int(open(pidf).read().strip())
        except (OSError, ValueError):
            continue
        if not _is_qemu(pid):
            continue
        try:
            fd = os.pidfd_open(pid)
            os.kill(pid, signal.SIGKILL)
            select.select([fd], [], [], 5)
            os.close(fd)
        except OSError:
            pass


def cleanup():
    """Ends our children, the QEMUs of our folders, and removes the folders. Idempotent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave QEMUs behind
    for pid in list(_pids):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
        _pids.discard(pid)
    while _dirs:
        d = _dirs.pop()
        kill_qemus(d)
        shutil.rmtree(d, ignore_errors=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def install_cleanup():
    """SIGTERM and SIGHUP end the bench like Ctrl-C does: through the callers' finally. SIGINT is
    set too: a shell that starts us in the background leaves it ignored."""
    def die(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, die)
    signal.signal(signal.SIGHUP, die)


# ---- timing ----

def spawn(argv, env=None, setsid=False):
    """posix_spawn with stdin/stdout/stderr on /dev/null: the least a parent can add to an exec."""
    fa = [(os.POSIX_SPAWN_DUP2, DEVNULL, 0), (os.POSIX_SPAWN_DUP2, DEVNULL, 1),
          (os.POSIX_SPAWN_DUP2, DEVNULL, 2)]
    return track(os.posix_spawn(argv[0], argv, env if env is not None else os.environ,
                                file_actions=fa, setsid=setsid))


def run(argv, env=None):
    """Runs argv to its end; returns its rusage. A failure stops the bench (a wrong figure is worse
    than none)."""
    pid = spawn(argv, env)
    _, status, ru = os.wait4(pid, 0)
    untrack(pid)
    if os.waitstatus_to_exitcode(status) != 0:
        code = os.waitstatus_to_exitcode(status)
        raise SystemExit(f"bench: {' '.join(argv[:6])} failed ({code})")
    return ru


def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def alternate(n, a, b, inner=1):
    """n rounds of a() and b(), alternating a b, b a, a b, ...; a round runs each inner times and
    keeps the median (of each field when they return tuples or dicts): one value per round each."""
    ra, rb, k = [], [], 0
    for _ in range(n):
        xa, xb = [], []
        for _ in range(inner):
            if k % 2 == 0:
                xa.append(a())
                xb.append(b())
            else:
                xb.append(b())
                xa.append(a())
            k += 1
        ra.append(_median(xa))
        rb.append(_median(xb))
    return ra, rb


def _median(xs):
    if isinstance(xs[0], dict):
        return {key: statistics.median(x[key] for x in xs) for key in xs[0]}
    if isinstance(xs[0], tuple):
        return tuple(statistics.median(x[i] for x in xs) for i in range(len(xs[0])))
    return statistics.median(xs)


def pidfd_wait(fd, timeout=30):
    if not select.select([fd], [], [], timeout)[0]:
        raise SystemExit("bench: a QEMU did not exit")
    os.close(fd)


# ---- QMP (the baselines' in-process client) ----

def qmp(path, cmd, args=None, poll_s=None):
    """One command over a fresh QMP connection: greeting, qmp_capabilities, cmd, its answer (quit
    may close first). poll_s: the socket of a QEMU just started, looked for every poll_s seconds
    until it is there (at most 10 s)."""
    import json
    s = socket.socket(socket.AF_UNIX)
    end = time.monotonic() + 10
    while True:
        try:
            s.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if poll_s is None or time.monotonic() > end:
                raise
            time.sleep(poll_s)
    f = s.makefile("rwb", buffering=0)
    f.readline()
    f.write(b'{"execute":"qmp_capabilities"}\n')
    f.readline()
    msg = {"execute": cmd}
    if args:
        msg["arguments"] = args
    f.write(json.dumps(msg).encode() + b"\n")
    try:
        while True:
            line = f.readline()
            if not line or b'"return"' in line or b'"error"' in line:
                break
    except ConnectionResetError:
        pass
    s.close()


# ---- /proc ----

def task_ns(pid):
    """{tid: ns on a CPU} of every thread of pid (schedstat: ns precision), {tid: timeslices}."""
    ns, runs = {}, {}
    for p in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            f = open(p).read().split()
        except OSError:
            continue  # a thread that ended between the glob and the read
        tid = int(p.split("/")[4])
        ns[tid], runs[tid] = int(f[0]), int(f[2])
    return ns, runs


def delta(before, after):
    """What the threads spent between two task_ns() snapshots (a thread born since counts whole; one
    that ended is lost, so the tick figure, which keeps dead threads, is printed next to it)."""
    return sum(v - before.get(t, 0) for t, v in after.items())


def ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def smaps_kb(pid):
    out = {}
    for line in open(f"/proc/{pid}/smaps_rollup"):
        m = re.match(r"(Rss|Pss):\s+(\d+) kB", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


# ---- figures and the table ----

_rows = []


def fmt(v, unit):
    if unit == "ms":
        return f"{v * 1000:.2f} ms"
    if unit == "%":
        return f"{v:.3f} %"
    if unit == "MiB":
        return f"{v:.2f} MiB"
    return f"{v:.0f} {unit}".strip()


def mmm(xs, f="{:.2f}"):
    return "/".join(f.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def ratio_row(what, ours, base, goal, unit="ms", base_name=""):
    """A figure with a baseline: per-round ratio ours_i/base_i; met when the median ratio <= goal.
    """
    ratios = [o / b for o, b in zip(ours, base)]
    med = statistics.median(ratios)
    row = (what, fmt(statistics.median(ours), unit),
           f"{fmt(statistics.median(base), unit)}{' ' + base_name if base_name else ''}",
           mmm(ratios) + "x", f"<= {goal}x" if goal else "-",
           ("yes" if med <= goal else "NO") if goal else "-")
    _rows.append(row)
    f = "{:.2f}" if unit == "ms" else "{:.0f}"
    print(f"  {what}: ours {mmm([o * 1000 for o in ours] if unit == 'ms' else ours, f)} "
          f"{'ms' if unit == 'ms' else unit}, baseline {base_name or ''} "
          f"{mmm([b * 1000 for b in base] if unit == 'ms' else base, f)}, ratio {row[3]} "
          f"(min/median/max of {len(ratios)} rounds)", flush=True)
    return med


def abs_row(what, values, goal, unit, baseline="-"):
    """A figure with an absolute goal: min/median/max of the values; met when the median <= goal."""
    med = statistics.median(values)
    f = "{:.3f}" if unit == "%" else "{:.2f}"
    row = (what, fmt(med, unit), baseline, mmm(values, f) + f" {unit}",
           f"<= {goal} {unit}" if goal is not None else "-",
           ("yes" if med <= goal else "NO") if goal is not None else "-")
    _rows.append(row)
    print(f"  {what}: {row[3]} (min/median/max of {len(values)})", flush=True)
    return med


def note(what, ours, baseline, spread="", goal="-", met="-"):
    _rows.append((what, ours, baseline, spread, goal, met))


def table():
    head = ("what", "ours (median)", "baseline (median)", "ratio / value min/median/max", "goal",
            "met?")
    w = [max(len(r[i]) for r in _rows + [head]) for i in range(6)]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in _rows:
        print(line(r))
    sys.stdout.flush()


def halting_disk(work):
    """A 64 MiB qcow2 whose boot sector is cli; hlt: the guest is quiet from its first opcode."""
    raw = f"{work}/halt.raw"
    with open(raw, "wb") as f:
        f.write(b"\xfa\xf4\xeb\xfd".ljust(510, b"\0") + b"\x55\xaa")
        f.truncate(64 << 20)
    run(["/usr/bin/qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw,
         f"{work}/halt.qcow2"])
    os.unlink(raw)
    return f"{work}/halt.qcow2"


# ---- a TUI on a pty (bench.py, metrics.py, hosts.py) ----

def pty_spawn(argv, env, rows, cols):
    """Forks argv onto a new rows x cols pty with env; returns (pid, master fd), tracked."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    track(pid)
    return pid, fd


def pty_chunks(fd, seconds):
    """Yields what arrives on the pty, until its end or for seconds."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            yield chunk


def pty_drain(fd, seconds):
    """Reads what arrives for seconds, or to the end (a TUI must never block on its output)."""
    return b"".join(pty_chunks(fd, seconds))


def pty_finish(pid, fd, drain_s=2, wait_s=2):
    """Quits the TUI (q), reads what it still writes, reaps it (SIGKILL after wait_s)."""
    os.write(fd, b"q")
    pty_drain(fd, drain_s)
    for _ in range(int(wait_s / 0.02)):
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    untrack(pid)
    os.close(fd)
