#!/usr/bin/env python3
"""make bench with BENCH_GUEST=1: time from `run` to a working `ssh … true` on the test guest,
next to the same guest started by hand with QEMU's own argv.

The guest is the Debian image of tests/fixtures/make-cloud-guest.sh (openssh-server, sshd host keys
made by cloud-init on the first boot), created once from a preset with `--network user` (the
default SSH forward) and `--ssh-key` (a key made here). Both sides then boot that same installed
disk (a second boot: no cloud-init first-boot work), alternating, BENCH_GUEST_RUNS rounds
(default 2):
  ours:     `--batch run --name VM`, then `ssh --print`'s argv + `true` every 0.5 s until it works
            (the first attempt starts when run returns; -o ConnectTimeout=2)
  by hand:  the argv `run --dry-run` prints without -S (QEMU starts the guest at once), in a
            session of its own, run files moved to a scratch folder; its `-netdev
            user,…,hostfwd=tcp:127.0.0.1:PORT-:22` is the VM's own SSH forward, or added when the
            VM has none (a build without user networks); then the same ssh loop on that port.
Both clocks stop when `ssh … true` exits 0. The guest's boot under TCG varies by seconds between
two boots, so the rounds are printed one by one with their median. Printed, never asserted.
ssh runs with -F /dev/null, the key, and a temporary known_hosts (HostKeyAlias as ours gives it).

  tests/bench/guest.py BIN
"""
import json, os, signal, shutil, socket, statistics, subprocess, sys, tempfile, time

BIN = os.path.abspath(sys.argv[1])
RUNS = int(os.environ.get("BENCH_GUEST_RUNS", "2"))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEM, CAP, WAIT = "512", "3072", 600
NAME = "bguest"


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def yv(root, *args):
    return sh(BIN, "--batch", "--root", root, *args)


def ssh_opts(work):
    return ["-F", "/dev/null", "-i", f"{work}/key", "-o", "IdentitiesOnly=yes", "-o",
            "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "-o",
            f"UserKnownHostsFile={work}/known_hosts", "-o", "StrictHostKeyChecking=accept-new"]


def wait_ssh(argv, t0):
    """Runs argv until it exits 0; seconds since t0."""
    while time.monotonic() - t0 < WAIT:
        if subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=30).returncode == 0:
            return time.monotonic() - t0
        time.sleep(0.5)
    raise SystemExit(f"no ssh within {WAIT} s: {' '.join(argv)}")


def with_opts(words, work):
    """ssh --print's words with the bench's options in front of `--`, and `true` at the end."""
    return [words[0]] + ssh_opts(work) + words[1:] + ["true"]


def ours(root, work):
    t0 = time.monotonic()
    yv(root, "run", "--name", NAME)
    words = yv(root, "ssh", "--name", NAME, "--print").split()
    took = wait_ssh(with_opts(words, work), t0)
    # a clean power-off (not timed): a forced stop right after the boot can leave the new SSH host
    # keys empty on the disk, and the next boot's sshd refuses to start
    yv(root, "shutdown", "--name", NAME, "--timeout", "120")
    return took, words


def by_hand(root, work, words):
    base = tempfile.mkdtemp(prefix="hand-", dir=work)
    argv = [a.replace(f"{root}/run/{NAME}.", f"{base}/{NAME}.")
            .replace(f"{root}/{NAME}.vm/serial.log", f"{base}/serial.log")
            for a in yv(root, "run", "--name", NAME, "--dry-run").splitlines() if a != "-S"]
    port = words[words.index("-p") + 1] if "-p" in words else "2299"
    if not any("hostfwd=" in a for a in argv):
        argv += ["-netdev", f"user,id=bench0,hostfwd=tcp:127.0.0.1:{port}-:22", "-device",
                 "virtio-net-pci,netdev=bench0"]
    alias = next((w for w in words if w.startswith("HostKeyAlias=")), "HostKeyAlias=bench")
    t0 = time.monotonic()
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    took = wait_ssh(["ssh"] + ssh_opts(work) + ["-o", alias, "-p", port, "-l", "root", "--",
                                                "127.0.0.1", "true"], t0)
    powerdown(f"{base}/{NAME}.sock")  # clean, as ours (not timed)
    try:
        qemu.wait(timeout=120)
    except subprocess.TimeoutExpired:
        qemu.kill()
        qemu.wait()
    shutil.rmtree(base)
    return took


def powerdown(sock):
    """QMP system_powerdown (the ACPI power button)."""
    with socket.socket(socket.AF_UNIX) as c:
        c.settimeout(10)
        c.connect(sock)
        f = c.makefile("rwb")
        f.readline()
        for cmd in ("qmp_capabilities", "system_powerdown"):
            f.write(json.dumps({"execute": cmd}).encode() + b"\n")
            f.flush()
            while "return" not in json.loads(f.readline()):
                pass


def setup(work):
    root = f"{work}/root"
    os.makedirs(f"{root}/debian.preset")
    r = subprocess.run([f"{REPO}/tests/fixtures/make-cloud-guest.sh",
                        f"{root}/debian.preset/guest.qcow2"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"  skipped: make-cloud-guest.sh failed: {r.stderr.strip()[-400:]}")
    with open(f"{root}/debian.preset/config.yaml", "w") as f:
        f.write("cloudimg: guest.qcow2\n")
    with open(f"{work}/rootpw", "w") as f:
        f.write("Bench-Guest-1\n")
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{work}/key")
    user_net = "--network" in sh(BIN, "--batch", "create", "--help")
    yv(root, "create", "--name", NAME, "--preset", "debian", "--root-password-file",
       f"{work}/rootpw", "--vnc-password", "benchvnc", "--ssh-key", f"{work}/key.pub",
       "--no-ovmf", "-m", MEM, "-c", CAP, *(["--network", "user"] if user_net else
                                           ["--no-network"]))
    return root, user_net


def main():
    print()
    print(f"== run to a working `ssh … true` on the test guest (-m {MEM}), vs QEMU by hand with "
          "-netdev user,hostfwd=…")
    work = tempfile.mkdtemp(prefix="yave-bench-guest.")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # the cleanup below runs
        signal.signal(sig, lambda *_: sys.exit(130))
    try:
        root, user_net = setup(work)
        rows = []
        for _ in range(RUNS):
            if user_net:
                o, words = ours(root, work)
            else:
                o, words = None, ["ssh", "-p", "2299"]
            rows.append((o, by_hand(root, work, words)))
        for i, (o, b) in enumerate(rows):
            print(f"  round {i + 1}: yave {'%.1fs' % o if o else '-':>7}   by hand {b:.1f}s")
        bs = [r[1] for r in rows]
        os_ = [r[0] for r in rows if r[0]]
        # statistics.median: with an even count, the mean of the middle two (not the upper one)
        print(f"  median:  yave {'%.1fs' % statistics.median(os_) if os_ else '-':>7}   by hand "
              f"{statistics.median(bs):.1f}s")
        if not user_net:
            print("  (this build has no `create --network user`: only the by-hand side ran)")
    finally:
        for dp, _, fs in os.walk(work):
            for f in fs:
                if f.endswith(".pid"):
                    try:
                        pid = int(open(os.path.join(dp, f)).read())
                        if "qemu" in os.readlink(f"/proc/{pid}/exe"):
                            os.kill(pid, 9)
                    except (OSError, ValueError):
                        pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
