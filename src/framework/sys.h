/* SPDX-License-Identifier: GPL-2.0 */
/* The system around the BPF programs: libbpf logging, tracefs, privileges, clocks. */
#ifndef NETLENS_SYS_H
#define NETLENS_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/common_abi.h"

#define NL_TRACEFS "/sys/kernel/tracing"

/* libbpf logs only when verbose. */
void nl_libbpf_logging(bool verbose);

/* Mounts tracefs at NL_TRACEFS when it is not; 0 or -errno. */
int nl_tracefs_mount(void);

/*
 * Where cgroup v2 is mounted in this mount namespace; when none is (`ip
 * netns exec` remounts /sys in a mount namespace of its own), a mount of it
 * made at NL_CGROUP2_DIR: the hierarchy is the same wherever it is mounted.
 * NULL if neither. nl_cgroup2_release() removes the mount it made.
 */
#define NL_CGROUP2_DIR "/run/netlens/cgroup2"
const char *nl_cgroup2_root(char *buf, size_t len);
void nl_cgroup2_release(void);
bool nl_tracepoint_exists(const char *category, const char *name);

/*
 * Loads a trivial program to see whether eBPF is usable at all. Returns 0,
 * or -errno with a sentence for the user in why.
 */
int nl_bpf_usable(char *why, size_t len);

/*
 * Everything an event command needs before it loads programs: logging, the
 * eBPF and ring-buffer checks and tracefs; a failing one exits 1 with a
 * clear sentence.
 */
void nl_sys_init(bool verbose);

/* BPF timestamps (CLOCK_MONOTONIC) to wall-clock nanoseconds. */
uint64_t nl_mono_to_realtime(uint64_t mono_ns);
uint64_t nl_now_mono(void);

struct bpf_map;

/*
 * Sizes a module's ring buffer before load and sets its wake-up threshold
 * (the program's nl_wakeup_bytes): the reader is woken once 1/16 of the
 * ring is pending, and otherwise polls on a timer.
 */
void nl_ringbuf_setup(struct bpf_map *events, volatile const uint32_t *wakeup_bytes,
		      uint32_t bytes);

/* Sums a per-CPU counter array map of NL_STAT_MAX entries into out. */
int nl_read_stats(int map_fd, uint64_t out[NL_STAT_MAX]);
/* The same for one row of an object that keeps a row per part (src/kernel/emit.bpf.h). */
int nl_read_stats_row(int map_fd, uint32_t row, uint64_t out[NL_STAT_MAX]);

struct btf;

/* How many arguments the raw tracepoint passes, from vmlinux's btf_trace_<name>; -1 if unknown. */
int nl_tracepoint_args(const struct btf *vmlinux, const char *name);

/*
 * Reads every entry of a hash map, `batch` at a time (bpf_map_lookup_batch),
 * into keys and vals (room for `batch` of each; a per-CPU map gives a value
 * per possible CPU), calling fn for each batch read. 0 or -errno.
 */
int nl_map_read_batches(int map_fd, void *keys, void *vals, uint32_t batch, void *token,
			void (*fn)(void *ctx, uint32_t n), void *ctx);

#endif
