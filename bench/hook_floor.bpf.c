// SPDX-License-Identifier: GPL-2.0
/*
 * Programs that do nothing, on every hook netlens serve uses by default: what
 * a hook costs before any program on it does work (bench/hook_floor.c
 * attaches them; serve_bench.py and latency_bench.py --floor).
 *
 * And the *_record programs: the least a tool that hands every message to
 * user space must do there, a 280-byte record reserved and submitted for
 * each message, with none of its bytes copied: a TCP socket's data that changes
 * direction (its state in socket-local storage, the cheapest there is), or
 * a UDP datagram to or from port 53; hook_floor reads them (http_bench.py
 * and dns_flood.py --floor).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_state) { return 0; }

SEC("tp_btf/tcp_probe")
int BPF_PROG(floor_probe) { return 0; }

SEC("tp_btf/sock_send_length")
int BPF_PROG(floor_send) { return 0; }

SEC("tp_btf/sock_recv_length")
int BPF_PROG(floor_recv) { return 0; }

SEC("tp_btf/kfree_skb")
int BPF_PROG(floor_kfree_skb) { return 0; }

SEC("cgroup_skb/ingress")
int floor_cg_ingress(struct __sk_buff *skb) { return 1; }

SEC("cgroup_skb/egress")
int floor_cg_egress(struct __sk_buff *skb) { return 1; }

SEC("tc")
int floor_tc_ingress(struct __sk_buff *skb) { return -1; }   /* TC_ACT_UNSPEC */

SEC("tc")
int floor_tc_egress(struct __sk_buff *skb) { return -1; }

#define FLOOR_ETH_P_IP    0x0800
#define FLOOR_IPPROTO_TCP 6
#define FLOOR_IPPROTO_UDP 17
#define FLOOR_DNS_PORT    53

/*
 * 280 bytes: room for 256 bytes of a message, as netlens' records have
 * (its http_event is 376 bytes, a short DNS message's dns_event 224).
 */
struct floor_rec {
	__u64 ts;
	__u64 sk;
	__u32 len;
	__u32 dir;
	__u8  data[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} floor_ring SEC(".maps");

/* Wakes the reader only past 256 KiB pending (netlens' threshold); it also reads every 10 ms. */
static __always_inline void floor_emit(__u64 sk, __u32 len, __u32 dir)
{
	struct floor_rec *r = bpf_ringbuf_reserve(&floor_ring, sizeof(*r), 0);

	if (!r)
		return;
	r->ts = bpf_ktime_get_ns();
	r->sk = sk;
	r->len = len;
	r->dir = dir;
	bpf_ringbuf_submit(r, bpf_ringbuf_query(&floor_ring, BPF_RB_AVAIL_DATA) >= (256 << 10) ?
			      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* Per TCP socket: the direction of its last send or receive, 1 + dir (0: none yet). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} floor_last_dir SEC(".maps");

/* A message begins where a socket's data changes direction: one record for it. */
static __always_inline void floor_message(struct sock *sk, int ret, __u32 dir)
{
	__u32 *last;

	if (ret <= 0 || sk->sk_protocol != FLOOR_IPPROTO_TCP)
		return;
	last = bpf_sk_storage_get(&floor_last_dir, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!last || *last == dir + 1)
		return;
	*last = dir + 1;
	floor_emit((__u64)sk, ret, dir);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(floor_send_record, struct sock *sk, int ret)
{
	floor_message(sk, ret, 0);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(floor_recv_record, struct sock *sk, int ret)
{
	floor_message(sk, ret, 1);
	return 0;
}

/*
 * A UDP datagram of an IPv4 client's DNS view: to port 53 leaving, from
 * port 53 arriving (the server's copies go at the port check, as in netlens).
 */
static __always_inline void floor_dns(struct __sk_buff *skb, __u32 dir)
{
	struct { __u8 vihl, tos; __u16 len, id, frag; __u8 ttl, proto; } ip;
	__u16 ports[2];

	if (skb->protocol != bpf_htons(FLOOR_ETH_P_IP) || bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) ||
	    ip.proto != FLOOR_IPPROTO_UDP ||
	    bpf_skb_load_bytes(skb, (ip.vihl & 0xf) * 4, ports, sizeof(ports)) ||
	    ports[dir] != bpf_htons(FLOOR_DNS_PORT))
		return;
	floor_emit(0, skb->len, dir);
}

SEC("cgroup_skb/egress")
int floor_cg_egress_record(struct __sk_buff *skb)
{
	floor_dns(skb, 1);   /* the destination port */
	return 1;
}

SEC("cgroup_skb/ingress")
int floor_cg_ingress_record(struct __sk_buff *skb)
{
	floor_dns(skb, 0);   /* the source port */
	return 1;
}
