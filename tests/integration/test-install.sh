#!/usr/bin/env bash
# make install / uninstall, the installed binary, the man page and bash completion (issue 8).
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)

# install_into VAR: `make install DESTDIR=<tmp> PREFIX=/usr` of the release build into a fresh folder.
install_into()
{
    local __d
    mktmp_into __d
    make -s -C "$SRC" install DESTDIR="$__d" PREFIX=/usr >/dev/null 2>&1 || fail "make install failed"
    printf -v "$1" '%s' "$__d"
}

test_install_puts_exactly_the_expected_files()
{
    local d want got
    install_into d
    # shellcheck disable=SC2046 # one word per theme file (their names have no spaces)
    want=$(printf '%s\n' usr/bin/yave-tui usr/bin/yave-web usr/libexec/yave/netdevdown \
        usr/libexec/yave/netdevup usr/share/yave/pam.d/yave usr/share/yave/yave-web.service \
        usr/share/yave/yave-autostart.service \
        usr/share/bash-completion/completions/yave-tui usr/share/man/man1/yave-tui.1 \
        $(cd "$SRC" && ls themes/*.theme | sed 's|^|usr/share/yave/|') | sort)
    got=$(cd "$d" && find . -type f | sed 's|^\./||' | sort)
    assert_eq "$want" "$got" "installed files"
    [ -x "$d/usr/bin/yave-tui" ] && [ -x "$d/usr/libexec/yave/netdevup" ] || fail "not executable"
    # the boot unit of spec §13: a oneshot that starts the marked VMs after the network
    local unit
    unit=$(cat "$d/usr/share/yave/yave-autostart.service")
    assert_contains "$unit" "Type=oneshot" "autostart unit is a oneshot"
    assert_contains "$unit" "After=network-online.target" "autostart unit runs after the network"
    # both units start the binaries this install put under its PREFIX (/usr here), not /usr/local's
    assert_contains "$unit" "ExecStart=/usr/bin/yave-tui --batch --root /var/lib/yave autostart run" \
        "autostart unit runs the installed yave-tui's autostart run"
    assert_contains "$(cat "$d/usr/share/yave/yave-web.service")" "ExecStart=/usr/bin/yave-web " \
        "web unit runs the installed yave-web"
}

test_installed_binary_finds_its_prefix()
{
    local d root
    install_into d
    new_root root
    expect_exit 0 "$d/usr/bin/yave-tui" --version
    assert_match '^yave-tui [0-9]+\.[0-9]+\.[0-9]+$' "$OUT" "--version"
    expect_exit 0 "$d/usr/bin/yave-tui" --root "$root" --paths
    assert_contains "$OUT" "themes: $d/usr/share/yave/themes" "themes found under the prefix"
    assert_contains "$OUT" "netdevup: $d/usr/libexec/yave/netdevup" "netdevup under the prefix"
    expect_exit 0 "$d/usr/bin/yave-tui" --batch --root "$root" create -n i1 -c 16 -V abcdefgh \
        --network tap
    expect_exit 0 "$d/usr/bin/yave-tui" --batch --root "$root" run -n i1 --dry-run
    assert_contains "$OUT" "script=$d/usr/libexec/yave/netdevup," "the argv names the installed netdevup"
    assert_contains "$OUT" "downscript=$d/usr/libexec/yave/netdevdown" "and netdevdown"
    # the installed themes load: the TUI with each of them paints and quits (in tmux)
    local t sock="yvinst-$$"
    at_exit tmux -L "$sock" kill-server
    # a session that outlives the others keeps the server up between them
    tmux -L "$sock" -f /dev/null new-session -d -s keep "sleep 120"
    for t in default mono high-contrast; do
        LANG=C.UTF-8 tmux -L "$sock" -u -f /dev/null new-session -d -s "s$t" -x 80 -y 24 \
            "env TERM=tmux-256color LANG=C.UTF-8 $d/usr/bin/yave-tui --root $root --theme $t"
        local i screen=
        for i in $(seq 50); do
            screen=$(tmux -L "$sock" capture-pane -p -t "s$t" 2>/dev/null)
            [[ $screen == *"Quit"* ]] && break
            sleep 0.1
        done
        assert_contains "$screen" "i1" "theme $t: the list is drawn"
        assert_not_contains "$screen" "not found" "theme $t: found"
        tmux -L "$sock" send-keys -t "s$t" q
    done
}

test_uninstall_leaves_the_folder_empty()
{
    local d
    install_into d
    make -s -C "$SRC" uninstall DESTDIR="$d" PREFIX=/usr >/dev/null 2>&1 || fail "make uninstall failed"
    assert_eq "" "$(cd "$d" && find . -mindepth 1)" "left after uninstall"
}

test_man_page_renders_and_lists_every_command()
{
    local warnings cmd rendered
    warnings=$(groff -ww -z -man "$SRC/yave-tui.1" 2>&1)
    assert_eq "" "$warnings" "groff -ww -z warnings"
    rendered=$(MANWIDTH=100 man -l "$SRC/yave-tui.1" 2>/dev/null | col -b)
    expect_exit 0 "$YAVE_TEST_BIN" --help
    for cmd in $(printf '%s\n' "$OUT" | sed -n '/^commands/,/^$/p' | awk '/^  [a-z]/ {print $1}'); do
        assert_contains "$rendered" "yave-tui --batch $cmd" "man page documents $cmd"
    done
    for cmd in create list status run shutdown netdev delete; do
        assert_contains "$OUT" "  $cmd " "--help lists $cmd"
    done
    local opt
    for opt in --capacity --root-password-file --install-timeout --dry-run --timeout --ifname; do
        assert_contains "$rendered" "$opt" "man page documents $opt"
    done
    for opt in YAVE_ROOT NO_COLOR "EXIT STATUS" EXAMPLES KEYS FILES; do
        assert_contains "$rendered" "$opt" "man page has $opt"
    done
}

test_bash_completion_completes_a_vm_name()
{
    local root sock="yvcomp-$$" screen i
    new_root root
    expect_exit 0 yv "$root" create -n webserver1 -c 16 -V abcdefgh
    expect_exit 0 yv "$root" create -n dbserver -c 16 -V abcdefgh
    at_exit tmux -L "$sock" kill-server
    tmux -L "$sock" -f /dev/null new-session -d -s c -x 200 -y 10 \
        "env -i HOME=/tmp TERM=xterm PATH=$(dirname "$YAVE_TEST_BIN"):/usr/bin:/bin PS1='$ ' bash --norc -i"
    tmux -L "$sock" send-keys -t c "source $SRC/build/yave-tui.bash" Enter
    tmux -L "$sock" send-keys -t c "yave-tui --batch --root $root status --name web" Tab
    for i in $(seq 50); do
        screen=$(tmux -L "$sock" capture-pane -p -t c)
        [[ $screen == *"--name webserver1"* ]] && break
        sleep 0.1
    done
    assert_contains "$screen" "status --name webserver1" "Tab completed the VM name"
    tmux -L "$sock" send-keys -t c C-u "yave-tui --batch --root $root shut" Tab
    for i in $(seq 30); do
        screen=$(tmux -L "$sock" capture-pane -p -t c)
        [[ $screen == *" shutdown"* ]] && break
        sleep 0.1
    done
    assert_contains "$screen" "$root shutdown" "Tab completed the command"
}

run_tests "$@"
