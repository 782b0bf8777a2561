// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the DNS path in user space: the parser on raw bytes
 * (whole, and as a capture cut short of a longer message), and the report on
 * a kernel record built from the input (UDP or TCP framing, matching).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "dns/dns.h"

static struct dns_msg msg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_report report;
	static struct nl_sink sink;
	static int ready;
	struct dns_event e = { .ts_ns = 1, .dir = DNS_DIR_INGRESS };

	if (!ready) {
		dns_report_init(&report, 1000, 10);
		nl_sink_init(&sink, NL_OUT_JSON, fopen("/dev/null", "w"));
		ready = 1;
	}
	dns_parse(data, size, size, &msg);
	dns_parse(data, size, size + 300, &msg);

	if (size < 2)
		return 0;
	/* First byte: transport and direction; the rest is the payload. */
	e.proto = data[0] & 1 ? 6 : 17;
	e.dir = data[0] & 2 ? DNS_DIR_EGRESS : DNS_DIR_INGRESS;
	e.id.tuple.family = data[0] & 4 ? 6 : 4;
	e.id.tuple.sport = data[0] & 8 ? 53 : 4444;
	e.id.tuple.dport = data[0] & 8 ? 4444 : 53;
	e.cap_len = size - 1 < DNS_CAPTURE_MAX ? size - 1 : DNS_CAPTURE_MAX;
	e.payload_len = data[0] & 16 ? e.cap_len + 100 : e.cap_len;
	memcpy(e.data, data + 1, e.cap_len);
	/* As the kernel sends it: the record ends after the payload copied. */
	dns_report_event(&report, &sink, &e, data[0] & 32 ? sizeof(e) :
			 offsetof(struct dns_event, data) + e.cap_len);
	dns_report_expire(&report, &sink, (uint64_t)data[1] * 10);
	return 0;
}
