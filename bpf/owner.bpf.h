/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns a socket, for hooks that run where "current" is not the owner:
 * a SYN-ACK or an ACK processed in softirq, a retransmission timer. The
 * owner is learned where the process context is real and remembered per
 * socket until it closes:
 *   - CLOSE -> SYN_SENT runs inside connect(2);
 *   - CLOSE -> LISTEN runs inside listen(2) (the owner of SYN-ACKs);
 *   - accept(2)/accept4(2) return a child socket to the process that owns it.
 * Every module that reports a pid for such hooks uses this map, so they all
 * agree, and none ever reports the task a softirq interrupted.
 */
#ifndef NETLENS_OWNER_BPF_H
#define NETLENS_OWNER_BPF_H

#include "emit.bpf.h"
#include "sock.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);     /* sized by user space with the connection limit */
	__type(key, __u64);             /* struct sock * */
	__type(value, struct nl_owner);
} sk_owners SEC(".maps");

static const struct nl_owner nl_unknown_owner = {};

/* The current task owns sk (process context only); a full map is counted. */
static __always_inline void owner_remember(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct nl_owner o;

	owner_from_current(&o);
	map_insert(&sk_owners, &key, &o, BPF_ANY);
}

/* The remembered owner of sk, or the unknown owner (pid 0). */
static __always_inline const struct nl_owner *owner_of(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	const struct nl_owner *o = bpf_map_lookup_elem(&sk_owners, &key);

	return o ? o : &nl_unknown_owner;
}

/* Learns or forgets the owner on sock:inet_sock_set_state. */
static __always_inline void owner_on_state(const struct sock *sk, int newstate)
{
	__u64 key = (__u64)sk;

	if (newstate == BPF_TCP_SYN_SENT || newstate == BPF_TCP_LISTEN)
		owner_remember(sk);
	else if (newstate == BPF_TCP_CLOSE)
		bpf_map_delete_elem(&sk_owners, &key);
}

/*
 * At the exit of accept(2)/accept4(2): the accepted socket, now remembered
 * as the caller's; NULL if the call failed.
 */
static __always_inline struct sock *owner_on_accept(long ret)
{
	struct sock *sk;

	if (ret < 0)
		return NULL;
	sk = sock_from_fd(ret);
	if (sk)
		owner_remember(sk);
	return sk;
}

#endif
