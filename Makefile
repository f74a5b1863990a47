# YAVE — build, test, run. `make check` and `make run` install what they need on Debian 12.
CC      ?= gcc
PKGS    := yaml-0.1 jansson nettle libnl-route-3.0 libnftables ncursesw libxcrypt
# libchafa and libvncclient are only for the screen view (spec §12): their headers are compiled in,
# the libraries are loaded with dlopen when a view first opens (widgets/picture.c, core/vncview.c),
# so a batch command never maps them (libvncclient pulls gnutls and gcrypt, libchafa GLib).
DL_PKGS := chafa libvncclient
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(DL_PKGS) 2>/dev/null)
# libnftables and libnl are not linked: core/firewall.c and core/nl.c load them with dlopen on first
# use (issue 16; libnl's constructors and relocations alone cost every batch command ~0.2 ms).
LINK_PKGS  := $(filter-out libnftables libnl-route-3.0,$(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null)
# yave-tui links the libraries Debian ships as static archives (all of LINK_PKGS) statically and only
# libc dynamically: every batch command is a fresh process, and mapping and relocating eight shared
# libraries cost more than a `shutdown --force` spends on its own work (issue 16 measured 1.6 ms vs
# 0.7 ms for --version). The price: a security update of one of them needs a rebuild of yave-tui.
# libpthread, libdl and libm stay dynamic (they are libc's).
LIBC_LIBS  := -lpthread -ldl -lm
STATIC_LIBS := -Wl,-Bstatic $(filter-out $(LIBC_LIBS),$(shell pkg-config --static --libs $(LINK_PKGS) 2>/dev/null)) \
	-Wl,-Bdynamic $(filter $(LIBC_LIBS),$(shell pkg-config --static --libs $(LINK_PKGS) 2>/dev/null))
CPPFLAGS += -D_GNU_SOURCE -I.
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation $(PKG_CFLAGS)
LDFLAGS += -Wl,--as-needed
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CPPFLAGS += -DYV_VERSION='"$(VERSION)"'

CORE_SRC := $(wildcard core/*.c)
TUI_SRC  := $(wildcard tui/*.c) $(wildcard widgets/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

OBJ      := $(patsubst %.c,build/rel/%.o,$(CORE_SRC) $(TUI_SRC))
ASAN_CORE:= $(patsubst %.c,build/asan/%.o,$(CORE_SRC))
ASAN_OBJ := $(ASAN_CORE) $(patsubst %.c,build/asan/%.o,$(TUI_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))

# Debian packages: to build, and to run the tests (real qemu-img, real QEMU, tmux).
DEB_BUILD := gcc make pkg-config libyaml-dev libjansson-dev nettle-dev libncurses-dev libnl-route-3-dev libnftables-dev libcrypt-dev libmicrohttpd-dev libpam0g-dev \
	libchafa-dev libglib2.0-dev libvncserver-dev
DEB_TEST  := groff-base man-db bsdextrautils valgrind cppcheck clang-tidy clang-format shellcheck curl nftables libcmocka-dev libvncserver-dev qemu-utils qemu-system-x86 ovmf genisoimage tmux hyperfine python3 iproute2
DEB_RUN   := qemu-utils qemu-system-x86 libchafa0 libvncclient1 libnl-route-3-200 libnftables1
# What `make unit` needs beyond the build: cmocka, qemu-img (disks), and QEMU for the tests that
# talk to a real one (they skip without it).
DEB_UNIT  := libcmocka-dev qemu-utils qemu-system-x86
# test-guest.sh: ssh into the real guest, dnsmasq for its TAP neighbour case, PyYAML for user-data
DEB_TEST  += openssh-client dnsmasq-base python3-yaml
# the tests of many hosts (tests/integration/ssh-lib.sh): real sshd's in network namespaces
DEB_TEST  += openssh-server

.PHONY: all check run bench clean format deps-build deps-test deps-run deps-unit unit integration asan debug-disks install uninstall valgrind lint
# Package checks run first, then a fresh make (pkg-config flags are read after the install).
all: deps-build
	@$(MAKE) --no-print-directory yave-tui yave-web yave-tui.1 build/yave-tui.bash

# The man page and the completion come from the same tables as --help.
yave-tui.1: yave-tui
	@./yave-tui --man > $@.tmp && mv $@.tmp $@
build/yave-tui.bash: yave-tui
	@mkdir -p build && ./yave-tui --bash-completion > $@.tmp && mv $@.tmp $@

PREFIX  ?= /usr/local
DESTDIR ?=
THEMES  := $(wildcard themes/*.theme)
INSTALLED := $(PREFIX)/bin/yave-tui $(PREFIX)/bin/yave-web \
	$(PREFIX)/libexec/yave/netdevup $(PREFIX)/libexec/yave/netdevdown \
	$(PREFIX)/share/yave/pam.d/yave $(PREFIX)/share/yave/yave-web.service \
	$(PREFIX)/share/yave/yave-autostart.service \
	$(patsubst themes/%,$(PREFIX)/share/yave/themes/%,$(THEMES)) \
	$(PREFIX)/share/man/man1/yave-tui.1 $(PREFIX)/share/bash-completion/completions/yave-tui

install: all
	install -D -m 0755 yave-tui $(DESTDIR)$(PREFIX)/bin/yave-tui
	install -D -m 0755 yave-web $(DESTDIR)$(PREFIX)/bin/yave-web
	install -D -m 0644 web/pam.d/yave $(DESTDIR)$(PREFIX)/share/yave/pam.d/yave
	@# the units name the binaries where this install puts them (the sources say /usr/local)
	install -d $(DESTDIR)$(PREFIX)/share/yave
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' web/yave-web.service > $(DESTDIR)$(PREFIX)/share/yave/yave-web.service
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' web/yave-autostart.service > $(DESTDIR)$(PREFIX)/share/yave/yave-autostart.service
	chmod 0644 $(DESTDIR)$(PREFIX)/share/yave/yave-web.service $(DESTDIR)$(PREFIX)/share/yave/yave-autostart.service
	install -D -m 0755 netdevup $(DESTDIR)$(PREFIX)/libexec/yave/netdevup
	install -D -m 0755 netdevdown $(DESTDIR)$(PREFIX)/libexec/yave/netdevdown
	install -d $(DESTDIR)$(PREFIX)/share/yave/themes
	install -m 0644 $(THEMES) $(DESTDIR)$(PREFIX)/share/yave/themes/
	install -D -m 0644 yave-tui.1 $(DESTDIR)$(PREFIX)/share/man/man1/yave-tui.1
	install -D -m 0644 build/yave-tui.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/yave-tui

# Removes exactly what install put there, and the folders that are ours alone.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(PREFIX)/share/yave/themes $(DESTDIR)$(PREFIX)/share/yave/pam.d $(DESTDIR)$(PREFIX)/share/yave $(DESTDIR)$(PREFIX)/libexec/yave 2>/dev/null
	@# a staging DESTDIR is left as empty as install found it
	@if [ -n "$(DESTDIR)" ]; then for f in $(INSTALLED); do d=$$(dirname "$(DESTDIR)$$f"); \
	  while [ "$$d" != "$(DESTDIR)" ] && [ "$${d#$(DESTDIR)}" != "$$d" ]; do \
	    if [ -d "$$d" ]; then rmdir "$$d" 2>/dev/null || break; fi; d=$$(dirname "$$d"); done; done; fi

# Installs missing packages (needs root on a fresh machine); silent when all are there.
define ensure_pkgs
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "make: missing packages: $$missing (run as root, or install them)" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps-build: ; $(call ensure_pkgs,$(DEB_BUILD))
deps-test: deps-build ; $(call ensure_pkgs,$(DEB_TEST))
deps-run: deps-build ; $(call ensure_pkgs,$(DEB_RUN))
deps-unit: deps-build ; $(call ensure_pkgs,$(DEB_UNIT))

WEB_SRC  := $(wildcard web/*.c)
WEB_OBJ  := $(patsubst %.c,build/rel/%.o,$(WEB_SRC))
WEB_PKGS := libmicrohttpd pam
WEB_CFLAGS := $(shell pkg-config --cflags $(WEB_PKGS) 2>/dev/null)
WEB_LIBS   := $(shell pkg-config --libs $(WEB_PKGS) 2>/dev/null || echo -lmicrohttpd -lpam) -lpthread

# yave-web links the core (no curses).
yave-web: $(WEB_OBJ) $(patsubst %.c,build/rel/%.o,$(CORE_SRC))
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(WEB_LIBS)

build/rel/web/%.o: web/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(WEB_CFLAGS) -MMD -MP -c -o $@ $<

-include $(WEB_OBJ:.o=.d)

yave-tui: $(OBJ)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(STATIC_LIBS)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(SAN) -MMD -MP -c -o $@ $<

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(UNIT_BIN:=.d) $(patsubst %.c,build/asan/%.d,$(WEB_SRC))

build/asan/web/%.o: web/%.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(WEB_CFLAGS) -O1 $(SAN) -MMD -MP -c -o $@ $<

build/asan/yave-web: $(patsubst %.c,build/asan/%.o,$(WEB_SRC)) $(ASAN_CORE)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS) $(WEB_LIBS)

build/asan/yave-tui: $(ASAN_OBJ)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(STATIC_LIBS)

build/asan/tests/%: tests/unit/%.c $(ASAN_CORE) tests/unit/unit.h
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(SAN) -MMD -MP -o $@ $< $(ASAN_CORE) $(PKG_LIBS) $$(pkg-config --cflags --libs cmocka)

# Small programs the integration tests use (e.g. a real VNC client that tries a password).
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,build/tools/%,$(TOOL_SRC))
build/tools/vncauth: tests/tools/vncauth.c
	@mkdir -p $(dir $@)
	@echo "  TOOL    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $$(pkg-config --cflags --libs libvncclient)
# What a frame of the screen view costs (widgets/picture.c compiled in, libchafa loaded with dlopen).
build/tools/picbench: tests/tools/picbench.c widgets/picture.c widgets/picture.h
	@mkdir -p $(dir $@)
	@echo "  TOOL    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $$(pkg-config --libs ncursesw) -ldl -lpthread
# The floors of a forced stop and of a start for make bench: bare QMP clients, libc only.
build/tools/qmpquit build/tools/qmprun: build/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	@echo "  TOOL    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $<

# The same unit tests without sanitizers, for valgrind (which cannot run ASan binaries).
VG_CORE := $(patsubst %.c,build/rel/%.o,$(CORE_SRC))
VG_BIN  := $(patsubst tests/unit/%.c,build/vg/tests/%,$(UNIT_SRC))
build/vg/tests/%: tests/unit/%.c $(VG_CORE) tests/unit/unit.h
	@mkdir -p $(dir $@)
	@echo "  TEST vg $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(VG_CORE) $(PKG_LIBS) $$(pkg-config --cflags --libs cmocka)
-include $(VG_BIN:=.d)

# Static checks: cppcheck (bugs, not style: --enable=warning,performance,portability) and clang-tidy
# with the checks of .clang-tidy (each exclusion is justified there). Any finding fails.
LINT_SRC := $(CORE_SRC) $(wildcard widgets/*.c) $(wildcard tui/*.c)
LINT_FLAGS := $(CPPFLAGS) -std=gnu11 $(PKG_CFLAGS)
lint: deps-test
	@echo "== include cycles and layers"
	@tests/include-cycles
	@echo "== clang-format"
	@clang-format --dry-run -Werror $(FORMAT_SRC)
	@echo "== shellcheck"
	@shellcheck -x -S warning -P tests/integration $(SHELL_SRC)
	@echo "== cppcheck"
	@cppcheck -q --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --std=c11 -D_GNU_SOURCE -I. --suppress=missingIncludeSystem core widgets tui web
	@echo "== clang-tidy"
	@( clang-tidy --quiet $(LINT_SRC) -- $(LINT_FLAGS); \
	   clang-tidy --quiet $(WEB_SRC) -- $(LINT_FLAGS) $(WEB_CFLAGS) ) 2>/dev/null \
	  | grep -E "warning:|error:" && exit 1 || echo "clang-tidy: no findings"

# valgrind over every unit test and one integration scenario: zero findings, or it fails.
valgrind: deps-test
	@$(MAKE) --no-print-directory yave-tui $(VG_BIN)
	@set -e; for t in $(VG_BIN); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
	    --errors-for-leak-kinds=definite,indirect --suppressions=tests/valgrind/libnftables.supp \
	    $$t >/dev/null; done
	@tests/valgrind/scenario $(CURDIR)/yave-tui

asan: build/asan/yave-tui build/asan/yave-web $(UNIT_BIN) $(TOOL_BIN)

unit: deps-unit $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: deps-test yave-tui yave-web build/asan/yave-tui build/asan/yave-web $(TOOL_BIN) \
	$(if $(wildcard tests/fault/faultshim.c),build/fault/faultshim.so)
	@YAVE_TEST_BIN=$(CURDIR)/build/asan/yave-tui YAVE_TEST_WEB=$(CURDIR)/build/asan/yave-web \
	  tests/integration/run-all

# Everything CI runs: unit and integration tests (ASan+UBSan), valgrind, the static checks and a short
# pass of every fuzz target.
check: deps-test
	@$(MAKE) --no-print-directory yave-tui yave-web yave-tui.1 build/yave-tui.bash asan
	@$(MAKE) --no-print-directory unit integration
	@$(MAKE) --no-print-directory valgrind
	@$(MAKE) --no-print-directory lint
	@if [ -x tests/fuzz/run-fuzz ]; then $(MAKE) --no-print-directory fuzz-smoke; fi
	@echo "make check: all tests passed"

# The example VMs' disks are not in git: made here when missing.
debug-disks: deps-run
	@for d in debug/*.vm; do [ -e $$d/hd0.qcow2 ] || qemu-img create -q -f qcow2 $$d/hd0.qcow2 2G; done

# The full-screen manager on the example root (its example VM runs without root: no TAP network).
# A checkout under umask 002 leaves debug/ group-writable, which yave refuses (spec §16): it is ours.
run: deps-run
	@$(MAKE) --no-print-directory yave-tui debug-disks
	@chmod go-w debug debug/config.yaml
	./yave-tui --root debug

# Each figure of issues 16 and 19 next to its baseline measured in the same run (printed, never
# asserted; not part of check). BENCH_ROUNDS=N rounds (default 15), BENCH_DAYTWO=0 skips the day-two
# verbs (snapshot, clone, set), BENCH_PRESET=0 skips the slow preset part.
bench: deps-test
	@$(MAKE) --no-print-directory yave-tui build/tools/qmpquit build/tools/qmprun build/tools/picbench
	@tests/bench/run

SHELL_SRC  := .ci/run netdevup netdevdown tests/bench/run tests/include-cycles tests/fixtures/make-cloud-guest.sh \
	tests/fresh/run tests/fuzz/run-fuzz tests/integration/run-all tests/valgrind/scenario $(wildcard tests/integration/*.sh)
FORMAT_SRC := $(wildcard $(addsuffix /*.[ch],core widgets tui web tests/unit tests/fuzz tests/tools \
	tests/fault))
format:
	clang-format -i $(FORMAT_SRC)

clean:
	rm -rf build yave-tui yave-web yave-tui.1

# ---- fuzzing (tests/fuzz): libFuzzer targets, one per parser, built with clang into build/fuzz ----
# `make fuzz` runs each for FUZZ_SECONDS, `make fuzz-smoke` for FUZZ_SMOKE_SECONDS (after replaying
# tests/fuzz/regressions); both exit non-zero on any crash, leak, timeout or broken oracle.
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_CC     := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined $(PKG_CFLAGS)
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN    := $(addprefix build/fuzz/fuzz_,$(FUZZ_NAMES))
FUZZ_CORE   := $(patsubst %.c,build/fuzz/%.o,$(CORE_SRC))
FUZZ_TUI    := $(patsubst %.c,build/fuzz/%.o,$(filter-out tui/main.c,$(TUI_SRC))) # the batch table
.PHONY: fuzz fuzz-smoke fuzz-build deps-fuzz
.SECONDARY: $(FUZZ_CORE) # kept between builds (only pattern rules name them)
deps-fuzz: deps-build ; $(call ensure_pkgs,clang libclang-rt-14-dev)
fuzz-build: $(FUZZ_BIN)
build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
build/fuzz/fuzz_cmdline: FUZZ_EXTRA = $(FUZZ_TUI)
build/fuzz/fuzz_cmdline: $(FUZZ_TUI)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CORE)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -MMD -MP -o $@ $< \
	  $(FUZZ_CORE) $(FUZZ_EXTRA) $(PKG_LIBS)
-include $(FUZZ_CORE:.o=.d) $(FUZZ_TUI:.o=.d) $(FUZZ_BIN:=.d)
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run-fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)
fuzz-smoke: deps-fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run-fuzz $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)

# ---- fault injection (tests/fault): the LD_PRELOAD shim of tests/integration/test-fault.sh ----
# Plain gcc, none of the project's flags or sanitizers: it is loaded into the release yave-tui.
build/fault/faultshim.so: tests/fault/faultshim.c
	@mkdir -p $(dir $@)
	@echo "  SHIM    $@"
	@gcc -O2 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl
