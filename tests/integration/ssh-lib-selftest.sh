#!/usr/bin/env bash
# A check of ssh-lib.sh itself (not a test of YAVE, not part of run-all, which runs test-*.sh only):
# two real sshd hosts answer `ssh -F "$SSHD_CONFIG" NAME` with BatchMode=yes; a ControlMaster
# connection drops within 5 s after sshd_kill and after sshd_cut, works again after sshd_restart
# and sshd_uncut; a daemonized process in the namespace outlives sshd_kill; after sshd_rekey ssh
# refuses the host; a file-level sshd_setup and a test failing midway leave nothing behind. Run by
# hand, as root: tests/integration/ssh-lib-selftest.sh [test_name...]
export YAVE_TEST_BIN=${YAVE_TEST_BIN:-/bin/true}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh-lib.sh"

# every folder and veth this file's hosts had, for the final check of leftovers
MINE=$(mktemp /tmp/yave-it-selftest.XXXXXXXX) || exit 1

# host_up NAME: sshd_host_up, remembered in $MINE
host_up()
{
    sshd_host_up "$1"
    printf '%s %s\n' "$SSHD_DIR" "$(cat "$SSHD_DIR/h/$1/veth")" >>"$MINE"
}

# the options a remote host's connection in YAVE uses (spec §14)
mux_opts()
{
    MUX=(-o ControlMaster=auto -o "ControlPath=$1/%C" -o ControlPersist=30
        -o ServerAliveInterval=1 -o ServerAliveCountMax=3)
}

# master_up HOST CTLDIR: a persisting master connection to HOST; sets MASTER_PID.
master_up()
{
    mux_opts "$2"
    at_exit ssh -F "$SSHD_CONFIG" "${MUX[@]}" -O exit "$1"
    expect_exit 0 sshd_ssh "$1" "${MUX[@]}" true
    run_cmd ssh -F "$SSHD_CONFIG" "${MUX[@]}" -O check "$1"
    [[ "$ERR" =~ Master\ running\ \(pid=([0-9]+)\) ]] || fail "no master for $1: $ERR"
    MASTER_PID=${BASH_REMATCH[1]}
}

# wait_gone PID SECONDS WHAT: PID exits within SECONDS (tenths), else fails.
wait_gone()
{
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        pid_exited "$1" && return 0
        sleep 0.1
    done
    fail "$3 still there after $2 s"
}

# no_leftovers DIR NS...: nothing of an ssh-lib scope remains: DIR, the namespaces, their sshd.
no_leftovers()
{
    local d=$1 ns
    shift
    assert_no_file "$d" "ssh-lib's temporary folder"
    for ns in "$@"; do
        ! ip netns list | grep -qw -- "$ns" || fail "namespace $ns left"
    done
    [ -z "$(procs_with "$d/")" ] || fail "processes left: $(procs_with "$d/")"
}

test_two_hosts()
{
    sshd_setup
    host_up h1
    local a1=$SSHD_ADDR
    host_up h2
    assert_ne "$a1" "$SSHD_ADDR" "the two hosts' addresses"
    assert_eq "$SSHD_NS" "$(sshd_ns h2)" "SSHD_NS"
    expect_exit 0 sshd_ssh h1 true
    expect_exit 0 sshd_ssh h2 'ip -4 -o addr show dev eth0'
    assert_contains "$OUT" "inet $SSHD_ADDR/30" "h2's session runs in h2's namespace"
    expect_exit 0 sshd_ssh h1 'echo "$USER"'
    assert_eq root "$OUT" "the remote user"
    assert_eq "$a1" "$(sshd_addr h1)" "sshd_addr"
    [ "$(sshd_pids h1 | wc -l)" -ge 1 ] || fail "no sshd pid for h1"
}

test_kill_drops_master_not_daemons()
{
    local t start sess dpid
    sshd_setup
    mktmp_into t
    host_up h1
    host_up h2
    master_up h1 "$t"
    # a session on the shared connection, and a daemon the session leaves behind
    sshd_ssh h1 "${MUX[@]}" sleep 100 </dev/null >/dev/null 2>&1 &
    sess=$!
    expect_exit 0 sshd_ssh h1 "${MUX[@]}" 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!'
    dpid=$OUT
    [ "$(readlink "/proc/$dpid/exe")" = "$(realpath "$(command -v sleep)")" ] || fail "daemon $dpid"
    sleep 0.5
    start=$(now_ms)
    sshd_kill h1
    assert_eq "" "$(sshd_pids h1)" "h1's sshd processes after sshd_kill"
    wait_gone "$MASTER_PID" 5 "the master connection after sshd_kill"
    wait_gone "$sess" 5 "the session through the master after sshd_kill"
    echo "      master and session gone $(($(now_ms) - start)) ms after sshd_kill" >&2
    pid_exited "$dpid" && fail "the daemonized process died with sshd"
    expect_exit 255 sshd_ssh h1 true
    expect_exit 0 sshd_ssh h2 true
    sshd_restart h1
    expect_exit 0 sshd_ssh h1 true
    master_up h1 "$t"
    expect_exit 0 sshd_ssh h1 "${MUX[@]}" "kill -0 $dpid"
}

test_cut_silences_host()
{
    local t start
    sshd_setup
    mktmp_into t
    host_up h1
    master_up h1 "$t"
    start=$(now_ms)
    sshd_cut h1
    wait_gone "$MASTER_PID" 5 "the master connection after sshd_cut"
    echo "      master gone $(($(now_ms) - start)) ms after sshd_cut" >&2
    [ -n "$(sshd_pids h1)" ] || fail "sshd_cut ended sshd"
    start=$SECONDS
    expect_exit 255 sshd_ssh h1 true
    assert_contains "$ERR" "timed out" "a new connection to a cut host"
    [ $((SECONDS - start)) -le 5 ] || fail "ConnectTimeout not applied"
    sshd_uncut h1
    expect_exit 0 sshd_ssh h1 true
    master_up h1 "$t"
}

test_rekey_is_refused()
{
    sshd_setup
    host_up h1
    expect_exit 0 sshd_ssh h1 true
    sshd_rekey h1
    expect_exit 255 sshd_ssh h1 true
    assert_contains "$ERR" "REMOTE HOST IDENTIFICATION HAS CHANGED" "a changed host key"
    assert_contains "$ERR" "Host key verification failed" "a changed host key"
    sshd_restart h1
    expect_exit 255 sshd_ssh h1 true
}

# a test that fails with two hosts up leaves nothing (its cleanup runs as its subshell ends)
test_failing_test_cleans_up()
{
    local d ns
    d=$(mktemp /tmp/yave-it-selftest.XXXXXXXX) || fail mktemp
    at_exit rm -f "$d"
    (
        CURRENT_TEST=inner
        _CLEANUP=()
        trap _run_cleanup EXIT
        sshd_setup
        host_up a
        host_up b
        dpid=$(sshd_ssh a 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!')
        printf '%s %s %s %s\n' "$dpid" "$SSHD_DIR" "$(sshd_ns a)" "$(sshd_ns b)" >"$d"
        fail "failing on purpose (expected)"
    ) 2>/dev/null && fail "the inner test should fail"
    read -r -a ns <"$d"
    [[ "${ns[0]}" =~ ^[0-9]+$ ]] || fail "no daemon pid from the inner test"
    pid_exited "${ns[0]}" || fail "the daemon in the namespace outlived the cleanup"
    no_leftovers "${ns[@]:1}"
}

# sshd_setup outside a test: hosts shared by the file's tests, gone when the file ends
test_file_level_setup()
{
    local d
    d=$(mktemp /tmp/yave-it-selftest.XXXXXXXX) || fail mktemp
    at_exit rm -f "$d"
    bash -c '
        . "$1/lib.sh"; . "$1/ssh-lib.sh"
        sshd_setup
        sshd_host_up f1
        printf "%s %s\n" "$SSHD_DIR" "$SSHD_NS" >"$2"
        test_a() { sshd_ssh f1 true || fail "f1 in test_a"; sshd_kill f1; sshd_restart f1; }
        test_b() { sshd_ssh f1 true || fail "f1 in test_b"; }
        run_tests test_a test_b
    ' _ "$IT_DIR" "$d" >/dev/null || fail "the file-level tests failed"
    read -r -a ns <"$d"
    no_leftovers "${ns[@]}"
}

rc=0
run_tests "$@" || rc=$?
# after every test: none of this file's namespaces, folders, veths or sshd processes
left=$(
    ip netns list | grep "^yvs-$$-"
    while read -r d v; do
        [ -e "$d" ] && echo "$d"
        procs_with "$d/"
        ip -o link show "$v" 2>/dev/null
    done <"$MINE"
)
rm -f "$MINE"
if [ -n "$left" ]; then
    printf '    FAIL leftovers:\n%s\n' "$left" >&2
    rc=1
fi
exit "$rc"
