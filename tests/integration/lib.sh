# shellcheck shell=bash
# Shared helpers of the integration tests: sourced by every tests/integration/test-*.sh.
#
# A test file defines functions named test_* and ends with `run_tests "$@"`. Each test function
# runs in its own subshell, so a failed assertion (which exits) ends only that test, and the
# cleanup actions it registered (temporary roots, mounts, background listeners) run when it ends.
#
# The binary under test is $YAVE_TEST_BIN (default: build/asan/yave-tui of this checkout).
#
# shellcheck disable=SC2034 # variables set here are used by the test files that source it

set -u
export LC_ALL=C

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$IT_DIR/../.." && pwd)
FIXTURES_DIR="$REPO_DIR/tests/fixtures"
YAVE_TEST_BIN=${YAVE_TEST_BIN:-$REPO_DIR/build/asan/yave-tui}
export YAVE_TEST_BIN
# Sanitizer reports must fail the test: they change the exit status and add stderr lines.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The root comes from --root only: nothing from the caller's environment.
unset YAVE_ROOT

MIB=1048576
# The distribution's python3 (a pyenv shim on PATH costs 0.1 s a call); PyYAML when it has it.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
# "${DEFAULT_SIGNALS[@]}" CMD... &: CMD in the background with SIGINT and SIGHUP at their defaults,
# as a terminal's foreground job has them (python execs CMD: $! is CMD's pid). Bash starts a
# background job with SIGINT ignored, and a run under nohup has SIGHUP ignored: a command that
# inherits an ignored SIGHUP keeps ignoring it, as yave does (create, watch), and a test of what
# SIGHUP does would test nothing.
# shellcheck disable=SC2034 # used by the test files
DEFAULT_SIGNALS=("$PY" -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])')

# ---- failing and cleaning up ----

CURRENT_TEST=
_CLEANUP=()

fail()
{
    printf '    FAIL %s: %s\n' "${CURRENT_TEST:-?}" "$*" >&2
    if [ -n "${LAST_CMD:-}" ]; then
        printf '      last command: %s (exit %s)\n' "$LAST_CMD" "${RC:-?}" >&2
        printf '      stdout: %s\n' "$(printf '%s' "${OUT:-}" | head -c 2000 | sed '2,$s/^/              /')" >&2
        printf '      stderr: %s\n' "$(printf '%s' "${ERR:-}" | head -c 2000 | sed '2,$s/^/              /')" >&2
    fi
    exit 1
}

# at_exit CMD...: run CMD when the current test ends (last registered runs first).
at_exit()
{
    local q
    q=$(printf '%q ' "$@")
    _CLEANUP+=("$q")
}

_run_cleanup()
{
    local i
    for ((i = ${#_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${_CLEANUP[$i]}" >/dev/null 2>&1 || true
    done
    _CLEANUP=()
}

# mktmp_into VAR: sets VAR to a fresh temporary folder, removed when the test ends. (Not d=$(…):
# the removal must be registered in the test's own shell, not in a command substitution.)
mktmp_into()
{
    local __mt_d
    __mt_d=$(mktemp -d /tmp/yave-it.XXXXXXXX) || fail "mktemp failed"
    at_exit rm -rf --one-file-system -- "$__mt_d"
    printf -v "$1" '%s' "$__mt_d"
}

# new_root VAR: a fresh storage root in a temporary folder, holding only a config.yaml whose
# vnc.listen is a loopback address of this test alone (also in $VNC_LISTEN), so VNC servers of
# other programs on 127.0.0.1 do not change which displays are picked.
new_root()
{
    local __nr_t __nr_r
    mktmp_into __nr_t
    __nr_r="$__nr_t/root"
    # before the folder goes: any QEMU of this root a failing test left running (a first boot
    # whose create was killed, a VM never shut down)
    at_exit stop_qemus "$__nr_r"
    mkdir "$__nr_r" || fail "mkdir $__nr_r"
    VNC_LISTEN="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
    printf 'vnc:\n  listen: %s\n' "$VNC_LISTEN" >"$__nr_r/config.yaml"
    printf -v "$1" '%s' "$__nr_r"
}

# procs_with TEXT: "PID cmdline" of every process (but this one) whose command line holds TEXT.
procs_with()
{
    "$PY" - "$1" <<'PY'
import os, sys
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) == os.getpid():
        continue
    try:
        c = open("/proc/%s/cmdline" % p, "rb").read()
    except OSError:
        continue
    if sys.argv[1].encode() in c:
        print(p, c.replace(b"\0", b" ").decode(errors="replace"))
PY
}
# wait_line FILE TEXT PID SECONDS STEP: waits until FILE holds TEXT (checked every STEP s, for at
# most SECONDS) while PID runs; fails without it, showing FILE.
wait_line()
{
    local end=$((SECONDS + $4))
    while [ "$SECONDS" -lt "$end" ] && ! grep -q "$2" "$1"; do
        kill -0 "$3" 2>/dev/null || break
        sleep "$5"
    done
    grep -q "$2" "$1" || fail "no '$2' line: $(cat "$1")"
}
# hold_root_lock ROOT: takes ROOT's lock (run/lock) in the background, as a `run` starting a QEMU
# holds it, until release_root_lock (or the test's end). Only flock holds it (-o), not its sleep.
hold_root_lock()
{
    flock -o "$1/run/lock" sleep 300 &
    LOCK_HOLDER=$!
    at_exit pkill -P "$LOCK_HOLDER" -x sleep
    for _ in $(seq 50); do
        flock -n "$1/run/lock" true || return 0
        sleep 0.1
    done
    fail "could not take $1/run/lock"
}

# release_root_lock: lets go of the lock hold_root_lock took.
release_root_lock()
{
    pkill -P "$LOCK_HOLDER" -x sleep
    wait "$LOCK_HOLDER" 2>/dev/null
}

# ---- QEMU processes (a daemonized QEMU is not our child) ----

QEMU_EXE=$(realpath "$(command -v qemu-system-x86_64)" 2>/dev/null)

# is_qemu PID: /proc/PID/exe is the QEMU binary.
is_qemu()
{
    local t
    t=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    [ -n "$QEMU_EXE" ] && [ "${t% (deleted)}" = "$QEMU_EXE" ]
}

# pid_exited PID: gone, or a zombie waiting for PID 1 to reap it.
pid_exited()
{
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    case "${s:0:1}" in Z | X) return 0 ;; esac
    return 1
}

# now_ms: milliseconds since the epoch (bash 5's EPOCHREALTIME: no fork).
now_ms()
{
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# wait_exited PID [TENTHS]: waits until PID has exited (default 5 s); fails otherwise.
wait_exited()
{
    local i
    for ((i = 0; i < ${2:-50}; i++)); do
        pid_exited "$1" && return 0
        sleep 0.1
    done
    fail "process $1 did not exit"
}

# qemus_of ROOT: pids of the live QEMU processes whose command line names ROOT/run/ (ours alone:
# every QEMU yave starts has its pidfile and QMP socket there). One grep over every command line.
qemus_of()
{
    local f p
    grep -lsaF -- "$1/run/" /proc/[0-9]*/cmdline 2>/dev/null | while IFS= read -r f; do
        p=${f#/proc/}
        p=${p%/cmdline}
        is_qemu "$p" && ! pid_exited "$p" && echo "$p"
    done
}

# end_process PID EXE: the cleanup of a process a test started (when it is still EXE): SIGTERM, up
# to 5 s to exit (an ASan build checks for leaks on its way out), then SIGKILL.
end_process()
{
    [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(realpath "$2")" ] || return 0
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 50); do
        pid_exited "$1" && return 0
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    return 0
}

# stop_qemus ROOT: the cleanup of a test that starts QEMU — the QEMU of each ROOT/run/*.pid and
# any QEMU naming ROOT/run/, only when /proc/PID/exe is QEMU: SIGCONT (a test may have stopped
# it), SIGKILL, then up to 3 s each for them to be gone.
stop_qemus()
{
    local f p pids=()
    for f in "$1"/run/*.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f" 2>/dev/null)
        [[ "$p" =~ ^[0-9]+$ ]] && is_qemu "$p" && pids+=("$p")
    done
    mapfile -t -O "${#pids[@]}" pids < <(qemus_of "$1")
    for p in "${pids[@]}"; do
        is_qemu "$p" && kill -CONT "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 30); do
            pid_exited "$p" && break
            sleep 0.1
        done
    done
    return 0
}

# ---- running the binary ----

# yv ROOT ARGS...: the batch front end on ROOT.
yv()
{
    local r=$1
    shift
    "$YAVE_TEST_BIN" --batch --root "$r" "$@"
}

# expect_exit CODE CMD...: runs CMD with stdin from $EXPECT_STDIN (default /dev/null), sets OUT,
# ERR (stdout and stderr, without the final newline) and RC, and fails unless RC is CODE.
expect_exit()
{
    local want=$1
    shift
    run_cmd "$@"
    [ "$RC" = "$want" ] || fail "expected exit status $want, got $RC"
}

# run_cmd CMD...: like expect_exit without the check.
run_cmd()
{
    local f
    f=$(mktemp /tmp/yave-it-out.XXXXXXXX) || fail "mktemp failed"
    LAST_CMD=$(printf '%q ' "$@")
    RC=0
    "$@" <"${EXPECT_STDIN:-/dev/null}" >"$f.out" 2>"$f.err" || RC=$?
    OUT=$(cat "$f.out")
    ERR=$(cat "$f.err")
    OUT_LINES=$(wc -l <"$f.out")
    ERR_LINES=$(wc -l <"$f.err")
    rm -f "$f" "$f.out" "$f.err"
}

# ---- assertions ----

assert_eq()
{
    [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$1', got '$2'"
}

assert_ne()
{
    [ "$1" != "$2" ] || fail "${3:-values are equal}: both are '$1'"
}

assert_contains()
{
    case "$1" in
    *"$2"*) ;;
    *) fail "${3:-missing text}: '$2' not found in: $1" ;;
    esac
}

assert_not_contains()
{
    case "$1" in
    *"$2"*) fail "${3:-unexpected text}: '$2' found in: $1" ;;
    esac
}

# assert_match ERE STRING [MSG]
assert_match()
{
    printf '%s' "$2" | grep -Eq -- "$1" || fail "${3:-no match}: /$1/ does not match: $2"
}

# assert_out_line ERE [MSG]: some line of stdout matches ERE.
assert_out_line()
{
    grep -Eq -- "$1" <<<"$OUT" || fail "${2:-no such line}: no line of stdout matches /$1/"
}

assert_file()
{
    [ -f "$1" ] || fail "${2:-file missing}: $1"
}

assert_no_file()
{
    if [ -e "$1" ] || [ -L "$1" ]; then fail "${2:-should not exist}: $1"; fi
}

# assert_stdout_empty / assert_stderr_empty
assert_stdout_empty()
{
    [ -z "$OUT" ] || fail "${1:-stdout should be empty}"
}

assert_stderr_empty()
{
    [ -z "$ERR" ] || fail "${1:-stderr should be empty}"
}

# assert_err_line COMMAND ERE: stderr is exactly one line `yave-tui: COMMAND: <message>` and the
# message matches ERE. COMMAND empty = an error outside a command (`yave-tui: <message>`).
assert_err_line()
{
    local cmd=$1 re=$2 prefix="yave-tui: "
    [ -n "$cmd" ] && prefix="yave-tui: $cmd: "
    [ "$ERR_LINES" -eq 1 ] || fail "stderr should be exactly one line, it has $ERR_LINES"
    case "$ERR" in
    "$prefix"?*) ;;
    *) fail "stderr should start with '$prefix'" ;;
    esac
    assert_match "$re" "${ERR#"$prefix"}" "error message"
}

# qmp ROOT VM COMMAND [ARGS-JSON]: one QMP command on the VM's socket, as another client would send
# it (greeting, capabilities, the command, disconnect); prints its "return" as JSON. Fails on a
# QMP error.
qmp()
{
    qmp_items "$1/run/$2.sock" "$3" "${4:-"{}"}" || fail "QMP $3 on $1/run/$2.sock failed"
}

# qmp_items SOCK ITEM...: QMP commands on one connection to SOCK, an ITEM being `CMD` (then, when
# the next argument starts with `{`, its arguments as JSON), `hmp:LINE` (an HMP command) or `status`
# (query-status's status alone); prints a line for each: the return as JSON, the HMP output, the
# status. Exits non-zero at the first QMP error.
qmp_items()
{
    "$PY" - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())
def call(cmd, args):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:
        m = json.loads(f.readline())
        if "error" in m:
            sys.exit(m["error"]["desc"])
        if "return" in m:
            return m["return"]
call("qmp_capabilities", {})
items = sys.argv[2:]
while items:
    item = items.pop(0)
    if item.startswith("hmp:"):
        print(call("human-monitor-command", {"command-line": item[4:]}).strip())
    elif item == "status":
        print(call("query-status", {})["status"])
    else:
        args = json.loads(items.pop(0)) if items and items[0].startswith("{") else {}
        print(json.dumps(call(item, args)))
PY
}

# ---- JSON (python3) ----

# json_docs: checks that $OUT is a sequence of JSON documents, one per line; prints their count.
json_count()
{
    printf '%s\n' "$OUT" | "$PY" -c '
import json, sys
n = 0
for i, line in enumerate(sys.stdin.read().splitlines(), 1):
    try:
        json.loads(line)
    except Exception as e:
        sys.exit("stdout line %d is not one JSON document: %s: %r" % (i, e, line[:200]))
    n += 1
print(n)' || fail "stdout is not one JSON document per line"
}

# assert_json_docs N: stdout holds exactly N JSON documents, one per line.
assert_json_docs()
{
    local n
    n=$(json_count) || exit 1
    assert_eq "$1" "$n" "number of JSON documents on stdout"
}

# jv EXPR [JSON]: evaluates the Python expression EXPR with d = the JSON document (default $OUT)
# and prints the result (strings raw, anything else as JSON).
jv()
{
    local expr=$1 doc=${2-$OUT} r
    r=$(printf '%s' "$doc" | "$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$expr" 2>&1) || fail "cannot evaluate $expr on the JSON: $r"
    printf '%s\n' "$r"
}

# assert_json_error CODE: stdout is exactly one document {"error": {"code": CODE, "message": …}}.
assert_json_error()
{
    local r
    r=$(printf '%s' "$OUT" | "$PY" -c '
import json, sys
lines = sys.stdin.read().split("\n")
if len(lines) != 1:
    sys.exit("stdout should be one line holding one JSON document, it has %d lines" % len(lines))
d = json.loads(lines[0])
if list(d) != ["error"] or sorted(d["error"]) != ["code", "message"]:
    sys.exit("not {\"error\": {\"code\", \"message\"}}: %r" % d)
if d["error"]["code"] != sys.argv[1]:
    sys.exit("JSON error code: expected %s, got %s" % (sys.argv[1], d["error"]["code"]))
if not d["error"]["message"] or "\n" in d["error"]["message"]:
    sys.exit("the JSON error message is empty or has several lines")
' "$1" 2>&1) || fail "$r"
}

# ---- the status table ----

# table_cell VM COLUMN: the cell of the status table on stdout in the row of VM, under the header
# COLUMN (NAME, STATE, VCPU, MEMORY, VNC, NETWORK, …): the words of the row that overlap the
# header word, so left- and right-aligned columns both work; the last column is the rest of the
# line. Fails when there is no such row or column.
table_cell()
{
    local r
    r=$(printf '%s\n' "$OUT" | "$PY" -c '
import re, sys
vm, col = sys.argv[1], sys.argv[2]
lines = sys.stdin.read().splitlines()
at = [i for i, l in enumerate(lines) if l.startswith("NAME ")]
if not at:
    sys.exit("no table header (a line starting with NAME) on stdout")
hdr, lines = lines[at[-1]], lines[at[-1] + 1:]
heads = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", hdr)]
names = [h[0] for h in heads]
if col not in names:
    sys.exit("no column %s in the header %r" % (col, hdr))
rows = [l for l in lines if l.split()[:1] == [vm]]
if len(rows) != 1:
    sys.exit("%d table rows for %s" % (len(rows), vm))
row = rows[0]
i = names.index(col)
_, start, end = heads[i]
if i == len(heads) - 1:
    print(row[start:].strip())
else:
    words = [m.group() for m in re.finditer(r"\S+", row) if m.start() < end and m.end() > start]
    print(" ".join(words))
' "$1" "$2" 2>&1) || fail "status table: $r"
    printf '%s\n' "$r"
}

# assert_row VM COLUMN=VALUE...: cells of VM's row in the status table on stdout.
assert_row()
{
    local vm=$1 kv
    shift
    for kv in "$@"; do
        assert_eq "${kv#*=}" "$(table_cell "$vm" "${kv%%=*}")" "status table, $vm, column ${kv%%=*}"
    done
}

# assert_cell_match VM COLUMN ERE: a cell of the status table on stdout matches ERE.
assert_cell_match()
{
    assert_match "$3" "$(table_cell "$1" "$2")" "status table, $1, column $2"
}

# ---- the state of a root ----

# snapshot_root DIR: every entry below DIR (hidden ones too) with its type, mode, size, link target
# and a SHA-256 of file contents, sorted; two snapshots are equal only if nothing was written.
snapshot_root()
{
    local dir=$1
    [ -d "$dir" ] || {
        echo "(no folder $dir)"
        return 0
    }
    (
        cd "$dir" || exit 1
        find . -printf '%p\t%y\t%m\t%s\t%l\n' | sort | while IFS=$'\t' read -r p y m s l; do
            h=-
            [ "$y" = f ] && h=$(sha256sum <"$p" | cut -c1-64)
            [ "$y" = d ] && s=-
            printf '%s %s %s %s %s %s\n' "$p" "$y" "$m" "$s" "$h" "$l"
        done
    )
}

# assert_no_trace BEFORE DIR: the snapshot of DIR is still BEFORE.
assert_no_trace()
{
    local before=$1 dir=$2 after
    after=$(snapshot_root "$dir")
    [ "$before" = "$after" ] ||
        fail "the root changed: $(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]' | head -20 | tr '\n' ';')"
}

# vm_config_value ROOT VM KEY: the value of the first `KEY:` line of the VM's config.yaml, unquoted.
vm_config_value()
{
    sed -n "s/^ *$3: *//p" "$1/$2.vm/config.yaml" | head -1 | sed "s/^'\(.*\)'\$/\1/; s/''/'/g"
}

# display_of ROOT VM: the VM's VNC display number (from config.yaml).
display_of()
{
    local d
    d=$(vm_config_value "$1" "$2" display)
    d=${d#:}
    [[ "$d" =~ ^[0-9]+$ ]] || fail "no VNC display in $2's config.yaml"
    echo "$d"
}

# img_info PATH EXPR: evaluates EXPR on `qemu-img info --output=json PATH` (see jv).
img_info()
{
    local j
    j=$(qemu-img info -U --output=json "$1") || fail "qemu-img info $1 failed"
    jv "$2" "$j"
}

# poweroff_preset ROOT NAME: a preset whose cloud image is one MBR boot sector (16-bit code) that
# prints "yave-fake-guest: powering off" on COM1, reads the PIIX4 PM I/O base from PCI 00:01.3
# (register 0x40) and writes SLP_EN|SLP_TYP=S5 to PM1a_CNT: QEMU sees a guest power-off.
poweroff_preset()
{
    mkdir "$1/$2.preset" || fail "mkdir preset"
    "$PY" - "$1/$2.preset/fake.raw" <<'PY' || fail "writing the boot sector"
import sys
code = bytes.fromhex(
    "fa31c08ed8be3d7cac84c07411bafd03eca82074fb8a44ffbaf803eeebea66b8400b0080baf80c66ef"
    "bafc0c66ed83e0c083c00489c2b80020eff4ebfd"
    + b"yave-fake-guest: powering off\r\n\0".hex())
img = bytearray(1 << 20)
img[:len(code)] = code
img[510:512] = b"\x55\xaa"
open(sys.argv[1], "wb").write(img)
PY
    qemu-img convert -O qcow2 "$1/$2.preset/fake.raw" "$1/$2.preset/fake.qcow2" || fail "convert"
    rm -f "$1/$2.preset/fake.raw"
    printf 'cloudimg: fake.qcow2\n' >"$1/$2.preset/config.yaml"
}

# echo_guest_image PATH: a qcow2 disk whose boot sector talks on COM1 without an OS: it prints
# "yave-echo-guest: ready" and echoes every byte it receives, letters upper-cased (an echo is told
# from our own input). 16-bit x86, assembled from this source (GNU as --32, .code16):
#   cli; ds=ss=0; sp=0x7c00; IVT[0x0c] (IRQ4) = isr
#   COM1: IER=1 (data available), LCR=3 (8N1), MCR=0x0b (DTR RTS OUT2); PIC: unmask IRQ4
#   print msg
#   idle: while LSR & 1: al = RBR; 'a'..'z' → upper-case; putc al
#         sti; hlt; cli; jmp idle        (an interrupt, COM1's or the timer's, wakes it: no busy loop)
#   putc: wait LSR & 0x20; out RBR
#   isr:  EOI to the PIC; iret
echo_guest_image()
{
    "$PY" - "$1.raw" <<'PY' || fail "writing the boot sector"
import sys
code = bytes.fromhex(
    "fa31c08ed88ed0bc007cc70630006a7cc70632000000baf903b001eebafb03b003eebafc03b00beee42124"
    "efe621be717cac84c07405e82200ebf6bafd03eca8017413baf803ec3c6172063c7a77022c20e80700ebe5"
    "fbf4faebe050bafd03eca82074fb58baf803eec350b020e62058cf"
    + b"yave-echo-guest: ready\r\n\0".hex())
img = bytearray(1 << 20)
img[:len(code)] = code
img[510:512] = b"\x55\xaa"
open(sys.argv[1], "wb").write(img)
PY
    qemu-img convert -O qcow2 "$1.raw" "$1" || fail "convert"
    rm -f "$1.raw"
}

# make_base PATH MiB: a qcow2 base image of MiB with real data (0x55) in its first 2 MiB.
make_base()
{
    qemu-img create -q -f qcow2 "$1" "${2}M" || fail "qemu-img create $1"
    qemu-io -c 'write -P 0x55 0 2M' "$1" >/dev/null || fail "qemu-io write $1"
}

# md5_mac NAME: 52:54: followed by the first four bytes of MD5(NAME).
md5_mac()
{
    local h
    h=$(printf '%s' "$1" | md5sum | cut -c1-8)
    printf '52:54:%s:%s:%s:%s\n' "${h:0:2}" "${h:2:2}" "${h:4:2}" "${h:6:2}"
}

# listen_tcp ADDR PORT: a TCP listener in the background until the test ends.
listen_tcp()
{
    local __lt_ready
    mktmp_into __lt_ready
    "$PY" -c '
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
open(sys.argv[3], "w").close()
time.sleep(120)' "$1" "$2" "$__lt_ready/up" </dev/null >/dev/null 2>&1 &
    local pid=$!
    at_exit kill "$pid"
    for _ in $(seq 100); do
        [ -e "$__lt_ready/up" ] && return 0
        kill -0 "$pid" 2>/dev/null || fail "cannot listen on $1:$2"
        sleep 0.02
    done
    fail "listener on $1:$2 did not come up"
}

# ---- running the tests of a file ----

run_tests()
{
    local tests=("$@") t failed=0 passed=0
    if [ ${#tests[@]} -eq 0 ]; then
        mapfile -t tests < <(declare -F | awk '$3 ~ /^test_/ {print $3}')
    fi
    [ -x "$YAVE_TEST_BIN" ] || {
        echo "    FAIL: no executable at YAVE_TEST_BIN=$YAVE_TEST_BIN (run make build/asan/yave-tui)" >&2
        exit 1
    }
    for t in "${tests[@]}"; do
        local start=$SECONDS
        (
            CURRENT_TEST=$t
            _CLEANUP=()
            trap _run_cleanup EXIT
            "$t"
        )
        if [ $? -eq 0 ]; then
            passed=$((passed + 1))
            printf '    ok   %s (%ss)\n' "$t" $((SECONDS - start))
        else
            failed=$((failed + 1))
            printf '    FAIL %s\n' "$t"
        fi
    done
    printf '    %d passed, %d failed\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
}

# ---- pictures ----

# png_size FILE: "WIDTH HEIGHT" from FILE's PNG header (signature, then IHDR); fails when FILE is
# not a PNG. (tests/tools/screencmp.py --info decodes the pixels.)
png_size()
{
    local r
    r=$("$PY" - "$1" <<'PY' 2>&1
import struct, sys
b = open(sys.argv[1], "rb").read()
if b[:8] != b"\x89PNG\r\n\x1a\n" or b[12:16] != b"IHDR" or struct.unpack(">I", b[8:12])[0] != 13:
    sys.exit("not a PNG file (%d bytes, starts %r)" % (len(b), b[:16]))
print(*struct.unpack(">II", b[16:24]))
PY
    ) || fail "png_size $1: $r"
    printf '%s\n' "$r"
}
