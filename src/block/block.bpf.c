// SPDX-License-Identifier: GPL-2.0
/*
 * netlens block: an XDP blocklist and per-source rate limit. Rules are
 * keyed by protocol, destination port and source prefix, per family in a
 * hash (the commonest prefix lengths) and an LPM trie (the others); the
 * most specific shape that has a rule decides (protocol and port, port,
 * protocol, address only), the longest prefix within it. A
 * rule drops, or (dry-run) counts what it would drop; a rate limit drops
 * what exceeds its rate per source prefix (GCRA in an LRU hash). Malformed
 * and non-IP packets always pass. Every map is pinned (docs/block.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "block/block_abi.h"
#include "kernel/emit.bpf.h"
#include "kernel/packet.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define NL_EEXIST      17
#define BUCKET_RETRIES 4

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BLOCK_MAX_RULES_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct block_key4);
	__type(value, struct block_rule);
} block_rules4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BLOCK_MAX_RULES_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct block_key6);
	__type(value, struct block_rule);
} block_rules6 SEC(".maps");

/*
 * The same keys at the commonest lengths (block_abi.h, enum block_store),
 * each CPU with its own copy of the rule: its counters without atomics.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BLOCK_MAX_RULES_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct block_key4);
	__type(value, struct block_rule);
} block_hash4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BLOCK_MAX_RULES_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct block_key6);
	__type(value, struct block_rule);
} block_hash6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BLOCK_MAX_BUCKETS_DEFAULT);   /* --max-sources, at creation */
	__type(key, struct block_bucket_key);
	__type(value, struct block_bucket);
} block_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct block_conf);
} block_conf SEC(".maps");

/* Ports only mean a destination port for these (ICMP's "ports" are type and code). */
static __always_inline bool has_ports(__u8 proto)
{
	return proto == PKT_IPPROTO_TCP || proto == PKT_IPPROTO_UDP ||
	       proto == PKT_IPPROTO_UDPLITE || proto == PKT_IPPROTO_SCTP;
}

/*
 * The longest prefix for key's protocol and port: the hash's /32 first (no
 * longer one exists), then the trie, then the hash's /24 unless the trie
 * found a longer prefix. key->addr is the packet's source, left as found.
 */
static __always_inline struct block_rule *longest4(struct block_key4 *key, __u32 stores)
{
	struct block_rule *r, *t = NULL;
	__u8 last;

	key->prefixlen = BLOCK_KEY_FIXED_BITS + 32;
	if ((stores & BLOCK_STORE_HOST) && (r = bpf_map_lookup_elem(&block_hash4, key)))
		return r;
	if (stores & BLOCK_STORE_TRIE)
		t = bpf_map_lookup_elem(&block_rules4, key);
	if (!(stores & BLOCK_STORE_NET) || (t && t->prefixlen > 24))
		return t;
	last = key->addr[3];
	key->addr[3] = 0;
	key->prefixlen = BLOCK_KEY_FIXED_BITS + 24;
	r = bpf_map_lookup_elem(&block_hash4, key);
	key->addr[3] = last;
	return r ? r : t;
}

/* As longest4: /128, the trie, /64. */
static __always_inline struct block_rule *longest6(struct block_key6 *key, __u32 stores)
{
	struct block_rule *r, *t = NULL;
	__u64 iid;

	key->prefixlen = BLOCK_KEY_FIXED_BITS + 128;
	if ((stores & BLOCK_STORE_HOST) && (r = bpf_map_lookup_elem(&block_hash6, key)))
		return r;
	if (stores & BLOCK_STORE_TRIE)
		t = bpf_map_lookup_elem(&block_rules6, key);
	if (!(stores & BLOCK_STORE_NET) || (t && t->prefixlen > 64))
		return t;
	__builtin_memcpy(&iid, key->addr + 8, 8);
	__builtin_memset(key->addr + 8, 0, 8);
	key->prefixlen = BLOCK_KEY_FIXED_BITS + 64;
	r = bpf_map_lookup_elem(&block_hash6, key);
	__builtin_memcpy(key->addr + 8, &iid, 8);
	return r ? r : t;
}

/* One key for both families: a block_key4 is a block_key6's first bytes. */
static __always_inline struct block_rule *longest(struct block_key6 *key, __u8 family,
						   __u32 stores)
{
	return family == 4 ? longest4((struct block_key4 *)key, stores) : longest6(key, stores);
}

/*
 * The most specific rule for the packet: protocol and port, port, protocol,
 * then address only, each shape only where some rule has it.
 */
static __always_inline struct block_rule *lookup(const struct flow_key *k, __u32 shapes,
						  __u32 stores, __u16 port)
{
	struct block_key6 key = { 0 };
	struct block_rule *r;

	__builtin_memcpy(key.addr, k->saddr, 16);
	key.proto = k->proto;
	key.port = port;
	if (port && (shapes & BLOCK_SHAPE_PROTO_PORT) && (r = longest(&key, k->family, stores)))
		return r;
	key.proto = 0;
	if (port && (shapes & BLOCK_SHAPE_PORT) && (r = longest(&key, k->family, stores)))
		return r;
	key.proto = k->proto;
	key.port = 0;
	if ((shapes & BLOCK_SHAPE_PROTO) && (r = longest(&key, k->family, stores)))
		return r;
	key.proto = 0;
	return shapes & BLOCK_SHAPE_ANY ? longest(&key, k->family, stores) : NULL;
}

/* A packet on a rule's counters: a trie's value is shared by every CPU, a hash's is this CPU's. */
static __always_inline void count(struct block_rule *r, __u8 family, __u64 len)
{
	bool hashed = family == 4 ? r->prefixlen == 32 || r->prefixlen == 24 :
				    r->prefixlen == 128 || r->prefixlen == 64;

	if (hashed) {
		r->packets++;
		r->bytes += len;
		return;
	}
	__sync_fetch_and_add(&r->packets, 1);
	__sync_fetch_and_add(&r->bytes, len);
}

/* The source masked to the rule's per-source prefix. */
static __always_inline void bucket_key(struct block_bucket_key *bk, const struct flow_key *k,
				       const struct block_rule *r)
{
	__u32 bits = r->per_source;

	bk->rule_id = r->id;
	bk->family = k->family;
	for (int i = 0; i < 16; i++) {
		__u8 keep = bits >= 8 ? 0xff : bits ? (__u8)(0xff << (8 - bits)) : 0;

		bk->addr[i] = k->saddr[i] & keep;
		bits = bits >= 8 ? bits - 8 : 0;
	}
}

/*
 * GCRA: a packet conforms if, once it is charged one interval, the
 * theoretical arrival time is at most burst_ns ahead of now. The bucket
 * is shared by every CPU the source's packets land on: compare-and-swap.
 */
static __always_inline bool over_limit(const struct flow_key *k, const struct block_rule *r)
{
	struct block_bucket_key bk = { 0 };
	struct block_bucket *b;
	__u64 now = bpf_ktime_get_ns();

	bucket_key(&bk, k, r);
	b = bpf_map_lookup_elem(&block_buckets, &bk);
	if (!b) {
		struct block_bucket fresh = { .tat_ns = now + r->interval_ns };
		long err = map_insert(&block_buckets, &bk, &fresh, BPF_NOEXIST);

		if (!err) {
			/* A source's first packet: within any burst (1 or more). */
			stat_inc(BLOCK_STAT_BUCKETS_NEW);
			return false;
		}
		if (err != -NL_EEXIST)
			return false;
		b = bpf_map_lookup_elem(&block_buckets, &bk);
		if (!b)
			return false;
	}
	for (int i = 0; i < BUCKET_RETRIES; i++) {
		__u64 tat = b->tat_ns, next = (tat > now ? tat : now) + r->interval_ns;

		if (next - now > r->burst_ns)
			return true;
		if (__sync_val_compare_and_swap(&b->tat_ns, tat, next) == tat)
			return false;
	}
	stat_inc(BLOCK_STAT_BUCKET_RACE);
	return false;
}

SEC("xdp")
int block_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct block_conf *conf;
	struct block_rule *r;
	struct flow_key k;
	enum pkt_result res;
	__u32 zero = 0;
	__u16 port;
	__u8 tcp_flags;

	__builtin_memset(&k, 0, sizeof(k));
	res = parse_packet(&k, data, data_end, &tcp_flags);
	stat_inc(BLOCK_STAT_PACKETS);
	if (res == PKT_MALFORMED) {
		stat_inc(BLOCK_STAT_MALFORMED);
		return XDP_PASS;
	}
	if (res == PKT_NON_IP) {
		stat_inc(BLOCK_STAT_NON_IP);
		return XDP_PASS;
	}
	conf = bpf_map_lookup_elem(&block_conf, &zero);
	if (!conf)
		return XDP_PASS;
	/* A later fragment has no ports: only rules without a port match it. */
	port = has_ports(k.proto) && !(k.flags & FLOW_F_FRAGMENT) ? bpf_htons(k.dport) : 0;
	r = k.family == 4 ? lookup(&k, conf->shapes4, conf->stores4, port) :
			    lookup(&k, conf->shapes6, conf->stores6, port);
	if (!r)
		return XDP_PASS;
	if (r->flags & BLOCK_F_LIMIT) {
		if (!over_limit(&k, r))
			return XDP_PASS;
		stat_inc(BLOCK_STAT_LIMITED);
	}
	count(r, k.family, len);
	if (r->flags & BLOCK_F_DRY_RUN) {
		stat_inc(BLOCK_STAT_DRY_RUN);
		return XDP_PASS;
	}
	stat_inc(BLOCK_STAT_DROPPED);
	stat_add(BLOCK_STAT_DROPPED_BYTES, len);
	return XDP_DROP;
}
