#!/usr/bin/env bash
# A create that does not finish (issue 14, items 5 and 17): SIGTERM, SIGINT or SIGHUP during a long
# copy leave nothing once the process has exited; what a create killed by SIGKILL left (its .part
# folder, its VNC display, a preset's seed and first-boot QEMU) is reaped by the next command —
# list, status, create, the TUI — the QEMU ended first (proven by its pidfile's lock and
# /proc/PID/exe), and a new VM of the same name never shows that QEMU as its own.
#
# The first boot is a preset whose cloud image is an empty qcow2 (no OS: QEMU runs until stopped);
# the long copy is the real qemu-img converting 32 MiB of random data, slowed to 1 MiB/s by its own
# -r option (cli.img is a wrapper adding it), so it would take 32 s.
. "$(dirname "$0")/lib.sh"

# secrets DIR: DIR/rootpw and DIR/vncpw, the passwords' files.
secrets()
{
    printf 'Test-Root-9\n' >"$1/rootpw"
    printf 'vncpw123\n' >"$1/vncpw"
    chmod 600 "$1/rootpw" "$1/vncpw"
}

# a_root VAR: a root with one ordinary VM (so vnc_table.yaml exists and must come back unchanged)
# and the preset `empty`, whose cloud image has no OS: its first boot never ends.
a_root()
{
    local __ar_r
    new_root __ar_r
    expect_exit 0 yv "$__ar_r" create --name other -c 16 --no-network --no-ovmf -V abcdefgh
    mkdir "$__ar_r/empty.preset" || fail "mkdir preset"
    qemu-img create -q -f qcow2 "$__ar_r/empty.preset/empty.qcow2" 64M || fail "qemu-img create"
    printf 'cloudimg: empty.qcow2\n' >"$__ar_r/empty.preset/config.yaml"
    printf -v "$1" '%s' "$__ar_r"
}

# kill_first_boot ROOT T TMP: a preset create of `pc` (TMPDIR=TMP) SIGKILLed during its first boot;
# sets QPID to its QEMU, which must still be running (nothing ended it: the creator was killed).
kill_first_boot()
{
    local root=$1 t=$2 tmp=$3 pid seed
    TMPDIR=$tmp "$YAVE_TEST_BIN" --batch --root "$root" create --name pc --preset empty \
        --root-password-file "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network --no-ovmf \
        -m 64 -c 128 --install-timeout 600 </dev/null >"$t/out" 2>"$t/err" &
    pid=$!
    at_exit kill -KILL "$pid"
    wait_line "$t/err" 'create: first boot' "$pid" 120 0.2
    QPID=$(cat "$root/run/pc.pid" 2>/dev/null)
    { [[ "$QPID" =~ ^[0-9]+$ ]] && is_qemu "$QPID"; } || fail "no QEMU of the first boot"
    # the seed (it holds the root password's hash) lives in the VM's private folder under
    # construction, so it goes with it
    seed="$root/.pc.vm.part/seed"
    assert_eq "700" "$(stat -c %a "$root/.pc.vm.part" 2>/dev/null)" "mode of the .part folder"
    assert_eq "700" "$(stat -c %a "$seed" 2>/dev/null)" "mode of the seed folder"
    assert_file "$seed/seed.iso" "the seed"
    assert_eq "" "$(ls -A "$tmp")" "files in TMPDIR (a seed outside the VM's folder)"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    pid_exited "$QPID" && fail "the first boot's QEMU ended with its creator (nothing to test)"
    [ -d "$root/.pc.vm.part" ] || fail "the killed create left no .part folder (nothing to test)"
}

# assert_reaped ROOT BEFORE TMP: what the killed create of `pc` left is gone: its QEMU (QPID) has
# exited, no .part, no seed in the root or TMP, no process uses the root, the root is as BEFORE
# (vnc_table.yaml included: the display is free again).
assert_reaped()
{
    local root=$1 before=$2 tmp=$3
    pid_exited "$QPID" || fail "the first boot's QEMU (pid $QPID) still runs"
    assert_no_file "$root/.pc.vm.part" "the .part folder"
    assert_eq "" "$(find "$root" "$tmp" \( -name 'seed*' -o -name 'user-data' \) -print)" "seed files"
    assert_eq "" "$(ls -A "$tmp")" "files in TMPDIR"
    assert_eq "" "$(procs_with "$root/")" "processes still using the root"
    assert_no_trace "$before" "$root"
}

# assert_new_pc ROOT: a new `pc` can be created, and it is stopped: not the old QEMU.
assert_new_pc()
{
    expect_exit 0 yv "$1" create --name pc -c 16 --no-network --no-ovmf -V abcdefgh
    expect_exit 0 yv "$1" --json status --name pc
    assert_eq "stopped" "$(jv 'd["state"]' "$OUT")" "state of the new pc"
    assert_eq "null" "$(jv 'd.get("pid")' "$OUT")" "pid of the new pc"
}

# killed_first_boot_then CMD...: the SIGKILLed first boot, then CMD on the root reaps it.
killed_first_boot_then()
{
    local root t tmp before
    a_root root
    mktmp_into t
    mktmp_into tmp
    secrets "$t"
    before=$(snapshot_root "$root")
    kill_first_boot "$root" "$t" "$tmp"
    expect_exit 0 yv "$root" "$@"
    assert_reaped "$root" "$before" "$tmp"
    assert_new_pc "$root"
}

test_1_sigkilled_first_boot_reaped_by_list()
{
    killed_first_boot_then list
}

test_2_sigkilled_first_boot_reaped_by_status()
{
    killed_first_boot_then status
}

# The next command is a create of the same name: it ends the orphan before taking the name.
test_3_sigkilled_first_boot_reaped_by_create()
{
    local root t tmp before
    a_root root
    mktmp_into t
    mktmp_into tmp
    secrets "$t"
    before=$(snapshot_root "$root")
    kill_first_boot "$root" "$t" "$tmp"
    expect_exit 0 yv "$root" create --name pc -c 16 --no-network --no-ovmf -V abcdefgh
    pid_exited "$QPID" || fail "the first boot's QEMU (pid $QPID) still runs"
    assert_eq "" "$(find "$root" "$tmp" \( -name 'seed*' -o -name 'user-data' \) -print)" "seed files"
    assert_eq "" "$(procs_with "$root/")" "processes still using the root"
    expect_exit 0 yv "$root" --json status --name pc
    assert_eq "stopped" "$(jv 'd["state"]' "$OUT")" "state of the new pc"
    assert_eq "null" "$(jv 'd.get("pid")' "$OUT")" "pid of the new pc"
    expect_exit 0 yv "$root" delete --name pc
    assert_no_trace "$before" "$root"
}

# The TUI's rescan reaps it too (the TUI is started after the kill, as a user would).
test_4_sigkilled_first_boot_reaped_by_tui()
{
    local root t tmp before sock d
    command -v tmux >/dev/null || fail "tmux is needed (apt-get install tmux)"
    a_root root
    mktmp_into t
    mktmp_into tmp
    secrets "$t"
    before=$(snapshot_root "$root")
    kill_first_boot "$root" "$t" "$tmp"
    sock="yvkc-$$-$BASHPID"
    at_exit rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$sock"
    at_exit tmux -L "$sock" kill-server
    mktmp_into d
    printf '%s; echo EXIT=$?; exec sleep 300\n' "$(printf '%q ' env LC_ALL=C.UTF-8 \
        TERM=tmux-256color "$YAVE_TEST_BIN" --root "$root")" >"$d/tui.sh"
    tmux -L "$sock" -f /dev/null new-session -d -s t -x 80 -y 24 "bash $d/tui.sh" ||
        fail "tmux new-session failed"
    wait_exited "$QPID" 300 # 30 s
    for _ in $(seq 100); do
        [ -e "$root/.pc.vm.part" ] || break
        sleep 0.1
    done
    tmux -L "$sock" send-keys -t t q
    for _ in $(seq 100); do
        tmux -L "$sock" capture-pane -p -t t | grep -q '^EXIT=' && break
        sleep 0.1
    done
    assert_match '^EXIT=0' "$(tmux -L "$sock" capture-pane -p -t t | grep '^EXIT=')" "the TUI's exit"
    rm -f "$root/run/tui.log"
    assert_reaped "$root" "$before" "$tmp"
    assert_new_pc "$root"
}

# yave-web reaps at its start (a create killed with an earlier yave-web, by systemd or the OOM
# killer, left its first boot running).
test_4b_sigkilled_first_boot_reaped_by_web_start()
{
    local root t tmp before wpid web
    web=${YAVE_TEST_WEB:-$REPO_DIR/build/asan/yave-web}
    [ -x "$web" ] || fail "no yave-web at $web"
    a_root root
    mktmp_into t
    mktmp_into tmp
    secrets "$t"
    before=$(snapshot_root "$root")
    kill_first_boot "$root" "$t" "$tmp"
    "$web" --root "$root" --listen "127.0.0.1:$((20000 + RANDOM % 20000))" </dev/null \
        >"$t/web.out" 2>"$t/web.err" &
    wpid=$!
    at_exit end_process "$wpid" "$web"
    wait_exited "$QPID" 300 # 30 s
    for _ in $(seq 100); do
        [ -e "$root/.pc.vm.part" ] || break
        sleep 0.1
    done
    end_process "$wpid" "$web"
    assert_reaped "$root" "$before" "$tmp"
}

# slow_copy_root VAR T: a_root plus a base image `big` of 32 MiB of random data, and cli.img a
# wrapper that slows qemu-img convert to 1 MiB/s.
slow_copy_root()
{
    local __sc_r
    a_root __sc_r
    head -c $((32 << 20)) /dev/urandom >"$2/big.raw"
    qemu-img convert -q -O qcow2 "$2/big.raw" "$__sc_r/big.qcow2" || fail "convert"
    rm -f "$2/big.raw"
    # shellcheck disable=SC2016 # the wrapper's own $1 and $@
    printf '#!/bin/sh\n[ "$1" = convert ] && { shift; exec qemu-img convert -r 1M "$@"; }\nexec qemu-img "$@"\n' \
        >"$2/slow-img"
    chmod +x "$2/slow-img"
    printf 'cli:\n  img: %s\n' "$2/slow-img" >>"$__sc_r/config.yaml"
    printf -v "$1" '%s' "$__sc_r"
}

# start_copy ROOT T: `create --name cp --image big` in the background (PID in CPID), once its
# qemu-img convert runs. With SIGINT and SIGHUP at their defaults, as a terminal's foreground job
# has them (lib.sh, DEFAULT_SIGNALS).
start_copy()
{
    local p
    "${DEFAULT_SIGNALS[@]}" "$YAVE_TEST_BIN" --batch --root "$1" create --name cp --image big \
        --no-network --no-ovmf -V abcdefgh </dev/null >"$2/out" 2>"$2/err" &
    CPID=$!
    at_exit kill -KILL "$CPID"
    for _ in $(seq 100); do
        p=$(procs_with "$1/big.qcow2")
        [ -n "$p" ] && break
        sleep 0.1
    done
    [ -n "$p" ] || fail "qemu-img convert did not start: $(cat "$2/err")"
    [ -d "$1/.cp.vm.part" ] || fail "no .part folder of the copy"
    grep -q "cp" "$1/vnc_table.yaml" || fail "no display reserved for cp: $(cat "$1/vnc_table.yaml")"
    sleep 1
}

# no_copy_left ROOT BEFORE: no qemu-img on the base, the root as BEFORE (no .part, the display free).
no_copy_left()
{
    local p
    for _ in $(seq 50); do
        p=$(procs_with "$1/big.qcow2")
        [ -z "$p" ] && break
        sleep 0.1
    done
    assert_eq "" "$p" "qemu-img still running"
    assert_no_file "$1/.cp.vm.part" "the .part folder"
    assert_no_trace "$2" "$1"
}

# signalled_copy SIG: SIG to yave alone (a service manager's stop, a closed terminal) during the
# copy: the create ends at once with "interrupted", and nothing is left when it has exited.
signalled_copy()
{
    local root t before rc
    mktmp_into t
    slow_copy_root root "$t"
    before=$(snapshot_root "$root")
    start_copy "$root" "$t"
    kill -s "$1" "$CPID"
    wait_exited "$CPID" 300 # 30 s; the copy alone would take 32 s
    rc=0
    wait "$CPID" || rc=$?
    assert_eq 1 "$rc" "exit status after SIG$1"
    assert_eq "yave-tui: create: interrupted" "$(tail -n 1 "$t/err")" "the error line"
    assert_eq "" "$(cat "$t/out")" "stdout"
    no_copy_left "$root" "$before"
}

test_5_sigterm_during_copy_leaves_nothing()
{
    signalled_copy TERM
}

test_6_sigint_during_copy_leaves_nothing()
{
    signalled_copy INT
}

test_7_sighup_during_copy_leaves_nothing()
{
    signalled_copy HUP
}

# SIGKILL during the copy: qemu-img ends with its parent, and the next list reaps the rest.
test_8_sigkilled_copy_reaped_by_list()
{
    local root t before
    mktmp_into t
    slow_copy_root root "$t"
    before=$(snapshot_root "$root")
    start_copy "$root" "$t"
    kill -KILL "$CPID"
    wait "$CPID" 2>/dev/null
    [ -d "$root/.cp.vm.part" ] || fail "the killed create left no .part folder (nothing to test)"
    expect_exit 0 yv "$root" list
    assert_eq "other" "$OUT" "the VMs of the root"
    no_copy_left "$root" "$before"
}

# A .part whose create still runs is never touched by list, status or another create.
test_9_live_create_untouched()
{
    local root t before
    mktmp_into t
    slow_copy_root root "$t"
    before=$(snapshot_root "$root")
    start_copy "$root" "$t"
    expect_exit 0 yv "$root" list
    expect_exit 0 yv "$root" status
    expect_exit 4 yv "$root" create --name cp -c 16 --no-network --no-ovmf -V abcdefgh
    assert_file "$root/.cp.vm.part/hd0.qcow2" "the disk being copied"
    grep -q "cp" "$root/vnc_table.yaml" || fail "the display of cp was freed"
    kill -s TERM "$CPID"
    wait "$CPID" 2>/dev/null
    no_copy_left "$root" "$before"
}

run_tests "$@"
