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
struct nl_findings;

/* What `serve` hands the modules that ask for it (ops->serve_config). */
struct nl_serve_env {
	const char *ifname;        /* -i IFACE, or NULL */
	const char *flows_hook;    /* --flows-hook: "tc" (both directions) or "xdp" */
	const char *ipfix;         /* --ipfix HOST:PORT, or NULL */
};

/* What a module needs from `serve` (ops->serve_flags). */
enum nl_serve_flags {
	NL_SERVE_NEEDS_IFACE    = 1 << 0,  /* runs only with -i: left out by default without */
	NL_SERVE_IPFIX          = 1 << 1,  /* exports --ipfix */
	NL_SERVE_NETLINK_DETACH = 1 << 2,  /* removes an XDP/TC attachment at exit (CAP_NET_ADMIN) */
	NL_SERVE_OPT_IN         = 1 << 3,  /* hooks every process's I/O: only when --enable names it */
};

struct nl_module_ops {
	const char *name;
	const char *help;          /* its line in `netlens --help` */
	/*
	 * The BPF object it shares with other modules ("tcp": the TCP core), for
	 * `probe` and serve's labels of that object's programs and maps; NULL:
	 * an object of its own.
	 */
	const char *shared_object;
	/* The command's options (`netlens NAME`); their setters write into a cfg instance. */
	const struct nl_cmd_spec *(*spec)(void);
	/*
	 * A command of its own for `netlens NAME` (argv[0] is NAME; returns the
	 * exit code), for a module whose command is not an event run (block's
	 * verbs). NULL: nl_command().
	 */
	int (*main)(int argc, char **argv);
	size_t cfg_size;           /* the module's options, one instance per nl_module */
	const void *cfg_defaults;  /* cfg_size bytes copied into a new instance; NULL: zeroes */
	unsigned int serve_flags;  /* enum nl_serve_flags */
	/*
	 * `serve`: sets the module's options from serve's; 0, or -1 with
	 * "--option: why" in err. NULL: serve runs the module with its defaults.
	 * Then serve runs spec()->check, as the command would.
	 */
	int (*serve_config)(void *cfg, const struct nl_serve_env *env, char *err, size_t len);
	/*
	 * Says in buf which hooks the module will use on this kernel: with m->cfg
	 * NULL the defaults (`netlens probe`), once attached what it got.
	 * Returns 0 if it can run here, -ENOTSUP if not.
	 */
	int (*plan)(const struct nl_module *m, char *buf, size_t len);
	/*
	 * Prepares the module with its options: run-time state in m->priv; the
	 * BPF object loaded, or configured for a load at attach. Nothing attached
	 * yet: serve opens every module before it attaches any.
	 */
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
	 * `diagnose` and `top`: adds what the module's totals since it attached
	 * show is wrong (src/framework/finding.h), after a collect; may be
	 * called again later with more traffic seen. NULL: it finds nothing.
	 */
	void (*findings)(struct nl_module *m, struct nl_findings *out);
	/*
	 * The module's counters (enum nl_stat and its own); NULL: its object's
	 * "stats" map, one row.
	 */
	int (*stats)(struct nl_module *m, uint64_t out[NL_STAT_MAX]);
	/* Detaches everything and frees m->priv (not m->cfg: its owner frees it). */
	void (*destroy)(struct nl_module *m);
};

struct nl_module {
	const struct nl_module_ops *ops;
	struct nl_sink *sink;
	void *cfg;                /* this instance's options (nl_module_cfg_new), read-only after parsing */
	void *priv;               /* module state, run-time facts included */
	struct bpf_object *obj;   /* set once loaded: its "stats" map and programs (serve) */
	char err[256];            /* why open/attach failed: one sentence */
};

/* Every capability, in the order `netlens --help` and `netlens probe` list them (src/registry.c). */
extern const struct nl_module_ops *const nl_modules[];

/* nl_modules[]'s index of the module called name, or -1. */
int nl_module_index(const char *name);

/* m's counters (enum nl_stat): its stats op, else its object's "stats" map. 0 or -errno. */
int nl_module_stats(struct nl_module *m, uint64_t out[NL_STAT_MAX]);

/* A new instance of ops' options with their defaults, or NULL; free() it. */
void *nl_module_cfg_new(const struct nl_module_ops *ops);

/* Writes "<what>: <strerror(err)>" into m->err; returns -|err|. */
int nl_module_fail(struct nl_module *m, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* After load: a reader of the module's ring buffer calling fn with ctx m. */
int nl_module_ringbuf(struct nl_module *m, struct bpf_map *events, ring_buffer_sample_fn fn,
		      struct ring_buffer **rb);

/* Waits up to timeout_ms for records and reads all pending ones; count or -errno. */
int nl_ringbuf_read(struct ring_buffer *rb, int timeout_ms);

/*
 * A capability's command (`netlens NAME`): parses argv into a new instance
 * of its options, runs the module with nl_run() and returns the exit code.
 */
int nl_command(const struct nl_module_ops *ops, int argc, char **argv);

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
