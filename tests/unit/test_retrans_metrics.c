// SPDX-License-Identifier: GPL-2.0
/*
 * retrans' Prometheus metrics: per {direction,daddr,dport} from the kernel's
 * totals, folded, parse errors.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include "check.h"
#include "output/prom.h"
#include "retrans/retrans.h"

#define CALLS "netlens_tcp_retransmits_total"
#define SEGS "netlens_tcp_retransmitted_segments_total"
#define SENT "netlens_tcp_sent_segments_total"
#define DEST "{direction=\"outbound\",daddr=\"10.0.0.2\",dport=\"443\"}"
#define DEST_IN "{direction=\"inbound\",daddr=\"10.0.0.2\",dport=\"443\"}"
#define DEST6 "{direction=\"outbound\",daddr=\"fd00::2\",dport=\"80\"}"
#define DEST6_IN "{direction=\"inbound\",daddr=\"fd00::2\",dport=\"80\"}"
#define OTHER "{direction=\"other\",daddr=\"other\",dport=\"other\"}"

static struct retrans_row row(int family, const char *addr, uint16_t port, bool inbound,
			      uint64_t calls, uint64_t retransmits, uint64_t segments)
{
	struct retrans_row r = {
		.key = { .family = family, .port = port, .inbound = inbound },
		.d = { .calls = calls, .retransmits = retransmits, .segments = segments },
	};

	inet_pton(family == 4 ? AF_INET : AF_INET6, addr, r.key.addr);
	return r;
}

static const char *page(struct nl_prom *p, struct nl_fold **fold, struct retrans_row *rows,
			size_t n, uint64_t bad)
{
	size_t len;

	nl_prom_reset(p);
	retrans_metrics_write(fold, rows, n, bad, p);
	return nl_prom_text(p, &len);
}

/*
 * A destination's client side (outbound) and server side (inbound) are two
 * series: 9% lost on the client path stays 9%, whatever the server sends.
 */
static void counters_per_destination(void)
{
	struct retrans_row rows[] = {
		row(6, "fd00::2", 80, false, 0, 0, 10),
		row(4, "10.0.0.2", 443, false, 2, 3, 100),
		row(4, "10.0.0.2", 443, true, 1, 1, 50),
	};
	struct nl_prom *p = nl_prom_new(10);
	struct nl_fold *fold = NULL;
	const char *t = page(p, &fold, rows, 3, 7);

	CHECK(has_line(t, "# TYPE " CALLS " counter"));
	CHECK(has_line(t, CALLS DEST " 2"));
	CHECK(has_line(t, SEGS DEST " 3"));
	CHECK(has_line(t, SENT DEST " 100"));
	CHECK(has_line(t, CALLS DEST_IN " 1"));
	CHECK(has_line(t, SEGS DEST_IN " 1"));
	CHECK(has_line(t, SENT DEST_IN " 50"));
	CHECK(has_line(t, CALLS DEST6 " 0"));
	CHECK(has_line(t, SEGS DEST6 " 0"));
	CHECK(has_line(t, SENT DEST6 " 10"));
	CHECK(has_line(t, "netlens_parse_errors_total{module=\"retrans\"} 7"));
	CHECK(has_line(t, "netlens_series_folded{family=\"" CALLS "\"} 0"));
	nl_fold_free(fold);
	nl_prom_free(p);
}

/* --max-series 1: the destination with the most segments sent is exported, the rest is other. */
static void destinations_beyond_max_series_are_other(void)
{
	struct retrans_row rows[] = {
		row(4, "10.0.0.2", 443, false, 2, 3, 100),
		row(6, "fd00::2", 80, true, 1, 1, 10),
	};
	struct nl_prom *p = nl_prom_new(1);
	struct nl_fold *fold = NULL;
	const char *t = page(p, &fold, rows, 2, 0);

	CHECK(has_line(t, SENT DEST " 100"));
	CHECK(has_line(t, CALLS OTHER " 1"));
	CHECK(has_line(t, SEGS OTHER " 1"));
	CHECK(has_line(t, SENT OTHER " 10"));
	CHECK(!strstr(t, "fd00::2"));
	CHECK(has_line(t, "netlens_series_folded{family=\"" CALLS "\"} 1"));
	/*
	 * The folded one overtakes it: exported from now on with its growth, while
	 * "other" keeps what it had and takes the other's growth; nothing goes down.
	 */
	rows[0] = row(4, "10.0.0.2", 443, false, 2, 3, 120);
	rows[1] = row(6, "fd00::2", 80, true, 4, 6, 500);
	t = page(p, &fold, rows, 2, 0);
	CHECK(has_line(t, CALLS DEST6_IN " 3"));
	CHECK(has_line(t, SEGS DEST6_IN " 5"));
	CHECK(has_line(t, SENT DEST6_IN " 490"));
	CHECK(has_line(t, CALLS OTHER " 1"));
	CHECK(has_line(t, SEGS OTHER " 1"));
	CHECK(has_line(t, SENT OTHER " 30"));
	CHECK(!strstr(t, "10.0.0.2"));
	nl_fold_free(fold);
	nl_prom_free(p);
}

static void nothing_retransmitted_yet(void)
{
	struct nl_prom *p = nl_prom_new(10);
	struct nl_fold *fold = NULL;
	const char *t = page(p, &fold, NULL, 0, 0);

	CHECK(!strstr(t, CALLS "{"));
	CHECK(has_line(t, "netlens_parse_errors_total{module=\"retrans\"} 0"));
	nl_fold_free(fold);
	nl_prom_free(p);
}

int main(void)
{
	RUN(counters_per_destination);
	RUN(destinations_beyond_max_series_are_other);
	RUN(nothing_retransmitted_yet);
	return TEST_SUMMARY();
}
