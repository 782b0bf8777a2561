// SPDX-License-Identifier: GPL-2.0
/*
 * netlens http in `serve`: requests per {side, method, status class, daddr,
 * dport} and a duration histogram per {side, daddr, dport, method}, totals
 * since start, each through a --max-series fold.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "http/http.h"
#include "output/format.h"
#include "output/hist.h"
#include "output/prom.h"

#define REQS "netlens_http_requests_total"
#define DURATION "netlens_http_request_duration_seconds"

static const char other_req[] =
	"side=\"other\",method=\"other\",status=\"other\",daddr=\"other\",dport=\"other\"";
static const char other_dur[] = "side=\"other\",daddr=\"other\",dport=\"other\",method=\"other\"";

static struct http_metric_row *row_of(struct http_metrics *hm, const struct http_sum_key *k)
{
	struct http_metric_row *r;

	HASH_FIND(hh, hm->rows, k, sizeof(*k), r);
	if (r)
		return r;
	if (hm->nrows >= HTTP_METRICS_MAX_ROWS)
		return &hm->other;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->key = *k;
	HASH_ADD(hh, hm->rows, key, sizeof(r->key), r);
	hm->nrows++;
	return r;
}

int http_metrics_add(struct http_metrics *hm, const struct http_exchange *x)
{
	const struct nl_tuple *t = &x->id.tuple;
	struct http_metric_row *r;
	struct http_sum_key k;

	memset(&k, 0, sizeof(k));
	k.server = x->server;
	k.family = t->family;
	k.cls = http_class_of(x);
	memcpy(k.addr, x->server ? t->saddr : t->daddr, sizeof(k.addr));
	k.port = x->server ? t->sport : t->dport;
	memcpy(k.method, x->req.method, sizeof(k.method));
	r = row_of(hm, &k);
	if (!r)
		return -ENOMEM;
	r->requests++;
	if (x->answered)
		nl_hist_add(&r->h, x->duration_us);
	return 0;
}

static void labels_of(const struct http_sum_key *k, bool status, char *buf, size_t len)
{
	char addr[NL_ADDR_LEN], port[8];

	nl_fmt_addr(k->family, k->addr, addr, sizeof(addr));
	snprintf(port, sizeof(port), "%u", k->port);
	if (status)
		nl_prom_labels(buf, len, "side", k->server ? "server" : "client", "method", k->method,
			       "status", http_class_name(k->cls), "daddr", addr, "dport", port, NULL);
	else
		nl_prom_labels(buf, len, "side", k->server ? "server" : "client", "daddr", addr,
			       "dport", port, "method", k->method, NULL);
}

void http_metrics_write(struct http_metrics *hm, struct nl_prom *p)
{
	uint64_t vals[NL_PROM_HIST_VALS];
	const struct nl_fold_row *rows;
	struct http_metric_row *r, *tmp;
	char labels[256];
	struct nl_hist h;
	size_t n;

	if (!hm->fold_req)
		hm->fold_req = nl_fold_new(1, other_req);
	if (!hm->fold_dur)
		hm->fold_dur = nl_fold_new(NL_PROM_HIST_VALS, other_dur);
	if (!hm->fold_req || !hm->fold_dur)
		return;
	nl_fold_begin(hm->fold_req);
	nl_fold_begin(hm->fold_dur);
	HASH_ITER(hh, hm->rows, r, tmp) {
		labels_of(&r->key, true, labels, sizeof(labels));
		nl_fold_put(hm->fold_req, labels, r->requests, &r->requests);
		/* The classes of one {side, daddr, dport, method} are summed under its labels. */
		labels_of(&r->key, false, labels, sizeof(labels));
		nl_prom_hist_vals(&r->h, vals);
		nl_fold_put(hm->fold_dur, labels, r->h.count, vals);
	}
	if (hm->nrows >= HTTP_METRICS_MAX_ROWS) {
		nl_fold_put(hm->fold_req, other_req, hm->other.requests, &hm->other.requests);
		nl_prom_hist_vals(&hm->other.h, vals);
		nl_fold_put(hm->fold_dur, other_dur, hm->other.h.count, vals);
	}
	nl_fold_end(hm->fold_req, nl_prom_max_series(p));
	nl_fold_end(hm->fold_dur, nl_prom_max_series(p));
	nl_prom_family(p, REQS, NL_PROM_COUNTER,
		       "HTTP/Redis requests seen (status: 1xx-5xx, failed: no response, ok/error: Redis).");
	nl_prom_family(p, DURATION, NL_PROM_HISTOGRAM,
		       "Request's first byte to the response's first byte (answered requests).");
	rows = nl_fold_rows(hm->fold_req, &n);
	for (size_t i = 0; i < n; i++)
		nl_prom_counter(p, REQS, rows[i].labels, rows[i].vals[0]);
	rows = nl_fold_rows(hm->fold_dur, &n);
	for (size_t i = 0; i < n; i++) {
		nl_prom_vals_hist(rows[i].vals, &h);
		if (h.count)
			nl_prom_hist(p, DURATION, rows[i].labels, &h);
	}
	nl_prom_folded(p, REQS, hm->fold_req);
	nl_prom_folded(p, DURATION, hm->fold_dur);
}

void http_metrics_free(struct http_metrics *hm)
{
	struct http_metric_row *r, *tmp;

	HASH_ITER(hh, hm->rows, r, tmp) {
		HASH_DEL(hm->rows, r);
		free(r);
	}
	nl_fold_free(hm->fold_req);
	nl_fold_free(hm->fold_dur);
	memset(hm, 0, sizeof(*hm));
}
