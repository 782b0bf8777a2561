// SPDX-License-Identifier: GPL-2.0
/* netlens retrans: the module (a part of the TCP core) and the command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "framework/finding.h"
#include "framework/module.h"
#include "output/prom.h"
#include "retrans/retrans.h"
#include "framework/sys.h"
#include "tcp/tcp_core.h"
#include "tcp.skel.h"

struct retrans {
	struct ring_buffer *rb;
	uint64_t bad_records;
	struct nl_fold *fold;     /* serve's metrics */
	bool records;             /* a record per retransmission is wanted */
};

static int retrans_plan(const struct nl_module *m, char *buf, size_t len)
{
	(void)m;
	if (!nl_tracepoint_exists("tcp", "tcp_retransmit_skb") ||
	    !nl_tracepoint_exists("sock", "inet_sock_set_state")) {
		snprintf(buf, len, "unavailable: needs tcp:tcp_retransmit_skb and "
			 "sock:inet_sock_set_state (Linux 4.16+)");
		return -ENOTSUP;
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) != 1) {
		snprintf(buf, len, "unavailable: needs raw tracepoints");
		return -ENOTSUP;
	}
	snprintf(buf, len, "raw_tp tcp:tcp_retransmit_skb%s, tcp:tcp_retransmit_synack%s; "
		 "%s sock:inet_sock_set_state%s, tracepoints syscalls:sys_exit_accept{,4} for "
		 "owners (TCP core)",
		 tcp_core_retransmit_has_err() ? " (with err)" : "",
		 nl_tracepoint_exists("tcp", "tcp_retransmit_synack") ? "" : " (absent)",
		 nl_hook_name(tcp_core_hook(NL_HOOK_AUTO)),
		 tcp_core_may_fall_back(NL_HOOK_AUTO) ? " (raw_tp if refused)" : "");
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct nl_module *m = ctx;
	struct retrans *r = m->priv;

	if (!retrans_report_event(m->sink, data, len))
		r->bad_records++;
	return 0;
}

static void configure(struct tcp_bpf *skel, const void *ctx)
{
	const struct retrans *r = ctx;

	skel->rodata->rt_records = r->records;
}

static int retrans_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct retrans_cfg *cfg = m->cfg;
	struct tcp_part part = {
		.row = TCP_ROW_RETRANS, .max_conns = cfg->max_conns, .configure = configure,
	};
	struct retrans *r;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	m->priv = r;
	if (retrans_plan(m, m->err, sizeof(m->err)))
		return -ENOTSUP;
	r->records = !cfg->summary_only && nl_sink_wants_records(m->sink);
	part.ctx = r;
	return tcp_core_join(m, o, &part);
}

static int retrans_attach(struct nl_module *m)
{
	struct retrans *r = m->priv;
	int err = tcp_core_attach(m);

	if (err)
		return err;
	return nl_module_ringbuf(m, tcp_core_skel()->maps.retrans_events, on_event, &r->rb);
}

static int retrans_poll(struct nl_module *m, int timeout_ms)
{
	struct retrans *r = m->priv;

	return nl_ringbuf_read(r->rb, timeout_ms);
}

struct rows {
	struct retrans_row *v;
	size_t n, cap;
};

/* A destination retrans counted (conns may have made the entry alone). */
static void add_row(void *ctx, const struct nl_dest_key *k, const struct tcp_dest *d)
{
	struct rows *rows = ctx;
	struct retrans_row *v;

	if (!d->rt.calls && !d->rt.segments)
		return;
	if (rows->n == rows->cap) {
		v = realloc(rows->v, (rows->cap * 2 + 64) * sizeof(*v));
		if (!v)
			return;
		rows->v = v;
		rows->cap = rows->cap * 2 + 64;
	}
	rows->v[rows->n++] = (struct retrans_row){
		.key = *k, .d = d->rt, .handshakes = d->conns.connects + d->conns.failed,
	};
}

/* Every destination's totals, after the kernel added what live connections sent. */
static size_t read_dests(struct retrans_row **out)
{
	struct rows rows = {};

	tcp_core_each_dest(add_row, &rows);
	*out = rows.v;
	return rows.n;
}

static void retrans_collect(struct nl_module *m, bool final)
{
	struct retrans *r = m->priv;
	struct retrans_row *rows;
	uint64_t st[NL_STAT_MAX];
	size_t n;

	(void)final;   /* totals are cumulative: the same record at any time */
	if (tcp_core_stats(m, st))
		return;
	n = read_dests(&rows);
	retrans_report_summary(m->sink, rows, n, st, r->bad_records);
	free(rows);
}

/* Fresh at every page: the flush adds what live connections sent since the last one. */
static void retrans_metrics(struct nl_module *m, struct nl_prom *p)
{
	struct retrans *r = m->priv;
	struct retrans_row *rows;
	size_t n = read_dests(&rows);

	retrans_metrics_write(&r->fold, rows, n, r->bad_records, p);
	free(rows);
}

/* The totals since attach, as the summary reads them. */
static void retrans_findings_op(struct nl_module *m, struct nl_findings *out)
{
	struct retrans_row *rows;
	size_t n;

	(void)m;
	if (!tcp_core_skel())
		return;
	n = read_dests(&rows);
	retrans_findings(rows, n, out);
	free(rows);
}

static void retrans_destroy(struct nl_module *m)
{
	struct retrans *r = m->priv;

	if (!r)
		return;
	nl_fold_free(r->fold);
	ring_buffer__free(r->rb);
	tcp_core_leave(m);
	free(r);
	m->priv = NULL;
	m->obj = NULL;
}

static int set_max_conns(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 64, 1 << 24, &((struct retrans_cfg *)ctx)->max_conns, err, len);
}

static int set_summary(void *ctx, const char *arg, char *err, size_t len)
{
	struct retrans_cfg *cfg = ctx;

	(void)arg, (void)err, (void)len;
	cfg->summary_only = true;
	return 0;
}

/* `netlens retrans`'s options, also parsed by `netlens serve`. */
static const struct nl_cmd_spec *retrans_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "summary", NL_OPT_LONG_ONLY, NULL,
		  "only the per-destination totals (at exit and every --interval), no record "
		  "per retransmission", set_summary },
		{ "max-conns", NL_OPT_LONG_ONLY + 1, "N",
		  "connections whose segments are counted at once (default 65536)", set_max_conns },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "retrans",
		.summary = "TCP retransmissions: one record per retransmission (data, SYN, SYN-ACK)\n"
			   "with the socket's owner; per destination retransmitted and sent segments\n"
			   "and their ratio, worst first.",
		.sets = NL_OPTS_OUTPUT | NL_OPTS_EVENTS | NL_OPTS_INTERVAL,
		.opts = opts,
	};
	return &spec;
}

static const struct retrans_cfg defaults = { .max_conns = RETRANS_DEFAULT_MAX_CONNS };

const struct nl_module_ops nl_retrans_ops = {
	.name = "retrans",
	.help = "TCP retransmissions with their owner; per destination ratio",
	.shared_object = "tcp",
	.spec = retrans_spec,
	.cfg_size = sizeof(struct retrans_cfg),
	.cfg_defaults = &defaults,
	.plan = retrans_plan,
	.open = retrans_open,
	.attach = retrans_attach,
	.poll = retrans_poll,
	.collect = retrans_collect,
	.metrics = retrans_metrics,
	.stats = tcp_core_stats,
	.findings = retrans_findings_op,
	.destroy = retrans_destroy,
};
