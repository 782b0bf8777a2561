/* SPDX-License-Identifier: GPL-2.0 */
/* netlens latency: histograms built in the kernel, keyed by metric and group. */
#ifndef NETLENS_LATENCY_H
#define NETLENS_LATENCY_H

#include "kernel/common_abi.h"

enum lat_metric {
	LAT_HANDSHAKE,        /* SYN sent -> ESTABLISHED (outbound) */
	LAT_RTT,              /* the kernel's smoothed RTT when an ACK acknowledges new data */
	LAT_REQUEST,          /* client: first send after a receive -> first receive after it */
	LAT_SERVICE,          /* server: first receive after a send -> first send after it */
	LAT_METRICS,
};

/* --by: what a histogram is grouped by. */
enum lat_by {
	LAT_BY_DADDR_DPORT,   /* the server side: remote end if outbound, local end if inbound */
	LAT_BY_DADDR,
	LAT_BY_DPORT,
	LAT_BY_COMM,
	LAT_BY_PID,
	LAT_BY_CGROUP,
};

/* A histogram's key; fields the grouping does not use are zero. */
struct lat_key {
	__u8  addr[16];
	char  comm[NL_COMM_LEN];
	__u64 cgroup_id;
	__u32 pid;
	__u16 port;
	__u8  family;
	__u8  metric;         /* enum lat_metric */
	__u32 epoch;          /* which half of the interval double buffer */
	__u32 pad;
};

#endif
