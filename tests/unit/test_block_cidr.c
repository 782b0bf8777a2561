// SPDX-License-Identifier: GPL-2.0
/* netlens block's rule words: CIDRs parsed strictly, rules written back. */
#include "check.h"
#include "block/block.h"

static int parse(const char *s, struct block_spec *r, char *err)
{
	memset(r, 0, sizeof(*r));
	return block_parse_cidr(s, r, err, 256);
}

static void test_valid(void)
{
	struct block_spec r;
	char err[256], text[96];

	CHECK(parse("10.1.0.0/16", &r, err) == 0 && r.family == 4 && r.prefixlen == 16);
	CHECK(r.addr[0] == 10 && r.addr[1] == 1 && r.addr[2] == 0);
	CHECK(parse("192.0.2.7", &r, err) == 0 && r.prefixlen == 32);
	CHECK(parse("0.0.0.0/0", &r, err) == 0 && r.prefixlen == 0);
	CHECK(parse("2001:db8::/32", &r, err) == 0 && r.family == 6 && r.prefixlen == 32);
	CHECK(parse("fd00::1", &r, err) == 0 && r.prefixlen == 128);
	CHECK(parse("::/0", &r, err) == 0 && r.family == 6 && r.prefixlen == 0);
	parse("10.2.0.0/24", &r, err);
	r.proto = 17;
	r.port = 53;
	block_spec_text(&r, text, sizeof(text));
	CHECK_STR(text, "10.2.0.0/24 udp port 53");
	parse("fd00:232::/64", &r, err);
	r.proto = 58;
	block_spec_text(&r, text, sizeof(text));
	CHECK_STR(text, "fd00:232::/64 icmpv6");
}

static void test_invalid(void)
{
	struct block_spec r;
	char err[256];

	CHECK(parse("10.0.0.5/24", &r, err) == -1);
	CHECK_STR(err, "'10.0.0.5/24' has bits set past its /24 prefix");
	CHECK(parse("10.0.0.0/33", &r, err) == -1);
	CHECK_STR(err, "'10.0.0.0/33' is not a CIDR: the prefix length is 0 to 32");
	CHECK(parse("fd00::/129", &r, err) == -1);
	CHECK(parse("10.0.0.0/", &r, err) == -1);
	CHECK(parse("10.0.0.0/x", &r, err) == -1);
	CHECK(parse("fd00::1/64", &r, err) == -1);
	CHECK(parse("", &r, err) == -1);
	CHECK(parse("10.1.2.300/24", &r, err) == -1);
	CHECK_STR(err, "'10.1.2.300/24' is not a CIDR (A.B.C.D/N or an IPv6 prefix)");
	CHECK(parse("not-an-address-but-a-very-long-word-that-goes-on-and-on/8", &r, err) == -1);
	CHECK(strlen(err) < 120);
}

int main(void)
{
	RUN(test_valid);
	RUN(test_invalid);
	return TEST_SUMMARY();
}
