#!/usr/bin/env bash
# The real-guest scenario of snapshot (issue 19, spec §13): the Debian cloud-init test guest
# (tests/fixtures/make-cloud-guest.sh) created from a preset with a user network and a key, then,
# on ONE installed VM: a file written in the guest over ssh, an online snapshot (RAM included), the
# file deleted, the revert: the file is back and the guest did not reboot (the same boot_id, an
# uptime that goes on from the snapshot's); then offline: a snapshot of the stopped VM, the file
# deleted in the next boot, the revert of the stopped VM, the next boot has the file again.
# run-all: slow
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

ROOT_PW='Guest-Root-19'
WAIT_BOOT=${YAVE_GUEST_WAIT:-420} # seconds for a boot to a working sshd (TCG)

# facts ROOT VM T: BOOT (the guest's boot_id) and UP (its uptime, whole seconds).
facts()
{
    guest_must "$1" "$2" "$3" 'cat /proc/sys/kernel/random/boot_id; cut -d. -f1 /proc/uptime'
    { read -r BOOT && read -r UP; } <<<"$OUT"
}

test_guest_file_back_after_revert()
{
    local root t boot0 up0 start
    new_root root
    mktmp_into t
    guest_root "$root" "$t"
    at_exit stop_qemus "$root"
    expect_exit 0 yv "$root" create --name s --preset debian --root-password-file "$t/rootpw" \
        --network user --ssh-key "$t/key.pub" --no-ovmf -m 512 -c 3072 --install-timeout 600
    expect_exit 0 yv "$root" run --name s
    wait_ssh "$root" s "$t"
    guest_must "$root" s "$t" 'echo kept-by-the-snapshot >/root/marker && sync'
    facts "$root" s "$t"
    boot0=$BOOT up0=$UP
    start=$SECONDS
    expect_exit 0 yv "$root" --json snapshot create --name s --snap online
    printf '      online snapshot of a 512 MiB guest: %ss\n' $((SECONDS - start))
    assert_eq true "$(jv 'd["live"]')" "taken on the running VM"
    guest_must "$root" s "$t" 'rm /root/marker && sync && sleep 5'
    guest_ssh "$root" s "$t" cat /root/marker
    assert_eq 1 "$RC" "the marker after rm"
    start=$SECONDS
    expect_exit 0 yv "$root" snapshot revert --name s --snap online
    printf '      online revert: %ss\n' $((SECONDS - start))
    wait_ssh "$root" s "$t"
    guest_must "$root" s "$t" cat /root/marker
    assert_eq kept-by-the-snapshot "$OUT" "the file after the revert"
    facts "$root" s "$t"
    assert_eq "$boot0" "$BOOT" "the boot_id after the revert (the guest did not reboot)"
    ((UP >= up0)) || fail "uptime $UP after the revert is below the snapshot's $up0: a reboot"

    # offline: the stopped VM's disks only
    expect_exit 0 yv "$root" shutdown --name s --force
    expect_exit 0 yv "$root" snapshot create --name s --snap offline
    expect_exit 0 yv "$root" run --name s
    wait_ssh "$root" s "$t"
    guest_must "$root" s "$t" 'rm /root/marker && sync'
    expect_exit 0 yv "$root" shutdown --name s --force
    expect_exit 0 yv "$root" --json snapshot revert --name s --snap offline
    assert_eq false "$(jv 'd["live"]')" "reverted with qemu-img"
    expect_exit 0 yv "$root" run --name s
    wait_ssh "$root" s "$t"
    guest_must "$root" s "$t" cat /root/marker
    assert_eq kept-by-the-snapshot "$OUT" "the file after the offline revert"
    expect_exit 0 yv "$root" shutdown --name s --force
}

run_tests "$@"
