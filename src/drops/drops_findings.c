// SPDX-License-Identifier: GPL-2.0
/*
 * drops' findings (docs/diagnose.md, "drops"): from the summary rows'
 * totals since attach, what the kernel dropped that lost or refused
 * traffic. Benign drops are never a finding.
 *
 *   rcvbuf_overflow  a socket's receive buffer overflowing: its process, port, count
 *   mtu_blackhole    packets too big for the path (PKT_TOO_BIG), or the ICMP
 *                    messages that would tell the sender so dropped
 *   local_drops      any other loss or policy drop, by reason and where
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "drops/drops.h"
#include "framework/finding.h"
#include "framework/netns.h"
#include "output/format.h"

/* One finding's drops: the rows of one reason, function and destination summed. */
struct agg {
	char id[256];              /* what makes it one finding */
	const struct drops_row *row;   /* the first row: its key says what and where */
	uint64_t count;
	UT_hash_handle hh;
};

static const char *finding_kind(const struct drops_report *r, const struct drops_row *row)
{
	const char *name = drop_reason_name(r->reasons, row->key.reason);

	if (row->rcvbuf)
		return "rcvbuf_overflow";
	if ((name && !strcmp(name, "PKT_TOO_BIG")) || (row->key.flags & DROP_KEY_TOO_BIG))
		return "mtu_blackhole";
	return "local_drops";
}

static uint64_t min_count(const char *kind)
{
	return !strcmp(kind, "rcvbuf_overflow") ? DROPS_FINDING_MIN_RCVBUF :
	       !strcmp(kind, "mtu_blackhole") ? DROPS_FINDING_MIN_TOO_BIG : DROPS_FINDING_MIN_DROPS;
}

/* "nft_do_chain": the function, without offset. */
static const char *function_of(const struct drops_report *r, uint64_t addr, char *buf, size_t len)
{
	const struct nl_ksym *sym;
	uint64_t off;

	if (!addr)
		return "?";
	sym = r->ksyms ? nl_ksyms_find(r->ksyms, addr, &off) : NULL;
	if (sym)
		return sym->name;
	snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

/* "10.1.2.3:8080", "10.1.2.3:ephemeral", "10.1.2.3", or the protocol without IP. */
static const char *where_to(const struct drop_key *k, char *buf, size_t len)
{
	char addr[NL_ADDR_LEN];

	if (!k->family) {
		snprintf(buf, len, "ethertype 0x%04x", k->l3proto);
		return buf;
	}
	nl_fmt_addr(k->family, k->daddr, addr, sizeof(addr));
	if (k->dport)
		snprintf(buf, len, k->family == 6 ? "[%s]:%u" : "%s:%u", addr, k->dport);
	else if (k->flags & DROP_KEY_EPHEMERAL)
		snprintf(buf, len, k->family == 6 ? "[%s]:ephemeral" : "%s:ephemeral", addr);
	else
		snprintf(buf, len, "%s", addr);
	return buf;
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: return "icmp";
	case 58: return "icmpv6";
	}
	return "ip";
}

/* Who dropped it, as a user names it: "by nftables" at nft_do_chain. */
static const char *dropper(const char *reason, const char *fn)
{
	if (strcmp(reason, "NETFILTER_DROP"))
		return "";
	if (!strncmp(fn, "nft_", 4))
		return " by nftables";
	if (strstr(fn, "t_do_table"))
		return " by iptables";
	return " by netfilter";
}

static void add_fields(struct nl_finding *x, const struct agg *a, const char *reason,
		       const char *fn, const char *to)
{
	const struct drop_key *k = &a->row->key;
	char ns[NL_NETNS_NAME_LEN];

	nl_finding_uint(x, "drops", a->count);
	nl_finding_str(x, "reason", reason);
	nl_finding_str(x, "class", drop_class_name(a->row->class));
	nl_finding_str(x, "location", fn);
	nl_finding_str(x, "destination", to);
	if (k->dport)
		nl_finding_uint(x, "dport", k->dport);
	nl_finding_str(x, "proto", k->family ? proto_name(k->proto) : "");
	nl_finding_uint(x, "netns", k->netns);
	nl_finding_str(x, "netns_name", nl_netns_label(k->netns, ns, sizeof(ns)));
}

static void say_rcvbuf(struct nl_finding *x, const struct drops_report *r, const struct agg *a,
		       const char *reason, const char *to)
{
	const struct drop_key *k = &a->row->key;
	struct nl_owner buf;
	const struct nl_owner *o = k->sk_ino && r->owner_of ?
				   r->owner_of(r->owner_ctx, k->sk_ino, &buf) : NULL;
	char who[NL_COMM_LEN + 32] = "a process not known", proto[8], ns[NL_NETNS_NAME_LEN];
	size_t i;

	if (o)
		snprintf(who, sizeof(who), "%s (pid %u)", o->comm, o->pid);
	for (i = 0; proto_name(k->proto)[i] && i < sizeof(proto) - 1; i++)
		proto[i] = toupper((unsigned char)proto_name(k->proto)[i]);
	proto[i] = 0;
	nl_finding_say(x, "%s socket of %s on %s: %" PRIu64 " packets dropped, its receive "
		       "buffer overflowed (%s) in netns %s", proto, who, to, a->count, reason,
		       nl_netns_label(k->netns, ns, sizeof(ns)));
	if (o) {
		nl_finding_uint(x, "pid", o->pid);
		nl_finding_str(x, "comm", o->comm);
	}
}

static void add_finding(struct nl_findings *out, const struct drops_report *r,
			const struct agg *a)
{
	const struct drop_key *k = &a->row->key;
	const char *kind = finding_kind(r, a->row);
	char num[32], fnbuf[32], to[96], ns[NL_NETNS_NAME_LEN];
	const char *reason = drop_reason_name(r->reasons, k->reason);
	const char *fn = function_of(r, k->location, fnbuf, sizeof(fnbuf));
	struct nl_finding *x;
	enum nl_severity sev;

	if (a->count < min_count(kind))
		return;
	/* A rule someone wrote is worth a look; lost traffic and a black hole degrade it. */
	sev = a->row->class == DROP_CLASS_POLICY && strcmp(kind, "mtu_blackhole") ?
	      NL_SEV_NOTICE : NL_SEV_WARNING;
	if (!reason) {
		snprintf(num, sizeof(num), "0x%x", k->reason);
		reason = num;
	}
	where_to(k, to, sizeof(to));
	nl_netns_label(k->netns, ns, sizeof(ns));
	x = nl_finding_add(out, sev, kind, (double)a->count);
	if (!x)
		return;
	if (!strcmp(kind, "rcvbuf_overflow"))
		say_rcvbuf(x, r, a, reason, to);
	else if (k->flags & DROP_KEY_TOO_BIG)
		nl_finding_say(x, "%" PRIu64 " ICMP \"packet too big\" messages to %s dropped here%s "
			       "(%s at %s) in netns %s: its path MTU is never learnt, a path MTU black "
			       "hole", a->count, to, dropper(reason, fn), reason, fn, ns);
	else if (!strcmp(kind, "mtu_blackhole"))
		nl_finding_say(x, "%" PRIu64 " packets to %s dropped as too big for the path MTU "
			       "(%s at %s) in netns %s: a path MTU black hole if the sender never "
			       "learns it", a->count, to, reason, fn, ns);
	else
		nl_finding_say(x, "%" PRIu64 " packets to %s dropped here%s (%s at %s) in netns %s",
			       a->count, to, dropper(reason, fn), reason, fn, ns);
	add_fields(x, a, reason, fn, to);
}

/*
 * The rows a finding sums: kfree_skb drops, not benign (the socket kinds
 * see again packets kfree_skb counts, or are not drops at all).
 */
static bool counts(const struct drops_row *row)
{
	return row->key.kind == DROP_KIND_SKB && row->class != DROP_CLASS_BENIGN && row->total;
}

void drops_findings(const struct drops_report *r, struct nl_findings *out)
{
	struct agg *aggs = NULL, *a, *tmp;
	const struct drops_row *row, *rtmp;
	char fnbuf[32], to[96];

	HASH_ITER(hh, r->rows, row, rtmp) {
		const struct drop_key *k = &row->key;
		char id[256];

		if (!counts(row))
			continue;
		snprintf(id, sizeof(id), "%u|%s|%s|%u|%u|%u|%" PRIu64, k->reason,
			 function_of(r, k->location, fnbuf, sizeof(fnbuf)),
			 where_to(k, to, sizeof(to)), k->proto, k->flags & DROP_KEY_TOO_BIG,
			 k->netns, (uint64_t)k->sk_ino);
		HASH_FIND_STR(aggs, id, a);
		if (!a) {
			a = calloc(1, sizeof(*a));
			if (!a) {
				out->lost++;
				continue;
			}
			snprintf(a->id, sizeof(a->id), "%s", id);
			a->row = row;
			HASH_ADD_STR(aggs, id, a);
		}
		a->count += row->total;
	}
	HASH_ITER(hh, aggs, a, tmp) {
		add_finding(out, r, a);
		HASH_DEL(aggs, a);
		free(a);
	}
}
