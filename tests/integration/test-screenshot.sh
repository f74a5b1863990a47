#!/usr/bin/env bash
# screenshot (spec §12) against a real QEMU (TCG, 64 MiB, an empty disk: SeaBIOS paints its
# 720x400 text screen "No bootable device."): a PNG of the VM's size that is not blank, --json, the
# PNG on standard output, a file replaced whole or not at all, refusals (a stopped VM, no such VM,
# a folder that does not exist, --json with standard output) that write nothing, no temporary file
# left in run/, and a screenshot killed mid-way whose file the next one removes. The web route is
# tested in test-web.sh (it needs the PAM set-up there).
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"

SCREENCMP=$REPO_DIR/tests/tools/screencmp.py

# ---- helpers of this file ----

# mkvm ROOT NAME: a tiny VM (no network, no UEFI, 64 MiB disk and memory).
mkvm()
{
    local pwf
    pwf=$(dirname "$1")/pw.$2
    printf 'Sh0tPw12\n' >"$pwf"
    EXPECT_STDIN=$pwf expect_exit 0 yv "$1" create --no-network --no-ovmf -c 64 -m 64 --name "$2" \
        --vnc-password-file -
}

# start ROOT NAME: run must leave a live QEMU.
start()
{
    expect_exit 0 yv "$1" run --name "$2"
    local p
    p=$(cat "$1/run/$2.pid" 2>/dev/null) || fail "no run/$2.pid"
    is_qemu "$p" || fail "run/$2.pid names $p, which is not a QEMU"
}

# wait_painted ROOT NAME FILE: screenshots into FILE until SeaBIOS has painted its text screen
# (720x400, some pixels lit) — at most 60 s under TCG.
wait_painted()
{
    local i size info
    for ((i = 0; i < 120; i++)); do
        expect_exit 0 yv "$1" screenshot --name "$2" --file "$3"
        size=$(png_size "$3") || exit 1
        if [ "$size" = "720 400" ]; then
            info=$("$PY" "$SCREENCMP" --info "$3") || fail "screencmp --info: $info"
            [[ "$info" =~ lit=0\.0000 ]] || return 0
        fi
        sleep 0.5
    done
    fail "no painted 720x400 screen after 60 s (last: $size, $info)"
}

# assert_no_temp ROOT: no temporary file of a screenshot in run/.
assert_no_temp()
{
    local left
    left=$(find "$1/run" -name '.screendump-*' | tr '\n' ' ')
    [ -z "$left" ] || fail "temporary files left in run/: $left"
}

# ---- the tests ----

test_png_of_a_running_vm_json_and_stdout()
{
    local root t info
    new_root root
    mktmp_into t
    mkvm "$root" s1
    start "$root" s1
    wait_painted "$root" s1 "$t/first.png"
    info=$("$PY" "$SCREENCMP" --info "$t/first.png")
    assert_match '^width=720 height=400 lit=0\.0[0-9]*[1-9]' "$info" "the SeaBIOS text screen"
    # text: one line saying what was written where
    expect_exit 0 yv "$root" screenshot --name s1 --file "$t/a.png"
    assert_stderr_empty
    assert_eq "s1: screenshot 720x400 written to $t/a.png ($(stat -c %s "$t/a.png") bytes)" "$OUT"
    assert_eq 644 "$(stat -c %a "$t/a.png")" "mode of the PNG (0666 less the umask 022)"
    assert_eq "720 400" "$(png_size "$t/a.png")"
    # --json: the fields, and the bytes are the file's
    expect_exit 0 yv "$root" --json screenshot --name s1 --file "$t/b.png"
    assert_json_docs 1
    assert_eq '["bytes", "file", "height", "vm", "width"]' "$(jv 'sorted(d)')" "the JSON's keys"
    assert_eq s1 "$(jv 'd["vm"]')"
    assert_eq "$t/b.png" "$(jv 'd["file"]')"
    assert_eq 720 "$(jv 'd["width"]')"
    assert_eq 400 "$(jv 'd["height"]')"
    assert_eq "$(stat -c %s "$t/b.png")" "$(jv 'd["bytes"]')" "bytes vs the file's size"
    # '-': the PNG on standard output and nothing else
    yv "$root" screenshot --name s1 --file - >"$t/out.png" 2>"$t/err" || fail "screenshot to stdout failed: $(cat "$t/err")"
    [ -s "$t/err" ] && fail "stderr of screenshot to stdout: $(cat "$t/err")"
    assert_eq "720 400" "$(png_size "$t/out.png")" "the PNG on standard output"
    # an existing file is replaced whole; nothing else appears beside it
    printf 'old' >"$t/c.png"
    expect_exit 0 yv "$root" screenshot --name s1 --file "$t/c.png"
    assert_eq "720 400" "$(png_size "$t/c.png")"
    assert_eq "a.png b.png c.png err first.png out.png" "$(ls "$t" | tr '\n' ' ' | sed 's/ $//')"
    assert_no_temp "$root"
    expect_exit 0 yv "$root" shutdown --force --name s1
}

test_refusals_write_nothing()
{
    local root t before
    new_root root
    mktmp_into t
    mkvm "$root" s2
    mkvm "$root" s3
    start "$root" s3
    printf 'kept' >"$t/kept.png"
    before=$(snapshot_root "$t")
    # a stopped VM: exit 4, VM_NOT_RUNNING, the file as it was
    expect_exit 4 yv "$root" screenshot --name s2 --file "$t/kept.png"
    assert_stdout_empty
    assert_err_line screenshot "VM 's2' is not running"
    expect_exit 4 yv "$root" --json screenshot --name s2 --file "$t/new.png"
    assert_json_error VM_NOT_RUNNING
    expect_exit 4 yv "$root" screenshot --name s2 --file -
    assert_stdout_empty
    # no such VM, an invalid name
    expect_exit 3 yv "$root" --json screenshot --name nosuch --file "$t/new.png"
    assert_json_error VM_NOT_FOUND
    expect_exit 2 yv "$root" screenshot --name ../x --file "$t/new.png"
    # a folder that does not exist; a folder as the file; --json with standard output
    expect_exit 2 yv "$root" screenshot --name s3 --file "$t/nofolder/x.png"
    assert_err_line screenshot "cannot write $t/nofolder/x.png: No such file or directory"
    expect_exit 2 yv "$root" --json screenshot --name s3 --file "$t/nofolder/x.png"
    assert_json_error USAGE
    mkdir "$t/dir"
    before=$(snapshot_root "$t")
    expect_exit 2 yv "$root" screenshot --name s3 --file "$t/dir"
    assert_err_line screenshot "cannot write $t/dir: Is a directory"
    expect_exit 2 yv "$root" --json screenshot --name s3 --file -
    assert_json_error USAGE
    # usage: both options are required
    expect_exit 2 yv "$root" screenshot --name s3
    expect_exit 2 yv "$root" screenshot --file "$t/x.png"
    assert_no_trace "$before" "$t"
    assert_no_temp "$root"
    expect_exit 0 yv "$root" shutdown --force --name s3
}

# A screenshot killed while it waits for QEMU (stopped with SIGSTOP: it never greets) leaves its
# temporary file; the next screenshot removes it (its lock is free) and succeeds, and so does list.
test_killed_screenshot_is_cleaned_by_the_next()
{
    local root t qemu shot i left holder
    new_root root
    mktmp_into t
    mkvm "$root" s4
    start "$root" s4
    qemu=$(cat "$root/run/s4.pid")
    wait_painted "$root" s4 "$t/first.png"
    kill -STOP "$qemu"
    at_exit kill -CONT "$qemu"
    "$YAVE_TEST_BIN" --batch --root "$root" screenshot --name s4 --file "$t/k.png" >/dev/null 2>&1 &
    shot=$!
    at_exit kill -9 "$shot"
    for ((i = 0; i < 100; i++)); do
        left=$(find "$root/run" -name '.screendump-*')
        [ -n "$left" ] && break
        sleep 0.05
    done
    [ -n "$left" ] || fail "no temporary file appeared in run/ while the screenshot waited"
    kill -9 "$shot"
    wait "$shot" 2>/dev/null
    kill -CONT "$qemu"
    assert_file "$left" "the killed screenshot's file (the test needs it to exist)"
    assert_no_file "$t/k.png" "the killed screenshot wrote its output"
    [ -z "$(find "$t" -name "k.png.tmp.*")" ] || fail "a partial output was left"
    expect_exit 0 yv "$root" screenshot --name s4 --file "$t/after.png"
    assert_eq "720 400" "$(png_size "$t/after.png")"
    assert_no_temp "$root"
    # list (which tidies the whole root) removes such a file too; one whose lock is held stays
    printf 'x' >"$root/run/.screendump-s4-1-0.png"
    printf 'y' >"$root/run/.screendump-s4-2-0.png"
    flock -o "$root/run/.screendump-s4-2-0.png" sleep 30 &
    holder=$!
    at_exit pkill -P "$holder" -x sleep
    for ((i = 0; i < 50; i++)); do
        flock -n "$root/run/.screendump-s4-2-0.png" true || break
        sleep 0.1
    done
    expect_exit 0 yv "$root" list
    assert_no_file "$root/run/.screendump-s4-1-0.png" "a killed screenshot's file after list"
    assert_file "$root/run/.screendump-s4-2-0.png" "a file whose lock is held (a screenshot at work)"
    pkill -P "$holder" -x sleep
    wait "$holder" 2>/dev/null
    # the TUI's start tidies the root the same way
    printf 'x' >"$root/run/.screendump-s4-3-0.png"
    tui_start "$root"
    assert_no_file "$root/run/.screendump-s4-3-0.png" "a killed screenshot's file after the TUI started"
    tui_quit
    expect_exit 0 yv "$root" shutdown --force --name s4
}

# The fidelity comparator: its self-test, then a real screendump drawn into a real tmux pane (with
# its own renderer: sextants in truecolor, then 256 colours) and read back with capture-pane -e: it
# agrees; the same pane read one column off, and an empty pane, do not.
test_screencmp_on_a_real_screen_through_tmux()
{
    local root t sock mode
    command -v tmux >/dev/null || fail "tmux is needed"
    expect_exit 0 "$PY" "$SCREENCMP" --self-test
    assert_out_line '^self-test: ok$'
    new_root root
    mktmp_into t
    mkvm "$root" s5
    start "$root" s5
    wait_painted "$root" s5 "$t/s.png"
    expect_exit 0 yv "$root" shutdown --force --name s5
    sock=yvshot$$.$RANDOM
    at_exit tmux -L "$sock" kill-server
    for mode in truecolor 256; do
        PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$REPO_DIR/tests/tools "$PY" -c '
import sys, screencmp as s
img = s.load_image(sys.argv[1])
sys.stdout.write(s.render(img, 23, 80, palette256=sys.argv[2] == "256").rstrip("\n"))
' "$t/s.png" "$mode" >"$t/pane.$mode" || fail "rendering the screendump"
        tmux -L "$sock" -f /dev/null new-session -d -x 80 -y 24 "cat '$t/pane.$mode'; sleep 60" ||
            fail "tmux new-session"
        for _ in $(seq 50); do
            tmux -L "$sock" capture-pane -e -p -t 0 >"$t/cap" 2>/dev/null
            [ "$(grep -c . "$t/cap")" -ge 5 ] && break # the lines of text (black ones are empty)
            sleep 0.1
        done
        expect_exit 0 "$PY" "$SCREENCMP" --rect 0,0,23,80 "$t/cap" "$t/s.png"
        assert_match '^agreement=(1\.0000|0\.9[0-9]*) foreground_agreement=(1\.0000|0\.9[0-9]*) cells=1840 ' "$OUT" "$mode"
        expect_exit 1 "$PY" "$SCREENCMP" --rect 0,1,23,79 "$t/cap" "$t/s.png"
        tmux -L "$sock" kill-server
    done
    : >"$t/blank"
    expect_exit 1 "$PY" "$SCREENCMP" --rect 0,0,23,80 "$t/blank" "$t/s.png"
    assert_match '^agreement=[0-9.]+ foreground_agreement=0\.0000 ' "$OUT" "a blank pane"
    expect_exit 2 "$PY" "$SCREENCMP" --rect 0,0,23,80 "$t/blank" "$t/nosuch.png"
}

run_tests "$@"
