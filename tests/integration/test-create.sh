#!/usr/bin/env bash
# create (empty disk, copy, grown copy, linked overlay), passwords, MACs, VNC displays, delete, and
# the JSON documents of create/list/status/delete.
. "$(dirname "$0")/lib.sh"

# vnc_table ROOT: vnc_table.yaml with the quotes around VM names removed (a writer may quote a few
# plain strings too many).
vnc_table()
{
    sed "s/^\(  ':[0-9]*'\): '\(.*\)'\$/\1: \2/" "$1/vnc_table.yaml"
}

# disk_of ROOT VM: its first disk.
disk_of()
{
    printf '%s/%s.vm/hd0.qcow2\n' "$1" "$2"
}

test_empty_disk_default_and_given_capacity()
{
    local root d
    new_root root
    expect_exit 0 yv "$root" create --name e1
    assert_contains "$OUT" "created VM 'e1' (VNC display :1)"
    d=$(disk_of "$root" e1)
    assert_file "$d"
    assert_eq qcow2 "$(img_info "$d" 'd["format"]')" "format of an empty disk"
    assert_eq $((15360 * MIB)) "$(img_info "$d" 'd["virtual-size"]')" "default capacity 15360 MiB"
    assert_eq None "$(img_info "$d" 'str(d.get("backing-filename"))')" "no backing file"

    expect_exit 0 yv "$root" create --name e2 -c 2048
    d=$(disk_of "$root" e2)
    assert_eq qcow2 "$(img_info "$d" 'd["format"]')"
    assert_eq $((2048 * MIB)) "$(img_info "$d" 'd["virtual-size"]')" "-c 2048"
    # memory / vcpu / no-ovmf land in config.yaml and status
    expect_exit 0 yv "$root" create --name e3 --capacity 16 --memory 2048 --vcpu 3 --no-ovmf --master br7
    expect_exit 0 yv "$root" --json status --name e3
    assert_eq "[2048, 3, False, 'br7']" "$(jv 'str([d["memory"], d["vcpu"], d["ovmf"], d["networks"][0]["master"]])')"
    expect_exit 0 yv "$root" create --name e4 --capacity 16 --no-network
    expect_exit 0 yv "$root" --json status --name e4
    assert_eq "[]" "$(jv 'd["networks"]')" "--no-network"
}

test_image_copy_has_no_backing_file_and_the_base_size()
{
    local root d
    new_root root
    make_base "$root/base.qcow2" 64
    expect_exit 0 yv "$root" create --name c1 --image base
    d=$(disk_of "$root" c1)
    assert_eq qcow2 "$(img_info "$d" 'd["format"]')"
    assert_eq $((64 * MIB)) "$(img_info "$d" 'd["virtual-size"]')" "size of the base"
    assert_eq None "$(img_info "$d" 'str(d.get("backing-filename"))')" "a copy has no backing file"
    qemu-img compare -q "$root/base.qcow2" "$d" || fail "the copy's contents differ from the base"
    # the base is left alone; NAME.qcow2 and a path work too
    expect_exit 0 yv "$root" create --name c2 --image base.qcow2
    qemu-img compare -q "$root/base.qcow2" "$(disk_of "$root" c2)" || fail "copy via base.qcow2"
    expect_exit 0 yv "$root" create --name c3 --image "$root/base.qcow2"
    qemu-img compare -q "$root/base.qcow2" "$(disk_of "$root" c3)" || fail "copy via a path"
    # a raw base is converted to qcow2
    qemu-img convert -q -O raw "$root/base.qcow2" "$root/raw.img" || fail "convert"
    expect_exit 0 yv "$root" create --name c4 --image "$root/raw.img"
    assert_eq qcow2 "$(img_info "$(disk_of "$root" c4)" 'd["format"]')" "a raw base becomes qcow2"
}

test_image_copy_with_bigger_capacity_grows()
{
    local root d
    new_root root
    make_base "$root/base.qcow2" 64
    expect_exit 0 yv "$root" create --name g1 --image base -c 200
    d=$(disk_of "$root" g1)
    assert_eq $((200 * MIB)) "$(img_info "$d" 'd["virtual-size"]')" "grown to 200 MiB"
    assert_eq None "$(img_info "$d" 'str(d.get("backing-filename"))')"
    qemu-img compare -q "$root/base.qcow2" "$d" || fail "the grown copy lost the base's data"
    expect_exit 0 yv "$root" create --name g2 --image base -c 64
    assert_eq $((64 * MIB)) "$(img_info "$(disk_of "$root" g2)" 'd["virtual-size"]')" "same size"
}

test_linked_overlay_has_the_base_as_backing_file()
{
    local root d
    new_root root
    make_base "$root/base.qcow2" 64
    expect_exit 0 yv "$root" create --name l1 --image base.qcow2 --linked
    d=$(disk_of "$root" l1)
    assert_eq qcow2 "$(img_info "$d" 'd["format"]')"
    assert_eq $((64 * MIB)) "$(img_info "$d" 'd["virtual-size"]')" "overlay size = base size"
    assert_eq qcow2 "$(img_info "$d" 'd.get("backing-filename-format")')" "backing format recorded"
    assert_eq "$(realpath "$root/base.qcow2")" \
        "$(realpath "$(img_info "$d" 'd["full-backing-filename"]')")" "the backing file is the base"
    qemu-img compare -q "$root/base.qcow2" "$d" || fail "the overlay does not show the base's data"
    # small: the data stays in the base
    [ "$(stat -c %s "$d")" -lt $((1 * MIB)) ] || fail "the overlay is as big as a copy"
    expect_exit 0 yv "$root" create --name l2 --image base --linked -c 100
    d=$(disk_of "$root" l2)
    assert_eq $((100 * MIB)) "$(img_info "$d" 'd["virtual-size"]')" "a bigger overlay"
    assert_eq "$(realpath "$root/base.qcow2")" "$(realpath "$(img_info "$d" 'd["full-backing-filename"]')")"
}

test_linked_without_image_is_usage()
{
    local root before
    new_root root
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" create --name l1 --linked
    assert_err_line create "--linked needs --image"
    expect_exit 2 yv "$root" --json create --name l1 --linked
    assert_json_error USAGE
    assert_no_trace "$before" "$root"
}

test_generated_vnc_password_is_printed_once_and_stored_0600()
{
    local root pw line
    new_root root
    expect_exit 0 yv "$root" create --name p1 --capacity 16
    # no bridge configured: a user network, whose SSH forward is the third line (spec §10)
    assert_eq 3 "$OUT_LINES" "create prints three lines"
    assert_out_line '^forward: tcp 127\.0\.0\.1:[0-9]+ -> guest port 22$' "the SSH forward"
    line=$(grep -i 'password' <<<"$OUT") || fail "no password line on stdout"
    pw=${line##*: }
    assert_match '^[A-Za-z0-9]{8}$' "$pw" "the generated password (8 characters)"
    assert_stderr_empty
    assert_eq "$pw" "$(vm_config_value "$root" p1 password)" "the stored password"
    assert_eq 600 "$(stat -c %a "$root/p1.vm/config.yaml")" "mode of config.yaml"
    # never again
    local cmd
    for cmd in list status 'status --name p1'; do
        # shellcheck disable=SC2086
        expect_exit 0 yv "$root" $cmd
        assert_not_contains "$OUT$ERR" "$pw" "the password in '$cmd'"
        # shellcheck disable=SC2086
        expect_exit 0 yv "$root" --json $cmd
        assert_not_contains "$OUT$ERR" "$pw" "the password in '--json $cmd'"
    done
    # two VMs get two different passwords
    expect_exit 0 yv "$root" create --name p2 --capacity 16
    assert_ne "$pw" "$(vm_config_value "$root" p2 password)" "a fresh random password"
}

test_given_vnc_password_is_stored_and_never_printed()
{
    local root t
    new_root root
    mktmp_into t
    printf 'Fil3Pass\n' >"$t/pw"
    expect_exit 0 yv "$root" create --name f1 --capacity 16 --vnc-password-file "$t/pw"
    assert_eq "Fil3Pass" "$(vm_config_value "$root" f1 password)" "password from a file"
    assert_not_contains "$OUT$ERR" "Fil3Pass" "the password from a file"
    assert_not_contains "$OUT" "password" "no password line"
    assert_eq 600 "$(stat -c %a "$root/f1.vm/config.yaml")"

    printf 'Stdin123\n' >"$t/stdin"
    EXPECT_STDIN="$t/stdin" expect_exit 0 yv "$root" create --name f2 --capacity 16 --vnc-password-file -
    assert_eq "Stdin123" "$(vm_config_value "$root" f2 password)" "password from stdin"
    assert_not_contains "$OUT$ERR" "Stdin123"

    EXPECT_STDIN="$t/stdin" expect_exit 0 yv "$root" --json create --name f3 --capacity 16 --vnc-password-file -
    assert_json_docs 1
    assert_not_contains "$OUT$ERR" "Stdin123"
    assert_eq False "$(jv 'str("generated_vnc_password" in d)')" "no generated_vnc_password for a given one"

    expect_exit 0 yv "$root" create --name f4 --capacity 16 --vnc-password 12345678
    assert_eq "12345678" "$(vm_config_value "$root" f4 password)" "an all-digit password"
    assert_not_contains "$OUT$ERR" "12345678"
    # quoted so that YAML 1.1 readers keep it a string
    assert_match "password: '12345678'" "$(cat "$root/f4.vm/config.yaml")" "all-digit password quoted"
}

test_long_vnc_password_warns()
{
    local root
    new_root root
    expect_exit 0 yv "$root" create --name w1 --capacity 16 --vnc-password abcdefghijk
    assert_eq 1 "$ERR_LINES" "one warning line"
    assert_match '^yave-tui: warning: .*8 characters' "$ERR" "the warning"
    assert_not_contains "$OUT$ERR" "abcdefghijk" "the password"
    expect_exit 0 yv "$root" create --name w2 --capacity 16 --vnc-password abcdefgh
    assert_stderr_empty "8 characters: no warning"
}

test_vnc_password_and_file_together_is_usage()
{
    local root t before
    new_root root
    mktmp_into t
    printf 'secretAA\n' >"$t/pw"
    before=$(snapshot_root "$root")
    expect_exit 2 yv "$root" create --name b1 --vnc-password secretBB --vnc-password-file "$t/pw"
    assert_err_line create "--vnc-password.*--vnc-password-file|--vnc-password-file.*--vnc-password"
    assert_not_contains "$OUT$ERR" "secret"
    expect_exit 2 yv "$root" --json create --name b1 --vnc-password secretBB --vnc-password-file "$t/pw"
    assert_json_error USAGE
    assert_not_contains "$OUT$ERR" "secret"
    # a missing or empty password file
    expect_exit 2 yv "$root" create --name b1 --vnc-password-file "$t/nope"
    assert_err_line create "$t/nope"
    : >"$t/empty"
    expect_exit 2 yv "$root" create --name b1 --vnc-password-file "$t/empty"
    assert_err_line create "empty"
    EXPECT_STDIN="$t/empty" expect_exit 2 yv "$root" create --name b1 --vnc-password-file -
    assert_err_line create "empty"
    expect_exit 2 yv "$root" --json create --name b1 --vnc-password ''
    assert_json_error USAGE
    assert_err_line create "empty"
    assert_no_trace "$before" "$root"
}

test_mac_is_md5_of_the_name_and_unique()
{
    local root want
    new_root root
    want=$(md5_mac cloud)
    assert_eq 52:54:a1:23:4b:31 "$want" "md5_mac helper (spec example)"
    expect_exit 0 yv "$root" create --name cloud --capacity 16
    assert_eq "$want" "$(vm_config_value "$root" cloud mac)" "MAC of 'cloud'"
    assert_match "mac: '52:54:a1:23:4b:31'" "$(cat "$root/cloud.vm/config.yaml")" "MAC quoted"
    expect_exit 0 yv "$root" create --name web-02 --capacity 16
    assert_eq "$(md5_mac web-02)" "$(vm_config_value "$root" web-02 mac)" "MAC of 'web-02'"
    # web-02 takes the MAC that 'other' would get: 'other' gets the next value
    local m h
    m=$(md5_mac other)
    sed -i "s/mac: '[0-9a-f:]*'/mac: '$m'/" "$root/web-02.vm/config.yaml"
    expect_exit 0 yv "$root" create --name other --capacity 16
    h=$(printf '%s' other | md5sum | cut -c1-8)
    h=$(printf '%08x' $(((16#$h + 1) & 0xffffffff)))
    assert_eq "52:54:${h:0:2}:${h:2:2}:${h:4:2}:${h:6:2}" "$(vm_config_value "$root" other mac)" \
        "the next MAC when MD5's is taken"
}

test_yaml_written_is_read_alike_by_yaml11()
{
    local root
    "$PY" -c 'import yaml' 2>/dev/null || {
        echo "    (skipped: no PyYAML for $PY)"
        return 0
    }
    new_root root
    expect_exit 0 yv "$root" create --name cloud --capacity 16 --vnc-password 00001234 \
        --forward 2201:22 --forward udp:0.0.0.0:5353:53
    "$PY" - "$root" <<'EOF' || fail "a YAML 1.1 reader (PyYAML) reads the files differently"
import sys, yaml
root = sys.argv[1]
c = yaml.safe_load(open(root + "/cloud.vm/config.yaml"))
t = yaml.safe_load(open(root + "/vnc_table.yaml"))
want = {"name": "cloud", "hardware": {"memory": 1024, "vcpu": 1, "ovmf": True},
        "vnc": {"display": ":1", "password": "00001234"},
        "drives": {"hd0": {"path": "hd0.qcow2", "device": {"type": "virtio-blk", "boot_index": 0}}},
        "networks": {"net0": {"type": "user", "device": {"mac": "52:54:a1:23:4b:31"},
                              "forwards": [{"proto": "tcp", "host": 2201, "guest": 22, "address": "127.0.0.1"},
                                           {"proto": "udp", "host": 5353, "guest": 53, "address": "0.0.0.0"}]}}}
assert c == want, c
assert t == {"table": {":1": "cloud"}}, t
EOF
}

test_displays_are_sequential_skip_busy_ports_and_are_reused()
{
    local root
    new_root root
    expect_exit 0 yv "$root" create --name d1 --capacity 16
    expect_exit 0 yv "$root" create --name d2 --capacity 16
    assert_eq ":1" "$(vm_config_value "$root" d1 display)"
    assert_eq ":2" "$(vm_config_value "$root" d2 display)"
    # another program listens on 5903: display :3 is skipped
    listen_tcp "$VNC_LISTEN" 5903
    expect_exit 0 yv "$root" create --name d3 --capacity 16
    assert_contains "$OUT" "(VNC display :4)"
    assert_eq ":4" "$(vm_config_value "$root" d3 display)" "display next to a busy port"
    assert_eq "$(printf '%s\n' table: "  ':1': d1" "  ':2': d2" "  ':4': d3")" \
        "$(vnc_table "$root")" "vnc_table.yaml"
    # delete frees :2 and removes the folder; the next create takes :2 again
    expect_exit 0 yv "$root" delete --name d2
    assert_eq "deleted VM 'd2'" "$OUT"
    assert_stderr_empty
    assert_no_file "$root/d2.vm" "the deleted VM's folder"
    assert_eq "" "$(find "$root" -name '*d2*')" "anything left of d2"
    assert_eq "$(printf '%s\n' table: "  ':1': d1" "  ':4': d3")" "$(vnc_table "$root")"
    expect_exit 0 yv "$root" create --name d4 --capacity 16
    assert_eq ":2" "$(vm_config_value "$root" d4 display)" "the freed display is reused"
    expect_exit 0 yv "$root" list
    assert_eq $'d1\nd3\nd4' "$OUT"
}

test_delete_of_a_missing_vm_is_not_found()
{
    local root before
    new_root root
    expect_exit 0 yv "$root" create --name keep --capacity 16
    before=$(snapshot_root "$root")
    expect_exit 3 yv "$root" delete --name nope
    assert_err_line delete "no VM named 'nope'"
    assert_stdout_empty
    expect_exit 3 yv "$root" --json delete --name nope
    assert_json_error VM_NOT_FOUND
    expect_exit 2 yv "$root" --json delete --name ../keep
    assert_json_error INVALID_NAME
    expect_exit 2 yv "$root" delete
    assert_err_line delete "--name is required"
    expect_exit 3 yv "$root" --json status --name nope
    assert_json_error VM_NOT_FOUND
    assert_err_line status "no VM named 'nope'"
    assert_no_trace "$before" "$root"
}

test_json_documents_of_create_list_status_delete()
{
    local root gen
    new_root root
    expect_exit 0 yv "$root" --json create --name j1 --capacity 16
    assert_json_docs 1
    assert_stderr_empty
    gen=$(jv 'd["generated_vnc_password"]')
    assert_match '^[A-Za-z0-9]{8}$' "$gen" "generated_vnc_password"
    assert_eq "$gen" "$(vm_config_value "$root" j1 password)" "generated_vnc_password is the stored one"
    assert_eq "['j1', 'stopped', 1024, ':1', 1]" \
        "$(jv 'str([d["name"], d["state"], d["memory"], d["vnc"]["display"], len(d["drives"])])')"
    assert_eq "$root/j1.vm/hd0.qcow2" "$(jv 'd["drives"][0]["path"]')"
    assert_eq "$(md5_mac j1)" "$(jv 'd["networks"][0]["mac"]')"
    # the generated password appears once, under that key only
    assert_eq 1 "$(grep -o "$gen" <<<"$OUT" | wc -l)" "occurrences of the password in the create document"

    expect_exit 0 yv "$root" --json create --name j2 --capacity 16 --vnc-password Given123
    assert_json_docs 1
    assert_not_contains "$OUT" "Given123"
    assert_eq False "$(jv 'str("generated_vnc_password" in d)')"

    expect_exit 0 yv "$root" --json list
    assert_json_docs 1
    assert_eq "['j1', 'j2']" "$(jv 'str([v["name"] for v in d])')"
    assert_not_contains "$OUT" "$gen"
    assert_not_contains "$OUT" "Given123"
    assert_not_contains "$OUT" "password"

    expect_exit 0 yv "$root" --json status
    assert_json_docs 1
    assert_eq "[':1', ':2']" "$(jv 'str([v["vnc"]["display"] for v in d])')"
    assert_not_contains "$OUT" "$gen"
    assert_not_contains "$OUT" "password"

    expect_exit 0 yv "$root" --json status --name j2
    assert_json_docs 1
    assert_eq j2 "$(jv 'd["name"]')"
    assert_not_contains "$OUT" "Given123"

    expect_exit 0 yv "$root" --json delete --name j1
    assert_json_docs 1
    assert_stderr_empty
    assert_eq '{"deleted": "j1"}' "$(jv 'json.dumps(d)')"
    expect_exit 0 yv "$root" --json list
    assert_eq "['j2']" "$(jv 'str([v["name"] for v in d])')"
    # an empty root lists as []
    expect_exit 0 yv "$root" --json delete --name j2
    expect_exit 0 yv "$root" --json list
    assert_eq "[]" "$OUT" "list --json of an empty root"
    expect_exit 0 yv "$root" list
    assert_eq "" "$OUT" "list of an empty root"
}

run_tests "$@"
