# shellcheck shell=bash
# The real test guest's helpers shared by the slow files that boot it (test-guest.sh,
# test-snapshot-guest.sh, test-guest-daytwo.sh, test-clone-guest.sh). Source after lib.sh; the
# caller sets ROOT_PW (the guest's root password) and WAIT_BOOT (seconds for a boot to a working
# sshd under TCG), and sources forward-lib.sh (free_base). ssh runs with options of its own (-F /dev/null, a temporary known_hosts, the
# test's key): ssh reads ~/.ssh from the passwd home, not $HOME, so `ssh --print` gives the argv
# and these helpers add those options in front of `--`.
# shellcheck source=tests/integration/forward-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/forward-lib.sh"

# guest_ports ROOT: the root's SSH forwards start at a random free port (network.ssh_port_base)
# instead of 2200: the slow files boot guests at once, each in its own root, and a port another
# root's create picked but its QEMU has not bound yet looks free to this one's pick. A root whose
# config has a network section already is left alone.
guest_ports()
{
    local base
    grep -q '^network:' "$1/config.yaml" && return 0 # the test chose them (new_fw_root)
    free_base base
    printf 'network:\n  ssh_port_base: %s\n' "$base" >>"$1/config.yaml"
}

# guest_root ROOT T: the preset "debian" (the test guest) in ROOT (its SSH ports by guest_ports),
# the key and password in T.
guest_root()
{
    guest_ports "$1"
    mkdir "$1/debian.preset" || fail "mkdir"
    "$FIXTURES_DIR/make-cloud-guest.sh" "$1/debian.preset/guest.qcow2" 2>"$2/guest.log" ||
        fail "make-cloud-guest.sh failed: $(tail -5 "$2/guest.log")"
    printf 'cloudimg: guest.qcow2\n' >"$1/debian.preset/config.yaml"
    printf '%s\n' "$ROOT_PW" >"$2/rootpw"
    chmod 600 "$2/rootpw"
    ssh-keygen -q -t ed25519 -N '' -C "yave-test-guest" -f "$2/key" || fail "ssh-keygen"
}

# guest_ssh_as ROOT VM T USER ARGS...: `ssh --print [--user USER]`'s argv (USER empty: the verb's
# default, root) with the test's options before `--`; sets OUT/ERR/RC like run_cmd. No ~/.ssh of
# the user is read or written. The whole ssh is bounded by GUEST_SSH_TIMEOUT seconds (default 90): a
# command with its own longer bound inside sets more.
guest_ssh_as()
{
    local r=$1 vm=$2 t=$3 u=$4 words=() i
    shift 4
    run_cmd yv "$r" ssh --name "$vm" ${u:+--user "$u"} --print
    [ "$RC" = 0 ] || fail "ssh --print: exit $RC: $ERR"
    read -r -a words <<<"$OUT"
    for i in "${!words[@]}"; do [ "${words[$i]}" = "--" ] && break; done
    run_cmd timeout "${GUEST_SSH_TIMEOUT:-90}" "${words[0]}" -F /dev/null -i "$t/key" -o IdentitiesOnly=yes \
        -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=10 \
        -o UserKnownHostsFile="$t/known_hosts" -o StrictHostKeyChecking=accept-new \
        "${words[@]:1:$i}" "${words[@]:$((i + 1))}" "$@"
}

# guest_ssh ROOT VM T ARGS...: as root.
guest_ssh()
{
    local r=$1 vm=$2 t=$3
    shift 3
    guest_ssh_as "$r" "$vm" "$t" "" "$@"
}

# guest_must ROOT VM T ARGS...: guest_ssh that must succeed; OUT is its output.
guest_must()
{
    guest_ssh "$@"
    [ "$RC" = 0 ] || fail "ssh ${*:4}: exit $RC: $ERR"
}

# wait_ssh ROOT VM T: until `ssh … true` works (bounded by WAIT_BOOT; fails at once when the VM's
# QEMU ended).
wait_ssh()
{
    local deadline=$((SECONDS + WAIT_BOOT))
    while [ $SECONDS -lt $deadline ]; do
        guest_ssh "$1" "$2" "$3" true
        [ "$RC" = 0 ] && return 0
        [ -e "$1/run/$2.pid" ] || fail "QEMU of $2 ended: $(tail -c 400 "$1/$2.vm/serial.log")"
        sleep 3
    done
    fail "no SSH to $2 within ${WAIT_BOOT}s: $ERR"
}
