// SPDX-License-Identifier: GPL-2.0
/* netlens conns: the module (a part of the TCP core) and the command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "conns/conns.h"
#include "framework/finding.h"
#include "framework/module.h"
#include "framework/sys.h"
#include "tcp/tcp_core.h"
#include "tcp.skel.h"

#define FAILS_BATCH 256   /* conns_failures entries per bpf_map_lookup_batch() */

struct conns {
	struct ring_buffer *rb;
	struct conns_report report;
	bool records;             /* somebody reads the records (not serve's discarding sink) */
	struct conns_listen *listen;                    /* NULL: listeners not read */
	struct conns_fail_key fail_keys[FAILS_BATCH];   /* read_totals()'s buffers */
	uint64_t fail_counts[FAILS_BATCH];
};

#define CONNS_HOOKS (NL_HOOK_BIT(NL_HOOK_TP_BTF) | NL_HOOK_BIT(NL_HOOK_RAW_TP) | \
		     NL_HOOK_BIT(NL_HOOK_TRACEPOINT))

static enum nl_hook asked_hook(const struct conns_cfg *cfg)
{
	return cfg ? cfg->hook : NL_HOOK_AUTO;
}

static int conns_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct conns_cfg *cfg = m->cfg;
	bool accept = nl_tracepoint_exists("syscalls", "sys_exit_accept4");

	if (!nl_tracepoint_exists("sock", "inet_sock_set_state")) {
		snprintf(buf, len, "unavailable: no sock:inet_sock_set_state tracepoint (Linux 4.16+)");
		return -ENOTSUP;
	}
	snprintf(buf, len, "%s sock:inet_sock_set_state%s; %s; %s (TCP core)",
		 nl_hook_name(tcp_core_hook(asked_hook(cfg))),
		 tcp_core_may_fall_back(asked_hook(cfg)) ? " (raw_tp if refused)" : "",
		 accept ? "tracepoints syscalls:sys_exit_accept{,4} for the accepting process"
			: "no accept tracepoints: accepted sockets have pid 0",
		 nl_tracepoint_exists("syscalls", "sys_exit_connect")
			? "syscalls:sys_exit_connect for failures before a SYN"
			: "failures before a SYN not seen (needs Linux 5.15+)");
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct nl_module *m = ctx;
	struct conns *c = m->priv;

	conns_report_event(&c->report, m->sink, data, len);
	return 0;
}

static void configure(struct tcp_bpf *skel, const void *ctx)
{
	const struct conns *c = ctx;

	skel->rodata->conns_records = c->records;
}

static int conns_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct conns_cfg *cfg = m->cfg;
	struct tcp_part part = {
		.row = TCP_ROW_CONNS, .hook = asked_hook(cfg), .max_conns = cfg->max_conns,
		.configure = configure,
	};
	struct conns *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	m->priv = c;
	if (conns_plan(m, m->err, sizeof(m->err)))
		return -ENOTSUP;
	conns_report_init(&c->report);
	c->listen = conns_listen_new(&o->filter);
	c->records = nl_sink_wants_records(m->sink);
	part.ctx = c;
	return tcp_core_join(m, o, &part);
}

static int conns_attach(struct nl_module *m)
{
	struct conns *c = m->priv;
	int err = tcp_core_attach(m);

	if (err)
		return err;
	/*
	 * The listeners' baseline, and every namespace entered now: serve drops
	 * CAP_SYS_ADMIN after attaching, and a namespace entered keeps being read.
	 */
	if (c->listen)
		conns_listen_read(c->listen, &c->report.listen);
	return nl_module_ringbuf(m, tcp_core_skel()->maps.conns_events, on_event, &c->rb);
}

static int conns_poll(struct nl_module *m, int timeout_ms)
{
	struct conns *c = m->priv;

	return nl_ringbuf_read(c->rb, timeout_ms);
}

/* A destination conns counted (retrans may have made the entry alone). */
static void add_totals(void *ctx, const struct nl_dest_key *k, const struct tcp_dest *d)
{
	const struct conns_dest_totals *t = &d->conns;

	if (t->connects || t->accepts || t->failed || t->closes)
		conns_report_add(ctx, k, t);
}

static void add_failures(void *ctx, uint32_t n)
{
	struct conns *c = ctx;

	for (uint32_t i = 0; i < n; i++)
		conns_report_add_failures(&c->report, &c->fail_keys[i], c->fail_counts[i]);
}

/*
 * The report's totals, read again from the kernel's (cumulative) counters:
 * per destination, then its failures per errno.
 */
static void read_totals(struct conns *c)
{
	struct conns_fail_key token;

	conns_report_clear(&c->report);
	tcp_core_each_dest(add_totals, &c->report);
	nl_map_read_batches(bpf_map__fd(tcp_core_skel()->maps.conns_failures), c->fail_keys,
			    c->fail_counts, FAILS_BATCH, &token, add_failures, c);
	if (c->listen)
		conns_listen_read(c->listen, &c->report.listen);
}

static void conns_collect(struct nl_module *m, bool final)
{
	struct conns *c = m->priv;
	uint64_t st[NL_STAT_MAX];

	(void)final;   /* totals are cumulative: the same record at any time */
	if (tcp_core_stats(m, st))
		return;
	read_totals(c);
	conns_report_summary(&c->report, m->sink, st);
}

static void conns_metrics(struct nl_module *m, struct nl_prom *p)
{
	struct conns *c = m->priv;

	read_totals(c);
	conns_report_metrics(&c->report, p);
}

/* The totals since attach, read as the summary reads them. */
static void conns_findings_op(struct nl_module *m, struct nl_findings *out)
{
	struct conns *c = m->priv;

	if (!tcp_core_skel())
		return;
	read_totals(c);
	conns_findings(&c->report, out);
}

static void conns_destroy(struct nl_module *m)
{
	struct conns *c = m->priv;

	if (!c)
		return;
	ring_buffer__free(c->rb);
	tcp_core_leave(m);
	conns_listen_free(c->listen);
	conns_report_free(&c->report);
	free(c);
	m->priv = NULL;
	m->obj = NULL;
}

static int set_max_conns(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 64, 1 << 24, &((struct conns_cfg *)ctx)->max_conns, err, len);
}

static int set_hook(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_hook_parse(arg, CONNS_HOOKS, &((struct conns_cfg *)ctx)->hook, err, len);
}

/* `netlens conns`'s options, also parsed by `netlens serve`. */
static const struct nl_cmd_spec *conns_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "max-conns", NL_OPT_LONG_ONLY, "N", "connections tracked at once (default 65536)",
		  set_max_conns },
		{ "hook", NL_OPT_LONG_ONLY + 1, "auto|tp_btf|raw_tp|tracepoint",
		  "the TCP core's programs (tracepoint: sock:inet_sock_set_state only; "
		  "default auto: tp_btf, raw_tp if refused)", set_hook },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "conns",
		.summary = "TCP connections of every process in every network namespace: connect,\n"
			   "accept, failed (with the errno) and close (duration, bytes, retransmits).",
		.sets = NL_OPTS_OUTPUT | NL_OPTS_EVENTS | NL_OPTS_INTERVAL,
		.opts = opts,
	};
	return &spec;
}

static const struct conns_cfg defaults = { .max_conns = CONNS_DEFAULT_MAX };

const struct nl_module_ops nl_conns_ops = {
	.name = "conns",
	.help = "TCP connection lifecycle: connect, accept, failed, close",
	.shared_object = "tcp",
	.spec = conns_spec,
	.cfg_size = sizeof(struct conns_cfg),
	.cfg_defaults = &defaults,
	.plan = conns_plan,
	.open = conns_open,
	.attach = conns_attach,
	.poll = conns_poll,
	.collect = conns_collect,
	.metrics = conns_metrics,
	.stats = tcp_core_stats,
	.findings = conns_findings_op,
	.destroy = conns_destroy,
};
