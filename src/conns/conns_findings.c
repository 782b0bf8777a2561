// SPDX-License-Identifier: GPL-2.0
/* netlens conns: findings from the kernel's totals (docs/diagnose.md, conns). */
#include <stdio.h>
#include "conns/conns.h"
#include "framework/finding.h"
#include "framework/netns.h"
#include "output/format.h"

static void connect_failure(const struct conns_dest *d, const struct conns_fail *f,
			    struct nl_findings *out)
{
	uint64_t begun = d->connects + d->failed;
	double ratio = begun ? (double)f->count / begun : 1.0;
	char ep[64], a[64], buf[32];
	struct nl_finding *x;
	const char *err;

	if (f->count < CONNS_FAIL_MIN || ratio < CONNS_FAIL_RATIO)
		return;
	x = nl_finding_add(out, ratio >= CONNS_FAIL_CRITICAL ? NL_SEV_CRITICAL : NL_SEV_WARNING,
			   "connect_failures", f->count);
	if (!x)
		return;
	err = nl_errno_name(f->error, buf, sizeof(buf));
	nl_finding_str(x, "daddr", nl_fmt_addr(d->key.family, d->key.addr, a, sizeof(a)));
	nl_finding_uint(x, "dport", d->key.port);
	nl_finding_str(x, "error", err);
	nl_finding_uint(x, "failures", f->count);
	nl_finding_uint(x, "connects", begun);
	nl_finding_say(x, "%s (client side): %llu of %llu connects failed with %s",
		       nl_fmt_endpoint(d->key.family, d->key.addr, d->key.port, ep, sizeof(ep)),
		       (unsigned long long)f->count, (unsigned long long)begun, err);
}

static const struct conns_netns_stat *netns_of(const struct conns_listen_report *lr,
					       uint32_t netns)
{
	for (size_t i = 0; i < lr->nns; i++)
		if (lr->ns[i].netns == netns)
			return &lr->ns[i];
	return NULL;
}

static void listen_overflow(const struct conns_listen_report *lr, const struct conns_listener *l,
			    struct nl_findings *out)
{
	const struct conns_netns_stat *ns = netns_of(lr, l->netns);
	uint64_t drops = l->drops - l->drops_before;
	char ep[64], a[64], comm[NL_COMM_LEN + 1], who[64] = "owner unknown", kernel[80] = "";
	char ns_label[NL_NETNS_NAME_LEN];
	struct nl_finding *x;

	if (drops < CONNS_LISTEN_MIN_DROPS)
		return;
	x = nl_finding_add(out, drops >= CONNS_LISTEN_CRITICAL ? NL_SEV_CRITICAL : NL_SEV_WARNING,
			   "listen_overflow", drops);
	if (!x)
		return;
	nl_fmt_comm(l->owner.comm, comm, sizeof(comm));
	if (l->owner.pid)
		snprintf(who, sizeof(who), "%s pid %u", comm, l->owner.pid);
	nl_finding_str(x, "laddr", nl_fmt_addr(l->family, l->addr, a, sizeof(a)));
	nl_finding_uint(x, "lport", l->port);
	nl_finding_uint(x, "netns", l->netns);
	nl_finding_uint(x, "pid", l->owner.pid);
	nl_finding_str(x, "comm", l->owner.pid ? comm : "");
	nl_finding_uint(x, "backlog", l->backlog);
	nl_finding_uint(x, "queue", l->queue);
	nl_finding_uint(x, "drops", drops);
	if (ns) {
		nl_finding_uint(x, "listen_overflows", ns->overflows - ns->overflows_before);
		snprintf(kernel, sizeof(kernel), " (ListenOverflows %llu in that namespace)",
			 (unsigned long long)(ns->overflows - ns->overflows_before));
	}
	nl_finding_str(x, "netns_name", nl_netns_label(l->netns, ns_label, sizeof(ns_label)));
	nl_finding_say(x, "%s in netns %s (%s): accept queue full (backlog %u, %u waiting): "
		       "the kernel dropped %llu connection attempts%s",
		       nl_fmt_endpoint(l->family, l->addr, l->port, ep, sizeof(ep)), ns_label, who,
		       l->backlog, l->queue, (unsigned long long)drops, kernel);
}

void conns_findings(const struct conns_report *r, struct nl_findings *out)
{
	const struct conns_dest *d, *tmp;

	HASH_ITER(hh, r->dests, d, tmp)
		for (const struct conns_fail *f = d->fails; f; f = f->next)
			connect_failure(d, f, out);
	for (size_t i = 0; i < r->listen.n; i++)
		listen_overflow(&r->listen, &r->listen.v[i], out);
}
