// SPDX-License-Identifier: GPL-2.0
/* netlens retrans: findings from the per-destination totals (docs/diagnose.md, retrans). */
#include "framework/finding.h"
#include "output/format.h"
#include "retrans/retrans.h"

static void where(struct nl_finding *x, const struct retrans_row *r, char *ep, size_t len)
{
	char a[64];

	nl_fmt_endpoint(r->key.family, r->key.addr, r->key.port, ep, len);
	nl_finding_str(x, "daddr", nl_fmt_addr(r->key.family, r->key.addr, a, sizeof(a)));
	nl_finding_uint(x, "dport", r->key.port);
	nl_finding_str(x, "direction", "outbound");
}

static void path_loss(const struct retrans_row *r, struct nl_findings *out)
{
	double ratio = retrans_ratio(&r->d);
	struct nl_finding *x;
	char ep[64];

	if (ratio < RETRANS_LOSS_RATIO || r->d.segments < RETRANS_LOSS_MIN_SEGMENTS ||
	    r->d.retransmits < RETRANS_LOSS_MIN_RETRANSMITS)
		return;
	x = nl_finding_add(out, ratio >= RETRANS_LOSS_CRITICAL ? NL_SEV_CRITICAL : NL_SEV_WARNING,
			   "path_loss", r->d.retransmits);
	if (!x)
		return;
	where(x, r, ep, sizeof(ep));
	nl_finding_uint(x, "retransmits", r->d.retransmits);
	nl_finding_uint(x, "segments", r->d.segments);
	nl_finding_num(x, "ratio", ratio);
	nl_finding_say(x, "%s (client side): %.1f%% of segments retransmitted (%llu/%llu)", ep,
		       ratio * 100, (unsigned long long)r->d.retransmits,
		       (unsigned long long)r->d.segments);
}

/* A retransmitted SYN: the handshake waited the initial RTO (1 s) at least. */
static void slow_handshake(const struct retrans_row *r, struct nl_findings *out)
{
	uint64_t syns = r->d.syn_retransmits;
	struct nl_finding *x;
	char ep[64];

	if (syns < RETRANS_SLOW_MIN_SYNS ||
	    (r->handshakes && (double)syns / r->handshakes < RETRANS_SLOW_SYN_RATIO))
		return;
	x = nl_finding_add(out, NL_SEV_WARNING, "slow_handshake", syns);
	if (!x)
		return;
	where(x, r, ep, sizeof(ep));
	nl_finding_uint(x, "syn_retransmits", syns);
	if (r->handshakes) {
		nl_finding_uint(x, "handshakes", r->handshakes);
		nl_finding_say(x, "%s (client side): %llu SYNs retransmitted in %llu handshakes "
			       "(each waited at least 1 s)", ep, (unsigned long long)syns,
			       (unsigned long long)r->handshakes);
	} else {
		nl_finding_say(x, "%s (client side): %llu SYNs retransmitted (each handshake "
			       "waited at least 1 s)", ep, (unsigned long long)syns);
	}
}

void retrans_findings(const struct retrans_row *rows, size_t n, struct nl_findings *out)
{
	for (size_t i = 0; i < n; i++) {
		if (rows[i].key.inbound)   /* a server's segments cross its clients' paths */
			continue;
		path_loss(&rows[i], out);
		slow_handshake(&rows[i], out);
	}
}
