#!/usr/bin/env python3
"""make bench, the sorted list (issue 20, spec §15): frame time of the list at 1,000 rows with a
sort on, each figure next to a baseline measured in the same run, alternating.

  tests/bench/sort.py YAVE_TUI   (tests/bench/run; BENCH_SORT=0 there skips it)

A root of 1,000 stopped VMs (configs only, as bench.py's fig_paint makes them) whose memory sizes
are all different and unrelated to their names (64 + i*389 mod 1000 MiB), run/tui.state saying
`sort MEM desc`; 80x24 pty, TERM=xterm-256color, C.UTF-8. BENCH_ROUNDS (default 15) rounds per
figure, ratios per round as min/median/max. Printed, never asserted; not part of make check.
 0. Launch to the painted list, sorted (every VM's config is read for it: the list unsorted reads
    only the configs of the rows shown) vs printf of the 1,000 names to the same kind of pty,
    as bench.py's fig_paint does for the list unsorted.
 1. Key to frame: in one running TUI, `I` inverts the sort; the time from the key written to the
    pty until the frame with the header's new arrow arrives (the whole list sorted again, the
    screen's rows drawn; a frame is one write) vs an exec of printf writing the 22 names of a screen to the same kind of pty
    until its last name arrived.
 2. Key to frame: j or k (the selection moves down, up) to the first byte of its frame, in a TUI
    sorted by MEM vs one of the same list without a sort (the model's order), both running, 5
    keys a round each: the ratio is what sorting 1,000 rows every frame costs. The TUIs'
    YAVE_TUI_PROFILE lines (draw_avg_us over every frame, the first too) are printed after.
"""
import os, re, shutil, sys, time

BIN = os.path.abspath(sys.argv[1])
sys.argv = [sys.argv[0], BIN, "/bin/true"]  # bench.py reads its two arguments when imported
import bench as P  # noqa: E402  (the pty helpers and the 1,000-VM root)
import benchlib as B  # noqa: E402

R = B.ROUNDS
N = 1000


def mem_of(i):
    return 64 + (i * 389) % 1000


def sorted_root(work, sort):
    """bench.py's root of N VMs, memory sizes all different; run/tui.state says `sort` (or none)."""
    root = P.config_root(work, N, full=False)
    for i in range(1, N + 1):
        path = f"{root}/vm{i:04d}.vm/config.yaml"
        with open(path) as f:
            text = f.read().replace("  memory: 64\n", f"  memory: {mem_of(i)}\n")
        with open(path, "w") as f:
            f.write(text)
    if sort:
        fd = os.open(f"{root}/run/tui.state", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, f"sort {sort}\n".encode())
        os.close(fd)
    return root


def by_mem(desc):
    names = sorted(range(1, N + 1), key=mem_of, reverse=desc)
    return [f"vm{i:04d}" for i in names]


def fig_launch(work):
    P.section(f"launch to a painted list sorted by MEM, {N} VMs, vs printf of the names (80x24)")
    root = sorted_root(work, "MEM desc")
    names = [f"vm{i:04d}" for i in range(1, N + 1)]
    first = by_mem(True)[0].encode()  # the first row: every config read to know it

    def tui():
        pid, fd, t0 = P.pty_spawn(P.tui_argv(root))
        t1, _ = P.read_until(fd, first)
        P.finish(pid, fd)
        if t1 is None:
            raise SystemExit(f"bench: the sorted TUI never showed {first.decode()}")
        return t1 - t0

    def printf():
        pid, fd, t0 = P.pty_spawn(["/usr/bin/printf", "%s\\n", *names])
        t1, _ = P.read_until(fd, names[-1].encode())
        P.finish(pid, fd, quit_key=None)
        return t1 - t0

    o, b = B.alternate(R, tui, printf)
    B.ratio_row(f"launch to painted sorted list, {N} VMs", o, b, None, base_name="(printf)")
    shutil.rmtree(root)


def fig_key(work):
    P.section(f"key I (invert the sort) to the new first row, {N} VMs sorted by MEM, vs printf "
              "of a screen's names (80x24)")
    root = sorted_root(work, "MEM desc")
    desc = by_mem(True)
    pid, fd, _ = P.pty_spawn(P.tui_argv(root))
    t, _ = P.read_until(fd, desc[0].encode())
    if t is None:
        raise SystemExit(f"bench: the sorted TUI never showed {desc[0]} first")
    P.drain(fd, 0.3)
    state = {"desc": True}

    def ours():
        # the header's new arrow: a frame is one write of the TUI (tui/app.c), the rows come in
        # it (a name would not do: the selection stays on its VM, so the same rows show reversed,
        # and curses writes only the characters of a line that changed)
        want = ("▲" if state["desc"] else "▼").encode()
        t0 = time.perf_counter()
        os.write(fd, b"I")
        t1, _ = P.read_until(fd, want)
        if t1 is None:
            raise SystemExit(f"bench: I never turned the arrow to {want.decode()}")
        state["desc"] = not state["desc"]
        P.drain(fd, 0.05)  # the rest of the frame, before the next key
        return t1 - t0

    screen = desc[:22]

    def printf():
        p, f, t0 = P.pty_spawn(["/usr/bin/printf", "%s\\n", *screen])
        t1, _ = P.read_until(f, screen[-1].encode())
        P.finish(p, f, quit_key=None)
        return t1 - t0

    try:
        o, b = B.alternate(R, ours, printf, 3)
        B.ratio_row(f"key to a re-sorted frame, {N} VMs", o, b, None, base_name="(printf)")
    finally:
        P.finish(pid, fd)
    shutil.rmtree(root)


def first_output(fd, key):
    """Writes key to the TUI's pty; the time until its frame starts arriving (a frame is one
    write), then the rest of it drained."""
    t0 = time.perf_counter()
    os.write(fd, key)
    for _ in P.pty_chunks(fd, 10):
        t1 = time.perf_counter()
        P.drain(fd, 0.03)
        return t1 - t0
    raise SystemExit(f"bench: no frame after {key!r}")


def fig_move(work):
    P.section(f"j/k (the selection moves) to its frame, {N} VMs: sorted by MEM vs unsorted")
    tuis = []
    for sub, sort in (("s", "MEM desc"), ("u", None)):
        pid, fd, _ = P.pty_spawn(P.tui_argv(sorted_root(f"{work}/{sub}", sort)))
        tuis.append((pid, fd, [0]))
        if P.read_until(fd, b"Quit")[0] is None:
            raise SystemExit("bench: the TUI never painted its key bar")
        P.drain(fd, 0.3)

    def move(t):
        t[2][0] += 1
        return first_output(t[1], b"j" if t[2][0] % 2 else b"k")

    try:
        o, b = B.alternate(R, lambda: move(tuis[0]), lambda: move(tuis[1]), 5)
        B.ratio_row(f"key to frame, {N} VMs sorted", o, b, None, base_name="(unsorted)")
    finally:
        out = [P.finish(pid, fd) for pid, fd, _ in tuis]
    for what, o in zip(("sorted", "unsorted"), out):
        m = re.search(rb"yave-tui profile: [^\r\n]*", o)
        print(f"  {what}, YAVE_TUI_PROFILE (every frame, the first too): "
              f"{m.group(0).decode() if m else 'no profile line'}")


def main():
    B.install_cleanup()
    work = B.tempdir("yave-bench-sort.")
    os.makedirs(f"{work}/s")
    os.makedirs(f"{work}/u")
    try:
        fig_launch(work)
        fig_key(work)
        fig_move(work)
        P.section(f"summary (the sorted list, {R} rounds)")
        B.table()
    finally:
        B.cleanup()


if __name__ == "__main__":
    main()
