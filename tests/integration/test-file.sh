#!/usr/bin/env bash
# --file FILE|-: one command per line, '#' comments, blank lines, quoting; stops at the first
# failure with its exit status; with --json one document per command line.
. "$(dirname "$0")/lib.sh"

test_file_runs_every_line_with_comments_blanks_and_quotes()
{
    local root t
    new_root root
    mktmp_into t
    cat >"$t/cmds" <<'EOF'
# two VMs, then a look at them

create --name one --capacity 16 --vnc-password 'pass wd'
   create -n "two" -c 32 --vnc-password "dq\"uote"   # a comment after the command
	# an indented comment
create --name three --capacity 16 --vnc-password it\'s8chr
list
status --name two
EOF
    expect_exit 0 yv "$root" --file "$t/cmds"
    assert_stderr_empty
    assert_contains "$OUT" "created VM 'one' (VNC display :1)"
    assert_contains "$OUT" "created VM 'two' (VNC display :2)"
    assert_contains "$OUT" "created VM 'three' (VNC display :3)"
    assert_contains "$OUT" $'one\nthree\ntwo' "the output of list"
    assert_row two STATE=stopped VCPU=1 MEMORY=1024M VNC=:2
    assert_eq "pass wd" "$(vm_config_value "$root" one password)" "a single-quoted argument with a blank"
    assert_eq 'dq"uote' "$(vm_config_value "$root" two password)" "a double-quoted argument with an escape"
    assert_eq "it's8chr" "$(vm_config_value "$root" three password)" "a backslash-escaped quote"
    assert_eq $((32 * MIB)) "$(img_info "$root/two.vm/hd0.qcow2" 'd["virtual-size"]')" "-c 32"
    assert_not_contains "$OUT" "pass wd" "given passwords are not printed"
}

test_file_stops_at_the_first_failure_with_its_status()
{
    local root t
    new_root root
    mktmp_into t
    printf 'create --name a1 --capacity 16\ncreate --name a/2 --capacity 16\ncreate --name a3 --capacity 16\n' >"$t/usage"
    expect_exit 2 yv "$root" --file "$t/usage"
    assert_contains "$OUT" "created VM 'a1'"
    assert_not_contains "$OUT" "a3"
    assert_err_line create "invalid VM name 'a/2'"
    assert_no_file "$root/a3.vm" "a line after the failure ran"
    expect_exit 0 yv "$root" list
    assert_eq a1 "$OUT"

    printf 'create --name b1 --capacity 16\ndelete --name nope\ncreate --name b3 --capacity 16\n' >"$t/notfound"
    expect_exit 3 yv "$root" --file "$t/notfound"
    assert_err_line delete "no VM named 'nope'"
    assert_no_file "$root/b3.vm"

    printf 'list\ncreate --name a1 --capacity 16\nlist\n' >"$t/exists"
    expect_exit 4 yv "$root" --file "$t/exists"
    assert_eq $'a1\nb1' "$OUT" "only the first list ran"
    assert_err_line create "already exists"

    printf 'list\nfrobnicate --now\nlist\n' >"$t/unknown"
    expect_exit 2 yv "$root" --file "$t/unknown"
    assert_eq $'a1\nb1' "$OUT"
    assert_err_line "" "unknown command 'frobnicate'"

    printf 'list\ncreate --name "unclosed --capacity 16\nlist\n' >"$t/quote"
    expect_exit 2 yv "$root" --file "$t/quote"
    assert_eq $'a1\nb1' "$OUT"
    assert_err_line "" "$t/quote:2: unclosed quote"
    expect_exit 0 yv "$root" list
    assert_eq $'a1\nb1' "$OUT" "VMs after the failed files"
}

test_file_with_json_gives_one_document_per_command()
{
    local root t
    new_root root
    mktmp_into t
    printf '# comment\n\ncreate --name j1 --capacity 16\n\nlist\nstatus --name j1\ndelete --name j1\nlist\n' >"$t/ok"
    expect_exit 0 yv "$root" --json --file "$t/ok"
    assert_json_docs 5
    assert_stderr_empty
    local docs
    docs=$(printf '%s\n' "$OUT" | "$PY" -c '
import json, sys
d = [json.loads(l) for l in sys.stdin.read().splitlines()]
print([d[0]["name"], "generated_vnc_password" in d[0], [v["name"] for v in d[1]], d[2]["state"], d[3], d[4]])')
    assert_eq "['j1', True, ['j1'], 'stopped', {'deleted': 'j1'}, []]" "$docs" "the five documents"

    printf 'create --name k1 --capacity 16\ncreate --name k1 --capacity 16\nlist\n' >"$t/fail"
    expect_exit 4 yv "$root" --json --file "$t/fail"
    assert_json_docs 2
    assert_eq VM_EXISTS "$(jv 'd["error"]["code"]' "$(sed -n 2p <<<"$OUT")")" "the second document is the error"
    assert_eq k1 "$(jv 'd["name"]' "$(sed -n 1p <<<"$OUT")")"
    assert_err_line create "already exists"
}

test_file_from_stdin()
{
    local root t
    new_root root
    mktmp_into t
    printf 'create --name s1 --capacity 16 --vnc-password Secret99\nlist\n' >"$t/in"
    EXPECT_STDIN="$t/in" expect_exit 0 yv "$root" --file -
    assert_contains "$OUT" "created VM 's1'"
    assert_out_line '^s1$' "list read from stdin ran"
    assert_eq Secret99 "$(vm_config_value "$root" s1 password)"
    EXPECT_STDIN="$t/in" expect_exit 4 yv "$root" --json --file -
    assert_json_docs 1
    assert_json_error VM_EXISTS
    # stdin is the command stream: a password file '-' cannot read it too
    printf 'create --name s2 --capacity 16 --vnc-password-file -\n' >"$t/in2"
    EXPECT_STDIN="$t/in2" expect_exit 2 yv "$root" --file -
    assert_err_line create "standard input"
    assert_no_file "$root/s2.vm"
}

test_file_errors()
{
    local root t
    new_root root
    mktmp_into t
    expect_exit 2 yv "$root" --file "$t/missing"
    assert_err_line "" "$t/missing"
    printf 'list\n' >"$t/cmds"
    expect_exit 2 yv "$root" --file "$t/cmds" list
    assert_err_line "" "COMMAND or --file"
    # an empty file, or only comments: nothing to do, success
    printf '# nothing\n\n' >"$t/empty"
    expect_exit 0 yv "$root" --file "$t/empty"
    assert_stdout_empty
    assert_stderr_empty
}

run_tests "$@"
