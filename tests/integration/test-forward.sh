#!/usr/bin/env bash
# Integration tests of `type: user` networks and their port forwards (spec §10): the argv, create's
# default network and SSH port, the taken-port check of run, forward add|remove on a running QEMU
# (slirp accepts on the new port; `info usernet` lists it), duplicates across VMs, bad specs.
# Real QEMU under TCG, no guest needed: slirp accepts a forwarded connection by itself.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/forward-lib.sh
. "$(dirname "$0")/forward-lib.sh"

# ---- tests ----

test_dry_run_argv_and_status()
{
    local root p mac
    free_base p
    new_fw_root root "$p"
    mkvm "$root" u1 --forward "$p:22" --forward "udp:0.0.0.0:$((p + 1)):53"
    assert_contains "$OUT" "forward: tcp 127.0.0.1:$p -> guest port 22"
    assert_contains "$OUT" "forward: udp 0.0.0.0:$((p + 1)) -> guest port 53"
    mac=$(vm_config_value "$root" u1 mac)
    expect_exit 0 yv "$root" run --name u1 --dry-run
    assert_contains "$OUT" "$(printf -- '-netdev\nuser,id=net0,hostfwd=tcp:127.0.0.1:%s-:22,hostfwd=udp:0.0.0.0:%s-:53\n-device\nvirtio-net-pci,netdev=net0,mac=%s' "$p" "$((p + 1))" "$mac")"
    assert_not_contains "$OUT" "netdevup" "a user network needs no netdevup"
    expect_exit 0 yv "$root" --json status --name u1
    assert_eq "[{\"id\": \"net0\", \"type\": \"user\", \"mac\": \"$mac\", \"forwards\": [{\"proto\": \"tcp\", \"address\": \"127.0.0.1\", \"host\": $p, \"guest\": 22}, {\"proto\": \"udp\", \"address\": \"0.0.0.0\", \"host\": $((p + 1)), \"guest\": 53}]}]" \
        "$(jv 'd["networks"]')"
    expect_exit 0 yv "$root" status
    assert_cell_match u1 NETWORK "^user $p->22 0\\.0\\.0\\.0:$((p + 1))->53/udp\$"
}

test_default_network_and_ssh_port()
{
    local root p alias
    free_base p
    new_fw_root root "$p"
    # another program listens on the base port; the next is another VM's: both are skipped
    listen_tcp 127.0.0.1 "$p"
    mkvm "$root" a1
    assert_contains "$(cat "$root/a1.vm/config.yaml")" "type: user"
    assert_eq "$((p + 1))" "$(fw_hosts "$root" a1)" "a1's SSH port (the base is listened on)"
    assert_eq 22 "$(vm_config_value "$root" a1 guest)"
    assert_contains "$OUT" "forward: tcp 127.0.0.1:$((p + 1)) -> guest port 22"
    mkvm "$root" a2
    assert_eq "$((p + 2))" "$(fw_hosts "$root" a2)" "a2's SSH port (a1 has the one before)"
    # --forward replaces the SSH forward; --network none / --no-network: no network
    mkvm "$root" a3 --forward "$((p + 3)):80"
    assert_eq "$((p + 3))" "$(fw_hosts "$root" a3)"
    mkvm "$root" a4 --network none
    assert_not_contains "$(cat "$root/a4.vm/config.yaml")" "networks:"
    # a user VM made with the defaults starts without root or bridge, its SSH port answers
    expect_exit 0 yv "$root" run --name a2
    connects "$((p + 2))" || fail "slirp does not accept on a2's SSH port $((p + 2))"
    # ssh goes through that forward (spec §11): the loopback, the forward's port, root by default
    expect_exit 0 yv "$root" --json ssh --name a2
    assert_json_docs 1
    assert_eq "127.0.0.1 $((p + 2)) root" "$(jv '"%s %s %s" % (d["host"], d["port"], d["user"])')" \
        "where ssh --json reaches a2"
    alias=$(jv 'd["host_key_alias"]')
    assert_match '^yave-a2-[0-9a-f]{8}$' "$alias" "the HostKeyAlias of a2"
    assert_eq ssh "$(jv 'd["argv"][0].split("/")[-1]')" "the program ssh --json names"
    assert_eq "[\"-p\", \"$((p + 2))\", \"-o\", \"HostKeyAlias=$alias\", \"-l\", \"root\", \"--\", \"127.0.0.1\"]" \
        "$(jv 'd["argv"][1:]')" "the argv of ssh --json"
    expect_exit 0 yv "$root" --json ssh --name a2 --user alice -- hostname
    assert_eq "127.0.0.1 $((p + 2)) alice" "$(jv '"%s %s %s" % (d["host"], d["port"], d["user"])')" \
        "ssh --json --user alice"
    assert_eq '["-l", "alice", "--", "127.0.0.1", "hostname"]' "$(jv 'd["argv"][-5:]')" \
        "the argv of ssh --json --user alice -- hostname"
    expect_exit 0 yv "$root" shutdown --name a2 --force

    # with a bridge configured the default stays tap (no forwards); --network user still works
    new_fw_root root "$p" br0
    mkvm "$root" b1
    assert_contains "$(cat "$root/b1.vm/config.yaml")" "type: tap"
    assert_eq "" "$(fw_hosts "$root" b1)" "forwards of a tap VM"
    mkvm "$root" b2 --network user
    assert_eq "$((p + 1))" "$(fw_hosts "$root" b2)" "b2's SSH port"
    expect_exit 0 yv "$root" --json status --name b1
    assert_eq tap "$(jv 'd["networks"][0]["type"]')"
}

test_taken_port_refused_before_qemu_starts()
{
    local root p before
    free_base p
    new_fw_root root "$p"
    mkvm "$root" t1 --forward "$((p + 1)):22"
    expect_exit 0 yv "$root" run --name t1 --dry-run
    listen_tcp 127.0.0.1 "$((p + 1))"
    before=$(snapshot_root "$root")
    expect_exit 4 yv "$root" run --name t1
    assert_err_line run "cannot forward tcp port $((p + 1)) on 127.0.0.1 \\(networks.net0 of VM 't1'\\): the port is in use by python3 \\(pid [0-9]+\\)"
    assert_eq "" "$(qemus_of "$root")" "QEMU of a VM that must not have started"
    assert_eq "lock" "$(ls "$root/run")" "run/ after a refused start"
    assert_no_trace "$before" "$root"
    expect_exit 4 yv "$root" --json run --name t1
    assert_eq "VM_EXISTS" "$(jv 'd["error"]["code"]')" # with its "move" (test-newdisplay.sh)
    # a UDP forward on a held UDP port too
    mkvm "$root" t2 --forward "udp:$((p + 2)):53"
    "$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)' "$((p + 2))" &
    at_exit kill $!
    sleep 0.5
    expect_exit 4 yv "$root" run --name t2
    assert_err_line run "cannot forward udp port $((p + 2)) on 127.0.0.1"
    assert_eq "" "$(qemus_of "$root")" "QEMU of a VM that must not have started"
}

test_forward_add_remove_on_a_running_vm()
{
    local root p
    free_base p
    new_fw_root root "$p"
    mkvm "$root" r1 --forward "$p:22"
    expect_exit 0 yv "$root" run --name r1
    connects "$((p + 3))" && fail "port $((p + 3)) answers before it is forwarded"
    expect_exit 0 yv "$root" forward add --name r1 "$((p + 3)):80"
    assert_eq "r1: forward tcp 127.0.0.1:$((p + 3)) -> guest port 80 added (also in the running QEMU)" "$OUT"
    connects "$((p + 3))" || fail "slirp does not accept on the added port $((p + 3))"
    assert_contains "$(host_forwards "$root" r1)" " $((p + 3)) " "info usernet after add"
    assert_eq "$(printf '%s\n' "$p" "$((p + 3))")" "$(fw_hosts "$root" r1)" "config after add"
    expect_exit 0 yv "$root" --json forward add --name r1 "udp:0.0.0.0:$((p + 4)):53"
    assert_eq '{"name": "r1", "action": "added", "forward": {"proto": "udp", "address": "0.0.0.0", "host": '"$((p + 4))"', "guest": 53}, "live": true}' "$(jv 'd')"
    expect_exit 0 yv "$root" forward remove --name r1 "$((p + 3))"
    assert_eq "r1: forward tcp 127.0.0.1:$((p + 3)) -> guest port 80 removed (also in the running QEMU)" "$OUT"
    connects "$((p + 3))" && fail "port $((p + 3)) still answers after remove"
    assert_not_contains "$(host_forwards "$root" r1)" " $((p + 3)) " "info usernet after remove"
    expect_exit 0 yv "$root" --json forward remove --name r1 "udp:$((p + 4)):53"
    assert_eq removed "$(jv 'd["action"]')"
    assert_eq "$p" "$(fw_hosts "$root" r1)" "config after remove"
    # a port another program holds is refused, QEMU and the config unchanged
    listen_tcp 127.0.0.1 "$((p + 5))"
    expect_exit 4 yv "$root" forward add --name r1 "$((p + 5)):81"
    assert_err_line forward "the port is in use by python3"
    assert_eq "$p" "$(fw_hosts "$root" r1)" "config after a refused add"
    assert_not_contains "$(host_forwards "$root" r1)" " $((p + 5)) "
    expect_exit 0 yv "$root" shutdown --name r1 --force
    # a stopped VM: only the config changes
    expect_exit 0 yv "$root" --json forward add --name r1 "$((p + 6)):22"
    assert_eq false "$(jv 'd["live"]')"
    assert_eq "$(printf '%s\n' "$p" "$((p + 6))")" "$(fw_hosts "$root" r1)"
}

# All-or-nothing: a QMP exchange that fails leaves the config as it was; a config write that fails
# after QEMU changed undoes QEMU's change.
test_forward_add_is_all_or_nothing()
{
    local root p t shim=$REPO_DIR/build/fault/faultshim.so before
    make -s -C "$REPO_DIR" yave-tui build/fault/faultshim.so >/dev/null 2>&1 || fail "cannot build"
    mktmp_into t
    cp "$REPO_DIR/yave-tui" "$t/yave-tui" || fail "cp"
    free_base p
    new_fw_root root "$p"
    mkvm "$root" a1 --forward "$p:22"
    expect_exit 0 yv "$root" run --name a1
    # another client holds the QMP socket: QEMU does not greet us, nothing changes
    "$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(4096); time.sleep(30)' \
        "$root/run/a1.sock" &
    at_exit kill $!
    sleep 0.5
    before=$(snapshot_root "$root")
    expect_exit 6 yv "$root" forward add --name a1 "$((p + 1)):80"
    assert_err_line forward "cannot change the forwards of running VM 'a1'"
    kill %% 2>/dev/null
    wait 2>/dev/null
    assert_no_trace "$before" "$root"
    assert_not_contains "$(host_forwards "$root" a1)" " $((p + 1)) " "QEMU after a refused add"
    # the config's rename fails after hostfwd_add: QEMU's forward is removed again
    expect_exit 1 env YAVE_FAULT=rename:1 LD_PRELOAD="$shim" "$t/yave-tui" --batch --root "$root" \
        forward add --name a1 "$((p + 1)):80"
    assert_err_line forward "config.yaml"
    assert_eq "$p" "$(fw_hosts "$root" a1)" "the config after a failed write"
    assert_not_contains "$(host_forwards "$root" a1)" " $((p + 1)) " "QEMU after the undo"
    connects "$((p + 1))" && fail "port $((p + 1)) answers after the undo"
    expect_exit 0 yv "$root" shutdown --name a1 --force
}

test_duplicates_across_vms_are_refused()
{
    local root p before
    free_base p
    new_fw_root root "$p"
    mkvm "$root" d1 --forward "$p:22"
    mkvm "$root" d2 --forward "$((p + 1)):22"
    before=$(snapshot_root "$root")
    expect_exit 4 yv "$root" create --no-ovmf -c 64 --name d3 --forward "$p:80"
    assert_err_line create "tcp port $p is already forwarded by VM 'd1'"
    expect_exit 4 yv "$root" --json forward add --name d2 "tcp:0.0.0.0:$p:80"
    assert_json_error VM_EXISTS
    expect_exit 4 yv "$root" forward add --name d2 "$((p + 1)):80"
    assert_err_line forward "VM 'd2' already forwards tcp port $((p + 1))"
    assert_no_trace "$before" "$root"
    # the same number over UDP is another port
    expect_exit 0 yv "$root" forward add --name d2 "udp:$p:53"
}

test_bad_specs_change_nothing()
{
    local root p before spec
    free_base p
    new_fw_root root "$p"
    mkvm "$root" s1 --forward "$p:22"
    mkvm "$root" s2 --network none
    before=$(snapshot_root "$root")
    for spec in 22 0:22 65536:22 "$p:022" "sctp:1.2.3.4:$p:22" "localhost:$p:22" "127.1:$p:22" \
        "tcp:1.2.3.4:5:6:7" ""; do
        expect_exit 2 yv "$root" create --name s3 --forward "$spec"
        assert_err_line create "invalid forward"
        expect_exit 2 yv "$root" --json forward add --name s1 "$spec"
        assert_json_error USAGE
    done
    expect_exit 2 yv "$root" create --name s3 --forward "$((p + 1)):22" --forward "$((p + 1)):23"
    assert_err_line create "tcp port $((p + 1)) is given twice"
    expect_exit 2 yv "$root" create --name s3 --network tap --forward "$((p + 1)):22"
    assert_err_line create "--forward needs a user network"
    expect_exit 2 yv "$root" create --name s3 --network bridge
    assert_err_line create "invalid --network 'bridge'"
    expect_exit 2 yv "$root" create --name s3 --no-network --network user
    expect_exit 2 yv "$root" forward add --name s2 "$((p + 1)):22"
    assert_err_line forward "VM 's2' has no network of type user"
    expect_exit 2 yv "$root" forward remove --name s1 "$((p + 1))"
    assert_err_line forward "VM 's1' has no forward on tcp port $((p + 1))"
    expect_exit 2 yv "$root" forward sideways --name s1 "$p:22"
    expect_exit 3 yv "$root" forward add --name nope "$((p + 1)):22"
    assert_no_trace "$before" "$root"
    # a hand-written config with a duplicate or a bad port is invalid, with file:line:col
    printf '    - {proto: tcp, host: %s, guest: 23}\n' "$p" >"$root/extra"
    sed -i "/^    forwards:/r $root/extra" "$root/s1.vm/config.yaml"
    expect_exit 0 yv "$root" status
    assert_contains "$OUT" "s1: invalid: $root/s1.vm/config.yaml:"
    assert_contains "$OUT" "tcp host port $p is forwarded twice"
}

run_tests "$@"
