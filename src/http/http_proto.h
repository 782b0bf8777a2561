/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protocols netlens http reads: one parser file each (http1_parse.c,
 * resp_parse.c) and one line of http_protos[] (http_proto.c). A parser
 * gives the first bytes a connection's first request starts with (the
 * kernel's signatures) and reads a request's and a response's start from
 * the bytes the kernel copied (at most HTTP_CAPTURE, maybe cut anywhere).
 */
#ifndef NETLENS_HTTP_PROTO_H
#define NETLENS_HTTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "http/http_abi.h"

#define HTTP_METHOD_LEN 24     /* method, or Redis command name */
#define HTTP_PATH_LEN   128    /* path kept; longer ones are cut and marked */
#define HTTP_HOST_LEN   96
#define HTTP_ERROR_LEN  64     /* an error reply's first words (Redis) */

struct http_req {
	char method[HTTP_METHOD_LEN];
	char path[HTTP_PATH_LEN];        /* "" when the protocol has none */
	bool path_truncated;             /* cut at HTTP_PATH_LEN or at the captured bytes' end */
	char host[HTTP_HOST_LEN];        /* "" when absent (or past the captured bytes) */
};

struct http_resp {
	int status;                      /* HTTP status; 0 when the protocol has none */
	bool error;                      /* an error reply (Redis "-ERR ...") */
	char error_text[HTTP_ERROR_LEN];
};

struct http_proto {
	const char *name;                /* "http", "redis": the records' proto */
	/* Request starts; each at most 8 bytes. NULL-terminated. */
	const char *const *request_starts;
	/* Response starts (a server's write beginning the next pipelined answer); NULL: none. */
	const char *const *response_starts;
	/* 0, or -1 if the bytes are not this protocol's request (never guessed). */
	int (*parse_request)(const uint8_t *d, size_t n, bool full_path, struct http_req *out);
	int (*parse_response)(const uint8_t *d, size_t n, struct http_resp *out);
	/*
	 * The size of the parsed message starting at d (head and body), if its
	 * head is whole within the n bytes and says the body's size; 0 if not
	 * known. A request if answering is NULL, else the response to that
	 * request. Splits pipelined messages; NULL: one message per record.
	 */
	size_t (*message_len)(const uint8_t *d, size_t n, const struct http_req *answering);
};

extern const struct http_proto http1_proto;
extern const struct http_proto resp_proto;

/* The registry: proto number p (struct http_sig.proto) is http_protos[p - 1]. */
extern const struct http_proto *const http_protos[];

/* The protocol of a kernel record's proto number, or NULL. */
const struct http_proto *http_proto_of(uint8_t proto);
/* Every protocol's request (or response) starts as kernel signatures; how many, or -1 past max. */
int http_proto_sigs(struct http_sig *sigs, size_t max, bool response);

#endif
