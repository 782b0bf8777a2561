/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IPFIX (RFC 7011) flow export over UDP for `netlens flows --ipfix`.
 *
 * The encoder packs records into messages of at most IPFIX_MAX_MSG bytes and
 * hands each finished message to a send function, so the bytes can be
 * checked without a socket. Two templates: IPFIX_TMPL_V4 and IPFIX_TMPL_V6
 * (docs/flows.md lists their information elements).
 */
#ifndef NETLENS_SRC_IPFIX_H
#define NETLENS_SRC_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define IPFIX_MAX_MSG         1400   /* bytes: fits a 1500-byte MTU with IP and UDP headers */
#define IPFIX_TEMPLATE_REFRESH 60    /* seconds between template resends (UDP loses them) */
#define IPFIX_TMPL_V4         256
#define IPFIX_TMPL_V6         257
#define IPFIX_REC_V4_LEN      60     /* bytes of one data record */
#define IPFIX_REC_V6_LEN      84

/* One data record, already in IPFIX terms. */
struct ipfix_record {
	uint8_t family;               /* 4 or 6: which template */
	uint8_t saddr[16], daddr[16]; /* IPv4 in the first 4 bytes */
	uint16_t sport, dport;        /* 0 for ICMP */
	uint16_t icmp_type_code;      /* type * 256 + code; 0 unless ICMP/ICMPv6 */
	uint8_t proto;
	uint8_t tcp_flags;
	uint8_t direction;            /* flowDirection: 0 ingress, 1 egress */
	uint32_t ingress_if, egress_if;
	uint16_t vlan;
	uint64_t octets, packets;     /* octets: IP header and payload */
	uint64_t start_ms, end_ms;    /* Unix epoch milliseconds */
};

/* Sends one finished message; returns 0 or -errno. */
typedef int (*ipfix_send_fn)(void *ctx, const uint8_t *msg, size_t len);

struct ipfix {
	uint32_t domain;              /* Observation Domain ID */
	uint32_t seq;                 /* data records sent before the open message, mod 2^32 */
	uint32_t refresh_s;           /* template resend period */
	bool templates_sent;
	uint32_t templates_at;        /* export time of the last template set */
	uint32_t export_s;            /* export time of the messages being built */
	ipfix_send_fn send;
	void *send_ctx;
	/* the message being built */
	uint8_t buf[IPFIX_MAX_MSG];
	size_t len;                   /* 0: no message open */
	size_t set_off;               /* offset of the open set's header; 0: none */
	uint16_t set_id;
	uint32_t msg_records;
	/* counters (metrics) */
	uint64_t messages, records_v4, records_v6, send_errors;
	int last_error;               /* the last send's -errno, 0 if it worked */
	/* the socket part */
	int fd;
	struct sockaddr_storage dest;
	socklen_t dest_len;
};

void ipfix_init(struct ipfix *x, uint32_t domain, ipfix_send_fn send, void *ctx);

/*
 * Starts one export at export_s (Unix seconds): the templates go first when
 * never sent or sent refresh_s or more seconds before.
 */
void ipfix_begin(struct ipfix *x, uint32_t export_s);
void ipfix_add(struct ipfix *x, const struct ipfix_record *r);
/* Sends the message still open. */
void ipfix_end(struct ipfix *x);

/*
 * "A.B.C.D:PORT" or "[IPv6]:PORT", numeric only. 0, or -1 with err set to
 * one sentence.
 */
int ipfix_parse_dest(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
		     size_t errlen);

/* The UDP exporter: a socket sending to dest; 0 or -errno. */
int ipfix_open(struct ipfix *x, uint32_t domain, const struct sockaddr *dest, socklen_t len);
void ipfix_close(struct ipfix *x);

struct nl_prom;
/* netlens_ipfix_* counters. */
void ipfix_metrics(const struct ipfix *x, struct nl_prom *p);

#endif
