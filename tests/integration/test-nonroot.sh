#!/usr/bin/env bash
# Issue 17 item 6 as a user without root meets it: "the example root of make run keeps working
# without root, and a VM made from the create form with its defaults starts on a machine with no
# bridge". Every yave-tui here runs under setpriv as a uid of its own (no account, no group, no
# capability), in roots that uid owns (spec §16: a root must be the invoking user's or root's).
# - batch: create with the default network (user, an SSH forward), run (TCG, 128 MiB, the empty
#   disk: the guest sits in its firmware), status --json running, the forward's port held by that
#   user's QEMU, shutdown;
# - the example root of `make run` (a copy of debug/, its disks made as `make debug-disks` does):
#   `--root debug` lists and runs the example VM; the full-screen manager on it, `c`, the form's
#   defaults, F10, `r`: the new VM runs and its SSH forward answers.
# Real QEMU; the test itself runs as root (it switches users and cleans up after them).
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"
# shellcheck source=tests/integration/forward-lib.sh
. "$(dirname "$0")/forward-lib.sh"

# ---- the unprivileged user ----

# uid_procs UID: the pids of the processes whose real or effective uid is UID.
uid_procs()
{
    # one awk over every status file (FNR restarts per file); a process gone meanwhile is skipped
    awk -v u="$1" 'FNR == 1 { split(FILENAME, a, "/") }
        $1 == "Uid:" && ($2 == u || $3 == u) { print a[3]; nextfile }' /proc/[0-9]*/status 2>/dev/null
}

# kill_uid UID: the cleanup of the test's user: SIGKILL to every process of UID (a uid no account
# has and no process had when the test took it: only this test's), then up to 3 s for them to go.
kill_uid()
{
    local p
    for p in $(uid_procs "$1"); do kill -CONT "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
    for _ in $(seq 30); do
        [ -z "$(uid_procs "$1")" ] && return 0
        sleep 0.1
    done
}

# nr_setup: NR_UID, a uid with no account, no group and no process, and NR_DIR, a folder the test
# removes, that uid can walk into, holding its HOME (NR_DIR/home, its own) and a copy of the
# binary under test (NR_BIN: YAVE_TEST_BIN may sit in a folder only root can enter).
nr_setup()
{
    local u='' t
    [ "$(id -u)" = 0 ] || fail "this test switches to an unprivileged uid (setpriv): run it as root"
    command -v setpriv >/dev/null || fail "setpriv is needed (util-linux)"
    for _ in $(seq 50); do
        u=$((61000 + RANDOM % 3000))
        getent passwd "$u" >/dev/null || getent group "$u" >/dev/null || [ -n "$(uid_procs "$u")" ] ||
            break
        u=''
    done
    [ -n "$u" ] || fail "no free uid in 61000-63999"
    mktmp_into t
    chmod 755 "$t"
    mkdir "$t/home" "$t/bin" || fail "mkdir"
    install -m 755 "$YAVE_TEST_BIN" "$t/bin/yave-tui" || fail "cannot copy $YAVE_TEST_BIN"
    chown "$u:$u" "$t/home"
    # last registered, first run: the user's processes go before its folders
    at_exit kill_uid "$u"
    NR_UID=$u
    NR_DIR=$t
    NR_BIN=$t/bin/yave-tui
    # that it is unprivileged indeed: no capability, no group, root's files closed to it
    expect_exit 0 as_user sh -c 'id -u; id -G; grep "^CapEff:" /proc/self/status'
    assert_eq "$(printf '%s\n%s\nCapEff:\t0000000000000000' "$u" "$u")" "$OUT" "who the test's user is"
    expect_exit 1 as_user test -w /etc/passwd
}

# as_user CMD...: CMD as NR_UID (its own group only), in an environment a login would give it
# (HOME its folder, PATH the system's) plus the sanitizers' options.
as_user()
{
    setpriv --reuid "$NR_UID" --regid "$NR_UID" --clear-groups -- env -i \
        PATH=/usr/local/bin:/usr/bin:/bin HOME="$NR_DIR/home" LC_ALL=C \
        ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" "$@"
}

# uv ROOT ARGS...: the batch front end on ROOT, as the user.
uv()
{
    local r=$1
    shift
    as_user "$NR_BIN" --batch --root "$r" "$@"
}

# give_root ROOT: ROOT (and everything in it) becomes the user's, not writable by others.
give_root()
{
    chown -R "$NR_UID:$NR_UID" "$1" || fail "chown $1"
    chmod -R go-w "$1"
    chmod 755 "$(dirname "$1")"
}

# assert_user_qemu PID PORT: PID is a QEMU of the user (not root's) and it holds the TCP port PORT
# on 127.0.0.1: the forward a client connects to.
assert_user_qemu()
{
    is_qemu "$1" || fail "pid $1 is not a QEMU"
    assert_eq "$NR_UID" "$(stat -c %u "/proc/$1")" "the owner of QEMU $1"
    assert_contains "$(ss -Hltnp "sport = :$2")" "pid=$1," "who listens on 127.0.0.1:$2"
    connects "$2" || fail "nothing accepts on the forward's port $2"
}

# ---- tests ----

# create with no network option, run, status, shutdown: all as the user, in a fresh root.
test_default_vm_runs_without_root()
{
    local root p pid
    nr_setup
    free_base p
    new_fw_root root "$p"
    printf 'qemu:\n  accel: tcg\n' >>"$root/config.yaml"
    give_root "$root"
    expect_exit 0 uv "$root" create --name n1 -m 128 -c 64 --vnc-password Abcdefgh
    assert_contains "$OUT" "forward: tcp 127.0.0.1:$p -> guest port 22" "create's answer"
    assert_stderr_empty
    assert_eq "" "$(find "$root" ! -uid "$NR_UID")" "files in the root that are not the user's"
    expect_exit 0 uv "$root" run --name n1
    assert_match "^started VM 'n1' \\(pid [0-9]+, tcg\\)\$" "$OUT" "run's answer"
    pid=$(cat "$root/run/n1.pid") || fail "no run/n1.pid"
    assert_user_qemu "$pid" "$p"
    expect_exit 0 uv "$root" --json status --name n1
    assert_eq running "$(jv 'd["state"]')" "the state status --json shows"
    assert_eq "[{\"proto\": \"tcp\", \"address\": \"127.0.0.1\", \"host\": $p, \"guest\": 22}]" \
        "$(jv '[f for n in d["networks"] if n["type"] == "user" for f in n["forwards"]]')" \
        "the forwards status --json shows"
    expect_exit 0 uv "$root" status
    assert_row n1 STATE=running "PID=$pid" NETWORK="user $p->22"
    assert_stderr_empty "status of a user without root: nothing on stderr"
    expect_exit 0 uv "$root" shutdown --name n1 --force
    wait_exited "$pid" 50
    expect_exit 0 uv "$root" --json status --name n1
    assert_eq stopped "$(jv 'd["state"]')" "the state after shutdown"
    connects "$p" && fail "port $p still answers after shutdown"
    assert_eq "" "$(find "$root" ! -uid "$NR_UID")" "files in the root that are not the user's"
}

# example_copy VAR: a copy of the source tree's debug/ as a user's checkout would hold it (the
# user's, no disks, nothing of a run), its disks made as `make debug-disks` does, as the user;
# VAR = the folder holding debug/ (where `make run` runs). Its VNC listens on a loopback address
# of this test alone, so the display the example names cannot be another program's on a shared
# machine; nothing else changes.
example_copy()
{
    local __ec=$NR_DIR/src d
    mkdir "$__ec" || fail "mkdir"
    cp -r "$REPO_DIR/debug" "$__ec/" || fail "cp debug"
    rm -rf "$__ec/debug/run" "$__ec"/debug/*.vm/*.qcow2 "$__ec"/debug/*.vm/*.fd "$__ec"/debug/*.vm/serial.log
    VNC_LISTEN="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
    sed -i "s/^  listen: 127\\.0\\.0\\.1\$/  listen: $VNC_LISTEN/" "$__ec/debug/config.yaml"
    grep -q "listen: $VNC_LISTEN" "$__ec/debug/config.yaml" || fail "debug/config.yaml has no vnc.listen"
    at_exit stop_qemus "$__ec/debug"
    chown -R "$NR_UID:$NR_UID" "$__ec"
    chmod go-w "$__ec/debug" "$__ec/debug/config.yaml" # as make run does
    for d in "$__ec"/debug/*.vm; do
        expect_exit 0 as_user qemu-img create -q -f qcow2 "$d/hd0.qcow2" 2G
    done
    printf -v "$1" '%s' "$__ec"
}

# The example root, opened as `make run` does (`--root debug` in the checkout), in batch.
test_example_root_of_make_run_without_root()
{
    local src pid
    nr_setup
    example_copy src
    expect_exit 0 as_user env -C "$src" "$NR_BIN" --batch --root debug list
    assert_eq example "$OUT" "the example root's VMs"
    assert_stderr_empty "list of a user without root: nothing on stderr"
    expect_exit 0 as_user env -C "$src" "$NR_BIN" --batch --root debug status
    assert_row example STATE=stopped MEMORY=256M VNC=:1 NETWORK=-
    assert_stderr_empty
    expect_exit 0 as_user env -C "$src" "$NR_BIN" --batch --root debug run --name example
    assert_match "^started VM 'example' \\(pid [0-9]+, " "$OUT" "run's answer"
    pid=$(cat "$src/debug/run/example.pid") || fail "no run/example.pid"
    is_qemu "$pid" || fail "run/example.pid names $pid, not a QEMU"
    assert_eq "$NR_UID" "$(stat -c %u "/proc/$pid")" "the owner of the example's QEMU"
    expect_exit 0 as_user env -C "$src" "$NR_BIN" --batch --root debug --json status --name example
    assert_eq running "$(jv 'd["state"]')" "the example's state"
    expect_exit 0 as_user env -C "$src" "$NR_BIN" --batch --root debug shutdown --name example --force
    wait_exited "$pid" 50
}

# The issue's words: `make run`, `c`, the form's defaults, `r` — as the user, in the full-screen
# manager (tmux is root's; the TUI in its pane runs as the user through a wrapper).
test_make_run_create_form_defaults_run_without_root()
{
    local src port pid
    nr_setup
    example_copy src
    printf '#!/bin/bash\nexec setpriv --reuid %s --regid %s --clear-groups -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=%q TERM="$TERM" LC_ALL="$LC_ALL" LANG="$LANG" ASAN_OPTIONS=%q UBSAN_OPTIONS=%q %q "$@"\n' \
        "$NR_UID" "$NR_UID" "$NR_DIR/home" "$ASAN_OPTIONS" "$UBSAN_OPTIONS" "$NR_BIN" >"$NR_DIR/bin/as-user"
    chmod 755 "$NR_DIR/bin/as-user"
    YAVE_TEST_BIN=$NR_DIR/bin/as-user tui_start "$src/debug"
    wait_row example '^example +stopped '
    assert_eq "$NR_UID" "$(stat -c %u "/proc/$(tui_pid)")" "the owner of the TUI"
    keys c
    wait_screen 'Name +letters, digits'
    assert_match 'Network +< user >' "$(line_with 'Network ')" "the form's default network"
    text vm2
    keys F10
    wait_screen 'Its VNC password \(shown only now\)'
    keys x
    wait_gone 'shown only now'
    port=$(awk '$1 == "host:" { print $2 }' "$src/debug/vm2.vm/config.yaml")
    [[ "$port" =~ ^[0-9]+$ ]] || fail "vm2 has no SSH forward: $(cat "$src/debug/vm2.vm/config.yaml")"
    wait_row vm2 "^vm2 +stopped .* $port→22 "
    assert_not_contains "$(cat "$src/debug/run/tui.log")" "Operation not permitted" "the TUI's log"
    keys Down # vm2, after example (the last row: Down stays there)
    keys r
    wait_row vm2 '^vm2 +running '
    assert_not_contains "$SCREEN" "has no bridge" "the status line after r"
    pid=$(cat "$src/debug/run/vm2.pid") || fail "no run/vm2.pid"
    assert_user_qemu "$pid" "$port"
    expect_exit 0 as_user "$NR_BIN" --batch --root "$src/debug" shutdown --name vm2 --force
    wait_row vm2 '^vm2 +stopped '
    tui_quit
}

run_tests "$@"
