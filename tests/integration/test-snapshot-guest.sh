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

ROOT_PW='Guest-Root-19'
WAIT_BOOT=${YAVE_GUEST_WAIT:-420} # seconds for a boot to a working sshd (TCG)

# guest_root ROOT T: the preset "debian" (the test guest) in ROOT, the key and password in T.
guest_root()
{
    mkdir "$1/debian.preset" || fail "mkdir"
    "$FIXTURES_DIR/make-cloud-guest.sh" "$1/debian.preset/guest.qcow2" 2>"$2/guest.log" ||
        fail "make-cloud-guest.sh failed: $(tail -5 "$2/guest.log")"
    printf 'cloudimg: guest.qcow2\n' >"$1/debian.preset/config.yaml"
    printf '%s\n' "$ROOT_PW" >"$2/rootpw"
    chmod 600 "$2/rootpw"
    ssh-keygen -q -t ed25519 -N '' -C "yave-test-guest" -f "$2/key" || fail "ssh-keygen"
}

# gssh ROOT VM T ARGS...: `ssh --print`'s argv with the test's options before `--` (no ~/.ssh
# read or written); sets OUT/ERR/RC like run_cmd.
gssh()
{
    local r=$1 vm=$2 t=$3 words=() i
    shift 3
    run_cmd yv "$r" ssh --name "$vm" --print
    [ "$RC" = 0 ] || fail "ssh --print: exit $RC: $ERR"
    read -r -a words <<<"$OUT"
    for i in "${!words[@]}"; do [ "${words[$i]}" = "--" ] && break; done
    run_cmd timeout 60 "${words[0]}" -F /dev/null -i "$t/key" -o IdentitiesOnly=yes \
        -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=10 \
        -o UserKnownHostsFile="$t/known_hosts" -o StrictHostKeyChecking=accept-new \
        "${words[@]:1:$i}" "${words[@]:$((i + 1))}" "$@"
}

# must ROOT VM T ARGS...: gssh that must succeed; OUT is its output.
must()
{
    gssh "$@"
    [ "$RC" = 0 ] || fail "ssh ${*:4}: exit $RC: $ERR"
}

wait_ssh()
{
    local deadline=$((SECONDS + WAIT_BOOT))
    while [ $SECONDS -lt $deadline ]; do
        gssh "$1" "$2" "$3" true
        [ "$RC" = 0 ] && return 0
        [ -e "$1/run/$2.pid" ] || fail "QEMU of $2 ended: $(tail -c 400 "$1/$2.vm/serial.log")"
        sleep 3
    done
    fail "no SSH to $2 within ${WAIT_BOOT}s: $ERR"
}

# facts ROOT VM T: BOOT (the guest's boot_id) and UP (its uptime, whole seconds).
facts()
{
    must "$1" "$2" "$3" 'cat /proc/sys/kernel/random/boot_id; cut -d. -f1 /proc/uptime'
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
    must "$root" s "$t" 'echo kept-by-the-snapshot >/root/marker && sync'
    facts "$root" s "$t"
    boot0=$BOOT up0=$UP
    start=$SECONDS
    expect_exit 0 yv "$root" --json snapshot create --name s --snap online
    printf '      online snapshot of a 512 MiB guest: %ss\n' $((SECONDS - start))
    assert_eq true "$(jv 'd["live"]')" "taken on the running VM"
    must "$root" s "$t" 'rm /root/marker && sync && sleep 5'
    gssh "$root" s "$t" cat /root/marker
    assert_eq 1 "$RC" "the marker after rm"
    start=$SECONDS
    expect_exit 0 yv "$root" snapshot revert --name s --snap online
    printf '      online revert: %ss\n' $((SECONDS - start))
    wait_ssh "$root" s "$t"
    must "$root" s "$t" cat /root/marker
    assert_eq kept-by-the-snapshot "$OUT" "the file after the revert"
    facts "$root" s "$t"
    assert_eq "$boot0" "$BOOT" "the boot_id after the revert (the guest did not reboot)"
    ((UP >= up0)) || fail "uptime $UP after the revert is below the snapshot's $up0: a reboot"

    # offline: the stopped VM's disks only
    expect_exit 0 yv "$root" shutdown --name s --force
    expect_exit 0 yv "$root" snapshot create --name s --snap offline
    expect_exit 0 yv "$root" run --name s
    wait_ssh "$root" s "$t"
    must "$root" s "$t" 'rm /root/marker && sync'
    expect_exit 0 yv "$root" shutdown --name s --force
    expect_exit 0 yv "$root" --json snapshot revert --name s --snap offline
    assert_eq false "$(jv 'd["live"]')" "reverted with qemu-img"
    expect_exit 0 yv "$root" run --name s
    wait_ssh "$root" s "$t"
    must "$root" s "$t" cat /root/marker
    assert_eq kept-by-the-snapshot "$OUT" "the file after the offline revert"
    expect_exit 0 yv "$root" shutdown --name s --force
}

run_tests "$@"
