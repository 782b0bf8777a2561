// SPDX-License-Identifier: GPL-2.0
/* Several modules in one event loop (src/framework/modset.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "framework/finding.h"
#include "framework/modset.h"

int nl_modset_set_iface(void *cfg, const char *arg, char *err, size_t len)
{
	(void)err;
	(void)len;
	((struct nl_serve_env *)cfg)->ifname = arg;
	return 0;
}

int nl_modset_set_flows_hook(void *cfg, const char *arg, char *err, size_t len)
{
	if (strcmp(arg, "tc") && strcmp(arg, "xdp")) {
		snprintf(err, len, "'%s' is not tc or xdp", nl_echo(arg));
		return -1;
	}
	((struct nl_serve_env *)cfg)->flows_hook = arg;
	return 0;
}

unsigned int nl_modset_with(unsigned int flag)
{
	unsigned int set = 0;

	for (int i = 0; nl_modules[i]; i++)
		if (nl_modules[i]->serve_flags & flag)
			set |= 1u << i;
	return set;
}

unsigned int nl_modset_default(bool have_iface)
{
	int n = 0;

	while (nl_modules[n])
		n++;
	return ((1u << n) - 1) & ~(have_iface ? 0 : nl_modset_with(NL_SERVE_NEEDS_IFACE)) &
	       ~nl_modset_with(NL_SERVE_OPT_IN);
}

/*
 * A module's options: its defaults, what it takes from env, then the
 * checks its command would make; exits 2 with one line on bad options.
 */
static void *configure(const struct nl_modset *set, const struct nl_serve_env *env,
		       const struct nl_opts *o, const struct nl_module_ops *ops)
{
	const struct nl_cmd_spec *spec = ops->spec();
	void *mcfg = nl_module_cfg_new(ops);
	struct nl_opts scratch = *o;   /* a check may set defaults of its command's own */
	char err[512];

	if (!mcfg)
		nl_die(NL_EXIT_ENV, "%s: out of memory", set->who);
	if (ops->serve_config && ops->serve_config(mcfg, env, err, sizeof(err)))
		nl_die(NL_EXIT_USAGE, "%s: %s", ops->name, err);
	if (spec->check)
		spec->check(mcfg, &scratch);
	return mcfg;
}

/* A module that failed to open or attach: down, with its reason said. */
static void module_down(const struct nl_modset *set, struct nl_modset_mod *sm)
{
	struct nl_module *m = &sm->m;

	fprintf(stderr, "netlens %s: %s: %s\n", set->who, m->ops->name, m->err);
	m->ops->destroy(m);
	m->obj = NULL;
	sm->up = false;
}

size_t nl_modset_start(struct nl_modset *set, unsigned int enable, const struct nl_serve_env *env,
		       const struct nl_opts *o)
{
	size_t up = 0;

	for (int i = 0; nl_modules[i] && set->n < NL_MODSET_MAX; i++) {
		struct nl_modset_mod *sm;

		if (!(enable & (1u << i)))
			continue;
		sm = &set->mods[set->n++];
		sm->m.ops = nl_modules[i];
		sm->m.sink = &sm->sink;
		sm->m.cfg = configure(set, env, o, nl_modules[i]);
		if (set->events)
			nl_sink_init_eventlog(&sm->sink, set->events);
		else if (set->capture)
			nl_sink_init_capture(&sm->sink, set->capture);
		else
			nl_sink_init_discard(&sm->sink);
		sm->up = true;
		if (sm->m.ops->open(&sm->m, o))
			module_down(set, sm);
	}
	for (size_t i = 0; i < set->n; i++) {
		if (set->mods[i].up && set->mods[i].m.ops->attach(&set->mods[i].m))
			module_down(set, &set->mods[i]);
		up += set->mods[i].up;
	}
	return up;
}

int nl_modset_poll(struct nl_modset *set)
{
	int total = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct nl_module *m = &set->mods[i].m;
		int n;

		if (!set->mods[i].up || !m->ops->poll)
			continue;
		n = m->ops->poll(m, 0);
		if (n < 0 && n != -EINTR)
			return n;
		total += n > 0 ? n : 0;
	}
	return total;
}

void nl_modset_collect(struct nl_modset *set, bool final)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->mods[i].up)
			set->mods[i].m.ops->collect(&set->mods[i].m, final);
}

int nl_modset_flush(struct nl_modset *set)
{
	for (size_t i = 0; i < set->n; i++) {
		int err = nl_sink_flush(&set->mods[i].sink);

		if (err)
			return err;
	}
	return 0;
}

/* netlens' own trouble with one module: down, records lost, maps full. */
static void self_findings(const struct nl_modset_mod *sm, struct nl_findings *out)
{
	struct nl_module *m = (struct nl_module *)&sm->m;
	const char *name = m->ops->name;
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct nl_finding *x;

	if (!sm->up) {
		if ((x = nl_finding_add(out, NL_SEV_WARNING, "netlens_module_down", 0))) {
			nl_finding_say(x, "netlens: %s is not running (%s): what it sees is missing "
				       "here", name, m->err);
			nl_finding_str(x, "module", name);
		}
		return;
	}
	if (nl_module_stats(m, st))
		return;
	if (st[NL_STAT_LOST] && (x = nl_finding_add(out, NL_SEV_NOTICE, "netlens_lost_events",
						    st[NL_STAT_LOST]))) {
		nl_finding_say(x, "netlens: %s lost %llu of %llu records (its ring buffer was full): "
			       "what is built from records misses them", name,
			       (unsigned long long)st[NL_STAT_LOST],
			       (unsigned long long)(st[NL_STAT_EVENTS] + st[NL_STAT_LOST]));
		nl_finding_str(x, "module", name);
		nl_finding_uint(x, "lost", st[NL_STAT_LOST]);
		nl_finding_uint(x, "records", st[NL_STAT_EVENTS]);
	}
	if ((st[NL_STAT_MAP_FULL] || st[NL_STAT_MAP_BUSY]) &&
	    (x = nl_finding_add(out, NL_SEV_NOTICE, "netlens_map_full",
				st[NL_STAT_MAP_FULL] + st[NL_STAT_MAP_BUSY]))) {
		nl_finding_say(x, "netlens: %s could not store %llu entries (%llu map full, %llu "
			       "busy): what they held is not counted", name,
			       (unsigned long long)(st[NL_STAT_MAP_FULL] + st[NL_STAT_MAP_BUSY]),
			       (unsigned long long)st[NL_STAT_MAP_FULL],
			       (unsigned long long)st[NL_STAT_MAP_BUSY]);
		nl_finding_str(x, "module", name);
		nl_finding_uint(x, "map_full", st[NL_STAT_MAP_FULL]);
		nl_finding_uint(x, "map_busy", st[NL_STAT_MAP_BUSY]);
	}
}

void nl_modset_findings(struct nl_modset *set, struct nl_findings *out)
{
	for (size_t i = 0; i < set->n; i++) {
		struct nl_modset_mod *sm = &set->mods[i];

		self_findings(sm, out);
		if (sm->up && sm->m.ops->findings)
			sm->m.ops->findings(&sm->m, out);
	}
}

void nl_modset_stop(struct nl_modset *set)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->mods[i].up)
			set->mods[i].m.ops->destroy(&set->mods[i].m);
		nl_sink_free(&set->mods[i].sink);
		free(set->mods[i].m.cfg);
	}
	set->n = 0;
}
