// SPDX-License-Identifier: GPL-2.0
/*
 * netlens conns: TCP connection lifecycle from sock:inet_sock_set_state,
 * without kprobes. Ownership follows the rules of owner.bpf.h (inside
 * connect(2), at the exit of accept(2)); everything else (ESTABLISHED on a
 * SYN-ACK, CLOSE after the last ACK) may run in softirq, where "current" is
 * whoever was interrupted, so it uses the owner kept in the connection's
 * record (one map per connection, not two: conns' hot path is per
 * connection).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "conns/conns_abi.h"
#include "kernel/emit.bpf.h"
#include "kernel/sock.bpf.h"
#include "kernel/filter.bpf.h"
#include "kernel/owner.bpf.h"

char LICENSE[] SEC("license") = "GPL";

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

struct conn_track {
	__u64 ts_start;         /* SYN sent, or child socket created */
	__u64 ts_established;
	struct nl_sock_id id;   /* read once at ESTABLISHED, reused by every record */
	struct nl_owner owner;
	__u8  flags;            /* enum conn_flags */
	__u8  identified;       /* id is valid */
	__u8  sock_match;       /* the socket filters keep it */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);     /* --max-conns, set by user space */
	__type(key, __u64);             /* struct sock * */
	__type(value, struct conn_track);
} conns SEC(".maps");

/*
 * Sockets whose failed handshake the state machine reported (sk -> when), so
 * that the exit of a blocking connect(2), which follows within moments, does
 * not report it again. Older entries are stale (non-blocking connects never
 * come back) and must not hide a later socket at the same address.
 */
#define REPORTED_WINDOW_NS 1000000000ULL
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} reported_failures SEC(".maps");

static const struct nl_owner unknown_owner = {};

static __always_inline void track_new(__u64 key, __u64 now, __u8 flags, bool owner_is_current)
{
	struct conn_track t = { .ts_start = now, .flags = flags };

	if (owner_is_current)
		owner_from_current(&t.owner);
	map_insert(&conns, &key, &t, BPF_ANY);
}

/*
 * Fills id and says whether the socket filters keep the socket. The answer
 * is cached in t: a connection is identified once, at ESTABLISHED, when its
 * ports and addresses are final.
 */
static __always_inline bool identify(const struct sock *sk, struct conn_track *t,
				     struct nl_sock_id *id)
{
	bool match;

	if (t && t->identified) {
		*id = t->id;
		return t->sock_match;
	}
	if (read_sock_id(sk, id))
		return false;
	match = filter_sock(sk, id);
	if (t) {
		t->id = *id;
		t->identified = 1;
		t->sock_match = match;
	}
	return match;
}

static __always_inline struct conn_event *
event_new(__u8 type, __u64 ts, const struct nl_sock_id *id, const struct nl_owner *owner,
	  __u8 flags)
{
	struct conn_event *e = event_reserve(sizeof(*e));

	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = ts;
	e->type = type;
	e->id = *id;
	e->owner = *owner;
	e->flags = flags;
	return e;
}

/* Reserves a record about t's socket if every filter keeps it. */
static __always_inline struct conn_event *
event_start(const struct sock *sk, __u8 type, struct conn_track *t, __u64 ts)
{
	const struct nl_owner *owner = t ? &t->owner : &unknown_owner;
	struct nl_sock_id id;

	if (!identify(sk, t, &id) || !filter_owner(owner))
		return NULL;
	return event_new(type, ts, &id, owner, t ? t->flags : 0);
}

static __always_inline void emit_connect(const struct sock *sk, struct conn_track *t, __u64 now)
{
	struct conn_event *e = event_start(sk, CONN_EV_CONNECT, t, now);

	if (!e)
		return;
	e->latency_ns = now - t->ts_start;
	event_submit(e);
}

static __always_inline void emit_accept(const struct sock *sk, struct conn_track *t, __u64 now)
{
	__u64 established = t->ts_established ? t->ts_established : now;
	struct conn_event *e = event_start(sk, CONN_EV_ACCEPT, t, established);

	if (!e)
		return;
	e->latency_ns = now - established;
	event_submit(e);
}

static __always_inline void emit_failed(const struct sock *sk, struct conn_track *t, __u64 now)
{
	__u64 key = (__u64)sk;
	struct conn_event *e;

	map_insert(&reported_failures, &key, &now, BPF_ANY);
	e = event_start(sk, CONN_EV_FAILED, t, now);
	if (!e)
		return;
	if (t)
		e->latency_ns = now - t->ts_start;
	/*
	 * sk_err is set before tcp_done() moves the socket to CLOSE: ECONNREFUSED
	 * from tcp_reset(), ETIMEDOUT (or the soft ICMP error) from tcp_write_err().
	 * Zero with no segment ever sent: tcp_v4/v6_connect() itself failed after
	 * SYN_SENT, when no local port or 4-tuple was free. Zero after a SYN:
	 * the application closed the socket while the handshake was in flight.
	 */
	e->error = BPF_CORE_READ(sk, sk_err);
	if (!e->error)
		e->error = BPF_CORE_READ((const struct tcp_sock *)sk, segs_out) ?
			   NL_ECONNABORTED : NL_EADDRNOTAVAIL;
	event_submit(e);
}

static __always_inline bool fin_received(const struct sock *sk)
{
	/* tcp_fin() sets SOCK_DONE; nothing else in TCP does. */
	unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);

	return flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE));
}

/*
 * tcp_sock's bytes_acked and bytes_received count sequence space, which
 * includes the SYN and FIN flags. Report payload bytes only.
 */
static __always_inline void read_close_counters(const struct sock *sk, int oldstate,
						const struct conn_track *t, struct conn_event *e)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 acked = BPF_CORE_READ(tp, bytes_acked);
	__u64 received = BPF_CORE_READ(tp, bytes_received);
	bool fin_sent = oldstate == BPF_TCP_FIN_WAIT1 || oldstate == BPF_TCP_FIN_WAIT2 ||
			oldstate == BPF_TCP_CLOSING || oldstate == BPF_TCP_LAST_ACK;

	/* The active opener's SYN is acked through tcp_ack(); a SYN-ACK is not. */
	if (t && (t->flags & CONN_F_OUTBOUND) && acked)
		acked--;
	if (fin_sent && acked && BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		acked--;
	if (fin_received(sk) && received)
		received--;
	e->bytes_sent = acked;
	e->bytes_received = received;
	e->retransmits = BPF_CORE_READ(tp, total_retrans);
	e->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	e->error = BPF_CORE_READ(sk, sk_err);
	e->state = oldstate;
}

static __always_inline void emit_close(const struct sock *sk, int oldstate,
				       struct conn_track *t, __u64 now)
{
	struct conn_event *e;

	if (!t)
		stat_inc(CONN_STAT_UNTRACKED_CLOSE);
	e = event_start(sk, CONN_EV_CLOSE, t, now);
	if (!e)
		return;
	if (t && t->ts_established)
		e->duration_ns = now - t->ts_established;
	read_close_counters(sk, oldstate, t, e);
	event_submit(e);
}

static __always_inline void on_established(const struct sock *sk, __u64 key, int oldstate, __u64 now)
{
	struct conn_track *t = bpf_map_lookup_elem(&conns, &key);
	struct nl_sock_id id;

	if (!t) {
		/* Handshake began before we attached: track it from here on. */
		if (oldstate == BPF_TCP_SYN_RECV)
			track_new(key, now, CONN_F_INBOUND, false);
		return;
	}
	t->ts_established = now;
	t->flags |= CONN_F_BIRTH;
	if (oldstate == BPF_TCP_SYN_SENT)
		emit_connect(sk, t, now);
	else
		identify(sk, t, &id);   /* now, while final: accept(2) and close reuse it */
}

static __always_inline void on_close(const struct sock *sk, __u64 key, int oldstate, __u64 now)
{
	struct conn_track *t = bpf_map_lookup_elem(&conns, &key);

	switch (oldstate) {
	case BPF_TCP_SYN_SENT:
		emit_failed(sk, t, now);
		break;
	case BPF_TCP_SYN_RECV:      /* handshake never completed: not a connection */
	case BPF_TCP_LISTEN:
	case BPF_TCP_CLOSE:
		break;
	default:
		if (t && (t->flags & CONN_F_INBOUND) && !(t->flags & CONN_F_ACCEPTED)) {
			stat_inc(CONN_STAT_UNACCEPTED);
			emit_accept(sk, t, now);
		}
		emit_close(sk, oldstate, t, now);
	}
	if (t)
		bpf_map_delete_elem(&conns, &key);
}

static __always_inline int on_state_change(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	__u64 now;

	/* Most transitions (FIN_WAIT*, CLOSE_WAIT, LAST_ACK...) need nothing: leave first. */
	if (newstate != BPF_TCP_SYN_SENT && newstate != BPF_TCP_SYN_RECV &&
	    newstate != BPF_TCP_ESTABLISHED && newstate != BPF_TCP_CLOSE)
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != NL_IPPROTO_TCP)
		return 0;
	now = bpf_ktime_get_ns();
	switch (newstate) {
	case BPF_TCP_SYN_SENT:
		track_new(key, now, CONN_F_OUTBOUND, owner_is_current_at(newstate));
		break;
	case BPF_TCP_SYN_RECV:      /* child of a listener, created in softirq */
		if (oldstate == BPF_TCP_LISTEN)
			track_new(key, now, CONN_F_INBOUND, false);
		break;
	case BPF_TCP_ESTABLISHED:
		on_established(sk, key, oldstate, now);
		break;
	case BPF_TCP_CLOSE:
		on_close(sk, key, oldstate, now);
		break;
	}
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(conns_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	return on_state_change(sk, oldstate, newstate);
}

SEC("tp/sock/inet_sock_set_state")
int conns_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != NL_IPPROTO_TCP)
		return 0;
	return on_state_change(ctx->skaddr, ctx->oldstate, ctx->newstate);
}

/* accept(2)/accept4(2) returned a connected socket to the process that owns it. */
static __always_inline int on_accept_exit(long ret)
{
	struct sock *sk = owner_accepted_sock(ret);
	struct conn_track *t;
	__u64 key;

	if (!sk)
		return 0;
	key = (__u64)sk;
	t = bpf_map_lookup_elem(&conns, &key);
	if (!t || (t->flags & CONN_F_ACCEPTED))
		return 0;
	owner_from_current(&t->owner);
	t->flags |= CONN_F_ACCEPTED;
	emit_accept(sk, t, bpf_ktime_get_ns());
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int conns_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx->ret);
}

SEC("tp/syscalls/sys_exit_accept")
int conns_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx->ret);
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
SEC("tp/syscalls/sys_exit_connect")
int conns_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 key, now, *reported;
	struct nl_sock_id id;
	struct nl_owner owner;
	struct conn_event *e;
	struct pt_regs *regs;
	struct sock *sk;

	if (ctx->ret >= 0 || !connect_failed(-ctx->ret))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	sk = sock_from_fd(PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != NL_IPPROTO_TCP)
		return 0;
	key = (__u64)sk;
	now = bpf_ktime_get_ns();
	reported = bpf_map_lookup_elem(&reported_failures, &key);
	if (reported) {
		bool fresh = now - *reported < REPORTED_WINDOW_NS;

		bpf_map_delete_elem(&reported_failures, &key);
		if (fresh)
			return 0;
	}
	/* The socket's own end, and the destination the process asked for. */
	if (read_sock_id(sk, &id) ||
	    read_user_sockaddr((const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), &id.tuple))
		return 0;
	owner_from_current(&owner);
	if (!filter_sock(sk, &id) || !filter_owner(&owner))
		return 0;
	e = event_new(CONN_EV_FAILED, now, &id, &owner, CONN_F_OUTBOUND | CONN_F_SYSCALL);
	if (!e)
		return 0;
	e->error = -ctx->ret;
	event_submit(e);
	return 0;
}
