// SPDX-License-Identifier: GPL-2.0
/* drops' findings from summary rows, without BPF: each kind firing and silent. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "drops/drops.h"
#include "framework/finding.h"

static struct drop_reason_name names[] = {
	{ 3, "NO_SOCKET" }, { 6, "SOCKET_RCVBUFF" }, { 12, "NETFILTER_DROP" },
	{ 93, "PKT_TOO_BIG" }, { 104, "QUEUE_PURGE" },
};
static const struct drop_reasons reasons = { .v = names, .n = 5 };

#define NFT   0xffffffff82000000ULL
#define UDPQ  0xffffffff83000000ULL
#define FWD   0xffffffff84000000ULL
#define KILLQ 0xffffffff85000000ULL
static struct nl_ksym syms[] = {
	{ .addr = NFT, .name = "nft_do_chain" }, { .addr = UDPQ, .name = "udp_queue_rcv_one_skb" },
	{ .addr = FWD, .name = "ip_forward" }, { .addr = KILLQ, .name = "sk_stream_kill_queues" },
};
static struct nl_ksyms ksyms = { .syms = syms, .n = 4 };

static struct drop_key key(uint32_t reason, uint64_t location, const char *daddr, uint16_t dport)
{
	struct drop_key k = { .reason = reason, .kind = DROP_KIND_SKB, .netns = 4026532000U,
			      .location = location, .proto = 17, .dport = dport, .family = 4 };

	inet_pton(AF_INET, daddr, k.daddr);
	return k;
}

static const struct nl_owner *owner_of(void *ctx, uint64_t ino, struct nl_owner *buf)
{
	(void)ctx;
	if (ino != 4242)
		return NULL;
	*buf = (struct nl_owner){ .pid = 812, .tid = 812, .comm = "nlt-rcv" };
	return buf;
}

static struct drops_report report(void)
{
	struct drops_report r;

	drops_report_init(&r, &reasons, &ksyms, 0);
	r.owner_of = owner_of;
	return r;
}

static const struct nl_finding_field *field(const struct nl_finding *x, const char *name)
{
	for (unsigned int i = 0; i < x->nfields; i++)
		if (!strcmp(x->fields[i].name, name))
			return &x->fields[i];
	return NULL;
}

static uint64_t uint_field(const struct nl_finding *x, const char *name)
{
	const struct nl_finding_field *f = field(x, name);

	return f && f->type == NL_FF_UINT ? f->u : ~0ULL;
}

static const char *str_field(const struct nl_finding *x, const char *name)
{
	const struct nl_finding_field *f = field(x, name);

	return f && f->type == NL_FF_STR ? f->s : NULL;
}

/* An nftables rule's drops, at two offsets of one function: one finding, summed. */
static void test_local_drops(void)
{
	struct drops_report r = report();
	struct drop_key a = key(12, NFT + 0x3e8, "10.1.2.3", 8080), b = key(12, NFT + 0x40, "10.1.2.3", 8080);
	struct nl_findings f = {};

	drops_report_set(&r, &a, 40);
	drops_report_set(&r, &b, 38);
	drops_findings(&r, &f);
	CHECK(f.n == 1);
	if (f.n == 1) {
		CHECK_STR(f.v[0].kind, "local_drops");
		CHECK(f.v[0].severity == NL_SEV_NOTICE && f.v[0].weight == 78);
		CHECK_STR(f.v[0].summary, "78 packets to 10.1.2.3:8080 dropped here by nftables "
			  "(NETFILTER_DROP at nft_do_chain) in netns 4026532000");
		CHECK(uint_field(&f.v[0], "drops") == 78 && uint_field(&f.v[0], "dport") == 8080);
		CHECK_STR(str_field(&f.v[0], "class"), "policy");
		CHECK_STR(str_field(&f.v[0], "location"), "nft_do_chain");
		CHECK(uint_field(&f.v[0], "netns") == 4026532000U);
	}
	nl_findings_free(&f);
	drops_report_free(&r);
}

/* Loss below the threshold, and any count of benign frees: nothing. */
static void test_quiet(void)
{
	struct drops_report r = report();
	struct drop_key closed = key(3, UDPQ, "10.1.2.3", 5353);
	struct drop_key purged = key(104, KILLQ, "10.1.2.9", 0);
	struct nl_findings f = {};

	purged.proto = 6;
	purged.flags = DROP_KEY_EPHEMERAL;
	drops_report_set(&r, &closed, DROPS_FINDING_MIN_DROPS - 1);
	drops_report_set(&r, &purged, 250000);
	drops_findings(&r, &f);
	CHECK(f.n == 0);
	nl_findings_free(&f);
	drops_report_free(&r);
}

static void test_rcvbuf_overflow(void)
{
	struct drops_report r = report();
	struct drop_key full = key(6, UDPQ + 0x437, "10.231.0.2", 17160);
	struct drop_key small = key(6, UDPQ + 0x437, "10.231.0.2", 17161);
	struct nl_findings f = {};

	full.sk_ino = 4242;
	small.sk_ino = 5151;
	drops_report_set(&r, &full, 198);
	drops_report_set(&r, &small, DROPS_FINDING_MIN_RCVBUF - 1);   /* silent */
	drops_findings(&r, &f);
	CHECK(f.n == 1);
	if (f.n == 1) {
		CHECK_STR(f.v[0].kind, "rcvbuf_overflow");
		CHECK(f.v[0].severity == NL_SEV_WARNING);
		CHECK_STR(f.v[0].summary, "UDP socket of nlt-rcv (pid 812) on 10.231.0.2:17160: 198 "
			  "packets dropped, its receive buffer overflowed (SOCKET_RCVBUFF) in netns "
			  "4026532000");
		CHECK(uint_field(&f.v[0], "pid") == 812 && uint_field(&f.v[0], "drops") == 198);
		CHECK_STR(str_field(&f.v[0], "comm"), "nlt-rcv");
		CHECK_STR(str_field(&f.v[0], "reason"), "SOCKET_RCVBUFF");
	}
	nl_findings_free(&f);
	drops_report_free(&r);
}

static void test_mtu_blackhole(void)
{
	struct drops_report r = report();
	struct drop_key big = key(93, FWD + 0x2a1, "10.9.0.7", 443);
	struct nl_findings f = {};

	big.proto = 6;
	drops_report_set(&r, &big, 3);
	drops_findings(&r, &f);
	CHECK(f.n == 1);
	if (f.n == 1) {
		CHECK_STR(f.v[0].kind, "mtu_blackhole");
		CHECK_STR(f.v[0].summary, "3 packets to 10.9.0.7:443 dropped as too big for the path "
			  "MTU (PKT_TOO_BIG at ip_forward) in netns 4026532000: a path MTU black hole "
			  "if the sender never learns it");
		CHECK_STR(str_field(&f.v[0], "proto"), "tcp");
	}
	nl_findings_free(&f);
	/* Called again with nothing new: the same totals, the same one finding. */
	drops_findings(&r, &f);
	CHECK(f.n == 1);
	nl_findings_free(&f);
	drops_report_free(&r);
}

/* ICMP "fragmentation needed" dropped by a rule: the sender never learns the path MTU. */
static void test_icmp_too_big_dropped(void)
{
	struct drops_report r = report();
	struct drop_key msg = key(12, NFT + 0x46f, "10.231.0.1", 0);
	struct drop_key echo = key(12, NFT + 0x46f, "10.231.0.1", 0);
	struct nl_findings f = {};

	msg.proto = echo.proto = 1;
	msg.flags = DROP_KEY_TOO_BIG;
	drops_report_set(&r, &msg, 4);
	drops_report_set(&r, &echo, DROPS_FINDING_MIN_DROPS - 1);   /* other ICMP: silent */
	drops_findings(&r, &f);
	CHECK(f.n == 1);
	if (f.n == 1) {
		CHECK_STR(f.v[0].kind, "mtu_blackhole");
		CHECK(f.v[0].severity == NL_SEV_WARNING && uint_field(&f.v[0], "drops") == 4);
		CHECK_STR(f.v[0].summary, "4 ICMP \"packet too big\" messages to 10.231.0.1 dropped "
			  "here by nftables (NETFILTER_DROP at nft_do_chain) in netns 4026532000: its "
			  "path MTU is never learnt, a path MTU black hole");
	}
	nl_findings_free(&f);
	drops_report_free(&r);
}

int main(void)
{
	RUN(test_local_drops);
	RUN(test_quiet);
	RUN(test_rcvbuf_overflow);
	RUN(test_mtu_blackhole);
	RUN(test_icmp_too_big_dropped);
	return TEST_SUMMARY();
}
