/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TCP core's record of a socket and what every capability step reads of
 * it. One record per socket, in one hash keyed by the socket's address:
 * created when the socket's life begins (SYN_SENT inside connect(2), the
 * child of a listener when it becomes ESTABLISHED, LISTEN inside listen(2)) or when a
 * capability first meets a connection older than netlens, deleted at CLOSE.
 *
 * Why a hash and not socket-local storage: the record must be reachable
 * from the exits of accept(2) and connect(2), which are syscall tracepoints
 * (BPF_PROG_TYPE_TRACEPOINT); bpf_sk_storage_get() is offered to BTF
 * tracing programs only (bpf_sk_storage_tracing_allowed(), Linux 5.11+).
 */
#ifndef NETLENS_TCP_BPF_H
#define NETLENS_TCP_BPF_H

#include "tcp/tcp_abi.h"
#include "kernel/emit.bpf.h"
#include "kernel/sock.bpf.h"
#include "kernel/filter.bpf.h"
#include "kernel/owner.bpf.h"

/* Which capabilities this load carries (user space, before load): the others' steps are pruned. */
const volatile bool tcp_conns = false;
const volatile bool tcp_latency = false;
const volatile bool tcp_retrans = false;
const volatile bool tcp_http = false;

/* Core-only flag beside enum conn_flags: the socket listens (its owner answers SYN-ACKs). */
#define TCP_F_LISTENER (1 << 7)
#define TCP_F_DIRECTION (CONN_F_OUTBOUND | CONN_F_INBOUND)

struct tcp_rec {
	__u64 ts_start;          /* SYN sent, or child socket created */
	__u64 ts_established;    /* 0 unless the handshake was seen */
	struct nl_sock_id id;    /* read once (identified), reused by every step */
	struct nl_owner owner;   /* owner.bpf.h's rules; pid 0 until known */
	__u8  flags;             /* enum conn_flags, TCP_F_LISTENER */
	__u8  identified;        /* id and match are valid */
	__u8  match;             /* the socket filters keep it: evaluated once */
	__u8  pad;
	__u16 err_soft;          /* conns: the parked ICMP error SO_ERROR handed over (and cleared) */
	__u8  pad2[2];
	struct {                 /* latency (src/latency/latency.bpf.h) */
		__u64 ts_open;   /* a request (client) or service (server) runs since; 0: none */
	} lat;
	struct {                 /* retrans (src/retrans/retrans.bpf.h) */
		__u32 counted;   /* the part of segs_out already added to its destination */
		__u32 retrans;   /* the part of total_retrans already added to it */
		__u8  counting;  /* counted and retrans are valid */
		__u8  pad[7];
	} rt;
	struct {                 /* http (src/http/http.bpf.h) */
		__u64 bytes;     /* of the message being sent or received */
		__u8  proto;     /* 0 unclassified, struct http_sig.proto, or foreign */
		__u8  dir;       /* enum http_dir of the last call */
		__u8  tls;       /* the data is OpenSSL's plaintext */
		__u8  pad[5];
	} http;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);     /* --max-conns, set by user space */
	__type(key, __u64);             /* struct sock * */
	__type(value, struct tcp_rec);
} tcp_socks SEC(".maps");

/*
 * Per CPU: every connection to a busy destination adds to the same totals
 * from both ends' CPUs, and one shared value made each add a cache line
 * taken from the other CPU. User space sums the CPUs' values.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);     /* destinations totalled; further ones are counted as map_full */
	__type(key, struct nl_dest_key);
	__type(value, struct tcp_dest);
} tcp_dests SEC(".maps");

static __always_inline struct tcp_rec *rec_of(const struct sock *sk)
{
	__u64 key = (__u64)sk;

	return bpf_map_lookup_elem(&tcp_socks, &key);
}

/*
 * Starts following sk (refused when --max-conns sockets are followed:
 * counted in the core's row). BPF_ANY where its life begins, BPF_NOEXIST
 * where a step first meets an older socket (another CPU may be first).
 */
static __always_inline void rec_insert(const struct sock *sk, __u64 now, __u8 flags,
				       bool owner_is_current, __u64 how)
{
	struct tcp_rec r = { .ts_start = now, .flags = flags };
	__u64 key = (__u64)sk;

	if (owner_is_current)
		owner_from_current(&r.owner);
	map_insert_row(TCP_ROW_CORE, &tcp_socks, &key, &r, how);
}

/* rec_insert(), for a step that goes on with the record: NULL if refused. */
static __always_inline struct tcp_rec *rec_create(const struct sock *sk, __u64 now, __u8 flags,
						  __u64 how)
{
	rec_insert(sk, now, flags, false, how);
	return rec_of(sk);
}

static __always_inline void rec_delete(const struct sock *sk)
{
	__u64 key = (__u64)sk;

	bpf_map_delete_elem(&tcp_socks, &key);
}

/*
 * Reads r's identity once (when its ports and addresses are final) and says
 * if the filters keep it. btf: sk is a typed tp_btf argument (plain loads).
 */
static __always_inline bool rec_identify(const struct sock *sk, struct tcp_rec *r, const bool btf)
{
	if (r->identified)
		return r->match;
	if (read_sock_id_as(sk, &r->id, btf))
		return false;
	r->match = filter_sock(sk, &r->id);
	r->identified = 1;
	return r->match;
}

/* The owner filters (-p, -c) on r's owner: the verifier drops this when neither is given. */
static __always_inline bool rec_owner_kept(const struct tcp_rec *r)
{
	if (!nl_filter.pid && !nl_filter.has_comm)
		return true;
	return filter_owner(r ? &r->owner : &nl_unknown_owner);
}

/* The destination of an identified record: the server side. */
static __always_inline void rec_dest(const struct tcp_rec *r, struct nl_dest_key *k)
{
	bool inbound = r->flags & CONN_F_INBOUND;
	const struct nl_tuple *t = &r->id.tuple;

	__builtin_memset(k, 0, sizeof(*k));
	k->family = t->family;
	k->inbound = inbound;
	k->port = inbound ? t->sport : t->dport;
	__builtin_memcpy(k->addr, inbound ? t->saddr : t->daddr, sizeof(k->addr));
}

/*
 * This CPU's totals of a destination, created at first use; NULL when
 * tcp_dests is full (counted). Added to with atomics all the same: a
 * softirq may interrupt a process-context program between its load and
 * its store on this CPU.
 */
static __always_inline struct tcp_dest *dest_get(const struct nl_dest_key *k, __u32 row)
{
	static const struct tcp_dest zero;
	struct tcp_dest *d = bpf_map_lookup_elem(&tcp_dests, k);

	if (d)
		return d;
	map_insert_row(row, &tcp_dests, k, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tcp_dests, k);
}

#endif
