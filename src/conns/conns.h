/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETLENS_SRC_CONNS_H
#define NETLENS_SRC_CONNS_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>
#include "conns/conns_abi.h"
#include "conns/conns_listen.h"
#include "framework/fallback.h"
#include "output/output.h"
#include "output/prom.h"

#define CONNS_DEFAULT_MAX 65536

/* conns' own options. */
struct conns_cfg {
	uint32_t max_conns;     /* connections tracked at once */
	enum nl_hook hook;      /* --hook: the TCP core's programs (AUTO: tp_btf, raw_tp if refused) */
};

struct nl_module_ops;
extern const struct nl_module_ops nl_conns_ops;

/* Reporting, without BPF (src/conns/conns_report.c): records, rows and totals. */
#define CONNS_MAX_DESTS   16384   /* destinations totalled one by one; then "other" */
#define CONNS_TABLE_DESTS 20      /* rows of the summary table */

/* A destination's failed connects with one errno (the kernel's conns_failures). */
struct conns_fail {
	uint16_t error;
	uint64_t count;
	struct conns_fail *next;
};

struct conns_dest {
	struct nl_dest_key key;     /* family 0: the "other" bucket */
	uint64_t connects, accepts, failed, closes;
	uint64_t bytes_sent, bytes_received, retransmits;
	struct conns_fail *fails;   /* failed, per errno */
	UT_hash_handle hh;
};

struct conns_report {
	struct conns_dest *dests;    /* totals per destination, at most CONNS_MAX_DESTS */
	struct conns_dest other;     /* the records of every destination beyond those */
	uint64_t folded;             /* destinations that went to other */
	uint64_t bad_records;        /* short or unknown records from the kernel */
	struct nl_fold *fold;        /* serve's --max-series guard over dests */
	struct nl_fold *fail_fold;   /* the same over (destination, errno) */
	struct conns_listen_report listen;   /* the kernel's listeners, read with the totals */
	struct nl_fold *listen_fold; /* serve's --max-series guard over listeners */
};

void conns_report_init(struct conns_report *r);
void conns_report_free(struct conns_report *r);
/* Empties the totals, before they are read again from the kernel. */
void conns_report_clear(struct conns_report *r);
/* Adds a destination's totals as the kernel counted them (struct tcp_dest's conns part). */
void conns_report_add(struct conns_report *r, const struct nl_dest_key *k,
		      const struct conns_dest_totals *t);
/* Adds a destination's failed connects with one errno as the kernel counted them. */
void conns_report_add_failures(struct conns_report *r, const struct conns_fail_key *k,
			       uint64_t count);
/* Checks and writes one record as the kernel sent it (bad ones are counted). */
void conns_report_event(struct conns_report *r, struct nl_sink *s, const void *data, size_t len);
/* The "stats" record (JSON) or summary table, from the BPF counters and totals. */
void conns_report_summary(struct conns_report *r, struct nl_sink *s, const uint64_t *stats);
/*
 * serve: per-destination counters since start (netlens_tcp_*), failures per
 * errno too, folded by --max-series.
 */
void conns_report_metrics(struct conns_report *r, struct nl_prom *p);

/*
 * Findings (src/conns/conns_findings.c): connect_failures per destination
 * and errno (at least CONNS_FAIL_MIN failures that are at least
 * CONNS_FAIL_RATIO of its connects begun; critical from
 * CONNS_FAIL_CRITICAL), listen_overflow per listener that dropped at least
 * CONNS_LISTEN_MIN_DROPS connections since netlens started.
 */
#define CONNS_FAIL_MIN          3
#define CONNS_FAIL_RATIO        0.05
#define CONNS_FAIL_CRITICAL     0.5
#define CONNS_LISTEN_MIN_DROPS  1
#define CONNS_LISTEN_CRITICAL   10  /* drops: a listener turning clients away, not a blip */

struct nl_findings;
void conns_findings(const struct conns_report *r, struct nl_findings *out);

#endif
