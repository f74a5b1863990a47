#!/usr/bin/env bash
# Integration tests of `clone` (spec §13): a VM copied into a new one with an identity of
# its own — source and clone run at the same time (real QEMU under TCG) with different MACs (QEMU's
# argv), VNC displays (both answer the RFB handshake) and forward ports (both forwarded by their
# QEMU, both accepting); the clone's disk holds what the source's held at clone time, and later
# writes to one never show in the other (qemu-io); the UEFI variable stores copied; no runtime
# file, no autostart mark; a preset VM's clone boots a new NoCloud seed (instance-id, host name);
# --linked overlays make the source a base that neither runs, goes nor reverts; refusals change
# nothing; a clone killed mid-copy is undone (signals) or reaped by the next command (SIGKILL); a
# running source cloned from a snapshot of its disks; the TUI's clone form (key l).
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"
. "$(dirname "$0")/forward-lib.sh"

# qemu_argv ROOT VM: the running QEMU's command line, one argument a line.
qemu_argv()
{
    local pid
    pid=$(cat "$1/run/$2.pid") || fail "no pidfile of $2"
    tr '\0' '\n' <"/proc/$pid/cmdline"
}

# pattern_at DISK BYTE: qemu-io reads BYTE (hex) in the first 64 KiB of the qcow2 DISK.
pattern_at()
{
    qemu-io -f qcow2 -r -c "read -P $2 0 64k" "$1" 2>&1 | grep -q 'read 65536/65536 bytes'
}

test_1_both_run_with_their_own_identity()
{
    local root base before s_mac c_mac s_ssh c_ssh
    free_base base
    new_fw_root root "$base"
    mkvm "$root" src --forward "$((base + 4)):80" --forward "$base:22"
    qemu-io -f qcow2 -c "write -P 0x5a 0 64k" "$root/src.vm/hd0.qcow2" >/dev/null || fail "qemu-io"
    expect_exit 0 yv "$root" autostart on --name src

    expect_exit 0 yv "$root" --json clone --name src --to dst
    assert_eq dst "$(jv 'd["vm"]')"
    assert_eq src "$(jv 'd["from"]')"
    assert_eq false "$(jv 'd["linked"]')"
    assert_eq ":2" "$(jv 'd["display"]')" "the next free display"
    assert_match '^[A-Za-z0-9]{8}$' "$(jv 'd["generated_vnc_password"]')" "the password, once"
    assert_eq "[$((base + 5)), $((base + 1))]" "$(jv '[f["host"] for f in d["forwards"]]')" \
        "new host ports (the SSH forward from ssh_port_base)"
    assert_eq "[80, 22]" "$(jv '[f["guest"] for f in d["forwards"]]')" "guest ports kept"
    c_mac=$(jv 'd["mac"]')
    s_mac=$(vm_config_value "$root" src mac)
    assert_ne "$s_mac" "$c_mac" "the MACs"
    assert_eq "$c_mac" "$(vm_config_value "$root" dst mac)" "the MAC in the clone's config"
    assert_ne "$(vm_config_value "$root" src password)" "$(vm_config_value "$root" dst password)" \
        "the VNC passwords"
    assert_eq "config.yaml hd0.qcow2" "$(ls "$root/dst.vm" | tr '\n' ' ' | sed 's/ $//')" \
        "the clone's files"
    expect_exit 0 yv "$root" autostart list
    assert_eq src "$OUT" "the autostart marks"
    qemu-img compare -q "$root/src.vm/hd0.qcow2" "$root/dst.vm/hd0.qcow2" ||
        fail "the clone's disk differs from its source's"

    expect_exit 0 yv "$root" run --name src
    expect_exit 0 yv "$root" run --name dst
    qemu_argv "$root" src | grep -q "mac=$s_mac" || fail "no mac=$s_mac in the source's QEMU"
    qemu_argv "$root" dst | grep -q "mac=$c_mac" || fail "no mac=$c_mac in the clone's QEMU"
    qemu_argv "$root" dst | grep -q "mac=$s_mac" && fail "the source's MAC in the clone's QEMU"
    for vm in src dst; do
        expect_exit 0 yv "$root" --json status --name $vm
        assert_eq running "$(jv 'd["state"]')" "$vm's state"
        assert_eq true "$(jv 'd["vnc"]["reachable"]')" "$vm's VNC display answers"
    done
    s_ssh=$(host_forwards "$root" src | grep -c "$base *10.0.2.15 *22")
    c_ssh=$(host_forwards "$root" dst | grep -c "$((base + 1)) *10.0.2.15 *22")
    assert_eq "1 1" "$s_ssh $c_ssh" "the SSH forwards in QEMU (info usernet)"
    host_forwards "$root" dst | grep -q "$((base + 5)) *10.0.2.15 *80" || fail "the clone's port 80"
    connects "$base" || fail "the source's SSH forward does not accept"
    connects "$((base + 1))" || fail "the clone's SSH forward does not accept"

    # a linked clone of a running source is refused, and nothing is written
    before=$(snapshot_root "$root")
    expect_exit 4 yv "$root" --json clone --name src --to dst2 --linked
    assert_json_error VM_RUNNING
    expect_exit 4 yv "$root" clone --name src --to dst2 --linked
    assert_err_line clone "VM 'src' is running .*a linked clone needs it stopped"
    assert_no_trace "$before" "$root"
    expect_exit 0 yv "$root" shutdown --name src --force
    expect_exit 0 yv "$root" shutdown --name dst --force

    # later writes to one never show in the other
    qemu-io -f qcow2 -c "write -P 0xa5 0 64k" "$root/dst.vm/hd0.qcow2" >/dev/null || fail "qemu-io"
    pattern_at "$root/src.vm/hd0.qcow2" 0x5a || fail "a write to the clone reached the source"
    qemu-io -f qcow2 -c "write -P 0x3c 0 64k" "$root/src.vm/hd0.qcow2" >/dev/null || fail "qemu-io"
    pattern_at "$root/dst.vm/hd0.qcow2" 0xa5 || fail "a write to the source reached the clone"
    # no runtime file of the source goes with a clone
    assert_file "$root/src.vm/qemu.log"
    expect_exit 0 yv "$root" clone --name src --to dst3 -V Abcdefgh
    assert_not_contains "$OUT" "VNC password" "a given password printed"
    assert_eq "config.yaml hd0.qcow2" "$(ls "$root/dst3.vm" | tr '\n' ' ' | sed 's/ $//')"
}

# A running source: a snapshot of its disks, taken by its own QEMU (drive-backup, all disks at
# once): what the running QEMU wrote is in the clone, what it writes afterwards is not; the source
# keeps running, the clone runs beside it, and no job is left in the source's QEMU.
test_1b_running_source_snapshot()
{
    local root base
    free_base base
    new_fw_root root "$base"
    mkvm "$root" live
    expect_exit 0 yv "$root" run --name live
    hmp "$root" live "qemu-io hd0 \"write -P 0x11 0 64k\"" >/dev/null
    expect_exit 0 yv "$root" --json clone --name live --to snap
    assert_eq snap "$(jv 'd["vm"]')"
    hmp "$root" live "qemu-io hd0 \"write -P 0x22 0 64k\"" >/dev/null
    assert_eq "[]" "$(qmp "$root" live query-jobs)" "jobs left in the source's QEMU"
    expect_exit 0 yv "$root" --json status --name live
    assert_eq running "$(jv 'd["state"]')" "the source after the clone"
    expect_exit 0 yv "$root" run --name snap
    expect_exit 0 yv "$root" shutdown --name snap --force
    pattern_at "$root/snap.vm/hd0.qcow2" 0x11 || fail "the clone lacks what the running QEMU wrote"
    expect_exit 0 yv "$root" shutdown --name live --force
    pattern_at "$root/live.vm/hd0.qcow2" 0x22 || fail "the source lost its later write"
}

# A live clone SIGKILLed mid-copy leaves its drive-backup job running in the source's QEMU (it
# would go on writing into the reaped .part folder and keep the disk busy: "Node is busy"). The
# state it leaves is made here by hand (a job of its id form, throttled so it is surely still
# running): the next live clone of the same VM ends it and succeeds, and leaves no job.
test_1d_killed_live_clone_job_ended()
{
    local root base t
    free_base base
    new_fw_root root "$base"
    mktmp_into t
    mkvm "$root" live
    expect_exit 0 yv "$root" run --name live
    hmp "$root" live "qemu-io hd0 \"write -P 0x11 0 64k\"" >/dev/null
    qmp "$root" live drive-backup "{\"job-id\": \"yave-clone-dead00-hd0\", \"device\": \"hd0\",
        \"target\": \"$t/dead.qcow2\", \"format\": \"qcow2\", \"sync\": \"full\", \"speed\": 1,
        \"auto-dismiss\": false}" >/dev/null
    qmp "$root" live query-jobs | grep -q '"status": "running"' || fail "the left job is not running"
    expect_exit 0 yv "$root" clone --name live --to again -V abcdefgh
    assert_eq "[]" "$(qmp "$root" live query-jobs)" "jobs left in the source's QEMU"
    expect_exit 0 yv "$root" shutdown --name live --force
    pattern_at "$root/again.vm/hd0.qcow2" 0x11 || fail "the clone lacks what the running QEMU wrote"
}

# A running UEFI VM: its QEMU copies the qcow2 variable store too (its node with the disks); the
# clone's store is a sound qcow2 of the same size and the clone starts with it.
test_1c_running_uefi_source()
{
    local root
    new_root root
    expect_exit 0 yv "$root" create --name uv -c 16 -m 64 --no-network -V Abcdefgh
    expect_exit 0 yv "$root" run --name uv
    assert_file "$root/uv.vm/OVMF_VARS.qcow2" "the store made at the first start"
    expect_exit 0 yv "$root" clone --name uv --to uc -V Abcdefgh
    assert_eq "[]" "$(qmp "$root" uv query-jobs)" "jobs left in the source's QEMU"
    assert_eq qcow2 "$(img_info "$root/uc.vm/OVMF_VARS.qcow2" 'd["format"]')"
    assert_eq "$(img_info "$root/uv.vm/OVMF_VARS.qcow2" 'd["virtual-size"]')" \
        "$(img_info "$root/uc.vm/OVMF_VARS.qcow2" 'd["virtual-size"]')" "the store's size"
    qemu-img check -q "$root/uc.vm/OVMF_VARS.qcow2" || fail "the clone's store is not sound"
    expect_exit 0 yv "$root" run --name uc
    expect_exit 0 yv "$root" shutdown --name uc --force
    expect_exit 0 yv "$root" shutdown --name uv --force
}

test_2_refusals_change_nothing()
{
    local root before
    new_root root
    mkvm "$root" a1 --no-network
    mkvm "$root" b1 --no-network
    before=$(snapshot_root "$root")
    expect_exit 4 yv "$root" --json clone --name a1 --to b1
    assert_json_error VM_EXISTS
    expect_exit 3 yv "$root" --json clone --name nosuch --to c1
    assert_json_error VM_NOT_FOUND
    expect_exit 2 yv "$root" clone --name a1 --to a1
    assert_err_line clone "onto itself"
    expect_exit 2 yv "$root" --json clone --name a1 --to '../x'
    assert_json_error INVALID_NAME
    expect_exit 2 yv "$root" clone --name a1
    expect_exit 2 yv "$root" clone --to c1
    expect_exit 2 yv "$root" clone --name a1 --to c1 --vnc-password ''
    # a drive in a subfolder of the VM folder: refused before anything is written
    mkdir "$root/a1.vm/sub"
    cp "$root/a1.vm/config.yaml" "$root/a1.cfg"
    sed -i 's|path: hd0.qcow2|path: sub/hd0.qcow2|' "$root/a1.vm/config.yaml"
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" clone --name a1 --to c1
    assert_err_line clone "not a subfolder"
    assert_no_trace "$before" "$root"
    # a drive named like one of the clone's own files (its config, its logs) is not copied over them
    sed -i 's|path: sub/hd0.qcow2|path: serial.log|' "$root/a1.vm/config.yaml"
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" clone --name a1 --to c1
    assert_err_line clone "a name the clone's own files have"
    assert_no_trace "$before" "$root"
    # a writable disk outside the folder would be shared by the clone and its source: refused
    qemu-img create -q -f qcow2 "$root/shared.qcow2" 8M
    sed -i "s|path: serial.log|path: $root/shared.qcow2|" "$root/a1.vm/config.yaml"
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" clone --name a1 --to c1
    assert_err_line clone "would share it, writable, with its source"
    assert_no_trace "$before" "$root"
    rm "$root/shared.qcow2"
    # a drive that is a symlink is not followed (spec §16)
    mv "$root/a1.cfg" "$root/a1.vm/config.yaml"
    rmdir "$root/a1.vm/sub"
    mv "$root/a1.vm/hd0.qcow2" "$root/elsewhere.qcow2"
    ln -s "$root/elsewhere.qcow2" "$root/a1.vm/hd0.qcow2"
    before=$(snapshot_root "$root")
    expect_exit 77 yv "$root" --json clone --name a1 --to c1
    assert_json_error PERMISSION
    assert_no_trace "$before" "$root"
}

test_3_uefi_vars_and_other_drives()
{
    local root
    new_root root
    expect_exit 0 yv "$root" create --name u1 -c 32 -m 64 --no-network -V Abcdefgh
    head -c 65536 /dev/urandom >"$root/u1.vm/OVMF_VARS.fd"
    qemu-img create -q -f qcow2 "$root/u1.vm/OVMF_VARS.qcow2" 1M || fail "qemu-img create"
    qemu-io -f qcow2 -c "write -P 0x11 0 4k" "$root/u1.vm/OVMF_VARS.qcow2" >/dev/null
    # a raw disk in the folder, a cdrom image in the folder, a cdrom image outside it (absolute
    # path), a disk named by an absolute path into the folder
    head -c $((1 << 20)) /dev/urandom >"$root/u1.vm/data.img"
    head -c 2048 /dev/urandom >"$root/u1.vm/tools.iso"
    head -c 4096 /dev/urandom >"$root/u1.vm/abs.img" # named by an absolute path into its folder
    head -c 2048 /dev/urandom >"$root/shared.iso"
    "$PY" - "$root/u1.vm/config.yaml" "$root/shared.iso" <<'PY' || fail "editing the config"
import sys
p, shared = sys.argv[1:]
t = open(p).read().replace("drives:\n", "drives:\n"
    "  hd1:\n    path: data.img\n    device:\n      type: virtio-blk\n"
    "  hd2:\n    path: tools.iso\n    device:\n      type: ide\n      media_type: cd\n"
    "  hd3:\n    path: '%s'\n    device:\n      type: ide\n      media_type: cd\n" % shared
    + "  hd4:\n    path: '%s'\n    device:\n      type: virtio-blk\n" % p.replace("config.yaml", "abs.img"), 1)
open(p, "w").write(t)
PY
    expect_exit 0 yv "$root" clone --name u1 --to u2 -V Abcdefgh
    cmp "$root/u1.vm/OVMF_VARS.fd" "$root/u2.vm/OVMF_VARS.fd" || fail "the raw UEFI variables"
    qemu-img compare -q "$root/u1.vm/OVMF_VARS.qcow2" "$root/u2.vm/OVMF_VARS.qcow2" ||
        fail "the qcow2 UEFI variables"
    assert_eq qcow2 "$(img_info "$root/u2.vm/OVMF_VARS.qcow2" 'd["format"]')"
    cmp "$root/u1.vm/data.img" "$root/u2.vm/data.img" || fail "the raw disk (stays raw)"
    cmp "$root/u1.vm/tools.iso" "$root/u2.vm/tools.iso" || fail "the cdrom image"
    grep -Eq "path: '?$root/shared.iso'?\$" "$root/u2.vm/config.yaml" ||
        fail "the cdrom image outside the folder is referenced: $(cat "$root/u2.vm/config.yaml")"
    cmp "$root/u1.vm/abs.img" "$root/u2.vm/abs.img" || fail "the disk named by an absolute path"
    grep -Eq "path: '?abs.img'?\$" "$root/u2.vm/config.yaml" ||
        fail "a disk of the source's folder is the clone's own: $(cat "$root/u2.vm/config.yaml")"
    assert_eq "true" "$(vm_config_value "$root" u2 ovmf)"
    expect_exit 0 yv "$root" run --name u2 --dry-run
    assert_out_line "OVMF_VARS" "the clone's variable store in its argv"
}

# A preset VM's clone gets a NoCloud seed of its own: a new instance-id and its name as host name
# (the guest's view of it: test-clone-guest.sh). The preset's "guest" powers off at once.
test_4_preset_clone_gets_a_new_seed()
{
    local root t iid iid2 before
    new_root root
    mktmp_into t
    poweroff_preset "$root" fake
    printf 'root-pw-1\n' >"$t/pw"
    expect_exit 0 yv "$root" create --name p1 --preset fake --root-password-file "$t/pw" \
        --no-network --no-ovmf -m 64 -c 32 -V Abcdefgh
    assert_eq fake "$(vm_config_value "$root" p1 preset)" "the preset in vm.yaml"
    expect_exit 0 yv "$root" --json clone --name p1 --to p2
    iid=$(jv 'd["instance_id"]')
    assert_match '^iid-yave-p2-[0-9a-f]{16}$' "$iid"
    assert_file "$root/p2.vm/cidata.iso"
    assert_eq "" "$(find "$root" -name 'seed' -o -name 'user-data' -o -name 'meta-data')" \
        "seed files left beside the ISO"
    isoinfo -d -i "$root/p2.vm/cidata.iso" | grep -q 'Volume id: cidata' || fail "the ISO's label"
    isoinfo -R -x /meta-data -i "$root/p2.vm/cidata.iso" >"$t/md" || fail "isoinfo meta-data"
    grep -qx "instance-id: '*$iid'*" "$t/md" || fail "meta-data: $(cat "$t/md")"
    grep -qx "local-hostname: '*p2'*" "$t/md" || fail "meta-data: $(cat "$t/md")"
    isoinfo -R -x /user-data -i "$root/p2.vm/cidata.iso" >"$t/ud" || fail "isoinfo user-data"
    assert_eq "#cloud-config" "$(head -1 "$t/ud")"
    assert_not_contains "$(cat "$t/ud")" "password" "a password in the clone's user-data"
    expect_exit 0 yv "$root" run --name p2 --dry-run
    assert_out_line "cidata.iso.*media=cdrom" "the seed as a cdrom"
    # a clone of the clone: one seed drive, a new id again
    expect_exit 0 yv "$root" --json clone --name p2 --to p3
    iid2=$(jv 'd["instance_id"]')
    assert_ne "$iid" "$iid2" "the instance-ids of two clones"
    assert_eq 1 "$(grep -c 'cidata.iso' "$root/p3.vm/config.yaml")" "seed drives of a clone's clone"
    # a clone's name must be a host name for a preset VM
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" clone --name p1 --to p_4
    assert_err_line clone "host name"
    assert_no_trace "$before" "$root"
    # the seed p1 kept after its install is not copied: p2 and p3 have their own (above)
    grep -q 'cidata.iso' "$root/p1.vm/config.yaml" || fail "p1 keeps no seed"
    # without `preset:` but with its kept seed: still a cloud-init guest, a new instance
    sed -i '/^preset:/d' "$root/p1.vm/config.yaml"
    expect_exit 0 yv "$root" --json clone --name p1 --to p6
    assert_match '^iid-yave-p6-[0-9a-f]{16}$' "$(jv 'd["instance_id"]')" "p6's instance-id"
    assert_eq 1 "$(grep -c 'cidata.iso' "$root/p6.vm/config.yaml")" "seed drives of p6"
    # a config from before `preset:` and the kept seed existed: not a preset VM (no seed)
    sed -i '/^  cidata:$/,/media_type: cd$/d' "$root/p1.vm/config.yaml"
    assert_not_contains "$(cat "$root/p1.vm/config.yaml")" cidata "p1's config without its seed"
    expect_exit 0 yv "$root" --json clone --name p1 --to p5
    assert_eq None "$(jv 'str(d.get("instance_id"))')"
    assert_no_file "$root/p5.vm/cidata.iso"
}

test_5_linked_clone_makes_a_base()
{
    local root before
    new_root root
    mkvm "$root" l1 --no-network
    expect_exit 0 yv "$root" snapshot create --name l1 --snap before
    qemu-io -f qcow2 -c "write -P 0x5a 0 64k" "$root/l1.vm/hd0.qcow2" >/dev/null || fail "qemu-io"
    expect_exit 0 yv "$root" --json clone --name l1 --to l2 --linked
    assert_eq true "$(jv 'd["linked"]')"
    assert_contains "$ERR" "base of a linked clone" "the warning"
    assert_eq "../l1.vm/hd0.qcow2" "$(img_info "$root/l2.vm/hd0.qcow2" 'd["backing-filename"]')"
    pattern_at "$root/l2.vm/hd0.qcow2" 0x5a || fail "the overlay does not read its base"
    before=$(snapshot_root "$root")
    expect_exit 4 yv "$root" run --name l1
    assert_err_line run "base of linked clone 'l2': it cannot be started"
    expect_exit 4 yv "$root" --json delete --name l1
    assert_json_error IN_USE
    # a revert would change the disk under the overlay (a snapshot made or deleted would not)
    expect_exit 4 yv "$root" snapshot revert --name l1 --snap before
    assert_err_line snapshot "base of linked clone 'l2': it cannot be reverted"
    assert_no_trace "$before" "$root"
    expect_exit 0 yv "$root" run --name l2
    expect_exit 0 yv "$root" --json status --name l2
    assert_eq running "$(jv 'd["state"]')"
    expect_exit 0 yv "$root" shutdown --name l2 --force
    pattern_at "$root/l1.vm/hd0.qcow2" 0x5a || fail "the base changed"
    # once the linked clone is gone, the source is an ordinary VM again
    expect_exit 0 yv "$root" delete --name l2
    expect_exit 0 yv "$root" run --name l1
    expect_exit 0 yv "$root" shutdown --name l1 --force
}

# slow_img_root VAR T: a root whose cli.img slows qemu-img convert to 1 MiB/s, with a VM `big`
# whose disk holds 32 MiB of random data (a copy takes 32 s).
slow_img_root()
{
    local __si_r
    new_root __si_r
    mkvm "$__si_r" big --no-network
    head -c $((32 << 20)) /dev/urandom >"$2/big.raw"
    qemu-img convert -q -O qcow2 "$2/big.raw" "$__si_r/big.vm/hd0.qcow2" || fail "convert"
    rm -f "$2/big.raw"
    # shellcheck disable=SC2016 # the wrapper's own $1 and $@
    printf '#!/bin/sh\n[ "$1" = convert ] && { shift; exec qemu-img convert -r 1M "$@"; }\nexec qemu-img "$@"\n' \
        >"$2/slow-img"
    chmod +x "$2/slow-img"
    printf 'cli:\n  img: %s\n' "$2/slow-img" >>"$__si_r/config.yaml"
    printf -v "$1" '%s' "$__si_r"
}

# start_clone ROOT T: `clone --name big --to cp` in the background (CPID) once its copy runs.
start_clone()
{
    local p
    "$PY" -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
        "$YAVE_TEST_BIN" --batch --root "$1" clone --name big --to cp -V abcdefgh \
        </dev/null >"$2/out" 2>"$2/err" &
    CPID=$!
    at_exit kill -KILL "$CPID"
    for _ in $(seq 100); do
        p=$(procs_with "$1/big.vm/hd0.qcow2")
        [ -n "$p" ] && break
        sleep 0.1
    done
    [ -n "$p" ] || fail "qemu-img convert did not start: $(cat "$2/err")"
    [ -d "$1/.cp.vm.part" ] || fail "no .part folder of the clone"
    grep -q "cp" "$1/vnc_table.yaml" || fail "no display reserved for cp"
    # while it copies, the source can be neither started nor deleted
    expect_exit 4 yv "$1" run --name big
    expect_exit 4 yv "$1" delete --name big
    assert_err_line delete "VM 'big' is busy"
    sleep 0.5
}

# no_clone_left ROOT BEFORE: no qemu-img on the source, the root as BEFORE.
no_clone_left()
{
    local p
    for _ in $(seq 50); do
        p=$(procs_with "$1/big.vm/hd0.qcow2")
        [ -z "$p" ] && break
        sleep 0.1
    done
    assert_eq "" "$p" "qemu-img still running"
    assert_no_file "$1/.cp.vm.part" "the .part folder"
    assert_no_trace "$2" "$1"
}

test_6_interrupted_clone_leaves_nothing()
{
    local root t before rc
    mktmp_into t
    slow_img_root root "$t"
    before=$(snapshot_root "$root")
    start_clone "$root" "$t"
    kill -s INT "$CPID"
    wait_exited "$CPID" 300
    rc=0
    wait "$CPID" || rc=$?
    assert_eq 1 "$rc" "exit status after SIGINT"
    assert_eq "yave-tui: clone: interrupted" "$(tail -n 1 "$t/err")" "the error line"
    no_clone_left "$root" "$before"
}

# SIGKILL mid-copy: the next command reaps the .part (and the source's start mark lets go).
test_7_killed_clone_reaped_by_next_command()
{
    local root t before
    mktmp_into t
    slow_img_root root "$t"
    before=$(snapshot_root "$root")
    start_clone "$root" "$t"
    kill -KILL "$CPID"
    wait "$CPID" 2>/dev/null
    # its qemu-img goes too, as an OOM kill of the process group would leave it
    procs_with "$root/big.vm/hd0.qcow2" | while read -r p _; do kill -KILL "$p"; done
    [ -d "$root/.cp.vm.part" ] || fail "the killed clone left no .part (nothing to test)"
    expect_exit 0 yv "$root" list
    assert_eq big "$OUT" "list after the kill"
    no_clone_left "$root" "$before"
    # the source runs again; the name is free again
    expect_exit 0 yv "$root" run --name big
    expect_exit 0 yv "$root" shutdown --name big --force
    sed -i '/^cli:/,$d' "$root/config.yaml"
    expect_exit 0 yv "$root" clone --name big --to cp -V abcdefgh
}

# The TUI's clone form: l on a stopped VM, a taken name refused (the batch's reason on the status
# line, nothing made), a new name cloned and shown in the list; the generated password shown once
# in a dialog; l on a running VM clones it too (a snapshot of its disks), with a given password.
test_8_tui_clone_form()
{
    local root
    tui_root root k1 k2
    tui_start "$root"
    wait_row k1 '^k1 +stopped '
    keys l
    wait_screen 'Clone k1'
    text k2
    keys F10
    wait_screen 'k1: .*already exists'
    assert_no_file "$root/.k2.vm.part"
    keys l
    wait_screen 'Clone k1'
    text k3
    keys F10
    wait_screen 'shown only now' # (the form's own field is labelled "VNC password")
    assert_match 'shown only now\): [A-Za-z0-9]{8}' "$(line_with 'shown only now')" "the dialog"
    keys Enter
    wait_row k3 '^k3 +stopped '
    assert_file "$root/k3.vm/hd0.qcow2"
    expect_exit 0 yv "$root" run --name k1
    wait_row k1 '^k1 +running '
    keys l
    wait_screen 'Clone k1'
    text k4
    keys Tab Tab
    text Pw-for-k4
    keys F10
    wait_screen 'k1 cloned'
    wait_row k4 '^k4 +stopped '
    assert_eq Pw-for-k4 "$(vm_config_value "$root" k4 password)" "the password typed"
    tui_quit
    expect_exit 0 yv "$root" shutdown --name k1 --force
}

run_tests "$@"
