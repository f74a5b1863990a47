#!/usr/bin/env bash
# Trust in what yave-tui takes in and shows (issue 14): a paste never confirms a destructive
# action; Enter is one key of the key table everywhere; a preset's progress goes on past lines that
# are not progress; a --file that cannot be read is an error, not an empty file; errors never echo
# an option's value nor a control character. The TUI in tmux as in test-tui.sh, real QEMU (TCG).
. "$(dirname "$0")/tui-lib.sh"

SECRET='Zq9-Secret-Value'

# sync_keys: returns once the TUI has handled every key sent before: ? opens the help (from the
# list, no dialog open), Esc closes it.
sync_keys()
{
    keys '?'
    wait_screen '^Keys:'
    keys Escape
    wait_screen '^NAME +STATE'
}

# Item 10. A paste holding D and y ("Daily") never deletes: into an open confirmation, its first
# key (D) cancels it; into the list, the keys queued behind the D that opens the question (typed
# before it showed) answer nothing. The status line says it was cancelled.
test_paste_never_confirms()
{
    local root
    tui_root root p1 p2
    tui_start "$root"
    wait_row p1 '^p1 +stopped '
    # D asks; then "Daily" arrives as one paste: its D is not y, so no
    keys D
    wait_screen 'Delete p1 and its disks for good\?'
    text Daily
    wait_gone 'for good\?'
    wait_screen 'Delete p1: cancelled'
    sync_keys
    assert_file "$root/p1.vm/config.yaml" "p1 after 'Daily' into its delete question"
    wait_row p1 '^p1 +stopped '
    # the same paste into the list: D opens the question, the rest (with its y) is dropped
    text Daily
    wait_screen 'Delete p1 and its disks for good\?'
    keys Escape
    wait_gone 'for good\?'
    sync_keys
    assert_file "$root/p1.vm/config.yaml" "p1 after 'Daily' pasted into the list"
    # and a paste of just "Dy"
    text Dy
    wait_screen 'Delete p1 and its disks for good\?'
    keys n
    wait_screen 'Delete p1: cancelled'
    sync_keys
    assert_file "$root/p1.vm/config.yaml" "p1 after 'Dy' pasted into the list"
    assert_not_contains "$SCREEN" "deleted" "the screen"
    # y typed on its own still confirms
    keys D
    wait_screen 'Delete p1 and its disks for good\?'
    keys y
    wait_screen 'p1 deleted'
    assert_no_file "$root/p1.vm" "p1 after D, y"
    wait_row p2 '^p2 +stopped '
    tui_quit
}

# Item 18. Enter (CR, as the terminal sends it; LF, Ctrl-J; the keypad's Enter, which xterm's
# terminfo names) opens the details of the selected VM through the key table; the key that opened
# the view closes it again.
test_enter_opens_and_closes_details()
{
    local root k
    tui_root root en1
    TUI_TERM=xterm-256color tui_start "$root"
    wait_row en1 '^en1 +stopped '
    for k in Enter KPEnter C-j; do
        keys "$k"
        wait_screen '^ Details: en1'
        wait_screen 'memory 64 MiB, 1 vCPU'
        keys "$k"
        wait_screen '^NAME +STATE'
        wait_row en1 '^en1 +stopped '
    done
    # ? opens the help, ? closes it; q in a view goes back instead of quitting
    keys '?'
    wait_screen '^Keys:'
    keys '?'
    wait_screen '^NAME +STATE'
    keys Enter
    wait_screen '^ Details: en1'
    keys q
    wait_screen '^NAME +STATE'
    tui_quit
}

# empty_preset ROOT NAME: a preset whose cloud image has no OS: its first boot never ends (until
# --install-timeout), so the progress goes on for as long as the test wants.
empty_preset()
{
    mkdir "$1/$2.preset" || fail "mkdir preset"
    qemu-img create -q -f qcow2 "$1/$2.preset/empty.qcow2" 64M || fail "qemu-img create"
    printf 'cloudimg: empty.qcow2\n' >"$1/$2.preset/config.yaml"
}

# first_boot_s: the seconds of the "installing VM: first boot Ns" status line in SCREEN.
first_boot_s()
{
    sed -nE 's/.*installing pv: first boot ([0-9]+)s.*/\1/p' <<<"$SCREEN" | head -1
}

# Item 14. A preset create from the TUI with a VNC password of more than 8 characters: the child's
# first stderr line is the warning that VNC uses 8, not progress. The status line still follows
# the install (phase and elapsed time, going up), to its end (the install timeout here).
test_preset_progress_past_a_warning()
{
    local root first now end
    tui_root root
    empty_preset "$root" nos
    tui_start "$root"
    wait_screen 'no VMs yet'
    keys p
    wait_screen 'Create a VM from a preset'
    text pv
    keys Tab # Preset: the only one
    wait_screen 'Preset +< nos >'
    keys Tab Tab # Hostname, Root password
    text 'root-pw-1'
    keys Tab # VNC password: 12 characters
    text 'vnc-pw-12345'
    keys Tab # Disk MiB
    text 64
    keys Tab C-u # Memory MiB
    text 64
    keys Tab Tab Tab Left  # vCPUs, Bridge, Network: user → none
    keys Tab Tab Space     # Forwards, UEFI: off
    keys Tab Tab C-u       # Linked, Install timeout s
    text 25
    wait_screen 'Install timeout s +25'
    wait_screen 'UEFI \(OVMF\) +\[ \]'
    keys F10
    wait_screen 'installing pv: first boot [0-9]+s'
    first=$(first_boot_s)
    # the elapsed time goes up: later progress lines are read too
    end=$(($(now_ms) + HANG * 1000))
    while :; do
        SCREEN=$(cap)
        now=$(first_boot_s)
        [ -n "$now" ] && [ "$now" -ge $((first + 2)) ] && break
        [ "$(now_ms)" -lt "$end" ] || { dump_screen; fail "the progress stayed at ${first}s"; }
        sleep 0.1
    done
    note "first boot progress ${first}s → ${now}s"
    # the end: the first boot times out, the form is back with what was typed
    wait_screen 'pv: the first boot did not power off within 25 s' 120
    wait_screen 'Create a VM from a preset'
    assert_no_file "$root/pv.vm" "the VM of a failed create"
    keys Escape
    wait_screen 'no VMs yet'
    tui_quit
}

# Item 15. --file that cannot be read (a directory, /proc/self/mem's EIO, stdin a directory) is an
# error with a clear message, never taken for an empty file that ran nothing and exits 0.
test_file_read_error()
{
    local root d
    new_root root
    mktmp_into d
    expect_exit 2 "$YAVE_TEST_BIN" --batch --root "$root" --file "$d"
    assert_err_line "" "cannot read $d: Is a directory"
    assert_stdout_empty
    expect_exit 2 "$YAVE_TEST_BIN" --batch --root "$root" --json --file "$d"
    assert_json_error USAGE
    assert_contains "$(jv 'd["error"]["message"]')" "Is a directory" "JSON message"
    EXPECT_STDIN=$d expect_exit 2 "$YAVE_TEST_BIN" --batch --root "$root" --file -
    assert_err_line "" "cannot read standard input: Is a directory"
    expect_exit 1 "$YAVE_TEST_BIN" --batch --root "$root" --file /proc/self/mem
    assert_err_line "" "cannot read /proc/self/mem: Input/output error"
    expect_exit 1 "$YAVE_TEST_BIN" --batch --root "$root" --json --file /proc/self/mem
    assert_json_error IO
    # a readable file still runs
    printf 'create --name f1 --capacity 16 --no-network --no-ovmf\nlist\n' >"$d/ok"
    expect_exit 0 "$YAVE_TEST_BIN" --batch --root "$root" --file "$d/ok"
    assert_out_line f1
}

# Item 16. A mistyped option never echoes its value (the secret of --vnc-pasword=SECRET, the
# argument after --vnc-pasword, the value of the option before a bad short option in a cluster):
# neither on stderr nor in the --json document; the option's name is said.
test_errors_never_echo_option_values()
{
    local root args
    new_root root
    for args in "--vnc-pasword=$SECRET" "--vnc-pasword $SECRET" "--vnc-password $SECRET -zq" \
        "--vnc-password-file=/dev/null --root-pasword-file=$SECRET" "--no-ovmf=$SECRET"; do
        # shellcheck disable=SC2086 # the words of args are the arguments
        expect_exit 2 yv "$root" create --name v1 $args
        assert_not_contains "$ERR" "$SECRET" "stderr of create $args"
        assert_stdout_empty
        # shellcheck disable=SC2086
        expect_exit 2 yv "$root" --json create --name v1 $args
        assert_json_error USAGE
        assert_not_contains "$OUT$ERR" "$SECRET" "output of --json create $args"
    done
    expect_exit 2 yv "$root" create --name v1 "--vnc-pasword=$SECRET"
    assert_err_line create "^unknown option '--vnc-pasword' \(see create --help\)$"
    expect_exit 2 yv "$root" create --name v1 --vnc-password "$SECRET" -zq
    assert_err_line create "^unknown option '-z' "
    expect_exit 2 yv "$root" create --name v1 "--no-ovmf=$SECRET"
    assert_err_line create "^option --no-ovmf takes no value "
    # the options before the command
    expect_exit 2 "$YAVE_TEST_BIN" --batch "--vnc-pasword=$SECRET" --root "$root" list
    assert_err_line "" "^unknown option '--vnc-pasword' \(try --help\)$"
    expect_exit 2 "$YAVE_TEST_BIN" --batch --root "$root" "-x$SECRET" list
    assert_err_line "" "^unknown option '-x' "
    assert_no_file "$root/v1.vm"
}

# Item 16. Control characters from the command line (a VM name with an escape sequence or a
# newline, a command, an argument) reach stderr and JSON escaped (\x1b, \x0a), on one line.
test_errors_escape_control_characters()
{
    local root esc nl
    new_root root
    esc=$'\e' nl=$'\n'
    expect_exit 2 yv "$root" status --name "a b${esc}[31mred${nl}next"
    assert_err_line status "^invalid VM name 'a b\\\\x1b\[31mred\\\\x0anext': ' ' is not allowed"
    assert_not_contains "$ERR" "$esc" "stderr"
    expect_exit 2 yv "$root" --json status --name "a b${esc}[31mred${nl}next"$'\xff'
    assert_json_error INVALID_NAME
    assert_contains "$(jv 'd["error"]["message"]')" 'a b\x1b[31mred\x0anext\xff' "JSON message"
    assert_not_contains "$ERR" "$esc" "stderr with --json"
    expect_exit 2 yv "$root" "li${esc}]0;owned${esc}\\st"
    assert_err_line "" "^unknown command 'li\\\\x1b\]0;owned\\\\x1b\\\\st'"
    expect_exit 2 yv "$root" list "x${esc}[2J"
    assert_err_line list "^unexpected argument 'x\\\\x1b\[2J'"
    expect_exit 2 "$YAVE_TEST_BIN" --root "$root" "${esc}[2Jcmd"
    assert_err_line "" "^'\\\\x1b\[2Jcmd': commands need --batch"
    expect_exit 2 "$YAVE_TEST_BIN" --root "$root" --refresh "1${nl}2"
    assert_err_line "" "^--refresh '1\\\\x0a2': give seconds"
}

# The TUI reaps what a killed create left (a .part whose lock is free) on its rescan, but never
# waits for the root lock there: while another process holds it (a `run` starting a QEMU), the
# list paints and keys answer; once the lock is free, the leftover goes.
test_reaping_never_waits_for_the_root_lock()
{
    local root
    tui_root root rl1
    mkdir "$root/.gone.vm.part" || fail "mkdir"
    hold_root_lock "$root"
    tui_start "$root"
    wait_row rl1 '^rl1 +stopped '
    keys '?'
    wait_screen '^Keys:'
    keys '?'
    wait_screen '^NAME +STATE'
    [ -d "$root/.gone.vm.part" ] || fail "reaped although the root lock was held"
    release_root_lock
    for _ in $(seq 300); do # a bound on a hang: 30 s
        [ -d "$root/.gone.vm.part" ] || break
        sleep 0.1
    done
    assert_no_file "$root/.gone.vm.part" "the killed create's folder once the lock was free"
    tui_quit
}

run_tests "$@"
