// SPDX-License-Identifier: GPL-2.0
/* netlens top's model: summaries and records in, the views' rows out; the capture sink. */
#include <string.h>
#include "check.h"
#include "output/output.h"
#include "overview/top_model.h"

static void take(struct top_model *m, const char *module, const char *json)
{
	struct json_object *o = json_tokener_parse(json);

	CHECK(o != NULL);
	top_model_take(m, module, o);
	json_object_put(o);
}

/* The row whose first cells are a and b (b NULL: any), or NULL. */
static const struct top_row *find_row(const struct top_table *t, const char *a, const char *b)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->rows[i].cell[0], a) && (!b || !strcmp(t->rows[i].cell[1], b)))
			return &t->rows[i];
	return NULL;
}

static void test_destinations(void)
{
	struct top_model *m = top_model_new();
	struct top_table t = { 0 };
	const struct top_row *r;

	take(m, "conns", "{\"type\":\"stats\",\"destinations\":[{\"direction\":\"outbound\","
	     "\"family\":4,\"daddr\":\"10.0.0.2\",\"dport\":80,\"connects\":5,\"accepts\":0,"
	     "\"failed\":4,\"closes\":5,\"bytes_sent\":2048,\"bytes_received\":10,"
	     "\"retransmits\":2,\"errors\":{\"ETIMEDOUT\":1,\"ECONNREFUSED\":3}}]}");
	/* Records feed the processes view only: the errnos are the kernel's totals above. */
	take(m, "conns", "{\"type\":\"failed\",\"pid\":7,\"comm\":\"curl\",\"daddr\":"
	     "\"10.0.0.2\",\"dport\":80,\"error\":\"EHOSTUNREACH\"}");
	take(m, "retrans", "{\"type\":\"stats\",\"destinations\":[{\"direction\":\"outbound\","
	     "\"family\":4,\"daddr\":\"10.0.0.2\",\"dport\":80,\"retransmits\":2,\"segments\":100,"
	     "\"ratio\":0.02}]}");
	take(m, "latency", "{\"type\":\"latency\",\"metric\":\"handshake\",\"group\":\"10.0.0.2:80\","
	     "\"count\":5,\"p99_us\":1500}");
	take(m, "latency", "{\"type\":\"latency\",\"metric\":\"rtt\",\"group\":\"10.0.0.2:80\","
	     "\"count\":5,\"p99_us\":99}");
	top_model_tick(m, 2.0);
	top_model_table(m, TOP_DESTS, &t, NULL, -1, false);
	CHECK(t.n == 1);
	r = find_row(&t, "10.0.0.2:80", "outbound");
	CHECK(r != NULL);
	if (r) {
		CHECK_STR(r->cell[2], "2.5");
		CHECK_STR(r->cell[3], "5");
		CHECK_STR(r->cell[4], "4");
		CHECK_STR(r->cell[5], "ECONNREFUSED:3 ETIMEDOUT:1");
		CHECK_STR(r->cell[6], "1.5ms");
		CHECK_STR(r->cell[7], "2.00");
		CHECK_STR(r->cell[8], "2.0K");
	}
	/* The next second without a new connect: 0/s, the totals stay. */
	top_model_tick(m, 1.0);
	top_model_table(m, TOP_DESTS, &t, NULL, -1, false);
	CHECK_STR(t.rows[0].cell[2], "0");
	CHECK_STR(t.rows[0].cell[3], "5");
	top_table_free(&t);
	top_model_free(m);
}

static void test_drops_rate_total_process(void)
{
	static const char row[] = "{\"count\":%d,\"kind\":\"kfree_skb\",\"reason\":\"NO_SOCKET\","
				  "\"location\":\"tcp_v4_rcv+0x1\",\"netns\":42,\"family\":4,"
				  "\"proto\":\"tcp\",\"daddr\":\"10.0.0.2\",\"dport\":81}";
	struct top_model *m = top_model_new();
	struct top_table t = { 0 };
	char json[512], r1[256];

	snprintf(r1, sizeof(r1), row, 4);
	snprintf(json, sizeof(json), "{\"type\":\"drop_summary\",\"interval_s\":2.0,\"rows\":[%s]}", r1);
	take(m, "drops", json);
	snprintf(r1, sizeof(r1), row, 2);
	snprintf(json, sizeof(json), "{\"type\":\"drop_summary\",\"interval_s\":2.0,\"rows\":[%s]}", r1);
	take(m, "drops", json);
	take(m, "drops", "{\"type\":\"drop\",\"pid\":9,\"comm\":\"srv\",\"kind\":\"kfree_skb\","
	     "\"reason\":\"NO_SOCKET\",\"location\":\"tcp_v4_rcv+0x1\",\"netns\":42,\"daddr\":"
	     "\"10.0.0.2\",\"dport\":81}");
	top_model_table(m, TOP_DROPS, &t, NULL, -1, false);
	CHECK(t.n == 1);
	if (t.n) {
		CHECK_STR(t.rows[0].cell[0], "NO_SOCKET");
		CHECK_STR(t.rows[0].cell[2], "10.0.0.2:81");
		CHECK_STR(t.rows[0].cell[3], "srv[9]");
		CHECK_STR(t.rows[0].cell[4], "1.0");
		CHECK_STR(t.rows[0].cell[5], "6");
		CHECK_STR(t.rows[0].cell[6], "42");
	}
	/* An interval without it: no rate, the total stays. */
	take(m, "drops", "{\"type\":\"drop_summary\",\"interval_s\":1.0,\"rows\":[]}");
	top_model_table(m, TOP_DROPS, &t, NULL, -1, false);
	CHECK_STR(t.rows[0].cell[4], "0");
	CHECK_STR(t.rows[0].cell[5], "6");
	top_table_free(&t);
	top_model_free(m);
}

static void test_dns_and_processes(void)
{
	struct top_model *m = top_model_new();
	struct top_table t = { 0 };
	const struct top_row *r;

	take(m, "dns", "{\"type\":\"stats\",\"qnames\":[{\"qname\":\"a.test\",\"queries\":4,"
	     "\"rcodes\":{\"NOERROR\":1,\"NXDOMAIN\":2,\"TIMEOUT\":1},\"latency\":{\"count\":3,"
	     "\"p99_us\":800}}],\"servers\":[{\"server\":\"10.0.0.53:53\",\"queries\":4,"
	     "\"rcodes\":{\"TIMEOUT\":4},\"latency\":{\"count\":0,\"p99_us\":0}}]}");
	take(m, "dns", "{\"type\":\"dns\",\"pid\":5,\"comm\":\"dig\",\"rcode\":\"NXDOMAIN\"}");
	take(m, "dns", "{\"type\":\"dns\",\"pid\":5,\"comm\":\"dig\",\"rcode\":\"NOERROR\"}");
	take(m, "conns", "{\"type\":\"connect\",\"pid\":5,\"comm\":\"dig\"}");
	take(m, "retrans", "{\"type\":\"retransmit\",\"pid\":5,\"comm\":\"dig\",\"segments\":3}");
	take(m, "drops", "{\"type\":\"drop\",\"pid\":0,\"comm\":\"\",\"reason\":\"NO_SOCKET\"}");
	top_model_table(m, TOP_DNS, &t, NULL, -1, false);
	CHECK(t.n == 2);
	r = find_row(&t, "name", "a.test");
	CHECK(r != NULL);
	if (r) {
		CHECK_STR(r->cell[2], "4");
		CHECK_STR(r->cell[3], "3");
		CHECK_STR(r->cell[4], "1");
		CHECK_STR(r->cell[5], "800us");
		CHECK_STR(r->cell[6], "NOERROR:1 NXDOMAIN:2 TIMEOUT:1");
	}
	r = find_row(&t, "server", "10.0.0.53:53");
	CHECK(r && !strcmp(r->cell[4], "4") && !strcmp(r->cell[5], "-"));
	/* pid 0 (softirq) is no process. */
	top_model_table(m, TOP_PROCS, &t, NULL, -1, false);
	CHECK(t.n == 1);
	if (t.n) {
		const char *want[] = { "5", "dig", "1", "0", "3", "0", "2", "1" };

		for (int c = 0; c < 8; c++)
			CHECK_STR(t.rows[0].cell[c], want[c]);
	}
	top_table_free(&t);
	top_model_free(m);
}

static void test_filter_sort_line(void)
{
	struct top_model *m = top_model_new();
	struct top_table t = { 0 };
	char line[64];

	take(m, "conns", "{\"type\":\"stats\",\"destinations\":["
	     "{\"direction\":\"outbound\",\"daddr\":\"10.0.0.1\",\"dport\":1,\"connects\":1,\"failed\":9},"
	     "{\"direction\":\"outbound\",\"daddr\":\"10.0.0.2\",\"dport\":2,\"connects\":3,\"failed\":0},"
	     "{\"direction\":\"inbound\",\"daddr\":\"10.0.0.3\",\"dport\":3,\"connects\":0,\"accepts\":2}]}");
	top_model_table(m, TOP_DESTS, &t, NULL, -1, false);        /* CONNECTS, largest first */
	CHECK(t.n == 3 && t.sort_col == 3);
	CHECK_STR(t.rows[0].cell[0], "10.0.0.2:2");
	CHECK_STR(t.rows[2].cell[0], "10.0.0.1:1");
	top_model_table(m, TOP_DESTS, &t, NULL, 4, false);         /* FAILED */
	CHECK_STR(t.rows[0].cell[0], "10.0.0.1:1");
	top_model_table(m, TOP_DESTS, &t, NULL, 0, true);          /* DESTINATION, reversed */
	CHECK_STR(t.rows[0].cell[0], "10.0.0.3:3");
	top_model_table(m, TOP_DESTS, &t, "INBOUND", -1, false);   /* any cell, any case */
	CHECK(t.n == 1);
	CHECK_STR(t.rows[0].cell[0], "10.0.0.3:3");
	top_model_table(m, TOP_DESTS, &t, "nothing", -1, false);
	CHECK(t.n == 0);
	/* Columns at their widths, cut at the line's. */
	top_model_table(m, TOP_DESTS, &t, NULL, -1, false);
	top_table_line(&t, NULL, line, 40);
	CHECK_STR(line, "DESTINATION                DIR       CON");
	top_table_line(&t, &t.rows[0], line, 30);
	CHECK_STR(line, "10.0.0.2:2                 out");
	top_table_free(&t);
	top_model_free(m);
}

static void test_flows_of_the_last_interval(void)
{
	static const char flow[] = "{\"type\":\"flow\",\"family\":%d,\"saddr\":\"%s\",\"sport\":%d,"
				   "\"daddr\":\"%s\",\"dport\":80,\"proto\":%d,\"packets\":%d,"
				   "\"bytes\":%d}";
	struct top_model *m = top_model_new();
	struct top_table t = { 0 };
	char json[256];

	snprintf(json, sizeof(json), flow, 4, "10.0.0.1", 1234, "10.0.0.2", 6, 1, 74);
	take(m, "flows", json);
	take(m, "flows", "{\"type\":\"flow_stats\",\"interval_ms\":500}");
	snprintf(json, sizeof(json), flow, 6, "fd00::1", 5353, "fd00::2", 17, 3, 300);
	take(m, "flows", json);
	/* Until its flow_stats, the next interval's flows are not shown. */
	top_model_table(m, TOP_FLOWS, &t, NULL, -1, false);
	CHECK(t.n == 1);
	CHECK_STR(t.rows[0].cell[0], "10.0.0.1:1234");
	CHECK_STR(t.rows[0].cell[2], "tcp");
	CHECK_STR(t.rows[0].cell[5], "148");
	take(m, "flows", "{\"type\":\"flow_stats\",\"interval_ms\":1000}");
	top_model_table(m, TOP_FLOWS, &t, NULL, -1, false);
	CHECK(t.n == 1);
	CHECK_STR(t.rows[0].cell[0], "[fd00::1]:5353");
	CHECK_STR(t.rows[0].cell[1], "[fd00::2]:80");
	CHECK_STR(t.rows[0].cell[2], "udp");
	CHECK_STR(t.rows[0].cell[3], "3");
	CHECK_STR(t.rows[0].cell[5], "300");
	top_table_free(&t);
	top_model_free(m);
}

static int takes;
static char last_type[32];

static void count_take(void *ctx, struct nl_sink *s, struct json_object *o)
{
	struct json_object *type;

	(void)ctx;
	(void)s;
	takes++;
	if (json_object_object_get_ex(o, "type", &type))
		snprintf(last_type, sizeof(last_type), "%s", json_object_get_string(type));
}

static void test_capture_sink(void)
{
	struct nl_capture c = { .take = count_take };
	struct json_object *o = json_object_new_object();
	struct nl_sink plain, s;

	nl_sink_init_discard(&plain);
	CHECK(!nl_sink_wants_records(&plain));
	nl_sink_init_capture(&s, &c);
	CHECK(s.capture == &c);
	CHECK(!nl_sink_wants_records(&s));   /* summaries only */
	c.records = true;
	CHECK(nl_sink_wants_records(&s));
	json_object_object_add(o, "type", json_object_new_string("stats"));
	nl_sink_json(&s, o);
	CHECK(takes == 1);
	CHECK_STR(last_type, "stats");
	/* A line built with nl_jw arrives parsed. */
	nl_jw_begin(&s.jw);
	nl_jw_str(&s.jw, "type", "flow");
	nl_jw_uint(&s.jw, "bytes", 74);
	nl_sink_jw(&s);
	CHECK(takes == 2);
	CHECK_STR(last_type, "flow");
	json_object_put(o);
	nl_sink_free(&s);
	nl_sink_free(&plain);
	nl_capture_free(&c);
}

int main(void)
{
	RUN(test_destinations);
	RUN(test_drops_rate_total_process);
	RUN(test_dns_and_processes);
	RUN(test_filter_sort_line);
	RUN(test_flows_of_the_last_interval);
	RUN(test_capture_sink);
	return TEST_SUMMARY();
}
