// SPDX-License-Identifier: GPL-2.0
/* netlens retrans: records and per-destination totals as JSON or tables. */
#include <stdlib.h>
#include <string.h>
#include "output/format.h"
#include "retrans/retrans.h"
#include "framework/sys.h"

static const char *const kind_names[] = {
	[RETRANS_DATA] = "data", [RETRANS_SYN] = "syn", [RETRANS_SYNACK] = "synack",
};

static void write_json(struct nl_sink *s, const struct retrans_event *e)
{
	struct nl_jw *w = &s->jw;

	nl_jw_sock(w, "retransmit", e->ts_ns, &e->id, &e->owner);
	nl_jw_str(w, "state", nl_tcp_state_name(e->state));
	nl_jw_str(w, "kind", kind_names[e->kind]);
	nl_jw_uint(w, "segments", e->segments);
	nl_sink_jw(s);
}

static void write_row(struct nl_sink *s, const struct retrans_event *e)
{
	const struct nl_tuple *t = &e->id.tuple;
	char ts[NL_TS_LEN], local[64], remote[64], comm[NL_COMM_LEN + 1];

	nl_sink_header(s, "TIME         PID     COMM             LOCAL                        "
			  "REMOTE                       STATE        KIND    SEGS");
	fprintf(s->out, "%-12s %-7u %-16s %-28s %-28s %-12s %-7s %u\n",
		nl_fmt_clock(nl_mono_to_realtime(e->ts_ns), ts, sizeof(ts)), e->owner.pid,
		e->owner.pid ? nl_fmt_comm(e->owner.comm, comm, sizeof(comm)) : "-",
		nl_fmt_endpoint(t->family, t->saddr, t->sport, local, sizeof(local)),
		nl_fmt_endpoint(t->family, t->daddr, t->dport, remote, sizeof(remote)),
		nl_tcp_state_name(e->state), kind_names[e->kind], e->segments);
}

bool retrans_report_event(struct nl_sink *s, const void *data, size_t len)
{
	const struct retrans_event *e = data;

	if (len < sizeof(*e) || e->kind < RETRANS_DATA || e->kind > RETRANS_SYNACK ||
	    (e->id.tuple.family != 4 && e->id.tuple.family != 6))
		return false;
	if (!nl_sink_wants_records(s))
		return true;
	if (s->kind == NL_OUT_JSON)
		write_json(s, e);
	else
		write_row(s, e);
	return true;
}

double retrans_ratio(const struct retrans_dest *d)
{
	return d->segments ? (double)d->retransmits / d->segments : -1;
}

/* For sorting: a destination with retransmits and no known segments ranks as 100%. */
static double badness(const struct retrans_dest *d)
{
	double r = retrans_ratio(d);

	return r >= 0 ? r : d->retransmits ? 1.0 : 0.0;
}

static int worst_first(const void *pa, const void *pb)
{
	const struct retrans_row *a = pa, *b = pb;
	double ra = badness(&a->d), rb = badness(&b->d);

	if (ra != rb)
		return ra < rb ? 1 : -1;
	if (a->d.retransmits != b->d.retransmits)
		return a->d.retransmits < b->d.retransmits ? 1 : -1;
	return a->d.segments < b->d.segments ? 1 : a->d.segments > b->d.segments ? -1 : 0;
}

void retrans_sort(struct retrans_row *rows, size_t n)
{
	qsort(rows, n, sizeof(*rows), worst_first);
}

static struct json_object *dest_json(const struct retrans_row *r)
{
	struct json_object *j = json_object_new_object();
	double ratio = retrans_ratio(&r->d);

	nl_json_dest(j, r->key.inbound, r->key.family, r->key.addr, r->key.port);
	json_object_object_add(j, "retransmits", json_object_new_uint64(r->d.retransmits));
	json_object_object_add(j, "segments", json_object_new_uint64(r->d.segments));
	json_object_object_add(j, "syn_retransmits", json_object_new_uint64(r->d.syn_retransmits));
	json_object_object_add(j, "ratio", ratio >= 0 ? json_object_new_double(ratio) : NULL);
	return j;
}

static void summary_json(struct nl_sink *s, const struct retrans_row *rows, size_t n,
			 const uint64_t *st, uint64_t bad)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(o, "type", json_object_new_string("stats"));
	json_object_object_add(o, "events", json_object_new_uint64(st[NL_STAT_EVENTS]));
	json_object_object_add(o, "lost", json_object_new_uint64(st[NL_STAT_LOST]));
	json_object_object_add(o, "map_full", json_object_new_uint64(st[NL_STAT_MAP_FULL]));
	json_object_object_add(o, "map_busy", json_object_new_uint64(st[NL_STAT_MAP_BUSY]));
	json_object_object_add(o, "bad_records", json_object_new_uint64(bad));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, dest_json(&rows[i]));
	json_object_object_add(o, "destinations", arr);
	nl_sink_json(s, o);
	json_object_put(o);
}

static void summary_table(struct nl_sink *s, const struct retrans_row *rows, size_t n,
			  const uint64_t *st)
{
	char ep[64], pct[16];

	fprintf(s->out, "\n%llu retransmission records, %llu lost (ring buffer full), "
		"%llu not totalled (map full %llu, busy %llu)\n",
		(unsigned long long)st[NL_STAT_EVENTS], (unsigned long long)st[NL_STAT_LOST],
		(unsigned long long)(st[NL_STAT_MAP_FULL] + st[NL_STAT_MAP_BUSY]),
		(unsigned long long)st[NL_STAT_MAP_FULL], (unsigned long long)st[NL_STAT_MAP_BUSY]);
	if (!n)
		return;
	fprintf(s->out, "%-30s %-8s %10s %12s %8s\n", "DESTINATION", "DIR", "RETRANS",
		"SEGMENTS", "RATIO");
	for (size_t i = 0; i < n; i++) {
		const struct retrans_row *r = &rows[i];
		double ratio = retrans_ratio(&r->d);

		if (i == RETRANS_TABLE_DESTS) {
			fprintf(s->out, "... %zu more (-o json lists them all)\n", n - i);
			break;
		}
		if (ratio >= 0)
			snprintf(pct, sizeof(pct), "%.2f%%", ratio * 100);
		else
			snprintf(pct, sizeof(pct), "-");
		fprintf(s->out, "%-30s %-8s %10llu %12llu %8s\n",
			nl_fmt_endpoint(r->key.family, r->key.addr, r->key.port, ep, sizeof(ep)),
			r->key.inbound ? "inbound" : "outbound", (unsigned long long)r->d.retransmits,
			(unsigned long long)r->d.segments, pct);
	}
}

void retrans_report_summary(struct nl_sink *s, struct retrans_row *rows, size_t n,
			    const uint64_t *stats, uint64_t bad_records)
{
	retrans_sort(rows, n);
	if (s->kind == NL_OUT_JSON)
		summary_json(s, rows, n, stats, bad_records);
	else
		summary_table(s, rows, n, stats);
}
