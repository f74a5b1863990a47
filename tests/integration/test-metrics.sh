#!/usr/bin/env bash
# The live metrics of the list and the details (spec §15), fast: real QEMUs (TCG, 64 MiB, an empty
# disk: the guest sits in SeaBIOS and does no I/O once it gave up booting) in the real yave-tui in
# tmux. The write rate of a guest that writes is tested on the real guest (test-guest-daytwo.sh).
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"
# shellcheck source=tests/integration/net-lib.sh
. "$(dirname "$0")/net-lib.sh"

# a. A wide list shows RSS, DISK R/W and NET RX/TX: a running VM's resident memory is non-zero,
# its disk rates settle at 0/0 (query-blockstats answered on the held event socket; "-" would mean
# it never did), no network is "-"; a stopped VM shows "-" in all three. An 80-column list keeps
# its old columns.
test_list_columns()
{
    local root pid
    tui_root root m1 m2
    start_vm "$root" m1 pid
    TUI_W=200 tui_start "$root"
    wait_screen '^NAME +STATE +VCPU +MEM +DISK +VNC +NETWORK +ADDRESS +PID +UPTIME +CPU% +RSS +DISK R/W +NET RX/TX *$'
    wait_row m1 "^m1 +running .* $pid +[0-9]+m[0-9]{2}s +[0-9]+\.[0-9] +[0-9.]+[MG] +0/0 +- *$"
    note "m1 shows RSS and 0/0 after ${WAITED} ms"
    local rss
    rss=$(awk '{ print $(NF - 2) }' <<<"$ROW")
    [ "$rss" != 0M ] || fail "RSS of a running QEMU is 0M"
    wait_row m2 '^m2 +stopped .* +- +- +- *$'
    tm resize-window -t "$S" -x 80 -y 24
    wait_screen '^NAME +STATE +VCPU +MEM +VNC +NETWORK +PID +CPU% *$'
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
