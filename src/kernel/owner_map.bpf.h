/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The socket -> owner map, filled by the rules of owner.bpf.h, for modules
 * that keep no record of their own per socket (or keep one only for some
 * sockets). Emptied at CLOSE, so it holds live sockets only; a full map is
 * counted (map_full) and leaves that socket's owner unknown (pid 0).
 */
#ifndef NETLENS_OWNER_MAP_BPF_H
#define NETLENS_OWNER_MAP_BPF_H

#include "kernel/emit.bpf.h"
#include "kernel/owner.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);     /* sized by user space with the connection limit */
	__type(key, __u64);             /* struct sock * */
	__type(value, struct nl_owner);
} sk_owners SEC(".maps");

static const struct nl_owner nl_unknown_owner = {};

/* The current task owns sk (process context only). */
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

	if (owner_is_current_at(newstate))
		owner_remember(sk);
	else if (newstate == BPF_TCP_CLOSE)
		bpf_map_delete_elem(&sk_owners, &key);
}

/* At the exit of accept(2)/accept4(2): the accepted socket, now remembered as the caller's. */
static __always_inline struct sock *owner_on_accept(long ret)
{
	struct sock *sk = owner_accepted_sock(ret);

	if (sk)
		owner_remember(sk);
	return sk;
}

#endif
