// SPDX-License-Identifier: GPL-2.0
/*
 * `netlens top`'s model (src/overview/top_model.h). Totals the modules keep
 * since they attached (conns, retrans, dns) replace ours at each summary;
 * per-interval summaries (drops, latency, flows) set the rates and add to
 * our totals; records only feed the processes view.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "flows/flows.h"
#include "output/format.h"
#include "overview/top_model.h"

#define ERRNOS_KEPT 3      /* errno names shown per destination, most frequent first */

struct dest {
	char key[80];                 /* "outbound 10.0.0.2:80" */
	char dir[10], ep[64];
	uint64_t connects, failed, sent, received;   /* conns: connects + accepts */
	uint64_t prev_connects;
	double rate;
	uint64_t rt_retrans, rt_segments;
	bool rt_known;
	uint64_t hs_p99_us;
	bool hs_known;
	struct { char name[24]; uint64_t n; } err[ERRNOS_KEPT];   /* most frequent first */
	UT_hash_handle hh;
};

struct droprow {
	char key[256];
	char reason[48], location[96], dest[64], proc[40];
	uint64_t netns, total, last;
	double rate;
	UT_hash_handle hh;
};

struct dnsrow {
	char key[300];
	const char *kind;             /* "name" or "server" */
	char name[256], rcodes[TOP_CELL_LEN];
	uint64_t queries, failed, timeouts, p99_us;
	bool p99_known;
	UT_hash_handle hh;
};

struct proc {
	uint32_t pid;
	char comm[20];
	uint64_t conns, failed, retrans, drops, dns, dns_failed;
	UT_hash_handle hh;
};

struct flow {
	char src[64], dst[64], proto[8];
	uint64_t packets, bytes;
};

struct flows_set {
	struct flow *v;
	size_t n, cap;
};

struct top_model {
	struct dest *dests;
	struct droprow *drops;
	struct dnsrow *dns;
	struct proc *procs;
	struct flows_set flows, pending;
	double flows_interval_s;
	unsigned int ndests, ndrops, ndns, nprocs;
	uint64_t folded;
};

static const char *const view_names[TOP_VIEWS] = {
	[TOP_DESTS] = "destinations", [TOP_DROPS] = "drops", [TOP_DNS] = "dns",
	[TOP_PROCS] = "processes", [TOP_FLOWS] = "flows",
};

const char *top_view_name(enum top_view v)
{
	return v < TOP_VIEWS ? view_names[v] : "?";
}

struct top_model *top_model_new(void)
{
	return calloc(1, sizeof(struct top_model));
}

#define FREE_HASH(head)                                 \
	do {                                            \
		__typeof__(head) _e, _t;                \
		HASH_ITER(hh, head, _e, _t) {           \
			HASH_DEL(head, _e);             \
			free(_e);                       \
		}                                       \
	} while (0)

void top_model_free(struct top_model *m)
{
	if (!m)
		return;
	FREE_HASH(m->dests);
	FREE_HASH(m->drops);
	FREE_HASH(m->dns);
	FREE_HASH(m->procs);
	free(m->flows.v);
	free(m->pending.v);
	free(m);
}

uint64_t top_model_folded(const struct top_model *m)
{
	return m->folded;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_get_type(v) != json_type_string)
		return NULL;
	return json_object_get_string(v);
}

static uint64_t ju64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? (uint64_t)json_object_get_int64(v) : 0;
}

static bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static bool jhas(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v;
}

static struct json_object *jarr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_get_type(v) != json_type_array)
		return NULL;
	return v;
}

/* "10.0.0.2:80", "[fd00::2]:80", the address alone without a port, "-" without one. */
static void endpoint_of(struct json_object *o, const char *addr_key, const char *port_key,
			char *buf, size_t len)
{
	const char *a = jstr(o, addr_key);
	uint64_t port = ju64(o, port_key);

	if (!a)
		snprintf(buf, len, "-");
	else if (!port)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, strchr(a, ':') ? "[%s]:%llu" : "%s:%llu", a,
			 (unsigned long long)port);
}

static void endpoint(struct json_object *o, char *buf, size_t len)
{
	endpoint_of(o, "daddr", "dport", buf, len);
}

/* Finds the row of key, or adds a zeroed one; NULL when the table is full (folded). */
#define FIND_OR_ADD(m, head, count, keyfield, keystr, out)                              \
	do {                                                                            \
		HASH_FIND_STR(head, keystr, out);                                       \
		if (!out && count < TOP_MAX_ROWS && (out = calloc(1, sizeof(*out)))) {  \
			snprintf(out->keyfield, sizeof(out->keyfield), "%s", keystr);   \
			HASH_ADD_STR(head, keyfield, out);                              \
			count++;                                                        \
		} else if (!out) {                                                      \
			m->folded++;                                                    \
		}                                                                       \
	} while (0)

static struct dest *dest_of(struct top_model *m, const char *dir, const char *ep)
{
	struct dest *d;
	char key[80];

	snprintf(key, sizeof(key), "%s %s", dir, ep);
	FIND_OR_ADD(m, m->dests, m->ndests, key, key, d);
	if (d && !d->dir[0]) {
		snprintf(d->dir, sizeof(d->dir), "%s", dir);
		snprintf(d->ep, sizeof(d->ep), "%s", ep);
	}
	return d;
}

static struct dest *dest_of_json(struct top_model *m, struct json_object *o)
{
	const char *dir = jstr(o, "direction");
	char ep[64];

	endpoint(o, ep, sizeof(ep));
	return dest_of(m, dir ? dir : "outbound", ep);
}

/* Keeps the ERRNOS_KEPT most frequent errnos of a destination, most frequent first. */
static void keep_errno(struct dest *d, const char *name, uint64_t n)
{
	int i = ERRNOS_KEPT;

	while (i > 0 && (!d->err[i - 1].name[0] || d->err[i - 1].n < n))
		i--;
	if (i == ERRNOS_KEPT)
		return;
	memmove(&d->err[i + 1], &d->err[i], (ERRNOS_KEPT - 1 - i) * sizeof(d->err[0]));
	snprintf(d->err[i].name, sizeof(d->err[i].name), "%s", name);
	d->err[i].n = n;
}

/* conns' failures per errno of one destination, counted in the kernel ("errors"). */
static void take_errnos(struct dest *d, struct json_object *j)
{
	struct json_object *errors;

	memset(d->err, 0, sizeof(d->err));
	if (!json_object_object_get_ex(j, "errors", &errors) ||
	    !json_object_is_type(errors, json_type_object))
		return;
	json_object_object_foreach(errors, name, count)
		keep_errno(d, name, json_object_get_uint64(count));
}

/* conns' per-destination totals since it attached. */
static void take_conns_stats(struct top_model *m, struct json_object *o)
{
	struct json_object *arr = jarr(o, "destinations");

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *j = json_object_array_get_idx(arr, i);
		struct dest *d = dest_of_json(m, j);

		if (!d)
			continue;
		d->connects = ju64(j, "connects") + ju64(j, "accepts");
		d->failed = ju64(j, "failed");
		d->sent = ju64(j, "bytes_sent");
		d->received = ju64(j, "bytes_received");
		take_errnos(d, j);
	}
}

static void take_retrans_stats(struct top_model *m, struct json_object *o)
{
	struct json_object *arr = jarr(o, "destinations");

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *j = json_object_array_get_idx(arr, i);
		struct dest *d = dest_of_json(m, j);

		if (!d)
			continue;
		d->rt_retrans = ju64(j, "retransmits");
		d->rt_segments = ju64(j, "segments");
		d->rt_known = true;
	}
}

/* latency: one histogram per metric and group (daddr:dport, the server side) per interval. */
static void take_latency(struct top_model *m, struct json_object *o)
{
	const char *metric = jstr(o, "metric"), *group = jstr(o, "group");
	struct dest *d;

	if (!metric || strcmp(metric, "handshake") || !group || !ju64(o, "count"))
		return;
	/* Handshakes are timed on outbound connections (SYN sent -> ESTABLISHED). */
	d = dest_of(m, "outbound", group);
	if (d) {
		d->hs_p99_us = ju64(o, "p99_us");
		d->hs_known = true;
	}
}

static struct proc *proc_of(struct top_model *m, struct json_object *o)
{
	uint32_t pid = (uint32_t)ju64(o, "pid");
	const char *comm = jstr(o, "comm");
	struct proc *p;

	if (!pid)
		return NULL;   /* softirq context: no process */
	HASH_FIND(hh, m->procs, &pid, sizeof(pid), p);
	if (!p) {
		if (m->nprocs >= TOP_MAX_ROWS || !(p = calloc(1, sizeof(*p)))) {
			m->folded++;
			return NULL;
		}
		p->pid = pid;
		HASH_ADD(hh, m->procs, pid, sizeof(p->pid), p);
		m->nprocs++;
	}
	if (comm)   /* the latest name: a pid may exec */
		snprintf(p->comm, sizeof(p->comm), "%s", comm);
	return p;
}

static void take_conns_record(struct top_model *m, const char *type, struct json_object *o)
{
	struct proc *p = proc_of(m, o);

	if (!p)
		return;
	if (!strcmp(type, "connect") || !strcmp(type, "accept"))
		p->conns++;
	else if (!strcmp(type, "failed"))
		p->failed++;
}

static void drop_key(struct json_object *o, char *key, size_t len, struct droprow *fill)
{
	const char *reason = jstr(o, "reason"), *loc = jstr(o, "location");
	char ep[64];

	if (!reason)
		reason = jstr(o, "kind");
	endpoint(o, ep, sizeof(ep));
	/* drops sums client ports per address (docs/drops.md): "10.0.0.2:ephemeral". */
	if (jbool(o, "dport_ephemeral") && strlen(ep) + 11 < sizeof(ep))
		strcat(ep, ":ephemeral");
	snprintf(key, len, "%s|%s|%s|%llu", reason ? reason : "-", loc ? loc : "-", ep,
		 (unsigned long long)ju64(o, "netns"));
	if (fill) {
		snprintf(fill->reason, sizeof(fill->reason), "%s", reason ? reason : "-");
		snprintf(fill->location, sizeof(fill->location), "%s", loc ? loc : "-");
		snprintf(fill->dest, sizeof(fill->dest), "%s", ep);
		fill->netns = ju64(o, "netns");
	}
}

static struct droprow *drop_of(struct top_model *m, struct json_object *o)
{
	struct droprow *r;
	char key[256];

	drop_key(o, key, sizeof(key), NULL);
	FIND_OR_ADD(m, m->drops, m->ndrops, key, key, r);
	if (r && !r->reason[0])
		drop_key(o, key, sizeof(key), r);
	return r;
}

/* The process a drop belongs to, when the row or record names one. */
static void drop_proc(struct droprow *r, struct json_object *o)
{
	const char *comm = jstr(o, "comm");
	uint64_t pid = ju64(o, "pid");

	if (pid && comm)
		snprintf(r->proc, sizeof(r->proc), "%s[%llu]", comm, (unsigned long long)pid);
}

/* drops: the counts of the interval since the previous summary. */
static void take_drop_summary(struct top_model *m, struct json_object *o)
{
	struct json_object *arr = jarr(o, "rows"), *v;
	double secs = json_object_object_get_ex(o, "interval_s", &v) ? json_object_get_double(v) : 0;
	struct droprow *r, *tmp;

	HASH_ITER(hh, m->drops, r, tmp) {
		r->last = 0;
		r->rate = 0;
	}
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *j = json_object_array_get_idx(arr, i);

		if (!(r = drop_of(m, j)))
			continue;
		r->last = ju64(j, "count");
		r->total += r->last;
		r->rate = secs > 0 ? r->last / secs : 0;
		drop_proc(r, j);
	}
}

static void take_drop_record(struct top_model *m, struct json_object *o)
{
	struct proc *p = proc_of(m, o);
	struct droprow *r;

	if (!p)
		return;
	p->drops++;
	/* The row the summary counts (exactly: records are rate-limited, summaries are not). */
	if ((r = drop_of(m, o)))
		drop_proc(r, o);
}

static void rcodes_text(struct json_object *rc, struct dnsrow *r)
{
	size_t n = 0;

	r->rcodes[0] = '\0';
	r->failed = r->timeouts = 0;
	if (!rc || json_object_get_type(rc) != json_type_object)
		return;
	json_object_object_foreach(rc, name, val) {
		uint64_t c = (uint64_t)json_object_get_int64(val);

		if (n < sizeof(r->rcodes))
			n += snprintf(r->rcodes + n, sizeof(r->rcodes) - n, "%s%s:%llu", n ? " " : "",
				      name, (unsigned long long)c);
		if (strcmp(name, "NOERROR"))
			r->failed += c;
		if (!strcmp(name, "TIMEOUT"))
			r->timeouts += c;
	}
}

static void take_dns_table(struct top_model *m, struct json_object *arr, const char *kind,
			   const char *field)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *j = json_object_array_get_idx(arr, i), *rc = NULL, *lat = NULL;
		const char *name = jstr(j, field);
		struct dnsrow *r;
		char key[300];

		if (!name)
			continue;
		snprintf(key, sizeof(key), "%s %s", kind, name);
		FIND_OR_ADD(m, m->dns, m->ndns, key, key, r);
		if (!r)
			continue;
		r->kind = kind;
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->queries = ju64(j, "queries");
		json_object_object_get_ex(j, "rcodes", &rc);
		rcodes_text(rc, r);
		if (json_object_object_get_ex(j, "latency", &lat) && ju64(lat, "count")) {
			r->p99_us = ju64(lat, "p99_us");
			r->p99_known = true;
		}
	}
}

/* dns: totals per name and per server since it attached. */
static void take_dns_stats(struct top_model *m, struct json_object *o)
{
	take_dns_table(m, jarr(o, "qnames"), "name", "qname");
	take_dns_table(m, jarr(o, "servers"), "server", "server");
}

static void take_dns_record(struct top_model *m, struct json_object *o)
{
	struct proc *p = proc_of(m, o);
	const char *rcode = jstr(o, "rcode");

	if (!p)
		return;
	p->dns++;
	if (rcode && strcmp(rcode, "NOERROR"))
		p->dns_failed++;
}

static void flows_add(struct top_model *m, struct flows_set *s, struct json_object *o)
{
	char proto[8];
	struct flow *f;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct flow *v = cap <= TOP_MAX_ROWS ? realloc(s->v, cap * sizeof(*v)) : NULL;

		if (!v) {
			m->folded++;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	f = &s->v[s->n++];
	endpoint_of(o, "saddr", "sport", f->src, sizeof(f->src));
	endpoint_of(o, "daddr", "dport", f->dst, sizeof(f->dst));
	snprintf(f->proto, sizeof(f->proto), "%s",
		 flows_proto_name((uint8_t)ju64(o, "proto"), proto, sizeof(proto)));
	f->packets = ju64(o, "packets");
	f->bytes = ju64(o, "bytes");
}

/* flows: the interval's flows come first, then its flow_stats. */
static void take_flow_stats(struct top_model *m, struct json_object *o)
{
	struct flows_set t = m->flows;

	m->flows = m->pending;
	m->pending = t;
	m->pending.n = 0;
	m->flows_interval_s = ju64(o, "interval_ms") / 1000.0;
}

void top_model_take(struct top_model *m, const char *module, struct json_object *o)
{
	const char *type = jstr(o, "type");

	if (!type)
		return;
	if (!strcmp(module, "conns")) {
		if (!strcmp(type, "stats"))
			take_conns_stats(m, o);
		else
			take_conns_record(m, type, o);
	} else if (!strcmp(module, "retrans")) {
		struct proc *p;

		if (!strcmp(type, "stats"))
			take_retrans_stats(m, o);
		else if (!strcmp(type, "retransmit") && (p = proc_of(m, o)))
			p->retrans += jhas(o, "segments") ? ju64(o, "segments") : 1;
	} else if (!strcmp(module, "latency")) {
		if (!strcmp(type, "latency"))
			take_latency(m, o);
	} else if (!strcmp(module, "drops")) {
		if (!strcmp(type, "drop_summary"))
			take_drop_summary(m, o);
		else if (!strcmp(type, "drop"))
			take_drop_record(m, o);
	} else if (!strcmp(module, "dns")) {
		if (!strcmp(type, "stats"))
			take_dns_stats(m, o);
		else if (!strcmp(type, "dns"))
			take_dns_record(m, o);
	} else if (!strcmp(module, "flows")) {
		if (!strcmp(type, "flow"))
			flows_add(m, &m->pending, o);
		else if (!strcmp(type, "flow_stats"))
			take_flow_stats(m, o);
	}
}

void top_model_tick(struct top_model *m, double dt)
{
	struct dest *d, *tmp;

	HASH_ITER(hh, m->dests, d, tmp) {
		d->rate = dt > 0 && d->connects >= d->prev_connects ?
			(d->connects - d->prev_connects) / dt : 0;
		d->prev_connects = d->connects;
	}
}

/* ---- tables ---- */

static const struct top_col dest_cols[] = {
	{ "DESTINATION", 26, false }, { "DIR", 8, false }, { "CONN/S", 7, true },
	{ "CONNECTS", 9, true }, { "FAILED", 7, true }, { "ERRNO", 22, false },
	{ "HS_P99", 8, true }, { "RETRANS%", 8, true }, { "SENT", 9, true },
	{ "RECEIVED", 9, true },
};
static const struct top_col drop_cols[] = {
	{ "REASON", 22, false }, { "LOCATION", 30, false }, { "DESTINATION", 24, false },
	{ "PROCESS", 20, false }, { "RATE/S", 8, true }, { "TOTAL", 9, true },
	{ "NETNS", 11, true },
};
static const struct top_col dns_cols[] = {
	{ "KIND", 6, false }, { "NAME", 34, false }, { "QUERIES", 8, true },
	{ "FAILED", 7, true }, { "TIMEOUTS", 8, true }, { "P99", 8, true },
	{ "RCODES", 30, false },
};
static const struct top_col proc_cols[] = {
	{ "PID", 8, true }, { "COMM", 16, false }, { "CONNS", 8, true }, { "FAILED", 7, true },
	{ "RETRANS", 8, true }, { "DROPS", 7, true }, { "DNS", 6, true }, { "DNS_FAIL", 8, true },
};
static const struct top_col flow_cols[] = {
	{ "SOURCE", 28, false }, { "DESTINATION", 28, false }, { "PROTO", 6, false },
	{ "PACKETS", 9, true }, { "BYTES", 9, true }, { "BYTES/S", 10, true },
};

#define NCOLS(a) (int)(sizeof(a) / sizeof(a[0]))

static const struct {
	const struct top_col *cols;
	int ncols, sort;
	const char *title, *empty;
} views[TOP_VIEWS] = {
	[TOP_DESTS] = { dest_cols, NCOLS(dest_cols), 3, "Destinations (TCP)",
			"no TCP connection seen yet" },
	[TOP_DROPS] = { drop_cols, NCOLS(drop_cols), 5, "Drops", "no packet dropped" },
	[TOP_DNS] = { dns_cols, NCOLS(dns_cols), 2, "DNS (names and servers)",
		      "no DNS query seen yet" },
	[TOP_PROCS] = { proc_cols, NCOLS(proc_cols), 2, "Processes",
			"no process seen yet (per process only with --processes)" },
	[TOP_FLOWS] = { flow_cols, NCOLS(flow_cols), 4, "Flows (top talkers)",
			"no flow in the last second (flows needs -i IFACE)" },
};

static struct top_row *row_add(struct top_table *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct top_row *v = realloc(t->rows, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->rows = v;
		t->cap = cap;
	}
	memset(&t->rows[t->n], 0, sizeof(t->rows[0]));
	return &t->rows[t->n++];
}

/* Text cut to the cell (a long DNS name keeps its start). */
static void cell_str(struct top_row *r, int c, const char *s)
{
	snprintf(r->cell[c], TOP_CELL_LEN, "%.*s", TOP_CELL_LEN - 1, s && *s ? s : "-");
}

static void cell_u64(struct top_row *r, int c, uint64_t v)
{
	snprintf(r->cell[c], TOP_CELL_LEN, "%llu", (unsigned long long)v);
	r->val[c] = (double)v;
}

static void cell_rate(struct top_row *r, int c, double v)
{
	snprintf(r->cell[c], TOP_CELL_LEN, v >= 100 || v == 0 ? "%.0f" : "%.1f", v);
	r->val[c] = v;
}

static void cell_bytes(struct top_row *r, int c, uint64_t v)
{
	nl_fmt_bytes(v, r->cell[c], TOP_CELL_LEN);
	r->val[c] = (double)v;
}

/* A latency in µs as "850us", "12.3ms", "1.20s"; "-" when unknown (sorts last). */
static void cell_us(struct top_row *r, int c, bool known, uint64_t us)
{
	r->val[c] = known ? (double)us : -1;
	if (!known)
		snprintf(r->cell[c], TOP_CELL_LEN, "-");
	else if (us < 1000)
		snprintf(r->cell[c], TOP_CELL_LEN, "%lluus", (unsigned long long)us);
	else if (us < 1000000)
		snprintf(r->cell[c], TOP_CELL_LEN, "%.1fms", us / 1e3);
	else
		snprintf(r->cell[c], TOP_CELL_LEN, "%.2fs", us / 1e6);
}

static void dest_rows(const struct top_model *m, struct top_table *t)
{
	struct dest *d, *tmp;

	HASH_ITER(hh, m->dests, d, tmp) {
		struct top_row *r = row_add(t);
		size_t n = 0;

		if (!r)
			return;
		cell_str(r, 0, d->ep);
		cell_str(r, 1, d->dir);
		cell_rate(r, 2, d->rate);
		cell_u64(r, 3, d->connects);
		cell_u64(r, 4, d->failed);
		for (int i = 0; i < ERRNOS_KEPT && d->err[i].name[0] && n < TOP_CELL_LEN; i++)
			n += snprintf(r->cell[5] + n, TOP_CELL_LEN - n, "%s%s:%llu", n ? " " : "",
				      d->err[i].name, (unsigned long long)d->err[i].n);
		if (!n)
			cell_str(r, 5, NULL);
		cell_us(r, 6, d->hs_known, d->hs_p99_us);
		if (d->rt_known && d->rt_segments) {
			double pct = 100.0 * d->rt_retrans / d->rt_segments;

			snprintf(r->cell[7], TOP_CELL_LEN, "%.2f", pct);
			r->val[7] = pct;
		} else {
			cell_str(r, 7, NULL);
			r->val[7] = -1;
		}
		cell_bytes(r, 8, d->sent);
		cell_bytes(r, 9, d->received);
	}
}

static void drop_rows(const struct top_model *m, struct top_table *t)
{
	struct droprow *d, *tmp;

	HASH_ITER(hh, m->drops, d, tmp) {
		struct top_row *r = row_add(t);

		if (!r)
			return;
		cell_str(r, 0, d->reason);
		cell_str(r, 1, d->location);
		cell_str(r, 2, d->dest);
		cell_str(r, 3, d->proc);
		cell_rate(r, 4, d->rate);
		cell_u64(r, 5, d->total);
		cell_u64(r, 6, d->netns);
	}
}

static void dns_rows(const struct top_model *m, struct top_table *t)
{
	struct dnsrow *d, *tmp;

	HASH_ITER(hh, m->dns, d, tmp) {
		struct top_row *r = row_add(t);

		if (!r)
			return;
		cell_str(r, 0, d->kind);
		cell_str(r, 1, d->name);
		cell_u64(r, 2, d->queries);
		cell_u64(r, 3, d->failed);
		cell_u64(r, 4, d->timeouts);
		cell_us(r, 5, d->p99_known, d->p99_us);
		cell_str(r, 6, d->rcodes);
	}
}

static void proc_rows(const struct top_model *m, struct top_table *t)
{
	struct proc *p, *tmp;

	HASH_ITER(hh, m->procs, p, tmp) {
		struct top_row *r = row_add(t);

		if (!r)
			return;
		cell_u64(r, 0, p->pid);
		cell_str(r, 1, p->comm);
		cell_u64(r, 2, p->conns);
		cell_u64(r, 3, p->failed);
		cell_u64(r, 4, p->retrans);
		cell_u64(r, 5, p->drops);
		cell_u64(r, 6, p->dns);
		cell_u64(r, 7, p->dns_failed);
	}
}

static void flow_rows(const struct top_model *m, struct top_table *t)
{
	for (size_t i = 0; i < m->flows.n; i++) {
		const struct flow *f = &m->flows.v[i];
		struct top_row *r = row_add(t);

		if (!r)
			return;
		cell_str(r, 0, f->src);
		cell_str(r, 1, f->dst);
		cell_str(r, 2, f->proto);
		cell_u64(r, 3, f->packets);
		cell_bytes(r, 4, f->bytes);
		cell_rate(r, 5, m->flows_interval_s > 0 ? f->bytes / m->flows_interval_s : 0);
	}
}

static bool row_matches(const struct top_table *t, const struct top_row *r, const char *filter)
{
	for (int c = 0; c < t->ncols; c++)
		if (strcasestr(r->cell[c], filter))
			return true;
	return false;
}

static void filter_rows(struct top_table *t, const char *filter)
{
	size_t kept = 0;

	if (!filter || !*filter)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (row_matches(t, &t->rows[i], filter))
			memmove(&t->rows[kept++], &t->rows[i], sizeof(t->rows[i]));
	t->n = kept;
}

struct sorting {
	int col;
	bool num, reverse;
};

static int row_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct top_row *a = pa, *b = pb;
	const struct sorting *by = ctx;
	int c;

	if (by->num)   /* largest first */
		c = a->val[by->col] < b->val[by->col] ? 1 : a->val[by->col] > b->val[by->col] ? -1 : 0;
	else
		c = strcmp(a->cell[by->col], b->cell[by->col]);
	if (!c)   /* a stable order between refreshes */
		c = strcmp(a->cell[0], b->cell[0]) ?: strcmp(a->cell[1], b->cell[1]);
	return by->reverse ? -c : c;
}

void top_model_table(const struct top_model *m, enum top_view v, struct top_table *t,
		     const char *filter, int sort, bool reverse)
{
	static void (*const fill[TOP_VIEWS])(const struct top_model *, struct top_table *) = {
		[TOP_DESTS] = dest_rows, [TOP_DROPS] = drop_rows, [TOP_DNS] = dns_rows,
		[TOP_PROCS] = proc_rows, [TOP_FLOWS] = flow_rows,
	};
	struct sorting by;

	t->n = 0;
	t->title = views[v].title;
	t->cols = views[v].cols;
	t->ncols = views[v].ncols;
	t->sort_col = sort >= 0 && sort < t->ncols ? sort : views[v].sort;
	t->empty = views[v].empty;
	fill[v](m, t);
	filter_rows(t, filter);
	by = (struct sorting){ t->sort_col, t->cols[t->sort_col].num, reverse };
	qsort_r(t->rows, t->n, sizeof(t->rows[0]), row_cmp, &by);
}

void top_table_free(struct top_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

void top_table_line(const struct top_table *t, const struct top_row *row, char *buf, size_t width)
{
	size_t n = 0;

	for (int c = 0; c < t->ncols && n < width; c++) {
		const char *s = row ? row->cell[c] : t->cols[c].name;
		bool last = c == t->ncols - 1;
		int w = last && !t->cols[c].num ? (int)(width - n) : t->cols[c].width;
		int len = (int)strlen(s);

		if (len > w)
			len = w;
		/* n < width <= the caller's buffer less one: room for the terminator. */
		n += snprintf(buf + n, width + 1 - n, t->cols[c].num ? "%*.*s" : "%-*.*s",
			      last && !t->cols[c].num ? len : w, len, s);
		if (c < t->ncols - 1 && n < width)
			buf[n++] = ' ';
		if (n > width)
			n = width;
	}
	buf[n] = '\0';
}

void top_table_print(const struct top_table *t, FILE *out, size_t width)
{
	char line[1024];

	if (width >= sizeof(line))
		width = sizeof(line) - 1;
	fprintf(out, "\n%s\n", t->title);
	if (!t->n) {
		fprintf(out, "  (%s)\n", t->empty);
		return;
	}
	top_table_line(t, NULL, line, width);
	fprintf(out, "%s\n", line);
	for (size_t i = 0; i < t->n; i++) {
		top_table_line(t, &t->rows[i], line, width);
		fprintf(out, "%s\n", line);
	}
}
