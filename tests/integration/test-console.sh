#!/usr/bin/env bash
# console (spec §11) against a real QEMU (TCG): the guest is one boot sector that talks on COM1
# without an OS — it prints "yave-echo-guest: ready" and echoes every byte it receives, letters
# upper-cased (so its echo is told from our own input). Piped mode, serial.log, "console in use"
# for a second client, refusals, the VM stopping under an attached console, and a real terminal
# (tmux): raw mode, Ctrl-] and SIGHUP both leave the terminal as it was; the TUI's console key.
. "$(dirname "$0")/tui-lib.sh"

# echo_vm ROOT NAME: a VM whose disk is lib.sh's echo guest (base image echo.qcow2 of the root),
# running, its ready line in serial.log.
echo_vm()
{
    [ -f "$1/echo.qcow2" ] || echo_guest_image "$1/echo.qcow2"
    printf 'pw345678\n' >"$1.vncpw"
    expect_exit 0 yv "$1" create --no-network --no-ovmf -c 64 -m 64 --name "$2" --image echo \
        --vnc-password-file "$1.vncpw"
    local pid
    start_vm "$1" "$2" pid
    wait_line "$1/$2.vm/serial.log" 'yave-echo-guest: ready' "$pid" "$HANG" 0.05
}

# A console in the background (piped, with its own timeout S), attached once its echo came back;
# its pid in HOLDER, its stdout in HOLDER_OUT, its input a FIFO we hold open (fd HOLDER_IN).
hold_console()
{
    local d
    mktmp_into d
    HOLDER_OUT=$d/out
    mkfifo "$d/in" || fail "mkfifo"
    : >"$HOLDER_OUT"
    "$YAVE_TEST_BIN" --batch --root "$1" console --name e --timeout "$2" <"$d/in" >"$HOLDER_OUT" \
        2>&1 &
    HOLDER=$!
    at_exit kill "$HOLDER"
    exec {HOLDER_IN}>"$d/in"
    printf 'holder\n' >&"$HOLDER_IN"
    wait_line "$HOLDER_OUT" HOLDER "$HOLDER" "$HANG" 0.05
}

test_piped_echo_and_serial_log()
{
    local root
    tui_root root
    echo_vm "$root" e
    # --timeout: the input's end ends nothing; what the guest printed in that time is on stdout
    EXPECT_STDIN=<(printf 'hello console\n') expect_exit 0 timeout 30 "$YAVE_TEST_BIN" --batch --root "$root" console --name e \
        --timeout 2
    assert_eq "HELLO CONSOLE" "$(tr -d '\r' <<<"$OUT")" "the guest's echo on stdout"
    assert_stderr_empty
    # without: it ends at the input's end once the console is quiet
    EXPECT_STDIN=<(printf 'second line\n') expect_exit 0 timeout 30 "$YAVE_TEST_BIN" --batch --root "$root" console --name e
    assert_contains "$OUT" "SECOND LINE"
    # serial.log keeps everything the guest printed, whoever listened
    grep -aq 'HELLO CONSOLE' "$root/e.vm/serial.log" || fail "the echo is not in serial.log"
    grep -aq 'SECOND LINE' "$root/e.vm/serial.log" || fail "the second echo is not in serial.log"
    # --json: only errors are JSON; attached, stdout is the guest's bytes and nothing else
    EXPECT_STDIN=<(printf 'json\n') expect_exit 0 timeout 30 "$YAVE_TEST_BIN" --batch --root "$root" \
        --json console --name e --timeout 1
    assert_eq "JSON" "$(tr -d '\r' <<<"$OUT")" "stdout of console --json"
}

test_second_console_in_use()
{
    local root t0 took
    tui_root root
    echo_vm "$root" e
    hold_console "$root" 20
    t0=$(now_ms)
    expect_exit 4 timeout 10 "$YAVE_TEST_BIN" --batch --root "$root" console --name e
    took=$(($(now_ms) - t0))
    assert_eq "yave-tui: console: console of VM 'e' is in use (QEMU serves one client at a time)" \
        "$ERR" "the refusal"
    assert_stdout_empty
    [ "$took" -lt 1000 ] || fail "the second console took ${took} ms to be refused (issue: within 1 s)"
    note "second console refused in ${took} ms"
    expect_exit 4 timeout 10 "$YAVE_TEST_BIN" --batch --root "$root" --json console --name e
    assert_json_error IN_USE
    # the first one still works: the refusals took nothing from it
    kill "$HOLDER"
    wait "$HOLDER" 2>/dev/null
    EXPECT_STDIN=<(printf 'after\n') expect_exit 0 timeout 30 "$YAVE_TEST_BIN" --batch --root "$root" console --name e --timeout 2
    assert_contains "$OUT" "AFTER"
}

# Two consoles started at once: both wait in QEMU's queue, QEMU accepts one; the other sees it and
# is refused "in use" (exit 4), never left waiting behind the winner.
test_two_consoles_racing()
{
    local root t a b ra=0 rb=0
    tui_root root
    echo_vm "$root" e
    mktmp_into t
    { printf 'a\n'; sleep 3; } | timeout 30 "$YAVE_TEST_BIN" --batch --root "$root" console \
        --name e --timeout 3 >"$t/a.out" 2>"$t/a.err" &
    a=$!
    { printf 'b\n'; sleep 3; } | timeout 30 "$YAVE_TEST_BIN" --batch --root "$root" console \
        --name e --timeout 3 >"$t/b.out" 2>"$t/b.err" &
    b=$!
    wait "$a" || ra=$?
    wait "$b" || rb=$?
    case "$ra:$rb" in
    0:4) assert_contains "$(cat "$t/b.err")" "is in use" ;;
    4:0) assert_contains "$(cat "$t/a.err")" "is in use" ;;
    *) fail "exit statuses $ra and $rb (want 0 and 4): $(cat "$t"/*.err)" ;;
    esac
    note "race: a=$ra b=$rb"
}

test_refusals()
{
    local root
    tui_root root a
    expect_exit 4 yv "$root" console --name a
    assert_eq "yave-tui: console: VM 'a' is not running" "$ERR"
    expect_exit 4 yv "$root" --json console --name a
    assert_json_error VM_NOT_RUNNING
    expect_exit 3 yv "$root" console --name nope
    assert_eq "yave-tui: console: no VM named 'nope'" "$ERR"
    expect_exit 2 yv "$root" console
    expect_exit 2 yv "$root" console --name a --timeout -1
    expect_exit 2 yv "$root" console --name a --timeout x
    expect_exit 2 yv "$root" console --name a --timeout 0
    assert_contains "$ERR" "invalid --timeout '0': give a whole number from 1 to 86400"
    EXPECT_STDIN=<(printf 'console --name a\n') expect_exit 2 yv "$root" --file -
    assert_contains "$ERR" "console needs standard input (not with --file -)"
}

# The VM stops under an attached console: QEMU closes it, the console ends at once (not at its
# timeout) and says nothing on a pipe.
test_vm_stops_under_console()
{
    local root pid t0 took
    tui_root root
    echo_vm "$root" e
    hold_console "$root" 120
    t0=$(now_ms)
    expect_exit 0 yv "$root" shutdown --name e --force
    wait_exited "$HOLDER" $((HANG * 10))
    took=$(($(now_ms) - t0))
    wait "$HOLDER"
    assert_eq 0 "$?" "the console's exit status"
    note "console ended ${took} ms after the shutdown began"
}

# ---- a real terminal ----

# term_console ROOT: a shell in tmux that records `stty -g`, runs console, prints RC=, and records
# `stty -g` again; waits for the hint.
term_console()
{
    local d
    mktmp_into d
    TERM_DIR=$d
    if [ -z "$TM_SOCK" ]; then
        TM_SOCK="yvcon-$$-$BASHPID"
        at_exit rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TM_SOCK"
        at_exit tmux -L "$TM_SOCK" kill-server
    fi
    printf 'stty -g >%q; %s; echo RC=$?; stty -g >%q; exec sleep 300\n' "$d/before" \
        "$(printf '%q ' "$YAVE_TEST_BIN" --batch --root "$1" console --name e)" "$d/after" \
        >"$d/sh"
    tm new-session -d -s "$S" -x 80 -y 24 "bash $d/sh" || fail "tmux new-session failed"
    wait_screen "^Connected to VM 'e'; Ctrl-\] to leave"
    TTY=$(tm display -p -t "$S" '#{pane_tty}')
}

test_terminal_raw_and_ctrl_bracket()
{
    local root
    tui_root root
    echo_vm "$root" e
    term_console "$root"
    stty -a -F "$TTY" | grep -q -- '-icanon' || fail "not in raw mode: $(stty -a -F "$TTY")"
    text "typed here"
    wait_screen '^TYPED HERE' # the guest's echo; no local echo (raw)
    grep -q '^typed here' <<<"$SCREEN" && fail "the terminal echoed locally"
    keys C-]
    wait_screen '^RC=0'
    assert_line_seen "^Left the console of VM 'e' \(detached\)"
    wait_file "$TERM_DIR/after"
    assert_eq "$(cat "$TERM_DIR/before")" "$(cat "$TERM_DIR/after")" "stty -g before and after"
    stty -a -F "$TTY" | grep -q -- ' icanon' || fail "icanon not restored"
}

# A dropped SSH session: SIGHUP to the console restores the terminal too.
test_terminal_restored_on_sighup()
{
    local root pid
    tui_root root
    echo_vm "$root" e
    term_console "$root"
    pid=$(pgrep -f -- "--root $root console --name e")
    [ -n "$pid" ] || fail "no console process"
    kill -HUP "$pid"
    wait_screen '^RC=1'
    assert_line_seen "console of VM 'e' left on signal HUP"
    wait_file "$TERM_DIR/after"
    assert_eq "$(cat "$TERM_DIR/before")" "$(cat "$TERM_DIR/after")" "stty -g before and after"
}

# The TUI's console key: curses left, the guest's output on the terminal, Ctrl-] back to an intact
# list; a console another client holds brings the list back at once with the reason.
test_tui_console_key()
{
    local root
    tui_root root
    echo_vm "$root" e
    expect_exit 0 yv "$root" create --no-network --no-ovmf -c 64 -m 64 --name s \
        --vnc-password-file "$root.vncpw"
    tui_start "$root"
    wait_row e running
    wait_row s stopped
    keys j # s, stopped: the key says why not, and starts nothing
    keys o
    wait_screen ' s is not running'
    keys k
    keys o
    wait_screen "^Connected to VM 'e'; Ctrl-\] to leave"
    text "from the tui"
    wait_screen '^FROM THE TUI'
    keys C-]
    wait_screen ' e: left the console'
    wait_row e running
    assert_line_seen '^NAME +STATE'
    assert_line_seen '^r Run '
    grep -q 'FROM THE TUI' <<<"$SCREEN" && fail "the console's output is still on the screen"
    grep -aq 'FROM THE TUI' "$root/e.vm/serial.log" || fail "not in serial.log"
    # the list still takes keys: the details screen opens and closes
    keys Enter
    wait_screen 'serial.log'
    keys Escape
    wait_row e running
    hold_console "$root" 60
    keys o
    wait_screen " console: console of VM 'e' is in use"
    wait_row e running
    tui_quit
}

# A TUI killed (SIGKILL, OOM) while its console is open: the console child hangs up with it, so
# the VM's one console slot is free again for the next client (not held until someone types).
test_tui_killed_releases_the_console()
{
    local root tui child
    tui_root root
    echo_vm "$root" e
    tui_start "$root"
    wait_row e running
    keys o
    wait_screen "^Connected to VM 'e'; Ctrl-\] to leave"
    tui=$(tui_pid)
    child=$(pgrep -P "$tui" | head -1)
    [ -n "$child" ] || fail "no console child of the TUI $tui"
    kill -KILL "$tui"
    for _ in $(seq $((HANG * 10))); do
        kill -0 "$child" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$child" 2>/dev/null && fail "the console child $child outlived its TUI"
    printf 'after\n' >"$root.after"
    EXPECT_STDIN=$root.after expect_exit 0 yv "$root" console --name e --timeout 2
    assert_contains "$(tr -d '\r' <<<"$OUT")" "AFTER" "the next console's echo"
}

assert_line_seen()
{
    grep -Eq -- "$1" <<<"$SCREEN" || {
        dump_screen
        fail "no line matches /$1/"
    }
}

wait_file()
{
    local i
    for ((i = 0; i < HANG * 50; i++)); do
        [ -s "$1" ] && return 0
        sleep 0.02
    done
    fail "$1 never written"
}

run_tests "$@"
