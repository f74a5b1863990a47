#!/usr/bin/env bash
# autostart (spec §13): `autostart on|off --name VM` marks VMs in the root's autostart.yaml,
# `autostart run` (what the shipped yave-autostart.service calls at boot) starts every marked VM
# that is not running — real QEMU (TCG, 64 MiB, an empty disk), each start proven by its pidfile.
. "$(dirname "$0")/lib.sh"

PW=Ka3vT8sQ

# mkvm ROOT NAME: a tiny VM (no network, no UEFI); the password through a file.
mkvm()
{
    local pwf
    pwf=$(dirname "$1")/pw.$2
    printf '%s\n' "$PW" >"$pwf"
    EXPECT_STDIN=$pwf expect_exit 0 yv "$1" create --no-network --no-ovmf -c 64 -m 64 --name "$2" \
        --vnc-password-file -
}

# assert_qemu_of ROOT VM: run/VM.pid names a live QEMU.
assert_qemu_of()
{
    local p
    p=$(cat "$1/run/$2.pid" 2>/dev/null) || fail "no run/$2.pid: $2 was not started"
    is_qemu "$p" || fail "run/$2.pid names $p, which is not a QEMU"
}

three_vms()
{
    local __r
    new_root __r
    mkvm "$__r" a
    mkvm "$__r" b
    mkvm "$__r" c
    printf -v "$1" '%s' "$__r"
}

test_run_starts_exactly_the_marked_vms()
{
    local root
    three_vms root
    expect_exit 0 yv "$root" --json autostart on --name a
    assert_eq '{"vm":"a","autostart":true}' "$OUT" "on --json"
    expect_exit 0 yv "$root" autostart on --name c
    expect_exit 0 yv "$root" autostart on --name c # already marked: no change, no error
    assert_eq "$(printf 'vms:\n- a\n- c')" "$(cat "$root/autostart.yaml")" "autostart.yaml"
    expect_exit 0 yv "$root" autostart list
    assert_eq "$(printf 'a\nc')" "$OUT" "list"
    expect_exit 0 yv "$root" --json status
    assert_eq "[true, false, true]" "$(jv '[v["autostart"] for v in d]')" "status --json"
    grep -q autostart "$root/a.vm/config.yaml" && fail "the mark went into a VM's config.yaml"

    expect_exit 0 yv "$root" --json autostart run
    assert_eq '{"started":["a","c"],"already_running":[],"failed":[]}' "$OUT" "first run"
    assert_qemu_of "$root" a
    assert_qemu_of "$root" c
    assert_no_file "$root/run/b.pid"
    assert_eq 2 "$(qemus_of "$root" | wc -l)" "QEMUs of the root"
    expect_exit 0 yv "$root" --json status --name b
    assert_eq stopped "$(jv 'd["state"]')" "b stays stopped"

    expect_exit 0 yv "$root" autostart run # a second run starts nothing
    assert_contains "$OUT" "VM 'a' is already running"
    assert_contains "$OUT" "VM 'c' is already running"
    assert_not_contains "$OUT" "started"
    expect_exit 0 yv "$root" --json autostart run
    assert_eq '{"started":[],"already_running":["a","c"],"failed":[]}' "$OUT" "second run"
    assert_eq 2 "$(qemus_of "$root" | wc -l)" "QEMUs after the second run"

    expect_exit 0 yv "$root" --json autostart off --name a
    assert_eq '{"vm":"a","autostart":false}' "$OUT" "off --json"
    expect_exit 0 yv "$root" autostart list
    assert_eq c "$OUT" "list after off"
    stop_qemus "$root"
}

# One VM that cannot start does not stop the others; the exit status says something failed.
test_a_failure_does_not_stop_the_others()
{
    local root
    three_vms root
    expect_exit 0 yv "$root" autostart on --name a
    expect_exit 0 yv "$root" autostart on --name b
    rm "$root/a.vm/hd0.qcow2" # a's QEMU cannot open its disk
    expect_exit 1 yv "$root" --json autostart run
    assert_eq '[]' "$(jv 'd["already_running"]')"
    assert_eq '["b"]' "$(jv 'd["started"]')" "b started although a failed"
    assert_eq '["a"]' "$(jv '[f["vm"] for f in d["failed"]]')" "a failed"
    assert_ne "" "$(jv 'd["failed"][0]["error"]')" "a's error is told"
    assert_contains "$ERR" "autostart: a: "
    assert_qemu_of "$root" b
    assert_no_file "$root/run/a.pid"
    stop_qemus "$root"
}

# delete removes the VM's mark; a name whose VM went by hand is reported, the others start.
test_delete_keeps_the_list_consistent()
{
    local root
    three_vms root
    expect_exit 0 yv "$root" autostart on --name a
    expect_exit 0 yv "$root" autostart on --name b
    expect_exit 0 yv "$root" delete --name a
    assert_eq "$(printf 'vms:\n- b')" "$(cat "$root/autostart.yaml")" "a's mark went with a"
    rm -r "$root/b.vm" # by hand: the list keeps a name without a VM
    expect_exit 0 yv "$root" autostart on --name c
    expect_exit 1 yv "$root" --json autostart run
    assert_eq '["c"]' "$(jv 'd["started"]')"
    assert_eq '["b"]' "$(jv '[f["vm"] for f in d["failed"]]')"
    assert_contains "$(jv 'd["failed"][0]["error"]')" "no VM named 'b'"
    expect_exit 0 yv "$root" autostart off --name b # a name without a VM can be unmarked
    expect_exit 0 yv "$root" autostart list
    assert_eq c "$OUT"
    stop_qemus "$root"
}

# A broken autostart.yaml is an error naming it and its line, for every verb that reads it, and
# nothing changes (no QEMU either); one behind a symlink is not read through.
test_broken_file_is_a_clear_error_and_changes_nothing()
{
    local root before
    three_vms root
    printf 'vms:\n- a\n- ../b\n' >"$root/autostart.yaml"
    before=$(snapshot_root "$root")
    expect_exit 1 yv "$root" autostart run
    assert_contains "$ERR" "$root/autostart.yaml:3:3: items of vms must name a VM"
    expect_exit 1 yv "$root" --json autostart on --name c
    assert_json_error CONFIG_INVALID
    expect_exit 1 yv "$root" autostart off --name a
    assert_contains "$ERR" "autostart.yaml:3:3"
    expect_exit 1 yv "$root" autostart list
    expect_exit 1 yv "$root" delete --name a
    assert_contains "$ERR" "autostart.yaml:3:3"
    expect_exit 0 yv "$root" --json status # status still shows the VMs, without the key
    assert_eq "[false, false, false]" "$(jv '[("autostart" in v) for v in d]')" "status without the key"
    assert_no_trace "$before" "$root"
    assert_eq 0 "$(qemus_of "$root" | wc -l)" "no QEMU started"

    printf 'vms: [a]\n' >"$root/elsewhere.yaml"
    rm "$root/autostart.yaml"
    ln -s elsewhere.yaml "$root/autostart.yaml"
    before=$(snapshot_root "$root")
    expect_exit 77 yv "$root" autostart run
    assert_contains "$ERR" "symbolic link"
    expect_exit 77 yv "$root" autostart on --name b
    assert_no_trace "$before" "$root"
    assert_eq 0 "$(qemus_of "$root" | wc -l)" "no QEMU started through a symlink"
}

test_usage_errors()
{
    local root before
    new_root root
    mkvm "$root" a
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" autostart on
    assert_contains "$ERR" "needs --name"
    expect_exit 2 yv "$root" autostart run --name a
    expect_exit 2 yv "$root" autostart maybe --name a
    expect_exit 2 yv "$root" autostart on --name ../a
    expect_exit 3 yv "$root" --json autostart on --name nope
    assert_json_error VM_NOT_FOUND
    assert_no_trace "$before" "$root"
}

run_tests "$@"
