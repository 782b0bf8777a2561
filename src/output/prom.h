/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) for `netlens serve`.
 *
 * A page is built from the event loop: each module adds samples to metric
 * families (any module may add to any family; a family's HELP/TYPE is
 * written once and its samples stay together). Label values are escaped
 * here. Series with unbounded label values (destinations, groups) go
 * through a fold (struct nl_fold): at most max_series of them are exported
 * one by one, the rest are summed into one series whose labels say "other".
 */
#ifndef NETLENS_SRC_PROM_H
#define NETLENS_SRC_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "output/hist_abi.h"

struct nl_prom;

enum nl_prom_type { NL_PROM_COUNTER, NL_PROM_GAUGE, NL_PROM_HISTOGRAM };

struct nl_prom *nl_prom_new(uint32_t max_series);
void nl_prom_free(struct nl_prom *p);
/* Forgets the samples of the previous page; families stay declared. */
void nl_prom_reset(struct nl_prom *p);
/* The --max-series guard every fold of this page uses. */
uint32_t nl_prom_max_series(const struct nl_prom *p);

/*
 * Declares a family (idempotent: the first declaration's help and type
 * stay). name: netlens_<what>_<unit>[_total] per Prometheus conventions.
 */
void nl_prom_family(struct nl_prom *p, const char *name, enum nl_prom_type type,
		    const char *help);

/*
 * Label sets are written once into a buffer with nl_prom_labels() and then
 * passed as "k=\"v\",k2=\"v2\"" (no braces; "" for none).
 * nl_prom_labels(buf, len, "daddr", "10.0.0.1", "dport", "80", NULL)
 * escapes backslash, double quote and newline in the values; returns buf.
 */
const char *nl_prom_labels(char *buf, size_t len, ...) __attribute__((sentinel));

/* One sample of a declared family (an undeclared one is a bug: aborts). */
void nl_prom_counter(struct nl_prom *p, const char *family, const char *labels, uint64_t v);
/* A value with a fraction: a gauge, or a counter such as CPU seconds. */
void nl_prom_gauge(struct nl_prom *p, const char *family, const char *labels, double v);
/* A counter in seconds (CPU time, BPF run time) from nanoseconds. */
void nl_prom_seconds(struct nl_prom *p, const char *family, const char *labels, uint64_t ns);
/*
 * A histogram from a log2-microseconds nl_hist: cumulative _bucket lines
 * with le = 2^(i+1) us written in seconds (slot i holds [2^i, 2^(i+1)) us),
 * le="+Inf", _sum in seconds and _count.
 */
void nl_prom_hist(struct nl_prom *p, const char *family, const char *labels,
		  const struct nl_hist *h);

/* The page: every family with samples, in declaration order. Valid until the next call. */
const char *nl_prom_text(struct nl_prom *p, size_t *len);

/*
 * The --max-series guard for one set of labelled series (e.g. conns'
 * destinations, which share the label set across several families).
 * Each row carries nvals cumulative counters (a histogram is
 * NL_PROM_HIST_VALS of them: nl_prom_hist_vals/nl_prom_vals_hist).
 *
 * Exported rows are sticky, so every exported counter stays monotonic:
 * once max_series rows are exported, rows not yet exported have their
 * growth added to the "other" row; a row that falls out of the top-K by
 * weight keeps its last value and its later growth goes to "other".
 * Until the limit is reached every row is exported with its full value.
 * A row put under other_labels (a source's own catch-all, like conns'
 * destinations beyond its table) is always added to "other".
 */
struct nl_fold;

/* other_labels: the label set of the folded row, e.g. daddr="other",dport="other". */
struct nl_fold *nl_fold_new(size_t nvals, const char *other_labels);
void nl_fold_free(struct nl_fold *f);
/* Starts a render: every row seen since start is then given again with nl_fold_put. */
void nl_fold_begin(struct nl_fold *f);
/*
 * A row's current cumulative values and its weight (traffic: bytes, count).
 * Rows put under the same labels in one render are summed.
 */
void nl_fold_put(struct nl_fold *f, const char *labels, uint64_t weight, const uint64_t *vals);
/* Chooses the exported rows (top max_series by weight, sticky) and computes "other". */
void nl_fold_end(struct nl_fold *f, uint32_t max_series);

struct nl_fold_row {
	const char *labels;
	const uint64_t *vals;
};
/*
 * The rows to write after nl_fold_end: the exported ones, then "other" once
 * anything was folded (at most max_series + 1). Valid until the next begin.
 */
const struct nl_fold_row *nl_fold_rows(const struct nl_fold *f, size_t *n);
/* Rows currently folded into "other". */
size_t nl_fold_folded(const struct nl_fold *f);
/* Adds netlens_series_folded{family=family} for a fold, after nl_fold_end. */
void nl_prom_folded(struct nl_prom *p, const char *family, const struct nl_fold *f);

#define NL_PROM_HIST_VALS (NL_HIST_SLOTS + 2)   /* slots, count, sum_us */
void nl_prom_hist_vals(const struct nl_hist *h, uint64_t *vals);
void nl_prom_vals_hist(const uint64_t *vals, struct nl_hist *h);

#endif
