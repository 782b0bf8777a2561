// SPDX-License-Identifier: GPL-2.0
/* The DNS parser: real answers, compression, and every kind of malformed message. */
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "dns/dns_parse.h"

/* A message under construction. */
struct buf {
	uint8_t b[2048];
	size_t n;
};

static void put(struct buf *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(struct buf *m, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(m, b, 2);
}

static void put32(struct buf *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void header(struct buf *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
		   uint16_t ns, uint16_t ar)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* "www.example.com" as labels. */
static void name(struct buf *m, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
		uint8_t len = n;

		put(m, &len, 1);
		put(m, dotted, n);
		dotted += n + (dot ? 1 : 0);
	}
	put(m, "", 1);
}

static void question(struct buf *m, const char *qname, uint16_t qtype)
{
	name(m, qname);
	put16(m, qtype);
	put16(m, 1);
}

/* An answer whose owner is a pointer to offset 12 (the question's name). */
static void rr_ptr_owner(struct buf *m, uint16_t type, uint32_t ttl, const void *rdata,
			 uint16_t rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlen);
	put(m, rdata, rdlen);
}

static struct dns_msg msg;

static enum dns_err parse(const struct buf *m)
{
	return dns_parse(m->b, m->n, m->n, &msg);
}

static void test_query(void)
{
	struct buf m;

	header(&m, 0xbeef, 0x0100, 1, 0, 0, 0);
	question(&m, "www.example.com", 28);
	CHECK(parse(&m) == DNS_OK);
	CHECK(msg.id == 0xbeef && !msg.qr && msg.rcode == 0 && msg.opcode == 0);
	CHECK_STR(msg.qname, "www.example.com");
	CHECK(msg.qtype == 28 && msg.qclass == 1 && msg.n_answers == 0);
}

static void test_a_aaaa_answers(void)
{
	static const uint8_t a[4] = { 10, 9, 8, 7 };
	static const uint8_t aaaa[16] = { 0xfd, 0, 0, 0x98, [15] = 7 };
	struct buf m;

	header(&m, 1, 0x8180, 1, 2, 0, 0);
	question(&m, "a.test", 1);
	rr_ptr_owner(&m, 1, 300, a, 4);
	rr_ptr_owner(&m, 28, 60, aaaa, 16);
	CHECK(parse(&m) == DNS_OK);
	CHECK(msg.qr && msg.rcode == 0 && msg.n_answers == 2 && !msg.partial);
	CHECK_STR(msg.answers[0].name, "a.test");
	CHECK(msg.answers[0].type == 1 && msg.answers[0].ttl == 300);
	CHECK_STR(msg.answers[0].data, "10.9.8.7");
	CHECK_STR(msg.answers[1].data, "fd00:98::7");
}

static void test_cname_chain_compressed(void)
{
	struct buf m;
	size_t second;

	header(&m, 2, 0x8180, 1, 2, 0, 0);
	question(&m, "c.test", 1);
	/* c.test CNAME d.<pointer to "test" at 14> */
	put16(&m, 0xc00c);
	put16(&m, 5);
	put16(&m, 1);
	put32(&m, 10);
	put16(&m, 4);
	second = m.n;
	put(&m, "\x01" "d" "\xc0\x0e", 4);
	/* d.test (pointer to the rdata above) A 1.2.3.4 */
	put16(&m, 0xc000 | second);
	put16(&m, 1);
	put16(&m, 1);
	put32(&m, 10);
	put16(&m, 4);
	put(&m, "\x01\x02\x03\x04", 4);
	CHECK(parse(&m) == DNS_OK);
	CHECK(msg.n_answers == 2);
	CHECK_STR(msg.answers[0].data, "d.test");
	CHECK_STR(msg.answers[1].name, "d.test");
	CHECK_STR(msg.answers[1].data, "1.2.3.4");
}

static void test_nxdomain_and_rcode_names(void)
{
	char buf[16];
	struct buf m;

	header(&m, 3, 0x8183, 1, 0, 0, 0);
	question(&m, "nope.test", 1);
	CHECK(parse(&m) == DNS_OK);
	CHECK(msg.rcode == 3);
	CHECK_STR(dns_rcode_name(msg.rcode, buf, sizeof(buf)), "NXDOMAIN");
	CHECK_STR(dns_rcode_name(2, buf, sizeof(buf)), "SERVFAIL");
	CHECK_STR(dns_rcode_name(12, buf, sizeof(buf)), "RCODE12");
	CHECK_STR(dns_type_name(65, buf, sizeof(buf)), "HTTPS");
	CHECK_STR(dns_type_name(999, buf, sizeof(buf)), "TYPE999");
}

static void test_other_types(void)
{
	struct buf m;

	header(&m, 4, 0x8180, 1, 2, 0, 0);
	question(&m, "x.test", 15);
	rr_ptr_owner(&m, 15, 1, "\x00\x0a\xc0\x0c", 4);          /* MX 10 x.test */
	rr_ptr_owner(&m, 99, 1, "\xde\xad", 2);                  /* unknown: RFC 3597 */
	CHECK(parse(&m) == DNS_OK);
	CHECK_STR(msg.answers[0].data, "10 x.test");
	CHECK_STR(msg.answers[1].data, "\\# 2 dead");
}

static void test_escaped_names_and_root(void)
{
	struct buf m;

	header(&m, 5, 0x0100, 1, 0, 0, 0);
	put(&m, "\x03" "a.b" "\x02" "\x01\"" "\x00", 8);
	put16(&m, 1);
	put16(&m, 1);
	CHECK(parse(&m) == DNS_OK);
	CHECK_STR(msg.qname, "a\\.b.\\001\"");
	header(&m, 6, 0x0100, 1, 0, 0, 0);
	question(&m, "", 2);
	CHECK(parse(&m) == DNS_OK);
	CHECK_STR(msg.qname, ".");
}

static void test_capture_cut_is_partial(void)
{
	static const uint8_t a[4] = { 1, 1, 1, 1 };
	struct buf m;

	header(&m, 7, 0x8180, 1, 3, 0, 0);
	question(&m, "p.test", 1);
	rr_ptr_owner(&m, 1, 1, a, 4);
	rr_ptr_owner(&m, 1, 1, a, 4);
	rr_ptr_owner(&m, 1, 1, a, 4);
	/* Only 1.5 answers captured of a longer message. */
	CHECK(dns_parse(m.b, m.n - 20, m.n, &msg) == DNS_OK);
	CHECK(msg.partial && msg.n_answers == 1);
	/* The same bytes as a whole message: 3 records cannot fit in 28 bytes. */
	CHECK(dns_parse(m.b, m.n - 20, m.n - 20, &msg) == DNS_ERR_COUNTS);
	/* They could in 44, but the last one is cut: truncated. */
	CHECK(dns_parse(m.b, m.n - 4, m.n - 4, &msg) == DNS_ERR_TRUNCATED);
}

static void test_many_answers_kept_bounded(void)
{
	static const uint8_t a[4] = { 1, 2, 3, 4 };
	struct buf m;

	header(&m, 8, 0x8180, 1, DNS_ANSWERS_MAX + 4, 0, 0);
	question(&m, "m.test", 1);
	for (int i = 0; i < DNS_ANSWERS_MAX + 4; i++)
		rr_ptr_owner(&m, 1, 1, a, 4);
	CHECK(parse(&m) == DNS_OK);
	CHECK(msg.n_answers == DNS_ANSWERS_MAX && msg.answers_dropped == 4);
}

static void test_malformed(void)
{
	struct buf m;

	m.n = 11;
	memset(m.b, 0, sizeof(m.b));
	CHECK(parse(&m) == DNS_ERR_SHORT_HEADER);

	header(&m, 9, 0x0100, 0, 0, 0, 0);
	CHECK(parse(&m) == DNS_ERR_COUNTS);             /* no question */
	header(&m, 9, 0x0100, 2, 0, 0, 0);
	question(&m, "a.test", 1);
	question(&m, "b.test", 1);
	CHECK(parse(&m) == DNS_ERR_COUNTS);             /* two questions */
	header(&m, 9, 0x8180, 1, 0xffff, 0xffff, 0xffff);
	question(&m, "a.test", 1);
	CHECK(parse(&m) == DNS_ERR_COUNTS);             /* 196605 records in 0 bytes */

	header(&m, 9, 0x0100, 1, 0, 0, 0);
	put(&m, "\x05" "ab", 3);
	CHECK(parse(&m) == DNS_ERR_TRUNCATED);          /* label past the end */
	header(&m, 9, 0x0100, 1, 0, 0, 0);
	question(&m, "a.test", 1);
	m.n -= 2;
	CHECK(parse(&m) == DNS_ERR_TRUNCATED);          /* question without its class */

	header(&m, 9, 0x0100, 1, 0, 0, 0);
	put16(&m, 0xc00c);
	CHECK(parse(&m) == DNS_ERR_POINTER_LOOP);       /* points at itself */
	header(&m, 9, 0x0100, 1, 0, 0, 0);
	put(&m, "\x01" "a" "\xc0\x0c", 4);
	CHECK(parse(&m) == DNS_ERR_POINTER_LOOP);       /* a label, then back to it */
	header(&m, 9, 0x0100, 1, 0, 0, 0);
	put16(&m, 0xc000 | 0x3fff);
	CHECK(parse(&m) == DNS_ERR_POINTER_BOUNDS);
	header(&m, 9, 0x0100, 1, 0, 0, 0);
	put(&m, "\xc0", 1);
	CHECK(parse(&m) == DNS_ERR_TRUNCATED);          /* half a pointer */
	header(&m, 9, 0x0100, 1, 0, 0, 0);
	put(&m, "\x80" "x\x00", 3);
	CHECK(parse(&m) == DNS_ERR_LABEL_TYPE);

	/* 5 labels of 63 bytes: 320 wire bytes. */
	header(&m, 9, 0x0100, 1, 0, 0, 0);
	for (int i = 0; i < 5; i++) {
		uint8_t l = 63;

		put(&m, &l, 1);
		memset(m.b + m.n, 'x', 63);
		m.n += 63;
	}
	put(&m, "\x00\x00\x01\x00\x01", 5);
	CHECK(parse(&m) == DNS_ERR_NAME_LONG);

	header(&m, 9, 0x8180, 1, 1, 0, 0);
	question(&m, "a.test", 1);
	rr_ptr_owner(&m, 1, 1, "\x01\x02\x03", 3);      /* A with 3 bytes */
	CHECK(parse(&m) == DNS_ERR_RDATA);
	header(&m, 9, 0x8180, 1, 1, 0, 0);
	question(&m, "a.test", 5);
	rr_ptr_owner(&m, 5, 1, "\x01" "a" "\x00" "zz", 5);   /* CNAME with bytes after the name */
	CHECK(parse(&m) == DNS_ERR_RDATA);
	header(&m, 9, 0x8180, 1, 1, 0, 0);
	question(&m, "a.test", 1);
	rr_ptr_owner(&m, 1, 1, "\x01\x02\x03\x04", 4);
	m.b[m.n - 5] = 200;                             /* rdlength past the end */
	CHECK(parse(&m) == DNS_ERR_TRUNCATED);
	CHECK_STR(dns_err_name(DNS_ERR_POINTER_LOOP), "pointer_loop");
}

/* The kernel's type slots (dns_type_slot, dns_abi.h) and the parser's names agree. */
static void test_type_slots_named(void)
{
	static const uint16_t named[DNS_TYPE_NAMED] = { 1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 39,
							41, 43, 46, 47, 48, 64, 65, 255, 257 };
	char buf[32];

	for (unsigned int i = 0; i < DNS_TYPE_NAMED; i++) {
		CHECK(dns_type_slot(named[i]) == i);
		CHECK_STR(dns_type_slot_name(i), dns_type_name(named[i], buf, sizeof(buf)));
	}
	CHECK(dns_type_slot(3) == DNS_TYPE_NAMED && dns_type_slot(0xffff) == DNS_TYPE_NAMED);
	CHECK_STR(dns_type_slot_name(DNS_TYPE_NAMED), "other");
	CHECK_STR(dns_type_name(999, buf, sizeof(buf)), "TYPE999");
}

int main(void)
{
	RUN(test_type_slots_named);
	RUN(test_query);
	RUN(test_a_aaaa_answers);
	RUN(test_cname_chain_compressed);
	RUN(test_nxdomain_and_rcode_names);
	RUN(test_other_types);
	RUN(test_escaped_names_and_root);
	RUN(test_capture_cut_is_partial);
	RUN(test_many_answers_kept_bounded);
	RUN(test_malformed);
	return TEST_SUMMARY();
}
