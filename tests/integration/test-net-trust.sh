#!/usr/bin/env bash
# Anti-spoofing rules never outlive their VM (issue 14, item 11): `netdev … down` needs only the
# interface name (a config broken while the VM ran does not keep its chain), and every reconcile
# removes the rules no VM owns while a running VM's rules stay. Each test in a network namespace of
# its own with real nft and a real QEMU (TCG). Needs root (CAP_NET_ADMIN), nft, ip.
. "$(dirname "$0")/lib.sh"

# ---- helpers of this file (the namespace part of test-net.sh) ----

# new_ns N: the namespace yvnt-$$-N (lo up) as $NS, deleted when the test ends — after everything
# registered later (QEMUs, roots) is cleaned up.
new_ns()
{
    NS=yvnt-$$-$1
    ip netns add "$NS" || fail "cannot create the network namespace $NS (root needed)"
    at_exit ip netns delete "$NS"
    nsx ip link set lo up || fail "lo up in $NS"
}

# nsx CMD...: CMD inside the test's namespace.
nsx()
{
    ip netns exec "$NS" "$@"
}

# yvn ROOT ARGS...: the batch front end on ROOT, inside the namespace.
yvn()
{
    local r=$1
    shift
    nsx "$YAVE_TEST_BIN" --batch --root "$r" "$@"
}

# add_bridge NAME: a bridge in the namespace, up.
add_bridge()
{
    nsx ip link add "$1" type bridge || fail "cannot add bridge $1"
    nsx ip link set "$1" up || fail "cannot set $1 up"
}

# mkvm_net ROOT NAME: a tiny VM on br0 (no UEFI, 64 MiB disk and memory).
mkvm_net()
{
    expect_exit 0 yvn "$1" create --no-ovmf -c 64 -m 64 --master br0 --name "$2" \
        --vnc-password Abcdefgh
}

# tap_of VM: yv + the first 8 hex digits of MD5(VM) + n0.
tap_of()
{
    printf 'yv%sn0\n' "$(printf '%s' "$1" | md5sum | cut -c1-8)"
}

# chain_of IFNAME: tap_ followed by the hex of the interface name's bytes.
chain_of()
{
    printf 'tap_%s\n' "$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')"
}

# ruleset: the namespace's ruleset as text.
ruleset()
{
    nsx nft list ruleset || fail "nft list ruleset failed"
}

# has_rules IFNAME: the ruleset has IFNAME's chain (0) or not (1).
has_rules()
{
    grep -q "$(chain_of "$1")" <<<"$(ruleset)"
}

# hand_rule IFNAME VM: a rule for IFNAME as YAVE writes it (chain, drop rule, dispatch entry),
# added with nft by hand.
hand_rule()
{
    local c
    c=$(chain_of "$1")
    nsx nft -f - <<EOF || fail "nft: cannot add a rule for $1 by hand"
add table bridge yave
add map bridge yave taps { type ifname : verdict; }
add chain bridge yave $c
add rule bridge yave $c ether saddr != 52:54:00:00:00:99 counter drop comment "vm:$2"
add element bridge yave taps { "$1" : jump $c }
EOF
    has_rules "$1" || fail "the hand-made rule of $1 is not there"
}

# start ROOT VM: run must exit 0 in the namespace, with the VM's TAP rules in place.
start()
{
    expect_exit 0 yvn "$1" run --name "$2"
    has_rules "$(tap_of "$2")" || fail "no rules for $2's TAP after run"
}

# ---- the tests ----

# A VM whose config.yaml breaks while it runs: when it stops, QEMU runs netdevdown, and its rules go
# all the same (`netdev down` reads no config). `netdev down` by hand works the same way.
test_broken_config_does_not_keep_rules()
{
    local root tap pid
    new_ns 1
    new_root root
    add_bridge br0
    mkvm_net "$root" b1
    tap=$(tap_of b1)
    start "$root" b1
    pid=$(cat "$root/run/b1.pid") || fail "no pidfile"
    printf 'name: [broken\n' >"$root/b1.vm/config.yaml"
    expect_exit 0 yvn "$root" --json status --name b1
    assert_eq invalid "$(jv 'd["state"]')" "state of the VM with a broken config"
    has_rules "$tap" || fail "the running VM lost its rules to a status"

    expect_exit 0 yvn "$root" shutdown --name b1 --force
    wait_exited "$pid"
    ! has_rules "$tap" || fail "the rules of $tap outlived its VM (config broken while it ran)"

    # the verb itself, on a persistent TAP with rules: no config needed
    hand_rule "$tap" b1
    expect_exit 0 yvn "$root" netdev --name b1 --ifname "$tap" down
    ! has_rules "$tap" || fail "netdev down left the rules of $tap"
}

# Rules no VM owns go at the next reconcile (any command that loads the root: here `list`): a TAP
# that no longer exists (a hand-made rule), and a TAP of this root's VM that is not running, whose
# config is broken. The running VM's rules, and those of an existing TAP that belongs to no VM of
# this root (another root's), stay.
test_reconcile_removes_rules_no_vm_owns()
{
    local root r1tap s1tap
    new_ns 2
    new_root root
    add_bridge br0
    mkvm_net "$root" r1
    mkvm_net "$root" s1
    r1tap=$(tap_of r1)
    s1tap=$(tap_of s1)
    start "$root" r1
    hand_rule yvdeadbeefn0 ghost
    nsx ip tuntap add dev "$s1tap" mode tap || fail "ip tuntap add $s1tap"
    hand_rule "$s1tap" s1
    printf 'name: [broken\n' >"$root/s1.vm/config.yaml"
    nsx ip tuntap add dev othertap0 mode tap || fail "ip tuntap add othertap0"
    hand_rule othertap0 elsewhere

    expect_exit 0 yvn "$root" list
    ! has_rules yvdeadbeefn0 || fail "the rules of a TAP that does not exist were kept"
    ! has_rules "$s1tap" || fail "the rules of a stopped VM's TAP were kept"
    has_rules "$r1tap" || fail "the running VM's rules were removed"
    has_rules othertap0 || fail "the rules of another root's TAP were removed"
    expect_exit 0 yvn "$root" shutdown --name r1 --force
    ! has_rules "$r1tap" || fail "the rules of $r1tap outlived its VM"
}

run_tests "$@"
