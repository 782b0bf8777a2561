# netlens build. `make` builds build/netlens; `make run` and `make test` are
# the README's two commands (both install missing Debian packages first).

BUILD      := build
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL    ?= bpftool
CC         ?= gcc
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION    := $(shell git describe --always --dirty 2>/dev/null || echo dev)

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
SRCS       := $(wildcard src/*.c)
OBJS       := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS   := $(filter-out $(BUILD)/obj/main.o,$(OBJS))

CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Wextra -Werror -std=gnu11 -Iinclude -Isrc -I$(BUILD) \
              $(shell pkg-config --cflags json-c) -DNETLENS_VERSION='"$(VERSION)"'
LDLIBS     += $(shell pkg-config --libs libbpf json-c libmicrohttpd libcap-ng) -lelf -lz -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Iinclude -Ibpf -I$(BUILD)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# Programs the integration tests run (root: BPF_PROG_TEST_RUN).
TEST_TOOLS := $(BUILD)/tests/flows_testrun
# libFuzzer targets (clang, ASan + UBSan), linked with every src/ file but main.c.
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -Iinclude -Isrc -I$(BUILD) $(shell pkg-config --cflags json-c)

.PHONY: all deps run test unit integration fuzz bench clean
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS)

all: $(BUILD)/netlens

deps:
	@scripts/deps.sh build

$(BUILD) $(BUILD)/obj $(BUILD)/tests:
	@mkdir -p $@

# CO-RE: the types come from the running kernel's BTF when no vmlinux.h is given.
$(BUILD)/vmlinux.h: | $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h include/netlens/*.h) $(BUILD)/vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h include/netlens/*.h) $(SKELS) | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/netlens: $(OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/unit $< $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/tests/flows_testrun: tests/integration/flows_testrun.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(filter-out src/main.c,$(SRCS)) $(wildcard src/*.h include/netlens/*.h) $(SKELS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) $< $(filter-out src/main.c,$(SRCS)) -o $@ $(LDLIBS)

# Load generators: plain C, no netlens code.
BENCH_GENS := $(BUILD)/bench/connstorm $(BUILD)/bench/latency_rr $(BUILD)/bench/udpflood

$(BENCH_GENS): $(BUILD)/bench/%: bench/%.c bench/loadgen.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -pthread $< -o $@

$(BUILD)/bench/format_bench: bench/format_bench.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LDLIBS)

run:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	$(BUILD)/netlens conns

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
	@$(MAKE) --no-print-directory all $(BENCH_GENS) $(BUILD)/bench/format_bench $(TEST_TOOLS)
	@bench/run.sh

clean:
	rm -rf $(BUILD)
