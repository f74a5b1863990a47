#!/usr/bin/env bash
# The full-screen TUI, driven as a person would: the real yave-tui in tmux on a private server
# (send-keys), asserting what the screen shows (capture-pane). Real QEMU (TCG, 64 MiB, an empty disk:
# the guest sits in SeaBIOS and ignores ACPI), real batch processes acting behind the TUI's back.
. "$(dirname "$0")/tui-lib.sh"

PW='Qx7#Kp2!' # typed into the form: no frame may ever show it

# ---- the tests ----

# a. Several VMs, one running (started before the TUI): states, PID, VNC reachability; columns
# that do not fit are hidden.
test_list_states()
{
    local root pid d1 d2 d3
    tui_root root alpha bravo charlie
    start_vm "$root" bravo pid
    d1=$(display_of "$root" alpha) d2=$(display_of "$root" bravo) d3=$(display_of "$root" charlie)
    TUI_W=120 tui_start "$root"
    wait_screen "^ YAVE  $root  3 VMs, 1 running"
    assert_match '^NAME +STATE +VCPU +MEM +DISK +VNC +NETWORK +ADDRESS +PID +UPTIME +CPU%' "$(line_with '^NAME')" "header at 120 columns"
    # ADDRESS: no network and no guest agent in bravo, so none
    wait_row bravo "^bravo +running +1 +64M +64M +:$d2 ok +- +- +$pid +0m[0-9]{2}s +[0-9]+\.[0-9] *$"
    note "bravo shows ':$d2 ok' after ${WAITED} ms"
    wait_row alpha "^alpha +stopped +1 +64M +64M +:$d1 +- +- +- +- +- *$"
    wait_row charlie "^charlie +stopped +1 +64M +64M +:$d3 +- +- +- +- +- *$"
    # rows are sorted by name, below the header
    assert_eq "alpha bravo charlie" "$(awk 'f && NF { printf "%s ", $1 } /^NAME/ { f = 1 }' <<<"$SCREEN" | awk '{ print $1, $2, $3 }')" "row order"

    # 80 columns: DISK, ADDRESS and UPTIME do not fit and are hidden; the rest still lines up
    tm resize-window -t "$S" -x 80 -y 24
    wait_screen '^NAME +STATE +VCPU +MEM +VNC +NETWORK +PID +CPU% *$'
    wait_row bravo "^bravo +running +1 +64M +:$d2 ok +- +$pid +[0-9]+\.[0-9] *$"
    wait_row alpha "^alpha +stopped +1 +64M +:$d1 +- +- +- *$"
    tui_quit
}

# b. Another process starts and stops a VM: the row follows each way, no key pressed.
test_follows_batch()
{
    local root pid
    tui_root root b1 b2
    tui_start "$root"
    wait_row b1 '^b1 +stopped '
    start_vm "$root" b1 pid
    wait_row b1 "^b1 +running .* $pid "
    note "running shown ${WAITED} ms after batch run returned"
    wait_screen ' 2 VMs, 1 running'
    expect_exit 0 yv "$root" shutdown --name b1 --force
    wait_row b1 '^b1 +stopped +1 +64M +:[0-9]+ +- +- +- *$'
    note "stopped shown ${WAITED} ms after batch shutdown returned"
    wait_row b2 '^b2 +stopped '
    # a VM created and deleted behind its back appears and disappears
    expect_exit 0 yv "$root" create --no-network --no-ovmf -c 64 -m 64 --name b3
    wait_row b3 '^b3 +stopped '
    expect_exit 0 yv "$root" delete --name b3
    wait_screen ' 2 VMs, 0 running'
    [ -z "$(row b3)" ] || fail "b3 still listed after its deletion"
    tui_quit
}

# c. QEMU killed with SIGKILL: the row says crashed.
test_crash_shown()
{
    local root pid
    tui_root root c1
    start_vm "$root" c1 pid
    tui_start "$root"
    wait_row c1 "^c1 +running .* $pid "
    kill -9 "$pid"
    wait_row c1 '^c1 +crashed +1 +64M +:[0-9]+ +- +- +- *$'
    note "crashed shown after ${WAITED} ms"
    tui_quit
}

# d. The create form, typed key by key: a validation error next to the field keeps the form and
# its values; then the VM is created with what was typed. The password never shows.
FRAMES=
# fkeys KEY...: send keys, then record what the screen shows (twice: at once and after a moment).
fkeys()
{
    keys "$@"
    cap >>"$FRAMES"
    sleep 0.04
    cap >>"$FRAMES"
}

# ftype TEXT: type TEXT one character at a time, recording a frame after each.
ftype()
{
    local i
    for ((i = 0; i < ${#1}; i++)); do
        text "${1:i:1}"
        cap >>"$FRAMES"
        sleep 0.03
        cap >>"$FRAMES"
    done
}

test_create_form()
{
    local root d vm=formvm i sub
    tui_root root
    mktmp_into d
    FRAMES=$d/frames
    : >"$FRAMES"
    tui_start "$root"
    wait_screen 'no VMs yet'
    fkeys c
    wait_screen 'Create a VM'
    wait_screen 'Name +letters, digits'
    ftype 'bad name'
    wait_screen 'Name +bad name'
    fkeys Tab Tab Tab # Base image, Linked overlay, Disk MiB
    ftype 96
    fkeys Tab C-u # Memory MiB, cleared
    ftype 80
    fkeys Tab Tab # vCPUs, VNC password
    ftype "$PW"
    fkeys Tab Tab Left # Bridge, Network: user → none (the pick list wraps)
    wait_screen 'Network +< none >'
    fkeys Tab Tab Space # Forwards, UEFI: off
    wait_screen 'UEFI \(OVMF\) +\[ \]'
    SCREEN=$(cap)
    assert_match 'Network +< none >' "$(line_with 'Network ')" "Network none"
    assert_match 'VNC password +\(set\)' "$(line_with 'VNC password')" "the password field shows only (set)"
    fkeys F10
    # invalid name: the message is on the Name line, the form stays, every typed value too
    wait_screen 'Name +bad name +invalid VM name'
    assert_match 'Disk MiB +96( |│)' "$(line_with 'Disk MiB')" "disk kept"
    assert_match 'Memory MiB +80( |│)' "$(line_with 'Memory MiB')" "memory kept"
    assert_match 'VNC password +\(set\)' "$(line_with 'VNC password')" "password kept"
    assert_match 'Network +< none >' "$(line_with 'Network ')" "network choice kept"
    assert_contains "$SCREEN" "Create a VM" "the form is still open"
    assert_no_file "$root/bad name.vm"
    # fix the name: Tab wraps from the last field to Name
    fkeys Tab C-u
    wait_screen 'Name +invalid VM name'
    ftype "$vm"
    wait_screen "Name +$vm"
    fkeys F10
    wait_gone 'Create a VM'
    wait_row "$vm" "^$vm +stopped +1 +80M +:[0-9]+ +- +- +- *$"
    wait_screen "$vm created"
    cap >>"$FRAMES"
    tui_quit
    cap >>"$FRAMES"

    # on disk: what was typed
    assert_file "$root/$vm.vm/config.yaml"
    assert_eq 80 "$(vm_config_value "$root" "$vm" memory)" "memory in config.yaml"
    assert_eq 1 "$(vm_config_value "$root" "$vm" vcpu)" "vcpu in config.yaml"
    assert_eq false "$(vm_config_value "$root" "$vm" ovmf)" "UEFI off"
    assert_eq "$PW" "$(vm_config_value "$root" "$vm" password)" "VNC password in config.yaml"
    assert_eq $((96 * MIB)) "$(img_info "$root/$vm.vm/hd0.qcow2" 'd["virtual-size"]')" "disk capacity"
    grep -q 'nets\|tap' "$root/$vm.vm/config.yaml" && fail "network was switched off, config has one"

    # no frame ever showed the password, nor three characters of it in a row
    local nframes
    nframes=$(grep -c '^ YAVE ' "$FRAMES")
    [ "$nframes" -ge 40 ] || fail "only $nframes frames recorded"
    for ((i = 0; i + 3 <= ${#PW}; i++)); do
        sub=${PW:i:3}
        grep -qF -- "$sub" "$FRAMES" && fail "a frame shows '$sub' of the password"
    done
    grep -qF -- "$PW" "$root/run/tui.log" && fail "the password is in run/tui.log"
    note "$nframes frames, none with the password"
}

# d1. The form's defaults on a machine with no bridge (spec §10): a user network with an SSH
# forward; `r` starts it without root or bridge and the forward answers. A bad forward is refused
# next to its field.
test_create_form_defaults_start_without_bridge()
{
    local root base port
    tui_root root
    base=$((20000 + RANDOM % 30000))
    printf 'network:\n  ssh_port_base: %s\n' "$base" >>"$root/config.yaml"
    tui_start "$root"
    wait_screen 'no VMs yet'
    keys c
    wait_screen 'Name +letters, digits'
    assert_match 'Network +< user >' "$(line_with 'Network ')" "the default network"
    text dflt
    keys Tab Tab Tab Tab Tab Tab Tab Tab Tab # … Bridge, Network, Forwards
    text 80:80:80
    keys F10
    wait_screen 'Forwards +80:80:80 +not \[udp:\]\[ADDR:\]HOST:GUEST'
    keys C-u
    keys F10
    wait_screen 'Its VNC password \(shown only now\)'
    keys x
    wait_gone 'shown only now'
    port=$(awk '$1 == "host:" { print $2 }' "$root/dflt.vm/config.yaml")
    [ "$port" -ge "$base" ] || fail "SSH port $port below network.ssh_port_base $base"
    wait_row dflt "^dflt +stopped .* $port→22 "
    keys r
    wait_row dflt '^dflt +running '
    "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()' \
        "$port" || fail "the SSH forward $port does not answer"
    tui_quit
}

# d2. A create the child refuses (a VM of that name exists): the form comes back over the list with
# what was typed and the error by the Name field. Then a create with no VNC password: a notice shows
# the generated password once, any key dismisses it, and the new row is there.
test_create_refused_then_password_notice()
{
    local root
    tui_root root taken
    tui_start "$root"
    wait_row taken '^taken +stopped '
    keys c
    wait_screen 'Name +letters, digits'
    text taken
    keys Tab Tab Tab Tab C-u # Base image, Linked overlay, Disk MiB, Memory MiB: cleared
    text 72
    keys Tab Tab Tab Tab Left # vCPUs, VNC password, Bridge, Network: user → none
    wait_screen 'Network +< none >'
    keys F10
    wait_screen "Name +taken +a VM named 'taken' already"
    assert_match 'Memory MiB +72( |│)' "$(line_with 'Memory MiB')" "memory kept"
    assert_match 'Network +< none >' "$(line_with 'Network ')" "network choice kept"
    assert_contains "$SCREEN" "Create a VM" "the form is open again"
    keys Tab Tab Tab C-u # from Network (the focus is kept): Forwards, UEFI, Name (wraps): cleared
    wait_screen 'Name +a VM named'
    text fresh
    wait_screen 'Name +fresh'
    keys F10
    wait_screen 'Its VNC password \(shown only now\): [^ ]+'
    assert_contains "$SCREEN" "VM fresh was created." "the notice names the VM"
    keys x
    wait_gone 'shown only now'
    wait_row fresh '^fresh +stopped +1 +72M '
    wait_screen 'fresh created'
    tui_quit
}

# e. r runs the selected VM; s shuts it down gracefully: a countdown from shutdown.timeout (8 s
# here: room to watch it go down, however late the first look), escalation (the guest has no OS),
# stopped by quit.
test_run_and_shutdown_keys()
{
    local root first last n
    tui_root root e1
    sed -i 's/^  timeout: 3$/  timeout: 8/' "$root/config.yaml"
    tui_start "$root"
    wait_row e1 '^e1 +stopped '
    keys r
    wait_row e1 '^e1 +(starting|running) '
    wait_row e1 '^e1 +running .* [0-9]+ +[0-9.-]+ *$'
    wait_screen 'e1 started'
    assert_match "^[0-9]+$" "$(cat "$root/run/e1.pid")" "pidfile"
    keys s
    wait_row e1 '^e1 +stopping [0-9]s '
    first=$(sed -E 's/^e1 +stopping ([0-9])s.*/\1/' <<<"$ROW")
    [ "$first" -ge 1 ] && [ "$first" -le 8 ] || fail "countdown shows ${first}s (timeout 8 s): $ROW"
    wait_screen 'asked e1 to shut down'
    # the countdown goes down while the guest ignores the request, until it escalates
    last=$first
    local end=$(($(now_ms) + HANG * 1000))
    while [ "$(now_ms)" -lt "$end" ]; do
        SCREEN=$(cap)
        ROW=$(row e1)
        [[ "$ROW" =~ ^e1\ +stopping\ ([0-9])s ]] || break
        n=${BASH_REMATCH[1]}
        [ "$n" -le "$last" ] || fail "countdown went up: $last then $n"
        last=$n
        [ "$last" -lt "$first" ] && break
        sleep 0.05
    done
    [ "$last" -lt "$first" ] || fail "the countdown stayed at ${first}s until: $ROW"
    note "countdown ${first}s → ${last}s"
    wait_row e1 '^e1 +stopped +1 +64M +:[0-9]+ +- +- +- *$'
    wait_screen 'e1 stopped \(by quit\)'
    [ -e "$root/run/e1.pid" ] && fail "pidfile left after the shutdown"
    tui_quit
}

# f. D asks first: only y confirms, any other key cancels (spec §15) — a stray x, n, Esc.
test_delete_confirm()
{
    local root
    tui_root root f1 f2
    tui_start "$root"
    wait_row f1 '^f1 +stopped '
    keys D
    wait_screen 'Delete f1 and its disks for good\?'
    wait_screen 'y: yes +any other key: no'
    keys x
    wait_gone 'for good\?'
    wait_screen 'Delete f1: cancelled'
    assert_file "$root/f1.vm/config.yaml" "a stray key must keep the VM"
    keys D
    wait_screen 'Delete f1 and its disks for good\?'
    keys n
    wait_gone 'for good\?'
    assert_file "$root/f1.vm/config.yaml" "n must keep the VM"
    wait_row f1 '^f1 +stopped '
    keys D
    wait_screen 'Delete f1 and its disks for good\?'
    keys Escape
    wait_gone 'for good\?'
    assert_file "$root/f1.vm/config.yaml" "Esc must keep the VM"
    keys D
    wait_screen 'Delete f1 and its disks for good\?'
    keys y
    wait_screen 'f1 deleted'
    wait_gone '^f1 '
    assert_no_file "$root/f1.vm" "the VM's folder"
    wait_row f2 '^f2 +stopped '
    assert_file "$root/f2.vm/config.yaml" "the other VM"
    tui_quit
}

# autostart (spec §13): a marks the selected VM in autostart.yaml, A asks and unmarks it.
test_autostart_keys()
{
    local root
    tui_root root f1 f2
    tui_start "$root"
    wait_row f1 '^f1 +stopped '
    keys a
    wait_screen 'f1 starts at boot'
    assert_eq "f1" "$("$YAVE_TEST_BIN" --batch --root "$root" autostart list)" "marked by a"
    keys A
    wait_screen 'Stop starting f1 at boot\?'
    keys n
    wait_gone 'at boot\?'
    assert_eq "f1" "$("$YAVE_TEST_BIN" --batch --root "$root" autostart list)" "n keeps the mark"
    keys A
    wait_screen 'Stop starting f1 at boot\?'
    keys y
    wait_screen 'f1 no longer starts at boot'
    assert_eq "" "$("$YAVE_TEST_BIN" --batch --root "$root" autostart list)" "unmarked by A, y"
    tui_quit
}

# g. ? shows every key of the table (read from tui/actions.c) with its label and help.
# key_table: the rows of tui/actions.c, one a line: shown<TAB>label<TAB>help<TAB>in_bar.
key_table()
{
    "$PY" - "$REPO_DIR/tui/actions.c" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
s = r'"((?:[^"\\]|\\.)*)"'
def text(row, name):  # a field's string, adjacent literals joined
    m = re.search(r"\." + name + r"\s*=\s*((?:" + s + r"\s*)+)", row)
    return "".join(re.findall(s, m.group(1))) if m else None
for row in re.split(r"\{\s*\.act\s*=\s*ACT_", src)[1:]:
    f = [text(row, k) for k in ("shown", "label", "help")]
    if None not in f and re.search(r"\.(ch|code)\s*=", row):
        bar = "true" if re.search(r"\.in_bar\s*=\s*true", row) else "false"
        print("\t".join(f + [bar]))
EOF
}

test_help_lists_every_key()
{
    local root entries shown label help bar n want=""
    tui_root root g1
    # every key on one screen: more keys than 24 rows hold (the help scrolls at 24)
    TUI_H=40 tui_start "$root"
    entries=$(key_table)
    n=$(grep -c . <<<"$entries")
    [ "$n" -ge 10 ] && [ "$n" -eq "$(grep -c "{\.act = ACT_" "$REPO_DIR/tui/actions.c")" ] ||
        fail "parsed $n keys from tui/actions.c"
    keys '?'
    wait_screen 'Help'
    wait_screen '^Keys:'
    while IFS=$'\t' read -r shown label help bar; do
        help=${help:0:40}
        grep -qF -- "  $(printf '%-7s %-8s %s' "$shown" "$label" "$help")" <<<"$SCREEN" ||
            { dump_screen; fail "help has no line for key '$shown' ($label: $help)"; }
        [ "$bar" = true ] && want+="${want:+  }$shown $label"
    done <<<"$entries"
    note "$n keys on the help screen"
    keys Escape
    wait_screen '^NAME +STATE'
    # the key bar shows every key of the table marked for it, even at 80 columns
    assert_eq "$want" "$(tail -1 <<<"$SCREEN" | sed 's/ *$//')" "key bar at 80 columns"
    note "key bar: $want"
    tui_quit
}

# h. A QEMU whose QMP and VNC never answer (SIGSTOP): keys still answer, half of them within 100 ms
# (the median: a loop that waited on the hung QMP, 1 s deadline, would show most keys late; single
# echoes on a loaded machine may be late by scheduling, so none has a deadline but a hang's); the row
# ends up unresponsive (and VNC silent); after SIGCONT it is running again.
test_hung_qemu_never_freezes()
{
    local root pid d end
    tui_root root h1 h2
    start_vm "$root" h1 pid
    d=$(display_of "$root" h1)
    tui_start "$root"
    wait_row h1 "^h1 +running .*:$d ok .* $pid "
    kill -STOP "$pid"
    at_exit kill -CONT "$pid"
    # for 5 s (QMP conversations start and time out, a VNC probe waits on a silent server), type
    # into the filter one key after the other, each waited for before the next
    end=$(($(now_ms) + 5000))
    while [ "$(now_ms)" -lt "$end" ]; do
        filter_echoes 40 "$end"
    done
    assert_echo_median 100 "while QEMU is stopped"
    wait_row h1 '^h1 +unresponsive '
    wait_row h1 "^h1 +unresponsive +1 +64M +:$d silent "
    wait_row h2 '^h2 +stopped '
    # a second TUI started now finds QEMU's QMP listen queue full (the first one's attempts fill
    # it): its connect never completes, and the VM must not pass for running
    S=h_second
    tui_start "$root"
    wait_row h1 '^h1 +unresponsive '
    tui_quit
    S=t
    kill -CONT "$pid"
    wait_row h1 "^h1 +running .* $pid "
    tui_quit
}

# qmp_clients PATH: how many clients QEMU has accepted on the UNIX socket at PATH.
qmp_clients()
{
    awk -v p="$1" '$6 == "03" && $8 == p { n++ } END { print n + 0 }' /proc/net/unix
}

# j. The TUI keeps QEMU's second QMP socket (run/<vm>.events) open and learns from its events: with
# a refresh every hour (its one query is at its start), a pause and a resume made by another client
# show within the wait's bound ($HANG s), which only an event can explain. A second TUI finds that
# socket taken and still follows the VM (it asks on run/<vm>.sock, one exchange at a time), and
# batch `status` is never kept waiting by either.
test_events_from_the_held_socket()
{
    local root pid end
    tui_root root e1
    start_vm "$root" e1 pid
    tui_start "$root" --refresh 3600
    wait_row e1 "^e1 +running .* $pid "
    end=$(($(now_ms) + HANG * 1000))
    until [ "$(qmp_clients "$root/run/e1.events")" = 1 ]; do
        [ "$(now_ms)" -lt "$end" ] || fail "the TUI does not hold run/e1.events"
        sleep 0.05
    done
    assert_eq 0 "$(qmp_clients "$root/run/e1.sock")" "clients left on run/e1.sock"
    S=e_second
    tui_start "$root"
    wait_row e1 "^e1 +running .* $pid "

    qmp "$root" e1 stop >/dev/null
    S=t
    wait_row e1 '^e1 +paused '
    note "pause shown by the TUI refreshing every hour after $WAITED ms"
    S=e_second
    wait_row e1 '^e1 +paused '
    expect_exit 0 yv "$root" --json status --name e1
    assert_eq paused "$(jv 'd["state"]')" "batch status with two TUIs watching"
    assert_not_contains "$(jv 'd["detail"]')" "busy" "batch status detail"

    qmp "$root" e1 cont >/dev/null
    S=t
    wait_row e1 '^e1 +running '
    S=e_second
    wait_row e1 '^e1 +running '
    tui_quit
    S=t
    tui_quit
    # the event socket is free again once its TUI is gone
    end=$(($(now_ms) + HANG * 1000))
    until [ "$(qmp_clients "$root/run/e1.events")" = 0 ]; do
        [ "$(now_ms)" -lt "$end" ] || fail "run/e1.events still has a client after the TUI quit"
        sleep 0.05
    done
}

# i. 200 resizes between 10x3 and 200x60: the TUI lives, then draws right at 80x24, and says it is
# too small at 10x3. No resize may be missed: with nothing else to wake it (no key, no VM running),
# each one must be drawn however busy the TUI was when the signal came.
test_resize_storm()
{
    local root pid i w h
    tui_root root i1 i2
    tui_start "$root"
    wait_row i1 '^i1 +stopped '
    pid=$(tui_pid)
    for ((i = 0; i < 200; i++)); do
        w=$((10 + RANDOM % 191)) h=$((3 + RANDOM % 58))
        ((i % 2)) && w=10 h=3
        tm resize-window -t "$S" -x "$w" -y "$h"
    done
    kill -0 "$pid" 2>/dev/null && ! pid_exited "$pid" || fail "yave-tui died in the resize storm"
    tm resize-window -t "$S" -x 80 -y 24
    wait_screen "^ YAVE  $root  2 VMs"
    wait_screen '^NAME +STATE +VCPU +MEM +VNC +NETWORK +PID +CPU%'
    wait_screen '^r Run  s Stop '
    wait_row i2 '^i2 +stopped '
    assert_eq 24 "$(grep -c '' <<<"$SCREEN")" "lines"
    tm resize-window -t "$S" -x 10 -y 3
    wait_screen '^terminal'
    tm resize-window -t "$S" -x 60 -y 8
    wait_screen 'terminal too small \(60x8'
    tm resize-window -t "$S" -x 80 -y 24
    wait_screen '^NAME +STATE'
    tui_quit
}

# j. q, SIGTERM and SIGHUP: the TUI exits, the terminal leaves the alternate screen, VMs live on.
test_exit_restores_terminal()
{
    local root qpid tpid how sig
    tui_root root j1
    start_vm "$root" j1 qpid
    for how in q TERM HUP; do
        S=j$how
        tui_start "$root"
        wait_row j1 "^j1 +running .* $qpid "
        assert_eq 1 "$(tm display -p -t "$S" '#{alternate_on}')" "alternate screen while running"
        tpid=$(tui_pid)
        case $how in
        q) keys q ;;
        *) kill "-$how" "$tpid" ;;
        esac
        wait_screen '^EXIT='
        sig=$(grep -m1 '^EXIT=' <<<"$SCREEN")
        case "$how:$sig" in
        q:EXIT=0 | TERM:EXIT=0 | TERM:EXIT=143 | HUP:EXIT=0 | HUP:EXIT=129) ;;
        *) dump_screen; fail "after $how: $sig" ;;
        esac
        assert_eq 0 "$(tm display -p -t "$S" '#{alternate_on}')" "alternate screen after $how"
        assert_not_contains "$SCREEN" "YAVE" "the list is gone from the normal screen after $how"
        is_qemu "$qpid" && ! pid_exited "$qpid" || fail "the VM's QEMU died with the TUI ($how)"
    done
    expect_exit 0 yv "$root" --json status --name j1
    assert_eq running "$(jv 'd["state"]')" "j1 after the TUIs"
}

# k. Themes, NO_COLOR and terminals: each draws the list and quits with 0.
# sgr_colors: the colour parameters (30-37, 38, 40-47, 48, 90-107) used in the pane's SGR sequences.
sgr_colors()
{
    tm capture-pane -p -e -t "$S" | grep -oE $'\e\\[[0-9;]*m' | tr -d '\033[m' | tr ';' '\n' |
        grep -E '^(3[0-8]|4[0-8]|9[0-7]|10[0-7])$' | sort -u | tr '\n' ' '
}

test_themes_and_terminals()
{
    local root v col
    tui_root root k1
    for v in default theme:mono theme:high-contrast nocolor term:xterm-256color term:screen \
        term:linux term:vt100 theme:nosuch; do
        S=k${v//[:-]/}
        local args=() TUI_ENV='' TUI_TERM=''
        case $v in
        theme:*) args=(--theme "${v#theme:}") ;;
        nocolor) TUI_ENV=NO_COLOR=1 ;;
        term:*) TUI_TERM=${v#term:} ;;
        esac
        tui_start "$root" "${args[@]}"
        wait_screen '^NAME +STATE +VCPU'
        wait_row k1 '^k1 +stopped '
        wait_screen '^r Run  s Stop'
        col=$(sgr_colors)
        case $v in
        default) assert_contains "$col" "46" "default theme: the title is on cyan" ;;
        theme:high-contrast) assert_contains "$col" "43" "high-contrast: the title is on yellow" ;;
        theme:mono | nocolor | term:vt100)
            assert_eq "" "$col" "$v: no colour at all" ;;
        theme:nosuch)
            wait_screen "theme 'nosuch' not found \(using mono\)"
            assert_eq "" "$col" "a missing theme falls back to mono"
            ;;
        esac
        tui_quit
    done
}

# The preset form's Sudo user and Packages fields (spec §13): a bad name is refused next to its
# field with the form kept; good ones reach the create (a genisoimage wrapper keeps the user-data it
# packs; the one-sector guest of poweroff_preset ends its first boot at once). 24 lines show it all.
test_preset_form_user_packages()
{
    local root d r
    tui_root root
    mktmp_into d
    poweroff_preset "$root" fake
    # (the install's seed, seed/seed.iso: not the one the VM keeps after, without the user)
    printf '#!/bin/sh\ncase "$*" in *"/seed.iso "*)\n  for a; do case $a in */user-data) cp "$a" %q;; esac; done;;\nesac\nexec %q "$@"\n' \
        "$d/user-data" "$(command -v genisoimage)" >"$d/genisoimage"
    chmod 755 "$d/genisoimage"
    printf 'cli:\n  genisoimage: %s\n' "$d/genisoimage" >>"$root/config.yaml"
    tui_start "$root"
    wait_screen 'no VMs yet'
    keys p
    wait_screen 'Create a VM from a preset'
    text pu
    keys Tab Tab Tab # Preset, Hostname, Root password
    text 'root-pw-1'
    keys Tab # VNC password (given: no dialog with a generated one at the end)
    text 'vnc-pw-1'
    keys Tab # Disk MiB
    text 64
    keys Tab C-u # Memory MiB
    text 64
    keys Tab Tab Tab Left # vCPUs, Bridge, Network: user → none
    keys Tab Tab Space    # Forwards, UEFI: off
    wait_screen 'UEFI \(OVMF\) +\[ \]'
    keys Tab Tab Tab Tab # Linked, Install timeout s, SSH key file, Sudo user
    text Root
    keys Tab # Packages
    text 'vim, Bad'
    wait_screen 'Packages +vim, Bad'
    keys F10
    wait_screen 'Sudo user +Root +a-z 0-9 _ -, 32 at most'
    wait_screen "Packages +vim, Bad +not a package: 'Bad'"
    assert_contains "$SCREEN" "Create a VM from a preset" "the form is still open"
    keys BTab C-u # Sudo user
    text alice
    keys Tab C-u # Packages
    text 'vim, g++  yes'
    wait_screen 'Packages +vim, g\+\+  yes'
    keys F10
    wait_gone 'Create a VM from a preset'
    wait_row pu '^pu +stopped '
    wait_screen 'pu created'
    tui_quit
    r=$("$PY" -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1]))
print(d["users"][0]["name"], d["users"][0]["sudo"], d["packages"])' "$d/user-data") ||
        fail "no user-data with the user"
    assert_eq "alice ALL=(ALL) NOPASSWD:ALL ['vim', 'g++', 'yes']" "$r" "user-data from the form"
}

run_tests "$@"
