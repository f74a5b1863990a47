#!/usr/bin/env bash
# Bad input to `create`: the documented exit status, one clear error line, and no trace in the root.
. "$(dirname "$0")/lib.sh"

# used_root VAR: a root in use (one VM, so run/lock and vnc_table.yaml exist) and its snapshot in
# BEFORE.
used_root()
{
    local __ur_r
    new_root __ur_r
    expect_exit 0 yv "$__ur_r" create --name keep --capacity 16
    BEFORE=$(snapshot_root "$__ur_r")
    printf -v "$1" '%s' "$__ur_r"
}

# refused ROOT STATUS CODE MSG_ERE ARGS...: `create ARGS` fails with STATUS, the error line matches
# MSG_ERE, with --json the error document has CODE; the root is untouched both times.
refused()
{
    local root=$1 status=$2 code=$3 re=$4
    shift 4
    expect_exit "$status" yv "$root" create "$@"
    assert_stdout_empty "stdout must be empty on an error (without --json)"
    assert_err_line create "$re"
    assert_no_trace "$BEFORE" "$root"
    expect_exit "$status" yv "$root" --json create "$@"
    assert_json_error "$code"
    assert_err_line create "$re"
    assert_no_trace "$BEFORE" "$root"
}

test_invalid_names_are_refused_without_trace()
{
    local root long49
    used_root root
    long49=$(printf 'a%.0s' $(seq 49))
    refused "$root" 2 INVALID_NAME "invalid VM name.*(must start with a letter or a digit|'/' is not allowed)" --name ../x
    refused "$root" 2 INVALID_NAME "invalid VM name.*'/' is not allowed" --name a/b
    refused "$root" 2 INVALID_NAME "invalid VM name.*' ' is not allowed" --name 'a b'
    refused "$root" 2 INVALID_NAME "invalid VM name.*',' is not allowed" --name a,b
    refused "$root" 2 INVALID_NAME "invalid VM name.*must start with a letter or a digit" --name -rf
    refused "$root" 2 INVALID_NAME "invalid VM name.*must start with a letter or a digit" -n -rf
    refused "$root" 2 INVALID_NAME "invalid VM name.*empty" --name ''
    refused "$root" 2 INVALID_NAME "invalid VM name: 49 characters, at most 48" --name "$long49"
    refused "$root" 2 INVALID_NAME "invalid VM name.*must start with a letter or a digit" --name .hidden
    refused "$root" 2 INVALID_NAME "invalid VM name.*\"'\" is not allowed|invalid VM name.*' is not allowed" --name "a'b"
    refused "$root" 2 INVALID_NAME "invalid VM name.*byte 0x0a" --name $'a\nb'
}

test_invalid_name_on_a_fresh_root_creates_nothing()
{
    local t
    mktmp_into t
    expect_exit 2 yv "$t/never" --json create --name ../x
    assert_json_error INVALID_NAME
    assert_err_line create "invalid VM name"
    assert_no_file "$t/never" "a refused create must not even create the root"
}

test_name_of_48_characters_works()
{
    local root long48
    new_root root
    long48=$(printf 'b%.0s' $(seq 47))Z
    expect_exit 0 yv "$root" create --name "$long48" --capacity 16
    assert_contains "$OUT" "created VM '$long48'"
    assert_file "$root/$long48.vm/config.yaml"
    assert_eq "$long48" "$(vm_config_value "$root" "$long48" name)" "name in config.yaml"
    expect_exit 0 yv "$root" list
    assert_eq "$long48" "$OUT" "list"
}

test_existing_name_is_vm_exists()
{
    local root
    used_root root
    refused "$root" 4 VM_EXISTS "a VM named 'keep' already exists" --name keep --capacity 16
}

test_missing_base_image_is_image_not_found()
{
    local root
    used_root root
    refused "$root" 3 IMAGE_NOT_FOUND "base image 'nope' not found" --name n1 --image nope
    refused "$root" 3 IMAGE_NOT_FOUND "base image 'nope.qcow2' not found" --name n1 --image nope.qcow2
    refused "$root" 3 IMAGE_NOT_FOUND "base image '/nonexistent/b.qcow2' not found" --name n1 \
        --image /nonexistent/b.qcow2 --linked
}

test_bad_capacity_is_usage()
{
    local root c
    used_root root
    for c in 0 -5 12abc '' 1.5 99999999999999999999; do
        refused "$root" 2 USAGE "invalid capacity '$c'.*whole number of MiB" --name n1 --capacity "$c"
    done
    refused "$root" 2 USAGE "invalid memory 'lots'" --name n1 --memory lots
    refused "$root" 2 USAGE "invalid --vcpu '0'" --name n1 --vcpu 0
    refused "$root" 2 USAGE "needs a value" --name n1 --capacity
}

test_capacity_smaller_than_base_is_refused()
{
    local root
    used_root root
    make_base "$root/base.qcow2" 64
    BEFORE=$(snapshot_root "$root")
    refused "$root" 2 USAGE "capacity 32 MiB is smaller than the base image \(64 MiB\)" --name n1 \
        --image base --capacity 32
}

test_preset_bad_input_leaves_no_trace()
{
    local root pwf
    used_root root
    mktmp_into pwf
    printf 'Pw-1234\n' >"$pwf/pw"
    refused "$root" 3 PRESET_NOT_FOUND "preset 'x' not found" --name n1 --preset x \
        --root-password-file "$pwf/pw"
    refused "$root" 2 USAGE "needs the guest's root password" --name n1 --preset x
    mkdir "$root/cloud.preset"
    printf 'cloudimg: missing.qcow2\n' >"$root/cloud.preset/config.yaml"
    BEFORE=$(snapshot_root "$root")
    refused "$root" 3 IMAGE_NOT_FOUND "cloud image of preset 'cloud' not found" --name n1 \
        --preset cloud.preset --root-password-file "$pwf/pw"
    refused "$root" 2 USAGE "invalid host name 'bad_host'" --name n1 --preset cloud \
        --hostname bad_host --root-password-file "$pwf/pw"
    refused "$root" 2 USAGE "only applies with --preset" --name n1 --hostname h1
    printf 'cloudimg: [\n' >"$root/cloud.preset/config.yaml"
    BEFORE=$(snapshot_root "$root")
    refused "$root" 1 CONFIG_INVALID "cloud.preset/config.yaml:[0-9]+:[0-9]+" --name n1 \
        --preset cloud --root-password-file "$pwf/pw"
}

test_linked_without_image_is_usage()
{
    local root
    used_root root
    refused "$root" 2 USAGE "--linked needs --image" --name n1 --linked
}

test_failing_qemu_img_leaves_no_trace()
{
    local root
    used_root root
    make_base "$root/base.qcow2" 8
    printf 'cli:\n  img: /bin/false\nvnc:\n  listen: %s\n' "$VNC_LISTEN" >"$root/config.yaml"
    BEFORE=$(snapshot_root "$root")
    # empty disk (qemu-img create), copy (qemu-img info/convert), overlay (info/create)
    refused "$root" 5 TOOL_FAILED "^false failed \(exit 1\)" --name n1
    refused "$root" 5 TOOL_FAILED "^false failed \(exit 1\)" --name n1 --image base
    refused "$root" 5 TOOL_FAILED "^false failed \(exit 1\)" --name n1 --image base --linked
    # a program that is not there at all
    printf 'cli:\n  img: /nonexistent/qemu-img\n' >"$root/config.yaml"
    BEFORE=$(snapshot_root "$root")
    refused "$root" 5 TOOL_FAILED "/nonexistent/qemu-img: program not found" --name n1
}

# On a root that was never used, the failed create may leave the root's own furniture (run/lock,
# an empty VNC table), but nothing of the VM.
test_failing_qemu_img_on_a_fresh_root_leaves_nothing_of_the_vm()
{
    local root
    new_root root
    printf 'cli:\n  img: /bin/false\n' >"$root/config.yaml"
    expect_exit 5 yv "$root" --json create --name n1
    assert_json_error TOOL_FAILED
    assert_err_line create "false failed"
    assert_eq "" "$(find "$root" -name '*n1*')" "files of the failed VM"
    assert_eq "" "$(find "$root" -name '*tmp*')" "temporary files"
    if [ -e "$root/vnc_table.yaml" ]; then
        assert_not_contains "$(cat "$root/vnc_table.yaml")" "n1" "VNC table"
    fi
}

# fill_to ROOT KiB: the filler file leaves about KiB free on ROOT's file system.
fill_to()
{
    local avail
    rm -f "$1/filler"
    avail=$(df -k --output=avail "$1" | tail -1)
    [ "$avail" -gt "$2" ] || fail "only $avail KiB free on $1"
    fallocate -l $(((avail - $2) * 1024)) "$1/filler" || fail "fallocate"
}

# A root on a 4 MiB tmpfs that fills up while qemu-img copies a base with ~2 MiB of data in it:
# with a few KiB left it fails on its first writes, with a few hundred KiB left it fails midway
# after it filled the disk (so cleaning up must not need space); with nothing left, even the VNC
# table cannot be written. Each time: a failure, a clear message, and no trace.
test_full_disk_during_copy_leaves_no_trace()
{
    local t root left
    mktmp_into t
    root="$t/small"
    mkdir "$root" || fail "mkdir"
    # mode 0755: a tmpfs is 1777 by default, which yave refuses as a root (spec §16)
    mount -t tmpfs -o size=4M,mode=0755 tmpfs "$root" || fail "cannot mount a tmpfs (needs root)"
    at_exit umount -l "$root"
    printf 'vnc:\n  listen: 127.0.0.%d\n' $((RANDOM % 200 + 20)) >"$root/config.yaml"
    expect_exit 0 yv "$root" create --name keep --capacity 16 --no-network
    make_base "$root/base.qcow2" 8 # ~2 MiB of data: more than will be free
    for left in 12 400 0; do
        fill_to "$root" "$left"
        BEFORE=$(snapshot_root "$root")
        run_cmd yv "$root" create --name big --image base
        [ "$RC" = 5 ] || [ "$RC" = 1 ] || fail "$left KiB free: expected exit status 5 or 1"
        assert_err_line create "No space left on device"
        assert_no_trace "$BEFORE" "$root"
        run_cmd yv "$root" --json create --name big --image base
        [ "$RC" = 5 ] || [ "$RC" = 1 ] || fail "$left KiB free: expected exit status 5 or 1"
        assert_json_docs 1
        assert_match '^(TOOL_FAILED|IO)$' "$(jv 'd["error"]["code"]')" "JSON error code"
        assert_contains "$OUT" "No space left on device" "JSON error message"
        assert_no_trace "$BEFORE" "$root"
    done
    # once there is space again, the name and the display are free (an overlay fits in it)
    rm -f "$root/filler"
    expect_exit 0 yv "$root" create --name big --image base --linked
    expect_exit 0 yv "$root" list
    assert_eq $'big\nkeep' "$OUT" "list after the retry"
    assert_eq ":2" "$(vm_config_value "$root" big display)" "display of the retried VM"
}

run_tests "$@"
