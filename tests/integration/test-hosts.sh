#!/usr/bin/env bash
# Many hosts over plain OpenSSH (spec §14): two real sshd's in network namespaces of the test
# (ssh-lib.sh), each "host" with its own root, reached with the test's key, plus the local root.
# The real yave-tui in tmux lists the VMs of all three with their HOST, and the host filter (/@h2,
# /@local) shows one host's; a VM of host 2 starts from the keyboard, its row running within the
# issue's 2 s (asserted as a 5 s hang bound, timed in make bench); host 2's sshd killed: its rows
# say unreachable while host 1's VM still starts; shutdown, force stop, delete and netdev down/up of
# a remote VM after their questions, checked in the host's root (and its namespace); a form's row
# refused on a remote VM, saying why; sshd back: the rows come back without a key; the console of a
# remote VM reaches its guest (the echo guest of lib.sh); a changed host key is refused with a clear
# message; `status --host`.
# The remote side is the same yave-tui binary (bin: in hosts.yaml), run by sshd inside the
# namespace: the QEMUs it starts live there.
. "$(dirname "$0")/tui-lib.sh"
. "$(dirname "$0")/ssh-lib.sh"

# end_masters DIR: the ControlPersist masters behind the control sockets in DIR exit (the TUI leaves
# them for the next start, as it should; the test must not).
end_masters()
{
    local s
    for s in "$1"/*; do
        [ -S "$s" ] && ssh -o ControlPath="$s" -O exit yave-test-host >/dev/null 2>&1
    done
    return 0
}

# hosts_config DIR NAME=ROOT...: DIR/config/yave/hosts.yaml naming the test's sshd hosts (ssh_config:
# ssh-lib's), each with its root and this yave-tui as bin; the TUI's environment points at it
# (TUI_ENV) and at DIR/run for the control sockets; HOSTS_ENV for batch commands.
hosts_config()
{
    local d=$1 spec
    shift
    mkdir -p "$d/config/yave" "$d/run" || fail "mkdir"
    chmod 700 "$d/run"
    {
        printf 'ssh_config: %s\nhosts:\n' "$SSHD_CONFIG"
        for spec in "$@"; do
            printf '  - {name: %s, ssh: %s, root: %s, bin: %s}\n' "${spec%%=*}" "${spec%%=*}" \
                "${spec#*=}" "$YAVE_TEST_BIN"
        done
    } >"$d/config/yave/hosts.yaml"
    TUI_ENV="XDG_CONFIG_HOME=$d/config XDG_RUNTIME_DIR=$d/run"
    HOSTS_ENV=(env "XDG_CONFIG_HOME=$d/config" "XDG_RUNTIME_DIR=$d/run")
    at_exit end_masters "$d/run/yave-ssh"
}

# filter_to VM: the list filtered to VM (its row then the selected one).
filter_to()
{
    text /
    text "$1"
    keys Enter
    wait_screen "^ ?$1 "
}

# shown_rows: the names of the VM rows in SCREEN (a HOST column of this file's hosts), sorted, by
# spaces.
shown_rows()
{
    awk '$2 ~ /^(local|h[0-9])$/ {print $1}' <<<"$SCREEN" | sort | paste -sd ' '
}

# wait_shown VM...: polls until the list shows exactly the VMs named (bound: $HANG).
wait_shown()
{
    local want end
    want=$(printf '%s\n' "$@" | sort | paste -sd ' ')
    end=$(($(now_ms) + HANG * 1000))
    while SCREEN=$(cap); [ "$(shown_rows)" != "$want" ]; do
        [ "$(now_ms)" -lt "$end" ] || {
            dump_screen
            fail "the list shows [$(shown_rows)], not [$want]"
        }
        sleep 0.02
    done
}

# filter_host HOST VM...: the list filtered to "@HOST" (spec §14's host filter, Esc clears it)
# shows exactly the VMs named.
filter_host()
{
    local host=$1
    shift
    text /
    text "@$host"
    keys Enter
    wait_shown "$@"
}

# start_within VM ERE WHAT: r on the selected VM turns its row to match ERE, measured from the key to
# the row and logged; then its job says it started. Spec §14's "within 2 s" is a figure of make
# bench (tests/bench/hosts.py: a remote change to its row next to a local one), not a deadline here:
# on this shared 2-core machine the sanitizer build's and QEMU's own start took 1.3-2.7 s of it
# under load (house rule: a test's deadline bounds a hang). 5 s still fails a row that waits for a
# retry, the 6 s liveness rule or a key press to turn running.
start_within()
{
    local t0 ms
    set_now
    t0=$NOW_MS
    text r
    wait_row "$1" "$2" 10
    set_now
    ms=$((NOW_MS - t0))
    note "$3: running $ms ms after r"
    [ "$ms" -le 5000 ] || fail "$3: its row turned running $ms ms after r (a hang's bound: 5 s)"
    # the job's own end (its ssh) can come after the row: its word on the status line would
    # replace whatever the next step expects there
    wait_screen "^ $1(@[^ ]+)? started"
}

# in_netns PID NAME: PID runs in the network namespace of ssh-lib host NAME.
in_netns()
{
    local want
    want=$(stat -Lc %i "/run/netns/$(sshd_ns "$2")") || fail "no namespace of $2"
    [ "$(stat -Lc %i "/proc/$1/ns/net")" = "$want" ]
}

# a, b, c, d of the issue: one list, a remote start, a host killed and back.
test_hosts_in_one_list()
{
    local lroot r1 r2 d pid sock
    sshd_setup
    sshd_host_up h1
    sshd_host_up h2
    tui_root lroot la
    tui_root r1 xa
    tui_root r2 ya yb
    mktmp_into d
    hosts_config "$d" h1="$r1" h2="$r2"
    TUI_W=120 tui_start "$lroot"
    wait_screen 'h1: up +h2: up'
    wait_row la '^la +local +stopped '
    wait_row xa '^xa +h1 +stopped '
    wait_row ya '^ya +h2 +stopped '
    wait_row yb '^yb +h2 +stopped '
    # one multiplexed connection a host: its control socket 0600, in a folder only we can enter
    assert_eq "$(stat -c %a "$d/run/yave-ssh")" 700 "the control folder's mode"
    for sock in "$d"/run/yave-ssh/*; do
        [ -S "$sock" ] || fail "not a socket in the control folder: $sock"
        assert_eq "$(stat -c %a "$sock")" 600 "a control socket's mode"
    done
    assert_eq "$(find "$d/run/yave-ssh" -type s | wc -l)" 2 "control sockets (one a host)"

    # the host filter: @h2 shows exactly host 2's VMs, @local this machine's; Esc clears it
    filter_host h2 ya yb
    keys Escape
    wait_shown la xa ya yb
    filter_host local la
    keys Escape
    wait_shown la xa ya yb

    # a VM of host 2 started from the keyboard: yave-tui there starts it, in host 2's namespace
    filter_to ya
    start_within ya '^ya +h2 +running ' "ya on h2"
    pid=$(cat "$r2/run/ya.pid") || fail "no run/ya.pid on host 2"
    is_qemu "$pid" || fail "ya's pid $pid is not a QEMU"
    in_netns "$pid" h2 || fail "ya's QEMU does not run on host 2 (its namespace)"
    keys Escape
    wait_row la '^la '

    # host 2's sshd killed: its rows say unreachable, and host 1's VM still starts at once
    sshd_kill h2
    wait_row ya '^ya +h2 +unreachable ' 5
    wait_row yb '^yb +h2 +unreachable '
    wait_screen 'h2: unreachable'
    filter_to xa
    start_within xa '^xa +h1 +running ' "xa on h1, h2 down"
    keys Escape
    # details of an unreachable host's VM say why; an action on it is refused with why
    filter_to yb
    text r
    wait_screen 'yb: host h2 is unreachable'
    keys Enter
    wait_screen '^host h2: unreachable: '
    keys Escape
    keys Escape
    wait_row la '^la '

    # sshd back: the rows come back by themselves (the retry's backoff is at most 8 s)
    sshd_restart h2
    wait_row ya '^ya +h2 +running ' 30
    wait_row yb '^yb +h2 +stopped '
    wait_screen 'h1: up +h2: up'
    is_qemu "$pid" || fail "ya's QEMU did not outlive its host's sshd"
}

# remote_run ROOT VM NAME: batch run of VM on host NAME (its yave-tui, in its namespace), the pid of
# its QEMU printed.
remote_run()
{
    sshd_ssh "$3" "$YAVE_TEST_BIN" --batch --root "$1" run --name "$2" >/dev/null ||
        fail "run $2 on $3"
    cat "$1/run/$2.pid" || fail "no run/$2.pid on $3"
}

# Shutdown (graceful and forced) and delete (stopped, and running: forced) of a remote VM from the
# TUI, each after its question, carried out by yave-tui on the host: its root says so after. A row
# that stays on this machine (a form) is refused on a remote VM with why.
test_remote_stop_and_delete()
{
    local lroot r1 d pa pb pc
    sshd_setup
    sshd_host_up h1
    tui_root lroot
    tui_root r1 xa xb xc
    pa=$(remote_run "$r1" xa h1) || exit 1
    pb=$(remote_run "$r1" xb h1) || exit 1
    pc=$(remote_run "$r1" xc h1) || exit 1
    mktmp_into d
    hosts_config "$d" h1="$r1"
    TUI_W=120 tui_start "$lroot"
    wait_row xa '^xa +h1 +running '
    wait_row xb '^xb +h1 +running '
    wait_row xc '^xc +h1 +running '

    # a form's row on a remote VM: refused, saying why
    filter_to xa
    text e
    wait_screen "xa is on host h1: Edit works on this machine's VMs only \(its form is filled"
    # force stop: the question, then QEMU on host 1 quits
    text K
    wait_screen 'Stop xa(@h1)? now\?'
    keys y
    wait_row xa '^xa +h1 +stopped ' 15
    wait_screen 'xa(@h1)? stopped \(by '
    wait_exited "$pa" 50
    assert_no_file "$r1/run/xa.pid" "xa's pid file on host 1 after the force stop"
    keys Escape

    # graceful shutdown: the tiny guest ignores ACPI, host 1's yave-tui escalates (timeout 3 s)
    filter_to xb
    text s
    wait_row xb '^xb +h1 +stopped ' 30
    wait_screen 'xb(@h1)? stopped \(by '
    wait_exited "$pb" 50
    assert_no_file "$r1/run/xb.pid" "xb's pid file on host 1 after the shutdown"
    keys Escape

    # delete of a running VM: the question says so, host 1 stops it and removes it
    filter_to xc
    text D
    wait_screen 'Delete xc(@h1)?\? It is RUNNING'
    keys y
    wait_screen 'xc(@h1)? deleted' 30
    wait_exited "$pc" 50
    assert_no_file "$r1/xc.vm" "xc's folder on host 1 after the delete"
    keys Escape
    # delete of a stopped one; a key other than y first cancels
    filter_to xa
    text D
    wait_screen 'Delete xa(@h1)? and its disks for good\?'
    keys n
    wait_gone 'for good\?'
    assert_file "$r1/xa.vm/config.yaml" "n must keep the remote VM"
    text D
    wait_screen 'Delete xa(@h1)? and its disks for good\?'
    keys y
    wait_screen 'xa(@h1)? deleted' 30
    assert_no_file "$r1/xa.vm" "xa's folder on host 1 after the delete"
    keys Escape
    wait_shown xb
    assert_file "$r1/xb.vm/config.yaml" "the VM not deleted"
    run_cmd "${HOSTS_ENV[@]}" "$YAVE_TEST_BIN" --batch --json status --host h1
    assert_eq "$(jv '[v["name"] for v in d]')" '["xb"]' "host 1's VMs after the deletes"
}

# netdev down/up of a remote VM from the TUI (N asks first, n does not): run on its host, whose
# TAP leaves and rejoins the bridge there.
test_remote_netdev()
{
    local lroot r1 d tap
    sshd_setup
    sshd_host_up h1
    sshd_x h1 ip link add yvbr0 type bridge || fail "bridge in h1"
    sshd_x h1 ip link set yvbr0 up || fail "bridge up in h1"
    tui_root lroot
    tui_root r1
    expect_exit 0 sshd_x h1 "$YAVE_TEST_BIN" --batch --root "$r1" create --no-ovmf -c 64 -m 64 \
        --network tap --master yvbr0 --name xn --vnc-password-file "$(dirname "$r1")/vncpw"
    remote_run "$r1" xn h1 >/dev/null || exit 1
    run_cmd "$YAVE_TEST_BIN" --batch --json --root "$r1" status --name xn
    tap=$(jv 'd["networks"][0]["ifname"]') || exit 1
    assert_contains "$(sshd_x h1 ip -o link show dev "$tap")" "master yvbr0" "xn's TAP on h1"
    mktmp_into d
    hosts_config "$d" h1="$r1"
    TUI_W=120 tui_start "$lroot"
    wait_row xn '^xn +h1 +running '
    text N
    wait_screen 'Detach xn(@h1)? from its bridge\?'
    keys y
    wait_screen 'xn(@h1)?: network detached' 15
    assert_not_contains "$(sshd_x h1 ip -o link show dev "$tap")" "master yvbr0" \
        "xn's TAP on h1 after N"
    text n
    wait_screen 'xn(@h1)?: network attached' 15
    assert_contains "$(sshd_x h1 ip -o link show dev "$tap")" "master yvbr0" "xn's TAP on h1 after n"
}

# A host that goes silent (its packets dropped, sshd still running: a cable pulled, a hung
# machine) is found out by ssh's keepalives: its rows say unreachable, the other host's VM still
# starts from the keyboard meanwhile, and the rows come back when the network does.
test_silent_host()
{
    local lroot r1 r2 d t0
    sshd_setup
    sshd_host_up h1
    sshd_host_up h2
    tui_root lroot
    tui_root r1 xa
    tui_root r2 ya
    mktmp_into d
    hosts_config "$d" h1="$r1" h2="$r2"
    TUI_W=120 tui_start "$lroot"
    wait_row ya '^ya +h2 +stopped '
    wait_row xa '^xa +h1 +stopped '
    sshd_cut h2
    set_now
    t0=$NOW_MS
    filter_to xa
    text r
    wait_row xa '^xa +h1 +running ' 10
    note "xa on h1 running ${WAITED} ms after r, h2 silent"
    keys Escape
    wait_row ya '^ya +h2 +unreachable ' 20
    set_now
    note "h2 silent: its row unreachable $((NOW_MS - t0)) ms after the cut"
    sshd_uncut h2
    wait_row ya '^ya +h2 +stopped ' 30
}

# e. The console of a remote VM, through the TUI and the host's connection, reaches its guest:
# the echo guest answers what is typed, upper-cased; Ctrl-] comes back to the list.
test_remote_console()
{
    local lroot r1 d
    sshd_setup
    sshd_host_up h1
    tui_root lroot
    tui_root r1
    echo_guest_image "$r1/echo.qcow2"
    expect_exit 0 yv "$r1" create --no-network --no-ovmf -c 64 -m 64 --name ye --image echo \
        --vnc-password-file "$(dirname "$r1")/vncpw"
    mktmp_into d
    hosts_config "$d" h1="$r1"
    TUI_W=120 tui_start "$lroot"
    wait_row ye '^ye +h1 +stopped '
    text r
    wait_row ye '^ye +h1 +running ' 10
    wait_line "$r1/ye.vm/serial.log" 'yave-echo-guest: ready' "$(cat "$r1/run/ye.pid")" "$HANG" 0.05
    in_netns "$(cat "$r1/run/ye.pid")" h1 || fail "ye's QEMU does not run on host 1"
    text o
    wait_gone '^ YAVE ' # the console has the terminal
    text 'hello remote'
    wait_screen 'HELLO REMOTE'
    keys C-]
    wait_screen '^ YAVE '
    wait_row ye '^ye +h1 +running '
    grep -q 'HELLO REMOTE' "$r1/ye.vm/serial.log" || fail "serial.log on host 1 lacks the echo"
}

# The screen view of a remote VM goes through the host's connection too: its VNC server listens on
# the host's loopback only, the view gets the picture through a UNIX socket ssh forwards into the
# private folder (0600), and the forward and the socket go with the view.
test_remote_view()
{
    local lroot r1 d pid socks listens
    sshd_setup
    sshd_host_up h1
    tui_root lroot
    tui_root r1 xv
    mktmp_into d
    hosts_config "$d" h1="$r1"
    TUI_W=120 TUI_H=30 tui_start "$lroot"
    wait_row xv '^xv +h1 +stopped '
    text r
    wait_row xv '^xv +h1 +running ' 10
    pid=$(cat "$r1/run/xv.pid")
    in_netns "$pid" h1 || fail "xv's QEMU does not run on host 1"
    # on the host, QEMU's VNC server listens on a loopback address only
    listens=$(sshd_x h1 ss -Hltnp | grep "pid=$pid," | awk '{print $4}')
    [ -n "$listens" ] || fail "no listening socket of xv's QEMU on host 1"
    ! grep -Ev '^127\.' <<<"$listens" || fail "xv's QEMU listens beyond the host's loopback"
    # what the remote TUI asks the host: the password only in the --json document, never as text
    run_cmd "$YAVE_TEST_BIN" --batch --root "$r1" vnc-endpoint --name xv
    assert_eq "$RC" 0 "vnc-endpoint: $ERR"
    assert_match "^$VNC_LISTEN 59[0-9][0-9] password set$" "$OUT" "vnc-endpoint text"
    assert_not_contains "$OUT" pw345678 "vnc-endpoint text"
    run_cmd "$YAVE_TEST_BIN" --batch --json --root "$r1" vnc-endpoint --name xv
    assert_eq "$(jv 'd["password"]')" pw345678 "vnc-endpoint --json password"
    text v
    wait_screen '^ xv@h1 — live [0-9]+x[0-9]+' 30
    socks=$(find "$d/run/yave-ssh" -name 'view-*.sock' -type s)
    [ -n "$socks" ] || fail "no forwarded socket in the private folder while the view shows"
    assert_eq "$(stat -c %a "$socks")" 600 "the forwarded socket's mode"
    keys C-]
    wait_row xv '^xv +h1 +running '
    [ -z "$(find "$d/run/yave-ssh" -name 'view-*.sock')" ] ||
        fail "the forwarded socket outlived the view"
}

# A host whose yave-tui is missing, or too old to have watch, says so — in the TUI (the status
# line: such a host has no rows) and in batch; the other host is not held up by them.
test_missing_and_old_yave()
{
    local lroot r1 d old
    sshd_setup
    sshd_host_up h1
    tui_root lroot
    tui_root r1 xa
    mktmp_into d
    old=$d/old-yave-tui # what a yave-tui before watch answers
    printf '#!/bin/sh\necho "yave-tui: unknown command '"'"'watch'"'"' (try --help)" >&2\nexit 2\n' >"$old"
    chmod 755 "$old"
    hosts_config "$d" h1="$r1"
    printf '  - {name: gone, ssh: h1, bin: /nonexistent/yave-tui}\n  - {name: old, ssh: h1, bin: %s}\n' \
        "$old" >>"$d/config/yave/hosts.yaml"
    run_cmd "${HOSTS_ENV[@]}" "$YAVE_TEST_BIN" --batch status --host gone
    assert_eq "$RC" 5 "status --host of a host without yave-tui"
    assert_contains "$ERR" "/nonexistent/yave-tui not found on gone" "status --host gone"
    run_cmd "${HOSTS_ENV[@]}" "$YAVE_TEST_BIN" --batch status --host old
    assert_eq "$RC" 5 "status --host of a host with an old yave-tui"
    assert_contains "$ERR" "on old is too old" "status --host old"
    TUI_W=150 tui_start "$lroot"
    wait_row xa '^xa +h1 +stopped '
    wait_screen 'h1: up +gone: unreachable +old: unreachable'
    wait_screen 'host gone: /nonexistent/yave-tui not found on gone'
}

# f. A host whose key changed is refused, in the TUI (details say so) and in batch.
test_changed_host_key()
{
    local lroot r1 d
    sshd_setup
    sshd_host_up h1
    tui_root lroot
    tui_root r1 xa
    mktmp_into d
    hosts_config "$d" h1="$r1"
    run_cmd "${HOSTS_ENV[@]}" "$YAVE_TEST_BIN" --batch --json status --host h1
    assert_eq "$RC" 0 "status --host h1: $ERR"
    assert_eq "$(jv '[v["name"] for v in d]')" '["xa"]' "status --host h1: the VMs of host 1's root"
    run_cmd "${HOSTS_ENV[@]}" "$YAVE_TEST_BIN" --batch status --host h1 --name xa
    assert_eq "$RC" 0 "status --host h1 --name xa: $ERR"
    assert_contains "$OUT" "stopped" "status --host text"
    run_cmd "${HOSTS_ENV[@]}" "$YAVE_TEST_BIN" --batch --json status --host h1 --name nope
    assert_eq "$RC" 3 "status --host of a VM the host lacks"
    assert_json_error VM_NOT_FOUND
    run_cmd "${HOSTS_ENV[@]}" "$YAVE_TEST_BIN" --batch status --host nohost
    assert_eq "$RC" 2 "status --host of a host not in hosts.yaml"
    TUI_W=120 tui_start "$lroot"
    wait_row xa '^xa +h1 +stopped '
    sshd_rekey h1
    end_masters "$d/run/yave-ssh" # a master made before the new key would carry on: a new connection
    wait_row xa '^xa +h1 +unreachable ' 15
    filter_to xa
    keys Enter
    wait_screen 'host key of h1 \(h1\) changed'
    run_cmd "${HOSTS_ENV[@]}" "$YAVE_TEST_BIN" --batch status --host h1
    assert_eq "$RC" 5 "status --host h1 with a changed key"
    assert_contains "$ERR" "host key of h1 (h1) changed" "status --host error"
}

run_tests "$@"
