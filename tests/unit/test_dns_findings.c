// SPDX-License-Identifier: GPL-2.0
/* dns findings: each kind firing on its incident and silent on a healthy busy host. */
#include <arpa/inet.h>
#include <string.h>
#include "check.h"
#include "dns/dns.h"
#include "framework/finding.h"
#include "output/hist.h"

#define MS 1000000ULL

static size_t message(uint8_t *b, uint16_t id, bool answer, uint8_t rcode, const char *label)
{
	size_t n = 12, l = strlen(label);

	memset(b, 0, 12);
	b[0] = id >> 8;
	b[1] = id & 0xff;
	b[2] = answer ? 0x81 : 0x01;
	b[3] = answer ? 0x80 | rcode : 0;
	b[5] = 1;
	b[n++] = l;
	memcpy(b + n, label, l);
	n += l;
	memcpy(b + n, "\4test\0\0\1\0\1", 10);
	return n + 10;
}

/* One transaction of dig (pid 42, netns 111) for LABEL.test answered with rcode. */
static void exchange(struct dns_report *r, struct nl_sink *s, uint16_t id, const char *label,
		     uint8_t rcode)
{
	for (int answer = 0; answer < 2; answer++) {
		struct dns_event e = { .ts_ns = id * MS + answer * MS, .proto = 17,
				       .dir = answer ? DNS_DIR_INGRESS : DNS_DIR_EGRESS };
		struct nl_tuple *t = &e.id.tuple;

		t->family = 4;
		inet_pton(AF_INET, answer ? "10.0.0.53" : "10.0.0.1", t->saddr);
		inet_pton(AF_INET, answer ? "10.0.0.1" : "10.0.0.53", t->daddr);
		t->sport = answer ? 53 : 5555;
		t->dport = answer ? 5555 : 53;
		e.id.netns = 111;
		e.owner.pid = 42;
		strcpy(e.owner.comm, "dig");
		e.payload_len = e.cap_len = message(e.data, id, answer, rcode, label);
		dns_report_event(r, s, &e, sizeof(e));
	}
}

static void server(struct dns_report *r, const char *addr, uint64_t answers, uint64_t timeouts,
		   uint64_t latency_us)
{
	struct dns_server_stats s = { .queries = { answers + timeouts }, .rcodes = { answers },
				      .retransmits = timeouts * 2 };
	struct nl_dest_key k = { .family = 4, .port = 53 };

	for (uint64_t i = 0; i < answers; i++)
		nl_hist_add(&s.latency, latency_us);
	inet_pton(AF_INET, addr, k.addr);
	CHECK(dns_report_kernel_row(r, &k, &s, timeouts) == 0);
}

static const struct nl_finding *find(const struct nl_findings *f, const char *kind,
				     const char *needle)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].kind, kind) && strstr(f->v[i].summary, needle))
			return &f->v[i];
	return NULL;
}

static uint64_t field_u(const struct nl_finding *x, const char *name)
{
	for (unsigned int i = 0; x && i < x->nfields; i++)
		if (!strcmp(x->fields[i].name, name))
			return x->fields[i].u;
	return ~0ULL;
}

static void test_failures_and_servers_fire(void)
{
	uint64_t st[NL_STAT_MAX] = { [NL_STAT_LOST] = 7 };
	struct nl_findings f = { 0 };
	const struct nl_finding *x;
	struct dns_report r;
	struct nl_sink none;
	uint16_t id = 1;

	nl_sink_init_discard(&none);
	dns_report_init(&r, 5000 * MS, 10);
	for (int i = 0; i < 5; i++) {
		exchange(&r, &none, id++, "gone", 3);      /* NXDOMAIN 5 of 5 */
		exchange(&r, &none, id++, "broken", 2);    /* SERVFAIL 5 of 6 */
		exchange(&r, &none, id++, "closed", 5);    /* REFUSED 5 of 5 */
	}
	exchange(&r, &none, id++, "broken", 0);
	server(&r, "10.0.0.53", 0, 6, 0);                  /* dead */
	server(&r, "10.0.0.54", 90, 10, 1000);             /* 10% unanswered */
	server(&r, "10.0.0.55", 30, 0, 300000);            /* slow */
	dns_report_findings(&r, st, &f);
	CHECK(f.n == 6);

	x = find(&f, "dns_failures", "gone.test");
	CHECK(x && x->severity == NL_SEV_NOTICE);
	CHECK_STR(x ? x->summary : NULL, "DNS name gone.test: 5 of 5 queries answered NXDOMAIN "
		  "(dig pid 42, netns 111)");
	CHECK(field_u(x, "count") == 5 && field_u(x, "pid") == 42 && field_u(x, "records_lost") == 7);
	x = find(&f, "dns_failures", "broken.test");
	CHECK(x && x->severity == NL_SEV_WARNING && field_u(x, "queries") == 6);
	x = find(&f, "dns_failures", "closed.test");
	CHECK(x && x->severity == NL_SEV_WARNING && strstr(x->summary, "REFUSED"));

	x = find(&f, "dns_server_down", "10.0.0.53:53");
	CHECK(x && x->severity == NL_SEV_CRITICAL);
	CHECK_STR(x ? x->summary : NULL, "DNS server 10.0.0.53:53: 6 of 6 queries unanswered "
		  "within 5 s (100%), 12 retransmissions");
	x = find(&f, "dns_server_down", "10.0.0.54:53");
	CHECK(x && x->severity == NL_SEV_WARNING && field_u(x, "timeouts") == 10);
	x = find(&f, "dns_server_slow", "10.0.0.55:53");
	CHECK(x && x->severity == NL_SEV_WARNING && field_u(x, "p99_us") == 300000);
	CHECK(field_u(x, "answers") == 30);
	nl_findings_free(&f);
	nl_sink_free(&none);
	dns_report_free(&r);
}

/* A healthy busy host: many names, a few NXDOMAIN and timeouts, fast answers. */
static void test_healthy_busy_host_silent(void)
{
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct nl_findings f = { 0 };
	struct dns_report r;
	struct nl_sink none;
	char label[16];

	nl_sink_init_discard(&none);
	dns_report_init(&r, 5000 * MS, 10);
	for (uint16_t id = 1; id <= 2000; id++) {
		snprintf(label, sizeof(label), "n%u", id % 50);
		exchange(&r, &none, id, label, id % 97 == 0 ? 3 : 0);   /* 1 in 97 NXDOMAIN */
	}
	for (uint16_t id = 1; id <= 4; id++)
		exchange(&r, &none, 3000 + id, "typo", 3);              /* 4 NXDOMAIN: too few */
	server(&r, "10.0.0.53", 2000, 2, 800);     /* 2 timeouts in 2002 */
	server(&r, "10.0.0.54", 19, 0, 400000);    /* slow but only 19 answers */
	dns_report_findings(&r, st, &f);
	CHECK(f.n == 0);
	for (size_t i = 0; i < f.n; i++)
		fprintf(stderr, "  unexpected: %s\n", f.v[i].summary);
	nl_findings_free(&f);
	nl_sink_free(&none);
	dns_report_free(&r);
}

int main(void)
{
	RUN(test_failures_and_servers_fire);
	RUN(test_healthy_busy_host_silent);
	return TEST_SUMMARY();
}
