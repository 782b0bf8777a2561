/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETLENS_SRC_DNS_H
#define NETLENS_SRC_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>
#include "dns/dns_abi.h"
#include "output/hist_abi.h"
#include "dns/dns_parse.h"
#include "output/output.h"
#include "output/prom.h"

#define DNS_DEFAULT_TIMEOUT_S 5.0
#define DNS_DEFAULT_TOP       10
#define DNS_MAX_KEYS          16384   /* qnames, servers, sources totalled one by one */
#define DNS_RCODE_NOERROR     0
#define DNS_RCODE_SERVFAIL    2
#define DNS_RCODE_NXDOMAIN    3
#define DNS_RCODE_REFUSED     5
#define DNS_RCODE_TIMEOUT     16      /* rcodes[] slot for queries never answered */
#define DNS_RCODE_SLOTS       17

/* dns' own options. */
struct dns_cfg {
	double timeout;             /* seconds until an unanswered query is a TIMEOUT */
	unsigned int top;           /* qnames in the summary */
	uint16_t port;              /* the DNS port (default 53) */
	const char *iface;          /* -i: TC on this interface instead of cgroup_skb */
	bool server_side;           /* cgroup_skb: also local servers' side (--server-side) */
};

struct nl_module_ops;
extern const struct nl_module_ops nl_dns_ops;

/* One query and its answer: client and server ports and the message id. */
struct dns_key {
	uint8_t client[16], server[16];
	uint16_t cport, sport, id;
	uint8_t family, proto;
};

struct dns_agg;

/* The rows a record counts in (servers are counted by the kernel). */
enum dns_table_id { DNS_TABLE_QNAME, DNS_TABLE_SOURCE, DNS_TABLES };

struct dns_txn {
	struct dns_key key;
	uint64_t ts_ns;             /* the query: leaving the client if seen there, else arriving */
	struct nl_sock_id id;       /* client -> server */
	struct nl_owner owner;
	struct dns_agg *aggs[DNS_TABLES];  /* its qname's and source's totals */
	uint16_t qtype;
	uint16_t retransmits;       /* copies sent again while it waited (same socket, same id) */
	uint8_t seen_egress;        /* the query left a local socket: wait for it to get the answer */
	uint8_t seen_ingress;       /* it reached a local socket */
	UT_hash_handle hh;
	char qname[];               /* sized to the name: up to 65536 queries wait at once */
};

/* The key of a server (address and port) or a source (address, port 0). */
struct dns_endpoint {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family;
	uint8_t pad;
};

/*
 * Totals for one qname, server (addr, port) or source address. Every query
 * is counted when it is sent, so a row adds up: queries = rcodes (answers
 * by rcode, TIMEOUT included) + pending.
 */
struct dns_agg {
	char *name;                 /* as shown: the qname, or the address as text */
	uint64_t queries;
	uint64_t rcodes[DNS_RCODE_SLOTS];
	uint64_t pending;           /* waiting for their answer (counted at each summary) */
	uint64_t retransmits;       /* copies of pending queries sent again */
	struct nl_owner owner;      /* the process of its last query whose process is known */
	uint32_t netns;             /* the network namespace of its last query */
	struct nl_hist latency;
	uint8_t *key;               /* right after the struct: the qname, or a struct dns_endpoint */
	UT_hash_handle hh;
};

struct dns_table {
	struct dns_agg *items;
	struct dns_agg other;       /* beyond DNS_MAX_KEYS */
	uint64_t folded;
};

/* One row of the kernel's per-server totals (dns_servers), summed over CPUs. */
struct dns_server_row {
	struct nl_dest_key key;     /* family 0: the servers beyond DNS_MAX_SERVERS */
	struct dns_server_stats s;
	uint64_t timeouts;          /* its pending queries user space expired (dns_pending) */
};

/* The kernel's counts: every total and the server rows come from here, not from records. */
struct dns_kernel {
	struct dns_server_row *rows;
	size_t n, cap;
	uint64_t untracked;         /* queries not counted: the kernel's pending table was full */
};

/*
 * Records (names, sources, answers, latency per name) are matched here;
 * the totals and the servers are the kernel's (struct dns_kernel).
 */
struct dns_report {
	uint64_t timeout_ns;
	unsigned int top;
	struct dns_txn *pending;    /* in arrival order: the oldest expire first */
	struct dns_table qnames, sources;
	struct dns_table servers;   /* the kernel's rows, as shown (rebuilt at each summary) */
	struct dns_kernel k;
	struct nl_fold *fold;       /* serve: the servers' series under --max-series */
	struct dns_msg msg;         /* scratch for the parser */
	/* What the records showed (fewer than the kernel's when records were lost). */
	uint64_t messages, queries, responses, timeouts, unmatched, pending_full, retransmits;
	uint64_t tcp_split, partial, bad_records;
	uint64_t parse_errors[DNS_ERR_COUNT_];
};

/* Reporting, without BPF (src/dns/dns_report.c). */
void dns_report_init(struct dns_report *r, uint64_t timeout_ns, unsigned int top);
void dns_report_free(struct dns_report *r);
/* Parses one captured packet (struct dns_event) and writes completed transactions. */
void dns_report_event(struct dns_report *r, struct nl_sink *s, const void *data, size_t len);
/* Writes the queries unanswered for longer than the timeout as TIMEOUT. */
void dns_report_expire(struct dns_report *r, struct nl_sink *s, uint64_t now_ns);
/* A row of the kernel's totals, read by the module before a summary or a page. */
int dns_report_kernel_row(struct dns_report *r, const struct nl_dest_key *key,
			  const struct dns_server_stats *s, uint64_t timeouts);
/* dst += src (one CPU's copy of a row). */
void dns_server_stats_add(struct dns_server_stats *dst, const struct dns_server_stats *src);
/* Forgets the rows read before (the next read gives them all again). */
void dns_report_kernel_clear(struct dns_report *r);
/* The "stats" record (JSON) or summary tables, with the BPF counters. */
void dns_report_summary(struct dns_report *r, struct nl_sink *s, const uint64_t *stats);
struct nl_findings;
/* `diagnose`: failing names, servers down or slow (src/dns/dns_findings.c, docs/diagnose.md). */
void dns_report_findings(const struct dns_report *r, const uint64_t *stats,
			 struct nl_findings *out);
/* `serve`: the totals since start as Prometheus metrics (docs/dns.md). */
void dns_report_metrics(struct dns_report *r, struct nl_prom *p);

#endif
