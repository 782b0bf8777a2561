// SPDX-License-Identifier: GPL-2.0
/* netlens flows: the module (BPF lifecycle, XDP/TC attach, collection) and the command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "flows/flows.h"
#include "output/ipfix.h"
#include "framework/module.h"
#include "framework/sys.h"
#include "framework/tc.h"
#include "framework/xdp.h"
#include "flows.skel.h"

#define DRAIN_BATCH 1024

struct flows {
	struct flows_bpf *skel;
	struct flows_report report;
	struct ipfix ipfix;           /* --ipfix */
	int ncpu;
	int active;                   /* which generation map the programs write: 0 a, 1 b */
	/* XDP */
	__u32 xdp_flags;              /* the mode we got: XDP_FLAGS_DRV_MODE or _SKB_MODE */
	int xdp_link;                 /* its link's fd, 0 none */
	struct nl_tc tc;
	char attached[192];           /* what attach() got (XDP mode, clsact), for the start line */
	/* drain buffers */
	struct flow_key *keys;
	struct flow_val *vals;
};

static const char *dirs_name(unsigned int dirs)
{
	return dirs == (FLOWS_DIR_IN | FLOWS_DIR_OUT) ? "ingress and egress" :
	       dirs == FLOWS_DIR_OUT ? "egress" : "ingress";
}

static int flows_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct flows_cfg *cfg = m->cfg;
	const struct flows *f = m->priv;

	if (!cfg) {
		bool xdp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) == 1;
		bool tc = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL) == 1;

		if (!xdp && !tc) {
			snprintf(buf, len, "unavailable: neither XDP nor TC programs load here");
			return -ENOTSUP;
		}
		snprintf(buf, len, "%s%s%s", xdp ? "XDP ingress" : "",
			 xdp && tc ? ", " : "", tc ? "TC ingress and egress" : "");
		return 0;
	}
	if (f && f->attached[0]) {
		snprintf(buf, len, "%s", f->attached);
		return 0;
	}
	snprintf(buf, len, "%s %s on %s", cfg->hook == FLOWS_HOOK_XDP ? "XDP" : "TC",
		 dirs_name(cfg->directions), cfg->ifname);
	return 0;
}

/* The Observation Domain is the interface: its ifindex is the domain ID. */
static int open_ipfix(struct nl_module *m, struct flows *f, const struct flows_cfg *cfg)
{
	int err;

	if (!cfg->ipfix[0])
		return 0;
	err = ipfix_open(&f->ipfix, cfg->ifindex, (const struct sockaddr *)&cfg->ipfix_dest,
			 cfg->ipfix_dest_len);
	if (err)
		return nl_module_fail(m, err, "cannot open a UDP socket for the IPFIX collector %s",
				      cfg->ipfix);
	f->report.ipfix = &f->ipfix;
	/* The collector learns of us (and our templates) now, not an interval later. */
	flows_report_export(&f->report, nl_now_mono());
	return 0;
}

static int flows_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct flows_cfg *cfg = m->cfg;
	struct flows *f;
	int err;

	(void)o;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	m->priv = f;
	f->ipfix.fd = -1;
	f->ncpu = libbpf_num_possible_cpus();
	f->keys = calloc(DRAIN_BATCH, sizeof(*f->keys));
	f->vals = calloc((size_t)DRAIN_BATCH * (f->ncpu > 0 ? f->ncpu : 1), sizeof(*f->vals));
	if (f->ncpu <= 0 || !f->keys || !f->vals) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -ENOMEM;
	}
	f->skel = flows_bpf__open();
	if (!f->skel)
		return nl_module_fail(m, -errno, "cannot open the BPF object");
	bpf_map__set_max_entries(f->skel->maps.flows_a, cfg->max_flows);
	bpf_map__set_max_entries(f->skel->maps.flows_b, cfg->max_flows);
	/* flows writes no events: no ring buffer. */
	bpf_map__set_autocreate(f->skel->maps.events, false);
	bpf_program__set_autoload(f->skel->progs.flows_xdp, cfg->hook == FLOWS_HOOK_XDP);
	bpf_program__set_autoload(f->skel->progs.flows_tc_ingress,
				  cfg->hook == FLOWS_HOOK_TC && (cfg->directions & FLOWS_DIR_IN));
	bpf_program__set_autoload(f->skel->progs.flows_tc_egress,
				  cfg->hook == FLOWS_HOOK_TC && (cfg->directions & FLOWS_DIR_OUT));
	err = flows_bpf__load(f->skel);
	if (err)
		return nl_module_fail(m, err, "the kernel refused the BPF programs");
	m->obj = f->skel->obj;
	flows_report_init(&f->report, cfg, nl_now_mono());
	return open_ipfix(m, f, cfg);
}

/*
 * An XDP program on the interface that a killed netlens attached through
 * netlink (as netlens did before it used links) and that nobody holds: it
 * is removed, and said. Ours now is a link, which ends with the process.
 */
static void remove_stale_xdp(struct nl_module *m, const struct flows_cfg *cfg)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(cfg->ifindex, 0, &q) || !q.prog_id ||
	    q.attach_mode == XDP_ATTACHED_MULTI || !nl_prog_is_stale(q.prog_id, "flows_xdp"))
		return;
	if (!bpf_xdp_detach(cfg->ifindex, q.attach_mode == XDP_ATTACHED_SKB ?
			    XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, NULL))
		fprintf(stderr, "netlens %s: removed the XDP program (id %u) left on %s by a "
			"netlens run that is gone\n", m->ops->name, q.prog_id, cfg->ifname);
}

/* A link: the program leaves with the process, however it ends. */
static int attach_xdp(struct nl_module *m, struct flows *f, const struct flows_cfg *cfg)
{
	int fd;

	remove_stale_xdp(m, cfg);
	if (nl_xdp_make_room(cfg->ifindex, cfg->ifname, cfg->force, m->err, sizeof(m->err)))
		return -EEXIST;
	fd = nl_xdp_link(bpf_program__fd(f->skel->progs.flows_xdp), cfg->ifindex, cfg->xdp_mode,
			 &f->xdp_flags);
	if (fd < 0)
		return nl_module_fail(m, fd, "cannot attach XDP (%s mode) to %s",
				      nl_xdp_flags_name(f->xdp_flags), cfg->ifname);
	f->xdp_link = fd;
	snprintf(f->attached, sizeof(f->attached), "XDP ingress on %s, %s mode", cfg->ifname,
		 nl_xdp_flags_name(f->xdp_flags));
	return 0;
}

static int attach_tc(struct nl_module *m, struct flows *f, const struct flows_cfg *cfg)
{
	struct bpf_program *progs[2] = { f->skel->progs.flows_tc_ingress,
					 f->skel->progs.flows_tc_egress };
	int err;

	for (int dir = FLOW_DIR_INGRESS; dir <= FLOW_DIR_EGRESS; dir++) {
		if (!(cfg->directions & (1u << dir)))
			continue;
		err = nl_tc_attach(m, &f->tc, cfg->ifindex, cfg->ifname,
				   dir == FLOW_DIR_INGRESS ? NL_TC_INGRESS : NL_TC_EGRESS,
				   bpf_program__fd(progs[dir]));
		if (err)
			return err;
	}
	snprintf(f->attached, sizeof(f->attached), "TC %s on %s, %s%s%s",
		 dirs_name(cfg->directions), cfg->ifname, nl_tc_kind_name(f->tc.kind),
		 f->tc.kind == NL_TC_TCX || f->tc.qdisc_ours ? "" : ", clsact qdisc already there",
		 cfg->hook_set || cfg->directions & FLOWS_DIR_OUT ? "" :
		 " (default on veth: native XDP would turn off the peer's GSO)");
	return 0;
}

static int flows_attach(struct nl_module *m)
{
	const struct flows_cfg *cfg = m->cfg;
	struct flows *f = m->priv;

	return cfg->hook == FLOWS_HOOK_XDP ? attach_xdp(m, f, cfg) : attach_tc(m, f, cfg);
}

/* Reads and empties a generation map nothing writes any more. */
static int drain(struct flows *f, int map_fd)
{
	__u32 in_batch = 0, out_batch = 0;
	bool first = true;
	int err = 0;

	for (;;) {
		__u32 count = DRAIN_BATCH;

		err = bpf_map_lookup_and_delete_batch(map_fd, first ? NULL : &in_batch, &out_batch,
						      f->keys, f->vals, &count, NULL);
		if (err && err != -ENOENT)
			return err;
		for (__u32 i = 0; i < count; i++) {
			if (flows_report_add(&f->report, &f->keys[i], &f->vals[i]))
				return -ENOMEM;
		}
		if (err == -ENOENT)
			return 0;
		in_batch = out_batch;
		first = false;
	}
}

static void read_other(struct flows *f, struct flow_val *out)
{
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	if (!bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.flow_other), &zero, f->vals))
		flows_sum_cpus(f->vals, f->ncpu, out);
}

/*
 * Points the programs at the other (empty) generation and reads the old
 * one. The slot update returns after an RCU grace period: every program run
 * that could still hold the old map has finished (docs/flows.md).
 */
static void flows_collect(struct nl_module *m, bool final)
{
	struct flows *f = m->priv;
	struct bpf_map *gens[2] = { f->skel->maps.flows_a, f->skel->maps.flows_b };
	int next = !f->active, next_fd = bpf_map__fd(gens[next]);
	uint64_t st[NL_STAT_MAX];
	struct flow_val other;
	__u32 zero = 0;
	int err;

	(void)final;   /* every collection is a complete interval */
	err = bpf_map_update_elem(bpf_map__fd(f->skel->maps.flow_gen), &zero, &next_fd, BPF_ANY);
	if (err) {
		fprintf(stderr, "netlens flows: cannot switch the flow map generation: %s\n",
			strerror(-err));
		return;
	}
	err = drain(f, bpf_map__fd(gens[f->active]));
	f->active = next;
	if (err)
		fprintf(stderr, "netlens flows: reading the flow map failed: %s\n", strerror(-err));
	read_other(f, &other);
	if (nl_read_stats(bpf_map__fd(f->skel->maps.stats), st))
		return;
	flows_report_interval(&f->report, m->sink, nl_now_mono(), st, &other);
}

static void detach(struct flows *f)
{
	if (f->xdp_link > 0)
		close(f->xdp_link);
	f->xdp_link = 0;
	nl_tc_detach(&f->tc);
}

static void flows_destroy(struct nl_module *m)
{
	struct flows *f = m->priv;

	if (!f)
		return;
	if (f->skel)
		detach(f);
	flows_bpf__destroy(f->skel);
	flows_report_free(&f->report);
	ipfix_close(&f->ipfix);
	free(f->keys);
	free(f->vals);
	free(f);
	m->priv = NULL;
}

int flows_prog_fd(struct nl_module *m)
{
	struct flows *f = m->priv;
	const struct flows_cfg *cfg = m->cfg;

	if (cfg->hook == FLOWS_HOOK_XDP)
		return bpf_program__fd(f->skel->progs.flows_xdp);
	return bpf_program__fd(cfg->directions & FLOWS_DIR_IN ? f->skel->progs.flows_tc_ingress
							       : f->skel->progs.flows_tc_egress);
}

static void flows_metrics(struct nl_module *m, struct nl_prom *p)
{
	struct flows *f = m->priv;

	flows_report_metrics(&f->report, p);
}

static const struct nl_cmd_spec *flows_spec(void);

/* `netlens serve`: -i, --flows-hook (tc: both directions) and --ipfix, as flows' options. */
static int flows_serve_config(void *cfg, const struct nl_serve_env *env, char *err, size_t len)
{
	const struct nl_cmd_spec *spec = flows_spec();

	if (nl_cli_set(spec, cfg, "interface", env->ifname, err, len) ||
	    nl_cli_set(spec, cfg, "hook", env->flows_hook, err, len))
		return -1;
	if (!strcmp(env->flows_hook, "tc") && nl_cli_set(spec, cfg, "direction", "both", err, len))
		return -1;
	return env->ipfix ? nl_cli_set(spec, cfg, "ipfix", env->ipfix, err, len) : 0;
}

static const struct flows_cfg defaults = {
	.max_flows = FLOWS_DEFAULT_MAX, .idle_timeout = FLOWS_DEFAULT_IDLE, .top = FLOWS_DEFAULT_TOP,
};

const struct nl_module_ops nl_flows_ops = {
	.name = "flows",
	.help = "unsampled per-flow packet and byte counts at XDP or TC",
	.spec = flows_spec,
	.cfg_size = sizeof(struct flows_cfg),
	.cfg_defaults = &defaults,
	.serve_flags = NL_SERVE_NEEDS_IFACE | NL_SERVE_IPFIX | NL_SERVE_NETLINK_DETACH,
	.serve_config = flows_serve_config,
	.plan = flows_plan,
	.open = flows_open,
	.attach = flows_attach,
	.collect = flows_collect,
	.metrics = flows_metrics,
	.destroy = flows_destroy,
};

/* Options. */

static int set_iface(void *ctx, const char *arg, char *err, size_t len)
{
	struct flows_cfg *cfg = ctx;

	if (!*arg || strlen(arg) >= IF_NAMESIZE) {
		snprintf(err, len, "'%s' is not an interface name", nl_echo(arg));
		return -1;
	}
	snprintf(cfg->ifname, sizeof(cfg->ifname), "%s", arg);
	return 0;
}

static int set_hook(void *ctx, const char *arg, char *err, size_t len)
{
	struct flows_cfg *cfg = ctx;

	if (!strcmp(arg, "xdp"))
		cfg->hook = FLOWS_HOOK_XDP;
	else if (!strcmp(arg, "tc"))
		cfg->hook = FLOWS_HOOK_TC;
	else {
		snprintf(err, len, "'%s' is not xdp or tc", nl_echo(arg));
		return -1;
	}
	cfg->hook_set = true;
	return 0;
}

static int set_direction(void *ctx, const char *arg, char *err, size_t len)
{
	struct flows_cfg *cfg = ctx;

	if (!strcmp(arg, "ingress"))
		cfg->directions = FLOWS_DIR_IN;
	else if (!strcmp(arg, "egress"))
		cfg->directions = FLOWS_DIR_OUT;
	else if (!strcmp(arg, "both"))
		cfg->directions = FLOWS_DIR_IN | FLOWS_DIR_OUT;
	else {
		snprintf(err, len, "'%s' is not ingress, egress or both", nl_echo(arg));
		return -1;
	}
	return 0;
}

static int set_xdp_mode(void *ctx, const char *arg, char *err, size_t len)
{
	struct flows_cfg *cfg = ctx;

	return nl_xdp_mode_parse(arg, &cfg->xdp_mode, err, len);
}

static int set_force(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg, (void)err, (void)len;
	((struct flows_cfg *)ctx)->force = true;
	return 0;
}

static int set_max_flows(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 16, 1 << 24, &((struct flows_cfg *)ctx)->max_flows, err, len);
}

static int set_seconds(double *out, const char *arg, char *err, size_t len)
{
	if (nl_parse_seconds(arg, out)) {
		snprintf(err, len, "'%s' is not a positive number of seconds", nl_echo(arg));
		return -1;
	}
	return 0;
}

static int set_duration(void *ctx, const char *arg, char *err, size_t len)
{
	return set_seconds(&((struct flows_cfg *)ctx)->duration, arg, err, len);
}

static int set_idle(void *ctx, const char *arg, char *err, size_t len)
{
	return set_seconds(&((struct flows_cfg *)ctx)->idle_timeout, arg, err, len);
}

static int set_sort(void *ctx, const char *arg, char *err, size_t len)
{
	struct flows_cfg *cfg = ctx;

	if (!strcmp(arg, "bytes"))
		cfg->sort = FLOWS_SORT_BYTES;
	else if (!strcmp(arg, "packets"))
		cfg->sort = FLOWS_SORT_PACKETS;
	else {
		snprintf(err, len, "'%s' is not bytes or packets", nl_echo(arg));
		return -1;
	}
	return 0;
}

static int set_top(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 1, 1000000, &((struct flows_cfg *)ctx)->top, err, len);
}

static int set_top_sources(void *ctx, const char *arg, char *err, size_t len)
{
	uint64_t v;

	if (nl_parse_u64(arg, 1, 65535, &v)) {
		snprintf(err, len, "'%s' is not a port number (1-65535)", nl_echo(arg));
		return -1;
	}
	((struct flows_cfg *)ctx)->top_sources_port = v;
	return 0;
}

static int set_ipfix(void *ctx, const char *arg, char *err, size_t len)
{
	struct flows_cfg *cfg = ctx;

	if (ipfix_parse_dest(arg, &cfg->ipfix_dest, &cfg->ipfix_dest_len, err, len))
		return -1;
	snprintf(cfg->ipfix, sizeof(cfg->ipfix), "%s", arg);
	return 0;
}

static bool is_veth(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&info };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool veth;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	veth = !ioctl(fd, SIOCETHTOOL, &ifr) && !strcmp(info.driver, "veth");
	close(fd);
	return veth;
}

/*
 * TC for egress, and on a veth: native XDP there turns off the peer's GSO
 * (drivers/net/veth.c, veth_xdp_set(), Linux 6.18), which cost a bulk TCP
 * stream 70% of its throughput (docs/flows.md). Else XDP, the cheapest
 * hook (native where the driver has it); --xdp-mode and --force ask for it.
 */
static enum flows_hook default_hook(const struct flows_cfg *cfg)
{
	if (cfg->xdp_mode != NL_XDP_AUTO || cfg->force)
		return FLOWS_HOOK_XDP;
	if (cfg->directions & FLOWS_DIR_OUT || is_veth(cfg->ifname))
		return FLOWS_HOOK_TC;
	return FLOWS_HOOK_XDP;
}

/* What the options mean together; exits 2 with one line if they conflict. */
static void resolve(void *ctx, struct nl_opts *o)
{
	struct flows_cfg *cfg = ctx;

	if (!cfg->ifname[0])
		nl_die(NL_EXIT_USAGE, "flows: -i IFACE is required (the interface to count packets on)");
	cfg->ifindex = if_nametoindex(cfg->ifname);
	if (!cfg->ifindex)
		nl_die(NL_EXIT_USAGE, "flows: -i %s: no such interface in this network namespace "
		       "(for another namespace: ip netns exec NS netlens flows ...)", cfg->ifname);
	if (!cfg->hook_set)
		cfg->hook = default_hook(cfg);
	/* --hook tc means both directions; a default hook, ingress as XDP would. */
	if (!cfg->directions)
		cfg->directions = cfg->hook_set && cfg->hook == FLOWS_HOOK_TC ?
				  FLOWS_DIR_IN | FLOWS_DIR_OUT : FLOWS_DIR_IN;
	if (cfg->hook == FLOWS_HOOK_XDP && cfg->directions != FLOWS_DIR_IN)
		nl_die(NL_EXIT_USAGE, "flows: XDP sees ingress only; use --hook tc for %s",
		       dirs_name(cfg->directions));
	if (cfg->hook == FLOWS_HOOK_TC && (cfg->xdp_mode != NL_XDP_AUTO || cfg->force))
		nl_die(NL_EXIT_USAGE, "flows: --xdp-mode and --force apply to --hook xdp only");
	o->duration = cfg->duration;
	if (!o->interval)
		o->interval = FLOWS_DEFAULT_INTERVAL;
}

/* `netlens flows`'s options, also parsed by `netlens serve`. */
static const struct nl_cmd_spec *flows_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "interface", 'i', "IFACE", "the interface to count packets on (required)", set_iface },
		{ "hook", NL_OPT_LONG_ONLY, "xdp|tc",
		  "XDP (ingress only) or TC; default xdp, tc on a veth or for egress",
		  set_hook },
		{ "direction", NL_OPT_LONG_ONLY + 1, "ingress|egress|both",
		  "which traffic (default: ingress for xdp, both for tc)", set_direction },
		{ "xdp-mode", NL_OPT_LONG_ONLY + 2, "auto|native|generic",
		  "driver or generic XDP; auto (default) tries native first",
		  set_xdp_mode },
		{ "force", NL_OPT_LONG_ONLY + 3, NULL,
		  "replace an XDP program already on the interface", set_force },
		{ "max-flows", NL_OPT_LONG_ONLY + 4, "N",
		  "flows counted per interval (default 65536); more go to the overflow bucket",
		  set_max_flows },
		{ "idle-timeout", NL_OPT_LONG_ONLY + 5, "SECONDS",
		  "forget a flow (its first_seen) after this long without packets (default 60)",
		  set_idle },
		{ "sort", NL_OPT_LONG_ONLY + 6, "bytes|packets", "table order (default bytes)", set_sort },
		{ "top", NL_OPT_LONG_ONLY + 7, "N", "rows per table and top_source records (default 20)",
		  set_top },
		{ "top-sources", NL_OPT_LONG_ONLY + 8, "PORT",
		  "instead of flows, report source addresses sending to this destination port",
		  set_top_sources },
		{ "ipfix", NL_OPT_LONG_ONLY + 9, "HOST:PORT",
		  "also send each interval's flows to an IPFIX collector (UDP; [IPv6]:PORT)",
		  set_ipfix },
		{ "duration", 'd', "SECONDS", "stop after this long (default: until SIGINT/SIGTERM)",
		  set_duration },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "flows",
		.summary = "Unsampled per-flow packet and byte counts at XDP or TC, aggregated in the\n"
			   "kernel and reported every --interval (default 10 s) as deltas.",
		.sets = NL_OPTS_OUTPUT | NL_OPTS_INTERVAL,
		.opts = opts,
		.check = resolve,
	};
	return &spec;
}
