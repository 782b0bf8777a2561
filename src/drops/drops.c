// SPDX-License-Identifier: GPL-2.0
/* netlens drops: the module (BPF lifecycle) and the command (see src/drops/drops.bpf.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "drops/drops.h"
#include "framework/sockets.h"
#include "framework/module.h"
#include "framework/sys.h"
#include "drops.skel.h"

#define EVENT_BURST 100   /* records a CPU may emit at once before the rate applies */
#define READ_BATCH  1024  /* rows per bpf_map_lookup_batch(): serve reads them every second */

struct drops {
	struct drops_bpf *skel;
	struct ring_buffer *rb;
	struct drop_reasons reasons;
	struct nl_ksyms ksyms;
	struct drops_report report;
	struct drop_key *keys;        /* one batch of rows: READ_BATCH keys */
	uint64_t *percpu;             /* their values, one per possible CPU each */
	int ncpu;
	struct nl_module *m;
	const struct nl_opts *opts;   /* the command's, to load again without tp_btf */
	struct nl_fallback fb;        /* the skb:kfree_skb hook: which one got loaded */
	/* Datagram sockets' owners at connect(2): the cgroup hooks, else the tracepoint. */
	struct bpf_link *connect_links[2];
	struct bpf_link *connect_tp;
};

/* What the running kernel offers, read once from its BTF. */
struct kernel_info {
	bool reasons;          /* enum skb_drop_reason (Linux 5.17+) */
	bool raw_tp;           /* raw tracepoints can be loaded */
	bool raw_tp_rx_sk;     /* and raw kfree_skb has (skb, location, reason, rx_sk): 6.10+ */
	bool rdonly_cast;      /* the kfunc bpf_rdonly_cast(), which the connect hooks need: 6.2+ */
};

static const struct kernel_info *kernel_info(void)
{
	static struct kernel_info ki;
	static bool done;
	struct btf *btf;

	if (done)
		return &ki;
	done = true;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return &ki;
	ki.reasons = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM) > 0;
	ki.raw_tp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) == 1;
	ki.raw_tp_rx_sk = ki.raw_tp && nl_tracepoint_args(btf, "kfree_skb") == 4;
	ki.rdonly_cast = btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return &ki;
}

#define DROPS_HOOKS (NL_HOOK_BIT(NL_HOOK_TP_BTF) | NL_HOOK_BIT(NL_HOOK_RAW_TP) | \
		     NL_HOOK_BIT(NL_HOOK_TRACEPOINT))

/*
 * The cheapest skb:kfree_skb hook this kernel may take. tp_btf and the raw
 * tracepoint need the Linux 6.10+ arguments; tp_btf reads the skb with
 * plain loads instead of bpf_probe_read_kernel(), but a kernel may refuse
 * it: then raw_tp (src/framework/fallback.h).
 */
static enum nl_hook auto_hook(void)
{
	return kernel_info()->raw_tp_rx_sk ? NL_HOOK_TP_BTF : NL_HOOK_TRACEPOINT;
}

/*
 * The socket kinds need their raw tracepoints, whatever --hook says about
 * kfree_skb: the classic ones carry neither the socket nor the packet.
 */
static bool want_kind(const struct drops_cfg *cfg, enum drop_kind kind)
{
	const char *tp = kind == DROP_KIND_RCVQUEUE_FULL ? "sock_rcvqueue_full"
							  : "sock_exceed_buf_limit";
	bool listed = !cfg || !cfg->nreasons;

	for (unsigned int i = 0; cfg && i < cfg->nreasons; i++)
		listed |= drop_kind_by_name(cfg->reasons[i]) == (int)kind;
	return listed && kernel_info()->raw_tp && nl_tracepoint_exists("sock", tp);
}

static int drops_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct drops_cfg *cfg = m->cfg;
	const struct drops *d = m->priv;
	bool rq = want_kind(cfg, DROP_KIND_RCVQUEUE_FULL), ex = want_kind(cfg, DROP_KIND_EXCEED_BUF);
	enum nl_hook loaded = d ? d->fb.loaded : NL_HOOK_AUTO;
	enum nl_hook asked = cfg ? cfg->hook : NL_HOOK_AUTO;
	enum nl_hook hook;

	if (!nl_tracepoint_exists("skb", "kfree_skb") || !kernel_info()->reasons) {
		snprintf(buf, len, "unavailable: skb:kfree_skb with drop reasons needs Linux 5.17+ "
			 "and its BTF");
		return -ENOTSUP;
	}
	hook = nl_hook_pick(loaded, asked, auto_hook());
	snprintf(buf, len, "%s skb:kfree_skb%s; %s%s%s%s; socket owners: tracepoint "
		 "syscalls:sys_enter_bind, %s", nl_hook_name(hook),
		 nl_hook_may_fall_back(loaded, asked, hook) ? " (raw_tp if refused)" : "",
		 rq || ex ? "raw_tp " : "no socket kinds",
		 rq ? "sock:sock_rcvqueue_full" : "", rq && ex ? ", " : "",
		 ex ? "sock:sock_exceed_buf_limit" : "",
		 d && d->connect_tp ? "sys_enter_connect (the cgroup connect hooks were refused)" :
		 kernel_info()->rdonly_cast ? "cgroup/connect4,6" : "sys_enter_connect");
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct nl_module *m = ctx;
	struct drops *d = m->priv;

	drops_report_event(&d->report, m->sink, data, len);
	return 0;
}

/* --reason names to kernel values (checked by drops_main(), so they resolve). */
static void set_filter(struct drops_bpf *skel, const struct drops_cfg *cfg,
		       const struct drop_reasons *reasons)
{
	struct drop_filter *f = (struct drop_filter *)&skel->rodata->drop_filter;
	uint32_t v;

	f->ignore_reason = ~0U;
	if (!cfg->all && !drop_reason_value(reasons, "NOT_SPECIFIED", &v))
		f->ignore_reason = v;
	for (unsigned int i = 0; i < cfg->nreasons; i++)
		if (!drop_reason_value(reasons, cfg->reasons[i], &v))
			f->reasons[f->nreasons++] = v;
	/* Only socket kinds named: no kfree_skb reason may pass. */
	if (cfg->nreasons && !f->nreasons) {
		f->reasons[0] = ~0U;
		f->nreasons = 1;
	}
}

/* Individual records per CPU: the command's rate split over the CPUs. */
static void set_rate(struct drops_bpf *skel, const struct drops_cfg *cfg, int ncpu,
		     const struct nl_sink *sink)
{
	uint64_t cost = 0, burst = cfg->events_per_sec / ncpu;

	/* Tables show only the summary, and a discarding sink nothing: no record is needed. */
	if (cfg->events_per_sec && sink->kind == NL_OUT_JSON && nl_sink_wants_records(sink))
		cost = 1000000000ULL * ncpu / cfg->events_per_sec;
	/* A second's worth at once, at least one record, at most EVENT_BURST. */
	burst = burst < 1 ? 1 : burst > EVENT_BURST ? EVENT_BURST : burst;
	skel->rodata->event_cost_ns = cost;
	skel->rodata->event_burst_ns = cost * burst;
}

static void choose_hooks(struct drops_bpf *skel, const struct drops_cfg *cfg, enum nl_hook hook)
{
	/* One program per tracepoint. */
	bpf_program__set_autoload(skel->progs.drops_kfree_skb_btf, hook == NL_HOOK_TP_BTF);
	bpf_program__set_autoload(skel->progs.drops_kfree_skb_raw, hook == NL_HOOK_RAW_TP);
	bpf_program__set_autoload(skel->progs.drops_kfree_skb_tp, hook == NL_HOOK_TRACEPOINT);
	bpf_program__set_autoload(skel->progs.drops_rcvqueue_full,
				  want_kind(cfg, DROP_KIND_RCVQUEUE_FULL));
	bpf_program__set_autoload(skel->progs.drops_exceed_buf_limit,
				  want_kind(cfg, DROP_KIND_EXCEED_BUF));
}

static void detach_connect(struct drops *d)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(d->connect_links[i]);
		d->connect_links[i] = NULL;
	}
	bpf_link__destroy(d->connect_tp);
	d->connect_tp = NULL;
}

static void unload(void *ctx)
{
	struct drops *d = ctx;

	detach_connect(d);
	ring_buffer__free(d->rb);
	drops_bpf__destroy(d->skel);
	d->rb = NULL;
	d->skel = NULL;
}

/* Opens, configures and loads the object with this kfree_skb hook; maps the ring. */
static int load(void *ctx, enum nl_hook hook)
{
	struct drops *d = ctx;
	struct nl_module *m = d->m;
	const struct drops_cfg *cfg = m->cfg;
	const struct nl_opts *o = d->opts;
	int err;

	d->skel = drops_bpf__open();
	if (!d->skel)
		return nl_module_fail(m, -errno, "cannot open the BPF object");
	memcpy((void *)&d->skel->rodata->nl_filter, &o->filter, sizeof(o->filter));
	set_filter(d->skel, cfg, &d->reasons);
	set_rate(d->skel, cfg, d->ncpu, m->sink);
	nl_ringbuf_setup(d->skel->maps.events, &d->skel->rodata->nl_wakeup_bytes, o->ringbuf_bytes);
	bpf_map__set_max_entries(d->skel->maps.drop_counts, cfg->max_rows);
	choose_hooks(d->skel, cfg, hook);
	/* Attached by attach_connect(): one of the two ways, not both. */
	bpf_program__set_autoattach(d->skel->progs.drops_connect, false);
	bpf_program__set_autoload(d->skel->progs.drops_connect4, kernel_info()->rdonly_cast);
	bpf_program__set_autoload(d->skel->progs.drops_connect6, kernel_info()->rdonly_cast);
	err = drops_bpf__load(d->skel);
	if (err)
		return nl_module_fail(m, err, "the kernel refused the BPF programs (%s)",
				      nl_hook_name(hook));
	m->obj = d->skel->obj;
	return nl_module_ringbuf(m, d->skel->maps.events, on_event, &d->rb);
}

/*
 * Datagram sockets' owners at connect(2): the cgroup v2 root's connect4/6
 * hooks, where a TCP connect costs one load; the syscall tracepoint, which
 * walks the descriptor on every connect(2), where those are refused.
 */
static int attach_connect(struct drops *d)
{
	struct bpf_program *progs[2] = { d->skel->progs.drops_connect4,
					 d->skel->progs.drops_connect6 };
	char mnt[256];
	int fd = -1;

	if (kernel_info()->rdonly_cast && nl_cgroup2_root(mnt, sizeof(mnt)))
		fd = open(mnt, O_RDONLY | O_DIRECTORY);
	for (int i = 0; fd >= 0 && i < 2; i++)
		d->connect_links[i] = bpf_program__attach_cgroup(progs[i], fd);
	if (fd >= 0)
		close(fd);
	if (d->connect_links[0] && d->connect_links[1])
		return 0;
	detach_connect(d);
	d->connect_tp = bpf_program__attach(d->skel->progs.drops_connect);
	return d->connect_tp ? 0 : nl_module_fail(d->m, -errno, "cannot attach to "
						  "syscalls:sys_enter_connect");
}

static int attach(void *ctx)
{
	struct drops *d = ctx;
	int err = drops_bpf__attach(d->skel);

	if (err)
		return nl_module_fail(d->m, err, "cannot attach to the tracepoints (%s)",
				      nl_hook_name(d->fb.loaded));
	return attach_connect(d);
}

static void put_owner(void *ctx, uint64_t ino, const struct nl_owner *owner)
{
	bpf_map_update_elem(*(int *)ctx, &ino, owner, BPF_NOEXIST);
}

/*
 * The owners of the sockets open before netlens, for the kernel side (which
 * learns later ones when they are bound or connected). Before attaching,
 * while netlens may still read every process's /proc/PID/fd.
 */
static void fill_owners(struct drops *d)
{
	int fd = bpf_map__fd(d->skel->maps.sock_owners);

	nl_sockets_scan("/proc", put_owner, &fd);
}

static const struct nl_owner *owner_of(void *ctx, uint64_t ino, struct nl_owner *buf)
{
	struct drops *d = ctx;

	return bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.sock_owners), &ino, buf) ? NULL : buf;
}

static int drops_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct drops_cfg *cfg = m->cfg;
	struct drops *d;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	m->priv = d;
	d->m = m;
	d->opts = o;
	d->fb = (struct nl_fallback){ .asked = cfg->hook, .ctx = d, .load = load,
				      .attach = attach, .unload = unload };
	if (drops_plan(m, m->err, sizeof(m->err)))
		return -ENOTSUP;
	err = drop_reasons_load(&d->reasons);
	if (err)
		return nl_module_fail(m, err, "cannot read drop reasons from the kernel's BTF");
	if (nl_ksyms_load(&d->ksyms) || d->ksyms.hidden)
		fprintf(stderr, "netlens drops: /proc/kallsyms shows no addresses (kptr_restrict?): "
			"locations are printed as addresses\n");
	d->ncpu = libbpf_num_possible_cpus();
	d->keys = calloc(READ_BATCH, sizeof(*d->keys));
	d->percpu = d->ncpu > 0 ? calloc((size_t)READ_BATCH * d->ncpu, sizeof(*d->percpu)) : NULL;
	if (!d->keys || !d->percpu) {
		snprintf(m->err, sizeof(m->err), "cannot count the CPUs");
		return -ENOMEM;
	}
	drops_report_init(&d->report, &d->reasons, &d->ksyms, nl_now_mono());
	d->report.all = cfg->all;
	d->report.owner_of = owner_of;
	d->report.owner_ctx = d;
	err = nl_load_fallback(&d->fb, nl_hook_pick(NL_HOOK_AUTO, cfg->hook, auto_hook()));
	if (!err)
		fill_owners(d);
	return err;
}

static int drops_attach(struct nl_module *m)
{
	struct drops *d = m->priv;

	return nl_attach_fallback(&d->fb);
}

static int drops_poll(struct nl_module *m, int timeout_ms)
{
	struct drops *d = m->priv;

	return nl_ringbuf_read(d->rb, timeout_ms);
}

/* One batch of rows: each row's total, summed over the CPUs, into the report. */
static void add_counts(void *ctx, uint32_t n)
{
	struct drops *d = ctx;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t total = 0;

		for (int c = 0; c < d->ncpu; c++)
			total += d->percpu[(size_t)i * d->ncpu + c];
		drops_report_set(&d->report, &d->keys[i], total);
	}
}

/* Every row, READ_BATCH per system call: serve reads a full table (16384 rows) every second. */
static void read_counts(struct drops *d)
{
	struct drop_key token;

	nl_map_read_batches(bpf_map__fd(d->skel->maps.drop_counts), d->keys, d->percpu, READ_BATCH,
			    &token, add_counts, d);
}

/*
 * Tracepoint hits the kernel did not run a program for: it skips a program
 * that fires again on a CPU where it is already running (a drop in an
 * interrupt that came during the program, or after it was preempted).
 */
static uint64_t recursion_misses(struct drops *d)
{
	struct bpf_program *p;
	uint64_t misses = 0;

	bpf_object__for_each_program(p, d->skel->obj) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);

		if (bpf_program__fd(p) >= 0 &&
		    !bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			misses += info.recursion_misses;
	}
	return misses;
}

static void drops_collect(struct nl_module *m, bool final)
{
	struct drops *d = m->priv;
	uint64_t st[NL_STAT_MAX];

	read_counts(d);
	drops_report_summary(&d->report, m->sink, nl_now_mono());
	if (!final || nl_read_stats(bpf_map__fd(d->skel->maps.stats), st))
		return;
	d->report.missed = recursion_misses(d);
	drops_report_stats(&d->report, m->sink, st);
}

static void drops_metrics(struct nl_module *m, struct nl_prom *p)
{
	struct drops *d = m->priv;
	uint64_t st[NL_STAT_MAX];

	if (nl_read_stats(bpf_map__fd(d->skel->maps.stats), st))
		return;
	read_counts(d);
	drops_report_metrics(&d->report, p, st);
}

static void drops_findings_op(struct nl_module *m, struct nl_findings *out)
{
	struct drops *d = m->priv;

	read_counts(d);
	drops_findings(&d->report, out);
}

static void drops_destroy(struct nl_module *m)
{
	struct drops *d = m->priv;

	if (!d)
		return;
	unload(d);
	nl_cgroup2_release();
	drops_report_free(&d->report);
	nl_ksyms_free(&d->ksyms);
	drop_reasons_free(&d->reasons);
	free(d->percpu);
	free(d->keys);
	free(d);
	m->priv = NULL;
}

static int set_reason(void *ctx, const char *arg, char *err, size_t len)
{
	struct drops_cfg *cfg = ctx;

	if (cfg->nreasons == DROPS_MAX_REASONS) {
		snprintf(err, len, "at most %d reasons", DROPS_MAX_REASONS);
		return -1;
	}
	cfg->reasons[cfg->nreasons++] = arg;
	return 0;
}

static int set_all(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg, (void)err, (void)len;
	((struct drops_cfg *)ctx)->all = true;
	return 0;
}

static int set_max_rows(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 16, 1 << 22, &((struct drops_cfg *)ctx)->max_rows, err, len);
}

static int set_eps(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 0, 1000000, &((struct drops_cfg *)ctx)->events_per_sec, err, len);
}

static int set_hook(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_hook_parse(arg, DROPS_HOOKS, &((struct drops_cfg *)ctx)->hook, err, len);
}

/* Every --reason must name a reason of this kernel or a socket kind. */
static void check_reasons(void *ctx, struct nl_opts *o)
{
	const struct drops_cfg *cfg = ctx;
	struct drop_reasons reasons;
	uint32_t v;
	int err;

	(void)o;
	if (!cfg->nreasons)
		return;
	err = drop_reasons_load(&reasons);
	if (err)
		nl_die(NL_EXIT_ENV, "drops: cannot read drop reasons from the kernel's BTF: %s",
		       strerror(-err));
	for (unsigned int i = 0; i < cfg->nreasons; i++) {
		const char *name = cfg->reasons[i];

		if (drop_reason_value(&reasons, name, &v) && drop_kind_by_name(name) < 0) {
			drop_reasons_free(&reasons);
			nl_die(NL_EXIT_USAGE, "drops: --reason: '%s' is not a drop reason of this "
			       "kernel (e.g. NO_SOCKET, NETFILTER_DROP; the list: "
			       "/sys/kernel/tracing/events/skb/kfree_skb/format)", nl_echo(name));
		}
	}
	drop_reasons_free(&reasons);
}

/* `netlens drops`'s options, also parsed by `netlens serve`. */
static const struct nl_cmd_spec *drops_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "reason", 'r', "NAME", "only this drop reason (NO_SOCKET) or socket kind; repeatable",
		  set_reason },
		{ "all", 'a', NULL, "also benign drops (QUEUE_PURGE, TCP_CLOSE...) and NOT_SPECIFIED ones",
		  set_all },
		{ "events-per-sec", NL_OPT_LONG_ONLY, "N",
		  "JSON drop records a second at most, the rest counted (default 1000)",
		  set_eps },
		{ "max-rows", NL_OPT_LONG_ONLY + 1, "N",
		  "distinct summary rows counted in the kernel (default 16384)", set_max_rows },
		{ "hook", NL_OPT_LONG_ONLY + 2, "auto|tp_btf|raw_tp|tracepoint",
		  "skb:kfree_skb hook (default auto)", set_hook },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "drops",
		.summary = "Packets the kernel dropped, with the kernel's own drop reason, the code\n"
			   "location and the packet's addresses; socket receive-buffer saturation.",
		.sets = NL_OPTS_OUTPUT | NL_OPTS_EVENTS | NL_OPTS_INTERVAL,
		.opts = opts,
		.check = check_reasons,
	};
	return &spec;
}

static const struct drops_cfg defaults = {
	.max_rows = DROPS_DEFAULT_ROWS, .events_per_sec = DROPS_DEFAULT_EPS,
};

const struct nl_module_ops nl_drops_ops = {
	.name = "drops",
	.help = "packets the kernel dropped, with the kernel's reason and location",
	.spec = drops_spec,
	.cfg_size = sizeof(struct drops_cfg),
	.cfg_defaults = &defaults,
	.plan = drops_plan,
	.open = drops_open,
	.attach = drops_attach,
	.poll = drops_poll,
	.collect = drops_collect,
	.metrics = drops_metrics,
	.findings = drops_findings_op,
	.destroy = drops_destroy,
};
