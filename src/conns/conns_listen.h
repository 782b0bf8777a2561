/* SPDX-License-Identifier: GPL-2.0 */
/*
 * conns' listeners: accept-queue overflows as the kernel itself counts them.
 * The packet path cannot see every one (a SYN dropped before any tracepoint
 * says why), so these figures are read from the kernel's own statistics, in
 * every network namespace: per listener its drop count (sk_drops, which
 * tcp_listendrop() increments; sock_diag's INET_DIAG_SKMEMINFO
 * SK_MEMINFO_DROPS, the "d" of `ss -tlme`), its backlog and queue
 * (inet_diag's wqueue and rqueue of a LISTEN socket), and per namespace
 * TcpExt ListenOverflows and ListenDrops (/proc/<pid>/net/netstat).
 */
#ifndef NETLENS_CONNS_LISTEN_H
#define NETLENS_CONNS_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/common_abi.h"

struct nlmsghdr;

struct conns_listener {
	uint32_t netns;          /* network namespace inode */
	uint32_t inode;          /* the socket's inode (sock_diag's idiag_inode) */
	uint8_t  family;         /* 4 or 6 */
	uint8_t  addr[16];
	uint16_t port;
	uint32_t backlog;        /* listen(2)'s backlog as the kernel keeps it (sk_max_ack_backlog) */
	uint32_t queue;          /* connections waiting for accept(2) now (sk_ack_backlog) */
	uint64_t drops;          /* the kernel's count since listen(2) (sk_drops) */
	uint64_t drops_before;   /* of those, before netlens started */
	struct nl_owner owner;   /* pid 0: not found (or not looked up: no drops) */
};

struct conns_netns_stat {
	uint32_t netns;
	uint64_t overflows, drops;                 /* TcpExt ListenOverflows, ListenDrops */
	uint64_t overflows_before, drops_before;   /* at netlens' start (0 for a later namespace) */
};

/* What one read found: every listener and namespace the filters keep. */
struct conns_listen_report {
	struct conns_listener *v;
	size_t n, cap;
	struct conns_netns_stat *ns;
	size_t nns, nscap;
	uint32_t unreadable;     /* namespaces seen but not entered (no CAP_SYS_ADMIN any more) */
};

/* Pure parts (unit-tested). */
/* TcpExt ListenOverflows and ListenDrops from a netstat text; false if absent. */
bool conns_parse_netstat(const char *text, uint64_t *overflows, uint64_t *drops);
/* One sock_diag answer (an inet_diag_msg with attributes) into l; false if malformed. */
bool conns_parse_listener(const struct nlmsghdr *h, struct conns_listener *l);

/* The reader: namespaces entered once (setns), their sockets kept open. */
struct conns_listen;

/*
 * filter: the command's (netns, ports, family, pid, comm). The first read
 * is the baseline (*_before).
 */
struct conns_listen *conns_listen_new(const struct nl_filter *filter);
void conns_listen_free(struct conns_listen *l);
/* Reads every namespace's listeners and counters into out (emptied first). 0 or -errno. */
int conns_listen_read(struct conns_listen *l, struct conns_listen_report *out);
void conns_listen_report_free(struct conns_listen_report *r);

#endif
