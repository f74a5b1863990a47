#!/usr/bin/env python3
"""make bench: the TUI — launch to a painted list, frame time, idle CPU, resident memory.

Goals (issue 6; nEMU on this machine: 0.13 % idle CPU with 5 running VMs, 12 ms to a painted list,
7.8 MB resident): idle <= 0.2 % of a core with 20 running VMs at a 1 s refresh; painted list <= 10 ms
with 5 VMs and <= 50 ms with 1,000; a frame < 2 ms at 1,000 VMs; RSS < 8 MB at 5 VMs, < 16 MB at 1,000.
Printed, never asserted.
"""
import os, pty, select, signal, subprocess, sys, tempfile, time, hashlib

BIN = sys.argv[1]
IDLE_S = float(os.environ.get("BENCH_IDLE_S", "60"))
NRUN = int(os.environ.get("BENCH_TUI_VMS", "20"))


def make_root(n, disks=False):
    root = tempfile.mkdtemp(prefix="yave-bench-tui.")
    os.makedirs(root + "/run", mode=0o700)
    for i in range(1, n + 1):
        name = f"vm{i:04d}"
        d = f"{root}/{name}.vm"
        os.mkdir(d, 0o700)
        with open(f"{d}/config.yaml", "w") as f:
            f.write(f"name: {name}\nhardware:\n  memory: 64\n  vcpu: 1\n  ovmf: false\n"
                    f"vnc:\n  display: ':{i + 100}'\n  password: 'pw{i:06d}'\n"
                    f"drives:\n  hd0:\n    path: hd0.qcow2\n    device:\n      type: virtio-blk\n"
                    f"      boot_index: 0\n")
        if disks:
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", f"{d}/hd0.qcow2", "64M"],
                           check=True)
    return root


def spawn(root, env_extra=None):
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8", YAVE_TUI_PROFILE="1")
    env.pop("NO_COLOR", None)
    if env_extra:
        env.update(env_extra)
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(BIN, [BIN, "--root", root], env)
    return pid, fd, t0


def read_until(fd, needle, timeout=5.0):
    buf, end = b"", time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
            if needle in buf:
                return time.perf_counter(), buf
    return None, buf


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def quit_tui(pid, fd):
    os.write(fd, b"q")
    out = b""
    end = time.time() + 5
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return out


def painted(root, runs=15):
    times, rss, prof = [], 0, b""
    for _ in range(runs):
        pid, fd, t0 = spawn(root)
        t1, _ = read_until(fd, b"Quit")
        if t1:
            times.append((t1 - t0) * 1000)
        time.sleep(0.2)
        rss = rss_kb(pid)
        out = quit_tui(pid, fd)
        for line in out.split(b"\n"):
            if b"yave-tui profile" in line:
                prof = line[line.index(b"yave-tui profile"):].strip()
    times.sort()
    return times[len(times) // 2], rss, prof.decode(errors="replace")


def main():
    print("== TUI")
    r5 = make_root(5)
    ms5, rss5, _ = painted(r5)
    r1000 = make_root(1000)
    ms1000, rss1000, prof1000 = painted(r1000, runs=7)
    print(f"launch to painted list, 5 VMs      {ms5:7.1f} ms   goal <= 10   (nEMU 12)")
    print(f"launch to painted list, 1000 VMs   {ms1000:7.1f} ms   goal <= 50")
    print(f"frame at 1000 VMs                  {prof1000}   goal < 2000 us")
    print(f"resident, 5 VMs                    {rss5/1024:7.1f} MB   goal < 8   (nEMU 7.8)")
    print(f"resident, 1000 VMs                 {rss1000/1024:7.1f} MB   goal < 16")
    subprocess.run(["rm", "-rf", r5, r1000])

    root = make_root(NRUN, disks=True)
    started = []
    for i in range(1, NRUN + 1):
        p = subprocess.run([BIN, "--batch", "--root", root, "run", "-n", f"vm{i:04d}"],
                           capture_output=True)
        if p.returncode == 0:
            started.append(f"vm{i:04d}")
    time.sleep(3)  # let the guests' firmware settle
    pid, fd, _ = spawn(root)
    read_until(fd, b"Quit")
    time.sleep(2)
    c0, t0 = cpu_ticks(pid), time.time()
    end = t0 + IDLE_S
    while time.time() < end:  # drain the pty so the TUI never blocks on output
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            os.read(fd, 65536)
    c1, t1 = cpu_ticks(pid), time.time()
    pct = (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0) * 100
    print(f"idle CPU, {len(started)} running VMs, {IDLE_S:.0f} s     {pct:7.3f} %    goal <= 0.2  (nEMU 0.13 at 5)")
    quit_tui(pid, fd)
    for name in started:
        subprocess.run([BIN, "--batch", "--root", root, "shutdown", "-n", name, "--force"],
                       capture_output=True)
    subprocess.run(["rm", "-rf", root])


main()
