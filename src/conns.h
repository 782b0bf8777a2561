/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETLENS_SRC_CONNS_H
#define NETLENS_SRC_CONNS_H

#include <stddef.h>
#include <stdint.h>
#include "netlens/conns.h"
#include "output.h"

#define CONNS_DEFAULT_MAX 65536

/* conns' own options. */
struct conns_cfg {
	uint32_t max_conns;     /* connections tracked at once */
};

int conns_main(int argc, char **argv);

/* Reporting, without BPF (src/conns_report.c): records, rows and totals. */
struct conns_dest;

struct conns_report {
	struct conns_dest *dests;    /* totals per server endpoint */
	struct conns_dest *last;     /* the one the previous record went to */
	uint64_t bad_records;        /* short or unknown records from the kernel */
};

void conns_report_init(struct conns_report *r);
void conns_report_free(struct conns_report *r);
/* Checks, counts and writes one record as the kernel sent it. */
void conns_report_event(struct conns_report *r, struct nl_sink *s, const void *data, size_t len);
/* The final "stats" record (JSON) or summary table, from the BPF counters. */
void conns_report_summary(struct conns_report *r, struct nl_sink *s, const uint64_t *stats);

#endif
