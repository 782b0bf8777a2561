// SPDX-License-Identifier: GPL-2.0
/* netlens conns: turning kernel records into JSON, table rows and totals. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "conns/conns.h"
#include "output/format.h"
#include "framework/sys.h"

static const char *const type_names[] = {
	[CONN_EV_CONNECT] = "connect", [CONN_EV_ACCEPT] = "accept",
	[CONN_EV_FAILED] = "failed", [CONN_EV_CLOSE] = "close",
};

void conns_report_init(struct conns_report *r)
{
	memset(r, 0, sizeof(*r));
}

void conns_report_free(struct conns_report *r)
{
	nl_fold_free(r->fold);
	conns_report_clear(r);
}

/* The totals for k: its own entry, or "other" once CONNS_MAX_DESTS are kept. */
static struct conns_dest *dest_of(struct conns_report *r, const struct nl_dest_key *k)
{
	struct conns_dest *d;

	HASH_FIND(hh, r->dests, k, sizeof(*k), d);
	if (!d && HASH_COUNT(r->dests) < CONNS_MAX_DESTS && (d = calloc(1, sizeof(*d)))) {
		d->key = *k;
		HASH_ADD(hh, r->dests, key, sizeof(*k), d);
	}
	if (!d) {
		r->folded++;
		return &r->other;
	}
	return d;
}

void conns_report_clear(struct conns_report *r)
{
	struct conns_dest *d, *tmp;

	HASH_ITER(hh, r->dests, d, tmp) {
		HASH_DEL(r->dests, d);
		free(d);
	}
	memset(&r->other, 0, sizeof(r->other));
	r->folded = 0;
}

void conns_report_add(struct conns_report *r, const struct nl_dest_key *k,
		      const struct conns_dest_totals *t)
{
	struct conns_dest *d = dest_of(r, k);

	d->connects += t->connects;
	d->accepts += t->accepts;
	d->failed += t->failed;
	d->closes += t->closes;
	d->bytes_sent += t->bytes_sent;
	d->bytes_received += t->bytes_received;
	d->retransmits += t->retransmits;
}

static const char *direction_name(uint8_t flags)
{
	if (flags & CONN_F_OUTBOUND)
		return "outbound";
	if (flags & CONN_F_INBOUND)
		return "inbound";
	return NULL;
}

static void jw_error(struct nl_jw *w, const char *key, int err)
{
	char buf[32];

	if (err)
		nl_jw_str(w, key, nl_errno_name(err, buf, sizeof(buf)));
	else
		nl_jw_null(w, key);
}

/* Every record of a type has the same keys; unknown values are null. */
static void write_json(struct nl_sink *s, const struct conn_event *e)
{
	struct nl_jw *w = &s->jw;
	const char *dir;

	nl_jw_sock(w, type_names[e->type], e->ts_ns, &e->id, &e->owner);
	switch (e->type) {
	case CONN_EV_CONNECT:
		nl_jw_uint(w, "latency_us", e->latency_ns / 1000);
		break;
	case CONN_EV_ACCEPT:
		/* Queue time is known only when accept(2) took it. */
		if (e->flags & CONN_F_ACCEPTED)
			nl_jw_uint(w, "queue_us", e->latency_ns / 1000);
		else
			nl_jw_null(w, "queue_us");
		break;
	case CONN_EV_FAILED:
		jw_error(w, "error", e->error);
		/* Failed inside connect(2) before any TCP state: nothing was timed. */
		if (e->flags & CONN_F_SYSCALL)
			nl_jw_null(w, "latency_us");
		else
			nl_jw_uint(w, "latency_us", e->latency_ns / 1000);
		break;
	case CONN_EV_CLOSE:
		dir = direction_name(e->flags);
		if (dir)
			nl_jw_str(w, "direction", dir);
		else
			nl_jw_null(w, "direction");
		if (e->flags & CONN_F_BIRTH)
			nl_jw_fixed(w, "duration_ms", e->duration_ns / 1000, 3);
		else
			nl_jw_null(w, "duration_ms");
		nl_jw_uint(w, "bytes_sent", e->bytes_sent);
		nl_jw_uint(w, "bytes_received", e->bytes_received);
		nl_jw_uint(w, "retransmits", e->retransmits);
		nl_jw_uint(w, "srtt_us", e->srtt_us);
		nl_jw_str(w, "state", nl_tcp_state_name(e->state));
		jw_error(w, "error", e->error);
		break;
	}
	nl_sink_jw(s);
}

static void details(const struct conn_event *e, char *out, size_t len)
{
	char a[32], b[32], d[32], rtt[32], err[32];

	switch (e->type) {
	case CONN_EV_CONNECT:
		snprintf(out, len, "latency %s", nl_fmt_usecs(e->latency_ns / 1000, a, sizeof(a)));
		break;
	case CONN_EV_ACCEPT:
		if (e->flags & CONN_F_ACCEPTED)
			snprintf(out, len, "queued %s", nl_fmt_usecs(e->latency_ns / 1000, a, sizeof(a)));
		else
			snprintf(out, len, "closed before accept(2)");
		break;
	case CONN_EV_FAILED:
		if (e->flags & CONN_F_SYSCALL)
			snprintf(out, len, "%s in connect(2)", nl_errno_name(e->error, err, sizeof(err)));
		else
			snprintf(out, len, "%s after %s", nl_errno_name(e->error, err, sizeof(err)),
				 nl_fmt_usecs(e->latency_ns / 1000, a, sizeof(a)));
		break;
	case CONN_EV_CLOSE:
		snprintf(out, len, "%s tx %s rx %s retrans %u srtt %s from %s%s%s",
			 e->flags & CONN_F_BIRTH ? nl_fmt_usecs(e->duration_ns / 1000, d, sizeof(d)) : "?",
			 nl_fmt_bytes(e->bytes_sent, a, sizeof(a)),
			 nl_fmt_bytes(e->bytes_received, b, sizeof(b)), e->retransmits,
			 nl_fmt_usecs(e->srtt_us, rtt, sizeof(rtt)), nl_tcp_state_name(e->state),
			 e->error ? " " : "", e->error ? nl_errno_name(e->error, err, sizeof(err)) : "");
		break;
	}
}

static void write_row(struct nl_sink *s, const struct conn_event *e)
{
	const struct nl_tuple *t = &e->id.tuple;
	char ts[NL_TS_LEN], local[64], remote[64], more[160], comm[NL_COMM_LEN + 1];

	nl_sink_header(s, "TIME         EVENT    PID     COMM             "
			  "LOCAL                        REMOTE                       DETAILS");
	details(e, more, sizeof(more));
	fprintf(s->out, "%-12s %-8s %-7u %-16s %-28s %-28s %s\n",
		nl_fmt_clock(nl_mono_to_realtime(e->ts_ns), ts, sizeof(ts)), type_names[e->type],
		e->owner.pid, e->owner.pid ? nl_fmt_comm(e->owner.comm, comm, sizeof(comm)) : "-",
		nl_fmt_endpoint(t->family, t->saddr, t->sport, local, sizeof(local)),
		nl_fmt_endpoint(t->family, t->daddr, t->dport, remote, sizeof(remote)), more);
}

void conns_report_event(struct conns_report *r, struct nl_sink *s, const void *data, size_t len)
{
	const struct conn_event *e = data;

	if (len < sizeof(*e) || e->type < CONN_EV_CONNECT || e->type > CONN_EV_CLOSE ||
	    (e->id.tuple.family != 4 && e->id.tuple.family != 6)) {
		r->bad_records++;
		return;
	}
	if (!nl_sink_wants_records(s))
		return;
	if (s->kind == NL_OUT_JSON)
		write_json(s, e);
	else
		write_row(s, e);
}

static uint64_t activity(const struct conns_dest *d)
{
	return d->connects + d->accepts + d->failed + d->closes;
}

static int busiest_first(struct conns_dest *a, struct conns_dest *b)
{
	return activity(a) < activity(b) ? 1 : activity(a) > activity(b) ? -1 : 0;
}

/* One destination's totals; the "other" bucket has no address of its own. */
static struct json_object *dest_json(const struct conns_dest *d)
{
	struct json_object *j = json_object_new_object();

	if (d->key.family)
		nl_json_dest(j, d->key.inbound, d->key.family, d->key.addr, d->key.port);
	json_object_object_add(j, "connects", json_object_new_int64(d->connects));
	json_object_object_add(j, "accepts", json_object_new_int64(d->accepts));
	json_object_object_add(j, "failed", json_object_new_int64(d->failed));
	json_object_object_add(j, "closes", json_object_new_int64(d->closes));
	json_object_object_add(j, "bytes_sent", json_object_new_int64(d->bytes_sent));
	json_object_object_add(j, "bytes_received", json_object_new_int64(d->bytes_received));
	json_object_object_add(j, "retransmits", json_object_new_int64(d->retransmits));
	return j;
}

static void summary_json(struct conns_report *r, struct nl_sink *s, const uint64_t *st)
{
	static const struct { const char *name; int idx; } counters[] = {
		{ "events", NL_STAT_EVENTS }, { "lost", NL_STAT_LOST },
		{ "map_full", NL_STAT_MAP_FULL }, { "map_busy", NL_STAT_MAP_BUSY },
		{ "untracked_closes", CONN_STAT_UNTRACKED_CLOSE },
		{ "unaccepted", CONN_STAT_UNACCEPTED },
	};
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct conns_dest *d, *tmp;

	json_object_object_add(o, "type", json_object_new_string("stats"));
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		json_object_object_add(o, counters[i].name, json_object_new_int64(st[counters[i].idx]));
	json_object_object_add(o, "bad_records", json_object_new_int64(r->bad_records));
	HASH_SORT(r->dests, busiest_first);
	HASH_ITER(hh, r->dests, d, tmp)
		json_object_array_add(arr, dest_json(d));
	json_object_object_add(o, "destinations", arr);
	/* Beyond CONNS_MAX_DESTS destinations, the rest are summed here. */
	if (r->folded)
		json_object_object_add(o, "other_destinations", dest_json(&r->other));
	nl_sink_json(s, o);
	json_object_put(o);
}

static void table_dest(struct nl_sink *s, const struct conns_dest *d, const char *name,
		       const char *dir)
{
	char a[32], b[32];

	fprintf(s->out, "%-30s %-8s %8llu %8llu %7llu %7llu %9s %9s %7llu\n", name, dir,
		(unsigned long long)d->connects, (unsigned long long)d->accepts,
		(unsigned long long)d->failed, (unsigned long long)d->closes,
		nl_fmt_bytes(d->bytes_sent, a, sizeof(a)), nl_fmt_bytes(d->bytes_received, b, sizeof(b)),
		(unsigned long long)d->retransmits);
}

static void summary_table(struct conns_report *r, struct nl_sink *s, const uint64_t *st)
{
	struct conns_dest *d, *tmp;
	unsigned int rows = 0;
	char ep[64];

	fprintf(s->out, "\n%llu events, %llu lost (ring buffer full), %llu connections not tracked "
		"(map full %llu, busy %llu), %llu closes of connections older than netlens\n",
		(unsigned long long)st[NL_STAT_EVENTS], (unsigned long long)st[NL_STAT_LOST],
		(unsigned long long)(st[NL_STAT_MAP_FULL] + st[NL_STAT_MAP_BUSY]),
		(unsigned long long)st[NL_STAT_MAP_FULL], (unsigned long long)st[NL_STAT_MAP_BUSY],
		(unsigned long long)st[CONN_STAT_UNTRACKED_CLOSE]);
	if (!r->dests)
		return;
	fprintf(s->out, "%-30s %-8s %8s %8s %7s %7s %9s %9s %7s\n", "DESTINATION", "DIR",
		"CONNECTS", "ACCEPTS", "FAILED", "CLOSES", "SENT", "RECEIVED", "RETRANS");
	HASH_SORT(r->dests, busiest_first);
	HASH_ITER(hh, r->dests, d, tmp) {
		if (rows++ == CONNS_TABLE_DESTS) {
			fprintf(s->out, "... %u more (-o json lists them all)\n",
				HASH_COUNT(r->dests) - CONNS_TABLE_DESTS);
			break;
		}
		table_dest(s, d, nl_fmt_endpoint(d->key.family, d->key.addr, d->key.port,
						  ep, sizeof(ep)), d->key.inbound ? "inbound" : "outbound");
	}
	if (r->folded)
		table_dest(s, &r->other, "other destinations", "");
}

void conns_report_summary(struct conns_report *r, struct nl_sink *s, const uint64_t *stats)
{
	if (s->kind == NL_OUT_JSON)
		summary_json(r, s, stats);
	else
		summary_table(r, s, stats);
}

enum { CM_CONNECTIONS, CM_FAILURES, CM_CLOSED, CM_SENT, CM_RECEIVED, CM_NVALS };

static const struct { const char *name, *help; } conns_families[CM_NVALS] = {
	{ "netlens_tcp_connections_total",
	  "TCP connections established, per destination (connect succeeded, or accepted)." },
	{ "netlens_tcp_connection_failures_total", "TCP connect attempts that failed." },
	{ "netlens_tcp_connections_closed_total", "TCP connections closed." },
	{ "netlens_tcp_sent_bytes_total", "Bytes sent on TCP connections, counted at close." },
	{ "netlens_tcp_received_bytes_total", "Bytes received on TCP connections, counted at close." },
};

static void dest_vals(const struct conns_dest *d, uint64_t *v)
{
	v[CM_CONNECTIONS] = d->connects + d->accepts;
	v[CM_FAILURES] = d->failed;
	v[CM_CLOSED] = d->closes;
	v[CM_SENT] = d->bytes_sent;
	v[CM_RECEIVED] = d->bytes_received;
}

static void fold_dest(struct nl_fold *f, const struct conns_dest *d, const char *labels)
{
	uint64_t v[CM_NVALS];

	dest_vals(d, v);
	nl_fold_put(f, labels, v[CM_CONNECTIONS] + v[CM_FAILURES] + v[CM_SENT] + v[CM_RECEIVED], v);
}

void conns_report_metrics(struct conns_report *r, struct nl_prom *p)
{
	static const char other[] = "direction=\"other\",daddr=\"other\",dport=\"other\"";
	const struct nl_fold_row *rows;
	struct conns_dest *d, *tmp;
	char labels[160];
	size_t n;

	if (!r->fold)
		r->fold = nl_fold_new(CM_NVALS, other);
	nl_fold_begin(r->fold);
	HASH_ITER(hh, r->dests, d, tmp)
		fold_dest(r->fold, d, nl_prom_dest(labels, sizeof(labels),
						   d->key.inbound ? "inbound" : "outbound",
						   d->key.family, d->key.addr, d->key.port));
	/* Destinations beyond the report's own table are "other" already. */
	if (r->folded)
		fold_dest(r->fold, &r->other, other);
	nl_fold_end(r->fold, nl_prom_max_series(p));
	rows = nl_fold_rows(r->fold, &n);
	for (int m = 0; m < CM_NVALS; m++) {
		nl_prom_family(p, conns_families[m].name, NL_PROM_COUNTER, conns_families[m].help);
		for (size_t i = 0; i < n; i++)
			nl_prom_counter(p, conns_families[m].name, rows[i].labels, rows[i].vals[m]);
	}
	nl_prom_folded(p, conns_families[CM_CONNECTIONS].name, r->fold);
	nl_prom_family(p, "netlens_parse_errors_total", NL_PROM_COUNTER,
		       "Records or packets a module could not parse.");
	nl_prom_counter(p, "netlens_parse_errors_total", "module=\"conns\"", r->bad_records);
}
