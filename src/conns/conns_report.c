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
	nl_fold_free(r->fail_fold);
	nl_fold_free(r->listen_fold);
	conns_listen_report_free(&r->listen);
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

static void free_fails(struct conns_fail *f)
{
	struct conns_fail *next;

	for (; f; f = next) {
		next = f->next;
		free(f);
	}
}

void conns_report_clear(struct conns_report *r)
{
	struct conns_dest *d, *tmp;

	HASH_ITER(hh, r->dests, d, tmp) {
		HASH_DEL(r->dests, d);
		free_fails(d->fails);
		free(d);
	}
	free_fails(r->other.fails);
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

void conns_report_add_failures(struct conns_report *r, const struct conns_fail_key *k,
			       uint64_t count)
{
	struct conns_dest *d = dest_of(r, &k->dest);
	struct conns_fail *f;

	for (f = d->fails; f && f->error != k->error; f = f->next)
		;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return;
		f->error = k->error;
		f->next = d->fails;
		d->fails = f;
	}
	f->count += count;
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

/* {"ECONNREFUSED": 3, ...}: the destination's failed connects per errno. */
static struct json_object *errors_json(const struct conns_dest *d)
{
	struct json_object *j = json_object_new_object();
	char name[32];

	for (const struct conns_fail *f = d->fails; f; f = f->next)
		json_object_object_add(j, nl_errno_name(f->error, name, sizeof(name)),
				       json_object_new_int64(f->count));
	return j;
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
	json_object_object_add(j, "errors", errors_json(d));
	return j;
}

static struct json_object *listener_json(const struct conns_listener *l)
{
	struct json_object *j = json_object_new_object();
	char a[64], comm[NL_COMM_LEN + 1];

	json_object_object_add(j, "netns", json_object_new_int64(l->netns));
	json_object_object_add(j, "family", json_object_new_int(l->family));
	json_object_object_add(j, "laddr", json_object_new_string(nl_fmt_addr(l->family, l->addr,
									      a, sizeof(a))));
	json_object_object_add(j, "lport", json_object_new_int(l->port));
	json_object_object_add(j, "pid", json_object_new_int64(l->owner.pid));
	json_object_object_add(j, "comm", json_object_new_string(nl_fmt_comm(l->owner.comm, comm,
									     sizeof(comm))));
	json_object_object_add(j, "backlog", json_object_new_int64(l->backlog));
	json_object_object_add(j, "queue", json_object_new_int64(l->queue));
	json_object_object_add(j, "drops", json_object_new_int64(l->drops));
	json_object_object_add(j, "new_drops", json_object_new_int64(l->drops - l->drops_before));
	return j;
}

static struct json_object *netns_json(const struct conns_netns_stat *n)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "netns", json_object_new_int64(n->netns));
	json_object_object_add(j, "listen_overflows", json_object_new_int64(n->overflows));
	json_object_object_add(j, "listen_drops", json_object_new_int64(n->drops));
	json_object_object_add(j, "new_listen_overflows",
			       json_object_new_int64(n->overflows - n->overflows_before));
	json_object_object_add(j, "new_listen_drops",
			       json_object_new_int64(n->drops - n->drops_before));
	return j;
}

/*
 * "listeners": those the kernel dropped connections for; "listen_namespaces":
 * the namespaces whose ListenOverflows or ListenDrops are not 0.
 */
static void listen_json(const struct conns_listen_report *lr, struct json_object *o)
{
	struct json_object *ls = json_object_new_array(), *ns = json_object_new_array();

	for (size_t i = 0; i < lr->n; i++)
		if (lr->v[i].drops)
			json_object_array_add(ls, listener_json(&lr->v[i]));
	for (size_t i = 0; i < lr->nns; i++)
		if (lr->ns[i].overflows || lr->ns[i].drops)
			json_object_array_add(ns, netns_json(&lr->ns[i]));
	json_object_object_add(o, "listeners", ls);
	json_object_object_add(o, "listen_namespaces", ns);
	json_object_object_add(o, "listen_namespaces_unreadable",
			       json_object_new_int64(lr->unreadable));
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
	listen_json(&r->listen, o);
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

/*
 * Listeners the kernel dropped connections for since netlens started, after
 * the destinations (older drops are history: the JSON record has them).
 */
static void listen_table(const struct conns_listen_report *lr, struct nl_sink *s)
{
	char ep[64], comm[NL_COMM_LEN + 1];
	bool header = false;

	for (size_t i = 0; i < lr->n; i++) {
		const struct conns_listener *l = &lr->v[i];

		if (l->drops == l->drops_before)
			continue;
		if (!header)
			fprintf(s->out, "%-30s %-10s %-7s %-16s %7s %7s %9s\n", "LISTENER", "NETNS",
				"PID", "COMM", "BACKLOG", "QUEUE", "DROPS");
		header = true;
		fprintf(s->out, "%-30s %-10u %-7u %-16s %7u %7u %9llu\n",
			nl_fmt_endpoint(l->family, l->addr, l->port, ep, sizeof(ep)), l->netns,
			l->owner.pid, l->owner.pid ? nl_fmt_comm(l->owner.comm, comm, sizeof(comm)) : "-",
			l->backlog, l->queue, (unsigned long long)(l->drops - l->drops_before));
	}
	for (size_t i = 0; i < lr->nns; i++) {
		const struct conns_netns_stat *n = &lr->ns[i];

		if (n->overflows != n->overflows_before || n->drops != n->drops_before)
			fprintf(s->out, "netns %u: ListenOverflows +%llu, ListenDrops +%llu\n", n->netns,
				(unsigned long long)(n->overflows - n->overflows_before),
				(unsigned long long)(n->drops - n->drops_before));
	}
}

void conns_report_summary(struct conns_report *r, struct nl_sink *s, const uint64_t *stats)
{
	if (s->kind == NL_OUT_JSON) {
		summary_json(r, s, stats);
	} else {
		summary_table(r, s, stats);
		listen_table(&r->listen, s);
	}
}

enum { CM_CONNECTIONS, CM_CLOSED, CM_SENT, CM_RECEIVED, CM_NVALS };

static const struct { const char *name, *help; } conns_families[CM_NVALS] = {
	{ "netlens_tcp_connections_total",
	  "TCP connections established, per destination (connect succeeded, or accepted)." },
	{ "netlens_tcp_connections_closed_total", "TCP connections closed." },
	{ "netlens_tcp_sent_bytes_total", "Bytes sent on TCP connections, counted at close." },
	{ "netlens_tcp_received_bytes_total", "Bytes received on TCP connections, counted at close." },
};

#define FAILURES "netlens_tcp_connection_failures_total"
#define OTHER_DEST "direction=\"other\",daddr=\"other\",dport=\"other\""

static void dest_vals(const struct conns_dest *d, uint64_t *v)
{
	v[CM_CONNECTIONS] = d->connects + d->accepts;
	v[CM_CLOSED] = d->closes;
	v[CM_SENT] = d->bytes_sent;
	v[CM_RECEIVED] = d->bytes_received;
}

static void fold_dest(struct nl_fold *f, const struct conns_dest *d, const char *labels)
{
	uint64_t v[CM_NVALS];

	dest_vals(d, v);
	nl_fold_put(f, labels, v[CM_CONNECTIONS] + d->failed + v[CM_SENT] + v[CM_RECEIVED], v);
}

/* One series per errno of a destination; dest_labels already written (no errno yet). */
static void fold_fails(struct nl_fold *f, const struct conns_dest *d, const char *dest_labels)
{
	char labels[224], name[32];

	for (const struct conns_fail *e = d->fails; e; e = e->next) {
		snprintf(labels, sizeof(labels), "%s,errno=\"%s\"", dest_labels,
			 nl_errno_name(e->error, name, sizeof(name)));
		nl_fold_put(f, labels, e->count, &e->count);
	}
}

static void write_folded(struct nl_prom *p, const char *family, const char *help,
			 const struct nl_fold *f, int val)
{
	const struct nl_fold_row *rows;
	size_t n;

	rows = nl_fold_rows(f, &n);
	nl_prom_family(p, family, NL_PROM_COUNTER, help);
	for (size_t i = 0; i < n; i++)
		nl_prom_counter(p, family, rows[i].labels, rows[i].vals[val]);
}

#define LISTEN_DROPS "netlens_tcp_listen_drops_total"
#define NS_OVERFLOWS "netlens_tcp_netns_listen_overflows_total"
#define NS_DROPS "netlens_tcp_netns_listen_drops_total"

/*
 * The kernel's own counts: per listener that dropped connections (sk_drops,
 * folded by --max-series), per namespace TcpExt ListenOverflows/ListenDrops.
 */
static void listen_metrics(struct conns_report *r, struct nl_prom *p)
{
	const struct conns_listen_report *lr = &r->listen;
	char labels[200], ns[16], a[64], port[8];

	if (!r->listen_fold)
		r->listen_fold = nl_fold_new(1, "netns=\"other\",laddr=\"other\",lport=\"other\"");
	nl_fold_begin(r->listen_fold);
	for (size_t i = 0; i < lr->n; i++) {
		const struct conns_listener *l = &lr->v[i];

		if (!l->drops)
			continue;
		snprintf(ns, sizeof(ns), "%u", l->netns);
		snprintf(port, sizeof(port), "%u", l->port);
		nl_prom_labels(labels, sizeof(labels), "netns", ns, "laddr",
			       nl_fmt_addr(l->family, l->addr, a, sizeof(a)), "lport", port, NULL);
		nl_fold_put(r->listen_fold, labels, l->drops, &l->drops);
	}
	nl_fold_end(r->listen_fold, nl_prom_max_series(p));
	write_folded(p, LISTEN_DROPS, "Connections a TCP listener dropped, as the kernel counts "
		     "them (accept queue full, ...; ss -tlme's d).", r->listen_fold, 0);
	nl_prom_folded(p, LISTEN_DROPS, r->listen_fold);
	nl_prom_family(p, NS_OVERFLOWS, NL_PROM_COUNTER,
		       "TcpExt ListenOverflows of a network namespace (accept queue full).");
	nl_prom_family(p, NS_DROPS, NL_PROM_COUNTER,
		       "TcpExt ListenDrops of a network namespace (SYNs or ACKs a listener dropped).");
	for (size_t i = 0; i < lr->nns; i++) {
		if (!lr->ns[i].overflows && !lr->ns[i].drops)
			continue;
		snprintf(ns, sizeof(ns), "%u", lr->ns[i].netns);
		nl_prom_labels(labels, sizeof(labels), "netns", ns, NULL);
		nl_prom_counter(p, NS_OVERFLOWS, labels, lr->ns[i].overflows);
		nl_prom_counter(p, NS_DROPS, labels, lr->ns[i].drops);
	}
}

void conns_report_metrics(struct conns_report *r, struct nl_prom *p)
{
	struct conns_dest *d, *tmp;
	char labels[160];

	if (!r->fold)
		r->fold = nl_fold_new(CM_NVALS, OTHER_DEST);
	if (!r->fail_fold)
		r->fail_fold = nl_fold_new(1, OTHER_DEST ",errno=\"other\"");
	nl_fold_begin(r->fold);
	nl_fold_begin(r->fail_fold);
	HASH_ITER(hh, r->dests, d, tmp) {
		nl_prom_dest(labels, sizeof(labels), d->key.inbound ? "inbound" : "outbound",
			     d->key.family, d->key.addr, d->key.port);
		fold_dest(r->fold, d, labels);
		fold_fails(r->fail_fold, d, labels);
	}
	/* Destinations beyond the report's own table are "other" already (errno kept). */
	if (r->folded) {
		fold_dest(r->fold, &r->other, OTHER_DEST);
		fold_fails(r->fail_fold, &r->other, OTHER_DEST);
	}
	nl_fold_end(r->fold, nl_prom_max_series(p));
	nl_fold_end(r->fail_fold, nl_prom_max_series(p));
	for (int m = 0; m < CM_NVALS; m++)
		write_folded(p, conns_families[m].name, conns_families[m].help, r->fold, m);
	write_folded(p, FAILURES, "TCP connect attempts that failed, per errno.", r->fail_fold, 0);
	nl_prom_folded(p, conns_families[CM_CONNECTIONS].name, r->fold);
	nl_prom_folded(p, FAILURES, r->fail_fold);
	listen_metrics(r, p);
	nl_prom_family(p, "netlens_parse_errors_total", NL_PROM_COUNTER,
		       "Records or packets a module could not parse.");
	nl_prom_counter(p, "netlens_parse_errors_total", "module=\"conns\"", r->bad_records);
}
