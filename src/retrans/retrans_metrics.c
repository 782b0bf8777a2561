// SPDX-License-Identifier: GPL-2.0
/* netlens retrans: per-destination totals as Prometheus metrics (`serve`). */
#include "output/format.h"
#include "output/prom.h"
#include "retrans/retrans.h"

enum { RM_CALLS, RM_RETRANSMITS, RM_SEGMENTS, RM_NVALS };

static const struct { const char *name, *help; } families[RM_NVALS] = {
	[RM_CALLS] = { "netlens_tcp_retransmits_total",
		       "TCP retransmissions (one record each, of one or more segments)." },
	[RM_RETRANSMITS] = { "netlens_tcp_retransmitted_segments_total",
			     "TCP segments retransmitted." },
	[RM_SEGMENTS] = { "netlens_tcp_sent_segments_total",
			  "TCP segments sent, retransmissions included (the ratio's denominator)." },
};

/*
 * One series per direction of a destination, with conns' word for it:
 * outbound is the client side (segments this host sent to a server),
 * inbound the server side (what a local server sent to its clients).
 * Summed, a busy server's ACKs would hide a lossy client path.
 */
static void fold_row(struct nl_fold *f, const struct retrans_row *r)
{
	char labels[192];
	uint64_t v[RM_NVALS] = {
		[RM_CALLS] = r->d.calls, [RM_RETRANSMITS] = r->d.retransmits,
		[RM_SEGMENTS] = r->d.segments,
	};

	nl_prom_dest(labels, sizeof(labels), r->key.inbound ? "inbound" : "outbound",
		     r->key.family, r->key.addr, r->key.port);
	nl_fold_put(f, labels, v[RM_SEGMENTS], v);
}

void retrans_metrics_write(struct nl_fold **fold, const struct retrans_row *rows, size_t n,
			   uint64_t bad_records, struct nl_prom *p)
{
	const struct nl_fold_row *out;
	size_t nout;

	if (!*fold)
		*fold = nl_fold_new(RM_NVALS,
					    "direction=\"other\",daddr=\"other\",dport=\"other\"");
	nl_fold_begin(*fold);
	for (size_t i = 0; i < n; i++)
		fold_row(*fold, &rows[i]);
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
