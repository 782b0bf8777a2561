// SPDX-License-Identifier: GPL-2.0
/* drops reporting: records to JSON, summary rows per interval, hostile input. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "capture.h"
#include "check.h"
#include "drops/drops.h"

#define SEC 1000000000ULL

/* Reasons as a kernel might number them, and one symbol. */
static struct drop_reason_name names[] = { { 3, "NO_SOCKET" }, { 6, "SOCKET_RCVBUFF" },
					    { 12, "NETFILTER_DROP" } };
static const struct drop_reasons reasons = { .v = names, .n = 3 };
static struct nl_ksym syms[] = { { .addr = 0xffffffff81000000ULL, .name = "__udp4_lib_rcv" } };
static struct nl_ksyms ksyms = { .syms = syms, .n = 1 };

static struct drop_key key(uint32_t reason, const char *daddr, uint16_t dport)
{
	struct drop_key k = { .reason = reason, .kind = DROP_KIND_SKB, .netns = 7,
			      .location = 0xffffffff81000010ULL, .proto = 17, .dport = dport };

	k.family = strchr(daddr, ':') ? 6 : 4;
	inet_pton(k.family == 6 ? AF_INET6 : AF_INET, daddr, k.daddr);
	return k;
}

static struct json_object *summary_json(struct drops_report *r, uint64_t now)
{
	struct capture c;
	struct json_object *o;

	capture_open(&c, NL_OUT_JSON);
	drops_report_summary(r, &c.sink, now);
	fflush(c.sink.out);
	o = json_tokener_parse(c.buf);
	capture_close(&c);
	return o;
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, k, &v);
	return v;
}

static void test_summary_per_interval(void)
{
	struct drops_report r;
	struct drop_key a = key(3, "10.0.0.2", 53), b = key(12, "fd00::2", 443);
	struct json_object *o, *rows, *row;

	drops_report_init(&r, &reasons, &ksyms, 0);
	drops_report_set(&r, &a, 5);
	drops_report_set(&r, &b, 9);
	o = summary_json(&r, 2 * SEC);
	CHECK_STR(json_object_get_string(get(o, "type")), "drop_summary");
	CHECK(json_object_get_int64(get(o, "total")) == 14);
	CHECK(json_object_get_double(get(o, "interval_s")) == 2.0);
	rows = get(o, "rows");
	CHECK(json_object_array_length(rows) == 2);
	/* Busiest first. */
	row = json_object_array_get_idx(rows, 0);
	CHECK_STR(json_object_get_string(get(row, "reason")), "NETFILTER_DROP");
	CHECK_STR(json_object_get_string(get(row, "daddr")), "fd00::2");
	CHECK(json_object_get_int(get(row, "dport")) == 443 && json_object_get_int(get(row, "family")) == 6);
	CHECK_STR(json_object_get_string(get(row, "location")), "__udp4_lib_rcv+0x10");
	CHECK_STR(json_object_get_string(get(row, "proto")), "udp");
	json_object_put(o);

	/* The next interval has only what grew since, and nothing for rows that did not. */
	drops_report_set(&r, &a, 8);
	drops_report_set(&r, &b, 9);
	o = summary_json(&r, 3 * SEC);
	CHECK(json_object_get_int64(get(o, "total")) == 3);
	CHECK(json_object_get_double(get(o, "interval_s")) == 1.0);
	rows = get(o, "rows");
	CHECK(json_object_array_length(rows) == 1);
	CHECK(json_object_get_int64(get(json_object_array_get_idx(rows, 0), "count")) == 3);
	json_object_put(o);
	drops_report_free(&r);
}

static void test_rows_without_ports_or_ip(void)
{
	struct drops_report r;
	struct drop_key icmp = key(99, "10.0.0.2", 0), arp = { .kind = DROP_KIND_SKB, .reason = 3,
							       .l3proto = 0x0806 };
	struct drop_key full = { .kind = DROP_KIND_RCVQUEUE_FULL, .family = 4, .proto = 1 };
	struct json_object *o, *rows;

	icmp.proto = 1;
	drops_report_init(&r, &reasons, &ksyms, 0);
	drops_report_set(&r, &icmp, 3);
	drops_report_set(&r, &arp, 2);
	drops_report_set(&r, &full, 1);
	o = summary_json(&r, SEC);
	rows = get(o, "rows");
	CHECK(json_object_array_length(rows) == 3);
	/* A reason this kernel's BTF does not name is shown by number. */
	CHECK_STR(json_object_get_string(get(json_object_array_get_idx(rows, 0), "reason")), "0x63");
	CHECK_STR(json_object_get_string(get(json_object_array_get_idx(rows, 0), "proto")), "icmp");
	CHECK(get(json_object_array_get_idx(rows, 0), "dport") == NULL);
	CHECK_STR(json_object_get_string(get(json_object_array_get_idx(rows, 1), "proto")), "arp");
	CHECK(get(json_object_array_get_idx(rows, 1), "daddr") == NULL);
	CHECK_STR(json_object_get_string(get(json_object_array_get_idx(rows, 2), "kind")),
		  "sock_rcvqueue_full");
	CHECK(get(json_object_array_get_idx(rows, 2), "reason") == NULL);
	CHECK(get(json_object_array_get_idx(rows, 2), "location") == NULL);
	json_object_put(o);
	drops_report_free(&r);
}

static struct json_object *event_json(struct drops_report *r, const struct drop_event *e, size_t len)
{
	struct capture c;
	struct json_object *o;

	capture_open(&c, NL_OUT_JSON);
	drops_report_event(r, &c.sink, e, len);
	fflush(c.sink.out);
	o = c.len ? json_tokener_parse(c.buf) : NULL;
	capture_close(&c);
	return o;
}

static void test_event_json(void)
{
	struct drop_event e = {
		.kind = DROP_KIND_SKB, .reason = 3, .location = 0xffffffff81000004ULL, .proto = 17,
		.flags = DROP_F_HEADERS | DROP_F_PORTS | DROP_F_DEV | DROP_F_SOFTIRQ,
		.len = 24, .ifindex = 2, .ifname = "veth0",
		.id = { .netns = 7, .tuple = { .family = 4, .sport = 5353, .dport = 9 } },
	};
	struct drops_report r;
	struct json_object *o;

	inet_pton(AF_INET, "10.0.0.1", e.id.tuple.saddr);
	inet_pton(AF_INET, "10.0.0.2", e.id.tuple.daddr);
	drops_report_init(&r, &reasons, &ksyms, 0);
	o = event_json(&r, &e, sizeof(e));
	CHECK(o != NULL);
	CHECK_STR(json_object_get_string(get(o, "type")), "drop");
	CHECK_STR(json_object_get_string(get(o, "reason")), "NO_SOCKET");
	CHECK_STR(json_object_get_string(get(o, "location")), "__udp4_lib_rcv+0x4");
	CHECK_STR(json_object_get_string(get(o, "saddr")), "10.0.0.1");
	CHECK(json_object_get_int(get(o, "sport")) == 5353 && json_object_get_int(get(o, "dport")) == 9);
	CHECK_STR(json_object_get_string(get(o, "ifname")), "veth0");
	CHECK_STR(json_object_get_string(get(o, "context")), "softirq");
	CHECK(json_object_get_int(get(o, "pid")) == 0);
	CHECK(json_object_object_get_ex(o, "icmp_type", NULL) && get(o, "icmp_type") == NULL);
	json_object_put(o);

	/* No IP header: addresses, ports and family are null, never 0.0.0.0. */
	e.flags = 0;
	e.l3proto = 0x0806;
	o = event_json(&r, &e, sizeof(e));
	CHECK(get(o, "saddr") == NULL && get(o, "family") == NULL && get(o, "sport") == NULL);
	CHECK(get(o, "ifname") == NULL && get(o, "context") == NULL);
	CHECK_STR(json_object_get_string(get(o, "proto")), "arp");
	json_object_put(o);

	/* Short or unknown records are counted, not written. */
	CHECK(event_json(&r, &e, sizeof(e) - 1) == NULL);
	e.kind = DROP_KIND_MAX;
	CHECK(event_json(&r, &e, sizeof(e)) == NULL);
	CHECK(r.bad_records == 2);
	drops_report_free(&r);
}

static void test_table(void)
{
	struct drops_report r;
	struct drop_key a = key(3, "10.0.0.2", 53);
	struct capture c;

	drops_report_init(&r, &reasons, &ksyms, 0);
	drops_report_set(&r, &a, 42);
	capture_open(&c, NL_OUT_TABLE);
	drops_report_summary(&r, &c.sink, SEC);
	fflush(c.sink.out);
	CHECK(strstr(c.buf, "42 drops in 1.0 s") != NULL);
	CHECK(strstr(c.buf, "NO_SOCKET") && strstr(c.buf, "__udp4_lib_rcv+0x10"));
	CHECK(strstr(c.buf, "10.0.0.2:53") && strstr(c.buf, "42  total"));
	capture_close(&c);
	drops_report_free(&r);
}

/* A discarding sink (serve without --events-file): records are checked, none is built. */
static void test_event_discarded(void)
{
	struct drop_event e = { .kind = DROP_KIND_SKB, .reason = 3 };
	struct drops_report r;
	struct nl_sink none;

	nl_sink_init_discard(&none);
	drops_report_init(&r, &reasons, &ksyms, 0);
	drops_report_event(&r, &none, &e, sizeof(e));
	CHECK(none.jw.len == 0 && r.bad_records == 0);
	drops_report_event(&r, &none, &e, sizeof(e) - 1);
	CHECK(r.bad_records == 1);
	nl_sink_free(&none);
	drops_report_free(&r);
}

static const char *metrics_page(struct drops_report *r, struct nl_prom *p, uint64_t suppressed)
{
	uint64_t st[NL_STAT_MAX] = { [DROP_STAT_SUPPRESSED] = suppressed };
	size_t len;

	nl_prom_reset(p);
	drops_report_metrics(r, p, st);
	return nl_prom_text(p, &len);
}

#define DROPS_HEAD "# HELP netlens_packet_drops_total Packets the kernel dropped, by kind, " \
	"class (loss, policy, benign), drop reason and dropping function.\n# TYPE netlens_packet_drops_total counter\n"
#define DROPS_TAIL(suppressed, folded) \
	"# HELP netlens_drop_records_suppressed_total Individual drop records not written, " \
	"over --events-per-sec.\n# TYPE netlens_drop_records_suppressed_total counter\n" \
	"netlens_drop_records_suppressed_total " #suppressed "\n" \
	"# HELP netlens_parse_errors_total Records or packets a module could not parse.\n" \
	"# TYPE netlens_parse_errors_total counter\n" \
	"netlens_parse_errors_total{module=\"drops\"} 1\n" \
	"# HELP netlens_series_folded Label sets summed into the \"other\" series by " \
	"--max-series, per family.\n# TYPE netlens_series_folded gauge\n" \
	"netlens_series_folded{family=\"netlens_packet_drops_total\"} " #folded "\n" \
	"netlens_series_folded{family=\"netlens_socket_rcvbuf_drops_total\"} 0\n"

/*
 * Kernel rows summed by {kind, class, reason, location, dport}; totals never decrease,
 * even when a kernel row starts again from 0.
 */
static void test_metrics(void)
{
	struct drop_key a = key(3, "10.0.0.2", 53), b = key(3, "fd00::2", 53), c = key(12, "10.0.0.3", 0);
	struct drop_key full = { .kind = DROP_KIND_RCVQUEUE_FULL, .family = 4, .proto = 17 };
	struct drop_event bad = { .kind = DROP_KIND_MAX };
	struct nl_prom *p = nl_prom_new(10);
	struct drops_report r;
	struct nl_sink none;

	c.location = 0;
	nl_sink_init_discard(&none);
	drops_report_init(&r, &reasons, &ksyms, 0);
	drops_report_event(&r, &none, &bad, sizeof(bad));
	drops_report_set(&r, &a, 5);
	drops_report_set(&r, &b, 9);
	drops_report_set(&r, &c, 6);
	drops_report_set(&r, &full, 2);
	CHECK_STR(metrics_page(&r, p, 4), DROPS_HEAD
		  "netlens_packet_drops_total{kind=\"kfree_skb\",class=\"loss\",reason=\"NO_SOCKET\","
		  "location=\"__udp4_lib_rcv\",dport=\"53\"} 14\n"
		  "netlens_packet_drops_total{kind=\"kfree_skb\",class=\"policy\",reason=\"NETFILTER_DROP\","
		  "location=\"\",dport=\"\"} 6\n"
		  "netlens_packet_drops_total{kind=\"sock_rcvqueue_full\",class=\"loss\",reason=\"\",location=\"\",dport=\"\"} 2\n"
		  DROPS_TAIL(4, 0));

	/* Row a was deleted in the kernel and counted 2 since; c was not read again. */
	drops_report_set(&r, &a, 2);
	drops_report_set(&r, &b, 10);
	drops_report_set(&r, &full, 3);
	CHECK_STR(metrics_page(&r, p, 4), DROPS_HEAD
		  "netlens_packet_drops_total{kind=\"kfree_skb\",class=\"loss\",reason=\"NO_SOCKET\","
		  "location=\"__udp4_lib_rcv\",dport=\"53\"} 17\n"
		  "netlens_packet_drops_total{kind=\"kfree_skb\",class=\"policy\",reason=\"NETFILTER_DROP\","
		  "location=\"\",dport=\"\"} 6\n"
		  "netlens_packet_drops_total{kind=\"sock_rcvqueue_full\",class=\"loss\",reason=\"\",location=\"\",dport=\"\"} 3\n"
		  DROPS_TAIL(4, 0));
	nl_prom_free(p);
	nl_sink_free(&none);
	drops_report_free(&r);
}

/* Receive-buffer overflows per port: a service's port, a client's bucket; other reasons not. */
static void test_metrics_rcvbuf(void)
{
	struct drop_key svc = key(6, "10.0.0.2", 5353), cli = key(6, "10.0.0.2", 0);
	struct drop_key closed = key(3, "10.0.0.2", 53);
	struct nl_prom *p = nl_prom_new(10);
	struct drops_report r;
	const char *page;

	cli.flags = DROP_KEY_EPHEMERAL;
	drops_report_init(&r, &reasons, &ksyms, 0);
	drops_report_set(&r, &svc, 7);
	drops_report_set(&r, &cli, 2);
	drops_report_set(&r, &closed, 4);
	page = metrics_page(&r, p, 0);
	CHECK(strstr(page, "netlens_socket_rcvbuf_drops_total{reason=\"SOCKET_RCVBUFF\",proto=\"udp\","
		     "port=\"5353\",comm=\"\"} 7\n"));
	CHECK(strstr(page, "netlens_socket_rcvbuf_drops_total{reason=\"SOCKET_RCVBUFF\",proto=\"udp\","
		     "port=\"ephemeral\",comm=\"\"} 2\n"));
	CHECK(strstr(page, "netlens_packet_drops_total{kind=\"kfree_skb\",class=\"loss\","
		     "reason=\"SOCKET_RCVBUFF\",location=\"__udp4_lib_rcv\",dport=\"ephemeral\"} 2\n"));
	CHECK(!strstr(page, "rcvbuf_drops_total{reason=\"NO_SOCKET\""));
	nl_prom_free(p);
	drops_report_free(&r);
}

/* --max-series 1: the busiest label set alone, the rest summed into "other". */
static void test_metrics_folded(void)
{
	struct drop_key a = key(3, "10.0.0.2", 53), c = key(12, "10.0.0.3", 0);
	struct drop_key full = { .kind = DROP_KIND_RCVQUEUE_FULL, .family = 4, .proto = 17 };
	struct drop_event bad = { .kind = 0 };
	struct nl_prom *p = nl_prom_new(1);
	struct drops_report r;
	struct nl_sink none;

	nl_sink_init_discard(&none);
	drops_report_init(&r, &reasons, &ksyms, 0);
	drops_report_event(&r, &none, &bad, sizeof(bad));
	drops_report_set(&r, &a, 50);
	drops_report_set(&r, &c, 6);
	drops_report_set(&r, &full, 2);
	CHECK_STR(metrics_page(&r, p, 0), DROPS_HEAD
		  "netlens_packet_drops_total{kind=\"kfree_skb\",class=\"loss\",reason=\"NO_SOCKET\","
		  "location=\"__udp4_lib_rcv\",dport=\"53\"} 50\n"
		  "netlens_packet_drops_total{kind=\"other\",class=\"other\",reason=\"other\",location=\"other\","
		  "dport=\"other\"} 8\n"
		  DROPS_TAIL(0, 2));
	nl_prom_free(p);
	nl_sink_free(&none);
	drops_report_free(&r);
}

int main(void)
{
	RUN(test_summary_per_interval);
	RUN(test_rows_without_ports_or_ip);
	RUN(test_event_json);
	RUN(test_table);
	RUN(test_event_discarded);
	RUN(test_metrics);
	RUN(test_metrics_folded);
	RUN(test_metrics_rcvbuf);
	return TEST_SUMMARY();
}
