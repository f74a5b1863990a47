#!/usr/bin/env bash
# Helpers for the tests of port forwards (test-forward.sh, test-tui-forward.sh): free host ports,
# QEMU's human monitor over a VM's QMP socket, whether a forwarded port answers, the forwards of a
# VM's config. Sourced after lib.sh (or tui-lib.sh), which gives $PY, fail and mktmp_into.

# free_base VAR: sets VAR to the first of 8 consecutive free TCP ports on 127.0.0.1 (random, so
# tests running in parallel with other programs do not meet).
free_base()
{
    local __fb_p
    __fb_p=$("$PY" -c '
import random, socket
for _ in range(200):
    b = random.randrange(20000, 60000)
    try:
        for p in range(b, b + 8):
            for t in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, t)
                s.bind(("127.0.0.1", p))
                s.close()
    except OSError:
        continue
    print(b)
    break') || fail "no free ports"
    printf -v "$1" '%s' "$__fb_p"
}

# new_fw_root VAR BASE [MASTER]: a fresh root whose network.ssh_port_base is BASE (and whose
# network.master is MASTER when given).
new_fw_root()
{
    new_root "$1"
    printf 'network:\n  ssh_port_base: %s\n' "$2" >>"${!1}/config.yaml"
    [ -z "${3:-}" ] || printf '  master: %s\n' "$3" >>"${!1}/config.yaml"
}

# mkvm ROOT NAME ARGS...: a tiny VM (no UEFI, 64 MiB disk and memory).
mkvm()
{
    local r=$1 n=$2
    shift 2
    expect_exit 0 yv "$r" create --no-ovmf -c 64 -m 64 --vnc-password Abcdefgh --name "$n" "$@"
}

# hmp ROOT VM COMMAND: QEMU's human monitor over the VM's QMP socket; prints its output.
hmp()
{
    local args
    args=$("$PY" -c 'import json, sys; print(json.dumps({"command-line": sys.argv[1]}))' "$3")
    qmp "$1" "$2" human-monitor-command "$args" | "$PY" -c 'import json, sys; print(json.load(sys.stdin))'
}

# host_forwards ROOT VM: the HOST_FORWARD lines of QEMU's `info usernet` (its rules).
host_forwards()
{
    hmp "$1" "$2" 'info usernet' | grep HOST_FORWARD
}

# connects PORT: whether a TCP connection to 127.0.0.1:PORT is accepted.
connects()
{
    "$PY" -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
except OSError:
    sys.exit(1)' "$1"
}

# fw_hosts ROOT VM: the host ports of the VM's forwards in its config.yaml, one a line.
fw_hosts()
{
    awk '$1 == "host:" { print $2 }' "$1/$2.vm/config.yaml"
}

