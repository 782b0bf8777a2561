/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETLENS_SRC_FLOWS_H
#define NETLENS_SRC_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/socket.h>
#include <uthash.h>
#include "flows/flows_abi.h"
#include "framework/xdp.h"
#include "output/output.h"

#define FLOWS_DEFAULT_MAX      65536
#define FLOWS_DEFAULT_INTERVAL 10.0   /* seconds, when --interval is not given */
#define FLOWS_DEFAULT_IDLE     60.0   /* seconds */
#define FLOWS_DEFAULT_TOP      20

enum flows_hook { FLOWS_HOOK_XDP, FLOWS_HOOK_TC };
enum flows_sort { FLOWS_SORT_BYTES, FLOWS_SORT_PACKETS };

#define FLOWS_DIR_IN  (1u << FLOW_DIR_INGRESS)
#define FLOWS_DIR_OUT (1u << FLOW_DIR_EGRESS)

/* flows' own options. */
struct flows_cfg {
	char ifname[IF_NAMESIZE];
	unsigned int ifindex;
	enum flows_hook hook;
	bool hook_set;             /* --hook given; else chosen from --direction */
	unsigned int directions;   /* FLOWS_DIR_*; 0 until chosen */
	enum nl_xdp_mode xdp_mode;
	bool force;                /* replace another XDP program */
	uint32_t max_flows;        /* per generation map */
	double duration;           /* -d */
	double idle_timeout;       /* seconds */
	enum flows_sort sort;
	uint32_t top;              /* rows per table and records per --top-sources report */
	uint16_t top_sources_port; /* 0: the flow view */
	char ipfix[64];            /* --ipfix HOST:PORT as given; "": no export */
	struct sockaddr_storage ipfix_dest;
	socklen_t ipfix_dest_len;
};

struct nl_module_ops;
extern const struct nl_module_ops nl_flows_ops;

struct nl_module;
/* The loaded (not attached) program, for BPF_PROG_TEST_RUN in tests and benchmarks. */
int flows_prog_fd(struct nl_module *m);

/* Reporting, without BPF (src/flows/flows_report.c). */

/* A flow as user space knows it across intervals. */
struct flows_known {
	struct flow_key key;
	uint64_t first_seen_ns, last_seen_ns;
	UT_hash_handle hh;
};

/* One flow's counts in the interval being reported (summed over CPUs). */
struct flows_delta {
	struct flow_key key;
	struct flow_val val;          /* first_seen_ns: the flow's, from its first interval */
	uint64_t interval_first_ns;   /* the first packet in this interval */
};

struct flows_report {
	const struct flows_cfg *cfg;
	struct flows_known *known;    /* flows not yet idle for idle_timeout, at most max_flows,
				       * least recently seen first */
	struct flows_delta *cur;      /* this interval's flows */
	size_t ncur, cap;
	uint64_t prev_stats[NL_STAT_MAX];
	struct flow_val prev_other;
	uint64_t prev_ns;             /* when the previous interval ended */
	uint64_t evicted;             /* this interval: idle for idle_timeout */
	uint64_t evicted_full;        /* this interval: forgotten early, the table was full */
	unsigned int cached_ifindex;
	char cached_ifname[IF_NAMESIZE];
	struct ipfix *ipfix;          /* NULL, or where each interval's flows are exported */
	bool ipfix_failing;           /* the last export's send failed (said on stderr) */
	/* cumulative since start, for the metrics (updated at each interval) */
	uint64_t total_packets[2], total_bytes[2];   /* flow entries, per enum flow_direction */
	size_t active;                /* IP flows in the last interval */
};

void flows_report_init(struct flows_report *r, const struct flows_cfg *cfg, uint64_t now_ns);
void flows_report_free(struct flows_report *r);
/* Sums one flow's per-CPU values (ncpu of them). */
void flows_sum_cpus(const struct flow_val *percpu, int ncpu, struct flow_val *out);
/* Adds a flow drained from the kernel in this interval; -ENOMEM if it cannot. */
int flows_report_add(struct flows_report *r, const struct flow_key *k, const struct flow_val *v);
/*
 * Writes the interval that ends at now_ns (flow or top_source records, then
 * flow_stats; or the table), from the flows added since the previous one and
 * the monotonic counters, then forgets flows idle longer than idle_timeout.
 */
void flows_report_interval(struct flows_report *r, struct nl_sink *s, uint64_t now_ns,
			   const uint64_t *stats, const struct flow_val *other);

struct ipfix_record;
/* A flow's delta as an IPFIX data record (octets: the IP packets, without the frame header). */
void flows_ipfix_record(const struct flows_report *r, const struct flows_delta *d,
			struct ipfix_record *out);

/*
 * Sends the flows added since the last interval to r->ipfix, with the
 * templates when due; at start, before any flow, the templates alone.
 */
void flows_report_export(struct flows_report *r, uint64_t now_ns);

struct nl_prom;
/* netlens_flow_* metrics as of the last interval (and netlens_ipfix_* when exporting). */
void flows_report_metrics(const struct flows_report *r, struct nl_prom *p);

/* "SA" style TCP flags, in the order FSRPAUEC. Returns buf. */
const char *flows_fmt_tcp_flags(uint8_t flags, char *buf, size_t len);
const char *flows_proto_name(uint8_t proto, char *buf, size_t len);

#endif
