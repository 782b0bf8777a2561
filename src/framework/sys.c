// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "framework/cli.h"
#include "framework/sys.h"

static bool libbpf_verbose;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!libbpf_verbose)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

void nl_libbpf_logging(bool verbose)
{
	libbpf_verbose = verbose;
	libbpf_set_print(libbpf_log);
}

int nl_tracefs_mount(void)
{
	struct statfs st;

	if (!statfs(NL_TRACEFS, &st) && st.f_type == TRACEFS_MAGIC)
		return 0;
	if (mount("nodev", NL_TRACEFS, "tracefs", 0, NULL))
		return -errno;
	return 0;
}

static bool cgroup2_mounted_here;

const char *nl_cgroup2_root(char *buf, size_t len)
{
	if (nl_cgroup2_mount(buf, len))
		return buf;
	if ((mkdir("/run/netlens", 0700) && errno != EEXIST) ||
	    (mkdir(NL_CGROUP2_DIR, 0700) && errno != EEXIST) ||
	    mount("cgroup2", NL_CGROUP2_DIR, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return NULL;
	cgroup2_mounted_here = true;
	snprintf(buf, len, "%s", NL_CGROUP2_DIR);
	return buf;
}

void nl_cgroup2_release(void)
{
	if (cgroup2_mounted_here && !umount2(NL_CGROUP2_DIR, MNT_DETACH))
		cgroup2_mounted_here = false;
}

bool nl_tracepoint_exists(const char *category, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), NL_TRACEFS "/events/%s/%s", category, name);
	return access(path, F_OK) == 0;
}

int nl_bpf_usable(char *why, size_t len)
{
	const struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, NULL, "GPL", ret0, 2, NULL);
	int err = -errno;

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if ((err == -EPERM || err == -EACCES) && geteuid() != 0)
		snprintf(why, len, "netlens needs root (or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN) "
			 "to load eBPF programs");
	else if (err == -ENOSYS)
		snprintf(why, len, "this kernel was built without the bpf() system call");
	else
		snprintf(why, len, "eBPF programs cannot be loaded here: %s", strerror(-err));
	return err;
}

void nl_sys_init(bool verbose)
{
	char why[256];
	int err;

	nl_libbpf_logging(verbose);
	if (nl_bpf_usable(why, sizeof(why)))
		nl_die(NL_EXIT_ENV, "%s", why);
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1)
		nl_die(NL_EXIT_ENV, "this kernel has no BPF ring buffer (Linux 5.8 or later is needed)");
	/* Tracepoints are looked up in tracefs; it may not be mounted. */
	err = nl_tracefs_mount();
	if (err)
		nl_die(NL_EXIT_ENV, "tracefs is not mounted at %s and mounting it failed: %s",
		       NL_TRACEFS, strerror(-err));
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t nl_now_mono(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t nl_mono_to_realtime(uint64_t mono_ns)
{
	static int64_t offset;

	/* Read once: later wall-clock steps do not reorder our records. */
	if (!offset)
		offset = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_MONOTONIC);
	return mono_ns + offset;
}

void nl_ringbuf_setup(struct bpf_map *events, volatile const uint32_t *wakeup_bytes,
		      uint32_t bytes)
{
	bpf_map__set_max_entries(events, bytes);
	*(volatile uint32_t *)wakeup_bytes = bytes / 16;
}

int nl_tracepoint_args(const struct btf *vmlinux, const char *name)
{
	char tname[128];
	const struct btf_type *t;
	int id;

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	id = btf__find_by_name_kind(vmlinux, tname, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	t = btf__type_by_id(vmlinux, btf__resolve_type(vmlinux, id));
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(vmlinux, t->type);
	/* The first parameter is the probe's own data pointer. */
	return t && btf_is_func_proto(t) ? btf_vlen(t) - 1 : -1;
}

int nl_map_read_batches(int map_fd, void *keys, void *vals, uint32_t batch, void *token,
			void (*fn)(void *ctx, uint32_t n), void *ctx)
{
	void *in = NULL;
	int err;

	do {
		__u32 n = batch;

		/* -ENOENT: the last batch, which may still hold entries. */
		err = bpf_map_lookup_batch(map_fd, in, token, keys, vals, &n, NULL);
		if (err && err != -ENOENT)
			return err;
		fn(ctx, n);
		in = token;
	} while (!err);
	return 0;
}

int nl_read_stats(int map_fd, uint64_t out[NL_STAT_MAX])
{
	return nl_read_stats_row(map_fd, 0, out);
}

int nl_read_stats_row(int map_fd, uint32_t row, uint64_t out[NL_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < NL_STAT_MAX; i++) {
		uint32_t key = row * NL_STAT_MAX + i;

		out[i] = 0;
		if (bpf_map_lookup_elem(map_fd, &key, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}
