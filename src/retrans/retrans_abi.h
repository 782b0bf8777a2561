/* SPDX-License-Identifier: GPL-2.0 */
/* netlens retrans: one record per retransmission, totals per destination. */
#ifndef NETLENS_RETRANS_H
#define NETLENS_RETRANS_H

#include "kernel/common_abi.h"

enum retrans_kind {
	RETRANS_DATA = 1,     /* anything after the handshake (data, FIN) */
	RETRANS_SYN,          /* the active opener's SYN */
	RETRANS_SYNACK,       /* a listener's SYN-ACK */
};

struct retrans_event {
	__u64 ts_ns;            /* CLOCK_MONOTONIC */
	struct nl_sock_id id;
	struct nl_owner owner;
	__u32 segments;         /* MSS-sized segments in the retransmitted buffer */
	__u8  state;            /* TCP state of the socket (BPF_TCP_*) */
	__u8  kind;             /* enum retrans_kind */
	__u8  pad[2];
};

/* Per destination (struct nl_dest_key), counted in the kernel. */
struct retrans_dest {
	__u64 calls;            /* retransmissions (one record each), of one or more segments */
	__u64 retransmits;      /* segments retransmitted */
	__u64 segments;         /* segments sent (tcp_sock.segs_out), retransmissions included */
	__u64 syn_retransmits;  /* of retransmits, the active opener's SYNs: a handshake waited an RTO */
};

#endif
