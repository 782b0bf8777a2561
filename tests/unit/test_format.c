// SPDX-License-Identifier: GPL-2.0
/* Formatters: addresses (RFC 5952), timestamps (RFC 3339), units, errno and state names. */
#include <arpa/inet.h>
#include <errno.h>
#include "check.h"
#include "output/format.h"

static const char *v6(const char *text, char *buf, size_t len)
{
	unsigned char a[16];

	inet_pton(AF_INET6, text, a);
	return nl_fmt_addr(6, a, buf, len);
}

static void test_addresses(void)
{
	const unsigned char v4[4] = { 10, 231, 0, 1 };
	char buf[NL_ADDR_LEN];

	CHECK_STR(nl_fmt_addr(4, v4, buf, sizeof(buf)), "10.231.0.1");
	/* RFC 5952: lower case, longest zero run compressed, not a single zero field. */
	CHECK_STR(v6("2001:DB8:0:0:0:0:0:1", buf, sizeof(buf)), "2001:db8::1");
	CHECK_STR(v6("2001:db8:0:1:1:1:1:1", buf, sizeof(buf)), "2001:db8:0:1:1:1:1:1");
	CHECK_STR(v6("2001:0:0:1:0:0:0:1", buf, sizeof(buf)), "2001:0:0:1::1");
	CHECK_STR(v6("0:0:0:0:0:0:0:1", buf, sizeof(buf)), "::1");
	CHECK_STR(v6("fe80:0:0:0:0:0:0:0", buf, sizeof(buf)), "fe80::");
	CHECK_STR(v6("::ffff:10.0.0.1", buf, sizeof(buf)), "::ffff:10.0.0.1");
	CHECK_STR(v6("fd00:231::2", buf, sizeof(buf)), "fd00:231::2");
}

static void test_endpoints(void)
{
	const unsigned char v4[4] = { 127, 0, 0, 1 };
	unsigned char a6[16] = { 0 };
	char buf[64];

	a6[15] = 1;
	CHECK_STR(nl_fmt_endpoint(4, v4, 8080, buf, sizeof(buf)), "127.0.0.1:8080");
	CHECK_STR(nl_fmt_endpoint(6, a6, 443, buf, sizeof(buf)), "[::1]:443");
}

static void test_rfc3339(void)
{
	char buf[NL_TS_LEN];

	CHECK_STR(nl_fmt_rfc3339(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000000Z");
	CHECK_STR(nl_fmt_rfc3339(1700000000123456789ULL, buf, sizeof(buf)),
		  "2023-11-14T22:13:20.123456Z");
	/* Truncated, not rounded: 999999999 ns stays in the same second. */
	CHECK_STR(nl_fmt_rfc3339(1999999999ULL, buf, sizeof(buf)), "1970-01-01T00:00:01.999999Z");
	CHECK_STR(nl_fmt_rfc3339(1798761600000000000ULL, buf, sizeof(buf)),
		  "2027-01-01T00:00:00.000000Z");
}

static void test_bytes(void)
{
	char buf[32];

	CHECK_STR(nl_fmt_bytes(0, buf, sizeof(buf)), "0B");
	CHECK_STR(nl_fmt_bytes(1023, buf, sizeof(buf)), "1023B");
	CHECK_STR(nl_fmt_bytes(1024, buf, sizeof(buf)), "1.0K");
	CHECK_STR(nl_fmt_bytes(100000, buf, sizeof(buf)), "97.7K");
	CHECK_STR(nl_fmt_bytes(3ULL << 30, buf, sizeof(buf)), "3.0G");
	CHECK_STR(nl_fmt_bytes(~0ULL, buf, sizeof(buf)), "16.0E");
}

static void test_usecs(void)
{
	char buf[32];

	CHECK_STR(nl_fmt_usecs(0, buf, sizeof(buf)), "0us");
	CHECK_STR(nl_fmt_usecs(152, buf, sizeof(buf)), "152us");
	CHECK_STR(nl_fmt_usecs(1532, buf, sizeof(buf)), "1.53ms");
	CHECK_STR(nl_fmt_usecs(2500000, buf, sizeof(buf)), "2.50s");
	CHECK_STR(nl_fmt_usecs(125000000, buf, sizeof(buf)), "2m05s");
}

static void test_comm(void)
{
	char buf[NL_COMM_LEN + 1];

	CHECK_STR(nl_fmt_comm("curl", buf, sizeof(buf)), "curl");
	CHECK_STR(nl_fmt_comm("a\nb\tc\x7f", buf, sizeof(buf)), "a?b?c?");
	/* Sixteen bytes without a terminator stay sixteen. */
	CHECK_STR(nl_fmt_comm("0123456789abcdefXYZ", buf, sizeof(buf)), "0123456789abcdef");
	CHECK_STR(nl_fmt_comm("0123456789", buf, 4), "012");
}

static void test_errno_names(void)
{
	char buf[32];

	CHECK_STR(nl_errno_name(ECONNREFUSED, buf, sizeof(buf)), "ECONNREFUSED");
	CHECK_STR(nl_errno_name(ETIMEDOUT, buf, sizeof(buf)), "ETIMEDOUT");
	CHECK_STR(nl_errno_name(EHOSTUNREACH, buf, sizeof(buf)), "EHOSTUNREACH");
	CHECK_STR(nl_errno_name(9999, buf, sizeof(buf)), "E9999");
	CHECK_STR(nl_errno_name(0, buf, sizeof(buf)), "E0");
}

static void test_tcp_states(void)
{
	CHECK_STR(nl_tcp_state_name(1), "ESTABLISHED");
	CHECK_STR(nl_tcp_state_name(9), "LAST_ACK");
	CHECK_STR(nl_tcp_state_name(12), "NEW_SYN_RECV");
	CHECK_STR(nl_tcp_state_name(0), "UNKNOWN");
	CHECK_STR(nl_tcp_state_name(13), "UNKNOWN");
	CHECK_STR(nl_tcp_state_name(-1), "UNKNOWN");
}

int main(void)
{
	RUN(test_addresses);
	RUN(test_endpoints);
	RUN(test_rfc3339);
	RUN(test_bytes);
	RUN(test_usecs);
	RUN(test_comm);
	RUN(test_errno_names);
	RUN(test_tcp_states);
	return TEST_SUMMARY();
}
