#!/usr/bin/env bash
# create --preset (spec §4): the cloud image converted, the NoCloud seed, the first boot until the
# guest powers itself off, the seed removed; nothing left behind on a timeout or an interrupt; the
# progress lines (plain and --json). The slow part is a real Debian cloud-init guest
# (tests/fixtures/make-cloud-guest.sh, built once and cached, needs root): one create, one run to
# the login prompt, one graceful (ACPI) shutdown — several minutes under TCG.
# run-all: slow
#
# The cheap cases run first: a cloud image with no OS at all (never powers off) and a one-sector
# image that prints a line on the serial port and powers off through ACPI (a "guest" that finishes
# its first boot in a second).
. "$(dirname "$0")/lib.sh"

ROOT_PW='Test-Root-9'
VNC_PW='vncpw123'

info()
{
    printf '      %s\n' "$*"
}

# secrets DIR: DIR/rootpw and DIR/vncpw, the passwords' files.
secrets()
{
    printf '%s\n' "$ROOT_PW" >"$1/rootpw"
    printf '%s\n' "$VNC_PW" >"$1/vncpw"
    chmod 600 "$1/rootpw" "$1/vncpw"
}

# empty_preset ROOT NAME: a preset whose cloud image is an empty qcow2 (no OS: it never powers off).
empty_preset()
{
    mkdir "$1/$2.preset" || fail "mkdir preset"
    qemu-img create -q -f qcow2 "$1/$2.preset/empty.qcow2" 64M || fail "qemu-img create"
    printf 'cloudimg: empty.qcow2\n' >"$1/$2.preset/config.yaml"
}

# assert_nothing_left ROOT SNAPSHOT TMPDIR NAME: a failed create of NAME left no trace.
assert_nothing_left()
{
    local root=$1 before=$2 tmp=$3 name=$4 p
    assert_no_file "$root/$name.vm" "the VM folder"
    assert_no_file "$root/.$name.vm.part" "the folder under construction"
    assert_no_trace "$before" "$root"
    assert_eq "" "$(ls -A "$tmp")" "files left in TMPDIR (the seed folder)"
    p=$(procs_with "$root/")
    assert_eq "" "$p" "processes still using the root (QEMU)"
}

# a root with one ordinary VM (so vnc_table.yaml exists and must stay unchanged) and the empty preset
cheap_root()
{
    local __cr_r
    new_root __cr_r
    expect_exit 0 yv "$__cr_r" create --name other -c 16 --no-network --no-ovmf -V abcdefgh
    empty_preset "$__cr_r" empty
    printf -v "$1" '%s' "$__cr_r"
}

test_1_timeout_leaves_nothing()
{
    local root t tmp before table start took
    cheap_root root
    mktmp_into t
    mktmp_into tmp
    secrets "$t"
    before=$(snapshot_root "$root")
    table=$(cat "$root/vnc_table.yaml")
    assert_contains "$table" "other" "the table before"
    start=$SECONDS
    TMPDIR=$tmp expect_exit 6 yv "$root" create --name pc --preset empty --root-password-file \
        "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network --no-ovmf -m 64 -c 128 \
        --install-timeout 20
    took=$((SECONDS - start))
    info "timed out after ${took}s (--install-timeout 20)"
    [ "$took" -ge 20 ] && [ "$took" -le 60 ] || fail "the timeout took ${took}s, not about 20"
    assert_match '^yave-tui: create: the first boot did not power off within 20 s' \
        "$(tail -n 1 <<<"$ERR")" "the error line"
    assert_contains "$ERR" "yave-tui: create: first boot" "progress of the first boot"
    assert_stdout_empty
    assert_nothing_left "$root" "$before" "$tmp" pc
    assert_eq "$table" "$(cat "$root/vnc_table.yaml")" "vnc_table.yaml"
    expect_exit 0 yv "$root" list
    assert_eq "other" "$OUT" "the VMs of the root"
}

# interrupt_create SIG: a preset create of the empty image in the background (its own process
# group, as a terminal's foreground job), SIG to the group once the first boot has started.
interrupt_create()
{
    local sig=$1 root t tmp before pid rc start took
    cheap_root root
    mktmp_into t
    mktmp_into tmp
    secrets "$t"
    before=$(snapshot_root "$root")
    TMPDIR=$tmp setsid "$YAVE_TEST_BIN" --batch --root "$root" create --name pc --preset empty \
        --root-password-file "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network --no-ovmf \
        -m 64 -c 128 --install-timeout 600 </dev/null >"$t/out" 2>"$t/err" &
    pid=$!
    at_exit kill -KILL "$pid"
    wait_line "$t/err" 'create: first boot' "$pid" 120 0.2
    [ -n "$(procs_with "$root/run/pc.sock")" ] || fail "no QEMU of the first boot"
    sleep 1
    start=$(date +%s.%N)
    if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
        kill -s "$sig" -- "-$pid"
    else
        kill -s "$sig" "$pid"
    fi
    wait_exited "$pid" 300 # 30 s
    rc=0
    wait "$pid" || rc=$?
    took=$("$PY" -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$start")
    info "SIG$sig: exit $rc after ${took}s"
    [ "$rc" -ne 0 ] || fail "create exited 0 after SIG$sig"
    "$PY" -c 'import sys; sys.exit(float(sys.argv[1]) > 10)' "$took" ||
        fail "create took ${took}s to give up after SIG$sig"
    assert_match '^yave-tui: create: interrupted' "$(tail -n 1 "$t/err")" "the error line"
    assert_eq "" "$(cat "$t/out")" "stdout"
    assert_nothing_left "$root" "$before" "$tmp" pc
}

test_2_ctrl_c_leaves_nothing()
{
    interrupt_create INT
}

test_3_sigterm_leaves_nothing()
{
    interrupt_create TERM
}

# Ctrl-C while QEMU is being launched: QEMU (started in a session of its own) must not get the
# terminal's signal (a QEMU dying half-way, or one left behind writing into the removed folder).
test_3b_ctrl_c_during_launch_leaves_nothing()
{
    local root t tmp before pid rc d last
    mktmp_into t
    secrets "$t"
    for d in 0.05 0.15 0.25 0.35 0.45 0.6; do
        cheap_root root
        mktmp_into tmp
        before=$(snapshot_root "$root")
        TMPDIR=$tmp setsid "$YAVE_TEST_BIN" --batch --root "$root" create --name pc --preset \
            empty --root-password-file "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network \
            --no-ovmf -m 64 -c 128 --install-timeout 600 </dev/null >"$t/out" 2>"$t/err" &
        pid=$!
        at_exit kill -KILL "$pid"
        wait_line "$t/err" 'create: seed' "$pid" 120 0.01
        sleep "$d"
        kill -s INT -- "-$pid" 2>/dev/null || kill -s INT "$pid"
        wait_exited "$pid" 300 # 30 s
        rc=0
        wait "$pid" || rc=$?
        last=$(tail -n 1 "$t/err")
        info "SIGINT ${d}s after the seed line: exit $rc: ${last#yave-tui: create: }"
        [ "$rc" -ne 0 ] || fail "create exited 0 after SIGINT"
        assert_not_contains "$last" "qemu-system" "QEMU got the terminal's SIGINT"
        sleep 0.5 # a QEMU left behind would write its files meanwhile
        assert_nothing_left "$root" "$before" "$tmp" pc
    done
}

# SIGTERM to yave alone (a service manager, not a terminal: qemu-img does not get it) while a long
# convert runs: the convert is stopped at once, not waited for. The convert is the real qemu-img
# with 16 MiB of random data, slowed to 1 MiB/s by its own -r option (cli.img is a wrapper that
# adds it), so it would take 16 s.
test_3c_sigterm_during_convert_stops_it()
{
    local root t tmp before pid rc took start last p
    cheap_root root
    mktmp_into t
    mktmp_into tmp
    secrets "$t"
    mkdir "$root/big.preset"
    head -c $((16 << 20)) /dev/urandom >"$t/big.raw"
    qemu-img convert -q -O qcow2 "$t/big.raw" "$root/big.preset/big.qcow2" || fail "convert"
    printf 'cloudimg: big.qcow2\n' >"$root/big.preset/config.yaml"
    printf '#!/bin/sh\n[ "$1" = convert ] && { shift; exec qemu-img convert -r 1M "$@"; }\nexec qemu-img "$@"\n' \
        >"$t/slow-img"
    chmod +x "$t/slow-img"
    printf 'cli:\n  img: %s\n' "$t/slow-img" >>"$root/config.yaml"
    before=$(snapshot_root "$root")
    TMPDIR=$tmp "$YAVE_TEST_BIN" --batch --root "$root" create --name pc --preset big \
        --root-password-file "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network --no-ovmf \
        -m 64 --install-timeout 600 </dev/null >"$t/out" 2>"$t/err" &
    pid=$!
    at_exit kill -KILL "$pid"
    for _ in $(seq 100); do
        p=$(procs_with "big.preset/big.qcow2")
        [ -n "$p" ] && break
        sleep 0.1
    done
    [ -n "$p" ] || fail "qemu-img convert did not start: $(cat "$t/err")"
    sleep 1
    start=$(date +%s%N)
    kill -s TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    took=$((($(date +%s%N) - start) / 1000000))
    last=$(tail -n 1 "$t/err")
    info "SIGTERM 1 s into a 16 s convert: exit $rc after ${took} ms: ${last#yave-tui: }"
    [ "$took" -lt 5000 ] || fail "create took ${took} ms to stop: it waited for the convert"
    assert_eq 1 "$rc" "exit status after SIGTERM"
    assert_eq "yave-tui: create: interrupted" "$last" "the error line"
    assert_eq "" "$(procs_with "big.preset/big.qcow2")" "qemu-img still running"
    assert_nothing_left "$root" "$before" "$tmp" pc
}

# check_progress_json: stderr ($ERR) is JSON progress lines, but for a last plain error line when
# $1 is "error"; prints the serial lines seen.
check_progress_json()
{
    local r
    r=$(printf '%s\n' "$ERR" | "$PY" -c '
import json, re, sys
lines = sys.stdin.read().splitlines()
if sys.argv[1] == "error":
    if not lines or not lines[-1].startswith("yave-tui: create: "):
        sys.exit("the last stderr line is not the error: %r" % lines[-1:])
    lines = lines[:-1]
phases, last, serial = [], -1.0, []
for i, l in enumerate(lines, 1):
    try:
        d = json.loads(l)
    except Exception as e:
        sys.exit("stderr line %d is not JSON: %s: %r" % (i, e, l))
    if list(d) != ["progress"] or sorted(d["progress"]) != ["elapsed", "phase", "serial"]:
        sys.exit("stderr line %d is not {progress: {phase, elapsed, serial}}: %r" % (i, l))
    p = d["progress"]
    if not isinstance(p["elapsed"], (int, float)) or p["elapsed"] < last:
        sys.exit("elapsed is not a non-decreasing number: %r" % l)
    last = p["elapsed"]
    if not re.search(r"\x22elapsed\x22:[0-9]+(\.[0-9])?[,}]", l):
        sys.exit("elapsed is not in tenths of a second: %r" % l)
    if not isinstance(p["serial"], str) or not isinstance(p["phase"], str):
        sys.exit("phase or serial not a string: %r" % l)
    if not phases or phases[-1] != p["phase"]:
        phases.append(p["phase"])
    if p["serial"]:
        serial.append(p["serial"])
if phases != ["convert", "seed", "first boot", "cleanup"]:
    sys.exit("phases: %r" % phases)
print("\n".join(serial))
' "$1" 2>&1) || fail "progress on stderr: $r"
    printf '%s\n' "$r"
}

test_4_json_progress_and_one_document()
{
    local root t tmp serial
    new_root root
    empty_preset "$root" empty
    poweroff_preset "$root" fake
    mktmp_into t
    mktmp_into tmp
    secrets "$t"
    # a failure: the error document alone on stdout
    TMPDIR=$tmp expect_exit 6 yv "$root" --json create --name pc --preset empty \
        --root-password-file "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network --no-ovmf \
        -m 64 -c 128 --install-timeout 5
    assert_json_error TIMEOUT
    check_progress_json error >/dev/null
    # a success (the one-sector guest powers off at once): the status object alone on stdout
    TMPDIR=$tmp expect_exit 0 yv "$root" --json create --name fp1 --preset fake.preset \
        --root-password-file "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network --no-ovmf \
        -m 64 -c 32 --install-timeout 120
    assert_json_docs 1
    assert_eq fp1 "$(jv 'd["name"]')" "name in the status object"
    assert_eq stopped "$(jv 'd["state"]')" "state in the status object"
    assert_eq false "$(jv '"generated_vnc_password" in d')" "no generated password when one is given"
    serial=$(check_progress_json ok)
    assert_contains "$serial" "yave-fake-guest: powering off" "the serial console in the progress"
    assert_eq "" "$(ls -A "$tmp")" "files left in TMPDIR"
    assert_eq "$root/fp1.vm/cidata.iso" "$(find "$root" -name '*.iso' -o -name '*seed*')" \
        "seed files in the root: the kept seed alone"
    assert_eq "" "$(grep -rlaF -f "$t/rootpw" "$root")" "files holding the root password"
    assert_eq 32 "$(($(img_info "$root/fp1.vm/hd0.qcow2" 'd["virtual-size"]') / MIB))" "capacity"
    # the plain form of the same success: one line a phase, then the created line
    TMPDIR=$tmp expect_exit 0 yv "$root" create --name fp2 --preset fake \
        --root-password-file "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network --no-ovmf \
        -m 64 -c 32 --install-timeout 120
    assert_match "^created VM 'fp2' \(VNC display :[0-9]+\)$" "$OUT" "stdout"
    local ph
    for ph in convert seed 'first boot' cleanup; do
        grep -Eq "^yave-tui: create: $ph [0-9]+s" <<<"$ERR" || fail "no '$ph' progress line"
    done
}

# seed_log_tool DIR LOG: DIR/genisoimage runs the real one after appending the meta-data it packs
# to LOG (the install's instance-id, gone with its seed after the first boot); with DIR/hang
# present, the second run (the seed kept after the install) writes DIR/hung and waits instead.
seed_log_tool()
{
    {
        printf '#!/bin/sh\n'
        printf 'for a; do case $a in */meta-data) cat "$a" >>%q ;; esac; done\n' "$2"
        printf 'if [ -e %q ] && [ "$(grep -c instance-id %q)" = 2 ]; then\n' "$1/hang" "$2"
        printf '    : >%q; exec sleep 600\nfi\n' "$1/hung"
        printf 'exec %q "$@"\n' "$(command -v genisoimage)"
    } >"$1/genisoimage"
    chmod 755 "$1/genisoimage"
}

# iso_file ISO NAME: a file of a NoCloud seed ISO.
iso_file()
{
    isoinfo -R -x "/$2" -i "$1" || fail "isoinfo $2 of $1"
}

# After the install the VM keeps a seed of the same instance (later boots are not a new instance
# to cloud-init: same SSH host keys, no default user) with no secret in it, as a cdrom of its
# config; QEMU gets it at the next start.
test_4b_kept_seed_same_instance_no_secret()
{
    local root t w iid md ud word drive
    new_root root
    poweroff_preset "$root" fake
    mktmp_into t
    mktmp_into w
    secrets "$t"
    ssh-keygen -q -t ed25519 -N '' -C "yave-test-kept" -f "$t/key" || fail "ssh-keygen"
    seed_log_tool "$w" "$w/meta.log"
    printf 'cli:\n  genisoimage: %s\n' "$w/genisoimage" >>"$root/config.yaml"
    expect_exit 0 yv "$root" create --name fk --preset fake --root-password-file "$t/rootpw" \
        --vnc-password-file "$t/vncpw" --ssh-key "$t/key.pub" --user alice --package vim \
        --hostname kept-host --no-network --no-ovmf -m 64 -c 32 --install-timeout 120
    assert_eq 2 "$(grep -c '^instance-id:' "$w/meta.log")" "seeds packed (install, kept)"
    iid=$(sed -n 's/^instance-id: //p' "$w/meta.log" | head -1)
    assert_match '^iid-yave-fk-[0-9a-f]{16}$' "$iid" "the install's instance-id"
    assert_eq fake "$(vm_config_value "$root" fk preset)" "the preset recorded"
    drive=$(grep -A5 '^  cidata:$' "$root/fk.vm/config.yaml")
    assert_contains "$drive" "path: cidata.iso" "the kept seed's drive in config.yaml"
    assert_contains "$drive" "type: ide" "the kept seed's drive type"
    assert_contains "$drive" "media_type: cd" "the kept seed as a cdrom"
    isoinfo -d -i "$root/fk.vm/cidata.iso" | grep -q 'Volume id: cidata' || fail "the ISO's label"
    md=$(iso_file "$root/fk.vm/cidata.iso" meta-data)
    assert_eq "$(printf 'instance-id: %s\nlocal-hostname: kept-host' "$iid")" "$md" \
        "the kept meta-data: the install's instance"
    ud=$(iso_file "$root/fk.vm/cidata.iso" user-data)
    assert_contains "$ud" "hostname: kept-host" "the host name in the kept user-data"
    for word in password hashed_passwd ssh_authorized_keys chpasswd 'users:' '$6$' ssh-ed25519 \
        alice vim runcmd power_state; do
        assert_not_contains "$ud" "$word" "the kept user-data"
    done
    assert_eq "" "$(grep -rlaF -f "$t/rootpw" "$root")" "files holding the root password"
    assert_eq "" "$(grep -rlaF "$(cut -d' ' -f2 "$t/key.pub")" "$root")" "files holding the key"
    assert_eq "" "$(find "$root/fk.vm" -name seed)" "the seed folder"
    # the next start boots with it
    expect_exit 0 yv "$root" run --name fk --dry-run
    assert_contains "$OUT" "cidata.iso" "the kept seed in QEMU's argv"
}

# A create killed while it writes the kept seed (after the first boot) leaves nothing: the seed
# lies in the .part folder, which the next command removes.
test_4c_killed_while_keeping_the_seed_leaves_nothing()
{
    local root t w tmp before pid i
    new_root root
    expect_exit 0 yv "$root" create --name other -c 16 --no-network --no-ovmf -V abcdefgh
    poweroff_preset "$root" fake
    mktmp_into t
    mktmp_into w
    mktmp_into tmp
    secrets "$t"
    seed_log_tool "$w" "$w/meta.log"
    printf 'cli:\n  genisoimage: %s\n' "$w/genisoimage" >>"$root/config.yaml"
    : >"$w/hang"
    before=$(snapshot_root "$root")
    TMPDIR=$tmp setsid "$YAVE_TEST_BIN" --batch --root "$root" create --name fk --preset fake \
        --root-password-file "$t/rootpw" --vnc-password-file "$t/vncpw" --no-network --no-ovmf \
        -m 64 -c 32 --install-timeout 120 </dev/null >"$t/out" 2>"$t/err" &
    pid=$!
    at_exit kill -KILL -- "-$pid"
    for i in $(seq 600); do
        [ -e "$w/hung" ] && break
        kill -0 "$pid" 2>/dev/null || fail "create ended before the kept seed: $(cat "$t/err")"
        sleep 0.2
    done
    [ -e "$w/hung" ] || fail "the kept seed was never packed"
    assert_file "$root/.fk.vm.part/seed/meta-data"
    assert_no_file "$root/.fk.vm.part/seed/seed.iso" # the install's seed is gone already
    kill -KILL -- "-$pid"
    wait "$pid" 2>/dev/null
    expect_exit 0 yv "$root" list # the next command removes what the killed create left
    assert_eq other "$OUT" "the VMs of the root"
    assert_nothing_left "$root" "$before" "$tmp" fk
}

# ---- the real guest (slow) ----

# phase_at PHASE: the seconds of the first progress line of PHASE in $ERR.
phase_at()
{
    sed -n "s/^yave-tui: create: $1 \([0-9]*\)s.*/\1/p" <<<"$ERR" | head -1
}

# wrap_tool DIR NAME REAL LOG: DIR/NAME runs REAL after appending its argv to LOG.
wrap_tool()
{
    printf '#!/bin/sh\nprintf "%%s\\n" "$0 $*" >>%q\nexec %q "$@"\n' "$4" "$3" >"$1/$2"
    chmod 755 "$1/$2"
}

test_5_real_guest_create_login_acpi_shutdown()
{
    local root t tmp w raw start stop_file n part_start shadow hash
    new_root root
    mktmp_into t
    mktmp_into tmp
    mktmp_into w
    secrets "$t"
    mkdir "$root/debian.preset" || fail "mkdir"
    "$FIXTURES_DIR/make-cloud-guest.sh" "$root/debian.preset/guest.qcow2" 2>"$t/guest.log" ||
        fail "make-cloud-guest.sh failed: $(tail -5 "$t/guest.log")"
    printf 'cloudimg: guest.qcow2\n' >"$root/debian.preset/config.yaml"
    # qemu-img and genisoimage log their command lines (short-lived: the sampler may miss them)
    wrap_tool "$w" qemu-img "$(command -v qemu-img)" "$w/argv.log"
    wrap_tool "$w" genisoimage "$(command -v genisoimage)" "$w/argv.log"
    printf 'cli:\n  img: %s\n  genisoimage: %s\n' "$w/qemu-img" "$w/genisoimage" >>"$root/config.yaml"

    # every command line on the machine, sampled while create runs
    stop_file="$t/sampling"
    : >"$stop_file"
    "$PY" - "$stop_file" "$t/cmdlines" <<'PY' &
import os, sys, time
stop, out = sys.argv[1], sys.argv[2]
seen, n = set(), 0
while os.path.exists(stop):
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                seen.add(open("/proc/%s/cmdline" % p, "rb").read())
            except OSError:
                pass
    n += 1
    time.sleep(0.02)
with open(out, "wb") as f:
    f.write(b"%d samples\n" % n)
    for c in seen:
        f.write(c.replace(b"\0", b" ") + b"\n")
PY
    local sampler=$!
    at_exit kill "$sampler"
    start=$SECONDS
    TMPDIR=$tmp expect_exit 0 yv "$root" create --name pc1 --preset debian --root-password-file \
        "$t/rootpw" --vnc-password-file "$t/vncpw" --hostname yavetest1 --no-network --no-ovmf \
        -m 512 -c 3072 --install-timeout 900
    local took=$((SECONDS - start))
    rm -f "$stop_file"
    wait "$sampler" || fail "the command line sampler failed"
    assert_match "^created VM 'pc1' \(VNC display :[0-9]+\)$" "$OUT" "stdout"
    local c s f e
    c=$(phase_at convert) s=$(phase_at seed) f=$(phase_at 'first boot') e=$(phase_at cleanup)
    [ -n "$c" ] && [ -n "$s" ] && [ -n "$f" ] && [ -n "$e" ] || fail "a progress phase is missing"
    info "create ${took}s: convert at ${c}s, seed at ${s}s, first boot at ${f}s, cleanup at ${e}s" \
        "(first boot $((e - f))s)"
    grep -Eq '^yave-tui: create: first boot [0-9]+s: .*[^ ]' <<<"$ERR" ||
        fail "no progress line with the serial console"
    info "last console line: $(grep '^yave-tui: create: first boot' <<<"$ERR" | tail -1)"

    # the guest powered itself off: stopped, seed gone, no password stored
    expect_exit 0 yv "$root" --json status --name pc1
    assert_eq stopped "$(jv 'd["state"]')" "state after create"
    assert_eq "" "$(ls -A "$tmp")" "files left in TMPDIR (the seed folder)"
    assert_eq "$root/pc1.vm/cidata.iso" "$(find "$root" -name '*.iso')" "ISO files: the kept seed"
    assert_eq "" "$(find "$root/pc1.vm" -iname '*seed*')" "seed files in the VM folder"
    assert_eq "" "$(find "$root/run" -mindepth 1 ! -name lock)" "runtime files"
    local cfg
    cfg=$(cat "$root/pc1.vm/config.yaml")
    assert_not_contains "$cfg" "seed" "the seed in the VM config"
    assert_not_contains "$cfg" "root" "a root password in the VM config"
    assert_not_contains "$cfg" '$6$' "a hash in the VM config"
    assert_eq "$VNC_PW" "$(vm_config_value "$root" pc1 password)" "the VNC password"
    assert_eq 3072 "$(($(img_info "$root/pc1.vm/hd0.qcow2" 'd["virtual-size"]') / MIB))" "capacity"
    assert_file "$root/pc1.vm/serial.log"
    assert_file "$root/pc1.vm/qemu.log"
    assert_eq "" "$(grep -laF -f "$t/rootpw" "$root/pc1.vm/serial.log" "$root/pc1.vm/qemu.log")" \
        "the root password in a log"
    assert_eq "" "$(grep -rlaF -f "$t/rootpw" "$root")" "files of the root holding the root password"
    n=$(head -1 "$t/cmdlines")
    info "command lines: $n, $(($(wc -l <"$t/cmdlines") - 1)) distinct"
    grep -q -- "-name pc1 " "$t/cmdlines" || fail "the sampler never saw the first boot's QEMU"
    grep -q -- "seed.iso" "$t/cmdlines" || fail "the sampler never saw the seed in QEMU's argv"
    grep -q "genisoimage .*-volid cidata" "$w/argv.log" || fail "genisoimage never ran"
    grep -q "qemu-img " "$w/argv.log" || fail "qemu-img never ran"
    assert_eq "" "$(grep -F -f "$t/rootpw" "$t/cmdlines" "$w/argv.log")" \
        "the root password on a command line"

    # what cloud-init wrote, read from the disk itself
    raw="$t/disk.raw"
    qemu-img convert -O raw "$root/pc1.vm/hd0.qcow2" "$raw" || fail "qemu-img convert to raw"
    part_start=$(sfdisk -J "$raw" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])') ||
        fail "no partition table on the disk"
    dd if="$raw" of="$t/part.img" bs=4M iflag=skip_bytes skip=$((part_start * 512)) conv=sparse \
        status=none || fail "dd"
    rm -f "$raw"
    assert_eq yavetest1 "$(debugfs -R 'cat /etc/hostname' "$t/part.img" 2>/dev/null)" "/etc/hostname"
    # the kept seed is the instance the first boot was: later boots stay that instance
    assert_eq "$(isoinfo -R -x /meta-data -i "$root/pc1.vm/cidata.iso" | sed -n 's/^instance-id: //p')" \
        "$(debugfs -R 'cat /var/lib/cloud/data/instance-id' "$t/part.img" 2>/dev/null)" \
        "the kept seed's instance-id and the guest's"
    shadow=$(debugfs -R 'cat /etc/shadow' "$t/part.img" 2>/dev/null | grep '^root:')
    hash=$(cut -d: -f2 <<<"$shadow")
    assert_match '^\$6\$[^$]+\$[./A-Za-z0-9]{86}$' "$hash" "root's hash in /etc/shadow"
    printf '%s' "$ROOT_PW" | "$PY" -W ignore -c '
import crypt, sys
sys.exit(crypt.crypt(sys.stdin.read(), sys.argv[1]) != sys.argv[1])' "$hash" ||
        fail "root's hash does not verify against the password"
    rm -f "$t/part.img"

    # run: the guest boots to the login prompt on its serial console
    start=$SECONDS
    expect_exit 0 yv "$root" run --name pc1
    # QEMU truncates serial.log on start (the first boot's log showed a login prompt too)
    grep -aq 'login:' "$root/pc1.vm/serial.log" && fail "serial.log still holds the first boot's console"
    local login=
    for _ in $(seq 600); do
        if grep -aq 'login:' "$root/pc1.vm/serial.log"; then
            login=$((SECONDS - start))
            break
        fi
        [ -e "$root/run/pc1.pid" ] || fail "QEMU ended before the login prompt: $(tail -c 600 "$root/pc1.vm/serial.log")"
        sleep 1
    done
    [ -n "$login" ] || fail "no login prompt within 600 s: $(tail -c 600 "$root/pc1.vm/serial.log")"
    info "boot to login: ${login}s ($(grep -a 'login:' "$root/pc1.vm/serial.log" | head -1 | tr -d '\r'))"
    expect_exit 0 yv "$root" --json status --name pc1
    assert_eq running "$(jv 'd["state"]')" "state while running"

    # graceful shutdown: the guest powers off on the ACPI button
    start=$SECONDS
    expect_exit 0 yv "$root" shutdown --name pc1 --timeout 300
    info "ACPI shutdown: $((SECONDS - start))s ($OUT)"
    assert_eq "VM 'pc1' stopped (by acpi)" "$OUT" "shutdown"
    expect_exit 0 yv "$root" --json status --name pc1
    assert_eq stopped "$(jv 'd["state"]')" "state after shutdown"
    assert_eq "" "$(find "$root/run" -mindepth 1 ! -name lock)" "runtime files after shutdown"
    assert_eq "" "$(procs_with "$root/")" "processes using the root"
}

run_tests "$@"
