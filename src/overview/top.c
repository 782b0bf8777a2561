// SPDX-License-Identifier: GPL-2.0
/*
 * `netlens top`: every module (flows too with -i) in one loop, as `serve`
 * runs them, with capture sinks (src/output/output.h) handing their
 * summaries and records to the model (src/overview/top_model.h) instead of
 * writing them. Every second: collect, findings, draw. On a terminal the
 * full-screen view (src/overview/top_screen.h); otherwise, or with --once,
 * a plain-text snapshot after -d seconds.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "framework/finding.h"
#include "framework/modset.h"
#include "framework/sys.h"
#include "overview/top.h"
#include "overview/top_model.h"
#include "overview/top_screen.h"

#define REFRESH_NS   1000000000ULL
#define LOOP_IDLE_MS 20
#define PLAIN_WIDTH  200

struct top_cfg {
	struct nl_serve_env env;      /* first: -i and --flows-hook (nl_modset_set_*) */
	bool once;
	bool processes;               /* per-event records for the processes view (their cost) */
};

struct top {
	struct nl_modset set;
	struct nl_capture capture;
	struct top_model *model;
	struct nl_findings findings;
	uint64_t last_tick;
	char names[128];              /* the modules that are up */
};

static int set_once(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg;
	(void)err;
	(void)len;
	((struct top_cfg *)ctx)->once = true;
	return 0;
}

static int set_processes(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg;
	(void)err;
	(void)len;
	((struct top_cfg *)ctx)->processes = true;
	return 0;
}

/* A line one module's sink produced: the module is the one that owns the sink. */
static void take(void *ctx, struct nl_sink *s, struct json_object *o)
{
	struct top *t = ctx;

	for (size_t i = 0; i < t->set.n; i++)
		if (&t->set.mods[i].sink == s) {
			top_model_take(t->model, t->set.mods[i].m.ops->name, o);
			return;
		}
}

static void names_up(struct top *t, bool have_iface)
{
	size_t n = 0, len = sizeof(t->names);

	t->names[0] = '\0';
	for (size_t i = 0; i < t->set.n && n < len; i++)
		if (t->set.mods[i].up)
			n += snprintf(t->names + n, len - n, "%s%s", n ? " " : "",
				      t->set.mods[i].m.ops->name);
	if (!have_iface && n < len)
		snprintf(t->names + n, len - n, "; flows: -i IFACE");
}

/* The second is over: every module's summary, then the findings of the totals. */
static void tick(struct top *t, bool final)
{
	uint64_t now = nl_now_mono();

	nl_modset_collect(&t->set, final);
	top_model_tick(t->model, (now - t->last_tick) / 1e9);
	t->last_tick = now;
	nl_findings_clear(&t->findings);
	nl_modset_findings(&t->set, &t->findings);
	nl_findings_rank(&t->findings);
}

/* Reads pending records, or waits a little (for a key, on a terminal); 0 or -errno. */
static int pump(struct top *t, int key_fd)
{
	struct pollfd pfd = { .fd = key_fd, .events = POLLIN };
	int n = nl_modset_poll(&t->set);

	if (n)
		return n < 0 ? n : 0;
	if (poll(&pfd, key_fd >= 0 ? 1 : 0, LOOP_IDLE_MS) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

static bool second_over(const struct top *t)
{
	return nl_now_mono() - t->last_tick >= REFRESH_NS;
}

/* Not a terminal, or --once: watch for -d seconds, then the findings and every view. */
static int snapshot(struct top *t, const struct nl_opts *o)
{
	uint64_t deadline = nl_now_mono() + (uint64_t)(o->duration * 1e9);
	struct top_table table = { 0 };
	struct nl_sink out;
	int err = 0;

	fprintf(stderr, "netlens top: watching for %g s (%s)\n", o->duration, t->names);
	while (!err && !nl_stop_requested() && nl_now_mono() < deadline) {
		err = pump(t, -1);
		if (!err && second_over(t) && nl_now_mono() + REFRESH_NS / 2 < deadline)
			tick(t, false);
	}
	if (err)
		return err;
	tick(t, true);
	printf("netlens top: %g s, modules: %s\n\nFindings\n", o->duration, t->names);
	nl_sink_init(&out, NL_OUT_TABLE, stdout);
	nl_findings_write(&out, &t->findings);
	for (int v = 0; v < TOP_VIEWS; v++) {
		top_model_table(t->model, (enum top_view)v, &table, NULL, -1, false);
		top_table_print(&table, stdout, PLAIN_WIDTH);
	}
	top_table_free(&table);
	if (top_model_folded(t->model) || t->capture.unparsed)
		printf("\nnot shown: %llu updates (tables full), %llu lines unparsed\n",
		       (unsigned long long)top_model_folded(t->model),
		       (unsigned long long)t->capture.unparsed);
	err = nl_sink_flush(&out);
	nl_sink_free(&out);
	return err;
}

/* The modules up, and what top itself could not show (said, never silent). */
static void status_line(const struct top *t, char *buf, size_t len)
{
	uint64_t folded = top_model_folded(t->model);
	int n = snprintf(buf, len, "[%s]", t->names);

	if (folded && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " %llu updates not kept (tables full)",
			      (unsigned long long)folded);
	if (t->capture.unparsed && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " %llu lines unparsed",
			 (unsigned long long)t->capture.unparsed);
}

/* The full-screen view until q, Ctrl-C, SIGTERM or -d. */
static int interactive(struct top *t, const struct nl_opts *o)
{
	uint64_t deadline = o->duration ? nl_now_mono() + (uint64_t)(o->duration * 1e9) : 0;
	struct top_ui ui = { 0 };
	char status[192];
	int err = 0;

	if (top_screen_start(&ui))
		return -ENOTTY;
	status_line(t, status, sizeof(status));
	top_screen_draw(&ui, t->model, &t->findings, status);
	while (!err && !nl_stop_requested() && (!deadline || nl_now_mono() < deadline)) {
		enum top_key_result k;

		err = pump(t, STDIN_FILENO);
		k = top_screen_keys(&ui);
		if (k == TOP_KEY_QUIT)
			break;
		/* Paused: records are still read (nothing is lost), summaries wait. */
		if (second_over(t) && !ui.paused) {
			tick(t, false);
			status_line(t, status, sizeof(status));
			k = TOP_KEY_REDRAW;
		}
		if (k == TOP_KEY_REDRAW)
			top_screen_draw(&ui, t->model, &t->findings, status);
	}
	top_screen_end(&ui);
	return err;
}

/* The full screen on a terminal it can drive; otherwise, or with --once, the snapshot. */
static int show(struct top *t, const struct top_cfg *cfg, struct nl_opts *o, bool tty)
{
	if (tty && !cfg->once) {
		int err = interactive(t, o);

		if (err != -ENOTTY)
			return err;
		fprintf(stderr, "netlens top: cannot drive this terminal (TERM=%s): a snapshot "
			"instead\n", nl_echo(getenv("TERM") ? getenv("TERM") : ""));
		if (!o->duration)
			o->duration = TOP_SNAPSHOT_SECONDS;
	}
	return snapshot(t, o);
}

static int top_run(const struct top_cfg *cfg, struct nl_opts *o)
{
	struct top t = { .set = { .who = "top" } };
	bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	int err;

	if ((cfg->once || !tty) && !o->duration)
		o->duration = TOP_SNAPSHOT_SECONDS;
	nl_sys_init(o->verbose);
	nl_signals_install(false);
	t.model = top_model_new();
	if (!t.model)
		nl_die(NL_EXIT_ENV, "top: out of memory");
	/* The processes view and the errno column are made of records (docs/top.md: the cost). */
	t.capture = (struct nl_capture){ .take = take, .ctx = &t, .records = cfg->processes };
	t.set.capture = &t.capture;
	if (!nl_modset_start(&t.set, nl_modset_default(cfg->env.ifname), &cfg->env, o)) {
		nl_modset_stop(&t.set);
		nl_die(NL_EXIT_ENV, "top: no module could be attached");
	}
	names_up(&t, cfg->env.ifname);
	t.last_tick = nl_now_mono();
	nl_modset_findings(&t.set, &t.findings);
	nl_findings_rank(&t.findings);
	err = show(&t, cfg, o, tty);
	nl_modset_stop(&t.set);
	nl_capture_free(&t.capture);
	nl_findings_free(&t.findings);
	top_model_free(t.model);
	if (err && err != -EPIPE)
		nl_die(NL_EXIT_ENV, "top: %s", strerror(-err));
	return 0;
}

int top_main(int argc, char **argv)
{
	static struct top_cfg cfg = { .env.flows_hook = "tc" };
	static const struct nl_cmd_opt opts[] = {
		{ "interface", 'i', "IFACE", "also show flows (top talkers) on this interface",
		  nl_modset_set_iface },
		NL_MODSET_OPT_FLOWS_HOOK(NL_OPT_LONG_ONLY),
		{ "once", NL_OPT_LONG_ONLY + 1, NULL, "one plain-text snapshot after -d seconds "
		  "(default 2), as when not on a terminal", set_once },
		{ "processes", NL_OPT_LONG_ONLY + 2, NULL, "count per process (view 4) from the "
		  "modules' records: about 10x top's own CPU on a connection storm", set_processes },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "top",
		.summary = "Every module live, full screen, refreshed every second: the findings\n"
			   "(most severe first) over destinations, drops, DNS, processes and flows\n"
			   "(with -i); h lists the keys. Not a terminal, or --once: a plain-text\n"
			   "snapshot after -d seconds (default 2). -d on a terminal: quit after it.",
		.sets = NL_OPTS_EVENTS,
		.opts = opts,
	};
	struct nl_opts o;

	nl_cli_parse(&spec, &cfg, argc, argv, &o);
	return top_run(&cfg, &o);
}
