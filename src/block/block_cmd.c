// SPDX-License-Identifier: GPL-2.0
/*
 * `netlens block -i IFACE add|del|limit|list|status|flush|detach ...`: each
 * run opens the blocker's pins (making the blocker on the first rule), does
 * one thing and exits; the program goes on in the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "block/block.h"
#include "framework/sys.h"

#define MAX_ARGS 4096   /* positional arguments in one run (CIDRs) */

enum block_verb { V_ADD, V_DEL, V_LIMIT, V_LIST, V_STATUS, V_FLUSH, V_DETACH };

static const char *const verbs[] = { "add", "del", "limit", "list", "status", "flush", "detach" };
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

struct run {
	const struct block_cfg *cfg;
	const struct nl_opts *o;
	struct blocker b;
	char err[512];
};

static bool takes_arg(const struct nl_cmd_spec *spec, const char *a)
{
	static const char *const shared_with_arg[] = { "output", NULL };

	if (a[0] != '-' || !a[1])
		return false;
	if (a[1] != '-') {
		if (a[2])
			return false;   /* -iIFACE */
		if (a[1] == 'o')
			return true;
		for (const struct nl_cmd_opt *c = spec->opts; c->name; c++)
			if (c->key == a[1])
				return c->arg;
		return false;
	}
	if (strchr(a, '='))
		return false;
	for (const struct nl_cmd_opt *c = spec->opts; c->name; c++)
		if (!strcmp(a + 2, c->name))
			return c->arg;
	for (size_t i = 0; shared_with_arg[i]; i++)
		if (!strcmp(a + 2, shared_with_arg[i]))
			return true;
	return false;
}

/*
 * Moves the words that are not options (nor an option's argument) out of
 * argv into pos: the verb and its CIDRs. Returns how many.
 */
static int take_positionals(const struct nl_cmd_spec *spec, int *argc, char **argv,
			    char **pos)
{
	int n = 0, kept = 1;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (++i < *argc && n < MAX_ARGS)
				pos[n++] = argv[i];
			break;
		}
		if (argv[i][0] != '-' && n < MAX_ARGS) {
			pos[n++] = argv[i];
			continue;
		}
		argv[kept++] = argv[i];
		if (takes_arg(spec, argv[i]) && i + 1 < *argc)
			argv[kept++] = argv[++i];
	}
	*argc = kept;
	argv[kept] = NULL;
	return n;
}

static int verb_index(const char *w)
{
	for (size_t i = 0; i < N_VERBS; i++)
		if (!strcmp(w, verbs[i]))
			return i;
	nl_die(NL_EXIT_USAGE, "block: '%s' is not add, del, limit, list, status, flush or detach",
	       nl_echo(w));
}

/* icmp is ICMPv6 for an IPv6 rule. */
static uint8_t family_proto(uint8_t proto, uint8_t family)
{
	return proto == 1 && family == 6 ? 58 : proto;
}

static void spec_for(const struct block_cfg *cfg, struct block_spec *s, bool limit)
{
	s->proto = family_proto(cfg->proto, s->family);
	s->port = cfg->port;
	s->flags = (cfg->dry_run ? BLOCK_F_DRY_RUN : 0) | (limit ? BLOCK_F_LIMIT : 0);
	if (!limit)
		return;
	s->pps = cfg->pps;
	s->burst = cfg->burst ? cfg->burst : (cfg->pps / 10 ? cfg->pps / 10 : 1);
	s->per_source = s->family == 4 ? cfg->per_source4 : cfg->per_source6;
}

/* The rules a verb's CIDRs name; exits 2 on a bad one. limit without CIDRs: every source. */
static int parse_rules(const struct block_cfg *cfg, enum block_verb v, char **cidrs, int n,
		       struct block_spec *out)
{
	static char all4[] = "0.0.0.0/0", all6[] = "::/0";
	char *every[] = { all4, all6 };
	char err[256];

	if (!n && v == V_LIMIT) {
		cidrs = every;
		n = 2;
	} else if (!n) {
		nl_die(NL_EXIT_USAGE, "block %s: which CIDR? (netlens block -i IFACE %s CIDR...)",
		       verbs[v], verbs[v]);
	}
	for (int i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		if (block_parse_cidr(cidrs[i], &out[i], err, sizeof(err)))
			nl_die(NL_EXIT_USAGE, "block %s: %s", verbs[v], err);
		if (v == V_ADD && !out[i].prefixlen && !cfg->force && !cfg->dry_run)
			nl_die(NL_EXIT_USAGE, "block add: %s blocks every IPv%u source; --force if that "
			       "is meant", nl_echo(cidrs[i]), out[i].family);
		if (v == V_LIMIT && out[i].family == 4 && cfg->per_source4 > 32)
			nl_die(NL_EXIT_USAGE, "block limit: --per-source /%d is longer than an IPv4 "
			       "address", cfg->per_source4);
		spec_for(cfg, &out[i], v == V_LIMIT);
	}
	return n;
}

static void check_verb_options(const struct block_cfg *cfg, enum block_verb v)
{
	if (v != V_LIMIT && (cfg->pps || cfg->burst || cfg->per_source_set))
		nl_die(NL_EXIT_USAGE, "block %s: --pps, --burst and --per-source are for 'limit'",
		       verbs[v]);
	if (v == V_LIMIT && !cfg->pps)
		nl_die(NL_EXIT_USAGE, "block limit: --pps N is required (packets per second per "
		       "source, 1 or more)");
	if (v != V_ADD && v != V_DEL && v != V_LIMIT && (cfg->proto || cfg->port || cfg->dry_run))
		nl_die(NL_EXIT_USAGE, "block %s: --proto, --port and --dry-run are for add, del and "
		       "limit", verbs[v]);
}

/* The blocker, made on the first rule when there is none; exits 1 when it cannot be. */
static void open_blocker(struct run *r, bool create)
{
	const struct block_cfg *cfg = r->cfg;
	struct block_create_opts co = {
		.mode = cfg->mode, .force = cfg->force, .max_rules = cfg->max_rules,
		.max_sources = cfg->max_sources, .verbose = r->o->verbose,
	};
	int e = blocker_open(&r->b, cfg->ifname, cfg->ifindex, true, r->err, sizeof(r->err));

	if (e == -ENOENT && create) {
		e = blocker_create(&r->b, cfg->ifname, cfg->ifindex, &co, r->err, sizeof(r->err));
		if (!e && r->b.made)
			fprintf(stderr, "netlens block: attached to %s (XDP %s mode, program id %u), "
				"pinned in %s\n", cfg->ifname, blocker_mode(&r->b), r->b.prog_id,
				r->b.dir);
	} else if (e == -ENOENT)
		nl_die(NL_EXIT_ENV, "block: no blocker on %s (the first 'add' or 'limit' makes it)",
		       cfg->ifname);
	if (e)
		nl_die(NL_EXIT_ENV, "block: %s", r->err);
}

static int do_rules(struct run *r, enum block_verb v, char **cidrs, int n)
{
	static struct block_spec specs[MAX_ARGS];
	int failed = 0;

	n = parse_rules(r->cfg, v, cidrs, n, specs);
	open_blocker(r, v != V_DEL);
	for (int i = 0; i < n; i++) {
		int e = v == V_DEL ? block_rule_del(&r->b, &specs[i], r->err, sizeof(r->err))
				   : block_rule_add(&r->b, &specs[i], r->err, sizeof(r->err));

		if (e) {
			fprintf(stderr, "netlens: block %s: %s\n", verbs[v], r->err);
			failed++;
		}
	}
	blocker_close(&r->b);
	return failed ? NL_EXIT_ENV : 0;
}

static void time_text(uint64_t ns, char *buf, size_t len)
{
	time_t t = ns / 1000000000ull;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void action_text(const struct block_spec *s, char *buf, size_t len)
{
	if (s->flags & BLOCK_F_LIMIT)
		snprintf(buf, len, "limit %u/s burst %u per /%u%s", s->pps, s->burst, s->per_source,
			 s->flags & BLOCK_F_DRY_RUN ? " dry-run" : "");
	else
		snprintf(buf, len, "%s", s->flags & BLOCK_F_DRY_RUN ? "drop dry-run" : "drop");
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void list_rule(void *ctx, const struct block_spec *s, const struct block_rule *v)
{
	const struct run *r = ctx;
	char text[96], action[96], added[32];

	block_spec_text(s, text, sizeof(text));
	action_text(s, action, sizeof(action));
	time_text(v->added_ns, added, sizeof(added));
	if (r->o->output == NL_OUT_JSON) {
		struct json_object *o = json_object_new_object();
		char cidr[64];
		struct block_spec only = *s;

		only.proto = only.port = 0;
		block_spec_text(&only, cidr, sizeof(cidr));
		json_object_object_add(o, "type", json_object_new_string("block_rule"));
		json_object_object_add(o, "ifname", json_object_new_string(r->cfg->ifname));
		json_object_object_add(o, "id", json_object_new_int64(v->id));
		json_object_object_add(o, "rule", json_object_new_string(text));
		json_object_object_add(o, "cidr", json_object_new_string(cidr));
		json_object_object_add(o, "proto", json_object_new_string(block_proto_name(s->proto)));
		json_object_object_add(o, "port", json_object_new_int(s->port));
		json_object_object_add(o, "action", json_object_new_string(
			s->flags & BLOCK_F_LIMIT ? "limit" : "drop"));
		json_object_object_add(o, "dry_run", json_object_new_boolean(s->flags & BLOCK_F_DRY_RUN));
		if (s->flags & BLOCK_F_LIMIT) {
			json_object_object_add(o, "pps", json_object_new_int64(s->pps));
			json_object_object_add(o, "burst", json_object_new_int64(s->burst));
			json_object_object_add(o, "per_source", json_object_new_int(s->per_source));
		}
		json_object_object_add(o, "packets", json_object_new_uint64(v->packets));
		json_object_object_add(o, "bytes", json_object_new_uint64(v->bytes));
		json_object_object_add(o, "added", json_object_new_string(added));
		print_json(o);
		return;
	}
	printf("%-5u %-40s %-34s %12llu %14llu  %s\n", v->id, text, action,
	       (unsigned long long)v->packets, (unsigned long long)v->bytes, added);
}

struct listed {
	struct block_spec s;
	struct block_rule v;
};

struct listing {
	struct listed *rows;
	size_t n, cap;
	bool oom;
};

static void collect_rule(void *ctx, const struct block_spec *s, const struct block_rule *v)
{
	struct listing *l = ctx;

	if (l->n == l->cap) {
		void *more = realloc(l->rows, (l->cap = l->cap ? 2 * l->cap : 64) * sizeof(*l->rows));

		if (!more) {
			l->oom = true;
			return;
		}
		l->rows = more;
	}
	l->rows[l->n++] = (struct listed){ *s, *v };
}

static int by_id(const void *a, const void *b)
{
	uint32_t x = ((const struct listed *)a)->v.id, y = ((const struct listed *)b)->v.id;

	return x < y ? -1 : x > y;
}

/* The rules in the order they were added. */
static int do_list(struct run *r)
{
	struct listing l = { 0 };
	int e;

	open_blocker(r, false);
	e = block_rules_each(&r->b, collect_rule, &l);
	blocker_close(&r->b);
	if (e || l.oom)
		nl_die(NL_EXIT_ENV, "block list: reading the rules failed: %s",
		       strerror(e ? -e : ENOMEM));
	qsort(l.rows, l.n, sizeof(*l.rows), by_id);
	if (r->o->output == NL_OUT_TABLE)
		printf("%-5s %-40s %-34s %12s %14s  %s\n", "ID", "RULE", "ACTION",
		       "PACKETS", "BYTES", "ADDED");
	for (size_t i = 0; i < l.n; i++)
		list_rule(r, &l.rows[i].s, &l.rows[i].v);
	free(l.rows);
	return 0;
}

static int do_status(struct run *r)
{
	struct block_totals t;
	uint64_t rules;
	const char *mode;
	int e;

	open_blocker(r, false);
	mode = blocker_mode(&r->b);
	e = block_totals(&r->b, &t);
	if (!e)
		e = block_rules_count(&r->b, &rules);
	if (e)
		nl_die(NL_EXIT_ENV, "block status: reading the counters failed: %s", strerror(-e));
	if (r->o->output == NL_OUT_JSON) {
		struct json_object *o = json_object_new_object();
		static const struct { const char *name; int idx; } st[] = {
			{ "packets", BLOCK_STAT_PACKETS }, { "dropped", BLOCK_STAT_DROPPED },
			{ "dropped_bytes", BLOCK_STAT_DROPPED_BYTES }, { "dry_run", BLOCK_STAT_DRY_RUN },
			{ "rate_limited", BLOCK_STAT_LIMITED }, { "malformed", BLOCK_STAT_MALFORMED },
			{ "non_ip", BLOCK_STAT_NON_IP }, { "buckets_created", BLOCK_STAT_BUCKETS_NEW },
			{ "bucket_races", BLOCK_STAT_BUCKET_RACE }, { "map_full", NL_STAT_MAP_FULL },
		};

		json_object_object_add(o, "type", json_object_new_string("block_status"));
		json_object_object_add(o, "ifname", json_object_new_string(r->cfg->ifname));
		json_object_object_add(o, "mode", json_object_new_string(mode));
		json_object_object_add(o, "attach", json_object_new_string(block_attach_method()));
		json_object_object_add(o, "prog_id", json_object_new_int64(r->b.prog_id));
		json_object_object_add(o, "link_id", json_object_new_int64(r->b.link_id));
		json_object_object_add(o, "pins", json_object_new_string(r->b.dir));
		json_object_object_add(o, "rules", json_object_new_uint64(rules));
		for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
			json_object_object_add(o, st[i].name, json_object_new_uint64(t.st[st[i].idx]));
		json_object_object_add(o, "buckets", json_object_new_uint64(t.buckets_live));
		json_object_object_add(o, "evictions", json_object_new_uint64(t.evictions));
		print_json(o);
	} else {
		printf("interface   %s, XDP %s mode (%s)\n", r->cfg->ifname, mode, block_attach_method());
		printf("program     id %u, link id %u, pinned in %s\n", r->b.prog_id, r->b.link_id,
		       r->b.dir);
		printf("rules       %llu\n", (unsigned long long)rules);
		printf("packets     %llu seen, %llu dropped (%llu bytes), %llu by rate limits, "
		       "%llu would be (dry-run)\n",
		       (unsigned long long)t.st[BLOCK_STAT_PACKETS],
		       (unsigned long long)t.st[BLOCK_STAT_DROPPED],
		       (unsigned long long)t.st[BLOCK_STAT_DROPPED_BYTES],
		       (unsigned long long)t.st[BLOCK_STAT_LIMITED],
		       (unsigned long long)t.st[BLOCK_STAT_DRY_RUN]);
		printf("passed      %llu malformed, %llu not IP\n",
		       (unsigned long long)t.st[BLOCK_STAT_MALFORMED],
		       (unsigned long long)t.st[BLOCK_STAT_NON_IP]);
		printf("sources     %llu buckets, %llu created, %llu evicted, %llu races lost\n",
		       (unsigned long long)t.buckets_live,
		       (unsigned long long)t.st[BLOCK_STAT_BUCKETS_NEW],
		       (unsigned long long)t.evictions,
		       (unsigned long long)t.st[BLOCK_STAT_BUCKET_RACE]);
	}
	blocker_close(&r->b);
	return 0;
}

static int do_flush(struct run *r)
{
	int n;

	open_blocker(r, false);
	n = block_rules_flush(&r->b);
	blocker_close(&r->b);
	if (n < 0)
		nl_die(NL_EXIT_ENV, "block flush: %s", strerror(-n));
	fprintf(stderr, "netlens block: %d rules removed from %s\n", n, r->cfg->ifname);
	return 0;
}

static int do_detach(struct run *r)
{
	open_blocker(r, false);
	if (blocker_destroy(&r->b, r->err, sizeof(r->err)))
		nl_die(NL_EXIT_ENV, "block detach: %s", r->err);
	fprintf(stderr, "netlens block: detached from %s, pins removed\n", r->cfg->ifname);
	return 0;
}

int block_main(int argc, char **argv)
{
	const struct nl_cmd_spec *spec = block_cmd_spec();
	static char *pos[MAX_ARGS];
	struct block_cfg *cfg = nl_module_cfg_new(&nl_block_ops);
	struct nl_opts o;
	struct run r = { 0 };
	enum block_verb v;
	char why[256];
	int n;

	if (!cfg)
		nl_die(NL_EXIT_ENV, "block: out of memory");
	n = take_positionals(spec, &argc, argv, pos);
	nl_cli_parse(spec, cfg, argc, argv, &o);
	if (!n)
		nl_die(NL_EXIT_USAGE, "block: what? (add, del, limit, list, status, flush or detach; "
		       "see --help)");
	v = verb_index(pos[0]);
	if (v > V_LIMIT && n > 1)
		nl_die(NL_EXIT_USAGE, "block %s: unexpected argument '%s'", verbs[v], nl_echo(pos[1]));
	check_verb_options(cfg, v);
	nl_libbpf_logging(o.verbose);
	if (nl_bpf_usable(why, sizeof(why)))
		nl_die(NL_EXIT_ENV, "%s", why);
	r.cfg = cfg;
	r.o = &o;
	switch (v) {
	case V_ADD:
	case V_DEL:
	case V_LIMIT:
		n = do_rules(&r, v, pos + 1, n - 1);
		break;
	case V_LIST:
		n = do_list(&r);
		break;
	case V_STATUS:
		n = do_status(&r);
		break;
	case V_FLUSH:
		n = do_flush(&r);
		break;
	default:
		n = do_detach(&r);
		break;
	}
	free(cfg);
	return n;
}
