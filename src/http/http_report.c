// SPDX-License-Identifier: GPL-2.0
/* netlens http: exchanges as records, and the summary per --interval. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "framework/sys.h"
#include "http/http.h"
#include "output/format.h"
#include "output/hist.h"

static const char *const class_names[] = {
	[HTTP_CLASS_FAILED] = "failed", [HTTP_CLASS_1XX] = "1xx", [HTTP_CLASS_2XX] = "2xx",
	[HTTP_CLASS_3XX] = "3xx", [HTTP_CLASS_4XX] = "4xx", [HTTP_CLASS_5XX] = "5xx",
	[HTTP_CLASS_OK] = "ok", [HTTP_CLASS_ERROR] = "error",
};

static const char *const failure_names[] = {
	[HTTP_FAIL_NONE] = "", [HTTP_FAIL_RESET] = "reset", [HTTP_FAIL_CLOSED] = "closed",
	[HTTP_FAIL_PENDING] = "pending", [HTTP_FAIL_UNSEEN] = "unseen",
};

enum http_class http_class_of(const struct http_exchange *x)
{
	if (!x->answered)
		return HTTP_CLASS_FAILED;
	if (x->resp.error)
		return HTTP_CLASS_ERROR;
	if (!x->resp.status)
		return HTTP_CLASS_OK;
	return x->resp.status >= 100 && x->resp.status < 600 ? HTTP_CLASS_1XX + x->resp.status / 100 - 1
							      : HTTP_CLASS_ERROR;
}

const char *http_class_name(enum http_class c)
{
	return c <= HTTP_CLASS_ERROR ? class_names[c] : "?";
}

bool http_is_error(const struct http_exchange *x)
{
	enum http_class c = http_class_of(x);

	return c == HTTP_CLASS_FAILED || c == HTTP_CLASS_5XX || c == HTTP_CLASS_ERROR;
}

/* The server's end of the connection: the remote one for a client, the local one for a server. */
static void server_end(const struct http_exchange *x, uint8_t addr[16], uint16_t *port)
{
	const struct nl_tuple *t = &x->id.tuple;

	memcpy(addr, x->server ? t->saddr : t->daddr, 16);
	*port = x->server ? t->sport : t->dport;
}

static void write_json(struct nl_sink *s, const struct http_exchange *x)
{
	struct nl_jw *w = &s->jw;

	nl_jw_sock(w, "request", x->ts, &x->id, &x->owner);
	nl_jw_str(w, "side", x->server ? "server" : "client");
	nl_jw_str(w, "proto", x->proto->name);
	nl_jw_strn(w, "method", x->req.method, sizeof(x->req.method));
	if (x->req.path[0] || x->proto == &http1_proto) {
		nl_jw_strn(w, "path", x->req.path, sizeof(x->req.path));
		if (x->req.path_truncated)
			nl_jw_bool(w, "path_truncated", 1);
	}
	if (x->req.host[0])
		nl_jw_strn(w, "host", x->req.host, sizeof(x->req.host));
	else
		nl_jw_null(w, "host");
	if (x->answered && x->resp.status)
		nl_jw_uint(w, "status", x->resp.status);
	else
		nl_jw_null(w, "status");
	if (x->failure)
		nl_jw_str(w, "error", failure_names[x->failure]);
	else if (x->resp.error)
		nl_jw_strn(w, "error", x->resp.error_text, sizeof(x->resp.error_text));
	else
		nl_jw_null(w, "error");
	if (x->answered)
		nl_jw_uint(w, "duration_us", x->duration_us);
	else
		nl_jw_null(w, "duration_us");
	nl_jw_uint(w, "request_bytes", x->req_bytes);
	if (x->answered && x->resp_bytes_known)
		nl_jw_uint(w, "response_bytes", x->resp_bytes);
	else
		nl_jw_null(w, "response_bytes");
	nl_jw_bool(w, "tls", x->tls);
	nl_sink_jw(s);
}

static void write_line(struct nl_sink *s, const struct http_exchange *x)
{
	char clock[NL_TS_LEN], comm[NL_COMM_LEN + 1], dur[16], req[16], resp[16], status[16];

	nl_sink_header(s, "TIME         SIDE   PID     COMM             PROTO  METHOD  "
			  "STATUS   DURATION  REQ     RESP    TLS  HOST / PATH");
	if (x->failure)
		snprintf(status, sizeof(status), "%s", failure_names[x->failure]);
	else if (x->resp.error)
		snprintf(status, sizeof(status), "error");
	else if (x->resp.status)
		snprintf(status, sizeof(status), "%d", x->resp.status);
	else
		snprintf(status, sizeof(status), "ok");
	fprintf(s->out, "%-12s %-6s %-7u %-16s %-6s %-7s %-8s %9s  %-7s %-7s %-4s %s%s%s\n",
		nl_fmt_clock(nl_mono_to_realtime(x->ts), clock, sizeof(clock)),
		x->server ? "server" : "client", x->owner.pid,
		nl_fmt_comm(x->owner.comm, comm, sizeof(comm)), x->proto->name, x->req.method, status,
		x->answered ? nl_fmt_usecs(x->duration_us, dur, sizeof(dur)) : "-",
		nl_fmt_bytes(x->req_bytes, req, sizeof(req)),
		x->answered && x->resp_bytes_known ? nl_fmt_bytes(x->resp_bytes, resp, sizeof(resp)) : "-",
		x->tls ? "yes" : "no", x->req.host, x->req.path[0] && x->req.host[0] ? " " : "",
		x->req.path);
}

void http_write_exchange(struct nl_sink *s, const struct http_exchange *x)
{
	if (!nl_sink_wants_records(s))
		return;
	if (s->kind == NL_OUT_JSON)
		write_json(s, x);
	else
		write_line(s, x);
}

/* --by path: the exchange's path if it is one of the max_paths kept, else folded. */
static int path_key(struct http_summary *s, const struct http_exchange *x, struct http_sum_key *k)
{
	struct http_sum_row *p;

	HASH_FIND_STR(s->path_set, x->req.path, p);
	if (!p && s->paths >= s->max_paths) {
		k->other_path = 1;
		s->folded++;
		return 0;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		memcpy(p->key.path, x->req.path, sizeof(p->key.path));
		HASH_ADD_STR(s->path_set, key.path, p);
		s->paths++;
	}
	memcpy(k->path, x->req.path, sizeof(k->path));
	return 0;
}

int http_summary_add(struct http_summary *s, const struct http_exchange *x)
{
	struct http_sum_key k;
	struct http_sum_row *row;

	memset(&k, 0, sizeof(k));
	k.server = x->server;
	for (k.proto = 1; http_proto_of(k.proto) && http_proto_of(k.proto) != x->proto; k.proto++)
		;
	k.family = x->id.tuple.family;
	k.cls = http_class_of(x);
	server_end(x, k.addr, &k.port);
	memcpy(k.host, x->req.host, sizeof(k.host));
	memcpy(k.method, x->req.method, sizeof(k.method));
	if (s->by == HTTP_BY_PATH && path_key(s, x, &k))
		return -ENOMEM;
	/* A connection's exchanges mostly go to one row: a compare before a hash of the key. */
	row = s->last[k.server];
	if (!row || memcmp(&row->key, &k, sizeof(k)))
		HASH_FIND(hh, s->rows, &k, sizeof(k), row);
	if (!row) {
		row = calloc(1, sizeof(*row));
		if (!row)
			return -ENOMEM;
		row->key = k;
		HASH_ADD(hh, s->rows, key, sizeof(row->key), row);
	}
	s->last[k.server] = row;
	if (http_is_error(x))
		row->errors++;
	if (x->answered)
		nl_hist_add(&row->h, x->duration_us);
	else
		row->failed++;
	return 0;
}

static uint64_t requests(const struct http_sum_row *r)
{
	return r->h.count + r->failed;
}

/* The slowest first: p99, then the busiest. */
static int slowest_first(struct http_sum_row *a, struct http_sum_row *b)
{
	uint64_t pa = nl_hist_percentile(&a->h, 99), pb = nl_hist_percentile(&b->h, 99);

	if (pa != pb)
		return pa < pb ? 1 : -1;
	return requests(a) < requests(b) ? 1 : requests(a) > requests(b) ? -1 : 0;
}

static const char *endpoint_str(const struct http_sum_key *k, char *buf, size_t len)
{
	return nl_fmt_endpoint(k->family, k->addr, k->port, buf, len);
}

static void row_json(struct nl_sink *sink, const struct http_summary *s,
		     const struct http_sum_row *r)
{
	struct json_object *o = json_object_new_object();
	char addr[NL_ADDR_LEN];

	json_object_object_add(o, "type", json_object_new_string("http_summary"));
	json_object_object_add(o, "side", json_object_new_string(r->key.server ? "server" : "client"));
	json_object_object_add(o, "proto", json_object_new_string(http_proto_of(r->key.proto)->name));
	json_object_object_add(o, "daddr", json_object_new_string(
		nl_fmt_addr(r->key.family, r->key.addr, addr, sizeof(addr))));
	json_object_object_add(o, "dport", json_object_new_int(r->key.port));
	json_object_object_add(o, "host", r->key.host[0] ? json_object_new_string(r->key.host) : NULL);
	json_object_object_add(o, "method", json_object_new_string(r->key.method));
	json_object_object_add(o, "status_class", json_object_new_string(http_class_name(r->key.cls)));
	if (s->by == HTTP_BY_PATH)
		json_object_object_add(o, "path", r->key.other_path ? json_object_new_string("(other)")
								    : json_object_new_string(r->key.path));
	json_object_object_add(o, "requests", json_object_new_uint64(requests(r)));
	json_object_object_add(o, "errors", json_object_new_uint64(r->errors));
	json_object_object_add(o, "answered", json_object_new_uint64(r->h.count));
	nl_hist_json(o, &r->h);
	json_object_object_del(o, "count");   /* "answered" says it; "requests" counts failures too */
	nl_sink_json(sink, o);
	json_object_put(o);
}

static void stats_json(struct nl_sink *sink, const struct http_summary *s, const uint64_t *st,
		       const struct http_match_counts *mc, unsigned int tls_libs)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("stats"));
	json_object_object_add(o, "groups", json_object_new_int64(HASH_COUNT(s->rows)));
	json_object_object_add(o, "records", json_object_new_uint64(st[NL_STAT_EVENTS]));
	json_object_object_add(o, "lost", json_object_new_uint64(st[NL_STAT_LOST]));
	json_object_object_add(o, "map_full", json_object_new_uint64(st[NL_STAT_MAP_FULL]));
	json_object_object_add(o, "map_busy", json_object_new_uint64(st[NL_STAT_MAP_BUSY]));
	json_object_object_add(o, "unparsed", json_object_new_uint64(mc->unparsed));
	json_object_object_add(o, "unmatched", json_object_new_uint64(mc->unmatched));
	json_object_object_add(o, "tls_without_socket",
			       json_object_new_uint64(st[HTTP_STAT_TLS_NO_SOCK]));
	json_object_object_add(o, "tls_libraries", json_object_new_int64(tls_libs));
	if (s->by == HTTP_BY_PATH)
		json_object_object_add(o, "paths_folded", json_object_new_uint64(s->folded));
	nl_sink_json(sink, o);
	json_object_put(o);
}

static void write_table(struct nl_sink *sink, const struct http_summary *s, const uint64_t *st,
			const struct http_match_counts *mc, unsigned int tls_libs)
{
	char ts[NL_TS_LEN], ep[64], p50[16], p90[16], p99[16];
	const struct http_sum_row *r, *tmp;
	unsigned int shown = 0;
	FILE *out = sink->out;

	fprintf(out, "\n== %s  requests by endpoint%s, slowest first (lost %llu, map full %llu, "
		"unparsed %llu, unmatched %llu; %u TLS libraries)\n",
		nl_fmt_clock(nl_mono_to_realtime(nl_now_mono()), ts, sizeof(ts)),
		s->by == HTTP_BY_PATH ? " and path" : "",
		(unsigned long long)st[NL_STAT_LOST], (unsigned long long)st[NL_STAT_MAP_FULL],
		(unsigned long long)mc->unparsed, (unsigned long long)mc->unmatched, tls_libs);
	fprintf(out, "%-6s %-5s %-21s %-20s %-7s %-6s %7s %6s %9s %9s %9s%s\n", "SIDE", "PROTO",
		"DADDR:DPORT", "HOST", "METHOD", "STATUS", "COUNT", "ERRORS", "P50", "P90", "P99",
		s->by == HTTP_BY_PATH ? "  PATH" : "");
	HASH_ITER(hh, s->rows, r, tmp) {
		if (++shown > HTTP_TABLE_ROWS) {
			fprintf(out, "... %u more rows (-o json lists them all)\n",
				HASH_COUNT(s->rows) - HTTP_TABLE_ROWS);
			break;
		}
		fprintf(out, "%-6s %-5s %-21s %-20.20s %-7s %-6s %7llu %6llu %9s %9s %9s%s%s\n",
			r->key.server ? "server" : "client", http_proto_of(r->key.proto)->name,
			endpoint_str(&r->key, ep, sizeof(ep)), r->key.host[0] ? r->key.host : "-",
			r->key.method, http_class_name(r->key.cls), (unsigned long long)requests(r),
			(unsigned long long)r->errors,
			r->h.count ? nl_fmt_usecs(nl_hist_percentile(&r->h, 50), p50, sizeof(p50)) : "-",
			r->h.count ? nl_fmt_usecs(nl_hist_percentile(&r->h, 90), p90, sizeof(p90)) : "-",
			r->h.count ? nl_fmt_usecs(nl_hist_percentile(&r->h, 99), p99, sizeof(p99)) : "-",
			s->by == HTTP_BY_PATH ? "  " : "",
			s->by != HTTP_BY_PATH ? "" : r->key.other_path ? "(other)" : r->key.path);
	}
	if (s->by == HTTP_BY_PATH && s->folded)
		fprintf(out, "%llu requests on paths beyond --max-paths %u folded into (other)\n",
			(unsigned long long)s->folded, s->max_paths);
}

void http_summary_write(struct http_summary *s, struct nl_sink *sink, const uint64_t *stats,
			const struct http_match_counts *mc, unsigned int tls_libs)
{
	struct http_sum_row *r, *tmp;

	HASH_SORT(s->rows, slowest_first);
	if (sink->kind == NL_OUT_JSON) {
		HASH_ITER(hh, s->rows, r, tmp)
			row_json(sink, s, r);
		stats_json(sink, s, stats, mc, tls_libs);
	} else {
		write_table(sink, s, stats, mc, tls_libs);
	}
	http_summary_free(s);
}

void http_summary_free(struct http_summary *s)
{
	struct http_sum_row *r, *tmp;

	HASH_ITER(hh, s->rows, r, tmp) {
		HASH_DEL(s->rows, r);
		free(r);
	}
	HASH_ITER(hh, s->path_set, r, tmp) {
		HASH_DELETE(hh, s->path_set, r);
		free(r);
	}
	s->last[0] = s->last[1] = NULL;
	s->paths = 0;
	s->folded = 0;
}
