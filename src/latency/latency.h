/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETLENS_SRC_LATENCY_H
#define NETLENS_SRC_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <uthash.h>
#include "framework/fallback.h"
#include "output/hist_abi.h"
#include "latency/latency_abi.h"
#include "output/output.h"

#define LATENCY_DEFAULT_MAX_CONNS  65536
#define LATENCY_DEFAULT_MAX_GROUPS 4096
#define LATENCY_TABLE_GROUPS 20   /* groups per metric in the table */

/* latency's own options. */
struct latency_cfg {
	uint32_t max_conns;       /* sockets followed at once */
	uint32_t max_groups;      /* histograms (metric x group) per interval */
	enum lat_by by;
	enum nl_hook hook;        /* --hook: the set of programs, tp_btf, raw_tp or AUTO */
};

struct nl_module_ops;
extern const struct nl_module_ops nl_latency_ops;

/* Reporting, without BPF (src/latency/latency_report.c). */
int lat_by_parse(const char *s, enum lat_by *by);
const char *lat_by_name(enum lat_by by);
const char *lat_metric_name(unsigned int metric);

/* A group's text: "10.0.0.2:443", "10.0.0.2", "443", "curl", "1234 curl", "cgroup 42". */
const char *lat_group_str(enum lat_by by, const struct lat_key *k, char *buf, size_t len);
/* The same as JSON: a string for addresses and names, a number for ports, pids, cgroups;
 * null for an owner netlens does not know. */
struct json_object *lat_group_json(enum lat_by by, const struct lat_key *k);

struct lat_row {
	struct lat_key key;       /* epoch zeroed */
	struct nl_hist h;
	UT_hash_handle hh;
};

struct lat_report {
	struct lat_row *rows;
};

/* Adds a histogram read from the kernel (one CPU, one epoch) to its group's row. */
int lat_report_add(struct lat_report *r, const struct lat_key *k, const struct nl_hist *h);
/* Writes the rows (records or tables) and the stats record, then empties the report. */
void lat_report_write(struct lat_report *r, struct nl_sink *s, enum lat_by by,
		      const uint64_t *stats);
void lat_report_free(struct lat_report *r);

/*
 * `serve`'s metrics (src/latency/latency_metrics.c): every interval's histograms
 * added up since start, per destination (--by daddr:dport), exported as
 * four Prometheus histograms through one fold (a destination is exported
 * or folded for all four at once; weight: its samples).
 */
#define LAT_METRICS_MAX_DESTS 4096   /* totalled one by one; later ones are summed as "other" */

struct lat_total {
	struct lat_key key;       /* the destination: metric and epoch zeroed */
	struct nl_hist h[LAT_METRICS];
	UT_hash_handle hh;
};

struct nl_prom;
struct nl_fold;

struct lat_metrics {
	struct lat_total *totals;
	unsigned int ntotals;
	struct lat_total other;   /* destinations beyond LAT_METRICS_MAX_DESTS */
	struct nl_fold *fold;
};

/* Adds an interval's report (before lat_report_write empties it); 0 or -ENOMEM. */
int lat_metrics_add(struct lat_metrics *lm, const struct lat_report *r);
/* The histograms, cumulative since the first lat_metrics_add. */
void lat_metrics_write(struct lat_metrics *lm, struct nl_prom *p);
void lat_metrics_free(struct lat_metrics *lm);

#endif
