/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Request/response matching per socket, from the kernel's records
 * (src/http/http_abi.h): a request begins where the client writes (the
 * server reads) after the other side spoke, its response where the other
 * direction begins; the response's size is known when the next request
 * begins or the socket closes, and that is when its exchange is handed on.
 * Pipelined requests (several in one message) and their responses are split
 * where the captured bytes show each one's size (the protocol's message_len).
 * Without BPF: unit-tested with records built by hand.
 */
#ifndef NETLENS_HTTP_MATCH_H
#define NETLENS_HTTP_MATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>
#include "http/http_proto.h"

/* Why an exchange has no response. */
enum http_failure {
	HTTP_FAIL_NONE,
	HTTP_FAIL_RESET,           /* the peer reset the connection first */
	HTTP_FAIL_CLOSED,          /* closed first */
	HTTP_FAIL_PENDING,         /* netlens stopped first */
	HTTP_FAIL_UNSEEN,          /* pipelined: its answer began past the bytes captured */
};

#define HTTP_PIPELINE 16           /* requests in flight per connection followed */

struct http_exchange {
	const struct http_proto *proto;
	uint64_t ts;               /* the request's first byte (CLOCK_MONOTONIC ns) */
	struct nl_sock_id id;
	struct nl_owner owner;     /* who made the request's first call */
	bool server;               /* side: the socket was accepted */
	bool tls;
	struct http_req req;
	bool answered;
	struct http_resp resp;     /* valid if answered */
	uint64_t duration_us;      /* request's first byte -> response's first byte; if answered */
	uint64_t req_bytes;
	uint64_t resp_bytes;       /* if answered */
	bool resp_bytes_known;     /* false: netlens stopped before the response ended */
	enum http_failure failure;
};

/*
 * q[0..nreq): the requests of the last request message, in order; answered:
 * a response message followed. starts[i]: where the i-th request (then its
 * response) begins in its message, HTTP_START_UNKNOWN if not seen.
 */
#define HTTP_START_UNKNOWN UINT64_MAX
struct http_conn {
	uint64_t sk;
	uint8_t nreq;
	bool answered;
	struct http_exchange q[HTTP_PIPELINE];
	uint64_t starts[HTTP_PIPELINE];
	UT_hash_handle hh;
};

struct http_match_counts {
	uint64_t unparsed;         /* a message its protocol's parser refused, or a pipelined
	                              request cut at the captured bytes' end or beyond
	                              HTTP_PIPELINE in flight */
	uint64_t unmatched;        /* a response with no request before it */
};

struct http_match {
	struct http_conn *conns;
	bool full_path;
	struct http_match_counts counts;
	void (*emit)(void *ctx, const struct http_exchange *x);
	void *ctx;
};

/* One kernel record; calls emit for each exchange it ends. 0 or -ENOMEM. */
int http_match_event(struct http_match *m, const struct http_event *e);
/* netlens stops: every request still open is handed on (failure PENDING if unanswered). */
void http_match_flush(struct http_match *m);
void http_match_free(struct http_match *m);

#endif
