#!/usr/bin/env bash
# A broken VM config.yaml does not break the others; a broken global config.yaml stops every
# command with CONFIG_INVALID and the file:line:col of the problem.
. "$(dirname "$0")/lib.sh"

# broken_root VAR: VMs good1, good2 and four broken ones:
#   bsyntax  an unclosed flow sequence      bunknown  an unknown key (hardware.colour, 5:3)
#   btab     a tab used for indentation      btype     memory: lots (3:11)
broken_root()
{
    local __br_r vm
    new_root __br_r
    for vm in bsyntax btab bunknown btype good1 good2; do
        expect_exit 0 yv "$__br_r" create --name "$vm" --capacity 16
    done
    printf 'name: bsyntax\nhardware:\n  memory: [\n' >"$__br_r/bsyntax.vm/config.yaml"
    printf 'name: btab\nhardware:\n\tmemory: 1024\n  vcpu: 1\n' >"$__br_r/btab.vm/config.yaml"
    printf 'name: bunknown\nhardware:\n  memory: 1024\n  vcpu: 1\n  colour: red\n' \
        >"$__br_r/bunknown.vm/config.yaml"
    printf 'name: btype\nhardware:\n  memory: lots\n  vcpu: 1\n' >"$__br_r/btype.vm/config.yaml"
    printf -v "$1" '%s' "$__br_r"
}

# Where each broken file's problem is: an ERE for LINE:COL.
declare -A WHERE=([bsyntax]='(3|4):[0-9]+' [btab]='3:1' [bunknown]='5:3' [btype]='3:11')

test_list_shows_every_vm_and_warns_with_file_line_col()
{
    local root vm before
    broken_root root
    before=$(snapshot_root "$root")
    expect_exit 0 yv "$root" list
    assert_eq "$(printf '%s\n' bsyntax btab btype bunknown good1 good2)" "$OUT" "list (sorted, all VMs)"
    assert_eq 4 "$ERR_LINES" "one warning per broken VM"
    for vm in bsyntax btab bunknown btype; do
        assert_match "^yave-tui: warning: $vm is invalid: $root/$vm\.vm/config\.yaml:${WHERE[$vm]}: " \
            "$(grep "warning: $vm " <<<"$ERR")" "warning for $vm"
    done
    assert_contains "$ERR" "unknown key 'colour'" "the unknown key is named"
    assert_contains "$ERR" "memory must be an integer" "the wrong type is explained"
    assert_not_contains "$ERR" "good1"
    assert_no_trace "$before" "$root"

    expect_exit 0 yv "$root" --json list
    assert_json_docs 1
    assert_eq "['bsyntax', 'btab', 'btype', 'bunknown', 'good1', 'good2']" "$(jv 'str([v["name"] for v in d])')"
    assert_eq "['invalid', 'invalid', 'invalid', 'invalid', 'stopped', 'stopped']" \
        "$(jv 'str([v["state"] for v in d])')" "states in list --json"
}

test_status_shows_invalid_with_the_problem()
{
    local root vm
    broken_root root
    expect_exit 0 yv "$root" status
    assert_match '^NAME +STATE' "$(head -1 <<<"$OUT")" "table header"
    for vm in bsyntax btab bunknown btype; do
        assert_row "$vm" STATE=invalid VCPU=- MEMORY=-
        assert_match "^$vm: invalid: $root/$vm\.vm/config\.yaml:${WHERE[$vm]}: " \
            "$(grep -E "^$vm: invalid" <<<"$OUT")" "problem line of $vm"
    done
    assert_row good1 STATE=stopped VCPU=1 MEMORY=1024M VNC=:5
    assert_row good2 STATE=stopped VCPU=1 MEMORY=1024M VNC=:6
    assert_cell_match good1 NETWORK '^[A-Za-z0-9_.-]+( |$)' # the TAP (its name, or just "tap")

    for vm in bsyntax btab bunknown btype; do
        expect_exit 0 yv "$root" --json status --name "$vm"
        assert_json_docs 1
        assert_eq "$vm" "$(jv 'd["name"]')" "name"
        assert_eq invalid "$(jv 'd["state"]')" "state of $vm"
        assert_match "config\.yaml:${WHERE[$vm]}: " "$(jv 'd["problem"]')" "problem of $vm"
        assert_contains "$(jv 'd["problem"]')" "$root/$vm.vm/config.yaml:" "the problem names the file"
    done
    expect_exit 0 yv "$root" --json status --name good1
    assert_eq stopped "$(jv 'd["state"]')" "a good VM next to broken ones"
    assert_eq 1024 "$(jv 'd["memory"]')"
}

test_broken_vm_does_not_block_create_or_delete()
{
    local root
    broken_root root
    expect_exit 0 yv "$root" create --name fresh --capacity 16
    # displays :1-:6 are taken (the broken VMs keep theirs in vnc_table.yaml)
    assert_eq ":7" "$(vm_config_value "$root" fresh display)" "display of a VM created next to broken ones"
    expect_exit 0 yv "$root" delete --name btype
    assert_no_file "$root/btype.vm"
    assert_not_contains "$(cat "$root/vnc_table.yaml")" "btype" "VNC table after deleting a broken VM"
}

test_broken_global_config_fails_every_command()
{
    local root cmd before
    new_root root
    expect_exit 0 yv "$root" create --name vm1 --capacity 16
    # file contents, and the LINE:COL each must be reported at
    local -a texts=('cli:\n  img: [\n' 'cli:\n\timg: qemu-img\n' 'cli:\n  img: qemu-img\ncolour: red\n'
        'shutdown:\n  timeout: lots\n' 'vnc: [a, b]\n' 'qemu:\n  accel: warp\n')
    local -a where=('(2|3):[0-9]+' '2:1' '3:1' '2:12' '1:6' '2:10')
    local i
    for i in "${!texts[@]}"; do
        printf '%b' "${texts[$i]}" >"$root/config.yaml"
        before=$(snapshot_root "$root")
        for cmd in list status 'status --name vm1' 'create --name vm2' 'delete --name vm1'; do
            # shellcheck disable=SC2086
            expect_exit 1 yv "$root" $cmd
            assert_stdout_empty
            assert_err_line "${cmd%% *}" "^$root/config\.yaml:${where[$i]}: "
            # shellcheck disable=SC2086
            expect_exit 1 yv "$root" --json $cmd
            assert_json_error CONFIG_INVALID
            assert_match "\"message\": ?\"$root/config\.yaml:${where[$i]}: " "$OUT" "JSON message"
        done
        assert_no_trace "$before" "$root"
    done
    # repaired, everything works again
    printf 'cli:\n  img: qemu-img\n' >"$root/config.yaml"
    expect_exit 0 yv "$root" list
    assert_eq vm1 "$OUT"
}

test_hostile_config_files_are_invalid_not_a_hang()
{
    local root vm
    new_root root
    for vm in fifo zero deep good; do
        expect_exit 0 yv "$root" create --name "$vm" --capacity 16
    done
    # a FIFO nobody writes to, an endless device (through a link: refused before it is opened, spec
    # §16), and 300 000 nested brackets (minutes for libyaml)
    rm "$root/fifo.vm/config.yaml" && mkfifo "$root/fifo.vm/config.yaml"
    ln -sf /dev/zero "$root/zero.vm/config.yaml"
    { printf 'name: deep\nhardware: '; head -c 300000 /dev/zero | tr '\0' '['; echo; } \
        >"$root/deep.vm/config.yaml"
    expect_exit 0 timeout 20 "$YAVE_TEST_BIN" --batch --root "$root" --json status
    assert_eq "['invalid', 'invalid', 'stopped', 'invalid']" \
        "$(jv 'str([v["state"] for v in d])')" "states of deep, fifo, good, zero"
    expect_exit 0 timeout 20 "$YAVE_TEST_BIN" --batch --root "$root" status
    assert_contains "$OUT" "fifo.vm/config.yaml: not a regular file"
    assert_contains "$OUT" "zero.vm/config.yaml: refused: it (or a folder on its way) is a symbolic link"
    assert_contains "$OUT" "deep.vm/config.yaml:2:75: YAML flow collections nested deeper than 64 levels"
}

run_tests "$@"
