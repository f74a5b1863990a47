#!/usr/bin/env bash
# Select many and the mouse (spec §15): marks, one question naming every marked VM, a bulk action
# that skips what makes no sense per VM and ends in a summary; a click selects, a double click opens
# details, the wheel scrolls; --no-mouse. The real yave-tui in tmux, real QEMU (TCG, SeaBIOS).
. "$(dirname "$0")/tui-lib.sh"

# marked VM: the row of VM drawn with its mark glyph ("*name").
marked_row()
{
    awk -v n="*$1" '$1 == n { print; exit }' <<<"$SCREEN"
}

# is_running ROOT VM: run/VM.pid names a live QEMU.
is_running()
{
    local p
    p=$(cat "$1/run/$2.pid" 2>/dev/null) || return 1
    is_qemu "$p"
}

# a+b. Five VMs, three marked: one question names all three, only y confirms, exactly those run.
# Then a fourth (stopped) is marked too and the bulk force stop stops the others and the summary
# says which was already stopped.
test_bulk_run_and_force()
{
    local root vm
    tui_root root va vb vc vd ve
    TUI_W=100 tui_start "$root"
    wait_row va '^va +stopped '
    # Space marks and moves down: va, (vb skipped with Down), vc; '*' inverts; 'u' clears
    keys Space Down Space
    wait_screen '^\*vc +stopped '
    SCREEN=$(cap)
    [ -n "$(marked_row va)" ] || fail "va is not drawn marked"
    [ -z "$(marked_row vb)" ] || fail "vb is drawn marked"
    wait_screen ' 2 marked: r, s, K, D act on every marked VM'
    text '*'
    wait_screen '^\*vb +stopped '
    SCREEN=$(cap)
    [ -z "$(marked_row va)$(marked_row vc)" ] || fail "'*' did not unmark va and vc"
    [ -n "$(marked_row vd)" ] || fail "'*' did not mark vd"
    [ -n "$(marked_row ve)" ] || fail "'*' did not mark ve"
    text u
    wait_gone '^\*v'
    # '*' under a filter inverts only the rows shown
    text /
    text vd
    keys Enter
    wait_gone '^va '
    text '*'
    wait_screen '^\*vd '
    keys Escape # clears the filter
    wait_row va '^ va +stopped '
    SCREEN=$(cap)
    for vm in va vb vc ve; do [ -z "$(marked_row $vm)" ] || fail "$vm marked by '*' under a filter"; done
    text u
    wait_gone '^\*v'
    # mark va, vc, ve: r asks once, naming all three; a key other than y cancels
    keys Home Space Down Space Down Space
    wait_screen '^\*ve +stopped '
    text r
    wait_screen 'Start va, vc, ve\?'
    text n
    wait_screen 'cancelled \(only y confirms\)'
    for vm in va vb vc vd ve; do is_running "$root" $vm && fail "$vm runs after a cancel"; done
    text r
    wait_screen 'Start va, vc, ve\?'
    text y
    wait_screen 'Run: 3 VMs: 3 done, 0 failed, 0 skipped' 120
    assert_contains "$SCREEN" "va started" "summary names va"
    assert_contains "$SCREEN" "ve started" "summary names ve"
    text x # any key closes the notice
    wait_gone 'Summary'
    for vm in va vc ve; do is_running "$root" $vm || fail "$vm does not run after the bulk run"; done
    for vm in vb vd; do is_running "$root" $vm && fail "$vm runs but was not marked"; done
    wait_row '*va' '^\*va +running '
    wait_row vb '^ vb +stopped ' # the gutter of the marks: the name whole after it

    # mark vd too (stopped): K names all four, stops the three, says vd was already stopped
    keys End Up Space # vd
    wait_screen '^\*vd +stopped '
    text K
    wait_screen 'Stop va, vc, vd, ve now\?'
    text y
    wait_screen 'Force stop: 4 VMs: 3 done, 0 failed, 1 skipped' 120
    assert_contains "$SCREEN" "vd: already stopped" "the summary says vd was already stopped"
    assert_contains "$SCREEN" "vc stopped (by" "the summary says vc stopped"
    text x
    wait_gone 'Summary'
    for vm in va vb vc vd ve; do is_running "$root" $vm && fail "$vm still runs"; done
    # a VM deleted behind the list's back loses its mark
    expect_exit 0 yv "$root" delete --name ve
    wait_gone '^\*?ve '
    wait_screen ' 3 marked:'
    # without marks, r acts on the selected VM alone and asks nothing
    text u
    wait_gone ' marked:'
    keys Home Down # vb
    text r
    wait_row vb '^vb +running ' 60
    grep -q 'Start vb' <<<"$SCREEN" && fail "r without marks asked a question"
    is_running "$root" va && fail "va runs: r without marks acted on more than the selected VM"
    tui_quit
}

# b2. A failure on one VM does not stop the rest and the summary says which failed; a bulk
# delete (running VMs among them) removes every marked VM after one question.
test_bulk_failure_and_delete()
{
    local root vm
    tui_root root fa fb fc fd
    rm "$root/fb.vm/hd0.qcow2" # fb's run fails: its disk is gone
    TUI_W=100 tui_start "$root"
    wait_row fd '^fd +stopped '
    keys Home Space Space Space # fa fb fc
    wait_screen '^\*fc +stopped '
    text r
    wait_screen 'Start fa, fb, fc\?'
    text y
    wait_screen 'Run: 3 VMs: 2 done, 1 failed, 0 skipped' 120
    assert_contains "$SCREEN" "fb: failed: " "the summary says fb failed"
    assert_contains "$SCREEN" "fa started" "the summary says fa started"
    text x
    wait_gone 'Summary'
    for vm in fa fc; do is_running "$root" $vm || fail "$vm does not run: fb's failure stopped it"; done
    is_running "$root" fb && fail "fb runs without its disk"
    is_running "$root" fd && fail "fd runs but was not marked"
    text D
    # which ones run, named: the delete stops them first
    wait_screen 'Delete fa, fb, fc and their disks for good\? Running \(stopped first\): fa, fc'
    text y
    wait_screen 'Delete: 3 VMs: 3 done, 0 failed, 0 skipped' 120
    text x
    wait_gone 'Summary'
    wait_screen ' 1 VM, 0 running'
    for vm in fa fb fc; do [ ! -e "$root/$vm.vm" ] || fail "$vm still has its folder"; done
    [ -d "$root/fd.vm" ] || fail "fd was deleted but not marked"
    wait_gone ' marked:'
    tui_quit
}

# e. Long names at 80x24: the question wraps, so all six marked VMs and which of them run are on
# the screen before y (it was one line cut at the width: three names, no "running"). On a
# screen too short for it, the names scroll (PgDn, End) and the box says more is below; y still
# confirms, and deletes all six.
test_long_names_question()
{
    local root vm pid all=() i
    for i in 1 2 3 4 5 6; do all+=("long-machine-name-for-the-question-number-0$i"); done
    tui_root root "${all[@]}"
    start_vm "$root" "${all[1]}" pid
    start_vm "$root" "${all[4]}" pid
    tui_start "$root"
    wait_screen '6 VMs, 2 running'
    text '*'
    wait_screen ' 6 marked: '
    text D
    wait_screen 'Running \(stopped first\)'
    local flat
    flat=$(tr -s ' \n' ' ' <<<"$SCREEN" | sed 's/│//g; s/| / /g' | tr -s ' ')
    for vm in "${all[@]}"; do
        grep -q -- "$vm" <<<"$SCREEN" || fail "the question does not show $vm"
    done
    grep -Eq -- "Running \(stopped first\): ${all[1]}, *${all[4]}" <<<"$flat" ||
        fail "the question does not name the two running VMs"
    text n
    wait_screen 'cancelled \(only y confirms\)'
    tui_quit

    S=t_short
    TUI_H=10 tui_start "$root"
    wait_screen '6 VMs, 2 running'
    text '*'
    wait_screen ' 6 marked: '
    text D
    wait_screen '(↓|v) more'
    grep -q 'Running (stopped first)' <<<"$SCREEN" && fail "the short screen shows all (no scroll tested)"
    keys NPage End
    wait_screen 'Running \(stopped first\)'
    wait_gone '(↓|v) more'
    text y
    wait_screen 'Delete: 6 VMs: 6 done, 0 failed, 0 skipped' 120
    text x
    wait_gone 'Summary'
    for vm in "${all[@]}"; do [ ! -e "$root/$vm.vm" ] || fail "$vm still has its folder"; done
    tui_quit
}

# f. A VM started while the question about it is open is not force-deleted by its y (the question
# said it was stopped): skipped, "started since the question" — for one VM and for the marked
# ones. A second bulk action while one runs is refused (the first one's summary would be lost).
# The filter says how many marks it hides, and so does the question.
test_question_state_and_one_bulk()
{
    local root pid
    tui_root root sa sb sc
    tui_start "$root"
    wait_row sc '^sc +stopped '
    keys Home # sa alone, no marks
    text D
    wait_screen 'Delete sa and its disks for good\?'
    start_vm "$root" sa pid
    wait_row sa ' running '
    text y
    wait_screen 'started since the question'
    [ -d "$root/sa.vm" ] || fail "sa was deleted: it started after the question said stopped"
    is_running "$root" sa || fail "sa was stopped by a delete it was not asked about"
    # marked: sb started since the question, sc deleted
    keys Down Space Space
    wait_screen '^\*sc '
    text D
    wait_screen 'Delete sb, sc and their disks for good\?'
    start_vm "$root" sb pid
    wait_row '*sb' ' running '
    text y
    wait_screen 'Delete: 2 VMs: 1 done, 0 failed, 1 skipped' 120
    assert_contains "$SCREEN" "sb: started since the question" "the summary says why sb was kept"
    text x
    wait_gone 'Summary'
    [ -d "$root/sb.vm" ] || fail "sb was deleted: it started after the question said stopped"
    [ ! -e "$root/sc.vm" ] || fail "sc was not deleted"
    # one bulk at a time: a graceful stop of sa and sb (the guest ignores ACPI: it escalates after
    # the 3 s timeout), a force stop meanwhile is refused
    text u
    wait_gone ' marked:'
    keys Home Space Space
    wait_screen ' 2 marked: '
    text s
    wait_screen 'Shut sa, sb down'
    text y
    wait_screen 'stopping'
    text K
    wait_screen 'a bulk action is in progress: wait for its summary'
    grep -q 'Stop sa, sb now' <<<"$SCREEN" && fail "a second bulk question opened"
    wait_screen 'Stop: 2 VMs: 2 done' 120
    text x
    wait_gone 'Summary'
    # a filter hides a mark: the status line and the question say so
    text /
    text sb
    keys Enter
    wait_screen 'filter: sb +2 marked \(1 hidden by the filter\)'
    text D
    wait_screen '\(1 not shown in the list\)'
    text n
    wait_screen 'cancelled'
    tui_quit
}

# g. A mark does not move its row: the list sorted by name (I: NAME descending) keeps pc, pb, pa
# when pc is marked ('*' is drawn in a gutter, not put into the name the sort reads).
test_mark_keeps_name_sort()
{
    local root order
    tui_root root pa pb pc
    tui_start "$root"
    wait_row pc '^pc +stopped '
    text I
    wait_screen 'NAME(▼|v)'
    keys Home
    text ' '
    wait_screen '^\*pc +stopped '
    order=$(awk '$1 ~ /^\*?p[abc]$/ { print $1 }' <<<"$SCREEN" | tr '\n' ' ')
    assert_eq '*pc pb pa ' "$order" "the rows' order with pc marked (NAME descending)"
    tui_quit
}

# h. A marked VM deleted and created again under its name while another screen shows (its
# details) is not marked when the list comes back: the mark went with the VM the monitor saw go.
test_mark_dropped_while_away()
{
    local root
    tui_root root ra rb
    tui_start "$root"
    wait_row rb '^rb +stopped '
    keys Home Down
    text ' '
    wait_screen '^\*rb '
    keys Enter
    wait_screen '^ Details: rb'
    expect_exit 0 yv "$root" delete --name rb
    wait_screen 'VM rb is gone' # the monitor saw it go
    expect_exit 0 yv "$root" create --no-network --no-ovmf -c 64 -m 64 --name rb
    wait_screen 'VM rb — stopped' # and come back
    keys Escape
    wait_row rb '^rb +stopped ' # no gutter: no mark left
    grep -q ' marked:' <<<"$SCREEN" && fail "rb is still marked after a delete and a create"
    tui_quit
}

# i. An admin's 50 VMs (past the old cap of 32, and more jobs than the loop polls at once): '*'
# then D asks one question naming all (wrapped), y deletes every one, the summary counts them.
test_fifty_marked()
{
    local root vms=() i
    for i in $(seq -w 1 50); do vms+=("m$i"); done
    tui_root root "${vms[@]}"
    tui_start "$root"
    wait_screen '50 VMs, 0 running'
    text '*'
    wait_screen ' 50 marked: '
    text D
    wait_screen 'Delete m01, m02, '
    wait_screen 'm49, m50 and their disks for good\?' # wrapped: every name on the screen
    text y
    wait_screen 'Delete: 50 VMs: 50 done, 0 failed, 0 skipped' 300
    text x
    wait_gone 'Summary'
    wait_screen ' 0 VMs, 0 running'
    [ -z "$(ls -d "$root"/*.vm 2>/dev/null)" ] || fail "VMs left: $(ls -d "$root"/*.vm)"
    tui_quit
}

# c. The mouse: a click on a row selects it (SGR reports, xterm), a double click opens details,
# a click on the header or the key bar does nothing, the wheel scrolls; with --no-mouse the
# terminal is never asked for mouse reports.
test_mouse()
{
    local root
    tui_root root ma mb mc md
    TUI_TERM=xterm-256color tui_start "$root"
    wait_row ma '^ma +stopped '
    [ "$(tm display -p -t "$S" '#{mouse_any_flag}#{mouse_standard_flag}')" != 00 ] ||
        fail "the TUI did not ask the terminal for mouse reports"
    # rows: header on line 2, ma on 3, mb 4, mc 5, md 6 (1-based); a click on mc
    text $'\e[<0;5;5M'
    text $'\e[<0;5;5m'
    keys Enter # details of the selected VM
    wait_screen '^ Details: mc'
    keys Escape
    wait_row md '^md +stopped '
    # a click on the header and on the key bar: the selection stays on mc
    text $'\e[<0;5;2M'
    text $'\e[<0;5;2m'
    text $'\e[<0;5;24M'
    text $'\e[<0;5;24m'
    text ' ' # marks the selected row: still mc
    wait_screen '^\*mc '
    text u
    # the wheel: down once (3 rows) from mc → md (the last)
    text $'\e[<65;5;5M'
    text ' '
    wait_screen '^\*md '
    text u
    # a click over a question is dropped: the question stays, and the y after it still confirms
    text $'\e[<0;5;5M' # mark mc and ask to delete it
    text $'\e[<0;5;5m'
    text ' '
    wait_screen '^\*mc '
    text D
    wait_screen 'Delete mc'
    text $'\e[<0;5;3M'
    text $'\e[<0;5;3m'
    text y
    wait_screen 'Delete: 1 VM: 1 done'
    [ ! -e "$root/mc.vm" ] || fail "mc not deleted: the click answered the question"
    text x
    wait_gone 'Summary'
    wait_gone '^\*?mc '
    # a double click on mb opens its details
    text $'\e[<0;5;4M'
    text $'\e[<0;5;4m'
    text $'\e[<0;5;4M'
    text $'\e[<0;5;4m'
    wait_screen '^ Details: mb'
    keys Escape
    wait_row ma '^ma +stopped '
    tui_quit

    # tmux's own terminal type: curses gets X10 reports (ESC [ M b x y, each + 32); a click on md
    # (row 5 now that mc is gone)
    S=t_x10
    tui_start "$root"
    wait_row ma '^ma +stopped '
    text $'\e[M &%'
    text $'\e[M#&%'
    text ' '
    wait_screen '^\*md '
    tui_quit

    S=t_nomouse
    TUI_TERM=xterm-256color tui_start "$root" --no-mouse
    wait_row ma '^ma +stopped '
    assert_eq 00 "$(tm display -p -t "$S" '#{mouse_any_flag}#{mouse_standard_flag}')" \
        "--no-mouse: no mouse reports asked for"
    text $'\e[<0;5;5M' # a click's bytes are no key the list acts on: ma stays selected
    text $'\e[<0;5;5m'
    text ' '
    wait_screen '^\*ma '
    tui_quit
}

# d. A console (a foreground child) gets the terminal without mouse reports: a click there would
# be bytes typed to the guest. Back in the list, clicks work again.
test_mouse_off_in_console()
{
    local root pid
    tui_root root ka kb
    start_vm "$root" kb pid
    TUI_TERM=xterm-256color tui_start "$root"
    wait_row kb '^kb +running '
    [ "$(tm display -p -t "$S" '#{mouse_any_flag}#{mouse_standard_flag}')" != 00 ] ||
        fail "no mouse reports asked for"
    text $'\e[<0;5;4M' # kb
    text $'\e[<0;5;4m'
    text o
    wait_screen "Connected to VM 'kb'"
    assert_eq 00 "$(tm display -p -t "$S" '#{mouse_any_flag}#{mouse_standard_flag}')" \
        "mouse reports still on in the console"
    keys C-]
    wait_row ka '^ka +stopped '
    [ "$(tm display -p -t "$S" '#{mouse_any_flag}#{mouse_standard_flag}')" != 00 ] ||
        fail "no mouse reports after the console"
    text $'\e[<0;5;3M' # ka
    text $'\e[<0;5;3m'
    text ' '
    wait_screen '^\*ka '
    tui_quit
}

run_tests "$@"
