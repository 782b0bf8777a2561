// SPDX-License-Identifier: GPL-2.0
/*
 * netlens flows: unsampled per-flow counters at XDP (ingress) or TC clsact
 * (ingress and egress). Every packet is counted in exactly one place: its
 * flow in the active generation map, or the "other" bucket when that map is
 * full. The programs only read packets; they always let them through.
 *
 * Generations: flow_gen (an array of maps, one slot) points at the map the
 * programs write. User space points it at the other, empty map, and the
 * update returns only after an RCU grace period (the kernel waits for running
 * programs when a map-in-map slot changes), so nothing writes the old map
 * any more when user space reads and empties it (docs/flows.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "flows/flows_abi.h"
#include "kernel/emit.bpf.h"
#include "kernel/packet.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define NL_EEXIST     17
#define TC_ACT_UNSPEC (-1)

/*
 * One value per flow, shared by the CPUs (atomic adds), not per CPU: a new
 * flow then costs one element to fill, not a value on every CPU to clear,
 * and a connection storm makes a new flow for nearly every connection.
 */
struct flow_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);     /* --max-flows, set by user space */
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flows_a SEC(".maps"), flows_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct flow_map);
} flow_gen SEC(".maps") = {
	.values = { [0] = &flows_a },
};

/* Packets no flow map could take: monotonic, never emptied. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_val);
} flow_other SEC(".maps");

/*
 * Adds one packet to a flow's value, which every CPU may be updating: the
 * counters atomically (exact); last_seen_ns is a plain store (two CPUs may
 * leave the earlier of two coarse clock readings); the flags are or-ed in
 * only when they add a bit, so a flow's steady packets skip that atomic.
 */
static __always_inline void flow_add(struct flow_val *v, __u64 len, __u64 now, __u8 tcp_flags)
{
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	if (v->last_seen_ns != now)
		v->last_seen_ns = now;
	if ((v->tcp_flags & tcp_flags) != tcp_flags)
		__sync_fetch_and_or(&v->tcp_flags, tcp_flags);
}

/*
 * Adds one packet to the per-CPU "other" bucket. No atomics: this CPU's copy
 * is only written by programs that run with bottom halves off (XDP and TC
 * ingress in softirq, TC egress under rcu_read_lock_bh), so they never
 * interleave.
 */
static __always_inline void other_add(struct flow_val *v, __u64 len, __u64 now)
{
	v->packets++;
	v->bytes += len;
	if (!v->first_seen_ns)
		v->first_seen_ns = now;
	v->last_seen_ns = now;
}

#define TCP_FLAG_SYN 0x02

static __always_inline long flow_insert(void *flows, const struct flow_key *k, __u64 len,
					__u64 now, __u8 tcp_flags)
{
	struct flow_val fresh = {
		.packets = 1, .bytes = len, .first_seen_ns = now, .last_seen_ns = now,
		.tcp_flags = tcp_flags,
	};

	return map_insert(flows, k, &fresh, BPF_NOEXIST);
}

static __always_inline void flow_account(const struct flow_key *k, __u64 len, __u8 tcp_flags)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	__u32 zero = 0;
	struct flow_val *v;
	void *flows;
	long err;

	flows = bpf_map_lookup_elem(&flow_gen, &zero);
	if (flows) {
		/*
		 * A SYN (or SYN-ACK) nearly always opens its flow: insert first
		 * and skip the lookup that would miss; the insert says EEXIST
		 * (before it would say "full") when the flow is there after all.
		 */
		if (!(tcp_flags & TCP_FLAG_SYN)) {
			v = bpf_map_lookup_elem(flows, k);
			if (v) {
				flow_add(v, len, now, tcp_flags);
				return;
			}
		}
		err = flow_insert(flows, k, len, now, tcp_flags);
		if (!err)
			return;
		/* The flow is there: another CPU created it since our lookup, or a SYN again. */
		if (err == -NL_EEXIST) {
			v = bpf_map_lookup_elem(flows, k);
			if (v) {
				flow_add(v, len, now, tcp_flags);
				return;
			}
		}
	}
	stat_inc(FLOW_STAT_OVERFLOW);
	v = bpf_map_lookup_elem(&flow_other, &zero);
	if (v)
		other_add(v, len, now);
}

static __always_inline void count_packet(void *data, void *data_end, __u64 len, __u32 ifindex,
					 __u8 direction, __u16 vlan_offloaded)
{
	struct flow_key k;
	enum pkt_result r;
	__u8 tcp_flags;

	__builtin_memset(&k, 0, sizeof(k));
	k.ifindex = ifindex;
	k.direction = direction;
	k.vlan_outer = vlan_offloaded;
	r = parse_packet(&k, data, data_end, &tcp_flags);
	stat_inc(FLOW_STAT_PACKETS);
	stat_add(FLOW_STAT_BYTES, len);
	if (r == PKT_MALFORMED)
		stat_inc(FLOW_STAT_MALFORMED);
	else if (r == PKT_NON_IP)
		stat_inc(FLOW_STAT_NON_IP);
	if (k.flags & FLOW_F_FRAGMENT)
		stat_inc(FLOW_STAT_FRAGMENTS);
	flow_account(&k, len, tcp_flags);
}

SEC("xdp")
int flows_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	count_packet(data, data_end, data_end - data, ctx->ingress_ifindex, FLOW_DIR_INGRESS, 0);
	return XDP_PASS;
}

/*
 * At TC the outer VLAN tag is usually in skb metadata, not in the frame: the
 * receive path untags before clsact ingress, and egress keeps the tag for
 * the device to insert. Tags still in the frame come after it.
 * TC_ACT_UNSPEC, not TC_ACT_OK: the packet goes on to any other filter on
 * the same hook, as if we were not there.
 */
static __always_inline int tc_count(struct __sk_buff *skb, __u8 direction)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	count_packet(data, data_end, skb->len, skb->ifindex, direction,
		     skb->vlan_present ? (skb->vlan_tci & PKT_VLAN_VID_MASK) : 0);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int flows_tc_ingress(struct __sk_buff *skb)
{
	return tc_count(skb, FLOW_DIR_INGRESS);
}

SEC("tc")
int flows_tc_egress(struct __sk_buff *skb)
{
	return tc_count(skb, FLOW_DIR_EGRESS);
}
