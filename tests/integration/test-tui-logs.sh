#!/usr/bin/env bash
# The logs pager (spec §15 "Logs", tui/screen_logs.c), driven in tmux as a person would: L opens a
# VM's serial.log at its end and follows it as it grows (the test appends, as a guest would, to the
# log of a stopped VM), a scroll leaves follow mode and F comes back, / n N search with a
# wrap-around, Tab switches to qemu.log, details opens it too, and what a guest wrote is shown as
# text: an escape sequence in a log never reaches the terminal.
. "$(dirname "$0")/tui-lib.sh"

# numbered LOG FROM TO [PREFIX]: appends the lines "PREFIX N" (default "line").
numbered()
{
    local i
    for ((i = $2; i <= $3; i++)); do printf '%s %d\n' "${4:-line}" "$i"; done >>"$1"
}

# a. L on the list: serial.log from its end, followed as it grows; Up leaves follow (new lines do
# not move the view), F follows again.
test_follow_growing_serial_log()
{
    local root log
    tui_root root lg
    log=$root/lg.vm/serial.log
    numbered "$log" 1 500
    tui_start "$root"
    wait_row lg '^lg +stopped '
    keys L
    wait_screen '^ Logs: lg — serial\.log .*\[FOLLOW\]'
    wait_screen '^line 500 *$'
    [ "$(cap | grep -Ec '^line [0-9]+ *$')" -eq 22 ] || fail "not a full page of the log's end"
    grep -Eq '^line 1 *$' <<<"$SCREEN" && fail "the start of the log is shown, not its end"
    numbered "$log" 501 510
    wait_screen '^line 510 *$'
    sleep 0.3
    printf 'grown by another %s\n' writer >>"$log"
    wait_screen '^grown by another writer *$'
    keys Up
    wait_gone '\[FOLLOW\]'
    wait_gone '^grown by another writer *$' # one line up
    numbered "$log" 511 520
    sleep 1
    SCREEN=$(cap)
    grep -Eq '^line 520 *$' <<<"$SCREEN" && fail "a scrolled view followed the log"
    keys F
    wait_screen '\[FOLLOW\]'
    wait_screen '^line 520 *$'
    # a smaller terminal: still the end, on fewer rows
    tm resize-window -t "$S" -x 44 -y 10
    wait_screen '^line 520 *$'
    [ "$(cap | grep -Ec '^line [0-9]+ *$')" -eq 8 ] || fail "not 8 rows of the log at 44x10"
    tm resize-window -t "$S" -x 80 -y 24
    wait_screen '^line 500 *$'
    keys g
    wait_screen '^line 1 *$'
    wait_gone '\[FOLLOW\]'
    keys G
    wait_screen '^line 520 *$'
    keys q
    wait_row lg '^lg +stopped '
    tui_quit
}

# b. / finds a line (highlighted, case folded), n goes on with a wrap-around message, N goes back,
# a text found nowhere says so, a match past the right edge is scrolled to; Tab shows qemu.log.
test_search()
{
    local root log
    tui_root root sr
    log=$root/sr.vm/serial.log
    numbered "$log" 1 3000 row
    sed -i 's/^row 1500$/row 1500 the MAGIC marker here/; s/^row 2500$/row 2500 second magic/' "$log"
    printf 'qemu says hello\n' >"$root/sr.vm/qemu.log"
    tui_start "$root"
    wait_row sr '^sr +stopped '
    keys L
    wait_screen '^row 3000 *$'
    keys g
    wait_screen '^row 1 *$'
    keys / && text 'magic'
    wait_screen '^/magic *$'
    keys Enter
    wait_screen '^row 1500 the MAGIC marker here *$'
    grep -Eq '^row 2500' <<<"$SCREEN" && fail "the view is not at the first match"
    # the match, and only it, in other colours: an SGR right before it and right after it
    tm capture-pane -e -p -t "$S" | grep -Eq $'^row 1500 the (\e\\[[0-9;]*m)+MAGIC(\e\\[[0-9;]*m)+ marker' ||
        fail "the match is not highlighted"
    keys n
    wait_screen '^row 2500 second magic *$'
    keys n
    wait_screen 'search hit BOTTOM, continued at TOP'
    wait_screen '^row 1500 the MAGIC marker here *$'
    keys N
    wait_screen 'search hit TOP, continued at BOTTOM'
    wait_screen '^row 2500 second magic *$'
    keys / && text 'nowhere-to-be-found' && keys Enter
    wait_screen 'not found: nowhere-to-be-found'
    # a match past the right edge: the view moves right to it; Left comes back to column 1
    printf 'long %s FARAWAY end\n' "$(printf 'x%.0s' {1..300})" >>"$log"
    keys / && text faraway && keys Enter
    wait_screen 'xxx FARAWAY end *$'
    wait_screen '^ Logs: sr — serial\.log .* from column [0-9]+ '
    keys Left Left Left Left Left Left Left Left
    wait_screen '^long xxx'
    wait_gone 'from column'
    keys Tab
    wait_screen '^ Logs: sr — qemu\.log '
    wait_screen '^qemu says hello *$'
    keys Escape
    wait_row sr '^sr +stopped '
    tui_quit
}

# c. Escape sequences, C1 controls and bad UTF-8 a guest wrote show as text (^[, \xNN): the pane's
# title is not changed, the screen not cleared, nothing coloured; a symlink in place of the log is
# refused. Details opens the pager too (L).
test_escapes_shown_harmlessly()
{
    local root log d
    tui_root root es
    log=$root/es.vm/serial.log
    mktmp_into d
    printf 'before\nevil \e]2;pwned\a\e[2J\e[31mRED\e[0m \xc2\x9b31m \xff end\nafter\n' >"$log"
    tui_start "$root"
    wait_row es '^es +stopped '
    keys Enter
    wait_screen '^ Details: es'
    keys L
    wait_screen '^ Logs: es — serial\.log '
    wait_screen '^after *$'
    wait_screen '^before *$'
    assert_eq 'evil ^[]2;pwned^G^[[2J^[[31mRED^[[0m \u{9b}31m \xff end' \
        "$(line_with '^evil' | sed 's/ *$//')" "the escape line as text"
    assert_ne pwned "$(tm display -p -t "$S" '#{pane_title}')" "pane title"
    tm capture-pane -e -p -t "$S" | grep '^evil' | grep -q $'\e\\[[0-9;]*31m' &&
        fail "the guest's colour reached the terminal"
    keys q
    wait_screen '^ Details: es'
    keys Escape
    # a symbolic link where the log should be: refused, its target never shown
    printf 'secret of the host\n' >"$d/secret"
    rm -f "$log"
    ln -s "$d/secret" "$log"
    keys L
    wait_screen 'serial\.log +\(refused: a symbolic link\)'
    grep -q 'secret of the host' <<<"$SCREEN" && fail "the link's target is shown"
    keys q
    tui_quit
}

# d. A real QEMU (SeaBIOS, TCG) started under the open pager truncates serial.log: the old lines go,
# the pager says so, and what is written to the new log is followed.
test_log_truncated_by_a_start()
{
    local root log pid
    tui_root root tq
    log=$root/tq.vm/serial.log
    numbered "$log" 1 40 old
    tui_start "$root"
    wait_row tq '^tq +stopped '
    keys L
    wait_screen '^old 40 *$'
    start_vm "$root" tq pid
    wait_screen 'serial\.log started again \(truncated or replaced\)'
    wait_gone '^old [0-9]+ *$'
    numbered "$log" 1 3 new
    wait_screen '^new 3 *$'
    wait_screen '\[FOLLOW\]'
    keys q
    wait_row tq "^tq +running .* $pid "
    expect_exit 0 yv "$root" shutdown --name tq --force
    tui_quit
}

# e. A 200 MB log (sparse: 200 MB of NUL bytes, no newline, between a head and a tail) opens at its
# end at once, a search through all of it ends with "not found" without holding the keyboard (Esc
# stops one under way, through 256 GiB), and a guest writing fast does not stall the pager.
test_big_and_chatty_log()
{
    local root log i
    tui_root root bg
    log=$root/bg.vm/serial.log
    printf 'head line\n' >"$log"
    truncate -s 200M "$log"
    printf '\ntail one\ntail two\n' >>"$log"
    tui_start "$root"
    wait_row bg '^bg +stopped '
    keys L
    wait_screen '^tail two *$'
    wait_screen '^\^@\^@\^@' # the NUL bytes as text
    keys / && text absent-text && keys Enter
    wait_screen 'not found: absent-text'
    # grown to 256 GiB (sparse): a search through it takes minutes, so only Esc can end it here
    truncate -s 256G "$log"
    wait_screen ' 262144 MiB '
    keys / && text absent-again && keys Enter
    wait_screen 'searching… [0-9]+%  \(Esc stops\)'
    keys Escape
    wait_screen 'search stopped'
    keys g
    wait_screen '^head line *$'
    keys F
    for i in $(seq 1 20); do numbered "$log" 1 500 "burst$i"; done &
    wait_screen '^burst20 500 *$'
    wait
    keys q
    wait_row bg '^bg +stopped '
    tui_quit
}

# h. Without inotify (EMFILE: 128 instances per user; a preloaded shim makes inotify_init1 fail),
# the pager says it does not watch, and a search through 200 MB (25 steps) still ends: each step
# runs on the loop's turn (the screen had no descriptor, was never handed its turn, and the loop
# spun at timeout 0 with the search stuck at its first step).
test_search_without_inotify()
{
    local root log d
    tui_root root ni
    log=$root/ni.vm/serial.log
    mktmp_into d
    printf '#include <errno.h>\nint inotify_init1(int f) { (void)f; errno = EMFILE; return -1; }\n' \
        >"$d/noino.c"
    cc -shared -fPIC -o "$d/noino.so" "$d/noino.c" || fail "cannot build the shim"
    printf 'head line\n' >"$log"
    truncate -s 200M "$log"
    printf '\ntail one\n' >>"$log"
    TUI_ENV="LD_PRELOAD=$d/noino.so ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0" \
        tui_start "$root"
    wait_row ni '^ni +stopped '
    keys L
    wait_screen 'not watching the logs \(inotify: Too many open files\)'
    wait_screen '^tail one *$'
    keys / && text absent-text && keys Enter
    wait_screen 'not found: absent-text'
    keys q
    wait_row ni '^ni +stopped '
    tui_quit
}

# ticks PID: the CPU time (user + system, clock ticks) the process used so far.
ticks()
{
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# i. A guest writing its disk image in the VM folder does not wake the pager (it watched the whole
# folder for writes: a wake-up and a look at both logs per write): over 3 s of writes, as good as
# no CPU (a generous bound on a wake-up per write; the log written after it still shows, and after
# it was replaced by another file, that one).
test_disk_writes_do_not_wake()
{
    local root log pid t0 t1
    tui_root root dw
    log=$root/dw.vm/serial.log
    numbered "$log" 1 30
    tui_start "$root"
    wait_row dw '^dw +stopped '
    keys L
    wait_screen '^line 30 *$'
    sleep 0.5
    pid=$(tui_pid)
    t0=$(ticks "$pid")
    python3 - "$root/dw.vm/disk.img" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
end = time.monotonic() + 3
while time.monotonic() < end:
    for i in range(50):
        os.pwrite(fd, b"x" * 4096, i * 4096)
    time.sleep(0.001)
os.close(fd)
PY
    t1=$(ticks "$pid")
    note "the pager used $((t1 - t0)) ticks during 3 s of disk writes"
    [ $((t1 - t0)) -le 15 ] || fail "$((t1 - t0)) ticks of CPU in 3 s of writes to another file"
    numbered "$log" 31 31
    wait_screen '^line 31 *$'
    # rotated: the new file at the path is watched (and the old one, written, is no news)
    mv "$log" "$log.1"
    numbered "$log.tmp" 1 1 new
    mv "$log.tmp" "$log"
    wait_screen 'serial\.log started again'
    wait_screen '^new 1 *$'
    numbered "$log" 2 2 new
    wait_screen '^new 2 *$'
    numbered "$log.1" 32 32
    sleep 0.3
    grep -q '^line 32' <<<"$(cap)" && fail "the rotated file is shown"
    keys q
    tui_quit
}

# g. n and N go on from the page shown: scrolled away from the match, from its top line (they went
# on from the old match, out of sight).
test_next_from_view()
{
    local root log
    tui_root root nv
    log=$root/nv.vm/serial.log
    numbered "$log" 1 3000 row
    sed -i 's/^row 1500$/row 1500 the MAGIC marker here/; s/^row 2500$/row 2500 second magic/' "$log"
    tui_start "$root"
    wait_row nv '^nv +stopped '
    keys L
    wait_screen '^row 3000 *$'
    keys g
    wait_screen '^row 1 *$'
    keys / && text magic && keys Enter
    wait_screen '^row 1500 the MAGIC marker here *$'
    keys g # away from the match: n starts at row 1, finds 1500 again
    wait_screen '^row 1 *$'
    keys n
    wait_screen '^row 1500 the MAGIC marker here *$'
    grep -Eq '^row 2500' <<<"$SCREEN" && fail "n went on from the match out of sight"
    keys G # at the end: N finds the last one before the page, no wrap-around
    wait_screen '^row 3000 *$'
    keys N
    wait_screen '^row 2500 second magic *$'
    grep -q 'search hit' <<<"$SCREEN" && fail "N wrapped around from the match out of sight"
    keys n # on the page: from the match shown, on to the next (wrapped)
    wait_screen 'search hit BOTTOM, continued at TOP'
    wait_screen '^row 1500 the MAGIC marker here *$'
    keys q
    tui_quit
}

# f. A wide (CJK) character is 2 cells: a match after 150 of them (300 cells) is scrolled to a
# third of the width in (26 of 80 cells: 13 characters before it shown; counting characters as
# cells showed 26), and a tab after them goes to the next multiple of 8 cells.
test_wide_chars()
{
    local root log w
    tui_root root wd
    log=$root/wd.vm/serial.log
    w=$(printf '日%.0s' {1..150})
    printf 'first\n%sMATCHME end\n日本\tx\nlast\n' "$w" >"$log"
    tui_start "$root"
    wait_row wd '^wd +stopped '
    keys L
    wait_screen '^last *$'
    [ "$(line_with '^日本')" = "日本    x" ] || fail "the tab after 2 wide characters: $(line_with '^日本')"
    keys / && text matchme && keys Enter
    wait_screen 'MATCHME end'
    grep -Eq '^(日){13}MATCHME end *$' <<<"$SCREEN" ||
        fail "the match is not 26 cells in: $(line_with MATCHME)"
    keys Left
    wait_screen '^(日){33}MATCHME end *$' # 40 cells to the left: 20 characters more
    keys q
    tui_quit
}

run_tests "$@"
