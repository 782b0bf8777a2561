/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TCP core in user space: one BPF object per process (src/tcp/tcp.bpf.c)
 * shared by the capabilities that follow TCP sockets (conns, latency,
 * retrans, http). Each joins it from its open() with the part of the object it
 * configures; the first attach() loads and attaches it with every part
 * joined so far, the last leave() destroys it.
 */
#ifndef NETLENS_TCP_CORE_H
#define NETLENS_TCP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "framework/cli.h"
#include "framework/fallback.h"
#include "tcp/tcp_abi.h"

struct tcp_bpf;
struct nl_module;

struct tcp_part {
	enum tcp_row row;                 /* TCP_ROW_CONNS, _LATENCY, _RETRANS or _HTTP */
	enum nl_hook hook;                /* --hook: tp_btf, raw_tp, tracepoint (state only) or AUTO */
	uint32_t max_conns;               /* sockets followed at once: the largest part's wins */
	/* Writes the part's rodata and map sizes into a freshly opened object. */
	void (*configure)(struct tcp_bpf *skel, const void *ctx);
	const void *ctx;
};

/* Joins the process's core with a part (opening the core on first use); 0 or -errno (m->err). */
int tcp_core_join(struct nl_module *m, const struct nl_opts *o, const struct tcp_part *part);
/*
 * Loads (tp_btf, else raw_tp when the choice was automatic) and attaches,
 * once; sets m->obj to the shared object. 0 or -errno.
 */
int tcp_core_attach(struct nl_module *m);
/* The loaded object, for reading its maps; NULL before the first attach. */
struct tcp_bpf *tcp_core_skel(void);
/* The hooks loaded, else the ones a load would choose for a command's --hook. */
enum nl_hook tcp_core_hook(enum nl_hook asked);
/* Whether that choice is an automatic tp_btf that raw_tp would replace if refused. */
bool tcp_core_may_fall_back(enum nl_hook asked);
/* Recent kernels pass tcp_retransmit_skb the transmit's result (a third argument). */
bool tcp_core_retransmit_has_err(void);
/*
 * m's counters: its part's row plus the core's (a socket the core could not
 * follow); the stats op of every part.
 */
int tcp_core_stats(struct nl_module *m, uint64_t out[NL_STAT_MAX]);
/*
 * Calls fn for every destination's totals (tcp_dests, read in batches),
 * after adding what live connections sent when retrans is a part. 0 or -errno.
 */
int tcp_core_each_dest(void (*fn)(void *ctx, const struct nl_dest_key *k,
				  const struct tcp_dest *d), void *ctx);
/* m leaves the core (nothing if it never joined); the last part to leave destroys it. */
void tcp_core_leave(struct nl_module *m);

#endif
