#!/usr/bin/env bash
# The TUI's port-forward form (key f, spec §10's `forward add|remove` from the list): refused for a
# VM without a user network; a bad spec is refused next to its field by the batch's own parser and
# changes nothing; an add changes the config (and the list's NETWORK cell) and, on a running VM,
# QEMU at once (slirp accepts on the port, `info usernet` lists it); remove undoes it; a port
# another program holds is an error on the status line. The real yave-tui in tmux, real QEMU (TCG,
# an empty disk: slirp accepts a forwarded connection with no guest).
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"
# shellcheck source=tests/integration/forward-lib.sh
. "$(dirname "$0")/forward-lib.sh"

# fw_root VAR PORT: a TUI root (TCG, short shutdown timeout) with VM a0 (no network) and VM fw1
# (a user network forwarding PORT to the guest's 22).
fw_root()
{
    tui_root "$1" a0
    mkvm "${!1}" fw1 --network user --forward "$2:22"
}

# open_form: f on the selected VM (fw1), and its form is up.
open_form()
{
    keys f
    wait_screen 'Port forward of fw1'
}

test_forward_form_on_a_stopped_vm()
{
    local root p sum
    free_base p
    fw_root root "$p"
    tui_start "$root" # 80x24
    wait_row fw1 "^fw1 +stopped .* $p→22 "
    # a0 (selected first) has no user network: refused on the status line, no form
    keys f
    wait_screen 'a0 has no user network \(forwards need type: user\)'
    [ -z "$(line_with 'Port forward of')" ] || fail "a form opened for a VM without a user network"
    keys Down
    open_form
    assert_match 'Action +< add >' "$(line_with 'Action ')" "add is the default"
    # a bad spec: the parser's reason next to the field, the whole message on the status line,
    # the form stays and nothing changes
    sum=$(md5sum <"$root/fw1.vm/config.yaml")
    keys Tab
    text "$((p + 1)):99999"
    keys F10
    wait_screen "Forward +$((p + 1)):99999 +ports must be whole numbers"
    wait_screen "invalid forward '$((p + 1)):99999': ports must be whole numbers from 1 to 65535"
    assert_eq "$sum" "$(md5sum <"$root/fw1.vm/config.yaml")" "config after a bad spec"
    keys C-u
    text "$((p + 1)):80"
    keys F10
    wait_screen "forward tcp 127.0.0.1:$((p + 1)) -> 80 added to fw1 \(from its next start\)"
    wait_gone 'Port forward of'
    assert_eq "$(printf '%s\n' "$p" "$((p + 1))")" "$(fw_hosts "$root" fw1)" "config after add"
    wait_row fw1 "^fw1 +stopped .* $p→22 \+ "
    # remove: the short form [PROTO:]HOST
    open_form
    keys Right Tab
    text "tcp:$p"
    keys F10
    wait_screen "forward tcp 127.0.0.1:$p -> 22 removed from fw1 \(from its next start\)"
    assert_eq "$((p + 1))" "$(fw_hosts "$root" fw1)" "config after remove"
    wait_row fw1 "^fw1 +stopped .* $((p + 1))→80 "
    # Esc: nothing done
    open_form
    keys Escape
    wait_gone 'Port forward of'
    assert_eq "$((p + 1))" "$(fw_hosts "$root" fw1)" "config after Esc"
    tui_quit
}

test_forward_form_on_a_running_vm()
{
    local root p pid
    free_base p
    fw_root root "$p"
    start_vm "$root" fw1 pid
    # 140 columns: the port-in-use message (port, address, network, holder) is longer than 80
    TUI_W=140 tui_start "$root"
    wait_row fw1 "^fw1 +running .* $p→22 "
    # the first key typed is an arrow: it moves the selection (curses' keypad mode is on at once)
    keys Down
    connects "$((p + 2))" && fail "port $((p + 2)) answers before it is forwarded"
    open_form
    keys Tab
    text "$((p + 2)):8080"
    keys F10
    wait_screen "forward tcp 127.0.0.1:$((p + 2)) -> 8080 added to fw1 \(also in the running QEMU\)"
    connects "$((p + 2))" || fail "slirp does not accept on the added port $((p + 2))"
    assert_contains "$(host_forwards "$root" fw1)" " $((p + 2)) " "info usernet after add"
    assert_eq "$(printf '%s\n' "$p" "$((p + 2))")" "$(fw_hosts "$root" fw1)" "config after add"
    # a port another program holds: the error on the status line, QEMU and the config unchanged
    listen_tcp 127.0.0.1 "$((p + 3))"
    open_form
    keys Tab
    text "$((p + 3)):81"
    keys F10
    wait_screen "fw1: .*$((p + 3)).*in use by python3"
    assert_eq "$(printf '%s\n' "$p" "$((p + 2))")" "$(fw_hosts "$root" fw1)" "config after a refused add"
    assert_not_contains "$(host_forwards "$root" fw1)" " $((p + 3)) " "info usernet after a refused add"
    # remove it again: gone from QEMU at once
    open_form
    keys Right Tab
    text "$((p + 2))"
    keys F10
    wait_screen "forward tcp 127.0.0.1:$((p + 2)) -> 8080 removed from fw1 \(also in the running QEMU\)"
    connects "$((p + 2))" && fail "port $((p + 2)) still answers after remove"
    assert_not_contains "$(host_forwards "$root" fw1)" " $((p + 2)) " "info usernet after remove"
    assert_eq "$p" "$(fw_hosts "$root" fw1)" "config after remove"
    is_qemu "$pid" || fail "QEMU $pid went away"
    tui_quit
}

run_tests "$@"
