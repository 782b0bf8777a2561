// SPDX-License-Identifier: GPL-2.0
/* netlens latency: merged histograms to JSON records and tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output/format.h"
#include "output/hist.h"
#include "latency/latency.h"
#include "framework/sys.h"

static const char *const by_names[] = {
	[LAT_BY_DADDR_DPORT] = "daddr:dport", [LAT_BY_DADDR] = "daddr", [LAT_BY_DPORT] = "dport",
	[LAT_BY_COMM] = "comm", [LAT_BY_PID] = "pid", [LAT_BY_CGROUP] = "cgroup",
};

static const char *const metric_names[] = {
	[LAT_HANDSHAKE] = "handshake", [LAT_RTT] = "rtt",
	[LAT_REQUEST] = "request", [LAT_SERVICE] = "service",
};

static const char *const metric_titles[] = {
	[LAT_HANDSHAKE] = "handshake: SYN sent -> ESTABLISHED",
	[LAT_RTT] = "rtt: smoothed RTT as new data is acknowledged",
	[LAT_REQUEST] = "request: client, first send -> first receive of the answer",
	[LAT_SERVICE] = "service: server, first receive -> first send of the answer",
};

int lat_by_parse(const char *s, enum lat_by *by)
{
	for (size_t i = 0; i < sizeof(by_names) / sizeof(by_names[0]); i++) {
		if (!strcmp(s, by_names[i])) {
			*by = i;
			return 0;
		}
	}
	return -1;
}

const char *lat_by_name(enum lat_by by)
{
	return by < sizeof(by_names) / sizeof(by_names[0]) ? by_names[by] : "?";
}

const char *lat_metric_name(unsigned int metric)
{
	return metric < LAT_METRICS ? metric_names[metric] : "?";
}

static bool owner_unknown(enum lat_by by, const struct lat_key *k)
{
	return (by == LAT_BY_PID && !k->pid) || (by == LAT_BY_COMM && !k->comm[0]);
}

const char *lat_group_str(enum lat_by by, const struct lat_key *k, char *buf, size_t len)
{
	char comm[NL_COMM_LEN + 1];

	if (owner_unknown(by, k)) {
		snprintf(buf, len, "(owner unknown)");
		return buf;
	}
	switch (by) {
	case LAT_BY_DADDR_DPORT:
		return nl_fmt_endpoint(k->family, k->addr, k->port, buf, len);
	case LAT_BY_DADDR:
		return nl_fmt_addr(k->family, k->addr, buf, len);
	case LAT_BY_DPORT:
		snprintf(buf, len, "%u", k->port);
		break;
	case LAT_BY_COMM:
		snprintf(buf, len, "%s", nl_fmt_comm(k->comm, comm, sizeof(comm)));
		break;
	case LAT_BY_PID:
		snprintf(buf, len, "%u %s", k->pid, nl_fmt_comm(k->comm, comm, sizeof(comm)));
		break;
	case LAT_BY_CGROUP:
		snprintf(buf, len, "cgroup %llu", (unsigned long long)k->cgroup_id);
		break;
	}
	return buf;
}

struct json_object *lat_group_json(enum lat_by by, const struct lat_key *k)
{
	char buf[64], comm[NL_COMM_LEN + 1];

	if (owner_unknown(by, k))
		return NULL;
	switch (by) {
	case LAT_BY_DPORT:
		return json_object_new_int(k->port);
	case LAT_BY_PID:
		return json_object_new_int64(k->pid);
	case LAT_BY_CGROUP:
		return json_object_new_uint64(k->cgroup_id);
	case LAT_BY_COMM:
		/* The comm as the kernel has it (json-c escapes it), bounded, no '?' mapping. */
		memcpy(comm, k->comm, NL_COMM_LEN);
		comm[NL_COMM_LEN] = 0;
		return json_object_new_string(comm);
	default:
		return json_object_new_string(lat_group_str(by, k, buf, sizeof(buf)));
	}
}

int lat_report_add(struct lat_report *r, const struct lat_key *k, const struct nl_hist *h)
{
	struct lat_key key = *k;
	struct lat_row *row;

	key.epoch = 0;
	HASH_FIND(hh, r->rows, &key, sizeof(key), row);
	if (!row) {
		row = calloc(1, sizeof(*row));
		if (!row)
			return -ENOMEM;
		row->key = key;
		HASH_ADD(hh, r->rows, key, sizeof(row->key), row);
	}
	nl_hist_merge(&row->h, h);
	return 0;
}

/* By metric, then busiest group first. */
static int row_order(struct lat_row *a, struct lat_row *b)
{
	if (a->key.metric != b->key.metric)
		return a->key.metric < b->key.metric ? -1 : 1;
	return a->h.count < b->h.count ? 1 : a->h.count > b->h.count ? -1 : 0;
}

static void write_json(struct nl_sink *s, enum lat_by by, const struct lat_row *row)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("latency"));
	json_object_object_add(o, "metric", json_object_new_string(lat_metric_name(row->key.metric)));
	json_object_object_add(o, "group", lat_group_json(by, &row->key));
	nl_hist_json(o, &row->h);
	nl_sink_json(s, o);
	json_object_put(o);
}

static void write_stats_json(struct nl_sink *s, const uint64_t *st, unsigned int groups)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("stats"));
	json_object_object_add(o, "groups", json_object_new_int64(groups));
	json_object_object_add(o, "map_full", json_object_new_uint64(st[NL_STAT_MAP_FULL]));
	json_object_object_add(o, "map_busy", json_object_new_uint64(st[NL_STAT_MAP_BUSY]));
	nl_sink_json(s, o);
	json_object_put(o);
}

static void write_tables(struct nl_sink *s, enum lat_by by, struct lat_report *r,
			 const uint64_t *st)
{
	char ts[NL_TS_LEN], grp[80], p50[16], p90[16], p99[16], max[16];
	int metric = -1;
	unsigned int shown = 0;
	struct lat_row *row, *tmp;

	fprintf(s->out, "\n== %s  (grouped by %s; %llu samples not kept: map full %llu, busy %llu)\n",
		nl_fmt_clock(nl_mono_to_realtime(nl_now_mono()), ts, sizeof(ts)), lat_by_name(by),
		(unsigned long long)(st[NL_STAT_MAP_FULL] + st[NL_STAT_MAP_BUSY]),
		(unsigned long long)st[NL_STAT_MAP_FULL], (unsigned long long)st[NL_STAT_MAP_BUSY]);
	HASH_ITER(hh, r->rows, row, tmp) {
		if ((int)row->key.metric != metric) {
			metric = row->key.metric;
			shown = 0;
			fprintf(s->out, "\n%s\n%-30s %8s %9s %9s %9s %9s\n", metric_titles[metric],
				"GROUP", "COUNT", "P50", "P90", "P99", "MAX");
		}
		if (++shown > LATENCY_TABLE_GROUPS) {
			if (shown == LATENCY_TABLE_GROUPS + 1)
				fprintf(s->out, "... more groups (-o json lists them all)\n");
			continue;
		}
		fprintf(s->out, "%-30s %8llu %9s %9s %9s %9s\n", lat_group_str(by, &row->key, grp, sizeof(grp)),
			(unsigned long long)row->h.count,
			nl_fmt_usecs(nl_hist_percentile(&row->h, 50), p50, sizeof(p50)),
			nl_fmt_usecs(nl_hist_percentile(&row->h, 90), p90, sizeof(p90)),
			nl_fmt_usecs(nl_hist_percentile(&row->h, 99), p99, sizeof(p99)),
			nl_fmt_usecs(row->h.max_us, max, sizeof(max)));
		nl_hist_print(s->out, &row->h, "    ");
	}
}

void lat_report_write(struct lat_report *r, struct nl_sink *s, enum lat_by by,
		      const uint64_t *stats)
{
	struct lat_row *row, *tmp;

	HASH_SORT(r->rows, row_order);
	if (s->kind == NL_OUT_JSON) {
		HASH_ITER(hh, r->rows, row, tmp)
			write_json(s, by, row);
		write_stats_json(s, stats, HASH_COUNT(r->rows));
	} else {
		write_tables(s, by, r, stats);
	}
	lat_report_free(r);
}

void lat_report_free(struct lat_report *r)
{
	struct lat_row *row, *tmp;

	HASH_ITER(hh, r->rows, row, tmp) {
		HASH_DEL(r->rows, row);
		free(row);
	}
}
