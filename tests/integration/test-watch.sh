#!/usr/bin/env bash
# watch [--json] (spec §14) against real QEMUs (TCG, 64 MiB, SeaBIOS): the first state of every VM
# then {"synced": true}; a line per change (run, force stop, delete, create); the end when standard
# input closes, on SIGTERM/SIGINT/SIGHUP, or when the reader closes the pipe (all exit 0); text
# mode; a reader that stalls while a VM changes state many times gets that VM's latest state, and
# watch's memory does not grow with what it could not write.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/forward-lib.sh"

PW=Zq7xW9pL

# ---- helpers of this file ----

# tiny ROOT NAME ARGS...: a tiny VM, no network unless ARGS say otherwise.
tiny()
{
    local r=$1 n=$2 pwf
    shift 2
    pwf=$(dirname "$r")/pw.$n
    printf '%s\n' "$PW" >"$pwf"
    [ $# -gt 0 ] || set -- --no-network
    EXPECT_STDIN=$pwf expect_exit 0 yv "$r" create --no-ovmf -c 64 -m 64 --name "$n" \
        --vnc-password-file - "$@"
}

# start_watch ROOT OUT ARGS...: watch in the background, its input a FIFO this shell holds open
# (fd WATCH_IN), its stdout to OUT (a file or a FIFO), stderr to OUT.err; its pid in WATCH.
start_watch()
{
    local r=$1 out=$2 d
    shift 2
    mktmp_into d
    mkfifo "$d/in" || fail "mkfifo"
    [ -p "$out" ] || : >"$out" # the child opens it only once this shell opens the input
    # signals at their defaults: test_signals_end_it must not depend on how the suite was started
    "${DEFAULT_SIGNALS[@]}" "$YAVE_TEST_BIN" --batch --root "$r" "$@" watch <"$d/in" >"$out" \
        2>"$out.err" &
    WATCH=$!
    at_exit end_process "$WATCH" "$YAVE_TEST_BIN"
    exec {WATCH_IN}>"$d/in"
}

# watch_ends SECONDS: watch exits within SECONDS, with status 0.
watch_ends()
{
    local i rc=0
    for ((i = 0; i < $1 * 10; i++)); do
        pid_exited "$WATCH" && break
        sleep 0.1
    done
    pid_exited "$WATCH" || fail "watch did not end within $1 s"
    wait "$WATCH" || rc=$?
    assert_eq 0 "$rc" "watch's exit status"
}

# last_of FILE NAME: the last line of FILE about VM NAME, as "STATE" from {"vm": …} or "gone",
# then the Python expression EXPR ($3, on the object `v`) when given; "" when none.
last_of()
{
    "$PY" - "$1" "$2" "${3:-}" <<'PY'
import json, sys
last = ""
for line in open(sys.argv[1], errors="replace"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("gone") == sys.argv[2]:
        last = "gone"
    elif "vm" in d and d["vm"]["name"] == sys.argv[2]:
        v = d["vm"]
        last = v["state"] + (" " + json.dumps(eval(sys.argv[3])) if sys.argv[3] else "")
print(last)
PY
}

# wait_last FILE NAME WANT SECONDS [EXPR]: until last_of says WANT.
wait_last()
{
    local i got
    for ((i = 0; i < $4 * 5; i++)); do
        got=$(last_of "$1" "$2" "${5:-}")
        [ "$got" = "$3" ] && return 0
        pid_exited "$WATCH" && break
        sleep 0.2
    done
    fail "watch's last line about $2 is '$got', not '$3' within $4 s: $(tail -c 3000 "$1")"
}

# wait_synced FILE SECONDS
wait_synced()
{
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -qsx '{"synced":true}' "$1" && return 0
        sleep 0.1
    done
    fail "no synced line within $2 s: $(cat "$1" "$1.err")"
}

# rss_kb PID
rss_kb()
{
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# ---- the tests ----

# The first lines name every VM (the status object's shape), then exactly one synced line; each
# change follows as it happens: running (pid, forward address, VNC reachable), stopped, gone, a new
# VM; the input's end ends it with 0.
test_json_stream()
{
    local root t base pid
    free_base base
    new_fw_root root "$base"
    mktmp_into t
    tiny "$root" a
    tiny "$root" b --network user --forward "127.0.0.1:$base:22"
    start_watch "$root" "$t/out" --json
    wait_synced "$t/out" 10
    assert_eq "a b" "$(sed -n '/{"synced":true}/q;p' "$t/out" | "$PY" -c '
import json, sys
print(" ".join(json.loads(l)["vm"]["name"] for l in sys.stdin))')" "the lines before synced"
    assert_eq 1 "$(grep -cx '{"synced":true}' "$t/out")" "one synced line"
    assert_eq "stopped [\":2\", 5902, []]" \
        "$(last_of "$t/out" b '[v["vnc"]["display"], v["vnc"]["port"], v["addresses"]]')" \
        "b's first line"
    assert_eq "stopped [[\"127.0.0.1\", $base, 22, \"tcp\"]]" \
        "$(last_of "$t/out" b '[[f["address"], f["host"], f["guest"], f["proto"]] for f in v["networks"][0]["forwards"]]')" \
        "b's forwards"
    # the same shape as status --json, fast-changing figures aside
    expect_exit 0 yv "$root" --json status --name a
    assert_eq "$(jv 'sorted(k for k in d if k not in ("autostart", "usage", "pending"))')" \
        "$(grep -m1 '"name":"a"' "$t/out" | "$PY" -c 'import json,sys; print(json.dumps(sorted(json.loads(sys.stdin.read())["vm"])))')" \
        "the keys of a's object vs status --json"

    expect_exit 0 yv "$root" run --name b
    pid=$(cat "$root/run/b.pid")
    wait_last "$t/out" b "running $pid" 10 'v["pid"]'
    wait_last "$t/out" b "running [{\"ip\": \"127.0.0.1\", \"port\": $base, \"source\": \"forward\"}]" \
        10 'v["addresses"]'
    wait_last "$t/out" b "running true" 15 'v["vnc"]["reachable"]'
    expect_exit 0 yv "$root" shutdown --force --name b
    wait_last "$t/out" b "stopped [null, []]" 10 '[v["pid"], v["addresses"]]'
    expect_exit 0 yv "$root" delete --name a
    wait_last "$t/out" a gone 10
    # a config changed by another command: its new forwards
    expect_exit 0 yv "$root" forward add --name b "udp:$((base + 1)):53"
    wait_last "$t/out" b "stopped [$base, $((base + 1))]" 10 \
        '[f["host"] for f in v["networks"][0]["forwards"]]'
    tiny "$root" c
    wait_last "$t/out" c stopped 10
    assert_eq 1 "$(grep -cx '{"synced":true}' "$t/out")" "still one synced line"
    # nothing but objects, one a line; no error
    "$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$t/out" ||
        fail "a line that is not JSON: $(cat "$t/out")"
    [ ! -s "$t/out.err" ] || fail "stderr: $(cat "$t/out.err")"
    exec {WATCH_IN}>&-
    watch_ends 5
}

# No line when nothing changed: an idle root's watch writes its first lines and then nothing.
test_idle_writes_nothing()
{
    local root t n
    new_root root
    mktmp_into t
    tiny "$root" a
    start_watch "$root" "$t/out" --json
    wait_synced "$t/out" 10
    n=$(wc -l <"$t/out")
    sleep 3
    assert_eq "$n" "$(wc -l <"$t/out")" "lines after 3 idle seconds"
    exec {WATCH_IN}>&-
    watch_ends 5
}

# SIGTERM, SIGINT and SIGHUP end it with 0 (its input still open).
test_signals_end_it()
{
    local root t sig
    new_root root
    mktmp_into t
    tiny "$root" a
    for sig in TERM INT HUP; do
        start_watch "$root" "$t/out.$sig" --json
        wait_synced "$t/out.$sig" 10
        kill "-$sig" "$WATCH"
        watch_ends 5
        exec {WATCH_IN}>&-
    done
}

# Text: NAME STATE ADDRESS VNC FORWARDS, "-" for an empty field; NAME gone.
test_text_mode()
{
    local root t base
    free_base base
    new_fw_root root "$base"
    mktmp_into t
    tiny "$root" a
    tiny "$root" b --network user --forward "127.0.0.1:$base:22" --forward "udp:$((base + 1)):53"
    start_watch "$root" "$t/out"
    for _ in $(seq 50); do
        [ "$(wc -l <"$t/out")" -ge 2 ] && break
        sleep 0.1
    done
    assert_eq "a stopped - :1 -
b stopped - :2 $base->22,$((base + 1))->53/udp" "$(cat "$t/out")" "the first lines"
    expect_exit 0 yv "$root" run --name b
    for _ in $(seq 100); do
        grep -qx "b running 127.0.0.1:$base :2/ok $base->22,$((base + 1))->53/udp" "$t/out" && break
        sleep 0.1
    done
    grep -qx "b running 127.0.0.1:$base :2/ok $base->22,$((base + 1))->53/udp" "$t/out" ||
        fail "no running line for b: $(cat "$t/out")"
    expect_exit 0 yv "$root" delete --name a
    for _ in $(seq 50); do
        grep -qx "a gone" "$t/out" && break
        sleep 0.1
    done
    grep -qx "a gone" "$t/out" || fail "no gone line: $(cat "$t/out")"
    expect_exit 0 yv "$root" shutdown --force --name b
    exec {WATCH_IN}>&-
    watch_ends 5
}

# A reader that stalls (its pipe full: one page) while a VM is started and force-stopped again and
# again: watch keeps one waiting line per VM, so when the reader reads again the VM's last line is
# its latest state, the intermediate ones were dropped, and watch's memory did not grow.
test_slow_reader_gets_latest()
{
    local root t i before after pid
    new_root root
    mktmp_into t
    # 16 VMs: their first lines (about 330 bytes each) are more than the one page the pipe holds
    for i in a b c d e f g h i j k l m n o p; do tiny "$root" "$i"; done
    mkfifo "$t/fifo"
    # the reader: a one-page pipe (sized before watch opens it: read-write, the open does not
    # wait for a writer), nothing read until $t/go exists, then everything until 3 s of quiet
    "$PY" - "$t/fifo" "$t/go" "$t/out" "$t/ready" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
open(sys.argv[4], "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
os.set_blocking(fd, False)
out, quiet = open(sys.argv[3], "wb"), time.time()
while time.time() - quiet < 3:
    try:
        b = os.read(fd, 65536)
    except BlockingIOError:
        time.sleep(0.05)
        continue
    if not b:
        break
    out.write(b)
    out.flush()
    quiet = time.time()
PY
    local reader=$!
    at_exit kill "$reader"
    for _ in $(seq 50); do
        [ -e "$t/ready" ] && break
        sleep 0.1
    done
    [ -e "$t/ready" ] || fail "the reader did not open the FIFO"
    # freed memory reused at once (ASan would hold it in quarantine: growth that is no leak)
    ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" \
        start_watch "$root" "$t/fifo" --json
    sleep 2 # its first lines fill the pipe
    for i in 0 1 2 3 4; do
        expect_exit 0 yv "$root" run --name p
        pid=$(cat "$root/run/p.pid")
        sleep 0.5
        expect_exit 0 yv "$root" shutdown --force --name p
        sleep 0.5
        # after the first cycle: what a running VM's watching allocates the first time is there
        [ "$i" != 0 ] || before=$(rss_kb "$WATCH")
    done
    after=$(rss_kb "$WATCH")
    touch "$t/go"
    wait "$reader"
    assert_eq "stopped null" "$(last_of "$t/out" p 'v["pid"]')" "p's last line"
    local np
    np=$(grep -c '"name":"p"' "$t/out")
    [ "$np" -le 3 ] || fail "$np lines about p (5 starts and stops while the reader stalled): $(grep '"name":"p"' "$t/out" | cut -c1-200)"
    assert_eq 1 "$(grep -cx '{"synced":true}' "$t/out")" "one synced line"
    [ $((after - before)) -lt 1024 ] || fail "watch's VmRSS grew from $before to $after kB"
    exec {WATCH_IN}>&-
    watch_ends 5
    [ -n "$pid" ]
}

# A reader that closes the pipe ends it with 0, its input still open.
test_reader_closing_ends_it()
{
    local root t
    new_root root
    mktmp_into t
    tiny "$root" a
    mkfifo "$t/fifo"
    head -n 1 <"$t/fifo" >"$t/first" &
    start_watch "$root" "$t/fifo" --json
    watch_ends 10
    assert_match '^\{"vm":\{.*"name":"a"' "$(cat "$t/first")" "the line head read"
    exec {WATCH_IN}>&-
}

# Errors before the first line are every verb's: a root others may write to (spec §16), --file -.
test_error_before_watching()
{
    local t
    mktmp_into t
    mkdir -m 0777 "$t/root"
    EXPECT_STDIN=/dev/null expect_exit 77 yv "$t/root" --json watch
    assert_json_error PERMISSION
    # its end is standard input's: not when that holds the commands
    chmod go-w "$t/root"
    printf 'watch\n' >"$t/cmds"
    EXPECT_STDIN=$t/cmds expect_exit 2 yv "$t/root" --json --file -
    assert_json_error USAGE
}

run_tests "$@"
