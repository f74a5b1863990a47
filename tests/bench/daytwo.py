#!/usr/bin/env python3
"""make bench, the day-two verbs (issue 19, spec §13): each next to the plain tool or bare QMP
client doing its heart, measured in the same run, alternating.

  tests/bench/daytwo.py YAVE_TUI   (tests/bench/run; BENCH_DAYTWO=0 there skips it)

BENCH_ROUNDS (default 15) rounds per figure, one run of ours and one of its baseline a round,
alternating (A B, B A, ...); the ratio ours/baseline is per round, given as min/median/max. Printed,
never asserted; not part of make check. Two VMs made by `create --no-network --no-ovmf -m 64` (TCG)
in a root under /tmp/yave-bench-daytwo.*, each with its own copy of one 256 MiB qcow2 disk: a boot
sector doing cli; hlt (the guest is quiet from its first opcode) and 48 MiB of data written by
qemu-io (32 MiB at 1 MiB, 16 MiB at 128 MiB), so a copy or a snapshot is not of an empty image.
"st" stays stopped, "live" runs. Everything (QEMUs, folders) is removed on every exit path.

Ours is always the exec of `yave-tui --batch VERB` to its exit (posix_spawn + wait4). The figures:
 1. `snapshot create` of the stopped VM (its one disk) vs `qemu-img snapshot -c` on the same disk
    file. Each is followed by an untimed `qemu-img snapshot -d` of what it made, so every round
    starts from the same disk. (yave runs two qemu-img: `info --output=json -U` for the disk's
    snapshots, which a taken name is refused by, then `snapshot -c`.)
 2. `snapshot create` of the running VM (RAM saved into the disk) vs a bare QMP client in this
    process: connect to run/live.sock, qmp_capabilities, the snapshot-save job (tag, vmstate and
    devices node-hd0, as yave sends them), query-jobs on that connection until the job is
    concluded (a 5 ms sleep between polls), job-dismiss. Each is followed by an untimed
    snapshot-delete job over QMP. (yave opens a fresh QMP connection for each command, spec §6,
    asks query-block and query-jobs before the job and polls it every 200 ms; QEMU runs the job in
    its main loop, so its first query-jobs is mostly answered once the job has ended.)
 3. `snapshot revert` of the running VM to a snapshot with its RAM (taken once, untimed) vs the
    same bare client with the snapshot-load job, then query-status and a `cont` when the guest is
    not running (yave does the same after the job: QEMU resumes a guest that ran on success, so
    the cont is seldom sent by either). yave also asks query-status before the job.
 4. `clone` of the stopped VM (its disk, config with a new MAC, display and password) vs
    `qemu-img convert -q -f qcow2 -O qcow2` of its disk to a new file (the argv clone runs for
    the copy). Each is followed by an untimed delete (`delete --name` of the clone, an unlink of
    the file).
 5. `set --memory` of the stopped VM vs an exec of /bin/true (so both pay an exec) + an atomic
    rewrite of its config.yaml in this process (the memory line changed; write a temp file,
    fsync, rename, fsync the folder: what yave's own write does). The value flips between 64
    and 96 at every call of either, so each one changes the file: the ratio is the cost of the
    verb's own work (config load, checks, lock) over a bare write.
"""
import json, os, re, shutil, socket, subprocess, sys, time

import benchlib as B

BIN = os.path.abspath(sys.argv[1])
R = B.ROUNDS
VNCPW = "benchpw1"
SNAP = "bench-s"
NODE = "node-hd0"


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def section(title):
    print(f"\n== {title}", flush=True)


def yave(root, *args):
    return [BIN, "--batch", "--root", root, *args]


def timed_run(argv):
    t = time.perf_counter()
    B.run(argv)
    return time.perf_counter() - t


# ---- the disk and the VMs ----

def data_disk(work):
    """256 MiB qcow2: boot sector cli; hlt; jmp $-1, and 48 MiB of data written by qemu-io."""
    raw, disk = f"{work}/disk.raw", f"{work}/disk.qcow2"
    with open(raw, "wb") as f:
        f.write(b"\xfa\xf4\xeb\xfd".ljust(510, b"\0") + b"\x55\xaa")
        f.truncate(256 << 20)
    sh("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, disk)
    os.unlink(raw)
    sh("qemu-io", "-f", "qcow2", "-c", "write -q -P 0x5a 1M 32M", "-c", "write -q -P 0xa5 128M 16M",
       disk)
    info = json.loads(sh("qemu-img", "info", "--output=json", disk))
    print(f"  the disk: {info['virtual-size'] >> 20} MiB, {info['actual-size'] / 2**20:.1f} MiB "
          "allocated", flush=True)
    return disk


def create(root, name, disk):
    B.run(yave(root, "create", "-n", name, "--no-network", "--no-ovmf", "-c", "256", "-m", "64",
               "-V", VNCPW))
    shutil.copyfile(disk, f"{root}/{name}.vm/hd0.qcow2")


# ---- the baselines' QMP client: one connection held, like a bare client would ----

class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rwb", buffering=0)
        self.f.readline()  # the greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None):
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        while True:
            line = self.f.readline()
            if not line:
                raise SystemExit(f"bench: QEMU closed QMP during {name}")
            r = json.loads(line)
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise SystemExit(f"bench: QMP {name}: {r['error'].get('desc')}")
            # an event: read on

    def job(self, name, args, job_id):
        """Starts the job, polls query-jobs until it is concluded, dismisses it."""
        self.cmd(name, dict(args, **{"job-id": job_id}))
        while True:
            j = next((j for j in self.cmd("query-jobs") if j.get("id") == job_id), None)
            if j is None:
                raise SystemExit(f"bench: QMP job {job_id} is gone")
            if j["status"] == "concluded":
                self.cmd("job-dismiss", {"id": job_id})
                if "error" in j:
                    raise SystemExit(f"bench: QMP {name}: {j['error']}")
                return
            time.sleep(0.005)

    def close(self):
        self.f.close()
        self.s.close()


def qmp_job(sock, name, tag, resume=False):
    q = Qmp(sock)
    args = {"tag": tag, "devices": [NODE]}
    if name != "snapshot-delete":
        args["vmstate"] = NODE
    q.job(name, args, "bench-job")
    if resume and not q.cmd("query-status")["running"]:
        q.cmd("cont")
    q.close()


# ---- the figures ----

def fig_snap_stopped(root):
    section("snapshot create of a stopped VM (1 disk) vs qemu-img snapshot -c")
    disk = f"{root}/st.vm/hd0.qcow2"
    def ours():
        t = timed_run(yave(root, "snapshot", "create", "--name", "st", "--snap", SNAP))
        sh("qemu-img", "snapshot", "-d", SNAP, disk)
        return t
    def base():
        t = timed_run(["/usr/bin/qemu-img", "snapshot", "-c", SNAP, disk])
        sh("qemu-img", "snapshot", "-d", SNAP, disk)
        return t
    o, b = B.alternate(R, ours, base)
    B.ratio_row("snapshot create, stopped", o, b, None, base_name="(qemu-img snapshot -c)")


def fig_snap_running(root, sock):
    section("snapshot create of a running VM (RAM saved) vs a bare QMP snapshot-save job")
    def ours():
        t = timed_run(yave(root, "snapshot", "create", "--name", "live", "--snap", SNAP))
        qmp_job(sock, "snapshot-delete", SNAP)
        return t
    def base():
        t = B.timed(qmp_job, sock, "snapshot-save", SNAP)
        qmp_job(sock, "snapshot-delete", SNAP)
        return t
    o, b = B.alternate(R, ours, base)
    B.ratio_row("snapshot create, running", o, b, None, base_name="(QMP snapshot-save job)")


def fig_revert_running(root, sock):
    section("snapshot revert of a running VM vs a bare QMP snapshot-load job (+ cont if stopped)")
    B.run(yave(root, "snapshot", "create", "--name", "live", "--snap", "bench-r"))
    revert = yave(root, "snapshot", "revert", "--name", "live", "--snap", "bench-r")
    o, b = B.alternate(R, lambda: timed_run(revert),
                       lambda: B.timed(qmp_job, sock, "snapshot-load", "bench-r", True))
    B.ratio_row("snapshot revert, running", o, b, None, base_name="(QMP snapshot-load job)")
    q = Qmp(sock)
    running = q.cmd("query-status")["running"]
    q.close()
    if not running:
        raise SystemExit("bench: the guest is not running after the reverts")


def fig_clone(root, work):
    section("clone of a stopped VM vs qemu-img convert -O qcow2 of its disk")
    disk, copy = f"{root}/st.vm/hd0.qcow2", f"{work}/convert.qcow2"
    def ours():
        t = timed_run(yave(root, "clone", "--name", "st", "--to", "cl", "-V", VNCPW))
        B.run(yave(root, "delete", "--name", "cl"))
        return t
    def base():
        t = timed_run(["/usr/bin/qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2", "--",
                       disk, copy])
        os.unlink(copy)
        return t
    o, b = B.alternate(R, ours, base)
    B.ratio_row("clone, stopped", o, b, None, base_name="(qemu-img convert)")


def fig_set(root):
    section("set --memory of a stopped VM vs exec /bin/true + an atomic rewrite of config.yaml")
    path = f"{root}/st.vm/config.yaml"
    k = [0]
    def value():
        k[0] += 1
        return "96" if k[0] % 2 else "64"
    def rewrite(mem):
        text = open(path).read()
        new, n = re.subn(r"(?m)^(  memory: )\d+$", r"\g<1>" + mem, text)
        if n != 1:
            raise SystemExit("bench: no memory line in config.yaml")
        tmp = path + ".bench-tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, new.encode())
        os.fsync(fd)
        os.close(fd)
        os.rename(tmp, path)
        dfd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
    def ours():
        return timed_run(yave(root, "set", "--name", "st", "--memory", value()))
    def base():
        mem = value()
        t = time.perf_counter()
        B.run(["/bin/true"])
        rewrite(mem)
        return time.perf_counter() - t
    o, b = B.alternate(R, ours, base)
    B.ratio_row("set --memory, stopped", o, b, None, base_name="(true + atomic rewrite)")
    if "  memory: " not in open(path).read():
        raise SystemExit("bench: config.yaml lost its memory line")


def main():
    B.install_cleanup()
    work = B.tempdir("yave-bench-daytwo.")
    try:
        root = f"{work}/root"
        os.makedirs(root + "/run", mode=0o700)
        disk = data_disk(work)
        create(root, "st", disk)
        create(root, "live", disk)
        fig_snap_stopped(root)
        fig_clone(root, work)
        fig_set(root)
        B.run(yave(root, "run", "--name", "live"))
        sock = f"{root}/run/live.sock"
        time.sleep(2)  # SeaBIOS has handed over to the boot sector: the guest halts
        fig_snap_running(root, sock)
        fig_revert_running(root, sock)
        B.run(yave(root, "shutdown", "--name", "live", "--force"))
        section(f"summary (day two, {R} rounds)")
        B.table()
    finally:
        B.cleanup()


if __name__ == "__main__":
    main()
