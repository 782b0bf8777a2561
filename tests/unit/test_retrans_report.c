// SPDX-License-Identifier: GPL-2.0
/* retrans reporting: records, hostile input, ratio, worst-first order, summary. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <json-c/json.h>
#include "check.h"
#include "retrans/retrans.h"

static char *capture(enum nl_output kind, void (*fn)(struct nl_sink *, void *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	struct nl_sink s;

	nl_sink_init(&s, kind, open_memstream(&buf, &len));
	fn(&s, arg);
	fclose(s.out);
	nl_sink_free(&s);
	return buf;
}

static struct retrans_event event(void)
{
	struct retrans_event e = {
		.ts_ns = 1000, .kind = RETRANS_DATA, .state = 1, .segments = 3,
		.id = { .cgroup_id = 7, .netns = 4026531840u,
			.tuple = { .family = 6, .sport = 40000, .dport = 443 } },
		.owner = { .pid = 1234, .comm = "curl" },
	};

	inet_pton(AF_INET6, "fd00::1", e.id.tuple.saddr);
	inet_pton(AF_INET6, "fd00::2", e.id.tuple.daddr);
	return e;
}

static bool write_ok;

static void write_event(struct nl_sink *s, void *arg)
{
	write_ok = retrans_report_event(s, arg, sizeof(struct retrans_event));
}

static void record_json(void)
{
	struct retrans_event e = event();
	char *out = capture(NL_OUT_JSON, write_event, &e);
	struct json_object *o = json_tokener_parse(out);

	CHECK(write_ok && o);
	CHECK_STR(json_object_get_string(json_object_object_get(o, "type")), "retransmit");
	CHECK(json_object_get_int(json_object_object_get(o, "pid")) == 1234);
	CHECK_STR(json_object_get_string(json_object_object_get(o, "comm")), "curl");
	CHECK_STR(json_object_get_string(json_object_object_get(o, "saddr")), "fd00::1");
	CHECK_STR(json_object_get_string(json_object_object_get(o, "daddr")), "fd00::2");
	CHECK(json_object_get_int(json_object_object_get(o, "dport")) == 443);
	CHECK_STR(json_object_get_string(json_object_object_get(o, "state")), "ESTABLISHED");
	CHECK_STR(json_object_get_string(json_object_object_get(o, "kind")), "data");
	CHECK(json_object_get_int(json_object_object_get(o, "segments")) == 3);
	json_object_put(o);
	free(out);

	e.kind = RETRANS_SYNACK;
	e.state = 3;
	out = capture(NL_OUT_TABLE, write_event, &e);
	CHECK(strstr(out, "SYN_RECV") && strstr(out, "synack") && strstr(out, "[fd00::2]:443"));
	free(out);
}

static void hostile_records_are_refused(void)
{
	struct retrans_event e = event();
	char *out;

	e.kind = 9;
	out = capture(NL_OUT_JSON, write_event, &e);
	CHECK(!write_ok && !*out);
	free(out);
	e = event();
	e.id.tuple.family = 5;
	out = capture(NL_OUT_JSON, write_event, &e);
	CHECK(!write_ok && !*out);
	free(out);
	CHECK(!retrans_report_event(NULL, &e, sizeof(e) - 1));   /* short: never touches the sink */
}

/* serve without an events file: a valid record is accepted and nothing is built; a bad one still counts. */
static void discarding_sink_builds_nothing(void)
{
	struct retrans_event e = event();
	struct nl_sink s;

	nl_sink_init_discard(&s);
	CHECK(retrans_report_event(&s, &e, sizeof(e)));
	CHECK(s.jw.cap == 0);
	e.kind = 9;
	CHECK(!retrans_report_event(&s, &e, sizeof(e)));
	nl_sink_free(&s);
}

static void ratio_and_worst_first(void)
{
	struct retrans_row rows[4] = {
		{ .key = { .family = 4, .port = 1 }, .d = { .retransmits = 0, .segments = 100 } },
		{ .key = { .family = 4, .port = 2 }, .d = { .retransmits = 10, .segments = 1000 } },
		{ .key = { .family = 4, .port = 3 }, .d = { .retransmits = 5, .segments = 50 } },
		{ .key = { .family = 4, .port = 4 }, .d = { .retransmits = 2, .segments = 0 } },
	};

	CHECK(retrans_ratio(&rows[2].d) == 0.1);
	CHECK(retrans_ratio(&rows[3].d) == -1);
	retrans_sort(rows, 4);
	/* Unknown segments with retransmits rank as the worst, then 10%, 1%, 0%. */
	CHECK(rows[0].key.port == 4 && rows[1].key.port == 3 && rows[2].key.port == 2 &&
	      rows[3].key.port == 1);
}

struct summary_arg {
	struct retrans_row *rows;
	size_t n;
};

static void write_summary(struct nl_sink *s, void *arg)
{
	struct summary_arg *a = arg;
	uint64_t stats[NL_STAT_MAX] = { [NL_STAT_EVENTS] = 5, [NL_STAT_LOST] = 1 };

	retrans_report_summary(s, a->rows, a->n, stats, 2);
}

static void summary_record(void)
{
	struct retrans_row rows[2] = {
		{ .key = { .family = 4, .port = 443 }, .d = { .retransmits = 0, .segments = 10 } },
		{ .key = { .family = 4, .port = 8080, .inbound = 1 },
		  .d = { .retransmits = 4, .segments = 0 } },
	};
	struct summary_arg a = { rows, 2 };
	struct json_object *o, *d;
	char *out;

	inet_pton(AF_INET, "10.0.0.2", rows[0].key.addr);
	inet_pton(AF_INET, "10.0.0.3", rows[1].key.addr);
	out = capture(NL_OUT_JSON, write_summary, &a);
	o = json_tokener_parse(out);
	CHECK_STR(json_object_get_string(json_object_object_get(o, "type")), "stats");
	CHECK(json_object_get_int(json_object_object_get(o, "events")) == 5);
	CHECK(json_object_get_int(json_object_object_get(o, "lost")) == 1);
	CHECK(json_object_get_int(json_object_object_get(o, "bad_records")) == 2);
	d = json_object_array_get_idx(json_object_object_get(o, "destinations"), 0);
	CHECK_STR(json_object_get_string(json_object_object_get(d, "daddr")), "10.0.0.3");
	CHECK_STR(json_object_get_string(json_object_object_get(d, "direction")), "inbound");
	CHECK(json_object_object_get(d, "ratio") == NULL);   /* no segment count: null */
	d = json_object_array_get_idx(json_object_object_get(o, "destinations"), 1);
	CHECK(json_object_get_double(json_object_object_get(d, "ratio")) == 0.0);
	json_object_put(o);
	free(out);

	out = capture(NL_OUT_TABLE, write_summary, &a);
	CHECK(strstr(out, "10.0.0.3:8080") && strstr(out, "inbound") && strstr(out, "0.00%"));
	free(out);
}

int main(void)
{
	RUN(record_json);
	RUN(hostile_records_are_refused);
	RUN(discarding_sink_builds_nothing);
	RUN(ratio_and_worst_first);
	RUN(summary_record);
	return TEST_SUMMARY();
}
