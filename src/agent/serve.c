// SPDX-License-Identifier: GPL-2.0
/*
 * `netlens serve`: the enabled capability modules in one process (one
 * event loop), their metrics on HTTP for Prometheus, their records in an
 * events file, until SIGINT/SIGTERM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "output/eventlog.h"
#include "framework/privs.h"
#include "agent/serve.h"
#include "agent/serve_http.h"
#include "framework/sys.h"

#define LOOP_IDLE_MS     20      /* sleep when no module had records */
#define RENDER_PERIOD_NS 1000000000ULL   /* /metrics is at most this old */

struct serve_cfg {
	struct nl_serve_env env;   /* first: -i, --flows-hook (nl_modset_set_*) and --ipfix */
	const char *listen;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned int enable;       /* bit i: nl_modules[i]; 0 until chosen */
	uint32_t max_series;
	bool no_bpf_stats;
	const char *events_file;   /* --events-file: the modules' JSON records */
	uint64_t events_max_size;
	uint32_t events_keep;
	const char *user;          /* --user: run as this user after attaching */
};

struct serve {
	struct serve_cfg *cfg;
	const struct nl_opts *o;
	struct nl_modset set;
	struct nl_http *http;
	struct nl_prom *prom;
	int stats_fd;              /* BPF_ENABLE_STATS, held while serving; -1 if refused */
	struct nl_eventlog *events;   /* NULL: records are not built (discarding sinks) */
};

/* "conns, latency, ...": every module's name. */
static void module_names(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; nl_modules[i] && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "", nl_modules[i]->name);
}

/* One name of --enable: a module not named before; 0, or -1 with err. */
static int enable_one(struct serve_cfg *cfg, const char *name, const char *arg, char *err,
		      size_t len)
{
	int i = nl_module_index(name);
	char names[128];

	if (!*name) {
		snprintf(err, len, "'%s' has an empty module name", nl_echo(arg));
		return -1;
	}
	if (i < 0) {
		module_names(names, sizeof(names));
		snprintf(err, len, "unknown module '%s' (%s)", nl_echo(name), names);
		return -1;
	}
	if (cfg->enable & (1u << i)) {
		snprintf(err, len, "'%s' is named twice", name);
		return -1;
	}
	cfg->enable |= 1u << i;
	return 0;
}

/* NAME,NAME...: each a module, none empty, none twice. */
static int set_enable(void *ctx, const char *arg, char *err, size_t len)
{
	struct serve_cfg *cfg = ctx;
	char *list = strdup(arg), *next = list, *name;
	int ret = 0;

	if (!list)
		return -1;
	cfg->enable = 0;
	while (!ret && (name = strsep(&next, ",")))
		ret = enable_one(cfg, name, arg, err, len);
	free(list);
	return ret;
}

static int set_listen(void *ctx, const char *arg, char *err, size_t len)
{
	struct serve_cfg *cfg = ctx;

	cfg->listen = arg;
	if (!nl_parse_endpoint(arg, &cfg->addr, &cfg->addrlen))
		return 0;
	snprintf(err, len, "'%s' is not ADDR:PORT, numeric (e.g. 127.0.0.1:9787 or [::1]:9787)",
		 nl_echo(arg));
	return -1;
}

/* Options that only keep their argument (argv outlives the run). */
#define STRING_OPTION(name, field)                                                  \
	static int name(void *ctx, const char *arg, char *err, size_t len)          \
	{                                                                           \
		(void)err;                                                          \
		(void)len;                                                          \
		((struct serve_cfg *)ctx)->field = arg;                             \
		return 0;                                                           \
	}
STRING_OPTION(set_ipfix, env.ipfix)
STRING_OPTION(set_user, user)
STRING_OPTION(set_events_file, events_file)

static int set_max_series(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 1, 1000000, &((struct serve_cfg *)ctx)->max_series, err, len);
}

static int set_no_bpf_stats(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg;
	(void)err;
	(void)len;
	((struct serve_cfg *)ctx)->no_bpf_stats = true;
	return 0;
}

/* 0: never rotated here (an external logrotate, then SIGHUP). */
static int set_events_max_size(void *ctx, const char *arg, char *err, size_t len)
{
	uint64_t *v = &((struct serve_cfg *)ctx)->events_max_size;

	if (!nl_parse_size(arg, 0, 1ULL << 40, v) && (*v == 0 || *v >= 4096))
		return 0;
	snprintf(err, len, "'%s' is not 0 or a size from 4k to 1024G (k, M, G: binary units)",
		 nl_echo(arg));
	return -1;
}

static int set_events_keep(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 0, NL_EVENTLOG_MAX_KEEP, &((struct serve_cfg *)ctx)->events_keep,
			  err, len);
}

/* The first module of a non-empty set. */
static const char *first_name(unsigned int set)
{
	return nl_modules[__builtin_ctz(set)]->name;
}

/* Defaults that depend on other options: the modules, the interval. */
static void check(void *ctx, struct nl_opts *o)
{
	struct serve_cfg *cfg = ctx;
	unsigned int need_iface = nl_modset_with(NL_SERVE_NEEDS_IFACE);
	unsigned int ipfix = nl_modset_with(NL_SERVE_IPFIX);

	if (!cfg->enable)
		cfg->enable = nl_modset_default(cfg->env.ifname);
	if ((cfg->enable & need_iface) && !cfg->env.ifname)
		nl_die(NL_EXIT_USAGE, "serve: %s needs -i IFACE (or leave it out of --enable)",
		       first_name(cfg->enable & need_iface));
	if (cfg->env.ipfix && !(cfg->enable & ipfix))
		nl_die(NL_EXIT_USAGE, "serve: --ipfix exports %s: give -i IFACE",
		       ipfix ? first_name(ipfix) : "nothing");
	if (!o->interval)
		o->interval = SERVE_DEFAULT_INTERVAL;
}

static void publish_health(struct serve *s)
{
	char text[2048];
	size_t len = 0;
	bool healthy = true;

	for (size_t i = 0; i < s->set.n && len < sizeof(text); i++) {
		const struct nl_modset_mod *sm = &s->set.mods[i];

		healthy &= sm->up;
		len += snprintf(text + len, sizeof(text) - len, "%s: %s\n", sm->m.ops->name,
				sm->up ? "attached" : sm->m.err);
	}
	nl_http_publish_health(s->http, healthy, text);
}

static void render(struct serve *s)
{
	uint64_t answers[NL_HTTP_CODES];
	const char *text;
	size_t len;

	nl_prom_reset(s->prom);
	nl_http_answers(s->http, answers);
	serve_self_metrics(s->prom, s->set.mods, s->set.n, answers, s->stats_fd >= 0);
	if (s->events)
		nl_eventlog_metrics(s->events, s->prom);
	for (size_t i = 0; i < s->set.n; i++) {
		struct nl_modset_mod *sm = &s->set.mods[i];

		if (sm->up && sm->m.ops->metrics)
			sm->m.ops->metrics(&sm->m, s->prom);
	}
	text = nl_prom_text(s->prom, &len);
	nl_http_publish_metrics(s->http, text, len);
}

/* SIGHUP: logrotate moved the events file away. */
static void reopen_events(struct serve *s)
{
	int err = nl_eventlog_reopen(s->events);

	if (err)
		fprintf(stderr, "netlens serve: cannot reopen %s: %s (records are counted lost "
			"until it can be)\n", nl_echo(s->cfg->events_file), strerror(-err));
}

static int run_loop(struct serve *s)
{
	uint64_t now = nl_now_mono();
	uint64_t period = (uint64_t)(s->o->interval * 1e9);
	uint64_t deadline = s->o->duration > 0 ? now + (uint64_t)(s->o->duration * 1e9) : 0;
	uint64_t next_collect = now + period, next_render = now + RENDER_PERIOD_NS;
	int n, err;

	while (!nl_stop_requested()) {
		n = nl_modset_poll(&s->set);
		if (n < 0)
			return n;
		now = nl_now_mono();
		if (deadline && now >= deadline)
			break;
		if (now >= next_collect) {
			nl_modset_collect(&s->set, false);
			next_collect += period;
		}
		if (nl_hup_taken() && s->events)
			reopen_events(s);
		if (now >= next_render) {
			render(s);
			next_render = now + RENDER_PERIOD_NS;
		}
		err = nl_modset_flush(&s->set);
		if (err)
			return err;
		if (!n)
			nl_idle(LOOP_IDLE_MS);
	}
	return 0;
}

/* Everything is loaded and attached: keeps only what the running agent needs (docs/privileges.md). */
static void drop_privileges(struct serve *s)
{
	struct nl_privs_need need = { 0 };
	char err[256];

	for (size_t i = 0; i < s->set.n; i++)
		need.netlink_detach |= s->set.mods[i].up &&
				       (s->set.mods[i].m.ops->serve_flags & NL_SERVE_NETLINK_DETACH);
	if (nl_privs_drop(&need, s->cfg->user, err, sizeof(err))) {
		nl_modset_stop(&s->set);
		nl_die(NL_EXIT_ENV, "serve: %s", err);
	}
}

static int serve_run(struct serve_cfg *cfg, const struct nl_opts *o)
{
	struct serve s = { .cfg = cfg, .o = o, .stats_fd = -1, .set.who = "serve" };
	size_t up;
	char err[256];
	int listen_fd, ret;

	nl_sys_init(o->verbose);
	/* Listen first: a taken port is said before anything is loaded. */
	listen_fd = nl_http_bind((struct sockaddr *)&cfg->addr, cfg->addrlen, err, sizeof(err));
	if (listen_fd < 0)
		nl_die(NL_EXIT_ENV, "serve: %s", err);
	/* Run-time stats cost two clock reads per program run: on unless refused. */
	s.stats_fd = cfg->no_bpf_stats ? -1 : bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (s.stats_fd < 0 && !cfg->no_bpf_stats)
		fprintf(stderr, "netlens serve: bpf_stats unavailable (%s): no per-program run "
			"time\n", strerror(errno));
	s.prom = nl_prom_new(cfg->max_series);
	if (cfg->events_file &&
	    !(s.events = nl_eventlog_open(cfg->events_file, cfg->events_max_size, cfg->events_keep)))
		nl_die(NL_EXIT_ENV, "serve: cannot open the events file %s: %s", nl_echo(cfg->events_file),
		       strerror(errno));
	nl_signals_install(true);
	s.set.events = s.events;
	up = nl_modset_start(&s.set, cfg->enable, &cfg->env, o);
	if (!up) {
		nl_modset_stop(&s.set);
		nl_die(NL_EXIT_ENV, "serve: no module could be attached");
	}
	drop_privileges(&s);
	if (nl_http_start(&s.http, listen_fd, o->verbose, err, sizeof(err))) {
		nl_modset_stop(&s.set);
		nl_die(NL_EXIT_ENV, "serve: %s", err);
	}
	publish_health(&s);
	render(&s);
	fprintf(stderr, "netlens serve: %zu of %zu modules attached; metrics on http://%s/metrics; "
		"Ctrl-C to stop\n", up, s.set.n, cfg->listen);
	ret = run_loop(&s);
	if (!ret) {
		nl_modset_poll(&s.set);
		nl_modset_collect(&s.set, true);
		ret = nl_modset_flush(&s.set);
	}
	nl_modset_stop(&s.set);
	nl_eventlog_close(s.events);
	nl_http_stop(s.http);
	nl_prom_free(s.prom);
	if (s.stats_fd >= 0)
		close(s.stats_fd);
	if (ret && ret != -EPIPE)
		nl_die(NL_EXIT_ENV, "serve: %s", strerror(-ret));
	return 0;
}

int serve_main(int argc, char **argv)
{
	static struct serve_cfg cfg = { .max_series = SERVE_DEFAULT_MAX_SERIES, .env.flows_hook = "tc",
					.events_max_size = NL_EVENTLOG_DEFAULT_MAX_SIZE,
					.events_keep = NL_EVENTLOG_DEFAULT_KEEP };
	static const struct nl_cmd_opt opts[] = {
		{ "listen", 'l', "ADDR:PORT", "HTTP address for /metrics and /healthz (default "
		  SERVE_DEFAULT_LISTEN "; [::1]:PORT for IPv6)", set_listen },
		{ "enable", 'e', "LIST", "modules, comma-separated: conns,latency,retrans,drops,"
		  "flows,dns,http (default: all but http; flows only with -i)", set_enable },
		{ "interface", 'i', "IFACE", "the interface flows counts packets on",
		  nl_modset_set_iface },
		NL_MODSET_OPT_FLOWS_HOOK(NL_OPT_LONG_ONLY + 2),
		{ "ipfix", NL_OPT_LONG_ONLY, "HOST:PORT", "export flows as IPFIX over UDP",
		  set_ipfix },
		{ "no-bpf-stats", NL_OPT_LONG_ONLY + 3, NULL, "do not enable the kernel's per-program "
		  "run time counters (about 20-50 ns per program run)", set_no_bpf_stats },
		{ "max-series", NL_OPT_LONG_ONLY + 1, "N", "series per labelled metric family; the "
		  "rest are summed into one labelled \"other\" (default 500)", set_max_series },
		{ "events-file", NL_OPT_LONG_ONLY + 4, "PATH", "append the modules' JSON records "
		  "there (reopened on SIGHUP)", set_events_file },
		{ "events-max-size", NL_OPT_LONG_ONLY + 5, "SIZE", "rotate the events file before "
		  "it passes SIZE (default 100M; 0: never)", set_events_max_size },
		{ "events-keep", NL_OPT_LONG_ONLY + 6, "N", "rotated events files kept: PATH.1 .. "
		  "PATH.N (default 5; 0: PATH starts afresh)", set_events_keep },
		{ "user", NL_OPT_LONG_ONLY + 7, "NAME", "after attaching, run as this user (with "
		  "only the capabilities docs/privileges.md lists)", set_user },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "serve",
		.summary = "The always-on agent: the enabled modules in one process, metrics for\n"
			   "Prometheus on HTTP (/metrics, /healthz), collections every --interval\n"
			   "(default 10 s), until SIGINT/SIGTERM.",
		.sets = NL_OPTS_EVENTS | NL_OPTS_INTERVAL,
		.opts = opts,
		.check = check,
	};
	struct nl_opts o;

	nl_parse_endpoint(SERVE_DEFAULT_LISTEN, &cfg.addr, &cfg.addrlen);
	cfg.listen = SERVE_DEFAULT_LISTEN;
	nl_cli_parse(&spec, &cfg, argc, argv, &o);
	return serve_run(&cfg, &o);
}
