#!/usr/bin/env bash
# Concurrent creates (and deletes) never share a VNC display, a MAC or a name, and leave a
# well-formed vnc_table.yaml.
. "$(dirname "$0")/lib.sh"

N=20
PIDS=()

# start_together T CMD...: runs CMD in the background once the file T/go exists; its exit status
# goes to T/rc.PID, its stdout/stderr to T/out.PID / T/err.PID. The PID is appended to PIDS.
start_together()
{
    local t=$1
    shift
    (
        me=$BASHPID # here: in a redirection of an external command it would be the child's
        while [ ! -e "$t/go" ]; do sleep 0.005; done
        "$@" >"$t/out.$me" 2>"$t/err.$me"
        echo $? >"$t/rc.$me"
    ) </dev/null >/dev/null 2>&1 &
    PIDS+=($!)
}

# wait_all T PIDS...: waits for every job and fails unless each exited 0 with an empty stderr.
wait_all()
{
    local t=$1 p rc bad=0
    shift
    for p in "$@"; do
        wait "$p"
        rc=$(cat "$t/rc.$p" 2>/dev/null || echo missing)
        if [ "$rc" != 0 ] || [ -s "$t/err.$p" ]; then
            echo "      job $p: exit $rc: $(head -c 500 "$t/err.$p")" >&2
            bad=$((bad + 1))
        fi
    done
    [ "$bad" -eq 0 ] || fail "$bad of $# concurrent jobs failed"
}

test_concurrent_creates_get_distinct_displays()
{
    local root t i status
    new_root root
    mktmp_into t
    for i in $(seq $N); do
        start_together "$t" "$YAVE_TEST_BIN" --batch --root "$root" create --name "vm$i" --capacity 16
    done
    sleep 0.2
    touch "$t/go"
    wait_all "$t" "${PIDS[@]}"

    # the binary itself reads back the table and the configs
    expect_exit 0 yv "$root" --json status
    assert_json_docs 1
    assert_stderr_empty
    status=$OUT
    assert_eq $N "$(jv 'len(d)' "$status")" "VMs in status --json"
    assert_eq "[]" "$(jv 'str([v["name"] for v in d if v["state"] != "stopped"])' "$status")" "VMs not stopped"
    assert_eq $N "$(jv 'len({v["vnc"]["display"] for v in d})' "$status")" "distinct displays"
    assert_eq "$(seq -s, $N)" \
        "$(jv '",".join(str(n) for n in sorted(int(v["vnc"]["display"][1:]) for v in d))' "$status")" \
        "the displays are :1 to :$N"
    assert_eq $N "$(jv 'len({v["networks"][0]["mac"] for v in d})' "$status")" "distinct MACs"

    # vnc_table.yaml: one line per VM, and it agrees with each VM's config
    local table lines
    table=$(cat "$root/vnc_table.yaml")
    assert_eq table: "$(head -1 <<<"$table")" "first line of vnc_table.yaml"
    lines=$(grep -Ec "^  ':[0-9]+': '?vm[0-9]+'?\$" <<<"$table")
    assert_eq $N "$lines" "entries in vnc_table.yaml"
    assert_eq $((N + 1)) "$(wc -l <<<"$table")" "lines of vnc_table.yaml"
    for i in $(seq $N); do
        local d
        d=$(vm_config_value "$root" "vm$i" display)
        grep -Eq "^  '$d': '?vm$i'?\$" <<<"$table" || fail "vm$i has display $d in its config but not in vnc_table.yaml"
    done
    if "$PY" -c 'import yaml' 2>/dev/null; then
        "$PY" - "$root/vnc_table.yaml" "$N" <<'EOF' || fail "vnc_table.yaml is not the expected YAML"
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
n = int(sys.argv[2])
assert list(t) == ["table"], t
assert sorted(t["table"]) == sorted(":%d" % i for i in range(1, n + 1)), t
assert sorted(t["table"].values()) == sorted("vm%d" % i for i in range(1, n + 1)), t
EOF
    fi
    # nothing half-made is left
    assert_eq "" "$(find "$root" -name '.*' ! -name . | grep -v '^$')" "hidden leftovers"
    assert_eq "" "$(find "$root" -name '*.tmp*')" "temporary files"
}

test_concurrent_creates_of_one_name_only_one_wins()
{
    local root t i ok=0 exists=0 p rc
    new_root root
    mktmp_into t
    for i in $(seq 8); do
        start_together "$t" "$YAVE_TEST_BIN" --batch --root "$root" create --name same --capacity 16
    done
    sleep 0.2
    touch "$t/go"
    for p in "${PIDS[@]}"; do
        wait "$p"
        rc=$(cat "$t/rc.$p")
        case $rc in
        0) ok=$((ok + 1)) ;;
        4)
            exists=$((exists + 1))
            assert_eq "yave-tui: create: a VM named 'same' already exists" "$(cat "$t/err.$p")"
            ;;
        *) fail "unexpected exit $rc: $(cat "$t/err.$p")" ;;
        esac
    done
    assert_eq "1 7" "$ok $exists" "winners and VM_EXISTS"
    assert_eq "$(printf '%s\n' table: "  ':1': same")" "$(cat "$root/vnc_table.yaml")" "one display for one VM"
    expect_exit 0 yv "$root" list
    assert_eq same "$OUT"
    assert_eq "" "$(find "$root" -name '.*' ! -name .)" "hidden leftovers"
}

test_concurrent_creates_and_deletes_keep_the_table_consistent()
{
    local root t i
    new_root root
    mktmp_into t
    for i in $(seq 10); do
        expect_exit 0 yv "$root" create --name "old$i" --capacity 16
    done
    for i in $(seq 10); do
        start_together "$t" "$YAVE_TEST_BIN" --batch --root "$root" delete --name "old$i"
        start_together "$t" "$YAVE_TEST_BIN" --batch --root "$root" create --name "new$i" --capacity 16
    done
    sleep 0.2
    touch "$t/go"
    wait_all "$t" "${PIDS[@]}"
    expect_exit 0 yv "$root" --json status
    assert_eq "$(printf 'new%s\n' 1 10 2 3 4 5 6 7 8 9)" "$(jv '"\n".join(v["name"] for v in d)')" "VMs left"
    assert_eq 10 "$(jv 'len({v["vnc"]["display"] for v in d})')" "distinct displays"
    # the table holds exactly the new VMs, with their configs' displays
    assert_eq 10 "$(grep -Ec "^  ':[0-9]+': '?new[0-9]+'?\$" "$root/vnc_table.yaml")" "entries of new VMs"
    assert_eq 11 "$(wc -l <"$root/vnc_table.yaml")" "lines of vnc_table.yaml"
    for i in $(seq 10); do
        grep -Eq "^  '$(vm_config_value "$root" "new$i" display)': '?new$i'?\$" "$root/vnc_table.yaml" ||
            fail "new$i: config and vnc_table.yaml disagree"
    done
    assert_eq "" "$(find "$root" -name '.*' ! -name .)" "hidden leftovers"
}

run_tests "$@"
