// SPDX-License-Identifier: GPL-2.0
/* netlens drops: kernel records and summary rows to JSON and tables. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "drops/drops.h"
#include "output/format.h"
#include "framework/sys.h"

void drops_report_init(struct drops_report *r, const struct drop_reasons *reasons,
		       struct nl_ksyms *ksyms, uint64_t now_ns)
{
	memset(r, 0, sizeof(*r));
	r->reasons = reasons;
	r->ksyms = ksyms;
	r->last_ns = now_ns;
}

void drops_report_free(struct drops_report *r)
{
	struct drops_row *row, *tmp;

	HASH_ITER(hh, r->rows, row, tmp) {
		HASH_DEL(r->rows, row);
		free(row->labels);
		free(row);
	}
	nl_fold_free(r->fold);
	nl_fold_free(r->rcvbuf_fold);
}

/* "udp_queue_rcv_one_skb+0x1a4", or the address in hex when symbols are hidden. */
static const char *drops_location(struct drops_report *r, uint64_t addr, char *buf, size_t len)
{
	return nl_ksyms_fmt(r->ksyms, addr, buf, len);
}

/* The reason column: the kernel's name, the socket kind, or the number. */
static const char *reason_text(const struct drops_report *r, uint8_t kind, uint32_t reason,
			       char *buf, size_t len)
{
	const char *name;

	if (kind != DROP_KIND_SKB)
		return drop_kind_name(kind);
	name = drop_reason_name(r->reasons, reason);
	if (name)
		return name;
	/* A subsystem's reason (mac80211, openvswitch) or one newer than the BTF read. */
	snprintf(buf, len, "0x%x", reason);
	return buf;
}

/* "udp", "tcp", "icmp", "icmpv6", "ip-47"; "arp" or "ethertype-0x88cc" without IP. */
static const char *proto_text(uint8_t family, uint8_t proto, uint16_t l3proto,
			      char *buf, size_t len)
{
	if (!family) {
		if (l3proto == 0x0806)
			return "arp";
		snprintf(buf, len, "ethertype-0x%04x", l3proto);
		return buf;
	}
	switch (proto) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: return "icmp";
	case 58: return "icmpv6";
	}
	snprintf(buf, len, "ip-%u", proto);
	return buf;
}

static const char *context_text(uint8_t flags)
{
	if (flags & DROP_F_PROCESS)
		return "process";
	if (flags & DROP_F_SOFTIRQ)
		return "softirq";
	return NULL;
}

static void jw_str_or_null(struct nl_jw *w, const char *key, size_t klen, const char *val)
{
	if (val)
		nl_jw_strn_k(w, key, klen, val, strlen(val));
	else
		nl_jw_null_k(w, key, klen);
}

#define jw_opt(w, k, v) jw_str_or_null(w, NL_JW_KEY(k), v)

static void jw_port(struct nl_jw *w, const char *key, size_t klen, bool valid, uint16_t port)
{
	if (valid)
		nl_jw_uint_k(w, key, klen, port);
	else
		nl_jw_null_k(w, key, klen);
}

/*
 * The same leading fields as every socket record (nl_jw_sock), except that
 * what the packet did not show is null: a dropped packet may have no IP
 * header (ARP), no ports (ICMP), and no process (softirq: pid 0).
 */
/*
 * Whose drop it was: the owner of the socket the packet reached, else the
 * process in whose system call it was dropped; NULL if neither is known.
 */
static const struct nl_owner *drop_owner(const struct drop_event *e, const char **how)
{
	*how = (e->flags & DROP_F_SOCK_OWNER) ? "socket" :
	       (e->flags & DROP_F_PROCESS) ? "process" : NULL;
	return *how ? &e->owner : NULL;
}

/* The owner of a row's listening socket, if known. */
static const struct nl_owner *row_owner(const struct drops_report *r, const struct drop_key *k,
					struct nl_owner *buf)
{
	return k->sk_ino && r->owner_of ? r->owner_of(r->owner_ctx, k->sk_ino, buf) : NULL;
}

static void write_json(struct drops_report *r, struct nl_sink *s, const struct drop_event *e)
{
	const struct nl_tuple *t = &e->id.tuple;
	const char *how;
	const struct nl_owner *o = drop_owner(e, &how);
	bool ip = e->flags & DROP_F_HEADERS, ports = e->flags & DROP_F_PORTS;
	char buf[NL_ADDR_LEN], loc[160], num[32];
	struct nl_jw *w = &s->jw;

	nl_jw_begin(w);
	nl_jw_str(w, "type", "drop");
	nl_jw_strn(w, "ts", nl_fmt_rfc3339(nl_mono_to_realtime(e->ts_ns), buf, sizeof(buf)),
		   sizeof(buf));
	nl_jw_uint(w, "pid", o ? o->pid : 0);
	nl_jw_strn(w, "comm", o ? o->comm : "", NL_COMM_LEN);
	jw_opt(w, "owner", how);
	nl_jw_uint(w, "cgroup_id", e->id.cgroup_id);
	nl_jw_uint(w, "netns", e->id.netns);
	if (ip)
		nl_jw_uint(w, "family", t->family);
	else
		nl_jw_null(w, "family");
	jw_opt(w, "saddr", ip ? nl_fmt_addr(t->family, t->saddr, buf, sizeof(buf)) : NULL);
	jw_port(w, NL_JW_KEY("sport"), ports, t->sport);
	jw_opt(w, "daddr", ip ? nl_fmt_addr(t->family, t->daddr, buf, sizeof(buf)) : NULL);
	jw_port(w, NL_JW_KEY("dport"), ports, t->dport);
	nl_jw_str(w, "kind", drop_kind_name(e->kind));
	jw_opt(w, "reason", e->kind == DROP_KIND_SKB ?
	       reason_text(r, e->kind, e->reason, num, sizeof(num)) : NULL);
	nl_jw_str(w, "class", drop_class_name(drop_class_of(r->reasons, e->kind, e->reason)));
	jw_opt(w, "location", e->location ? drops_location(r, e->location, loc, sizeof(loc)) : NULL);
	jw_opt(w, "proto", ip || e->l3proto ?
	       proto_text(ip ? t->family : 0, e->proto, e->l3proto, num, sizeof(num)) : NULL);
	jw_port(w, NL_JW_KEY("icmp_type"), e->flags & DROP_F_ICMP, e->icmp_type);
	jw_port(w, NL_JW_KEY("icmp_code"), e->flags & DROP_F_ICMP, e->icmp_code);
	if (e->flags & DROP_F_DEV)
		nl_jw_strn(w, "ifname", e->ifname, sizeof(e->ifname));
	else
		nl_jw_null(w, "ifname");
	nl_jw_uint(w, "ifindex", e->ifindex);
	nl_jw_uint(w, "len", e->len);
	jw_opt(w, "context", context_text(e->flags));
	nl_sink_jw(s);
}

void drops_report_event(struct drops_report *r, struct nl_sink *s, const void *data, size_t len)
{
	const struct drop_event *e = data;

	if (len < sizeof(*e) || !e->kind || e->kind >= DROP_KIND_MAX) {
		r->bad_records++;
		return;
	}
	/* Tables show the summary only: individual records are JSON. */
	if (s->kind == NL_OUT_JSON && nl_sink_wants_records(s))
		write_json(r, s, e);
}

int drops_report_set(struct drops_report *r, const struct drop_key *k, uint64_t count)
{
	struct drops_row *row;

	HASH_FIND(hh, r->rows, k, sizeof(*k), row);
	if (!row) {
		row = calloc(1, sizeof(*row));
		if (!row)
			return -ENOMEM;
		row->key = *k;
		row->class = drop_class_of(r->reasons, k->kind, k->reason);
		row->rcvbuf = drop_is_rcvbuf(r->reasons, k->kind, k->reason);
		HASH_ADD(hh, r->rows, key, sizeof(*k), row);
	}
	row->total += count >= row->kernel ? count - row->kernel : count;
	row->kernel = count;
	return 0;
}

static uint64_t fresh(const struct drops_row *row)
{
	return row->total - row->reported;
}

/* A row the summary lists: it grew, and it is not benign unless --all. */
static bool listed(const struct drops_report *r, const struct drops_row *row)
{
	return fresh(row) && (r->all || row->class != DROP_CLASS_BENIGN);
}

static int busiest_first(struct drops_row *a, struct drops_row *b)
{
	uint64_t x = fresh(a), y = fresh(b);

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The destination column: daddr:dport, daddr, or the protocol alone. */
static const char *target_text(const struct drop_key *k, char *buf, size_t len)
{
	char proto[32], addr[NL_ADDR_LEN];

	if (k->family && k->dport)
		return nl_fmt_endpoint(k->family, k->daddr, k->dport, buf, len);
	if (k->family && (k->flags & DROP_KEY_EPHEMERAL)) {
		nl_fmt_addr(k->family, k->daddr, addr, sizeof(addr));
		snprintf(buf, len, k->family == 6 ? "[%s]:ephemeral" : "%s:ephemeral", addr);
		return buf;
	}
	if (k->family)
		return nl_fmt_addr(k->family, k->daddr, buf, len);
	snprintf(buf, len, "%s", proto_text(0, 0, k->l3proto, proto, sizeof(proto)));
	return buf;
}

static struct json_object *row_json(struct drops_report *r, const struct drops_row *row)
{
	const struct drop_key *k = &row->key;
	struct nl_owner owner;
	const struct nl_owner *o = row_owner(r, k, &owner);
	struct json_object *j = json_object_new_object();
	char buf[160], num[32];

	json_object_object_add(j, "count", json_object_new_int64(fresh(row)));
	json_object_object_add(j, "kind", json_object_new_string(drop_kind_name(k->kind)));
	json_object_object_add(j, "reason", k->kind == DROP_KIND_SKB ? json_object_new_string(
		reason_text(r, k->kind, k->reason, num, sizeof(num))) : NULL);
	json_object_object_add(j, "class", json_object_new_string(drop_class_name(row->class)));
	json_object_object_add(j, "location", k->location ? json_object_new_string(
		drops_location(r, k->location, buf, sizeof(buf))) : NULL);
	json_object_object_add(j, "netns", json_object_new_int64(k->netns));
	json_object_object_add(j, "family", k->family ? json_object_new_int(k->family) : NULL);
	json_object_object_add(j, "proto", k->family || k->l3proto ? json_object_new_string(
		proto_text(k->family, k->proto, k->l3proto, num, sizeof(num))) : NULL);
	json_object_object_add(j, "daddr", k->family ? json_object_new_string(
		nl_fmt_addr(k->family, k->daddr, buf, sizeof(buf))) : NULL);
	json_object_object_add(j, "dport", k->dport ? json_object_new_int(k->dport) : NULL);
	json_object_object_add(j, "dport_ephemeral",
			       json_object_new_boolean(k->flags & DROP_KEY_EPHEMERAL));
	json_object_object_add(j, "icmp_too_big", json_object_new_boolean(k->flags & DROP_KEY_TOO_BIG));
	json_object_object_add(j, "pid", o ? json_object_new_int64(o->pid) : NULL);
	json_object_object_add(j, "comm", o ? json_object_new_string(o->comm) : NULL);
	return j;
}

/* What one summary shows: its rows' total, their number, the benign drops left out. */
struct summary_totals {
	uint64_t total;
	uint64_t benign;
	unsigned int nrows;
};

static void summary_json(struct drops_report *r, struct nl_sink *s, uint64_t now_ns,
			 const struct summary_totals *t)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct drops_row *row, *tmp;
	char ts[NL_TS_LEN], secs[32];

	json_object_object_add(o, "type", json_object_new_string("drop_summary"));
	json_object_object_add(o, "ts", json_object_new_string(
		nl_fmt_rfc3339(nl_mono_to_realtime(now_ns), ts, sizeof(ts))));
	snprintf(secs, sizeof(secs), "%.3f", (double)(now_ns - r->last_ns) / 1e9);
	json_object_object_add(o, "interval_s", json_object_new_double_s(atof(secs), secs));
	json_object_object_add(o, "total", json_object_new_int64(t->total));
	json_object_object_add(o, "benign_left_out", json_object_new_int64(t->benign));
	json_object_object_add(o, "rows_count", json_object_new_int(t->nrows));
	HASH_ITER(hh, r->rows, row, tmp)
		if (listed(r, row))
			json_object_array_add(arr, row_json(r, row));
	json_object_object_add(o, "rows", arr);
	nl_sink_json(s, o);
	json_object_put(o);
}

static void summary_table(struct drops_report *r, struct nl_sink *s, uint64_t now_ns,
			  const struct summary_totals *t)
{
	char ts[NL_TS_LEN], num[32], loc[160], target[64], proto[32], owner[NL_COMM_LEN + 16];
	struct drops_row *row, *tmp;
	unsigned int shown = 0;

	fprintf(s->out, "\n%s  %" PRIu64 " drops in %.1f s",
		nl_fmt_clock(nl_mono_to_realtime(now_ns), ts, sizeof(ts)), t->total,
		(double)(now_ns - r->last_ns) / 1e9);
	if (t->benign)
		fprintf(s->out, " (%" PRIu64 " benign left out, --all shows them)", t->benign);
	fputc('\n', s->out);
	if (!t->nrows)
		return;
	fprintf(s->out, "%10s  %-22s %-36s %-30s %-7s %-10s  %-7s %s\n", "COUNT", "REASON",
		"LOCATION", "DESTINATION", "PROTO", "NETNS", "CLASS", "PROCESS");
	HASH_ITER(hh, r->rows, row, tmp) {
		const struct drop_key *k = &row->key;
		const struct nl_owner *o;
		struct nl_owner buf;

		if (!listed(r, row))
			continue;
		if (shown++ == DROPS_TABLE_ROWS) {
			fprintf(s->out, "... %u more rows (-o json lists them all)\n",
				t->nrows - DROPS_TABLE_ROWS);
			break;
		}
		o = row_owner(r, k, &buf);
		if (o)
			snprintf(owner, sizeof(owner), "%s[%u]", o->comm, o->pid);
		fprintf(s->out, "%10" PRIu64 "  %-22s %-36s %-30s %-7s %-10u  %-7s %s\n", fresh(row),
			reason_text(r, k->kind, k->reason, num, sizeof(num)),
			k->location ? drops_location(r, k->location, loc, sizeof(loc)) : "-",
			target_text(k, target, sizeof(target)),
			k->family || k->l3proto ?
			proto_text(k->family, k->proto, k->l3proto, proto, sizeof(proto)) : "-",
			k->netns, drop_class_name(row->class), o ? owner : "-");
	}
	fprintf(s->out, "%10" PRIu64 "  total\n", t->total);
}

void drops_report_summary(struct drops_report *r, struct nl_sink *s, uint64_t now_ns)
{
	struct summary_totals t = {};
	struct drops_row *row, *tmp;

	HASH_SORT(r->rows, busiest_first);
	HASH_ITER(hh, r->rows, row, tmp) {
		if (listed(r, row)) {
			t.nrows++;
			t.total += fresh(row);
		} else {
			t.benign += fresh(row);
		}
	}
	if (s->kind == NL_OUT_JSON)
		summary_json(r, s, now_ns, &t);
	else
		summary_table(r, s, now_ns, &t);
	HASH_ITER(hh, r->rows, row, tmp)
		row->reported = row->total;
	r->last_ns = now_ns;
}

void drops_report_stats(struct drops_report *r, struct nl_sink *s, const uint64_t *st)
{
	static const struct { const char *name; int idx; } counters[] = {
		{ "drops", DROP_STAT_SEEN }, { "events", NL_STAT_EVENTS },
		{ "suppressed", DROP_STAT_SUPPRESSED }, { "lost", NL_STAT_LOST },
		{ "map_full", NL_STAT_MAP_FULL }, { "map_busy", NL_STAT_MAP_BUSY },
	};
	struct json_object *o;

	if (s->kind != NL_OUT_JSON) {
		/* Tables have no individual records: only the summary's own losses. */
		fprintf(s->out, "%" PRIu64 " drops seen, %" PRIu64 " not in the summary "
			"(map full %" PRIu64 ", busy %" PRIu64 "), %" PRIu64 " missed (hook busy)\n",
			st[DROP_STAT_SEEN], st[NL_STAT_MAP_FULL] + st[NL_STAT_MAP_BUSY],
			st[NL_STAT_MAP_FULL], st[NL_STAT_MAP_BUSY], r->missed);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("stats"));
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		json_object_object_add(o, counters[i].name, json_object_new_int64(st[counters[i].idx]));
	json_object_object_add(o, "missed", json_object_new_int64(r->missed));
	json_object_object_add(o, "bad_records", json_object_new_int64(r->bad_records));
	json_object_object_add(o, "symbols", json_object_new_boolean(r->ksyms && r->ksyms->n));
	nl_sink_json(s, o);
	json_object_put(o);
}

/* The function that dropped the packet, without offset or module; "" if unknown. */
static const char *location_fn(const struct drops_report *r, uint64_t addr, char *buf, size_t len)
{
	const struct nl_ksym *sym;
	uint64_t off;

	if (!addr)
		return "";
	sym = r->ksyms ? nl_ksyms_find(r->ksyms, addr, &off) : NULL;
	if (sym)
		return sym->name;
	snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

/* The dport label: the row's service port, "ephemeral" for a client's, "" without ports. */
static const char *port_label(const struct drop_key *k, char *buf, size_t len)
{
	if (k->flags & DROP_KEY_EPHEMERAL)
		return "ephemeral";
	if (!k->dport)
		return "";
	snprintf(buf, len, "%u", k->dport);
	return buf;
}

/* A row's labels: kernel rows for other addresses and namespaces share them. */
static char *row_labels(const struct drops_report *r, const struct drop_key *k,
			enum drop_class row_class)
{
	char labels[512], loc[32], num[32], port[16];

	return strdup(nl_prom_labels(labels, sizeof(labels), "kind", drop_kind_name(k->kind),
				     "class", drop_class_name(row_class),
				     "reason", k->kind == DROP_KIND_SKB ?
				     reason_text(r, k->kind, k->reason, num, sizeof(num)) : "",
				     "location", location_fn(r, k->location, loc, sizeof(loc)),
				     "dport", port_label(k, port, sizeof(port)), NULL));
}

/*
 * A receive-buffer row's labels, made again at each page: its socket's
 * owner may be learnt after its first drops.
 */
static const char *rcvbuf_labels(struct drops_report *r, const struct drop_key *k,
				 char *buf, size_t len)
{
	struct nl_owner owner;
	const struct nl_owner *o = row_owner(r, k, &owner);
	char num[32], port[16], proto[32];

	return nl_prom_labels(buf, len, "reason", reason_text(r, k->kind, k->reason, num, sizeof(num)),
			      "proto", k->family ? proto_text(k->family, k->proto, 0, proto,
							      sizeof(proto)) : "",
			      "port", port_label(k, port, sizeof(port)), "comm", o ? o->comm : "",
			      NULL);
}

#define DROPS_FAMILY "netlens_packet_drops_total"
#define RCVBUF_FAMILY "netlens_socket_rcvbuf_drops_total"

static void declare_families(struct nl_prom *p)
{
	nl_prom_family(p, DROPS_FAMILY, NL_PROM_COUNTER,
		       "Packets the kernel dropped, by kind, class (loss, policy, benign), drop reason "
		       "and dropping function.");
	nl_prom_family(p, RCVBUF_FAMILY, NL_PROM_COUNTER,
		       "Packets dropped because a socket's receive buffer overflowed, by reason, "
		       "protocol, local port and owning process.");
	nl_prom_family(p, "netlens_drop_records_suppressed_total", NL_PROM_COUNTER,
		       "Individual drop records not written, over --events-per-sec.");
	nl_prom_family(p, "netlens_parse_errors_total", NL_PROM_COUNTER,
		       "Records or packets a module could not parse.");
}

static void write_fold(struct nl_prom *p, const char *family, struct nl_fold *f)
{
	const struct nl_fold_row *out;
	size_t n;

	nl_fold_end(f, nl_prom_max_series(p));
	out = nl_fold_rows(f, &n);
	for (size_t i = 0; i < n; i++)
		nl_prom_counter(p, family, out[i].labels, out[i].vals[0]);
}

void drops_report_metrics(struct drops_report *r, struct nl_prom *p, const uint64_t *st)
{
	struct drops_row *row, *tmp;
	char labels[512];

	declare_families(p);
	if (!r->fold)
		r->fold = nl_fold_new(1, "kind=\"other\",class=\"other\",reason=\"other\","
				      "location=\"other\",dport=\"other\"");
	if (!r->rcvbuf_fold)
		r->rcvbuf_fold = nl_fold_new(1, "reason=\"other\",proto=\"other\",port=\"other\","
					     "comm=\"other\"");
	nl_fold_begin(r->fold);
	nl_fold_begin(r->rcvbuf_fold);
	/* Rows under the same labels add up in the fold. */
	HASH_ITER(hh, r->rows, row, tmp) {
		if (!row->labels)
			row->labels = row_labels(r, &row->key, row->class);
		if (row->labels)
			nl_fold_put(r->fold, row->labels, row->total, &row->total);
		if (row->rcvbuf)
			nl_fold_put(r->rcvbuf_fold, rcvbuf_labels(r, &row->key, labels, sizeof(labels)),
				    row->total, &row->total);
	}
	write_fold(p, DROPS_FAMILY, r->fold);
	write_fold(p, RCVBUF_FAMILY, r->rcvbuf_fold);
	nl_prom_counter(p, "netlens_drop_records_suppressed_total", "", st[DROP_STAT_SUPPRESSED]);
	nl_prom_counter(p, "netlens_parse_errors_total", "module=\"drops\"", r->bad_records);
	nl_prom_folded(p, DROPS_FAMILY, r->fold);
	nl_prom_folded(p, RCVBUF_FAMILY, r->rcvbuf_fold);
}
