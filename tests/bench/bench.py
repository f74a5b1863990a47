#!/usr/bin/env python3
"""make bench: each figure of issue 16 next to its baseline, measured in the same run, alternating.

  tests/bench/bench.py YAVE_TUI QMPQUIT   (tests/bench/run passes ./yave-tui, build/tools/qmpquit)

BENCH_ROUNDS (default 15) rounds per figure; a round of a timed figure runs ours and its baseline
alternately 3 times (10 for --version) and keeps each one's median, which tames the noise of a
shared machine without hiding it (min/max of the rounds are printed); run and the stops take
BENCH_STOP_ROUNDS (default 40) rounds of BENCH_STOP_INNER (5) samples a side (see STOP_ROUNDS);
BENCH_WINDOW_S (default 4) and BENCH_SETTLE_S (default 2) shape the idle windows. Printed, never
asserted; not part of make check. Every QEMU runs under TCG with 64 MiB, --no-network --no-ovmf, in
roots under /tmp/yave-bench.*; all of it (QEMUs, TUIs, folders) is removed on every exit path.

The figures and their baselines:
 1. `--batch run` until it returns (QMP answers, the VNC password is set) vs a spawn of the argv
    `run --dry-run` prints, without its -S, in a session of its own + one set_password over QMP
    from this process, connected as soon as the socket is there (looked for every millisecond, as
    `run` does). Printed with it, no goal: the same vs that argv with -daemonize (QEMU returns once
    QMP listens), how `run` started QEMU before it daemonized QEMU itself. Also printed, no goal:
    the floor, qmprun (tests/tools/qmprun.c, next to QMPQUIT), a bare C client that spawns the
    same argv with its -S, connects as `run` does and writes qmp_capabilities, set_password and
    cont at once: what any separate program that starts QEMU and sets its password over QMP pays
    (its exec, its exit, cont), next to the baseline, which runs in the bench's own process.
 2. `--batch shutdown --force`, until QEMU has exited (a pidfd opened before), vs (a) qmpquit, a
    bare QMP quit client in C (tests/tools/qmpquit.c), and (b) an exec of /bin/true + a quit over
    QMP from this process, and (c, printed, no goal) `qmpquit -p`, which writes qmp_capabilities and
    quit at once as ours does: (a) is the issue's floor, (c) shows what is left of our own cost.
    Every timed stop (ours too) acts on a QEMU started by that argv, once its guest has halted
    (the disk's boot sector: cli; hlt; about 150 ms after the start here). A stop that lands while
    SeaBIOS still runs waits for QEMU to take the busy vCPU out of its loop, and how long that takes
    depends on the instant it lands: a client that writes quit a millisecond later was charged
    about a millisecond more of QEMU's own work (30 alternating rounds: ours 14.74 vs qmpquit
    12.97 ms right after the start, 12.80 vs 12.15 ms 300 ms later).
 3. The same stop with 19 other VMs running in the root, vs qmpquit. "Flat" is its ratio over the
    ratio of 2: the 20 QEMUs load the machine, so raw times alone would not compare like with like.
 4. `--version` vs /bin/true, exec to exit (posix_spawn + wait4, whose rusage gives page faults).
 5. TUI idle CPU with 20 running VMs at a 1 s refresh: ns on a CPU from /proc/PID/task/*/schedstat
    (utime+stime ticks are 10 ms: 0.017 % over 60 s, too coarse for 0.05 %; printed next to it,
    read from one TUI over one window of BENCH_TICK_WINDOW_S (60) after its settle, not summed
    over the 15 windows: each window's count would be cut to whole ticks at both ends, ~1.6 ticks
    of error in all).
    Windows: BENCH_ROUNDS rounds of [start the TUI, let it settle BENCH_SETTLE_S (start-up is not
    idle), measure BENCH_WINDOW_S, quit it, settle 1 s, measure BENCH_WINDOW_S without it], every
    other round in the opposite order. With the defaults the TUI is measured for 15 x 4 = 60 s,
    and each "with" window has a "without" window next to it, so a slow drift of the machine
    cancels out. The guests halt at once (their disk is a boot sector doing cli; hlt): SeaBIOS's
    retry-boot every 60 s would otherwise land in random windows.
 6. The CPU the TUI adds to the 20 QEMUs: their summed schedstat in each "with" window minus the
    "without" window of the same round, each less the same sum over 20 like QEMUs of a second
    root that no TUI watches, running in the same windows (their load did not move the TUI's own
    figure: 0.0457 % with them running, 0.0465 % with them stopped, 20 alternating rounds of 4 s
    on one TUI, SIGSTOP/SIGCONT). The control is what makes the figure
    mean something: the host moves the CPU of every QEMU together (all 20 from 0.19 to 0.26 % a
    core from one 4 s window to the next), by more than the goal. Over 20 windows without a TUI
    the sum of 20 QEMUs spread 0.50 % (standard deviation), the difference of two sets of 10 in
    the same windows 0.13 %; without the control, 15 rounds gave medians of -0.04 to +0.26 % run
    to run around an effect of a few hundredths (printed, no goal).
 7. Launch to a painted list at 5, 200 and 1,000 defined VMs vs printf of the names to the same
    pty. "Painted" is the same for both: from just before the fork until the name of the last VM
    that the TUI's first screen shows (found by a first launch) has arrived on the pty master; the
    pty is 80x24, set in the child before its exec, for both.
 8. Resident memory of the TUI with 5 running VMs (Rss, Pss of /proc/PID/smaps_rollup), 1 s after
    the paint: "keep" is the issue's 4.8 MB + 10 %; Pss is printed only (the share of a library
    mapped by others depends on what else runs on the machine).
Also: the TUI's wakeups with one VM defined and nothing running, one BENCH_QUIET_S (10) s window
(item 4: none at all). Kept from before: list and status over 1,000 VMs vs a cat of their configs.
"""
import os, re, select, shutil, signal, statistics, subprocess, sys, time

import benchlib as B

BIN, QMPQUIT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
QMPRUN = os.path.join(os.path.dirname(QMPQUIT), "qmprun")
R = B.ROUNDS
WINDOW = float(os.environ.get("BENCH_WINDOW_S", "4"))
SETTLE = float(os.environ.get("BENCH_SETTLE_S", "2"))
QUIET = float(os.environ.get("BENCH_QUIET_S", "10"))
TICK_WINDOW = float(os.environ.get("BENCH_TICK_WINDOW_S", "60"))
ROWS, COLS = 24, 80
# Rounds and samples per round of the start and stop figures. A QEMU's quit takes 9 to 20 ms here
# depending on what its vCPU was doing (ours or the floor alike), and its start 130 to 185 ms: with
# 15 rounds of 3 samples a side one round's ratio ranged 0.6x to 1.5x and the median moved by 0.1x
# from one run of make bench to the next, as wide as the goals' margins; rounds of 5 steady it (the
# issue asks for at least 15 rounds). With 25 a round's ratio of `run` still spread 0.86x-1.15x,
# which leaves its median a standard error of about 1.5 % against a 2 % margin (it read 1.01x-1.03x
# from one run to the next); 40 rounds take it under 1.2 %, for 1.5 minutes more.
STOP_ROUNDS = int(os.environ.get("BENCH_STOP_ROUNDS", str(max(R, 40))))
STOP_INNER = int(os.environ.get("BENCH_STOP_INNER", "5"))
TUI_ENV = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8", YAVE_TUI_PROFILE="1")
TUI_ENV.pop("NO_COLOR", None)
VNCPW = "benchpw1"


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def section(title):
    print(f"\n== {title}", flush=True)


# ---- roots ----

def config_root(work, n, full):
    """A root of n VMs as `create` writes them (no disks: listing and painting need none). full: the
    config make bench listed before (UEFI, a TAP network), else the TUI's (64 MiB, no network)."""
    import hashlib
    root = f"{work}/root{n}{'full' if full else ''}"
    os.makedirs(root + "/run", mode=0o700)
    table = ["table:"]
    for i in range(1, n + 1):
        name = f"vm{i:04d}"
        d = f"{root}/{name}.vm"
        os.mkdir(d, 0o700)
        if full:
            mac = "52:54:" + ":".join(hashlib.md5(name.encode()).hexdigest()[j:j + 2]
                                      for j in range(0, 8, 2))
            hw, net = "  memory: 1024\n  vcpu: 1\n  ovmf: true\n", (
                f"networks:\n  net0:\n    type: tap\n    device:\n      mac: '{mac}'\n")
        else:
            hw, net = "  memory: 64\n  vcpu: 1\n  ovmf: false\n", ""
        with open(f"{d}/config.yaml", "w") as f:
            f.write(f"name: {name}\nhardware:\n{hw}vnc:\n  display: ':{i}'\n"
                    f"  password: 'pw{i:06d}'\ndrives:\n  hd0:\n    path: hd0.qcow2\n"
                    f"    device:\n      type: virtio-blk\n      boot_index: 0\n{net}")
        table.append(f"  ':{i}': {name}")
    with open(f"{root}/vnc_table.yaml", "w") as f:
        f.write("\n".join(table) + "\n")
    return root



def create(root, name, disk):
    B.run([BIN, "--batch", "--root", root, "create", "-n", name, "--no-network", "--no-ovmf",
           "-c", "64", "-m", "64", "-V", VNCPW])
    shutil.copyfile(disk, f"{root}/{name}.vm/hd0.qcow2")


def qemu_pid(root, name):
    return int(open(f"{root}/run/{name}.pid").read())


# ---- the pty ----

def pty_spawn(argv):
    """Forks argv onto a new 80x24 pty; returns (pid, master fd, the time just before the fork)."""
    t0 = time.perf_counter()
    pid, fd = B.pty_spawn(argv, TUI_ENV, ROWS, COLS)
    return pid, fd, t0


pty_chunks = B.pty_chunks  # sort.py uses it as P.pty_chunks


def read_until(fd, needle, timeout=10.0):
    """Reads the pty until needle has arrived; returns the time it did (None: timeout) and all."""
    buf = b""
    for chunk in pty_chunks(fd, timeout):
        buf += chunk
        if needle in buf[-(len(chunk) + len(needle)):]:
            return time.perf_counter(), buf
    return None, buf


def drain(fd, seconds):
    """Reads whatever arrives for seconds, or to the end (the TUI must never block on its
    output)."""
    return b"".join(pty_chunks(fd, seconds))


def finish(pid, fd, quit_key=b"q"):
    """Quits the TUI (or lets the program end), reads to the end, reaps it; returns its output."""
    if quit_key:
        os.write(fd, quit_key)
    out = drain(fd, 5)
    for _ in range(50):
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    B.untrack(pid)
    os.close(fd)
    return out


def tui_argv(root):
    return [BIN, "--root", root, "--refresh", "1"]


# ---- the figures ----

def fig_version():
    section("--version (exec and exit) vs /bin/true; page faults from wait4's rusage")
    def ex(argv):
        t = time.perf_counter()
        ru = B.run(argv)
        return time.perf_counter() - t, ru.ru_minflt + ru.ru_majflt
    ours, base = B.alternate(R, lambda: ex([BIN, "--version"]), lambda: ex(["/bin/true"]), 10)
    B.ratio_row("--version, exec to exit", [o[0] for o in ours], [b[0] for b in base], 1.3,
                base_name="(/bin/true)")
    B.ratio_row("  page faults of --version", [o[1] for o in ours], [b[1] for b in base], None,
                unit="", base_name="(/bin/true)")


def fig_list(work):
    n = int(os.environ.get("BENCH_VMS", "1000"))
    section(f"list/status over {n} VMs vs a cat of the {n} config files")
    root = config_root(work, n, full=True)
    cat = ["/bin/sh", "-c", f"cat {root}/*.vm/config.yaml"]
    for verb in ("list", "status"):
        ours, base = B.alternate(R, lambda: B.timed(B.run, [BIN, "--batch", "--root", root,
                                                             "--json", verb]),
                                 lambda: B.timed(B.run, cat), 3)
        B.ratio_row(f"{verb} --json, {n} VMs", ours, base, None, base_name="(cat)")
    shutil.rmtree(root)


def fig_paint(work):
    section("launch to a painted list vs printf of the names to the same pty (80x24)")
    prof = ""
    for n, goal in ((5, None), (200, 3), (1000, None)):
        root = config_root(work, n, full=False)
        names = [f"vm{i:04d}" for i in range(1, n + 1)]
        pid, fd, _ = pty_spawn(tui_argv(root))  # which names does the first screen show?
        _, first = read_until(fd, b"Quit")  # the key bar is painted after the list
        finish(pid, fd)
        needle = first_screen_needle(first) or names[-1].encode()

        def tui():
            pid, fd, t0 = pty_spawn(tui_argv(root))
            t1, _ = read_until(fd, needle)
            last_out[0] = finish(pid, fd)
            if t1 is None:
                raise SystemExit(f"bench: the TUI never showed {needle.decode()}")
            return t1 - t0

        def printf():
            pid, fd, t0 = pty_spawn(["/usr/bin/printf", "%s\\n", *names])
            t1, _ = read_until(fd, needle)
            finish(pid, fd, quit_key=None)
            return t1 - t0

        last_out = [b""]
        ours, base = B.alternate(R, tui, printf, 3)
        B.ratio_row(f"launch to painted list, {n} VMs (last shown: {needle.decode()})", ours, base,
                    goal, base_name="(printf)")
        if n == 1000:
            m = re.search(rb"yave-tui profile: [^\r\n]*", last_out[0])
            prof = m.group(0).decode() if m else "no profile line"
        shutil.rmtree(root)
    print(f"  frame times at 1000 VMs (YAVE_TUI_PROFILE, last round): {prof}")


def first_screen_needle(out):
    shown = sorted(set(re.findall(rb"vm\d{4}", out)))
    return shown[-1] if shown else None


def settle_guest(pid, window_ms=30, limit_s=3.0):
    """Until the guest of QEMU pid has halted: QEMU used under 2 % of a core over window_ms (its boot
    takes ~150 ms of a core here; a halted one wakes for its timers only), at most limit_s."""
    end = time.monotonic() + limit_s
    last = sum(B.task_ns(pid)[0].values())
    while time.monotonic() < end:
        time.sleep(window_ms / 1000)
        now = sum(B.task_ns(pid)[0].values())
        if now - last < window_ms * 1e6 * 0.02:
            return
        last = now


class Stopper:
    """Starts and stops one VM of a root, ours and by hand, each stop timed until QEMU is gone."""

    def __init__(self, root, name):
        self.y = [BIN, "--batch", "--root", root]
        self.root, self.name = root, name
        # QEMU's own argv: `run` adds -S (it continues the guest once the VNC password is set);
        # someone starting QEMU by hand would not, so the baseline's guest runs at once
        self.argv_s = sh(*self.y, "run", "-n", name, "--dry-run").splitlines()
        self.argv = [a for a in self.argv_s if a != "-S"]
        self.sock = f"{root}/run/{name}.sock"
        self.children = set()  # QEMUs base_start started: ours to reap once they exited

    def ours_start(self):
        return B.timed(B.run, self.y + ["run", "-n", self.name])

    def base_start(self):
        t = time.perf_counter()
        pid = B.spawn(self.argv, setsid=True)
        B.qmp(self.sock, "set_password", {"protocol": "vnc", "password": VNCPW}, poll_s=0.001)
        took = time.perf_counter() - t
        self.children.add(pid)
        return took

    def qmprun_start(self):  # the floor of a separate program: its QEMU is not our child
        return B.timed(B.run, [QMPRUN, self.sock, VNCPW] + self.argv_s)

    def daemonize_start(self):
        t = time.perf_counter()
        B.run(self.argv + ["-daemonize"])
        B.qmp(self.sock, "set_password", {"protocol": "vnc", "password": VNCPW})
        return time.perf_counter() - t

    def _stop(self, how, settle=True):
        pid = qemu_pid(self.root, self.name)
        if settle:
            settle_guest(pid)
        fd = os.pidfd_open(pid)
        t = time.perf_counter()
        how(pid)
        B.pidfd_wait(fd)
        took = time.perf_counter() - t
        if pid in self.children:
            os.waitpid(pid, 0)
            self.children.discard(pid)
            B.untrack(pid)
        for ext in ("sock", "events", "pid"):  # what QEMU stopped by hand may leave
            try:
                os.unlink(f"{self.root}/run/{self.name}.{ext}")
            except FileNotFoundError:
                pass
        return took

    def ours_stop(self, settle=True):
        return self._stop(lambda pid: B.run(self.y + ["shutdown", "-n", self.name, "--force"]),
                          settle)

    def c_stop(self, settle=True):
        return self._stop(lambda pid: B.run([QMPQUIT, self.sock, str(pid)]), settle)

    def cp_stop(self):  # the bare client pipelining as ours does (qmp_capabilities + quit at once)
        return self._stop(lambda pid: B.run([QMPQUIT, "-p", self.sock, str(pid)]))

    def py_stop(self):
        return self._stop(lambda pid: (B.run(["/bin/true"]), B.qmp(self.sock, "quit")))


def fig_runstop(st):
    section("--batch run / shutdown --force of a 64 MiB TCG VM, alone in its root")
    # every timed stop acts on a QEMU started the same way (the baseline's argv, no -S) whose
    # guest has halted (Stopper._stop): a busy vCPU takes longer to stop, by how long depends on
    # the instant the quit lands, which is not the stop's cost
    def ours():
        r = {"run": st.ours_start()}
        st.ours_stop(settle=False)  # not timed
        st.base_start()
        r["stop"] = st.ours_stop()
        return r

    def base():
        r = {"base_run": st.base_start(), "c_stop": st.c_stop()}
        r["daemonize_run"] = st.daemonize_start()
        st.c_stop(settle=False)  # not timed: the stops below act on QEMUs started as the others
        r["qmprun_run"] = st.qmprun_start()
        st.c_stop(settle=False)
        st.base_start()
        r["py_stop"] = st.py_stop()
        st.base_start()
        r["cp_stop"] = st.cp_stop()
        return r

    ra, rb = B.alternate(STOP_ROUNDS, ours, base, STOP_INNER)
    res = {k: [r[k] for r in ra + rb if k in r] for k in ("run", "base_run", "daemonize_run", "stop",
                                                          "c_stop", "py_stop", "cp_stop",
                                                          "qmprun_run")}
    B.ratio_row("--batch run until QMP answers + VNC password set", res["run"], res["base_run"],
                1.02, base_name="(QEMU argv + set_password)")
    B.ratio_row("  same, vs that argv with -daemonize (no goal)", res["run"], res["daemonize_run"],
                None, base_name="(argv -daemonize + set_password)")
    # the floor of any separate program that does what run must (spawn, the three commands,
    # exit), next to the same baseline: the part of run's ratio that is not ours to take
    B.ratio_row("  floor: a bare start client vs the same baseline (no goal)", res["qmprun_run"],
                res["base_run"], None, base_name="(QEMU argv + set_password)")
    B.ratio_row("  same, run vs that bare client (no goal)", res["run"], res["qmprun_run"], None,
                base_name="(qmprun, C)")
    ratio = B.ratio_row("--batch shutdown --force until QEMU exited", res["stop"], res["c_stop"],
                        1.1, base_name="(qmpquit, C)")
    B.ratio_row("  same, vs exec of /bin/true + quit", res["stop"], res["py_stop"], 1.2,
                base_name="(/bin/true + quit)")
    # ours writes qmp_capabilities and quit at once; the floor (qmpquit) waits for each
    # answer: this row is the floor of a client that pipelines too, so what is left is our own cost
    B.ratio_row("  same, vs a pipelining bare client", res["stop"], res["cp_stop"], None,
                base_name="(qmpquit -p, C)")
    return statistics.median(res["stop"]), ratio


def fig_stop20(st, alone_ms, alone_ratio):
    section("shutdown --force with 19 other VMs running in the root")
    def ours():  # started as the baseline's QEMU is (see fig_runstop)
        st.base_start()
        return st.ours_stop()

    def base():
        st.base_start()
        return st.c_stop()

    stop, c_stop = B.alternate(STOP_ROUNDS, ours, base, STOP_INNER)
    res = {"stop": stop, "c_stop": c_stop}
    r20 = B.ratio_row("shutdown --force, 19 other VMs running", res["stop"], res["c_stop"], 1.1,
                      base_name="(qmpquit, C)")
    # the 20 QEMUs load the machine: flatness compares the ratios to the same floor, not raw times
    flat = r20 / alone_ratio
    raw = statistics.median(res["stop"]) / alone_ms
    print(f"  flat in the number of VMs: ratio with 19 others / ratio alone = {flat:.2f}x "
          f"(raw medians: {raw:.2f}x)")
    B.note("  flat: ratio with 19 others / ratio alone", f"{flat:.2f}x", "1.00x",
           f"raw times {raw:.2f}x", "<= 1.1x", "yes" if flat <= 1.1 else "NO")
    syscalls(st)


def syscalls(st):
    """System calls of one forced stop (strace -f -c), when strace is there: information only."""
    if not shutil.which("strace"):
        return
    st.ours_start()
    out = f"{st.root}/strace.out"
    pid = qemu_pid(st.root, st.name)
    fd = os.pidfd_open(pid)
    subprocess.run(["strace", "-f", "-c", "-o", out] + st.y + ["shutdown", "-n", st.name,
                                                                  "--force"],
                   check=True, capture_output=True)
    B.pidfd_wait(fd)
    m = re.search(r"\s(\d+)\s+(\d+\s+)?total", open(out).read())
    print(f"  system calls of one such stop (strace -f -c): {m.group(1) if m else '?'}")


def fig_rss(root):
    section("resident memory of the TUI, 5 running VMs")
    rss, pss = [], []
    for _ in range(R):
        pid, fd, _ = pty_spawn(tui_argv(root))
        read_until(fd, b"Quit")
        drain(fd, 1.0)
        kb = B.smaps_kb(pid)
        finish(pid, fd)
        rss.append(kb["Rss"] / 1024)
        pss.append(kb["Pss"] / 1024)
    B.abs_row("TUI resident memory (Rss), 5 running", rss, round(4.8 * 1.1, 2), "MiB",
              baseline="keep: issue's 4.8 +10 %")
    B.abs_row("  TUI Pss, 5 running", pss, None, "MiB", baseline="issue's 2.6 (shared libs: "
              "depends on the machine)")


def settle_qemus(pids, limit=90):
    """Waits until the QEMUs' summed CPU has calmed down after their boot (two 2 s samples within
    20 % of each other or under 1 % of a core), at most limit s."""
    end, last = time.monotonic() + limit, None
    while time.monotonic() < end:
        a = [B.task_ns(p)[0] for p in pids]
        time.sleep(2)
        b = [B.task_ns(p)[0] for p in pids]
        pct = sum(B.delta(x, y) for x, y in zip(a, b)) / 2e9 * 100
        if pct < 1 or (last is not None and abs(pct - last) <= 0.2 * max(last, 0.01)):
            return pct
        last = pct
    return last


def fig_idle(root, qemus, control):
    n = len(qemus)
    section(f"TUI idle with {n} running VMs at a 1 s refresh: {R} rounds of {SETTLE:g} s settle + "
            f"{WINDOW:g} s with the TUI, {WINDOW:g} s without")
    pct = settle_qemus(qemus + control)
    print(f"  the QEMUs settled at {pct:.2f} % of a core (summed, {len(control)} of them the "
          "control's)", flush=True)
    tui, wake, with_q, without_q, with_c, without_c = [], [], [], [], [], []
    time_sum = 0.0  # the seconds the TUI was measured over

    def qsnap():
        return [B.task_ns(p)[0] for p in qemus + control]

    def qdelta(a, b, secs):  # (the watched QEMUs, the control's), % of a core
        d = [B.delta(x, y) / 1e9 / secs * 100 for x, y in zip(a, b)]
        return sum(d[:n]), sum(d[n:])

    def with_tui():
        nonlocal time_sum
        pid, fd, _ = pty_spawn(tui_argv(root))
        drain(fd, SETTLE)
        (ns0, run0), q0, t0 = B.task_ns(pid), qsnap(), time.perf_counter()
        drain(fd, WINDOW)
        (ns1, run1), q1, t1 = B.task_ns(pid), qsnap(), time.perf_counter()
        finish(pid, fd)
        tui.append(B.delta(ns0, ns1) / 1e9 / (t1 - t0) * 100)
        wake.append(B.delta(run0, run1) / (t1 - t0))
        w, c = qdelta(q0, q1, t1 - t0)
        with_q.append(w)
        with_c.append(c)
        time_sum += t1 - t0
        time.sleep(1)

    def without_tui():
        q0, t0 = qsnap(), time.perf_counter()
        time.sleep(WINDOW)
        q1, t1 = qsnap(), time.perf_counter()
        w, c = qdelta(q0, q1, t1 - t0)
        without_q.append(w)
        without_c.append(c)

    for r in range(R):
        for step in ((with_tui, without_tui) if r % 2 == 0 else (without_tui, with_tui)):
            step()
    B.abs_row(f"TUI idle CPU, {n} running, 1 s refresh ({time_sum:.0f} s)", tui, 0.05, "%",
              baseline="- (absolute goal)")
    tick_window(root)
    B.abs_row("  TUI wakeups (schedstat timeslices)", wake, None, "/s")
    added = [(w - wc) - (o - oc) for w, wc, o, oc in zip(with_q, with_c, without_q, without_c)]
    B.abs_row(f"CPU the TUI adds to the {n} QEMUs (less a control of {len(control)})", added, 0.2,
              "%", baseline=f"QEMUs alone {statistics.median(without_q):.3f} %")
    B.abs_row("  same, without the control (no goal)",
              [w - o for w, o in zip(with_q, without_q)], None, "%")


def tick_window(root):
    """The issue's own reading of the idle figure: one TUI's utime+stime over one window of
    TICK_WINDOW s after it settled (whole ticks at both ends: the resolution printed), with the
    schedstat ns of the same window next to it."""
    pid, fd, _ = pty_spawn(tui_argv(root))
    drain(fd, SETTLE)
    tk0, ns0, t0 = B.ticks(pid), B.task_ns(pid)[0], time.perf_counter()
    drain(fd, TICK_WINDOW)
    tk1, ns1, t1 = B.ticks(pid), B.task_ns(pid)[0], time.perf_counter()
    finish(pid, fd)
    hz = os.sysconf("SC_CLK_TCK")
    pct = (tk1 - tk0) / hz / (t1 - t0) * 100
    print(f"  same from utime+stime ticks, one {t1 - t0:.0f} s window: {pct:.3f} % "
          f"(resolution {100 / hz / (t1 - t0):.3f} %; schedstat of that window "
          f"{B.delta(ns0, ns1) / 1e9 / (t1 - t0) * 100:.3f} %)", flush=True)
    B.note(f"  same from utime+stime ticks, one {t1 - t0:.0f} s window", f"{pct:.3f} %", "-", "",
           "<= 0.05 %", "yes" if pct <= 0.05 else "NO")


def fig_quiet(root):
    """Item 4 of the issue: nothing running and nothing changing, the TUI should not wake at all."""
    section(f"TUI with nothing running: one {QUIET:g} s window after {SETTLE:g} s")
    pid, fd, _ = pty_spawn(tui_argv(root))
    drain(fd, SETTLE)
    (ns0, run0), t0 = B.task_ns(pid), time.perf_counter()
    drain(fd, QUIET)
    (ns1, run1), t1 = B.task_ns(pid), time.perf_counter()
    finish(pid, fd)
    cpu, wake = B.delta(ns0, ns1) / 1e9 / (t1 - t0) * 100, B.delta(run0, run1) / (t1 - t0)
    print(f"  CPU {cpu:.4f} % of a core, {wake:.2f} wakeups/s", flush=True)
    B.note("TUI wakeups, nothing running", f"{wake:.2f} /s", "-", f"CPU {cpu:.4f} %", "0 /s",
           "yes" if wake == 0 else "NO")


def control_start(work, disk, n):
    """n running VMs in a root of their own that no TUI watches: fig_idle's control. [(root, name)]"""
    root = f"{work}/rootctl"
    os.makedirs(root)
    names = [f"ctl{i:02d}" for i in range(n)]
    for name in names:
        create(root, name, disk)
        B.run([BIN, "--batch", "--root", root, "run", "-n", name])
    return [(root, name) for name in names]


def control_stop(ctl):
    for root, name in ctl:
        B.run([BIN, "--batch", "--root", root, "shutdown", "-n", name, "--force"])


def fig_running(work):
    disk = B.halting_disk(work)
    root = f"{work}/rootrun"
    os.makedirs(root)
    create(root, "b1", disk)
    st = Stopper(root, "b1")
    fig_quiet(root)
    alone = fig_runstop(st)
    others = [f"vm{i:02d}" for i in range(1, 20)]
    for name in others:
        create(root, name, disk)
    for name in others[:4]:
        B.run(st.y + ["run", "-n", name])
    st.ours_start()
    time.sleep(2)
    fig_rss(root)
    for name in others[4:]:
        B.run(st.y + ["run", "-n", name])
    ctl = control_start(work, disk, len(others) + 1)
    fig_idle(root, [qemu_pid(root, n) for n in others + ["b1"]], [qemu_pid(*c) for c in ctl])
    control_stop(ctl)
    B.run(st.y + ["shutdown", "-n", "b1", "--force"])
    fig_stop20(st, *alone)
    for name in others:
        B.run(st.y + ["shutdown", "-n", name, "--force"])


def main():
    B.install_cleanup()
    work = B.tempdir("yave-bench.")
    t = time.monotonic()
    try:
        print(f"make bench: {R} alternating rounds per figure; ratios are ours/baseline per round, "
              "min/median/max; printed, never asserted", flush=True)
        fig_version()
        fig_list(work)
        fig_paint(work)
        fig_running(work)
        section(f"summary ({time.monotonic() - t:.0f} s)")
        B.table()
    except KeyboardInterrupt:
        print("\nmake bench: interrupted; its QEMUs, TUIs and folders are removed", flush=True)
        raise SystemExit(130)
    finally:
        B.cleanup()


if __name__ == "__main__":
    main()
