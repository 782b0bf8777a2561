// SPDX-License-Identifier: GPL-2.0
/*
 * `netlens diagnose`: runs every module (flows too with -i) for -d seconds
 * with no per-event output, then prints the findings of their totals,
 * most severe first (src/framework/finding.h, docs/diagnose.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "framework/finding.h"
#include "framework/modset.h"
#include "framework/sys.h"
#include "overview/diagnose.h"

#define LOOP_IDLE_MS 20

struct diagnose_cfg {
	struct nl_serve_env env;   /* first: -i and --flows-hook (nl_modset_set_*) */
};

static void check(void *ctx, struct nl_opts *o)
{
	(void)ctx;
	if (!o->duration)
		o->duration = DIAGNOSE_DEFAULT_SECONDS;
}

/* "conns, latency, ...": the modules that are up. */
static void names_up(const struct nl_modset *set, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < set->n && n < len; i++)
		if (set->mods[i].up)
			n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
				      set->mods[i].m.ops->name);
}

/* JSON: after the findings, one line saying what was watched and how many were found. */
static void write_summary(struct nl_sink *s, const struct nl_modset *set, double seconds,
			  size_t n_findings)
{
	struct json_object *j = json_object_new_object(), *mods = json_object_new_array();
	char text[32];

	for (size_t i = 0; i < set->n; i++)
		if (set->mods[i].up)
			json_object_array_add(mods, json_object_new_string(set->mods[i].m.ops->name));
	json_object_object_add(j, "type", json_object_new_string("diagnose"));
	snprintf(text, sizeof(text), "%.3f", seconds);
	json_object_object_add(j, "seconds", json_object_new_double_s(seconds, text));
	json_object_object_add(j, "modules", mods);
	json_object_object_add(j, "findings", json_object_new_int64(n_findings));
	nl_sink_json(s, j);
	json_object_put(j);
}

/* Reads records until -d has passed or a signal came (*seconds: how long); 0 or -errno. */
static int watch(struct nl_modset *set, const struct nl_opts *o, double *seconds)
{
	uint64_t start = nl_now_mono(), deadline = start + (uint64_t)(o->duration * 1e9);

	while (!nl_stop_requested() && nl_now_mono() < deadline) {
		int n = nl_modset_poll(set);

		if (n < 0)
			return n;
		if (!n)
			nl_idle(LOOP_IDLE_MS);
	}
	*seconds = (nl_now_mono() - start) / 1e9;
	return nl_modset_poll(set) < 0 ? -EIO : 0;
}

static int diagnose_run(const struct diagnose_cfg *cfg, const struct nl_opts *o)
{
	struct nl_modset set = { .who = "diagnose" };
	struct nl_findings findings = { 0 };
	struct nl_sink out;
	char names[128];
	double seconds = 0;
	int err;

	nl_sys_init(o->verbose);
	nl_signals_install(false);
	if (!nl_modset_start(&set, nl_modset_default(cfg->env.ifname), &cfg->env, o)) {
		nl_modset_stop(&set);
		nl_die(NL_EXIT_ENV, "diagnose: no module could be attached");
	}
	names_up(&set, names, sizeof(names));
	fprintf(stderr, "netlens diagnose: watching for %g s (%s%s); Ctrl-C to stop early\n",
		o->duration, names, cfg->env.ifname ? "" : "; flows: give -i IFACE");
	err = watch(&set, o, &seconds);
	nl_modset_collect(&set, true);
	nl_sink_init(&out, o->output, stdout);
	nl_modset_findings(&set, &findings);
	nl_findings_write(&out, &findings);
	if (o->output == NL_OUT_JSON)
		write_summary(&out, &set, seconds, findings.n);
	if (!err)
		err = nl_sink_flush(&out);
	nl_sink_free(&out);
	nl_findings_free(&findings);
	nl_modset_stop(&set);
	if (err && err != -EPIPE)
		nl_die(NL_EXIT_ENV, "diagnose: %s", strerror(-err));
	return 0;
}

int diagnose_main(int argc, char **argv)
{
	static struct diagnose_cfg cfg = { .env.flows_hook = "tc" };
	static const struct nl_cmd_opt opts[] = {
		{ "interface", 'i', "IFACE", "also count flows on this interface",
		  nl_modset_set_iface },
		NL_MODSET_OPT_FLOWS_HOOK(NL_OPT_LONG_ONLY),
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "diagnose",
		.summary = "Watches with every module for -d seconds (default 10), then says what\n"
			   "is wrong: findings ranked by severity, each with its evidence and where\n"
			   "it is (docs/diagnose.md lists the kinds and their thresholds).",
		.sets = NL_OPTS_OUTPUT | NL_OPTS_EVENTS,
		.opts = opts,
		.check = check,
	};
	struct nl_opts o;

	nl_cli_parse(&spec, &cfg, argc, argv, &o);
	return diagnose_run(&cfg, &o);
}
