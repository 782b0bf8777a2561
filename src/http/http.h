/* SPDX-License-Identifier: GPL-2.0 */
/* netlens http: HTTP/1.x and Redis requests, plaintext and OpenSSL, from the TCP core. */
#ifndef NETLENS_SRC_HTTP_H
#define NETLENS_SRC_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>
#include "output/hist_abi.h"
#include "output/output.h"
#include "http/http_match.h"

#define HTTP_DEFAULT_MAX_CONNS 65536
#define HTTP_DEFAULT_MAX_PATHS 64     /* --by path: paths per report; the rest folded */
#define HTTP_TABLE_ROWS 25            /* summary rows in the table (-o json has them all) */

enum http_by { HTTP_BY_ENDPOINT, HTTP_BY_PATH };

struct http_cfg {
	uint32_t max_conns;           /* sockets followed at once (the TCP core's --max-conns) */
	uint32_t max_paths;
	enum http_by by;
	bool full_path;               /* keep the query string */
	bool no_tls;                  /* no OpenSSL uprobes */
};

struct nl_module_ops;
extern const struct nl_module_ops nl_http_ops;

/* The TCP core's side (src/tcp/tcp_core.c): http's programs on or off, its maps small when off. */
struct tcp_bpf;
void http_choose_programs(struct tcp_bpf *skel, bool on);
void http_shrink_maps(struct tcp_bpf *skel);

/* The status class of an exchange: a summary key and the metrics' status label. */
enum http_class {
	HTTP_CLASS_FAILED,            /* no response: reset, closed, pending */
	HTTP_CLASS_1XX, HTTP_CLASS_2XX, HTTP_CLASS_3XX, HTTP_CLASS_4XX, HTTP_CLASS_5XX,
	HTTP_CLASS_OK,                /* a reply without status (Redis) that is no error */
	HTTP_CLASS_ERROR,             /* an error reply (Redis) */
};

enum http_class http_class_of(const struct http_exchange *x);
const char *http_class_name(enum http_class c);
/* 5xx, an error reply, or no response at all. */
bool http_is_error(const struct http_exchange *x);

/* One exchange as a record: JSON Lines, or a table line. */
void http_write_exchange(struct nl_sink *s, const struct http_exchange *x);

/* The summary of one --interval (src/http/http_report.c). */
struct http_sum_key {
	uint8_t server;
	uint8_t proto;                /* http_protos[] index + 1 */
	uint8_t family;
	uint8_t cls;                  /* enum http_class */
	uint16_t port;                /* the server's side */
	uint8_t addr[16];
	char host[HTTP_HOST_LEN];
	char method[HTTP_METHOD_LEN];
	char path[HTTP_PATH_LEN];     /* --by path; "" otherwise */
	uint8_t other_path;           /* --by path: paths beyond --max-paths */
};

struct http_sum_row {
	struct http_sum_key key;
	uint64_t errors;
	struct nl_hist h;             /* duration of the answered ones; count: all */
	uint64_t failed;              /* no response (not in h) */
	UT_hash_handle hh;
};

struct http_summary {
	struct http_sum_row *rows;
	struct http_sum_row *last[2]; /* per side, the row of the last exchange: tried first */
	enum http_by by;
	uint32_t max_paths, paths;    /* distinct paths kept this interval */
	uint64_t folded;              /* requests whose path was folded */
	struct http_sum_row *path_set; /* --by path: the paths kept (key: path only) */
};

int http_summary_add(struct http_summary *s, const struct http_exchange *x);
/* Writes the rows (slowest p99 first) and the stats record, then empties the summary. */
void http_summary_write(struct http_summary *s, struct nl_sink *sink, const uint64_t *stats,
			const struct http_match_counts *mc, unsigned int tls_libs);
void http_summary_free(struct http_summary *s);

/* serve (src/http/http_metrics.c): totals since start. */
struct http_metric_row {
	struct http_sum_key key;      /* side, daddr, dport, method, class: no host, no path */
	uint64_t requests;
	struct nl_hist h;
	UT_hash_handle hh;
};

#define HTTP_METRICS_MAX_ROWS 16384   /* later ones are summed as "other" */

struct nl_prom;
struct nl_fold;

struct http_metrics {
	struct http_metric_row *rows;
	unsigned int nrows;
	struct http_metric_row other;
	struct nl_fold *fold_req, *fold_dur;
};

int http_metrics_add(struct http_metrics *hm, const struct http_exchange *x);
void http_metrics_write(struct http_metrics *hm, struct nl_prom *p);
void http_metrics_free(struct http_metrics *hm);

/* OpenSSL (src/http/http_tls.c): libssl.so.3 copies found in /proc/<pid>/maps, attached once each. */
struct http_tls;
struct http_tls *http_tls_new(void);
/* Scans the processes not seen yet (all on the first call) and attaches to new copies; count attached. */
int http_tls_scan(struct http_tls *t, struct tcp_bpf *skel, char *err, size_t len);
unsigned int http_tls_libs(const struct http_tls *t);
/* Of them, those probed at ssl_read_internal()/ssl_write_internal() (http_tls.c says why). */
unsigned int http_tls_libs_internal(const struct http_tls *t);
void http_tls_free(struct http_tls *t);
/*
 * The file offsets of ssl_read_internal() and ssl_write_internal() in a libssl
 * file, found through the code of SSL_read_ex/SSL_read and SSL_write_ex/SSL_write;
 * -1 if the code has another shape (or is not x86-64).
 */
int http_tls_internal(const char *path, uint64_t *read_off, uint64_t *write_off);
/* The function code (at addr) calls first: [endbr64] sub $imm8,%rsp; call rel32; else 0. */
uint64_t http_tls_call_target(const uint8_t *code, size_t len, uint64_t addr);
/* True if code (at addr) holds a call rel32 to target. */
bool http_tls_calls(const uint8_t *code, size_t len, uint64_t addr, uint64_t target);

#endif
