/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETLENS_SRC_RETRANS_H
#define NETLENS_SRC_RETRANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "retrans/retrans_abi.h"
#include "output/output.h"

#define RETRANS_DEFAULT_MAX_CONNS 65536
#define RETRANS_TABLE_DESTS 20    /* rows of the summary table */

/* retrans' own options. */
struct retrans_cfg {
	uint32_t max_conns;     /* connections whose segments are totalled at once */
	bool summary_only;      /* --summary: no record per retransmission */
};

struct nl_module_ops;
extern const struct nl_module_ops nl_retrans_ops;

/* Reporting, without BPF (src/retrans/retrans_report.c). */
struct retrans_row {
	struct nl_dest_key key;
	struct retrans_dest d;
	uint64_t handshakes;    /* connects begun to it (conns' connects + failed); 0: not known */
};

/* Checks and writes one record as the kernel sent it; false if malformed. */
bool retrans_report_event(struct nl_sink *s, const void *data, size_t len);
/* retransmits / segments sent, or -1 when no segment count is known. */
double retrans_ratio(const struct retrans_dest *d);
/* Sorts worst first: highest ratio, then most retransmits. */
void retrans_sort(struct retrans_row *rows, size_t n);
/* The "stats" record (JSON) or the summary table; rows sorted here. */
void retrans_report_summary(struct nl_sink *s, struct retrans_row *rows, size_t n,
			    const uint64_t *stats, uint64_t bad_records);

/*
 * Findings (src/retrans/retrans_findings.c), client side only: path_loss
 * (a retransmit ratio at or above RETRANS_LOSS_RATIO over at least
 * RETRANS_LOSS_MIN_SEGMENTS segments and RETRANS_LOSS_MIN_RETRANSMITS
 * retransmitted; critical from RETRANS_LOSS_CRITICAL) and slow_handshake
 * (at least RETRANS_SLOW_MIN_SYNS SYNs retransmitted, and when the
 * handshakes are known at least RETRANS_SLOW_SYN_RATIO of them).
 */
#define RETRANS_LOSS_RATIO           0.02
#define RETRANS_LOSS_CRITICAL        0.10
#define RETRANS_LOSS_MIN_SEGMENTS    500
#define RETRANS_LOSS_MIN_RETRANSMITS 10
#define RETRANS_SLOW_MIN_SYNS        3
#define RETRANS_SLOW_SYN_RATIO       0.01

struct nl_findings;
void retrans_findings(const struct retrans_row *rows, size_t n, struct nl_findings *out);

struct nl_prom;
struct nl_fold;

/*
 * `serve`'s metrics (src/retrans/retrans_metrics.c) from the kernel's cumulative
 * totals: per {direction,daddr,dport} (outbound: the client side),
 * through *fold (created on first use; weight: segments sent), and the
 * records that could not be parsed.
 */
void retrans_metrics_write(struct nl_fold **fold, const struct retrans_row *rows, size_t n,
			   uint64_t bad_records, struct nl_prom *p);

#endif
