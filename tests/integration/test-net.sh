#!/usr/bin/env bash
# Networking (spec §7, `netdev` of §8) against the real kernel, each test in a network namespace of
# its own (never the host's interfaces or ruleset): a running VM's TAP on its bridge with its
# anti-spoofing chain in `bridge yave`, idempotent `netdev up`/`down`, spoofed frames really dropped
# (written into the TAP, captured on another bridge port), hostile interface names, a missing
# bridge, the netdevup script, and a VM killed with -9. Needs root (CAP_NET_ADMIN), nft, ip.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

FORGED_MAC=52:54:00:de:ad:01

# ---- helpers of this file ----

# mkvm_net ROOT NAME [MASTER]: a tiny VM with a tap network (no UEFI, 64 MiB disk and memory).
mkvm_net()
{
    local m=()
    [ -n "${3:-}" ] && m=(--master "$3")
    expect_exit 0 yvn "$1" create --no-ovmf -c 64 -m 64 --network tap "${m[@]}" --name "$2"
}

# tap_of ROOT VM / mac_of ROOT VM: networks[0].ifname / .mac of `status --json`.
tap_of()
{
    expect_exit 0 yvn "$1" --json status --name "$2"
    jv 'd["networks"][0]["ifname"]'
}
mac_of()
{
    expect_exit 0 yvn "$1" --json status --name "$2"
    jv 'd["networks"][0]["mac"]'
}

# fw TAP MAC: the namespace's ruleset as seen by `nft -j list ruleset`, summarised for TAP:
#   table=0|1 chain=0|1 rules=<rules in the TAP's chain> spoofdrop=<rules `ether saddr != MAC
#   counter drop`> packets=<their counter> elem=0|1 (taps maps TAP to a jump to its chain)
#   dispatch=<rules `iifname vmap @taps` in prerouting> hook=<prerouting's hook>
fw()
{
    local j r
    j=$(nsx nft -j list ruleset) || fail "nft -j list ruleset failed"
    r=$(printf '%s' "$j" | "$PY" -c '
import json, sys
tap, mac = sys.argv[1], sys.argv[2].lower()
chain = "tap_" + tap.encode().hex()
objs = json.loads(sys.stdin.read() or "{\"nftables\": []}")["nftables"]
def mine(o):
    return o.get("family") == "bridge" and o.get("table") == "yave"
table = any(mine(dict(o["table"], table=o["table"]["name"])) for o in objs if "table" in o)
chains = [o["chain"] for o in objs if "chain" in o and mine(o["chain"])]
rules = [o["rule"] for o in objs if "rule" in o and mine(o["rule"])]
mine_rules = [r for r in rules if r["chain"] == chain]
spoof, packets = 0, 0
for r in mine_rules:
    e = r["expr"]
    m = [x["match"] for x in e if "match" in x]
    c = [x["counter"] for x in e if "counter" in x]
    if (len(m) == 1 and m[0]["op"] == "!=" and m[0]["left"] == {"payload": {"protocol": "ether", "field": "saddr"}}
            and str(m[0]["right"]).lower() == mac and c and "drop" in e[-1]):
        spoof += 1
        packets += c[0]["packets"]
elem = 0
for o in objs:
    mp = o.get("map")
    if mp and mine(mp) and mp["name"] == "taps":
        for k, v in mp.get("elem", []):
            if k == tap and v == {"jump": {"target": chain}}:
                elem += 1
dispatch = sum(1 for r in rules if r["chain"] == "prerouting"
               and r["expr"] == [{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@taps"}}])
hook = [c.get("hook", "") for c in chains if c["name"] == "prerouting"]
print("table=%d chain=%d rules=%d spoofdrop=%d packets=%d elem=%d dispatch=%d hook=%s" % (
    table, any(c["name"] == chain for c in chains), len(mine_rules), spoof, packets, elem,
    dispatch, hook[0] if hook else "-"))
' "$1" "$2" 2>&1) || fail "cannot read nft's JSON: $r"
    printf '%s\n' "$r"
}

# assert_fw TAP MAC KEY=VALUE...: fields of `fw TAP MAC`.
assert_fw()
{
    local tap=$1 mac=$2 kv got
    shift 2
    got=" $(fw "$tap" "$mac") " || exit 1
    for kv in "$@"; do
        case "$got" in
        *" $kv "*) ;;
        *) fail "ruleset for $tap: expected $kv, got:$got" ;;
        esac
    done
}

# link_info IFNAME: "master=<bridge or -> up=0|1" from `ip -j link show dev IFNAME`; "absent" when
# there is no such interface.
link_info()
{
    local j
    j=$(nsx ip -j link show dev "$1" 2>/dev/null) || {
        echo absent
        return 0
    }
    printf '%s' "$j" | "$PY" -c '
import json, sys
l = json.loads(sys.stdin.read())[0]
print("master=%s up=%d" % (l.get("master", "-"), "UP" in l.get("flags", [])))'
}

# wait_link_gone IFNAME: the interface disappears within 5 s.
wait_link_gone()
{
    for _ in $(seq 50); do
        [ "$(link_info "$1")" = absent ] && return 0
        sleep 0.1
    done
    fail "interface $1 is still there: $(link_info "$1")"
}

# persistent_tap IFNAME: a TAP nobody holds, made like an admin would (ip tuntap).
persistent_tap()
{
    nsx ip tuntap add dev "$1" mode tap || fail "ip tuntap add $1"
}

# netdev_script NAME: netdevup/netdevdown where the binary finds it (core/lifecycle.c find_script).
netdev_script()
{
    local d c
    d=$(dirname "$(realpath "$YAVE_TEST_BIN")")
    for c in "$d/$1" "$d/../libexec/yave/$1" "$d/../../$1"; do
        [ -x "$c" ] && {
            realpath "$c"
            return 0
        }
    done
    fail "no $1 next to $YAVE_TEST_BIN"
}

# FRAMES_PY TAP PEER SRC_MAC MARKER [SRC_MAC MARKER]...: opens TAP (IFF_TAP|IFF_NO_PI), waits
# until its bridge port forwards, writes one broadcast frame (ethertype 0x88b5, payload MARKER) per
# pair in order, and prints the MARKER of every such frame that arrives on PEER within 1 s.
FRAMES_PY='
import fcntl, os, socket, struct, sys, time
tap, peer = sys.argv[1], sys.argv[2]
pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
rx.bind((peer, 0))
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH22x", tap.encode(), 0x0002 | 0x1000))
deadline = time.time() + 5
while True:
    try:
        with open("/sys/class/net/%s/brport/state" % tap) as f:
            if f.read().strip() == "3":
                break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("the bridge port %s never forwarded" % tap)
    time.sleep(0.02)
for mac, marker in pairs:
    src = bytes.fromhex(mac.replace(":", ""))
    frame = b"\xff" * 6 + src + b"\x88\xb5" + marker.encode()
    os.write(fd, frame.ljust(60, b"\0"))
got, end = [], time.time() + 1.0
while time.time() < end:
    rx.settimeout(max(end - time.time(), 0.01))
    try:
        data = rx.recv(2048)
    except socket.timeout:
        break
    payload = data[14:].rstrip(b"\0").decode("ascii", "replace")
    if payload in [m for _, m in pairs]:
        got.append(payload)
os.close(fd)
print(" ".join(got))
'

# ---- the tests ----

# 1. run: the TAP is on the bridge, up, with its chain; shutdown --force removes all of it.
test_run_attaches_and_shutdown_removes()
{
    local root tap mac
    new_ns 1
    new_root root
    add_bridge br0
    mkvm_net "$root" n1 br0
    tap=$(tap_of "$root" n1) || exit 1
    mac=$(mac_of "$root" n1) || exit 1
    assert_eq "$(expected_tap n1)" "$tap" "deterministic TAP name in status --json"
    assert_eq "$(md5_mac n1)" "$mac" "MAC of the VM"

    expect_exit 0 yvn "$root" run --name n1
    assert_match "^started VM 'n1' \(pid [0-9]+, " "$OUT" "run's report"
    assert_eq "master=br0 up=1" "$(link_info "$tap")" "the running VM's TAP"
    assert_fw "$tap" "$mac" table=1 chain=1 rules=1 spoofdrop=1 elem=1 dispatch=1 hook=prerouting
    assert_contains "$(nsx nft list chain bridge yave "$(chain_of "$tap")")" \
        "ether saddr != $mac counter packets 0 bytes 0 drop" "the TAP's chain as nft shows it"

    expect_exit 0 yvn "$root" shutdown --name n1 --force
    wait_link_gone "$tap"
    assert_fw "$tap" "$mac" chain=0 rules=0 spoofdrop=0 elem=0
    assert_not_contains "$(ruleset)" "$tap" "the ruleset after shutdown"
    expect_exit 0 yvn "$root" --json status --name n1
    assert_eq stopped "$(jv 'd["state"]')" "state after shutdown"
}

# 2. netdev up twice = once; down twice = once, and nothing is left.
test_netdev_up_down_idempotent()
{
    local root tap mac r1 r2
    new_ns 2
    new_root root
    add_bridge br0
    mkvm_net "$root" n2 br0
    tap=$(tap_of "$root" n2) || exit 1
    mac=$(mac_of "$root" n2) || exit 1
    persistent_tap "$tap"
    assert_eq "master=- up=0" "$(link_info "$tap")" "the new TAP"

    expect_exit 0 yvn "$root" netdev --name n2 --ifname "$tap" up
    assert_eq "n2: $tap attached" "$OUT" "netdev up's report"
    r1=$(ruleset) || exit 1
    assert_eq "master=br0 up=1" "$(link_info "$tap")" "TAP after netdev up"
    expect_exit 0 yvn "$root" netdev --name n2 --ifname "$tap" up
    r2=$(ruleset) || exit 1
    assert_eq "$r1" "$r2" "the ruleset after a second netdev up"
    assert_eq "master=br0 up=1" "$(link_info "$tap")" "TAP after a second netdev up"
    assert_fw "$tap" "$mac" chain=1 rules=1 spoofdrop=1 elem=1 dispatch=1
    assert_eq 1 "$(grep -c 'iifname vmap @taps' <<<"$r2")" "dispatch rules in the ruleset text"

    expect_exit 0 yvn "$root" netdev --name n2 --ifname "$tap" down
    assert_eq "n2: $tap detached" "$OUT" "netdev down's report"
    assert_eq "master=- up=0" "$(link_info "$tap")" "TAP after netdev down"
    assert_fw "$tap" "$mac" chain=0 rules=0 spoofdrop=0 elem=0
    r1=$(ruleset) || exit 1
    expect_exit 0 yvn "$root" netdev --name n2 --ifname "$tap" down
    assert_eq "master=- up=0" "$(link_info "$tap")" "TAP after a second netdev down"
    assert_eq "$r1" "$(ruleset)" "the ruleset after a second netdev down"
    assert_not_contains "$r1" "$tap" "the ruleset after netdev down"
    assert_not_contains "$r1" "$(chain_of "$tap")" "the ruleset after netdev down"
}

# 3. Frames written into the TAP: the VM's own MAC passes the bridge, a forged one is dropped and
# counted; once the rules are gone (negative control) the forged frame passes.
test_spoofed_frames_are_dropped()
{
    local root tap mac got
    new_ns 3
    new_root root
    add_bridge br0
    nsx ip link add vport type veth peer name vpeer || fail "veth"
    nsx ip link set vport master br0 || fail "vport master br0"
    nsx ip link set vport up || fail "vport up"
    nsx ip link set vpeer up || fail "vpeer up"
    mkvm_net "$root" n3 br0
    tap=$(tap_of "$root" n3) || exit 1
    mac=$(mac_of "$root" n3) || exit 1
    persistent_tap "$tap"
    expect_exit 0 yvn "$root" netdev --name n3 --ifname "$tap" up

    run_cmd nsx "$PY" -c "$FRAMES_PY" "$tap" vpeer "$FORGED_MAC" forged-1 "$mac" own-mac \
        "$FORGED_MAC" forged-2
    [ "$RC" = 0 ] || fail "the frame script failed"
    assert_eq "own-mac" "$OUT" "frames that crossed the bridge"
    assert_fw "$tap" "$mac" spoofdrop=1 packets=2

    # negative control: the same TAP on the same bridge without YAVE's rules
    expect_exit 0 yvn "$root" netdev --name n3 --ifname "$tap" down
    assert_fw "$tap" "$mac" chain=0 elem=0
    nsx ip link set "$tap" master br0 up || fail "manual attach"
    run_cmd nsx "$PY" -c "$FRAMES_PY" "$tap" vpeer "$FORGED_MAC" forged-3 "$mac" own-mac-2
    [ "$RC" = 0 ] || fail "the frame script failed"
    assert_eq "forged-3 own-mac-2" "$OUT" "without the rules the capture sees forged frames"
}

# 4. Hostile or over-long interface names: usage error, nothing changed, nothing echoed.
test_hostile_ifname_refused()
{
    local root tap before hostile='x";flush ruleset;#' long=abcdefghijklmnop dir
    new_ns 4
    new_root root
    add_bridge br0
    mkvm_net "$root" n4 br0
    tap=$(tap_of "$root" n4) || exit 1
    persistent_tap "$tap"
    expect_exit 0 yvn "$root" netdev --name n4 --ifname "$tap" up
    before=$(ruleset) || exit 1
    assert_contains "$before" "$(chain_of "$tap")" "a ruleset to protect"

    for dir in up down; do
        expect_exit 2 yvn "$root" netdev --name n4 --ifname "$hostile" "$dir"
        assert_err_line netdev "interface name"
        assert_not_contains "$ERR" "flush" "stderr echoes the hostile name"
        assert_not_contains "$ERR" '";' "stderr echoes the hostile name"
        assert_eq "$before" "$(ruleset)" "the ruleset after a hostile ifname ($dir)"

        expect_exit 2 yvn "$root" --json netdev --name n4 --ifname "$hostile" "$dir"
        assert_json_error USAGE
        assert_not_contains "$OUT" "flush" "the JSON error echoes the hostile name"

        expect_exit 2 yvn "$root" netdev --name n4 --ifname "$long" "$dir"
        assert_err_line netdev "interface name"
        assert_eq "$before" "$(ruleset)" "the ruleset after a 16-character ifname ($dir)"
    done
    assert_eq "master=br0 up=1" "$(link_info "$tap")" "the attached TAP is untouched"
}

# 4b. libnftables is loaded on first use (core/firewall.c), not linked: where it cannot be loaded,
# `netdev up` says so in one line and installs no rule, and a command that needs no rule (status)
# still works. The library is hidden by a bind mount in a mount namespace of the test's own.
test_missing_libnftables_is_named()
{
    local root tap lib
    lib=$(ldconfig -p | awk '$1 == "libnftables.so.1" { print $NF; exit }')
    [ -n "$lib" ] || fail "libnftables.so.1 is not installed"
    new_ns 4b
    new_root root
    add_bridge br0
    mkvm_net "$root" n4b br0
    tap=$(tap_of "$root" n4b) || exit 1
    persistent_tap "$tap"
    expect_exit 1 nsx unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh \
        "$lib" "$YAVE_TEST_BIN" --batch --root "$root" netdev --name n4b --ifname "$tap" up
    assert_err_line netdev "nftables: cannot load libnftables.so.1"
    assert_not_contains "$(ruleset)" "$(chain_of "$tap")" "the ruleset after a failed netdev up"
    expect_exit 0 nsx unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh \
        "$lib" "$YAVE_TEST_BIN" --batch --root "$root" status --name n4b
}

# 5. A bridge that does not exist: run fails, names it and where it was configured, leaves nothing.
test_missing_bridge_refuses_to_start()
{
    local root tap
    new_ns 5
    new_root root
    mkvm_net "$root" n5 nobr
    tap=$(tap_of "$root" n5) || exit 1
    expect_exit 1 yvn "$root" run --name n5
    assert_err_line run "nobr"
    assert_contains "$ERR" "networks.net0.device.master of VM 'n5'" "where nobr was configured"
    assert_no_file "$root/run/n5.pid" "pidfile of a VM that must not have started"
    assert_eq "" "$(qemus_of "$root")" "QEMU of a VM that must not have started"
    assert_eq "" "$(ruleset)" "the ruleset after a refused start"
    assert_eq absent "$(link_info "$tap")" "TAP of a refused start"

    # the same through network.master of config.yaml
    mkvm_net "$root" n5b
    printf 'network:\n  master: nobr2\n' >>"$root/config.yaml"
    expect_exit 1 yvn "$root" run --name n5b
    assert_err_line run "nobr2"
    assert_contains "$ERR" "network.master in config.yaml" "where nobr2 was configured"
    assert_no_file "$root/run/n5b.pid" "pidfile of a VM that must not have started"
    assert_eq "" "$(qemus_of "$root")" "QEMU of a VM that must not have started"
    assert_eq "" "$(ruleset)" "the ruleset after a refused start"
}

# 6. netdevup refuses bad input before calling anything, and attaches like `netdev up`.
test_netdevup_script()
{
    local root tmp tap mac up down stub env
    new_ns 6
    new_root root
    mktmp_into tmp
    add_bridge br0
    mkvm_net "$root" n6 br0
    tap=$(tap_of "$root" n6) || exit 1
    mac=$(mac_of "$root" n6) || exit 1
    up=$(netdev_script netdevup) || exit 1
    down=$(netdev_script netdevdown) || exit 1
    stub=$tmp/stub
    printf '#!/bin/sh\nprintf "%%s\\n" "$@" >>%q\n' "$tmp/called" >"$stub"
    chmod +x "$stub"
    env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "ASAN_OPTIONS=$ASAN_OPTIONS" YAVE_ROOT="$root")

    # the stub records a call (so its absence below means something)
    expect_exit 0 nsx "${env[@]}" YAVE_VM_NAME=n6 YAVE_BIN="$stub" "$up" "$tap"
    assert_eq "--batch --root $root netdev --name n6 --ifname $tap up" \
        "$(tr '\n' ' ' <"$tmp/called" | sed 's/ $//')" "what netdevup runs"
    rm -f "$tmp/called"

    run_cmd nsx "${env[@]}" YAVE_VM_NAME=n6 YAVE_BIN="$stub" "$up" 'bad;name'
    assert_ne 0 "$RC" "netdevup 'bad;name'"
    assert_contains "$ERR" "invalid interface name"
    assert_no_file "$tmp/called" "netdevup called yave-tui with a bad interface name"
    run_cmd nsx "${env[@]}" YAVE_VM_NAME=../x YAVE_BIN="$stub" "$up" tap0
    assert_ne 0 "$RC" "netdevup with YAVE_VM_NAME=../x"
    assert_contains "$ERR" "YAVE_VM_NAME"
    assert_no_file "$tmp/called" "netdevup called yave-tui with YAVE_VM_NAME=../x"
    run_cmd nsx "${env[@]}" YAVE_VM_NAME=n6 YAVE_BIN=stub "$up" tap0
    assert_ne 0 "$RC" "netdevup with a relative YAVE_BIN"
    run_cmd nsx "${env[@]}" YAVE_VM_NAME=n6 YAVE_BIN="$stub" "$up" abcdefghijklmnop
    assert_ne 0 "$RC" "netdevup with a 16-character name"
    assert_no_file "$tmp/called" "netdevup called yave-tui with bad input"

    # the real thing
    persistent_tap "$tap"
    expect_exit 0 nsx "${env[@]}" YAVE_VM_NAME=n6 YAVE_BIN="$(realpath "$YAVE_TEST_BIN")" "$up" "$tap"
    assert_eq "master=br0 up=1" "$(link_info "$tap")" "TAP after netdevup"
    assert_fw "$tap" "$mac" chain=1 rules=1 spoofdrop=1 elem=1 dispatch=1
    expect_exit 0 nsx "${env[@]}" YAVE_VM_NAME=n6 YAVE_BIN="$(realpath "$YAVE_TEST_BIN")" "$down" "$tap"
    assert_eq "master=- up=0" "$(link_info "$tap")" "TAP after netdevdown"
    assert_fw "$tap" "$mac" chain=0 rules=0 elem=0
}

# 7. kill -9: the TAP goes with QEMU, the rules stay until the next yave-tui command cleans them.
test_killed_vm_rules_cleaned_by_next_command()
{
    local root tap mac pid
    new_ns 7
    new_root root
    add_bridge br0
    mkvm_net "$root" n7 br0
    tap=$(tap_of "$root" n7) || exit 1
    mac=$(mac_of "$root" n7) || exit 1
    expect_exit 0 yvn "$root" run --name n7
    pid=$(cat "$root/run/n7.pid") || fail "no pidfile"
    is_qemu "$pid" || fail "run/n7.pid names $pid, not a QEMU"
    assert_fw "$tap" "$mac" chain=1 elem=1

    kill -9 "$pid"
    for _ in $(seq 50); do
        pid_exited "$pid" && break
        sleep 0.1
    done
    pid_exited "$pid" || fail "QEMU $pid survived kill -9"
    wait_link_gone "$tap"
    assert_fw "$tap" "$mac" chain=1 elem=1 spoofdrop=1

    expect_exit 0 yvn "$root" --json status --name n7
    assert_eq crashed "$(jv 'd["state"]')" "state after kill -9"
    assert_fw "$tap" "$mac" chain=0 rules=0 elem=0
    assert_no_file "$root/run/n7.pid" "stale pidfile"
}

run_tests "$@"
