// SPDX-License-Identifier: GPL-2.0
/*
 * netlens block: its options, and the module `serve` runs: it attaches
 * nothing itself but finds the blocker pinned for -i and exports its
 * counters; with none there it is up all the same and says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "block/block.h"
#include "framework/sys.h"
#include "output/prom.h"

/* The module's state in serve: the blocker's pins once found. */
struct block_mod {
	struct blocker b;
	bool open;
	char err[512];
};

const char *block_attach_method(void)
{
	return "a pinned XDP link, not libxdp's dispatcher: see netlens probe";
}

static int block_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct block_cfg *cfg = m->cfg;
	const struct block_mod *bm = m->priv;

	if (!cfg) {
		if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) != 1 ||
		    libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, NULL) != 1) {
			snprintf(buf, len, "unavailable: XDP programs or LPM tries do not load here");
			return -ENOTSUP;
		}
		snprintf(buf, len, "XDP (native, else generic) by a bpf_link pinned in bpffs, "
			 "with its rules and counters");
		return 0;
	}
	if (bm && bm->open)
		snprintf(buf, len, "the blocker on %s (program id %u), counters only", cfg->ifname,
			 bm->b.prog_id);
	else
		snprintf(buf, len, "no blocker attached on %s (counters once one is)", cfg->ifname);
	return 0;
}

/* The blocker's pins, looked for again while there are none, they went (detach) or its link did. */
static bool find_blocker(struct block_mod *bm, const struct block_cfg *cfg)
{
	char path[PATH_MAX + 8];

	if (bm->open) {
		snprintf(path, sizeof(path), "%s/link", bm->b.dir);
		if (!access(path, F_OK) && blocker_attached(&bm->b))
			return true;
		blocker_close(&bm->b);
		bm->open = false;
	}
	/* serve mounts nothing: a blocker is made by the command, which mounts bpffs. */
	bm->open = !blocker_open(&bm->b, cfg->ifname, cfg->ifindex, false, bm->err,
				 sizeof(bm->err));
	return bm->open;
}

static int block_open(struct nl_module *m, const struct nl_opts *o)
{
	struct block_mod *bm = calloc(1, sizeof(*bm));

	(void)o;
	if (!bm)
		return -ENOMEM;
	m->priv = bm;
	find_blocker(bm, m->cfg);
	return 0;
}

static int block_attach(struct nl_module *m)
{
	(void)m;
	return 0;
}

static void block_collect(struct nl_module *m, bool final)
{
	(void)m, (void)final;
}

struct metrics_ctx {
	struct nl_prom *p;
	const char *ifname;
	uint64_t rules;
};

static void rule_metrics(void *ctx, const struct block_spec *s, const struct block_rule *v)
{
	struct metrics_ctx *mc = ctx;
	const char *family = s->flags & BLOCK_F_DRY_RUN ? "netlens_block_dry_run_packets_total" :
			     s->flags & BLOCK_F_LIMIT ? "netlens_block_ratelimited_packets_total" :
			     NULL;
	char text[96], labels[192];

	mc->rules++;
	block_spec_text(s, text, sizeof(text));
	nl_prom_labels(labels, sizeof(labels), "ifname", mc->ifname, "rule", text, NULL);
	if (!(s->flags & BLOCK_F_DRY_RUN)) {
		nl_prom_counter(mc->p, "netlens_block_dropped_packets_total", labels, v->packets);
		nl_prom_counter(mc->p, "netlens_block_dropped_bytes_total", labels, v->bytes);
	}
	if (family)
		nl_prom_counter(mc->p, family, labels, v->packets);
}

static void declare(struct nl_prom *p)
{
	nl_prom_family(p, "netlens_block_attached", NL_PROM_GAUGE,
		       "1 while a netlens blocker is attached to the interface");
	nl_prom_family(p, "netlens_block_dropped_packets_total", NL_PROM_COUNTER,
		       "packets the blocker dropped, per rule (since the rule was added)");
	nl_prom_family(p, "netlens_block_dropped_bytes_total", NL_PROM_COUNTER,
		       "bytes the blocker dropped, per rule");
	nl_prom_family(p, "netlens_block_ratelimited_packets_total", NL_PROM_COUNTER,
		       "packets a rate limit dropped (of dropped_packets), per rule");
	nl_prom_family(p, "netlens_block_dry_run_packets_total", NL_PROM_COUNTER,
		       "packets a dry-run rule would have dropped, per rule");
	nl_prom_family(p, "netlens_block_packets_total", NL_PROM_COUNTER,
		       "packets the blocker saw");
	nl_prom_family(p, "netlens_block_rules", NL_PROM_GAUGE, "rules on the interface");
	nl_prom_family(p, "netlens_block_sources", NL_PROM_GAUGE,
		       "rate-limit buckets (sources) in the LRU map");
	nl_prom_family(p, "netlens_block_source_evictions_total", NL_PROM_COUNTER,
		       "rate-limit buckets the LRU map evicted to make room");
}

static void block_metrics(struct nl_module *m, struct nl_prom *p)
{
	const struct block_cfg *cfg = m->cfg;
	struct block_mod *bm = m->priv;
	struct metrics_ctx mc = { p, cfg->ifname, 0 };
	struct block_totals t;
	char labels[96];

	declare(p);
	nl_prom_labels(labels, sizeof(labels), "ifname", cfg->ifname, NULL);
	if (!find_blocker(bm, cfg) || block_totals(&bm->b, &t)) {
		nl_prom_gauge(p, "netlens_block_attached", labels, 0);
		return;
	}
	nl_prom_gauge(p, "netlens_block_attached", labels, 1);
	nl_prom_counter(p, "netlens_block_packets_total", labels, t.st[BLOCK_STAT_PACKETS]);
	nl_prom_gauge(p, "netlens_block_sources", labels, t.buckets_live);
	nl_prom_counter(p, "netlens_block_source_evictions_total", labels, t.evictions);
	block_rules_each(&bm->b, rule_metrics, &mc);
	nl_prom_gauge(p, "netlens_block_rules", labels, mc.rules);
}

static int block_stats(struct nl_module *m, uint64_t out[NL_STAT_MAX])
{
	struct block_mod *bm = m->priv;

	memset(out, 0, NL_STAT_MAX * sizeof(out[0]));
	if (find_blocker(bm, m->cfg))
		nl_read_stats(bm->b.stats, out);
	return 0;
}

static void block_destroy(struct nl_module *m)
{
	struct block_mod *bm = m->priv;

	if (!bm)
		return;
	if (bm->open)
		blocker_close(&bm->b);
	free(bm);
	m->priv = NULL;
}

static int block_serve_config(void *cfg, const struct nl_serve_env *env, char *err, size_t len)
{
	return nl_cli_set(block_cmd_spec(), cfg, "interface", env->ifname, err, len);
}

static const struct block_cfg defaults = {
	.per_source4 = 32, .per_source6 = 64,
	.max_rules = BLOCK_MAX_RULES_DEFAULT, .max_sources = BLOCK_MAX_BUCKETS_DEFAULT,
};

const struct nl_module_ops nl_block_ops = {
	.name = "block",
	.help = "an XDP blocklist and per-source rate limit that outlives the command",
	.spec = block_cmd_spec,
	.main = block_main,
	.cfg_size = sizeof(struct block_cfg),
	.cfg_defaults = &defaults,
	.serve_flags = NL_SERVE_NEEDS_IFACE,
	.serve_config = block_serve_config,
	.plan = block_plan,
	.open = block_open,
	.attach = block_attach,
	.collect = block_collect,
	.metrics = block_metrics,
	.stats = block_stats,
	.destroy = block_destroy,
};

/* Options. */

static int set_iface(void *ctx, const char *arg, char *err, size_t len)
{
	struct block_cfg *cfg = ctx;

	if (!*arg || strlen(arg) >= IF_NAMESIZE) {
		snprintf(err, len, "'%s' is not an interface name", nl_echo(arg));
		return -1;
	}
	snprintf(cfg->ifname, sizeof(cfg->ifname), "%s", arg);
	return 0;
}

static int set_proto(void *ctx, const char *arg, char *err, size_t len)
{
	struct block_cfg *cfg = ctx;

	if (!strcmp(arg, "tcp"))
		cfg->proto = 6;
	else if (!strcmp(arg, "udp"))
		cfg->proto = 17;
	else if (!strcmp(arg, "icmp"))
		cfg->proto = 1;
	else {
		snprintf(err, len, "'%s' is not tcp, udp or icmp", nl_echo(arg));
		return -1;
	}
	return 0;
}

static int set_port(void *ctx, const char *arg, char *err, size_t len)
{
	uint32_t v;

	if (nl_opt_u32(arg, 1, 65535, &v, err, len))
		return -1;
	((struct block_cfg *)ctx)->port = v;
	return 0;
}

static int set_flag(bool *flag)
{
	*flag = true;
	return 0;
}

static int set_dry_run(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg, (void)err, (void)len;
	return set_flag(&((struct block_cfg *)ctx)->dry_run);
}

static int set_force(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg, (void)err, (void)len;
	return set_flag(&((struct block_cfg *)ctx)->force);
}

static int set_pps(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 1, 100000000, &((struct block_cfg *)ctx)->pps, err, len);
}

static int set_burst(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 1, 100000000, &((struct block_cfg *)ctx)->burst, err, len);
}

/* "/N" or "N": IPv4's when at most 32, IPv6's when longer (docs/block.md). */
static int set_per_source(void *ctx, const char *arg, char *err, size_t len)
{
	struct block_cfg *cfg = ctx;
	uint64_t v;

	if (nl_parse_u64(arg + (arg[0] == '/'), 0, 128, &v)) {
		snprintf(err, len, "'%s' is not a prefix length (/0 to /128)", nl_echo(arg));
		return -1;
	}
	if (v <= 32)
		cfg->per_source4 = v;
	if (v >= 32)
		cfg->per_source6 = v;
	cfg->per_source_set = true;
	return 0;
}

static int set_xdp_mode(void *ctx, const char *arg, char *err, size_t len)
{
	struct block_cfg *cfg = ctx;

	return nl_xdp_mode_parse(arg, &cfg->mode, err, len);
}

static int set_max_rules(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 16, 1 << 24, &((struct block_cfg *)ctx)->max_rules, err, len);
}

static int set_max_sources(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 16, 1 << 24, &((struct block_cfg *)ctx)->max_sources, err, len);
}

void block_cfg_resolve(struct block_cfg *cfg)
{
	if (!cfg->ifname[0])
		nl_die(NL_EXIT_USAGE, "block: -i IFACE is required (the interface to block on)");
	cfg->ifindex = if_nametoindex(cfg->ifname);
	if (!cfg->ifindex)
		nl_die(NL_EXIT_USAGE, "block: -i %s: no such interface in this network namespace",
		       cfg->ifname);
	if (cfg->port && cfg->proto == 1)
		nl_die(NL_EXIT_USAGE, "block: --port applies to tcp and udp, not icmp");
}

/* serve: the interface is resolved as the command resolves it. */
static void check(void *ctx, struct nl_opts *o)
{
	(void)o;
	block_cfg_resolve(ctx);
}

const struct nl_cmd_spec *block_cmd_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "interface", 'i', "IFACE", "the interface to block on (required)", set_iface },
		{ "proto", NL_OPT_LONG_ONLY, "tcp|udp|icmp", "add/del/limit: only this protocol",
		  set_proto },
		{ "port", NL_OPT_LONG_ONLY + 1, "N",
		  "add/del/limit: only this destination port (TCP, UDP, UDP-Lite, SCTP)", set_port },
		{ "dry-run", NL_OPT_LONG_ONLY + 2, NULL,
		  "add/limit: count what the rule would drop, drop nothing", set_dry_run },
		{ "pps", NL_OPT_LONG_ONLY + 3, "N", "limit: packets per second per source", set_pps },
		{ "burst", NL_OPT_LONG_ONLY + 4, "N",
		  "limit: packets a source may send at once (default pps/10, at least 1)", set_burst },
		{ "per-source", NL_OPT_LONG_ONLY + 5, "/N",
		  "limit: one bucket per source prefix (default /32 IPv4, /64 IPv6)", set_per_source },
		{ "force", NL_OPT_LONG_ONLY + 6, NULL,
		  "replace another XDP program; allow add of a /0", set_force },
		{ "xdp-mode", NL_OPT_LONG_ONLY + 7, "auto|native|generic",
		  "a new blocker's XDP mode (default auto: native, else generic)", set_xdp_mode },
		{ "max-rules", NL_OPT_LONG_ONLY + 8, "N",
		  "a new blocker's rules per family, in its hash and its trie each "
		  "(default 131072)", set_max_rules },
		{ "max-sources", NL_OPT_LONG_ONLY + 9, "N",
		  "a new blocker's rate-limit buckets, LRU (default 65536)", set_max_sources },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "block",
		.summary = "netlens block -i IFACE add|del CIDR... [--proto P] [--port N] [--dry-run]\n"
			   "netlens block -i IFACE limit [CIDR...] --pps N [--burst N] [--per-source /N]\n"
			   "netlens block -i IFACE list|status|flush|detach\n"
			   "An XDP blocklist and per-source rate limit; rules and counters stay in bpffs\n"
			   "after the command exits (docs/block.md).",
		.sets = NL_OPTS_OUTPUT,
		.opts = opts,
		.check = check,
	};
	return &spec;
}
