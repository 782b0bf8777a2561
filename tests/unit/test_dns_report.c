// SPDX-License-Identifier: GPL-2.0
/* dns reporting: matching copies of one query, latency, TCP framing, timeouts, totals. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "capture.h"
#include "check.h"
#include "dns/dns.h"
#include "output/hist.h"

#define MS 1000000ULL

/* The n-th line of what was written, parsed (NULL if absent or not JSON). */
static struct json_object *line(struct capture *c, int n)
{
	char *p;

	fflush(c->sink.out);
	p = c->buf;
	for (int i = 0; p && i < n; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return p && *p ? json_tokener_parse(p) : NULL;
}

static int lines(struct capture *c)
{
	int n = 0;

	fflush(c->sink.out);
	for (char *p = c->buf; p && *p; p++)
		n += *p == '\n';
	return n;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

/* A DNS message for a.test A: a query, or the answer 10.9.8.7 with rcode. */
static size_t message(uint8_t *b, uint16_t id, bool answer, uint8_t rcode)
{
	static const uint8_t q[] = { 1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	static const uint8_t rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 9, 8, 7 };
	size_t n = 12;

	memset(b, 0, 12);
	b[0] = id >> 8;
	b[1] = id & 0xff;
	b[2] = answer ? 0x81 : 0x01;
	b[3] = answer ? 0x80 | rcode : 0;
	b[5] = 1;
	b[7] = answer && !rcode;
	memcpy(b + n, q, sizeof(q));
	n += sizeof(q);
	if (answer && !rcode) {
		memcpy(b + n, rr, sizeof(rr));
		n += sizeof(rr);
	}
	return n;
}

/* A packet client 10.0.0.1:5555 <-> server 10.0.0.53:53 seen in direction dir. */
static struct dns_event packet(bool answer, uint8_t dir, uint64_t ts, uint16_t id, uint8_t rcode)
{
	struct dns_event e = { .ts_ns = ts, .dir = dir, .proto = 17 };
	struct nl_tuple *t = &e.id.tuple;

	t->family = 4;
	inet_pton(AF_INET, answer ? "10.0.0.53" : "10.0.0.1", t->saddr);
	inet_pton(AF_INET, answer ? "10.0.0.1" : "10.0.0.53", t->daddr);
	t->sport = answer ? 53 : 5555;
	t->dport = answer ? 5555 : 53;
	e.id.netns = dir == DNS_DIR_EGRESS ? 111 : 222;   /* client's or server's socket */
	if (!answer && dir == DNS_DIR_EGRESS) {
		e.owner.pid = 42;
		strcpy(e.owner.comm, "dig");
	}
	e.payload_len = e.cap_len = message(e.data, id, answer, rcode);
	return e;
}

static void feed_sink(struct dns_report *r, struct nl_sink *s, struct dns_event e)
{
	dns_report_event(r, s, &e, sizeof(e));
}

static void feed(struct dns_report *r, struct capture *c, struct dns_event e)
{
	feed_sink(r, &c->sink, e);
}

/* A row of the kernel's per-server totals, as the module reads it from dns_servers. */
static void kernel_row(struct dns_report *r, const char *addr, uint16_t port,
		       const struct dns_server_stats *s, uint64_t timeouts)
{
	struct nl_dest_key k = { .port = port };

	if (addr) {
		k.family = strchr(addr, ':') ? 6 : 4;
		inet_pton(k.family == 6 ? AF_INET6 : AF_INET, addr, k.addr);
	}
	CHECK(dns_report_kernel_row(r, &k, s, timeouts) == 0);
}

static struct dns_server_stats *latencies(struct dns_server_stats *s, uint64_t a, uint64_t b)
{
	nl_hist_add(&s->latency, a);
	nl_hist_add(&s->latency, b);
	return s;
}

static void test_both_ends_local_one_record(void)
{
	struct dns_report r;
	struct capture c;
	struct json_object *o, *ans, *a0;

	dns_report_init(&r, 5000 * MS, 10);
	capture_open(&c, NL_OUT_JSON);
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 1 * MS, 7, 0));   /* leaves dig */
	feed(&r, &c, packet(false, DNS_DIR_INGRESS, 2 * MS, 7, 0));  /* reaches the server */
	feed(&r, &c, packet(true, DNS_DIR_EGRESS, 3 * MS, 7, 0));    /* leaves the server */
	CHECK(lines(&c) == 0);                                       /* dig has not got it yet */
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 4 * MS, 7, 0));   /* reaches dig */
	CHECK(lines(&c) == 1);
	o = line(&c, 0);
	CHECK(o != NULL);
	CHECK_STR(str(o, "type"), "dns");
	CHECK(num(o, "pid") == 42 && num(o, "netns") == 111);
	CHECK_STR(str(o, "comm"), "dig");
	CHECK_STR(str(o, "saddr"), "10.0.0.1");
	CHECK(num(o, "sport") == 5555 && num(o, "dport") == 53 && num(o, "id") == 7);
	CHECK_STR(str(o, "daddr"), "10.0.0.53");
	CHECK_STR(str(o, "transport"), "udp");
	CHECK_STR(str(o, "qname"), "a.test");
	CHECK_STR(str(o, "qtype"), "A");
	CHECK_STR(str(o, "rcode"), "NOERROR");
	CHECK(num(o, "latency_us") == 3000);
	CHECK(json_object_object_get_ex(o, "answers", &ans) && json_object_array_length(ans) == 1);
	a0 = json_object_array_get_idx(ans, 0);
	CHECK_STR(str(a0, "name"), "a.test");
	CHECK_STR(str(a0, "type"), "A");
	CHECK_STR(str(a0, "data"), "10.9.8.7");
	CHECK(num(a0, "ttl") == 30);
	json_object_put(o);
	CHECK(r.queries == 1 && r.responses == 1 && r.unmatched == 0 && r.messages == 4);
	CHECK(HASH_COUNT(r.pending) == 0);
	dns_report_free(&r);
	capture_close(&c);
}

static void test_server_view_and_unmatched(void)
{
	struct dns_report r;
	struct capture c;
	struct json_object *o;

	dns_report_init(&r, 5000 * MS, 10);
	capture_open(&c, NL_OUT_JSON);
	/* Only the server is local: the query arrives, the answer leaves. */
	feed(&r, &c, packet(false, DNS_DIR_INGRESS, 10 * MS, 9, 0));
	feed(&r, &c, packet(true, DNS_DIR_EGRESS, 10 * MS + 250000, 9, 3));
	o = line(&c, 0);
	CHECK(o && num(o, "pid") == 0 && num(o, "latency_us") == 250);
	CHECK_STR(str(o, "rcode"), "NXDOMAIN");
	json_object_put(o);
	/* An answer to nothing we saw (another id). */
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 11 * MS, 10, 0));
	CHECK(r.unmatched == 1 && lines(&c) == 1);
	dns_report_free(&r);
	capture_close(&c);
}

static void test_timeout(void)
{
	struct dns_report r;
	struct capture c;
	struct json_object *o, *ans;

	dns_report_init(&r, 1000 * MS, 10);
	capture_open(&c, NL_OUT_JSON);
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 100 * MS, 1, 0));
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 600 * MS, 2, 0));
	dns_report_expire(&r, &c.sink, 1099 * MS);
	CHECK(lines(&c) == 0);
	dns_report_expire(&r, &c.sink, 1100 * MS);
	CHECK(lines(&c) == 1 && r.timeouts == 1 && HASH_COUNT(r.pending) == 1);
	o = line(&c, 0);
	CHECK_STR(str(o, "rcode"), "TIMEOUT");
	CHECK(num(o, "id") == 1 && json_object_object_get_ex(o, "latency_us", &ans) && !ans);
	CHECK(json_object_object_get_ex(o, "answers", &ans) && json_object_array_length(ans) == 0);
	json_object_put(o);
	/* Its late answer is one nobody waits for any more. */
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 1200 * MS, 1, 0));
	CHECK(r.unmatched == 1);
	dns_report_free(&r);
	capture_close(&c);
}

static struct dns_event tcp(struct dns_event e)
{
	memmove(e.data + 2, e.data, e.cap_len);
	e.data[0] = e.cap_len >> 8;
	e.data[1] = e.cap_len & 0xff;
	e.cap_len += 2;
	e.payload_len = e.cap_len;
	e.proto = 6;
	return e;
}

static void test_tcp_framing(void)
{
	struct dns_event two, split;
	struct dns_report r;
	struct capture c;
	struct json_object *o;
	uint8_t second[64];
	size_t n;

	dns_report_init(&r, 5000 * MS, 10);
	capture_open(&c, NL_OUT_JSON);
	/* Two queries in one segment (pipelining). */
	two = tcp(packet(false, DNS_DIR_EGRESS, 1 * MS, 1, 0));
	n = message(second, 2, false, 0);
	two.data[two.cap_len] = 0;
	two.data[two.cap_len + 1] = n;
	memcpy(two.data + two.cap_len + 2, second, n);
	two.cap_len += 2 + n;
	two.payload_len = two.cap_len;
	feed(&r, &c, two);
	CHECK(r.queries == 2 && r.tcp_split == 0);
	feed(&r, &c, tcp(packet(true, DNS_DIR_INGRESS, 2 * MS, 2, 0)));
	o = line(&c, 0);
	CHECK(o && num(o, "id") == 2);
	CHECK_STR(str(o, "transport"), "tcp");
	json_object_put(o);
	/* A length prefix announcing more than the segment holds: not reassembled. */
	split = tcp(packet(true, DNS_DIR_INGRESS, 3 * MS, 1, 0));
	split.data[1] += 10;
	feed(&r, &c, split);
	CHECK(r.tcp_split == 1 && r.responses == 1);
	dns_report_free(&r);
	capture_close(&c);
}

static void test_hostile_records(void)
{
	struct dns_report r;
	struct capture c;
	struct dns_event e = packet(false, DNS_DIR_EGRESS, 1, 1, 0);

	dns_report_init(&r, 5000 * MS, 10);
	capture_open(&c, NL_OUT_JSON);
	/* Shorter than its own cap_len says, and shorter than a header. */
	dns_report_event(&r, &c.sink, &e, offsetof(struct dns_event, data) + e.cap_len - 1);
	dns_report_event(&r, &c.sink, &e, offsetof(struct dns_event, data) - 1);
	e.cap_len = DNS_CAPTURE_MAX + 1;
	feed(&r, &c, e);
	e = packet(false, DNS_DIR_EGRESS, 1, 1, 0);
	e.id.tuple.family = 9;
	feed(&r, &c, e);
	e = packet(false, DNS_DIR_EGRESS, 1, 1, 0);
	e.payload_len = e.cap_len - 1;
	feed(&r, &c, e);
	CHECK(r.bad_records == 5 && r.messages == 0);
	/* A short record sized to its payload is fine. */
	e = packet(false, DNS_DIR_EGRESS, 1, 1, 0);
	dns_report_event(&r, &c.sink, &e, offsetof(struct dns_event, data) + e.cap_len);
	CHECK(r.bad_records == 5 && r.queries == 1);
	e = packet(false, DNS_DIR_EGRESS, 1, 2, 0);
	e.data[5] = 0;   /* no question */
	feed(&r, &c, e);
	CHECK(r.parse_errors[DNS_ERR_COUNTS] == 1 && r.queries == 1);
	dns_report_free(&r);
	capture_close(&c);
}

static void test_summary_totals(void)
{
	struct json_object *o, *arr, *s0, *rc, *lat;
	uint64_t st[NL_STAT_MAX] = { [NL_STAT_EVENTS] = 6 };
	struct dns_report r;
	struct capture c;

	dns_report_init(&r, 1000 * MS, 1);
	capture_open(&c, NL_OUT_JSON);
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 1 * MS, 1, 0));
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 2 * MS, 1, 0));
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 3 * MS, 2, 0));
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 5 * MS, 2, 3));
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 6 * MS, 3, 0));
	dns_report_expire(&r, &c.sink, 2000 * MS);
	/* The kernel's counts are the totals; the records' own are beside them. */
	kernel_row(&r, "10.0.0.53", 53, latencies(&(struct dns_server_stats){
		.queries = { [0] = 4 }, .rcodes = { [0] = 2, [3] = 1 } }, 1000, 2000), 1);
	dns_report_summary(&r, &c.sink, st);
	o = line(&c, 3);
	CHECK_STR(str(o, "type"), "stats");
	CHECK(num(o, "queries") == 4 && num(o, "responses") == 3 && num(o, "timeouts") == 1);
	CHECK(json_object_object_get_ex(o, "records", &rc));
	CHECK(num(rc, "queries") == 3 && num(rc, "responses") == 2 && num(rc, "timeouts") == 1);
	CHECK(num(o, "events") == 6);
	CHECK(json_object_object_get_ex(o, "servers", &arr) && json_object_array_length(arr) == 1);
	s0 = json_object_array_get_idx(arr, 0);
	CHECK_STR(str(s0, "server"), "10.0.0.53:53");
	CHECK(num(s0, "queries") == 4);
	CHECK(json_object_object_get_ex(s0, "rcodes", &rc));
	CHECK(num(rc, "NOERROR") == 2 && num(rc, "NXDOMAIN") == 1 && num(rc, "TIMEOUT") == 1);
	CHECK(json_object_object_get_ex(s0, "latency", &lat) && num(lat, "count") == 2);
	CHECK(num(lat, "max_us") == 2000);
	CHECK(json_object_object_get_ex(o, "qnames", &arr) && json_object_array_length(arr) == 1);
	CHECK(json_object_object_get_ex(o, "sources", &arr) &&
	      num(json_object_array_get_idx(arr, 0), "queries") == 3);
	json_object_put(o);
	dns_report_free(&r);
	capture_close(&c);
}

/* Servers are told apart by address and port, sources by address; IPv6 in brackets. */
static void test_endpoint_totals(void)
{
	struct json_object *o, *arr, *e;
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct dns_event q, a;
	struct dns_report r;
	struct capture c;

	dns_report_init(&r, 1000 * MS, 10);
	capture_open(&c, NL_OUT_JSON);
	for (uint16_t id = 1; id <= 3; id++) {
		q = packet(false, DNS_DIR_EGRESS, id * MS, id, 0);
		a = packet(true, DNS_DIR_INGRESS, id * MS + 1000, id, 0);
		if (id == 3) {   /* the same server address on another port */
			q.id.tuple.dport = a.id.tuple.sport = 5353;
		}
		feed(&r, &c, q);
		feed(&r, &c, a);
	}
	q = packet(false, DNS_DIR_EGRESS, 4 * MS, 4, 0);
	q.id.tuple.family = 6;
	inet_pton(AF_INET6, "fd00::1", q.id.tuple.saddr);
	inet_pton(AF_INET6, "fd00::53", q.id.tuple.daddr);
	feed(&r, &c, q);
	dns_report_expire(&r, &c.sink, 2000 * MS);
	kernel_row(&r, "10.0.0.53", 53, &(struct dns_server_stats){ .queries = { 2 }, .rcodes = { 2 } },
		   0);
	kernel_row(&r, "10.0.0.53", 5353, &(struct dns_server_stats){ .queries = { 1 },
		   .rcodes = { 1 } }, 0);
	kernel_row(&r, "fd00::53", 53, &(struct dns_server_stats){ .queries = { 1 } }, 1);
	kernel_row(&r, NULL, 0, &(struct dns_server_stats){ 0 }, 0);   /* "other", empty: not shown */
	dns_report_summary(&r, &c.sink, st);
	o = line(&c, 4);
	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "servers", &arr) && json_object_array_length(arr) == 3);
	e = json_object_array_get_idx(arr, 0);
	CHECK_STR(str(e, "server"), "10.0.0.53:53");
	CHECK(num(e, "queries") == 2);
	e = json_object_array_get_idx(arr, 1);
	CHECK_STR(str(e, "server"), "10.0.0.53:5353");
	CHECK(num(e, "queries") == 1);
	e = json_object_array_get_idx(arr, 2);
	CHECK_STR(str(e, "server"), "[fd00::53]:53");
	CHECK(num(e, "queries") == 1);
	CHECK(json_object_object_get_ex(o, "sources", &arr) && json_object_array_length(arr) == 2);
	e = json_object_array_get_idx(arr, 0);
	CHECK_STR(str(e, "saddr"), "10.0.0.1");
	CHECK(num(e, "queries") == 3);
	e = json_object_array_get_idx(arr, 1);
	CHECK_STR(str(e, "saddr"), "fd00::1");
	CHECK(num(e, "queries") == 1);
	json_object_put(o);
	dns_report_free(&r);
	capture_close(&c);
}

static void test_table_rows(void)
{
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct dns_report r;
	struct capture c;

	dns_report_init(&r, 1000 * MS, 10);
	capture_open(&c, NL_OUT_TABLE);
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 1 * MS, 1, 0));
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 2 * MS, 1, 0));
	kernel_row(&r, "10.0.0.53", 53, &(struct dns_server_stats){ .queries = { 1 }, .rcodes = { 1 } },
		   0);
	dns_report_summary(&r, &c.sink, st);
	fflush(c.sink.out);
	CHECK(strstr(c.buf, "QNAME") && strstr(c.buf, "10.0.0.1:5555") && strstr(c.buf, "dig"));
	CHECK(strstr(c.buf, "A 10.9.8.7") && strstr(c.buf, "1 queries, 1 answered"));
	dns_report_free(&r);
	capture_close(&c);
}

/* Every row adds up: a column for each rcode group, TIMEOUT and PENDING. */
static void test_rows_add_up(void)
{
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct json_object *o, *arr, *s0, *rc;
	struct dns_report r;
	struct capture c, t;

	dns_report_init(&r, 1000 * MS, 10);
	capture_open(&c, NL_OUT_JSON);
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 1 * MS, 1, 0));
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 2 * MS, 1, 5));    /* REFUSED */
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 3 * MS, 2, 0));
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 4 * MS, 2, 1));    /* FORMERR: OTHER */
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 5 * MS, 3, 0));
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 6 * MS, 3, 2));    /* SERVFAIL */
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 7 * MS, 4, 0));    /* times out */
	dns_report_expire(&r, &c.sink, 1500 * MS);
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 1600 * MS, 5, 0)); /* pending */
	kernel_row(&r, "10.0.0.53", 53, &(struct dns_server_stats){
		.queries = { 5 }, .rcodes = { [1] = 1, [2] = 1, [5] = 1 } }, 1);
	/* Servers beyond the kernel's table: one row "other". */
	kernel_row(&r, NULL, 0, &(struct dns_server_stats){ .queries = { 2 }, .rcodes = { 1 } }, 0);
	dns_report_summary(&r, &c.sink, st);
	o = line(&c, 4);
	CHECK(o && num(o, "queries") == 7 && num(o, "pending") == 2);
	CHECK(json_object_object_get_ex(o, "servers", &arr) && json_object_array_length(arr) == 2);
	CHECK_STR(str(json_object_array_get_idx(arr, 1), "server"), "other");
	CHECK(num(json_object_array_get_idx(arr, 1), "pending") == 1);
	s0 = json_object_array_get_idx(arr, 0);
	CHECK(num(s0, "queries") == 5 && num(s0, "pending") == 1);
	CHECK(json_object_object_get_ex(s0, "rcodes", &rc));
	CHECK(num(rc, "REFUSED") == 1 && num(rc, "FORMERR") == 1 && num(rc, "SERVFAIL") == 1);
	CHECK(num(rc, "TIMEOUT") == 1 && json_object_object_length(rc) == 4);
	json_object_put(o);
	capture_open(&t, NL_OUT_TABLE);
	dns_report_summary(&r, &t.sink, st);
	fflush(t.sink.out);
	CHECK(strstr(t.buf, "QUERIES  NOERROR NXDOMAIN SERVFAIL  REFUSED    OTHER  TIMEOUT  PENDING"));
	CHECK(strstr(t.buf, "10.0.0.53:53                                    5        0        0"
			    "        1        1        1        1        1"));
	/* a.test: 5 = 0 + 0 + 1 + 1 + 1 + 1 + 1 */
	CHECK(strstr(t.buf, "a.test                                          5        0        0"
			    "        1        1        1        1        1"));
	capture_close(&t);
	dns_report_free(&r);
	capture_close(&c);
}

/* A query sent again with its id is a retransmission; its copy reaching a local server is not. */
static void test_retransmissions(void)
{
	struct dns_report r;
	struct capture c;
	struct json_object *o;

	dns_report_init(&r, 5000 * MS, 10);
	capture_open(&c, NL_OUT_JSON);
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 1 * MS, 7, 0));    /* leaves dig */
	feed(&r, &c, packet(false, DNS_DIR_INGRESS, 2 * MS, 7, 0));   /* reaches the server */
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 3 * MS, 7, 0));    /* sent again */
	feed(&r, &c, packet(false, DNS_DIR_INGRESS, 4 * MS, 7, 0));   /* its copy at the server */
	feed(&r, &c, packet(false, DNS_DIR_EGRESS, 5 * MS, 7, 0));    /* again */
	feed(&r, &c, packet(true, DNS_DIR_INGRESS, 6 * MS, 7, 0));
	o = line(&c, 0);
	CHECK(o && num(o, "retransmits") == 2 && num(o, "latency_us") == 5000);
	json_object_put(o);
	/* Only the server's view: a second arrival is a retransmission. */
	feed(&r, &c, packet(false, DNS_DIR_INGRESS, 7 * MS, 8, 0));
	feed(&r, &c, packet(false, DNS_DIR_INGRESS, 8 * MS, 8, 0));
	feed(&r, &c, packet(true, DNS_DIR_EGRESS, 9 * MS, 8, 0));
	o = line(&c, 1);
	CHECK(o && num(o, "retransmits") == 1);
	json_object_put(o);
	CHECK(r.queries == 2 && r.retransmits == 3 && r.qnames.items->retransmits == 3);
	dns_report_free(&r);
	capture_close(&c);
}

/* The nested writer: too deep drops the line instead of writing broken JSON. */
static void test_jsonw_nesting(void)
{
	struct nl_jw w = { 0 };

	nl_jw_begin(&w);
	nl_jw_uint(&w, "a", 1);
	nl_jw_array(&w, "l");
	nl_jw_object(&w);
	nl_jw_str(&w, "k", "v");
	nl_jw_close(&w, '}');
	nl_jw_object(&w);
	nl_jw_close(&w, '}');
	nl_jw_close(&w, ']');
	nl_jw_uint(&w, "b", 2);
	CHECK(nl_jw_end(&w) > 0);
	CHECK_STR(w.buf, "{\"a\":1,\"l\":[{\"k\":\"v\"},{}],\"b\":2}\n");
	nl_jw_begin(&w);
	nl_jw_array(&w, "l");
	CHECK(nl_jw_end(&w) == 0);          /* left open */
	nl_jw_begin(&w);
	for (int i = 0; i <= NL_JW_DEPTH; i++)
		nl_jw_array(&w, "l");
	for (int i = 0; i <= NL_JW_DEPTH; i++)
		nl_jw_close(&w, ']');
	CHECK(nl_jw_end(&w) == 0);          /* too deep */
	nl_jw_free(&w);
}

static struct dns_event query_of_type(uint64_t ts, uint16_t id, uint16_t qtype)
{
	struct dns_event e = packet(false, DNS_DIR_EGRESS, ts, id, 0);

	/* The question's type follows the 12-byte header and the 8 bytes of "a.test". */
	e.data[20] = qtype >> 8;
	e.data[21] = qtype & 0xff;
	return e;
}

/* Each line of want, in this order, whole, in page. */
static void check_page(const char *page, const char *const *want, size_t n)
{
	const char *at = page;

	for (size_t i = 0; i < n; i++) {
		const char *hit = at ? strstr(at, want[i]) : NULL;

		if (!hit || (hit != page && hit[-1] != '\n') || hit[strlen(want[i])] != '\n') {
			fprintf(stderr, "  missing or out of order: %s\n", want[i]);
			CHECK(0);
			continue;
		}
		at = hit;
	}
}

/*
 * The metrics: the kernel's rows per server (a discarding sink, as serve
 * without --events-file: no record is written, parse errors still counted).
 */
static void test_metrics(void)
{
	static const char *const want[] = {
		"# TYPE netlens_dns_queries_total counter",
		"netlens_dns_queries_total{server=\"10.0.0.53:53\",qtype=\"A\"} 3",
		"netlens_dns_queries_total{server=\"10.0.0.53:53\",qtype=\"AAAA\"} 1",
		"netlens_dns_queries_total{server=\"10.0.0.53:53\",qtype=\"other\"} 1",
		"netlens_dns_queries_total{server=\"[fd00::53]:53\",qtype=\"A\"} 1",
		"# TYPE netlens_dns_responses_total counter",
		"netlens_dns_responses_total{server=\"10.0.0.53:53\",rcode=\"NOERROR\"} 1",
		"netlens_dns_responses_total{server=\"10.0.0.53:53\",rcode=\"NXDOMAIN\"} 1",
		"netlens_dns_responses_total{server=\"[fd00::53]:53\",rcode=\"REFUSED\"} 1",
		"# TYPE netlens_dns_timeouts_total counter",
		"netlens_dns_timeouts_total{server=\"10.0.0.53:53\"} 1",
		"netlens_dns_timeouts_total{server=\"[fd00::53]:53\"} 0",
		"# TYPE netlens_dns_retransmits_total counter",
		"netlens_dns_retransmits_total{server=\"10.0.0.53:53\"} 0",
		"netlens_dns_retransmits_total{server=\"[fd00::53]:53\"} 2",
		"# TYPE netlens_dns_latency_seconds histogram",
		"netlens_dns_latency_seconds_bucket{server=\"10.0.0.53:53\",le=\"0.000512\"} 0",
		"netlens_dns_latency_seconds_bucket{server=\"10.0.0.53:53\",le=\"0.001024\"} 1",
		"netlens_dns_latency_seconds_bucket{server=\"10.0.0.53:53\",le=\"0.002048\"} 2",
		"netlens_dns_latency_seconds_bucket{server=\"10.0.0.53:53\",le=\"+Inf\"} 2",
		"netlens_dns_latency_seconds_sum{server=\"10.0.0.53:53\"} 0.003000",
		"netlens_dns_latency_seconds_count{server=\"10.0.0.53:53\"} 2",
		"netlens_parse_errors_total{module=\"dns\"} 2",
	};
	/* --max-series 1: the second server is folded into "other". */
	static const char *const folded[] = {
		"netlens_dns_queries_total{server=\"10.0.0.53:53\",qtype=\"A\"} 3",
		"netlens_dns_queries_total{server=\"other\",qtype=\"A\"} 1",
		"netlens_dns_retransmits_total{server=\"other\"} 2",
		"netlens_series_folded{family=\"netlens_dns_queries_total\"} 1",
	};
	struct nl_prom *p = nl_prom_new(10), *p1 = nl_prom_new(1);
	struct dns_event bad = packet(false, DNS_DIR_EGRESS, 0, 9, 0);
	struct dns_report r, r1;
	struct nl_sink none;
	size_t len;

	nl_sink_init_discard(&none);
	dns_report_init(&r, 1000 * MS, 1);
	dns_report_init(&r1, 1000 * MS, 1);
	dns_report_event(&r, &none, &bad, offsetof(struct dns_event, data) - 1);
	bad.data[5] = 0;   /* no question: malformed */
	dns_report_event(&r, &none, &bad, sizeof(bad));
	feed_sink(&r, &none, query_of_type(1 * MS, 1, 1));
	CHECK(none.jw.len == 0);
	for (struct dns_report *x = &r; x; x = x == &r ? &r1 : NULL) {
		kernel_row(x, "10.0.0.53", 53, latencies(&(struct dns_server_stats){
			.queries = { [0] = 3, [7] = 1, [DNS_TYPE_NAMED] = 1 },
			.rcodes = { [0] = 1, [3] = 1 } }, 1000, 2000), 1);
		kernel_row(x, "fd00::53", 53, &(struct dns_server_stats){
			.queries = { [0] = 1 }, .rcodes = { [5] = 1 }, .retransmits = 2 }, 0);
	}
	dns_report_metrics(&r, p);
	check_page(nl_prom_text(p, &len), want, sizeof(want) / sizeof(want[0]));
	dns_report_metrics(&r1, p1);
	check_page(nl_prom_text(p1, &len), folded, sizeof(folded) / sizeof(folded[0]));
	nl_prom_free(p);
	nl_prom_free(p1);
	nl_sink_free(&none);
	dns_report_free(&r);
	dns_report_free(&r1);
}

int main(void)
{
	RUN(test_both_ends_local_one_record);
	RUN(test_server_view_and_unmatched);
	RUN(test_timeout);
	RUN(test_tcp_framing);
	RUN(test_hostile_records);
	RUN(test_summary_totals);
	RUN(test_endpoint_totals);
	RUN(test_table_rows);
	RUN(test_rows_add_up);
	RUN(test_retransmissions);
	RUN(test_jsonw_nesting);
	RUN(test_metrics);
	return TEST_SUMMARY();
}
