/* SPDX-License-Identifier: GPL-2.0 */
/* The TCP core (src/tcp/tcp.bpf.c): what user space reads of it. */
#ifndef NETLENS_TCP_ABI_H
#define NETLENS_TCP_ABI_H

#include "kernel/common_abi.h"
#include "conns/conns_abi.h"
#include "retrans/retrans_abi.h"
#include "http/http_abi.h"

/* One row of counters (enum nl_stat) per part of the object. */
enum tcp_row {
	TCP_ROW_CORE,         /* the socket records themselves (map_full: a socket not followed) */
	TCP_ROW_CONNS,
	TCP_ROW_LATENCY,
	TCP_ROW_RETRANS,
	TCP_ROW_HTTP,
	TCP_ROWS,
};

/* The tcp_dests map's value: each capability's totals of one destination. */
struct tcp_dest {
	struct conns_dest_totals conns;
	struct retrans_dest rt;
};

#endif
