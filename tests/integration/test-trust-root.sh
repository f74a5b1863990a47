#!/usr/bin/env bash
# Trust in the root (spec §16): whose root it is, no symlink followed in it, and delete never
# crossing into another file system. The ownership tests chown to nobody: they need root.
. "$(dirname "$0")/lib.sh"

YAVE_TEST_WEB=${YAVE_TEST_WEB:-$REPO_DIR/build/asan/yave-web}

need_root()
{
    [ "$(id -u)" = 0 ] || fail "this test changes owners (chown nobody): run it as root"
}

# tiny_vm ROOT NAME [ARGS...]: a stopped VM that runs without root (no network), TCG.
tiny_vm()
{
    local r=$1 n=$2
    shift 2
    grep -q '^qemu:' "$r/config.yaml" || printf 'qemu:\n  accel: tcg\n' >>"$r/config.yaml"
    EXPECT_STDIN=/dev/null expect_exit 0 yv "$r" create --no-network -c 16 -m 64 --name "$n" \
        --vnc-password pw345678 "$@"
}

# assert_refused ROOT PATH FIX: the last command was refused with PERMISSION (77), naming PATH and
# the FIX, having written nothing (compared with $BEFORE).
assert_refused()
{
    assert_eq 77 "$RC" "exit status (permission)"
    assert_contains "$ERR" "refusing to use $2:" "the message names the path"
    assert_contains "$ERR" "$3" "the message names the fix"
    assert_eq "$BEFORE" "$(snapshot_root "$1")" "nothing written in the root"
}

# tui_once ROOT: the full-screen yave-tui on ROOT in a pseudo-terminal, ended after 20 s at most
# (a bound on a hang: a refused root ends it at once). Sets RC, OUT (the terminal's output).
tui_once()
{
    run_cmd timeout -k 5 20 script -qefc "$(printf '%q ' "$YAVE_TEST_BIN" --root "$1")" /dev/null
}

# ---- item 6: whose root is it ----

test_root_owned_by_another_user_is_refused()
{
    local root
    need_root
    new_root root
    chown nobody "$root"
    BEFORE=$(snapshot_root "$root")
    run_cmd yv "$root" list
    assert_refused "$root" "$root" "chown -R 0 $root"
    assert_contains "$ERR" "owned by uid $(id -u nobody)" "the owner is named"
    assert_no_file "$root/run" "run/ was not made in someone else's root"
    run_cmd yv "$root" create --name x -c 16 --no-network
    assert_refused "$root" "$root" "chown -R 0 $root"
    run_cmd yv "$root" --json status
    assert_eq 77 "$RC"
    assert_json_error PERMISSION
}

test_config_owned_by_another_user_is_refused()
{
    local root
    need_root
    new_root root
    printf 'cli:\n  bin: ./evil\n' >>"$root/config.yaml"
    chown nobody "$root/config.yaml"
    BEFORE=$(snapshot_root "$root")
    run_cmd yv "$root" list
    assert_refused "$root" "$root/config.yaml" "chown -R 0 $root/config.yaml"
    assert_not_contains "$ERR" "evil" "the file was not read"
}

test_group_writable_run_and_world_writable_root_are_refused()
{
    local root
    need_root
    new_root root
    mkdir -m 0770 "$root/run"
    chmod 0770 "$root/run"
    BEFORE=$(snapshot_root "$root")
    run_cmd yv "$root" list
    assert_refused "$root" "$root/run" "chmod go-w $root/run"
    chmod 0700 "$root/run"
    expect_exit 0 yv "$root" list

    chmod o+w "$root"
    BEFORE=$(snapshot_root "$root")
    run_cmd yv "$root" list
    assert_refused "$root" "$root" "chmod go-w $root"
    chmod o-w "$root"
    chmod g+w "$root/config.yaml"
    BEFORE=$(snapshot_root "$root")
    run_cmd yv "$root" list
    assert_refused "$root" "$root/config.yaml" "chmod go-w $root/config.yaml"
}

# The attack of the issue: root runs yave-tui in a folder whose debug/ another user made.
test_another_users_debug_folder_is_refused()
{
    local t
    need_root
    mktmp_into t
    mkdir "$t/debug"
    printf 'cli:\n  img: ./evil\n' >"$t/debug/config.yaml"
    chown -R nobody "$t/debug"
    BEFORE=$(snapshot_root "$t/debug")
    run_cmd env -u YAVE_ROOT -C "$t" "$YAVE_TEST_BIN" --batch list
    assert_refused "$t/debug" "$t/debug" "chown -R 0 $t/debug"
}

test_tui_and_web_refuse_an_untrusted_root()
{
    local root
    need_root
    new_root root
    chmod g+w "$root"
    BEFORE=$(snapshot_root "$root")
    tui_once "$root"
    assert_eq 77 "$RC" "exit status of the TUI"
    assert_contains "$OUT" "refusing to use $root: it is writable by group or others"
    assert_eq "$BEFORE" "$(snapshot_root "$root")" "nothing written by the TUI"

    run_cmd timeout -k 5 20 "$YAVE_TEST_WEB" --root "$root" --listen 127.0.0.1:1
    assert_eq 77 "$RC" "exit status of yave-web"
    assert_contains "$ERR" "yave-web: refusing to use $root: it is writable by group or others"
    assert_contains "$ERR" "chmod go-w $root"
    assert_eq "$BEFORE" "$(snapshot_root "$root")" "nothing written by yave-web"
}

# A root yave makes itself passes its own check, with the modes of spec §1.
test_a_new_root_is_made_trusted()
{
    local t
    mktmp_into t
    (umask 0 && EXPECT_STDIN=/dev/null expect_exit 0 yv "$t/new/root" create --no-network -c 16 --name a \
        --vnc-password pw345678) || fail "create in a new root under umask 0"
    assert_eq 755 "$(stat -c %a "$t/new/root")" "mode of the root"
    assert_eq 700 "$(stat -c %a "$t/new/root/run")" "mode of run/"
    assert_eq 644 "$(stat -c %a "$t/new/root/vnc_table.yaml")" "mode of vnc_table.yaml"
    expect_exit 0 yv "$t/new/root" list
    assert_eq a "$OUT"
}

# ---- item 7: symlinks ----

test_symlinked_tui_log_is_not_truncated()
{
    local root t
    new_root root
    mktmp_into t
    mkdir -m 0700 "$root/run"
    printf 'precious\n' >"$t/target"
    ln -s "$t/target" "$root/run/tui.log"
    tui_once "$root"
    assert_eq "precious" "$(cat "$t/target")" "the link's target survives"
    assert_ne 0 "$RC" "the TUI refuses to start"
    assert_contains "$OUT" "$root/run/tui.log" "the message names the file"
    assert_contains "$OUT" "symbolic link"
}

test_symlinked_vm_config_is_never_read()
{
    local root t
    new_root root
    mktmp_into t
    tiny_vm "$root" v
    printf 'topsecret-line: 42\n' >"$t/secret" # valid YAML: an unknown key, which errors echo
    ln -sf "$t/secret" "$root/v.vm/config.yaml"
    expect_exit 0 yv "$root" --json status --name v
    assert_not_contains "$OUT" "topsecret" "the link target's content"
    assert_eq invalid "$(jv 'd["state"]')"
    assert_contains "$(jv 'd["problem"]')" "$root/v.vm/config.yaml"
    assert_contains "$(jv 'd["problem"]')" "symbolic link"
    expect_exit 0 yv "$root" list
    assert_not_contains "$ERR" "topsecret"
    run_cmd yv "$root" run --name v
    assert_ne 0 "$RC"
    assert_not_contains "$ERR" "topsecret"
    # a symlinked VM folder is no way around it
    mv "$root/v.vm" "$t/real.vm"
    rm "$t/real.vm/config.yaml"
    printf 'topsecret-line: 42\n' >"$t/real.vm/config.yaml"
    ln -s "$t/real.vm" "$root/v.vm"
    expect_exit 0 yv "$root" --json status --name v
    assert_not_contains "$OUT" "topsecret" "through a symlinked VM folder"
    assert_contains "$(jv 'd["problem"]')" "symbolic link"
}

# assert_run_refused ROOT VM FILE TARGET: run is refused because ROOT/VM.vm/FILE is a symlink to
# TARGET, which keeps its content, and no QEMU was started.
assert_run_refused()
{
    local root=$1 vm=$2 file=$3 target=$4 sum
    sum=$(sha256sum <"$target")
    ln -s "$target" "$root/$vm.vm/$file"
    run_cmd yv "$root" run --name "$vm"
    assert_eq 77 "$RC" "exit status of run"
    assert_contains "$ERR" "$root/$vm.vm/$file: refused: it (or a folder on its way) is a symbolic link"
    assert_eq "$sum" "$(sha256sum <"$target")" "the link's target is untouched"
    assert_eq "" "$(qemus_of "$root")" "no QEMU started"
    assert_no_file "$root/run/$vm.pid"
    rm "$root/$vm.vm/$file"
}

test_run_refuses_symlinked_qemu_files()
{
    local root t
    new_root root
    mktmp_into t
    printf 'serial target\n' >"$t/serial-target"
    head -c 540672 /dev/zero >"$t/vars-target"
    tiny_vm "$root" s --no-ovmf
    assert_run_refused "$root" s serial.log "$t/serial-target"
    assert_run_refused "$root" s qemu.log "$t/serial-target"
    cp "$root/s.vm/hd0.qcow2" "$t/disk.qcow2"
    rm "$root/s.vm/hd0.qcow2"
    assert_run_refused "$root" s hd0.qcow2 "$t/disk.qcow2"
    tiny_vm "$root" o
    rm -f "$root/o.vm/OVMF_VARS.fd" "$root/o.vm/OVMF_VARS.qcow2"
    assert_run_refused "$root" o OVMF_VARS.fd "$t/vars-target"
    assert_run_refused "$root" o OVMF_VARS.qcow2 "$t/vars-target"
}

# snapshot list reads the UEFI store with qemu-img too: never through a symlink (here to a qcow2
# file outside the root holding a snapshot of its own), as run and the other snapshot commands.
test_snapshot_list_refuses_symlinked_vars()
{
    local root t
    new_root root
    mktmp_into t
    qemu-img create -q -f qcow2 "$t/vars.qcow2" 1M && qemu-img snapshot -c outside "$t/vars.qcow2" ||
        fail "qemu-img"
    tiny_vm "$root" o
    rm -f "$root/o.vm/OVMF_VARS.fd" "$root/o.vm/OVMF_VARS.qcow2"
    ln -s "$t/vars.qcow2" "$root/o.vm/OVMF_VARS.qcow2"
    for args in "snapshot list --name o" "snapshot create --name o --snap s1"; do
        # shellcheck disable=SC2086 # the words of args
        run_cmd yv "$root" $args
        assert_eq 77 "$RC" "exit status of $args"
        assert_contains "$ERR" "$root/o.vm/OVMF_VARS.qcow2: refused: it (or a folder on its way) is a symbolic link"
        assert_not_contains "$OUT" "outside" "the list of $args"
    done
    assert_eq outside "$(qemu-img snapshot -l "$t/vars.qcow2" | awk 'NR > 2 {print $2}')" "the target's snapshots"
}

# ---- item 8: delete never crosses into another file system ----

test_delete_refuses_a_vm_with_a_mount_inside()
{
    local root t
    need_root
    new_root root
    mktmp_into t
    tiny_vm "$root" m
    mkdir "$t/outside" "$root/m.vm/mnt"
    printf 'keep me\n' >"$t/outside/file"
    BEFORE=$(snapshot_root "$root")
    # the bind mount lives in a private mount namespace that ends with the command: nothing to
    # unmount afterwards, even when the test fails
    run_cmd unshare -m --propagation private sh -c \
        'mount --bind "$1" "$2" && exec "$3" --batch --root "$4" delete --name m' \
        sh "$t/outside" "$root/m.vm/mnt" "$YAVE_TEST_BIN" "$root"
    assert_eq "keep me" "$(cat "$t/outside/file")" "the bind-mounted file survives"
    assert_ne 0 "$RC" "delete fails"
    assert_contains "$ERR" "$root/m.vm/mnt is a mount point" "the message names the mount"
    assert_contains "$ERR" "umount $root/m.vm/mnt"
    assert_eq "$BEFORE" "$(snapshot_root "$root")" "nothing deleted"
    expect_exit 0 yv "$root" list
    assert_eq m "$OUT" "the VM is still there"
    # unmounted, the delete goes through
    expect_exit 0 yv "$root" delete --name m
    assert_no_file "$root/m.vm"
    assert_eq "keep me" "$(cat "$t/outside/file")"
}

run_tests "$@"
