#!/usr/bin/env bash
# Anti-spoofing rules never outlive their VM (issue 14, item 11): `netdev … down` needs only the
# interface name (a config broken while the VM ran does not keep its chain), and every reconcile
# removes the rules no VM owns while a running VM's rules stay. Each test in a network namespace of
# its own with real nft and a real QEMU (TCG). Needs root (CAP_NET_ADMIN), nft, ip.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

# ---- helpers of this file (the namespace helpers are in net-lib.sh) ----

# mkvm_net ROOT NAME: a tiny VM on br0 (no UEFI, 64 MiB disk and memory).
mkvm_net()
{
    expect_exit 0 yvn "$1" create --no-ovmf -c 64 -m 64 --master br0 --name "$2" \
        --vnc-password Abcdefgh
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
    has_rules "$(expected_tap "$2")" || fail "no rules for $2's TAP after run"
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
    tap=$(expected_tap b1)
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

# Rules no VM owns go at the next reconcile (any command that loads the root: here `list`): those
# of a TAP that no longer exists (a hand-made rule; a QEMU's TAP goes with it). The rules of a TAP
# that exists stay: the running VM's, another root's TAP, and — the table is shared by every root
# on the host and a TAP's name derives from its VM's name alone — another root's running VM named
# like a stopped VM of this root, even when this root's VM has a broken config and leftovers of a
# dead QEMU in run/ (they made `list` strip the other root's anti-spoofing rules).
test_reconcile_removes_rules_no_vm_owns()
{
    local root root2 r1tap s1tap
    new_ns 2
    new_root root
    new_root root2
    add_bridge br0
    mkvm_net "$root" r1
    mkvm_net "$root" s1
    mkvm_net "$root2" s1
    r1tap=$(expected_tap r1)
    s1tap=$(expected_tap s1)
    start "$root" r1
    start "$root2" s1
    hand_rule yvdeadbeefn0 ghost
    printf 'name: [broken\n' >"$root/s1.vm/config.yaml"
    printf '999999999\n' >"$root/run/s1.pid" # a dead QEMU's leftover
    nsx ip tuntap add dev othertap0 mode tap || fail "ip tuntap add othertap0"
    hand_rule othertap0 elsewhere

    expect_exit 0 yvn "$root" list
    ! has_rules yvdeadbeefn0 || fail "the rules of a TAP that does not exist were kept"
    assert_no_file "$root/run/s1.pid" "the dead QEMU's pidfile"
    has_rules "$s1tap" || fail "another root's running s1 lost its rules to this root's list"
    has_rules "$r1tap" || fail "the running VM's rules were removed"
    has_rules othertap0 || fail "the rules of another root's TAP were removed"
    expect_exit 0 yvn "$root" shutdown --name r1 --force
    ! has_rules "$r1tap" || fail "the rules of $r1tap outlived its VM"
    expect_exit 0 yvn "$root2" shutdown --name s1 --force
    ! has_rules "$s1tap" || fail "the rules of $s1tap outlived its VM"
}

# loads_nftables ROOT VERB: VERB (list or status) on ROOT in the namespace exits 0, and the dynamic
# loader's log says whether it loaded libnftables (0) or not (1).
loads_nftables()
{
    local err
    err=$(nsx env LD_DEBUG=libs "$YAVE_TEST_BIN" --batch --root "$1" "$2" 2>&1 >/dev/null) ||
        fail "$2 failed: $err"
    grep -q 'libnftables' <<<"$err"
}

# list and status look for rules no VM owns only where YAVE's table exists: asked over nfnetlink
# first, so without the table they never load libnftables and the five libraries it pulls (issue
# 16: about 3 ms a command as root). With the table (made by hand, in another family first) they do.
test_rules_looked_for_only_with_the_table()
{
    local root
    new_ns 5
    new_root root
    mkvm_net "$root" v1
    ! loads_nftables "$root" list || fail "list loaded libnftables with no table to look in"
    nsx nft add table inet yave || fail "nft: cannot add an inet table"
    ! loads_nftables "$root" status || fail "an inet table named yave was taken for the bridge one"
    nsx nft add table bridge yave || fail "nft: cannot add the bridge table"
    loads_nftables "$root" list || fail "list did not look in YAVE's table"
}

# A preset create on a bridge: QEMU's netdevup runs during the first boot, while the VM is still the
# create's hidden .part folder (it failed with "no VM named", so `create --preset … --master br0`
# never booted). The TAP joins the bridge with its anti-spoofing rule; when the first boot ends (a
# preset with no OS: the install timeout), the rule goes with QEMU and nothing is left.
test_preset_first_boot_on_a_bridge()
{
    local root t tap before pid rc i
    new_ns 3
    new_root root
    mktmp_into t
    add_bridge br0
    mkdir "$root/empty.preset" || fail "mkdir"
    qemu-img create -q -f qcow2 "$root/empty.preset/e.qcow2" 64M || fail "qemu-img create"
    printf 'cloudimg: e.qcow2\n' >"$root/empty.preset/config.yaml"
    printf 'Root-pw-77\n' >"$t/rootpw"
    chmod 600 "$t/rootpw"
    before=$(snapshot_root "$root" | grep -v '^\./run')
    tap=$(expected_tap pb)
    yvn "$root" create --name pb --preset empty --root-password-file "$t/rootpw" \
        --vnc-password Abcdefgh --master br0 --no-ovmf -m 64 --install-timeout 20 \
        </dev/null >"$t/out" 2>"$t/err" &
    pid=$!
    at_exit kill -KILL "$pid"
    for ((i = 0; i < 600; i++)); do # a bound on a hang: 60 s
        nsx ip link show master br0 2>/dev/null | grep -qF "$tap" && has_rules "$tap" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    nsx ip link show master br0 | grep -qF "$tap" ||
        fail "the first boot's TAP $tap never joined br0: $(cat "$t/err")"
    has_rules "$tap" || fail "the first boot's TAP $tap has no anti-spoofing rule"
    rc=0
    wait "$pid" || rc=$?
    assert_eq 6 "$rc" "exit status of a first boot that never powers off (timed out)"
    assert_contains "$(cat "$t/err")" "did not power off within 20 s" "the create's error"
    ! has_rules "$tap" || fail "the first boot's rule outlived its QEMU"
    assert_eq "$before" "$(snapshot_root "$root" | grep -v '^\./run')" "the root after the failed create"
    assert_eq "" "$(find "$root/run" -mindepth 1 ! -name lock ! -name nft.lock)" "files left in run/"
}

# QEMU runs netdevup while the `run` (or yave-web's run route) that started it holds the root lock
# and waits for it: netdev must never wait for that lock. With leftovers of a dead QEMU in run/,
# netdev's clean-up of them took the lock and the start hung for good. Here a flock holder plays
# the waiting run, and netdev attaches a TAP made by hand.
test_netdev_never_waits_for_the_root_lock()
{
    local root tap rc=0
    new_ns 4
    new_root root
    add_bridge br0
    mkvm_net "$root" h1
    tap=$(expected_tap h1)
    nsx ip tuntap add dev "$tap" mode tap || fail "ip tuntap add $tap"
    printf '999999999\n' >"$root/run/x.pid" # a dead QEMU's leftover
    : >"$root/run/x.sock"
    hold_root_lock "$root"
    timeout 60 ip netns exec "$NS" "$YAVE_TEST_BIN" --batch --root "$root" netdev --name h1 \
        --ifname "$tap" up >/dev/null 2>&1 || rc=$?
    [ "$rc" -ne 124 ] || fail "netdev up waited for the root lock (a run holding it would hang)"
    assert_eq 0 "$rc" "exit status of netdev up"
    nsx ip link show master br0 | grep -qF "$tap" || fail "$tap did not join br0"
    has_rules "$tap" || fail "no rules for $tap after netdev up"
    expect_exit 0 yvn "$root" netdev --name h1 --ifname "$tap" down
}

run_tests "$@"
