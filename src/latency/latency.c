// SPDX-License-Identifier: GPL-2.0
/* netlens latency: the module (a part of the TCP core) and the command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "latency/latency.h"
#include "framework/module.h"
#include "framework/sys.h"
#include "tcp/tcp_core.h"
#include "tcp.skel.h"

struct latency {
	struct lat_report report;
	struct lat_metrics metrics;
	bool metrics_on;          /* serve asked for metrics: keep running totals */
	uint32_t max_keys;        /* entries of the hists map */
	enum lat_by by;
};

#define LAT_HOOKS (NL_HOOK_BIT(NL_HOOK_TP_BTF) | NL_HOOK_BIT(NL_HOOK_RAW_TP))

static const char *const tracepoints[][2] = {
	{ "sock", "inet_sock_set_state" }, { "tcp", "tcp_probe" },
	{ "sock", "sock_send_length" }, { "sock", "sock_recv_length" },
};

/* --hook: auto (the core's choice: tp_btf, raw_tp if refused), tp_btf or raw_tp. */
static enum nl_hook asked_hook(const struct latency_cfg *c)
{
	return c ? c->hook : NL_HOOK_AUTO;
}

static int latency_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct latency_cfg *c = m->cfg;
	enum nl_hook asked = asked_hook(c), hook = tcp_core_hook(asked);

	for (size_t i = 0; i < sizeof(tracepoints) / sizeof(tracepoints[0]); i++) {
		if (!nl_tracepoint_exists(tracepoints[i][0], tracepoints[i][1])) {
			snprintf(buf, len, "unavailable: no %s:%s tracepoint (sock_*_length: Linux 6.5+)",
				 tracepoints[i][0], tracepoints[i][1]);
			return -ENOTSUP;
		}
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) != 1) {
		snprintf(buf, len, "unavailable: needs raw tracepoints");
		return -ENOTSUP;
	}
	snprintf(buf, len, "%s sock:inet_sock_set_state, tcp:tcp_probe, sock:sock_send_length, "
		 "sock:sock_recv_length%s; by %s (TCP core)",
		 nl_hook_name(hook),
		 tcp_core_may_fall_back(asked) ? " (raw_tp if refused)" : "",
		 lat_by_name(c ? c->by : LAT_BY_DADDR_DPORT));
	return 0;
}

static void configure(struct tcp_bpf *skel, const void *ctx)
{
	const struct latency *l = ctx;

	skel->rodata->lat_by = l->by;
	bpf_map__set_max_entries(skel->maps.hists, l->max_keys);
}

static int latency_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct latency_cfg *cfg = m->cfg;
	struct tcp_part part = {
		.row = TCP_ROW_LATENCY, .hook = asked_hook(cfg), .max_conns = cfg->max_conns,
		.configure = configure,
	};
	struct latency *l;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	m->priv = l;
	if (latency_plan(m, m->err, sizeof(m->err)))
		return -ENOTSUP;
	/* Two epochs: the one being filled and the one being read. */
	l->max_keys = cfg->max_groups * 2;
	l->by = cfg->by;
	part.ctx = l;
	return tcp_core_join(m, o, &part);
}

static int latency_attach(struct nl_module *m)
{
	return tcp_core_attach(m);
}

/*
 * Moves the histograms of one epoch (all of them when final) from the
 * kernel into the report: read, merge the CPUs, delete.
 */
static int drain(struct latency *l, bool final, uint32_t epoch)
{
	int fd = bpf_map__fd(tcp_core_skel()->maps.hists), ncpu = libbpf_num_possible_cpus();
	struct lat_key *keys, key, cur, *prev = NULL;
	struct nl_hist *vals;
	uint32_t n = 0;
	int err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	keys = calloc(l->max_keys, sizeof(*keys));
	vals = calloc(ncpu, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (n < l->max_keys && !bpf_map_get_next_key(fd, prev, &key)) {
		if (final || key.epoch == epoch)
			keys[n++] = key;
		cur = key;
		prev = &cur;
	}
	for (uint32_t i = 0; i < n && !err; i++) {
		if (bpf_map_lookup_and_delete_elem(fd, &keys[i], vals) &&
		    (bpf_map_lookup_elem(fd, &keys[i], vals) || bpf_map_delete_elem(fd, &keys[i])))
			continue;
		for (int c = 0; c < ncpu && !err; c++)
			err = lat_report_add(&l->report, &keys[i], &vals[c]);
	}
out:
	free(keys);
	free(vals);
	return err;
}

static void latency_collect(struct nl_module *m, bool final)
{
	const struct latency_cfg *cfg = m->cfg;
	struct latency *l = m->priv;
	struct tcp_bpf *skel = tcp_core_skel();
	uint32_t epoch = skel->bss->lat_epoch;
	uint64_t st[NL_STAT_MAX];
	struct timespec grace = { 0, 2000000 };

	if (!final) {
		/* New samples go to the other half; let programs that read the old value finish. */
		skel->bss->lat_epoch = epoch ^ 1;
		nanosleep(&grace, NULL);
	}
	if (drain(l, final, epoch) || tcp_core_stats(m, st)) {
		lat_report_free(&l->report);
		return;
	}
	if (l->metrics_on && cfg->by == LAT_BY_DADDR_DPORT && lat_metrics_add(&l->metrics, &l->report))
		fprintf(stderr, "netlens latency: out of memory for the metrics' totals\n");
	lat_report_write(&l->report, m->sink, cfg->by, st);
}

/*
 * serve builds its first page before its first collection, so the totals
 * start with the first interval. The labels are daddr and dport: other
 * --by groupings export nothing.
 */
static void latency_metrics(struct nl_module *m, struct nl_prom *p)
{
	const struct latency_cfg *cfg = m->cfg;
	struct latency *l = m->priv;

	l->metrics_on = true;
	if (cfg->by == LAT_BY_DADDR_DPORT)
		lat_metrics_write(&l->metrics, p);
}

static void latency_destroy(struct nl_module *m)
{
	struct latency *l = m->priv;

	if (!l)
		return;
	tcp_core_leave(m);
	m->obj = NULL;
	lat_report_free(&l->report);
	lat_metrics_free(&l->metrics);
	free(l);
	m->priv = NULL;
}

static int set_by(void *ctx, const char *arg, char *err, size_t len)
{
	struct latency_cfg *cfg = ctx;

	if (lat_by_parse(arg, &cfg->by)) {
		snprintf(err, len, "'%s' is not daddr:dport, daddr, dport, comm, pid or cgroup", nl_echo(arg));
		return -1;
	}
	return 0;
}

static int set_max_conns(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 64, 1 << 24, &((struct latency_cfg *)ctx)->max_conns, err, len);
}

static int set_max_groups(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 16, 1 << 20, &((struct latency_cfg *)ctx)->max_groups, err, len);
}

static int set_hook(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_hook_parse(arg, LAT_HOOKS, &((struct latency_cfg *)ctx)->hook, err, len);
}

/* `netlens latency`'s options, also parsed by `netlens serve`. */
static const struct nl_cmd_spec *latency_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "by", NL_OPT_LONG_ONLY, "GROUP",
		  "daddr:dport (default; the server side), daddr, dport, comm, pid or cgroup", set_by },
		{ "max-conns", NL_OPT_LONG_ONLY + 1, "N", "sockets followed at once (default 65536)",
		  set_max_conns },
		{ "max-groups", NL_OPT_LONG_ONLY + 2, "N",
		  "histograms (metric x group) per interval (default 4096)", set_max_groups },
		{ "hook", NL_OPT_LONG_ONLY + 3, "auto|tp_btf|raw_tp",
		  "programs: BTF-typed (tp_btf) or raw tracepoints (default auto: tp_btf, "
		  "raw_tp if refused)", set_hook },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "latency",
		.summary = "TCP latency distributions built in the kernel: handshake, smoothed RTT,\n"
			   "request (client) and service (server) time, per group; p50/p90/p99/max\n"
			   "and a log2 histogram every --interval and at exit.",
		.sets = NL_OPTS_OUTPUT | NL_OPTS_EVENTS | NL_OPTS_INTERVAL,
		.opts = opts,
	};
	return &spec;
}

static const struct latency_cfg defaults = {
	.max_conns = LATENCY_DEFAULT_MAX_CONNS, .max_groups = LATENCY_DEFAULT_MAX_GROUPS,
};

const struct nl_module_ops nl_latency_ops = {
	.name = "latency",
	.help = "TCP handshake, RTT, request and service time distributions",
	.shared_object = "tcp",
	.spec = latency_spec,
	.cfg_size = sizeof(struct latency_cfg),
	.cfg_defaults = &defaults,
	.plan = latency_plan,
	.open = latency_open,
	.attach = latency_attach,
	.collect = latency_collect,
	.metrics = latency_metrics,
	.stats = tcp_core_stats,
	.destroy = latency_destroy,
};
