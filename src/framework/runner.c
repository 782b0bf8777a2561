// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "framework/module.h"
#include "framework/sys.h"

#define POLL_MS 50

static volatile sig_atomic_t stop_signal, hup_signal;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup_signal = 1;
	else
		stop_signal = sig;
}

bool nl_stop_requested(void)
{
	return stop_signal != 0;
}

bool nl_hup_taken(void)
{
	if (!hup_signal)
		return false;
	hup_signal = 0;
	return true;
}

void nl_signals_install(bool hup)
{
	/*
	 * SA_RESTART keeps a write to a full pipe from failing half-way with
	 * EINTR (a torn JSON line). epoll_wait() is never restarted, whatever
	 * the flag (signal(7)), so a signal still ends the poll at once.
	 */
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (hup)
		sigaction(SIGHUP, &sa, NULL);
	/* A closed stdout (| head) ends the run like a signal, via EPIPE. */
	signal(SIGPIPE, SIG_IGN);
}

int nl_idle(int timeout_ms)
{
	return poll(NULL, 0, timeout_ms) < 0 ? -errno : 0;
}

/* Polls until -d or a signal; on error says in *what which side failed. */
static int run_loop(struct nl_module *m, const struct nl_opts *o, const char **what)
{
	uint64_t now = nl_now_mono();
	uint64_t deadline = o->duration > 0 ? now + (uint64_t)(o->duration * 1e9) : 0;
	uint64_t period = (uint64_t)(o->interval * 1e9);
	uint64_t next_report = period ? now + period : 0;

	while (!stop_signal) {
		int timeout = POLL_MS;
		int err;

		now = nl_now_mono();
		if (deadline && now >= deadline)
			break;
		if (deadline && (deadline - now) / 1000000 < (uint64_t)timeout)
			timeout = (deadline - now) / 1000000;
		err = m->ops->poll ? m->ops->poll(m, timeout) : nl_idle(timeout);
		if (err < 0 && err != -EINTR) {
			*what = "reading events failed";
			return err;
		}
		if (next_report && nl_now_mono() >= next_report) {
			m->ops->collect(m, false);
			next_report += period;
		}
		err = nl_sink_flush(m->sink);
		if (err)
			return err;
	}
	return 0;
}

int nl_run(struct nl_module *m, const struct nl_opts *o)
{
	const char *what = "writing output failed";
	char plan[256];
	int err;

	nl_sys_init(o->verbose);
	if (m->ops->open(m, o)) {
		m->ops->destroy(m);
		nl_die(NL_EXIT_ENV, "%s: %s%s", m->ops->name, m->err,
		       o->verbose ? "" : " (run with -v for the libbpf and verifier log)");
	}
	if (m->ops->attach(m)) {
		m->ops->destroy(m);
		nl_die(NL_EXIT_ENV, "%s: %s", m->ops->name, m->err);
	}
	nl_signals_install(false);
	if (m->ops->plan(m, plan, sizeof(plan)) == 0)
		fprintf(stderr, "netlens %s: attached (%s); Ctrl-C to stop\n", m->ops->name, plan);
	err = run_loop(m, o, &what);
	if (!err) {
		/* Drain what the kernel still holds, then the totals. */
		if (m->ops->poll)
			m->ops->poll(m, 0);
		m->ops->collect(m, true);
		err = nl_sink_flush(m->sink);
	}
	m->ops->destroy(m);
	/* EPIPE: whoever read our output is gone (| head), a normal end. */
	if (err && err != -EPIPE)
		nl_die(NL_EXIT_ENV, "%s: %s: %s", m->ops->name, what, strerror(-err));
	return 0;
}
