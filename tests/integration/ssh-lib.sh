# shellcheck shell=bash
# Real OpenSSH servers for the tests of many hosts (spec §14): each test host is a real `sshd`
# (Debian openssh-server) in a network namespace of its own, reached from the test's namespace over
# a veth pair with a /30 of its own. Sourced after lib.sh. Needs root, ip, nft, ssh, ssh-keygen and
# /usr/sbin/sshd.
#
# Nothing here reads or writes ~/.ssh or /etc/ssh: the client key, known_hosts and ssh_config are
# files of a private temporary folder ($SSHD_DIR), and each sshd runs with `-f` its own sshd_config
# that names its host key, its pid file and the authorized_keys file.
#
#   sshd_setup            once, before any host: $SSHD_DIR with the client key pair (ed25519, no
#                         passphrase: $SSHD_KEY), $SSHD_KNOWN_HOSTS and $SSHD_CONFIG (an ssh_config
#                         for `ssh -F`); registers the cleanup of everything below, which runs when
#                         the scope it was called in ends: the test function, or the whole file when
#                         called outside a test (then hosts are shared by the file's tests, and a
#                         test that kills or cuts one brings it back before it ends).
#   sshd_host_up NAME     a host NAME ([a-z0-9-], ≤ 20): namespace yvs-$$-NAME (lo up), veth yvsN
#                         (host side, 198.18.x.y+1/30) to eth0 in it (+2/30, free /30 of
#                         198.18.0.0/15 picked under a lock), a new host key, sshd -D on ADDR:22;
#                         `Host NAME` in $SSHD_CONFIG and "ADDR,NAME KEY" in known_hosts, so
#                         `ssh -F "$SSHD_CONFIG" NAME` works with StrictHostKeyChecking yes. Returns
#                         once sshd sends its banner. Sets SSHD_NS and SSHD_ADDR.
#   sshd_ns NAME          prints the namespace's name (for `ip netns exec`)
#   sshd_addr NAME        prints the host's address
#   sshd_x NAME CMD...    runs CMD inside NAME's namespace
#   sshd_ssh NAME CMD...  ssh -F $SSHD_CONFIG -o BatchMode=yes NAME CMD...
#   sshd_pids NAME        prints the pids of NAME's sshd processes (listener, per-connection
#                         monitors, "sshd: root@notty" sessions)
#   sshd_kill NAME        SIGKILL to every sshd process of NAME, until none is left: clients'
#                         connections drop at once, as when a host goes away; the other processes
#                         in the namespace (a QEMU a remote yave-tui started) live on
#   sshd_cut NAME         NAME goes silent: an nft table in its namespace drops every packet on its
#                         eth0, both ways; sshd and the sessions keep running (a client notices
#                         only by its timeouts: ConnectTimeout, ServerAliveInterval)
#   sshd_uncut NAME       the packets flow again
#   sshd_restart NAME     sshd_kill if anything of it runs, then sshd again, same host key
#   sshd_rekey NAME       sshd_kill, a NEW host key, sshd again; known_hosts keeps the old key, so
#                         ssh refuses the host ("REMOTE HOST IDENTIFICATION HAS CHANGED")
#   sshd_host_down NAME   the host gone now: every process in its namespace ended (TERM, then
#                         KILL), namespace and veth deleted (the cleanup does this for every host)
#
# A host's files: $SSHD_DIR/h/NAME/ (sshd_config, host_key, sshd.pid, sshd.log: sshd's own log at
# LogLevel VERBOSE, worth showing when a test fails). Remote commands run without root's
# ~/.bashrc (see _sshd_write_config) and with sshd's PATH for root. The sshd accepts ASAN_OPTIONS,
# UBSAN_OPTIONS and LSAN_OPTIONS (AcceptEnv) for a client that sends them (-o SendEnv=...).
# MaxSessions and MaxStartups are raised: a multiplexed connection carries many sessions.
#
# shellcheck disable=SC2034 # SSHD_NS and SSHD_ADDR are for the test files that source it

SSHD_BIN=/usr/sbin/sshd
SSHD_DIR=
SSHD_CONFIG=
SSHD_KEY=
SSHD_KNOWN_HOSTS=
SSHD_NS=
SSHD_ADDR=

sshd_setup()
{
    [ -x "$SSHD_BIN" ] || fail "no $SSHD_BIN (apt-get install openssh-server)"
    [ -z "$SSHD_DIR" ] || fail "sshd_setup: called twice"
    SSHD_DIR=$(mktemp -d /tmp/yave-it-ssh.XXXXXXXX) || fail "mktemp failed"
    at_exit _sshd_cleanup "$SSHD_DIR"
    # called outside a test: lib.sh runs the file's own at_exit list only through this trap
    [ -n "${CURRENT_TEST:-}" ] || trap _run_cleanup EXIT
    mkdir "$SSHD_DIR/h" || fail "mkdir $SSHD_DIR/h"
    SSHD_KEY=$SSHD_DIR/id_ed25519
    SSHD_KNOWN_HOSTS=$SSHD_DIR/known_hosts
    SSHD_CONFIG=$SSHD_DIR/ssh_config
    ssh-keygen -q -t ed25519 -N '' -C yave-it-client -f "$SSHD_KEY" </dev/null ||
        fail "ssh-keygen of the client key"
    cp "$SSHD_KEY.pub" "$SSHD_DIR/authorized_keys" || fail "authorized_keys"
    : >"$SSHD_KNOWN_HOSTS"
    : >"$SSHD_CONFIG"
    # sshd's privilege separation folder (the package's unit makes it; there is no unit here)
    if [ ! -d /run/sshd ]; then
        mkdir -m 0755 /run/sshd || fail "mkdir /run/sshd"
    fi
}

# _sshd_h NAME: the folder of host NAME (fails when there is no such host).
_sshd_h()
{
    [ -n "$SSHD_DIR" ] || fail "sshd_setup was not called"
    [ -f "$SSHD_DIR/h/$1/ns" ] || fail "no ssh test host '$1'"
    printf '%s\n' "$SSHD_DIR/h/$1"
}

sshd_ns()
{
    local h
    h=$(_sshd_h "$1") || exit 1
    cat "$h/ns"
}

sshd_addr()
{
    local h
    h=$(_sshd_h "$1") || exit 1
    cat "$h/addr"
}

sshd_x()
{
    local ns
    ns=$(sshd_ns "$1") || exit 1
    shift
    ip netns exec "$ns" "$@"
}

sshd_ssh()
{
    local name=$1
    shift
    ssh -F "$SSHD_CONFIG" -o BatchMode=yes "$name" "$@"
}

sshd_host_up()
{
    local name=$1 h
    [[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,19}$ ]] || fail "sshd_host_up: bad host name '$name'"
    [ -n "$SSHD_DIR" ] || fail "sshd_setup was not called"
    h=$SSHD_DIR/h/$name
    mkdir "$h" 2>/dev/null || fail "ssh test host '$name' exists already"
    _sshd_net "$name" "$h"
    _sshd_host_key "$name" "$h"
    _sshd_write_config "$name" "$h"
    _sshd_start "$name" "$h"
    SSHD_NS=$(cat "$h/ns")
    SSHD_ADDR=$(cat "$h/addr")
}

# _sshd_net NAME DIR: the namespace and its veth with a free /30 of 198.18.0.0/15 (RFC 2544's
# benchmark range: no real network uses it). The pick and the address assignment happen under the
# lock $SSHD_LOCK, so test files running at once never pick the same /30 or veth name. (Not a lock
# on /run/netns: `ip netns add` takes that one itself.)
SSHD_LOCK=/run/lock/yave-it-ssh.lock
_sshd_net()
{
    local name=$1 h=$2 ns=yvs-$$-$1 lk i k net host peer veth
    exec {lk}>>"$SSHD_LOCK" || fail "cannot open $SSHD_LOCK"
    flock -w 30 "$lk" || fail "no lock on $SSHD_LOCK"
    i=$((($$ * 37 + RANDOM) % 32768))
    for ((k = 0; k < 32768; k++, i = (i + 1) % 32768)); do
        net=198.$((18 + i / 16384)).$((i / 64 % 256)).$((i % 64 * 4))
        veth=yvs$i
        [ -z "$(ip -4 -o addr show to "$net/30")" ] || continue
        [ -z "$(ip -4 route show exact "$net/30")" ] || continue
        ip link show "$veth" >/dev/null 2>&1 || break
    done
    [ "$k" -lt 32768 ] || fail "no free /30 in 198.18.0.0/15"
    host=${net%.*}.$((${net##*.} + 1))
    peer=${net%.*}.$((${net##*.} + 2))
    ip netns add "$ns" || fail "cannot create the network namespace $ns (root needed)"
    printf '%s\n' "$ns" >"$h/ns"
    printf '%s\n' "$veth" >"$h/veth"
    printf '%s\n' "$peer" >"$h/addr"
    ip link add "$veth" type veth peer name eth0 netns "$ns" || fail "veth $veth"
    sysctl -qw "net.ipv6.conf.$veth.disable_ipv6=1" || true
    ip addr add "$host/30" dev "$veth" || fail "address of $veth"
    ip link set "$veth" up || fail "$veth up"
    exec {lk}<&-
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 || true
    ip -n "$ns" link set lo up || fail "lo up in $ns"
    ip -n "$ns" addr add "$peer/30" dev eth0 || fail "address of eth0 in $ns"
    ip -n "$ns" link set eth0 up || fail "eth0 up in $ns"
}

# _sshd_host_key NAME DIR: a new host key for NAME, and its known_hosts line when there is none yet
# (a rekey keeps the old line: that is the point of it).
_sshd_host_key()
{
    local name=$1 h=$2 addr
    addr=$(cat "$h/addr")
    rm -f "$h/host_key" "$h/host_key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "yave-it-$name" -f "$h/host_key" </dev/null ||
        fail "ssh-keygen of $name's host key"
    grep -q "^$addr,$name " "$SSHD_KNOWN_HOSTS" && return 0
    printf '%s,%s %s\n' "$addr" "$name" "$(cut -d' ' -f1,2 "$h/host_key.pub")" >>"$SSHD_KNOWN_HOSTS"
}

# _sshd_write_config NAME DIR: NAME's sshd_config, and its Host entry in the client's ssh_config.
_sshd_write_config()
{
    local name=$1 h=$2 addr
    addr=$(cat "$h/addr")
    # StrictModes no: the files live below /tmp, which is world-writable. SetEnv SHLVL=1: bash
    # sources ~/.bashrc for an ssh command only at shell level 1, so root's dotfiles of the test
    # machine (a pyenv init: 0.3 s and a PATH of shims) neither slow nor change remote commands.
    cat >"$h/sshd_config" <<EOF
ListenAddress $addr:22
HostKey $h/host_key
PidFile $h/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitUserRC no
PrintMotd no
PrintLastLog no
UseDNS no
ModuliFile /dev/null
MaxSessions 100
MaxStartups 100
AcceptEnv ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
SetEnv SHLVL=1
LogLevel VERBOSE
EOF
    cat >>"$SSHD_CONFIG" <<EOF
Host $name
    HostName $addr
    Port 22
    User root
    IdentityFile $SSHD_KEY
    IdentitiesOnly yes
    UserKnownHostsFile $SSHD_KNOWN_HOSTS
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    CheckHostIP no
    UpdateHostKeys no
    LogLevel ERROR
    ConnectTimeout 3

EOF
}

# _sshd_start NAME DIR: sshd -D in NAME's namespace (`ip netns exec` execs it: $! is sshd), then
# up to 10 s for it to send its banner to a client in our namespace.
_sshd_start()
{
    local name=$1 h=$2 ns addr pid
    ns=$(cat "$h/ns")
    addr=$(cat "$h/addr")
    rm -f "$h/sshd.pid" "$h/listener"
    # started from a subshell, so it is not a job of the test's shell (no "Killed" notice from
    # bash when sshd_kill ends it)
    (
        ip netns exec "$ns" "$SSHD_BIN" -D -f "$h/sshd_config" -E "$h/sshd.log" \
            </dev/null >/dev/null 2>>"$h/sshd.err" &
        echo $! >"$h/listener"
    )
    pid=$(cat "$h/listener")
    for _ in $(seq 100); do
        _sshd_banner "$addr" && return 0
        pid_exited "$pid" && break
        sleep 0.1
    done
    fail "sshd of $name did not come up on $addr:22:" \
        "$(tail -q -n 5 "$h/sshd.err" "$h/sshd.log" | tr '\n' ';')"
}

# _sshd_banner ADDR: an SSH server answers on ADDR:22 with its banner (within 2 s).
_sshd_banner()
{
    # shellcheck disable=SC2016 # $1 of the inner bash
    [ "$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/22" && head -c 4 <&3' _ "$1" 2>/dev/null)" = SSH- ]
}

sshd_pids()
{
    local ns p
    ns=$(sshd_ns "$1") || exit 1
    for p in $(ip netns pids "$ns" 2>/dev/null); do
        [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$SSHD_BIN" ] && ! pid_exited "$p" && echo "$p"
    done
    return 0
}

sshd_kill()
{
    local pids
    for _ in $(seq 50); do
        pids=$(sshd_pids "$1") || exit 1
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086 # one pid a word
        kill -KILL $pids 2>/dev/null
        sleep 0.1
    done
    fail "sshd processes of $1 left after 5 s: $pids"
}

sshd_cut()
{
    sshd_x "$1" nft -f - <<'EOF' || fail "nft: cannot cut $1"
table inet yvs_cut {
    chain in { type filter hook input priority -300; iifname "eth0" drop; }
    chain out { type filter hook output priority -300; oifname "eth0" drop; }
}
EOF
}

sshd_uncut()
{
    sshd_x "$1" nft delete table inet yvs_cut || fail "nft: cannot uncut $1"
}

sshd_restart()
{
    local h
    h=$(_sshd_h "$1") || exit 1
    sshd_kill "$1"
    _sshd_start "$1" "$h"
}

sshd_rekey()
{
    local h
    h=$(_sshd_h "$1") || exit 1
    sshd_kill "$1"
    _sshd_host_key "$1" "$h"
    _sshd_start "$1" "$h"
}

sshd_host_down()
{
    local h
    h=$(_sshd_h "$1") || exit 1
    _sshd_remove "$h"
    rm -rf -- "$h"
}

# _sshd_remove DIR: everything of the host in DIR gone: its processes (TERM, up to 3 s, KILL, up
# to 3 s), its namespace, its veth (deleted on its own with the namespace unless something the
# kernel cannot kill holds the namespace).
_sshd_remove()
{
    local ns veth pids sig
    ns=$(cat "$1/ns" 2>/dev/null) || return 0
    veth=$(cat "$1/veth" 2>/dev/null)
    if [ -e "/run/netns/$ns" ]; then
        for sig in TERM KILL; do
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -n "$pids" ] || break
            # shellcheck disable=SC2086 # one pid a word
            kill -"$sig" $pids 2>/dev/null
            for _ in $(seq 30); do
                # shellcheck disable=SC2086
                _sshd_all_exited $pids && break
                sleep 0.1
            done
        done
        ip netns delete "$ns" 2>/dev/null
    fi
    [ -n "$veth" ] && ip link delete "$veth" 2>/dev/null
    return 0
}

# _sshd_all_exited PID...: every PID has exited.
_sshd_all_exited()
{
    local p
    for p in "$@"; do
        pid_exited "$p" || return 1
    done
}

# _sshd_cleanup SSHD_DIR: every host of SSHD_DIR removed, then the folder.
_sshd_cleanup()
{
    local h
    for h in "$1"/h/*/; do
        [ -d "$h" ] && _sshd_remove "${h%/}"
    done
    rm -rf --one-file-system -- "$1"
}
