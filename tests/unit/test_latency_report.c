// SPDX-License-Identifier: GPL-2.0
/* latency reporting: --by parsing, group labels, merging per-CPU/epoch histograms, records. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <json-c/json.h>
#include "check.h"
#include "output/hist.h"
#include "latency/latency.h"

static struct lat_key key4(uint8_t metric)
{
	struct lat_key k = { .family = 4, .port = 443, .metric = metric, .pid = 77,
			     .cgroup_id = 4242, .comm = "curl" };

	inet_pton(AF_INET, "10.0.0.2", k.addr);
	return k;
}

static void by_names_round_trip(void)
{
	const char *names[] = { "daddr:dport", "daddr", "dport", "comm", "pid", "cgroup" };
	enum lat_by by;

	for (unsigned int i = 0; i < 6; i++) {
		CHECK(lat_by_parse(names[i], &by) == 0 && by == i);
		CHECK_STR(lat_by_name(by), names[i]);
	}
	CHECK(lat_by_parse("host", &by) == -1);
	CHECK(lat_by_parse("", &by) == -1);
	CHECK(lat_by_parse("daddr:", &by) == -1);
	CHECK_STR(lat_metric_name(LAT_SERVICE), "service");
	CHECK_STR(lat_metric_name(99), "?");
}

static void group_labels(void)
{
	struct lat_key k = key4(LAT_RTT), k6 = k, anon = k;
	struct json_object *j;
	char buf[80];

	CHECK_STR(lat_group_str(LAT_BY_DADDR_DPORT, &k, buf, sizeof(buf)), "10.0.0.2:443");
	CHECK_STR(lat_group_str(LAT_BY_DADDR, &k, buf, sizeof(buf)), "10.0.0.2");
	CHECK_STR(lat_group_str(LAT_BY_DPORT, &k, buf, sizeof(buf)), "443");
	CHECK_STR(lat_group_str(LAT_BY_COMM, &k, buf, sizeof(buf)), "curl");
	CHECK_STR(lat_group_str(LAT_BY_PID, &k, buf, sizeof(buf)), "77 curl");
	CHECK_STR(lat_group_str(LAT_BY_CGROUP, &k, buf, sizeof(buf)), "cgroup 4242");
	k6.family = 6;
	inet_pton(AF_INET6, "fd00::2", k6.addr);
	CHECK_STR(lat_group_str(LAT_BY_DADDR_DPORT, &k6, buf, sizeof(buf)), "[fd00::2]:443");

	j = lat_group_json(LAT_BY_DADDR_DPORT, &k6);
	CHECK_STR(json_object_get_string(j), "[fd00::2]:443");
	json_object_put(j);
	j = lat_group_json(LAT_BY_DPORT, &k);
	CHECK(json_object_is_type(j, json_type_int) && json_object_get_int(j) == 443);
	json_object_put(j);
	j = lat_group_json(LAT_BY_PID, &k);
	CHECK(json_object_is_type(j, json_type_int) && json_object_get_int(j) == 77);
	json_object_put(j);
	j = lat_group_json(LAT_BY_CGROUP, &k);
	CHECK(json_object_get_int64(j) == 4242);
	json_object_put(j);
	/* A comm of 16 bytes has no terminator in the kernel. */
	memcpy(k.comm, "0123456789abcdef", 16);
	j = lat_group_json(LAT_BY_COMM, &k);
	CHECK_STR(json_object_get_string(j), "0123456789abcdef");
	json_object_put(j);
	/* The owner of a socket older than netlens is not known: null, not pid 0. */
	anon.pid = 0;
	memset(anon.comm, 0, sizeof(anon.comm));
	CHECK(lat_group_json(LAT_BY_PID, &anon) == NULL);
	CHECK(lat_group_json(LAT_BY_COMM, &anon) == NULL);
	CHECK_STR(lat_group_str(LAT_BY_PID, &anon, buf, sizeof(buf)), "(owner unknown)");
}

/* Writes the report as JSON Lines and parses every line. */
static int report_json(struct lat_report *r, enum lat_by by, struct json_object **out, int max)
{
	uint64_t stats[NL_STAT_MAX] = { [NL_STAT_MAP_FULL] = 3 };
	char *buf = NULL, *line, *save;
	size_t len = 0;
	struct nl_sink s;
	int n = 0;

	nl_sink_init(&s, NL_OUT_JSON, open_memstream(&buf, &len));
	lat_report_write(r, &s, by, stats);
	fclose(s.out);
	for (line = strtok_r(buf, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save))
		out[n++] = json_tokener_parse(line);
	free(buf);
	nl_sink_free(&s);
	return n;
}

static void merges_cpus_and_epochs_into_one_record(void)
{
	struct lat_report r = { 0 };
	struct lat_key k = key4(LAT_REQUEST), other = key4(LAT_HANDSHAKE);
	struct nl_hist cpu0 = { 0 }, cpu1 = { 0 };
	struct json_object *recs[8], *v;
	int n;

	for (int i = 0; i < 10; i++)
		nl_hist_add(&cpu0, 200000);
	for (int i = 0; i < 10; i++)
		nl_hist_add(&cpu1, 210000);
	CHECK(lat_report_add(&r, &k, &cpu0) == 0);
	k.epoch = 1;                          /* the other half of the double buffer */
	CHECK(lat_report_add(&r, &k, &cpu1) == 0);
	CHECK(lat_report_add(&r, &other, &cpu0) == 0);
	n = report_json(&r, LAT_BY_DADDR_DPORT, recs, 8);
	CHECK(n == 3);
	CHECK(r.rows == NULL);                /* written and emptied */
	/* Metrics in order: handshake before request; then the stats record. */
	CHECK_STR(json_object_get_string(json_object_object_get(recs[0], "metric")), "handshake");
	CHECK_STR(json_object_get_string(json_object_object_get(recs[1], "type")), "latency");
	CHECK_STR(json_object_get_string(json_object_object_get(recs[1], "metric")), "request");
	CHECK_STR(json_object_get_string(json_object_object_get(recs[1], "group")), "10.0.0.2:443");
	CHECK(json_object_get_int(json_object_object_get(recs[1], "count")) == 20);
	CHECK(json_object_get_int(json_object_object_get(recs[1], "p50_us")) == 205000);   /* between min and max */
	CHECK(json_object_get_int(json_object_object_get(recs[1], "max_us")) == 210000);
	v = json_object_object_get(recs[1], "buckets");
	CHECK(json_object_array_length(v) == 1);
	CHECK(json_object_get_int(json_object_object_get(json_object_array_get_idx(v, 0), "count")) == 20);
	/* Exactly the keys the issue names, in order. */
	{
		const char *want[] = { "type", "metric", "group", "count", "p50_us", "p90_us",
				       "p99_us", "max_us", "buckets" };
		int i = 0;

		json_object_object_foreach(recs[1], key, val) {
			(void)val;
			CHECK(i < 9 && !strcmp(key, want[i]));
			i++;
		}
		CHECK(i == 9);
	}
	CHECK_STR(json_object_get_string(json_object_object_get(recs[2], "type")), "stats");
	CHECK(json_object_get_int(json_object_object_get(recs[2], "groups")) == 2);
	CHECK(json_object_get_int(json_object_object_get(recs[2], "map_full")) == 3);
	for (int i = 0; i < n; i++)
		json_object_put(recs[i]);
}

static void busiest_group_first_and_table(void)
{
	struct lat_report r = { 0 };
	struct lat_key a = key4(LAT_RTT), b = key4(LAT_RTT);
	struct nl_hist few = { 0 }, many = { 0 };
	uint64_t stats[NL_STAT_MAX] = { 0 };
	char *buf = NULL;
	size_t len = 0;
	struct nl_sink s;

	b.port = 80;
	nl_hist_add(&few, 30);
	for (int i = 0; i < 5; i++)
		nl_hist_add(&many, 100 + i);
	lat_report_add(&r, &a, &few);
	lat_report_add(&r, &b, &many);
	nl_sink_init(&s, NL_OUT_TABLE, open_memstream(&buf, &len));
	lat_report_write(&r, &s, LAT_BY_DADDR_DPORT, stats);
	fclose(s.out);
	CHECK(strstr(buf, "rtt: smoothed RTT") != NULL);
	CHECK(strstr(buf, "10.0.0.2:80") && strstr(buf, "10.0.0.2:443") &&
	      strstr(buf, "10.0.0.2:80") < strstr(buf, "10.0.0.2:443"));
	CHECK(strstr(buf, "64 -> 127        us : 5") != NULL);
	free(buf);
	nl_sink_free(&s);
}

static void table_shows_the_busiest_groups(void)
{
	struct lat_report r = { 0 };
	uint64_t stats[NL_STAT_MAX] = { 0 };
	struct nl_hist h = { 0 };
	char *buf = NULL, *p;
	size_t len = 0;
	struct nl_sink s;
	int rows = 0;

	for (int i = 0; i < LATENCY_TABLE_GROUPS + 5; i++) {
		struct lat_key k = key4(LAT_SERVICE);

		k.port = 1000 + i;
		nl_hist_add(&h, 10);      /* group i has i + 1 samples */
		lat_report_add(&r, &k, &h);
	}
	nl_sink_init(&s, NL_OUT_TABLE, open_memstream(&buf, &len));
	lat_report_write(&r, &s, LAT_BY_DPORT, stats);
	fclose(s.out);
	for (p = buf; (p = strstr(p, "\n10")); p++)
		rows++;
	CHECK(rows == LATENCY_TABLE_GROUPS);
	CHECK(strstr(buf, "\n1024 ") != NULL && strstr(buf, "\n1000 ") == NULL);
	CHECK(strstr(buf, "... more groups (-o json lists them all)") != NULL);
	free(buf);
	nl_sink_free(&s);
}

int main(void)
{
	RUN(by_names_round_trip);
	RUN(group_labels);
	RUN(merges_cpus_and_epochs_into_one_record);
	RUN(busiest_group_first_and_table);
	RUN(table_shows_the_busiest_groups);
	return TEST_SUMMARY();
}
