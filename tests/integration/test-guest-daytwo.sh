#!/usr/bin/env bash
# Presets' --user and --package (spec §13) and the real-guest side of growpart and `resize`, on
# the Debian cloud-init guest of tests/fixtures/make-cloud-guest.sh (cloud-guest-utils: growpart;
# its cloud.cfg runs growpart and resizefs in the init stage, on every boot). Section 0 is cheap
# (no real guest): the refusals, and user-data as data (a genisoimage wrapper keeps a copy of
# what it packs; PyYAML reads it back). Section 1 is ONE preset install (`--user`, `--package
# sudo`, a disk bigger than the cloud image) and then linked VMs of its disk:
# - the installed guest: the root file system grew to the disk (first boot); ssh as the new user
#   with the create-time key; sudo without a password; root and the user share the password hash;
#   root still logs in with the password (serial console); cloud-init ran the package install;
# - a linked VM, running: `resize` online → the guest sees the bigger disk (lsblk -b over ssh);
# - the same VM in the TUI (spec §15): `dd` writing to its disk shows a MiB/s write rate in the
#   list within 3 s, and 0 within 3 s after dd ends (check_disk_rate);
# - a linked VM, stopped: `resize` offline, then boot → the root file system grew (growpart and
#   resizefs on that boot).
# The package is `sudo` (the test guest has none): cloud-init installs it from Debian's mirror
# through QEMU's user network. Without a reachable mirror, the install is only attempted: the
# test then checks cloud-init's attempt and the sudoers rule it wrote instead of running sudo.
# run-all: slow
# shellcheck source=tests/integration/tui-lib.sh
. "$(dirname "$0")/tui-lib.sh"
# shellcheck source=tests/integration/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

ROOT_PW='Guest-Root-19'
WAIT_BOOT=${YAVE_GUEST_WAIT:-420} # seconds for a boot to a working sshd (TCG)
IMG_MIB=2048                       # the test guest's virtual disk (make-cloud-guest.sh default)

info()
{
    printf '      %s\n' "$*"
}

# ud_wrapper ROOT T: genisoimage for ROOT is a wrapper that keeps a copy of the user-data the
# install's seed (seed/seed.iso) packs in T/user-data (not the one of the seed the VM keeps after).
ud_wrapper()
{
    printf '#!/bin/sh\ncase "$*" in *"/seed.iso "*)\n  for a; do case $a in */user-data) cp "$a" %q;; esac; done;;\nesac\nexec %q "$@"\n' \
        "$2/user-data" "$(command -v genisoimage)" >"$2/genisoimage"
    chmod 755 "$2/genisoimage"
    printf 'cli:\n  genisoimage: %s\n' "$2/genisoimage" >>"$1/config.yaml"
}

# check_user_data FILE USER KEYFILE PACKAGES...: user-data's structure (PyYAML).
check_user_data()
{
    local r
    r=$("$PY" - "$@" <<'PY' 2>&1
import sys, yaml
text = open(sys.argv[1]).read()
assert text.startswith("#cloud-config\n"), "no #cloud-config header"
d = yaml.safe_load(text)
user, key, pkgs = sys.argv[2], open(sys.argv[3]).read().strip(), sys.argv[4:]
root = d["chpasswd"]["users"]
assert root == [{"name": "root", "password": root[0]["password"], "type": "hash"}], root
assert root[0]["password"].startswith("$6$"), "root's hash"
assert d.get("disable_root") is False and d.get("ssh_pwauth") is True
assert d.get("ssh_authorized_keys") == [key], "root's keys: %r" % d.get("ssh_authorized_keys")
users = d.get("users")
assert isinstance(users, list) and len(users) == 1, "users: %r (no 'default')" % users
u = users[0]
want = {"name": user, "sudo": "ALL=(ALL) NOPASSWD:ALL", "shell": "/bin/bash",
        "lock_passwd": False, "hashed_passwd": root[0]["password"], "ssh_authorized_keys": [key]}
assert u == want, "the user: %r" % u
assert d.get("packages") == pkgs, "packages: %r" % d.get("packages")
wf = d.get("write_files")
assert [f["path"] for f in wf] == ["/etc/cloud/cloud.cfg.d/90-yave-users.cfg"], wf
assert yaml.safe_load(wf[0]["content"]) == {"users": []}, wf[0]["content"]
for k in ("package_update", "package_upgrade", "apt_update", "apt_upgrade"):
    assert k not in d, k + " set"
PY
) || fail "user-data: $r"
}

# 0. No real guest: bad users and packages are refused before anything is written (exit 2, the
# value named), also without a preset; good ones reach user-data as data: a list, each name one
# string (a package called "yes" or "null" stays a string), the user with the keys and root's hash.
test_0_user_packages_into_user_data_and_refusals()
{
    local root t before bad r
    new_root root
    mktmp_into t
    poweroff_preset "$root" fake
    printf '%s\n' "$ROOT_PW" >"$t/rootpw"
    ssh-keygen -q -t ed25519 -N '' -C "k" -f "$t/key" || fail "ssh-keygen"
    ud_wrapper "$root" "$t"
    set -- create --name fp --preset fake --root-password-file "$t/rootpw" --no-network \
        --no-ovmf -m 64 -c 32 --ssh-key "$t/key.pub"

    before=$(snapshot_root "$root")
    for bad in "Alice:invalid user name 'Alice'" "1x:invalid user name '1x'" \
        "a b:invalid user name 'a b'" "root:user name 'root' is reserved" \
        "systemd-x:user name 'systemd-x' is reserved" "www-data:is reserved" \
        "a\$:invalid user name" "$(printf 'a%.0s' {1..33}):at most 32"; do
        expect_exit 2 yv "$root" "$@" --user "${bad%%:*}"
        assert_contains "$ERR" "${bad#*:}" "the refusal of user ${bad%%:*}"
    done
    for bad in "Vim:invalid package name 'Vim'" "-x:invalid package name '-x'" \
        "a:invalid package name 'a'" "vim=2:invalid package name 'vim=2'" \
        "vim,,curl:invalid list" "vim curl:invalid package name 'vim curl'" \
        "x\$(id):invalid package name"; do
        expect_exit 2 yv "$root" "$@" --package vim --package "${bad%%:*}"
        assert_contains "$ERR" "${bad#*:}" "the refusal of package ${bad%%:*}"
    done
    expect_exit 2 yv "$root" --json "$@" --package Bad
    assert_json_error USAGE
    expect_exit 2 yv "$root" create --name fp --user alice --no-network
    assert_contains "$ERR" "--user only applies with --preset" "a user without a preset"
    expect_exit 2 yv "$root" create --name fp --package vim --no-network
    assert_contains "$ERR" "--package only applies with --preset" "packages without a preset"
    assert_no_trace "$before" "$root"
    assert_no_file "$t/user-data" "a user-data of a refused create"

    expect_exit 0 yv "$root" "$@" --user al_ice-2 --package vim,yes,null --package g++ \
        --package libc6.1-dev
    check_user_data "$t/user-data" al_ice-2 "$t/key.pub" vim yes null g++ libc6.1-dev
    # without --user: no users key (the image's default user as before); no packages key
    rm -f "$t/user-data"
    set -- "${@/#fp/fq}"
    expect_exit 0 yv "$root" "$@"
    r=$("$PY" -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1]))
print(sorted(k for k in ("users", "packages", "write_files") if k in d))' "$t/user-data")
    assert_eq "[]" "$r" "user-data without --user and --package"
}

# root_fs_mib ROOT VM T: sets DISK (vda's bytes, lsblk) and FS (the root file system's bytes, df).
root_fs()
{
    guest_ssh "$1" "$2" "$3" lsblk -b -d -n -o SIZE /dev/vda
    [ "$RC" = 0 ] || fail "lsblk in $2: $ERR"
    DISK=${OUT//[[:space:]]/}
    guest_ssh "$1" "$2" "$3" df -B1 --output=size /
    [ "$RC" = 0 ] || fail "df in $2: $ERR"
    FS=$(printf '%s\n' "$OUT" | tail -1 | tr -d ' ')
}

# assert_fs_fills ROOT VM T MIB: the disk is MIB and the root file system nearly fills it (more
# than 90 %: the partition starts at 1 MiB, ext4 keeps its journal and tables).
assert_fs_fills()
{
    root_fs "$1" "$2" "$3"
    assert_eq $(($4 * MIB)) "$DISK" "$2: the disk the guest sees"
    [ "$FS" -gt $(($4 * MIB * 9 / 10)) ] ||
        fail "$2: the root file system is $((FS / MIB)) MiB on a $4 MiB disk (did not grow)"
    info "$2: root file system $((FS / MIB)) MiB on a $4 MiB disk"
}

# console_root_login ROOT VM T: root logs in with the preset's password on the serial console.
console_root_login()
{
    local cpid fd
    mkfifo "$3/cin"
    : >"$3/cout"
    "$YAVE_TEST_BIN" --batch --root "$1" console --name "$2" --timeout 120 <"$3/cin" \
        >"$3/cout" 2>"$3/cerr" &
    cpid=$!
    at_exit kill "$cpid"
    exec {fd}>"$3/cin"
    printf '\n' >&"$fd"
    wait_line "$3/cout" 'login:' "$cpid" 60 0.5
    printf 'root\n' >&"$fd"
    wait_line "$3/cout" 'Password:' "$cpid" 60 0.5
    printf '%s\n' "$ROOT_PW" >&"$fd"
    wait_line "$3/cout" "root@$2" "$cpid" 60 0.5
    printf 'echo MARK$((40+2))\n' >&"$fd"
    wait_line "$3/cout" 'MARK42' "$cpid" 30 0.5
    exec {fd}>&-
    kill -TERM "$cpid"
    wait "$cpid" 2>/dev/null
}

# the installed guest g: growpart on first boot, the user, sudo, the packages, root's password
check_installed()
{
    local root=$1 t=$2
    expect_exit 0 yv "$root" run --name g
    wait_ssh "$root" g "$t"
    assert_fs_fills "$root" g "$t" 3072
    guest_ssh_as "$root" g "$t" alice id -un
    assert_eq 0 "$RC" "ssh as the new user with the create-time key: $ERR"
    assert_eq alice "$OUT" "the user ssh logged in as"
    GUEST_SSH_TIMEOUT=360 guest_ssh "$root" g "$t" timeout 300 cloud-init status --wait
    guest_ssh "$root" g "$t" getent shadow root alice
    assert_eq 0 "$RC" "getent shadow: $ERR"
    local h_root h_alice
    h_root=$(printf '%s\n' "$OUT" | awk -F: '$1 == "root" {print $2}')
    h_alice=$(printf '%s\n' "$OUT" | awk -F: '$1 == "alice" {print $2}')
    assert_match '^\$6\$' "$h_root" "root's password hash"
    assert_eq "$h_root" "$h_alice" "alice's password hash (root's)"
    # this second boot has the seed the VM kept: the install's instance (not DataSourceNone's
    # iid-datasource-none), and no default user (the image's is debian)
    local kept
    kept=$(isoinfo -R -x /meta-data -i "$root/g.vm/cidata.iso" | sed -n 's/^instance-id: //p')
    assert_match '^iid-yave-g-[0-9a-f]{16}$' "$kept" "the kept seed's instance-id"
    guest_ssh "$root" g "$t" "cat /var/lib/cloud/data/instance-id; getent passwd debian"
    assert_eq "$kept" "$OUT" "the second boot's instance, and no user debian"
    guest_ssh "$root" g "$t" cat /etc/sudoers.d/90-cloud-init-users
    assert_contains "$OUT" "alice ALL=(ALL) NOPASSWD:ALL" "the sudo rule cloud-init wrote"
    # cloud-init's package module asked apt for the package (final stage)
    # (ssh joins the words for the guest's shell: one word, quoted for it)
    guest_ssh "$root" g "$t" "grep -F \"'install', 'sudo'\" /var/log/cloud-init.log"
    assert_eq 0 "$RC" "no package install in cloud-init.log: $ERR"
    guest_ssh "$root" g "$t" "dpkg-query -W -f '\${Status}' sudo"
    if [ "$OUT" = "install ok installed" ]; then
        guest_ssh_as "$root" g "$t" alice sudo -n id -u
        assert_eq 0 "$RC" "sudo -n as alice: $ERR"
        assert_eq 0 "$OUT" "sudo -n id -u as alice"
        info "sudo installed on first boot from the mirror; alice's sudo works"
    else
        info "sudo not installed (no mirror reachable?): only the attempt and the rule checked"
    fi
    console_root_login "$root" g "$t"
    expect_exit 0 yv "$root" shutdown --name g --timeout 120
}

# r1: online resize, the running guest sees the bigger disk
check_online_resize()
{
    local root=$1 t=$2 deadline
    wait_ssh "$root" r1 "$t"
    root_fs "$root" r1 "$t"
    assert_eq $((3072 * MIB)) "$DISK" "r1's disk before the resize"
    expect_exit 0 yv "$root" resize --name r1 --capacity 4096
    assert_contains "$OUT" "grown from 3072 MiB to 4096 MiB" "online resize"
    deadline=$((SECONDS + 30))
    while root_fs "$root" r1 "$t" && [ "$DISK" != $((4096 * MIB)) ] && [ $SECONDS -lt $deadline ]; do
        sleep 2
    done
    assert_eq $((4096 * MIB)) "$DISK" "the disk the running guest sees after resize"
    info "r1: the running guest sees $((DISK / MIB)) MiB"
}

# disk_write_rate VM: W=the write half of VM's DISK R/W cell in the TUI's list now ("-", "0",
# "12M"); SCREEN and ROW what it was read from. Not in a $(…): they must reach the caller (read in
# a subshell they stayed those of the TUI's first frame, which looked like a TUI that stopped
# redrawing).
disk_write_rate()
{
    local cell
    SCREEN=$(cap)
    ROW=$(row "$1")
    cell=$(awk '{ print $(NF - 1) }' <<<"$ROW") # NET RX/TX is last: "-" on a user network
    W=${cell#*/}
}

# wait_mark FILE MARK END_MS: until FILE (the guest's output, as ssh passes it on) has MARK.
wait_mark()
{
    until grep -q "^$2\$" "$1" 2>/dev/null; do
        [ "$(now_ms)" -lt "$3" ] || fail "no $2 from the guest: $(cat "$1" 2>/dev/null)"
        sleep 0.05
    done
}

# wait_rate VM ERE WHAT END_MS: until the write rate shown for VM matches ERE (WHAT: for the
# failure); every distinct row seen meanwhile is logged when it fails.
wait_rate()
{
    local seen=()
    while disk_write_rate "$1"; ! [[ $W =~ $2 ]]; do
        [ "${#seen[@]}" -gt 0 ] && [ "${seen[${#seen[@]} - 1]}" = "$ROW" ] ||
            seen+=("$(($(now_ms) % 100000)) $ROW")
        [ "$(now_ms)" -lt "$4" ] || {
            dump_screen
            printf '      the rows of %s seen (ms, row):\n' "$1" >&2
            printf '      |%s\n' "${seen[@]}" >&2
            fail "$3"
        }
        sleep 0.1
    done
}

# check_disk_rate ROOT VM T: the running guest writes to its disk with dd (direct I/O, over ssh;
# the same 64 MiB again and again for 8 s, each pass synced, so nothing is left to write after):
# the list shows dd's write rate (MiB/s: not the few KiB a login writes) within 3 s of dd
# starting, and 0 within 3 s after it ended. The guest says when dd starts and ends (lines ssh
# passes on at once); a first pass before (dd and the file in the guest's cache, the blocks
# allocated) and a pause after it, so the start is dd's own; the session stays open 6 s after
# the end, so the logout's writes come later. The guest's own background writes are held off
# meanwhile (they are real, and shown: 1 MiB 2 s after dd's end failed a run): ext4's lazy inode
# table zeroing after the resize (noinit_itable) and the periodic writeback of dirty pages.
check_disk_rate()
{
    local root=$1 vm=$2 t=$3 t0 dd
    show_metrics_columns "$root"
    TUI_W=200 tui_start "$root"
    wait_screen '^NAME .* +RSS +DISK R/W +NET RX/TX *$'
    wait_row "$vm" "^$vm +running "
    (
        # the ssh's output is read while it runs: into a file of its own, not run_cmd's
        # shellcheck disable=SC2317,SC2030 # called by guest_ssh, in this subshell only
        run_cmd()
        {
            "$@" </dev/null >"$t/dd.out" 2>"$t/dd.err" && RC=0 || RC=$?
            OUT=$(cat "$t/dd.out")
        }
        # shellcheck disable=SC2016 # the guest's shell expands it
        guest_ssh "$root" "$vm" "$t" 'pass() { dd if=/dev/zero of=/var/tmp/yave-dd bs=1M count=64 \
                oflag=direct conv=notrunc,fsync status=none || exit 1; }
            sync; mount -o remount,noinit_itable /; sysctl -q -w vm.dirty_writeback_centisecs=0
            pass; sync; echo DD-READY; sleep 5; echo DD-START; end=$(($(date +%s) + 8))
            while [ "$(date +%s)" -lt "$end" ]; do pass; done; echo DD-END; sleep 6
            sysctl -q -w vm.dirty_writeback_centisecs=500'
        printf '%s\n' "$RC" >"$t/dd.rc"
    ) &
    dd=$!
    wait_mark "$t/dd.out" DD-READY $(($(now_ms) + HANG * 1000))
    wait_rate "$vm" '^0$' "the first pass's write rate of $vm never went back to 0" \
        $(($(now_ms) + HANG * 1000))
    wait_mark "$t/dd.out" DD-START $(($(now_ms) + HANG * 1000))
    t0=$(now_ms)
    wait_rate "$vm" '^[0-9.]+[MGT]$' "no MiB/s write rate shown for $vm within 3 s of dd" \
        $((t0 + 3000))
    info "$vm: write rate $W/s shown $(($(now_ms) - t0)) ms after dd began"
    wait_mark "$t/dd.out" DD-END $(($(now_ms) + HANG * 1000))
    t0=$(now_ms)
    wait_rate "$vm" '^0$' "the write rate of $vm is not 0 within 3 s after dd ended" \
        $((t0 + 3000))
    info "$vm: write rate 0 again $(($(now_ms) - t0)) ms after dd ended"
    wait "$dd"
    assert_eq 0 "$(cat "$t/dd.rc")" "dd in the guest: $(cat "$t/dd.err")"
    tui_quit
    guest_must "$root" "$vm" "$t" rm -f /var/tmp/yave-dd
}

test_1_user_growpart_resize_in_the_guest()
{
    local root t
    new_root root
    mktmp_into t
    guest_ports "$root"
    mkdir "$root/debian.preset" || fail "mkdir"
    "$FIXTURES_DIR/make-cloud-guest.sh" "$root/debian.preset/guest.qcow2" 2>"$t/guest.log" ||
        fail "make-cloud-guest.sh failed: $(tail -5 "$t/guest.log")"
    printf 'cloudimg: guest.qcow2\n' >"$root/debian.preset/config.yaml"
    assert_eq $((IMG_MIB * MIB)) "$(img_info "$root/debian.preset/guest.qcow2" 'd["virtual-size"]')" \
        "the cloud image's size"
    printf '%s\n' "$ROOT_PW" >"$t/rootpw"
    chmod 600 "$t/rootpw"
    ssh-keygen -q -t ed25519 -N '' -C "yave-test-daytwo" -f "$t/key" || fail "ssh-keygen"
    ud_wrapper "$root" "$t"
    at_exit stop_qemus "$root"

    local start=$SECONDS
    expect_exit 0 yv "$root" create --name g --preset debian --root-password-file "$t/rootpw" \
        --network user --ssh-key "$t/key.pub" --user alice --package sudo --no-ovmf -m 512 \
        -c 3072 --install-timeout 900
    info "install with a user and a package: $((SECONDS - start))s"
    check_user_data "$t/user-data" alice "$t/key.pub" sudo
    check_installed "$root" "$t"

    # two linked VMs of the installed disk: r1 grows online, r2 offline before its boot
    expect_exit 0 yv "$root" create --name r1 --image "$root/g.vm/hd0.qcow2" --linked \
        --network user --no-ovmf -m 512
    expect_exit 0 yv "$root" create --name r2 --image "$root/g.vm/hd0.qcow2" --linked \
        --network user --no-ovmf -m 512
    expect_exit 0 yv "$root" resize --name r2 --capacity 5120
    assert_eq "r2: drive hd0 grown from 3072 MiB to 5120 MiB" "$OUT" "offline resize"
    expect_exit 0 yv "$root" run --name r1
    expect_exit 0 yv "$root" run --name r2
    check_online_resize "$root" "$t"
    check_disk_rate "$root" r1 "$t"
    expect_exit 0 yv "$root" shutdown --name r1 --force
    wait_ssh "$root" r2 "$t"
    assert_fs_fills "$root" r2 "$t" 5120
    expect_exit 0 yv "$root" shutdown --name r2 --force
}

run_tests "$@"
