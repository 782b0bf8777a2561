// SPDX-License-Identifier: GPL-2.0
/* conns' findings: connect_failures and listen_overflow, firing and silent. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include "check.h"
#include "conns/conns.h"
#include "framework/finding.h"

static struct nl_dest_key dest(const char *addr, uint16_t port)
{
	struct nl_dest_key k = { .port = port, .family = 4 };

	inet_pton(AF_INET, addr, k.addr);
	return k;
}

static void failed(struct conns_report *r, const char *addr, uint16_t port, uint64_t connects,
		   uint16_t error, uint64_t n)
{
	struct nl_dest_key k = dest(addr, port);

	conns_report_add(r, &k, &(struct conns_dest_totals){ .connects = connects, .failed = n });
	conns_report_add_failures(r, &(struct conns_fail_key){ .dest = k, .error = error }, n);
}

static const struct nl_finding_field *field(const struct nl_finding *x, const char *name)
{
	for (unsigned int i = 0; i < x->nfields; i++)
		if (!strcmp(x->fields[i].name, name))
			return &x->fields[i];
	return NULL;
}

static void connect_failures_fire(void)
{
	struct nl_findings f = { 0 };
	struct conns_report r;

	conns_report_init(&r);
	failed(&r, "10.231.0.2", 18040, 0, ECONNREFUSED, 3);
	conns_findings(&r, &f);
	CHECK(f.n == 1);
	CHECK_STR(f.v[0].kind, "connect_failures");
	CHECK(f.v[0].severity == NL_SEV_CRITICAL);
	CHECK_STR(f.v[0].summary, "10.231.0.2:18040 (client side): 3 of 3 connects failed with "
		  "ECONNREFUSED");
	CHECK_STR(field(&f.v[0], "error")->s, "ECONNREFUSED");
	CHECK(field(&f.v[0], "failures")->u == 3 && field(&f.v[0], "dport")->u == 18040);
	nl_findings_free(&f);
	conns_report_clear(&r);

	/* 10 of 100 time out: a warning, not critical. */
	failed(&r, "10.231.0.3", 443, 90, ETIMEDOUT, 10);
	conns_findings(&r, &f);
	CHECK(f.n == 1 && f.v[0].severity == NL_SEV_WARNING);
	CHECK_STR(f.v[0].summary, "10.231.0.3:443 (client side): 10 of 100 connects failed with "
		  "ETIMEDOUT");
	nl_findings_free(&f);
	conns_report_free(&r);
}

static void connect_failures_silent(void)
{
	struct nl_findings f = { 0 };
	struct conns_report r;
	struct nl_dest_key busy = dest("10.231.0.2", 8080);

	conns_report_init(&r);
	failed(&r, "10.231.0.2", 9, 0, ECONNREFUSED, 2);            /* too few */
	failed(&r, "10.231.0.4", 443, 9997, ETIMEDOUT, 3);          /* 3 in 10000 */
	/* A connection storm with unread data at close: connects and closes only. */
	conns_report_add(&r, &busy, &(struct conns_dest_totals){ .connects = 20000,
								 .closes = 20000 });
	conns_findings(&r, &f);
	CHECK(f.n == 0);
	nl_findings_free(&f);
	conns_report_free(&r);
}

static struct conns_listener listener(uint64_t drops, uint64_t before)
{
	struct conns_listener l = {
		.netns = 4026532388u, .family = 4, .port = 18045, .backlog = 1, .queue = 2,
		.drops = drops, .drops_before = before,
		.owner = { .pid = 11491, .comm = "nlt-listener" },
	};

	inet_pton(AF_INET, "10.231.0.2", l.addr);
	return l;
}

static void listen_overflow_fires(void)
{
	struct conns_listener l = listener(54, 0);
	struct conns_netns_stat ns = { .netns = 4026532388u, .overflows = 54, .drops = 54 };
	struct nl_findings f = { 0 };
	struct conns_report r;

	conns_report_init(&r);
	r.listen.v = &l;
	r.listen.n = 1;
	r.listen.ns = &ns;
	r.listen.nns = 1;
	conns_findings(&r, &f);
	CHECK(f.n == 1);
	CHECK_STR(f.v[0].kind, "listen_overflow");
	CHECK(f.v[0].severity == NL_SEV_CRITICAL);
	CHECK_STR(f.v[0].summary, "10.231.0.2:18045 in netns 4026532388 (nlt-listener pid 11491): "
		  "accept queue full (backlog 1, 2 waiting): the kernel dropped 54 connection "
		  "attempts (ListenOverflows 54 in that namespace)");
	CHECK(field(&f.v[0], "drops")->u == 54 && field(&f.v[0], "backlog")->u == 1);
	CHECK(field(&f.v[0], "listen_overflows")->u == 54 && field(&f.v[0], "pid")->u == 11491);
	nl_findings_free(&f);
	memset(&r.listen, 0, sizeof(r.listen));
	conns_report_free(&r);
}

static void listen_overflow_silent(void)
{
	/* Drops older than netlens are history: nothing new, nothing said. */
	struct conns_listener l[] = { listener(54, 54), listener(0, 0) };
	struct nl_findings f = { 0 };
	struct conns_report r;

	conns_report_init(&r);
	r.listen.v = l;
	r.listen.n = 2;
	conns_findings(&r, &f);
	CHECK(f.n == 0);
	nl_findings_free(&f);
	memset(&r.listen, 0, sizeof(r.listen));
	conns_report_free(&r);
}

int main(void)
{
	RUN(connect_failures_fire);
	RUN(connect_failures_silent);
	RUN(listen_overflow_fires);
	RUN(listen_overflow_silent);
	return TEST_SUMMARY();
}
