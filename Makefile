# synwatch — one non-recursive Makefile.
#   make          install missing build packages, build build/synwatch and the tools
#   make test     install missing test packages, build with ASan+UBSan, run every test
#   make demo     test fleet + private Redis + synwatch + live view
#   make bench    the benchmark (writes bench/results.md)
#   make fuzz     run each libFuzzer harness for FUZZ_TIME seconds
# The user-facing targets call tools/deps.sh first, then re-enter make, so
# that pkg-config runs only once the libraries are there.

PKG_CONFIG ?= pkg-config
CC ?= cc
CLANG ?= clang
CFLAGS ?= -O2 -g
FUZZ_TIME ?= 60
FUZZ_SMOKE_TIME ?= 5

PKGS := libpcap libnl-3.0 libnl-route-3.0 hiredis libsodium yaml-0.1 libcurl libmicrohttpd libseccomp
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wformat=2 -Wvla -fno-common
BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE -I. $(WARN) -MMD -MP -pthread \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm -pthread
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

LIB_SRC := $(filter-out engine/main.c,$(wildcard common/*.c engine/*.c capture/*.c scheduler/*.c store/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# tools written in C: each tools/NAME.c is one program build/NAME
TOOL_SRC := $(wildcard tools/*.c)

B := build
T := build/test
F := build/fuzz

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
TLIB_OBJ := $(LIB_SRC:%.c=$(T)/%.o)
FLIB_OBJ := $(LIB_SRC:%.c=$(F)/%.o)
PROGRAMS := $(B)/synwatch $(TOOL_SRC:tools/%.c=$(B)/%)
TPROGRAMS := $(T)/synwatch $(TOOL_SRC:tools/%.c=$(T)/%)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(T)/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(F)/%)

.PHONY: all test demo bench fuzz programs check check-unit check-fuzz check-integration clean format

all:
	@tools/deps.sh build
	@$(MAKE) --no-print-directory programs

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
	@tools/bench.sh

fuzz:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do tests/fuzz/run.sh $$f $(FUZZ_TIME) || exit 1; done

programs: $(PROGRAMS)

check: check-unit check-fuzz check-integration

check-unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; exit $$fail

check-fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do tests/fuzz/run.sh $$f $(FUZZ_SMOKE_TIME) || exit 1; done

check-integration: $(TPROGRAMS) $(PROGRAMS)
	@tests/integration/run.sh $(T)

# release build
$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(HARDEN) $(BASE_CFLAGS) -c -o $@ $<

$(B)/libsynwatch.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/synwatch: $(B)/engine/main.o $(B)/libsynwatch.a
	$(CC) $(CFLAGS) -Wl,-z,relro,-z,now -o $@ $^ $(LIBS)

$(B)/%: $(B)/tools/%.o $(B)/libsynwatch.a
	$(CC) $(CFLAGS) -Wl,-z,relro,-z,now -o $@ $^ $(LIBS)

# test build: ASan + UBSan
$(T)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(BASE_CFLAGS) -c -o $@ $<

$(T)/libsynwatch.a: $(TLIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(T)/synwatch: $(T)/engine/main.o $(T)/libsynwatch.a
	$(CC) -g $(SAN) -o $@ $^ $(LIBS)

$(T)/test_%: $(T)/tests/unit/test_%.o $(T)/libsynwatch.a
	$(CC) -g $(SAN) -o $@ $^ $(LIBS) -lcmocka

# the scheduler's model, shared by its fixed-seed unit test and its fuzzer
$(T)/test_sched_model: $(T)/tests/unit/test_sched_model.o $(T)/tests/fuzz/sched_model.o $(T)/libsynwatch.a
	$(CC) -g $(SAN) -o $@ $^ $(LIBS) -lcmocka

$(T)/%: $(T)/tools/%.o $(T)/libsynwatch.a
	$(CC) -g $(SAN) -o $@ $^ $(LIBS)

# fuzz build: clang + libFuzzer
$(F)/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $(BASE_CFLAGS) -c -o $@ $<

$(F)/libsynwatch.a: $(FLIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(F)/fuzz_%: $(F)/tests/fuzz/fuzz_%.o $(F)/libsynwatch.a
	$(CLANG) -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $^ $(LIBS)

$(F)/fuzz_sched: $(F)/tests/fuzz/fuzz_sched.o $(F)/tests/fuzz/sched_model.o $(F)/libsynwatch.a
	$(CLANG) -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $^ $(LIBS)

format:
	clang-format -i $(wildcard */*.c */*.h tests/*/*.c)

clean:
	rm -rf build

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
