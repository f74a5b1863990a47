#!/usr/bin/env bash
# The real-guest scenario of issue 17 (spec §10, §11, §13 --ssh-key): the Debian cloud-init guest of
# tests/fixtures/make-cloud-guest.sh (openssh-server, qemu-guest-agent) created from a preset with
# `--network user` (the default SSH forward) and a key made here with ssh-keygen; then, on ONE
# installed VM (an install is ~1-2 min and a boot ~1 min under TCG): `ssh … -- hostname`,
# `status --json` addresses from the agent, `watch --json` showing the agent's address go and come
# back as the agent stops and starts in the guest, `console` in piped mode logging in as root, a graceful
# `shutdown` of a guest that ignores ACPI ending `by agent`; then a linked clone of the same disk
# on a TAP in a network namespace with dnsmasq (Debian dnsmasq-base) and no agent shows its DHCP
# address from the neighbour table. Needs root (namespace, bridge) and the guest image (root to
# build once, cached). ssh runs with options of its own (-F /dev/null, a temporary known_hosts,
# the test's key): ssh reads ~/.ssh from the passwd home, not $HOME, so `ssh --print` gives the
# argv and the test adds those options in front of `--`.
# run-all: slow
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"
. "$(dirname "$0")/net-lib.sh"
# shellcheck source=tests/integration/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

ROOT_PW='Guest-Root-17'
HOST=guest17
WAIT_BOOT=${YAVE_GUEST_WAIT:-420} # seconds for a boot to a working sshd / agent (TCG)

# kill_pidfile FILE: ends the process whose pid FILE holds (when it was written).
kill_pidfile()
{
    local p
    p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill "$p"
}

info()
{
    printf '      %s\n' "$*"
}

# wait_address ROOT VM SOURCE [NSX]: until status --json lists an address from SOURCE; sets ADDR.
wait_address()
{
    local deadline=$((SECONDS + WAIT_BOOT))
    ADDR=
    while [ $SECONDS -lt $deadline ]; do
        run_cmd ${4:+nsx} "$YAVE_TEST_BIN" --batch --root "$1" --json status --name "$2"
        ADDR=$(printf '%s' "$OUT" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(next((a["ip"] for a in d.get("addresses") or [] if a.get("source") == sys.argv[1]), ""))' \
            "$3" 2>/dev/null)
        [ -n "$ADDR" ] && return 0
        sleep 3
    done
    fail "no address from $3 for $2 within ${WAIT_BOOT}s: $OUT"
}

has_verb()
{
    "$YAVE_TEST_BIN" --batch "$1" --help 2>/dev/null | grep -q -- "$2"
}

# 0. Cheap, no real guest: --ssh-key files are checked before anything is written, and their keys
# reach user-data as a YAML list of strings (a genisoimage wrapper keeps a copy of what it packs;
# the one-sector guest of poweroff_preset finishes its first boot at once); the ssh verb's refusals.
test_0_ssh_keys_into_user_data_and_refusals()
{
    local root t before i many=()
    new_root root
    mktmp_into t
    poweroff_preset "$root" fake
    printf '%s\n' "$ROOT_PW" >"$t/rootpw"
    ssh-keygen -q -t ed25519 -N '' -C "one" -f "$t/k1" || fail "ssh-keygen"
    ssh-keygen -q -t ecdsa -N '' -C "" -f "$t/k2" || fail "ssh-keygen"
    { printf '# two keys, a blank line and a comment that looks like YAML\n\n'
      printf '%s\r\n' "$(cat "$t/k2.pub")"
      printf '%s a: b - [x] #c\n' "$(cut -d' ' -f1,2 "$t/k1.pub")"; } >"$t/two.pub"
    # (the install's seed, seed/seed.iso: not the one the VM keeps after, without the keys)
    printf '#!/bin/sh\ncase "$*" in *"/seed.iso "*)\n  for a; do case $a in */user-data) cp "$a" %q;; esac; done;;\nesac\nexec %q "$@"\n' \
        "$t/user-data" "$(command -v genisoimage)" >"$t/genisoimage"
    chmod 755 "$t/genisoimage"
    printf 'cli:\n  genisoimage: %s\n' "$t/genisoimage" >>"$root/config.yaml"

    before=$(snapshot_root "$root")
    # the type says ed25519, the data is an RSA key's
    printf 'ssh-ed25519 %s x\n' "$(ssh-keygen -q -t rsa -b 1024 -N '' -f "$t/r" </dev/null &&
        cut -d' ' -f2 "$t/r.pub")" >"$t/bad.pub"
    for bad in "$t/bad.pub:line 1: the key data" "$t/k1:line 1: not an SSH public key" \
        "$t/nosuch.pub:nosuch.pub" "$t:not a regular file"; do
        expect_exit 2 yv "$root" create --name fp --preset fake --root-password-file "$t/rootpw" \
            --no-network --no-ovmf -m 64 -c 32 --ssh-key "$t/k1.pub" --ssh-key "${bad%%:*}"
        assert_contains "$ERR" "${bad#*:}" "the refusal of ${bad%%:*}"
    done
    expect_exit 2 yv "$root" create --name fp --ssh-key "$t/k1.pub" --no-network
    assert_contains "$ERR" "--ssh-key only applies with --preset" "keys without a preset"
    for i in $(seq 17); do many+=(--ssh-key "$t/k1.pub"); done
    expect_exit 2 yv "$root" create --name fp --preset fake --root-password-file "$t/rootpw" \
        --no-network "${many[@]}"
    assert_no_trace "$before" "$root"

    expect_exit 0 yv "$root" create --name fp --preset fake --root-password-file "$t/rootpw" \
        --no-network --no-ovmf -m 64 -c 32 --ssh-key "$t/k1.pub" --ssh-key "$t/two.pub"
    assert_file "$t/user-data" "the user-data genisoimage packed"
    local r
    r=$("$PY" - "$t/user-data" "$t/k1.pub" "$t/k2.pub" <<'PY' 2>&1
import sys, yaml
text = open(sys.argv[1]).read()
assert text.startswith("#cloud-config\n"), "no #cloud-config header"
d = yaml.safe_load(text)
k1, k2 = (open(f).read().strip() for f in sys.argv[2:4])
want = [k1, k2, " ".join(k1.split()[:2]) + " a: b - [x] #c"]
assert d.get("ssh_authorized_keys") == want, "keys: %r" % (d.get("ssh_authorized_keys"),)
assert d.get("disable_root") is False, "disable_root: %r" % (d.get("disable_root"),)
PY
) || fail "user-data: $r"

    # ssh: a stopped VM is a state conflict, a missing one not found, a bad user a usage error
    expect_exit 4 yv "$root" ssh --name fp -- true
    assert_contains "$ERR" "is not running" "ssh of a stopped VM"
    expect_exit 3 yv "$root" ssh --name nosuch
    expect_exit 2 yv "$root" ssh --name fp --user=-oProxyCommand=x
    expect_exit 2 yv "$root" ssh --name fp --user 'a b'
}

# view_login ROOT T: the screen view of the running guest g (spec §12): its tty1 login screen
# matches a screendump cell by cell (and fails shifted by a column or a row); typing into the view
# logs in as root on tty1 and runs a command that writes to ttyS0, whose output lands in
# serial.log. The password typed never reaches the TUI's log.
view_login()
{
    local root=$1 t=$2 i
    S=gview
    TUI_W=100 TUI_H=40 tui_start "$root"
    wait_row g '^g +running '
    keys v
    wait_screen '^ g — live [0-9]+x[0-9]+ '
    compare_view g "$t" 0.8
    info "tty1 login screen: $AGREE"
    # the same pane a column or a row off must fail: an agreement a shifted picture reaches too
    # proves nothing (the dump and the pane compare_view just kept)
    shifted_fails "$t" --min 0.8
    # the guest's getty drops what is typed before it asks: a line at a time, with time to ask
    keys Enter
    sleep 3
    # the output differs from the command typed: only a shell that ran it writes "vnc-42"
    for line in root "$ROOT_PW" 'echo typed-through-vnc-$((6*7)) >/dev/ttyS0'; do
        text "$line"
        keys Enter
        sleep 4
    done
    for i in $(seq 1 60); do
        grep -q 'typed-through-vnc-42' "$root/g.vm/serial.log" && break
        sleep 1
    done
    grep -q 'typed-through-vnc-42' "$root/g.vm/serial.log" ||
        fail "what was typed into the view did not run in the guest (serial.log: $(tail -c 300 "$root/g.vm/serial.log"))"
    assert_not_contains "$(cat "$root/run/tui.log")" "$ROOT_PW" "the password in the TUI's log"
    keys C-]
    wait_row g '^g +running '
    tui_quit
}

# agent_addr_in FILE: "yes" when the last line of watch --json about g has an address from the
# agent, else "no".
agent_addr_in()
{
    "$PY" - "$1" <<'PY'
import json, sys
last = []
for line in open(sys.argv[1], errors="replace"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if "vm" in d and d["vm"]["name"] == "g":
        last = d["vm"]["addresses"]
print("yes" if any(a["source"] == "agent" for a in last) else "no")
PY
}

# wait_agent_addr FILE yes|no SECONDS
wait_agent_addr()
{
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        [ "$(agent_addr_in "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    fail "watch: an address from the agent '$(agent_addr_in "$1")', not '$2', within $3 s: $(tail -c 1500 "$1")"
}

# watch_agent ROOT T: `watch --json` (the TUI's monitor) shows the agent's address of the running
# guest g (QEMU's query-chardev says the guest holds the agent's port open); the agent stopped in
# the guest, the address goes (QEMU tells VSERPORT_CHANGE of the port: seconds, not the 30 s of
# the next exchange); started again, it comes back — nothing but that event asks a closed port
# again, so a port without its id (no events) fails here.
watch_agent()
{
    local root=$1 t=$2 wpid win
    mkfifo "$t/win"
    "$YAVE_TEST_BIN" --batch --root "$root" --json watch <"$t/win" >"$t/wout" 2>"$t/werr" &
    wpid=$!
    at_exit end_process "$wpid" "$YAVE_TEST_BIN"
    exec {win}>"$t/win"
    wait_agent_addr "$t/wout" yes 20
    guest_must "$root" g "$t" systemctl stop qemu-guest-agent
    wait_agent_addr "$t/wout" no 10
    guest_must "$root" g "$t" systemctl start qemu-guest-agent
    wait_agent_addr "$t/wout" yes 10
    exec {win}>&-
    wait "$wpid" || fail "watch's exit status: $? ($(cat "$t/werr"))"
}

test_1_guest_ssh_agent_console_shutdown_neighbour()
{
    local root t
    for f in ssh:--print create:--network console:--timeout; do
        has_verb "${f%%:*}" "${f#*:}" || fail "yave-tui lacks ${f%%:*} ${f#*:} (this test needs the" \
            "net, agent and console work merged)"
    done
    new_root root
    mktmp_into t
    guest_root "$root" "$t"
    at_exit stop_qemus "$root"

    # create: bad key files are refused (exit 2, naming file and line) and nothing is made
    printf 'ssh-ed25519 AAAA-not-base64\n' >"$t/bad.pub"
    expect_exit 2 yv "$root" create --name g --preset debian --root-password-file "$t/rootpw" \
        --ssh-key "$t/key.pub" --ssh-key "$t/bad.pub"
    assert_contains "$ERR" "$t/bad.pub, line 1" "the refusal of a bad key file"
    assert_no_file "$root/g.vm" "the VM after a refused key"
    expect_exit 2 yv "$root" create --name g --preset debian --root-password-file "$t/rootpw" \
        --ssh-key "$t/key"
    assert_contains "$ERR" "not an SSH public key" "a private key given as --ssh-key"

    expect_exit 0 yv "$root" create --name g --preset debian --root-password-file "$t/rootpw" \
        --hostname "$HOST" --network user --ssh-key "$t/key.pub" --no-ovmf -m 512 -c 3072 \
        --install-timeout 600
    assert_match "^created VM 'g'" "$OUT" "create"

    # ssh before run: not running (exit 4)
    expect_exit 4 yv "$root" ssh --name g -- true
    local start=$SECONDS
    expect_exit 0 yv "$root" run --name g
    wait_ssh "$root" g "$t"
    info "run to a working ssh: $((SECONDS - start))s"
    guest_ssh "$root" g "$t" hostname
    assert_eq 0 "$RC" "ssh hostname: $ERR"
    assert_eq "$HOST" "$OUT" "hostname over ssh with the key given at create"
    # ARGS go to ssh as they are: ssh joins them for the guest's shell, as `ssh HOST ARGS` does
    guest_ssh "$root" g "$t" 'echo "$((6 * 7))"' '| tr 4 x'
    assert_eq "x2" "$OUT" "remote ARGS as one command line for the guest's shell"
    # the verb itself executes ssh (a stand-in on PATH records its argv)
    mkdir "$t/bin"
    printf '#!/bin/sh\nprintf "%%s\\n" "$@" >%q\n' "$t/argv" >"$t/bin/ssh"
    chmod 755 "$t/bin/ssh"
    PATH="$t/bin:$PATH" expect_exit 0 yv "$root" ssh --name g --user debian -- uname -a
    assert_eq "-l debian" "$(grep -A1 -x -- -l "$t/argv" | tr '\n' ' ' | sed 's/ $//')" "user"
    assert_eq "uname -a" "$(tail -2 "$t/argv" | tr '\n' ' ' | sed 's/ $//')" "remote command"
    assert_not_contains "$(cat "$t/argv")" StrictHostKeyChecking "host key checking left on"

    # the agent's address
    wait_address "$root" g agent
    assert_eq 10.0.2.15 "$ADDR" "the agent's address of a user-network guest"
    watch_agent "$root" "$t"

    # console, piped: log in as root with the preset's password. cloud-init first (it floods the
    # serial console at the end of a boot), then each line once the guest asks for it: a serial
    # getty drops typed-ahead input.
    GUEST_SSH_TIMEOUT=260 guest_ssh "$root" g "$t" timeout 200 cloud-init status --wait
    local cpid fd
    mkfifo "$t/cin"
    "$YAVE_TEST_BIN" --batch --root "$root" console --name g --timeout 120 <"$t/cin" \
        >"$t/cout" 2>"$t/cerr" &
    cpid=$!
    at_exit kill "$cpid"
    exec {fd}>"$t/cin"
    printf '\n' >&"$fd"
    wait_line "$t/cout" 'login:' "$cpid" 60 0.5
    printf 'root\n' >&"$fd"
    wait_line "$t/cout" 'Password:' "$cpid" 60 0.5
    printf '%s\n' "$ROOT_PW" >&"$fd"
    wait_line "$t/cout" "root@$HOST" "$cpid" 60 0.5
    printf 'echo MARK$((40+2)); cat /etc/hostname\n' >&"$fd"
    wait_line "$t/cout" 'MARK42' "$cpid" 30 0.5
    sleep 1
    exec {fd}>&-
    kill -TERM "$cpid" # with --timeout it would copy the guest's output for all 120 s
    wait_exited "$cpid" 150
    # the guest's bash switches bracketed paste on and off around each command line
    OUT=$(sed 's/\x1b\[[?0-9;]*[A-Za-z]//g' "$t/cout" | tr -d '\r')
    assert_out_line '^MARK42$' "the shell's answer on the console"
    assert_out_line "^$HOST\$" "cat /etc/hostname on the console"
    assert_not_contains "$OUT" "$ROOT_PW" "the password echoed by the console"

    view_login "$root" "$t"

    # a guest that ignores ACPI: graceful shutdown ends by the agent. The agent is also masked
    # for the next boot (the clone below must show an address without it); it keeps running now.
    guest_ssh "$root" g "$t" 'mkdir -p /etc/systemd/logind.conf.d &&
        printf "[Login]\nHandlePowerKey=ignore\n" >/etc/systemd/logind.conf.d/yave-test.conf &&
        systemctl restart systemd-logind && systemctl mask qemu-guest-agent.service && sync'
    assert_eq 0 "$RC" "making the guest ignore ACPI: $ERR"
    expect_exit 0 yv "$root" shutdown --name g --timeout 20
    assert_contains "$OUT$ERR" "by agent" "the graceful shutdown's last step"

    # neighbour: a linked clone on a TAP in a namespace with dnsmasq, no agent in the guest
    command -v dnsmasq >/dev/null || fail "dnsmasq not found (apt-get install dnsmasq-base)"
    new_ns 1
    add_bridge br0
    nsx ip addr add 192.168.77.1/24 dev br0 || fail "bridge address"
    nsx dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --interface=br0 \
        --bind-interfaces --dhcp-range=192.168.77.50,192.168.77.99,1h \
        --dhcp-leasefile="$t/leases" --pid-file="$t/dnsmasq.pid" --log-facility="$t/dnsmasq.log" &
    at_exit kill $!
    # $! is the subshell of the function nsx, not dnsmasq: it is ended by the pid it wrote
    at_exit kill_pidfile "$t/dnsmasq.pid"
    expect_exit 0 yvn "$root" create --name g2 --image "$root/g.vm/hd0.qcow2" --linked \
        --master br0 --no-ovmf -m 512
    expect_exit 0 yvn "$root" run --name g2
    # the lease, then one TCP connect from the host side (as any peer talking to the guest would):
    # a DHCP exchange alone need not leave an entry in the host's neighbour table
    local lease deadline=$((SECONDS + WAIT_BOOT))
    until lease=$(awk '{print $3; exit}' "$t/leases" 2>/dev/null) && [ -n "$lease" ]; do
        [ $SECONDS -lt $deadline ] || fail "no DHCP lease for g2: $(tail -3 "$t/dnsmasq.log")"
        sleep 2
    done
    # shellcheck disable=SC2016 # $1 is the inner shell's
    nsx timeout 5 bash -c ': </dev/tcp/"$1"/22' _ "$lease" 2>/dev/null ||
        info "no answer on $lease:22 yet (continuing)"
    wait_address "$root" g2 neighbour nsx
    assert_eq "$lease" "$ADDR" "the neighbour address is the DHCP lease"
    assert_match '^192\.168\.77\.([5-9][0-9])$' "$ADDR" "the DHCP address from the neighbour table"
    expect_exit 0 yvn "$root" shutdown --name g2 --force
}

run_tests "$@"
