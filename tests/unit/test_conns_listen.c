// SPDX-License-Identifier: GPL-2.0
/* conns' listeners: the kernel's netstat text and sock_diag answers, parsed. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include "check.h"
#include "conns/conns_listen.h"

static void netstat_text(void)
{
	const char *text =
		"TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPHPHits\n"
		"TcpExt: 7 394 401 12\n"
		"IpExt: InNoRoutes ListenOverflows\n"
		"IpExt: 1 2\n";
	uint64_t overflows = 0, drops = 0;

	CHECK(conns_parse_netstat(text, &overflows, &drops));
	CHECK(overflows == 394 && drops == 401);
	/* A value line shorter than the names, or no TcpExt at all: not found. */
	CHECK(!conns_parse_netstat("TcpExt: ListenOverflows ListenDrops\nTcpExt: 3\n",
				   &overflows, &drops));
	CHECK(!conns_parse_netstat("IpExt: a\nIpExt: 1\n", &overflows, &drops));
	CHECK(!conns_parse_netstat("TcpExt: ListenOverflows ListenDrops\n", &overflows, &drops));
}

struct answer {
	struct nlmsghdr h;
	struct inet_diag_msg m;
	struct rtattr a;
	uint32_t mem[SK_MEMINFO_VARS];
};

static void diag_answer(void)
{
	struct answer x = {
		.h = { .nlmsg_len = sizeof(x), .nlmsg_type = SOCK_DIAG_BY_FAMILY },
		.m = { .idiag_family = AF_INET, .idiag_state = 10, .idiag_rqueue = 2,
		       .idiag_wqueue = 1, .idiag_inode = 4242,
		       .id = { .idiag_sport = htons(8080) } },
		.a = { .rta_len = RTA_LENGTH(sizeof(x.mem)), .rta_type = INET_DIAG_SKMEMINFO },
	};
	struct conns_listener l;
	char a[INET6_ADDRSTRLEN];

	inet_pton(AF_INET, "10.231.0.2", x.m.id.idiag_src);
	x.mem[SK_MEMINFO_DROPS] = 394;
	CHECK(conns_parse_listener(&x.h, &l));
	CHECK(l.family == 4 && l.port == 8080 && l.inode == 4242);
	CHECK(l.backlog == 1 && l.queue == 2 && l.drops == 394);
	CHECK_STR(inet_ntop(AF_INET, l.addr, a, sizeof(a)), "10.231.0.2");

	/* Without the memory attribute: no drops known, 0. */
	x.h.nlmsg_len = NLMSG_LENGTH(sizeof(x.m));
	CHECK(conns_parse_listener(&x.h, &l) && l.drops == 0);
	/* Cut short, or not an inet family: refused. */
	x.h.nlmsg_len = NLMSG_LENGTH(sizeof(x.m)) - 1;
	CHECK(!conns_parse_listener(&x.h, &l));
	x.h.nlmsg_len = sizeof(x);
	x.m.idiag_family = AF_UNIX;
	CHECK(!conns_parse_listener(&x.h, &l));
}

int main(void)
{
	RUN(netstat_text);
	RUN(diag_answer);
	return TEST_SUMMARY();
}
