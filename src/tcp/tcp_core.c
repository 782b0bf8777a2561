// SPDX-License-Identifier: GPL-2.0
/* The TCP core's lifecycle in user space: join, load once, attach once, leave. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "framework/module.h"
#include "framework/sys.h"
#include "tcp/tcp_core.h"
#include "http/http.h"
#include "tcp.skel.h"

#define TCP_DEFAULT_DESTS 16384

#define DESTS_BATCH 1024   /* tcp_dests entries per bpf_map_lookup_batch() */

static struct {
	struct tcp_bpf *skel;          /* set once loaded and attached */
	struct tcp_part parts[TCP_ROWS];
	struct nl_module *mods[TCP_ROWS];   /* the module of each part joined */
	unsigned int joined;           /* bit per row */
	struct nl_opts opts;           /* the first part's: filters and ring size are the process's */
	struct nl_fallback fb;         /* which set of programs got loaded */
	struct nl_module *m;           /* the part attaching: the one whose err a failure fills */
	struct nl_dest_key dest_keys[DESTS_BATCH];   /* tcp_core_each_dest()'s buffers */
	struct tcp_dest *dests;        /* DESTS_BATCH x the possible CPUs: tcp_dests is per CPU */
	int ncpu;
} core;

static bool joined(enum tcp_row row)
{
	return core.joined & (1u << row);
}

bool tcp_core_retransmit_has_err(void)
{
	static int has = -1;
	struct btf *vmlinux;

	if (has >= 0)
		return has;
	vmlinux = btf__load_vmlinux_btf();
	has = vmlinux && nl_tracepoint_args(vmlinux, "tcp_retransmit_skb") >= 3;
	btf__free(vmlinux);
	return has;
}

/* The connect(2) exit reads the saved syscall registers (Linux 5.15+). */
static bool connect_exit_usable(void)
{
	static int usable = -1;

	if (usable < 0)
		usable = nl_tracepoint_exists("syscalls", "sys_exit_connect") &&
			 libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs,
						 NULL) == 1 &&
			 libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
						 BPF_FUNC_get_current_task_btf, NULL) == 1;
	return usable;
}

enum nl_hook tcp_core_hook(enum nl_hook asked)
{
	return nl_hook_pick(core.fb.loaded, asked, NL_HOOK_TP_BTF);
}

bool tcp_core_may_fall_back(enum nl_hook asked)
{
	return nl_hook_may_fall_back(core.fb.loaded, asked, tcp_core_hook(asked));
}

/* The hooks the joined parts asked for: the first that asked one wins. */
static enum nl_hook asked_hook(void)
{
	for (int row = 0; row < TCP_ROWS; row++)
		if (joined(row) && core.parts[row].hook != NL_HOOK_AUTO)
			return core.parts[row].hook;
	return NL_HOOK_AUTO;
}

static void choose_programs(struct tcp_bpf *skel, enum nl_hook hook)
{
	bool btf = hook == NL_HOOK_TP_BTF, lat = joined(TCP_ROW_LATENCY);
	bool rt = joined(TCP_ROW_RETRANS), err_arg = tcp_core_retransmit_has_err();
	bool io = lat || joined(TCP_ROW_HTTP);    /* sock_send_length/sock_recv_length */

	bpf_program__set_autoload(skel->progs.tcp_state_btf, btf);
	bpf_program__set_autoload(skel->progs.tcp_state_raw, hook == NL_HOOK_RAW_TP);
	bpf_program__set_autoload(skel->progs.tcp_state_tp, hook == NL_HOOK_TRACEPOINT);
	bpf_program__set_autoload(skel->progs.tcp_accept4_exit,
				  nl_tracepoint_exists("syscalls", "sys_exit_accept4"));
	bpf_program__set_autoload(skel->progs.tcp_accept_exit,
				  nl_tracepoint_exists("syscalls", "sys_exit_accept"));
	bpf_program__set_autoload(skel->progs.tcp_connect_exit,
				  joined(TCP_ROW_CONNS) && connect_exit_usable());
	bpf_program__set_autoload(skel->progs.tcp_getsockopt_enter, joined(TCP_ROW_CONNS) &&
				  nl_tracepoint_exists("syscalls", "sys_enter_getsockopt"));
	bpf_program__set_autoload(skel->progs.tcp_probe_btf, lat && btf);
	bpf_program__set_autoload(skel->progs.tcp_send_btf, io && btf);
	bpf_program__set_autoload(skel->progs.tcp_recv_btf, io && btf);
	bpf_program__set_autoload(skel->progs.tcp_probe_raw, lat && !btf);
	bpf_program__set_autoload(skel->progs.tcp_send_raw, io && !btf);
	bpf_program__set_autoload(skel->progs.tcp_recv_raw, io && !btf);
	bpf_program__set_autoload(skel->progs.tcp_retransmit_err, rt && err_arg);
	bpf_program__set_autoload(skel->progs.tcp_retransmit, rt && !err_arg);
	bpf_program__set_autoload(skel->progs.tcp_retransmit_synack,
				  rt && nl_tracepoint_exists("tcp", "tcp_retransmit_synack"));
	bpf_program__set_autoload(skel->progs.tcp_flush, rt);
	http_choose_programs(skel, joined(TCP_ROW_HTTP));
}

/* Opens the object and lets every joined part configure it; maps of parts left out stay small. */
static struct tcp_bpf *open_configured(enum nl_hook hook)
{
	uint32_t page = sysconf(_SC_PAGESIZE), max_conns = 64;
	struct tcp_bpf *skel = tcp_bpf__open();

	if (!skel)
		return NULL;
	memcpy((void *)&skel->rodata->nl_filter, &core.opts.filter, sizeof(core.opts.filter));
	skel->rodata->tcp_conns = joined(TCP_ROW_CONNS);
	skel->rodata->tcp_latency = joined(TCP_ROW_LATENCY);
	skel->rodata->tcp_retrans = joined(TCP_ROW_RETRANS);
	skel->rodata->tcp_http = joined(TCP_ROW_HTTP);
	/* The parts' rings are of one size (the process's --ringbuf-kb): one wake-up threshold. */
	bpf_map__set_max_entries(skel->maps.conns_events, page);
	bpf_map__set_max_entries(skel->maps.retrans_events, page);
	bpf_map__set_max_entries(skel->maps.http_events, page);
	if (joined(TCP_ROW_CONNS))
		nl_ringbuf_setup(skel->maps.conns_events, &skel->rodata->nl_wakeup_bytes,
				 core.opts.ringbuf_bytes);
	if (joined(TCP_ROW_RETRANS))
		nl_ringbuf_setup(skel->maps.retrans_events, &skel->rodata->nl_wakeup_bytes,
				 core.opts.ringbuf_bytes);
	if (joined(TCP_ROW_HTTP))
		nl_ringbuf_setup(skel->maps.http_events, &skel->rodata->nl_wakeup_bytes,
				 core.opts.ringbuf_bytes);
	else
		http_shrink_maps(skel);
	bpf_map__set_max_entries(skel->maps.hists, 1);
	if (!joined(TCP_ROW_CONNS)) {
		bpf_map__set_max_entries(skel->maps.conns_failures, 1);
		bpf_map__set_max_entries(skel->maps.conns_reported, 1);
	}
	bpf_map__set_max_entries(skel->maps.tcp_dests,
				 joined(TCP_ROW_CONNS) || joined(TCP_ROW_RETRANS) ? TCP_DEFAULT_DESTS : 1);
	for (int row = 0; row < TCP_ROWS; row++) {
		if (!joined(row))
			continue;
		if (core.parts[row].max_conns > max_conns)
			max_conns = core.parts[row].max_conns;
		core.parts[row].configure(skel, core.parts[row].ctx);
	}
	bpf_map__set_max_entries(skel->maps.tcp_socks, max_conns);
	choose_programs(skel, hook);
	return skel;
}

/* nl_fallback's steps (src/framework/fallback.h): the failing one fills core.m's err. */
static int load(void *ctx, enum nl_hook hook)
{
	int err;

	(void)ctx;
	core.skel = open_configured(hook);
	if (!core.skel)
		return nl_module_fail(core.m, -errno, "cannot open the TCP core's BPF object");
	err = tcp_bpf__load(core.skel);
	return err ? nl_module_fail(core.m, err, "the kernel refused the TCP core's BPF programs (%s)",
				    nl_hook_name(hook)) : 0;
}

static int attach(void *ctx)
{
	int err = tcp_bpf__attach(core.skel);

	(void)ctx;
	return err ? nl_module_fail(core.m, err, "cannot attach the TCP core to the tracepoints (%s)",
				    nl_hook_name(core.fb.loaded)) : 0;
}

static void unload(void *ctx)
{
	(void)ctx;
	tcp_bpf__destroy(core.skel);
	core.skel = NULL;
	free(core.dests);
	core.dests = NULL;
	core.fb.loaded = NL_HOOK_AUTO;
}

int tcp_core_join(struct nl_module *m, const struct nl_opts *o, const struct tcp_part *part)
{
	if (core.skel)
		return nl_module_fail(m, EBUSY, "the TCP core is already attached");
	if (!core.joined)
		core.opts = *o;
	core.parts[part->row] = *part;
	core.mods[part->row] = m;
	core.joined |= 1u << part->row;
	return 0;
}

int tcp_core_attach(struct nl_module *m)
{
	int err;

	if (!core.skel) {
		if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) != 1)
			return nl_module_fail(m, ENOTSUP, "the TCP core needs raw tracepoints");
		core.m = m;
		core.fb = (struct nl_fallback){ .asked = asked_hook(), .load = load,
						.attach = attach, .unload = unload };
		err = nl_load_fallback(&core.fb, tcp_core_hook(core.fb.asked));
		if (!err)
			err = nl_attach_fallback(&core.fb);
		if (err) {
			unload(NULL);
			return err;
		}
	}
	m->obj = core.skel->obj;
	return 0;
}

struct tcp_bpf *tcp_core_skel(void)
{
	return core.skel;
}

int tcp_core_stats(struct nl_module *m, uint64_t out[NL_STAT_MAX])
{
	uint64_t own[NL_STAT_MAX];
	int row, fd, err;

	for (row = 0; row < TCP_ROWS && core.mods[row] != m; row++)
		;
	if (!core.skel || row == TCP_ROWS)
		return -ENOENT;
	fd = bpf_map__fd(core.skel->maps.stats);
	err = nl_read_stats_row(fd, TCP_ROW_CORE, out) ?: nl_read_stats_row(fd, row, own);
	if (err)
		return err;
	/* The core's row holds only its refused inserts: a socket none of the parts follows. */
	for (int i = 0; i < NL_STAT_MAX; i++)
		out[i] += own[i];
	return 0;
}

struct dest_walk {
	void (*fn)(void *ctx, const struct nl_dest_key *k, const struct tcp_dest *d);
	void *ctx;
};

/* Every field of struct tcp_dest is a __u64 counter: a destination's CPUs add up field by field. */
static void dest_sum(struct tcp_dest *sum, const struct tcp_dest *percpu, int ncpu)
{
	_Static_assert(sizeof(*sum) % sizeof(__u64) == 0, "struct tcp_dest holds __u64 counters only");
	__u64 *out = (__u64 *)sum;

	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < ncpu; c++) {
		const __u64 *in = (const __u64 *)&percpu[c];

		for (size_t f = 0; f < sizeof(*sum) / sizeof(__u64); f++)
			out[f] += in[f];
	}
}

static void dest_batch(void *ctx, uint32_t n)
{
	const struct dest_walk *w = ctx;
	struct tcp_dest sum;

	for (uint32_t i = 0; i < n; i++) {
		dest_sum(&sum, &core.dests[(size_t)i * core.ncpu], core.ncpu);
		w->fn(w->ctx, &core.dest_keys[i], &sum);
	}
}

int tcp_core_each_dest(void (*fn)(void *ctx, const struct nl_dest_key *k,
				  const struct tcp_dest *d), void *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct dest_walk w = { fn, ctx };
	struct nl_dest_key token;

	if (!core.dests) {
		core.ncpu = libbpf_num_possible_cpus();
		if (core.ncpu <= 0)
			return core.ncpu ? core.ncpu : -EINVAL;
		core.dests = calloc((size_t)DESTS_BATCH * core.ncpu, sizeof(*core.dests));
		if (!core.dests)
			return -ENOMEM;
	}
	/* retrans: what every live connection sent since the last look, added first. */
	if (joined(TCP_ROW_RETRANS))
		bpf_prog_test_run_opts(bpf_program__fd(core.skel->progs.tcp_flush), &run);
	return nl_map_read_batches(bpf_map__fd(core.skel->maps.tcp_dests), core.dest_keys,
				   core.dests, DESTS_BATCH, &token, dest_batch, &w);
}

void tcp_core_leave(struct nl_module *m)
{
	for (int row = 0; row < TCP_ROWS; row++) {
		if (core.mods[row] != m)
			continue;
		core.mods[row] = NULL;
		core.joined &= ~(1u << row);
	}
	if (!core.joined)
		unload(NULL);
}
