#!/usr/bin/env bash
# A root written in the original YAVE's format (tests/fixtures/original-root: config.yaml with the
# original keys, vnc_table.yaml, cloud.vm as in spec §3, web1.vm with IDE disk and CD-ROM) is read
# correctly, and reading it writes nothing.
. "$(dirname "$0")/lib.sh"

FIXTURE="$FIXTURES_DIR/original-root"

# copy_fixture VAR: a private copy of the fixture (the checked-in one is never used directly).
copy_fixture()
{
    local __cf_t
    [ -f "$FIXTURE/cloud.vm/config.yaml" ] || fail "fixture missing: $FIXTURE"
    mktmp_into __cf_t
    cp -a "$FIXTURE" "$__cf_t/root" || fail "cp"
    printf -v "$1" '%s' "$__cf_t/root"
}

test_list_reads_the_original_root()
{
    local root before
    copy_fixture root
    before=$(snapshot_root "$root")
    expect_exit 0 yv "$root" list
    assert_eq $'cloud\nweb1' "$OUT" "list"
    assert_stderr_empty "no warnings for a valid original root"
    expect_exit 0 yv "$root" --json list
    assert_json_docs 1
    assert_eq "['cloud', 'web1']" "$(jv 'str([v["name"] for v in d])')" "list --json names"
    assert_eq "['stopped', 'stopped']" "$(jv 'str([v["state"] for v in d])')" "list --json states"
    assert_no_trace "$before" "$root"
}

test_status_table_of_the_original_root()
{
    local root before
    copy_fixture root
    before=$(snapshot_root "$root")
    expect_exit 0 yv "$root" status
    assert_stderr_empty
    assert_eq 3 "$OUT_LINES" "header and two rows"
    assert_match '^NAME +STATE ' "$(sed -n 1p <<<"$OUT")" "header"
    assert_row cloud STATE=stopped VCPU=1 MEMORY=1024M VNC=:1
    assert_row web1 STATE=stopped VCPU=2 MEMORY=2048M VNC=:2
    # NETWORK is "TAP -> BRIDGE": cloud's own master; web1 has none (and config.yaml gives none)
    assert_cell_match cloud NETWORK '^[A-Za-z0-9_.-]+ -> br0$'
    assert_cell_match web1 NETWORK '^[A-Za-z0-9_.-]+( -> \(no bridge\))?$'
    expect_exit 0 yv "$root" status --name cloud
    assert_eq 2 "$OUT_LINES" "header and one row"
    assert_row cloud STATE=stopped MEMORY=1024M
    assert_not_contains "$OUT" "87654321" "the VNC password"
    assert_no_trace "$before" "$root"
}

test_status_json_of_the_spec_example_vm()
{
    local root before
    copy_fixture root
    before=$(snapshot_root "$root")
    expect_exit 0 yv "$root" --json status --name cloud
    assert_json_docs 1
    assert_stderr_empty
    assert_eq cloud "$(jv 'd["name"]')"
    assert_eq stopped "$(jv 'd["state"]')"
    assert_eq null "$(jv 'd["pid"]')"
    assert_eq 1024 "$(jv 'd["memory"]')" "memory"
    assert_eq 1 "$(jv 'd["vcpu"]')" "vcpu"
    assert_eq true "$(jv 'd["ovmf"]')" "ovmf"
    assert_eq ':1' "$(jv 'd["vnc"]["display"]')" "vnc.display"
    assert_eq 5901 "$(jv 'd["vnc"]["port"]')" "vnc.port"
    assert_eq 127.0.0.1 "$(jv 'd["vnc"]["listen"]')" "vnc.listen (default)"
    assert_eq false "$(jv 'd["vnc"]["reachable"]')" "vnc.reachable of a stopped VM"
    assert_eq 1 "$(jv 'len(d["drives"])')"
    assert_eq hd0 "$(jv 'd["drives"][0]["id"]')"
    assert_eq "$root/cloud.vm/hd0.qcow2" "$(jv 'd["drives"][0]["path"]')" "absolute drive path"
    assert_eq virtio-blk "$(jv 'd["drives"][0]["type"]')"
    assert_eq 0 "$(jv 'd["drives"][0]["boot_index"]')"
    assert_eq 1 "$(jv 'len(d["networks"])')"
    assert_eq net0 "$(jv 'd["networks"][0]["id"]')"
    assert_eq tap "$(jv 'd["networks"][0]["type"]')"
    assert_eq 52:54:a1:23:4b:31 "$(jv 'd["networks"][0]["mac"]')" "mac"
    assert_eq br0 "$(jv 'd["networks"][0]["master"]')" "master"
    assert_eq "['addresses', 'autostart', 'drives', 'memory', 'name', 'networks', 'ovmf', 'pid', 'state', 'vcpu', 'vnc']" \
        "$(jv 'str(sorted(d))')" "keys of a status object"
    assert_not_contains "$OUT" "87654321" "the VNC password must never be shown"
    assert_no_trace "$before" "$root"
}

test_status_json_of_the_ide_vm()
{
    local root
    copy_fixture root
    expect_exit 0 yv "$root" --json status --name web1
    assert_json_docs 1
    assert_eq 2048 "$(jv 'd["memory"]')" "memory"
    assert_eq 2 "$(jv 'd["vcpu"]')" "vcpu"
    assert_eq false "$(jv 'd["ovmf"]')" "ovmf absent = SeaBIOS"
    assert_eq ':2' "$(jv 'd["vnc"]["display"]')"
    assert_eq 5902 "$(jv 'd["vnc"]["port"]')"
    assert_eq 2 "$(jv 'len(d["drives"])')"
    local hd cd
    hd=$(jv '[x for x in d["drives"] if x["id"] == "hd0"][0]')
    cd=$(jv '[x for x in d["drives"] if x["id"] == "cd0"][0]')
    assert_eq "$root/web1.vm/hd0.qcow2" "$(jv 'd["path"]' "$hd")" "relative path made absolute"
    assert_eq ide "$(jv 'd["type"]' "$hd")"
    assert_eq hd "$(jv 'd["media_type"]' "$hd")"
    assert_eq 1 "$(jv 'd["boot_index"]' "$hd")"
    assert_eq /var/lib/yave/iso/debian-12-netinst.iso "$(jv 'd["path"]' "$cd")" "absolute path kept"
    assert_eq ide "$(jv 'd["type"]' "$cd")"
    assert_eq cd "$(jv 'd["media_type"]' "$cd")" "the CD-ROM"
    assert_eq 0 "$(jv 'd["boot_index"]' "$cd")"
    assert_eq 52:54:00:12:34:56 "$(jv 'd["networks"][0]["mac"]')" "a MAC that YAML 1.1 would read as a number"
    assert_eq null "$(jv 'd["networks"][0]["master"]')" "no master here, none in config.yaml"
    assert_not_contains "$OUT" "hunter22" "the VNC password"
    # status of all: an array of both, same objects
    expect_exit 0 yv "$root" --json status
    assert_eq "['cloud', 'web1']" "$(jv 'str([v["name"] for v in d])')"
    assert_eq "[2048, 2]" "$(jv 'str([d[1]["memory"], d[1]["vcpu"]])')"
}

test_original_config_keys_are_honoured()
{
    local root
    copy_fixture root
    # network.master (new key) next to the original ones gives web1 its bridge
    printf 'network:\n  master: br9\nvnc:\n  listen: 127.0.0.9\n' >>"$root/config.yaml"
    expect_exit 0 yv "$root" --json status --name web1
    assert_eq br9 "$(jv 'd["networks"][0]["master"]')" "master from network.master"
    assert_eq 127.0.0.9 "$(jv 'd["vnc"]["listen"]')" "vnc.listen"
    expect_exit 0 yv "$root" --json status --name cloud
    assert_eq br0 "$(jv 'd["networks"][0]["master"]')" "the VM's own master wins"
}

# The original is run from its source tree: ./debug is the root when ./debug/config.yaml exists;
# $YAVE_ROOT and --root / -C take precedence.
test_root_selection()
{
    local t
    mktmp_into t
    cp -a "$FIXTURE" "$t/debug" || fail "cp"
    mkdir "$t/other"
    run_cmd env -C "$t" "$YAVE_TEST_BIN" --batch list
    assert_eq 0 "$RC" "list in a folder with ./debug/config.yaml"
    assert_eq $'cloud\nweb1' "$OUT" "./debug is the root"
    run_cmd env -C "$t" YAVE_ROOT="$t/other" "$YAVE_TEST_BIN" --batch list
    assert_eq 0 "$RC"
    assert_eq "" "$OUT" "\$YAVE_ROOT wins over ./debug"
    run_cmd env -C "$t" YAVE_ROOT="$t/other" "$YAVE_TEST_BIN" --batch -C debug list
    assert_eq 0 "$RC"
    assert_eq $'cloud\nweb1' "$OUT" "-C wins over \$YAVE_ROOT"
    run_cmd env -C "$t/other" "$YAVE_TEST_BIN" --batch --json --root ../debug status --name cloud
    assert_eq 0 "$RC"
    assert_eq "$t/debug/cloud.vm/hd0.qcow2" "$(jv 'd["drives"][0]["path"]')" "a relative --root gives absolute paths"
}

# Nothing ever wrote into the checked-in fixture (it holds exactly the original's files).
test_fixture_holds_only_the_original_files()
{
    assert_eq "$(printf '%s\n' ./cloud.vm/config.yaml ./config.yaml ./vnc_table.yaml ./web1.vm/config.yaml)" \
        "$(cd "$FIXTURE" && find . ! -type d | sort)" "files of the fixture"
}

run_tests "$@"
