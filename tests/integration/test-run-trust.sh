#!/usr/bin/env bash
# Starting and probing a VM, as an attacker or a crash would find it (issue 14): netdevup is never
# run from the caller's working folder; a start that fails early leaves nothing in run/ and no
# "crashed" VM; a QMP socket that accepts our probe and stays silent is unresponsive, not busy; the
# undo of a failed create never writes the shared VNC table without the root lock. Real QEMU (TCG, 64 MiB, an empty disk); a fake only for the server that misbehaves on purpose.
. "$(dirname "$0")/lib.sh"

# ---- helpers of this file ----

# mkvm ROOT NAME [ARGS...]: a tiny VM (no UEFI, 64 MiB disk and memory); no network unless ARGS
# ask for one (--master BRIDGE).
mkvm()
{
    local r=$1 n=$2
    shift 2
    if [ $# -eq 0 ]; then set -- --no-network; fi
    expect_exit 0 yv "$r" create --no-ovmf -c 64 -m 64 --name "$n" --vnc-password Abcdefgh "$@"
}

# assert_state ROOT VM STATE: status --json says STATE (its detail left in DETAIL).
assert_state()
{
    expect_exit 0 yv "$1" --json status --name "$2"
    assert_json_docs 1
    DETAIL=$(jv 'd.get("detail", "")')
    assert_eq "$3" "$(jv 'd["state"]')" "state of $2 (detail: $DETAIL)"
}

# assert_run_empty ROOT VM: run/ holds no file of VM (pidfile, sockets, crash record).
assert_run_empty()
{
    local f left=
    for f in "$1/run/$2".*; do
        [ -e "$f" ] && left+=" ${f##*/}"
    done
    [ -z "$left" ] || fail "left in run/:$left"
}

# silent_qmp PATH: a server on the UNIX socket PATH that accepts every client and never says a word
# (a hung monitor), in the background until the test ends.
silent_qmp()
{
    local t
    mktmp_into t
    "$PY" -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
open(sys.argv[2], "w").close()
held = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(max(end - time.time(), 0.01))
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass' "$1" "$t/up" </dev/null >/dev/null 2>&1 &
    at_exit kill "$!"
    for _ in $(seq 100); do
        [ -e "$t/up" ] && return 0
        sleep 0.02
    done
    fail "the silent server on $1 did not come up"
}

# hold_qmp PATH: another QMP client holds the real QEMU's socket at PATH (it got the greeting and
# stays connected) until the test ends; its pid in HOLDER.
hold_qmp()
{
    local t
    mktmp_into t
    "$PY" -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.recv(4096)
open(sys.argv[2], "w").close()
time.sleep(60)' "$1" "$t/up" </dev/null >/dev/null 2>&1 &
    HOLDER=$!
    at_exit kill "$HOLDER"
    for _ in $(seq 100); do
        [ -e "$t/up" ] && return 0
        sleep 0.02
    done
    fail "the QMP holder did not connect to $1"
}

# ---- the tests ----

# 9. A yave-tui with no netdevup/netdevdown beside it (nor in ../libexec/yave) refuses to start a
# VM with a tap network, before QEMU: a bare `netdevup` would be run by QEMU, as root, from
# whatever folder the caller is in. An executable netdevup waiting in that folder is never run.
test_no_netdevup_beside_the_binary_refuses_tap_vms()
{
    local t root ns
    mktmp_into t
    # a namespace of its own with the bridge the VM names: nothing but the script stands in the way
    ns=yvr-$$-9
    ip netns add "$ns" || fail "cannot create the network namespace $ns (root needed)"
    at_exit ip netns delete "$ns"
    ip netns exec "$ns" ip link add br0 type bridge || fail "cannot add bridge br0"
    ip netns exec "$ns" ip link set br0 up || fail "cannot set br0 up"
    new_root root # its QEMUs (if one started) end before the namespace goes
    mkdir -p "$t/a/b/bin" "$t/cwd" || fail "mkdir"
    cp "$YAVE_TEST_BIN" "$t/a/b/bin/yave-tui" || fail "cp"
    for s in netdevup netdevdown; do
        printf '#!/bin/sh\necho "$0 $*" >>%q\nexit 0\n' "$t/marker" >"$t/cwd/$s"
        chmod +x "$t/cwd/$s"
    done
    mkvm "$root" w1 --master br0
    mkvm "$root" w2
    cd "$t/cwd" || fail "cd"
    expect_exit 5 ip netns exec "$ns" "$t/a/b/bin/yave-tui" --batch --root "$root" run --name w1
    assert_err_line run "netdevup not found"
    assert_contains "$ERR" "$t/a/b/bin" "the folder it looked in"
    expect_exit 5 ip netns exec "$ns" "$t/a/b/bin/yave-tui" --batch --root "$root" --json \
        run --name w1 --dry-run
    assert_json_error TOOL_FAILED
    assert_no_file "$t/marker" "a netdevup of the working folder was run"
    assert_eq "" "$(qemus_of "$root")" "QEMU of a refused start"
    assert_run_empty "$root" w1
    assert_state "$root" w1 stopped
    # a VM without a network needs no script
    expect_exit 0 ip netns exec "$ns" "$t/a/b/bin/yave-tui" --batch --root "$root" run --name w2
    expect_exit 0 yv "$root" shutdown --name w2 --force
    assert_no_file "$t/marker" "a netdevup of the working folder was run"
}

# 12. QEMU gives up during startup (its disk is not qcow2) after it has made its QMP sockets: the
# run fails with QEMU's reason, run/ keeps nothing of the VM, and it is `stopped`, not `crashed`
# (it never ran).
test_early_failed_start_is_stopped_not_crashed()
{
    local root
    new_root root
    mkvm "$root" x1
    printf 'not a qcow2 image\n' >"$root/x1.vm/hd0.qcow2"
    expect_exit 5 yv "$root" run --name x1
    assert_err_line run "not in qcow2 format"
    assert_run_empty "$root" x1
    assert_state "$root" x1 stopped
    assert_run_empty "$root" x1
    expect_exit 0 yv "$root" list
    assert_eq "" "$(qemus_of "$root")" "QEMU of a failed start"
}

# 13. QMP that accepts our probe and never greets is a hung monitor: `unresponsive`, not `running
# (busy)`, since no other client holds it. A stopped QEMU (the kernel queues our probe, nothing
# accepts it) is unresponsive too; a real QEMU whose socket another client holds is busy.
test_silent_qmp_is_unresponsive_not_busy()
{
    local root pid
    new_root root
    mkvm "$root" s1
    expect_exit 0 yv "$root" run --name s1
    pid=$(cat "$root/run/s1.pid") || fail "no pidfile"
    is_qemu "$pid" || fail "run/s1.pid names $pid, not a QEMU"
    assert_state "$root" s1 running

    kill -STOP "$pid"
    at_exit kill -CONT "$pid"
    assert_state "$root" s1 unresponsive
    kill -CONT "$pid"
    for _ in $(seq 50); do # QEMU first serves the probes queued while it was stopped
        expect_exit 0 yv "$root" --json status --name s1
        [ "$(jv 'd["state"]')" = running ] && break
        sleep 0.1
    done
    assert_state "$root" s1 running

    # the real QEMU's socket held by another client: busy, still running
    hold_qmp "$root/run/s1.sock"
    assert_state "$root" s1 running
    assert_contains "$DETAIL" "busy" "detail while another client holds QMP"

    # the same live QEMU, its QMP path now answered by a server that accepts and stays silent (the
    # holder leaves first: QEMU's connection to it keeps the name it was accepted on)
    kill "$HOLDER"
    wait_exited "$HOLDER"
    mv "$root/run/s1.sock" "$root/run/s1.sock.real" || fail "mv"
    silent_qmp "$root/run/s1.sock"
    assert_state "$root" s1 unresponsive
    assert_not_contains "$DETAIL" "busy" "detail of a silent QMP"
    expect_exit 0 yv "$root" status
    assert_row s1 STATE=unresponsive
}

# 18. The undo of a failed create frees its VNC display only under the root lock: when run/lock
# cannot be opened, vnc_table.yaml is left as it is and the error says the display was not freed.
# (faultshim: the open for writing of the VM's config.yaml fails the create, the next one, the
# undo's run/lock, fails too. The release build: ASan refuses a library preloaded before it.)
test_failed_create_undo_without_lock_keeps_the_table()
{
    local t root n opens shim=$REPO_DIR/build/fault/faultshim.so
    make -s -C "$REPO_DIR" yave-tui build/fault/faultshim.so >/dev/null 2>&1 || fail "cannot build"
    mktmp_into t
    cp "$REPO_DIR/yave-tui" "$t/yave-tui" || fail "cp"
    new_root root
    expect_exit 0 env YAVE_FAULT_LOG="$t/log" LD_PRELOAD="$shim" "$t/yave-tui" --batch --root "$root" \
        create --no-network --no-ovmf -c 64 --name u0 --vnc-password Abcdefgh
    # files in the root are opened relative to their folder (openat): the log names the last part
    opens=$(awk '$1 == "open" { sub(/.*\//, "", $4); print $2, $4 }' "$t/log")
    # the config is written into the .part under the root lock with the display (so the next
    # create sees its forwards): the first run/lock after vnc_table.yaml's is the finishing step's
    n=$(awk '$2 ~ /^vnc_table\.yaml\.tmp-/ { t = 1 } t && $2 == "lock" { print $1; exit }' <<<"$opens")
    [[ "$n" =~ ^[0-9]+$ ]] || fail "no open of run/lock after the new vnc_table.yaml in: $opens"
    assert_contains "$(awk -v n="$n" '$1 < n' <<<"$opens")" "config.yaml.tmp-" \
        "config.yaml written before the finishing step"
    expect_exit 1 env YAVE_FAULT="open:$n,open:$((n + 1))" LD_PRELOAD="$shim" "$t/yave-tui" \
        --batch --root "$root" create --no-network --no-ovmf -c 64 --name u1 --vnc-password Abcdefgh
    assert_err_line create "VNC display :2 could not be freed"
    assert_contains "$(cat "$root/vnc_table.yaml")" "':2': u1" "the table written without the lock"
    assert_no_file "$root/.u1.vm.part" "the failed create's folder"
    assert_no_file "$root/u1.vm" "the failed create's VM"
}

run_tests "$@"
