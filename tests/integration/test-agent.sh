#!/usr/bin/env bash
# The guest agent and addresses (spec §11) against a real QEMU (TCG, 64 MiB, an empty disk: the
# guest sits in SeaBIOS, ignores ACPI and runs no agent, so QEMU accepts a connection to
# run/<vm>.qga and nothing answers): status stays bounded and leaves the agent's socket free, a
# graceful shutdown goes on past the agent's step to quit, a TAP VM's address comes from the
# host's neighbour table (a static entry in a network namespace; also in the TUI), a user VM's from
# its SSH forward; and a stand-in agent on the socket is never asked while the guest does not hold
# the agent's port open (QMP query-chardev): no agent in the guest costs status and shutdown
# nothing. The real agent (addresses, `by agent`) is tested with the real guest (test-guest.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"
. "$(dirname "$0")/tui-lib.sh"

# mkvm ROOT NAME [OPTIONS…]: a tiny VM (no UEFI, 64 MiB disk and memory), no network unless the
# options give one.
mkvm()
{
    local r=$1 n=$2
    shift 2
    [ $# -gt 0 ] || set -- --no-network
    expect_exit 0 yv "$r" create --no-ovmf -c 64 -m 64 --name "$n" "$@"
}

# qga_clients ROOT VM: how many sockets bear run/VM.qga's path besides QEMU's listener (the
# connections QEMU accepted on it; a client's own end has no path).
qga_clients()
{
    local n
    n=$(grep -cF -- " $1/run/$2.qga" /proc/net/unix)
    echo $((n - 1))
}

# fake_agent ROOT VM: a stand-in for qemu-guest-agent in place of QEMU's run/VM.qga (moved aside):
# it speaks the agent's protocol over the socket as QEMU would relay it — answers
# guest-sync-delimited after a 0xFF, guest-network-get-interfaces with 10.0.2.15 (and loopback,
# which must not show), and on guest-shutdown powers the "guest" off by QMP `quit` on run/VM.sock,
# without an answer, as the real agent does. One client at a time, each until it leaves. (The real
# agent in a real guest: test-guest.sh.)
fake_agent()
{
    local t
    mktmp_into t
    mv "$1/run/$2.qga" "$1/run/$2.qga.real" || fail "no run/$2.qga"
    "$PY" -c '
import json, os, socket, sys
path, qmp, ready = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
open(ready, "w").close()
IFACES = [{"name": "lo", "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "127.0.0.1"}]},
          {"name": "eth0", "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "10.0.2.15"}]}]
def quit_qemu():
    q = socket.socket(socket.AF_UNIX)
    q.connect(qmp)
    f = q.makefile("rwb")
    f.readline()
    for cmd in ("qmp_capabilities", "quit"):
        f.write(json.dumps({"execute": cmd}).encode() + b"\n")
        f.flush()
        f.readline()
while True:
    c, _ = srv.accept()
    print("accepted", flush=True)
    f = c.makefile("rwb")
    for line in f:
        req = json.loads(line.strip(b"\xff"))
        ex = req.get("execute")
        if ex == "guest-sync-delimited":
            out = b"\xff" + json.dumps({"return": req["arguments"]["id"]}).encode()
        elif ex == "guest-network-get-interfaces":
            out = json.dumps({"return": IFACES, "id": req.get("id")}).encode()
        elif ex == "guest-shutdown":
            quit_qemu()
            continue
        else:
            out = json.dumps({"error": {"class": "CommandNotFound", "desc": ex}}).encode()
        f.write(out + b"\n")
        f.flush()
    c.close()' "$1/run/$2.qga" "$1/run/$2.sock" "$t/ready" </dev/null >"$t/log" 2>&1 &
    at_exit kill "$!"
    for _ in $(seq 100); do
        [ -e "$t/ready" ] && break
        sleep 0.02
    done
    [ -e "$t/ready" ] || fail "the fake agent did not start: $(cat "$t/log")"
    AGENT_LOG="$t/log"
}

# 1. No agent: status --json of a running VM answers within the sync deadline, with no agent
#    address, and holds nothing afterwards: a second status gets the same answer (not "busy").
test_status_without_agent_is_bounded()
{
    local root t0 ms i
    new_root root
    mkvm "$root" a1
    expect_exit 0 yv "$root" run --name a1
    for i in 1 2; do
        t0=$(now_ms)
        expect_exit 0 yv "$root" --json status --name a1
        ms=$(($(now_ms) - t0))
        assert_eq running "$(jv 'd["state"]')" "state"
        assert_eq '[]' "$(jv 'd["addresses"]')" "addresses of a VM with no agent and no network"
        [ "$ms" -lt 8000 ] || fail "status #$i took ${ms} ms: the agent's silence is not bounded"
        for _ in $(seq 30); do
            [ "$(qga_clients "$root" a1)" = 0 ] && break
            sleep 0.1
        done
        assert_eq 0 "$(qga_clients "$root" a1)" "connections to a1.qga after status #$i"
    done
    # the listing asks every agent at once, and says the same
    expect_exit 0 yv "$root" --json list
    assert_eq '[]' "$(jv 'd[0]["addresses"]')" "addresses in list --json"
    expect_exit 0 yv "$root" status --name a1
    assert_not_contains "$OUT" "addresses:" "text status of a VM with no address"
}

# 2. A guest that ignores ACPI and has no agent: the graceful ladder asks the agent, hears nothing
#    within the sync deadline and goes on to quit at once (not the agent's 30 s wait).
test_graceful_shutdown_without_agent_ends_by_quit()
{
    local root t0 ms pid
    new_root root
    mkvm "$root" s1
    expect_exit 0 yv "$root" run --name s1
    pid=$(cat "$root/run/s1.pid")
    t0=$(now_ms)
    expect_exit 0 yv "$root" --json shutdown --name s1 --timeout 1
    ms=$(($(now_ms) - t0))
    assert_eq quit "$(jv 'd["stopped_by"]')" "stopped_by"
    [ "$ms" -lt 15000 ] || fail "shutdown took ${ms} ms: the agent's step waited for no agent"
    pid_exited "$pid" || fail "QEMU $pid still alive"
    assert_no_file "$root/run/s1.qga" "the agent's socket after shutdown"
}

# 3. A TAP VM in a network namespace with a bridge and a static neighbour entry for its MAC: its
#    address comes from the neighbour table (the agent gave none).
test_tap_vm_address_from_neighbour_table()
{
    local root mac
    new_ns agent1
    new_root root
    add_bridge br0
    expect_exit 0 yvn "$root" create --no-ovmf -c 64 -m 64 --master br0 --name n1
    expect_exit 0 yvn "$root" --json status --name n1
    mac=$(jv 'd["networks"][0]["mac"]')
    expect_exit 0 yvn "$root" run --name n1
    nsx ip neigh add 192.0.2.10 lladdr "$mac" dev br0 nud permanent || fail "ip neigh add"
    nsx ip neigh add 192.0.2.11 lladdr 52:54:00:de:ad:02 dev br0 nud permanent ||
        fail "ip neigh add (another MAC)"
    expect_exit 0 yvn "$root" --json status --name n1
    assert_eq '[{"ip": "192.0.2.10", "source": "neighbour"}]' "$(jv 'd["addresses"]')" \
        "addresses of the TAP VM"
    expect_exit 0 yvn "$root" status --name n1
    assert_contains "$OUT" "n1: addresses: 192.0.2.10 (neighbour)" "text status"
    # ssh goes to that address (no forward on a TAP VM)
    expect_exit 0 yvn "$root" ssh --name n1 --print
    assert_match '^[^ ]*ssh -p 22 .* -l root -- 192\.0\.2\.10$' "$OUT" "ssh's argv to a TAP VM"
    expect_exit 0 yvn "$root" shutdown --name n1 --force
}

# 4. A user-network VM: its SSH forward comes first (127.0.0.1 and the host port of the forward
#    to guest port 22). Needs `create --network` (spec §10): skipped on a tree without it.
test_user_vm_address_is_its_forward()
{
    local root port
    new_root root
    if ! yv "$root" create --help 2>&1 | grep -q -- '--network'; then
        echo "    (skipped: create --network is not known here)" >&2
        return 0
    fi
    port=$((20000 + RANDOM % 20000))
    mkvm "$root" u1 --network user --forward "tcp:$port:22"
    expect_exit 0 yv "$root" run --name u1
    expect_exit 0 yv "$root" --json status --name u1
    # (a default SSH forward may be there too: the first address is a forward to guest port 22)
    assert_eq forward "$(jv 'd["addresses"][0]["source"]')" "the first address's source"
    assert_eq 127.0.0.1 "$(jv 'd["addresses"][0]["ip"]')" "the forward's address"
    assert_eq true "$(jv 'any(a["port"] == '"$port"' for a in d["addresses"] if a["source"] == "forward")')" \
        "the forward on $port among the addresses"
    assert_eq false "$(jv 'any(a["source"] == "agent" for a in d["addresses"])')" "no agent address"
    expect_exit 0 yv "$root" status --name u1
    assert_contains "$OUT" "127.0.0.1:$port (forward)" "text status"
    expect_exit 0 yv "$root" shutdown --name u1 --force
}

# 5. The TUI (in the namespace: its tmux server is started there) shows the TAP VM's first address
#    in the ADDRESS column and every address in its details.
test_tui_shows_the_address()
{
    local root mac
    new_ns agent2
    new_root root
    add_bridge br0
    expect_exit 0 yvn "$root" create --no-ovmf -c 64 -m 64 --master br0 --name t1
    expect_exit 0 yvn "$root" --json status --name t1
    mac=$(jv 'd["networks"][0]["mac"]')
    expect_exit 0 yvn "$root" run --name t1
    # after the run: the TAP joining the bridge flushes the bridge's neighbour entries
    nsx ip neigh add 192.0.2.10 lladdr "$mac" dev br0 nud permanent || fail "ip neigh add"
    tm()
    {
        LC_ALL=C.UTF-8 ip netns exec "$NS" tmux -L "$TM_SOCK" -u -f /dev/null "$@"
    }
    TUI_W=120 tui_start "$root"
    wait_screen '^NAME +STATE +VCPU +MEM +DISK +VNC +NETWORK +ADDRESS '
    wait_screen '^t1 +running .* 192\.0\.2\.10 '
    tm send-keys -t "$S" Enter
    wait_screen '^address 192\.0\.2\.10 \(neighbour\)'
    tm send-keys -t "$S" Escape
    wait_screen '^NAME '
    tm send-keys -t "$S" q
    expect_exit 0 yvn "$root" shutdown --name t1 --force
}

# 6. A stand-in agent listening on run/VM.qga while the guest (SeaBIOS) does not hold the agent's
#    virtio port open: status and a graceful shutdown never connect to it (QEMU says the port is
#    closed: query-chardev's frontend-open), so a guest without an agent costs no sync deadline.
#    (An agent that answers, in a real guest: test-guest.sh.)
test_closed_agent_port_is_not_asked()
{
    local root pid
    new_root root
    mkvm "$root" g1
    expect_exit 0 yv "$root" run --name g1
    pid=$(cat "$root/run/g1.pid")
    fake_agent "$root" g1
    expect_exit 0 yv "$root" --json status --name g1
    assert_eq running "$(jv 'd["state"]')" "state"
    assert_eq '[]' "$(jv 'd["addresses"]')" "addresses"
    expect_exit 0 yv "$root" --json shutdown --name g1 --timeout 1
    assert_eq quit "$(jv 'd["stopped_by"]')" "stopped_by"
    pid_exited "$pid" || fail "QEMU $pid still alive"
    assert_eq "" "$(grep -c accepted "$AGENT_LOG" | grep -v '^0$')" "connections to the stand-in agent"
}

run_tests "$@"
