// SPDX-License-Identifier: GPL-2.0
/* netlens retrans: the module (BPF lifecycle) and the command (see src/retrans/retrans.bpf.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "framework/module.h"
#include "output/prom.h"
#include "retrans/retrans.h"
#include "framework/sys.h"
#include "retrans.skel.h"

#define MAX_DESTS 16384

struct retrans {
	struct retrans_bpf *skel;
	struct ring_buffer *rb;
	uint64_t bad_records;
	struct nl_fold *fold;     /* serve's metrics */
};

/* How many arguments a raw tracepoint passes, from its btf_trace_* typedef; -1 if unknown. */
static int raw_tp_args(const char *name)
{
	static struct btf *vmlinux;
	const struct btf_type *t;
	char tname[128];
	int id;

	if (!vmlinux && !(vmlinux = btf__load_vmlinux_btf()))
		return -1;
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	id = btf__find_by_name_kind(vmlinux, tname, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	t = btf__type_by_id(vmlinux, btf__type_by_id(vmlinux, id)->type);   /* pointer */
	t = t ? btf__type_by_id(vmlinux, t->type) : NULL;                      /* prototype */
	if (!t || !btf_is_func_proto(t))
		return -1;
	return btf_vlen(t) - 1;   /* the first is the tracepoint's private data */
}

/* Recent kernels pass the transmit's result to tcp_retransmit_skb (a third argument). */
static bool retransmit_has_err(void)
{
	return raw_tp_args("tcp_retransmit_skb") >= 3;
}

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
	snprintf(buf, len, "raw_tp tcp:tcp_retransmit_skb%s, tcp:tcp_retransmit_synack%s, "
		 "sock:inet_sock_set_state; tracepoints syscalls:sys_exit_accept{,4} for owners",
		 retransmit_has_err() ? " (with err)" : "",
		 nl_tracepoint_exists("tcp", "tcp_retransmit_synack") ? "" : " (absent)");
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

static void choose_hooks(struct retrans_bpf *skel)
{
	bool err_arg = retransmit_has_err();

	bpf_program__set_autoload(skel->progs.retrans_skb_err, err_arg);
	bpf_program__set_autoload(skel->progs.retrans_skb, !err_arg);
	bpf_program__set_autoload(skel->progs.retrans_synack,
				  nl_tracepoint_exists("tcp", "tcp_retransmit_synack"));
	bpf_program__set_autoload(skel->progs.retrans_accept4_exit,
				  nl_tracepoint_exists("syscalls", "sys_exit_accept4"));
	bpf_program__set_autoload(skel->progs.retrans_accept_exit,
				  nl_tracepoint_exists("syscalls", "sys_exit_accept"));
}

static int retrans_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct retrans_cfg *cfg = m->cfg;
	struct retrans *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	m->priv = r;
	if (retrans_plan(m, m->err, sizeof(m->err)))
		return -ENOTSUP;
	r->skel = retrans_bpf__open();
	if (!r->skel)
		return nl_module_fail(m, -errno, "cannot open the BPF object");
	memcpy((void *)&r->skel->rodata->nl_filter, &o->filter, sizeof(o->filter));
	r->skel->rodata->rt_summary_only = cfg->summary_only;
	nl_ringbuf_setup(r->skel->maps.events, &r->skel->rodata->nl_wakeup_bytes, o->ringbuf_bytes);
	bpf_map__set_max_entries(r->skel->maps.rt_socks, cfg->max_conns);
	bpf_map__set_max_entries(r->skel->maps.sk_owners, cfg->max_conns);
	bpf_map__set_max_entries(r->skel->maps.dests, MAX_DESTS);
	choose_hooks(r->skel);

	err = retrans_bpf__load(r->skel);
	if (err)
		return nl_module_fail(m, err, "the kernel refused the BPF programs");
	m->obj = r->skel->obj;
	return nl_module_ringbuf(m, r->skel->maps.events, on_event, &r->rb);
}

static int retrans_attach(struct nl_module *m)
{
	struct retrans *r = m->priv;
	int err = retrans_bpf__attach(r->skel);

	return err ? nl_module_fail(m, err, "cannot attach to the tracepoints") : 0;
}

static int retrans_poll(struct nl_module *m, int timeout_ms)
{
	struct retrans *r = m->priv;

	return nl_ringbuf_read(r->rb, timeout_ms);
}

/* Every destination's totals, after the kernel added what live connections sent. */
static size_t read_dests(struct retrans *r, struct retrans_row **out)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	int fd = bpf_map__fd(r->skel->maps.dests);
	struct retrans_dest_key key, cur, *prev = NULL;
	struct retrans_row *rows;
	size_t n = 0;

	bpf_prog_test_run_opts(bpf_program__fd(r->skel->progs.retrans_flush), &run);
	rows = calloc(MAX_DESTS, sizeof(*rows));
	while (rows && n < MAX_DESTS && !bpf_map_get_next_key(fd, prev, &key)) {
		if (!bpf_map_lookup_elem(fd, &key, &rows[n].d))
			rows[n++].key = key;
		cur = key;
		prev = &cur;
	}
	*out = rows;
	return n;
}

static void retrans_collect(struct nl_module *m, bool final)
{
	struct retrans *r = m->priv;
	struct retrans_row *rows;
	uint64_t st[NL_STAT_MAX];
	size_t n;

	(void)final;   /* totals are cumulative: the same record at any time */
	if (nl_read_stats(bpf_map__fd(r->skel->maps.stats), st))
		return;
	n = read_dests(r, &rows);
	retrans_report_summary(m->sink, rows, n, st, r->bad_records);
	free(rows);
}

/* Fresh at every page: the flush adds what live connections sent since the last one. */
static void retrans_metrics(struct nl_module *m, struct nl_prom *p)
{
	struct retrans *r = m->priv;
	struct retrans_row *rows;
	size_t n = read_dests(r, &rows);

	retrans_metrics_write(&r->fold, rows, n, r->bad_records, p);
	free(rows);
}

static void retrans_destroy(struct nl_module *m)
{
	struct retrans *r = m->priv;

	if (!r)
		return;
	nl_fold_free(r->fold);
	ring_buffer__free(r->rb);
	retrans_bpf__destroy(r->skel);
	free(r);
	m->priv = NULL;
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
	.spec = retrans_spec,
	.cfg_size = sizeof(struct retrans_cfg),
	.cfg_defaults = &defaults,
	.plan = retrans_plan,
	.open = retrans_open,
	.attach = retrans_attach,
	.poll = retrans_poll,
	.collect = retrans_collect,
	.metrics = retrans_metrics,
	.destroy = retrans_destroy,
};
