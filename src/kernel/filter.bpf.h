/* SPDX-License-Identifier: GPL-2.0 */
/* The shared filters, evaluated in the kernel before a record is emitted. */
#ifndef NETLENS_FILTER_BPF_H
#define NETLENS_FILTER_BPF_H

#include "kernel/common_abi.h"
#include "kernel/sock.bpf.h"

const volatile struct nl_filter nl_filter = {};

static __always_inline bool port_match(const struct nl_tuple *t)
{
	for (int i = 0; i < NL_MAX_PORTS; i++) {
		if (i >= nl_filter.nports)
			return false;
		if (nl_filter.ports[i] == t->sport || nl_filter.ports[i] == t->dport)
			return true;
	}
	return false;
}

static __always_inline bool comm_match(const char *comm)
{
	for (int i = 0; i < NL_COMM_LEN; i++) {
		if (comm[i] != nl_filter.comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* The socket filters: family, port, netns, cgroup. */
static __always_inline bool filter_sock(const struct sock *sk, const struct nl_sock_id *id)
{
	if (nl_filter.family && nl_filter.family != id->tuple.family)
		return false;
	if (nl_filter.nports && !port_match(&id->tuple))
		return false;
	if (nl_filter.netns && nl_filter.netns != id->netns)
		return false;
	if (nl_filter.cgroup_id && !cgroup_under(sock_cgroup(sk), nl_filter.cgroup_id))
		return false;
	return true;
}

/* The owner filters: pid, comm. An unknown owner (pid 0) never matches them. */
static __always_inline bool filter_owner(const struct nl_owner *o)
{
	if (nl_filter.pid && nl_filter.pid != o->pid)
		return false;
	if (nl_filter.has_comm && !comm_match(o->comm))
		return false;
	return true;
}

#endif
