/* SPDX-License-Identifier: GPL-2.0 */
/*
 * retrans' steps in the TCP core (src/tcp/tcp.bpf.c): every retransmitted
 * segment, from tcp:tcp_retransmit_skb (data, FIN, the active opener's SYN)
 * and tcp:tcp_retransmit_synack (a listener's SYN-ACK), and per destination
 * the segments retransmitted and sent. Both fire from timers and softirq,
 * so the owner is the one in the core's record, never the current task.
 */
#ifndef NETLENS_RETRANS_BPF_H
#define NETLENS_RETRANS_BPF_H

#include "retrans/retrans_abi.h"
#include "tcp/tcp.bpf.h"

#define NL_TCPHDR_SYN 0x02
#define NL_TCPHDR_ACK 0x10

/* --summary, or serve without an events file: totals only, no record per retransmission. */
const volatile bool rt_records = true;

NL_RING(retrans_events);

/* One retransmission of retrans segments (retrans 0: only segs sent); syn: of a SYN. */
static __always_inline void rt_count(const struct nl_dest_key *k, __u64 retrans, __u64 segs,
				     bool syn)
{
	struct tcp_dest *d = dest_get(k, TCP_ROW_RETRANS);

	if (!d)
		return;
	if (retrans) {
		__sync_fetch_and_add(&d->rt.calls, 1);
		__sync_fetch_and_add(&d->rt.retransmits, retrans);
	}
	if (syn)
		__sync_fetch_and_add(&d->rt.syn_retransmits, retrans);
	if (segs)
		__sync_fetch_and_add(&d->rt.segments, segs);
}

/*
 * Starts counting r's segments sent from its segs_out at `counted`, and its
 * retransmitted ones from its total_retrans at `retrans`.
 */
static __always_inline void rt_start(struct tcp_rec *r, __u32 counted, __u32 retrans)
{
	if (r->rt.counting)
		return;
	r->rt.counting = 1;
	r->rt.counted = counted;
	r->rt.retrans = retrans;
}

/* Adds what r's socket sent since the last look to its destination. */
static __always_inline void rt_flush(const struct sock *sk, struct tcp_rec *r, const bool btf)
{
	__u32 segs, delta;
	struct nl_dest_key k;

	if (!r->rt.counting)
		return;
	segs = tcp_segs_out(sk, btf);
	delta = segs - r->rt.counted;
	r->rt.counted = segs;
	if (delta && r->match && rec_owner_kept(r)) {
		rec_dest(r, &k);
		rt_count(&k, 0, delta, false);
	}
}

static __always_inline void rt_emit(const struct nl_sock_id *id, const struct nl_owner *owner,
				    __u8 state, __u8 kind, __u32 segs)
{
	struct retrans_event *e;

	if (!rt_records)
		return;
	e = ring_reserve(&retrans_events, TCP_ROW_RETRANS, sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->id = *id;
	e->owner = *owner;
	e->segments = segs;
	e->state = state;
	e->kind = kind;
	ring_submit(&retrans_events, TCP_ROW_RETRANS, e);
}

/*
 * ESTABLISHED after a handshake: counted from the connection's birth. A
 * listener's child starts with segs_out 0, its SYN-ACK having left from the
 * request socket (tcp_v4_send_synack()), and inherits the SYN-ACK's
 * retransmissions as total_retrans (tcp_create_openreq_child()): those are
 * segments the server sent too.
 */
static __always_inline void rt_on_established(const struct sock *sk, struct tcp_rec *r,
					      int oldstate, const bool btf)
{
	__u32 retrans = tcp_total_retrans(sk, btf);

	/* The SYN-ACK's retransmissions were counted as they left, from the listener. */
	rt_start(r, oldstate == BPF_TCP_SYN_RECV ? -(1 + retrans) : 0, retrans);
}

/*
 * A retransmission attempt of skb on sk; sent: it left (the kernel's result
 * is 0). Counted by what the kernel added to the socket's total_retrans
 * (with RetransSegs): __tcp_retransmit_skb() adds before it transmits, so an
 * attempt the sender's own qdisc or firewall refused counts, and one given
 * up before (-EBUSY: the original still in a driver's queue; no route; no
 * memory) does not. A socket not followed yet is met at an attempt that
 * left: a refused one cannot be told from one given up.
 */
static __always_inline void rt_on_retransmit(const struct sock *sk, const struct sk_buff *skb,
					     bool sent)
{
	const struct tcp_skb_cb *cb = skb_tcp_cb(skb);
	struct tcp_rec local = {}, *r = rec_of(sk);
	__u32 segs, fresh, total, added;
	struct nl_dest_key k;
	__u8 state, flags, kind;

	if (!r && !sent)
		return;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	flags = BPF_CORE_READ(cb, tcp_flags);
	/* tcp_skb_pcount(): what the kernel adds to total_retrans and RetransSegs. */
	segs = BPF_CORE_READ(cb, tcp_gso_segs) ?: 1;
	fresh = sent ? segs : 0;    /* this attempt's part of the counters, if it is known */
	total = tcp_total_retrans(sk, false);
	if (!r)     /* older than netlens: its segments are counted from here */
		r = rec_create(sk, 0, 0, BPF_NOEXIST);
	if (!r)     /* not followed (--max-conns): still counted, from the socket itself */
		r = &local;
	/*
	 * A SYN is counted from the connection's birth; a connection older than
	 * netlens (or not followed) from this retransmission on. Its ratio
	 * covers the same window as its retransmits.
	 */
	if (state == BPF_TCP_SYN_SENT && r != &local)
		rt_start(r, 0, 0);
	else
		rt_start(r, tcp_segs_out(sk, false) - fresh, total - fresh);
	added = total - r->rt.retrans;
	r->rt.retrans = total;
	if (!added || !rec_identify(sk, r, false) || !rec_owner_kept(r))
		return;
	rec_dest(r, &k);
	kind = !(flags & NL_TCPHDR_SYN) ? RETRANS_DATA :
	       (flags & NL_TCPHDR_ACK) ? RETRANS_SYNACK : RETRANS_SYN;
	rt_count(&k, added, 0, kind == RETRANS_SYN);
	rt_emit(&r->id, &r->owner, state, kind, added);
}

/*
 * A request socket is not a full socket: its ports are skc_num (local,
 * host order) and skc_dport, and it has no cgroup (the listener's counts).
 */
static __always_inline int read_request_id(const struct request_sock *req,
					   const struct sock *listener, struct nl_sock_id *id)
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

/* A SYN-ACK retransmitted by listener for req: the listener's owner answers it. */
static __always_inline void rt_on_synack(const struct sock *listener,
					 const struct request_sock *req)
{
	struct tcp_rec *lr = rec_of(listener);
	const struct nl_owner *owner = lr ? &lr->owner : &nl_unknown_owner;
	struct tcp_rec req_rec = { .flags = CONN_F_INBOUND };
	struct nl_dest_key k;

	if (read_request_id(req, listener, &req_rec.id) || !filter_sock(listener, &req_rec.id) ||
	    !filter_owner(owner))
		return;
	rec_dest(&req_rec, &k);
	rt_count(&k, 1, 0, false);
	rt_emit(&req_rec.id, owner, BPF_TCP_SYN_RECV, RETRANS_SYNACK, 1);
}

#endif
