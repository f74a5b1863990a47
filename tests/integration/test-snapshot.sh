#!/usr/bin/env bash
# Integration tests of `snapshot create|list|revert|delete` (spec §13), real qemu-img and QEMU under
# TCG: a stopped 2-disk UEFI VM (every disk and the UEFI variables, one name on all; content written
# with qemu-io comes back after a revert); the refusals (a taken name, a missing one, a bad name, no
# such VM, a raw disk) with the root unchanged; a running SeaBIOS VM's RAM restored (the BIOS timer
# tick count in the BIOS data area, read with HMP `xp`: exactly the snapshot's value after a revert
# of the paused VM; a running VM keeps running from the snapshot point); a UEFI VM (OVMF at its
# shell) takes and reverts an online snapshot with its variable store; the raw OVMF_VARS.fd of a VM
# made before is converted (by snapshot, by run) and what a killed conversion left is settled.
# The TUI's snapshots screen (key t) creates, reverts (asked first) and deletes (asked first).
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"

OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd

mkvm()
{
    local r=$1 n=$2
    shift 2
    expect_exit 0 yv "$r" create --memory "${MEM:-64}" --no-network --vnc-password Abcdefgh --name "$n" "$@"
}

# add_disk ROOT VM ID: a second 16 MiB qcow2 disk in the VM's config.
add_disk()
{
    qemu-img create -q -f qcow2 "$1/$2.vm/$3.qcow2" 16M || fail "qemu-img create"
    printf '  %s:\n    path: %s.qcow2\n    device:\n      type: virtio-blk\n' "$3" "$3" \
        >>"$1/$2.vm/config.yaml"
}

# pattern FILE BYTE: writes 64 KiB of BYTE at offset 0 (qemu-io); has FILE BYTE: reads it back.
pattern() { qemu-io -f qcow2 -c "write -q -P $2 0 64k" "$1" >/dev/null || fail "qemu-io write $1"; }
has()
{
    local o
    o=$(qemu-io -f qcow2 -c "read -P $2 0 64k" "$1" 2>&1)
    [[ $o == *"read 65536/65536 bytes"* && $o != *"verification failed"* ]] ||
        fail "$1 does not hold $2 at 0: $o"
}

# snaps_of FILE: the snapshot names of one qcow2 file (qemu-img), one line, sorted.
snaps_of()
{
    qemu-img info -U --output=json -f qcow2 "$1" |
        "$PY" -c 'import json,sys; print(" ".join(sorted(s["name"] for s in json.load(sys.stdin).get("snapshots", []))))'
}

test_offline_two_disks_with_uefi()
{
    local root v
    new_root root
    mkvm "$root" o1 -c 16
    add_disk "$root" o1 hd1
    v=$root/o1.vm
    pattern "$v/hd0.qcow2" 0xaa
    pattern "$v/hd1.qcow2" 0xab
    expect_exit 0 yv "$root" snapshot create --name o1 --snap before
    assert_out_line '^o1: snapshot before created$' "the result line"
    assert_out_line '^hd1: snapshot before created$' "a line per image"
    assert_out_line '^UEFI variables: snapshot before created$' "a line per image"
    assert_file "$v/OVMF_VARS.qcow2" "the UEFI store (made by the first snapshot)"
    for f in hd0 hd1 OVMF_VARS; do assert_eq before "$(snaps_of "$v/$f.qcow2")" "snapshots of $f"; done
    pattern "$v/hd0.qcow2" 0xbb
    pattern "$v/hd1.qcow2" 0xbc
    expect_exit 0 yv "$root" --json snapshot list --name o1
    assert_eq '["before", false, 0, true]' \
        "$(jv '[d["snapshots"][0][k] for k in ("name", "vm_state", "size", "complete")]')"
    assert_match '^20[0-9-]+T[0-9:]+Z$' "$(jv 'd["snapshots"][0]["date"]')" "the date"
    expect_exit 0 yv "$root" snapshot list --name o1
    assert_out_line '^NAME +DATE +VM-STATE +SIZE' "the table's header"
    assert_out_line '^before +20[0-9-]+ [0-9:]+ +no +- *$' "the snapshot's row"
    expect_exit 0 yv "$root" --json snapshot revert --name o1 --snap before
    assert_eq '{"vm": "o1", "snapshot": "before", "action": "reverted", "live": false, "images": 3}' \
        "$(jv 'd')"
    has "$v/hd0.qcow2" 0xaa
    has "$v/hd1.qcow2" 0xab
    expect_exit 0 yv "$root" snapshot delete --name o1 --snap before
    for f in hd0 hd1 OVMF_VARS; do assert_eq "" "$(snaps_of "$v/$f.qcow2")" "snapshots of $f"; done
    has "$v/hd0.qcow2" 0xaa
    # a snapshot another tool made on one disk only: listed incomplete, never reverted to, deleted
    qemu-img snapshot -c other "$v/hd1.qcow2" || fail "qemu-img snapshot -c"
    expect_exit 0 yv "$root" snapshot list --name o1
    assert_out_line '^other +20[0-9-]+ [0-9:]+ +no +- +incomplete$' "the incomplete snapshot's row"
    expect_exit 0 yv "$root" --json snapshot list --name o1
    assert_eq false "$(jv 'd["snapshots"][0]["complete"]')"
    expect_exit 2 yv "$root" snapshot revert --name o1 --snap other
    assert_err_line snapshot "snapshot 'other' of VM 'o1' is incomplete \\(on 1 of its 3 images"
    expect_exit 0 yv "$root" snapshot delete --name o1 --snap other
    assert_eq "" "$(snaps_of "$v/hd1.qcow2")" "hd1 after deleting the incomplete snapshot"
}

test_refusals_change_nothing()
{
    local root before
    new_root root
    mkvm "$root" r1 -c 16 --no-ovmf
    expect_exit 0 yv "$root" snapshot create --name r1 --snap s1
    before=$(snapshot_root "$root")
    expect_exit 4 yv "$root" --json snapshot create --name r1 --snap s1
    assert_json_error SNAPSHOT_EXISTS
    expect_exit 3 yv "$root" --json snapshot revert --name r1 --snap s2
    assert_json_error SNAPSHOT_NOT_FOUND
    expect_exit 3 yv "$root" snapshot delete --name r1 --snap s2
    assert_err_line snapshot "VM 'r1' has no snapshot named 's2'"
    expect_exit 2 yv "$root" snapshot create --name r1 --snap ../x
    assert_err_line snapshot "snapshot name '../x' is not valid"
    expect_exit 2 yv "$root" snapshot create --name r1 --snap 12
    expect_exit 2 yv "$root" snapshot create --name r1
    expect_exit 2 yv "$root" snapshot list --name r1 --snap s1
    expect_exit 2 yv "$root" snapshot frobnicate --name r1 --snap s1
    expect_exit 3 yv "$root" --json snapshot create --name nosuch --snap s1
    assert_json_error VM_NOT_FOUND
    # a raw disk cannot hold internal snapshots: refused before anything changes
    qemu-img create -q -f raw "$root/r1.vm/hd1.img" 1M || fail "qemu-img create"
    printf '  hd1:\n    path: hd1.img\n    device:\n      type: virtio-blk\n' >>"$root/r1.vm/config.yaml"
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" snapshot create --name r1 --snap s3
    assert_err_line snapshot "drive hd1 of VM 'r1' is a raw disk .*cannot hold internal snapshots"
    assert_no_trace "$before" "$root"
    assert_eq s1 "$(snaps_of "$root/r1.vm/hd0.qcow2")" "hd0 after the refusal"
}

# tick ROOT VM: the BIOS timer tick count (BIOS data area 0x46c), read with HMP xp.
tick()
{
    qmp "$1" "$2" human-monitor-command '{"command-line": "xp /1wx 0x46c"}' |
        "$PY" -c 'import json,sys; print(int(json.load(sys.stdin).split(":")[1], 16))'
}

# wait_ticks ROOT VM MIN: until the tick count reaches MIN (the guest runs); bounded.
wait_ticks()
{
    local i t
    for ((i = 0; i < 300; i++)); do
        t=$(tick "$1" "$2")
        ((t >= $3)) && return 0
        sleep 0.2
    done
    fail "the BIOS tick count stayed at $t (wanted $3)"
}

status_of() { qmp "$1" "$2" query-status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }

test_online_ram_restored()
{
    local root t1 t2 t3
    new_root root
    mkvm "$root" l1 -c 16 --no-ovmf
    expect_exit 0 yv "$root" run --name l1
    wait_ticks "$root" l1 $(($(tick "$root" l1) + 1))
    qmp "$root" l1 stop >/dev/null
    t1=$(tick "$root" l1)
    expect_exit 0 yv "$root" --json snapshot create --name l1 --snap p
    assert_eq '{"vm": "l1", "snapshot": "p", "action": "created", "live": true, "images": 1}' "$(jv 'd')"
    assert_eq paused "$(status_of "$root" l1)" "a paused VM stays paused"
    qmp "$root" l1 cont >/dev/null
    wait_ticks "$root" l1 $((t1 + 180))
    qmp "$root" l1 stop >/dev/null
    t2=$(tick "$root" l1)
    expect_exit 0 yv "$root" snapshot revert --name l1 --snap p
    assert_out_line '^l1: reverted to snapshot p \(the running VM, its RAM included\)$'
    assert_eq "$t1" "$(tick "$root" l1)" "the tick count after the revert (it was $t2 before)"
    assert_eq paused "$(status_of "$root" l1)" "reverted paused, it stays paused"
    # a running VM goes on running from the snapshot point
    qmp "$root" l1 cont >/dev/null
    wait_ticks "$root" l1 $((t2 + 1))
    expect_exit 0 yv "$root" snapshot revert --name l1 --snap p
    t3=$(tick "$root" l1)
    assert_eq running "$(status_of "$root" l1)" "the state after a revert of the running VM"
    ((t3 >= t1 && t3 < t2)) || fail "tick count $t3 after the revert: not from the snapshot ($t1 .. $t2)"
    expect_exit 0 yv "$root" --json snapshot list --name l1
    assert_eq '["p", true, true]' "$(jv '[d["snapshots"][0][k] for k in ("name", "vm_state", "complete")]')"
    (($(jv 'd["snapshots"][0]["size"]') > 0)) || fail "no vm-state size"
    expect_exit 4 yv "$root" --json snapshot create --name l1 --snap p
    assert_json_error SNAPSHOT_EXISTS
    # stopped, a revert to it brings the disks back; the saved RAM is not used, and it says so
    expect_exit 0 yv "$root" shutdown --name l1 --force
    expect_exit 0 yv "$root" snapshot revert --name l1 --snap p
    assert_out_line '^l1: reverted to snapshot p \(its disks: the VM is stopped, the RAM state saved in the snapshot is not used\)$'
    expect_exit 0 yv "$root" --json snapshot revert --name l1 --snap p
    assert_eq '{"vm": "l1", "snapshot": "p", "action": "reverted", "live": false, "images": 1, "ram_unused": true}' "$(jv 'd')"
    expect_exit 0 yv "$root" snapshot delete --name l1 --snap p
    expect_exit 0 yv "$root" --json snapshot list --name l1
    assert_eq '[]' "$(jv 'd["snapshots"]')"
}

# A disk-only snapshot (taken stopped) cannot be loaded into a running QEMU (it has no RAM state):
# refused before QEMU stops the guest to try, which then stayed paused for good (restore-vm).
test_online_revert_disk_only_refused()
{
    local root
    new_root root
    mkvm "$root" d1 -c 16 --no-ovmf
    expect_exit 0 yv "$root" snapshot create --name d1 --snap cold
    expect_exit 0 yv "$root" run --name d1
    wait_ticks "$root" d1 $(($(tick "$root" d1) + 1))
    expect_exit 2 yv "$root" snapshot revert --name d1 --snap cold
    assert_err_line snapshot "snapshot 'cold' of VM 'd1' is a disk-only snapshot \\(taken while it was stopped\\): revert it with the VM stopped"
    assert_eq running "$(status_of "$root" d1)" "the guest after the refused revert"
    expect_exit 0 yv "$root" shutdown --name d1 --force
    expect_exit 0 yv "$root" snapshot revert --name d1 --snap cold
}

# A live revert QEMU fails after it stopped the guest (RAM of another size: the VM was given more
# memory since): the guest that ran is continued, and the error says so.
test_online_revert_failure_resumes_guest()
{
    local root
    new_root root
    mkvm "$root" f1 -c 16 --no-ovmf
    expect_exit 0 yv "$root" run --name f1
    expect_exit 0 yv "$root" snapshot create --name f1 --snap small
    expect_exit 0 yv "$root" shutdown --name f1 --force
    expect_exit 0 yv "$root" set --name f1 --memory 96
    expect_exit 0 yv "$root" run --name f1
    wait_ticks "$root" f1 $(($(tick "$root" f1) + 1))
    run_cmd yv "$root" snapshot revert --name f1 --snap small
    [ "$RC" != 0 ] || fail "the revert to RAM of another size succeeded"
    assert_contains "$ERR" "(QEMU had stopped the guest for the load: it was resumed)"
    assert_eq running "$(status_of "$root" f1)" "the guest after the failed revert"
    expect_exit 0 yv "$root" shutdown --name f1 --force
}

# A running VM whose disk holds the hidden undo snapshot of a killed revert (here made through QMP,
# as a QEMU started before `run` settled it would run): nothing is done on it, the error says why.
test_online_refused_with_undo_left()
{
    local root
    new_root root
    mkvm "$root" w1 -c 16 --no-ovmf
    expect_exit 0 yv "$root" run --name w1
    qmp "$root" w1 blockdev-snapshot-internal-sync '{"device": "node-hd0", "name": ".yave-undo"}' >/dev/null
    expect_exit 1 yv "$root" snapshot create --name w1 --snap s1
    assert_err_line snapshot "hd0 of VM 'w1' holds the undo snapshot .yave-undo of a revert that was killed"
    assert_eq .yave-undo "$(snaps_of "$root/w1.vm/hd0.qcow2")" "hd0's snapshots"
    expect_exit 0 yv "$root" shutdown --name w1 --force
}

# A list only reads: it never takes the VM's start mark (a `run` starting the VM is not refused, a
# list while one starts is not refused either), nor waits for the root lock while it asks a running
# QEMU (here held by the test: before, the list waited as long as the holder).
test_list_takes_no_mark_nor_lock()
{
    local root
    new_root root
    mkvm "$root" n1 -c 16 --no-ovmf
    expect_exit 0 yv "$root" snapshot create --name n1 --snap s1
    exec 8>>"$root/run/n1.starting"
    flock 8 || fail "flock the start mark"
    expect_exit 0 timeout 20 "$YAVE_TEST_BIN" --batch --root "$root" snapshot list --name n1
    assert_out_line '^s1 ' "the list while a run holds the start mark"
    exec 8>&-
    rm -f "$root/run/n1.starting"
    expect_exit 0 yv "$root" run --name n1
    exec 9>>"$root/run/lock"
    flock 9 || fail "flock the root lock"
    expect_exit 0 timeout 5 "$YAVE_TEST_BIN" --batch --root "$root" snapshot list --name n1
    assert_out_line '^s1 ' "the list of the running VM while the root lock is held"
    exec 9>&-
    expect_exit 0 yv "$root" shutdown --name n1 --force
}

# jobs ROOT VM: "id:status" of each QMP job, sorted, one line.
jobs() { qmp "$1" "$2" query-jobs | "$PY" -c 'import json,sys; print(" ".join(sorted("%s:%s" % (j["id"], j["status"]) for j in json.load(sys.stdin))))'; }

# Each command's QMP job is its own (yave-snapshot-<pid>-<ns>): a concluded job left by a killed
# command (its pid gone) is dismissed, one of another tool is left alone, and the command's own
# job is gone after it.
test_online_job_ids()
{
    local root dead i
    new_root root
    mkvm "$root" j1 -c 16 --no-ovmf
    expect_exit 0 yv "$root" run --name j1
    true &
    dead=$!
    wait "$dead"
    qmp "$root" j1 snapshot-save "{\"job-id\": \"yave-snapshot-$dead-1\", \"tag\": \"k\", \"vmstate\": \"node-hd0\", \"devices\": [\"node-hd0\"]}" >/dev/null
    qmp "$root" j1 snapshot-save '{"job-id": "other", "tag": "o", "vmstate": "node-hd0", "devices": ["node-hd0"]}' >/dev/null
    for ((i = 0; i < 100; i++)); do
        [[ $(jobs "$root" j1) == "other:concluded yave-snapshot-$dead-1:concluded" ]] && break
        sleep 0.2
    done
    assert_eq "other:concluded yave-snapshot-$dead-1:concluded" "$(jobs "$root" j1)" "the jobs left"
    expect_exit 0 yv "$root" snapshot create --name j1 --snap s1
    assert_eq "other:concluded" "$(jobs "$root" j1)" "the jobs after the command"
    expect_exit 0 yv "$root" shutdown --name j1 --force
}

# A live clone killed mid-copy leaves its drive-backup job in the VM's QEMU, holding the disk ("Node
# is busy"): the next online snapshot ends it first (it holds the start mark: no clone of the VM
# runs). The job is made here as a killed clone leaves it, throttled so it surely still runs.
test_online_snapshot_ends_a_killed_clones_job()
{
    local root t
    new_root root
    mktmp_into t
    mkvm "$root" k1 --no-ovmf -c 64
    expect_exit 0 yv "$root" run --name k1
    qmp "$root" k1 drive-backup "{\"job-id\": \"yave-clone-dead00-hd0\", \"device\": \"hd0\",
        \"target\": \"$t/dead.qcow2\", \"format\": \"qcow2\", \"sync\": \"full\", \"speed\": 1,
        \"auto-dismiss\": false}" >/dev/null
    qmp "$root" k1 query-jobs | grep -q '"status": "running"' || fail "the left job is not running"
    expect_exit 0 yv "$root" snapshot create --name k1 --snap s1
    expect_exit 0 yv "$root" --json snapshot list --name k1
    assert_eq "s1 True" "$(jv '" ".join(s["name"] + " " + str(s["vm_state"]) for s in d["snapshots"])')" \
        "the snapshot, RAM included"
    assert_eq "" "$(jobs "$root" k1)" "jobs left in the QEMU"
    expect_exit 0 yv "$root" shutdown --name k1 --force
}

# wait_serial FILE TEXT: until the guest's serial log holds TEXT; bounded.
wait_serial()
{
    local i
    for ((i = 0; i < 600; i++)); do
        grep -aq "$2" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "the serial log never showed '$2': $(tail -c 300 "$1" 2>/dev/null | tr -d '\033')"
}

test_uefi_online_snapshot()
{
    local root v
    [ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] || fail "OVMF is needed ($OVMF_CODE)"
    new_root root
    MEM=128 mkvm "$root" u1 -c 16
    v=$root/u1.vm
    expect_exit 0 yv "$root" run --name u1
    assert_file "$v/OVMF_VARS.qcow2" "the UEFI store made at the first start"
    assert_no_file "$v/OVMF_VARS.fd"
    assert_eq qcow2 "$(img_info "$v/OVMF_VARS.qcow2" 'd["format"]')"
    assert_eq "$(stat -c %s "$OVMF_VARS")" "$(img_info "$v/OVMF_VARS.qcow2" 'd["virtual-size"]')" \
        "the store's size is the template's (what OVMF_CODE_4M expects)"
    wait_serial "$v/serial.log" "UEFI Interactive Shell"
    expect_exit 0 yv "$root" --json snapshot create --name u1 --snap fw
    assert_eq '{"vm": "u1", "snapshot": "fw", "action": "created", "live": true, "images": 2}' "$(jv 'd')"
    assert_eq fw "$(snaps_of "$v/OVMF_VARS.qcow2")" "the variable store holds the snapshot"
    expect_exit 0 yv "$root" snapshot revert --name u1 --snap fw
    assert_eq running "$(status_of "$root" u1)" "the state after the revert"
    expect_exit 0 yv "$root" --json status --name u1
    assert_eq running "$(jv 'd["state"]')"
    expect_exit 0 yv "$root" snapshot delete --name u1 --snap fw
    assert_eq "" "$(snaps_of "$v/OVMF_VARS.qcow2")"
    expect_exit 0 yv "$root" shutdown --name u1 --force
}

# A VM made before keeps its raw OVMF_VARS.fd until the next snapshot or start converts it (the
# same variables: qemu-img compare); what a killed conversion left is settled by the next command.
test_raw_vars_migrated()
{
    local root v t
    new_root root
    mktmp_into t
    mkvm "$root" m1 -c 16
    v=$root/m1.vm
    cp "$OVMF_VARS" "$v/OVMF_VARS.fd" && printf 'yave' | dd of="$v/OVMF_VARS.fd" bs=1 seek=540000 \
        conv=notrunc status=none || fail "the raw store"
    cp "$v/OVMF_VARS.fd" "$t/raw"
    expect_exit 0 yv "$root" snapshot create --name m1 --snap s1
    assert_no_file "$v/OVMF_VARS.fd" "the raw store after the conversion"
    qemu-img compare -q -f raw -F qcow2 "$t/raw" "$v/OVMF_VARS.qcow2" || fail "the variables changed"
    assert_eq s1 "$(snaps_of "$v/OVMF_VARS.qcow2")"
    assert_eq 600 "$(stat -c %a "$v/OVMF_VARS.qcow2")" "the store's mode"
    # killed after the rename: both there, the qcow2 one complete → the raw one goes
    cp "$t/raw" "$v/OVMF_VARS.fd"
    expect_exit 0 yv "$root" snapshot delete --name m1 --snap s1
    assert_no_file "$v/OVMF_VARS.fd" "a raw store beside a complete qcow2 one"
    qemu-img compare -q -f raw -F qcow2 "$t/raw" "$v/OVMF_VARS.qcow2" || fail "the variables changed"
    # killed during the conversion: a temp file beside the raw store → removed, converted again
    rm "$v/OVMF_VARS.qcow2"
    cp "$t/raw" "$v/OVMF_VARS.fd"
    printf 'half' >"$v/OVMF_VARS.qcow2.tmp"
    expect_exit 0 yv "$root" run --name m1
    assert_no_file "$v/OVMF_VARS.qcow2.tmp"
    assert_no_file "$v/OVMF_VARS.fd"
    qemu-img compare -q -U -f raw -F qcow2 "$t/raw" "$v/OVMF_VARS.qcow2" || fail "the variables changed"
    wait_serial "$v/serial.log" "UEFI Interactive Shell"
    expect_exit 0 yv "$root" shutdown --name m1 --force
}

# The TUI's snapshots screen: t on the selected VM; c creates (the name prefilled, Enter), R asks
# (n cancels: nothing changes; y reverts: the disk's content is back), D asks and deletes.
test_tui_snapshots_screen()
{
    local root v
    tui_root root t1
    v=$root/t1.vm
    pattern "$v/hd0.qcow2" 0xaa
    tui_start "$root"
    wait_row t1 '^t1 +stopped '
    keys t
    wait_screen 'Snapshots: t1'
    wait_screen 'no snapshots yet'
    keys c
    wait_screen 'New snapshot name: snap-[0-9]{8}-[0-9]{6}'
    keys C-u BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace \
        BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace
    text 'bad/name x'
    wait_screen 'New snapshot name: badnamex'
    keys Enter
    wait_screen 't1: snapshot badnamex created'
    wait_screen '^ ?badnamex +20[0-9-]+ [0-9:]+ +no +- *$'
    assert_eq badnamex "$(snaps_of "$v/hd0.qcow2")" "the disk's snapshots"
    pattern "$v/hd0.qcow2" 0xbb
    keys R
    wait_screen 'Revert t1 to snapshot badnamex\? .*y: yes'
    keys n
    wait_gone 'Revert t1 to snapshot'
    has "$v/hd0.qcow2" 0xbb
    keys R
    wait_screen 'Revert t1 to snapshot badnamex'
    keys y
    wait_screen 't1: snapshot badnamex reverted to'
    has "$v/hd0.qcow2" 0xaa
    keys D
    wait_screen 'Delete snapshot badnamex of t1 for good\? y: yes'
    keys y
    wait_screen 'no snapshots yet'
    assert_eq "" "$(snaps_of "$v/hd0.qcow2")" "the disk's snapshots after D"
    keys Escape
    wait_row t1 '^t1 +stopped '
    # another client holds the root lock (a long operation): the screen never waits for it, it
    # says busy and F5 reads the list once the lock is free
    exec 9>>"$root/run/lock"
    flock 9 || fail "flock the root lock"
    keys t
    wait_screen 'busy — F5 retries'
    keys Escape
    wait_row t1 '^t1 +stopped '
    keys t
    exec 9>&-
    keys F5
    wait_screen 'no snapshots yet'
    keys Escape
    tui_quit
}

run_tests "$@"
