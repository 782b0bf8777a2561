// SPDX-License-Identifier: GPL-2.0
/* netlens retrans: per-destination totals as Prometheus metrics (`serve`). */
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "prom.h"
#include "retrans.h"

enum { RM_CALLS, RM_RETRANSMITS, RM_SEGMENTS, RM_NVALS };

static const struct { const char *name, *help; } families[RM_NVALS] = {
	[RM_CALLS] = { "netlens_tcp_retransmits_total",
		       "TCP retransmissions (one record each, of one or more segments)." },
	[RM_RETRANSMITS] = { "netlens_tcp_retransmitted_segments_total",
			     "TCP segments retransmitted." },
	[RM_SEGMENTS] = { "netlens_tcp_sent_segments_total",
			  "TCP segments sent, retransmissions included (the ratio's denominator)." },
};

/* The server side only: a destination's inbound and outbound rows are one series. */
static int by_server(const void *pa, const void *pb)
{
	const struct retrans_dest_key *a = &((const struct retrans_row *)pa)->key;
	const struct retrans_dest_key *b = &((const struct retrans_row *)pb)->key;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	return a->port < b->port ? -1 : a->port > b->port;
}

/* Puts rows[0..) of one server into the fold; returns how many rows it took. */
static size_t fold_server(struct nl_fold *f, const struct retrans_row *rows, size_t n)
{
	char labels[160], addr[NL_ADDR_LEN], port[8];
	uint64_t v[RM_NVALS] = { 0 };
	size_t i = 0;

	for (; i < n && !by_server(&rows[0], &rows[i]); i++) {
		v[RM_CALLS] += rows[i].d.calls;
		v[RM_RETRANSMITS] += rows[i].d.retransmits;
		v[RM_SEGMENTS] += rows[i].d.segments;
	}
	snprintf(port, sizeof(port), "%u", rows[0].key.port);
	nl_prom_labels(labels, sizeof(labels), "daddr",
		       nl_fmt_addr(rows[0].key.family, rows[0].key.addr, addr, sizeof(addr)),
		       "dport", port, NULL);
	nl_fold_put(f, labels, v[RM_SEGMENTS], v);
	return i;
}

void retrans_metrics_write(struct nl_fold **fold, struct retrans_row *rows, size_t n,
			   uint64_t bad_records, struct nl_prom *p)
{
	const struct nl_fold_row *out;
	size_t nout;

	if (!*fold)
		*fold = nl_fold_new(RM_NVALS, "daddr=\"other\",dport=\"other\"");
	qsort(rows, n, sizeof(*rows), by_server);
	nl_fold_begin(*fold);
	for (size_t i = 0; i < n;)
		i += fold_server(*fold, rows + i, n - i);
	nl_fold_end(*fold, nl_prom_max_series(p));
	out = nl_fold_rows(*fold, &nout);
	for (int m = 0; m < RM_NVALS; m++) {
		nl_prom_family(p, families[m].name, NL_PROM_COUNTER, families[m].help);
		for (size_t i = 0; i < nout; i++)
			nl_prom_counter(p, families[m].name, out[i].labels, out[i].vals[m]);
	}
	nl_prom_folded(p, families[RM_CALLS].name, *fold);
	nl_prom_family(p, "netlens_parse_errors_total", NL_PROM_COUNTER,
		       "Records or packets a module could not parse.");
	nl_prom_counter(p, "netlens_parse_errors_total", "module=\"retrans\"", bad_records);
}
