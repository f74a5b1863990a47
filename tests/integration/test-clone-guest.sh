#!/usr/bin/env bash
# The real-guest scenario of `clone` (spec §13, issue 19): the Debian cloud-init guest of
# tests/fixtures/make-cloud-guest.sh installed ONCE from a preset (user network, a key made here),
# cloned, and source and clone run at the same time: over ssh (each on its own SSH forward) the
# clone reports its own host name (its VM name), a cloud-init instance-id other than its source's
# (the one `clone --json` printed, from the NoCloud seed the clone boots with), other SSH host keys,
# another machine-id and another MAC than the source. The source stays the instance its install
# was (the seed it keeps, cidata.iso): the install's instance-id and SSH host key at its next boot
# and after a reboot (not cloud-init's DataSourceNone `iid-datasource-none` with new host keys). Needs the guest image (root to build once, cached in
# /var/cache/yave-test). An install is ~2 min and a boot ~1-2 min under TCG: run it rarely.
# run-all: slow
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

ROOT_PW='Clone-Root-19'
WAIT_BOOT=${YAVE_GUEST_WAIT:-480} # seconds for a boot to a working sshd (TCG, two guests at once)

# guest_facts ROOT VM T: "HOSTNAME INSTANCE-ID HOSTKEY-FINGERPRINT MAC MACHINE-ID" of the running
# guest (cloud-init's own wait has 200 s, under the ssh's 260).
guest_facts()
{
    GUEST_SSH_TIMEOUT=260 guest_ssh "$1" "$2" "$3" 'timeout 200 cloud-init status --wait >/dev/null 2>&1;
        echo "$(hostname) $(cat /var/lib/cloud/data/instance-id)" \
            "$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2)" \
            "$(cat /sys/class/net/*/address | grep -m1 ^52:54) $(cat /etc/machine-id)"'
    assert_eq 0 "$RC" "the facts of $2 over ssh: $ERR"
    printf '%s\n' "$OUT"
}

# install_facts ROOT VM T: "INSTANCE-ID HOSTKEY-FINGERPRINT" the install left on the VM's disk
# (read without booting it: the partition copied out, debugfs).
install_facts()
{
    local raw="$3/disk.raw" start
    qemu-img convert -O raw "$1/$2.vm/hd0.qcow2" "$raw" || fail "qemu-img convert to raw"
    start=$(sfdisk -J "$raw" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])') ||
        fail "no partition table on the disk"
    dd if="$raw" of="$3/part.img" bs=4M iflag=skip_bytes skip=$((start * 512)) conv=sparse \
        status=none || fail "dd"
    rm -f "$raw"
    debugfs -R 'cat /etc/ssh/ssh_host_ed25519_key.pub' "$3/part.img" >"$3/hostkey.pub" 2>/dev/null
    echo "$(debugfs -R 'cat /var/lib/cloud/data/instance-id' "$3/part.img" 2>/dev/null)" \
        "$(ssh-keygen -lf "$3/hostkey.pub" | cut -d' ' -f2)"
    rm -f "$3/part.img" "$3/hostkey.pub"
}

test_clone_of_a_preset_guest_is_not_its_twin()
{
    local root t iid src dst start base s_host s_iid s_key s_mac s_mid d_host d_iid d_key d_mac d_mid
    local kept i_iid i_key again
    free_base base # the SSH forwards: other programs may hold 2200 and up
    new_fw_root root "$base"
    mktmp_into t
    guest_root "$root" "$t"
    at_exit stop_qemus "$root"
    expect_exit 0 yv "$root" create --name csrc --preset debian --root-password-file "$t/rootpw" \
        --network user --ssh-key "$t/key.pub" --no-ovmf -m 512 -c 3072 --install-timeout 600
    assert_eq debian "$(vm_config_value "$root" csrc preset)" "the preset recorded in vm.yaml"
    # the seed the source keeps: the install's instance
    kept=$(isoinfo -R -x /meta-data -i "$root/csrc.vm/cidata.iso" | sed -n 's/^instance-id: //p')
    read -r i_iid i_key <<<"$(install_facts "$root" csrc "$t")"
    assert_match '^iid-yave-csrc-[0-9a-f]{16}$' "$i_iid" "the install's instance-id on the disk"
    assert_eq "$i_iid" "$kept" "the kept seed's instance-id"
    assert_match '^SHA256:' "$i_key" "the install's SSH host key on the disk"

    expect_exit 0 yv "$root" --json clone --name csrc --to cdst --vnc-password Abcdefgh
    iid=$(jv 'd["instance_id"]')
    assert_match '^iid-yave-cdst-[0-9a-f]{16}$' "$iid" "the clone's new instance-id"
    assert_eq 1 "$(grep -c "path: cidata.iso" "$root/cdst.vm/config.yaml")" "seed drives of the clone"
    assert_eq "$iid" "$(isoinfo -R -x /meta-data -i "$root/cdst.vm/cidata.iso" |
        sed -n 's/^instance-id: //p')" "the clone's seed: its own, not its source's"

    start=$SECONDS
    expect_exit 0 yv "$root" run --name csrc
    expect_exit 0 yv "$root" run --name cdst
    wait_ssh "$root" csrc "$t"
    wait_ssh "$root" cdst "$t"
    printf '      both reachable over ssh after %ss\n' "$((SECONDS - start))"
    src=$(guest_facts "$root" csrc "$t")
    dst=$(guest_facts "$root" cdst "$t")
    printf '      source: %s\n      clone:  %s\n' "$src" "$dst"
    read -r s_host s_iid s_key s_mac s_mid <<<"$src"
    read -r d_host d_iid d_key d_mac d_mid <<<"$dst"
    assert_eq csrc "$s_host" "the source's host name"
    assert_eq "$i_iid" "$s_iid" "the source's instance-id: its install's (not iid-datasource-none)"
    assert_eq "$i_key" "$s_key" "the source's SSH host key: its install's"
    assert_eq cdst "$d_host" "the clone's host name"
    assert_eq "$iid" "$d_iid" "the clone's instance-id in the guest"
    assert_ne "$s_iid" "$d_iid" "the instance-ids"
    assert_ne "$s_key" "$d_key" "the SSH host keys"
    assert_ne "$s_mac" "$d_mac" "the MACs"
    assert_match '^[0-9a-f]{32}$' "$s_mid" "the source's machine-id"
    assert_match '^[0-9a-f]{32}$' "$d_mid" "the clone's machine-id"
    assert_ne "$s_mid" "$d_mid" "the machine-ids"
    assert_eq "$(vm_config_value "$root" cdst mac)" "$d_mac" "the clone's MAC in the guest"
    expect_exit 0 yv "$root" shutdown --name cdst --force

    # a reboot of the source: the same instance, the same host key (known_hosts still holds it:
    # ssh with StrictHostKeyChecking would refuse a changed one), the same machine-id
    expect_exit 0 yv "$root" shutdown --name csrc --timeout 300
    start=$SECONDS
    expect_exit 0 yv "$root" run --name csrc
    wait_ssh "$root" csrc "$t"
    printf '      source reachable again after %ss\n' "$((SECONDS - start))"
    again=$(guest_facts "$root" csrc "$t")
    printf '      source after its reboot: %s\n' "$again"
    assert_eq "$src" "$again" "the source's facts across a reboot"
    expect_exit 0 yv "$root" shutdown --name csrc --force
}

run_tests "$@"
