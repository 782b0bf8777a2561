// SPDX-License-Identifier: GPL-2.0
/* netlens conns: the module (BPF lifecycle) and the command (see src/conns/conns.bpf.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "conns/conns.h"
#include "framework/module.h"
#include "framework/sys.h"
#include "conns.skel.h"

struct conns {
	struct conns_bpf *skel;
	struct ring_buffer *rb;
	struct conns_report report;
};

/* Kernel features, probed once (each probe loads a program). */
static bool raw_tp_supported(void)
{
	static int supported = -1;

	if (supported < 0)
		supported = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) == 1;
	return supported;
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

/* The cheaper raw tracepoint when the kernel has it, unless --hook says otherwise. */
static bool use_raw_tp(const struct conns_cfg *cfg)
{
	if (cfg && cfg->hook != CONNS_HOOK_AUTO)
		return cfg->hook == CONNS_HOOK_RAW_TP;
	return raw_tp_supported();
}

static int conns_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct conns_cfg *cfg = m->cfg;
	bool accept = nl_tracepoint_exists("syscalls", "sys_exit_accept4");

	if (!nl_tracepoint_exists("sock", "inet_sock_set_state")) {
		snprintf(buf, len, "unavailable: no sock:inet_sock_set_state tracepoint (Linux 4.16+)");
		return -ENOTSUP;
	}
	snprintf(buf, len, "%s sock:inet_sock_set_state; %s; %s",
		 use_raw_tp(cfg) ? "raw_tp" : "tracepoint",
		 accept ? "tracepoints syscalls:sys_exit_accept{,4} for the accepting process"
			: "no accept tracepoints: accepted sockets have pid 0",
		 connect_exit_usable() ? "syscalls:sys_exit_connect for failures before a SYN"
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

static void choose_hooks(struct conns_bpf *skel, const struct conns_cfg *cfg)
{
	bool raw = use_raw_tp(cfg);

	/* One hook per event. */
	bpf_program__set_autoload(skel->progs.conns_state_raw, raw);
	bpf_program__set_autoload(skel->progs.conns_state_tp, !raw);
	bpf_program__set_autoload(skel->progs.conns_accept4_exit,
				  nl_tracepoint_exists("syscalls", "sys_exit_accept4"));
	bpf_program__set_autoload(skel->progs.conns_accept_exit,
				  nl_tracepoint_exists("syscalls", "sys_exit_accept"));
	bpf_program__set_autoload(skel->progs.conns_connect_exit, connect_exit_usable());
}

static int conns_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct conns_cfg *cfg = m->cfg;
	struct conns *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	m->priv = c;
	if (conns_plan(m, m->err, sizeof(m->err)))
		return -ENOTSUP;
	conns_report_init(&c->report);

	c->skel = conns_bpf__open();
	if (!c->skel)
		return nl_module_fail(m, -errno, "cannot open the BPF object");
	memcpy((void *)&c->skel->rodata->nl_filter, &o->filter, sizeof(o->filter));
	nl_ringbuf_setup(c->skel->maps.events, &c->skel->rodata->nl_wakeup_bytes, o->ringbuf_bytes);
	bpf_map__set_max_entries(c->skel->maps.conns, cfg->max_conns);
	choose_hooks(c->skel, cfg);

	err = conns_bpf__load(c->skel);
	if (err)
		return nl_module_fail(m, err, "the kernel refused the BPF programs");
	m->obj = c->skel->obj;
	return nl_module_ringbuf(m, c->skel->maps.events, on_event, &c->rb);
}

static int conns_attach(struct nl_module *m)
{
	struct conns *c = m->priv;
	int err = conns_bpf__attach(c->skel);

	return err ? nl_module_fail(m, err, "cannot attach to the tracepoints") : 0;
}

static int conns_poll(struct nl_module *m, int timeout_ms)
{
	struct conns *c = m->priv;

	return nl_ringbuf_read(c->rb, timeout_ms);
}

static void conns_collect(struct nl_module *m, bool final)
{
	struct conns *c = m->priv;
	uint64_t st[NL_STAT_MAX];

	(void)final;   /* totals are cumulative: the same record at any time */
	if (!nl_read_stats(bpf_map__fd(c->skel->maps.stats), st))
		conns_report_summary(&c->report, m->sink, st);
}

static void conns_metrics(struct nl_module *m, struct nl_prom *p)
{
	conns_report_metrics(&((struct conns *)m->priv)->report, p);
}

static void conns_destroy(struct nl_module *m)
{
	struct conns *c = m->priv;

	if (!c)
		return;
	ring_buffer__free(c->rb);
	conns_bpf__destroy(c->skel);
	conns_report_free(&c->report);
	free(c);
	m->priv = NULL;
}

static int set_max_conns(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 64, 1 << 24, &((struct conns_cfg *)ctx)->max_conns, err, len);
}

static int set_hook(void *ctx, const char *arg, char *err, size_t len)
{
	struct conns_cfg *cfg = ctx;

	if (!strcmp(arg, "auto"))
		cfg->hook = CONNS_HOOK_AUTO;
	else if (!strcmp(arg, "raw_tp"))
		cfg->hook = CONNS_HOOK_RAW_TP;
	else if (!strcmp(arg, "tracepoint"))
		cfg->hook = CONNS_HOOK_TRACEPOINT;
	else {
		snprintf(err, len, "'%s' is not auto, raw_tp or tracepoint", arg);
		return -1;
	}
	return 0;
}

/* `netlens conns`'s options, also parsed by `netlens serve`. */
static const struct nl_cmd_spec *conns_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "max-conns", NL_OPT_LONG_ONLY, "N", "connections tracked at once (default 65536)", set_max_conns },
		{ "hook", NL_OPT_LONG_ONLY + 1, "auto|raw_tp|tracepoint",
		  "how to attach to sock:inet_sock_set_state (default auto)", set_hook },
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
	.spec = conns_spec,
	.cfg_size = sizeof(struct conns_cfg),
	.cfg_defaults = &defaults,
	.plan = conns_plan,
	.open = conns_open,
	.attach = conns_attach,
	.poll = conns_poll,
	.collect = conns_collect,
	.metrics = conns_metrics,
	.destroy = conns_destroy,
};
