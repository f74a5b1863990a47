#!/usr/bin/env bash
# run / status / shutdown against a real QEMU (TCG, 64 MiB, an empty disk: the guest sits in
# SeaBIOS and ignores ACPI): proven states, the shutdown ladder, crashes and stale pidfiles, the VNC
# password (never on a command line, a real VNC client logs in with it), failed starts.
. "$(dirname "$0")/lib.sh"

VNCAUTH=${VNCAUTH:-$REPO_DIR/build/tools/vncauth}
# `make check` builds it (target asan); `make integration` alone may not have.
if [ "$VNCAUTH" = "$REPO_DIR/build/tools/vncauth" ] &&
    { [ ! -x "$VNCAUTH" ] || [ "$REPO_DIR/tests/tools/vncauth.c" -nt "$VNCAUTH" ]; }; then
    make -s -C "$REPO_DIR" build/tools/vncauth >/dev/null 2>&1 ||
        echo "    (cannot build $VNCAUTH: the VNC login checks will fail)" >&2
fi
PW=Zq7xW9pL # distinctive: grepped for everywhere it must not be

# ---- helpers of this file ----

# mkvm ROOT NAME [PASSWORD]: a tiny VM (no network, no UEFI, 64 MiB disk and memory); the password
# goes through a file, never through a command line.
mkvm()
{
    local pwf
    pwf=$(dirname "$1")/pw.$2
    printf '%s\n' "${3:-$PW}" >"$pwf"
    EXPECT_STDIN=$pwf expect_exit 0 yv "$1" create --no-network --no-ovmf -c 64 -m 64 --name "$2" \
        --vnc-password-file -
}

# status_json ROOT VM: `status --json --name VM` must exit 0 with one document (left in $OUT).
status_json()
{
    expect_exit 0 yv "$1" --json status --name "$2"
    assert_json_docs 1
}

# assert_state ROOT VM STATE: status --json says STATE.
assert_state()
{
    status_json "$1" "$2"
    assert_eq "$3" "$(jv 'd["state"]')" "state of $2"
}

# vm_pid ROOT VM: the content of run/VM.pid (fails when missing).
vm_pid()
{
    local p
    p=$(cat "$1/run/$2.pid" 2>/dev/null) || fail "no $1/run/$2.pid"
    [[ "$p" =~ ^[0-9]+$ ]] || fail "run/$2.pid holds '$p'"
    echo "$p"
}

# start_vm ROOT VM VAR: run must exit 0 and leave a live QEMU; its pid goes to VAR (OUT/ERR/RC are
# run's).
start_vm()
{
    expect_exit 0 yv "$1" run --name "$2"
    local __sv_p
    __sv_p=$(vm_pid "$1" "$2") || exit 1
    is_qemu "$__sv_p" || fail "run/$2.pid names $__sv_p, which is not a QEMU"
    printf -v "$3" '%s' "$__sv_p"
}

# assert_runtime_gone ROOT VM: no pidfile, no QMP socket, no event socket.
assert_runtime_gone()
{
    assert_no_file "$1/run/$2.pid" "pidfile left behind"
    assert_no_file "$1/run/$2.sock" "QMP socket left behind"
    assert_no_file "$1/run/$2.events" "QMP event socket left behind"
}

# assert_no_qemu ROOT: no QEMU of this root is alive.
assert_no_qemu()
{
    local q
    q=$(qemus_of "$1" | tr '\n' ' ')
    [ -z "$q" ] || fail "QEMU still running: pid $q"
}

# vnc_login HOST PORT PASSWORD: runs vncauth (sets OUT/ERR/RC like run_cmd).
vnc_login()
{
    local f
    f=$(mktemp /tmp/yave-it-pw.XXXXXXXX) || fail "mktemp"
    printf '%s\n' "$3" >"$f"
    EXPECT_STDIN=$f run_cmd "$VNCAUTH" "$1" "$2"
    rm -f "$f"
}

# has_real_kvm: /dev/kvm usable and the CPU has vmx/svm (then `auto` is kvm, not tcg).
has_real_kvm()
{
    [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo
}

# ---- the tests ----

# status of one running VM shows its usage counters (spec §15's metrics for scripts): its QEMU's
# resident memory and CPU time, the drives' bytes from QMP; a stopped VM has none.
test_status_usage_counters()
{
    local root pid rss
    new_root root
    mkvm "$root" u1
    start_vm "$root" u1 pid
    status_json "$root" u1
    rss=$(awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$pid/status")
    local got
    got=$(jv 'd["usage"]["rss_bytes"]')
    # the same process's resident memory, read a moment apart: within a quarter
    [ "$got" -gt $((rss * 3 / 4)) ] && [ "$got" -lt $((rss * 5 / 4)) ] ||
        fail "usage.rss_bytes $got, /proc/$pid/status says $rss"
    assert_eq true "$(jv 'd["usage"]["cpu_seconds"] > 0')" "usage.cpu_seconds > 0"
    assert_eq true "$(jv 'd["usage"]["disk_read_bytes"] >= 0 and d["usage"]["disk_written_bytes"] == 0')" \
        "usage: the drives' bytes (SeaBIOS reads the boot sector, writes nothing)"
    assert_eq false "$(jv '"net_rx_bytes" in d["usage"]')" "no TAP: no network counters"
    expect_exit 0 yv "$root" status --name u1
    assert_match "u1: usage: resident [0-9.]+[KMG], cpu [0-9.]+ s, disk read [0-9.]+[KMG]? written 0" \
        "$OUT" "status's usage line"
    # another client holds QMP: the usage /proc gives, no drives' bytes (the probe found QMP busy:
    # not asked again, which would wait out a second greeting deadline)
    hold_qmp "$root/run/u1.sock" 60
    status_json "$root" u1
    assert_eq true "$(jv 'd["usage"]["rss_bytes"] > 0')" "usage.rss_bytes while QMP is held"
    assert_eq false "$(jv '"disk_read_bytes" in d["usage"]')" "no drives' bytes while QMP is held"
    expect_exit 0 yv "$root" shutdown --name u1 --force
    status_json "$root" u1
    assert_eq false "$(jv '"usage" in d')" "a stopped VM has no usage"
}

test_run_status_shutdown_by_quit()
{
    local root pid t0 ms
    new_root root
    mkvm "$root" a1
    start_vm "$root" a1 pid
    assert_match "^started VM 'a1' \(pid $pid, tcg\)$" "$OUT" "run's report"

    status_json "$root" a1
    assert_eq running "$(jv 'd["state"]')" "state after run"
    assert_eq "$pid" "$(jv 'd["pid"]')" "status pid = run/a1.pid"
    assert_eq true "$(jv 'd["vnc"]["reachable"]')" "vnc.reachable"
    assert_eq "$VNC_LISTEN" "$(jv 'd["vnc"]["listen"]')" "vnc.listen"

    # the guest has no OS and ignores the ACPI button: after --timeout 2 the VM is quit
    local t sd s0 sms
    mktmp_into t
    t0=$(now_ms)
    yv "$root" shutdown --name a1 --timeout 2 </dev/null >"$t/out" 2>"$t/err" &
    sd=$!
    # meanwhile QMP is free (shutdown waits on the process, not on the socket): status answers
    sleep 0.7
    s0=$(now_ms)
    status_json "$root" a1
    sms=$(($(now_ms) - s0))
    assert_eq running "$(jv 'd["state"]')" "state while shutdown waits for the guest"
    assert_eq None "$(jv 'str(d.get("detail"))')" "status detail while shutdown waits for the guest"
    [ "$sms" -lt 900 ] || fail "status took ${sms} ms while shutdown was waiting"
    RC=0
    wait "$sd" || RC=$?
    ms=$(($(now_ms) - t0))
    LAST_CMD="yv $root shutdown --name a1 --timeout 2" # for fail's report
    OUT=$(cat "$t/out")
    ERR=$(cat "$t/err")
    assert_eq 0 "$RC" "shutdown's exit status"
    assert_stderr_empty
    assert_eq "VM 'a1' stopped (by quit)" "$OUT" "shutdown names the step that ended the VM"
    [ "$ms" -ge 1900 ] || fail "shutdown took ${ms} ms: it did not wait the 2 s for ACPI"
    [ "$ms" -lt 8000 ] || fail "shutdown took ${ms} ms"
    pid_exited "$pid" || fail "QEMU $pid still alive after shutdown returned"
    assert_runtime_gone "$root" a1

    status_json "$root" a1
    assert_eq stopped "$(jv 'd["state"]')" "state after shutdown"
    assert_eq null "$(jv 'd["pid"]')" "pid after shutdown"
    assert_eq false "$(jv 'd["vnc"]["reachable"]')" "vnc.reachable after shutdown"
}

# run leaves QEMU a daemon, as -daemonize did (run starts it without: a fork of QEMU in its
# start-up costs it a fifth of that start): not the child of any yave, in a session of its own
# that it does not lead, cwd /, umask 027, stdin and stdout on /dev/null. Its stderr stays the
# VM's qemu.log for its whole life (-daemonize sent it to /dev/null once QEMU was up): what QEMU
# says when it ends is kept there.
test_run_leaves_a_daemon_that_logs_to_qemu_log()
{
    local root pid st sid ppid
    new_root root
    mkvm "$root" d1
    start_vm "$root" d1 pid
    st=$(cat "/proc/$pid/stat")
    st=${st##*) }
    read -r _ ppid _ sid _ <<<"$st"
    [ "$ppid" != "$$" ] || fail "QEMU is the test's child"
    [ "$ppid" = 1 ] || ! grep -q yave "/proc/$ppid/comm" || fail "QEMU's parent $ppid is a yave"
    [ "$sid" != "$pid" ] || fail "QEMU leads its session (it could get a controlling terminal)"
    [ "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ] || fail "QEMU is in the test's session"
    assert_eq / "$(readlink "/proc/$pid/cwd")" "QEMU's cwd"
    assert_eq 0027 "$(awk '/^Umask:/ {print $2}' "/proc/$pid/status")" "QEMU's umask"
    assert_eq /dev/null "$(readlink "/proc/$pid/fd/0")" "QEMU's stdin"
    assert_eq /dev/null "$(readlink "/proc/$pid/fd/1")" "QEMU's stdout"
    assert_eq "$root/d1.vm/qemu.log" "$(readlink "/proc/$pid/fd/2")" "QEMU's stderr"
    kill -TERM "$pid"
    wait_exited "$pid" 100
    assert_match "terminating on signal 15" "$(cat "$root/d1.vm/qemu.log")" \
        "what QEMU said as it ended, in qemu.log"
    expect_exit 0 yv "$root" list
    assert_runtime_gone "$root" d1
}

# status --wait STATE: answers once the VM is in STATE (then shows it as status does), exit 6 naming
# the state it is still in, exit 2 for a state that does not exist.
test_status_wait_for_a_state()
{
    local root pid t w
    new_root root
    mkvm "$root" w1
    mktmp_into t
    expect_exit 6 yv "$root" status --name w1 --wait running --timeout 0
    assert_eq "yave-tui: status: w1 is still stopped after 0 s (waited for running)" "$ERR"
    expect_exit 2 yv "$root" --json status --name w1 --wait asleep
    assert_json_error USAGE
    expect_exit 2 yv "$root" status --wait running
    assert_eq "yave-tui: status: --wait only applies with --name" "$ERR"
    expect_exit 3 yv "$root" status --name nosuch --wait stopped
    # a wait in flight answers when another process starts the VM
    yv "$root" --json status --name w1 --wait running --timeout 120 >"$t/run.json" 2>"$t/err" &
    w=$!
    start_vm "$root" w1 pid
    wait "$w" || fail "status --wait running: exit $?, $(cat "$t/err")"
    assert_eq running "$(jv 'd["state"]' "$(cat "$t/run.json")")" "the state status --wait shows"
    # another client holds QMP: the process runs, but paused or not is not proven: no answer
    hold_qmp "$root/run/w1.sock" 60
    expect_exit 6 yv "$root" status --name w1 --wait running --timeout 1
    assert_eq "yave-tui: status: w1: its state is not known (QMP busy: another client is connected) after 1 s (waited for running)" "$ERR"
    # …and when its QEMU is killed: crashed
    yv "$root" --json status --name w1 --wait crashed --timeout 120 >"$t/crash.json" 2>"$t/err" &
    w=$!
    kill -9 "$pid"
    wait "$w" || fail "status --wait crashed: exit $?, $(cat "$t/err")"
    assert_eq crashed "$(jv 'd["state"]' "$(cat "$t/crash.json")")" "the state after a kill"
    expect_exit 0 yv "$root" status --name w1 --wait crashed --timeout 0
}

test_shutdown_force_quits_at_once()
{
    local root pid t0 ms
    new_root root
    mkvm "$root" b1
    expect_exit 0 yv "$root" --json run --name b1
    assert_json_docs 1
    pid=$(vm_pid "$root" b1) || exit 1
    is_qemu "$pid" || fail "run/b1.pid names $pid, which is not a QEMU"
    assert_eq "['b1', 'running', $pid, True]" \
        "$(jv 'str([d["name"], d["state"], d["pid"], d["vnc"]["reachable"]])')" "run --json"
    t0=$(now_ms)
    expect_exit 0 yv "$root" --json shutdown --name b1 --force
    ms=$(($(now_ms) - t0))
    assert_json_docs 1
    assert_eq quit "$(jv 'd["stopped_by"]')" "stopped_by"
    assert_eq stopped "$(jv 'd["state"]')"
    [ "$ms" -lt 3000 ] || fail "shutdown --force took ${ms} ms"
    pid_exited "$pid" || fail "QEMU $pid still alive after shutdown --force returned"
    assert_runtime_gone "$root" b1
    assert_state "$root" b1 stopped
    # a second shutdown: nothing to stop
    expect_exit 4 yv "$root" --json shutdown --name b1 --force
    assert_json_error VM_NOT_RUNNING
}

test_killed_qemu_is_crashed_until_the_next_run()
{
    local root pid pid2
    new_root root
    mkvm "$root" c1
    start_vm "$root" c1 pid
    kill -9 "$pid"
    wait_exited "$pid"

    status_json "$root" c1
    assert_eq crashed "$(jv 'd["state"]')" "state after kill -9"
    assert_eq null "$(jv 'd["pid"]')" "pid of a crashed VM"
    assert_runtime_gone "$root" c1
    # still crashed on the next look (the stale files are gone by now)
    assert_state "$root" c1 crashed
    expect_exit 0 yv "$root" status --name c1
    assert_out_line '^c1 .*crashed' "status table"
    expect_exit 4 yv "$root" shutdown --name c1
    assert_err_line shutdown "not running"

    start_vm "$root" c1 pid2
    assert_ne "$pid" "$pid2" "a new QEMU"
    status_json "$root" c1
    assert_eq running "$(jv 'd["state"]')" "state after the next run"
    assert_eq "$pid2" "$(jv 'd["pid"]')"
    expect_exit 0 yv "$root" shutdown --name c1 --force
    assert_contains "$OUT" "(by quit)"
    pid_exited "$pid2" || fail "QEMU $pid2 still alive"
    assert_state "$root" c1 stopped
}

test_pidfile_naming_an_unrelated_process_is_not_trusted()
{
    local root sp pid
    new_root root
    mkvm "$root" d1
    sleep 300 >/dev/null 2>&1 &
    sp=$!
    at_exit kill "$sp"
    mkdir -p "$root/run"
    echo "$sp" >"$root/run/d1.pid"
    : >"$root/run/d1.sock"

    expect_exit 4 yv "$root" shutdown --name d1 --timeout 1
    assert_err_line shutdown "not running"
    kill -0 "$sp" 2>/dev/null || fail "shutdown killed the unrelated process $sp"
    expect_exit 4 yv "$root" --json shutdown --name d1 --force
    assert_json_error VM_NOT_RUNNING
    kill -0 "$sp" 2>/dev/null || fail "shutdown --force killed the unrelated process $sp"

    status_json "$root" d1
    assert_ne running "$(jv 'd["state"]')" "a pidfile of a non-QEMU process is not a running VM"
    assert_eq null "$(jv 'd["pid"]')" "pid"
    kill -0 "$sp" 2>/dev/null || fail "status killed the unrelated process $sp"

    # run is not fooled either: the stale files are replaced by a real QEMU's
    echo "$sp" >"$root/run/d1.pid"
    start_vm "$root" d1 pid
    assert_ne "$sp" "$pid" "run/d1.pid"
    assert_state "$root" d1 running
    expect_exit 0 yv "$root" shutdown --name d1 --force
    kill -0 "$sp" 2>/dev/null || fail "run/shutdown killed the unrelated process $sp"
}

test_run_of_a_running_vm_is_refused_and_harmless()
{
    local root pid
    new_root root
    mkvm "$root" e1
    start_vm "$root" e1 pid
    expect_exit 4 yv "$root" run --name e1
    assert_err_line run "already running"
    expect_exit 4 yv "$root" --json run --name e1
    assert_json_error VM_RUNNING
    assert_eq "$pid" "$(vm_pid "$root" e1)" "run/e1.pid after a refused run"
    { is_qemu "$pid" && ! pid_exited "$pid"; } || fail "the running QEMU $pid was harmed"
    assert_eq "$pid" "$(qemus_of "$root" | tr '\n' ' ' | sed 's/ $//')" "QEMUs of the root"
    # QMP still answers (a silent QMP would be `unresponsive`)
    status_json "$root" e1
    assert_eq running "$(jv 'd["state"]')"
    assert_eq "$pid" "$(jv 'd["pid"]')"
    assert_eq true "$(jv 'd["vnc"]["reachable"]')"
    expect_exit 0 yv "$root" shutdown --name e1 --force
}

test_vnc_password_is_never_exposed()
{
    local root pid t pwf hits marker mp a all_out="" all_err=""
    new_root root
    t=$(dirname "$root")
    pwf=$t/pw.f1
    mkvm "$root" f1
    expect_exit 0 yv "$root" run --name f1
    all_out+=$OUT
    all_err+=$ERR
    pid=$(vm_pid "$root" f1) || exit 1
    is_qemu "$pid" || fail "no QEMU"

    # positive control: the scan finds a string on a command line
    marker="Mk${RANDOM}x${RANDOM}Q"
    (exec -a "$marker" sleep 30) </dev/null >/dev/null 2>&1 &
    mp=$!
    at_exit kill "$mp"
    printf '%s\n' "$marker" >"$t/marker"
    # (the background subshell execs sleep a moment later, longer on a loaded machine)
    for _ in $(seq 100); do
        grep -lsF -f "$t/marker" /proc/[0-9]*/cmdline | grep -qx "/proc/$mp/cmdline" && break
        sleep 0.05
    done
    grep -lsF -f "$t/marker" /proc/[0-9]*/cmdline | grep -qx "/proc/$mp/cmdline" ||
        fail "the command-line scan does not work (marker not found)"
    kill "$mp"

    hits=$(grep -lsF -f "$pwf" /proc/[0-9]*/cmdline | tr '\n' ' ')
    [ -z "$hits" ] || fail "the VNC password is on a command line: $hits"
    grep -qsF -f "$pwf" "/proc/$pid/environ" && fail "the VNC password is in QEMU's environment"
    local env
    env=$(tr '\0' '\n' <"/proc/$pid/environ")
    assert_contains "$env" "YAVE_VM_NAME=f1" "QEMU's environment"
    assert_contains "$env" "YAVE_ROOT=$root" "QEMU's environment"
    assert_contains "$env" "YAVE_BIN=$(realpath "$YAVE_TEST_BIN")" "QEMU's environment"

    for a in "status" "status --name f1" "--json status --name f1" "--json list"; do
        # shellcheck disable=SC2086
        expect_exit 0 yv "$root" $a
        all_out+=$OUT
        all_err+=$ERR
    done
    # the password works (it was set over QMP), so it is really there to leak
    vnc_login "$VNC_LISTEN" $((5900 + $(display_of "$root" f1))) "$PW"
    assert_eq 0 "$RC" "vncauth with the password: $OUT"

    expect_exit 0 yv "$root" shutdown --name f1 --force
    all_out+=$OUT
    all_err+=$ERR
    assert_not_contains "$all_out" "$PW" "the password on stdout"
    assert_not_contains "$all_err" "$PW" "the password on stderr"

    assert_file "$root/f1.vm/qemu.log"
    assert_file "$root/f1.vm/serial.log"
    hits=$(grep -rlsF -f "$pwf" "$root" | sort | tr '\n' ' ')
    assert_eq "$root/f1.vm/config.yaml " "$hits" "files of the root holding the password"
    assert_eq 600 "$(stat -c %a "$root/f1.vm/config.yaml")" "mode of config.yaml"
}

test_vnc_login_with_a_real_client_on_loopback_only()
{
    local root disp port addrs pid
    [ -x "$VNCAUTH" ] || fail "no $VNCAUTH (make build/tools/vncauth)"
    new_root root
    rm -f "$root/config.yaml" # the default vnc.listen: 127.0.0.1
    mkvm "$root" g1
    # 127.0.0.1 is shared with every program of the machine (a parallel test's QEMU may take the
    # display create picked before this run): the run moves it then, and the display is read after
    expect_exit 0 yv "$root" run --name g1 --new-display
    pid=$(vm_pid "$root" g1) || exit 1
    is_qemu "$pid" || fail "run/g1.pid names $pid, which is not a QEMU"
    disp=$(display_of "$root" g1) || exit 1
    port=$((5900 + disp))
    status_json "$root" g1
    assert_eq 127.0.0.1 "$(jv 'd["vnc"]["listen"]')" "default vnc.listen"
    assert_eq "$port" "$(jv 'd["vnc"]["port"]')" "vnc.port"

    vnc_login 127.0.0.1 "$port" "$PW"
    assert_eq "0 OK" "$RC $OUT" "vncauth with the right password"
    vnc_login 127.0.0.1 "$port" "wrongpw1"
    assert_eq 1 "$RC" "vncauth with a wrong password: $OUT"
    assert_match '^AUTH_FAILED: .*[Aa]uthentication' "$OUT"
    vnc_login 127.0.0.1 "$port" "${PW:0:7}"
    assert_eq 1 "$RC" "vncauth with the first 7 characters: $OUT"

    # every TCP socket QEMU listens on: the VNC port on 127.0.0.1, nothing else (other tests may
    # listen on other loopback addresses with the same port: only wildcards are ours to refuse)
    addrs=$(ss -Hltnp | grep -F "pid=$pid," | awk '{print $4}' | sort -u | tr '\n' ' ')
    assert_eq "127.0.0.1:$port " "$addrs" "addresses QEMU listens on"
    addrs=$(ss -Hltn "sport = :$port" | awk '{print $4}' | grep -vE '^127\.' | tr '\n' ' ')
    assert_eq "" "$addrs" "non-loopback listeners on port $port"

    expect_exit 0 yv "$root" shutdown --name g1 --force
    vnc_login 127.0.0.1 "$port" "$PW"
    assert_eq 2 "$RC" "vncauth after shutdown (nothing listens): $OUT"
}

test_two_vms_side_by_side()
{
    local root p1 p2 port1 port2
    new_root root
    mkvm "$root" h1 Pw1aaaaa
    mkvm "$root" h2 Pw2bbbbb
    start_vm "$root" h1 p1
    start_vm "$root" h2 p2
    assert_ne "$p1" "$p2" "pids"
    expect_exit 0 yv "$root" --json list
    assert_eq "[['h1', 'running', $p1, True], ['h2', 'running', $p2, True]]" \
        "$(jv 'str([[v["name"], v["state"], v["pid"], v["vnc"]["reachable"]] for v in d])')" "list --json"
    port1=$(jv 'd[0]["vnc"]["port"]')
    port2=$(jv 'd[1]["vnc"]["port"]')
    assert_ne "$port1" "$port2" "VNC ports"
    vnc_login "$VNC_LISTEN" "$port1" Pw1aaaaa
    assert_eq 0 "$RC" "h1's password on h1's port: $OUT"
    vnc_login "$VNC_LISTEN" "$port2" Pw2bbbbb
    assert_eq 0 "$RC" "h2's password on h2's port: $OUT"
    vnc_login "$VNC_LISTEN" "$port2" Pw1aaaaa
    assert_eq 1 "$RC" "h1's password on h2's port: $OUT"

    expect_exit 0 yv "$root" shutdown --name h1 --force
    pid_exited "$p1" || fail "h1 still alive"
    { is_qemu "$p2" && ! pid_exited "$p2"; } || fail "stopping h1 stopped h2"
    assert_state "$root" h2 running
    expect_exit 0 yv "$root" shutdown --name h2 --force
    pid_exited "$p2" || fail "h2 still alive"
    assert_runtime_gone "$root" h1
    assert_runtime_gone "$root" h2
}

test_dry_run_prints_argv_and_starts_nothing()
{
    local root i found=0 accel_next
    new_root root
    mkvm "$root" i1
    expect_exit 0 yv "$root" run --name i1 --dry-run
    assert_no_file "$root/run/i1.pid" "dry-run wrote a pidfile"
    assert_no_file "$root/run/i1.sock" "dry-run made a QMP socket"
    assert_no_qemu "$root"
    mapfile -t args <<<"$OUT"
    assert_eq "$QEMU_EXE" "$(realpath "${args[0]}")" "first line: the QEMU binary"
    for ((i = 0; i < ${#args[@]}; i++)); do
        if [ "${args[$i]}" = -accel ]; then
            found=$((found + 1))
            accel_next=${args[$((i + 1))]:-}
        fi
    done
    assert_eq 1 "$found" "number of -accel arguments"
    if has_real_kvm; then
        assert_eq kvm "$accel_next" "-accel on a machine with KVM"
    else
        assert_eq tcg "$accel_next" "-accel without usable KVM (kvm_pvm has no vmx/svm)"
    fi
    assert_out_line "^$VNC_LISTEN:$(display_of "$root" i1),password=on\$" "-vnc value"
    assert_out_line "^unix:$root/run/i1.sock,server=on,wait=off\$" "-qmp value"
    assert_out_line "^unix:$root/run/i1.events,server=on,wait=off\$" "second -qmp value (events)"
    grep -qx -- -daemonize <<<"$OUT" && fail "-daemonize in the argv: run daemonizes QEMU itself"
    assert_not_contains "$OUT" "$PW" "the password in the dry-run argv"
    assert_not_contains "$ERR" "$PW" "the password on stderr"
    # --json: the same argv as an array
    local text=$OUT
    expect_exit 0 yv "$root" --json run --name i1 --dry-run
    assert_eq "$text" "$(jv '"\n".join(d)')" "--json dry-run argv"
    assert_no_qemu "$root"
}

test_qemu_refusing_to_start_leaves_nothing()
{
    local root t
    new_root root
    t=$(dirname "$root")
    printf '#!/bin/sh\necho "qemu: something broke" >&2\nexit 1\n' >"$t/fakeqemu"
    chmod +x "$t/fakeqemu"
    printf 'vnc:\n  listen: %s\ncli:\n  bin: %s\n' "$VNC_LISTEN" "$t/fakeqemu" >"$root/config.yaml"
    mkvm "$root" j1
    expect_exit 5 yv "$root" run --name j1
    assert_err_line run "something broke"
    expect_exit 5 yv "$root" --json run --name j1
    assert_json_error TOOL_FAILED
    assert_runtime_gone "$root" j1
    assert_state "$root" j1 stopped
}

# a QMP socket bound by another process than the QEMU run started (here its child; in a root no
# one else can write to, no one else could bind there): run talks to the QEMU it started or to
# none, and says who it found
test_qmp_socket_of_another_process_is_refused()
{
    local root t served
    new_root root
    t=$(dirname "$root")
    cat >"$t/forkqemu" <<'PY'
#!/usr/bin/python3
import os, socket, sys, time
qmp = sys.argv[sys.argv.index("-qmp") + 1].split(",")[0][len("unix:"):]
if os.fork() == 0:
    s = socket.socket(socket.AF_UNIX)
    s.bind(qmp)
    s.listen(1)
    s.settimeout(10)
    try:
        c, _ = s.accept()
        c.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\n')
        c.settimeout(2)
        c.recv(4096)
    except OSError:
        pass
    os._exit(0)
time.sleep(30)
PY
    chmod +x "$t/forkqemu"
    printf 'vnc:\n  listen: %s\ncli:\n  bin: %s\n' "$VNC_LISTEN" "$t/forkqemu" >"$root/config.yaml"
    mkvm "$root" j3
    expect_exit 1 yv "$root" run --name j3
    assert_err_line run "the QMP socket of VM 'j3' is served by pid [0-9]+, not by its new QEMU \(pid [0-9]+\)"
    served=$(sed -n 's/.*served by pid \([0-9]*\),.*/\1/p' <<<"$ERR")
    [ -n "$served" ] || fail "no pid in the message"
    for _ in $(seq 100); do kill -0 "$served" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$served" 2>/dev/null && fail "the process serving the socket still runs"
    assert_runtime_gone "$root" j3
    assert_state "$root" j3 stopped
    pgrep -f "$t/forkqemu" >/dev/null && fail "the fake QEMU still runs"
    return 0
}

test_taken_vnc_port_fails_cleanly()
{
    local root disp port
    new_root root
    mkvm "$root" j2
    disp=$(display_of "$root" j2) || exit 1
    port=$((5900 + disp))
    listen_tcp "$VNC_LISTEN" "$port"
    run_cmd yv "$root" run --name j2
    assert_ne 0 "$RC" "run with the VNC port taken"
    assert_err_line run "(:$disp\b|$port)"
    assert_runtime_gone "$root" j2
    assert_no_qemu "$root"
    assert_state "$root" j2 stopped
}

test_accel_kvm_without_kvm_is_permission()
{
    local root
    if has_real_kvm; then
        echo "    (skipped: this machine has usable KVM)" >&2
        return 0
    fi
    new_root root
    printf 'vnc:\n  listen: %s\nqemu:\n  accel: kvm\n' "$VNC_LISTEN" >"$root/config.yaml"
    mkvm "$root" k1
    expect_exit 77 yv "$root" run --name k1
    assert_err_line run "KVM"
    expect_exit 77 yv "$root" --json run --name k1
    assert_json_error PERMISSION
    assert_runtime_gone "$root" k1
    assert_no_qemu "$root"
}

# hold_qmp SOCKET SECONDS [fill]: another QMP client, in the background for SECONDS: one connection
# that QEMU accepts (it greets) and that then stays silent; with `fill`, connections until the queue
# behind it is full. Returns once they are in place; the holder is killed when the test ends.
hold_qmp()
{
    local t
    mktmp_into t
    "$PY" -c '
import os, socket, sys, time
path, ready, secs, fill = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "fill"
held = []
while len(held) < (100 if fill else 1):
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(not fill)
    try:
        s.connect(path)
    except BlockingIOError:
        break
    held.append(s)
if not fill:
    held[0].recv(4096)  # the greeting: QEMU serves this client now
with open(ready + ".tmp", "w") as f:
    f.write(str(len(held)))
os.rename(ready + ".tmp", ready)
time.sleep(secs)' "$1" "$t/ready" "$2" "${3:-hold}" </dev/null >/dev/null 2>&1 &
    at_exit kill "$!"
    for _ in $(seq 100); do
        [ -e "$t/ready" ] && break
        sleep 0.02
    done
    [ -e "$t/ready" ] || fail "the QMP holder did not connect to $1"
    if [ "${3:-}" = fill ]; then
        [ "$(cat "$t/ready")" -lt 100 ] || fail "QEMU's QMP queue never filled"
    fi
}

test_busy_qmp_in_a_root_with_space_and_comma()
{
    local t root pid t0 ms
    mktmp_into t
    root="$t/my vms,2"
    mkdir "$root" || fail "mkdir"
    VNC_LISTEN="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
    printf 'vnc:\n  listen: %s\n' "$VNC_LISTEN" >"$root/config.yaml"
    at_exit stop_qemus "$root"
    mkvm "$root" q1
    start_vm "$root" q1 pid
    assert_state "$root" q1 running
    assert_file "$root/q1.vm/serial.log" "serial.log in the VM's folder"

    # another client holds the QMP socket (QEMU serves one at a time): the VM is busy, not
    # unresponsive
    hold_qmp "$root/run/q1.sock" 60
    status_json "$root" q1
    assert_eq running "$(jv 'd["state"]')" "state while another client holds QMP"
    assert_contains "$(jv 'd["detail"]')" "busy" "status detail"
    assert_eq "$pid" "$(jv 'd["pid"]')"

    # shutdown --force cannot send quit: it goes on to SIGTERM without waiting for a quit never sent
    t0=$(now_ms)
    expect_exit 0 yv "$root" --json shutdown --name q1 --force
    ms=$(($(now_ms) - t0))
    assert_eq sigterm "$(jv 'd["stopped_by"]')" "stopped_by with QMP held by another client"
    [ "$ms" -lt 5000 ] || fail "shutdown --force with a busy QMP took ${ms} ms"
    pid_exited "$pid" || fail "QEMU $pid still alive"
    assert_runtime_gone "$root" q1
    assert_state "$root" q1 stopped
}

# QEMU accepts one QMP client at a time and queues one more: 50 API requests or a TUI's probes can
# fill run/<vm>.sock's queue for a moment. A command then waits for room; it neither fails nor
# skips a step: `shutdown --force` still ends the VM with `quit`, not SIGTERM.
test_full_qmp_queue_delays_but_does_not_fail()
{
    local root pid
    new_root root
    mkvm "$root" f1
    start_vm "$root" f1 pid
    hold_qmp "$root/run/f1.sock" 0.7 fill
    expect_exit 0 yv "$root" --json shutdown --name f1 --force
    assert_eq quit "$(jv 'd["stopped_by"]')" "stopped_by after a moment of a full QMP queue"
    pid_exited "$pid" || fail "QEMU $pid still alive"
    assert_runtime_gone "$root" f1
}

test_delete_of_a_running_vm()
{
    local root pid
    new_root root
    mkvm "$root" l1
    start_vm "$root" l1 pid
    expect_exit 4 yv "$root" --json delete --name l1
    assert_json_error VM_RUNNING
    assert_file "$root/l1.vm/config.yaml" "a refused delete removed the VM"
    { is_qemu "$pid" && ! pid_exited "$pid"; } || fail "a refused delete stopped the VM"
    assert_state "$root" l1 running

    expect_exit 0 yv "$root" delete --name l1 --force
    pid_exited "$pid" || fail "delete --force left QEMU $pid running"
    assert_no_file "$root/l1.vm" "the VM's folder"
    assert_runtime_gone "$root" l1
    assert_no_file "$root/run/l1.crashed"
    assert_no_qemu "$root"
    assert_not_contains "$(cat "$root/vnc_table.yaml" 2>/dev/null)" l1 "vnc_table.yaml still names l1"
    expect_exit 3 yv "$root" status --name l1
}

# A verb naming one VM looks at that VM only (its cost does not grow with the VMs of the root): the
# stale files of another VM whose QEMU died stay for list and status to tidy, and the verb works.
test_a_verb_on_one_vm_leaves_other_vms_stale_files_to_list()
{
    local root pa pb
    new_root root
    mkvm "$root" a1
    mkvm "$root" b1
    start_vm "$root" a1 pa
    start_vm "$root" b1 pb
    kill -9 "$pb"
    wait_exited "$pb"
    expect_exit 0 yv "$root" shutdown --name a1 --force
    assert_contains "$OUT" "(by quit)"
    pid_exited "$pa" || fail "QEMU $pa still alive after shutdown --force"
    assert_runtime_gone "$root" a1
    assert_file "$root/run/b1.pid" "shutdown of a1 tidied b1's pidfile"
    [ -S "$root/run/b1.sock" ] || fail "shutdown of a1 tidied b1's QMP socket"
    assert_no_file "$root/run/b1.crashed" "shutdown of a1 recorded b1 crashed"
    start_vm "$root" a1 pa
    assert_file "$root/run/b1.pid" "run of a1 tidied b1's pidfile"
    expect_exit 0 yv "$root" delete --name a1 --force
    pid_exited "$pa" || fail "delete --force left QEMU $pa running"
    assert_file "$root/run/b1.pid" "delete of a1 tidied b1's pidfile"
    # list tidies the whole root: b1 is crashed, its files are gone
    expect_exit 0 yv "$root" list
    assert_runtime_gone "$root" b1
    assert_file "$root/run/b1.crashed" "list did not record b1 crashed"
    assert_state "$root" b1 crashed
}

# A verb naming a VM whose QEMU died still tidies that VM: its stale files go and it is crashed
# (shutdown says not running); the next run starts it and it is no longer crashed.
test_a_verb_tidies_its_own_vms_stale_files()
{
    local root pid pid2
    new_root root
    mkvm "$root" s1
    start_vm "$root" s1 pid
    kill -9 "$pid"
    wait_exited "$pid"
    assert_file "$root/run/s1.pid" "kill -9 left no pidfile (the test needs one)"
    expect_exit 4 yv "$root" --json shutdown --name s1 --force
    assert_json_error VM_NOT_RUNNING
    assert_runtime_gone "$root" s1
    assert_file "$root/run/s1.crashed" "shutdown did not record s1 crashed"
    # stale files again (a QEMU killed with its files in place), then run over them
    start_vm "$root" s1 pid
    kill -9 "$pid"
    wait_exited "$pid"
    start_vm "$root" s1 pid2
    assert_ne "$pid" "$pid2" "a new QEMU"
    assert_no_file "$root/run/s1.crashed" "crashed after the next run"
    assert_state "$root" s1 running
    expect_exit 0 yv "$root" delete --name s1 --force
    pid_exited "$pid2" || fail "delete --force left QEMU $pid2 running"
    assert_runtime_gone "$root" s1
    assert_no_file "$root/run/s1.crashed"
}

run_tests "$@"
