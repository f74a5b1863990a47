#!/usr/bin/env bash
# Helpers for the TUI's tests (test-tui*.sh): the real yave-tui in tmux on a private server
# (send-keys), what the screen shows read back with capture-pane. Every wait polls until its
# condition holds; its bound ($HANG seconds unless a test gives one) only ends a hang: the machine is
# shared and loaded, so no wait is a claim about speed.
#
# shellcheck disable=SC2034 # NOW_MS, WAITED and HANG are read by the test files
. "$(dirname "$0")/lib.sh"

HANG=${YAVE_TEST_HANG:-30}
command -v tmux >/dev/null || {
    echo "    FAIL: tmux is needed (apt-get install tmux)" >&2
    exit 1
}

# ---- processes ----

# NOW_MS=the time in ms, without a subshell (for tight measurements).
set_now()
{
    local t=${EPOCHREALTIME/[.,]/}
    NOW_MS=$((t / 1000))
}

# note TEXT: a line for the log (timings).
note()
{
    printf '      %s: %s\n' "$CURRENT_TEST" "$*"
}

# tui_root VAR [VM...]: a fresh root (shutdown.timeout 3 s, TCG; new_root stops its QEMUs when the
# test ends), with a tiny VM for each name.
tui_root()
{
    local __tr n pwf
    new_root __tr
    printf 'shutdown:\n  timeout: 3\nqemu:\n  accel: tcg\n' >>"$__tr/config.yaml"
    pwf=$(dirname "$__tr")/vncpw
    printf 'pw345678\n' >"$pwf"
    printf -v "$1" '%s' "$__tr"
    shift
    for n in "$@"; do
        expect_exit 0 yv "$__tr" create --no-network --no-ovmf -c 64 -m 64 --name "$n" \
            --vnc-password-file "$pwf"
    done
}

# start_vm ROOT VM VAR: batch `run`; the live QEMU's pid goes to VAR.
start_vm()
{
    expect_exit 0 yv "$1" run --name "$2"
    local __sv_p
    __sv_p=$(cat "$1/run/$2.pid" 2>/dev/null) || fail "no run/$2.pid after run"
    is_qemu "$__sv_p" || fail "run/$2.pid names $__sv_p, which is not a QEMU"
    printf -v "$3" '%s' "$__sv_p"
}

# ---- the terminal ----

TM_SOCK=
S=t # the tmux session the helpers talk to

tm()
{
    LC_ALL=C.UTF-8 tmux -L "$TM_SOCK" -u -f /dev/null "$@"
}

# tui_start ROOT [ARGS...]: `yave-tui --root ROOT ARGS` in a new detached tmux session $S of
# ${TUI_W:-80}x${TUI_H:-24}, TERM=${TUI_TERM:-tmux-256color}, extra environment $TUI_ENV (words);
# the pane's shell prints EXIT=<status> when it ends. Waits for the first frame (the title).
tui_start()
{
    local root=$1 d
    shift
    if [ -z "$TM_SOCK" ]; then
        TM_SOCK="yvtui-$$-$BASHPID"
        at_exit rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TM_SOCK" # kill-server leaves it
        at_exit tmux -L "$TM_SOCK" kill-server
    fi
    TUI_ROOT=$root
    mktmp_into d
    # shellcheck disable=SC2086
    printf '%s; echo EXIT=$?; exec sleep 300\n' "$(printf '%q ' env LC_ALL=C.UTF-8 LANG=C.UTF-8 \
        TERM="${TUI_TERM:-tmux-256color}" ${TUI_ENV:-} "$YAVE_TEST_BIN" --root "$root" "$@")" \
        >"$d/tui.sh"
    tm new-session -d -s "$S" -x "${TUI_W:-80}" -y "${TUI_H:-24}" "bash $d/tui.sh" ||
        fail "tmux new-session failed"
    wait_screen '^ YAVE '
    # a failing test leaves it running: ended before its tmux server goes (LIFO)
    at_exit end_process "$(tui_pid)" "$YAVE_TEST_BIN"
}

# cap: what the pane shows now.
cap()
{
    tm capture-pane -p -t "$S"
}

# tui_pid: the pid of yave-tui (the child of the pane's shell).
tui_pid()
{
    local pp c
    pp=$(tm display -p -t "$S" '#{pane_pid}') || fail "no pane"
    c=$(cat "/proc/$pp/task/$pp/children" 2>/dev/null)
    c=${c%% *}
    [ -n "$c" ] || fail "the pane's shell has no child"
    echo "$c"
}

dump_screen()
{
    printf '      screen:\n' >&2
    printf '%s\n' "${SCREEN:-$(cap)}" | sed 's/^/      |/' >&2
    if [ -n "${TUI_ROOT:-}" ] && [ -s "$TUI_ROOT/run/tui.log" ]; then
        printf '      run/tui.log:\n' >&2
        tail -20 "$TUI_ROOT/run/tui.log" | sed 's/^/      |/' >&2
    fi
}

# wait_screen ERE [SECONDS]: polls until some line of the screen matches ERE; the screen is left in
# SCREEN. Fails (showing the screen) after SECONDS (default $HANG): a hang.
wait_screen()
{
    local end=$(($(now_ms) + ${2:-$HANG} * 1000))
    while :; do
        SCREEN=$(cap)
        grep -Eq -- "$1" <<<"$SCREEN" && return 0
        [ "$(now_ms)" -lt "$end" ] || {
            printf '    FAIL %s: nothing on the screen matches /%s/ after %ss\n' "$CURRENT_TEST" "$1" "${2:-$HANG}" >&2
            dump_screen
            exit 1
        }
        sleep 0.02
    done
}

# wait_gone ERE [SECONDS]: polls until no line of the screen matches ERE (bound: as wait_screen).
wait_gone()
{
    local end=$(($(now_ms) + ${2:-$HANG} * 1000))
    while :; do
        SCREEN=$(cap)
        grep -Eq -- "$1" <<<"$SCREEN" || return 0
        [ "$(now_ms)" -lt "$end" ] || {
            printf '    FAIL %s: /%s/ still on the screen after %ss\n' "$CURRENT_TEST" "$1" "${2:-$HANG}" >&2
            dump_screen
            exit 1
        }
        sleep 0.02
    done
}

# row VM: the list row of VM in SCREEN (the line whose first word is VM).
row()
{
    awk -v n="$1" '$1 == n { print; exit }' <<<"$SCREEN"
}

# wait_row VM ERE [SECONDS]: polls until VM's row matches ERE (bound: as wait_screen); sets ROW and
# WAITED (ms, for the log).
wait_row()
{
    local t0 end
    t0=$(now_ms)
    end=$((t0 + ${3:-$HANG} * 1000))
    while :; do
        SCREEN=$(cap)
        ROW=$(row "$1")
        if grep -Eq -- "$2" <<<"$ROW"; then
            WAITED=$(($(now_ms) - t0))
            return 0
        fi
        [ "$(now_ms)" -lt "$end" ] || {
            printf '    FAIL %s: the row of %s does not match /%s/ after %ss: %s\n' "$CURRENT_TEST" \
                "$1" "$2" "${3:-$HANG}" "$ROW" >&2
            dump_screen
            exit 1
        }
        sleep 0.02
    done
}

# keys KEY...: tmux key names (Tab, Enter, F10, C-u, Escape …); text: literal text.
keys()
{
    tm send-keys -t "$S" "$@" || fail "send-keys $*"
}

text()
{
    tm send-keys -t "$S" -l -- "$1" || fail "send-keys -l $1"
}

# line_with ERE: the first screen line (of SCREEN) matching ERE.
line_with()
{
    grep -Em1 -- "$1" <<<"$SCREEN"
}

# ---- how fast keys echo (issues 15 and 18: a stuck QEMU or VNC server never slows the list) ----

ECHOES=() # the echo times (ms) filter_echoes measured, all calls of the test

# filter_echoes N [END_MS]: opens the list's filter (/), types N letters into it one after the
# other, each waited for before the next (until END_MS, when given), and closes it (Escape); the ms
# each took to show on the filter line are added to ECHOES. Typed and timed by keyecho.py on the
# tmux server's control connection: a tmux process per key and poll would cost more than the TUI's
# answer on a loaded machine, and the harness's own forks must not count against the TUI. A key
# that never shows is a hang ($HANG s).
filter_echoes()
{
    local n=$1 end=${2:-} out
    keys /
    wait_screen '^/ *$'
    out=$("$PY" "$TEST_TOOLS/keyecho.py" --socket "$TM_SOCK" --session "$S" --hang "$HANG" \
        ${end:+--until "$end"} "$n") || {
        SCREEN=$(cap)
        dump_screen
        fail "keyecho.py: the keys typed into the filter did not all show (above)"
    }
    [ -z "$out" ] || mapfile -t -O ${#ECHOES[@]} ECHOES <<<"$out"
    keys Escape
    wait_gone '^/'
}

# assert_echo_median LIMIT WHAT: half the keys of ECHOES (the median) showed within LIMIT ms (a
# loop that waits on a stuck peer shows most keys late; single echoes on a loaded machine may be
# late by scheduling, so no single one has a deadline but a hang's). WHAT says when, for the log.
assert_echo_median()
{
    local median max
    [ ${#ECHOES[@]} -gt 0 ] || fail "no key echo measured"
    median=$(printf '%s\n' "${ECHOES[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    max=$(printf '%s\n' "${ECHOES[@]}" | sort -n | tail -1)
    note "key echoes $2: ${#ECHOES[@]}, median $median ms, slowest $max ms"
    [ "$median" -le "$1" ] || fail "keys took a median $median ms to show $2 (limit $1 ms)"
}

# ---- the screen view (spec §12) ----

TEST_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)

# geometry: the last "picture WxH in CxR cells at row Y col X" line of run/tui.log, as
# GEO="ROW,COL,ROWS,COLS" (screencmp's --rect) and PIC="WxH".
geometry()
{
    local l
    l=$(grep -E '^picture [0-9]+x[0-9]+ in ' "$TUI_ROOT/run/tui.log" | tail -1)
    [ -n "$l" ] || fail "run/tui.log names no picture geometry"
    GEO=$(sed -E 's/^picture ([0-9]+x[0-9]+) in ([0-9]+)x([0-9]+) cells at row ([0-9]+) col ([0-9]+).*/\4,\5,\3,\2/' <<<"$l")
    PIC=$(awk '{print $2}' <<<"$l")
}

# compare_view VM DIR MIN [SCREENCMP-OPTIONS]: a screendump of VM and the pane (with colours) taken while the guest's screen
# did not change (a dump before and after the capture are the same), compared cell by cell;
# the comparator must find at least MIN agreement. Sets AGREE (its line).
compare_view()
{
    local vm=$1 d=$2 min=$3 i
    shift 3
    for i in $(seq 1 20); do
        expect_exit 0 yv "$TUI_ROOT" screenshot --name "$vm" --file "$d/a.png"
        sleep "${VIEW_LAG:-0.5}" # a frame drawn just before the dump reaches the pane (a
        # thumbnail takes a picture every 2 s: VIEW_LAG=2.5)
        tm capture-pane -e -N -p -t "$S" >"$d/pane.txt"
        expect_exit 0 yv "$TUI_ROOT" screenshot --name "$vm" --file "$d/b.png"
        cmp -s "$d/a.png" "$d/b.png" && break
        sleep 0.5
    done
    cmp -s "$d/a.png" "$d/b.png" || fail "the guest's screen never held still for a comparison"
    geometry
    AGREE=$("$PY" "$TEST_TOOLS/screencmp.py" --padded --rect "$GEO" --min "$min" "$@" "$d/pane.txt" "$d/a.png") || {
        printf '      %s\n' "$AGREE" >&2
        SCREEN=$(cap)
        dump_screen
        fail "the view does not show the guest's screen (geometry $GEO of $PIC)"
    }
}

# shifted_fails DIR: the comparison compare_view just passed fails for the same pane one column
# to the right and one row down (what would pass anyway proves nothing).
shifted_fails()
{
    local r c rows cols
    IFS=, read -r r c rows cols <<<"$GEO"
    for rect in "$r,$((c + 1)),$rows,$((cols - 1))" "$((r + 1)),$c,$((rows - 1)),$cols"; do
        if "$PY" "$TEST_TOOLS/screencmp.py" --padded --rect "$rect" "${@:2}" "$1/pane.txt" \
            "$1/a.png" >/dev/null; then
            fail "the comparison passes for the picture shifted to $rect too"
        fi
    done
}

# tui_quit: q, and the TUI must end with status 0 (a sanitizer report would change it).
tui_quit()
{
    keys q
    wait_screen '^EXIT='
    grep -Eq '^EXIT=0( |$)' <<<"$SCREEN" || { # no alternate screen (vt100): it lands on the last line
        printf '    FAIL %s: yave-tui did not exit 0\n' "$CURRENT_TEST" >&2
        dump_screen
        exit 1
    }
}

# show_metrics_columns ROOT: the metrics columns (hidden by default) shown, as F2 keeps them in
# run/tui.state, for a TUI started in ROOT.
show_metrics_columns()
{
    printf 'columns NAME,STATE,VCPU,MEM,DISK,VNC,NETWORK,ADDRESS,PID,UPTIME,CPU%%,RSS,DISK R/W,NET RX/TX\n' \
        >"$1/run/tui.state"
    chmod 600 "$1/run/tui.state"
}
