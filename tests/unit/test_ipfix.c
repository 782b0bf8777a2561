// SPDX-License-Identifier: GPL-2.0
/* IPFIX encoding: exact message bytes, sequence numbers, splitting, template refresh. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include "check.h"
#include "flows/flows.h"
#include "output/ipfix.h"
#include "framework/sys.h"

#define MAX_MSGS 16

/* The messages the encoder sent, and what the next send returns. */
static struct sent {
	uint8_t msg[MAX_MSGS][IPFIX_MAX_MSG];
	size_t len[MAX_MSGS];
	int n;
	int fail;
} sent;

static int capture_send(void *ctx, const uint8_t *msg, size_t len)
{
	(void)ctx;
	if (sent.n < MAX_MSGS) {
		memcpy(sent.msg[sent.n], msg, len);
		sent.len[sent.n] = len;
	}
	sent.n++;
	return sent.fail;
}

static void reset(struct ipfix *x)
{
	memset(&sent, 0, sizeof(sent));
	ipfix_init(x, 9, capture_send, NULL);
}

/* Hex digits (spaces ignored) to bytes; returns the length. */
static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n')
			continue;
		sscanf(s, "%2hhx", &out[n++]);
		s++;
	}
	return n;
}

static void check_bytes(int msg, const char *want_hex)
{
	static uint8_t want[IPFIX_MAX_MSG * 2];
	size_t n = unhex(want_hex, want);

	CHECK(sent.len[msg] == n);
	if (sent.len[msg] != n)
		fprintf(stderr, "  message %d: %zu bytes, want %zu\n", msg, sent.len[msg], n);
	for (size_t i = 0; i < n && i < sent.len[msg]; i++)
		if (sent.msg[msg][i] != want[i]) {
			fprintf(stderr, "  message %d byte %zu: %02x, want %02x\n", msg, i,
				sent.msg[msg][i], want[i]);
			check_failures++;
			break;
		}
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

#define TEMPLATE_SET                                                                    \
	"0002 0084"                                                                     \
	"0100 000f 0008 0004 000c 0004 0007 0002 000b 0002 0004 0001 0006 0002 0020 0002 " \
	"000a 0004 000e 0004 003a 0002 003d 0001 0001 0008 0002 0008 0098 0008 0099 0008 " \
	"0101 000f 001b 0010 001c 0010 0007 0002 000b 0002 0004 0001 0006 0002 008b 0002 " \
	"000a 0004 000e 0004 003a 0002 003d 0001 0001 0008 0002 0008 0098 0008 0099 0008 "

static struct ipfix_record rec4(uint16_t sport)
{
	struct ipfix_record r = {
		.family = 4, .sport = sport, .dport = 53, .proto = 17, .ingress_if = 7,
		.vlan = 100, .octets = 3000, .packets = 3,
		.start_ms = 1795265440397ULL, .end_ms = 1795265440999ULL,
	};

	inet_pton(AF_INET, "10.0.0.1", r.saddr);
	inet_pton(AF_INET, "10.0.0.2", r.daddr);
	return r;
}

static struct ipfix_record rec6(void)
{
	struct ipfix_record r = {
		.family = 6, .sport = 443, .dport = 50000, .proto = 6, .tcp_flags = 0x1b,
		.direction = 1, .egress_if = 7, .octets = 1 << 20, .packets = 700,
		.start_ms = 1795265440397ULL, .end_ms = 1795265440999ULL,
	};

	inet_pton(AF_INET6, "fd00:231::2", r.saddr);
	inet_pton(AF_INET6, "fd00:231::1", r.daddr);
	return r;
}

static void test_ipv4_message_exact(void)
{
	struct ipfix x;
	struct ipfix_record r = rec4(1234);

	reset(&x);
	ipfix_begin(&x, 1000);
	ipfix_add(&x, &r);
	ipfix_end(&x);
	CHECK(sent.n == 1);
	check_bytes(0,
		/* version 10, length 212, export time 1000, sequence 0, domain 9 */
		"000a 00d4 000003e8 00000000 00000009" TEMPLATE_SET
		"0100 0040"                                 /* data set 256, 4 + 60 bytes */
		"0a000001 0a000002 04d2 0035 11 0000 0000"  /* addresses, ports, UDP, flags, icmp */
		"00000007 00000000 0064 00"                 /* in 7, out 0, vlan 100, ingress */
		"0000000000000bb8 0000000000000003"         /* 3000 octets, 3 packets */
		"000001a1fe28aa8d 000001a1fe28ace7");       /* start, end ms */
	CHECK(x.messages == 1 && x.records_v4 == 1 && x.records_v6 == 0 && x.seq == 1);
}

static void test_ipv6_message_exact(void)
{
	struct ipfix x;
	struct ipfix_record r4 = rec4(1234), r6 = rec6();

	reset(&x);
	ipfix_begin(&x, 1000);
	ipfix_add(&x, &r4);
	ipfix_end(&x);
	/* Templates not due again: a data set alone, sequence 1 (one record before). */
	ipfix_begin(&x, 1010);
	ipfix_add(&x, &r6);
	ipfix_end(&x);
	CHECK(sent.n == 2);
	check_bytes(1,
		"000a 0068 000003f2 00000001 00000009"      /* 104 bytes, time 1010, seq 1 */
		"0101 0058"                                 /* data set 257, 4 + 84 bytes */
		"fd000231000000000000000000000002 fd000231000000000000000000000001"
		"01bb c350 06 001b 0000"                    /* 443 -> 50000 TCP, flags FSPA */
		"00000000 00000007 0000 01"                 /* in 0, out 7, no vlan, egress */
		"0000000000100000 00000000000002bc"         /* 1 MiB, 700 packets */
		"000001a1fe28aa8d 000001a1fe28ace7");
	CHECK(x.records_v4 == 1 && x.records_v6 == 1 && x.seq == 2);
}

/* Walks a message's sets: their lengths add up; returns the data records in it. */
static uint32_t records_in(int msg, uint32_t *seq)
{
	const uint8_t *m = sent.msg[msg];
	size_t off = 16, len = sent.len[msg];
	uint32_t n = 0;

	CHECK(be16(m) == 10 && be16(m + 2) == len && len <= IPFIX_MAX_MSG);
	*seq = be32(m + 8);
	while (off + 4 <= len) {
		uint16_t id = be16(m + off), slen = be16(m + off + 2);

		CHECK(slen >= 4 && off + slen <= len);
		if (id == IPFIX_TMPL_V4)
			n += (slen - 4) / IPFIX_REC_V4_LEN;
		else if (id == IPFIX_TMPL_V6)
			n += (slen - 4) / IPFIX_REC_V6_LEN;
		off += slen ? slen : len;
	}
	CHECK(off == len);
	return n;
}

static void test_split_and_sequence(void)
{
	/* message 1: templates + 20 v4; 2: 23 v4; 3: 7 v4 + 11 v6; 4: 9 v6 */
	static const uint32_t want_records[] = { 20, 23, 18, 9 }, want_seq[] = { 0, 20, 43, 61 };
	struct ipfix_record r4 = rec4(1), r6 = rec6();
	struct ipfix x;
	uint32_t seq;

	reset(&x);
	ipfix_begin(&x, 1000);
	for (int i = 0; i < 50; i++)
		ipfix_add(&x, &r4);
	for (int i = 0; i < 20; i++)
		ipfix_add(&x, &r6);
	ipfix_end(&x);
	CHECK(sent.n == 4);
	for (int i = 0; i < 4 && i < sent.n; i++) {
		CHECK(records_in(i, &seq) == want_records[i]);
		CHECK(seq == want_seq[i]);
	}
	CHECK(sent.len[0] == 16 + 132 + 4 + 20 * 60 && sent.len[1] == 16 + 4 + 23 * 60);
	CHECK(sent.len[2] == 16 + 4 + 7 * 60 + 4 + 11 * 84 && sent.len[3] == 16 + 4 + 9 * 84);
	CHECK(x.messages == 4 && x.records_v4 == 50 && x.records_v6 == 20 && x.seq == 70);
	/* The next export continues the count. */
	ipfix_begin(&x, 1001);
	ipfix_add(&x, &r4);
	ipfix_end(&x);
	CHECK(sent.n == 5 && records_in(4, &seq) == 1 && seq == 70);
}

static void test_sequence_wraps(void)
{
	struct ipfix_record r = rec4(1);
	struct ipfix x;

	reset(&x);
	x.seq = 0xffffffffu;
	ipfix_begin(&x, 1000);
	ipfix_add(&x, &r);
	ipfix_add(&x, &r);
	ipfix_end(&x);
	CHECK(be32(sent.msg[0] + 8) == 0xffffffffu && x.seq == 1);
}

static bool has_templates(int msg)
{
	return sent.len[msg] > 20 && be16(sent.msg[msg] + 16) == 2;
}

static void test_template_refresh(void)
{
	struct ipfix_record r = rec4(1);
	struct ipfix x;

	reset(&x);
	/* Templates go out at the first export even without records. */
	ipfix_begin(&x, 1000);
	ipfix_end(&x);
	CHECK(sent.n == 1 && sent.len[0] == 16 + 132 && has_templates(0));
	/* Nothing to say and templates not due: no message. */
	ipfix_begin(&x, 1030);
	ipfix_end(&x);
	CHECK(sent.n == 1);
	ipfix_begin(&x, 1059);
	ipfix_add(&x, &r);
	ipfix_end(&x);
	CHECK(sent.n == 2 && !has_templates(1));
	/* 60 s after the last template set: again, before the data. */
	ipfix_begin(&x, 1060);
	ipfix_add(&x, &r);
	ipfix_end(&x);
	CHECK(sent.n == 3 && has_templates(2) && sent.len[2] == 16 + 132 + 4 + 60);
	ipfix_begin(&x, 1119);
	ipfix_end(&x);
	CHECK(sent.n == 3);
	ipfix_begin(&x, 1120);
	ipfix_end(&x);
	CHECK(sent.n == 4 && has_templates(3));
	CHECK(be32(sent.msg[3] + 8) == 2);
}

static void test_send_errors_counted(void)
{
	struct ipfix_record r = rec4(1);
	struct ipfix x;

	reset(&x);
	sent.fail = -ECONNREFUSED;
	ipfix_begin(&x, 1000);
	ipfix_add(&x, &r);
	ipfix_end(&x);
	CHECK(x.messages == 1 && x.send_errors == 1 && x.last_error == -ECONNREFUSED);
	/* The records count in the sequence: the collector sees the gap. */
	CHECK(x.seq == 1);
	sent.fail = 0;
	ipfix_begin(&x, 1001);
	ipfix_add(&x, &r);
	ipfix_end(&x);
	CHECK(x.messages == 2 && x.send_errors == 1 && x.last_error == 0);
}

static void test_parse_dest(void)
{
	static const char *bad[] = {
		"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:80x",
		"localhost:4739", "::1:4739", "[::1]", "[::1]4739", "[::1]:", "[10.0.0.1]:80",
		"1.2.3.4:80:90", "1.2.3:80", "[fd00::1:4739",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000]:1",
	};
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct in6_addr want6;
	socklen_t len;
	char err[256];

	CHECK(!ipfix_parse_dest("127.0.0.1:4739", &ss, &len, err, sizeof(err)));
	CHECK(sin->sin_family == AF_INET && ntohs(sin->sin_port) == 4739 && len == sizeof(*sin));
	CHECK(sin->sin_addr.s_addr == htonl(0x7f000001));
	CHECK(!ipfix_parse_dest("[fd00:231::2]:2055", &ss, &len, err, sizeof(err)));
	inet_pton(AF_INET6, "fd00:231::2", &want6);
	CHECK(sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == 2055);
	CHECK(len == sizeof(*sin6) && !memcmp(&sin6->sin6_addr, &want6, sizeof(want6)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK(ipfix_parse_dest(bad[i], &ss, &len, err, sizeof(err)) == -1);
		CHECK(err[0] && !strchr(err, '\n'));
	}
	ipfix_parse_dest("localhost:4739", &ss, &len, err, sizeof(err));
	CHECK_STR(err, "'localhost:4739' is not a collector address: A.B.C.D:PORT or "
		  "[IPv6]:PORT, numeric, port 1-65535");
}

/* flows' deltas as records: frame bytes to IP bytes, ICMP, interfaces, times. */
static void test_flow_to_record(void)
{
	struct flows_cfg xdp = { .ifname = "eth9", .ifindex = 7, .hook = FLOWS_HOOK_XDP };
	struct flows_cfg tc = xdp;
	struct flows_report r = { .cfg = &xdp };
	struct flows_delta d = {
		.key = { .ifindex = 7, .family = 4, .proto = 1, .sport = 3, .dport = 4,
			 .direction = FLOW_DIR_EGRESS },
		.val = { .packets = 2, .bytes = 2 * (14 + 56), .first_seen_ns = 5000000000ULL,
			 .last_seen_ns = 9000000000ULL },
		.interval_first_ns = 7000000000ULL,
	};
	struct ipfix_record out;

	tc.hook = FLOWS_HOOK_TC;
	flows_ipfix_record(&r, &d, &out);
	CHECK(out.family == 4 && out.proto == 1 && out.icmp_type_code == 0x0304);
	CHECK(out.sport == 0 && out.dport == 0);
	CHECK(out.ingress_if == 0 && out.egress_if == 7 && out.direction == 1);
	CHECK(out.packets == 2 && out.octets == 2 * 56);
	/* The records tile time: this interval's first packet, not the flow's. */
	CHECK(out.start_ms == nl_mono_to_realtime(7000000000ULL) / 1000000);
	CHECK(out.end_ms == nl_mono_to_realtime(9000000000ULL) / 1000000);
	CHECK(out.end_ms - out.start_ms == 2000);

	/* UDP in a QinQ frame at XDP: both tags are in the frame. */
	d.key.proto = 17;
	d.key.direction = FLOW_DIR_INGRESS;
	d.key.vlan_outer = 100;
	d.key.vlan_inner = 200;
	d.val.bytes = 2 * (14 + 8 + 100);
	flows_ipfix_record(&r, &d, &out);
	CHECK(out.sport == 3 && out.dport == 4 && out.icmp_type_code == 0);
	CHECK(out.ingress_if == 7 && out.egress_if == 0 && out.direction == 0);
	CHECK(out.vlan == 100 && out.octets == 2 * 100);
	/* At TC the outer tag is in skb metadata: only the inner one is in the frame. */
	r.cfg = &tc;
	d.val.bytes = 2 * (14 + 4 + 100);
	flows_ipfix_record(&r, &d, &out);
	CHECK(out.octets == 2 * 100);
	/* ICMPv6 too. */
	d.key.family = 6;
	d.key.proto = 58;
	d.key.sport = 128;
	d.key.dport = 0;
	flows_ipfix_record(&r, &d, &out);
	CHECK(out.family == 6 && out.icmp_type_code == 128 << 8 && out.sport == 0);
}

int main(void)
{
	RUN(test_ipv4_message_exact);
	RUN(test_ipv6_message_exact);
	RUN(test_split_and_sequence);
	RUN(test_sequence_wraps);
	RUN(test_template_refresh);
	RUN(test_send_errors_counted);
	RUN(test_parse_dest);
	RUN(test_flow_to_record);
	return TEST_SUMMARY();
}
