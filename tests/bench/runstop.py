#!/usr/bin/env python3
"""make bench: `run` and `shutdown --force` against QEMU driven by hand, in the same run.

Baselines (each also pays one exec of /bin/true, the floor of any command-line tool):
  start: exec the argv that `run --dry-run` prints, then one QMP set_password;
  stop:  a bare QMP quit, then wait for the process to exit (pidfd).
Printed, never asserted.
"""
import json, os, select, socket, statistics, subprocess, sys, tempfile, time

BIN = sys.argv[1]
RUNS = int(os.environ.get("BENCH_RUNS", "10"))


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def qmp(sock_path, cmd, args=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    f = s.makefile("rwb", buffering=0)
    f.readline()  # greeting
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


def wait_gone(pid):
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    select.select([fd], [], [], 10)
    os.close(fd)


def main():
    root = tempfile.mkdtemp(prefix="yave-bench-run.")
    env = dict(os.environ)
    y = [BIN, "--batch", "--root", root]
    sh(*y, "create", "-n", "b1", "--no-network", "--no-ovmf", "-c", "64", "-m", "64",
       "-V", "benchpw1")
    argv = sh(*y, "run", "-n", "b1", "--dry-run").splitlines()
    sock, pidf = f"{root}/run/b1.sock", f"{root}/run/b1.pid"
    ours_start, ours_stop, base_start, base_stop = [], [], [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run(y + ["run", "-n", "b1"], check=True, capture_output=True)
        ours_start.append(time.perf_counter() - t)
        pid = int(open(pidf).read())
        t = time.perf_counter()
        subprocess.run(y + ["shutdown", "-n", "b1", "--force"], check=True, capture_output=True)
        ours_stop.append(time.perf_counter() - t)
        wait_gone(pid)

        t = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        qmp(sock, "set_password", {"protocol": "vnc", "password": "benchpw1"})
        subprocess.run(["/bin/true"], check=True)
        base_start.append(time.perf_counter() - t)
        pid = int(open(pidf).read())
        t = time.perf_counter()
        qmp(sock, "quit")
        wait_gone(pid)
        subprocess.run(["/bin/true"], check=True)
        base_stop.append(time.perf_counter() - t)
        for p in (sock, pidf):
            if os.path.exists(p):
                os.unlink(p)
    subprocess.run(y + ["delete", "-n", "b1", "--force"], capture_output=True)
    subprocess.run(["rm", "-rf", root])
    med = statistics.median
    print(f"== run / shutdown --force of a 64 MiB TCG VM ({RUNS} runs, medians)")
    print(f"{'':<22} {'yave':>10} {'baseline':>10} {'ratio':>7}  goal")
    print(f"{'start (run)':<22} {med(ours_start)*1000:>8.1f}ms {med(base_start)*1000:>8.1f}ms "
          f"{med(ours_start)/med(base_start):>6.2f}x  <= 1.10")
    print(f"{'stop (shutdown -f)':<22} {med(ours_stop)*1000:>8.1f}ms {med(base_stop)*1000:>8.1f}ms "
          f"{med(ours_stop)/med(base_stop):>6.2f}x  <= 1.5")


main()
