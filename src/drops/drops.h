/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETLENS_SRC_DROPS_H
#define NETLENS_SRC_DROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>
#include "drops/drops_abi.h"
#include "framework/fallback.h"
#include "framework/ksyms.h"
#include "output/output.h"
#include "output/prom.h"

#define DROPS_DEFAULT_ROWS   16384  /* rows of the in-kernel summary map */
#define DROPS_DEFAULT_EPS    1000   /* individual records per second */
#define DROPS_TABLE_ROWS     20     /* rows of the summary table */

/* drops' own options. */
struct drops_cfg {
	const char *reasons[DROPS_MAX_REASONS];  /* --reason, as typed */
	unsigned int nreasons;
	bool all;                 /* --all: NOT_SPECIFIED and benign reasons too */
	uint32_t max_rows;        /* --max-rows */
	uint32_t events_per_sec;  /* --events-per-sec; 0: summaries only */
	enum nl_hook hook;        /* --hook for skb:kfree_skb: tp_btf, raw_tp, tracepoint or AUTO */
};

struct nl_module_ops;
extern const struct nl_module_ops nl_drops_ops;

/*
 * Drop reason names from the running kernel's BTF (enum skb_drop_reason),
 * without the SKB_DROP_REASON_ prefix (src/drops/drops_reasons.c).
 */
struct drop_reason_name {
	uint32_t value;
	char *name;
};

struct drop_reasons {
	struct drop_reason_name *v;   /* sorted by value */
	size_t n;
};

/* Reads enum skb_drop_reason from btf (a struct btf *); 0 or -errno. */
int drop_reasons_from_btf(struct drop_reasons *r, const void *btf);
/* The same from the running kernel (/sys/kernel/btf/vmlinux). */
int drop_reasons_load(struct drop_reasons *r);
void drop_reasons_free(struct drop_reasons *r);
/* "NO_SOCKET", or NULL for a value this kernel does not name. */
const char *drop_reason_name(const struct drop_reasons *r, uint32_t value);
/* NAME with or without the prefix, any case; 0 or -ENOENT. */
int drop_reason_value(const struct drop_reasons *r, const char *name, uint32_t *value);

/* What a drop means: class in records, rows and metrics (docs/drops.md). */
enum drop_class {
	DROP_CLASS_LOSS,     /* traffic lost: a full buffer, no socket, a bad checksum */
	DROP_CLASS_POLICY,   /* refused by configuration: nftables, a BPF filter, XDP/TC */
	DROP_CLASS_BENIGN,   /* no loss: a closed socket's queue, a duplicate, another host's */
};

enum drop_class drop_class_of(const struct drop_reasons *r, uint8_t kind, uint32_t reason);
const char *drop_class_name(enum drop_class c);
/*
 * A socket's receive buffer overflowed: SOCKET_RCVBUFF, SOCKET_BACKLOG,
 * PROTO_MEM (kfree_skb only: the socket kinds see the same packets again).
 */
bool drop_is_rcvbuf(const struct drop_reasons *r, uint8_t kind, uint32_t reason);

/* The socket kinds by the names --reason accepts for them. */
const char *drop_kind_name(uint8_t kind);
int drop_kind_by_name(const char *name);

/* Reporting, without BPF (src/drops/drops_report.c). */

struct drops_row {
	struct drop_key key;
	uint64_t total;        /* since netlens started */
	uint64_t reported;     /* total at the previous summary */
	uint64_t kernel;       /* the kernel's count at the previous read */
	char *labels;          /* its series' labels, made at the first metrics page */
	enum drop_class class;
	bool rcvbuf;           /* drop_is_rcvbuf() */
	UT_hash_handle hh;
};

struct drops_report {
	const struct drop_reasons *reasons;
	struct nl_ksyms *ksyms;
	struct drops_row *rows;
	uint64_t last_ns;          /* CLOCK_MONOTONIC of the previous summary */
	uint64_t bad_records;      /* short or unknown records from the kernel */
	uint64_t missed;           /* tracepoint hits the kernel ran no program for */
	struct nl_fold *fold;      /* created with the first metrics page */
	struct nl_fold *rcvbuf_fold;
	bool all;                  /* --all: benign rows in summaries too */
	/* The owner of a socket by inode, into buf; NULL if unknown (or no owner_of). */
	const struct nl_owner *(*owner_of)(void *ctx, uint64_t ino, struct nl_owner *buf);
	void *owner_ctx;
};

void drops_report_init(struct drops_report *r, const struct drop_reasons *reasons,
		       struct nl_ksyms *ksyms, uint64_t now_ns);
void drops_report_free(struct drops_report *r);
/* Checks and writes one record as the kernel sent it (JSON only). */
void drops_report_event(struct drops_report *r, struct nl_sink *s, const void *data, size_t len);
/*
 * A row's count as summed over CPUs from the kernel map: its growth since
 * the previous read is added to the row's total. A smaller count than then
 * means the kernel's row was deleted and counted again from 0: all of it is
 * new, so totals never decrease.
 */
int drops_report_set(struct drops_report *r, const struct drop_key *k, uint64_t count);
/* The rows that grew since the previous summary, busiest first, with a total. */
void drops_report_summary(struct drops_report *r, struct nl_sink *s, uint64_t now_ns);
/* At exit: the counters. */
void drops_report_stats(struct drops_report *r, struct nl_sink *s, const uint64_t *stats);
/* `serve`: the totals since start as Prometheus metrics (docs/drops.md). */
void drops_report_metrics(struct drops_report *r, struct nl_prom *p, const uint64_t *stats);

/*
 * Findings from the rows' totals since attach (src/drops/drops_findings.c;
 * the thresholds are in docs/diagnose.md): drops of one reason, function
 * and destination (or socket) at least this many, never benign ones.
 */
#define DROPS_FINDING_MIN_DROPS  10   /* local_drops: loss or policy drops */
#define DROPS_FINDING_MIN_RCVBUF 10   /* rcvbuf_overflow: a socket's receive buffer */
#define DROPS_FINDING_MIN_TOO_BIG 1   /* mtu_blackhole: PKT_TOO_BIG, never normal */

struct nl_findings;
void drops_findings(const struct drops_report *r, struct nl_findings *out);

#endif
