// SPDX-License-Identifier: GPL-2.0
/*
 * netlens dns: from captured packets to transactions. A query and its answer
 * are matched by (client, server, ports, transport, id). When both ends are
 * local the kernel sees each message twice (leaving one socket, reaching the
 * other): the query counts once, and the answer is taken where it reaches the
 * client, so latency is what the client waited.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "dns/dns.h"
#include "output/format.h"
#include "output/hist.h"
#include "framework/sys.h"

#define DNS_TCP_PREFIX 2

static void table_free(struct dns_table *t)
{
	struct dns_agg *a, *tmp;

	HASH_ITER(hh, t->items, a, tmp) {
		HASH_DEL(t->items, a);
		free(a->name);
		free(a);
	}
}

void dns_report_init(struct dns_report *r, uint64_t timeout_ns, unsigned int top)
{
	memset(r, 0, sizeof(*r));
	r->timeout_ns = timeout_ns;
	r->top = top;
}

void dns_report_free(struct dns_report *r)
{
	struct dns_txn *t, *tmp;

	HASH_ITER(hh, r->pending, t, tmp) {
		HASH_DEL(r->pending, t);
		free(t);
	}
	table_free(&r->qnames);
	table_free(&r->servers);
	table_free(&r->sources);
	free(r->k.rows);
	nl_fold_free(r->fold);
}

/* The totals kept under key, or NULL. */
static struct dns_agg *agg_find(struct dns_table *t, const void *key, size_t klen)
{
	struct dns_agg *a;

	HASH_FIND(hh, t->items, key, klen, a);
	return a;
}

/* A new entry for key, shown as name; "other" once DNS_MAX_KEYS are kept. */
static struct dns_agg *agg_new(struct dns_table *t, const void *key, size_t klen, const char *name)
{
	struct dns_agg *a;

	if (HASH_COUNT(t->items) < DNS_MAX_KEYS && (a = calloc(1, sizeof(*a) + klen))) {
		a->name = strdup(name);
		if (a->name) {
			a->key = memcpy(a + 1, key, klen);
			HASH_ADD_KEYPTR(hh, t->items, a->key, klen, a);
			return a;
		}
		free(a);
	}
	t->folded++;
	return &t->other;
}

static struct dns_agg *qname_agg(struct dns_table *t, const char *qname)
{
	size_t len = strlen(qname);
	struct dns_agg *a = agg_find(t, qname, len);

	return a ? a : agg_new(t, qname, len, qname);
}

/*
 * Servers and sources are keyed by their binary address and port: the text
 * is formatted once per new entry, not once per transaction.
 */
static struct dns_agg *endpoint_agg(struct dns_table *t, uint8_t family, const uint8_t *addr,
				    const uint16_t *port)
{
	struct dns_endpoint k = { .family = family, .port = port ? *port : 0 };
	char name[NL_ADDR_LEN + 8];
	struct dns_agg *a;

	memcpy(k.addr, addr, sizeof(k.addr));
	a = agg_find(t, &k, sizeof(k));
	if (a)
		return a;
	if (port)
		nl_fmt_endpoint(family, addr, *port, name, sizeof(name));
	else
		nl_fmt_addr(family, addr, name, sizeof(name));
	return agg_new(t, &k, sizeof(k), name);
}

/* A finished transaction (answered, or timed out when msg is NULL) into its rows. */
static void tally(const struct dns_txn *t, const struct dns_msg *msg, const uint64_t *latency_us)
{
	int slot = msg ? msg->rcode : DNS_RCODE_TIMEOUT;

	for (int i = 0; i < DNS_TABLES; i++) {
		t->aggs[i]->rcodes[slot]++;
		if (latency_us)
			nl_hist_add(&t->aggs[i]->latency, *latency_us);
	}
}

/* A query sent: counted in its rows now, so that pending ones are in them too. */
static void count_query(struct dns_report *r, struct dns_txn *t)
{
	const struct nl_tuple *tp = &t->id.tuple;

	t->aggs[DNS_TABLE_QNAME] = qname_agg(&r->qnames, t->qname);
	t->aggs[DNS_TABLE_SOURCE] = endpoint_agg(&r->sources, tp->family, tp->saddr, NULL);
	for (int i = 0; i < DNS_TABLES; i++) {
		t->aggs[i]->queries++;
		if (t->owner.pid)
			t->aggs[i]->owner = t->owner;
		t->aggs[i]->netns = t->id.netns;
	}
}

static const char *rcode_text(int slot, char *buf, size_t len)
{
	return slot == DNS_RCODE_TIMEOUT ? "TIMEOUT" : dns_rcode_name(slot, buf, len);
}

static void write_json(struct nl_sink *s, const struct dns_txn *t, const struct dns_msg *msg,
		       const uint64_t *latency_us)
{
	struct nl_jw *w = &s->jw;
	char buf[32];

	nl_jw_sock(w, "dns", t->ts_ns, &t->id, &t->owner);
	nl_jw_str(w, "transport", t->key.proto == 6 ? "tcp" : "udp");
	nl_jw_uint(w, "id", t->key.id);
	nl_jw_uint(w, "retransmits", t->retransmits);
	nl_jw_str(w, "qname", t->qname);
	nl_jw_str(w, "qtype", dns_type_name(t->qtype, buf, sizeof(buf)));
	nl_jw_str(w, "rcode", rcode_text(msg ? msg->rcode : DNS_RCODE_TIMEOUT, buf, sizeof(buf)));
	nl_jw_array(w, "answers");
	for (unsigned int i = 0; msg && i < msg->n_answers; i++) {
		const struct dns_rr *rr = &msg->answers[i];

		nl_jw_object(w);
		nl_jw_strn(w, "name", rr->name, sizeof(rr->name));
		nl_jw_str(w, "type", dns_type_name(rr->type, buf, sizeof(buf)));
		nl_jw_uint(w, "ttl", rr->ttl);
		nl_jw_strn(w, "data", rr->data, sizeof(rr->data));
		nl_jw_close(w, '}');
	}
	nl_jw_close(w, ']');
	if (latency_us)
		nl_jw_uint(w, "latency_us", *latency_us);
	else
		nl_jw_null(w, "latency_us");
	nl_sink_jw(s);
}

/* "10.0.0.1, a.example -> CNAME b.example" condensed for the table: first answers only. */
static void answers_text(const struct dns_msg *msg, char *out, size_t len)
{
	size_t o = 0;
	char buf[32];

	out[0] = '\0';
	for (unsigned int i = 0; msg && i < msg->n_answers && o + 1 < len; i++) {
		const struct dns_rr *rr = &msg->answers[i];
		int n = snprintf(out + o, len - o, "%s%s %s", i ? " " : "",
				 dns_type_name(rr->type, buf, sizeof(buf)), rr->data);

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static void write_row(struct nl_sink *s, const struct dns_txn *t, const struct dns_msg *msg,
		      const uint64_t *latency_us)
{
	const struct nl_tuple *tp = &t->id.tuple;
	char ts[NL_TS_LEN], client[64], server[64], comm[NL_COMM_LEN + 1], lat[32], rc[32],
	     qt[32], ans[200];

	nl_sink_header(s, "TIME         PID     COMM             CLIENT                       "
			  "SERVER                  PROTO QTYPE QNAME                          "
			  "RCODE     RETX  LATENCY  ANSWERS");
	answers_text(msg, ans, sizeof(ans));
	fprintf(s->out, "%-12s %-7u %-16s %-28s %-23s %-5s %-5s %-30s %-9s %4u %8s  %s\n",
		nl_fmt_clock(nl_mono_to_realtime(t->ts_ns), ts, sizeof(ts)), t->owner.pid,
		t->owner.pid ? nl_fmt_comm(t->owner.comm, comm, sizeof(comm)) : "-",
		nl_fmt_endpoint(tp->family, tp->saddr, tp->sport, client, sizeof(client)),
		nl_fmt_endpoint(tp->family, tp->daddr, tp->dport, server, sizeof(server)),
		t->key.proto == 6 ? "tcp" : "udp", dns_type_name(t->qtype, qt, sizeof(qt)), t->qname,
		rcode_text(msg ? msg->rcode : DNS_RCODE_TIMEOUT, rc, sizeof(rc)), t->retransmits,
		latency_us ? nl_fmt_usecs(*latency_us, lat, sizeof(lat)) : "-", ans);
}

static void finish(struct dns_report *r, struct nl_sink *s, struct dns_txn *t,
		   const struct dns_msg *msg, const uint64_t *latency_us)
{
	tally(t, msg, latency_us);
	/* serve without an events file keeps the totals only */
	if (nl_sink_wants_records(s)) {
		if (s->kind == NL_OUT_JSON)
			write_json(s, t, msg, latency_us);
		else
			write_row(s, t, msg, latency_us);
	}
	HASH_DEL(r->pending, t);
	free(t);
}

/* The transaction key of a message: the client is the source of a query, the destination of an answer. */
static void make_key(const struct dns_event *e, bool answer, uint16_t id, struct dns_key *k)
{
	const struct nl_tuple *tp = &e->id.tuple;

	memset(k, 0, sizeof(*k));
	k->family = tp->family;
	k->proto = e->proto;
	k->id = id;
	memcpy(k->client, answer ? tp->daddr : tp->saddr, 16);
	memcpy(k->server, answer ? tp->saddr : tp->daddr, 16);
	k->cport = answer ? tp->dport : tp->sport;
	k->sport = answer ? tp->sport : tp->dport;
}

/*
 * A message of the pending transaction t that needs only its header: a
 * query sent again (a retransmission: the same way as its first copy, as
 * the kernel counts it), and, when both ends are local (--server-side), the
 * query reaching the server and the answer leaving it while the client
 * still has to get it. True if this is such a copy; it is then accounted
 * for without parsing the rest.
 */
static bool known_copy(struct dns_report *r, struct dns_txn *t, const struct dns_event *e,
		       bool answer)
{
	if (answer)
		return t->seen_egress && e->dir == DNS_DIR_EGRESS;
	if (e->dir == DNS_DIR_EGRESS ? t->seen_egress : t->seen_ingress && !t->seen_egress) {
		t->retransmits++;
		r->retransmits++;
		for (int i = 0; i < DNS_TABLES; i++)
			t->aggs[i]->retransmits++;
		return true;
	}
	t->seen_ingress |= e->dir == DNS_DIR_INGRESS;
	/* A query seen arriving first, then leaving: the client's view wins. */
	if (e->dir == DNS_DIR_EGRESS && !t->seen_egress) {
		t->seen_egress = 1;
		t->ts_ns = e->ts_ns;
		t->id = e->id;
		t->owner = e->owner;
	}
	return true;
}

static void on_query(struct dns_report *r, const struct dns_event *e, const struct dns_msg *msg,
		     const struct dns_key *k, unsigned int hashv)
{
	size_t qlen = strlen(msg->qname) + 1;
	struct dns_txn *t;

	if (HASH_COUNT(r->pending) >= DNS_MAX_PENDING || !(t = calloc(1, sizeof(*t) + qlen))) {
		r->pending_full++;
		return;
	}
	r->queries++;
	t->key = *k;
	t->ts_ns = e->ts_ns;
	t->id = e->id;
	t->owner = e->owner;
	t->seen_egress = e->dir == DNS_DIR_EGRESS;
	t->seen_ingress = e->dir == DNS_DIR_INGRESS;
	t->qtype = msg->qtype;
	memcpy(t->qname, msg->qname, qlen);
	count_query(r, t);
	HASH_ADD_BYHASHVALUE(hh, r->pending, key, sizeof(t->key), hashv, t);
}

static void on_answer(struct dns_report *r, struct nl_sink *s, const struct dns_event *e,
		      const struct dns_msg *msg, struct dns_txn *t)
{
	uint64_t latency_us;

	if (!t) {
		r->unmatched++;
		return;
	}
	r->responses++;
	latency_us = e->ts_ns > t->ts_ns ? (e->ts_ns - t->ts_ns) / 1000 : 0;
	finish(r, s, t, msg, &latency_us);
}

static void on_message(struct dns_report *r, struct nl_sink *s, const struct dns_event *e,
		       const uint8_t *buf, size_t len, size_t full_len)
{
	struct dns_msg *msg = &r->msg;
	struct dns_txn *t = NULL;
	unsigned int hashv = 0;
	enum dns_err err;
	struct dns_key k;

	r->messages++;
	/* The header names the transaction: hashed and looked up once, before parsing. */
	if (len >= DNS_HEADER_LEN) {
		bool answer = buf[2] >> 7;

		make_key(e, answer, (uint16_t)(buf[0] << 8 | buf[1]), &k);
		HASH_VALUE(&k, sizeof(k), hashv);
		HASH_FIND_BYHASHVALUE(hh, r->pending, &k, sizeof(k), hashv, t);
		if (t && known_copy(r, t, e, answer))
			return;
	}
	err = dns_parse(buf, len, full_len, msg);
	if (err) {
		r->parse_errors[err]++;
		return;
	}
	if (msg->partial)
		r->partial++;
	/* Parsed, the header is the one the key was made from. */
	if (msg->qr)
		on_answer(r, s, e, msg, t);
	else
		on_query(r, e, msg, &k, hashv);
}

/*
 * DNS over TCP: each message follows its 2-byte length. A message that
 * continues in a later segment is not reassembled: counted as tcp_split.
 */
static void on_tcp_payload(struct dns_report *r, struct nl_sink *s, const struct dns_event *e)
{
	size_t off = 0;

	while (off + DNS_TCP_PREFIX <= e->cap_len) {
		size_t mlen = (size_t)e->data[off] << 8 | e->data[off + 1];
		size_t start = off + DNS_TCP_PREFIX, avail;

		if (start + mlen > e->payload_len) {
			r->tcp_split++;
			return;
		}
		avail = e->cap_len - start < mlen ? e->cap_len - start : mlen;
		on_message(r, s, e, e->data + start, avail, mlen);
		off = start + mlen;
		if (off > e->cap_len)
			return;   /* the rest of the segment was not captured */
	}
	if (off < e->payload_len && off < e->cap_len)
		r->tcp_split++;
}

void dns_report_event(struct dns_report *r, struct nl_sink *s, const void *data, size_t len)
{
	const struct dns_event *e = data;

	/* The kernel sends only as much of data[] as it had room for. */
	if (len < offsetof(struct dns_event, data) ||
	    len < offsetof(struct dns_event, data) + e->cap_len ||
	    e->cap_len > DNS_CAPTURE_MAX || e->cap_len > e->payload_len ||
	    (e->id.tuple.family != 4 && e->id.tuple.family != 6) ||
	    (e->proto != 6 && e->proto != 17)) {
		r->bad_records++;
		return;
	}
	if (e->proto == 6)
		on_tcp_payload(r, s, e);
	else
		on_message(r, s, e, e->data, e->cap_len, e->payload_len);
}

void dns_report_expire(struct dns_report *r, struct nl_sink *s, uint64_t now_ns)
{
	struct dns_txn *t, *tmp;

	/* Insertion order is query order: stop at the first one still in time. */
	HASH_ITER(hh, r->pending, t, tmp) {
		if (now_ns < t->ts_ns + r->timeout_ns)
			break;
		r->timeouts++;
		finish(r, s, t, NULL, NULL);
	}
}

int dns_report_kernel_row(struct dns_report *r, const struct nl_dest_key *key,
			  const struct dns_server_stats *s, uint64_t timeouts)
{
	struct dns_server_row *row;

	if (r->k.n == r->k.cap) {
		size_t cap = r->k.cap ? r->k.cap * 2 : 16;

		row = realloc(r->k.rows, cap * sizeof(*row));
		if (!row)
			return -1;
		r->k.rows = row;
		r->k.cap = cap;
	}
	row = &r->k.rows[r->k.n++];
	row->key = *key;
	row->s = *s;
	row->timeouts = timeouts;
	return 0;
}

void dns_server_stats_add(struct dns_server_stats *dst, const struct dns_server_stats *src)
{
	for (int i = 0; i < DNS_TYPE_SLOTS; i++)
		dst->queries[i] += src->queries[i];
	for (int i = 0; i < DNS_RCODES; i++)
		dst->rcodes[i] += src->rcodes[i];
	dst->retransmits += src->retransmits;
	dst->unmatched += src->unmatched;
	nl_hist_merge(&dst->latency, &src->latency);
}

void dns_report_kernel_clear(struct dns_report *r)
{
	r->k.n = 0;
}

static uint64_t sum_u64(const __u64 *v, size_t n)
{
	uint64_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += v[i];
	return t;
}

/* A server's queries, answers, timeouts and the pending rest, as a row of totals. */
static void server_totals(const struct dns_server_row *row, struct dns_agg *a)
{
	const struct dns_server_stats *s = &row->s;
	uint64_t done = sum_u64(s->rcodes, DNS_RCODES) + row->timeouts;

	a->queries = sum_u64(s->queries, DNS_TYPE_SLOTS);
	memcpy(a->rcodes, s->rcodes, sizeof(s->rcodes));
	a->rcodes[DNS_RCODE_TIMEOUT] = row->timeouts;
	a->pending = a->queries > done ? a->queries - done : 0;
	a->retransmits = s->retransmits;
	a->latency = s->latency;
}

/* The kernel's server rows as the SERVER table (the "other" row, family 0, by that name). */
static void servers_table(struct dns_report *r, struct dns_agg *totals)
{
	struct dns_agg *a, *tmp;

	memset(totals, 0, sizeof(*totals));
	HASH_ITER(hh, r->servers.items, a, tmp)
		server_totals(&(struct dns_server_row){ 0 }, a);
	for (size_t i = 0; i < r->k.n; i++) {
		const struct dns_server_row *row = &r->k.rows[i];
		struct dns_agg one;

		server_totals(row, &one);
		if (row->key.family) {
			a = endpoint_agg(&r->servers, row->key.family, row->key.addr, &row->key.port);
		} else {
			struct dns_endpoint none = { 0 };

			if (!one.queries && !row->s.unmatched)
				continue;
			a = agg_find(&r->servers, &none, sizeof(none));
			if (!a)
				a = agg_new(&r->servers, &none, sizeof(none), "other");
		}
		server_totals(row, a);
		totals->queries += one.queries;
		for (int j = 0; j < DNS_RCODE_SLOTS; j++)
			totals->rcodes[j] += one.rcodes[j];
		totals->pending += one.pending;
		totals->retransmits += one.retransmits;
		nl_hist_merge(&totals->latency, &one.latency);
	}
}

static uint64_t kernel_unmatched(const struct dns_report *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->k.n; i++)
		n += r->k.rows[i].s.unmatched;
	return n;
}

static uint64_t answered(const struct dns_agg *a)
{
	uint64_t n = 0;

	for (int i = 0; i < DNS_RCODES; i++)
		n += a->rcodes[i];
	return n;
}

static int busiest_first(struct dns_agg *a, struct dns_agg *b)
{
	return a->queries < b->queries ? 1 : a->queries > b->queries ? -1 : strcmp(a->name, b->name);
}

static struct json_object *rcodes_json(const struct dns_agg *a)
{
	struct json_object *o = json_object_new_object();
	char buf[32];

	for (int i = 0; i < DNS_RCODE_SLOTS; i++)
		if (a->rcodes[i])
			json_object_object_add(o, rcode_text(i, buf, sizeof(buf)),
					       json_object_new_int64(a->rcodes[i]));
	return o;
}

/* The busiest `limit` entries (0: all) of a table, keyed by `key`. */
static struct json_object *table_json(struct dns_table *t, const char *key, unsigned int limit,
				      bool latency)
{
	struct json_object *arr = json_object_new_array();
	struct dns_agg *a, *tmp;
	unsigned int n = 0;

	HASH_SORT(t->items, busiest_first);
	HASH_ITER(hh, t->items, a, tmp) {
		struct json_object *j = json_object_new_object();

		if (limit && n++ == limit) {
			json_object_put(j);
			break;
		}
		json_object_object_add(j, key, json_object_new_string(a->name));
		json_object_object_add(j, "queries", json_object_new_int64(a->queries));
		json_object_object_add(j, "rcodes", rcodes_json(a));
		json_object_object_add(j, "pending", json_object_new_int64(a->pending));
		json_object_object_add(j, "retransmits", json_object_new_int64(a->retransmits));
		if (latency) {
			struct json_object *l = json_object_new_object();

			nl_hist_json(l, &a->latency);
			json_object_object_add(j, "latency", l);
		}
		json_object_array_add(arr, j);
	}
	return arr;
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void records_json(struct json_object *o, const struct dns_report *r, const uint64_t *st)
{
	struct json_object *rec = json_object_new_object();

	add_u64(rec, "lost", st[NL_STAT_LOST]);
	add_u64(rec, "queries", r->queries);
	add_u64(rec, "responses", r->responses);
	add_u64(rec, "timeouts", r->timeouts);
	add_u64(rec, "unmatched_responses", r->unmatched);
	add_u64(rec, "pending", HASH_COUNT(r->pending));
	add_u64(rec, "retransmits", r->retransmits);
	add_u64(rec, "pending_full", r->pending_full);
	json_object_object_add(o, "records", rec);
}

static void summary_json(struct dns_report *r, struct nl_sink *s, const uint64_t *st)
{
	struct json_object *o = json_object_new_object(), *errs = json_object_new_object();
	struct dns_agg all;

	servers_table(r, &all);
	json_object_object_add(o, "type", json_object_new_string("stats"));
	add_u64(o, "events", st[NL_STAT_EVENTS]);
	add_u64(o, "lost", st[NL_STAT_LOST]);
	add_u64(o, "map_full", st[NL_STAT_MAP_FULL]);
	add_u64(o, "map_busy", st[NL_STAT_MAP_BUSY]);
	add_u64(o, "fragments", st[DNS_STAT_FRAGMENTS]);
	add_u64(o, "bad_records", r->bad_records);
	add_u64(o, "messages", r->messages);
	/* The kernel's counts. */
	add_u64(o, "queries", all.queries);
	add_u64(o, "responses", answered(&all));
	add_u64(o, "timeouts", all.rcodes[DNS_RCODE_TIMEOUT]);
	add_u64(o, "unmatched_responses", kernel_unmatched(r));
	add_u64(o, "pending", all.pending);
	add_u64(o, "retransmits", all.retransmits);
	add_u64(o, "pending_full", st[DNS_STAT_UNTRACKED]);
	add_u64(o, "tcp_split", r->tcp_split);
	add_u64(o, "partial", r->partial);
	for (int i = DNS_OK + 1; i < DNS_ERR_COUNT_; i++)
		add_u64(errs, dns_err_name(i), r->parse_errors[i]);
	json_object_object_add(o, "parse_errors", errs);
	json_object_object_add(o, "servers", table_json(&r->servers, "server", 0, true));
	/* From the records: what they showed, and how many the ring buffer lost. */
	records_json(o, r, st);
	json_object_object_add(o, "qnames", table_json(&r->qnames, "qname", r->top, true));
	json_object_object_add(o, "sources", table_json(&r->sources, "saddr", 0, false));
	add_u64(o, "other_qnames", r->qnames.folded);
	nl_sink_json(s, o);
	json_object_put(o);
}

static uint64_t parse_errors(const struct dns_report *r)
{
	uint64_t n = 0;

	for (int i = DNS_OK + 1; i < DNS_ERR_COUNT_; i++)
		n += r->parse_errors[i];
	return n;
}

/* The rcodes without a column of their own: FORMERR, NOTIMP, YXDOMAIN, ... */
static uint64_t other_rcodes(const struct dns_agg *a)
{
	uint64_t n = 0;

	for (int i = 0; i < DNS_RCODE_TIMEOUT; i++)
		if (i != DNS_RCODE_NOERROR && i != DNS_RCODE_SERVFAIL && i != DNS_RCODE_NXDOMAIN &&
		    i != DNS_RCODE_REFUSED)
			n += a->rcodes[i];
	return n;
}

/*
 * Each row adds up: QUERIES = NOERROR + NXDOMAIN + SERVFAIL + REFUSED + OTHER +
 * TIMEOUT + PENDING; RETRANS (copies of a pending query sent again) are beside it.
 */
static void table_rows(struct nl_sink *s, struct dns_table *t, const char *title,
		       unsigned int limit, bool latency)
{
	struct dns_agg *a, *tmp;
	unsigned int n = 0;
	char p50[32], p99[32];

	if (!t->items)
		return;
	fprintf(s->out, "%-40s %8s %8s %8s %8s %8s %8s %8s %8s %8s %9s %9s\n", title, "QUERIES",
		"NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "OTHER", "TIMEOUT", "PENDING",
		"RETRANS", latency ? "P50" : "", latency ? "P99" : "");
	HASH_SORT(t->items, busiest_first);
	HASH_ITER(hh, t->items, a, tmp) {
		if (limit && n++ == limit) {
			fprintf(s->out, "... %u more (-o json lists them)\n", HASH_COUNT(t->items) - limit);
			break;
		}
		fprintf(s->out, "%-40.40s %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %9s %9s\n",
			a->name, (unsigned long long)a->queries,
			(unsigned long long)a->rcodes[DNS_RCODE_NOERROR],
			(unsigned long long)a->rcodes[DNS_RCODE_NXDOMAIN],
			(unsigned long long)a->rcodes[DNS_RCODE_SERVFAIL],
			(unsigned long long)a->rcodes[DNS_RCODE_REFUSED],
			(unsigned long long)other_rcodes(a),
			(unsigned long long)a->rcodes[DNS_RCODE_TIMEOUT],
			(unsigned long long)a->pending, (unsigned long long)a->retransmits,
			latency && a->latency.count ?
				nl_fmt_usecs(nl_hist_percentile(&a->latency, 50), p50, sizeof(p50)) : "",
			latency && a->latency.count ?
				nl_fmt_usecs(nl_hist_percentile(&a->latency, 99), p99, sizeof(p99)) : "");
	}
}

static void summary_table(struct dns_report *r, struct nl_sink *s, const uint64_t *st)
{
	struct dns_agg all;

	servers_table(r, &all);
	fprintf(s->out, "\n%llu queries, %llu answered, %llu timed out, %llu pending, "
		"%llu retransmissions, %llu answers without a query (counted in the kernel)\n",
		(unsigned long long)all.queries, (unsigned long long)answered(&all),
		(unsigned long long)all.rcodes[DNS_RCODE_TIMEOUT], (unsigned long long)all.pending,
		(unsigned long long)all.retransmits, (unsigned long long)kernel_unmatched(r));
	table_rows(s, &r->servers, "SERVER", r->top, true);
	fprintf(s->out, "\nNames and sources from the records: %llu lost (ring buffer full); "
		"%llu messages, %llu malformed, %llu TCP segments not reassembled\n",
		(unsigned long long)st[NL_STAT_LOST], (unsigned long long)r->messages,
		(unsigned long long)parse_errors(r), (unsigned long long)r->tcp_split);
	table_rows(s, &r->qnames, "QNAME", r->top, true);
	table_rows(s, &r->sources, "SOURCE", r->top, false);
}

static void table_clear_pending(struct dns_table *t)
{
	struct dns_agg *a, *tmp;

	t->other.pending = 0;
	HASH_ITER(hh, t->items, a, tmp)
		a->pending = 0;
}

/* The queries still waiting, into their rows. */
static void count_pending(struct dns_report *r)
{
	struct dns_txn *t, *tmp;

	table_clear_pending(&r->qnames);
	table_clear_pending(&r->sources);
	HASH_ITER(hh, r->pending, t, tmp)
		for (int i = 0; i < DNS_TABLES; i++)
			t->aggs[i]->pending++;
}

void dns_report_summary(struct dns_report *r, struct nl_sink *s, const uint64_t *stats)
{
	count_pending(r);
	if (s->kind == NL_OUT_JSON)
		summary_json(r, s, stats);
	else
		summary_table(r, s, stats);
}

/* Per server, the values of its series: by qtype, by rcode, timeouts, retransmissions, latency. */
enum {
	DM_QTYPE = 0,
	DM_RCODE = DM_QTYPE + DNS_TYPE_SLOTS,
	DM_TIMEOUTS = DM_RCODE + DNS_RCODES,
	DM_RETRANSMITS,
	DM_LATENCY,
	DM_NVALS = DM_LATENCY + NL_PROM_HIST_VALS,
};

static void fold_server(struct nl_fold *f, const struct dns_server_row *row, const char *labels)
{
	uint64_t v[DM_NVALS];

	for (int i = 0; i < DNS_TYPE_SLOTS; i++)
		v[DM_QTYPE + i] = row->s.queries[i];
	for (int i = 0; i < DNS_RCODES; i++)
		v[DM_RCODE + i] = row->s.rcodes[i];
	v[DM_TIMEOUTS] = row->timeouts;
	v[DM_RETRANSMITS] = row->s.retransmits;
	nl_prom_hist_vals(&row->s.latency, v + DM_LATENCY);
	nl_fold_put(f, labels, sum_u64(row->s.queries, DNS_TYPE_SLOTS), v);
}

/* base (a row's labels) with key="value" after it. */
static const char *with_label(char *buf, size_t len, const char *base, const char *key,
			      const char *value)
{
	char one[64];

	snprintf(buf, len, "%s,%s", base, nl_prom_labels(one, sizeof(one), key, value, NULL));
	return buf;
}

/* A series per qtype and rcode seen so far (a value once counted stays). */
static void write_server(struct nl_prom *p, const struct nl_fold_row *row)
{
	const uint64_t *v = row->vals;
	char labels[192], buf[32];
	struct nl_hist h;

	for (unsigned int i = 0; i < DNS_TYPE_SLOTS; i++)
		if (v[DM_QTYPE + i])
			nl_prom_counter(p, "netlens_dns_queries_total", with_label(
				labels, sizeof(labels), row->labels, "qtype", dns_type_slot_name(i)),
				v[DM_QTYPE + i]);
	for (int i = 0; i < DNS_RCODES; i++)
		if (v[DM_RCODE + i])
			nl_prom_counter(p, "netlens_dns_responses_total", with_label(
				labels, sizeof(labels), row->labels, "rcode",
				rcode_text(i, buf, sizeof(buf))), v[DM_RCODE + i]);
	nl_prom_counter(p, "netlens_dns_timeouts_total", row->labels, v[DM_TIMEOUTS]);
	nl_prom_counter(p, "netlens_dns_retransmits_total", row->labels, v[DM_RETRANSMITS]);
	nl_prom_vals_hist(v + DM_LATENCY, &h);
	if (h.count)
		nl_prom_hist(p, "netlens_dns_latency_seconds", row->labels, &h);
}

void dns_report_metrics(struct dns_report *r, struct nl_prom *p)
{
	static const char other[] = "server=\"other\"";
	const struct nl_fold_row *rows;
	char labels[96], name[NL_ADDR_LEN + 8];
	size_t n;

	nl_prom_family(p, "netlens_dns_queries_total", NL_PROM_COUNTER,
		       "DNS queries sent, per server and query type (unnamed types as \"other\").");
	nl_prom_family(p, "netlens_dns_responses_total", NL_PROM_COUNTER,
		       "DNS answers matched to their query, per server and rcode.");
	nl_prom_family(p, "netlens_dns_timeouts_total", NL_PROM_COUNTER,
		       "DNS queries unanswered within --timeout, per server.");
	nl_prom_family(p, "netlens_dns_retransmits_total", NL_PROM_COUNTER,
		       "DNS queries sent again with the same id while pending, per server.");
	nl_prom_family(p, "netlens_dns_latency_seconds", NL_PROM_HISTOGRAM,
		       "Time from a DNS query to its answer, per server.");
	nl_prom_family(p, "netlens_parse_errors_total", NL_PROM_COUNTER,
		       "Records or packets a module could not parse.");
	if (!r->fold)
		r->fold = nl_fold_new(DM_NVALS, other);
	nl_fold_begin(r->fold);
	for (size_t i = 0; i < r->k.n; i++) {
		const struct dns_server_row *row = &r->k.rows[i];

		/* The kernel's own "other" row (beyond DNS_MAX_SERVERS) is folded already. */
		if (!row->key.family) {
			fold_server(r->fold, row, other);
			continue;
		}
		nl_fmt_endpoint(row->key.family, row->key.addr, row->key.port, name, sizeof(name));
		fold_server(r->fold, row, nl_prom_labels(labels, sizeof(labels), "server", name, NULL));
	}
	nl_fold_end(r->fold, nl_prom_max_series(p));
	rows = nl_fold_rows(r->fold, &n);
	for (size_t i = 0; i < n; i++)
		write_server(p, &rows[i]);
	nl_prom_folded(p, "netlens_dns_queries_total", r->fold);
	nl_prom_counter(p, "netlens_parse_errors_total", "module=\"dns\"",
			parse_errors(r) + r->bad_records);
}
