// SPDX-License-Identifier: GPL-2.0
/* retrans' findings: path_loss and slow_handshake, firing and silent. */
#include <arpa/inet.h>
#include <stdlib.h>
#include "check.h"
#include "framework/finding.h"
#include "retrans/retrans.h"

static struct retrans_row row(const char *addr, uint16_t port, bool inbound, uint64_t retransmits,
			      uint64_t segments, uint64_t syns, uint64_t handshakes)
{
	struct retrans_row r = {
		.key = { .family = 4, .port = port, .inbound = inbound },
		.d = { .calls = retransmits, .retransmits = retransmits, .segments = segments,
		       .syn_retransmits = syns },
		.handshakes = handshakes,
	};

	inet_pton(AF_INET, addr, r.key.addr);
	return r;
}

static const struct nl_finding_field *field(const struct nl_finding *x, const char *name)
{
	for (unsigned int i = 0; i < x->nfields; i++)
		if (!strcmp(x->fields[i].name, name))
			return &x->fields[i];
	return NULL;
}

static void path_loss_fires_on_the_client_side(void)
{
	struct retrans_row rows[] = {
		row("10.1.2.3", 8080, false, 91, 2160, 0, 0),
		row("10.1.2.4", 80, false, 111, 1498, 0, 0),      /* 7.4%: the staged 9% path */
	};
	struct nl_findings f = { 0 };

	retrans_findings(rows, 2, &f);
	CHECK(f.n == 2);
	CHECK_STR(f.v[0].kind, "path_loss");
	CHECK(f.v[0].severity == NL_SEV_WARNING);
	CHECK_STR(f.v[0].summary, "10.1.2.3:8080 (client side): 4.2% of segments retransmitted "
		  "(91/2160)");
	CHECK(field(&f.v[0], "retransmits")->u == 91 && field(&f.v[0], "segments")->u == 2160);
	CHECK_STR(field(&f.v[0], "daddr")->s, "10.1.2.3");
	CHECK(field(&f.v[0], "dport")->u == 8080);
	CHECK_STR(field(&f.v[1], "direction")->s, "outbound");
	nl_findings_free(&f);

	/* 10% and more: critical. */
	rows[0] = row("10.1.2.3", 8080, false, 300, 2000, 0, 0);
	retrans_findings(rows, 1, &f);
	CHECK(f.n == 1 && f.v[0].severity == NL_SEV_CRITICAL);
	nl_findings_free(&f);
}

static void path_loss_silent(void)
{
	struct retrans_row rows[] = {
		row("10.1.2.3", 8080, false, 19, 1000, 0, 0),     /* 1.9%: under the ratio */
		row("10.1.2.4", 22, false, 50, 100, 0, 0),        /* 50% of too few segments */
		row("10.1.2.5", 22, false, 9, 200, 0, 0),         /* too few retransmits */
		row("10.1.2.6", 80, true, 4800, 60000, 0, 0),     /* a server's side: its clients' paths */
		row("10.1.2.7", 443, false, 0, 90000, 0, 0),      /* a busy healthy client */
	};
	struct nl_findings f = { 0 };

	retrans_findings(rows, 5, &f);
	CHECK(f.n == 0);
	nl_findings_free(&f);
}

static void slow_handshake_fires(void)
{
	struct retrans_row rows[] = {
		row("10.1.2.3", 8080, false, 3, 30, 3, 10),
		row("10.1.2.4", 8080, false, 4, 40, 4, 0),        /* handshakes not known (no conns) */
	};
	struct nl_findings f = { 0 };

	retrans_findings(rows, 2, &f);
	CHECK(f.n == 2);
	CHECK_STR(f.v[0].kind, "slow_handshake");
	CHECK_STR(f.v[0].summary, "10.1.2.3:8080 (client side): 3 SYNs retransmitted in 10 "
		  "handshakes (each waited at least 1 s)");
	CHECK(field(&f.v[0], "syn_retransmits")->u == 3 && field(&f.v[0], "handshakes")->u == 10);
	CHECK_STR(f.v[1].summary, "10.1.2.4:8080 (client side): 4 SYNs retransmitted (each "
		  "handshake waited at least 1 s)");
	nl_findings_free(&f);
}

static void slow_handshake_silent(void)
{
	struct retrans_row rows[] = {
		row("10.1.2.3", 8080, false, 2, 30, 2, 10),       /* too few */
		row("10.1.2.4", 8080, false, 5, 90000, 5, 20000), /* 5 in 20000 handshakes */
		row("10.1.2.5", 8080, true, 9, 900, 0, 0),        /* SYN-ACKs are not SYNs */
	};
	struct nl_findings f = { 0 };

	retrans_findings(rows, 3, &f);
	CHECK(f.n == 0);
	nl_findings_free(&f);
}

int main(void)
{
	RUN(path_loss_fires_on_the_client_side);
	RUN(path_loss_silent);
	RUN(slow_handshake_fires);
	RUN(slow_handshake_silent);
	return TEST_SUMMARY();
}
