// SPDX-License-Identifier: GPL-2.0
/* netlens latency: cumulative histograms per destination as Prometheus metrics (`serve`). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output/format.h"
#include "output/hist.h"
#include "latency/latency.h"
#include "output/prom.h"

#define LAT_VALS (LAT_METRICS * NL_PROM_HIST_VALS)

static const char other_labels[] = "daddr=\"other\",dport=\"other\"";

static const struct { const char *name, *help; } families[LAT_METRICS] = {
	[LAT_HANDSHAKE] = { "netlens_tcp_handshake_seconds",
			    "TCP handshakes, SYN sent to ESTABLISHED (outbound connections)." },
	[LAT_RTT] = { "netlens_tcp_rtt_seconds",
		      "TCP smoothed RTT, sampled as ACKs acknowledge new data." },
	[LAT_REQUEST] = { "netlens_tcp_request_seconds",
			  "Client side: first send after a receive to the first receive after it." },
	[LAT_SERVICE] = { "netlens_tcp_service_seconds",
			  "Server side: first receive after a send to the first send after it." },
};

/* The destination's running total; the shared "other" once the table is full. */
static struct lat_total *total_of(struct lat_metrics *lm, const struct lat_key *k)
{
	struct lat_key key = *k;
	struct lat_total *t;

	key.metric = 0;
	key.epoch = 0;
	HASH_FIND(hh, lm->totals, &key, sizeof(key), t);
	if (t)
		return t;
	if (lm->ntotals >= LAT_METRICS_MAX_DESTS)
		return &lm->other;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key = key;
	HASH_ADD(hh, lm->totals, key, sizeof(t->key), t);
	lm->ntotals++;
	return t;
}

int lat_metrics_add(struct lat_metrics *lm, const struct lat_report *r)
{
	struct lat_row *row, *tmp;

	HASH_ITER(hh, r->rows, row, tmp) {
		struct lat_total *t = total_of(lm, &row->key);

		if (!t)
			return -ENOMEM;
		if (row->key.metric < LAT_METRICS)
			nl_hist_merge(&t->h[row->key.metric], &row->h);
	}
	return 0;
}

static void fold_total(struct nl_fold *f, const struct lat_total *t, const char *labels)
{
	uint64_t vals[LAT_VALS], weight = 0;

	for (int m = 0; m < LAT_METRICS; m++) {
		nl_prom_hist_vals(&t->h[m], vals + m * NL_PROM_HIST_VALS);
		weight += t->h[m].count;
	}
	nl_fold_put(f, labels, weight, vals);
}

/* A row's four histograms; one without samples yet is left out. */
static void write_row(struct nl_prom *p, const struct nl_fold_row *row)
{
	struct nl_hist h;

	for (int m = 0; m < LAT_METRICS; m++) {
		nl_prom_vals_hist(row->vals + m * NL_PROM_HIST_VALS, &h);
		if (h.count)
			nl_prom_hist(p, families[m].name, row->labels, &h);
	}
}

void lat_metrics_write(struct lat_metrics *lm, struct nl_prom *p)
{
	char labels[160];
	const struct nl_fold_row *rows;
	struct lat_total *t, *tmp;
	size_t n;

	if (!lm->fold)
		lm->fold = nl_fold_new(LAT_VALS, other_labels);
	nl_fold_begin(lm->fold);
	HASH_ITER(hh, lm->totals, t, tmp)
		fold_total(lm->fold, t, nl_prom_dest(labels, sizeof(labels), NULL, t->key.family,
						     t->key.addr, t->key.port));
	/* Destinations beyond the table are "other" already. */
	if (lm->ntotals >= LAT_METRICS_MAX_DESTS)
		fold_total(lm->fold, &lm->other, other_labels);
	nl_fold_end(lm->fold, nl_prom_max_series(p));
	for (int m = 0; m < LAT_METRICS; m++)
		nl_prom_family(p, families[m].name, NL_PROM_HISTOGRAM, families[m].help);
	rows = nl_fold_rows(lm->fold, &n);
	for (size_t i = 0; i < n; i++)
		write_row(p, &rows[i]);
	nl_prom_folded(p, families[LAT_HANDSHAKE].name, lm->fold);
}

void lat_metrics_free(struct lat_metrics *lm)
{
	struct lat_total *t, *tmp;

	HASH_ITER(hh, lm->totals, t, tmp) {
		HASH_DEL(lm->totals, t);
		free(t);
	}
	nl_fold_free(lm->fold);
	memset(lm, 0, sizeof(*lm));
}
