// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for netlens http in user space: every protocol's
 * request and response parser and message sizes on raw bytes (whole and cut short), and the
 * matcher and the records on kernel records built from the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "http/http.h"

static struct nl_sink sink;
static struct http_summary summary = { .by = HTTP_BY_PATH, .max_paths = 4 };

static void emit(void *ctx, const struct http_exchange *x)
{
	(void)ctx;
	http_write_exchange(&sink, x);
	http_summary_add(&summary, x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_match m = { .emit = emit };
	static int ready;
	struct http_event e;
	struct http_req req;
	struct http_resp resp;

	if (!ready) {
		nl_sink_init(&sink, NL_OUT_JSON, fopen("/dev/null", "w"));
		ready = 1;
	}
	for (int p = 0; http_protos[p]; p++) {
		for (size_t n = size; n + 16 > size && n > 0; n--) {
			http_protos[p]->parse_request(data, n, n & 1, &req);
			http_protos[p]->parse_response(data, n, &resp);
			if (http_protos[p]->message_len)
				http_protos[p]->message_len(data, n, n & 2 ? &req : NULL);
		}
	}
	/* The first byte picks the record's kind, direction and protocol; the rest is its data. */
	if (size < 1)
		return 0;
	memset(&e, 0, sizeof(e));
	e.kind = data[0] & 0x10 ? HTTP_EV_CLOSE : data[0] & 0x40 ? HTTP_EV_PART : HTTP_EV_MSG;
	e.dir = data[0] & 1 ? HTTP_DIR_SEND : HTTP_DIR_RECV;
	e.inbound = data[0] >> 1 & 1;
	e.proto = (data[0] >> 2 & 3);
	e.sk = data[0] >> 5;
	e.err = data[0] & 0x80 ? HTTP_RESET : HTTP_CLOSED;
	e.cap_len = size - 1 < HTTP_CAPTURE ? size - 1 : HTTP_CAPTURE;
	memcpy(e.data, data + 1, e.cap_len);
	e.prev_bytes = size;
	http_match_event(&m, &e);
	if (HASH_COUNT(summary.rows) > 64)
		http_summary_free(&summary);
	return 0;
}
