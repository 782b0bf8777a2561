// SPDX-License-Identifier: GPL-2.0
/* IPFIX (RFC 7011) messages: templates, data sets, sequence numbers; UDP export. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "framework/cli.h"
#include "output/ipfix.h"
#include "output/prom.h"

#define IPFIX_VERSION     10
#define MSG_HDR_LEN       16
#define SET_HDR_LEN       4
#define TEMPLATE_SET_ID   2

/* Information elements (IANA IPFIX registry, RFC 7012). */
enum ie {
	IE_OCTET_DELTA = 1, IE_PACKET_DELTA = 2, IE_PROTOCOL = 4, IE_TCP_FLAGS = 6,
	IE_SRC_PORT = 7, IE_SRC_V4 = 8, IE_INGRESS_IF = 10, IE_DST_PORT = 11, IE_DST_V4 = 12,
	IE_EGRESS_IF = 14, IE_SRC_V6 = 27, IE_DST_V6 = 28, IE_ICMP_V4 = 32, IE_VLAN = 58,
	IE_DIRECTION = 61, IE_ICMP_V6 = 139, IE_START_MS = 152, IE_END_MS = 153,
};

struct field {
	uint16_t ie, len;
};

#define FIELDS(src, dst, alen, icmp)                                                   \
	{ src, alen }, { dst, alen }, { IE_SRC_PORT, 2 }, { IE_DST_PORT, 2 },          \
	{ IE_PROTOCOL, 1 }, { IE_TCP_FLAGS, 2 }, { icmp, 2 }, { IE_INGRESS_IF, 4 },    \
	{ IE_EGRESS_IF, 4 }, { IE_VLAN, 2 }, { IE_DIRECTION, 1 }, { IE_OCTET_DELTA, 8 }, \
	{ IE_PACKET_DELTA, 8 }, { IE_START_MS, 8 }, { IE_END_MS, 8 }

static const struct field v4_fields[] = { FIELDS(IE_SRC_V4, IE_DST_V4, 4, IE_ICMP_V4) };
static const struct field v6_fields[] = { FIELDS(IE_SRC_V6, IE_DST_V6, 16, IE_ICMP_V6) };
#define NFIELDS (sizeof(v4_fields) / sizeof(v4_fields[0]))

static const struct template {
	uint16_t id, rec_len;
	const struct field *fields;
} templates[] = {
	{ IPFIX_TMPL_V4, IPFIX_REC_V4_LEN, v4_fields },
	{ IPFIX_TMPL_V6, IPFIX_REC_V6_LEN, v6_fields },
};

#define TEMPLATE_SET_LEN (SET_HDR_LEN + 2 * (4 + 4 * NFIELDS))

static void put_be(uint8_t *p, uint64_t v, unsigned int len)
{
	for (unsigned int i = len; i > 0; i--, v >>= 8)
		p[i - 1] = v & 0xff;
}

static uint64_t field_value(uint16_t ie, const struct ipfix_record *r)
{
	switch (ie) {
	case IE_OCTET_DELTA: return r->octets;
	case IE_PACKET_DELTA: return r->packets;
	case IE_PROTOCOL: return r->proto;
	case IE_TCP_FLAGS: return r->tcp_flags;
	case IE_SRC_PORT: return r->sport;
	case IE_DST_PORT: return r->dport;
	case IE_INGRESS_IF: return r->ingress_if;
	case IE_EGRESS_IF: return r->egress_if;
	case IE_ICMP_V4:
	case IE_ICMP_V6: return r->icmp_type_code;
	case IE_VLAN: return r->vlan;
	case IE_DIRECTION: return r->direction;
	case IE_START_MS: return r->start_ms;
	case IE_END_MS: return r->end_ms;
	default: return 0;
	}
}

static void put_field(uint8_t *p, const struct field *f, const struct ipfix_record *r)
{
	switch (f->ie) {
	case IE_SRC_V4:
	case IE_SRC_V6:
		memcpy(p, r->saddr, f->len);
		break;
	case IE_DST_V4:
	case IE_DST_V6:
		memcpy(p, r->daddr, f->len);
		break;
	default:
		put_be(p, field_value(f->ie, r), f->len);
	}
}

void ipfix_init(struct ipfix *x, uint32_t domain, ipfix_send_fn send, void *ctx)
{
	memset(x, 0, sizeof(*x));
	x->domain = domain;
	x->refresh_s = IPFIX_TEMPLATE_REFRESH;
	x->send = send;
	x->send_ctx = ctx;
	x->fd = -1;
}

static void close_set(struct ipfix *x)
{
	if (!x->set_off)
		return;
	put_be(x->buf + x->set_off + 2, x->len - x->set_off, 2);
	x->set_off = 0;
}

/* Sends the open message. The sequence number counts data records only (RFC 7011 3.1). */
static void flush(struct ipfix *x)
{
	int err;

	if (!x->len)
		return;
	close_set(x);
	put_be(x->buf, IPFIX_VERSION, 2);
	put_be(x->buf + 2, x->len, 2);
	put_be(x->buf + 4, x->export_s, 4);
	put_be(x->buf + 8, x->seq, 4);
	put_be(x->buf + 12, x->domain, 4);
	err = x->send(x->send_ctx, x->buf, x->len);
	x->messages++;
	x->last_error = err;
	if (err)
		x->send_errors++;
	/* Counted even when the send failed: the collector sees the gap. */
	x->seq += x->msg_records;
	x->msg_records = 0;
	x->len = 0;
}

/* Closes the open set and opens one with this id, in a new message if need bytes do not fit. */
static void open_set(struct ipfix *x, uint16_t set_id, size_t need)
{
	close_set(x);
	if (x->len && x->len + SET_HDR_LEN + need > IPFIX_MAX_MSG)
		flush(x);
	if (!x->len)
		x->len = MSG_HDR_LEN;
	x->set_off = x->len;
	x->set_id = set_id;
	put_be(x->buf + x->len, set_id, 2);
	x->len += SET_HDR_LEN;
}

/* Room for need more bytes in a set with this id. */
static uint8_t *reserve(struct ipfix *x, uint16_t set_id, size_t need)
{
	uint8_t *p;

	if (!x->set_off || x->set_id != set_id || x->len + need > IPFIX_MAX_MSG)
		open_set(x, set_id, need);
	p = x->buf + x->len;
	x->len += need;
	return p;
}

static void write_templates(struct ipfix *x)
{
	uint8_t *p = reserve(x, TEMPLATE_SET_ID, TEMPLATE_SET_LEN - SET_HDR_LEN);

	for (size_t t = 0; t < sizeof(templates) / sizeof(templates[0]); t++) {
		put_be(p, templates[t].id, 2);
		put_be(p + 2, NFIELDS, 2);
		p += 4;
		for (size_t i = 0; i < NFIELDS; i++, p += 4) {
			put_be(p, templates[t].fields[i].ie, 2);
			put_be(p + 2, templates[t].fields[i].len, 2);
		}
	}
}

void ipfix_begin(struct ipfix *x, uint32_t export_s)
{
	flush(x);
	x->export_s = export_s;
	if (x->templates_sent && export_s - x->templates_at < x->refresh_s)
		return;
	write_templates(x);
	x->templates_sent = true;
	x->templates_at = export_s;
}

void ipfix_add(struct ipfix *x, const struct ipfix_record *r)
{
	const struct template *t = &templates[r->family == 6];
	uint8_t *p = reserve(x, t->id, t->rec_len);

	for (size_t i = 0; i < NFIELDS; i++) {
		put_field(p, &t->fields[i], r);
		p += t->fields[i].len;
	}
	x->msg_records++;
	if (r->family == 6)
		x->records_v6++;
	else
		x->records_v4++;
}

void ipfix_end(struct ipfix *x)
{
	flush(x);
}

int ipfix_parse_dest(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
		     size_t errlen)
{
	if (!nl_parse_endpoint(s, ss, sslen))
		return 0;
	snprintf(err, errlen, "'%s' is not a collector address: A.B.C.D:PORT or [IPv6]:PORT, "
		 "numeric, port 1-65535", nl_echo(s));
	return -1;
}

/*
 * Unconnected on purpose: a connected UDP socket turns an ICMP port
 * unreachable into ECONNREFUSED on the next send, which drops that message,
 * so every other message would fail while a collector is down. Errors here
 * are local ones (no route, full buffer); delivery is the collector's to
 * check (sequence numbers).
 */
static int send_udp(void *ctx, const uint8_t *msg, size_t len)
{
	struct ipfix *x = ctx;

	/* Never block the event loop: a full socket buffer is a send error. */
	if (sendto(x->fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&x->dest, x->dest_len) < 0)
		return -errno;
	return 0;
}

int ipfix_open(struct ipfix *x, uint32_t domain, const struct sockaddr *dest, socklen_t len)
{
	ipfix_init(x, domain, send_udp, x);
	if (len > sizeof(x->dest))
		return -EINVAL;
	memcpy(&x->dest, dest, len);
	x->dest_len = len;
	x->fd = socket(dest->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return x->fd < 0 ? -errno : 0;
}

void ipfix_close(struct ipfix *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

void ipfix_metrics(const struct ipfix *x, struct nl_prom *p)
{
	nl_prom_family(p, "netlens_ipfix_messages_total", NL_PROM_COUNTER,
		       "IPFIX messages sent to the collector (including failed sends)");
	nl_prom_family(p, "netlens_ipfix_records_total", NL_PROM_COUNTER,
		       "IPFIX data records exported, by template");
	nl_prom_family(p, "netlens_ipfix_send_errors_total", NL_PROM_COUNTER,
		       "IPFIX messages the socket refused (the collector sees a sequence gap)");
	nl_prom_counter(p, "netlens_ipfix_messages_total", "", x->messages);
	nl_prom_counter(p, "netlens_ipfix_records_total", "template=\"ipv4\"", x->records_v4);
	nl_prom_counter(p, "netlens_ipfix_records_total", "template=\"ipv6\"", x->records_v6);
	nl_prom_counter(p, "netlens_ipfix_send_errors_total", "", x->send_errors);
}
