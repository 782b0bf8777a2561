/* SPDX-License-Identifier: GPL-2.0 */
/*
 * latency's steps in the TCP core (src/tcp/tcp.bpf.c): distributions built
 * in the kernel, one log2 histogram (src/output/hist_abi.h) per metric and
 * group in a per-CPU hash:
 *   handshake  SYN_SENT -> ESTABLISHED, from the core's ts_start;
 *   rtt        tcp:tcp_probe, the smoothed RTT whenever an incoming ACK
 *              acknowledges new data;
 *   request    sock:sock_send_length / sock_recv_length on a socket we
 *   service    saw connect (client) or accepted (server): a small state
 *              machine per socket, see lat_on_io().
 * sock_send_length and sock_recv_length fire for every sendmsg/recvmsg of
 * every socket on the host: their programs do one lookup and leave.
 */
#ifndef NETLENS_LATENCY_BPF_H
#define NETLENS_LATENCY_BPF_H

#include "output/hist_abi.h"
#include "latency/latency_abi.h"
#include "tcp/tcp.bpf.h"

#define NL_MSG_PEEK     0x2
#define NL_MSG_ERRQUEUE 0x2000

const volatile __u8 lat_by = LAT_BY_DADDR_DPORT;
/* Flipped by user space at each --interval: new samples go to the other half. */
__u32 lat_epoch = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);      /* --max-groups x 2 epochs, set by user space */
	__type(key, struct lat_key);
	__type(value, struct nl_hist);
} hists SEC(".maps");

static __always_inline void hist_add(const struct lat_key *k, __u64 us)
{
	static const struct nl_hist zero_hist;
	struct nl_hist *h = bpf_map_lookup_elem(&hists, k);
	__u32 slot;

	if (!h) {
		map_insert_row(TCP_ROW_LATENCY, &hists, k, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, k);
		if (!h)
			return;
	}
	/* The compiler knows the slot is in range and drops a mask: the verifier must see a check. */
	slot = nl_hist_slot(us);
	barrier_var(slot);
	if (slot >= NL_HIST_SLOTS)
		return;
	/* Per-CPU: no atomics needed. */
	h->slots[slot]++;
	if (!h->count++ || us < h->min_us)
		h->min_us = us;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

/* The group a socket's samples go to, from its identity (--by). */
static __always_inline void lat_group(const struct tcp_rec *r, struct lat_key *k)
{
	const struct nl_tuple *t = &r->id.tuple;
	bool inbound = r->flags & CONN_F_INBOUND;

	switch (lat_by) {
	case LAT_BY_DADDR_DPORT:
		k->port = inbound ? t->sport : t->dport;
		/* fall through */
	case LAT_BY_DADDR:
		k->family = t->family;
		__builtin_memcpy(k->addr, inbound ? t->saddr : t->daddr, sizeof(k->addr));
		break;
	case LAT_BY_DPORT:
		k->port = inbound ? t->sport : t->dport;
		break;
	case LAT_BY_CGROUP:
		k->cgroup_id = r->id.cgroup_id;
		break;
	}
}

/* Records one sample of r's socket, grouped with its owner if --by asks for it. */
static __always_inline void lat_sample(const struct tcp_rec *r, __u8 metric, __u64 us,
				       const struct nl_owner *owner)
{
	struct lat_key k = {};

	if (!filter_owner(owner))
		return;
	lat_group(r, &k);
	k.metric = metric;
	k.epoch = lat_epoch;
	if (lat_by == LAT_BY_PID)
		k.pid = owner->pid;
	if (lat_by == LAT_BY_PID || lat_by == LAT_BY_COMM)
		__builtin_memcpy(k.comm, owner->comm, sizeof(k.comm));
	hist_add(&k, us);
}

static __always_inline void lat_on_established(const struct tcp_rec *r, int oldstate, __u64 now)
{
	if (oldstate == BPF_TCP_SYN_SENT && r->match)
		lat_sample(r, LAT_HANDSHAKE, (now - r->ts_start) / 1000, &r->owner);
}

/*
 * The request/response state machine of one socket. The side that opens
 * a measurement is send for a client (our connect) and receive for a
 * server (accepted): its first call starts the clock, further ones (a
 * request written in pieces) do not. The other side's first call after
 * that takes the sample and rearms. Process context: current is the owner.
 */
static __always_inline void lat_on_io(const struct sock *sk, bool is_send)
{
	struct tcp_rec *r = rec_of(sk);
	struct nl_owner owner = {};
	bool client;

	if (!r || !r->match || !(r->flags & TCP_F_DIRECTION))
		return;
	client = r->flags & CONN_F_OUTBOUND;
	if (client == is_send) {
		if (!r->lat.ts_open)
			r->lat.ts_open = bpf_ktime_get_ns();
		return;
	}
	if (!r->lat.ts_open)
		return;
	if (nl_filter.pid || nl_filter.has_comm || lat_by == LAT_BY_PID || lat_by == LAT_BY_COMM)
		owner_from_current(&owner);
	lat_sample(r, client ? LAT_REQUEST : LAT_SERVICE, (bpf_ktime_get_ns() - r->lat.ts_open) / 1000,
		   &owner);
	r->lat.ts_open = 0;
}

/* A peek leaves the data for the real read; the error queue holds no data. */
static __always_inline bool lat_recv_counts(int ret, int flags)
{
	return ret > 0 && !(flags & (NL_MSG_PEEK | NL_MSG_ERRQUEUE));
}

/*
 * tcp:tcp_probe fires for each segment tcp_rcv_established() takes, before
 * it is processed: a sample when the segment acknowledges new data (the
 * sender's view), not for every data segment a receiver gets.
 */
static __always_inline void lat_on_probe(const struct sock *sk, const struct sk_buff *skb,
					 const bool btf)
{
	const struct tcp_sock *tp = tcp_sk_of(sk, btf);
	struct tcp_rec *r;
	__u32 srtt;

	if (!tp || (__s32)(READ(btf, skb_tcp_cb(skb), ack_seq) - READ(btf, tp, snd_una)) <= 0)
		return;
	r = rec_of(sk);
	if (!r)     /* a connection older than netlens: direction unknown */
		r = rec_create(sk, 0, 0, BPF_NOEXIST);
	if (!r || !rec_identify(sk, r, btf))
		return;
	srtt = READ(btf, tp, srtt_us) >> 3;
	if (srtt)
		lat_sample(r, LAT_RTT, srtt, &r->owner);
}

#endif
