// SPDX-License-Identifier: GPL-2.0
/*
 * netlens retrans: every retransmitted segment, from tcp:tcp_retransmit_skb
 * (data, FIN, the active opener's SYN) and tcp:tcp_retransmit_synack (a
 * listener's SYN-ACK), and per destination the segments retransmitted and
 * sent. Both fire from timers and softirq, so the owner is the one
 * owner_map.bpf.h remembered for the socket, never the current task.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "retrans/retrans_abi.h"
#include "kernel/emit.bpf.h"
#include "kernel/sock.bpf.h"
#include "kernel/filter.bpf.h"
#include "kernel/owner_map.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define NL_TCPHDR_SYN 0x02
#define NL_TCPHDR_ACK 0x10

/* --summary: totals only, no record per retransmission. */
const volatile bool rt_summary_only = false;

/* A connection's destination, and how much of its segs_out is already totalled. */
struct rt_sock {
	struct retrans_dest_key dest;
	__u32 counted;
	__u8  match;            /* the socket filters keep it */
	__u8  pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);     /* --max-conns */
	__type(key, __u64);             /* struct sock * */
	__type(value, struct rt_sock);
} rt_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);     /* destinations totalled; further ones are counted as map_full */
	__type(key, struct retrans_dest_key);
	__type(value, struct retrans_dest);
} dests SEC(".maps");

static __always_inline void dest_key_of(const struct nl_tuple *t, bool inbound,
					struct retrans_dest_key *k)
{
	k->family = t->family;
	k->inbound = inbound;
	k->port = inbound ? t->sport : t->dport;
	__builtin_memcpy(k->addr, inbound ? t->saddr : t->daddr, sizeof(k->addr));
}

/* One retransmission of retrans segments (retrans 0: only segs sent). */
static __always_inline void dest_add(const struct retrans_dest_key *k, __u64 retrans, __u64 segs)
{
	static const struct retrans_dest zero;
	struct retrans_dest *d = bpf_map_lookup_elem(&dests, k);

	if (!d) {
		map_insert(&dests, k, &zero, BPF_NOEXIST);
		d = bpf_map_lookup_elem(&dests, k);
		if (!d)
			return;
	}
	if (retrans) {
		__sync_fetch_and_add(&d->calls, 1);
		__sync_fetch_and_add(&d->retransmits, retrans);
	}
	if (segs)
		__sync_fetch_and_add(&d->segments, segs);
}

/* -p and -c: the verifier drops this when neither is given. */
static __always_inline bool owner_kept(const struct sock *sk)
{
	if (!nl_filter.pid && !nl_filter.has_comm)
		return true;
	return filter_owner(owner_of(sk));
}

/*
 * Starts totalling sk (inbound: accepted, else ours or older than netlens)
 * from its segment counter at `counted`. Returns the map's entry, or *s
 * itself when the map is full.
 */
static __always_inline struct rt_sock *track(const struct sock *sk, bool inbound, __u32 counted,
					     struct rt_sock *s)
{
	__u64 key = (__u64)sk;
	struct rt_sock *found;
	/* Zeroed: an IPv4 tuple fills 4 bytes of the address, and the key holds all 16. */
	struct nl_sock_id id = {};

	__builtin_memset(s, 0, sizeof(*s));
	if (read_sock_id(sk, &id))
		return NULL;
	dest_key_of(&id.tuple, inbound, &s->dest);
	s->match = filter_sock(sk, &id);
	s->counted = counted;
	map_insert(&rt_socks, &key, s, BPF_NOEXIST);
	found = bpf_map_lookup_elem(&rt_socks, &key);
	return found ? found : s;
}

/* Adds what sk sent since the last look to its destination. */
static __always_inline void flush_segments(const struct sock *sk, struct rt_sock *s)
{
	__u32 segs = BPF_CORE_READ((const struct tcp_sock *)sk, segs_out);
	__u32 delta = segs - s->counted;

	s->counted = segs;
	if (delta && s->match && owner_kept(sk))
		dest_add(&s->dest, 0, delta);
}

static __always_inline void emit(const struct sock *sk, const struct nl_sock_id *id, __u8 state,
				 __u8 kind, __u32 segs)
{
	struct retrans_event *e = event_reserve(sizeof(*e));

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->id = *id;
	e->owner = *owner_of(sk);
	e->segments = segs;
	e->state = state;
	e->kind = kind;
	event_submit(e);
}

static __always_inline const struct tcp_skb_cb *skb_tcp_cb(const struct sk_buff *skb)
{
	return (const struct tcp_skb_cb *)((const char *)skb + bpf_core_field_offset(skb->cb));
}

static __always_inline int on_retransmit(const struct sock *sk, const struct sk_buff *skb)
{
	const struct tcp_skb_cb *cb = skb_tcp_cb(skb);
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	__u8 flags = BPF_CORE_READ(cb, tcp_flags);
	__u32 segs = BPF_CORE_READ(cb, tcp_gso_segs);
	__u64 key = (__u64)sk;
	struct rt_sock local, *s;
	struct nl_sock_id id;
	__u8 kind;

	/* tcp_skb_pcount(): what the kernel adds to total_retrans and RetransSegs. */
	if (!segs)
		segs = 1;
	s = bpf_map_lookup_elem(&rt_socks, &key);
	/*
	 * Not tracked yet: a SYN (a new outbound connection, counted from its
	 * birth), or a connection older than netlens (or refused by a full map),
	 * counted from this retransmission on, so that its ratio covers the
	 * same window as its retransmits.
	 */
	if (!s)
		s = track(sk, false, state == BPF_TCP_SYN_SENT ? 0 :
			  BPF_CORE_READ((const struct tcp_sock *)sk, segs_out) - segs, &local);
	if (!s || !s->match || !owner_kept(sk))
		return 0;
	dest_add(&s->dest, segs, 0);
	if (rt_summary_only || read_sock_id(sk, &id))
		return 0;
	kind = !(flags & NL_TCPHDR_SYN) ? RETRANS_DATA :
	       (flags & NL_TCPHDR_ACK) ? RETRANS_SYNACK : RETRANS_SYN;
	emit(sk, &id, state, kind, segs);
	return 0;
}

/* Recent kernels pass the transmit's result, and fire for failed attempts too. */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(retrans_skb_err, const struct sock *sk, const struct sk_buff *skb, int err)
{
	if (err)    /* not sent: the kernel counts nothing either */
		return 0;
	return on_retransmit(sk, skb);
}

/* Older kernels: fired only for segments that left. */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(retrans_skb, const struct sock *sk, const struct sk_buff *skb)
{
	return on_retransmit(sk, skb);
}

/*
 * A request socket is not a full socket: its ports are skc_num (local,
 * host order) and skc_dport, and it has no cgroup (the listener's counts).
 */
static __always_inline int read_request_id(const struct request_sock *req, const struct sock *listener,
					   struct nl_sock_id *id)
{
	const struct sock *rsk = (const struct sock *)req;
	struct nl_tuple *t = &id->tuple;
	__u16 family = BPF_CORE_READ(rsk, __sk_common.skc_family);

	t->sport = BPF_CORE_READ(rsk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(rsk, __sk_common.skc_dport));
	if (family == NL_AF_INET) {
		t->family = 4;
		*(__u32 *)t->saddr = BPF_CORE_READ(rsk, __sk_common.skc_rcv_saddr);
		*(__u32 *)t->daddr = BPF_CORE_READ(rsk, __sk_common.skc_daddr);
	} else if (family == NL_AF_INET6) {
		BPF_CORE_READ_INTO(&t->saddr, rsk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, rsk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		set_v6_family(t);
	} else {
		return -1;
	}
	id->netns = sock_netns(rsk);
	id->cgroup_id = cgroup_id(sock_cgroup(listener));
	return 0;
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(retrans_synack, const struct sock *sk, const struct request_sock *req)
{
	struct retrans_dest_key dest = {};
	struct nl_sock_id id = {};

	if (read_request_id(req, sk, &id) || !filter_sock(sk, &id) || !owner_kept(sk))
		return 0;
	dest_key_of(&id.tuple, true, &dest);
	dest_add(&dest, 1, 0);
	if (!rt_summary_only)
		emit(sk, &id, BPF_TCP_SYN_RECV, RETRANS_SYNACK, 1);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(retrans_state, const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	struct rt_sock local, *s;

	if (newstate != BPF_TCP_SYN_SENT && newstate != BPF_TCP_LISTEN &&
	    newstate != BPF_TCP_ESTABLISHED && newstate != BPF_TCP_CLOSE)
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != NL_IPPROTO_TCP)
		return 0;
	if (newstate == BPF_TCP_ESTABLISHED &&
	    (oldstate == BPF_TCP_SYN_SENT || oldstate == BPF_TCP_SYN_RECV)) {
		if (!bpf_map_lookup_elem(&rt_socks, &key))
			track(sk, oldstate == BPF_TCP_SYN_RECV, 0, &local);
	} else if (newstate == BPF_TCP_CLOSE) {
		s = bpf_map_lookup_elem(&rt_socks, &key);
		if (s) {
			flush_segments(sk, s);
			bpf_map_delete_elem(&rt_socks, &key);
		}
	}
	owner_on_state(sk, newstate);
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int retrans_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	owner_on_accept(ctx->ret);
	return 0;
}

SEC("tp/syscalls/sys_exit_accept")
int retrans_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	owner_on_accept(ctx->ret);
	return 0;
}

static long flush_one(struct bpf_map *map, __u64 *key, struct rt_sock *s, void *ctx)
{
	flush_segments((const struct sock *)*key, s);
	return 0;
}

/*
 * Run by user space (BPF_PROG_TEST_RUN) before it reads the totals: adds
 * what every live connection sent since the last look. Never attached.
 */
SEC("raw_tp")
int retrans_flush(void *ctx)
{
	bpf_for_each_map_elem(&rt_socks, flush_one, NULL, 0);
	return 0;
}
