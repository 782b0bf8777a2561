// SPDX-License-Identifier: GPL-2.0
/* netlens latency: the module (BPF lifecycle) and the command (see src/latency/latency.bpf.c). */
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
#include "latency.skel.h"

struct latency {
	struct latency_bpf *skel;
	struct lat_report report;
	struct lat_metrics metrics;
	bool metrics_on;          /* serve asked for metrics: keep running totals */
	uint32_t max_keys;        /* entries of the hists map */
	bool need_owner;          /* -p/-c or --by pid|comm: softirq samples need the owner */
	struct nl_module *m;
	const struct nl_opts *opts;   /* the command's, to load again without tp_btf */
	struct nl_fallback fb;        /* which set of programs got loaded */
};

#define LAT_HOOKS (NL_HOOK_BIT(NL_HOOK_TP_BTF) | NL_HOOK_BIT(NL_HOOK_RAW_TP))

static const char *const tracepoints[][2] = {
	{ "sock", "inet_sock_set_state" }, { "tcp", "tcp_probe" },
	{ "sock", "sock_send_length" }, { "sock", "sock_recv_length" },
};

/* pid or comm in a key or a filter: softirq samples need the socket's owner. */
static bool needs_owner(const struct latency_cfg *cfg, const struct nl_filter *f)
{
	return cfg->by == LAT_BY_PID || cfg->by == LAT_BY_COMM || f->pid || f->has_comm;
}

static bool owner_hooks(const struct nl_module *m)
{
	const struct latency_cfg *c = m->cfg;
	const struct latency *l = m->priv;

	return (l && l->need_owner) || (c && (c->by == LAT_BY_PID || c->by == LAT_BY_COMM));
}

/*
 * The set of programs: tp_btf by default (plain loads and socket-local
 * storage: cheaper per call); a kernel may refuse it, then raw_tp
 * (src/framework/fallback.h).
 */
static int latency_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct latency_cfg *c = m->cfg;
	const struct latency *l = m->priv;
	enum nl_hook loaded = l ? l->fb.loaded : NL_HOOK_AUTO;
	enum nl_hook asked = c ? c->hook : NL_HOOK_AUTO;
	enum nl_hook hook = nl_hook_pick(loaded, asked, NL_HOOK_TP_BTF);

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
		 "sock:sock_recv_length%s%s; by %s", nl_hook_name(hook),
		 nl_hook_may_fall_back(loaded, asked, hook) ? " (raw_tp if refused)" : "",
		 owner_hooks(m) ? "; tracepoints syscalls:sys_exit_accept{,4} for owners" : "",
		 lat_by_name(c ? c->by : LAT_BY_DADDR_DPORT));
	return 0;
}

/* One program per tracepoint, all from one set: they share the per-socket state. */
static void choose_hooks(struct latency_bpf *skel, const struct latency_cfg *cfg,
			 bool need_owner, enum nl_hook hook)
{
	bool btf = hook == NL_HOOK_TP_BTF;

	bpf_program__set_autoload(skel->progs.lat_state, !btf);
	bpf_program__set_autoload(skel->progs.lat_state_btf, btf);
	bpf_program__set_autoload(skel->progs.lat_probe, !btf);
	bpf_program__set_autoload(skel->progs.lat_probe_btf, btf);
	bpf_program__set_autoload(skel->progs.lat_send, !btf);
	bpf_program__set_autoload(skel->progs.lat_send_btf, btf);
	bpf_program__set_autoload(skel->progs.lat_recv, !btf);
	bpf_program__set_autoload(skel->progs.lat_recv_btf, btf);
	/* The per-socket state: socket-local storage (tp_btf) or the hash. */
	bpf_map__set_autocreate(skel->maps.lat_sk, btf);
	bpf_map__set_max_entries(skel->maps.lat_socks, btf ? 1 : cfg->max_conns);
	skel->rodata->lat_max_conns = cfg->max_conns;
	bpf_program__set_autoload(skel->progs.lat_accept4_exit,
				  need_owner && nl_tracepoint_exists("syscalls", "sys_exit_accept4"));
	bpf_program__set_autoload(skel->progs.lat_accept_exit,
				  need_owner && nl_tracepoint_exists("syscalls", "sys_exit_accept"));
}

/* Opens, configures and loads the object with this set of programs. */
static int load(void *ctx, enum nl_hook hook)
{
	struct latency *l = ctx;
	struct nl_module *m = l->m;
	const struct latency_cfg *cfg = m->cfg;
	const struct nl_opts *o = l->opts;
	int err;

	l->skel = latency_bpf__open();
	if (!l->skel)
		return nl_module_fail(m, -errno, "cannot open the BPF object");
	memcpy((void *)&l->skel->rodata->nl_filter, &o->filter, sizeof(o->filter));
	l->skel->rodata->lat_by = cfg->by;
	l->skel->rodata->lat_need_owner = l->need_owner;
	/* Histograms are read from maps: the ring buffer stays unused, at its minimum. */
	bpf_map__set_max_entries(l->skel->maps.events, sysconf(_SC_PAGESIZE));
	bpf_map__set_max_entries(l->skel->maps.sk_owners, l->need_owner ? cfg->max_conns : 1);
	bpf_map__set_max_entries(l->skel->maps.hists, l->max_keys);
	choose_hooks(l->skel, cfg, l->need_owner, hook);
	err = latency_bpf__load(l->skel);
	if (err)
		return nl_module_fail(m, err, "the kernel refused the BPF programs (%s)",
				      nl_hook_name(hook));
	m->obj = l->skel->obj;
	return 0;
}

static int attach(void *ctx)
{
	struct latency *l = ctx;
	int err = latency_bpf__attach(l->skel);

	return err ? nl_module_fail(l->m, err, "cannot attach to the tracepoints (%s)",
				    nl_hook_name(l->fb.loaded)) : 0;
}

static void unload(void *ctx)
{
	struct latency *l = ctx;

	latency_bpf__destroy(l->skel);
	l->skel = NULL;
}

static int latency_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct latency_cfg *cfg = m->cfg;
	struct latency *l;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	m->priv = l;
	l->m = m;
	l->opts = o;
	l->need_owner = needs_owner(cfg, &o->filter);
	l->fb = (struct nl_fallback){ .asked = cfg->hook, .ctx = l, .load = load,
				      .attach = attach, .unload = unload };
	if (latency_plan(m, m->err, sizeof(m->err)))
		return -ENOTSUP;
	/* Two epochs: the one being filled and the one being read. */
	l->max_keys = cfg->max_groups * 2;
	return nl_load_fallback(&l->fb, nl_hook_pick(NL_HOOK_AUTO, cfg->hook, NL_HOOK_TP_BTF));
}

static int latency_attach(struct nl_module *m)
{
	struct latency *l = m->priv;

	return nl_attach_fallback(&l->fb);
}

/*
 * Moves the histograms of one epoch (all of them when final) from the
 * kernel into the report: read, merge the CPUs, delete.
 */
static int drain(struct latency *l, bool final, uint32_t epoch)
{
	int fd = bpf_map__fd(l->skel->maps.hists), ncpu = libbpf_num_possible_cpus();
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
	uint32_t epoch = l->skel->bss->lat_epoch;
	uint64_t st[NL_STAT_MAX];
	struct timespec grace = { 0, 2000000 };

	if (!final) {
		/* New samples go to the other half; let programs that read the old value finish. */
		l->skel->bss->lat_epoch = epoch ^ 1;
		nanosleep(&grace, NULL);
	}
	if (drain(l, final, epoch) || nl_read_stats(bpf_map__fd(l->skel->maps.stats), st)) {
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
	unload(l);
	lat_report_free(&l->report);
	lat_metrics_free(&l->metrics);
	free(l);
	m->priv = NULL;
}

static int set_by(void *ctx, const char *arg, char *err, size_t len)
{
	struct latency_cfg *cfg = ctx;

	if (lat_by_parse(arg, &cfg->by)) {
		snprintf(err, len, "'%s' is not daddr:dport, daddr, dport, comm, pid or cgroup", arg);
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
	.spec = latency_spec,
	.cfg_size = sizeof(struct latency_cfg),
	.cfg_defaults = &defaults,
	.plan = latency_plan,
	.open = latency_open,
	.attach = latency_attach,
	.collect = latency_collect,
	.metrics = latency_metrics,
	.destroy = latency_destroy,
};
