// SPDX-License-Identifier: GPL-2.0
/* netlens flows: per-interval deltas, flow identity across intervals, output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include "flows/flows.h"
#include "output/format.h"
#include "output/ipfix.h"
#include "output/prom.h"
#include "framework/sys.h"

void flows_report_init(struct flows_report *r, const struct flows_cfg *cfg, uint64_t now_ns)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->prev_ns = now_ns;
}

void flows_report_free(struct flows_report *r)
{
	struct flows_known *f, *tmp;

	HASH_ITER(hh, r->known, f, tmp) {
		HASH_DEL(r->known, f);
		free(f);
	}
	free(r->cur);
	r->cur = NULL;
	r->ncur = r->cap = 0;
}

void flows_sum_cpus(const struct flow_val *percpu, int ncpu, struct flow_val *out)
{
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < ncpu; c++) {
		const struct flow_val *v = &percpu[c];

		if (!v->packets)
			continue;
		out->packets += v->packets;
		out->bytes += v->bytes;
		if (!out->first_seen_ns || v->first_seen_ns < out->first_seen_ns)
			out->first_seen_ns = v->first_seen_ns;
		if (v->last_seen_ns > out->last_seen_ns)
			out->last_seen_ns = v->last_seen_ns;
		out->tcp_flags |= v->tcp_flags;
	}
}

/*
 * The flow table of user space holds at most --max-flows flows (what the
 * kernel's table holds in one interval), least recently seen first: a new
 * flow in a full table takes the place of the one seen longest ago.
 */
static struct flows_known *known_new(struct flows_report *r)
{
	struct flows_known *f = r->known;

	if (!f || HASH_COUNT(r->known) < r->cfg->max_flows)
		return calloc(1, sizeof(*f));
	HASH_DEL(r->known, f);
	r->evicted_full++;
	memset(f, 0, sizeof(*f));
	return f;
}

int flows_report_add(struct flows_report *r, const struct flow_key *k, const struct flow_val *v)
{
	struct flows_known *f;
	struct flows_delta *d;

	if (r->ncur == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		void *p = realloc(r->cur, cap * sizeof(*r->cur));

		if (!p)
			return -ENOMEM;
		r->cur = p;
		r->cap = cap;
	}
	HASH_FIND(hh, r->known, k, sizeof(*k), f);
	if (f) {
		/* Seen again: to the end of the order (uthash keeps insertion order). */
		HASH_DEL(r->known, f);
	} else {
		f = known_new(r);
		if (!f)
			return -ENOMEM;
		f->key = *k;
		f->first_seen_ns = v->first_seen_ns;
	}
	HASH_ADD(hh, r->known, key, sizeof(f->key), f);
	if (v->last_seen_ns > f->last_seen_ns)
		f->last_seen_ns = v->last_seen_ns;
	d = &r->cur[r->ncur++];
	d->key = *k;
	d->val = *v;
	d->val.first_seen_ns = f->first_seen_ns;
	d->interval_first_ns = v->first_seen_ns;
	return 0;
}

const char *flows_fmt_tcp_flags(uint8_t flags, char *buf, size_t len)
{
	static const char names[] = "FSRPAUEC";
	size_t n = 0;

	for (int i = 0; i < 8 && n + 1 < len; i++)
		if (flags & (1u << i))
			buf[n++] = names[i];
	if (!n && len > 1)
		buf[n++] = '-';
	if (len)
		buf[n < len ? n : len - 1] = 0;
	return buf;
}

const char *flows_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	case 132: return "sctp";
	case 136: return "udplite";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

static const char *ifname_of(struct flows_report *r, unsigned int ifindex)
{
	if (ifindex != r->cached_ifindex) {
		if (!if_indextoname(ifindex, r->cached_ifname))
			snprintf(r->cached_ifname, sizeof(r->cached_ifname), "if%u", ifindex);
		r->cached_ifindex = ifindex;
	}
	return r->cached_ifname;
}

static const char *dir_name(uint8_t dir)
{
	return dir == FLOW_DIR_EGRESS ? "egress" : "ingress";
}

static uint64_t sort_value(const struct flows_report *r, const struct flows_delta *d)
{
	return r->cfg->sort == FLOWS_SORT_PACKETS ? d->val.packets : d->val.bytes;
}

static const struct flows_report *sorting;   /* qsort has no context argument */

static int largest_first(const void *a, const void *b)
{
	uint64_t x = sort_value(sorting, a), y = sort_value(sorting, b);

	return x < y ? 1 : x > y ? -1 : 0;
}

static void sort_deltas(struct flows_report *r, struct flows_delta *d, size_t n)
{
	sorting = r;
	qsort(d, n, sizeof(*d), largest_first);
}

static void jw_time(struct nl_jw *w, const char *key, uint64_t mono_ns)
{
	char buf[NL_TS_LEN];

	nl_jw_strn_k(w, key, strlen(key), nl_fmt_rfc3339(nl_mono_to_realtime(mono_ns), buf,
							 sizeof(buf)), sizeof(buf));
}

static void json_flow(struct flows_report *r, struct nl_sink *s, uint64_t now,
		      const struct flows_delta *d)
{
	const struct flow_key *k = &d->key;
	struct nl_jw *w = &s->jw;
	char buf[NL_ADDR_LEN];

	nl_jw_begin(w);
	nl_jw_str(w, "type", "flow");
	jw_time(w, "ts", now);
	nl_jw_str(w, "ifname", ifname_of(r, k->ifindex));
	nl_jw_uint(w, "ifindex", k->ifindex);
	nl_jw_str(w, "direction", dir_name(k->direction));
	nl_jw_uint(w, "family", k->family);
	nl_jw_strn(w, "saddr", nl_fmt_addr(k->family, k->saddr, buf, sizeof(buf)), sizeof(buf));
	nl_jw_uint(w, "sport", k->sport);
	nl_jw_strn(w, "daddr", nl_fmt_addr(k->family, k->daddr, buf, sizeof(buf)), sizeof(buf));
	nl_jw_uint(w, "dport", k->dport);
	nl_jw_uint(w, "proto", k->proto);
	if (k->vlan_outer)
		nl_jw_uint(w, "vlan", k->vlan_outer);
	else
		nl_jw_null(w, "vlan");
	if (k->vlan_inner)
		nl_jw_uint(w, "vlan_inner", k->vlan_inner);
	else
		nl_jw_null(w, "vlan_inner");
	nl_jw_uint(w, "packets", d->val.packets);
	nl_jw_uint(w, "bytes", d->val.bytes);
	jw_time(w, "first_seen", d->val.first_seen_ns);
	jw_time(w, "last_seen", d->val.last_seen_ns);
	nl_jw_uint(w, "tcp_flags", d->val.tcp_flags);
	nl_jw_uint(w, "fragment", !!(k->flags & FLOW_F_FRAGMENT));
	nl_jw_uint(w, "truncated", !!(k->flags & FLOW_F_TRUNCATED));
	nl_sink_jw(s);
}

/* Traffic to one port, per source address (the "who hammers my DNS" view). */
struct flows_source {
	uint8_t id[17];               /* family, then the address */
	struct flows_delta sum;       /* packets, bytes; key.sport counts flows */
	UT_hash_handle hh;
};

/* Sources of traffic to --top-sources PORT, as deltas sorted largest first. */
static struct flows_delta *top_sources(struct flows_report *r, size_t *n)
{
	struct flows_source *all = NULL, *src, *tmp;
	struct flows_delta *out;
	size_t i = 0;

	for (size_t j = 0; j < r->ncur; j++) {
		const struct flows_delta *d = &r->cur[j];
		uint8_t id[17];

		if (!d->key.family || d->key.dport != r->cfg->top_sources_port ||
		    (d->key.flags & FLOW_F_FRAGMENT))
			continue;
		id[0] = d->key.family;
		memcpy(id + 1, d->key.saddr, 16);
		HASH_FIND(hh, all, id, sizeof(id), src);
		if (!src) {
			src = calloc(1, sizeof(*src));
			if (!src)
				break;
			memcpy(src->id, id, sizeof(id));
			src->sum.key.family = d->key.family;
			src->sum.key.ifindex = d->key.ifindex;
			memcpy(src->sum.key.saddr, d->key.saddr, 16);
			HASH_ADD(hh, all, id, sizeof(id), src);
		}
		src->sum.val.packets += d->val.packets;
		src->sum.val.bytes += d->val.bytes;
		src->sum.key.sport++;
	}
	out = calloc(HASH_COUNT(all) + 1, sizeof(*out));
	HASH_ITER(hh, all, src, tmp) {
		if (out)
			out[i++] = src->sum;
		HASH_DEL(all, src);
		free(src);
	}
	*n = i;
	if (out)
		sort_deltas(r, out, i);
	return out;
}

static void json_source(struct flows_report *r, struct nl_sink *s, uint64_t now,
			const struct flows_delta *d)
{
	struct nl_jw *w = &s->jw;
	char buf[NL_ADDR_LEN];

	nl_jw_begin(w);
	nl_jw_str(w, "type", "top_source");
	jw_time(w, "ts", now);
	nl_jw_str(w, "ifname", ifname_of(r, d->key.ifindex));
	nl_jw_uint(w, "dport", r->cfg->top_sources_port);
	nl_jw_uint(w, "family", d->key.family);
	nl_jw_strn(w, "saddr", nl_fmt_addr(d->key.family, d->key.saddr, buf, sizeof(buf)),
		   sizeof(buf));
	nl_jw_uint(w, "packets", d->val.packets);
	nl_jw_uint(w, "bytes", d->val.bytes);
	nl_jw_uint(w, "flows", d->key.sport);
	nl_sink_jw(s);
}

/* Interval totals: the deltas of the monotonic kernel counters. */
struct interval {
	uint64_t now, ns;
	uint64_t st[NL_STAT_MAX];
	struct flow_val other;
	size_t flows;                 /* IP flows with traffic in the interval */
};

static struct json_object *ethertypes_json(const struct flows_report *r)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < r->ncur; i++) {
		const struct flows_delta *d = &r->cur[i];
		struct json_object *o;
		char hex[8];

		if (d->key.family)
			continue;
		o = json_object_new_object();
		snprintf(hex, sizeof(hex), "0x%04x", d->key.ethertype);
		json_object_object_add(o, "ethertype", json_object_new_string(hex));
		json_object_object_add(o, "direction", json_object_new_string(dir_name(d->key.direction)));
		json_object_object_add(o, "vlan", d->key.vlan_outer ?
				       json_object_new_int(d->key.vlan_outer) : NULL);
		json_object_object_add(o, "truncated",
				       json_object_new_boolean(d->key.flags & FLOW_F_TRUNCATED));
		json_object_object_add(o, "packets", json_object_new_int64(d->val.packets));
		json_object_object_add(o, "bytes", json_object_new_int64(d->val.bytes));
		json_object_array_add(arr, o);
	}
	return arr;
}

static void json_stats(struct flows_report *r, struct nl_sink *s, const struct interval *iv)
{
	static const struct { const char *name; int idx; } counters[] = {
		{ "packets", FLOW_STAT_PACKETS }, { "bytes", FLOW_STAT_BYTES },
		{ "overflow", FLOW_STAT_OVERFLOW }, { "malformed", FLOW_STAT_MALFORMED },
		{ "non_ip", FLOW_STAT_NON_IP }, { "fragments", FLOW_STAT_FRAGMENTS },
		{ "map_full", NL_STAT_MAP_FULL }, { "map_busy", NL_STAT_MAP_BUSY },
	};
	struct json_object *o = json_object_new_object();
	char ts[NL_TS_LEN];

	json_object_object_add(o, "type", json_object_new_string("flow_stats"));
	json_object_object_add(o, "ts", json_object_new_string(
		nl_fmt_rfc3339(nl_mono_to_realtime(iv->now), ts, sizeof(ts))));
	json_object_object_add(o, "ifname", json_object_new_string(r->cfg->ifname));
	json_object_object_add(o, "interval_ms", json_object_new_int64(iv->ns / 1000000));
	json_object_object_add(o, "flows", json_object_new_int64(iv->flows));
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		json_object_object_add(o, counters[i].name, json_object_new_int64(iv->st[counters[i].idx]));
	json_object_object_add(o, "overflow_bytes", json_object_new_int64(iv->other.bytes));
	json_object_object_add(o, "tracked", json_object_new_int64(HASH_COUNT(r->known)));
	json_object_object_add(o, "evicted", json_object_new_int64(r->evicted));
	json_object_object_add(o, "evicted_full", json_object_new_int64(r->evicted_full));
	json_object_object_add(o, "ethertypes", ethertypes_json(r));
	nl_sink_json(s, o);
	json_object_put(o);
}

static const char *fmt_rate(uint64_t bytes, uint64_t ns, char *buf, size_t len)
{
	double bits = ns ? bytes * 8e9 / ns : 0;
	static const char *units[] = { "bit/s", "Kbit/s", "Mbit/s", "Gbit/s", "Tbit/s" };
	int u = 0;

	while (bits >= 1000 && u < 4) {
		bits /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f%s" : "%.0f%s", bits, units[u]);
	return buf;
}

static void table_header(struct flows_report *r, struct nl_sink *s, const struct interval *iv)
{
	char clock[NL_TS_LEN], bytes[32], rate[32];
	double secs = iv->ns / 1e9;

	fprintf(s->out, "\n%s %s  %.1fs  %zu flows  %llu packets (%.0f/s)  %s (%s)\n",
		nl_fmt_clock(nl_mono_to_realtime(iv->now), clock, sizeof(clock)), r->cfg->ifname,
		secs, iv->flows, (unsigned long long)iv->st[FLOW_STAT_PACKETS],
		secs > 0 ? iv->st[FLOW_STAT_PACKETS] / secs : 0,
		nl_fmt_bytes(iv->st[FLOW_STAT_BYTES], bytes, sizeof(bytes)),
		fmt_rate(iv->st[FLOW_STAT_BYTES], iv->ns, rate, sizeof(rate)));
	fprintf(s->out, "  overflow %llu packets (map full), malformed %llu, non-IP %llu, "
		"later fragments %llu; %u flows tracked, %llu idle ones forgotten, %llu forgotten "
		"early (table full)\n",
		(unsigned long long)iv->st[FLOW_STAT_OVERFLOW],
		(unsigned long long)iv->st[FLOW_STAT_MALFORMED],
		(unsigned long long)iv->st[FLOW_STAT_NON_IP],
		(unsigned long long)iv->st[FLOW_STAT_FRAGMENTS], HASH_COUNT(r->known),
		(unsigned long long)r->evicted, (unsigned long long)r->evicted_full);
}

static bool is_icmp(const struct flow_key *k)
{
	return k->proto == 1 || k->proto == 58;
}

/* Ports for TCP/UDP; for ICMP the addresses alone, type and code go to DETAILS. */
static void table_endpoints(const struct flow_key *k, char *src, char *dst, size_t len)
{
	if (is_icmp(k) || (k->flags & FLOW_F_FRAGMENT)) {
		nl_fmt_addr(k->family, k->saddr, src, len);
		nl_fmt_addr(k->family, k->daddr, dst, len);
		return;
	}
	nl_fmt_endpoint(k->family, k->saddr, k->sport, src, len);
	nl_fmt_endpoint(k->family, k->daddr, k->dport, dst, len);
}

static void table_details(const struct flows_delta *d, char *buf, size_t len)
{
	const struct flow_key *k = &d->key;
	char flags[16];

	if (k->flags & FLOW_F_FRAGMENT)
		snprintf(buf, len, "later fragments");
	else if (is_icmp(k))
		snprintf(buf, len, "type %u code %u", k->sport, k->dport);
	else if (k->proto == 6)
		snprintf(buf, len, "%s", flows_fmt_tcp_flags(d->val.tcp_flags, flags, sizeof(flags)));
	else
		snprintf(buf, len, "-");
	if (k->flags & FLOW_F_TRUNCATED)
		snprintf(buf, len, "truncated");
}

static void table_flows(struct flows_report *r, struct nl_sink *s, const struct interval *iv)
{
	char src[64], dst[64], bytes[32], rate[32], details[32], proto[8], vlan[16];
	uint32_t rows = 0;

	if (iv->flows)
		fprintf(s->out, "%-4s %-7s %-30s %-30s %-9s %9s %8s %11s %s\n", "DIR", "PROTO",
			"SOURCE", "DESTINATION", "VLAN", "PACKETS", "BYTES", "RATE", "DETAILS");
	for (size_t i = 0; i < r->ncur && rows < r->cfg->top; i++) {
		const struct flows_delta *d = &r->cur[i];
		const struct flow_key *k = &d->key;

		if (!k->family)
			continue;
		rows++;
		if (k->vlan_inner)
			snprintf(vlan, sizeof(vlan), "%u.%u", k->vlan_outer, k->vlan_inner);
		else if (k->vlan_outer)
			snprintf(vlan, sizeof(vlan), "%u", k->vlan_outer);
		else
			snprintf(vlan, sizeof(vlan), "-");
		table_endpoints(k, src, dst, sizeof(src));
		table_details(d, details, sizeof(details));
		fprintf(s->out, "%-4s %-7s %-30s %-30s %-9s %9llu %8s %11s %s\n",
			k->direction == FLOW_DIR_EGRESS ? "out" : "in",
			flows_proto_name(k->proto, proto, sizeof(proto)), src, dst, vlan,
			(unsigned long long)d->val.packets,
			nl_fmt_bytes(d->val.bytes, bytes, sizeof(bytes)),
			fmt_rate(d->val.bytes, iv->ns, rate, sizeof(rate)), details);
	}
	if (iv->flows > rows)
		fprintf(s->out, "... %zu more flows (--top N, or -o json for all)\n", iv->flows - rows);
	for (size_t i = 0; i < r->ncur; i++) {
		const struct flows_delta *d = &r->cur[i];

		if (d->key.family)
			continue;
		fprintf(s->out, "%-4s non-IP ethertype 0x%04x%s: %llu packets, %s\n",
			d->key.direction == FLOW_DIR_EGRESS ? "out" : "in", d->key.ethertype,
			d->key.flags & FLOW_F_TRUNCATED ? " (truncated)" : "",
			(unsigned long long)d->val.packets, nl_fmt_bytes(d->val.bytes, bytes, sizeof(bytes)));
	}
}

static void table_sources(struct nl_sink *s, const struct interval *iv,
			  const struct flows_delta *src, size_t n, uint32_t top, uint16_t port)
{
	char addr[NL_ADDR_LEN], bytes[32];

	fprintf(s->out, "sources of traffic to port %u\n%-40s %9s %9s %8s %6s\n", port, "SOURCE",
		"PACKETS", "PPS", "BYTES", "FLOWS");
	for (size_t i = 0; i < n && i < top; i++)
		fprintf(s->out, "%-40s %9llu %9.1f %8s %6u\n",
			nl_fmt_addr(src[i].key.family, src[i].key.saddr, addr, sizeof(addr)),
			(unsigned long long)src[i].val.packets,
			iv->ns ? src[i].val.packets * 1e9 / iv->ns : 0.0,
			nl_fmt_bytes(src[i].val.bytes, bytes, sizeof(bytes)), src[i].key.sport);
	if (n > top)
		fprintf(s->out, "... %zu more sources\n", n - top);
}

static void write_interval(struct flows_report *r, struct nl_sink *s, const struct interval *iv)
{
	/* A sink without records (serve without an events file, top) takes the top flows only. */
	size_t nflows = nl_sink_wants_records(s) ? r->ncur : r->cfg->top;
	struct flows_delta *src = NULL;
	size_t nsrc = 0;

	if (r->cfg->top_sources_port)
		src = top_sources(r, &nsrc);
	if (s->kind == NL_OUT_JSON) {
		if (r->cfg->top_sources_port)
			for (size_t i = 0; i < nsrc && i < r->cfg->top; i++)
				json_source(r, s, iv->now, &src[i]);
		else
			for (size_t i = 0, n = 0; i < r->ncur && n < nflows; i++)
				if (r->cur[i].key.family) {
					json_flow(r, s, iv->now, &r->cur[i]);
					n++;
				}
		json_stats(r, s, iv);
	} else {
		table_header(r, s, iv);
		if (r->cfg->top_sources_port)
			table_sources(s, iv, src, nsrc, r->cfg->top, r->cfg->top_sources_port);
		else
			table_flows(r, s, iv);
	}
	free(src);
}

/*
 * IPFIX octetDeltaCount counts IP headers and payload, flows counts frames:
 * the Ethernet header and the VLAN tags inside the frame come off. At TC the
 * outer tag is in skb metadata, outside skb->len (src/flows/flows.bpf.c).
 */
#define VLAN_TAG_LEN 4

static uint64_t ip_octets(const struct flows_report *r, const struct flows_delta *d)
{
	unsigned int tags = !!d->key.vlan_outer + !!d->key.vlan_inner;

	if (r->cfg->hook == FLOWS_HOOK_TC && tags)
		tags--;
	return d->val.bytes - d->val.packets * (ETH_HLEN + VLAN_TAG_LEN * tags);
}

static uint64_t epoch_ms(uint64_t mono_ns)
{
	return nl_mono_to_realtime(mono_ns) / 1000000;
}

void flows_ipfix_record(const struct flows_report *r, const struct flows_delta *d,
			struct ipfix_record *out)
{
	const struct flow_key *k = &d->key;

	memset(out, 0, sizeof(*out));
	out->family = k->family;
	memcpy(out->saddr, k->saddr, sizeof(out->saddr));
	memcpy(out->daddr, k->daddr, sizeof(out->daddr));
	out->proto = k->proto;
	/* ICMP type and code go to icmpTypeCode, not to the transport ports. */
	if (is_icmp(k))
		out->icmp_type_code = k->sport << 8 | k->dport;
	else {
		out->sport = k->sport;
		out->dport = k->dport;
	}
	out->tcp_flags = d->val.tcp_flags;
	out->direction = k->direction;
	if (k->direction == FLOW_DIR_EGRESS)
		out->egress_if = k->ifindex;
	else
		out->ingress_if = k->ifindex;
	out->vlan = k->vlan_outer;
	out->packets = d->val.packets;
	out->octets = ip_octets(r, d);
	out->start_ms = epoch_ms(d->interval_first_ns);
	out->end_ms = epoch_ms(d->val.last_seen_ns);
}

/* Says on stderr when sending to the collector starts failing, and when it works again. */
static void say_ipfix_state(struct flows_report *r)
{
	bool failing = r->ipfix->last_error != 0;

	if (failing == r->ipfix_failing)
		return;
	r->ipfix_failing = failing;
	if (failing)
		fprintf(stderr, "netlens flows: IPFIX export to %s: %s (failed messages are "
			"counted; said again when it works)\n", r->cfg->ipfix,
			strerror(-r->ipfix->last_error));
	else
		fprintf(stderr, "netlens flows: IPFIX export to %s works again\n", r->cfg->ipfix);
}

void flows_report_export(struct flows_report *r, uint64_t now)
{
	struct ipfix_record rec;

	ipfix_begin(r->ipfix, nl_mono_to_realtime(now) / 1000000000);
	for (size_t i = 0; i < r->ncur; i++) {
		if (!r->cur[i].key.family)
			continue;
		flows_ipfix_record(r, &r->cur[i], &rec);
		ipfix_add(r->ipfix, &rec);
	}
	ipfix_end(r->ipfix);
	say_ipfix_state(r);
}

/* Running totals for the metrics. */
static void add_totals(struct flows_report *r, const struct interval *iv)
{
	for (size_t i = 0; i < r->ncur; i++) {
		const struct flows_delta *d = &r->cur[i];

		r->total_packets[d->key.direction & 1] += d->val.packets;
		r->total_bytes[d->key.direction & 1] += d->val.bytes;
	}
	r->active = iv->flows;
}

/* After a burst, gives back what the next intervals are unlikely to need. */
static void shrink_deltas(struct flows_report *r)
{
	size_t want = r->ncur * 2 > 1024 ? r->ncur * 2 : 1024;
	void *p;

	r->ncur = 0;
	if (r->cap <= want * 2)
		return;
	p = realloc(r->cur, want * sizeof(*r->cur));
	if (p) {
		r->cur = p;
		r->cap = want;
	}
}

static void evict_idle(struct flows_report *r, uint64_t now)
{
	uint64_t idle_ns = (uint64_t)(r->cfg->idle_timeout * 1e9);
	struct flows_known *f, *tmp;

	HASH_ITER(hh, r->known, f, tmp) {
		if (now - f->last_seen_ns > idle_ns) {
			HASH_DEL(r->known, f);
			free(f);
			r->evicted++;
		}
	}
}

void flows_report_interval(struct flows_report *r, struct nl_sink *s, uint64_t now_ns,
			   const uint64_t *stats, const struct flow_val *other)
{
	struct interval iv = { .now = now_ns, .ns = now_ns - r->prev_ns };

	for (int i = 0; i < NL_STAT_MAX; i++)
		iv.st[i] = stats[i] - r->prev_stats[i];
	iv.other.packets = other->packets - r->prev_other.packets;
	iv.other.bytes = other->bytes - r->prev_other.bytes;
	for (size_t i = 0; i < r->ncur; i++)
		iv.flows += r->cur[i].key.family != 0;
	sort_deltas(r, r->cur, r->ncur);
	/* Forget idle flows first: the stats record counts this interval's. */
	r->evicted = 0;
	evict_idle(r, now_ns);
	write_interval(r, s, &iv);
	if (r->ipfix)
		flows_report_export(r, now_ns);
	add_totals(r, &iv);

	memcpy(r->prev_stats, stats, sizeof(r->prev_stats));
	r->prev_other = *other;
	r->prev_ns = now_ns;
	r->evicted_full = 0;
	shrink_deltas(r);
}

/* Kernel counters exported as they are (monotonic), with the ifname label. */
static const struct {
	const char *family, *help;
	int stat;
} stat_metrics[] = {
	{ "netlens_flow_overflow_packets_total",
	  "Packets counted in the overflow bucket because the flow map was full", FLOW_STAT_OVERFLOW },
	{ "netlens_flow_non_ip_packets_total", "Frames that are neither IPv4 nor IPv6",
	  FLOW_STAT_NON_IP },
	{ "netlens_flow_fragments_total",
	  "Later IP fragments (no ports: counted under their addresses with ports 0)",
	  FLOW_STAT_FRAGMENTS },
};

void flows_report_metrics(const struct flows_report *r, struct nl_prom *p)
{
	const char *ifname = r->cfg->ifname;
	char labels[128];

	nl_prom_family(p, "netlens_flow_packets_total", NL_PROM_COUNTER,
		       "Packets counted in flows (IP and non-IP entries; overflow apart), per direction");
	nl_prom_family(p, "netlens_flow_bytes_total", NL_PROM_COUNTER,
		       "Bytes of the frames counted in flows (Ethernet header included, no FCS)");
	nl_prom_family(p, "netlens_flows_active", NL_PROM_GAUGE,
		       "IP flows with packets in the last collection interval");
	for (int dir = FLOW_DIR_INGRESS; dir <= FLOW_DIR_EGRESS; dir++) {
		if (!(r->cfg->directions & (1u << dir)))
			continue;
		nl_prom_labels(labels, sizeof(labels), "ifname", ifname, "direction", dir_name(dir),
			       NULL);
		nl_prom_counter(p, "netlens_flow_packets_total", labels, r->total_packets[dir]);
		nl_prom_counter(p, "netlens_flow_bytes_total", labels, r->total_bytes[dir]);
	}
	nl_prom_labels(labels, sizeof(labels), "ifname", ifname, NULL);
	nl_prom_gauge(p, "netlens_flows_active", labels, r->active);
	for (size_t i = 0; i < sizeof(stat_metrics) / sizeof(stat_metrics[0]); i++) {
		nl_prom_family(p, stat_metrics[i].family, NL_PROM_COUNTER, stat_metrics[i].help);
		nl_prom_counter(p, stat_metrics[i].family, labels, r->prev_stats[stat_metrics[i].stat]);
	}
	nl_prom_family(p, "netlens_parse_errors_total", NL_PROM_COUNTER,
		       "Records or packets a module could not parse");
	nl_prom_counter(p, "netlens_parse_errors_total", "module=\"flows\"",
			r->prev_stats[FLOW_STAT_MALFORMED]);
	if (r->ipfix)
		ipfix_metrics(r->ipfix, p);
}
