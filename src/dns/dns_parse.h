/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A DNS message parser (RFC 1035, 3596) for untrusted bytes: every length,
 * count and compression pointer is checked against the buffer, and a
 * malformed message is rejected with the reason, never read out of bounds.
 */
#ifndef NETLENS_DNS_PARSE_H
#define NETLENS_DNS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dns/dns_abi.h"

#define DNS_NAME_MAX    1024   /* presentation form: 255 wire bytes, \DDD escapes */
#define DNS_DATA_MAX    600    /* an answer's data as text */
#define DNS_ANSWERS_MAX 16     /* answers kept per message; more are counted */

enum dns_err {
	DNS_OK,
	DNS_ERR_SHORT_HEADER,     /* fewer than 12 bytes */
	DNS_ERR_COUNTS,           /* not one question, or more records than bytes can hold */
	DNS_ERR_TRUNCATED,        /* a name, record or rdata runs past the end */
	DNS_ERR_POINTER_LOOP,     /* compression pointers that never end */
	DNS_ERR_POINTER_BOUNDS,   /* a compression pointer outside the message */
	DNS_ERR_LABEL_TYPE,       /* label type 0x40/0x80 (obsolete or undefined) */
	DNS_ERR_NAME_LONG,        /* a name longer than 255 bytes */
	DNS_ERR_RDATA,            /* rdata of the wrong size for its type (A, AAAA, MX) */
	DNS_ERR_COUNT_
};

struct dns_rr {
	char name[DNS_NAME_MAX];
	uint16_t type, class;
	uint32_t ttl;
	char data[DNS_DATA_MAX];  /* address, name, or RFC 3597 "\# len hex" */
};

struct dns_msg {
	uint16_t id;
	bool qr;                  /* a response */
	bool tc;                  /* the server truncated it (retry over TCP) */
	uint8_t opcode, rcode;
	uint16_t qdcount, ancount, nscount, arcount;
	char qname[DNS_NAME_MAX]; /* without the final dot; the root is "." */
	uint16_t qtype, qclass;
	unsigned int n_answers;   /* in answers[] */
	unsigned int answers_dropped;  /* beyond DNS_ANSWERS_MAX */
	bool partial;             /* the capture ended before the answers did */
	struct dns_rr answers[DNS_ANSWERS_MAX];
};

/*
 * Parses the message in buf[0..len); full_len is its length on the wire
 * (more than len when the capture was cut short: the answers that do not
 * fit are then missing, m->partial, not an error).
 */
enum dns_err dns_parse(const uint8_t *buf, size_t len, size_t full_len, struct dns_msg *m);

/* "short_header", "pointer_loop", ... for counters. */
const char *dns_err_name(enum dns_err err);
/* "A", "AAAA", "CNAME", ...; other types as "TYPE123" in buf. */
const char *dns_type_name(uint16_t type, char *buf, size_t len);

/* The types with a name have a slot for counters (dns_type_slot, dns/dns_abi.h). */
/* "A", ..., or "other" for the last slot. */
const char *dns_type_slot_name(unsigned int slot);
/* "NOERROR", "NXDOMAIN", ...; others as "RCODE12" in buf. */
const char *dns_rcode_name(uint8_t rcode, char *buf, size_t len);

#endif
