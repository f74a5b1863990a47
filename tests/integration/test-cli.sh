#!/usr/bin/env bash
# --help of the program and of every command, --version, unknown commands and options.
. "$(dirname "$0")/lib.sh"

# The options of each command (spec §8): long/short, or long alone.
declare -A SPEC_OPTS=(
    [create]='name/n image/i preset/p capacity/c memory/m vcpu/v hostname/H root-password/r
              vnc-password/V root-password-file vnc-password-file master network forward linked
              no-ovmf no-network install-timeout'
    [list]=''
    [status]='name wait/w timeout/t'
    [run]='name dry-run'
    [shutdown]='name force timeout'
    [netdev]='name ifname'
    [forward]='name'
    [delete]='name force'
    [console]='name/n timeout/t'
)
SPEC_OPTS[create]+=' ssh-key user package' # spec §13
SPEC_OPTS[ssh]='name user print'
SPEC_OPTS[screenshot]='name/n file' # spec §12
SPEC_OPTS[resize]='name capacity drive' # spec §13
SPEC_OPTS[autostart]='name/n' # spec §13
SPEC_OPTS[run]+=' new-display new-ports' # issue 20
SPEC_OPTS[clone]='name to linked' # spec §13
SPEC_OPTS[set]='name/n memory/m vcpu/v display vnc-password-file network master forward ovmf no-ovmf' # spec §13
SPEC_OPTS[snapshot]='name snap timeout' # spec §13
SPEC_OPTS[watch]='heartbeat' # spec §14 (--json is the global flag)
SPEC_OPTS[vnc-endpoint]='name/n' # spec §14: the view of a remote VM

test_top_level_help()
{
    local o
    for o in --help -h; do
        expect_exit 0 "$YAVE_TEST_BIN" $o
        assert_stderr_empty
        assert_match '^usage: yave-tui' "$OUT" "usage line"
        assert_contains "$OUT" "--batch"
        assert_contains "$OUT" "-C, --root DIR"
        assert_contains "$OUT" "--json"
        assert_contains "$OUT" "--file FILE"
        assert_contains "$OUT" "--version"
        assert_contains "$OUT" "exit status"
        for c in create list status delete; do
            assert_out_line "^  $c +[A-Z]" "command $c in the help"
        done
    done
    expect_exit 0 "$YAVE_TEST_BIN" --batch --help
    assert_contains "$OUT" "commands"
}

test_every_command_has_help_with_all_its_options()
{
    local cmds c spec o long short
    expect_exit 0 "$YAVE_TEST_BIN" --help
    cmds=$(sed -n '/^commands/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$OUT")
    for c in create list status delete; do
        grep -qx "$c" <<<"$cmds" || fail "command $c is not listed in --help"
    done
    for c in $cmds; do
        expect_exit 0 yv /nonexistent-root "$c" --help
        assert_stderr_empty "$c --help"
        assert_match "^usage: yave-tui --batch .*$c" "$OUT" "usage line of $c"
        assert_contains "$OUT" "-h, --help" "$c --help"
        [ -n "${SPEC_OPTS[$c]+x}" ] || fail "command $c is not in the spec"
        for spec in ${SPEC_OPTS[$c]}; do
            long=${spec%%/*}
            short=${spec#*/}
            if [ "$short" != "$spec" ]; then
                assert_out_line "^ +-$short, --$long( |\$)" "$c --help: -$short, --$long"
            else
                assert_out_line "^ +(-[A-Za-z], )?--$long( |\$)" "$c --help: --$long"
            fi
        done
        # -h too, and --help wins over missing options
        expect_exit 0 yv /nonexistent-root "$c" -h
        assert_match "^usage: yave-tui --batch .*$c" "$OUT"
    done
    assert_no_file /nonexistent-root "help must not create the root"
}

test_version()
{
    local want
    want=$(cat "$REPO_DIR/VERSION")
    assert_match '^[0-9]+\.[0-9]+\.[0-9]+$' "$want" "VERSION file"
    expect_exit 0 "$YAVE_TEST_BIN" --version
    assert_eq "yave-tui $want" "$OUT" "--version"
    assert_eq 1 "$OUT_LINES"
    assert_stderr_empty
    expect_exit 0 "$YAVE_TEST_BIN" --batch --version
    assert_eq "yave-tui $want" "$OUT" "--batch --version"
}

# What only prints (--version, --help, --man, --bash-completion) says so when the output cannot be
# written, and fails: a full disk is not a success.
test_print_only_options_fail_on_a_full_output()
{
    local tmp o rc
    mktmp_into tmp
    for o in --version --help --man --bash-completion; do
        rc=0
        "$YAVE_TEST_BIN" "$o" >/dev/full 2>"$tmp/err" || rc=$?
        assert_eq 1 "$rc" "$o to /dev/full: exit status"
        assert_eq "yave-tui: cannot write the output: No space left on device" "$(cat "$tmp/err")" \
            "$o to /dev/full: the message"
    done
}

test_unknown_command_is_usage()
{
    local root
    new_root root
    expect_exit 2 yv "$root" frobnicate
    assert_stdout_empty
    assert_err_line "" "unknown command 'frobnicate'"
    expect_exit 2 yv "$root" --json frobnicate --name x
    assert_json_error USAGE
    expect_exit 2 yv "$root"
    assert_err_line "" "no command"
    expect_exit 2 yv "$root" --json
    assert_json_error USAGE
}

test_unknown_option_is_usage()
{
    local root before
    new_root root
    expect_exit 0 yv "$root" create --name keep --capacity 16
    before=$(snapshot_root "$root")
    expect_exit 2 "$YAVE_TEST_BIN" --bogus --batch list
    assert_err_line "" "unknown option '--bogus'"
    expect_exit 2 "$YAVE_TEST_BIN" --batch --root
    assert_err_line "" "--root needs a value"
    for v in 0 0.05 3601 abc 1s '' nan inf; do
        expect_exit 2 "$YAVE_TEST_BIN" --root "$root" --refresh "$v"
        assert_err_line "" "--refresh '$v': give seconds from 0.1 to 3600"
    done
    expect_exit 2 yv "$root" list --bogus
    assert_stdout_empty
    assert_err_line list "unknown option '--bogus'"
    expect_exit 2 yv "$root" --json list --bogus
    assert_json_error USAGE
    expect_exit 2 yv "$root" create --name x --bogus
    assert_err_line create "unknown option '--bogus'"
    expect_exit 2 yv "$root" create --name x -Z
    assert_err_line create "unknown option"
    expect_exit 2 yv "$root" create --name x --name y
    assert_err_line create "--name given twice"
    expect_exit 2 yv "$root" create --name x extra
    assert_err_line create "unexpected argument 'extra'"
    expect_exit 2 yv "$root" create
    assert_err_line create "--name is required"
    expect_exit 2 yv "$root" status --name
    assert_err_line status "needs a value"
    expect_exit 2 yv "$root" create --name x --hostname h
    assert_err_line create "--hostname only applies with --preset"
    expect_exit 2 yv "$root" create --name x --image a --preset b
    assert_err_line create "--image or --preset"
    expect_exit 2 yv "$root" netdev --name x --ifname tap0 sideways
    assert_err_line netdev "the last argument must be up or down, not 'sideways'"
    expect_exit 2 yv "$root" netdev --name x up
    assert_err_line netdev "--name and --ifname are required"
    expect_exit 2 yv "$root" netdev --name x --ifname tap0
    assert_err_line netdev 'missing argument \(usage: netdev --name NAME --ifname IF up\|down\)'
    assert_no_trace "$before" "$root"
}

test_short_options_work()
{
    local root
    new_root root
    make_base "$root/base.qcow2" 32
    expect_exit 0 "$YAVE_TEST_BIN" --batch -C "$root" --json create -n s1 -i base -c 48 -m 512 -v 2 -V shortpw1
    assert_eq "['s1', 512, 2]" "$(jv 'str([d["name"], d["memory"], d["vcpu"]])')"
    assert_eq $((48 * MIB)) "$(img_info "$root/s1.vm/hd0.qcow2" 'd["virtual-size"]')" "-c 48"
    assert_eq shortpw1 "$(vm_config_value "$root" s1 password)" "-V"
    expect_exit 0 "$YAVE_TEST_BIN" --batch -C "$root" --json status -n s1
    assert_eq s1 "$(jv 'd["name"]')"
    expect_exit 0 "$YAVE_TEST_BIN" --batch -C "$root" delete -n s1
    assert_no_file "$root/s1.vm"
}

# complete_line SCRIPT WORDS...: what the generated completion function offers for the last of WORDS
# (the word being completed; '' for a new word), one a line, as bash would call it for Tab.
complete_line()
{
    local script=$1
    shift
    bash --norc -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _yave_tui; printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@" | sed '/^$/d' | sort
}

test_bash_completion_offers_the_names_of_the_root()
{
    local root tmp script
    new_root root
    mktmp_into tmp
    expect_exit 0 yv "$root" create -n webserver1 -c 16 -V abcdefgh
    expect_exit 0 yv "$root" create -n dbserver -c 16 -V abcdefgh
    make_base "$root/debian.qcow2" 16
    : >"$root/\$(touch pwned).qcow2" || fail "cannot make the file" # a name a shell would run
    mkdir "$root/ubuntu.preset"
    script="$tmp/yave-tui.bash"
    "$YAVE_TEST_BIN" --bash-completion >"$script" || fail "--bash-completion failed"
    bash -n "$script" || fail "the completion script is not valid bash"
    assert_eq "$(printf 'dbserver\nwebserver1')" \
        "$(complete_line "$script" "$YAVE_TEST_BIN" --batch --root "$root" status --name '')" "VM names"
    assert_eq webserver1 \
        "$(complete_line "$script" "$YAVE_TEST_BIN" --batch -C "$root" shutdown -n web)" "-n web"
    assert_eq "" "$(complete_line "$script" "$YAVE_TEST_BIN" --batch --root "$root" create --name '')" \
        "create --name is a new name"
    assert_eq debian "$(cd "$tmp" && complete_line "$script" "$YAVE_TEST_BIN" --batch --root "$root" \
        create -n x --image '')" "images"
    assert_no_file "$tmp/pwned" "a file name in the root ran as a command"
    assert_eq ubuntu \
        "$(complete_line "$script" "$YAVE_TEST_BIN" --batch --root "$root" create -n x -p '')" "presets"
    assert_eq "$(printf 'default\nhigh-contrast\nmono')" \
        "$(complete_line "$script" "$YAVE_TEST_BIN" --theme '')" "themes"
    assert_eq "$(printf 'dbserver\nwebserver1')" \
        "$(YAVE_ROOT=$root complete_line "$script" "$YAVE_TEST_BIN" --batch run --name '')" '$YAVE_ROOT'
    assert_eq up "$(complete_line "$script" "$YAVE_TEST_BIN" --batch netdev -n x -i tap0 u)" "netdev up"
    assert_eq down "$(complete_line "$script" "$YAVE_TEST_BIN" --batch netdev -n x -i tap0 d)" "netdev down"
    assert_eq "--dry-run" "$(complete_line "$script" "$YAVE_TEST_BIN" --batch run --d)" "run's options"
    assert_eq shutdown "$(complete_line "$script" "$YAVE_TEST_BIN" --batch --root "$root" shut)" "commands"
    assert_eq "" "$(complete_line "$script" "$YAVE_TEST_BIN" --batch create --memory '')" "a number"
    assert_eq running \
        "$(complete_line "$script" "$YAVE_TEST_BIN" --batch status -n x --wait ru)" "a state"
    assert_eq "$(printf 'shutting-down\nstarting\nstopped')" \
        "$(complete_line "$script" "$YAVE_TEST_BIN" --batch status -n x -w s)" "states by -w"
}

test_complete_helper_is_hidden_and_read_only()
{
    local root before
    new_root root
    expect_exit 0 yv "$root" create -n b1 -c 16 -V abcdefgh
    expect_exit 0 yv "$root" create -n a1 -c 16 -V abcdefgh
    before=$(snapshot_root "$root")
    expect_exit 0 "$YAVE_TEST_BIN" --root "$root" --complete vm
    assert_eq "$(printf 'a1\nb1')" "$OUT" "--complete vm"
    assert_no_trace "$before" "$root"
    expect_exit 0 "$YAVE_TEST_BIN" --root /nonexistent-root --complete vm
    assert_eq "" "$OUT"
    assert_no_file /nonexistent-root "--complete must not create the root"
    expect_exit 2 "$YAVE_TEST_BIN" --complete bogus
    assert_err_line "" "--complete 'bogus'"
    # the kinds the error names are the ones --complete answers and the completion asks for
    local kinds k
    kinds=" $(sed -e 's/.*: give //' -e 's/, / /g' -e 's/ or / /' <<<"$ERR") "
    assert_contains "$kinds" " state " "--complete's kinds"
    for k in $kinds; do expect_exit 0 "$YAVE_TEST_BIN" --root "$root" --complete "$k"; done
    expect_exit 0 "$YAVE_TEST_BIN" --bash-completion
    for k in $(grep -o '_yave_tui_arg [a-z]*' <<<"$OUT" | sort -u | cut -d' ' -f2); do
        case $k in file | dir) ;; *) assert_contains "$kinds" " $k " "the completion's kind $k" ;; esac
    done
    expect_exit 0 "$YAVE_TEST_BIN" --help
    assert_not_contains "$OUT" "--complete"
    assert_not_contains "$OUT" "--man"
}

test_man_page_shows_kinds_and_defaults()
{
    expect_exit 0 "$YAVE_TEST_BIN" --man
    assert_contains "$OUT" 'the name of a VM of the root'
    assert_contains "$OUT" '(default: 1024)'
    assert_contains "$OUT" 'a preset of the root'
    assert_contains "$OUT" '; only with \fB\-\-preset\fR'
    assert_not_contains "$OUT" 'complete'
}

# A killed atomic write leaves "NAME.tmp-XXXXXXXX" beside its file: the next list removes those
# that are stale (a minute old) in the root, run/ and the VM folders, never a fresh one (a write in
# flight) nor a link.
test_list_removes_what_killed_writes_left()
{
    local root
    new_root root
    expect_exit 0 yv "$root" create --name t1 --no-network --no-ovmf -c 16 -m 64
    mkdir -p "$root/run"
    printf 'x' >"$root/t1.vm/config.yaml.tmp-0badf00d"
    printf 'x' >"$root/run/t1.started.tmp-12345678"
    printf 'x' >"$root/vnc_table.yaml.tmp-deadbeef"
    touch -d '2 minutes ago' "$root/t1.vm/config.yaml.tmp-0badf00d" "$root/run/t1.started.tmp-12345678" \
        "$root/vnc_table.yaml.tmp-deadbeef"
    printf 'x' >"$root/t1.vm/config.yaml.tmp-00000000"
    ln -s "$root/t1.vm/config.yaml" "$root/x.tmp-abcdef01"
    expect_exit 0 yv "$root" list
    assert_no_file "$root/t1.vm/config.yaml.tmp-0badf00d" "a stale temp in a VM folder"
    assert_no_file "$root/run/t1.started.tmp-12345678" "a stale temp in run/"
    assert_no_file "$root/vnc_table.yaml.tmp-deadbeef" "a stale temp in the root"
    [ -e "$root/t1.vm/config.yaml.tmp-00000000" ] || fail "a fresh temp (a write in flight) removed"
    [ -L "$root/x.tmp-abcdef01" ] || fail "a link removed"
    assert_contains "$(cat "$root/t1.vm/config.yaml")" "t1" "the config itself kept"
}

run_tests "$@"
