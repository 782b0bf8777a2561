// SPDX-License-Identifier: GPL-2.0
/*
 * Per-record user-space cost of `conns -o json`: the records netlens writes
 * (conns_report_event() to /dev/null) against the same close record built
 * and serialized with json-c, the library the hot path replaced.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>
#include <json-c/json.h>
#include "conns/conns.h"

#define N 1000000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct conn_event sample(void)
{
	struct conn_event e = {
		.ts_ns = 123456789012, .flags = CONN_F_OUTBOUND | CONN_F_BIRTH,
		.id = { .cgroup_id = 4242, .netns = 4026531840u,
			.tuple = { .family = 4, .sport = 40000, .dport = 9000 } },
		.owner = { .pid = 1234, .tid = 1235, .comm = "connstorm" },
		.bytes_sent = 100000, .bytes_received = 2500, .duration_ns = 123456,
		.srtt_us = 50, .state = 5,
	};

	inet_pton(AF_INET, "10.232.0.1", e.id.tuple.saddr);
	inet_pton(AF_INET, "10.232.0.2", e.id.tuple.daddr);
	return e;
}

static double bench_netlens(FILE *out)
{
	struct conn_event e = sample();
	struct conns_report r;
	struct nl_sink s;
	double t0;

	conns_report_init(&r);
	nl_sink_init(&s, NL_OUT_JSON, out);
	t0 = now();
	for (int i = 0; i < N; i++) {
		e.ts_ns += 1000;
		e.id.tuple.sport = 1024 + i % 60000;
		e.type = CONN_EV_CONNECT + i % 4;
		conns_report_event(&r, &s, &e, sizeof(e));
	}
	fflush(out);
	t0 = (now() - t0) / N * 1e9;
	conns_report_free(&r);
	nl_sink_free(&s);
	return t0;
}

static double bench_json_c(FILE *out)
{
	double t0 = now();

	for (int i = 0; i < N; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string("close"));
		json_object_object_add(o, "ts", json_object_new_string("2026-11-21T09:15:02.123456Z"));
		json_object_object_add(o, "pid", json_object_new_int(1234));
		json_object_object_add(o, "comm", json_object_new_string("connstorm"));
		json_object_object_add(o, "cgroup_id", json_object_new_int64(4242));
		json_object_object_add(o, "netns", json_object_new_int64(4026531840LL));
		json_object_object_add(o, "family", json_object_new_int(4));
		json_object_object_add(o, "saddr", json_object_new_string("10.232.0.1"));
		json_object_object_add(o, "sport", json_object_new_int(1024 + i % 60000));
		json_object_object_add(o, "daddr", json_object_new_string("10.232.0.2"));
		json_object_object_add(o, "dport", json_object_new_int(9000));
		json_object_object_add(o, "direction", json_object_new_string("outbound"));
		json_object_object_add(o, "duration_ms", json_object_new_double(0.123));
		json_object_object_add(o, "bytes_sent", json_object_new_int64(100000));
		json_object_object_add(o, "bytes_received", json_object_new_int64(2500));
		json_object_object_add(o, "retransmits", json_object_new_int(0));
		json_object_object_add(o, "srtt_us", json_object_new_int(50));
		json_object_object_add(o, "state", json_object_new_string("FIN_WAIT2"));
		json_object_object_add(o, "error", NULL);
		fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), out);
		fputc('\n', out);
		json_object_put(o);
	}
	fflush(out);
	return (now() - t0) / N * 1e9;
}

int main(void)
{
	FILE *out = fopen("/dev/null", "w");

	if (!out)
		return 1;
	printf("record formatting, %d records to /dev/null (connect/accept/failed/close mix)\n", N);
	printf("  netlens writer      %6.0f ns/record\n", bench_netlens(out));
	printf("  json-c (close only) %6.0f ns/record\n", bench_json_c(out));
	return 0;
}
