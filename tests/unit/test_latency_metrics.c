// SPDX-License-Identifier: GPL-2.0
/* latency's Prometheus metrics: cumulative across intervals, one fold for the four histograms. */
#include <arpa/inet.h>
#include <stdlib.h>
#include "check.h"
#include "latency/latency.h"
#include "output/prom.h"

#define HS "netlens_tcp_handshake_seconds"
#define RTT "netlens_tcp_rtt_seconds"
#define DEST "daddr=\"10.0.0.2\",dport=\"443\""
#define DEST6 "daddr=\"fd00::2\",dport=\"8080\""
#define OTHER "daddr=\"other\",dport=\"other\""

static struct lat_key dest(int family, const char *addr, uint16_t port, unsigned int metric)
{
	struct lat_key k = { .family = family, .port = port, .metric = metric };

	inet_pton(family == 4 ? AF_INET : AF_INET6, addr, k.addr);
	return k;
}

/* n samples of us microseconds, as one CPU's histogram of one interval. */
static void add(struct lat_report *r, struct lat_key k, uint64_t us, uint64_t n)
{
	struct nl_hist h = { .count = n, .sum_us = us * n, .min_us = us, .max_us = us };

	h.slots[nl_hist_slot(us)] = n;
	lat_report_add(r, &k, &h);
}

/* One interval: the report is added to the totals, then emptied (as collect does). */
static void interval(struct lat_metrics *lm, struct lat_report *r)
{
	CHECK(lat_metrics_add(lm, r) == 0);
	lat_report_free(r);
}

static const char *page(struct nl_prom *p, struct lat_metrics *lm)
{
	size_t len;

	nl_prom_reset(p);
	lat_metrics_write(lm, p);
	return nl_prom_text(p, &len);
}

static void histogram_lines_for_a_known_state(void)
{
	struct lat_report r = { 0 };
	struct lat_metrics lm = { 0 };
	struct nl_prom *p = nl_prom_new(10);
	const char *t;

	add(&r, dest(4, "10.0.0.2", 443, LAT_HANDSHAKE), 100, 1);   /* slot [64, 128) us */
	add(&r, dest(4, "10.0.0.2", 443, LAT_RTT), 3, 2);           /* slot [2, 4) us */
	interval(&lm, &r);
	t = page(p, &lm);
	CHECK(has_line(t, "# TYPE " HS " histogram"));
	CHECK(has_line(t, HS "_bucket{" DEST ",le=\"0.000064\"} 0"));
	CHECK(has_line(t, HS "_bucket{" DEST ",le=\"0.000128\"} 1"));
	CHECK(has_line(t, HS "_bucket{" DEST ",le=\"+Inf\"} 1"));
	CHECK(has_line(t, HS "_sum{" DEST "} 0.000100"));
	CHECK(has_line(t, HS "_count{" DEST "} 1"));
	CHECK(has_line(t, RTT "_bucket{" DEST ",le=\"0.000002\"} 0"));
	CHECK(has_line(t, RTT "_bucket{" DEST ",le=\"0.000004\"} 2"));
	CHECK(has_line(t, RTT "_sum{" DEST "} 0.000006"));
	CHECK(has_line(t, RTT "_count{" DEST "} 2"));
	/* No samples: no series (and no family) for request and service time. */
	CHECK(!strstr(t, "netlens_tcp_request_seconds"));
	CHECK(!strstr(t, "netlens_tcp_service_seconds"));
	CHECK(has_line(t, "netlens_series_folded{family=\"" HS "\"} 0"));
	lat_metrics_free(&lm);
	nl_prom_free(p);
}

/* The kernel's histograms restart every interval; the exported ones only grow. */
static void counters_grow_across_intervals(void)
{
	struct lat_report r = { 0 };
	struct lat_metrics lm = { 0 };
	struct nl_prom *p = nl_prom_new(10);
	const char *t;

	add(&r, dest(6, "fd00::2", 8080, LAT_RTT), 40, 3);
	interval(&lm, &r);
	t = page(p, &lm);
	CHECK(has_line(t, RTT "_count{" DEST6 "} 3"));
	/* An interval without samples changes nothing. */
	interval(&lm, &r);
	t = page(p, &lm);
	CHECK(has_line(t, RTT "_count{" DEST6 "} 3"));
	/* Two CPUs' histograms of the next interval add up. */
	add(&r, dest(6, "fd00::2", 8080, LAT_RTT), 40, 1);
	add(&r, dest(6, "fd00::2", 8080, LAT_RTT), 5000, 1);
	interval(&lm, &r);
	t = page(p, &lm);
	CHECK(has_line(t, RTT "_count{" DEST6 "} 5"));
	CHECK(has_line(t, RTT "_sum{" DEST6 "} 0.005160"));
	CHECK(has_line(t, RTT "_bucket{" DEST6 ",le=\"0.000064\"} 4"));
	CHECK(has_line(t, RTT "_bucket{" DEST6 ",le=\"0.008192\"} 5"));
	lat_metrics_free(&lm);
	nl_prom_free(p);
}

/* --max-series 1: the busiest destination by samples stays, the other is folded for all four. */
static void destinations_beyond_max_series_are_other(void)
{
	struct lat_report r = { 0 };
	struct lat_metrics lm = { 0 };
	struct nl_prom *p = nl_prom_new(1);
	const char *t;

	add(&r, dest(4, "10.0.0.2", 443, LAT_HANDSHAKE), 100, 1);
	add(&r, dest(4, "10.0.0.2", 443, LAT_RTT), 100, 4);
	add(&r, dest(6, "fd00::2", 8080, LAT_HANDSHAKE), 300, 2);
	interval(&lm, &r);
	t = page(p, &lm);
	CHECK(has_line(t, HS "_count{" DEST "} 1"));
	CHECK(has_line(t, RTT "_count{" DEST "} 4"));
	CHECK(has_line(t, HS "_count{" OTHER "} 2"));
	CHECK(has_line(t, HS "_bucket{" OTHER ",le=\"0.000512\"} 2"));
	CHECK(!strstr(t, "fd00::2"));
	CHECK(!strstr(t, RTT "_count{" OTHER "}"));
	CHECK(has_line(t, "netlens_series_folded{family=\"" HS "\"} 1"));
	/* The folded destination grows: "other" does, the exported one keeps its series. */
	add(&r, dest(6, "fd00::2", 8080, LAT_HANDSHAKE), 300, 1);
	interval(&lm, &r);
	t = page(p, &lm);
	CHECK(has_line(t, HS "_count{" OTHER "} 3"));
	CHECK(has_line(t, HS "_count{" DEST "} 1"));
	lat_metrics_free(&lm);
	nl_prom_free(p);
}

/* Past LAT_METRICS_MAX_DESTS destinations, new ones are summed straight into "other". */
static void destinations_beyond_the_table_are_other(void)
{
	struct lat_report r = { 0 };
	struct lat_metrics lm = { 0 };
	struct nl_prom *p = nl_prom_new(LAT_METRICS_MAX_DESTS + 10);
	const char *t;

	for (unsigned int i = 0; i < LAT_METRICS_MAX_DESTS; i++)
		add(&r, dest(4, "10.1.0.1", 1 + i, LAT_RTT), 10, 1);
	add(&r, dest(4, "10.0.0.2", 443, LAT_RTT), 10, 7);
	add(&r, dest(4, "10.0.0.3", 443, LAT_RTT), 10, 2);
	interval(&lm, &r);
	t = page(p, &lm);
	CHECK(lm.ntotals == LAT_METRICS_MAX_DESTS);
	CHECK(has_line(t, RTT "_count{daddr=\"10.1.0.1\",dport=\"4096\"} 1"));
	CHECK(has_line(t, RTT "_count{" OTHER "} 9"));
	CHECK(!strstr(t, "daddr=\"10.0.0.2\""));
	CHECK(has_line(t, "netlens_series_folded{family=\"" HS "\"} 0"));
	lat_metrics_free(&lm);
	nl_prom_free(p);
}

int main(void)
{
	RUN(histogram_lines_for_a_known_state);
	RUN(counters_grow_across_intervals);
	RUN(destinations_beyond_max_series_are_other);
	RUN(destinations_beyond_the_table_are_other);
	return TEST_SUMMARY();
}
