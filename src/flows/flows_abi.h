/* SPDX-License-Identifier: GPL-2.0 */
/* netlens flows: per-flow packet and byte counters kept in the kernel. */
#ifndef NETLENS_FLOWS_H
#define NETLENS_FLOWS_H

#include "kernel/common_abi.h"

enum flow_direction { FLOW_DIR_INGRESS = 0, FLOW_DIR_EGRESS = 1 };

enum flow_key_flags {
	FLOW_F_FRAGMENT  = 1 << 0,  /* a later IP fragment: no L4 header, ports 0 */
	FLOW_F_TRUNCATED = 1 << 1,  /* a header ended early: the fields past it are 0 */
};

/*
 * What identifies a flow. family 0 is a non-IP frame (or one whose IP header
 * is cut short), counted per ethertype. Ports are host byte order; for ICMP
 * and ICMPv6, sport is the type and dport the code. VLAN IDs are 0 when
 * untagged; vlan_outer is the first tag (802.1ad or 802.1Q), vlan_inner the
 * second. Every byte is written (pad too): the key is hashed as memory.
 */
struct flow_key {
	__u8  saddr[16];      /* IPv4 in the first 4 bytes */
	__u8  daddr[16];
	__u32 ifindex;
	__u16 sport;
	__u16 dport;
	__u16 ethertype;      /* of the payload after any VLAN tags, host order */
	__u16 vlan_outer;
	__u16 vlan_inner;
	__u8  family;         /* 4, 6, or 0 */
	__u8  proto;          /* IPPROTO_* */
	__u8  direction;      /* enum flow_direction */
	__u8  flags;          /* enum flow_key_flags */
	__u8  pad[2];
};

/* Per flow (one value for every CPU); the "other" bucket's is per CPU, summed by user space. */
struct flow_val {
	__u64 packets;
	__u64 bytes;          /* L2 length as the hook sees it (no FCS) */
	__u64 first_seen_ns;  /* CLOCK_MONOTONIC */
	__u64 last_seen_ns;
	__u64 tcp_flags;      /* OR of the flags byte of every TCP segment (64 bits: BPF atomics) */
};

/* flows' own counters, after the common ones (enum nl_stat). */
enum flow_stat {
	FLOW_STAT_PACKETS = NL_STAT_MODULE, /* every packet the programs saw */
	FLOW_STAT_BYTES,
	FLOW_STAT_OVERFLOW,                 /* packets counted in the "other" bucket: map full */
	FLOW_STAT_MALFORMED,                /* truncated or inconsistent headers */
	FLOW_STAT_NON_IP,                   /* neither IPv4 nor IPv6 */
	FLOW_STAT_FRAGMENTS,                /* later IP fragments */
};

#endif
