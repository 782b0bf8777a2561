// SPDX-License-Identifier: GPL-2.0
/* flows reporting: per-CPU sums, deltas across intervals, eviction, views. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <json-c/json.h>
#include "capture.h"
#include "check.h"
#include "flows/flows.h"
#include "output/ipfix.h"
#include "output/prom.h"

#define SEC 1000000000ULL

static struct flows_cfg cfg = {
	.ifname = "eth9", .ifindex = 9999, .idle_timeout = 5, .top = 20,
	.max_flows = FLOWS_DEFAULT_MAX,
};

static struct flow_key key4(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct flow_key k = { .ifindex = 9999, .family = 4, .proto = 17, .ethertype = 0x0800,
			      .sport = sport, .dport = dport };

	inet_pton(AF_INET, src, k.saddr);
	inet_pton(AF_INET, dst, k.daddr);
	return k;
}

static struct flow_val val(uint64_t packets, uint64_t bytes, uint64_t first, uint64_t last)
{
	return (struct flow_val){ .packets = packets, .bytes = bytes, .first_seen_ns = first,
				  .last_seen_ns = last };
}

/* The JSON lines of one capture, parsed; n set to how many. */
static struct json_object **lines(struct capture *c, int *n)
{
	static struct json_object *objs[64];
	char *save, *line;

	fflush(c->sink.out);
	*n = 0;
	for (line = strtok_r(c->buf, "\n", &save); line && *n < 64; line = strtok_r(NULL, "\n", &save))
		objs[(*n)++] = json_tokener_parse(line);
	return objs;
}

static int64_t jint(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void test_sum_cpus(void)
{
	struct flow_val cpus[3] = { val(2, 200, 50, 70), val(0, 0, 0, 0), val(1, 60, 40, 90) };
	struct flow_val sum;

	cpus[0].tcp_flags = 0x02;
	cpus[2].tcp_flags = 0x10;
	flows_sum_cpus(cpus, 3, &sum);
	CHECK(sum.packets == 3 && sum.bytes == 260);
	/* A CPU that never saw the flow has first_seen 0: it does not count. */
	CHECK(sum.first_seen_ns == 40 && sum.last_seen_ns == 90);
	CHECK(sum.tcp_flags == 0x12);
}

static void test_deltas_keep_first_seen_and_evict(void)
{
	struct flow_key a = key4("10.0.0.1", 1000, "10.0.0.2", 53);
	struct flow_key b = key4("10.0.0.3", 2000, "10.0.0.2", 80);
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct flow_val other = { 0 }, v;
	struct flows_report r;
	struct json_object **o;
	struct capture c;
	int n;

	flows_report_init(&r, &cfg, 0);
	capture_open(&c, NL_OUT_JSON);
	v = val(3, 300, 1 * SEC, 2 * SEC);
	CHECK(!flows_report_add(&r, &a, &v));
	v = val(1, 1000, 1 * SEC, 1 * SEC);
	CHECK(!flows_report_add(&r, &b, &v));
	st[FLOW_STAT_PACKETS] = 4;
	st[FLOW_STAT_BYTES] = 1300;
	flows_report_interval(&r, &c.sink, 3 * SEC, st, &other);
	/* Second interval: a again (its first_seen is the first one's), b idle. */
	v = val(2, 200, 7 * SEC, 8 * SEC);
	CHECK(!flows_report_add(&r, &a, &v));
	st[FLOW_STAT_PACKETS] = 6;
	st[FLOW_STAT_BYTES] = 1500;
	other = val(5, 500, 7 * SEC, 8 * SEC);
	st[FLOW_STAT_OVERFLOW] = 5;
	flows_report_interval(&r, &c.sink, 9 * SEC, st, &other);

	o = lines(&c, &n);
	CHECK(n == 5);
	if (n == 5) {
		/* Interval 1: sorted by bytes, b first. */
		CHECK(jint(o[0], "dport") == 80 && jint(o[0], "bytes") == 1000);
		CHECK(jint(o[1], "dport") == 53 && jint(o[1], "packets") == 3);
		CHECK_STR(jstr(o[1], "ifname"), "if9999");
		CHECK_STR(jstr(o[2], "type"), "flow_stats");
		CHECK(jint(o[2], "packets") == 4 && jint(o[2], "flows") == 2);
		CHECK(jint(o[2], "evicted") == 0 && jint(o[2], "tracked") == 2);
		/* Interval 2: only the delta of a. */
		CHECK(jint(o[3], "packets") == 2 && jint(o[3], "bytes") == 200);
		CHECK(!strcmp(jstr(o[3], "first_seen"), jstr(o[1], "first_seen")));
		CHECK(strcmp(jstr(o[3], "last_seen"), jstr(o[1], "last_seen")) > 0);
		/* b idle since 1 s, now 9 s, timeout 5 s: forgotten. */
		CHECK(jint(o[4], "packets") == 2 && jint(o[4], "overflow") == 5);
		CHECK(jint(o[4], "overflow_bytes") == 500);
		CHECK(jint(o[4], "evicted") == 1 && jint(o[4], "tracked") == 1);
		CHECK(jint(o[4], "interval_ms") == 6000);
	}
	for (int i = 0; i < n; i++)
		json_object_put(o[i]);
	capture_close(&c);
	flows_report_free(&r);
}

/* A table of 2 flows, three flows seen: the one seen longest ago is forgotten early. */
static void test_table_full_forgets_least_recently_seen(void)
{
	struct flows_cfg small = cfg;
	struct flow_key a = key4("10.0.0.1", 1, "10.0.0.2", 53);
	struct flow_key b = key4("10.0.0.1", 2, "10.0.0.2", 53);
	struct flow_key k3 = key4("10.0.0.1", 3, "10.0.0.2", 53);
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct flow_val other = { 0 }, v = val(1, 100, 1 * SEC, 1 * SEC);
	struct flows_report r;
	struct json_object **o;
	struct capture c;
	int n;

	small.max_flows = 2;
	flows_report_init(&r, &small, 0);
	capture_open(&c, NL_OUT_JSON);
	CHECK(!flows_report_add(&r, &a, &v));
	CHECK(!flows_report_add(&r, &b, &v));
	flows_report_interval(&r, &c.sink, 2 * SEC, st, &other);
	v = val(1, 100, 3 * SEC, 3 * SEC);
	CHECK(!flows_report_add(&r, &a, &v));     /* a seen again: b is now the oldest */
	CHECK(!flows_report_add(&r, &k3, &v));
	flows_report_interval(&r, &c.sink, 4 * SEC, st, &other);
	v = val(1, 100, 5 * SEC, 5 * SEC);
	CHECK(!flows_report_add(&r, &a, &v));     /* a kept its first_seen: never forgotten */
	flows_report_interval(&r, &c.sink, 6 * SEC, st, &other);

	o = lines(&c, &n);
	CHECK(n == 8);
	if (n == 8) {
		CHECK(jint(o[2], "tracked") == 2 && jint(o[2], "evicted_full") == 0);
		CHECK(jint(o[5], "tracked") == 2 && jint(o[5], "evicted_full") == 1);
		CHECK(jint(o[6], "sport") == 1);
		CHECK(!strcmp(jstr(o[6], "first_seen"), jstr(o[0], "first_seen")));
		CHECK(jint(o[7], "tracked") == 2 && jint(o[7], "evicted_full") == 0);
	}
	for (int i = 0; i < n; i++)
		json_object_put(o[i]);
	capture_close(&c);
	flows_report_free(&r);
}

static void test_top_sources_and_non_ip(void)
{
	struct flows_cfg ts = cfg;
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct flow_val other = { 0 }, v;
	struct flow_key arp = { .ifindex = 9999, .ethertype = 0x0806 };
	struct flows_report r;
	struct json_object **o;
	struct capture c;
	int n;

	ts.top_sources_port = 53;
	flows_report_init(&r, &ts, 0);
	capture_open(&c, NL_OUT_JSON);
	struct flow_key k1 = key4("10.0.0.7", 1000, "10.0.0.2", 53);
	struct flow_key k2 = key4("10.0.0.7", 1001, "10.0.0.2", 53);
	struct flow_key k3 = key4("10.0.0.8", 1000, "10.0.0.2", 53);
	struct flow_key k4 = key4("10.0.0.9", 1000, "10.0.0.2", 54);

	v = val(10, 1000, 1, 1);
	flows_report_add(&r, &k1, &v);
	flows_report_add(&r, &k2, &v);
	v = val(15, 1500, 1, 1);
	flows_report_add(&r, &k3, &v);
	flows_report_add(&r, &k4, &v);
	v = val(4, 168, 1, 1);
	flows_report_add(&r, &arp, &v);
	flows_report_interval(&r, &c.sink, SEC, st, &other);

	o = lines(&c, &n);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(jstr(o[0], "saddr"), "10.0.0.7");
		CHECK(jint(o[0], "packets") == 20 && jint(o[0], "flows") == 2);
		CHECK_STR(jstr(o[1], "saddr"), "10.0.0.8");
		CHECK(jint(o[1], "bytes") == 1500 && jint(o[1], "dport") == 53);
		/* Non-IP frames are in the stats record, per ethertype. */
		CHECK(jint(o[2], "flows") == 4);
		CHECK(strstr(json_object_to_json_string_ext(o[2], JSON_C_TO_STRING_PLAIN),
			     "\"ethertype\":\"0x0806\""));
	}
	for (int i = 0; i < n; i++)
		json_object_put(o[i]);
	capture_close(&c);
	flows_report_free(&r);
}

static void test_table(void)
{
	struct flows_cfg one = cfg;
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct flow_val other = { 0 }, v;
	struct flows_report r;
	struct capture c;

	one.top = 1;
	one.sort = FLOWS_SORT_PACKETS;
	flows_report_init(&r, &one, 0);
	capture_open(&c, NL_OUT_TABLE);
	struct flow_key big = key4("10.0.0.1", 1, "10.0.0.2", 2);
	struct flow_key many = key4("10.0.0.3", 3, "10.0.0.4", 4);

	many.proto = 6;
	many.vlan_outer = 100;
	many.vlan_inner = 200;
	v = val(1, 9000, 1, 1);
	flows_report_add(&r, &big, &v);
	v = val(50, 2500, 1, 1);
	v.tcp_flags = 0x12;
	flows_report_add(&r, &many, &v);
	st[FLOW_STAT_PACKETS] = 51;
	flows_report_interval(&r, &c.sink, SEC, st, &other);
	fflush(c.sink.out);
	CHECK(strstr(c.buf, "10.0.0.3:3") && strstr(c.buf, "100.200") && strstr(c.buf, " SA"));
	CHECK(!strstr(c.buf, "10.0.0.1:1"));
	CHECK(strstr(c.buf, "... 1 more flows"));
	CHECK(strstr(c.buf, "2 flows  51 packets (51/s)"));
	capture_close(&c);
	flows_report_free(&r);
}

static void test_names(void)
{
	char buf[16];

	CHECK_STR(flows_fmt_tcp_flags(0x13, buf, sizeof(buf)), "FSA");
	CHECK_STR(flows_fmt_tcp_flags(0, buf, sizeof(buf)), "-");
	CHECK_STR(flows_fmt_tcp_flags(0xff, buf, 4), "FSR");
	CHECK_STR(flows_proto_name(58, buf, sizeof(buf)), "icmpv6");
	CHECK_STR(flows_proto_name(47, buf, sizeof(buf)), "47");
}

static int send_result;

static int send_as_told(void *ctx, const uint8_t *msg, size_t len)
{
	(void)ctx, (void)msg, (void)len;
	return send_result;
}

/* The metrics after two intervals: cumulative per direction, the last interval's gauge. */
static void test_metrics(void)
{
	struct flows_cfg both = cfg;
	struct flow_key a = key4("10.0.0.1", 1000, "10.0.0.2", 53);
	struct flow_key b = key4("10.0.0.2", 53, "10.0.0.1", 1000);
	struct flow_key arp = { .ifindex = 9999, .ethertype = 0x0806 };
	uint64_t st[NL_STAT_MAX] = { 0 };
	struct flow_val other = { 0 }, v;
	struct nl_prom *p = nl_prom_new(10);
	struct flows_report r;
	struct capture c;
	struct ipfix x;
	size_t len;

	both.directions = FLOWS_DIR_IN | FLOWS_DIR_OUT;
	both.hook = FLOWS_HOOK_TC;
	b.direction = FLOW_DIR_EGRESS;
	flows_report_init(&r, &both, 0);
	ipfix_init(&x, 9999, send_as_told, NULL);
	r.ipfix = &x;
	capture_open(&c, NL_OUT_JSON);
	v = val(3, 300, 1 * SEC, 2 * SEC);
	flows_report_add(&r, &a, &v);
	v = val(2, 120, 1 * SEC, 2 * SEC);
	flows_report_add(&r, &b, &v);
	v = val(1, 60, 1 * SEC, 1 * SEC);
	flows_report_add(&r, &arp, &v);
	st[FLOW_STAT_OVERFLOW] = 4;
	st[FLOW_STAT_NON_IP] = 1;
	st[FLOW_STAT_FRAGMENTS] = 2;
	st[FLOW_STAT_MALFORMED] = 5;
	flows_report_interval(&r, &c.sink, 3 * SEC, st, &other);
	v = val(1, 100, 4 * SEC, 4 * SEC);
	flows_report_add(&r, &a, &v);
	st[FLOW_STAT_OVERFLOW] = 6;
	st[FLOW_STAT_MALFORMED] = 7;
	flows_report_interval(&r, &c.sink, 5 * SEC, st, &other);

	flows_report_metrics(&r, p);
	CHECK_STR(nl_prom_text(p, &len),
		"# HELP netlens_flow_packets_total Packets counted in flows (IP and non-IP entries; "
		"overflow apart), per direction\n"
		"# TYPE netlens_flow_packets_total counter\n"
		"netlens_flow_packets_total{ifname=\"eth9\",direction=\"ingress\"} 5\n"
		"netlens_flow_packets_total{ifname=\"eth9\",direction=\"egress\"} 2\n"
		"# HELP netlens_flow_bytes_total Bytes of the frames counted in flows (Ethernet "
		"header included, no FCS)\n"
		"# TYPE netlens_flow_bytes_total counter\n"
		"netlens_flow_bytes_total{ifname=\"eth9\",direction=\"ingress\"} 460\n"
		"netlens_flow_bytes_total{ifname=\"eth9\",direction=\"egress\"} 120\n"
		"# HELP netlens_flows_active IP flows with packets in the last collection interval\n"
		"# TYPE netlens_flows_active gauge\n"
		"netlens_flows_active{ifname=\"eth9\"} 1\n"
		"# HELP netlens_flow_overflow_packets_total Packets counted in the overflow bucket "
		"because the flow map was full\n"
		"# TYPE netlens_flow_overflow_packets_total counter\n"
		"netlens_flow_overflow_packets_total{ifname=\"eth9\"} 6\n"
		"# HELP netlens_flow_non_ip_packets_total Frames that are neither IPv4 nor IPv6\n"
		"# TYPE netlens_flow_non_ip_packets_total counter\n"
		"netlens_flow_non_ip_packets_total{ifname=\"eth9\"} 1\n"
		"# HELP netlens_flow_fragments_total Later IP fragments (no ports: counted under "
		"their addresses with ports 0)\n"
		"# TYPE netlens_flow_fragments_total counter\n"
		"netlens_flow_fragments_total{ifname=\"eth9\"} 2\n"
		"# HELP netlens_parse_errors_total Records or packets a module could not parse\n"
		"# TYPE netlens_parse_errors_total counter\n"
		"netlens_parse_errors_total{module=\"flows\"} 7\n"
		"# HELP netlens_ipfix_messages_total IPFIX messages sent to the collector "
		"(including failed sends)\n"
		"# TYPE netlens_ipfix_messages_total counter\n"
		"netlens_ipfix_messages_total 2\n"
		"# HELP netlens_ipfix_records_total IPFIX data records exported, by template\n"
		"# TYPE netlens_ipfix_records_total counter\n"
		"netlens_ipfix_records_total{template=\"ipv4\"} 3\n"
		"netlens_ipfix_records_total{template=\"ipv6\"} 0\n"
		"# HELP netlens_ipfix_send_errors_total IPFIX messages the socket refused (the "
		"collector sees a sequence gap)\n"
		"# TYPE netlens_ipfix_send_errors_total counter\n"
		"netlens_ipfix_send_errors_total 0\n");
	nl_prom_free(p);
	capture_close(&c);
	flows_report_free(&r);
}

/* stderr says when the export starts failing and when it works again, once each. */
static void test_ipfix_failure_said_once(void)
{
	struct flows_cfg one = cfg;
	struct flows_report r;
	struct ipfix x;
	char said[512] = "";
	FILE *err = tmpfile();
	int saved = dup(2);

	snprintf(one.ipfix, sizeof(one.ipfix), "192.0.2.1:4739");
	flows_report_init(&r, &one, 0);
	ipfix_init(&x, 1, send_as_told, NULL);
	x.refresh_s = 0;             /* templates every time: every export sends */
	r.ipfix = &x;
	fflush(stderr);
	dup2(fileno(err), 2);
	send_result = -ENETUNREACH;
	flows_report_export(&r, 1 * SEC);
	flows_report_export(&r, 2 * SEC);
	send_result = 0;
	flows_report_export(&r, 3 * SEC);
	flows_report_export(&r, 4 * SEC);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(err);
	said[fread(said, 1, sizeof(said) - 1, err)] = 0;
	fclose(err);
	CHECK_STR(said, "netlens flows: IPFIX export to 192.0.2.1:4739: Network is unreachable "
		  "(failed messages are counted; said again when it works)\n"
		  "netlens flows: IPFIX export to 192.0.2.1:4739 works again\n");
	CHECK(x.messages == 4 && x.send_errors == 2);
	flows_report_free(&r);
}

int main(void)
{
	RUN(test_sum_cpus);
	RUN(test_deltas_keep_first_seen_and_evict);
	RUN(test_table_full_forgets_least_recently_seen);
	RUN(test_top_sources_and_non_ip);
	RUN(test_table);
	RUN(test_names);
	RUN(test_metrics);
	RUN(test_ipfix_failure_said_once);
	return TEST_SUMMARY();
}
