# synwatch — one non-recursive Makefile.
#   make          install missing build packages, build build/synwatch, the tools and
#                 the man pages (build/man/NAME.SECTION, from docs/man/*.scd)
#   make test     install missing test packages, build with ASan+UBSan, run every test
#   make demo     test fleet + private Redis + synwatch + live view
#   make bench    the benchmark (writes bench/results.md)
#   make fuzz     run each libFuzzer harness for FUZZ_TIME seconds
#   make install  the programs, units, web page, example configs, docs (PREFIX, DESTDIR)
#   make deb      the Debian package, built in a copy of the tree (tools/deb.sh)
# The user-facing targets call tools/deps.sh first, then re-enter make, so
# that pkg-config runs only once the libraries are there.
#
# TLS (engine/tls.h) has one backend file per library; TLS_BACKEND picks the
# one built, in every build kind (release, test, fuzz):
#   make TLS_BACKEND=gnutls    engine/tls-gnutls.c, GnuTLS 3.7 (the default:
#                              bench/tls-libs.md says why)
#   make TLS_BACKEND=openssl   engine/tls-openssl.c, OpenSSL 3.0 (libssl-dev)
# The other engine/tls-*.c files are left out of the engine archive, and
# pkg-config is asked for that library only. A change of backend rebuilds the
# engine archives (build/tls-backend remembers which is in them) and relinks.
# test_checker runs TLS servers with OpenSSL whatever the backend (libssl-dev).

PKG_CONFIG ?= pkg-config
CC ?= cc
CLANG ?= clang
CFLAGS ?= -O2 -g
FUZZ_TIME ?= 60
FUZZ_SMOKE_TIME ?= 5

TLS_BACKEND ?= gnutls
ifeq ($(wildcard engine/tls-$(TLS_BACKEND).c),)
$(error TLS_BACKEND '$(TLS_BACKEND)' has no engine/tls-$(TLS_BACKEND).c (expected gnutls or openssl))
endif
TLS_PKG_gnutls := gnutls
TLS_PKG_openssl := openssl

PKGS := libpcap libnl-3.0 libnl-route-3.0 hiredis libsodium yaml-0.1 libcurl libmicrohttpd libseccomp libpcre2-8 \
	$(TLS_PKG_$(TLS_BACKEND))
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wformat=2 -Wvla -fno-common
BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE -I. $(WARN) -MMD -MP -pthread \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
# (a _FORTIFY_SOURCE of the caller's CPPFLAGS, dpkg-buildflags' for the
# Debian package, wins: two different ones would be a warning, so an error)
HARDEN := $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS)),,-D_FORTIFY_SOURCE=2) -fstack-protector-strong
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm -pthread
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# One archive per layer; a layer may use only the layers listed in its
# _USES (docs/architecture.md), and every program links only the archives
# it may use, so that the linker keeps the floors: a call into a higher
# layer is an undefined reference. make check-layers also links each
# archive whole against only its lower layers.
LAYERS := common engine capture scheduler store daemon toolslib alert
common_DIR := common
engine_DIR := engine
capture_DIR := capture
scheduler_DIR := scheduler
store_DIR := store
daemon_DIR := daemon
toolslib_DIR := tools/lib
alert_DIR := tools/alert
common_USES :=
engine_USES := common
capture_USES := common
scheduler_USES := common
store_USES := scheduler common
daemon_USES := store scheduler capture engine common
toolslib_USES := store scheduler common
alert_USES := toolslib store scheduler common
# a layer's sources: its folder's .c files but the programs' mains
MAINS := daemon/main.c tools/alert/synwatch-alert.c
$(foreach l,$(LAYERS),$(eval $(l)_SRC := $(filter-out $(MAINS),$(wildcard $($(l)_DIR)/*.c))))
# the engine's TLS: the chosen backend's file only
engine_SRC := $(filter-out $(filter-out engine/tls-$(TLS_BACKEND).c,$(wildcard engine/tls-*.c)),$(engine_SRC))
LIB_SRC := $(foreach l,$(LAYERS),$($(l)_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# consumer programs: each tools/NAME.c is one program build/NAME
TOOL_SRC := $(wildcard tools/*.c)
# man pages: docs/man/NAME.SECTION.scd is build/man/NAME.SECTION (scdoc)
MAN_SRC := $(wildcard docs/man/*.scd)
VERSION := $(shell sed -n 's/^\#define SYNWATCH_VERSION "\(.*\)"/\1/p' daemon/options.h)

B := build
T := build/test
F := build/fuzz

# Where make install puts things (DESTDIR is prepended to each; the Debian
# package builds with PREFIX=/usr UNITDIR=/lib/systemd/system):
#   SBINDIR      synwatch (started by root or systemd: it needs CAP_NET_RAW)
#   BINDIR       synwatch-alert, -ctl, -exporter, -quorum, -top
#   WEBDIR       the status page (tools/web), where the exporter looks for it
#   SYSCONFDIR   synwatch/synwatch.yaml and synwatch/alert.yaml from
#                etc/*.example.yaml, only where there is no such file yet
#   DOCDIR       README.md, docs/, the example configs (examples/)
#   UNITDIR      the systemd units (etc/systemd/*.service.in, paths filled in)
#   SYSUSERSDIR  the synwatch user (etc/sysusers.d/synwatch.conf)
#   MANDIR       the man pages the build made, if any ($(B)/man/*.1, *.5, *.8)
#   BASHCOMPDIR  bash completion, if any (tools/completion/*)
# /etc whatever PREFIX is: the units and the docs name /etc/synwatch.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
WEBDIR ?= $(DATADIR)/synwatch/web
DOCDIR ?= $(DATADIR)/doc/synwatch
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DESTDIR ?=

space := $(subst ,, )
comma := ,
# $(call libs,DIR,LAYER...): the archives of the layers, in link order
libs = $(foreach l,$(2),$(1)/lib/lib$(l).a)
# what each program links
SYNWATCH_LAYERS := daemon store scheduler capture engine common
TOOL_LAYERS := toolslib store scheduler common
ALERT_LAYERS := alert toolslib store scheduler common
ALL_LAYERS := alert toolslib daemon store scheduler capture engine common

PROGRAMS := $(B)/synwatch $(B)/synwatch-alert $(TOOL_SRC:tools/%.c=$(B)/%) $(B)/fleet-responder $(B)/redis-bench \
	$(B)/checker-tls
TPROGRAMS := $(T)/synwatch $(T)/synwatch-alert $(TOOL_SRC:tools/%.c=$(T)/%) $(T)/fleet-responder
MAN_PAGES := $(MAN_SRC:docs/man/%.scd=$(B)/man/%)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(T)/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(F)/%)

.PHONY: all test demo bench fuzz programs man release install uninstall deb check check-unit check-fuzz check-integration check-layers clean format

all:
	@tools/deps.sh build
	@$(MAKE) --no-print-directory programs man

test:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory check

demo:
	@tools/deps.sh demo
	@$(MAKE) --no-print-directory programs
	@tools/demo.sh

bench:
	@tools/deps.sh bench
	@$(MAKE) --no-print-directory programs
	@bench/bench.sh

fuzz:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do tests/fuzz/run.sh $$f $(FUZZ_TIME) || exit 1; done

programs: $(PROGRAMS)

# The pages' date is their source's last commit (SOURCE_DATE_EPOCH, as
# scdoc reads it; a build that sets it keeps its own), so that a rebuild
# of the same sources gives the same bytes.
man: $(MAN_PAGES)

$(B)/man/%: docs/man/%.scd daemon/options.h
	@mkdir -p $(@D)
	@epoch=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct -- $< 2>/dev/null)}; \
	sed 's/@VERSION@/$(VERSION)/g' $< | \
	if [ -n "$$epoch" ]; then SOURCE_DATE_EPOCH=$$epoch scdoc; else scdoc; fi > $@.tmp || { rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
	@echo "scdoc $< > $@"

check: check-layers check-unit check-fuzz check-integration

check-unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; exit $$fail

check-fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do tests/fuzz/run.sh $$f $(FUZZ_SMOKE_TIME) || exit 1; done

check-integration: $(TPROGRAMS) $(PROGRAMS) $(MAN_PAGES)
	@SW_MAN=$(abspath $(B)/man) tests/integration/run.sh $(T)

# objects, per build kind
$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(HARDEN) $(BASE_CFLAGS) -c -o $@ $<

$(T)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(BASE_CFLAGS) -c -o $@ $<

$(F)/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $(BASE_CFLAGS) -c -o $@ $<

# the layer archives, in each build kind
define layer_rules
$(1)/lib/lib$(2).a: $$($(2)_SRC:%.c=$(1)/%.o)
	@mkdir -p $$(@D)
	@rm -f $$@
	ar rcs $$@ $$(filter %.o,$$^)
endef
$(foreach d,$(B) $(T) $(F),$(foreach l,$(LAYERS),$(eval $(call layer_rules,$(d),$(l)))))

# The backend the engine archives hold: rewritten (and so newer than them)
# only when TLS_BACKEND differs from the last build's.
TLS_STAMP := $(B)/tls-backend
$(shell mkdir -p $(B) && { [ "$$(cat $(TLS_STAMP) 2>/dev/null)" = "$(TLS_BACKEND)" ] || \
	echo "$(TLS_BACKEND)" > $(TLS_STAMP); })
$(foreach d,$(B) $(T) $(F),$(d)/lib/libengine.a): $(TLS_STAMP)

# The install paths compiled into the release build (the exporter's web
# page directory) and written into the units: rewritten only when they
# change, so that make install PREFIX=... rebuilds what holds them.
PATHS_STAMP := $(B)/install-paths
INSTALL_PATHS := $(SBINDIR) $(BINDIR) $(WEBDIR) $(DOCDIR) $(SYSCONFDIR)
$(shell mkdir -p $(B) && { [ "$$(cat $(PATHS_STAMP) 2>/dev/null)" = "$(INSTALL_PATHS)" ] || \
	echo "$(INSTALL_PATHS)" > $(PATHS_STAMP); })
# the exporter serves the page from WEBDIR when it finds none next to its
# binary (build/../tools/web in the tree, ../share/synwatch/web installed)
$(B)/tools/synwatch-exporter.o: BASE_CFLAGS += -DSW_WEB_DIR='"$(WEBDIR)"'
$(B)/tools/synwatch-exporter.o: $(PATHS_STAMP)

# --as-needed: each program depends on the libraries it calls, not on all
# of PKGS (the package's shlibs:Depends follows)
RLINK = $(CC) $(CFLAGS) $(LDFLAGS) -Wl,-z,relro,-z,now -Wl,--as-needed -o $@ $^ $(LIBS)
TLINK = $(CC) -g $(SAN) -o $@ $^ $(LIBS)

# release build
$(B)/synwatch: $(B)/daemon/main.o $(call libs,$(B),$(SYNWATCH_LAYERS))
	$(RLINK)
$(B)/synwatch-alert: $(B)/tools/alert/synwatch-alert.o $(call libs,$(B),$(ALERT_LAYERS))
	$(RLINK)
$(B)/fleet-responder: $(B)/tests/fleet/fleet-responder.o $(call libs,$(B),common)
	$(RLINK)
$(B)/redis-bench: $(B)/bench/redis-bench.o $(call libs,$(B),store scheduler common)
	$(RLINK)
$(B)/checker-tls: $(B)/bench/checker-tls.o $(call libs,$(B),engine common)
	$(RLINK)
$(B)/%: $(B)/tools/%.o $(call libs,$(B),$(TOOL_LAYERS))
	$(RLINK)

# test build: ASan + UBSan
$(T)/synwatch: $(T)/daemon/main.o $(call libs,$(T),$(SYNWATCH_LAYERS))
	$(TLINK)
$(T)/synwatch-alert: $(T)/tools/alert/synwatch-alert.o $(call libs,$(T),$(ALERT_LAYERS))
	$(TLINK)
$(T)/fleet-responder: $(T)/tests/fleet/fleet-responder.o $(call libs,$(T),common)
	$(TLINK)
$(T)/test_%: $(T)/tests/unit/test_%.o $(call libs,$(T),$(ALL_LAYERS))
	$(TLINK) -lcmocka
# its TLS servers are OpenSSL's, whichever backend the client is: the
# client meets another implementation, as it will in the field
$(T)/tests/unit/test_checker.o: BASE_CFLAGS += $(shell $(PKG_CONFIG) --cflags openssl)
$(T)/test_checker: $(T)/tests/unit/test_checker.o $(call libs,$(T),$(ALL_LAYERS))
	$(TLINK) -lcmocka $(shell $(PKG_CONFIG) --libs openssl)
# the scheduler's model, shared by its fixed-seed unit test and its fuzzer
$(T)/test_sched_model: $(T)/tests/unit/test_sched_model.o $(T)/tests/fuzz/sched_model.o $(call libs,$(T),$(ALL_LAYERS))
	$(TLINK) -lcmocka
$(T)/%: $(T)/tools/%.o $(call libs,$(T),$(TOOL_LAYERS))
	$(TLINK)

# fuzz build: clang + libFuzzer
FLINK = $(CLANG) -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $^ $(LIBS)
$(F)/fuzz_%: $(F)/tests/fuzz/fuzz_%.o $(call libs,$(F),$(ALL_LAYERS))
	$(FLINK)
$(F)/fuzz_sched: $(F)/tests/fuzz/fuzz_sched.o $(F)/tests/fuzz/sched_model.o $(call libs,$(F),$(ALL_LAYERS))
	$(FLINK)

# ---- install ----
# release: what make install copies, built. The units are written from
# etc/systemd/*.service.in with the paths above.
SBIN_PROGRAMS := $(B)/synwatch
BIN_PROGRAMS := $(B)/synwatch-alert $(TOOL_SRC:tools/%.c=$(B)/%)
UNITS := $(patsubst etc/systemd/%.in,$(B)/systemd/%,$(wildcard etc/systemd/*.service.in))
WEB_FILES := $(wildcard tools/web/*)

release: $(SBIN_PROGRAMS) $(BIN_PROGRAMS) $(UNITS) $(MAN_PAGES)

$(B)/systemd/%: etc/systemd/%.in $(PATHS_STAMP)
	@mkdir -p $(@D)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@WEBDIR@|$(WEBDIR)|g' \
		-e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@.tmp
	@! grep -n '@[A-Z]*@' $@.tmp || { echo "$<: a placeholder the Makefile does not fill"; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

# Man pages and completion are taken as the shell finds them when the
# recipe runs (a build rule that makes $(B)/man/ belongs before release).
# A config already in SYSCONFDIR is kept; a new one is mode 0640, group
# synwatch if that group exists (DESTDIR empty), else root's (the Debian
# package sets the group in its postinst).
install: release
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(WEBDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)/docs/img $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSCONFDIR)/synwatch
	install -m 0755 $(SBIN_PROGRAMS) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BIN_PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(WEB_FILES) $(DESTDIR)$(WEBDIR)/
	install -m 0644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	install -m 0644 etc/sysusers.d/synwatch.conf $(DESTDIR)$(SYSUSERSDIR)/synwatch.conf
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	install -m 0644 docs/img/* $(DESTDIR)$(DOCDIR)/docs/img/
	install -m 0644 etc/synwatch.example.yaml etc/alert.example.yaml etc/prometheus/synwatch-rules.yml \
		etc/grafana/synwatch-dashboard.json $(DESTDIR)$(DOCDIR)/examples/
	@for c in synwatch alert; do \
		f=$(DESTDIR)$(SYSCONFDIR)/synwatch/$$c.yaml; \
		if [ -e "$$f" ]; then echo "install: $$f exists: kept (the example is in $(DOCDIR)/examples)"; continue; fi; \
		echo "install -m 0640 etc/$$c.example.yaml $$f"; install -m 0640 etc/$$c.example.yaml "$$f" || exit 1; \
		if [ -z "$(DESTDIR)" ] && getent group synwatch > /dev/null; then chgrp synwatch "$$f" || exit 1; \
		elif [ -z "$(DESTDIR)" ]; then echo "install: $$f: chgrp synwatch it once the user exists (systemd-sysusers)"; fi; \
	done
	@for m in $(B)/man/*.[158]; do \
		[ -f "$$m" ] || continue; \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		echo "install -m 0644 $$m $$d/"; install -d "$$d" && install -m 0644 "$$m" "$$d/" || exit 1; \
	done
	@for c in tools/completion/*; do \
		[ -f "$$c" ] || continue; \
		echo "install -m 0644 $$c $(DESTDIR)$(BASHCOMPDIR)/"; \
		install -d $(DESTDIR)$(BASHCOMPDIR) && install -m 0644 "$$c" $(DESTDIR)$(BASHCOMPDIR)/ || exit 1; \
	done
	@# bash-completion loads a file by the command's name: one file completes all six
	@if [ -f tools/completion/synwatch ]; then for p in $(notdir $(BIN_PROGRAMS)); do \
		ln -sf synwatch $(DESTDIR)$(BASHCOMPDIR)/$$p || exit 1; done; fi
	@if [ -z "$(DESTDIR)" ]; then echo "install: done; the synwatch user: systemd-sysusers; the units:" \
		"systemctl daemon-reload (none is enabled: docs/operations.md#installing)"; fi

# Removes what install put there, but the configs in SYSCONFDIR and the user.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/synwatch $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BIN_PROGRAMS))) \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS))) $(DESTDIR)$(SYSUSERSDIR)/synwatch.conf
	rm -rf $(DESTDIR)$(WEBDIR) $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(DATADIR)/synwatch
	@for m in $(B)/man/*.[158]; do [ -f "$$m" ] || continue; \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	@for c in tools/completion/*; do [ -f "$$c" ] || continue; rm -f $(DESTDIR)$(BASHCOMPDIR)/$${c##*/}; done
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(notdir $(BIN_PROGRAMS)))

# The Debian package, built by dpkg-buildpackage in a copy of the tree
# under $(B)/deb/, where the .deb lands (tools/deb.sh says how)
deb:
	@tools/deps.sh package
	@tools/deb.sh $(B)/deb

# Each layer archive linked whole, with only the layers it may use: an
# undefined reference names a call to a layer above (or beside) it. And
# the key layout's one owner: no Redis key name outside store/schema.c.
check-layers: $(foreach l,$(LAYERS),$(B)/lib/lib$(l).a) $(B)/tests/layer_main.o
	@tests/check-keys.sh
	@tests/check-layers.sh $(foreach l,$(LAYERS),$(l):$($(l)_DIR):$(subst $(space),$(comma),$($(l)_USES))) \
		tools:tools:$(subst $(space),$(comma),$(TOOL_LAYERS))
	@$(foreach l,$(LAYERS),$(CC) -o $(B)/layer-check $(B)/tests/layer_main.o -Wl,--whole-archive \
		$(B)/lib/lib$(l).a -Wl,--no-whole-archive $(call libs,$(B),$($(l)_USES)) $(LIBS) 2> $(B)/layer-check.log || \
		{ grep -m 3 "undefined reference" $(B)/layer-check.log; echo "check-layers: '$($(l)_DIR)' calls into a \
		layer it may not use (it may use: $(or $($(l)_USES),no other layer))"; exit 1; };)
	@rm -f $(B)/layer-check $(B)/layer-check.log
	@echo "check-layers: every layer links with only the layers it may use"

format:
	clang-format -i $(wildcard */*.c */*.h */*/*.c */*/*.h)

clean:
	rm -rf build

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
