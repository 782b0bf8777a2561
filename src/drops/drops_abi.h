/* SPDX-License-Identifier: GPL-2.0 */
/* netlens drops: packets the kernel dropped, with the kernel's reason. */
#ifndef NETLENS_DROPS_H
#define NETLENS_DROPS_H

#include "kernel/common_abi.h"

#define DROPS_MAX_REASONS 16   /* --reason, repeatable */
#define DROPS_IFNAMSIZ    16
#define DROPS_SOCK_OWNERS 32768   /* sockets whose owner the kernel side knows (LRU) */

/* Where a drop was seen. */
enum drop_kind {
	DROP_KIND_SKB = 1,         /* skb:kfree_skb: a packet freed as dropped, with a reason */
	DROP_KIND_RCVQUEUE_FULL,   /* sock:sock_rcvqueue_full: receive queue over SO_RCVBUF */
	DROP_KIND_EXCEED_BUF,      /* sock:sock_exceed_buf_limit: protocol memory limit hit */
	DROP_KIND_MAX,
};

enum drop_flags {
	DROP_F_HEADERS = 1 << 0,   /* an IPv4/IPv6 header was parsed: family, addresses, proto */
	DROP_F_PORTS   = 1 << 1,   /* TCP or UDP ports were parsed */
	DROP_F_ICMP    = 1 << 2,   /* icmp_type/icmp_code are valid */
	DROP_F_PROCESS = 1 << 3,   /* dropped in process context: owner is current */
	DROP_F_SOFTIRQ = 1 << 4,   /* dropped in softirq/irq: current is unrelated */
	DROP_F_DEV     = 1 << 5,   /* ifname is the skb's device */
	DROP_F_SOCK_OWNER = 1 << 6,   /* owner is the socket's (sock_owners), not current */
};

/* drops' own counters, after the common ones (enum nl_stat). */
enum drop_stat {
	DROP_STAT_SUPPRESSED = NL_STAT_MODULE, /* individual records over the rate limit */
	DROP_STAT_SEEN,                        /* drops that passed every filter */
};

enum drop_key_flags {
	/* dport was a client's (ephemeral) port: summed into one bucket, dport 0 */
	DROP_KEY_EPHEMERAL = 1 << 0,
	/* an ICMP "fragmentation needed" or ICMPv6 "packet too big": path MTU news */
	DROP_KEY_TOO_BIG = 1 << 1,
};

/* The aggregation key: one row of the summary (per-CPU counts in the kernel). */
struct drop_key {
	__u64 location;        /* kernel text address that dropped the packet; 0 if unknown */
	__u64 sk_ino;          /* inode of the listening socket the packet reached; 0 otherwise */
	__u32 reason;          /* enum skb_drop_reason, as numbered by the running kernel */
	__u32 netns;
	__u8  daddr[16];
	__u16 dport;           /* TCP/UDP destination port if a service's; 0 otherwise */
	__u16 l3proto;         /* ethertype (host order) when there is no IP header */
	__u8  family;          /* 4, 6, or 0 when no IP header was parsed */
	__u8  proto;           /* IP protocol: 6 TCP, 17 UDP, 1/58 ICMP... */
	__u8  kind;            /* enum drop_kind */
	__u8  flags;           /* enum drop_key_flags */
};

struct drop_event {
	__u64 ts_ns;           /* CLOCK_MONOTONIC */
	__u64 location;
	__u64 sk_ino;          /* inode of the socket the packet reached; 0 if none */
	struct nl_sock_id id;  /* tuple oriented as the packet travelled: s = source */
	struct nl_owner owner; /* valid with DROP_F_SOCK_OWNER or DROP_F_PROCESS */
	__u32 reason;
	__u32 len;             /* skb->len */
	__u32 ifindex;         /* the device, or the one it arrived on; 0 if unknown */
	__u16 l3proto;         /* ethertype, host order */
	__u8  proto;
	__u8  icmp_type;
	__u8  icmp_code;
	__u8  kind;
	__u8  flags;           /* enum drop_flags */
	__u8  pad;
	char  ifname[DROPS_IFNAMSIZ];
};

/* Filters of drops itself, written into .rodata before load. */
struct drop_filter {
	__u32 reasons[DROPS_MAX_REASONS];  /* keep only these (kfree_skb) */
	__u32 nreasons;                    /* 0: every reason but ignore_reason */
	__u32 ignore_reason;               /* NOT_SPECIFIED unless --all; ~0 for none */
};

#endif
