#!/usr/bin/env python3
"""make bench, the screen view (issue 18, spec §12): what the view costs, next to the list in the
same run.

  tests/bench/view.py YAVE_TUI QMPQUIT   (tests/bench/run)

1. Render time of one full 1024x768 frame into 80x24 and 200x60 cells (goal < 5 ms): printed by
   build/tools/picbench (widgets/picture.c alone, libchafa as the TUI loads it).
2. The TUI on a pty (80x24, xterm-256color) showing one VM's screen with `v`, BENCH_ROUNDS rounds
   of [the view for BENCH_WINDOW_S, then the list (Ctrl-]) for as long], each after a settle of 1 s:
   the CPU of the TUI (ns on a CPU of all its threads, /proc/PID/task/*/schedstat) and the bytes it
   wrote to the terminal per second (what an SSH link would carry). Two guests: an idle screen
   (SeaBIOS's text, then a boot sector that hides the text cursor and halts: goal ~0 CPU), the same
   with the cursor blinking (two small updates a second), and a guest scrolling text (a
   boot sector printing a line through the BIOS at every timer tick, ~18 lines a second, each
   line shifted against the one above, so a scroll changes every row).
Printed, never asserted.
"""
import os, statistics, subprocess, sys, time

import benchlib as B
import bench as M

R = B.ROUNDS
WINDOW = float(os.environ.get("BENCH_WINDOW_S", "4"))

# A line at every timer tick (~18 a second), each one starting one character further into the
# text (the 40th wraps), so every line differs from the one above it and a scroll changes the
# whole screen: xor ax,ax; mov ds,ax; xor di,di; line: lea si,[di+msg]; next: lodsb; test al,al;
# jz eol; mov ah,0x0e; xor bx,bx; int 0x10; jmp next; eol: inc di; cmp di,40; jb tick;
# xor di,di; tick: sti; hlt; jmp line; msg: ... CR LF NUL
SCROLL = (bytes.fromhex("31c08ed831ff8db5237cac84c07408b40e31dbcd10ebf34783ff28720231fffbf4ebe3")
          + b"yave-bench scrolling: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ\r\n\0")
HALT = bytes.fromhex("b401b90020cd10faf4ebfd")


def boot_disk(work, name, code):
    raw = f"{work}/{name}.raw"
    with open(raw, "wb") as f:
        f.write(code.ljust(510, b"\0") + b"\x55\xaa")
        f.truncate(64 << 20)
    M.sh("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, f"{work}/{name}.qcow2")
    os.unlink(raw)
    return f"{work}/{name}.qcow2"


def fig_render():
    M.section("render of one full 1024x768 frame into cells (widgets/picture.c + libchafa)")
    tool = os.path.join(os.path.dirname(os.path.abspath(M.BIN)), "build/tools/picbench")
    if not os.access(tool, os.X_OK):
        print(f"  {tool} not built: skipped")
        return
    out = subprocess.run([tool], capture_output=True, text=True).stdout
    print("  " + out.strip().replace("\n", "\n  "))
    B.note("render 1024x768 into cells (picbench)", "see above", "-", "", "< 5 ms")


def window(pid, fd):
    """(CPU % of one core, bytes a second to the terminal) over one WINDOW."""
    before = B.task_ns(pid)[0]
    t = time.monotonic()
    n = len(M.drain(fd, WINDOW))
    secs = time.monotonic() - t
    return B.delta(before, B.task_ns(pid)[0]) / 1e9 / secs * 100, n / secs


def fig_view(work, label, disk, goal):
    root = f"{work}/view-{label}"
    os.makedirs(root + "/run", mode=0o700)
    M.create(root, "w1", disk)
    B.run([M.BIN, "--batch", "--root", root, "run", "-n", "w1"])
    time.sleep(3)  # SeaBIOS has painted and the boot sector runs
    pid, fd, _ = M.pty_spawn(M.tui_argv(root))
    if M.read_until(fd, b"Quit")[0] is None:
        raise SystemExit("bench: the TUI never painted its list")
    view_cpu, view_bytes, list_cpu, list_bytes = [], [], [], []
    for _ in range(R):
        os.write(fd, b"v")
        if M.read_until(fd, b"live ")[0] is None:
            raise SystemExit("bench: the view never showed a live picture")
        M.drain(fd, 1)
        c, b = window(pid, fd)
        view_cpu.append(c), view_bytes.append(b)
        os.write(fd, b"\x1d")
        M.read_until(fd, b"Quit")
        M.drain(fd, 1)
        c, b = window(pid, fd)
        list_cpu.append(c), list_bytes.append(b)
    M.finish(pid, fd)
    B.run([M.BIN, "--batch", "--root", root, "shutdown", "-n", "w1", "--force"])
    base = f"list {statistics.median(list_cpu):.3f} %"
    B.abs_row(f"TUI CPU, the view of {label}", view_cpu, goal, "%", baseline=base)
    B.abs_row(f"  bytes/s to the terminal, view of {label}", view_bytes, None, "B/s",
              baseline=f"list {statistics.median(list_bytes):.0f} B/s")


def main():
    B.install_cleanup()
    work = B.tempdir("yave-bench-view.")
    try:
        fig_render()
        M.section(f"the screen view on a pty, {R} rounds of {WINDOW:.0f} s view / {WINDOW:.0f} s list")
        fig_view(work, "an idle screen", boot_disk(work, "halt", HALT), 0.05)
        fig_view(work, "a blinking cursor", boot_disk(work, "blink", b"\xfa\xf4\xeb\xfd"), None)
        fig_view(work, "a guest scrolling text", boot_disk(work, "scroll", SCROLL), None)
        M.section("summary (view)")
        B.table()
    finally:
        B.cleanup()


if __name__ == "__main__":
    main()
