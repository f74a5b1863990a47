# shellcheck shell=bash
# Network-namespace helpers of the network tests (test-net.sh, test-net-trust.sh): sourced after
# lib.sh. Needs root (CAP_NET_ADMIN), ip, nft.

# new_ns N: creates the namespace yvt-$$-N (lo up, no IPv6 chatter) as $NS, deleted when the test
# ends — after everything registered later (QEMUs, roots) is cleaned up.
new_ns()
{
    NS=yvt-$$-$1
    ip netns add "$NS" || fail "cannot create the network namespace $NS (root needed)"
    at_exit ip netns delete "$NS"
    nsx ip link set lo up || fail "lo up in $NS"
    nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
        true
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

# expected_tap VM: yv + the first 8 hex digits of MD5(VM) + n0.
expected_tap()
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
