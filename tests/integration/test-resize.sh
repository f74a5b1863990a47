#!/usr/bin/env bash
# Integration tests of `resize` (spec §13): a stopped VM's disk grown with qemu-img (qemu-img info
# shows it, an overlay's base untouched), the refusals (shrink, the same size, a drive it lacks,
# a cdrom, a bad capacity, no such VM) with the root unchanged, and a running VM's disk grown over
# QMP block_resize (QEMU's query-block shows the new size); the TUI's form (key g) does the same
# and shows a refusal on the status line. Real QEMU under TCG, an empty disk.
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"

mkvm()
{
    local r=$1 n=$2
    shift 2
    expect_exit 0 yv "$r" create --no-ovmf -m 64 --no-network --vnc-password Abcdefgh --name "$n" "$@"
}

# query_block ROOT VM DRIVE: the virtual size QEMU reports for DRIVE (QMP query-block).
query_block()
{
    qmp "$1" "$2" query-block | "$PY" -c '
import json, sys
for b in json.load(sys.stdin):
    if b["device"] == sys.argv[1]:
        print(b["inserted"]["image"]["virtual-size"])' "$3"
}

test_offline_grow_and_refusals()
{
    local root before
    new_root root
    mkvm "$root" r1 -c 64
    expect_exit 0 yv "$root" resize --name r1 --capacity 96
    assert_eq "r1: drive hd0 grown from 64 MiB to 96 MiB" "$OUT"
    assert_eq $((96 * 1024 * 1024)) "$(img_info "$root/r1.vm/hd0.qcow2" 'd["virtual-size"]')"
    expect_exit 0 yv "$root" --json resize --name r1 --capacity 100 --drive hd0
    assert_eq '{"vm": "r1", "drive": "hd0", "old_mib": 96, "new_mib": 100, "live": false}' "$(jv d)"
    assert_eq $((100 * 1024 * 1024)) "$(img_info "$root/r1.vm/hd0.qcow2" 'd["virtual-size"]')"

    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" resize --name r1 --capacity 50
    assert_err_line resize "never shrunk"
    expect_exit 2 yv "$root" --json resize --name r1 --capacity 100
    assert_json_error USAGE
    expect_exit 2 yv "$root" resize --name r1 --capacity 200 --drive hd3
    assert_err_line resize "VM 'r1' has no drive hd3"
    expect_exit 2 yv "$root" resize --name r1 --capacity 12G
    expect_exit 2 yv "$root" resize --name r1
    expect_exit 3 yv "$root" --json resize --name nosuch --capacity 200
    assert_json_error VM_NOT_FOUND
    assert_no_trace "$before" "$root"
}

test_linked_overlay_grows_alone()
{
    local root base
    new_root root
    base="$root/base.qcow2"
    qemu-img create -q -f qcow2 "$base" 32M || fail "qemu-img create"
    mkvm "$root" o1 --image "$base" --linked
    expect_exit 0 yv "$root" resize --name o1 --capacity 48
    assert_eq $((48 * 1024 * 1024)) "$(img_info "$root/o1.vm/hd0.qcow2" 'd["virtual-size"]')"
    assert_eq $((32 * 1024 * 1024)) "$(img_info "$base" 'd["virtual-size"]')" "the base's size"
}

test_online_grow_on_running_qemu()
{
    local root before
    new_root root
    mkvm "$root" l1 -c 64
    expect_exit 0 yv "$root" run --name l1
    expect_exit 0 yv "$root" --json resize --name l1 --capacity 80
    assert_eq '{"vm": "l1", "drive": "hd0", "old_mib": 64, "new_mib": 80, "live": true}' "$(jv d)"
    assert_eq $((80 * 1024 * 1024)) "$(query_block "$root" l1 hd0)" "query-block after the resize"
    expect_exit 0 yv "$root" resize --name l1 --capacity 81
    assert_eq "l1: drive hd0 grown from 80 MiB to 81 MiB (in the running QEMU)" "$OUT"
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" resize --name l1 --capacity 64
    assert_err_line resize "never shrunk"
    assert_eq $((81 * 1024 * 1024)) "$(query_block "$root" l1 hd0)" "query-block after a refusal"
    assert_no_trace "$before" "$root"
    expect_exit 0 yv "$root" --json status --name l1
    assert_eq running "$(jv 'd["state"]')"
    expect_exit 0 yv "$root" shutdown --name l1 --force
    assert_eq $((81 * 1024 * 1024)) "$(img_info "$root/l1.vm/hd0.qcow2" 'd["virtual-size"]')"
}

# A live clone SIGKILLed mid-copy leaves its drive-backup job in the running QEMU (made here by
# hand, throttled so it surely still runs; test-clone.sh test_1d): the online resize ends it
# rather than fail with "Node is busy".
test_online_grow_ends_a_killed_clones_job()
{
    local root t
    new_root root
    mktmp_into t
    mkvm "$root" k1 -c 64
    expect_exit 0 yv "$root" run --name k1
    qmp "$root" k1 drive-backup "{\"job-id\": \"yave-clone-dead00-hd0\", \"device\": \"hd0\",
        \"target\": \"$t/dead.qcow2\", \"format\": \"qcow2\", \"sync\": \"full\", \"speed\": 1,
        \"auto-dismiss\": false}" >/dev/null
    qmp "$root" k1 query-jobs | grep -q '"status": "running"' || fail "the left job is not running"
    expect_exit 0 yv "$root" resize --name k1 --capacity 80
    assert_eq $((80 * 1024 * 1024)) "$(query_block "$root" k1 hd0)" "query-block after the resize"
    assert_eq "[]" "$(qmp "$root" k1 query-jobs)" "jobs left in the QEMU"
    expect_exit 0 yv "$root" shutdown --name k1 --force
}

# The TUI's resize form: g on the selected VM, its disk picked, a size not larger refused (the
# batch's reason on the status line, nothing changed), a larger one grows the disk.
test_tui_resize_form()
{
    local root
    tui_root root g1
    expect_exit 0 yv "$root" resize --name g1 --capacity 80
    tui_start "$root"
    wait_row g1 '^g1 +stopped '
    keys g
    wait_screen 'Grow a disk of g1'
    assert_match 'Drive +< hd0 >' "$(line_with 'Drive ')" "the VM's disk is picked"
    keys Tab
    text 70
    keys F10
    wait_screen 'g1: .*(not larger|shrink|smaller)'
    note "$(line_with 'g1: ')"
    assert_eq $((80 * 1024 * 1024)) "$(img_info "$root/g1.vm/hd0.qcow2" 'd["virtual-size"]')" \
        "the size after a refused shrink"
    keys g
    wait_screen 'Grow a disk of g1'
    keys Tab
    text 96
    keys F10
    wait_screen 'g1: disk grown'
    assert_eq $((96 * 1024 * 1024)) "$(img_info "$root/g1.vm/hd0.qcow2" 'd["virtual-size"]')" \
        "the size after the form"
    tui_quit
}

run_tests "$@"
