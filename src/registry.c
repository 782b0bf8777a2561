// SPDX-License-Identifier: GPL-2.0
/*
 * The capabilities: `netlens NAME`, `netlens --help`, `serve --enable` and
 * `netlens probe` all come from this list. A new capability is its folder
 * (src/NAME/) and one line here.
 */
#include <stddef.h>
#include "framework/module.h"
#include "block/block.h"
#include "conns/conns.h"
#include "dns/dns.h"
#include "drops/drops.h"
#include "flows/flows.h"
#include "http/http.h"
#include "latency/latency.h"
#include "retrans/retrans.h"

const struct nl_module_ops *const nl_modules[] = {
	&nl_conns_ops,
	&nl_latency_ops,
	&nl_retrans_ops,
	&nl_drops_ops,
	&nl_flows_ops,
	&nl_dns_ops,
	&nl_http_ops,
	&nl_block_ops,
	NULL,
};
