/* SPDX-License-Identifier: GPL-2.0 */
/* netlens conns: TCP connection lifecycle records. */
#ifndef NETLENS_CONNS_H
#define NETLENS_CONNS_H

#include "kernel/common_abi.h"

enum conn_event_type {
	CONN_EV_CONNECT = 1,  /* outbound connection reached ESTABLISHED */
	CONN_EV_ACCEPT,       /* inbound connection accepted (or closed unaccepted) */
	CONN_EV_FAILED,       /* outbound attempt that never established */
	CONN_EV_CLOSE,        /* an established connection ended */
};

enum conn_flags {
	CONN_F_OUTBOUND = 1 << 0,  /* we saw the SYN leave: direction known */
	CONN_F_INBOUND  = 1 << 1,  /* we saw the child socket of a listener */
	CONN_F_BIRTH    = 1 << 2,  /* establishment seen: duration is valid */
	CONN_F_ACCEPTED = 1 << 3,  /* accept(2) returned it to a process */
	CONN_F_SYSCALL  = 1 << 4,  /* failed in connect(2) before any TCP state: no latency */
};

/* conns' own counters, after the common ones (enum nl_stat). */
enum conn_stat {
	CONN_STAT_UNTRACKED_CLOSE = NL_STAT_MODULE, /* close of a connection older than netlens */
	CONN_STAT_UNACCEPTED,                       /* inbound connection closed before accept(2) */
};

/* Per destination (struct nl_dest_key), counted in the kernel: no record needed. */
struct conns_dest_totals {
	__u64 connects;
	__u64 accepts;
	__u64 failed;
	__u64 closes;
	__u64 bytes_sent;
	__u64 bytes_received;
	__u64 retransmits;      /* segments retransmitted by connections that closed */
};

/* Failed connections per destination and errno. */
struct conns_fail_key {
	struct nl_dest_key dest;
	__u16 error;
	__u16 pad[3];
};

struct conn_event {
	__u64 ts_ns;            /* CLOCK_MONOTONIC */
	__u64 latency_ns;       /* connect/failed: since the SYN; accept: time in the accept queue */
	__u64 duration_ns;      /* close: since ESTABLISHED (valid with CONN_F_BIRTH) */
	__u64 bytes_sent;       /* close: payload bytes the peer acknowledged */
	__u64 bytes_received;   /* close: payload bytes received */
	struct nl_sock_id id;
	struct nl_owner owner;
	__u32 retransmits;      /* close: segments retransmitted */
	__u32 srtt_us;          /* close: smoothed RTT */
	__u16 error;            /* failed/close: the socket's errno, 0 if none */
	__u8  type;             /* enum conn_event_type */
	__u8  flags;            /* enum conn_flags */
	__u8  state;            /* close: the TCP state it left (BPF_TCP_*) */
	__u8  pad[3];
};

#endif
