#!/usr/bin/env bash
# Integration tests of `set` (spec §13): a stopped VM's config changed (status shows it; a new
# VNC display in vnc_table.yaml too); bad input, a forward port or VNC display another VM holds and
# a display whose port another program listens on refused with the root unchanged; on a running
# VM (real QEMU, TCG) `set --memory` is pending in status (text and --json) until the next start,
# after which QMP query-memory-size-summary shows the new size and nothing is pending; the new VNC
# password is taken by the running QEMU at once; a VM started without the record of its start
# config shows no pending list rather than a wrong one; forward add|remove after a pending
# set --forward; the same VNC password again after a push that failed; the TUI's edit form (key e)
# does the same, sends only the fields the user changed (a forward added meanwhile survives, a
# forwards list too long for the field is kept), and its details show what is pending.
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"

PWF= # a file holding a VNC password (set reads it from a file or stdin only)

mkvm()
{
    local r=$1 n=$2
    shift 2
    PWF=$(dirname "$r")/vncpw
    printf 'Abcdefgh\n' >"$PWF"
    expect_exit 0 yv "$r" create --no-ovmf -m 64 -c 64 --vnc-password-file "$PWF" --name "$n" "$@"
}

# ram_mib ROOT VM: the guest RAM of the running QEMU (QMP query-memory-size-summary), in MiB.
ram_mib()
{
    qmp "$1" "$2" query-memory-size-summary | "$PY" -c '
import json, sys
print(json.load(sys.stdin)["base-memory"] // (1024 * 1024))'
}

test_stopped_vm_changes_and_json()
{
    local root
    new_root root
    mkvm "$root" s1 --no-network
    expect_exit 0 yv "$root" set --name s1 --memory 96 --vcpu 2 --ovmf
    assert_eq "s1: changed memory, vcpu, ovmf" "$OUT"
    assert_eq 96 "$(vm_config_value "$root" s1 memory)"
    assert_eq 2 "$(vm_config_value "$root" s1 vcpu)"
    assert_eq true "$(vm_config_value "$root" s1 ovmf)"
    expect_exit 0 yv "$root" --json set --name s1 --memory 96 --no-ovmf
    assert_eq '{"vm": "s1", "changed": ["ovmf"], "pending": [], "running": false}' "$(jv d)"
    expect_exit 0 yv "$root" --json status --name s1
    assert_eq "96 2 False" "$(jv '"%s %s %s" % (d["memory"], d["vcpu"], d["ovmf"])')"
    assert_eq false "$(jv '"pending" in d')" "a stopped VM has no pending list"
    # a network for a VM that had none: a MAC of its own and the SSH forward, as create gives
    expect_exit 0 yv "$root" --json set --name s1 --network user
    assert_eq '["network"]' "$(jv 'd["changed"]')"
    expect_exit 0 yv "$root" --json status --name s1
    assert_match '^52:54:' "$(jv 'd["networks"][0]["mac"]')"
    assert_eq 22 "$(jv 'd["networks"][0]["forwards"][0]["guest"]')"
    expect_exit 0 yv "$root" set --name s1 --forward 2251:22 --forward udp:5353:53
    assert_eq "s1: changed forwards" "$OUT"
    expect_exit 0 yv "$root" --json status --name s1
    assert_eq "2251 5353" "$(jv '" ".join(str(f["host"]) for f in d["networks"][0]["forwards"])')"
    expect_exit 0 yv "$root" set --name s1 --network tap --master br7
    expect_exit 0 yv "$root" --json status --name s1
    assert_eq "tap br7" "$(jv 'd["networks"][0]["type"] + " " + d["networks"][0]["master"]')"
    expect_exit 0 yv "$root" set --name s1 --network none
    expect_exit 0 yv "$root" --json status --name s1
    assert_eq "[]" "$(jv 'd["networks"]')"
    # a new VNC display: config.yaml and vnc_table.yaml together
    expect_exit 0 yv "$root" --json set --name s1 --display 9
    assert_eq '["display"]' "$(jv 'd["changed"]')"
    assert_eq ":9" "$(vm_config_value "$root" s1 display)"
    assert_match "':9': '?s1'?" "$(cat "$root/vnc_table.yaml")"
    assert_not_contains "$(cat "$root/vnc_table.yaml")" "':1'"
}

# Bad input and conflicts: a clear error, the exit status of spec §8, the root byte for byte as
# before (vm.yaml's checksum among it).
test_refusals_change_nothing()
{
    local root before sum
    new_root root
    mkvm "$root" b1 --network user --forward 2261:22
    mkvm "$root" b2 --network user --forward 2262:22
    sum=$(sha256sum <"$root/b1.vm/config.yaml")
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" set --name b1 --memory 8
    assert_err_line set "at least 16 MiB"
    expect_exit 2 yv "$root" set --name b1 --memory lots
    expect_exit 2 yv "$root" set --name b1 --vcpu 0
    assert_err_line set "invalid --vcpu '0'"
    expect_exit 2 yv "$root" set --name b1 --vcpu 2000
    expect_exit 2 yv "$root" set --name b1
    assert_err_line set "nothing to change"
    expect_exit 2 yv "$root" set --name b1 --ovmf --no-ovmf
    expect_exit 2 yv "$root" set --name b1 --network bridge
    expect_exit 2 yv "$root" set --name b1 --forward 99999:22
    expect_exit 2 yv "$root" set --name b1 --master br0
    assert_err_line set "--master needs a tap network"
    expect_exit 2 yv "$root" set --name b1 --network tap --forward 2263:22
    expect_exit 2 yv "$root" set --name b1 --master 'bad bridge!'
    expect_exit 2 yv "$root" set --name b1 --vnc-password Secret12
    EXPECT_STDIN=/dev/null expect_exit 2 yv "$root" set --name b1 --vnc-password-file -
    assert_err_line set "empty"
    expect_exit 2 yv "$root" set --name b1 --forward 2264:22 --forward 2264:80
    assert_err_line set "given twice"
    # another VM's VNC display, or a display whose port another program listens on
    expect_exit 4 yv "$root" set --name b1 --display :2
    assert_err_line set "VNC display :2 belongs to VM 'b2'"
    local listen port=$((5950 + RANDOM % 500))
    expect_exit 0 yv "$root" --json status --name b1
    listen=$(jv 'd["vnc"]["listen"]')
    listen_tcp "$listen" "$port" # (new_root's own loopback address: no other test's)
    expect_exit 4 yv "$root" --json set --name b1 --display ":$((port - 5900))"
    assert_json_error VM_EXISTS
    assert_contains "$OUT" "another program listens"
    expect_exit 2 yv "$root" set --name b1 --display :x
    # another VM's forward port: refused as create refuses it, naming that VM
    expect_exit 4 yv "$root" set --name b1 --forward 2262:22
    assert_err_line set "VM 'b2'"
    expect_exit 4 yv "$root" --json set --name b1 --memory 128 --forward 2262:22
    assert_json_error VM_EXISTS
    expect_exit 3 yv "$root" --json set --name nosuch --memory 128
    assert_json_error VM_NOT_FOUND
    expect_exit 2 yv "$root" --json set --name 'bad/name' --memory 128
    assert_eq "$sum" "$(sha256sum <"$root/b1.vm/config.yaml")" "vm.yaml's checksum"
    assert_no_trace "$before" "$root"
    # create refuses the same port the same way (one rule)
    expect_exit 4 yv "$root" create --name b3 --no-ovmf -c 64 --forward 2262:22 --vnc-password-file "$PWF"
    assert_err_line create "VM 'b2'"
    assert_no_trace "$before" "$root"
}

# The issue's scenario: set --memory on a running VM is pending until the next start, which QMP
# then confirms.
test_memory_pending_then_applied()
{
    local root pid
    new_root root
    mkvm "$root" m1 --no-network
    start_vm "$root" m1 pid
    assert_eq 64 "$(ram_mib "$root" m1)" "the RAM it started with"
    expect_exit 0 yv "$root" --json status --name m1
    assert_eq "[]" "$(jv 'd["pending"]')" "nothing pending after a start"
    expect_exit 0 yv "$root" set --name m1 --memory 96 --vcpu 2
    assert_eq "m1: changed memory, vcpu
m1: pending: [memory, vcpu] (the running QEMU has the old values until its next start)" "$OUT"
    expect_exit 0 yv "$root" status --name m1
    assert_contains "$OUT" "m1: pending: [memory, vcpu] (at the next start)"
    assert_cell_match m1 MEMORY '^96M$'
    expect_exit 0 yv "$root" --json status --name m1
    assert_eq '["memory", "vcpu"]' "$(jv 'd["pending"]')"
    expect_exit 0 yv "$root" --json list
    assert_eq '["memory", "vcpu"]' "$(jv '[v for v in d if v["name"] == "m1"][0]["pending"]')"
    assert_eq 64 "$(ram_mib "$root" m1)" "the running QEMU keeps its RAM"
    # set back to what it runs with: nothing pending any more
    expect_exit 0 yv "$root" --json set --name m1 --vcpu 1
    assert_eq '{"vm": "m1", "changed": ["vcpu"], "pending": ["memory"], "running": true}' "$(jv d)"
    # a new display: pending too (QEMU listens on the old port until its next start)
    expect_exit 0 yv "$root" --json set --name m1 --display :11
    assert_eq '["memory", "display"]' "$(jv 'd["pending"]')"
    expect_exit 0 yv "$root" --json set --name m1 --display :1
    assert_eq '["memory"]' "$(jv 'd["pending"]')"
    # the VNC password: taken by the running QEMU at once, so never pending
    printf 'Newpass1\n' >"$PWF.new"
    expect_exit 0 yv "$root" --json set --name m1 --vnc-password-file "$PWF.new"
    assert_eq '{"vm": "m1", "changed": ["vnc_password"], "pending": ["memory"], "running": true, "live": ["vnc_password"]}' "$(jv d)"
    assert_not_contains "$OUT$ERR" Newpass1
    expect_exit 0 yv "$root" shutdown --name m1 --force
    assert_no_file "$root/run/m1.started"
    start_vm "$root" m1 pid
    assert_eq 96 "$(ram_mib "$root" m1)" "query-memory-size-summary after the next start"
    expect_exit 0 yv "$root" status --name m1
    assert_not_contains "$OUT" "pending"
    expect_exit 0 yv "$root" --json status --name m1
    assert_eq "[]" "$(jv 'd["pending"]')" "nothing pending after the next start"
    expect_exit 0 yv "$root" shutdown --name m1 --force
}

# A forward added to a running VM is live (QMP), so it is not pending; one given to set is.
# A VM started without the record (an older yave) shows no pending list rather than a wrong one.
test_forwards_live_and_unknown_start_config()
{
    local root pid
    new_root root
    mkvm "$root" f1 --network user --forward 2271:22
    start_vm "$root" f1 pid
    # the record is the config's text as run read it (no YAML emitted again on the way to QEMU)
    assert_eq "$(cat "$root/f1.vm/config.yaml")" "$(cat "$root/run/f1.started")" "run/f1.started"
    assert_eq 600 "$(stat -c %a "$root/run/f1.started")" "the record's mode (a VNC password)"
    expect_exit 0 yv "$root" forward add --name f1 2272:80
    expect_exit 0 yv "$root" --json status --name f1
    assert_eq "[]" "$(jv 'd["pending"]')" "a live forward add is not pending"
    expect_exit 0 yv "$root" --json set --name f1 --forward 2271:22
    assert_eq '{"vm": "f1", "changed": ["forwards"], "pending": ["forwards"], "running": true}' "$(jv d)"
    rm -f "$root/run/f1.started" # as if an older yave had started it
    expect_exit 0 yv "$root" --json status --name f1
    assert_eq false "$(jv '"pending" in d')" "no record: no pending list"
    expect_exit 0 yv "$root" status --name f1
    assert_not_contains "$OUT" "pending"
    expect_exit 0 yv "$root" --json set --name f1 --memory 80
    assert_eq '{"vm": "f1", "changed": ["memory"], "pending": ["memory"], "running": true}' "$(jv d)"
    expect_exit 0 yv "$root" shutdown --name f1 --force
}

# After set --forward on a running VM (pending), forward add|remove still work: removing a forward
# only the config has changes the config alone (QEMU never had it), adding one the running QEMU
# still forwards too (its own port, not "in use"); a forward QEMU has is removed from it as before.
test_forward_after_pending_set()
{
    local root pid
    new_root root
    mkvm "$root" f2 --network user --forward 2281:22
    start_vm "$root" f2 pid
    expect_exit 0 yv "$root" set --name f2 --forward 2282:22
    expect_exit 0 yv "$root" forward remove --name f2 2282
    assert_contains "$OUT" "removed (pending"
    expect_exit 0 yv "$root" forward add --name f2 2281:22
    assert_contains "$OUT" "added (pending"
    expect_exit 0 yv "$root" --json status --name f2
    assert_eq "[]" "$(jv 'd["pending"]')" "the config is again what QEMU runs with"
    assert_contains "$(ss -Hltnp 'sport = :2281')" "pid=$pid," "QEMU still forwards 2281"
    expect_exit 0 yv "$root" forward remove --name f2 2281
    assert_contains "$OUT" "(also in the running QEMU)"
    assert_eq "" "$(ss -Hltn 'sport = :2281')" "QEMU's forward 2281 after its removal"
    expect_exit 0 yv "$root" --json status --name f2
    assert_eq "[]" "$(jv 'd["pending"]')" "a live remove is not pending"
    expect_exit 0 yv "$root" shutdown --name f2 --force
}

# A VNC password whose live push failed (QMP held by another client) is pending; the same password
# given again reaches the running QEMU (compared with what QEMU has, not with the config).
test_password_resent_after_a_failed_push()
{
    local root pid holder
    new_root root
    mkvm "$root" p1 --no-network
    start_vm "$root" p1 pid
    printf 'Resent12\n' >"$PWF.new"
    "$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
time.sleep(60)' "$root/run/p1.sock" &
    holder=$!
    at_exit kill "$holder"
    sleep 0.2
    expect_exit 0 yv "$root" --json set --name p1 --vnc-password-file "$PWF.new"
    assert_eq '["vnc_password"]' "$(jv 'd["pending"]')" "a password QEMU did not take"
    kill "$holder"
    wait "$holder" 2>/dev/null
    expect_exit 0 yv "$root" --json set --name p1 --vnc-password-file "$PWF.new"
    assert_eq '{"vm": "p1", "changed": [], "pending": [], "running": true, "live": ["vnc_password"]}' \
        "$(jv d)" "the same password again"
    expect_exit 0 yv "$root" shutdown --name p1 --force
}

# The TUI's edit form: e on the selected VM, filled with its config; a bad value is refused next to
# its field, a good one changes the config and the status line says what is pending.
test_tui_edit_form()
{
    local root pid
    tui_root root e1
    expect_exit 0 yv "$root" set --name e1 --network user --forward 2297:22
    start_vm "$root" e1 pid
    tui_start "$root"
    wait_row e1 '^e1 +running '
    keys e
    wait_screen 'Change e1'
    assert_match 'Forwards +2297:22' "$(line_with 'Forwards')" "prefilled forwards"
    # meanwhile another client adds a forward: the form (which only changes memory and the VNC
    # password) sends what the user changed, not the forwards it was filled with
    expect_exit 0 yv "$root" forward add --name e1 2298:80
    assert_match 'Memory MiB +64' "$(line_with 'Memory MiB')" "prefilled memory"
    assert_match 'vCPUs +1' "$(line_with 'vCPUs')" "prefilled vCPUs"
    assert_match 'VNC display +:1' "$(line_with 'VNC display')" "prefilled display"
    keys BSpace BSpace BSpace BSpace
    text 8
    keys F10
    wait_screen '16 to 16777216 MiB'
    assert_eq 64 "$(vm_config_value "$root" e1 memory)" "memory after a refused value"
    keys BSpace BSpace BSpace BSpace
    text 128
    keys Tab Tab Tab # vCPUs, VNC display, VNC password
    text Tuipass1
    keys F10
    wait_screen 'e1: changed memory, vnc_password \(pending: memory'
    assert_eq 128 "$(vm_config_value "$root" e1 memory)" "memory after the form"
    expect_exit 0 yv "$root" --json status --name e1
    assert_eq "2297 2298" "$(jv '" ".join(str(f["host"]) for f in d["networks"][0]["forwards"])')" \
        "the forwards after the form (the one added meanwhile kept)"
    assert_eq Tuipass1 "$(vm_config_value "$root" e1 password)" "the VNC password after the form"
    assert_not_contains "$(ps -eo args)" Tuipass1
    assert_not_contains "$(cap)" Tuipass1
    keys Enter # the details say what is pending
    wait_screen 'pending: \[memory\] \(the running QEMU'
    keys Escape
    wait_row e1 '^e1 +running '
    tui_quit
    expect_exit 0 yv "$root" shutdown --name e1 --force
}

# Forwards too long for the form's field (255 characters) are not shown cut, nor sent back cut:
# the field is left empty, its hint says empty keeps them, and a memory change keeps all of them.
test_tui_edit_form_long_forwards()
{
    local root i fw=()
    tui_root root e2
    for i in $(seq 23001 23016); do fw+=(--forward "0.0.0.0:$i:22"); done
    expect_exit 0 yv "$root" set --name e2 --network user "${fw[@]}"
    tui_start "$root"
    wait_row e2 '^e2 +stopped '
    keys e
    wait_screen 'Change e2'
    assert_match 'Forwards +│' "$(line_with 'Forwards')" "an empty forwards field"
    keys BSpace BSpace BSpace BSpace
    text 96
    keys Tab Tab Tab Tab Tab Tab # vCPUs, VNC display, VNC password, Network, Bridge, Forwards
    wait_screen 'too many to show; empty: kept'
    keys F10
    wait_screen 'e2: changed memory'
    assert_eq 96 "$(vm_config_value "$root" e2 memory)" "memory after the form"
    expect_exit 0 yv "$root" --json status --name e2
    assert_eq "16 23016" "$(jv '"%d %d" % (len(d["networks"][0]["forwards"]), d["networks"][0]["forwards"][15]["host"])')" \
        "the forwards after the form"
    tui_quit
}

run_tests "$@"
