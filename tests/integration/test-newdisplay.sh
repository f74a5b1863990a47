#!/usr/bin/env bash
# Integration tests of run --new-display / --new-ports (issue 20, item 6): a VM whose VNC display
# or forward host port another program holds is refused with the option named and the config
# unchanged; with the option it moves to the lowest free one (vm config and vnc_table.yaml), says
# so (text and --json) and starts there, the other program untouched. Real QEMU (TCG), no guest.
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"
# shellcheck source=tests/integration/forward-lib.sh
. "$(dirname "$0")/forward-lib.sh"

# accepts ADDR PORT: whether something accepts a TCP connection on ADDR:PORT.
accepts()
{
    "$PY" -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
except OSError:
    sys.exit(1)' "$1" "$2"
}

test_held_display_is_refused_then_moved()
{
    local root before
    new_root root
    mkvm "$root" a --network none
    mkvm "$root" b --network none
    assert_eq ":1" "$(vm_config_value "$root" a display)"
    assert_eq ":2" "$(vm_config_value "$root" b display)"
    # :1 (a's) and :3 are held by another program; :2 is b's: the lowest free one is :4
    listen_tcp "$VNC_LISTEN" 5901
    listen_tcp "$VNC_LISTEN" 5903
    before=$(snapshot_root "$root")
    expect_exit 1 yv "$root" run --name a
    assert_err_line run "VNC display :1 \\(port 5901 on $VNC_LISTEN\\) of VM 'a' is in use by another program: run --new-display moves it to :4"
    expect_exit 1 yv "$root" --json run --name a
    assert_eq "FAILED" "$(jv 'd["error"]["code"]')"
    assert_eq '{"display": {"from": ":1", "to": ":4"}, "options": ["new-display"]}' "$(jv 'd["error"]["move"]')"
    assert_eq "" "$(qemus_of "$root")" "QEMU of a VM that must not have started"
    assert_no_trace "$before" "$root"
    # --new-ports alone does not move a display
    expect_exit 1 yv "$root" run --name a --new-ports
    assert_no_trace "$before" "$root"
    # a start that fails after the move (its disk gone) keeps the move (its own operation: an
    # undo could take :1 back from a VM created since) and says so, in text and in --json
    local cfg0 tab0
    cfg0=$(cat "$root/a.vm/config.yaml")
    tab0=$(cat "$root/vnc_table.yaml")
    mv "$root/a.vm/hd0.qcow2" "$root/a.hd0.aside"
    expect_exit 1 yv "$root" run --name a --new-display
    assert_contains "$ERR" "VM 'a': moved VNC display :1 -> :4 (held by another program); the start failed: "
    assert_contains "$ERR" "hd0"
    assert_eq ":4" "$(vm_config_value "$root" a display)" "a's display after a failed start"
    assert_match "':4': '?a'?" "$(cat "$root/vnc_table.yaml")"
    assert_not_contains "$(cat "$root/vnc_table.yaml")" "':1'"
    printf '%s\n' "$cfg0" >"$root/a.vm/config.yaml" # the test puts :1 back for the next case
    printf '%s\n' "$tab0" >"$root/vnc_table.yaml"
    expect_exit 1 yv "$root" --json run --name a --new-display
    assert_contains "$(jv 'd["error"]["message"]')" "VM 'a': moved VNC display :1 -> :4 (held by another program); the start failed: "
    assert_eq '{"display": {"from": ":1", "to": ":4"}, "options": ["new-display"]}' "$(jv 'd["error"]["moved"]')"
    assert_eq ":4" "$(vm_config_value "$root" a display)" "a's display after a failed --json start"
    printf '%s\n' "$cfg0" >"$root/a.vm/config.yaml"
    printf '%s\n' "$tab0" >"$root/vnc_table.yaml"
    mv "$root/a.hd0.aside" "$root/a.vm/hd0.qcow2"
    assert_no_trace "$before" "$root"
    expect_exit 0 yv "$root" run --name a --new-display
    assert_contains "$OUT" "VM 'a': moved VNC display :1 -> :4 (held by another program)"
    assert_eq ":4" "$(vm_config_value "$root" a display)"
    assert_match "':4': '?a'?" "$(cat "$root/vnc_table.yaml")"
    assert_not_contains "$(cat "$root/vnc_table.yaml")" "':1'"
    accepts "$VNC_LISTEN" 5904 || fail "a's QEMU does not listen on :4"
    accepts "$VNC_LISTEN" 5901 || fail "the other program's listener on :1 was touched"
    expect_exit 0 yv "$root" --json status --name a
    assert_eq ":4 True" "$(jv 'd["vnc"]["display"] + " " + str(d["vnc"]["reachable"])')"
    expect_exit 0 yv "$root" shutdown --name a --force
    # nothing held: --new-display changes nothing and says nothing
    expect_exit 0 yv "$root" --json run --name b --new-display
    assert_eq "false" "$(jv '"moved" in d')"
    assert_eq ":2" "$(vm_config_value "$root" b display)"
    expect_exit 0 yv "$root" shutdown --name b --force
}

test_held_forward_port_is_refused_then_moved()
{
    local root p before
    free_base p
    new_fw_root root "$p"
    mkvm "$root" f1 --forward "$p:22" --forward "$((p + 4)):80"
    mkvm "$root" f2 --forward "$((p + 1)):22"
    # p is another program's, p+1 is f2's, p+2 is held too: p moves to p+3
    listen_tcp 127.0.0.1 "$p"
    listen_tcp 127.0.0.1 "$((p + 2))"
    before=$(snapshot_root "$root")
    expect_exit 4 yv "$root" run --name f1
    assert_err_line run "cannot forward tcp port $p on 127.0.0.1 \\(networks.net0 of VM 'f1'\\): the port is in use by python3 \\(pid [0-9]+\\): run --new-ports moves it to $((p + 3))"
    expect_exit 4 yv "$root" --json run --name f1
    assert_eq "VM_EXISTS" "$(jv 'd["error"]["code"]')"
    assert_eq "[{\"proto\": \"tcp\", \"address\": \"127.0.0.1\", \"from\": $p, \"to\": $((p + 3))}]" "$(jv 'd["error"]["move"]["forwards"]')"
    assert_eq '["new-ports"]' "$(jv 'd["error"]["move"]["options"]')"
    assert_no_trace "$before" "$root"
    expect_exit 0 yv "$root" --json run --name f1 --new-ports
    assert_eq "[{\"proto\": \"tcp\", \"address\": \"127.0.0.1\", \"from\": $p, \"to\": $((p + 3))}]" "$(jv 'd["moved"]["forwards"]')"
    assert_eq "$(printf '%s\n%s' "$((p + 3))" "$((p + 4))")" "$(fw_hosts "$root" f1)"
    connects "$((p + 3))" || fail "slirp does not accept on f1's moved port"
    accepts 127.0.0.1 "$p" || fail "the other program's listener was touched"
    expect_exit 0 yv "$root" shutdown --name f1 --force
}

# The TUI: a run refused for a held display asks to move it; any key but y changes nothing, y
# starts the VM on the lowest free display.
test_tui_asks_before_moving()
{
    local root before
    tui_root root a b
    listen_tcp "$VNC_LISTEN" 5901
    before=$(cat "$root/a.vm/config.yaml" "$root/vnc_table.yaml")
    TUI_W=120 tui_start "$root"
    wait_row a '^a +stopped'
    keys r
    wait_screen 'Held by another program'
    wait_screen 'VNC display :1 of a is held by another program\. Move it to :3 and start\?'
    keys n
    wait_screen 'a: not moved, not started \(only y confirms\)'
    wait_row a '^a +stopped'
    assert_eq "" "$(qemus_of "$root")" "QEMU after a no"
    assert_eq "$before" "$(cat "$root/a.vm/config.yaml" "$root/vnc_table.yaml")" "the config after a no"
    keys r
    wait_screen 'Move it to :3 and start\?'
    keys y
    wait_row a '^a +running .* :3 '
    assert_eq ":3" "$(vm_config_value "$root" a display)"
    accepts "$VNC_LISTEN" 5901 || fail "the other program's listener on :1 was touched"
    expect_exit 0 yv "$root" shutdown --name a --force
    wait_row a '^a +stopped'
    tui_quit
}

# The TUI, a held forward port: the question names the port and where it goes; y moves it.
test_tui_asks_before_moving_a_port()
{
    local root p
    free_base p
    tui_root root
    printf 'network:\n  ssh_port_base: %s\n' "$p" >>"$root/config.yaml"
    mkvm "$root" u1 --forward "$p:22"
    listen_tcp 127.0.0.1 "$p"
    TUI_W=120 tui_start "$root"
    wait_row u1 '^u1 +stopped'
    keys r
    wait_screen "tcp port $p of u1 is held by another program\\. Move it to $((p + 1)) and start\\?"
    keys Escape
    wait_screen 'u1: not moved, not started'
    assert_eq "$p" "$(fw_hosts "$root" u1)" "u1's port after a no"
    keys r
    wait_screen "Move it to $((p + 1)) and start\\?"
    listen_tcp 127.0.0.1 "$((p + 1))" # taken while the question is open: asked again, not moved
    keys y
    wait_screen "tcp port $p of u1 is held by another program\\. Move it to $((p + 2)) and start\\?"
    assert_eq "$p" "$(fw_hosts "$root" u1)" "u1's port after the refused yes"
    keys y
    wait_row u1 '^u1 +running'
    wait_screen "u1 started; tcp port $p -> $((p + 2))"
    assert_eq "$((p + 2))" "$(fw_hosts "$root" u1)" "u1's port after the yes"
    connects "$((p + 2))" || fail "slirp does not accept on u1's moved port"
    expect_exit 0 yv "$root" shutdown --name u1 --force
    wait_row u1 '^u1 +stopped'
    tui_quit
}

# The TUI: a move question never replaces a question already open (its y would answer the other):
# it waits for that one to close. The run is held in its reaping of a dead create's folder by the
# root lock the test takes, so it fails while "Delete b?" is open; n on Delete, then the move
# question shows and y answers only it (b kept, a runs on :3).
test_tui_move_question_waits_for_an_open_one()
{
    local root lockfd
    tui_root root a b
    listen_tcp "$VNC_LISTEN" 5901
    TUI_W=120 tui_start "$root"
    wait_row a '^a +stopped'
    wait_row b '^b +stopped'
    exec {lockfd}>>"$root/run/lock"
    flock "$lockfd" || fail "flock run/lock"
    mkdir "$root/.a.vm.part" # a dead create's folder (after the lock: else the TUI reaps it)
    keys r
    keys Down D
    wait_screen 'Delete b and its disks for good\?'
    flock -u "$lockfd"
    exec {lockfd}>&-
    wait_screen 'a: VNC display :1 .* is in use by another program'
    sleep 0.3 # the frame after the failure (a question pushed over Delete would show by now)
    SCREEN=$(cap)
    assert_contains "$SCREEN" "Delete b and its disks for good?" "the Delete question after the failure"
    assert_not_contains "$SCREEN" "Held by another program" "the move question over Delete"
    keys n
    wait_screen 'VNC display :1 of a is held by another program\. Move it to :3 and start\?'
    assert_not_contains "$SCREEN" "Delete b and its disks" "Delete still open under the move question"
    keys y
    wait_row a '^a +running .* :3 '
    assert_eq ":3" "$(vm_config_value "$root" a display)"
    [ -d "$root/b.vm" ] || fail "b was deleted by the y meant for the move question"
    expect_exit 0 yv "$root" shutdown --name a --force
    wait_row a '^a +stopped'
    tui_quit
}

# The TUI's yes names the target it showed (hidden --display-to / --port-to): a target taken since
# refuses the start with a fresh "move" and changes nothing, the TUI asks again with the new one;
# never a silent different move. The status line of the run says what moved.
test_tui_yes_moves_only_where_it_said()
{
    local root before
    tui_root root a b
    listen_tcp "$VNC_LISTEN" 5901
    before=$(snapshot_root "$root")
    # batch: the hidden options are not in --help; a taken target is refused with the new one
    expect_exit 0 yv "$root" run --help
    assert_not_contains "$OUT" "display-to"
    assert_not_contains "$OUT" "port-to"
    expect_exit 1 yv "$root" --json run --name a --new-display --display-to :4
    assert_contains "$(jv 'd["error"]["message"]')" "what VM 'a' was to move to is no longer free: now VNC display :1 -> :3 (not moved)"
    assert_eq '{"display": {"from": ":1", "to": ":3"}, "options": ["new-display"]}' "$(jv 'd["error"]["move"]')"
    assert_no_trace "$before" "$root"
    expect_exit 2 yv "$root" run --name a --display-to :3
    expect_exit 2 yv "$root" run --name a --new-ports --port-to tcp:x:1
    TUI_W=140 tui_start "$root"
    wait_row a '^a +stopped'
    keys r
    wait_screen 'VNC display :1 of a is held by another program\. Move it to :3 and start\?'
    listen_tcp "$VNC_LISTEN" 5903 # :3 taken while the question is open
    keys y
    wait_screen 'VNC display :1 of a is held by another program\. Move it to :4 and start\?'
    assert_eq ":1" "$(vm_config_value "$root" a display)" "a's display after the refused yes"
    assert_eq "" "$(qemus_of "$root")" "QEMU after the refused yes"
    keys y
    wait_row a '^a +running .* :4 '
    wait_screen 'a started; VNC display :1 -> :4'
    assert_eq ":4" "$(vm_config_value "$root" a display)"
    expect_exit 0 yv "$root" shutdown --name a --force
    wait_row a '^a +stopped'
    tui_quit
}

# A bulk run of two VMs whose displays are held: their questions come one at a time (the second
# never replaces the first); the second, still naming :4, which the first took meanwhile, is asked
# again with :5 on its yes.
test_tui_bulk_questions_one_at_a_time()
{
    local root first second
    tui_root root a b c
    listen_tcp "$VNC_LISTEN" 5901
    listen_tcp "$VNC_LISTEN" 5903
    TUI_W=140 tui_start "$root"
    wait_row c '^c +stopped'
    keys Space Down Space
    wait_screen '^\*c +stopped'
    text r
    wait_screen 'Start a, c\?'
    text y
    wait_screen '(Held by another program|Summary)'
    if grep -q 'Summary' <<<"$SCREEN"; then # both ended before a question showed: the notice first
        text x
    fi
    wait_screen 'of [ac] is held by another program\. Move it to :4 and start\?'
    first=$(grep -Eo 'of [ac] is held' <<<"$SCREEN" | cut -c4)
    second=a
    [ "$first" = a ] && second=c
    text y
    wait_screen "^\\*$first +running .* :4 " # marked rows start with '*'
    # the second's question, queued behind the first (:4 when its run failed before the first's
    # move, :5 after it; then the summary notice may come first)
    wait_screen "(of $second is held by another program\\. Move it to :[45] and start\\?|Summary)"
    if grep -q 'Summary' <<<"$SCREEN"; then
        text x
        wait_screen "of $second is held by another program\\. Move it to :[45] and start\\?"
    fi
    if grep -q 'Move it to :4' <<<"$SCREEN"; then # :4 is the first's now: asked again with :5
        text y
        wait_screen "of $second is held by another program\\. Move it to :5 and start\\?"
    fi
    text y
    wait_screen "^\\*$second +running .* :5 "
    expect_exit 0 yv "$root" shutdown --name a --force
    expect_exit 0 yv "$root" shutdown --name c --force
    wait_screen '^\*a +stopped'
    wait_screen '^\*c +stopped'
    tui_quit
}

run_tests "$@"
