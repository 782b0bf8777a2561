// SPDX-License-Identifier: GPL-2.0
/* conns reporting: kernel records to JSON and table rows, totals, hostile input. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <json-c/json.h>
#include "capture.h"
#include "check.h"
#include "conns/conns.h"
#include "kernel/common_abi.h"
#include "output/prom.h"

static struct conn_event event(uint8_t type, uint8_t family)
{
	struct conn_event e = {
		.ts_ns = 1000, .type = type,
		.id = { .cgroup_id = 4242, .netns = 4026531840u,
			.tuple = { .family = family, .sport = 40000, .dport = 80 } },
		.owner = { .pid = 1234, .tid = 1235, .comm = "curl" },
	};

	if (family == 4) {
		inet_pton(AF_INET, "10.231.0.1", e.id.tuple.saddr);
		inet_pton(AF_INET, "10.231.0.2", e.id.tuple.daddr);
	} else {
		inet_pton(AF_INET6, "fd00:231::1", e.id.tuple.saddr);
		inet_pton(AF_INET6, "fd00:231::2", e.id.tuple.daddr);
	}
	return e;
}

/* Writes e as JSON and parses the line back. */
static struct json_object *as_json(struct conns_report *r, const struct conn_event *e)
{
	struct capture c;
	struct json_object *o;

	capture_open(&c, NL_OUT_JSON);
	conns_report_event(r, &c.sink, e, sizeof(*e));
	fflush(c.sink.out);
	o = c.len ? json_tokener_parse(c.buf) : NULL;
	CHECK(!c.len || c.buf[c.len - 1] == '\n');
	capture_close(&c);
	return o;
}

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : NULL;
}

static int64_t num(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static bool is_null(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && v == NULL;
}

static void test_connect_json(void)
{
	struct conns_report r;
	struct conn_event e = event(CONN_EV_CONNECT, 4);
	struct json_object *o;
	const char *ts;

	conns_report_init(&r);
	e.latency_ns = 152999;
	o = as_json(&r, &e);
	CHECK(o != NULL);
	CHECK_STR(str(o, "type"), "connect");
	CHECK(num(o, "pid") == 1234);
	CHECK_STR(str(o, "comm"), "curl");
	CHECK(num(o, "cgroup_id") == 4242 && num(o, "netns") == 4026531840LL);
	CHECK(num(o, "family") == 4);
	CHECK_STR(str(o, "saddr"), "10.231.0.1");
	CHECK_STR(str(o, "daddr"), "10.231.0.2");
	CHECK(num(o, "sport") == 40000 && num(o, "dport") == 80);
	CHECK(num(o, "latency_us") == 152);
	ts = str(o, "ts");
	CHECK(ts && strlen(ts) == 27 && ts[10] == 'T' && ts[19] == '.' && ts[26] == 'Z');
	json_object_put(o);
	conns_report_free(&r);
}

static void test_close_json(void)
{
	struct conns_report r;
	struct conn_event e = event(CONN_EV_CLOSE, 6);
	struct json_object *o;

	conns_report_init(&r);
	e.flags = CONN_F_OUTBOUND | CONN_F_BIRTH;
	e.duration_ns = 1234567;
	e.bytes_sent = 100000;
	e.bytes_received = 2500;
	e.retransmits = 3;
	e.srtt_us = 55;
	e.state = 5;
	e.error = ECONNRESET;
	o = as_json(&r, &e);
	CHECK_STR(str(o, "saddr"), "fd00:231::1");
	CHECK(num(o, "family") == 6);
	CHECK_STR(str(o, "direction"), "outbound");
	CHECK(json_object_get_double(json_object_object_get(o, "duration_ms")) == 1.234);   /* microsecond precision, truncated */
	CHECK(num(o, "bytes_sent") == 100000 && num(o, "bytes_received") == 2500);
	CHECK(num(o, "retransmits") == 3 && num(o, "srtt_us") == 55);
	CHECK_STR(str(o, "state"), "FIN_WAIT2");
	CHECK_STR(str(o, "error"), "ECONNRESET");
	json_object_put(o);

	/* The same record type, reused: unknown values become null, then come back. */
	e.flags = 0;
	e.error = 0;
	o = as_json(&r, &e);
	CHECK(is_null(o, "duration_ms") && is_null(o, "direction") && is_null(o, "error"));
	json_object_put(o);
	e.flags = CONN_F_INBOUND | CONN_F_BIRTH;
	o = as_json(&r, &e);
	CHECK_STR(str(o, "direction"), "inbound");
	CHECK(!is_null(o, "duration_ms"));
	json_object_put(o);
	conns_report_free(&r);
}

static void test_failed_and_accept_json(void)
{
	struct conns_report r;
	struct conn_event e = event(CONN_EV_FAILED, 4);
	struct json_object *o;

	conns_report_init(&r);
	e.error = ETIMEDOUT;
	e.latency_ns = 3000000000ULL;
	o = as_json(&r, &e);
	CHECK_STR(str(o, "error"), "ETIMEDOUT");
	CHECK(num(o, "latency_us") == 3000000);
	json_object_put(o);

	e = event(CONN_EV_ACCEPT, 4);
	e.flags = CONN_F_INBOUND | CONN_F_ACCEPTED;
	e.latency_ns = 25000;
	o = as_json(&r, &e);
	CHECK(num(o, "queue_us") == 25);
	json_object_put(o);
	e.flags = CONN_F_INBOUND;
	e.owner = (struct nl_owner){ 0 };
	o = as_json(&r, &e);
	CHECK(is_null(o, "queue_us") && num(o, "pid") == 0);
	CHECK_STR(str(o, "comm"), "");
	json_object_put(o);
	conns_report_free(&r);
}

static void test_comm_escaping(void)
{
	struct conns_report r;
	struct conn_event e = event(CONN_EV_CONNECT, 4);
	struct json_object *o;

	conns_report_init(&r);
	/* A process may name itself anything, up to 15 bytes, with no terminator here. */
	memcpy(e.owner.comm, "a\"b\\c\n\x01zzzzzzzzz", 16);
	o = as_json(&r, &e);
	CHECK(o != NULL);
	CHECK(str(o, "comm") && memcmp(str(o, "comm"), "a\"b\\c\n\x01", 7) == 0);
	CHECK(strlen(str(o, "comm")) == 16);
	json_object_put(o);
	conns_report_free(&r);
}

static void test_table_row(void)
{
	struct conns_report r;
	struct conn_event e = event(CONN_EV_CONNECT, 4);
	struct capture c;
	char *row;

	conns_report_init(&r);
	e.latency_ns = 1532000;
	capture_open(&c, NL_OUT_TABLE);
	conns_report_event(&r, &c.sink, &e, sizeof(e));
	conns_report_event(&r, &c.sink, &e, sizeof(e));
	fflush(c.sink.out);
	CHECK(strncmp(c.buf, "TIME ", 5) == 0);
	row = strchr(c.buf, '\n') + 1;
	CHECK(strstr(row, " connect  1234    curl ") != NULL);
	CHECK(strstr(row, "10.231.0.1:40000") && strstr(row, "10.231.0.2:80"));
	CHECK(strstr(row, "latency 1.53ms\n") != NULL);
	/* The header is printed once. */
	CHECK(strstr(row, "TIME ") == NULL);
	capture_close(&c);
	conns_report_free(&r);
}

/* A destination's key as the kernel builds it: IPv4 in the first 4 bytes. */
static struct nl_dest_key dest(const char *addr, uint16_t port, bool inbound)
{
	struct nl_dest_key k = { .port = port, .family = 4, .inbound = inbound };

	inet_pton(AF_INET, addr, k.addr);
	return k;
}

static void test_totals(void)
{
	uint64_t stats[NL_STAT_MAX] = { [NL_STAT_EVENTS] = 5, [NL_STAT_LOST] = 2 };
	struct nl_dest_key out = dest("10.231.0.2", 80, false), in = dest("10.231.0.1", 40000, true);
	struct conns_dest_totals t = { .connects = 1, .closes = 2, .bytes_sent = 20,
				       .bytes_received = 40 };
	struct conns_report r;
	struct json_object *o, *dests, *d;
	struct capture c;

	conns_report_init(&r);
	conns_report_add(&r, &out, &t);
	conns_report_add(&r, &in, &(struct conns_dest_totals){ .accepts = 1 });

	capture_open(&c, NL_OUT_JSON);
	conns_report_summary(&r, &c.sink, stats);
	fflush(c.sink.out);
	o = json_tokener_parse(c.buf);
	CHECK_STR(str(o, "type"), "stats");
	CHECK(num(o, "events") == 5 && num(o, "lost") == 2 && num(o, "bad_records") == 0);
	dests = json_object_object_get(o, "destinations");
	CHECK(json_object_array_length(dests) == 2);
	for (size_t i = 0; i < json_object_array_length(dests); i++) {
		d = json_object_array_get_idx(dests, i);
		if (!strcmp(str(d, "direction"), "outbound")) {
			CHECK_STR(str(d, "daddr"), "10.231.0.2");
			CHECK(num(d, "dport") == 80 && num(d, "connects") == 1);
			CHECK(num(d, "closes") == 2 && num(d, "bytes_sent") == 20);
			CHECK(num(d, "bytes_received") == 40);
		} else {
			/* Inbound: the server endpoint is the local address. */
			CHECK_STR(str(d, "daddr"), "10.231.0.1");
			CHECK(num(d, "dport") == 40000 && num(d, "accepts") == 1);
		}
	}
	json_object_put(o);
	capture_close(&c);

	/* Read again from the kernel: cleared first, never added twice. */
	conns_report_clear(&r);
	conns_report_add(&r, &out, &t);
	CHECK(HASH_COUNT(r.dests) == 1 && r.dests->closes == 2);
	conns_report_free(&r);
}

/* Destinations beyond CONNS_MAX_DESTS fold into one "other"; the busiest come first. */
static void test_destinations_bounded(void)
{
	uint64_t stats[NL_STAT_MAX] = { 0 };
	struct json_object *o, *dests, *other;
	struct nl_dest_key k = dest("10.231.0.2", 80, false);
	struct conns_dest_totals one = { .connects = 1 };
	struct conns_report r;
	struct capture c;

	conns_report_init(&r);
	conns_report_add(&r, &k, &(struct conns_dest_totals){ .connects = 5 });
	for (uint32_t i = 1; i <= CONNS_MAX_DESTS + 10; i++) {
		k.port = 1 + i % 60000;
		k.addr[3] = i / 60000 + 3;
		conns_report_add(&r, &k, &one);
	}

	capture_open(&c, NL_OUT_JSON);
	conns_report_summary(&r, &c.sink, stats);
	fflush(c.sink.out);
	o = json_tokener_parse(c.buf);
	dests = json_object_object_get(o, "destinations");
	other = json_object_object_get(o, "other_destinations");
	CHECK(json_object_array_length(dests) == CONNS_MAX_DESTS);
	CHECK(num(json_object_array_get_idx(dests, 0), "connects") == 5);
	CHECK(num(json_object_array_get_idx(dests, 0), "dport") == 80);
	CHECK(other && num(other, "connects") == 11);
	json_object_put(o);
	capture_close(&c);

	/* The table shows the busiest rows, says how many more, then "other". */
	capture_open(&c, NL_OUT_TABLE);
	conns_report_summary(&r, &c.sink, stats);
	fflush(c.sink.out);
	CHECK(strstr(c.buf, "... 16364 more (-o json lists them all)") != NULL);
	CHECK(strstr(c.buf, "other destinations") != NULL);
	capture_close(&c);
	conns_report_free(&r);
}

/* Failures per destination and errno: the summary's "errors" and serve's errno label. */
static void test_failures_per_errno(void)
{
	uint64_t stats[NL_STAT_MAX] = { 0 };
	struct nl_dest_key out = dest("10.231.0.2", 9, false), far = dest("10.99.0.1", 80, false);
	struct json_object *o, *errors;
	struct conns_report r;
	struct nl_prom *p = nl_prom_new(10);
	struct capture c;
	const char *t;
	size_t len;

	conns_report_init(&r);
	conns_report_add(&r, &out, &(struct conns_dest_totals){ .failed = 4 });
	conns_report_add(&r, &far, &(struct conns_dest_totals){ .failed = 2 });
	conns_report_add_failures(&r, &(struct conns_fail_key){ .dest = out, .error = ECONNREFUSED }, 3);
	conns_report_add_failures(&r, &(struct conns_fail_key){ .dest = out, .error = ETIMEDOUT }, 1);
	conns_report_add_failures(&r, &(struct conns_fail_key){ .dest = far, .error = ENETUNREACH }, 2);

	capture_open(&c, NL_OUT_JSON);
	conns_report_summary(&r, &c.sink, stats);
	fflush(c.sink.out);
	o = json_tokener_parse(c.buf);
	errors = json_object_object_get(json_object_array_get_idx(
		json_object_object_get(o, "destinations"), 0), "errors");
	CHECK(json_object_object_length(errors) == 2);
	CHECK(num(errors, "ECONNREFUSED") == 3 && num(errors, "ETIMEDOUT") == 1);
	json_object_put(o);
	capture_close(&c);

	conns_report_metrics(&r, p);
	t = nl_prom_text(p, &len);
	CHECK(has_line(t, "netlens_tcp_connection_failures_total{direction=\"outbound\","
		       "daddr=\"10.231.0.2\",dport=\"9\",errno=\"ECONNREFUSED\"} 3"));
	CHECK(has_line(t, "netlens_tcp_connection_failures_total{direction=\"outbound\","
		       "daddr=\"10.231.0.2\",dport=\"9\",errno=\"ETIMEDOUT\"} 1"));
	CHECK(has_line(t, "netlens_tcp_connection_failures_total{direction=\"outbound\","
		       "daddr=\"10.99.0.1\",dport=\"80\",errno=\"ENETUNREACH\"} 2"));
	CHECK(!strstr(t, "dport=\"9\"} 4"));   /* no series without errno */
	CHECK(has_line(t, "netlens_tcp_connections_total{direction=\"outbound\","
		       "daddr=\"10.231.0.2\",dport=\"9\"} 0"));
	nl_prom_free(p);
	conns_report_free(&r);
}

static void test_bad_records(void)
{
	struct conns_report r;
	struct conn_event e = event(CONN_EV_CONNECT, 4);
	struct capture c;

	conns_report_init(&r);
	capture_open(&c, NL_OUT_JSON);
	conns_report_event(&r, &c.sink, &e, sizeof(e) - 1);
	e.type = 0;
	conns_report_event(&r, &c.sink, &e, sizeof(e));
	e.type = 99;
	conns_report_event(&r, &c.sink, &e, sizeof(e));
	e.type = CONN_EV_CLOSE;
	e.id.tuple.family = 5;
	conns_report_event(&r, &c.sink, &e, sizeof(e));
	fflush(c.sink.out);
	CHECK(c.len == 0);
	CHECK(r.bad_records == 4);
	capture_close(&c);
	conns_report_free(&r);
}

/* Random bytes as kernel records: counted or printed as valid JSON, never a crash. */
static void test_random_records(void)
{
	unsigned char buf[sizeof(struct conn_event) + 8];
	struct conns_report r;
	struct capture c;
	unsigned int seed = 12345;

	conns_report_init(&r);
	for (int i = 0; i < 20000; i++) {
		size_t len = rand_r(&seed) % sizeof(buf);
		struct json_object *o;

		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = rand_r(&seed);
		/* Half of them with a plausible type and family. */
		if (i & 1) {
			len = sizeof(struct conn_event);
			((struct conn_event *)buf)->type = 1 + i % 4;
			((struct conn_event *)buf)->id.tuple.family = i & 2 ? 4 : 6;
		}
		capture_open(&c, i & 4 ? NL_OUT_TABLE : NL_OUT_JSON);
		conns_report_event(&r, &c.sink, buf, len);
		fflush(c.sink.out);
		if (c.len && c.sink.kind == NL_OUT_JSON) {
			o = json_tokener_parse(c.buf);
			CHECK(o != NULL);
			json_object_put(o);
		}
		capture_close(&c);
	}
	conns_report_free(&r);
}

int main(void)
{
	RUN(test_connect_json);
	RUN(test_close_json);
	RUN(test_failed_and_accept_json);
	RUN(test_comm_escaping);
	RUN(test_table_row);
	RUN(test_totals);
	RUN(test_destinations_bounded);
	RUN(test_failures_per_errno);
	RUN(test_bad_records);
	RUN(test_random_records);
	return TEST_SUMMARY();
}
