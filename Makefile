# netlens build. `make` builds build/netlens; `make run` and `make test` are
# the README's two commands (both install missing Debian packages first).

BUILD      := build
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL    ?= bpftool
CC         ?= gcc
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION    := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# The layout is the architecture (docs/architecture.md): src/<part>/, one
# folder per capability with its kernel program (*.bpf.c) beside its module.
BPF_SRCS   := $(wildcard src/*/*.bpf.c)
BPF_OBJS   := $(addprefix $(BUILD)/,$(notdir $(BPF_SRCS:.bpf.c=.bpf.o)))
SKELS      := $(BPF_OBJS:.bpf.o=.skel.h)
BPF_HDRS   := $(wildcard src/*/*.bpf.h src/*/*_abi.h)
SRCS       := $(wildcard src/*.c $(filter-out %.bpf.c,$(wildcard src/*/*.c)))
HDRS       := $(wildcard src/*/*.h)
OBJS       := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS   := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
vpath %.bpf.c $(sort $(dir $(BPF_SRCS)))

CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Wextra -Werror -std=gnu11 -Isrc -I$(BUILD) \
              $(shell pkg-config --cflags json-c) -DNETLENS_VERSION='"$(VERSION)"'
LDLIBS     += $(shell pkg-config --libs libbpf libxdp json-c libmicrohttpd libcap-ng ncursesw) -lelf -lz -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Isrc -I$(BUILD)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# Programs the integration tests run (root: BPF_PROG_TEST_RUN).
TEST_TOOLS := $(BUILD)/tests/flows_testrun
# libFuzzer targets (clang, ASan + UBSan), linked with every user-space file but main.c.
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -Isrc -I$(BUILD) $(shell pkg-config --cflags json-c)

.PHONY: all deps run test unit integration fuzz bench install clean
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS)

all: $(BUILD)/netlens

deps:
	@scripts/deps.sh build

$(BUILD) $(BUILD)/tests:
	@mkdir -p $@

# CO-RE: the types come from the running kernel's BTF when no vmlinux.h is given.
$(BUILD)/vmlinux.h: | $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: %.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/obj/%.o: src/%.c $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/netlens: $(OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/unit $< $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/tests/flows_testrun: tests/integration/flows_testrun.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(filter-out src/main.c,$(SRCS)) $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) $< $(filter-out src/main.c,$(SRCS)) -o $@ $(LDLIBS)

# Load generators: plain C, no netlens code.
BENCH_GENS := $(BUILD)/bench/connstorm $(BUILD)/bench/latency_rr $(BUILD)/bench/udpflood \
              $(BUILD)/bench/uprobe_loop

$(BENCH_GENS): $(BUILD)/bench/%: bench/%.c bench/loadgen.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -pthread $< -o $@

# Empty programs on serve's hooks and their loader: the floor of any program there.
HOOK_FLOOR := $(BUILD)/bench/hook_floor $(BUILD)/bench/hook_floor.bpf.o

$(BUILD)/bench/hook_floor.bpf.o: bench/hook_floor.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/hook_floor: bench/hook_floor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror $< -o $@ $(shell pkg-config --libs libbpf)

$(BUILD)/bench/format_bench: bench/format_bench.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

run:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	$(BUILD)/netlens top

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(TEST_TOOLS) $(FUZZ_BINS)
	@tests/run.sh

unit: all $(UNIT_BINS)
	@tests/run.sh unit

integration: all $(TEST_TOOLS)
	@tests/run.sh integration

# A longer fuzzing run: make fuzz FUZZ_SECONDS=600
fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all $(BENCH_GENS) $(HOOK_FLOOR) $(BUILD)/bench/format_bench \
		$(TEST_TOOLS)
	@bench/run.sh

# The agent as a system service (deploy/systemd, docs/deploy.md). An existing
# /etc/default/netlens holds the admin's options: left alone.
install: all
	install -D -m 0755 $(BUILD)/netlens $(DESTDIR)/usr/local/sbin/netlens
	install -D -m 0644 deploy/systemd/netlens.service $(DESTDIR)/etc/systemd/system/netlens.service
	[ -e $(DESTDIR)/etc/default/netlens ] || \
		install -D -m 0644 deploy/systemd/netlens.default $(DESTDIR)/etc/default/netlens

clean:
	rm -rf $(BUILD)
