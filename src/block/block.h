/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netlens block: an XDP blocklist and per-source rate limit that outlives
 * the command. The program is attached by a bpf_link pinned in bpffs beside
 * its maps (block_pins.c); rules are added to and removed from the running
 * program's maps (block_rules.c); `netlens block` is the command
 * (block_cmd.c) and the module `block` exports the counters in serve (block.c).
 */
#ifndef NETLENS_BLOCK_H
#define NETLENS_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <net/if.h>
#include "block/block_abi.h"
#include "framework/module.h"
#include "framework/xdp.h"

extern const struct nl_module_ops nl_block_ops;

/* `netlens block ...` (argv[0] is "block"); the exit code. */
int block_main(int argc, char **argv);


/* The command's options (and the module's: serve sets the interface only). */
struct block_cfg {
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint8_t proto;                /* --proto: IPPROTO_*, icmp as 1 (ICMPv6 for IPv6 rules) */
	uint16_t port;                /* --port */
	bool dry_run, force;
	uint32_t pps, burst;          /* limit --pps, --burst (0: pps / 10, at least 1) */
	uint8_t per_source4, per_source6;   /* limit --per-source, per family */
	bool per_source_set;
	enum nl_xdp_mode mode;        /* --xdp-mode, for a new blocker */
	uint32_t max_rules, max_sources;
};

const struct nl_cmd_spec *block_cmd_spec(void);
/* After parsing: the interface resolved (exits 2 when it is not one). */
void block_cfg_resolve(struct block_cfg *cfg);
/* How the blocker attaches here: a pinned XDP link, and why not libxdp's dispatcher. */
const char *block_attach_method(void);

/* A blocker's pins, opened: one interface's program, link and maps. */
struct blocker {
	char dir[PATH_MAX];           /* its pin directory */
	char ifname[IF_NAMESIZE];
	int ifindex;
	int link, rules4, rules6, hash4, hash6, buckets, conf, stats;   /* fds; -1 none */
	int lock;                     /* the pin directory, flock()ed while rules change */
	uint32_t prog_id, link_id;
	bool made;                    /* blocker_create() made it (not found made by another) */
};

/* How a new blocker attaches. */
struct block_create_opts {
	enum nl_xdp_mode mode;
	bool force;                   /* replace another XDP program */
	uint32_t max_rules;           /* per family */
	uint32_t max_sources;         /* rate-limit buckets */
	bool verbose;
};

/*
 * Opens ifname's blocker from its pins in bpffs (mounted when missing, if
 * may_mount: docs/block.md). -ENOENT when there is none (pins of
 * an interface that is gone are removed, and said on stderr); other -errno
 * with one sentence in err.
 */
int blocker_open(struct blocker *b, const char *ifname, int ifindex, bool may_mount, char *err,
		 size_t len);
/*
 * Loads the program, pins its maps, attaches and pins the link, then opens
 * it (made set); or opens the one another run made meanwhile.
 */
int blocker_create(struct blocker *b, const char *ifname, int ifindex,
		   const struct block_create_opts *o, char *err, size_t len);
/* Detaches the program (even if another process holds the link) and removes every pin. */
int blocker_destroy(struct blocker *b, char *err, size_t len);
void blocker_close(struct blocker *b);

/* Whether its link is still attached to its interface (not detached by force, the device there). */
bool blocker_attached(const struct blocker *b);
/* "native" or "generic" (from the interface's XDP query), or "none". */
const char *blocker_mode(const struct blocker *b);

/* A rule as the user gives it. */
struct block_spec {
	uint8_t family;               /* 4 or 6 */
	uint8_t prefixlen;            /* the source prefix's */
	uint8_t addr[16];
	uint8_t proto;                /* 0 any */
	uint16_t port;                /* host order; 0 any */
	uint32_t flags;               /* enum block_rule_flags */
	uint32_t pps, burst;          /* limit */
	uint8_t per_source;           /* limit: the prefix one bucket covers */
};

/* "A.B.C.D/N" or "IPv6/N" (no /N: one host); 0 or -1 with err. */
int block_parse_cidr(const char *s, struct block_spec *r, char *err, size_t len);
/* "10.0.0.0/24 udp 53" */
void block_spec_text(const struct block_spec *r, char *buf, size_t len);
const char *block_proto_name(uint8_t proto);

/* Adds a rule (-EEXIST: the same prefix, protocol and port already has one). */
int block_rule_add(struct blocker *b, const struct block_spec *r, char *err, size_t len);
/* Removes a rule and its rate-limit buckets (-ENOENT: none). */
int block_rule_del(struct blocker *b, const struct block_spec *r, char *err, size_t len);
/* Every rule, IPv4 first; 0 or -errno. */
int block_rules_each(struct blocker *b,
		     void (*fn)(void *ctx, const struct block_spec *s, const struct block_rule *v),
		     void *ctx);
/* Removes every rule; how many, or -errno. */
int block_rules_flush(struct blocker *b);
/* How many rules the blocker holds (a walk of every rule); 0 or -errno. */
int block_rules_count(struct blocker *b, uint64_t *n);

/* The program's counters and the buckets': what status and metrics show. */
struct block_totals {
	uint64_t st[NL_STAT_MAX];     /* enum block_stat */
	uint64_t buckets_live;
	uint64_t evictions;           /* buckets created - live - removed with their rule */
};
int block_totals(struct blocker *b, struct block_totals *t);

#endif
