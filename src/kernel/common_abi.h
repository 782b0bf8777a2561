/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by every netlens BPF program and its user-space module. */
#ifndef NETLENS_COMMON_H
#define NETLENS_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NL_COMM_LEN  16
#define NL_MAX_PORTS 16

/* A connection's endpoints. IPv4 addresses use the first 4 bytes. */
struct nl_tuple {
	__u8  saddr[16];
	__u8  daddr[16];
	__u16 sport;          /* host byte order */
	__u16 dport;          /* host byte order */
	__u8  family;         /* 4 or 6 */
	__u8  pad[3];
};

/* Who a socket is: endpoints, network namespace and cgroup. */
struct nl_sock_id {
	struct nl_tuple tuple;
	__u64 cgroup_id;      /* cgroup v2 the socket was created in */
	__u32 netns;          /* network namespace inode number */
	__u32 pad;
};

/*
 * The server side of a connection, the key of every per-destination total:
 * the remote end if outbound (or older than netlens), the local end if inbound.
 */
struct nl_dest_key {
	__u8  addr[16];       /* IPv4 in the first 4 bytes, the rest zero */
	__u16 port;
	__u8  family;         /* 4 or 6; 0: user space's "other" bucket */
	__u8  inbound;
};

/* The process a socket belongs to; pid 0 means "not known". */
struct nl_owner {
	__u32 pid;            /* thread group id */
	__u32 tid;
	char  comm[NL_COMM_LEN];
};

/*
 * The shared filters (-p, -c, -P, -4/-6, --cgroup, --netns), written into each
 * program's read-only data before load so the verifier prunes what is unset.
 */
struct nl_filter {
	__u64 cgroup_id;      /* 0: any; else the socket's cgroup or a descendant */
	__u32 pid;            /* 0: any */
	__u32 netns;          /* 0: any; else this network namespace's inode */
	__u8  family;         /* 0: any, 4 or 6 */
	__u8  has_comm;
	__u16 nports;         /* 0: any; else sport or dport in ports[] */
	__u16 ports[NL_MAX_PORTS];
	char  comm[NL_COMM_LEN];
};

/* Counters every module keeps in its per-CPU "stats" array. */
enum nl_stat {
	NL_STAT_EVENTS,       /* records submitted to the ring buffer */
	NL_STAT_LOST,         /* ring buffer full: record dropped */
	NL_STAT_MAP_FULL,     /* map insert refused: E2BIG or ENOMEM */
	NL_STAT_MAP_BUSY,     /* map insert refused: EBUSY */
	NL_STAT_MODULE,       /* first index a module may use for its own counters */
	NL_STAT_MAX = 16,
};

#endif
