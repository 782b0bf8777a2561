// SPDX-License-Identifier: GPL-2.0
/*
 * netlens latency: distributions built in the kernel, one log2 histogram
 * (src/output/hist_abi.h) per metric and group in a per-CPU hash:
 *   handshake  sock:inet_sock_set_state, SYN_SENT -> ESTABLISHED;
 *   rtt        tcp:tcp_probe, the smoothed RTT whenever an incoming ACK
 *              acknowledges new data;
 *   request    sock:sock_send_length / sock_recv_length on a socket we
 *   service    connected (client) or accepted (server): a small state
 *              machine per socket, see on_io().
 * sock_send_length and sock_recv_length fire for every sendmsg/recvmsg of
 * every socket on the host: their programs do one lookup and leave.
 *
 * Each tracepoint has two programs; user space loads one set:
 *   tp_btf  BTF-typed arguments: plain loads instead of
 *           bpf_probe_read_kernel(), and the per-socket state in the socket
 *           itself (socket-local storage, lat_sk), found without hashing;
 *   raw_tp  the fallback when the kernel refuses tp_btf: reads through
 *           bpf_probe_read_kernel(), the state in the lat_socks hash keyed
 *           by the socket's address.
 * The state written by lat_state is read by the other three: a set never mixes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "output/hist_abi.h"
#include "latency/latency_abi.h"
#include "kernel/emit.bpf.h"
#include "kernel/sock.bpf.h"
#include "kernel/filter.bpf.h"
#include "kernel/owner_map.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define NL_MSG_PEEK     0x2
#define NL_MSG_ERRQUEUE 0x2000

const volatile __u8 lat_by = LAT_BY_DADDR_DPORT;
/* --by pid|comm, -p or -c: the owner of softirq samples is needed (owner_map.bpf.h). */
const volatile bool lat_need_owner = false;
/* Flipped by user space at each --interval: new samples go to the other half. */
__u32 lat_epoch = 0;

enum lat_dir { LAT_DIR_UNKNOWN, LAT_DIR_OUT, LAT_DIR_IN };

struct lat_sock {
	__u64 ts_syn;           /* outbound: SYN sent, until ESTABLISHED */
	__u64 ts_open;          /* a request (client) or service (server) runs since; 0: none */
	struct lat_key group;   /* the socket's part of the key (addresses, port, cgroup) */
	__u8  dir;              /* enum lat_dir */
	__u8  match;            /* the socket filters keep it */
	__u8  pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);     /* --max-conns */
	__type(key, __u64);             /* struct sock * */
	__type(value, struct lat_sock);
} lat_socks SEC(".maps");

/* tp_btf: the same state, kept in the socket and freed with it. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lat_sock);
} lat_sk SEC(".maps");

/*
 * Socket-local storage has no size of its own: --max-conns is kept by
 * counting the sockets that hold lat_sk, so both sets refuse (and count in
 * map_full) the same sockets. The check and the increment are not one
 * atomic step: two CPUs racing at the limit may go one over it.
 */
const volatile __u32 lat_max_conns = 65536;
__u32 lat_sk_count = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);      /* --max-groups x 2 epochs, set by user space */
	__type(key, struct lat_key);
	__type(value, struct nl_hist);
} hists SEC(".maps");

static const struct nl_hist zero_hist;

static __always_inline void hist_add(const struct lat_key *k, __u64 us)
{
	struct nl_hist *h = bpf_map_lookup_elem(&hists, k);
	__u32 slot;

	if (!h) {
		map_insert(&hists, k, &zero_hist, BPF_NOEXIST);
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

/* Records one sample of s's socket, grouped with its owner if --by asks for it. */
static __always_inline void sample(const struct lat_sock *s, __u8 metric, __u64 us,
				   const struct nl_owner *owner)
{
	struct lat_key k = s->group;

	k.metric = metric;
	k.epoch = lat_epoch;
	if (lat_need_owner) {
		if (!filter_owner(owner))
			return;
		if (lat_by == LAT_BY_PID)
			k.pid = owner->pid;
		if (lat_by == LAT_BY_PID || lat_by == LAT_BY_COMM)
			__builtin_memcpy(k.comm, owner->comm, sizeof(k.comm));
	}
	hist_add(&k, us);
}

/* The socket's part of the key, read once its tuple is final (ESTABLISHED). */
static __always_inline void identify(const struct sock *sk, struct lat_sock *s)
{
	/* Zeroed: an IPv4 tuple fills 4 bytes of the address, and the key holds all 16. */
	struct nl_sock_id id = {};
	const struct nl_tuple *t = &id.tuple;
	bool inbound = s->dir == LAT_DIR_IN;

	if (read_sock_id(sk, &id))
		return;
	s->match = filter_sock(sk, &id);
	switch (lat_by) {
	case LAT_BY_DADDR_DPORT:
		s->group.port = inbound ? t->sport : t->dport;
		/* fall through */
	case LAT_BY_DADDR:
		s->group.family = t->family;
		__builtin_memcpy(s->group.addr, inbound ? t->saddr : t->daddr, sizeof(s->group.addr));
		break;
	case LAT_BY_DPORT:
		s->group.port = inbound ? t->sport : t->dport;
		break;
	case LAT_BY_CGROUP:
		s->group.cgroup_id = id.cgroup_id;
		break;
	}
}

/* sk's state, NULL if netlens does not follow it. */
static __always_inline struct lat_sock *sock_state(const struct sock *sk, const bool btf)
{
	__u64 key = (__u64)sk;

	if (btf)
		return bpf_sk_storage_get(&lat_sk, (void *)sk, NULL, 0);
	return bpf_map_lookup_elem(&lat_socks, &key);
}

/* tp_btf: sk's storage, created within --max-conns. */
static __always_inline struct lat_sock *storage_create(const struct sock *sk)
{
	struct lat_sock *s = bpf_sk_storage_get(&lat_sk, (void *)sk, NULL, 0);

	if (s)
		return s;
	if (lat_sk_count >= lat_max_conns) {
		stat_inc(NL_STAT_MAP_FULL);
		return NULL;
	}
	s = bpf_sk_storage_get(&lat_sk, (void *)sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		stat_inc(NL_STAT_MAP_FULL);
		return NULL;
	}
	__sync_fetch_and_add(&lat_sk_count, 1);
	return s;
}

/* Starts tracking sk; returns its state (NULL if --max-conns sockets are followed). */
static __always_inline struct lat_sock *track(const struct sock *sk, __u8 dir, __u64 ts_syn,
					      const bool btf)
{
	struct lat_sock s = { .ts_syn = ts_syn, .dir = dir }, *e;
	__u64 key = (__u64)sk;

	if (dir != LAT_DIR_OUT || !ts_syn)
		identify(sk, &s);
	if (btf) {
		e = storage_create(sk);
		if (e)
			*e = s;
		return e;
	}
	map_insert(&lat_socks, &key, &s, BPF_ANY);
	return bpf_map_lookup_elem(&lat_socks, &key);
}

static __always_inline void untrack(const struct sock *sk, const bool btf)
{
	__u64 key = (__u64)sk;

	if (!btf)
		bpf_map_delete_elem(&lat_socks, &key);
	else if (!bpf_sk_storage_delete(&lat_sk, (void *)sk))
		__sync_fetch_and_add(&lat_sk_count, -1);
}

static __always_inline const struct nl_owner *softirq_owner(const struct sock *sk)
{
	return lat_need_owner ? owner_of(sk) : &nl_unknown_owner;
}

static __always_inline void on_established(const struct sock *sk, int oldstate, const bool btf)
{
	struct lat_sock *s;
	__u64 now;

	if (oldstate == BPF_TCP_SYN_RECV) {
		track(sk, LAT_DIR_IN, 0, btf);
		return;
	}
	if (oldstate != BPF_TCP_SYN_SENT)
		return;
	s = sock_state(sk, btf);
	if (!s || !s->ts_syn)
		return;
	now = bpf_ktime_get_ns();
	identify(sk, s);
	if (s->match)
		sample(s, LAT_HANDSHAKE, (now - s->ts_syn) / 1000, softirq_owner(sk));
	s->ts_syn = 0;
}

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate,
				    const bool btf)
{
	if (newstate != BPF_TCP_SYN_SENT && newstate != BPF_TCP_ESTABLISHED &&
	    newstate != BPF_TCP_CLOSE && newstate != BPF_TCP_LISTEN)
		return 0;
	if (READ(btf, sk, sk_protocol) != NL_IPPROTO_TCP)
		return 0;
	if (newstate == BPF_TCP_SYN_SENT)           /* inside connect(2) */
		track(sk, LAT_DIR_OUT, bpf_ktime_get_ns(), btf);
	else if (newstate == BPF_TCP_ESTABLISHED)
		on_established(sk, oldstate, btf);
	else if (newstate == BPF_TCP_CLOSE)
		untrack(sk, btf);
	if (lat_need_owner)
		owner_on_state(sk, newstate);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(lat_state, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, oldstate, newstate, false);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(lat_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, oldstate, newstate, true);
}

/*
 * The request/response state machine of one socket. The side that opens
 * a measurement is send for a client (our connect) and receive for a
 * server (accepted): its first call starts the clock, further ones (a
 * request written in pieces) do not. The other side's first call after
 * that takes the sample and rearms. Process context: current is the owner.
 */
static __always_inline void on_io(const struct sock *sk, bool is_send, const bool btf)
{
	struct lat_sock *s = sock_state(sk, btf);
	struct nl_owner owner;
	bool client;

	if (!s || !s->match || s->dir == LAT_DIR_UNKNOWN)
		return;
	client = s->dir == LAT_DIR_OUT;
	if (client == is_send) {
		if (!s->ts_open)
			s->ts_open = bpf_ktime_get_ns();
		return;
	}
	if (!s->ts_open)
		return;
	if (lat_need_owner)
		owner_from_current(&owner);
	sample(s, client ? LAT_REQUEST : LAT_SERVICE, (bpf_ktime_get_ns() - s->ts_open) / 1000,
	       &owner);
	s->ts_open = 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(lat_send, const struct sock *sk, int ret, int flags)
{
	if (ret > 0)
		on_io(sk, true, false);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(lat_send_btf, const struct sock *sk, int ret, int flags)
{
	if (ret > 0)
		on_io(sk, true, true);
	return 0;
}

/* A peek leaves the data for the real read; the error queue holds no data. */
static __always_inline bool recv_counts(int ret, int flags)
{
	return ret > 0 && !(flags & (NL_MSG_PEEK | NL_MSG_ERRQUEUE));
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(lat_recv, const struct sock *sk, int ret, int flags)
{
	if (recv_counts(ret, flags))
		on_io(sk, false, false);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(lat_recv_btf, const struct sock *sk, int ret, int flags)
{
	if (recv_counts(ret, flags))
		on_io(sk, false, true);
	return 0;
}

static __always_inline const struct tcp_skb_cb *skb_tcp_cb(const struct sk_buff *skb)
{
	return (const struct tcp_skb_cb *)((const char *)skb + bpf_core_field_offset(skb->cb));
}

/*
 * Fires for each segment tcp_rcv_established() takes, before it is
 * processed: a sample when the segment acknowledges new data (the
 * sender's view), not for every data segment a receiver gets.
 */
static __always_inline int on_probe(const struct sock *sk, const struct sk_buff *skb,
				    const bool btf)
{
	/* tp_btf: the verifier lets a struct sock be read as a tcp_sock only through the helper. */
	const struct tcp_sock *tp = btf ? bpf_skc_to_tcp_sock((void *)sk)
					: (const struct tcp_sock *)sk;
	struct lat_sock *s;
	__u32 srtt;

	if (!tp || (__s32)(READ(btf, skb_tcp_cb(skb), ack_seq) - READ(btf, tp, snd_una)) <= 0)
		return 0;
	s = sock_state(sk, btf);
	if (!s)     /* a connection older than netlens: direction unknown */
		s = track(sk, LAT_DIR_UNKNOWN, 0, btf);
	if (!s || !s->match)
		return 0;
	srtt = READ(btf, tp, srtt_us) >> 3;
	if (srtt)
		sample(s, LAT_RTT, srtt, softirq_owner(sk));
	return 0;
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(lat_probe, const struct sock *sk, const struct sk_buff *skb)
{
	return on_probe(sk, skb, false);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(lat_probe_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return on_probe(sk, skb, true);
}

/* Only with lat_need_owner: the owner of accepted sockets, for softirq samples. */
SEC("tp/syscalls/sys_exit_accept4")
int lat_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	owner_on_accept(ctx->ret);
	return 0;
}

SEC("tp/syscalls/sys_exit_accept")
int lat_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	owner_on_accept(ctx->ret);
	return 0;
}
