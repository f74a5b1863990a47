#!/usr/bin/env bash
# The live metrics of the list and the details (spec §15), fast: real QEMUs (TCG, 64 MiB, an empty
# disk: the guest sits in SeaBIOS and does no I/O once it gave up booting) in the real yave-tui in
# tmux. The write rate of a guest that writes is tested on the real guest (test-guest-daytwo.sh).
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"
# shellcheck source=tests/integration/net-lib.sh
. "$(dirname "$0")/net-lib.sh"

# a. RSS, DISK R/W and NET RX/TX are hidden until shown in F2 (remembered): then a running VM's
# resident memory is non-zero, its disk rates settle at 0/0 (query-blockstats answered on the held
# event socket; "-" would mean it never did), no network is "-"; a stopped VM shows "-" in all
# three. A narrower list drops what does not fit (RSS fits in 95 columns, the rates do not); an
# 80-column list keeps its old columns.
test_list_columns()
{
    local root pid
    tui_root root m1 m2
    start_vm "$root" m1 pid
    TUI_W=200 tui_start "$root"
    wait_screen '^NAME +STATE +VCPU +MEM +DISK +VNC +NETWORK +ADDRESS +PID +UPTIME +CPU% *$'
    keys F2
    wait_screen '\[ \] RSS'
    # NAME, HOST (spec §14), …: RSS is the 13th line
    keys Down Down Down Down Down Down Down Down Down Down Down Down Space Down Space Down Space Enter
    wait_gone 'Columns'
    wait_screen '^NAME +STATE +VCPU +MEM +DISK +VNC +NETWORK +ADDRESS +PID +UPTIME +CPU% +RSS +DISK R/W +NET RX/TX *$'
    wait_row m1 "^m1 +running .* $pid +[0-9]+m[0-9]{2}s +[0-9]+\.[0-9] +[0-9.]+[MG] +0/0 +- *$"
    note "m1 shows RSS and 0/0 after ${WAITED} ms"
    local rss
    rss=$(awk '{ print $(NF - 2) }' <<<"$ROW")
    [ "$rss" != 0M ] || fail "RSS of a running QEMU is 0M"
    wait_row m2 '^m2 +stopped .* +- +- +- *$'
    tm resize-window -t "$S" -x 95 -y 24
    wait_screen '^NAME +STATE +VCPU +MEM +VNC +NETWORK +PID +CPU% +RSS *$'
    wait_row m1 "^m1 +running .* $pid +[0-9]+\.[0-9] +[0-9.]+[MG] *$"
    tm resize-window -t "$S" -x 80 -y 24
    wait_screen '^NAME +STATE +VCPU +MEM +VNC +NETWORK +PID +CPU% *$'
    tm resize-window -t "$S" -x 40 -y 10
    wait_screen '^NAME +STATE'
    wait_row m1 '^m1 +running'
    tui_quit
    assert_contains "$(cat "$root/run/tui.state")" "RSS,DISK R/W,NET RX/TX" "tui.state"
    tm kill-session -t "$S"
    TUI_W=200 tui_start "$root"
    wait_screen ' +CPU% +RSS +DISK R/W +NET RX/TX *$'
    tui_quit
}

# QEMU pid $2 (of VM $3 in root $1) preallocates $4 MiB more (a RAM backend added by QMP on its
# .sock): its resident memory grows by that much at once, whatever the guest does.
grow_rss()
{
    python3 - "$1/run/$3.sock" "$4" <<'PY' || fail "QMP object-add on $3 failed"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("rwb")
f.readline()
for cmd in ({"execute": "qmp_capabilities"},
            {"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "grow",
             "size": int(sys.argv[2]) << 20, "prealloc": True}}):
    f.write(json.dumps(cmd).encode() + b"\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            break
    if "return" not in r:
        sys.exit(f"{cmd['execute']}: {r}")
PY
}

# b0. Sorting by RSS is "which VM eats memory now" over all running VMs, not just the rows drawn:
# with more VMs than rows (8 in a 10-line terminal: 6 rows), the one grown by 192 MiB (r8, off
# screen by name) comes to the top (Home: the selection kept after a sort may hold the view below).
test_sort_by_rss()
{
    local root pid n
    tui_root root r1 r2 r3 r4 r5 r6 r7 r8
    for n in r1 r2 r3 r4 r5 r6 r7 r8; do start_vm "$root" "$n" pid; done
    grow_rss "$root" "$pid" r8 192
    show_metrics_columns "$root"
    TUI_W=200 TUI_H=10 tui_start "$root"
    wait_row r1 '^r1 +running .* [0-9.]+[MG] +'
    assert_not_contains "$SCREEN" "r8 " "the list before the sort (six rows fit)"
    keys '<' '<' '<' I
    wait_screen 'RSS▼'
    keys Home # the selection (r1) stays on screen after a sort: to the top of the new order
    wait_row r8 '^r8 +running .* [0-9.]+[MG] +'
    assert_match '^r8 ' "$(grep -A1 '^NAME' <<<"$SCREEN" | tail -1)" "the first row"
    note "r8 on top after ${WAITED} ms: $ROW"
    tui_quit
}

# b. The details of a running VM draw the last minute as sparklines (cpu, disk, net) with the
# figure of now; the sparkline grows as samples come; a stopped VM's details have none.
test_details_sparklines()
{
    local root pid
    tui_root root d1 d2
    start_vm "$root" d1 pid
    tui_start "$root"
    wait_row d1 "^d1 +running "
    assert_not_contains "$(line_with '^NAME')" "RSS" "the list's header (metrics hidden by default)"
    keys Enter
    wait_screen '^ Details: d1'
    wait_screen '^resident memory [0-9.]+[MG] '
    wait_screen '^cpu +[ ▁▂▃▄▅▆▇█]+ [0-9]+\.[0-9]%$'
    wait_screen '^disk write +[ ▁▂▃▄▅▆▇█]+ 0/s$'
    wait_screen '^disk read +[ ▁▂▃▄▅▆▇█]+ 0/s$'
    wait_screen '^net rx +[ ]+ -$'
    # the cpu line gains a bar a second: after a few, its sparkline is not blank
    wait_screen '^cpu +[ ]*[▁▂▃▄▅▆▇█]{3,} [0-9]+\.[0-9]%$'
    keys Escape
    wait_row d2 '^d2 +stopped '
    keys Down Enter
    wait_screen '^ Details: d2'
    assert_not_contains "$(cap)" "resident memory" "a stopped VM's details"
    keys Escape
    tui_quit
}

# c. Without a UTF-8 locale the sparklines are ASCII.
test_details_ascii()
{
    local root pid
    tui_root root a1
    start_vm "$root" a1 pid
    TUI_ENV="LC_ALL=C LANG=C" tui_start "$root"
    wait_row a1 "^a1 +running "
    keys Enter
    wait_screen '^cpu +[ ]*[.:=+*#@-]{2,} [0-9]+\.[0-9]%$'
    assert_not_contains "$(cap)" "▁" "an ASCII terminal"
    keys Escape
    tui_quit
}

# d. A VM with a TAP (in a network namespace of the test's own, on a bridge there; the TUI runs in
# that namespace): NET RX/TX is the TAP's counters by netlink — numbers, never "-" — and its
# details' net lines show a rate.
test_tap_counters()
{
    local root t tap
    new_ns 1
    add_bridge br0
    tui_root root n1
    mktmp_into t
    expect_exit 0 yvn "$root" set --name n1 --network tap --master br0
    expect_exit 0 yvn "$root" run --name n1
    tap=$(expected_tap n1)
    nsx ip link show "$tap" >/dev/null || fail "no TAP $tap in the namespace"
    # the TUI in the namespace: a wrapper in front of the binary (tui_start runs $YAVE_TEST_BIN)
    printf '#!/bin/sh\nexec ip netns exec %q %q "$@"\n' "$NS" "$YAVE_TEST_BIN" >"$t/tui-in-ns"
    chmod 755 "$t/tui-in-ns"
    show_metrics_columns "$root"
    YAVE_TEST_BIN="$t/tui-in-ns" TUI_W=200 tui_start "$root"
    wait_row n1 '^n1 +running .* +[0-9.]+[MG] +[0-9.]+[KMG]?/[0-9.]+[KMG]? +[0-9.]+[KMG]?/[0-9.]+[KMG]? *$'
    note "n1's NET RX/TX: $(awk '{ print $NF }' <<<"$ROW") after ${WAITED} ms"
    keys Enter
    wait_screen '^net rx +[ ▁▂▃▄▅▆▇█]+ [0-9.]+[KMG]?/s$'
    wait_screen '^net tx +[ ▁▂▃▄▅▆▇█]+ [0-9.]+[KMG]?/s$'
    keys Escape
    tui_quit
    expect_exit 0 yvn "$root" shutdown --name n1 --force
}

run_tests "$@"
