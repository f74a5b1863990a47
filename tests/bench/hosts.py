#!/usr/bin/env python3
"""make bench, many hosts over OpenSSH (issue 21, spec §14): 5 hosts x 20 running VMs, each host a
real sshd in a network namespace of its own (as tests/integration/ssh-lib.sh makes them), reached
by the TUI over its one multiplexed ssh connection carrying the host's `watch --json`.

  tests/bench/hosts.py YAVE_TUI   (tests/bench/run; BENCH_HOSTS=0 there skips it)

The setup: a local root L of 20 VMs and one root a host (r1..r5, 20 VMs each: BENCH_HOSTS_N hosts,
BENCH_HOSTS_VMS VMs), all made by `create --no-network --no-ovmf -c 64 -m 64` with a copy of a
64 MiB qcow2 whose boot sector is cli; hlt, all running: L's started here, each host's started by
batch `run` inside the host's namespace (its VNC listens on the host's loopback, as on a real
host). Each host: namespace yvb-PID-hN, a veth pair with a /30 of 198.18.0.0/15 picked under the
lock ssh-lib.sh uses, a host key made here, sshd -D with its own sshd_config; the client key,
known_hosts and ssh_config are files of the bench's folder; hosts.yaml names the hosts with this
yave-tui as bin. Printed, never asserted; everything (TUIs, ssh masters, sshd's, QEMUs, namespaces,
veths, the folder) is removed on every exit path.

 1. Idle CPU, BENCH_HOSTS_ROUNDS (5) rounds, the order alternating: the TUI on L with the 5 hosts
    (80x24, --refresh 1, 22 of its 120 rows drawn) vs the baseline: the same TUI on the same L
    without hosts (20 local running VMs, 20 rows drawn). Same local work, same rows on the screen:
    the ratio is what following 100 remote VMs adds to the TUI itself (the remote VMs' QMP, pidfds
    and root changes are watched on their hosts, not by it). Each TUI is given BENCH_SETTLE_S (2) s
    after its 5 watches started, then measured BENCH_WINDOW_S (4) s: ns on a CPU from
    /proc/PID/task/*/schedstat. In the same window: the ssh processes on our side (the TUI's 5
    session clients and the 5 ControlPersist masters), each host's `yave-tui … watch` (next to the
    baseline TUI, which watches 20 VMs too) and its sshd session processes, and the whole chain
    (TUI + ssh + 5 watches + 5 sshd's) next to 5 times the baseline (a TUI on each host, the way
    before the issue).
 2. State change to row: BENCH_HOSTS_CHANGES (16) changes of remote VMs (the last VM of each host
    in turn, shutdown --force then run, as batch verbs run in the host's namespace, not through
    the TUI) alternating with as many of a local VM of L, in one TUI with hosts on a 140x160 pty
    (every row on the screen); the time to the new state's word arriving on the pty (the row
    redrawn; nothing else changes state meanwhile), median and p90: for a stop from the QEMU's
    exit (a pidfd on it: the change itself), for a start from run's exit (it returns once the VM
    runs), for both from the verb's start.
 3. Bytes per second each idle host sends and receives: the counters of its veth on our side
    (rx_bytes: what the host sent, tx_bytes: what it got) over the windows of 1.
"""
import fcntl, glob, os, random, select, shutil, signal, statistics, subprocess, sys, time

import benchlib as B

BIN = os.path.realpath(sys.argv[1])
NH = max(1, int(os.environ.get("BENCH_HOSTS_N", "5")))
NV = max(1, int(os.environ.get("BENCH_HOSTS_VMS", "20")))
R = max(1, int(os.environ.get("BENCH_HOSTS_ROUNDS", "5")))
CHANGES = max(2, int(os.environ.get("BENCH_HOSTS_CHANGES", "16")))
WINDOW = float(os.environ.get("BENCH_WINDOW_S", "4"))
SETTLE = float(os.environ.get("BENCH_SETTLE_S", "2"))
SSHD = "/usr/sbin/sshd"
LOCK = "/run/lock/yave-it-ssh.lock"  # ssh-lib.sh's: the /30s and veths of tests running at once
ENV = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
ENV.pop("NO_COLOR", None)

_hosts = []  # {"name", "ns", "veth", "addr", "dir"} of every host made, for the cleanup


def sh(*argv, ok=(0,)):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if p.returncode not in ok:
        raise SystemExit(f"bench: {' '.join(argv[:8])} failed ({p.returncode}): "
                         f"{p.stderr.strip()[-300:]}")
    return p.stdout


# ---- the hosts (ssh-lib.sh's way, in Python so that one finally removes them) ----

def free_net():
    """A free /30 of 198.18.0.0/15 and a free veth name; called under LOCK."""
    i = random.randrange(32768)
    for _ in range(32768):
        i = (i + 1) % 32768
        net = f"198.{18 + i // 16384}.{i // 64 % 256}.{i % 64 * 4}"
        veth = f"yvb{i}"
        if sh("ip", "-4", "-o", "addr", "show", "to", f"{net}/30").strip():
            continue
        if sh("ip", "-4", "route", "show", "exact", f"{net}/30").strip():
            continue
        if subprocess.run(["ip", "link", "show", veth], capture_output=True).returncode:
            return net, veth
    raise SystemExit("bench: no free /30 in 198.18.0.0/15")


def host_net(h):
    os.makedirs("/run/lock", exist_ok=True)
    with open(LOCK, "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        net, veth = free_net()
        a, b, c, d = net.split(".")
        mine, peer = f"{a}.{b}.{c}.{int(d) + 1}", f"{a}.{b}.{c}.{int(d) + 2}"
        sh("ip", "netns", "add", h["ns"])
        _hosts.append(h)
        h["veth"], h["addr"] = veth, peer
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h["ns"])
        sh("sysctl", "-qw", f"net.ipv6.conf.{veth}.disable_ipv6=1", ok=(0, 1, 255))
        sh("ip", "addr", "add", f"{mine}/30", "dev", veth)
        sh("ip", "link", "set", veth, "up")
    x = ["ip", "-n", h["ns"]]
    sh(*x, "link", "set", "lo", "up")
    sh(*x, "addr", "add", f"{peer}/30", "dev", "eth0")
    sh(*x, "link", "set", "eth0", "up")


def host_up(work, name, key):
    """Host NAME: its namespace and veth, host key, sshd_config, sshd -D; its known_hosts line and
    ssh_config entry. Returns once sshd sends its banner."""
    h = {"name": name, "ns": f"yvb-{os.getpid()}-{name}", "dir": f"{work}/h/{name}"}
    os.makedirs(h["dir"])
    host_net(h)
    d, addr = h["dir"], h["addr"]
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"yave-bench-{name}", "-f",
       f"{d}/host_key")
    with open(f"{work}/known_hosts", "a") as f:
        f.write(f"{addr},{name} {' '.join(open(f'{d}/host_key.pub').read().split()[:2])}\n")
    with open(f"{d}/sshd_config", "w") as f:
        f.write(f"ListenAddress {addr}:22\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n"
                f"AuthorizedKeysFile {work}/authorized_keys\nPermitRootLogin prohibit-password\n"
                "PubkeyAuthentication yes\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitUserRC no\n"
                "PrintMotd no\nPrintLastLog no\nUseDNS no\nModuliFile /dev/null\n"
                "MaxSessions 100\nMaxStartups 100\nLogLevel ERROR\n")
    with open(f"{work}/ssh_config", "a") as f:
        f.write(f"Host {name}\n    HostName {addr}\n    Port 22\n    User root\n"
                f"    IdentityFile {key}\n    IdentitiesOnly yes\n"
                f"    UserKnownHostsFile {work}/known_hosts\n    GlobalKnownHostsFile /dev/null\n"
                "    StrictHostKeyChecking yes\n    CheckHostIP no\n    UpdateHostKeys no\n"
                "    LogLevel ERROR\n    ConnectTimeout 3\n\n")
    pid = B.spawn(["/usr/sbin/ip", "netns", "exec", h["ns"], SSHD, "-D", "-f",
                   f"{d}/sshd_config", "-E", f"{d}/sshd.log"])
    h["listener"] = pid  # ip netns exec execs sshd: the same pid
    for _ in range(100):
        if banner(addr):
            return h
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
        time.sleep(0.1)
    raise SystemExit(f"bench: sshd of {name} did not come up on {addr}:22")


def banner(addr):
    import socket
    try:
        with socket.create_connection((addr, 22), timeout=2) as s:
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def ns_pids(ns):
    return [int(p) for p in sh("ip", "netns", "pids", ns, ok=(0, 1, 255)).split()]


def hosts_down():
    """Every process in each host's namespace ended (TERM, then KILL), the namespace and the veth
    deleted. Idempotent."""
    while _hosts:
        h = _hosts.pop()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = ns_pids(h["ns"])
            for p in pids:
                try:
                    os.kill(p, sig)
                except OSError:
                    pass
            for _ in range(30):
                if not any(os.path.exists(f"/proc/{p}") for p in ns_pids(h["ns"])):
                    break
                time.sleep(0.1)
        if h.get("listener"):
            try:
                os.waitpid(h["listener"], 0)
            except OSError:
                pass
            B.untrack(h["listener"])
        sh("ip", "netns", "delete", h["ns"], ok=(0, 1, 255))
        if h.get("veth"):
            sh("ip", "link", "delete", h["veth"], ok=(0, 1, 2, 255))


def ours_procs(work, exe):
    """Pids of processes of our side whose exe is exe and whose command line names work (the ssh
    clients and ControlPersist masters, whose control sockets are under it)."""
    out = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            if os.readlink(f"{d}/exe") == exe and work.encode() in open(f"{d}/cmdline",
                                                                         "rb").read():
                out.append(int(d[6:]))
        except OSError:
            pass
    return out


def end_ours(work):
    for p in ours_procs(work, "/usr/bin/ssh"):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


# ---- roots and VMs ----


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns] + argv if ns else argv


def fill_root(root, prefix, disk, ns):
    """NV VMs prefix01.. in root, each started by batch run (inside ns when given)."""
    os.makedirs(root)
    y = [BIN, "--batch", "--root", root]
    for i in range(1, NV + 1):
        name = f"{prefix}{i:02d}"
        sh(*y, "create", "-n", name, "--no-network", "--no-ovmf", "-c", "64", "-m", "64", "-V",
           "benchpw1")
        shutil.copyfile(disk, f"{root}/{name}.vm/hd0.qcow2")
        sh(*in_ns(ns, y + ["run", "-n", name]))


def fill_all(jobs):
    """fill_root of each job, two at a time (the machine's two cores)."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as ex:
        for f in [ex.submit(fill_root, *j) for j in jobs]:
            f.result()


# ---- the TUI on a pty ----

def tui(work, root, rows, cols, hosts):
    """yave-tui on root on a rows x cols pty, --refresh 1; with the bench's hosts.yaml or none."""
    env = dict(ENV, XDG_RUNTIME_DIR=f"{work}/run",
               XDG_CONFIG_HOME=f"{work}/config" if hosts else f"{work}/noconfig")
    return B.pty_spawn([BIN, "--root", root, "--refresh", "1"], env, rows, cols)


drain = B.pty_drain


def finish(pid, fd):
    B.pty_finish(pid, fd, drain_s=1, wait_s=3)


def watches(hosts):
    """{host name: pid of its yave-tui … watch} for the hosts where one runs."""
    out = {}
    for h in hosts:
        for p in ns_pids(h["ns"]):
            try:
                if os.readlink(f"/proc/{p}/exe") == BIN and b"watch" in open(
                        f"/proc/{p}/cmdline", "rb").read():
                    out[h["name"]] = p
            except OSError:
                pass
    return out


def wait_watches(fd, hosts, want, timeout=30):
    """Reads the pty until want (all: len(hosts), 0: none) watches run on the hosts."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        w = watches(hosts)
        if len(w) == want:
            return w
        if fd is not None:
            drain(fd, 0.2)
        else:
            time.sleep(0.2)
    raise SystemExit(f"bench: {len(watches(hosts))} watches run on the hosts, not {want}")


def sshds(h):
    out = []
    for p in ns_pids(h["ns"]):
        try:
            if os.readlink(f"/proc/{p}/exe") == SSHD:
                out.append(p)
        except OSError:
            pass
    return out


def veth(h):
    s = f"/sys/class/net/{h['veth']}/statistics"
    return int(open(f"{s}/rx_bytes").read()), int(open(f"{s}/tx_bytes").read())


# ---- 1 and 3: idle CPU and bytes, a window of one TUI ----

def pct(ns, secs):
    return ns / 1e9 / secs * 100  # % of one core


def measure(groups, hosts, fd):
    """CPU % of each group of pids and the hosts' veth bytes/s over WINDOW s of reading fd."""
    snap = lambda: {g: [B.task_ns(p)[0] for p in ps] for g, ps in groups.items()}
    s0, v0, t0 = snap(), {h["name"]: veth(h) for h in hosts}, time.perf_counter()
    drain(fd, WINDOW)
    s1, v1, t1 = snap(), {h["name"]: veth(h) for h in hosts}, time.perf_counter()
    secs = t1 - t0
    out = {g: pct(sum(B.delta(a, b) for a, b in zip(s0[g], s1[g])), secs) for g in groups}
    for n in v0:
        out[f"rx:{n}"] = (v1[n][0] - v0[n][0]) / secs
        out[f"tx:{n}"] = (v1[n][1] - v0[n][1]) / secs
    return out


def window_hosts(work, local, hosts):
    pid, fd = tui(work, local, 24, 80, True)
    w = wait_watches(fd, hosts, len(hosts))
    drain(fd, SETTLE)
    groups = {"tui": [pid], "ssh": ours_procs(work, "/usr/bin/ssh")}
    for h in hosts:
        groups[f"watch:{h['name']}"] = [w[h["name"]]]
        groups[f"sshd:{h['name']}"] = [p for p in sshds(h) if p != h["listener"]]
    out = measure(groups, hosts, fd)
    out["nssh"] = len(groups["ssh"])
    finish(pid, fd)
    wait_watches(None, hosts, 0, 15)  # their session ended with the TUI's ssh clients
    return out


def window_local(work, local):
    pid, fd = tui(work, local, 24, 80, False)
    drain(fd, SETTLE + 1)
    out = measure({"tui": [pid]}, [], fd)
    finish(pid, fd)
    return out


# ---- 2: a state change to its row ----

def change(fd, argv, word, qemu=None, timeout=15):
    """Runs the verb argv; returns the times in s from its start, from its exit and (qemu: the pid
    of the QEMU it stops) from that QEMU's exit to the row: the first arrival of word on the pty
    after the start (None: not within timeout)."""
    drain(fd, 0.5)
    qfd = os.pidfd_open(qemu) if qemu else None  # the stop itself: the QEMU's exit
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    pfd, buf, t, code = os.pidfd_open(p.pid), b"", {}, None
    while "exit" not in t or "row" not in t or (qfd and "gone" not in t):
        left = t0 + timeout - time.perf_counter()
        if left <= 0:
            break
        fds = [fd] + ([pfd] if "exit" not in t else []) + ([qfd] if qfd and "gone" not in t
                                                           else [])
        ready = select.select(fds, [], [], left)[0]
        now = time.perf_counter()
        if pfd in ready:
            t["exit"], code = now, p.wait()
        if qfd and qfd in ready:
            t["gone"] = now
        if fd in ready:
            chunk = os.read(fd, 65536)
            buf += chunk
            if "row" not in t and word in buf[-(len(chunk) + len(word)):]:
                t["row"] = now
    for f in (pfd, qfd):
        if f:
            os.close(f)
    if "exit" not in t:
        p.kill()
        p.wait()
        raise SystemExit(f"bench: {' '.join(argv[-4:])} did not end in {timeout} s")
    if code:
        raise SystemExit(f"bench: {' '.join(argv[-4:])} failed ({code})")
    if "row" not in t or (qfd and "gone" not in t):
        print(f"  warning: no {word.decode()} on the screen {timeout} s after "
              f"{' '.join(argv[-3:])}", flush=True)
        return None
    return {k: t["row"] - v for k, v in (("start", t0), ("exit", t["exit"]),
                                         ("gone", t.get("gone"))) if v is not None}


def latencies(work, local, hosts):
    """CHANGES remote changes alternating with CHANGES local ones, in one TUI with every row on
    the screen: [change()] of the remote stops, of the remote starts, then the same local."""
    pid, fd = tui(work, local, 140, 160, True)
    out = ([], [], [], [])
    try:
        wait_watches(fd, hosts, len(hosts))
        drain(fd, SETTLE)
        last = f"{NV:02d}"
        for k in range(CHANGES):
            stop = k % 2 == 0
            verb, word = (["shutdown", "--force"], b"stopped") if stop else (["run"], b"running")
            h = hosts[k // 2 % len(hosts)]
            for i, (root, name, ns) in enumerate(((f"{work}/r/{h['name']}", f"{h['name']}v{last}",
                                                   h["ns"]),
                                                  (f"{work}/r/local", f"l{last}", None))):
                qemu = int(open(f"{root}/run/{name}.pid").read()) if stop else None
                y = [BIN, "--batch", "--root", root, verb[0], "-n", name] + verb[1:]
                x = change(fd, in_ns(ns, y), word, qemu)
                if x:
                    out[2 * i + (0 if stop else 1)].append(x)
    finally:
        finish(pid, fd)
    return out


# ---- the report ----

def p90(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.9 * len(s) + 0.5) - 1)] if len(s) > 1 else s[0]


def mmm(xs, f="{:.3f}"):
    return "/".join(f.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def ratio(what, ours, base, base_name):
    """A CPU figure next to its baseline, the ratio per round as min/median/max."""
    r = [o / b if b else float("inf") for o, b in zip(ours, base)]
    print(f"  {what}: ours {mmm(ours)} %, baseline ({base_name}) {mmm(base)} %, "
          f"ratio {mmm(r, '{:.2f}')}x (min/median/max of {len(r)} rounds)", flush=True)
    B.note(what, f"{statistics.median(ours):.3f} %",
           f"{statistics.median(base):.3f} % ({base_name})", mmm(r, "{:.2f}") + "x")


def value(what, xs, unit, f="{:.3f}", baseline="-"):
    print(f"  {what}: {mmm(xs, f)} {unit} (min/median/max of {len(xs)})", flush=True)
    B.note(what, f"{f.format(statistics.median(xs))} {unit}", baseline, mmm(xs, f) + f" {unit}")


def report_cpu(hosts, ours, base):
    names = [h["name"] for h in hosts]
    tui_l = [b["tui"] for b in base]
    ratio(f"TUI idle CPU, {len(hosts)} hosts x {NV} VMs + {NV} local", [o["tui"] for o in ours],
          tui_l, f"the TUI on the {NV} local alone")
    value(f"  ssh on our side ({ours[0]['nssh']} processes: clients and masters)",
          [o["ssh"] for o in ours], "%")
    for n in names:
        ratio(f"  {n}'s watch ({NV} VMs)", [o[f"watch:{n}"] for o in ours], tui_l,
              f"a TUI on {NV} local")
    value("  sshd sessions, per host (all hosts' values)",
          [o[f"sshd:{n}"] for o in ours for n in names], "%")
    chain = [o["tui"] + o["ssh"] + sum(o[f"watch:{n}"] + o[f"sshd:{n}"] for n in names)
             for o in ours]
    ratio("  the whole chain (TUI, ssh, watches, sshd's)", chain,
          [len(hosts) * t for t in tui_l], f"{len(hosts)} x a TUI on {NV}: one a host")
    for n in names:
        value(f"idle {n} sends (its veth rx)", [o[f"rx:{n}"] for o in ours], "B/s", "{:.0f}",
              f"receives {statistics.median(o[f'tx:{n}'] for o in ours):.0f} B/s")


def report_latency(rstop, rstart, lstop, lstart):
    ms = lambda xs, k: [x[k] * 1000 for x in xs]
    for what, rem, loc, k in (("a stop, from the QEMU's exit", rstop, lstop, "gone"),
                              ("a start, from run's exit", rstart, lstart, "exit"),
                              ("any, from the verb's start", rstop + rstart, lstop + lstart,
                               "start")):
        if not rem or not loc:
            print(f"  state change to row, {what}: no change was seen on the screen", flush=True)
            continue
        r, lo = ms(rem, k), ms(loc, k)
        print(f"  state change to row, {what}: remote median {statistics.median(r):.1f} ms p90 "
              f"{p90(r):.1f} ms ({len(r)} changes), local median {statistics.median(lo):.1f} ms "
              f"p90 {p90(lo):.1f} ms ({len(lo)})", flush=True)
        B.note(f"change to row, {what}", f"{statistics.median(r):.1f} ms (p90 {p90(r):.1f})",
               f"local {statistics.median(lo):.1f} ms (p90 {p90(lo):.1f})",
               f"{min(r):.1f}/{statistics.median(r):.1f}/{max(r):.1f} ms")


# ---- main ----

def setup(work):
    """The client key, the hosts up, the roots filled; returns the hosts."""
    key = f"{work}/id_ed25519"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "yave-bench-client", "-f", key)
    shutil.copyfile(f"{key}.pub", f"{work}/authorized_keys")
    for f in ("known_hosts", "ssh_config"):
        open(f"{work}/{f}", "w").close()
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    for d in ("config/yave", "noconfig", "run"):
        os.makedirs(f"{work}/{d}")
    os.chmod(f"{work}/run", 0o700)
    hosts = [host_up(work, f"h{i}", key) for i in range(1, NH + 1)]
    with open(f"{work}/config/yave/hosts.yaml", "w") as f:
        f.write(f"ssh_config: {work}/ssh_config\nhosts:\n")
        for h in hosts:
            f.write(f"  - {{name: {h['name']}, ssh: {h['name']}, root: {work}/r/{h['name']}, "
                    f"bin: {BIN}}}\n")
    disk = B.halting_disk(work)
    fill_all([(f"{work}/r/local", "l", disk, None)] +
             [(f"{work}/r/{h['name']}", f"{h['name']}v", disk, h["ns"]) for h in hosts])
    time.sleep(3)  # their boot (one opcode to the halt) and the first query-status
    return hosts


def main():
    if os.geteuid() != 0 or not os.access(SSHD, os.X_OK) or not shutil.which("ssh"):
        print("\n== many hosts over OpenSSH: skipped (needs root for the network namespaces, "
              f"ssh and {SSHD}: apt-get install openssh-server)", flush=True)
        return
    B.install_cleanup()
    work = B.tempdir("yave-bench-hosts.")
    try:
        print(f"\n== many hosts over OpenSSH: {NH} hosts (sshd in network namespaces) x {NV} "
              f"running VMs, {NV} local; idle: {R} alternating rounds of {SETTLE:g} s settle + "
              f"{WINDOW:g} s (80x24, 1 s refresh); {CHANGES} changes each remote and local",
              flush=True)
        t = time.monotonic()
        hosts = setup(work)
        print(f"  ({NH * NV + NV} VMs created and running, {NH} hosts up in "
              f"{time.monotonic() - t:.0f} s)", flush=True)
        local = f"{work}/r/local"
        ours, base = [], []
        for r in range(R):
            a = lambda: ours.append(window_hosts(work, local, hosts))
            b = lambda: base.append(window_local(work, local))
            for f in ((a, b) if r % 2 == 0 else (b, a)):
                f()
        report_cpu(hosts, ours, base)
        report_latency(*latencies(work, local, hosts))
        B.table()
    except KeyboardInterrupt:
        print("\nmake bench: interrupted; its TUIs, ssh's, sshd's, QEMUs, namespaces and folders "
              "are removed", flush=True)
        raise SystemExit(130)
    finally:
        B.cleanup()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        end_ours(work)
        hosts_down()
        signal.signal(signal.SIGINT, signal.default_int_handler)


if __name__ == "__main__":
    main()
