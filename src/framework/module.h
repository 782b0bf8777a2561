/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface every capability implements, so that single commands,
 * `top` and `serve` compose the same modules:
 *   plan -> open (load with options) -> attach -> poll ... -> collect -> destroy
 */
#ifndef NETLENS_MODULE_H
#define NETLENS_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "framework/cli.h"
#include "output/output.h"

struct nl_module;
struct nl_prom;

struct nl_module_ops {
	const char *name;
	/* The command's options (`netlens NAME`); `serve` parses its modules' with them too. */
	const struct nl_cmd_spec *(*spec)(void);
	/*
	 * Says in buf which hooks the module will use on this kernel with the
	 * command's options (NULL: defaults, for `netlens probe`); returns 0 if
	 * it can run here, -ENOTSUP if not.
	 */
	int (*plan)(const void *cfg, char *buf, size_t len);
	/* Opens and loads the BPF object with the options; nothing attached yet. */
	int (*open)(struct nl_module *m, const struct nl_opts *o);
	int (*attach)(struct nl_module *m);
	/*
	 * Hands pending records to the sink; returns how many, or -errno.
	 * NULL for a module that streams nothing (its maps are read by collect).
	 */
	int (*poll)(struct nl_module *m, int timeout_ms);
	/*
	 * Emits aggregates and counters (the stats record, the summary table):
	 * every --interval with final false, and once at exit with final true.
	 */
	void (*collect)(struct nl_module *m, bool final);
	/*
	 * `serve`: adds the module's Prometheus metrics to the page being built
	 * (src/output/prom.h), cumulative since start. Called from the event loop, never
	 * concurrently with poll/collect. NULL: the module has none of its own.
	 */
	void (*metrics)(struct nl_module *m, struct nl_prom *p);
	/*
	 * The module's counters (enum nl_stat and its own); NULL: its object's
	 * "stats" map, one row.
	 */
	int (*stats)(struct nl_module *m, uint64_t out[NL_STAT_MAX]);
	/* Detaches everything and frees the module. */
	void (*destroy)(struct nl_module *m);
};

struct nl_module {
	const struct nl_module_ops *ops;
	struct nl_sink *sink;
	void *cfg;                /* the command's own options, read by open() */
	void *priv;               /* module state */
	struct bpf_object *obj;   /* set once loaded: its "stats" map and programs (serve) */
	const char *obj_label;    /* serve's label of obj's programs and maps when modules share
				   * it ("tcp": the TCP core); NULL: the module's name */
	char err[256];            /* why open/attach failed: one sentence */
};

extern const struct nl_module_ops nl_conns_ops;
extern const struct nl_module_ops nl_retrans_ops;
extern const struct nl_module_ops nl_latency_ops;
extern const struct nl_module_ops nl_flows_ops;
extern const struct nl_module_ops nl_drops_ops;
extern const struct nl_module_ops nl_dns_ops;

/* Every capability, in the order `netlens probe` lists them. */
extern const struct nl_module_ops *const nl_modules[];

/* Writes "<what>: <strerror(err)>" into m->err; returns -|err|. */
int nl_module_fail(struct nl_module *m, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* After load: a reader of the module's ring buffer calling fn with ctx m. */
int nl_module_ringbuf(struct nl_module *m, struct bpf_map *events, ring_buffer_sample_fn fn,
		      struct ring_buffer **rb);

/* Waits up to timeout_ms for records and reads all pending ones; count or -errno. */
int nl_ringbuf_read(struct ring_buffer *rb, int timeout_ms);

/*
 * A capability's command: parses argv with spec (spec->ctx is the module's
 * cfg), runs the module with nl_run() and returns the exit code.
 */
int nl_command(const struct nl_cmd_spec *spec, const struct nl_module_ops *ops, int argc,
	       char **argv);

/*
 * Runs one module as an event command: load, attach, poll until -d or a
 * signal, final collect, clean detach. Returns the process exit code.
 */
int nl_run(struct nl_module *m, const struct nl_opts *o);

/* SIGINT/SIGTERM end the run (and SIGHUP is noted, if hup); SIGPIPE is ignored. */
void nl_signals_install(bool hup);
bool nl_stop_requested(void);
/* True once per SIGHUP received. */
bool nl_hup_taken(void);
/* Waits timeout_ms, or less if a signal arrives. */
int nl_idle(int timeout_ms);

#endif
