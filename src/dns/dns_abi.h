/* SPDX-License-Identifier: GPL-2.0 */
/* netlens dns: DNS messages captured by the kernel, parsed in user space. */
#ifndef NETLENS_DNS_H
#define NETLENS_DNS_H

#include "kernel/common_abi.h"

/* Bytes of DNS payload copied per packet (UDP DNS without EDNS fits). */
#define DNS_CAPTURE_MAX 512
/* A record is sized for this much payload when the message fits (most do). */
#define DNS_CAPTURE_SMALL 128
#define DNS_DEFAULT_PORT 53

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
