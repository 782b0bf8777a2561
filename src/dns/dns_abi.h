/* SPDX-License-Identifier: GPL-2.0 */
/* netlens dns: DNS messages captured by the kernel, parsed in user space. */
#ifndef NETLENS_DNS_H
#define NETLENS_DNS_H

#include "kernel/common_abi.h"
#include "output/hist_abi.h"

/* Bytes of DNS payload copied per packet (UDP DNS without EDNS fits). */
#define DNS_CAPTURE_MAX 512
/* A record is sized for this much payload when the message fits (most do). */
#define DNS_CAPTURE_SMALL 128
#define DNS_DEFAULT_PORT 53
#define DNS_HEADER_LEN   12

enum dns_dir {
	DNS_DIR_EGRESS = 0,    /* leaving a local socket, or out of the interface */
	DNS_DIR_INGRESS = 1,   /* reaching a local socket, or into the interface */
};

enum dns_hook {
	DNS_HOOK_CGROUP = 0,   /* cgroup_skb on the root cgroup v2 */
	DNS_HOOK_TC = 1,       /* TC clsact on -i IFACE */
};

/* dns' own counters, after the common ones (enum nl_stat). */
enum dns_stat {
	DNS_STAT_FRAGMENTS = NL_STAT_MODULE,  /* non-first IP fragments (no ports: not DNS-checked) */
	DNS_STAT_UNTRACKED,   /* queries not counted: the pending table (DNS_MAX_PENDING) was full */
};

#define DNS_MAX_PENDING  65536  /* queries awaiting an answer, in the kernel and in user space */
#define DNS_MAX_SERVERS  1024   /* servers counted one by one; then the "other" row */
#define DNS_TCP_MSGS_MAX 4      /* DNS messages counted per TCP segment (pipelining) */
#define DNS_RCODES       16     /* the header's 4-bit rcode */

/* The query types with a name (dns_parse.c names them in this order); all others share one slot. */
#define DNS_TYPE_NAMED 20
#define DNS_TYPE_SLOTS (DNS_TYPE_NAMED + 1)

static inline __u32 dns_type_slot(__u16 type)
{
	switch (type) {
	case 1: return 0;    /* A */
	case 2: return 1;    /* NS */
	case 5: return 2;    /* CNAME */
	case 6: return 3;    /* SOA */
	case 12: return 4;   /* PTR */
	case 15: return 5;   /* MX */
	case 16: return 6;   /* TXT */
	case 28: return 7;   /* AAAA */
	case 33: return 8;   /* SRV */
	case 35: return 9;   /* NAPTR */
	case 39: return 10;  /* DNAME */
	case 41: return 11;  /* OPT */
	case 43: return 12;  /* DS */
	case 46: return 13;  /* RRSIG */
	case 47: return 14;  /* NSEC */
	case 48: return 15;  /* DNSKEY */
	case 64: return 16;  /* SVCB */
	case 65: return 17;  /* HTTPS */
	case 255: return 18; /* ANY */
	case 257: return 19; /* CAA */
	default: return DNS_TYPE_NAMED;
	}
}

/*
 * One query and its answer, as the kernel matches them: the same key as
 * user space's (client and server address and port, transport, id).
 */
struct dns_txn_key {
	__u8  client[16];
	__u8  server[16];
	__u16 cport, sport, id;
	__u8  family, proto;
};

/* A query awaiting its answer (dns_pending): when it left, the copies seen each way. */
struct dns_pending {
	__u64 ts_ns;                    /* its first copy, CLOCK_MONOTONIC */
	__u32 egress, ingress;
};

/*
 * The kernel's totals per server (key: struct nl_dest_key, inbound 0;
 * family 0 is the "other" row beyond DNS_MAX_SERVERS). Per CPU: user space
 * sums them. Every query counted here ends as one answer (rcodes), one
 * timeout (user space's count: it expires dns_pending), or is pending.
 */
struct dns_server_stats {
	__u64 queries[DNS_TYPE_SLOTS];  /* by query type */
	__u64 rcodes[DNS_RCODES];       /* answers matched to their query */
	__u64 retransmits;              /* a pending query sent again (same socket, same id) */
	__u64 unmatched;                /* answers to no pending query */
	struct nl_hist latency;         /* query to answer, answered ones */
};

/* The process that sent a query from a socket, remembered in process context. */
struct dns_sock_owner {
	struct nl_owner owner;
};

struct dns_event {
	__u64 ts_ns;                  /* CLOCK_MONOTONIC */
	struct nl_sock_id id;         /* tuple as on the wire: saddr is the packet's source */
	struct nl_owner owner;        /* pid 0: not known (not a local socket, or older than netlens) */
	__u16 payload_len;            /* UDP/TCP payload bytes in the packet */
	__u16 cap_len;                /* of them, copied into data[] */
	__u8  dir;                    /* enum dns_dir */
	__u8  proto;                  /* 17 UDP, 6 TCP */
	__u8  hook;                   /* enum dns_hook */
	__u8  pad;
	__u8  data[DNS_CAPTURE_MAX];  /* the record ends after cap_len bytes (room for 128 or 512) */
};

#endif
