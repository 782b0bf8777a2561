/* SPDX-License-Identifier: GPL-2.0 */
/*
 * conns' steps in the TCP core (src/tcp/tcp.bpf.c): the connection
 * lifecycle records and the per-destination totals, counted here so that
 * no total depends on the ring buffer delivering a record. Ownership is the
 * core's (owner.bpf.h's rules); everything else (ESTABLISHED on a SYN-ACK,
 * CLOSE after the last ACK) may run in softirq, where "current" is whoever
 * was interrupted.
 */
#ifndef NETLENS_CONNS_BPF_H
#define NETLENS_CONNS_BPF_H

#include "tcp/tcp.bpf.h"

#define NL_EINTR          4
#define NL_EBADF          9
#define NL_EFAULT         14
#define NL_EINVAL         22
#define NL_ENOTSOCK       88
#define NL_EAFNOSUPPORT   97
#define NL_EADDRNOTAVAIL  99
#define NL_ECONNABORTED   103
#define NL_EISCONN        106
#define NL_EALREADY       114
#define NL_EINPROGRESS    115
#define NL_ERESTARTSYS    512   /* ... 516: kernel-internal, restarted after a signal */
#define NL_ERESTART_MAX   516

/* False when nobody reads the records (serve without an events file): totals only. */
const volatile bool conns_records = true;

NL_RING(conns_events);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);     /* destination x errno pairs; further ones are map_full */
	__type(key, struct conns_fail_key);
	__type(value, __u64);
} conns_failures SEC(".maps");

/*
 * Sockets whose failed handshake the state machine reported (sk -> when and
 * with which errno), so that the exit of a blocking connect(2), which
 * follows within moments with that errno, does not report it again. Older
 * entries are stale (non-blocking connects never come back), and a
 * different errno is another attempt: a socket allocated at the same
 * address after a non-blocking connect failed, whose connect(2) fails
 * before any TCP state (ENETUNREACH), must not be hidden.
 */
#define REPORTED_WINDOW_NS 1000000000ULL
struct conns_reported_val {
	__u64 ts;
	__u32 error;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct conns_reported_val);
} conns_reported SEC(".maps");

enum conns_total { CONNS_CONNECT, CONNS_ACCEPT, CONNS_CLOSE };

static __always_inline void conns_count(const struct nl_dest_key *k, enum conns_total what,
					const struct conn_event *close)
{
	struct tcp_dest *d = dest_get(k, TCP_ROW_CONNS);

	if (!d)
		return;
	switch (what) {
	case CONNS_CONNECT:
		__sync_fetch_and_add(&d->conns.connects, 1);
		break;
	case CONNS_ACCEPT:
		__sync_fetch_and_add(&d->conns.accepts, 1);
		break;
	case CONNS_CLOSE:
		__sync_fetch_and_add(&d->conns.closes, 1);
		__sync_fetch_and_add(&d->conns.bytes_sent, close->bytes_sent);
		__sync_fetch_and_add(&d->conns.bytes_received, close->bytes_received);
		__sync_fetch_and_add(&d->conns.retransmits, close->retransmits);
		break;
	}
}

static __always_inline void conns_count_failure(const struct nl_dest_key *k, __u16 error)
{
	struct conns_fail_key fk = { .dest = *k, .error = error };
	struct tcp_dest *d = dest_get(k, TCP_ROW_CONNS);
	__u64 one = 1, *n;

	if (d)
		__sync_fetch_and_add(&d->conns.failed, 1);
	n = bpf_map_lookup_elem(&conns_failures, &fk);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		map_insert_row(TCP_ROW_CONNS, &conns_failures, &fk, &one, BPF_NOEXIST);
}

/* A record about a socket the filters keep: on the stack, sent by conns_send(). */
static __always_inline void conns_fill(struct conn_event *e, __u8 type, __u64 ts,
				       const struct nl_sock_id *id, const struct nl_owner *owner,
				       __u8 flags)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = ts;
	e->type = type;
	e->id = *id;
	e->owner = *owner;
	e->flags = flags & ~TCP_F_LISTENER;
}

static __always_inline void conns_send(const struct conn_event *e)
{
	struct conn_event *out;

	if (!conns_records)
		return;
	out = ring_reserve(&conns_events, TCP_ROW_CONNS, sizeof(*out));
	if (!out)
		return;
	*out = *e;
	ring_submit(&conns_events, TCP_ROW_CONNS, out);
}

/*
 * Starts a record about r's socket if every filter keeps it. r is the
 * core's record, or a zeroed one on the stack for a socket the core does
 * not follow (older than netlens, or refused by a full map).
 */
static __always_inline bool conns_start(const struct sock *sk, struct tcp_rec *r, __u8 type,
					__u64 ts, struct conn_event *e, struct nl_dest_key *k,
					const bool btf)
{
	if (!rec_identify(sk, r, btf) || !filter_owner(&r->owner))
		return false;
	conns_fill(e, type, ts, &r->id, &r->owner, r->flags);
	rec_dest(r, k);
	return true;
}

static __always_inline void conns_emit_connect(const struct sock *sk, struct tcp_rec *r, __u64 now,
					       const bool btf)
{
	struct nl_dest_key k;
	struct conn_event e;

	if (!conns_start(sk, r, CONN_EV_CONNECT, now, &e, &k, btf))
		return;
	e.latency_ns = now - r->ts_start;
	conns_count(&k, CONNS_CONNECT, NULL);
	conns_send(&e);
}

static __always_inline void conns_emit_accept(const struct sock *sk, struct tcp_rec *r, __u64 now,
					      const bool btf)
{
	__u64 established = r->ts_established ? r->ts_established : now;
	struct nl_dest_key k;
	struct conn_event e;

	if (!conns_start(sk, r, CONN_EV_ACCEPT, established, &e, &k, btf))
		return;
	e.latency_ns = now - established;
	conns_count(&k, CONNS_ACCEPT, NULL);
	conns_send(&e);
}

/*
 * The errno of a handshake that ended. sk_err is set before tcp_done()
 * moves the socket to CLOSE: ECONNREFUSED from tcp_reset(), ETIMEDOUT (or
 * the soft ICMP error) from tcp_write_err(), an ICMP error that met the
 * socket unowned (tcp_v4_err()). An ICMP error that met it owned by the
 * connecting process (the SYN's answer processed inside connect(2)) is
 * parked in sk_err_soft; the application that gives up and closes has seen
 * it through SO_ERROR, which clears it (r->err_soft kept it), or not at all.
 * Nothing: no segment ever sent means tcp_v4/v6_connect() itself failed
 * after SYN_SENT (no local port or 4-tuple free); after a SYN, the
 * application closed the socket while the handshake was in flight.
 */
static __always_inline __u16 failed_error(const struct sock *sk, const struct tcp_rec *r,
					  const bool btf)
{
	__u16 err = READ(btf, sk, sk_err);

	if (!err)
		err = READ(btf, sk, sk_err_soft);
	if (!err)
		err = r->err_soft;
	if (!err)
		err = tcp_segs_out(sk, btf) ? NL_ECONNABORTED : NL_EADDRNOTAVAIL;
	return err;
}

static __always_inline void conns_emit_failed(const struct sock *sk, struct tcp_rec *r, __u64 now,
					      const bool btf)
{
	struct conns_reported_val rep = { .ts = now, .error = failed_error(sk, r, btf) };
	__u64 key = (__u64)sk;
	struct nl_dest_key k;
	struct conn_event e;

	map_insert_row(TCP_ROW_CONNS, &conns_reported, &key, &rep, BPF_ANY);
	if (!conns_start(sk, r, CONN_EV_FAILED, now, &e, &k, btf))
		return;
	if (r->ts_start)
		e.latency_ns = now - r->ts_start;
	e.error = rep.error;
	conns_count_failure(&k, e.error);
	conns_send(&e);
}

static __always_inline bool fin_received(const struct sock *sk, const bool btf)
{
	/* tcp_fin() sets SOCK_DONE; nothing else in TCP does. */
	unsigned long flags = READ(btf, sk, __sk_common.skc_flags);

	return flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE));
}

/*
 * tcp_sock's bytes_acked and bytes_received count sequence space, which
 * includes the SYN and FIN flags. Report payload bytes only.
 */
static __always_inline void read_close_counters(const struct sock *sk, int oldstate,
						struct conn_event *e, const bool btf)
{
	const struct tcp_sock *tp = tcp_sk_of(sk, btf);
	__u64 acked, received;
	bool fin_sent = oldstate == BPF_TCP_FIN_WAIT1 || oldstate == BPF_TCP_FIN_WAIT2 ||
			oldstate == BPF_TCP_CLOSING || oldstate == BPF_TCP_LAST_ACK;

	if (!tp)
		return;
	acked = READ(btf, tp, bytes_acked);
	received = READ(btf, tp, bytes_received);
	/* The active opener's SYN is acked through tcp_ack(); a SYN-ACK is not. */
	if ((e->flags & CONN_F_OUTBOUND) && acked)
		acked--;
	if (fin_sent && acked && READ(btf, tp, snd_una) == READ(btf, tp, write_seq))
		acked--;
	if (fin_received(sk, btf) && received)
		received--;
	e->bytes_sent = acked;
	e->bytes_received = received;
	e->retransmits = READ(btf, tp, total_retrans);
	e->srtt_us = READ(btf, tp, srtt_us) >> 3;
	e->error = READ(btf, sk, sk_err);
	e->state = oldstate;
}

static __always_inline void conns_emit_close(const struct sock *sk, int oldstate,
					     struct tcp_rec *r, __u64 now, const bool btf)
{
	struct nl_dest_key k;
	struct conn_event e;

	if (!conns_start(sk, r, CONN_EV_CLOSE, now, &e, &k, btf))
		return;
	/*
	 * Older than netlens: not followed, or followed since another step met
	 * it (no direction). Counted among the sockets the filters keep.
	 */
	if (!(r->flags & TCP_F_DIRECTION))
		stat_row_inc(TCP_ROW_CONNS, CONN_STAT_UNTRACKED_CLOSE);
	if (r->ts_established)
		e.duration_ns = now - r->ts_established;
	read_close_counters(sk, oldstate, &e, btf);
	conns_count(&k, CONNS_CLOSE, &e);
	conns_send(&e);
}

/* ESTABLISHED: an outbound connection's record; an inbound one waits for accept(2). */
static __always_inline void conns_on_established(const struct sock *sk, struct tcp_rec *r,
						 int oldstate, __u64 now, const bool btf)
{
	if (oldstate == BPF_TCP_SYN_SENT)
		conns_emit_connect(sk, r, now, btf);
}

/* CLOSE; r is the core's record or a zeroed one (see conns_start()). */
static __always_inline void conns_on_close(const struct sock *sk, struct tcp_rec *r,
					   int oldstate, __u64 now, const bool btf)
{
	switch (oldstate) {
	case BPF_TCP_SYN_SENT:
		conns_emit_failed(sk, r, now, btf);
		break;
	case BPF_TCP_SYN_RECV:      /* handshake never completed: not a connection */
	case BPF_TCP_LISTEN:
	case BPF_TCP_CLOSE:
		break;
	default:
		if ((r->flags & CONN_F_INBOUND) && !(r->flags & CONN_F_ACCEPTED)) {
			stat_row_inc(TCP_ROW_CONNS, CONN_STAT_UNACCEPTED);
			conns_emit_accept(sk, r, now, btf);
		}
		conns_emit_close(sk, oldstate, r, now, btf);
	}
}

/* Errors of connect(2) that are not a failed attempt: in progress, misuse, restart. */
static __always_inline bool connect_failed(long err)
{
	switch (err) {
	case NL_EINPROGRESS:
	case NL_EALREADY:
	case NL_EISCONN:
	case NL_EINTR:
	case NL_EBADF:
	case NL_ENOTSOCK:
	case NL_EFAULT:
	case NL_EINVAL:
	case NL_EAFNOSUPPORT:
		return false;
	}
	return err < NL_ERESTARTSYS || err > NL_ERESTART_MAX;
}

/*
 * A connect(2) that failed before the socket took the SYN_SENT state (no
 * route: ENETUNREACH; a policy: EPERM, EACCES) changes no TCP state. Its
 * destination is in the syscall's arguments, still in pt_regs at its exit.
 */
static __always_inline void conns_on_connect_exit(long ret)
{
	struct tcp_rec local = { .flags = CONN_F_OUTBOUND | CONN_F_SYSCALL };
	struct conns_reported_val *reported;
	__u64 key, now;
	struct nl_dest_key k;
	struct conn_event e;
	struct pt_regs *regs;
	struct sock *sk;

	if (ret >= 0 || !connect_failed(-ret))
		return;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	sk = sock_from_fd(PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != NL_IPPROTO_TCP)
		return;
	key = (__u64)sk;
	now = bpf_ktime_get_ns();
	reported = bpf_map_lookup_elem(&conns_reported, &key);
	if (reported) {
		bool same = now - reported->ts < REPORTED_WINDOW_NS && reported->error == -ret;

		bpf_map_delete_elem(&conns_reported, &key);
		if (same)
			return;
	}
	/* The socket's own end, and the destination the process asked for. */
	if (read_sock_id(sk, &local.id) ||
	    read_user_sockaddr((const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), &local.id.tuple))
		return;
	owner_from_current(&local.owner);
	if (!filter_sock(sk, &local.id) || !filter_owner(&local.owner))
		return;
	conns_fill(&e, CONN_EV_FAILED, now, &local.id, &local.owner, local.flags);
	e.error = -ret;
	rec_dest(&local, &k);
	conns_count_failure(&k, e.error);
	conns_send(&e);
}

#define NL_SOL_SOCKET 1
#define NL_SO_ERROR   4

/*
 * getsockopt(SO_ERROR) on a socket still in SYN_SENT hands the application
 * the ICMP error the kernel parked (sk_err_soft) and clears it
 * (sock_getsockopt()): kept in the record for the failure to come.
 */
static __always_inline void conns_on_getsockopt(long fd, long level, long optname)
{
	struct tcp_rec *r;
	struct sock *sk;
	__u16 soft;

	if (level != NL_SOL_SOCKET || optname != NL_SO_ERROR)
		return;
	sk = sock_from_fd(fd);
	if (!sk || !(r = rec_of(sk)) ||
	    BPF_CORE_READ(sk, __sk_common.skc_state) != BPF_TCP_SYN_SENT)
		return;
	soft = BPF_CORE_READ(sk, sk_err_soft);
	if (soft)
		r->err_soft = soft;
}

#endif
