// SPDX-License-Identifier: GPL-2.0
/*
 * netlens dns: what the totals say is wrong (docs/diagnose.md, "dns").
 * Names that keep failing (from the records), servers that do not answer
 * or answer slowly (the kernel's per-server rows).
 */
#include <stdio.h>
#include "dns/dns.h"
#include "framework/finding.h"
#include "framework/netns.h"
#include "output/format.h"
#include "output/hist.h"

/* A name's answers of one failing rcode: at least this many, and this share of its queries. */
#define DNS_FIND_FAILED_MIN     5
#define DNS_FIND_FAILED_RATIO   0.2
/* A server's timeouts: at least this many, and this share of its finished queries. */
#define DNS_FIND_DOWN_MIN       3
#define DNS_FIND_DOWN_RATIO     0.05
#define DNS_FIND_DEAD_RATIO     0.5     /* from here the server is down: critical */
/* A server's answers: at least this many, with a p99 latency this high. */
#define DNS_FIND_SLOW_MIN       20
#define DNS_FIND_SLOW_P99_US    200000  /* 200 ms */

static const struct { int rcode; const char *name; enum nl_severity sev; } failing[] = {
	{ DNS_RCODE_SERVFAIL, "SERVFAIL", NL_SEV_WARNING },
	{ DNS_RCODE_REFUSED, "REFUSED", NL_SEV_WARNING },
	/* A name that does not exist breaks its user, not the network. */
	{ DNS_RCODE_NXDOMAIN, "NXDOMAIN", NL_SEV_NOTICE },
};

static uint64_t finished(const struct dns_agg *a)
{
	uint64_t n = 0;

	for (int i = 0; i < DNS_RCODE_SLOTS; i++)
		n += a->rcodes[i];
	return n;
}

static void name_failures(const struct dns_agg *a, uint64_t lost, struct nl_findings *out)
{
	uint64_t done = finished(a);
	char comm[NL_COMM_LEN + 1], ns[NL_NETNS_NAME_LEN];

	for (size_t i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
		uint64_t n = a->rcodes[failing[i].rcode];
		struct nl_finding *x;

		if (n < DNS_FIND_FAILED_MIN || n < DNS_FIND_FAILED_RATIO * done)
			continue;
		x = nl_finding_add(out, failing[i].sev, "dns_failures", n);
		if (!x)
			return;
		nl_fmt_comm(a->owner.comm, comm, sizeof(comm));
		nl_netns_label(a->netns, ns, sizeof(ns));
		nl_finding_say(x, "DNS name %.200s: %llu of %llu queries answered %s (%s pid %u, "
			       "netns %s)", a->name, (unsigned long long)n,
			       (unsigned long long)done, failing[i].name,
			       a->owner.pid ? comm : "process unknown", a->owner.pid, ns);
		nl_finding_str(x, "qname", a->name);
		nl_finding_str(x, "rcode", failing[i].name);
		nl_finding_uint(x, "count", n);
		nl_finding_uint(x, "queries", done);
		nl_finding_uint(x, "pid", a->owner.pid);
		nl_finding_str(x, "comm", a->owner.pid ? comm : "");
		nl_finding_uint(x, "netns", a->netns);
		nl_finding_str(x, "netns_name", ns);
		/* Names come from records: a full ring buffer lost some. */
		nl_finding_uint(x, "records_lost", lost);
	}
}

static uint64_t row_answers(const struct dns_server_row *row)
{
	uint64_t n = 0;

	for (int i = 0; i < DNS_RCODES; i++)
		n += row->s.rcodes[i];
	return n;
}

static void server_name(const struct dns_server_row *row, char *buf, size_t len)
{
	if (row->key.family)
		nl_fmt_endpoint(row->key.family, row->key.addr, row->key.port, buf, len);
	else
		snprintf(buf, len, "other");
}

static void server_down(const struct dns_server_row *row, double timeout_s,
			struct nl_findings *out)
{
	uint64_t answers = row_answers(row), done = answers + row->timeouts;
	char server[NL_ADDR_LEN + 8];
	struct nl_finding *x;
	double ratio;

	if (row->timeouts < DNS_FIND_DOWN_MIN || row->timeouts < DNS_FIND_DOWN_RATIO * done)
		return;
	ratio = (double)row->timeouts / done;
	x = nl_finding_add(out, ratio >= DNS_FIND_DEAD_RATIO ? NL_SEV_CRITICAL : NL_SEV_WARNING,
			   "dns_server_down", row->timeouts);
	if (!x)
		return;
	server_name(row, server, sizeof(server));
	nl_finding_say(x, "DNS server %s: %llu of %llu queries unanswered within %g s "
		       "(%.0f%%), %llu retransmissions", server, (unsigned long long)row->timeouts,
		       (unsigned long long)done, timeout_s, 100 * ratio,
		       (unsigned long long)row->s.retransmits);
	nl_finding_str(x, "server", server);
	nl_finding_uint(x, "timeouts", row->timeouts);
	nl_finding_uint(x, "queries", done);
	nl_finding_uint(x, "answers", answers);
	nl_finding_uint(x, "retransmits", row->s.retransmits);
}

static void server_slow(const struct dns_server_row *row, struct nl_findings *out)
{
	const struct nl_hist *h = &row->s.latency;
	char server[NL_ADDR_LEN + 8], p50[32], p99s[32];
	struct nl_finding *x;
	uint64_t p99;

	if (h->count < DNS_FIND_SLOW_MIN)
		return;
	p99 = nl_hist_percentile(h, 99);
	if (p99 < DNS_FIND_SLOW_P99_US)
		return;
	x = nl_finding_add(out, NL_SEV_WARNING, "dns_server_slow", h->count);
	if (!x)
		return;
	server_name(row, server, sizeof(server));
	nl_finding_say(x, "DNS server %s answers slowly: p99 %s, p50 %s over %llu answers",
		       server, nl_fmt_usecs(p99, p99s, sizeof(p99s)),
		       nl_fmt_usecs(nl_hist_percentile(h, 50), p50, sizeof(p50)),
		       (unsigned long long)h->count);
	nl_finding_str(x, "server", server);
	nl_finding_uint(x, "p99_us", p99);
	nl_finding_uint(x, "p50_us", nl_hist_percentile(h, 50));
	nl_finding_uint(x, "answers", h->count);
}

void dns_report_findings(const struct dns_report *r, const uint64_t *stats,
			 struct nl_findings *out)
{
	struct dns_agg *a, *tmp;

	HASH_ITER(hh, r->qnames.items, a, tmp)
		name_failures(a, stats[NL_STAT_LOST], out);
	for (size_t i = 0; i < r->k.n; i++) {
		server_down(&r->k.rows[i], r->timeout_ns / 1e9, out);
		server_slow(&r->k.rows[i], out);
	}
}
