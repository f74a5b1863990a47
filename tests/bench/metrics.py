#!/usr/bin/env python3
"""make bench, the live metrics of issue 20 (spec §15): the TUI's idle CPU with many running VMs
and the metrics columns on, next to the same TUI with them off, measured in the same run.

  tests/bench/metrics.py YAVE_TUI   (tests/bench/run; BENCH_METRICS=0 there skips it)

BENCH_METRICS_VMS (default 50) VMs made by `create --no-network --no-ovmf -c 64 -m 64` (TCG) in a
root under /tmp/yave-bench-metrics.*, each with a copy of a 64 MiB qcow2 whose boot sector is
cli; hlt (quiet from its first opcode), all running. BENCH_METRICS_ROUNDS (default 8) rounds,
each of three TUIs (`--refresh 1`) in turn (the order rotating): on a 200x24 pty, 22 rows drawn
with the RSS, DISK R/W and NET RX/TX columns (each drawn row sampled every second:
/proc/PID/statm, and query-blockstats on the VM's held event socket when its QEMU's CPU rose above
its idle floor, its last disk rate was not 0, or every 10 s) — the figure of the goal;
on an 80x24 pty, the same 22 rows where those columns do not fit and nothing of them is sampled
(the baseline: the list as before; the columns are shown by run/tui.state, as F2 would keep them); and on a 200x60 pty, all 50 rows drawn with metrics. Each is
given BENCH_SETTLE_S (2) s to settle, then measured BENCH_WINDOW_S (4) s: ns on a CPU from
/proc/PID/task/*/schedstat, and the CPU the 50 QEMUs spend in the same window (what the queries
cost them). Goal: <= 0.1 % of a core for the TUI with metrics on. Printed, never asserted. All of
it (QEMUs, TUIs, the folder) is removed on every exit path.
"""
import os, shutil, statistics, subprocess, sys, time

import benchlib as B

BIN = os.path.abspath(sys.argv[1])
N = int(os.environ.get("BENCH_METRICS_VMS", "50"))
R = max(1, int(os.environ.get("BENCH_METRICS_ROUNDS", "8")))
WINDOW = float(os.environ.get("BENCH_WINDOW_S", "4"))
SETTLE = float(os.environ.get("BENCH_SETTLE_S", "2"))
ENV = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
ENV.pop("NO_COLOR", None)









def spawn(root, rows, cols):
    return B.pty_spawn([BIN, "--root", root, "--refresh", "1"], ENV, rows, cols)


drain, finish = B.pty_drain, B.pty_finish


def window(root, qemus, rows, cols):
    """One TUI on a rows x cols pty: (its CPU %, wakeups/s, the QEMUs' CPU %) over WINDOW s."""
    pid, fd = spawn(root, rows, cols)
    shown = drain(fd, SETTLE)
    if cols >= 150 and b"DISK R/W" not in shown:
        print("  warning: the wide TUI shows no DISK R/W column", flush=True)
    snap = lambda: [B.task_ns(p)[0] for p in qemus]
    (ns0, run0), q0, t0 = B.task_ns(pid), snap(), time.perf_counter()
    drain(fd, WINDOW)
    (ns1, run1), q1, t1 = B.task_ns(pid), snap(), time.perf_counter()
    finish(pid, fd)
    secs = t1 - t0
    qpct = sum(B.delta(a, b) for a, b in zip(q0, q1)) / 1e9 / secs * 100
    return B.delta(ns0, ns1) / 1e9 / secs * 100, B.delta(run0, run1) / secs, qpct


def main():
    B.install_cleanup()
    work = B.tempdir("yave-bench-metrics.")
    try:
        print(f"\n== TUI idle with {N} running VMs, metrics columns on (200x60) vs off (80x24), "
              f"1 s refresh: {R} alternating rounds of {SETTLE:g} s settle + {WINDOW:g} s",
              flush=True)
        disk, root = B.halting_disk(work), f"{work}/root"
        os.makedirs(root)
        y = [BIN, "--batch", "--root", root]
        for i in range(1, N + 1):
            name = f"m{i:02d}"
            B.run(y + ["create", "-n", name, "--no-network", "--no-ovmf", "-c", "64", "-m", "64",
                       "-V", "benchpw1"])
            shutil.copyfile(disk, f"{root}/{name}.vm/hd0.qcow2")
            p = subprocess.run(y + ["run", "-n", name], capture_output=True, text=True)
            if p.returncode:
                raise SystemExit(f"bench: run of {name} failed: {p.stderr.strip()}")
        qemus = [int(open(f"{root}/run/m{i:02d}.pid").read()) for i in range(1, N + 1)]
        # the metrics columns are hidden until shown (F2): shown here as a user would keep them
        with open(f"{root}/run/tui.state", "w") as f:
            f.write("columns NAME,STATE,VCPU,MEM,DISK,VNC,NETWORK,ADDRESS,PID,UPTIME,CPU%,RSS,"
                    "DISK R/W,NET RX/TX\n")
        os.chmod(f"{root}/run/tui.state", 0o600)
        time.sleep(5)  # their boot (one opcode to the halt) and the first query-status
        on, off, tall = [], [], []
        kinds = [(24, 200, on), (24, 80, off), (60, 200, tall)]
        for r in range(R):
            for rows, cols, out in kinds[r % 3:] + kinds[:r % 3]:
                out.append(window(root, qemus, rows, cols))
        med = lambda xs, i: statistics.median(x[i] for x in xs)
        B.abs_row(f"TUI idle CPU, {N} running, 22 rows with metrics", [o[0] for o in on], 0.1,
                  "%", baseline=f"metrics off {med(off, 0):.3f} %")
        B.abs_row("  TUI wakeups, 22 rows with metrics", [o[1] for o in on], None, "/s",
                  baseline=f"off {med(off, 1):.2f} /s")
        B.abs_row(f"  CPU of the {N} QEMUs, TUI with metrics", [o[2] for o in on], None, "%",
                  baseline=f"off {med(off, 2):.3f} %")
        B.abs_row(f"  TUI idle CPU, all {N} rows with metrics (200x60)", [o[0] for o in tall],
                  None, "%", baseline=f"metrics off, 22 rows {med(off, 0):.3f} %")
        for i in range(1, N + 1):
            B.run(y + ["shutdown", "-n", f"m{i:02d}", "--force"])
        B.table()
    except KeyboardInterrupt:
        print("\nmake bench: interrupted; its QEMUs, TUIs and folders are removed", flush=True)
        raise SystemExit(130)
    finally:
        B.cleanup()


if __name__ == "__main__":
    main()
