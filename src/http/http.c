// SPDX-License-Identifier: GPL-2.0
/* netlens http: the module (a part of the TCP core) and the command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "framework/module.h"
#include "framework/sys.h"
#include "http/http.h"
#include "tcp/tcp_core.h"
#include "tcp.skel.h"

#define TLS_RESCAN_NS (5ULL * 1000000000)   /* new processes' libssl files, looked for this often */

struct http {
	struct http_match match;
	struct http_summary summary;
	struct http_metrics metrics;
	bool metrics_on;           /* serve asked for metrics: keep totals since start */
	struct http_tls *tls;      /* NULL with --no-tls */
	uint64_t tls_scanned;      /* CLOCK_MONOTONIC ns of the last scan */
	struct ring_buffer *rb;
	struct nl_module *m;
};

/* Where the data is seen: every socket's sendmsg/recvmsg ends there (Linux 6.5+). */
static const char *const io_tracepoints[] = { "sock_send_length", "sock_recv_length" };

/* The owner of an accepted socket, which -p and -c read, is learned at the exit of accept(2). */
static bool accept_exit_hooked(void)
{
	return nl_tracepoint_exists("syscalls", "sys_exit_accept4") ||
	       nl_tracepoint_exists("syscalls", "sys_exit_accept");
}

static bool uprobes_usable(void)
{
	return access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
}

static int http_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct http_cfg *c = m->cfg;
	const struct http *h = m->priv;
	bool tls = !c || !c->no_tls;
	int hooks;

	for (size_t i = 0; i < sizeof(io_tracepoints) / sizeof(io_tracepoints[0]); i++) {
		if (!nl_tracepoint_exists("sock", io_tracepoints[i])) {
			snprintf(buf, len, "unavailable: no sock:%s tracepoint (Linux 6.5+)",
				 io_tracepoints[i]);
			return -ENOTSUP;
		}
	}
	if (!accept_exit_hooked()) {
		snprintf(buf, len, "unavailable: no syscalls:sys_exit_accept4 tracepoint "
			 "(CONFIG_FTRACE_SYSCALLS), where the owner of an accepted socket is learned");
		return -ENOTSUP;
	}
	if (tls && !uprobes_usable()) {
		snprintf(buf, len, "unavailable: the kernel has no uprobes (CONFIG_UPROBE_EVENTS) for "
			 "OpenSSL; --no-tls runs without");
		return -ENOTSUP;
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) != 1) {
		snprintf(buf, len, "unavailable: needs raw tracepoints");
		return -ENOTSUP;
	}
	hooks = snprintf(buf, len, "%s sock:sock_send_length, sock:sock_recv_length%s",
			 nl_hook_name(tcp_core_hook(NL_HOOK_AUTO)),
			 tcp_core_may_fall_back(NL_HOOK_AUTO) ? " (raw_tp if refused)" : "");
	if (hooks < 0 || (size_t)hooks >= len)
		return 0;
	if (h && h->tls)
		snprintf(buf + hooks, len - hooks, "; uprobes on OpenSSL 3 in %u libssl.so.3 files, "
			 "%u at ssl_read_internal/ssl_write_internal (TCP core)",
			 http_tls_libs(h->tls), http_tls_libs_internal(h->tls));
	else
		snprintf(buf + hooks, len - hooks, "%s (TCP core)",
			 tls ? "; uprobes on OpenSSL 3 (libssl.so.3)" : "; no TLS (--no-tls)");
	return 0;
}

void http_choose_programs(struct tcp_bpf *skel, bool on)
{
	struct bpf_program *tls[] = {
		skel->progs.http_ssl_write, skel->progs.http_ssl_write_ex, skel->progs.http_ssl_read,
		skel->progs.http_ssl_read_ex, skel->progs.http_ssl_ret,
	};

	for (size_t i = 0; i < sizeof(tls) / sizeof(tls[0]); i++)
		bpf_program__set_autoload(tls[i], on && uprobes_usable());
}

void http_shrink_maps(struct tcp_bpf *skel)
{
	bpf_map__set_max_entries(skel->maps.http_ssl_socks, 1);
}

static void configure(struct tcp_bpf *skel, const void *ctx)
{
	(void)ctx;
	/* Checked at open: the protocols' starts fit HTTP_MAX_SIGS. */
	http_proto_sigs((struct http_sig *)skel->rodata->http_sigs, HTTP_MAX_SIGS, false);
	http_proto_sigs((struct http_sig *)skel->rodata->http_resp_sigs, HTTP_MAX_SIGS, true);
}

static void on_exchange(void *ctx, const struct http_exchange *x)
{
	struct http *h = ctx;

	http_write_exchange(h->m->sink, x);
	if (http_summary_add(&h->summary, x) ||
	    (h->metrics_on && http_metrics_add(&h->metrics, x)))
		fprintf(stderr, "netlens http: out of memory for the summary\n");
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct nl_module *m = ctx;
	struct http *h = m->priv;

	if (len < sizeof(struct http_event))
		return 0;
	if (http_match_event(&h->match, data))
		fprintf(stderr, "netlens http: out of memory for a connection\n");
	return 0;
}

static int http_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct http_cfg *cfg = m->cfg;
	struct tcp_part part = {
		.row = TCP_ROW_HTTP, .hook = NL_HOOK_AUTO, .max_conns = cfg->max_conns,
		.configure = configure,
	};
	struct http_sig sigs[HTTP_MAX_SIGS];
	struct http *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	m->priv = h;
	h->m = m;
	h->match = (struct http_match){ .full_path = cfg->full_path, .emit = on_exchange, .ctx = h };
	h->summary = (struct http_summary){ .by = cfg->by, .max_paths = cfg->max_paths };
	if (http_plan(m, m->err, sizeof(m->err)))
		return -ENOTSUP;
	if (http_proto_sigs(sigs, HTTP_MAX_SIGS, false) < 0 ||
	    http_proto_sigs(sigs, HTTP_MAX_SIGS, true) < 0)
		return nl_module_fail(m, E2BIG, "the protocols' request starts exceed %d signatures",
				      HTTP_MAX_SIGS);
	if (!cfg->no_tls) {
		h->tls = http_tls_new();
		if (!h->tls)
			return -ENOMEM;
	}
	part.ctx = h;
	return tcp_core_join(m, o, &part);
}

static int scan_tls(struct nl_module *m)
{
	struct http *h = m->priv;
	char err[256] = "";
	int n = http_tls_scan(h->tls, tcp_core_skel(), err, sizeof(err));

	h->tls_scanned = nl_now_mono();
	if (n < 0 && err[0])
		snprintf(m->err, sizeof(m->err), "%s", err);
	else if (n < 0)
		nl_module_fail(m, n, "cannot scan /proc for libssl.so.3");
	return n < 0 ? n : 0;
}

static int http_attach(struct nl_module *m)
{
	struct http *h = m->priv;
	int err = tcp_core_attach(m);

	if (err)
		return err;
	err = nl_module_ringbuf(m, tcp_core_skel()->maps.http_events, on_event, &h->rb);
	if (err)
		return err;
	return h->tls ? scan_tls(m) : 0;
}

static int http_poll(struct nl_module *m, int timeout_ms)
{
	struct http *h = m->priv;

	/* A failed later scan keeps what is attached; the next one tries again. */
	if (h->tls && nl_now_mono() - h->tls_scanned > TLS_RESCAN_NS && scan_tls(m))
		fprintf(stderr, "netlens http: %s\n", m->err);
	return nl_ringbuf_read(h->rb, timeout_ms);
}

static void http_collect(struct nl_module *m, bool final)
{
	struct http *h = m->priv;
	uint64_t st[NL_STAT_MAX];

	if (final)
		http_match_flush(&h->match);
	if (tcp_core_stats(m, st))
		memset(st, 0, sizeof(st));
	http_summary_write(&h->summary, m->sink, st, &h->match.counts, http_tls_libs(h->tls));
}

static void http_metrics(struct nl_module *m, struct nl_prom *p)
{
	struct http *h = m->priv;

	h->metrics_on = true;
	http_metrics_write(&h->metrics, p);
}

static void http_destroy(struct nl_module *m)
{
	struct http *h = m->priv;

	if (!h)
		return;
	ring_buffer__free(h->rb);
	http_tls_free(h->tls);   /* the uprobe links, before the core's programs go */
	tcp_core_leave(m);
	m->obj = NULL;
	http_match_free(&h->match);
	http_summary_free(&h->summary);
	http_metrics_free(&h->metrics);
	free(h);
	m->priv = NULL;
}

static int set_max_conns(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 64, 1 << 24, &((struct http_cfg *)ctx)->max_conns, err, len);
}

static int set_max_paths(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 1, 1 << 16, &((struct http_cfg *)ctx)->max_paths, err, len);
}

static int set_by(void *ctx, const char *arg, char *err, size_t len)
{
	struct http_cfg *cfg = ctx;

	if (!strcmp(arg, "endpoint")) {
		cfg->by = HTTP_BY_ENDPOINT;
	} else if (!strcmp(arg, "path")) {
		cfg->by = HTTP_BY_PATH;
	} else {
		snprintf(err, len, "'%s' is not endpoint or path", nl_echo(arg));
		return -1;
	}
	return 0;
}

static int set_full_path(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg, (void)err, (void)len;
	((struct http_cfg *)ctx)->full_path = true;
	return 0;
}

static int set_no_tls(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg, (void)err, (void)len;
	((struct http_cfg *)ctx)->no_tls = true;
	return 0;
}

static const struct nl_cmd_spec *http_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "by", NL_OPT_LONG_ONLY, "endpoint|path",
		  "summary rows per endpoint (default) or per endpoint and path", set_by },
		{ "max-paths", NL_OPT_LONG_ONLY + 1, "N",
		  "--by path: paths per summary (default 64); the rest are folded into (other)",
		  set_max_paths },
		{ "full-path", NL_OPT_LONG_ONLY + 2, NULL, "keep the query string of paths",
		  set_full_path },
		{ "no-tls", NL_OPT_LONG_ONLY + 3, NULL, "no uprobes on OpenSSL: plaintext only",
		  set_no_tls },
		{ "max-conns", NL_OPT_LONG_ONLY + 4, "N", "sockets followed at once (default 65536)",
		  set_max_conns },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "http",
		.summary = "HTTP/1.x and Redis requests of every local process, client and server\n"
			   "side, plaintext and OpenSSL 3: method, path, host, status, duration,\n"
			   "bytes; a summary per endpoint (slowest first) every --interval and at exit.",
		.sets = NL_OPTS_OUTPUT | NL_OPTS_EVENTS | NL_OPTS_INTERVAL,
		.opts = opts,
	};
	return &spec;
}

static const struct http_cfg defaults = {
	.max_conns = HTTP_DEFAULT_MAX_CONNS, .max_paths = HTTP_DEFAULT_MAX_PATHS,
};

const struct nl_module_ops nl_http_ops = {
	.name = "http",
	.help = "HTTP/1.x and Redis requests (plaintext and OpenSSL): status, duration, bytes",
	.shared_object = "tcp",
	.serve_flags = NL_SERVE_OPT_IN,
	.spec = http_spec,
	.cfg_size = sizeof(struct http_cfg),
	.cfg_defaults = &defaults,
	.plan = http_plan,
	.open = http_open,
	.attach = http_attach,
	.poll = http_poll,
	.collect = http_collect,
	.metrics = http_metrics,
	.stats = tcp_core_stats,
	.destroy = http_destroy,
};
