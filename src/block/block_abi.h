/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netlens block: the rules the XDP program matches and their counters, as
 * the kernel and user space share them (all maps pinned, docs/block.md).
 */
#ifndef NETLENS_BLOCK_ABI_H
#define NETLENS_BLOCK_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * A rule's key: protocol and destination port (0: any) first, always
 * matched whole, then the source prefix. prefixlen counts
 * BLOCK_KEY_FIXED_BITS plus the prefix's own length. The two commonest
 * lengths per family (IPv4 /32 and /24, IPv6 /128 and /64) are kept in a
 * hash (one exact lookup each, the address masked to the length), every
 * other length in an LPM trie (enum block_store).
 */
#define BLOCK_KEY_FIXED_BITS 32

struct block_key4 {
	__u32 prefixlen;
	__u8  proto;          /* IPPROTO_*, 0 any */
	__u8  pad;
	__u16 port;           /* destination port, network byte order; 0 any */
	__u8  addr[4];
};

struct block_key6 {
	__u32 prefixlen;
	__u8  proto;
	__u8  pad;
	__u16 port;
	__u8  addr[16];
};

enum block_rule_flags {
	BLOCK_F_DRY_RUN = 1 << 0,   /* count what would be dropped, drop nothing */
	BLOCK_F_LIMIT   = 1 << 1,   /* a per-source rate limit, not a block */
};

/*
 * A rule: what it does and what it dropped (or, dry-run, would have), since
 * it was added. In the trie the counters are updated with atomic adds, in a
 * hash (per-CPU) each CPU adds to its own copy: exact under any number of
 * CPUs either way, and the value is never replaced while the rule exists.
 */
struct block_rule {
	__u32 id;             /* the rule's number, unique per blocker (list, metrics) */
	__u32 flags;          /* enum block_rule_flags */
	__u64 interval_ns;    /* limit: 1e9 / pps, the time one packet costs */
	__u64 burst_ns;       /* limit: burst * interval_ns, the bucket's depth */
	__u8  per_source;     /* limit: the source prefix one bucket covers */
	__u8  prefixlen;      /* the rule's source prefix length (trie or hash hit alike) */
	__u8  pad[6];
	__u64 added_ns;       /* CLOCK_REALTIME */
	__u64 packets;        /* dropped (dry-run: would have been) */
	__u64 bytes;
};

/* A rate limit's bucket: one per rule and source prefix. */
struct block_bucket_key {
	__u32 rule_id;
	__u8  family;         /* 4 or 6 */
	__u8  pad[3];
	__u8  addr[16];       /* the source, masked to the rule's per_source */
};

/* GCRA: the theoretical arrival time of the next packet (CLOCK_MONOTONIC ns). */
struct block_bucket {
	__u64 tat_ns;
};

/*
 * Which (protocol, port) shapes of keys exist per family, so a packet is
 * looked up only for shapes some rule has (most specific first).
 */
enum block_shape {
	BLOCK_SHAPE_PROTO_PORT = 1 << 0,
	BLOCK_SHAPE_PORT       = 1 << 1,   /* TCP, UDP, UDP-Lite or SCTP destination port */
	BLOCK_SHAPE_PROTO      = 1 << 2,
	BLOCK_SHAPE_ANY        = 1 << 3,
};

/* Where a family's rules are: a packet looks up only the stores that hold some. */
enum block_store {
	BLOCK_STORE_HOST = 1 << 0,   /* the hash, IPv4 /32 or IPv6 /128 */
	BLOCK_STORE_NET  = 1 << 1,   /* the hash, IPv4 /24 or IPv6 /64 */
	BLOCK_STORE_TRIE = 1 << 2,   /* the LPM trie: any other length */
};

/* block_conf[0]: written by user space. */
struct block_conf {
	__u32 shapes4;        /* enum block_shape, IPv4 rules */
	__u32 shapes6;
	__u32 next_id;        /* user space: the next rule id */
	__u32 ifindex;        /* the interface it was attached to */
	__u64 buckets_removed;  /* user space: buckets deleted with their rule */
	__u32 stores4;        /* enum block_store, IPv4 rules */
	__u32 stores6;
};

/* The program's own counters (the "stats" map, NL_STAT_MODULE and on). */
enum block_stat {
	BLOCK_STAT_PACKETS = 4,      /* every packet seen (NL_STAT_MODULE) */
	BLOCK_STAT_DROPPED,          /* dropped by a rule */
	BLOCK_STAT_DROPPED_BYTES,
	BLOCK_STAT_DRY_RUN,          /* a dry-run rule matched: passed */
	BLOCK_STAT_LIMITED,          /* of dropped (or dry-run), by a rate limit */
	BLOCK_STAT_MALFORMED,        /* headers cut short: passed, never dropped */
	BLOCK_STAT_NON_IP,           /* not IPv4/IPv6: passed */
	BLOCK_STAT_BUCKETS_NEW,      /* rate-limit buckets created (evictions: new - live - removed) */
	BLOCK_STAT_BUCKET_RACE,      /* a bucket's update lost to other CPUs 4 times: passed */
};

#define BLOCK_MAX_BUCKETS_DEFAULT 65536
#define BLOCK_MAX_RULES_DEFAULT   131072

#endif
