#!/usr/bin/env bash
# The list sorted by any column (spec §15): `<`/`>` change the column, `I` inverts, the header's
# arrow says which and how; numbers by value, ties by name; the selection stays on its VM; the F2
# screen shows and hides columns; both remembered per root in run/tui.state (0600), which a
# garbage file never stops. Real yave-tui in tmux; no QEMU needed (stopped VMs).
. "$(dirname "$0")/tui-lib.sh"

# sort_root VAR: VMs whose memory orders them differently from their names (64 twice: a tie).
sort_root()
{
    local __sr m n pwf
    tui_root __sr
    pwf=$(dirname "$__sr")/vncpw
    for n in alpha:512 bravo:64 charlie:1024 delta:64 echo:96; do
        m=${n#*:} n=${n%%:*}
        expect_exit 0 yv "$__sr" create --no-network --no-ovmf -c 64 -m "$m" --name "$n" \
            --vnc-password-file "$pwf"
    done
    printf -v "$1" '%s' "$__sr"
}

# order: the names of the rows, in screen order (SCREEN).
order()
{
    awk 'f && NF && $1 !~ /^(EXIT=|$)/ && $2 ~ /^(stopped|running)$/ { printf "%s%s", s, $1; s = " " } /^NAME/ { f = 1 }' <<<"$SCREEN"
}

# wait_order NAMES: polls until the rows are in that order.
wait_order()
{
    local end=$(($(now_ms) + HANG * 1000))
    while SCREEN=$(cap) && [ "$(order)" != "$1" ]; do
        [ "$(now_ms)" -lt "$end" ] || { dump_screen; fail "row order '$(order)', want '$1'"; }
        sleep 0.02
    done
}

# selected VM: Enter opens the details of the selected row, whose title names it.
assert_selected()
{
    keys Enter
    wait_screen "Details: $1\b"
    keys Escape
    wait_screen '^NAME'
}

# a. Sort by MEM, then inverted: the rows in memory order, ties by name, the selection kept.
test_sort_by_memory()
{
    local root
    sort_root root
    TUI_W=100 tui_start "$root"
    wait_order "alpha bravo charlie delta echo"
    assert_match '^NAME +STATE +VCPU +MEM +DISK ' "$(line_with '^NAME')" "no sort arrow yet"
    keys Down Down # charlie
    keys '>' '>' '>' # STATE, VCPU, MEM
    wait_screen '^NAME +STATE +VCPU +MEM▲ '
    wait_order "bravo delta echo alpha charlie"
    assert_selected charlie
    keys I
    wait_screen '^NAME +STATE +VCPU +MEM▼ '
    wait_order "charlie alpha echo bravo delta" # the 64 MiB tie still by name
    assert_selected charlie
    keys '<' # VCPU: all the same, so by name
    wait_screen '^NAME +STATE +VCPU▼ +MEM '
    wait_order "alpha bravo charlie delta echo"
    keys '>'
    wait_screen 'MEM▼'
    # written a second after the last change, the TUI still running
    local end=$(($(now_ms) + HANG * 1000))
    until grep -qx 'sort MEM desc' "$root/run/tui.state" 2>/dev/null; do
        [ "$(now_ms)" -lt "$end" ] || fail "run/tui.state never says 'sort MEM desc'"
        sleep 0.05
    done
    assert_eq "600" "$(stat -c %a "$root/run/tui.state")" "tui.state mode"
    tui_quit
}

# b. F2 hides DISK and VNC; a restart keeps the sort and the columns; NAME cannot be hidden.
test_remembered_after_restart()
{
    local root
    sort_root root
    TUI_W=100 tui_start "$root"
    wait_order "alpha bravo charlie delta echo"
    keys '>' '>' '>' I
    wait_screen 'MEM▼'
    keys F2
    wait_screen '\[x\] NAME \(always\)'
    keys Space # NAME: refused
    wait_screen 'NAME always shows'
    wait_screen '\[x\] NAME'
    keys Down Down Down Down Down Space Down Space # (HOST, STATE, VCPU, MEM,) DISK, VNC
    wait_screen '\[ \] VNC'
    assert_match '\[ \] DISK' "$(line_with 'DISK')" "DISK unchecked"
    # the smallest terminal the TUI draws in: the box is cut to 8 column lines and scrolls, so
    # a column below (CPU%) can be reached, seen and toggled (Space acts on what is shown)
    tm resize-window -t "$S" -x 40 -y 10
    wait_screen '\[ \] VNC'
    keys Down Down Down Down Down # to CPU%
    wait_screen '\[x\] CPU%'
    assert_not_contains "$SCREEN" 'NAME (always)' "the box scrolled: NAME is above its top"
    keys Space
    wait_screen '\[ \] CPU%'
    keys Space
    wait_screen '\[x\] CPU%'
    keys Up Up Up Up Up Up Up Up Up Up Up
    wait_screen '\[x\] NAME'
    tm resize-window -t "$S" -x 100 -y 24
    wait_screen '\[ \] VNC'
    keys Enter
    wait_gone 'Columns'
    wait_screen '^NAME +STATE +VCPU +MEM▼ +NETWORK'
    tui_quit
    assert_contains "$(cat "$root/run/tui.state")" "hidden HOST,DISK,VNC" "tui.state"
    tm kill-session -t "$S"
    TUI_W=100 tui_start "$root"
    wait_screen '^NAME +STATE +VCPU +MEM▼ +NETWORK'
    wait_order "charlie alpha echo bravo delta"
    assert_not_contains "$(line_with '^NAME')" "VNC" "VNC still hidden"
    tui_quit
}

# e. Sorted by UPTIME, rows never drawn sort by their uptime of now (not by the figure of when the
# TUI first saw them run): at 110x10 the list shows 6 of 7 rows and zold, the oldest, is the last by
# name; sorted by UPTIME descending it comes on top. --refresh 5: a figure left stale would stay so
# long enough to be seen.
test_uptime_sort_offscreen()
{
    local root p
    tui_root root anew b1 b2 b3 b4 b5 zold
    TUI_W=110 TUI_H=10 tui_start "$root" --refresh 5
    wait_screen '^NAME .* UPTIME +CPU%'
    start_vm "$root" zold p
    wait_screen ' 7 VMs, 1 running'
    sleep 2 # zold, older by that
    start_vm "$root" anew p
    wait_row anew '^anew +running .* 0m(0[3-9]|[1-5][0-9])s +[-0-9.]+ *$'
    assert_eq "" "$(row zold)" "zold is below the screen"
    keys '<' '<' I # CPU%, UPTIME, descending: one frame
    wait_screen 'UPTIME▼'
    assert_eq "zold anew b1 b2 b3 b4" "$(order)" "rows sorted by UPTIME, descending"
    tui_quit
}

# f. Sorted by CPU%, every running VM is sampled, drawn or not: zold, below the screen, has a figure
# (not "-", which sorts with the stopped VMs) and comes up among the two running VMs on top.
test_cpu_sort_offscreen()
{
    local root p end
    tui_root root anew b1 b2 b3 b4 b5 zold
    start_vm "$root" zold p
    start_vm "$root" anew p
    TUI_W=110 TUI_H=10 tui_start "$root"
    wait_row anew '^anew +running .* [0-9]+\.[0-9] *$'
    assert_eq "" "$(row zold)" "zold is below the screen"
    keys '<' I # CPU%, descending
    wait_screen 'CPU%▼'
    end=$(($(now_ms) + HANG * 1000))
    while SCREEN=$(cap) && ! [[ "$(order)" =~ ^(anew\ zold|zold\ anew)\ b1\ b2\ b3\ b4$ ]]; do
        [ "$(now_ms)" -lt "$end" ] || { dump_screen; fail "row order '$(order)': zold not on top"; }
        sleep 0.05
    done
    tui_quit
}

# WATCH DIR: prints "ready", then the name of each file renamed into DIR (inotify IN_MOVED_TO), until
# a file named .watch-end is created there (events come in order: none is lost at the end).
WATCH='
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x80 | 0x100)  # IN_MOVED_TO | IN_CREATE
print("ready", flush=True)
while True:
    buf, i = os.read(fd, 65536), 0
    while i < len(buf):
        wd, mask, cookie, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
        i += 16 + n
        if name == ".watch-end":
            sys.exit(0)
        if mask & 0x80:
            print(name, flush=True)
'

# d. A burst of sort keys writes run/tui.state once (a second after the last change, or at quit),
# not once per key (each was a write with two fsyncs on the UI thread).
test_written_once_per_burst()
{
    local root d wpid
    sort_root root
    mktmp_into d
    "$PY" -c "$WATCH" "$root/run" >"$d/events" &
    wpid=$!
    at_exit kill "$wpid"
    for _ in $(seq 100); do grep -q ready "$d/events" && break; sleep 0.05; done
    TUI_W=100 tui_start "$root"
    wait_order "alpha bravo charlie delta echo"
    keys '>' '>' '>' I # one burst: STATE, VCPU, MEM, inverted
    wait_screen 'MEM▼'
    wait_order "charlie alpha echo bravo delta"
    tui_quit
    assert_contains "$(cat "$root/run/tui.state")" "sort MEM desc" "tui.state after q"
    assert_eq "600" "$(stat -c %a "$root/run/tui.state")" "tui.state mode"
    touch "$root/run/.watch-end"
    wait "$wpid"
    rm -f "$root/run/.watch-end"
    assert_eq "1" "$(grep -c '^tui.state$' "$d/events")" "writes of tui.state for 4 keys"
}

# c. A garbage tui.state (bad lines, binary, a column that does not exist) does not stop the TUI:
# the good lines count, the rest is noted in run/tui.log.
test_garbage_state()
{
    local root
    sort_root root
    printf 'sort XYZ desc\n\x01\xff garbage\nhidden NAME,DISK\nsort MEM\ncolumns ZZZ\n' >"$root/run/tui.state"
    chmod 600 "$root/run/tui.state"
    TUI_W=100 tui_start "$root"
    wait_screen '^NAME +STATE +VCPU +MEM▲ +VNC'
    wait_order "bravo delta echo alpha charlie"
    grep -q 'tui.state: lines ignored: line 1: no such column' "$root/run/tui.log" ||
        fail "no note in run/tui.log: $(cat "$root/run/tui.log")"
    tui_quit
    head -c 4096 /dev/urandom >"$root/run/tui.state" # all garbage: the defaults
    tm kill-session -t "$S"
    TUI_W=100 tui_start "$root"
    wait_order "alpha bravo charlie delta echo"
    tui_quit
}

run_tests "$@"
