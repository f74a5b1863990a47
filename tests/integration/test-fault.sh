#!/usr/bin/env bash
# Fault injection: every operation that writes is all-or-nothing (notes/reliability.md "Files").
#
# build/fault/faultshim.so (tests/fault/faultshim.c, LD_PRELOAD) makes the Nth call of one operation
# (write, fsync, rename, renameat2, mkdir, open-for-writing, exec, send) fail with ENOSPC or EIO.
# For each yave operation below, a first run with YAVE_FAULT_LOG learns how many calls of each kind
# it makes; then for every kind, N = 1, 2, … until the operation succeeds with no fault injected
# (N beyond the count), and after every N:
#   failed    → exit status non-zero, one line `yave-tui: <cmd>: …` naming the errno, and the root
#               exactly as before (snapshot_root: names, types, modes, sizes, content hashes) except
#               run/ and run/lock (made on first use) and, for run, the VM's qemu.log/serial.log
#               (the log of the attempt);
#   succeeded → the result is complete (listed, `status --json` parses, disk there, table entry);
#               a fault the operation swallowed is allowed only for the best-effort fsync of a
#               folder after a rename that already happened;
#   always    → no *.tmp-* file, no .<vm>.vm.part or .<vm>.vm.del-* folder, no QEMU left running
#               for the root after a failure (pidfile, /proc/*/cmdline), nothing left in $TMPDIR.
# After a failing N, each call the undo made after the fault is failed too (a failing undo): the
# operation must still fail with one line, and leave the root as it was unless its message says what
# is left (undo paths already tried are skipped, so this adds only a few runs).
# The release build is used (ASan's own allocations and syscalls would shift the counts, and ASan
# refuses to run with another library preloaded before it): a private copy of ./yave-tui, or of
# $YAVE_FAULT_BIN; the shim is $YAVE_FAULT_SHIM (default build/fault/faultshim.so).
# shellcheck disable=SC2034 # OUT_LINES, LAST_CMD: read by lib.sh's fail
# shellcheck disable=SC2015 # `A && B || fail` is meant: fail unless both hold
. "$(dirname "$0")/lib.sh"

SHIM=${YAVE_FAULT_SHIM:-$REPO_DIR/build/fault/faultshim.so}
if [ -z "${YAVE_FAULT_BIN:-}" ]; then
    make -s -C "$REPO_DIR" yave-tui build/fault/faultshim.so >/dev/null 2>&1 ||
        echo "    (cannot build yave-tui or $SHIM)" >&2
fi
# A private copy: a rebuild of the checkout while this runs must not pull the binary from under it.
FAULT_DIR=$(mktemp -d /tmp/yave-fault.XXXXXXXX) || exit 1
trap 'rm -rf "$FAULT_DIR"' EXIT
cp "${YAVE_FAULT_BIN:-$REPO_DIR/yave-tui}" "$FAULT_DIR/yave-tui" || exit 1
YAVE_TEST_BIN=$FAULT_DIR/yave-tui
export YAVE_TEST_BIN
unset YAVE_FAULT YAVE_FAULT_LOG YAVE_FAULT_OWNER YAVE_FAULT_CHILDREN
[ -f "$SHIM" ] || {
    echo "    FAIL: no $SHIM (make build/fault/faultshim.so)" >&2
    exit 1
}
OPS=(write fsync rename renameat2 mkdir open exec send)
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd

# ---- helpers of this file ----

# snap DIR: lib.sh's snapshot_root (the same lines: checked by test_snapshot_is_lib_snapshot), with
# one find and one sha256sum instead of a sha256sum per file: it runs after every one of ~200 runs.
snap()
{
    [ -d "$1" ] || {
        echo "(no folder $1)"
        return 0
    }
    (
        cd "$1" || exit 1
        awk -F'\t' 'NR == FNR { h[substr($0, 67)] = substr($0, 1, 64); next }
            { printf "%s %s %s %s %s %s\n", $1, $2, $3, $2 == "d" ? "-" : $4, $2 == "f" ? h[$1] : "-", $5 }' \
            <(find . -type f -print0 | xargs -0 -r sha256sum) <(find . -printf '%p\t%y\t%m\t%s\t%l\n' | sort)
    )
}

# fault_root VAR: a fresh root (see new_root) whose QEMU uses TCG, and a private TMPDIR
# ($FTMP) for the binary. QEMUs left behind are killed when the test ends.
fault_root()
{
    local __fr_r
    new_root __fr_r
    printf 'qemu:\n  accel: tcg\novmf:\n  code: %s\n  vars: %s\n' "$OVMF_CODE" "$OVMF_VARS" \
        >>"$__fr_r/config.yaml"
    mktmp_into FTMP
    printf -v "$1" '%s' "$__fr_r"
}

# fresh_root ROOT: back to a root holding only what fault_root made, *.qcow2 base images and presets.
fresh_root()
{
    find "$1" -mindepth 1 -maxdepth 1 ! -name config.yaml ! -name '*.qcow2' ! -name '*.preset' \
        -exec rm -rf {} +
}

# fy FAULT LOG ARGS...: the binary on $ROOT with the shim; FAULT empty = count only.
fy()
{
    local fault=$1 log=$2
    shift 2
    TMPDIR=$FTMP LD_PRELOAD=$SHIM YAVE_FAULT=$fault YAVE_FAULT_LOG=$log \
        "$YAVE_TEST_BIN" --batch --root "$ROOT" "$@"
}

# run_fy FAULT LOG ARGS...: run_cmd fy … without its helper processes (this runs ~200 times).
run_fy()
{
    local o="$FTMP.out" e="$FTMP.err"
    LAST_CMD="YAVE_FAULT=$1 yave-tui --batch --root $ROOT ${*:3}"
    RC=0
    fy "$@" </dev/null >"$o" 2>"$e" || RC=$?
    OUT='' ERR=''
    IFS= read -r -d '' OUT <"$o"
    IFS= read -r -d '' ERR <"$e"
    local nl=${ERR//[!$'\n']/}
    ERR_LINES=${#nl}
    nl=${OUT//[!$'\n']/}
    OUT_LINES=${#nl}
    OUT=${OUT%$'\n'} ERR=${ERR%$'\n'}
    [ -z "${PROGRESS:-}" ] || drop_progress
    [ -z "${ERR_FILTER:-}" ] || "$ERR_FILTER" # an operation that tells more than its error
}

# drop_progress: ERR without the progress lines of a preset create (a phase and its elapsed time):
# the one-line rule is about the error.
drop_progress()
{
    local l kept=() re='^yave-tui: create: (convert|seed|first boot|cleanup) [0-9]+s'
    while IFS= read -r l; do
        [[ $l =~ $re ]] || kept+=("$l")
    done <<<"$ERR"
    ERR_LINES=${#kept[@]}
    ERR=$(printf '%s\n' "${kept[@]}")
    ERR=${ERR%$'\n'}
}

# without_allowed VAR SNAPSHOT: VAR = the snapshot without the lines a failure may change: run/ and
# run/lock (made on first use), and for run the qemu.log and serial.log of the VMs in ALLOW_LOGS
# (names separated by spaces: the attempt's log, or a running guest's console).
without_allowed()
{
    local __wa_l __wa_out='' __wa_v __wa_skip
    while IFS= read -r __wa_l; do
        case $__wa_l in
        "./run/lock "* | "./run d "*) continue ;;
        esac
        __wa_skip=0
        for __wa_v in ${ALLOW_LOGS:-}; do
            case $__wa_l in
            "./$__wa_v.vm/qemu.log "* | "./$__wa_v.vm/serial.log "*) __wa_skip=1 ;;
            esac
        done
        ((__wa_skip)) || __wa_out+=$__wa_l$'\n'
    done <<<"$2"
    printf -v "$1" '%s' "$__wa_out"
}

# assert_no_debris: no temporary file, .part or .del folder, nothing in $FTMP.
assert_no_debris()
{
    local d
    d=$(find "$ROOT" "$FTMP" -mindepth 1 \( -path "$FTMP/*" -o -name '*.tmp-*' -o -name '.*.vm.part' \
        -o -name '.*.vm.del-*' \) -print)
    [ -z "$d" ] || fail "debris left in the root or in TMPDIR ($FTMP): ${d//$'\n'/ }"
}

# assert_no_qemu VM: no pidfile or socket, no QEMU naming the root.
assert_no_qemu()
{
    local p
    assert_no_file "$ROOT/run/$1.pid" "pidfile after a failed operation"
    assert_no_file "$ROOT/run/$1.sock" "QMP socket after a failed operation"
    assert_no_file "$ROOT/run/$1.events" "QMP event socket after a failed operation"
    p=$(qemus_of "$ROOT")
    [ -z "$p" ] || fail "QEMU left running after a failed operation: pid $p"
}

# assert_failed_cleanly BEFORE ERRNO: the operation failed and changed nothing.
assert_failed_cleanly()
{
    local msg b a
    [ "$RC" != 0 ] || fail "exit status 0 after a failure"
    case $2 in ENOSPC) msg="No space left on device" ;; *) msg="Input/output error" ;; esac
    [ "$ERR_LINES" = 1 ] && [[ $ERR == "yave-tui: $CMD: "*"$msg"* ]] ||
        assert_err_line "$CMD" "$msg" # (fails, saying why)
    AFTER=$(snap "$ROOT")
    without_allowed b "$1"
    without_allowed a "$AFTER"
    # an operation that keeps a first step whole when a later one fails (run --new-display): its
    # check proves the step whole and said, then puts the root back as before
    if [ "$b" != "$a" ] && [ -n "${FAILED_KEPT:-}" ] && "$FAILED_KEPT"; then
        AFTER=$(snap "$ROOT")
        without_allowed a "$AFTER"
    fi
    [ "$b" = "$a" ] ||
        fail "the root changed: $(diff <(printf '%s' "$b") <(printf '%s' "$a") | grep '^[<>]' |
            head -20 | tr '\n' ';')"
    assert_no_debris
    [ -z "${VM_OF_OP:-}" ] || assert_no_qemu "$VM_OF_OP"
    [ -z "${FAILED_CHECK:-}" ] || "$FAILED_CHECK" # what an operation writes outside the root
}

# vm_facts VM: `status --json` of VM parsed once; sets STATE, PID, DISK, DISPLAY.
vm_facts()
{
    local f
    expect_exit 0 yv "$ROOT" --json status --name "$1"
    f=$(printf '%s' "$OUT" | "$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
print(d["state"], d.get("pid") or 0, d["drives"][0]["path"], d["vnc"]["display"])' 2>&1) ||
        fail "status --json of $1 is not the expected document: $f"
    read -r STATE PID DISK DISPLAY <<<"$f"
}

# table_has VM: vnc_table.yaml gives VM a display.
table_has()
{
    grep -Eq "^  ':[0-9]+': '?$1'?\$" "$ROOT/vnc_table.yaml" 2>/dev/null
}

# assert_created VM: a complete, stopped VM.
assert_created()
{
    expect_exit 0 yv "$ROOT" list
    assert_out_line "^$1\$" "the VM is listed"
    vm_facts "$1"
    assert_eq stopped "$STATE" "state of the new VM"
    assert_file "$DISK" "its disk"
    [ "$(head -c 3 "$DISK")" = QFI ] || fail "the disk is not a qcow2 image"
    table_has "$1" || fail "vnc_table.yaml has no display for $1"
    assert_no_debris
}

# ---- the sweep ----

# undo_faults FIRST LOG ARGS...: after the failing run of `ARGS...` under FIRST, whose calls are in
# LOG, fails each call the undo made after the fault too (FIRST,<op>:<n>:EIO): the undo of a
# failure that itself fails. Undo paths already tried (the same calls after the fault) are skipped.
# The operation must fail with one line, and leave the root as it was unless the message says what
# it left (a half-deleted VM's folder, a display it could not free); the root is then restored.
undo_faults()
{
    local first=$1 log=$2 op2 n2 pid rest seen=0 sig='' c calls=() before2 a b
    shift 2
    # a root with a running QEMU cannot be put back by a copy (its pidfile lock and sockets stay
    # with the old files): such a sweep sets NO_UNDO_FAULTS, its undo is swept without one
    [ -z "${NO_UNDO_FAULTS:-}" ] || return 0
    while IFS=' ' read -r op2 n2 pid rest; do
        if ((seen)); then
            calls+=("$op2:$n2")
            sig+="$op2 "
        fi
        [[ $rest == *" FAULT "* ]] && seen=1
    done <"$log"
    [ -n "$sig" ] && [ -z "${UNDO_SEEN[$sig]:-}" ] || return 0
    UNDO_SEEN[$sig]=1
    before2=$(snap "$ROOT")
    rm -rf "$ROOT.saved"
    cp -a "$ROOT" "$ROOT.saved"
    for c in "${calls[@]}"; do
        run_fy "$first,$c:EIO" "$log.2" "$@"
        UNDO_RUNS=$((UNDO_RUNS + 1))
        CURRENT_TEST="$NAME [YAVE_FAULT=$first,$c:EIO: a failing undo]"
        [ "$RC" != 0 ] || fail "exit status 0 after a failure"
        [ "$ERR_LINES" = 1 ] && [[ $ERR == "yave-tui: $CMD: "* ]] || assert_err_line "$CMD" .
        without_allowed b "$before2"
        without_allowed a "$(snap "$ROOT")"
        [ -z "${VM_OF_OP:-}" ] || assert_no_qemu "$VM_OF_OP"
        [ "$b" = "$a" ] && {
            assert_no_debris
            continue
        }
        case $ERR in
        *"half deleted (its folder is "*) ;;
        *"could not be freed"*) ;;
        *"vnc_table.yaml lost display"*) ;; # delete: autostart.yaml and the table's undo failed
        *"(the next command "*) ;;          # snapshot revert: its undo snapshot is settled next
        *"(delete it)"*) ;;                 # snapshot create: the name left on the images it names
        *"keeps display "*", which vnc_table.yaml reserves"*) ;; # set --display: config's undo failed
        *"vnc_table.yaml keeps display "*" reserved for VM"*) ;; # set --display: the table's undo failed
        *"(held by another program); the start failed: "*) [ -n "${FAILED_KEPT:-}" ] && "$FAILED_KEPT" ||
            fail "the move said kept is not whole" ;; # run --new-display: kept, the start failed
        *) fail "the root changed and the message does not say what was left: $(diff \
            <(printf '%s' "$b") <(printf '%s' "$a") | grep '^[<>]' | head -20 | tr '\n' ';')" ;;
        esac
        rm -rf "$ROOT"
        cp -a "$ROOT.saved" "$ROOT"
    done
    rm -rf "$ROOT.saved" "$log.2"
    CURRENT_TEST=$NAME
}

# sweep NAME CMD ARGS...: runs `CMD ARGS...` (a yave command on $ROOT) under every fault. The caller
# defines: prep (make the state before, once), check_ok (after a success), undo (back to the state
# before after a success). Prints the counts; fails on the first broken invariant.
sweep()
{
    local name=$1 log n op fault err before line path tried=0 summary="" swallowed="" slack
    shift
    NAME=$name
    CMD=$1
    UNDO_RUNS=0
    declare -gA UNDO_SEEN=()
    log="$FTMP.log"
    at_exit rm -rf "$log" "$log.2" "$FTMP.out" "$FTMP.err" "$ROOT.saved"
    prep
    rm -f "$log"
    run_fy "" "$log" "$@"
    [ "$RC" = 0 ] || fail "$name: the operation fails without a fault"
    check_ok
    undo
    declare -A count
    for op in "${OPS[@]}"; do count[$op]=$(grep -c "^$op " "$log"); done
    before=$(snap "$ROOT")
    for op in "${OPS[@]}"; do
        # never called: N=1 is already beyond the count, and the counting run was that run
        [ "${count[$op]}" = 0 ] && continue
        # a QMP exchange repeated while a job runs: one more poll when the copy takes longer
        slack=0
        [ "$op" = send ] && [ -n "${SEND_RETRIED:-}" ] && slack=4
        for ((n = 1; ; n++)); do
            ((n <= count[$op] + 1 + ${slack:-0})) ||
                fail "$name: $op still failing at N=$n (${count[$op]} calls counted)"
            err=ENOSPC
            ((n % 2 == 0)) && err=EIO
            fault="$op:$n:$err"
            rm -f "$log"
            run_fy "$fault" "$log" "$@"
            tried=$((tried + 1))
            line=
            [ -f "$log" ] && while IFS= read -r path; do
                [[ $path == *" FAULT "* ]] && line=$path
            done <"$log"
            CURRENT_TEST="$name [YAVE_FAULT=$fault${line:+: ${line%% FAULT*}}]"
            if [ "$RC" != 0 ]; then
                [ -n "$line" ] || fail "failed with no fault injected"
                assert_failed_cleanly "$before" "$err"
                before=$AFTER # the same, but for what a failure may change
                undo_faults "$fault" "$log" "$@"
                continue
            fi
            check_ok
            undo
            before=$(snap "$ROOT")
            [ -z "$line" ] && break
            # a swallowed fault: only the best-effort fsync of a folder after its rename (the
            # folder may be gone since: a .part renamed into place, its seed folder removed), and
            # with SEND_RETRIED a QMP exchange the operation repeats (check_ok proves its effect)
            path=$(printf '%s' "$line" | cut -d' ' -f4)
            { [ "$op" = fsync ] && { [ -d "$path" ] || [[ $path == *.vm.part ]] ||
                [[ $path == *.vm.part/seed ]]; }; } ||
                { [ "$op" = send ] && [ -n "${SEND_RETRIED:-}" ]; } ||
                fail "the operation succeeded although the fault was injected"
            swallowed="$swallowed $op:$n"
        done
        ((n >= count[$op] + 1 - ${slack:-0} && n <= count[$op] + 1 + ${slack:-0})) ||
            fail "$name: $op succeeded at N=$n but ${count[$op]} calls were counted"
        summary="$summary $op=${count[$op]}"
    done
    CURRENT_TEST=$name
    printf '      %-22s calls:%s; %d runs, %d with a failing undo%s\n' "$name" "$summary" "$tried" \
        "$UNDO_RUNS" "${swallowed:+; faults ignored by design (folder fsync, a repeated QMP exchange):$swallowed}"
}

# ---- the operations ----

test_snapshot_is_lib_snapshot()
{
    fault_root ROOT
    make_base "$ROOT/base.qcow2" 16
    expect_exit 0 yv "$ROOT" create --name s1 -c 16 --no-network
    ln -s s1.vm "$ROOT/link"
    mkdir "$ROOT/.hidden"
    : >"$ROOT/.hidden/empty"
    assert_eq "$(snapshot_root "$ROOT")" "$(snap "$ROOT")" "snap and lib.sh's snapshot_root"
}

# create, empty disk, in a fresh root (no vnc_table.yaml yet)
test_create_empty_disk()
{
    fault_root ROOT
    prep() { fresh_root "$ROOT"; }
    check_ok() { assert_created f1; }
    undo() { fresh_root "$ROOT"; }
    sweep "create" create --name f1 -c 16 --no-network
}

# create --image base (a copy: qemu-img info + convert)
test_create_copy()
{
    fault_root ROOT
    make_base "$ROOT/base.qcow2" 16
    prep() { fresh_root "$ROOT"; }
    check_ok()
    {
        assert_created f2
        [ "$(img_info "$ROOT/f2.vm/hd0.qcow2" 'str(d.get("backing-filename"))')" = None ] ||
            fail "a copy has no backing file"
    }
    undo() { fresh_root "$ROOT"; }
    sweep "create --image" create --name f2 --image base --no-network
}

# create --image base --linked (an overlay: qemu-img info + create -b)
test_create_linked()
{
    fault_root ROOT
    make_base "$ROOT/base.qcow2" 16
    prep() { fresh_root "$ROOT"; }
    check_ok()
    {
        assert_created f3
        assert_eq ../base.qcow2 "$(img_info "$ROOT/f3.vm/hd0.qcow2" 'd["backing-filename"]')" \
            "backing file of the overlay"
    }
    undo() { fresh_root "$ROOT"; }
    sweep "create --linked" create --name f3 --image base --linked --no-network
}

# the VNC table update path: a create in a root that already has VMs (vnc_table.yaml rewritten)
test_create_rewrites_vnc_table()
{
    fault_root ROOT
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name old1 -c 16 --no-network
        expect_exit 0 yv "$ROOT" create --name old2 -c 16 --no-network
        expect_exit 0 yv "$ROOT" delete --name old1 # a hole at :1: the new VM takes it
    }
    check_ok()
    {
        assert_created f4
        assert_eq :1 "$DISPLAY" "the new VM takes the free display"
        table_has old2 || fail "old2 lost its display"
    }
    undo() { expect_exit 0 yv "$ROOT" delete --name f4; }
    sweep "create (table update)" create --name f4 -c 16 --no-network
}

# delete (the folder renamed away, the table rewritten, the folder removed)
test_delete()
{
    fault_root ROOT
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name keep -c 16 --no-network
        expect_exit 0 yv "$ROOT" create --name f5 -c 16 --no-network
    }
    check_ok()
    {
        expect_exit 0 yv "$ROOT" list
        assert_eq keep "$OUT" "only keep is left"
        assert_no_file "$ROOT/f5.vm"
        table_has f5 && fail "vnc_table.yaml still gives f5 a display"
        table_has keep || fail "keep lost its display"
        assert_no_debris
    }
    undo() { expect_exit 0 yv "$ROOT" create --name f5 -c 16 --no-network; }
    sweep "delete" delete --name f5
}

# delete of a VM marked for autostart (spec §13): the folder renamed away, the table and
# autostart.yaml rewritten (a failed second write puts the first back), the folder removed
test_delete_marked_for_autostart()
{
    fault_root ROOT
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name keep -c 16 --no-network
        expect_exit 0 yv "$ROOT" create --name f6 -c 16 --no-network
        expect_exit 0 yv "$ROOT" autostart on --name f6
        expect_exit 0 yv "$ROOT" autostart on --name keep
    }
    check_ok()
    {
        expect_exit 0 yv "$ROOT" list
        assert_eq keep "$OUT" "only keep is left"
        assert_no_file "$ROOT/f6.vm"
        table_has f6 && fail "vnc_table.yaml still gives f6 a display"
        expect_exit 0 yv "$ROOT" autostart list
        assert_eq keep "$OUT" "f6's mark went with it, keep's stayed"
        assert_no_debris
    }
    undo()
    {
        expect_exit 0 yv "$ROOT" create --name f6 -c 16 --no-network
        expect_exit 0 yv "$ROOT" autostart on --name f6
    }
    sweep "delete (autostart)" delete --name f6
}

# autostart on: autostart.yaml written atomically, or not at all
test_autostart_on()
{
    fault_root ROOT
    prep() { expect_exit 0 yv "$ROOT" create --name f7 -c 16 --no-network; }
    check_ok()
    {
        expect_exit 0 yv "$ROOT" autostart list
        assert_eq f7 "$OUT" "f7 marked"
        assert_no_debris
    }
    undo() { expect_exit 0 yv "$ROOT" autostart off --name f7; }
    sweep "autostart on" autostart on --name f7
}

# autostart off: autostart.yaml rewritten atomically without the VM (the other mark kept), or not
# at all
test_autostart_off()
{
    fault_root ROOT
    at_exit rm -f "$FTMP.marks"
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name f7 -c 16 --no-network
        expect_exit 0 yv "$ROOT" create --name f8 -c 16 --no-network
        expect_exit 0 yv "$ROOT" autostart on --name f7
        expect_exit 0 yv "$ROOT" autostart on --name f8
        cp -p "$ROOT/autostart.yaml" "$FTMP.marks" || fail "cp autostart.yaml"
    }
    check_ok()
    {
        expect_exit 0 yv "$ROOT" autostart list
        assert_eq f8 "$OUT" "f7 unmarked, f8 kept"
        assert_no_debris
    }
    undo() { cp -p "$FTMP.marks" "$ROOT/autostart.yaml" || fail "restore autostart.yaml"; }
    marks_kept()
    {
        expect_exit 0 yv "$ROOT" autostart list
        assert_eq "$(printf 'f7\nf8')" "$OUT" "the marks after a failed autostart off"
    }
    FAILED_CHECK=marks_kept
    sweep "autostart off" autostart off --name f7
    FAILED_CHECK=
}

# create --preset: convert + resize (qemu-img), the seed (genisoimage, in the .part folder), the
# first boot (QEMU exec'd, QMP until the guest powers off), the VM folder renamed into place. The
# cloud image is lib.sh's one-sector guest that powers off at once, so each run takes a second or two.
test_create_preset()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    poweroff_preset "$ROOT" fake
    printf 'root-pw-1\n' >"$FTMP.pw"
    at_exit rm -f "$FTMP.pw"
    VM_OF_OP=f8
    PROGRESS=1
    prep() { fresh_root "$ROOT"; }
    check_ok()
    {
        assert_created f8
        grep -q "yave-fake-guest: powering off" "$ROOT/f8.vm/serial.log" 2>/dev/null ||
            fail "the first boot's console is not in serial.log"
        assert_file "$ROOT/f8.vm/cidata.iso" # the seed it keeps (the install's instance)
        grep -q 'cidata.iso' "$ROOT/f8.vm/config.yaml" || fail "the kept seed is not in config.yaml"
        assert_no_file "$ROOT/f8.vm/seed"
        [ -z "$(qemus_of "$ROOT")" ] || fail "QEMU still running after the first boot"
    }
    undo() { fresh_root "$ROOT"; }
    sweep "create --preset" create --name f8 --preset fake --root-password-file "$FTMP.pw" \
        --no-network --no-ovmf -m 64 -c 64 --install-timeout 60
    VM_OF_OP='' PROGRESS=''
}

# run: a tiny VM under TCG (QEMU exec'd, pidfile, QMP set_password); a started VM is stopped again
run_sweep()
{
    local vm=$1
    shift
    VM_OF_OP=$vm
    ALLOW_LOGS=$vm
    check_ok()
    {
        vm_facts "$VM_OF_OP"
        assert_eq running "$STATE" "state after run"
        is_qemu "$PID" || fail "pid $PID is not QEMU"
        assert_no_debris
    }
    undo()
    {
        expect_exit 0 yv "$ROOT" shutdown --name "$VM_OF_OP" --force
        [ -z "$(qemus_of "$ROOT")" ] || fail "QEMU still running after shutdown --force"
        [ -z "${FIRST_START:-}" ] || rm -f "$ROOT/$VM_OF_OP.vm/OVMF_VARS.qcow2"
    }
    sweep "$@"
}

test_run()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    prep() { expect_exit 0 yv "$ROOT" create --name f6 --no-network --no-ovmf -c 64 -m 64; }
    run_sweep f6 "run" run --name f6
}

# run of a UEFI VM for the first time: its OVMF_VARS.qcow2 is made before QEMU starts
test_run_first_start_writes_ovmf_vars()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    [ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] || fail "OVMF is needed ($OVMF_CODE)"
    fault_root ROOT
    FIRST_START=1
    prep() { expect_exit 0 yv "$ROOT" create --name f7 --no-network -c 64 -m 64; }
    run_sweep f7 "run (OVMF first start)" run --name f7
}

# autostart run with two marked VMs, fa stopped and fb running, and fc not marked: fa's start is
# all-or-nothing (run's: test_run sweeps its undo with failing undos, hence NO_UNDO_FAULTS), and a
# failure with one VM does not keep the run from the other. After every fault: the VM the error
# names is in its state before (fa stopped, nothing of its attempt left; fb running, the same
# QEMU), fa when not named runs whole (then stopped: the root must be as before), the marks and
# fc untouched.
test_autostart_run()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    VM_OF_OP=
    local FB_PID
    prep()
    {
        local v
        for v in fa fb fc; do
            expect_exit 0 yv "$ROOT" create --name $v --no-network --no-ovmf -c 64 -m 64
        done
        expect_exit 0 yv "$ROOT" autostart on --name fa
        expect_exit 0 yv "$ROOT" autostart on --name fb
        expect_exit 0 yv "$ROOT" run --name fb
        vm_facts fb
        FB_PID=$PID
    }
    # the others: the marks, fb still its QEMU, fc stopped
    others_kept()
    {
        expect_exit 0 yv "$ROOT" autostart list
        assert_eq "$(printf 'fa\nfb')" "$OUT" "the marks"
        vm_facts fb
        assert_eq "running $FB_PID" "$STATE $PID" "fb (marked, running before)"
        vm_facts fc
        assert_eq stopped "$STATE" "fc (not marked)"
    }
    fa_whole()
    {
        vm_facts fa
        assert_eq running "$STATE" "state of fa after autostart run"
        is_qemu "$PID" || fail "pid $PID of fa is not QEMU"
    }
    check_ok()
    {
        assert_eq "$(printf "started VM 'fa'\nVM 'fb' is already running")" "$OUT" \
            "autostart run's report"
        fa_whole
        others_kept
        assert_no_debris
    }
    undo() { expect_exit 0 yv "$ROOT" shutdown --name fa --force; }
    # a VM that did not start is told on a line of its own, then how many did not: the count
    # must be the lines', and goes (the sweep's one-line rule is for the VM's error)
    summary_dropped()
    {
        local lines=() re='^yave-tui: autostart: ([0-9]+) of the marked VMs did not start$'
        [ -n "$ERR" ] && mapfile -t lines <<<"$ERR"
        [ ${#lines[@]} -gt 1 ] && [[ ${lines[-1]} =~ $re ]] || return 0
        unset 'lines[-1]'
        assert_eq "${#lines[@]}" "${BASH_REMATCH[1]}" "VMs the summary counts (stderr: $ERR)"
        ERR_LINES=${#lines[@]}
        ERR=$(printf '%s\n' "${lines[@]}")
    }
    # the fault was in the look at fb: fa started all the same, whole, and said; then stopped
    fa_started()
    {
        [[ $ERR == "yave-tui: autostart: fb: "* ]] || return 1
        assert_eq "started VM 'fa'" "$OUT" "the report of the VM that started"
        fa_whole
        expect_exit 0 yv "$ROOT" shutdown --name fa --force
    }
    fa_left()
    {
        assert_no_file "$ROOT/run/fa.pid" "fa's pidfile after a failed run"
        assert_eq "$FB_PID" "$(qemus_of "$ROOT")" "the QEMUs of the root after a failed run"
        others_kept
    }
    ERR_FILTER=summary_dropped FAILED_KEPT=fa_started FAILED_CHECK=fa_left
    ALLOW_LOGS="fa fb" NO_UNDO_FAULTS=1
    sweep "autostart run" autostart run
    ERR_FILTER='' FAILED_KEPT='' FAILED_CHECK='' ALLOW_LOGS='' NO_UNDO_FAULTS=''
    expect_exit 0 yv "$ROOT" shutdown --name fb --force
}

# resize of a stopped VM (qemu-img info + resize, the start mark in run/): grown, or left as it was.
test_resize()
{
    fault_root ROOT
    prep() { expect_exit 0 yv "$ROOT" create --name fr --no-network --no-ovmf -c 16 -m 64; }
    check_ok()
    {
        assert_eq $((32 * 1024 * 1024)) "$(img_info "$ROOT/fr.vm/hd0.qcow2" 'd["virtual-size"]')" \
            "the disk after a resize"
        assert_no_debris
    }
    undo() { qemu-img resize -q -f qcow2 --shrink "$ROOT/fr.vm/hd0.qcow2" 16M || fail "shrink back"; }
    sweep "resize" resize --name fr --capacity 32
}

# resize of a running VM (QMP block_resize, the size read back with query-block): QEMU and the
# disk's file both at the new size, or both as they were; the guest runs on.
test_resize_running()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    snap_by_content # the virtual size; block_resize and its undo move the file's bytes
    VM_OF_OP=
    # size_is MIB: what QEMU gives the guest (query-block), what the file says, and the VM running
    size_is()
    {
        local q
        vm_facts fz
        assert_eq running "$STATE" "state of fz"
        q=$(qmp "$ROOT" fz query-block | "$PY" -c '
import json, sys
print([b["inserted"]["image"]["virtual-size"] for b in json.load(sys.stdin) if b["device"] == "hd0"])')
        assert_eq "[$(($1 * 1024 * 1024))]" "$q" "the size QEMU gives hd0"
        assert_eq $(($1 * 1024 * 1024)) "$(img_info "$ROOT/fz.vm/hd0.qcow2" 'd["virtual-size"]')" \
            "the size in hd0.qcow2"
    }
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fz --no-network --no-ovmf -c 16 -m 64
        expect_exit 0 yv "$ROOT" run --name fz
    }
    check_ok()
    {
        size_is 32
        assert_no_debris
    }
    undo() { qmp "$ROOT" fz block_resize '{"device": "hd0", "size": 16777216}' >/dev/null; }
    not_grown() { size_is 16; }
    # SEND_RETRIED: the first exchanges (send:1, send:2) are the look for jobs a killed clone left
    # (asked again); the last, the size read back (when it fails, the size QEMU accepted is told)
    FAILED_CHECK=not_grown ALLOW_LOGS=fz NO_UNDO_FAULTS=1 SEND_RETRIED=1
    sweep "resize (running)" resize --name fz --capacity 32
    FAILED_CHECK='' ALLOW_LOGS='' NO_UNDO_FAULTS='' SEND_RETRIED=''
    expect_exit 0 yv "$ROOT" shutdown --name fz --force
}

# clone of a stopped VM (create's .part machinery, qemu-img convert of the disk and of the UEFI
# variables, the source's start mark in run/): a complete clone, or the root as it was.
test_clone()
{
    fault_root ROOT
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fs --network user --no-ovmf -c 16 -m 64 -V abcdefgh
        head -c 65536 /dev/urandom >"$ROOT/fs.vm/OVMF_VARS.fd"
    }
    check_ok()
    {
        assert_created fc
        cmp -s "$ROOT/fs.vm/OVMF_VARS.fd" "$ROOT/fc.vm/OVMF_VARS.fd" || fail "the UEFI variables"
        assert_no_file "$ROOT/run/fs.starting" "the source's start mark"
    }
    undo() { expect_exit 0 yv "$ROOT" delete --name fc; }
    sweep "clone" clone --name fs --to fc -V abcdefgh
}

# clone of a running VM: its QEMU copies the disk (QMP transaction of drive-backup jobs, polled,
# dismissed): a complete clone and no job left, or the root as it was (the source still running).
test_clone_running()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fr --no-network --no-ovmf -c 16 -m 64 -V abcdefgh
        expect_exit 0 yv "$ROOT" run --name fr
    }
    check_ok()
    {
        assert_created fs
        assert_eq "[]" "$(qmp "$ROOT" fr query-jobs)" "jobs left in the source's QEMU"
    }
    undo() { expect_exit 0 yv "$ROOT" delete --name fs; }
    # NO_UNDO_FAULTS: the same undo is swept with failing undos by test_clone; SEND_RETRIED: the
    # jobs are dismissed after the copy, a failed exchange asked again (check_ok: no job is left);
    # the first exchanges (send:1, send:2) are the best-effort look for jobs a killed clone left
    # (core/clone.c live_backup): a failed one is asked again too
    ALLOW_LOGS=fr NO_UNDO_FAULTS=1 SEND_RETRIED=1
    sweep "clone (running source)" clone --name fr --to fs -V abcdefgh
    ALLOW_LOGS='' NO_UNDO_FAULTS='' SEND_RETRIED=''
    [ -n "$(qemus_of "$ROOT")" ] || fail "the source stopped"
    assert_eq "[]" "$(qmp "$ROOT" fr query-jobs)" "jobs left in the source's QEMU"
    expect_exit 0 yv "$ROOT" shutdown --name fr --force
}

# clone --linked: the source's linked-base mark (written first) goes again when the clone fails.
test_clone_linked()
{
    fault_root ROOT
    prep() { expect_exit 0 yv "$ROOT" create --name fl --no-network --no-ovmf -c 16 -m 64; }
    check_ok()
    {
        assert_created fk
        assert_eq ../fl.vm/hd0.qcow2 "$(img_info "$ROOT/fk.vm/hd0.qcow2" 'd["backing-filename"]')" \
            "backing file of the linked clone"
        assert_file "$ROOT/fl.vm/linked-base"
    }
    undo()
    {
        expect_exit 0 yv "$ROOT" delete --name fk
        rm -f "$ROOT/fl.vm/linked-base"
    }
    sweep "clone --linked" clone --name fl --to fk --linked -V abcdefgh
}

# clone of a preset VM: its new NoCloud seed (genisoimage, through a folder in the .part).
test_clone_preset()
{
    fault_root ROOT
    poweroff_preset "$ROOT" fake
    printf 'root-pw-1\n' >"$FTMP.pw"
    at_exit rm -f "$FTMP.pw"
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fp --preset fake --root-password-file "$FTMP.pw" \
            --no-network --no-ovmf -m 64 -c 16 -V abcdefgh
    }
    check_ok()
    {
        assert_created fq
        assert_file "$ROOT/fq.vm/cidata.iso"
        assert_no_file "$ROOT/fq.vm/seed"
    }
    undo() { expect_exit 0 yv "$ROOT" delete --name fq; }
    sweep "clone (preset)" clone --name fp --to fq -V abcdefgh
}

# ---- snapshot (spec §13): qemu-img on every image of a stopped VM ----

# qcow2_digest FILE: what a guest and qemu-img see of a qcow2 file: its virtual size, its snapshots
# (names and vm-state sizes; not their dates or ids) and its first 64 KiB (where pattern writes).
# No python: it runs on every image of the root twice a run.
qcow2_digest()
{
    {
        qemu-img info -U --output=json -f qcow2 "$1" | grep -E '^ *"(virtual-size|name|vm-state-size)":'
        qemu-io -r -U -f qcow2 -c 'read -v 0 64k' "$1" | grep '^[0-9a-f]*: ' # not its timing line
    } | sha256sum | cut -c1-16
}

# snap_by_content: within a test (its own subshell), snap describes each qcow2 file by
# qcow2_digest instead of its bytes: a snapshot made and deleted again (create's undo) leaves the
# same disk in other bytes (clusters and refcounts moved).
snap_by_content()
{
    eval "file_snap() $(declare -f snap | tail -n +2)"
    snap()
    {
        local l p
        while IFS= read -r l; do
            p=${l%% *}
            if [[ $p == *.qcow2 ]]; then
                read -r -a f <<<"$l"
                l="$p ${f[1]} ${f[2]} - $(qcow2_digest "$1/${p#./}") ${f[5]:-}"
            fi
            printf '%s\n' "$l"
        done < <(file_snap "$1")
    }
}

# names_of FILE: the snapshot names of a qcow2 file, sorted, on one line.
names_of()
{
    qemu-img info -U --output=json -f qcow2 "$1" |
        "$PY" -c 'import json,sys; print(" ".join(sorted(s["name"] for s in json.load(sys.stdin).get("snapshots", []))))'
}

pattern() { qemu-io -f qcow2 -c "write -q -P $2 0 64k" "$1" >/dev/null || fail "qemu-io write $1"; }

# snapshot create of a stopped UEFI VM (its disk and its variable store): one name on both, or on
# none (the first image's snapshot deleted again when the second fails).
test_snapshot_create()
{
    fault_root ROOT
    snap_by_content
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fs --no-network -c 16 -m 64
        pattern "$ROOT/fs.vm/hd0.qcow2" 0xaa
        expect_exit 0 yv "$ROOT" snapshot create --name fs --snap x # the UEFI store made
        expect_exit 0 yv "$ROOT" snapshot delete --name fs --snap x
    }
    check_ok()
    {
        assert_eq s1 "$(names_of "$ROOT/fs.vm/hd0.qcow2")" "the disk's snapshots"
        assert_eq s1 "$(names_of "$ROOT/fs.vm/OVMF_VARS.qcow2")" "the UEFI store's snapshots"
        assert_no_debris
    }
    undo()
    {
        qemu-img snapshot -d s1 "$ROOT/fs.vm/hd0.qcow2" && qemu-img snapshot -d s1 \
            "$ROOT/fs.vm/OVMF_VARS.qcow2" || fail "qemu-img snapshot -d"
    }
    sweep "snapshot create" snapshot create --name fs --snap s1
}

# snapshot revert of a stopped VM with one disk (qemu-img applies a snapshot whole or not at all).
# Several images: an undo snapshot on each first, a failure goes back (the first image's undo
# removed is the commit; a later one's left by a failure after it is removed by the next command).
test_snapshot_revert()
{
    fault_root ROOT
    snap_by_content
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fv --no-network --no-ovmf -c 16 -m 64
        pattern "$ROOT/fv.vm/hd0.qcow2" 0xaa
        expect_exit 0 yv "$ROOT" snapshot create --name fv --snap s1
        pattern "$ROOT/fv.vm/hd0.qcow2" 0xbb
    }
    check_ok()
    {
        qemu-io -r -f qcow2 -c 'read -P 0xaa 0 64k' "$ROOT/fv.vm/hd0.qcow2" | grep -q 'read 65536/65536' ||
            fail "the disk is not back at the snapshot"
        assert_eq s1 "$(names_of "$ROOT/fv.vm/hd0.qcow2")" "the disk's snapshots"
        assert_no_debris
    }
    undo() { pattern "$ROOT/fv.vm/hd0.qcow2" 0xbb; }
    sweep "snapshot revert" snapshot revert --name fv --snap s1
}

# snapshot delete of a stopped VM with one disk (on two images a failure after the first deletion
# leaves the snapshot incomplete: listed so, deleted by the next delete; a deletion has no undo).
test_snapshot_delete()
{
    fault_root ROOT
    snap_by_content
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fd --no-network --no-ovmf -c 16 -m 64
        expect_exit 0 yv "$ROOT" snapshot create --name fd --snap s1
    }
    check_ok()
    {
        assert_eq "" "$(names_of "$ROOT/fd.vm/hd0.qcow2")" "the disk's snapshots"
        assert_no_debris
    }
    undo() { qemu-img snapshot -c s1 "$ROOT/fd.vm/hd0.qcow2" || fail "qemu-img snapshot -c"; }
    sweep "snapshot delete" snapshot delete --name fd --snap s1
}

# ---- snapshot of a running VM: the QMP jobs snapshot-save/-load/-delete ----

# online_vm VM: a running SeaBIOS VM with two qcow2 disks, hd0 holding 0xaa and hd1 0xab at their
# starts (written with qemu-io before the start).
online_vm()
{
    expect_exit 0 yv "$ROOT" create --name "$1" --no-network --no-ovmf -c 16 -m 64
    qemu-img create -q -f qcow2 "$ROOT/$1.vm/hd1.qcow2" 16M || fail "qemu-img create"
    printf '  hd1:\n    path: hd1.qcow2\n    device:\n      type: virtio-blk\n' >>"$ROOT/$1.vm/config.yaml"
    pattern "$ROOT/$1.vm/hd0.qcow2" 0xaa && pattern "$ROOT/$1.vm/hd1.qcow2" 0xab
    expect_exit 0 yv "$ROOT" run --name "$1"
}

# qmps VM ITEM...: lib.sh's qmp_items on the VM's QMP socket (`status`: query-status's status).
qmps() { qmp_items "$ROOT/run/$1.sock" "${@:2}" || fail "QMP on $1 failed"; }

# live_pattern VM DRIVE BYTE: 64 KiB of BYTE at the start of a running VM's drive, written through
# its QEMU (HMP qemu-io, which prints into qemu.log) and flushed, then read from outside.
live_pattern()
{
    qmps "$1" "hmp:qemu-io $2 \"write -P $3 0 64k\"" "hmp:qemu-io $2 flush" >/dev/null
    live_holds "$@"
}

# live_holds VM DRIVE BYTE: the running VM's drive file holds BYTE at its start (qemu-io -U).
live_holds()
{
    local o
    o=$(qemu-io -r -U -f qcow2 -c "read -P $3 0 64k" "$ROOT/$1.vm/$2.qcow2" 2>&1)
    [[ $o == *"read 65536/65536 bytes"* && $o != *"verification failed"* ]] ||
        fail "drive $2 of $1 does not hold $3 at its start: $o"
}

# cmos_set VM BYTE: a byte of the guest's CMOS memory that neither QEMU nor SeaBIOS uses (0x48,
# through the RTC's ports): machine state a live snapshot saves and a revert loads, like the RAM,
# and that a reset keeps (SeaBIOS with no boot disk resets every minute). Read back.
cmos_set()
{
    local got
    got=$(cmos_io "$1" "hmp:o /b 0x71 $2")
    assert_eq "portb[0x0071] = $2" "$got" "CMOS 0x48 of $1 after writing $2"
}

# cmos_io VM [ITEM]: ITEM (a write to the data port), then prints CMOS 0x48, with the guest's vCPU
# paused around the index write and the data port's use: SeaBIOS selects CMOS registers through
# the same index port all through its POST (right after `run`, and at each reset), and an index
# it wrote between ours and the data port's access made us read or write another register.
cmos_io()
{
    local out
    out=$(qmps "$1" stop "hmp:o /b 0x70 0x48" ${2:+"$2"} "hmp:i /b 0x71" cont) || exit 1
    out=${out%$'\n'*} # cont's {}
    printf '%s\n' "${out##*$'\n'}"
}

# online_idle VM [CMOS]: what a user sees of a VM an online snapshot command left: running
# (status, and its guest not paused), no QMP job left in its QEMU; and CMOS, the byte of cmos_set.
online_idle()
{
    local st jobs
    vm_facts "$1"
    assert_eq running "$STATE" "state of $1"
    { read -r st && read -r jobs; } < <(qmps "$1" status query-jobs)
    assert_eq running "$st" "the guest of $1"
    assert_eq "[]" "$jobs" "QMP jobs left in the QEMU of $1"
    [ -z "${2:-}" ] ||
        assert_eq "portb[0x0071] = $2" "$(cmos_io "$1")" "the machine state of $1 (CMOS 0x48)"
}

# snaps_listed VM: `snapshot list --json`, one NAME:VM_STATE:COMPLETE per snapshot (complete: on
# every image), sorted.
snaps_listed()
{
    expect_exit 0 yv "$ROOT" --json snapshot list --name "$1"
    jv '" ".join(sorted("%s:%s:%s" % (s["name"], s["vm_state"], s["complete"]) for s in d["snapshots"]))'
}

# snapshot create of a running VM with two disks (one snapshot-save job on both, its RAM into
# hd0): the snapshot on both, RAM included, or on neither; the guest runs on, no job left.
test_snapshot_create_running()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    snap_by_content
    VM_OF_OP=
    prep() { online_vm fo; }
    check_ok()
    {
        online_idle fo
        assert_eq "s1:True:True" "$(snaps_listed fo)" "snapshot list after the create"
        assert_eq s1 "$(names_of "$ROOT/fo.vm/hd0.qcow2")" "hd0's snapshots"
        assert_eq s1 "$(names_of "$ROOT/fo.vm/hd1.qcow2")" "hd1's snapshots"
        assert_no_debris
    }
    undo() { expect_exit 0 yv "$ROOT" snapshot delete --name fo --snap s1; }
    none_made()
    {
        online_idle fo
        assert_eq "" "$(snaps_listed fo)" "snapshot list after a failed create"
    }
    # NO_UNDO_FAULTS: QEMU's job has no undo of ours; SEND_RETRIED: the job is polled until it
    # ends (the count varies), a failed look at it is asked again (check_ok: made, no job left)
    FAILED_CHECK=none_made ALLOW_LOGS=fo NO_UNDO_FAULTS=1 SEND_RETRIED=1
    sweep "snapshot create (running)" snapshot create --name fo --snap s1
    FAILED_CHECK='' ALLOW_LOGS='' NO_UNDO_FAULTS='' SEND_RETRIED=''
    expect_exit 0 yv "$ROOT" shutdown --name fo --force
}

# snapshot revert of a running VM with two disks (snapshot-load: the disks and the machine state):
# both disks and the machine state (a CMOS byte) back at the snapshot, or all as they were; the
# guest runs on either way, no job left.
test_snapshot_revert_running()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    snap_by_content
    VM_OF_OP=
    changed()
    {
        live_pattern fv hd0 0xbb && live_pattern fv hd1 0xbc
        cmos_set fv 0x22
    }
    prep()
    {
        online_vm fv
        cmos_set fv 0x11
        expect_exit 0 yv "$ROOT" snapshot create --name fv --snap s1
        changed
    }
    check_ok()
    {
        online_idle fv 0x11
        live_holds fv hd0 0xaa && live_holds fv hd1 0xab
        assert_eq "s1:True:True" "$(snaps_listed fv)" "snapshot list after the revert"
        assert_no_debris
    }
    undo() { changed; }
    none_loaded()
    {
        online_idle fv 0x22 # the disks: the root is as it was (snap_by_content)
        assert_eq "s1:True:True" "$(snaps_listed fv)" "snapshot list after a failed revert"
    }
    # the first exchanges (send:1..4) are the look at the guest's state and for jobs a killed clone
    # left, the last ones the looks at the job, its dismissal and the guest's state: asked again
    FAILED_CHECK=none_loaded ALLOW_LOGS=fv NO_UNDO_FAULTS=1 SEND_RETRIED=1
    sweep "snapshot revert (running)" snapshot revert --name fv --snap s1
    FAILED_CHECK='' ALLOW_LOGS='' NO_UNDO_FAULTS='' SEND_RETRIED=''
    expect_exit 0 yv "$ROOT" shutdown --name fv --force
}

# snapshot delete of a running VM with two disks (one snapshot-delete job on both): gone from
# both, or on both as it was; the guest runs on, no job left.
test_snapshot_delete_running()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    snap_by_content
    VM_OF_OP=
    prep()
    {
        online_vm fx
        expect_exit 0 yv "$ROOT" snapshot create --name fx --snap s1
    }
    check_ok()
    {
        online_idle fx
        assert_eq "" "$(snaps_listed fx)" "snapshot list after the delete"
        assert_eq "" "$(names_of "$ROOT/fx.vm/hd0.qcow2")" "hd0's snapshots"
        assert_eq "" "$(names_of "$ROOT/fx.vm/hd1.qcow2")" "hd1's snapshots"
        assert_no_debris
    }
    undo() { expect_exit 0 yv "$ROOT" snapshot create --name fx --snap s1; }
    none_deleted()
    {
        online_idle fx
        assert_eq "s1:True:True" "$(snaps_listed fx)" "snapshot list after a failed delete"
    }
    FAILED_CHECK=none_deleted ALLOW_LOGS=fx NO_UNDO_FAULTS=1 SEND_RETRIED=1
    sweep "snapshot delete (running)" snapshot delete --name fx --snap s1
    FAILED_CHECK='' ALLOW_LOGS='' NO_UNDO_FAULTS='' SEND_RETRIED=''
    expect_exit 0 yv "$ROOT" shutdown --name fx --force
}

# pattern_at FILE: which of the test's bytes the first 64 KiB of FILE hold (qemu-io, read-only).
pattern_at()
{
    local b o
    for b in 0xaa 0xab 0xbb 0xbc; do
        o=$(qemu-io -r -U -f qcow2 -c "read -P $b 0 64k" "$1" 2>&1)
        [[ $o == *"read 65536/65536 bytes"* && $o != *"verification failed"* ]] && echo "$b" && return 0
    done
    echo "?"
}

# A 2-disk revert of a stopped VM killed at each step (its undo snapshots made, each disk
# reverted, the first undo removed: the commit), then `run`: the guest must boot on both disks at
# the snapshot or both as before, with no hidden .yave-undo left for a later snapshot command to
# apply (it would undo what the guest wrote since). Killed two ways: yave itself (SIGKILL, as an
# OOM kill) right after its Nth qemu-img (a qemu-img wrapper named in the root's config), and the
# Nth qemu-img killed by the KILL injector with every later one too (yave's own undo fails).
test_snapshot_revert_killed_then_run()
{
    local n mode got
    fault_root ROOT
    at_exit rm -f "$FTMP.log" "$FTMP.out" "$FTMP.err" "$FTMP.img" "$FTMP.cnt" "$FTMP.kill"
    printf '#!/bin/bash
n=$(($(cat %s 2>/dev/null || echo 0) + 1)); echo $n >%s
qemu-img "$@"; rc=$?
[ "$(cat %s 2>/dev/null)" = "$n" ] && kill -9 $PPID
exit $rc
' \
        "$FTMP.cnt" "$FTMP.cnt" "$FTMP.kill" >"$FTMP.img" && chmod +x "$FTMP.img" || fail "wrapper"
    printf 'cli:\n  img: %s\n' "$FTMP.img" >>"$ROOT/config.yaml"
    prep()
    {
        rm -rf "$ROOT/fk.vm" && expect_exit 0 yv "$ROOT" create --name fk --no-network --no-ovmf -c 16 -m 64
        qemu-img create -q -f qcow2 "$ROOT/fk.vm/hd1.qcow2" 16M || fail "qemu-img create"
        printf '  hd1:\n    path: hd1.qcow2\n    device:\n      type: virtio-blk\n' >>"$ROOT/fk.vm/config.yaml"
        pattern "$ROOT/fk.vm/hd0.qcow2" 0xaa && pattern "$ROOT/fk.vm/hd1.qcow2" 0xab
        expect_exit 0 yv "$ROOT" snapshot create --name fk --snap s1
        pattern "$ROOT/fk.vm/hd0.qcow2" 0xbb && pattern "$ROOT/fk.vm/hd1.qcow2" 0xbc
    }
    prep
    rm -f "$FTMP.cnt"
    expect_exit 0 yv "$ROOT" snapshot revert --name fk --snap s1
    local steps
    steps=$(cat "$FTMP.cnt")
    [ "$steps" -ge 6 ] || fail "a 2-disk revert made $steps qemu-img calls"
    for mode in yave qemu-img; do
        for ((n = 1; n <= steps; n++)); do
            prep
            CURRENT_TEST="revert killed ($mode, step $n), then run"
            rm -f "$FTMP.cnt"
            if [ $mode = yave ]; then
                echo "$n" >"$FTMP.kill"
                run_fy "" "$FTMP.log" snapshot revert --name fk --snap s1
                rm -f "$FTMP.kill"
            else
                run_fy "exec:$n+:KILL" "$FTMP.log" snapshot revert --name fk --snap s1
            fi
            # the last call removes the second undo snapshot after the commit: a failure is ignored
            [ "$RC" != 0 ] || { [ $mode = qemu-img ] && [ "$n" = "$steps" ]; } ||
                fail "exit 0 although killed"
            expect_exit 0 yv "$ROOT" run --name fk
            got="$(pattern_at "$ROOT/fk.vm/hd0.qcow2") $(pattern_at "$ROOT/fk.vm/hd1.qcow2")"
            expect_exit 0 yv "$ROOT" shutdown --name fk --force
            [[ $got == "0xaa 0xab" || $got == "0xbb 0xbc" ]] || fail "the disks after run: $got"
            assert_eq s1 "$(names_of "$ROOT/fk.vm/hd0.qcow2")" "hd0's snapshots after run"
            assert_eq s1 "$(names_of "$ROOT/fk.vm/hd1.qcow2")" "hd1's snapshots after run"
        done
    done
    CURRENT_TEST=test_snapshot_revert_killed_then_run
    printf '      %-22s %s qemu-img calls; yave killed after each, each killed\n' "revert, then run" "$steps"
}

# set of a stopped VM (memory, vCPUs, a network made with a MAC and a forward: vm.yaml written
# once, the start mark in run/): changed, or left as it was.
test_set()
{
    fault_root ROOT
    VM_OF_OP=
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fs --no-network --no-ovmf -c 16 -m 64
        cp -p "$ROOT/fs.vm/config.yaml" "$FTMP.cfg"
    }
    check_ok()
    {
        vm_facts fs
        expect_exit 0 yv "$ROOT" --json status --name fs
        assert_eq "96 2 user 2281" "$(jv '"%s %s %s %s" % (d["memory"], d["vcpu"],
            d["networks"][0]["type"], d["networks"][0]["forwards"][0]["host"])')" "after set"
        assert_no_debris
    }
    undo() { cp -p "$FTMP.cfg" "$ROOT/fs.vm/config.yaml" || fail "restore the config"; }
    sweep "set" set --name fs --memory 96 --vcpu 2 --network user --forward 2281:22
    rm -f "$FTMP.cfg"
}

# set --display: config.yaml and vnc_table.yaml both, or neither (a table that cannot be written
# puts the config back; a failing undo says what is left).
test_set_display()
{
    fault_root ROOT
    VM_OF_OP=
    at_exit rm -f "$FTMP.cfg" "$FTMP.table" # also when it fails
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fd --no-network --no-ovmf -c 16 -m 64
        cp -p "$ROOT/fd.vm/config.yaml" "$FTMP.cfg"
        cp -p "$ROOT/vnc_table.yaml" "$FTMP.table"
    }
    check_ok()
    {
        assert_eq ":7" "$(vm_config_value "$ROOT" fd display)"
        grep -Eq "^  ':7': '?fd'?\$" "$ROOT/vnc_table.yaml" || fail "vnc_table.yaml: no :7 for fd"
        assert_no_debris
    }
    undo()
    {
        cp -p "$FTMP.cfg" "$ROOT/fd.vm/config.yaml" && cp -p "$FTMP.table" "$ROOT/vnc_table.yaml" ||
            fail "restore the config and the table"
    }
    sweep "set --display" set --name fd --display :7
    rm -f "$FTMP.cfg" "$FTMP.table"
}

# set --display killed (SIGKILL, as an OOM kill) at each of its writes (each ends in a rename):
# whatever it reached, vnc_table.yaml reserves the display config.yaml names for the VM (a create
# meanwhile picks another one), and the next set --display leaves exactly that one reserved.
test_set_display_killed()
{
    local n disp
    fault_root ROOT
    at_exit rm -f "$FTMP.log" "$FTMP.out" "$FTMP.err" # run_fy's files, beside $FTMP
    expect_exit 0 yv "$ROOT" create --name fk --no-network --no-ovmf -c 16 -m 64
    for n in 1 2 3; do
        run_fy "rename:$n:KILL" "$FTMP.log" set --name fk --display :7
        assert_eq 137 "$RC" "exit status of a set killed at its write $n"
        find "$ROOT" -name '*.tmp-*' -delete # the killed write's temporary file
        disp=$(vm_config_value "$ROOT" fk display)
        grep -Eq "^  '$disp': '?fk'?\$" "$ROOT/vnc_table.yaml" ||
            fail "killed at write $n: config.yaml says $disp, vnc_table.yaml: $(cat "$ROOT/vnc_table.yaml")"
        expect_exit 0 yv "$ROOT" create --name fo --no-network --no-ovmf -c 16 -m 64
        [ "$(vm_config_value "$ROOT" fo display)" != "$disp" ] ||
            fail "killed at write $n: create gave fk's display $disp to fo"
        expect_exit 0 yv "$ROOT" delete --name fo
        expect_exit 0 yv "$ROOT" set --name fk --display :7
        assert_eq ":7" "$(vm_config_value "$ROOT" fk display)" "display after the next set"
        assert_eq "1" "$(grep -Ec "^  ':[0-9]+': '?fk'?\$" "$ROOT/vnc_table.yaml")" \
            "displays vnc_table.yaml reserves for fk after the next set (killed at write $n)"
        table_has fk || fail "no display for fk"
        expect_exit 0 yv "$ROOT" set --name fk --display :1 # back for the next kill
    done
}

# set of a running VM: the config changes, the running QEMU and its run/ record do not (pending).
test_set_running()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    VM_OF_OP=
    ALLOW_LOGS=fsr # the guest writes its serial log meanwhile
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name fsr --no-network --no-ovmf -c 16 -m 64
        expect_exit 0 yv "$ROOT" run --name fsr
        cp -p "$ROOT/fsr.vm/config.yaml" "$FTMP.cfg"
    }
    check_ok()
    {
        expect_exit 0 yv "$ROOT" --json status --name fsr
        assert_eq '96 ["memory"]' "$(jv '"%s %s" % (d["memory"], json.dumps(d["pending"]))')"
        assert_no_debris
    }
    undo() { cp -p "$FTMP.cfg" "$ROOT/fsr.vm/config.yaml" || fail "restore the config"; }
    sweep "set (running)" set --name fsr --memory 96
    expect_exit 0 yv "$ROOT" shutdown --name fsr --force
    rm -f "$FTMP.cfg"
}

# run --new-display with the VM's display held by another program (issue 20): the move (config.yaml
# and vnc_table.yaml, set's writes) is all-or-nothing; a start that fails after it keeps the move
# whole (its own operation: no undo) and says so.
test_run_new_display()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    VM_OF_OP=fn
    ALLOW_LOGS=fn
    at_exit rm -f "$FTMP.cfg" "$FTMP.table" # also when it fails
    expect_exit 0 yv "$ROOT" create --name fn --no-network --no-ovmf -c 16 -m 64
    assert_eq ":1" "$(vm_config_value "$ROOT" fn display)"
    listen_tcp "$VNC_LISTEN" 5901 # after the create, which would pick another display
    prep()
    {
        cp -p "$ROOT/fn.vm/config.yaml" "$FTMP.cfg"
        cp -p "$ROOT/vnc_table.yaml" "$FTMP.table"
    }
    check_ok()
    {
        vm_facts fn
        assert_eq "running :2" "$STATE $DISPLAY" "state and display after run --new-display"
        grep -Eq "^  ':2': '?fn'?\$" "$ROOT/vnc_table.yaml" || fail "vnc_table.yaml: no :2 for fn"
        assert_no_debris
    }
    undo()
    {
        expect_exit 0 yv "$ROOT" shutdown --name fn --force
        cp -p "$FTMP.cfg" "$ROOT/fn.vm/config.yaml" && cp -p "$FTMP.table" "$ROOT/vnc_table.yaml" ||
            fail "restore the config and the table"
    }
    moved_kept()
    {
        [[ $ERR == *"VM 'fn': moved VNC display :1 -> :2 (held by another program); the start failed: "* ]] ||
            return 1
        assert_eq ":2" "$(vm_config_value "$ROOT" fn display)" "fn's display after a failed start"
        grep -Eq "^  ':2': '?fn'?\$" "$ROOT/vnc_table.yaml" || fail "vnc_table.yaml: no :2 for fn"
        ! grep -q "':1'" "$ROOT/vnc_table.yaml" || fail "vnc_table.yaml keeps :1 as well"
        cp -p "$FTMP.cfg" "$ROOT/fn.vm/config.yaml" && cp -p "$FTMP.table" "$ROOT/vnc_table.yaml" ||
            fail "restore the config and the table"
    }
    FAILED_KEPT=moved_kept
    sweep "run --new-display" run --name fn --new-display
    FAILED_KEPT=
    rm -f "$FTMP.cfg" "$FTMP.table"
}

# screenshot of a running VM: its temporary file in run/ is gone whatever fails (the root is as
# before), and the PNG outside the root is written whole or not at all (nothing beside it either).
test_screenshot()
{
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    SHOTS=$(dirname "$ROOT")/shots
    mkdir "$SHOTS" || fail "mkdir $SHOTS"
    prep()
    {
        expect_exit 0 yv "$ROOT" create --name f9 --no-network --no-ovmf -c 64 -m 64
        expect_exit 0 yv "$ROOT" run --name f9
    }
    check_ok()
    {
        assert_eq shot.png "$(ls -A "$SHOTS")" "the output folder after a screenshot"
        png_size "$SHOTS/shot.png" >/dev/null
        assert_no_debris
    }
    undo() { rm -f "$SHOTS/shot.png"; }
    shots_empty() { [ -z "$(ls -A "$SHOTS")" ] || fail "written after a failure: $(ls -A "$SHOTS")"; }
    FAILED_CHECK=shots_empty
    sweep "screenshot" screenshot --name f9 --file "$SHOTS/shot.png"
    FAILED_CHECK=
    expect_exit 0 yv "$ROOT" shutdown --force --name f9
}

# A `run` killed (SIGKILL, as an OOM kill) after QEMU started paused (-S) and before its guest was
# continued: its QEMU is left in prelaunch with the unlocked mark run/VM.starting. The next command
# that looks at the VM ends that QEMU and its files: the start never happened, the VM is stopped
# (not crashed), and it runs again. Killed at the first exchange's one write (capabilities,
# set_password and cont go together), and, to prove that is the only one, not killed at a second.
# While the mark's lock is held (a run still at it), nothing is touched.
test_killed_run_is_undone_by_the_next_command()
{
    local pid holder
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    at_exit rm -f "$FTMP.log" "$FTMP.out" "$FTMP.err" # run_fy's files, beside $FTMP
    expect_exit 0 yv "$ROOT" create --name k1 --no-network --no-ovmf -c 64 -m 64 -V killpw12
    run_fy "send:2:KILL" "$FTMP.log" run --name k1
    assert_eq 0 "$RC" "exit status of a run 'killed' at a second QMP write"
    expect_exit 0 yv "$ROOT" shutdown --force --name k1
    run_fy "send:1:KILL" "$FTMP.log" run --name k1
    assert_eq 137 "$RC" "exit status of a run killed at its one QMP write"
    pid=$(qemus_of "$ROOT")
    [ -n "$pid" ] || fail "no QEMU left by the run killed at its QMP write (the test proves nothing)"
    assert_file "$ROOT/run/k1.starting" "the mark of the killed start"
    # a start in progress (the mark's lock held) is not touched
    # the lock on fd 9, which the background shell keeps as it becomes sleep: $! holds it
    { flock -n 9 && exec sleep 60; } 9<"$ROOT/run/k1.starting" &
    holder=$!
    at_exit kill "$holder"
    sleep 0.2
    vm_facts k1
    assert_eq starting "$STATE" "state while the mark is held"
    is_qemu "$pid" && ! pid_exited "$pid" || fail "QEMU $pid was ended during a start"
    kill "$holder"
    wait "$holder" 2>/dev/null
    vm_facts k1
    assert_eq stopped "$STATE" "state after the run killed at its QMP write"
    pid_exited "$pid" || fail "QEMU $pid of the killed run still runs"
    assert_no_qemu k1
    assert_no_file "$ROOT/run/k1.starting" "the mark once settled"
    assert_no_file "$ROOT/run/k1.crashed" "a crash record for a start that never happened"
    expect_exit 0 yv "$ROOT" run --name k1
    vm_facts k1
    assert_eq running "$STATE" "state after the next run"
    assert_no_file "$ROOT/run/k1.starting" "the mark of a finished start"
    expect_exit 0 yv "$ROOT" shutdown --name k1 --force
}

# The whole-root tidy of list (and of the TUI and yave-web at start) settles a killed run's mark
# while it holds the root lock for another VM's stale files: a1's QEMU killed with -9 (its files
# left), then k2's run killed before cont. One list, bounded: a1 crashed, k2 stopped and its QEMU
# gone (the tidy once took the root lock a second time, and waited for itself for ever).
test_list_settles_a_killed_run_next_to_a_crashed_vm()
{
    local pa pk
    [ -n "$QEMU_EXE" ] || fail "qemu-system-x86_64 is needed"
    fault_root ROOT
    at_exit rm -f "$FTMP.log" "$FTMP.out" "$FTMP.err" # run_fy's files, beside $FTMP
    expect_exit 0 yv "$ROOT" create --name a1 --no-network --no-ovmf -c 64 -m 64
    expect_exit 0 yv "$ROOT" create --name k2 --no-network --no-ovmf -c 64 -m 64
    expect_exit 0 yv "$ROOT" run --name a1
    pa=$(cat "$ROOT/run/a1.pid") || fail "no pidfile for a1"
    kill -9 "$pa"
    for _ in $(seq 50); do
        pid_exited "$pa" && break
        sleep 0.1
    done
    run_fy "send:1:KILL" "$FTMP.log" run --name k2
    assert_eq 137 "$RC" "exit status of the killed run"
    pk=$(qemus_of "$ROOT")
    [ -n "$pk" ] || fail "no QEMU left by the killed run (the test proves nothing)"
    assert_file "$ROOT/run/a1.pid" "a1's stale pidfile"
    expect_exit 0 timeout 20 "$YAVE_TEST_BIN" --batch --root "$ROOT" --json list
    vm_facts a1
    assert_eq crashed "$STATE" "a1 after its QEMU was killed"
    vm_facts k2
    assert_eq stopped "$STATE" "k2 after its run was killed"
    pid_exited "$pk" || fail "QEMU $pk of the killed run still runs"
    assert_no_qemu k2
}


# The raw OVMF_VARS.fd of a VM made before, converted to OVMF_VARS.qcow2 by `snapshot create`
# (core/uefivars.c), killed (SIGKILL, as an OOM kill) at each call it makes (an exec's fault kills
# the child qemu-img instead): never neither store — a qcow2 one is there only whole (the same
# variables: qemu-img compare), else the raw one is as it was; and the next command settles it
# (the qcow2 store alone, no temp file) and takes its snapshot.
test_uefivars_conversion_killed_anywhere()
{
    local op n raw v
    fault_root ROOT
    raw=$FTMP.raw
    at_exit rm -f "$FTMP.log" "$FTMP.out" "$FTMP.err" "$raw"
    expect_exit 0 yv "$ROOT" create --name mv --no-network -c 16 -m 64
    v=$ROOT/mv.vm
    cp "$OVMF_VARS" "$raw" && printf 'yave' | dd of="$raw" bs=1 seek=540000 conv=notrunc \
        status=none || fail "the raw store"
    as_before() { rm -f "$v"/OVMF_VARS.* && cp "$raw" "$v/OVMF_VARS.fd" || fail "cp"; }
    as_before
    run_fy "" "$FTMP.log" snapshot create --name mv --snap counted
    [ "$RC" = 0 ] || fail "the conversion fails without a fault: $ERR"
    declare -A count
    for op in "${OPS[@]}"; do count[$op]=$(grep -c "^$op " "$FTMP.log"); done
    for op in "${OPS[@]}"; do
        for ((n = 1; n <= count[$op]; n++)); do
            as_before
            run_fy "$op:$n:KILL" "$FTMP.log" snapshot create --name mv --snap "k-$op-$n"
            CURRENT_TEST="uefivars conversion [YAVE_FAULT=$op:$n:KILL]"
            [ "$RC" != 0 ] || fail "exit 0 although killed"
            if [ -e "$v/OVMF_VARS.qcow2" ]; then
                qemu-img compare -q -f raw -F qcow2 "$raw" "$v/OVMF_VARS.qcow2" ||
                    fail "a qcow2 store that is not the raw one's variables"
            else
                cmp -s "$raw" "$v/OVMF_VARS.fd" || fail "neither store whole"
            fi
            expect_exit 0 yv "$ROOT" snapshot create --name mv --snap "next-$op-$n"
            assert_no_file "$v/OVMF_VARS.fd" "the raw store after the next command"
            assert_no_file "$v/OVMF_VARS.qcow2.tmp" "the temp file after the next command"
            qemu-img compare -q -f raw -F qcow2 "$raw" "$v/OVMF_VARS.qcow2" ||
                fail "the variables after the next command"
            assert_contains "$(qemu-img snapshot -l "$v/OVMF_VARS.qcow2")" "next-$op-$n"
        done
    done
    CURRENT_TEST=test_uefivars_conversion_killed_anywhere
    printf '      %-22s calls:' "uefivars conversion"
    for op in "${OPS[@]}"; do [ "${count[$op]}" = 0 ] || printf ' %s=%s' "$op" "${count[$op]}"; done
    printf '; each killed\n'
}

run_tests "$@"
