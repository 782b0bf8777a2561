// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include "dns/dns_parse.h"
#include "output/format.h"

#define MAX_POINTERS   64     /* a name needs at most 127 labels; more jumps is a loop */
#define NAME_WIRE_MAX  255
#define RR_FIXED_LEN   10     /* type, class, ttl, rdlength */
#define RR_MIN_LEN     (1 + RR_FIXED_LEN)   /* with the root name */
#define GENERIC_MAX    256    /* rdata bytes shown in the RFC 3597 form */

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_MX = 15, T_TXT = 16,
       T_AAAA = 28, T_SRV = 33, T_NAPTR = 35, T_DNAME = 39, T_OPT = 41, T_DS = 43,
       T_RRSIG = 46, T_NSEC = 47, T_DNSKEY = 48, T_SVCB = 64, T_HTTPS = 65, T_ANY = 255,
       T_CAA = 257 };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends a label in presentation form: '.' and '\' escaped, other bytes outside '!'..'~' as \DDD. */
static void put_label(const uint8_t *label, size_t n, char *out, size_t *o)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = label[i];

		if (c == '.' || c == '\\') {
			out[(*o)++] = '\\';
			out[(*o)++] = c;
		} else if (c < '!' || c > '~') {
			*o += sprintf(out + *o, "\\%03u", c);
		} else {
			out[(*o)++] = c;
		}
	}
	out[(*o)++] = '.';
}

/*
 * Reads the name at *off (compressed or not) into out, and moves *off past
 * it. 255 wire bytes escape to at most 4 * 255 characters: out is large enough.
 */
static enum dns_err read_name(const uint8_t *buf, size_t len, size_t *off, char *out)
{
	size_t pos = *off, wire = 1, o = 0;
	int pointers = 0;
	bool jumped = false;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return DNS_ERR_TRUNCATED;
		c = buf[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return DNS_ERR_TRUNCATED;
			target = (size_t)(c & 0x3f) << 8 | buf[pos + 1];
			if (target >= len)
				return DNS_ERR_POINTER_BOUNDS;
			if (++pointers > MAX_POINTERS)
				return DNS_ERR_POINTER_LOOP;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		if (c & 0xc0)
			return DNS_ERR_LABEL_TYPE;
		if (c == 0)
			break;
		if (pos + 1 + c > len)
			return DNS_ERR_TRUNCATED;
		wire += 1 + c;
		if (wire > NAME_WIRE_MAX)
			return DNS_ERR_NAME_LONG;
		put_label(buf + pos + 1, c, out, &o);
		pos += 1 + c;
	}
	if (!jumped)
		*off = pos + 1;
	if (o)
		out[o - 1] = '\0';   /* no final dot */
	else
		strcpy(out, ".");
	return DNS_OK;
}

static void generic_rdata(const uint8_t *p, uint16_t n, char *out)
{
	size_t o = sprintf(out, "\\# %u", n);

	if (n && n <= GENERIC_MAX) {
		out[o++] = ' ';
		for (uint16_t i = 0; i < n; i++)
			o += sprintf(out + o, "%02x", p[i]);
	}
}

/* An answer's data as text, for the types a user reads; others in the RFC 3597 form. */
static enum dns_err read_rdata(const uint8_t *buf, size_t len, size_t off, uint16_t rdlen,
			       struct dns_rr *rr)
{
	char name[DNS_NAME_MAX];
	size_t end = off + rdlen, pos = off;
	enum dns_err err;

	switch (rr->type) {
	case T_A:
	case T_AAAA:
		if (rdlen != (rr->type == T_A ? 4 : 16))
			return DNS_ERR_RDATA;
		nl_fmt_addr(rr->type == T_A ? 4 : 6, buf + off, rr->data, sizeof(rr->data));
		return DNS_OK;
	case T_CNAME:
	case T_NS:
	case T_PTR:
	case T_DNAME:
	case T_MX:
		if (rr->type == T_MX) {
			if (rdlen < 3)
				return DNS_ERR_RDATA;
			pos += 2;
		}
		err = read_name(buf, len, &pos, name);
		if (err)
			return err;
		if (pos != end)
			return DNS_ERR_RDATA;
		if (rr->type == T_MX)
			snprintf(rr->data, sizeof(rr->data), "%u %.580s", get16(buf + off), name);
		else
			snprintf(rr->data, sizeof(rr->data), "%.599s", name);
		return DNS_OK;
	default:
		generic_rdata(buf + off, rdlen, rr->data);
		return DNS_OK;
	}
}

/* One resource record at *off; rr NULL to skip it. */
static enum dns_err read_rr(const uint8_t *buf, size_t len, size_t *off, struct dns_rr *rr)
{
	char scratch[DNS_NAME_MAX];
	uint16_t rdlen;
	enum dns_err err;

	err = read_name(buf, len, off, rr ? rr->name : scratch);
	if (err)
		return err;
	if (*off + RR_FIXED_LEN > len)
		return DNS_ERR_TRUNCATED;
	rdlen = get16(buf + *off + 8);
	if (*off + RR_FIXED_LEN + rdlen > len)
		return DNS_ERR_TRUNCATED;
	if (rr) {
		rr->type = get16(buf + *off);
		rr->class = get16(buf + *off + 2);
		rr->ttl = get32(buf + *off + 4);
		err = read_rdata(buf, len, *off + RR_FIXED_LEN, rdlen, rr);
		if (err)
			return err;
	}
	*off += RR_FIXED_LEN + rdlen;
	return DNS_OK;
}

static void read_header(const uint8_t *buf, struct dns_msg *m)
{
	uint16_t flags = get16(buf + 2);

	m->id = get16(buf);
	m->qr = flags >> 15;
	m->opcode = (flags >> 11) & 0xf;
	m->tc = (flags >> 9) & 1;
	m->rcode = flags & 0xf;
	m->qdcount = get16(buf + 4);
	m->ancount = get16(buf + 6);
	m->nscount = get16(buf + 8);
	m->arcount = get16(buf + 10);
}

enum dns_err dns_parse(const uint8_t *buf, size_t len, size_t full_len, struct dns_msg *m)
{
	size_t off = DNS_HEADER_LEN, records;
	enum dns_err err;

	m->n_answers = m->answers_dropped = 0;
	m->partial = false;
	m->qname[0] = '\0';
	m->qtype = m->qclass = 0;
	if (full_len < len)
		full_len = len;
	if (len < DNS_HEADER_LEN)
		return DNS_ERR_SHORT_HEADER;
	read_header(buf, m);
	if (m->qdcount != 1)
		return DNS_ERR_COUNTS;
	err = read_name(buf, len, &off, m->qname);
	if (err)
		return err;
	if (off + 4 > len)
		return DNS_ERR_TRUNCATED;
	m->qtype = get16(buf + off);
	m->qclass = get16(buf + off + 2);
	off += 4;
	/* Every record takes at least 11 bytes: counts the message cannot hold are lies. */
	records = (size_t)m->ancount + m->nscount + m->arcount;
	if (records * RR_MIN_LEN > full_len - off)
		return DNS_ERR_COUNTS;
	for (unsigned int i = 0; i < m->ancount; i++) {
		struct dns_rr *rr = m->n_answers < DNS_ANSWERS_MAX ? &m->answers[m->n_answers] : NULL;

		err = read_rr(buf, len, &off, rr);
		if (err == DNS_ERR_TRUNCATED && len < full_len) {
			/* Cut by the capture, not malformed: keep what was read. */
			m->partial = true;
			return DNS_OK;
		}
		if (err)
			return err;
		if (rr)
			m->n_answers++;
		else
			m->answers_dropped++;
	}
	return DNS_OK;
}

const char *dns_err_name(enum dns_err err)
{
	static const char *const names[DNS_ERR_COUNT_] = {
		[DNS_OK] = "ok", [DNS_ERR_SHORT_HEADER] = "short_header",
		[DNS_ERR_COUNTS] = "bad_counts", [DNS_ERR_TRUNCATED] = "truncated",
		[DNS_ERR_POINTER_LOOP] = "pointer_loop", [DNS_ERR_POINTER_BOUNDS] = "pointer_bounds",
		[DNS_ERR_LABEL_TYPE] = "label_type", [DNS_ERR_NAME_LONG] = "name_too_long",
		[DNS_ERR_RDATA] = "bad_rdata",
	};

	return (unsigned int)err < DNS_ERR_COUNT_ ? names[err] : "unknown";
}

/* In dns_type_slot()'s order. */
static const struct { uint16_t type; const char *name; } type_names[DNS_TYPE_NAMED] = {
	{ T_A, "A" }, { T_NS, "NS" }, { T_CNAME, "CNAME" }, { T_SOA, "SOA" },
	{ T_PTR, "PTR" }, { T_MX, "MX" }, { T_TXT, "TXT" }, { T_AAAA, "AAAA" },
	{ T_SRV, "SRV" }, { T_NAPTR, "NAPTR" }, { T_DNAME, "DNAME" }, { T_OPT, "OPT" },
	{ T_DS, "DS" }, { T_RRSIG, "RRSIG" }, { T_NSEC, "NSEC" }, { T_DNSKEY, "DNSKEY" },
	{ T_SVCB, "SVCB" }, { T_HTTPS, "HTTPS" }, { T_ANY, "ANY" }, { T_CAA, "CAA" },
};

const char *dns_type_slot_name(unsigned int slot)
{
	return slot < DNS_TYPE_NAMED ? type_names[slot].name : "other";
}

const char *dns_type_name(uint16_t type, char *buf, size_t len)
{
	unsigned int slot = dns_type_slot(type);

	if (slot < DNS_TYPE_NAMED)
		return type_names[slot].name;
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

const char *dns_rcode_name(uint8_t rcode, char *buf, size_t len)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	};

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, len, "RCODE%u", rcode);
	return buf;
}
