/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns a socket. Hooks that run in softirq or from a timer (a SYN-ACK
 * or an ACK arriving, a retransmission) see whatever task they interrupted
 * as "current", so the owner must be learned where the process context is
 * real and remembered per socket:
 *   - CLOSE -> SYN_SENT runs inside connect(2);
 *   - CLOSE -> LISTEN runs inside listen(2) (the owner of SYN-ACKs);
 *   - accept(2)/accept4(2) return a child socket to the process that owns it.
 * These are the rules the TCP core (src/tcp/tcp.bpf.c) follows and keeps the
 * owner in its record of the socket.
 */
#ifndef NETLENS_OWNER_BPF_H
#define NETLENS_OWNER_BPF_H

#include "kernel/sock.bpf.h"

/* pid 0: netlens does not know the owner. */
static const struct nl_owner nl_unknown_owner = {};

/* True for the sock:inet_sock_set_state transitions made by the owner's own system call. */
static __always_inline bool owner_is_current_at(int newstate)
{
	return newstate == BPF_TCP_SYN_SENT || newstate == BPF_TCP_LISTEN;
}

/* At the exit of accept(2)/accept4(2): the socket the caller now owns; NULL if it failed. */
static __always_inline struct sock *owner_accepted_sock(long ret)
{
	return ret < 0 ? NULL : sock_from_fd(ret);
}

#endif
