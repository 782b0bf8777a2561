// SPDX-License-Identifier: GPL-2.0
/* netlens http: requests matched with their responses, in order, per socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "http/http_match.h"

static struct http_conn *conn_of(struct http_match *m, uint64_t sk, bool create)
{
	struct http_conn *c;

	HASH_FIND(hh, m->conns, &sk, sizeof(sk), c);
	if (c || !create)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->sk = sk;
	HASH_ADD(hh, m->conns, sk, sizeof(c->sk), c);
	return c;
}

static void finish(struct http_match *m, struct http_conn *c)
{
	for (uint8_t i = 0; i < c->nreq; i++)
		m->emit(m->ctx, &c->q[i]);
	c->nreq = 0;
	c->answered = false;
}

/*
 * A message of total bytes held the requests (or the responses) of the
 * exchanges in flight: each one seen runs from its start to the next start
 * seen (or the message's end); one unseen has no size.
 */
static void share_bytes(struct http_conn *c, uint64_t total, bool response)
{
	for (uint8_t i = 0; i < c->nreq; i++) {
		struct http_exchange *x = &c->q[i];
		uint64_t end = total;

		if (c->starts[i] == HTTP_START_UNKNOWN)
			continue;
		for (uint8_t k = i + 1; k < c->nreq; k++) {
			if (c->starts[k] != HTTP_START_UNKNOWN) {
				end = c->starts[k];
				break;
			}
		}
		end = end < c->starts[i] ? c->starts[i] : end > total ? total : end;
		if (response) {
			x->resp_bytes = end - c->starts[i];
			x->resp_bytes_known = true;
		} else {
			x->req_bytes = end - c->starts[i];
		}
	}
}

static void add_request(struct http_conn *c, const struct http_event *e,
			const struct http_proto *p, const struct http_req *req, uint64_t start)
{
	struct http_exchange *x = &c->q[c->nreq];

	memset(x, 0, sizeof(*x));
	x->req = *req;
	x->proto = p;
	x->ts = e->ts;
	x->id = e->id;
	x->owner = e->owner;
	x->server = e->inbound;
	x->tls = e->tls;
	c->starts[c->nreq++] = start;
}

/*
 * The requests whose starts lie in a record's captured bytes, base bytes
 * into their message: one in flight each (pipelining: the next starts where
 * the parser measured the previous one's end; past those bytes nothing is seen).
 */
static void take_requests(struct http_match *m, struct http_conn *c, const struct http_event *e,
			  const struct http_proto *p, uint64_t base)
{
	size_t off = 0, len;
	struct http_req req;

	do {
		if (c->nreq == HTTP_PIPELINE ||
		    p->parse_request(e->data + off, e->cap_len - off, m->full_path, &req)) {
			m->counts.unparsed++;
			return;
		}
		len = p->message_len ? p->message_len(e->data + off, e->cap_len - off, NULL) : 0;
		add_request(c, e, p, &req, base + off);
		off += len;
	} while (len && off < e->cap_len && off < e->len);
}

/* A request message begins: the answered exchanges end with the response message's size. */
static void on_request(struct http_match *m, struct http_conn *c, const struct http_event *e,
		       const struct http_proto *p)
{
	if (c->answered) {
		share_bytes(c, e->prev_bytes, true);
		finish(m, c);
	}
	c->nreq = 0;
	take_requests(m, c, e, p, 0);
}

/*
 * The responses whose starts lie in a record's captured bytes, base bytes
 * into their message, answer the requests in flight from the first not
 * answered, in order (HTTP/1.1 answers in order). How many.
 */
static uint8_t take_responses(struct http_conn *c, const struct http_event *e,
			      const struct http_proto *p, uint8_t first, uint64_t base)
{
	size_t off = 0, len = 0;
	uint8_t i;

	for (i = first; i < c->nreq && off < e->cap_len && (i == first || len); i++) {
		struct http_exchange *x = &c->q[i];

		if (p->parse_response(e->data + off, e->cap_len - off, &x->resp))
			break;
		len = p->message_len ? p->message_len(e->data + off, e->cap_len - off, &x->req) : 0;
		c->starts[i] = base + off;
		x->answered = true;
		x->failure = HTTP_FAIL_NONE;
		x->duration_us = (e->ts - x->ts) / 1000;
		off += len;
	}
	return i - first;
}

/*
 * A response message begins: its responses answer the requests in flight;
 * those left over were answered past the bytes captured: unseen, unless a
 * later send of the message starts with their answer (on_part).
 */
static void on_response(struct http_match *m, struct http_conn *c, const struct http_event *e,
			const struct http_proto *p)
{
	uint8_t n;

	if (!c->nreq || c->answered) {
		m->counts.unmatched++;
		return;
	}
	share_bytes(c, e->prev_bytes, false);
	n = take_responses(c, e, p, 0, 0);
	if (!n) {
		m->counts.unparsed++;
		c->nreq = 0;
		return;
	}
	for (uint8_t i = n; i < c->nreq; i++) {
		c->q[i].failure = HTTP_FAIL_UNSEEN;
		c->starts[i] = HTTP_START_UNKNOWN;
	}
	c->answered = true;
}

/*
 * A send within a message starts like the next request (the client's
 * further requests) or response (the server's next answer).
 */
static void on_part(struct http_match *m, struct http_conn *c, const struct http_event *e,
		    const struct http_proto *p, bool request)
{
	uint8_t first = 0;

	if (request) {
		if (c->nreq && !c->answered)
			take_requests(m, c, e, p, e->prev_bytes);
		return;
	}
	while (first < c->nreq && c->q[first].failure != HTTP_FAIL_UNSEEN)
		first++;
	if (!c->answered || first == c->nreq || !take_responses(c, e, p, first, e->prev_bytes))
		m->counts.unmatched++;
}

static void on_close(struct http_match *m, struct http_conn *c, const struct http_event *e)
{
	if (c->answered) {
		share_bytes(c, e->prev_bytes, true);
	} else {
		share_bytes(c, e->prev_bytes, false);
		for (uint8_t i = 0; i < c->nreq; i++)
			c->q[i].failure = e->err == HTTP_RESET ? HTTP_FAIL_RESET : HTTP_FAIL_CLOSED;
	}
	finish(m, c);
	HASH_DEL(m->conns, c);
	free(c);
}

int http_match_event(struct http_match *m, const struct http_event *e)
{
	const struct http_proto *p = http_proto_of(e->proto);
	struct http_conn *c;
	uint8_t request_dir = e->inbound ? HTTP_DIR_RECV : HTTP_DIR_SEND;

	if (!p)
		return 0;
	c = conn_of(m, e->sk, e->kind == HTTP_EV_MSG);
	if (!c)
		return e->kind == HTTP_EV_MSG ? -ENOMEM : 0;
	if (e->kind == HTTP_EV_CLOSE)
		on_close(m, c, e);
	else if (e->kind == HTTP_EV_PART)
		on_part(m, c, e, p, e->dir == request_dir);
	else if (e->dir == request_dir)
		on_request(m, c, e, p);
	else
		on_response(m, c, e, p);
	return 0;
}

void http_match_flush(struct http_match *m)
{
	struct http_conn *c, *tmp;

	HASH_ITER(hh, m->conns, c, tmp) {
		for (uint8_t i = 0; !c->answered && i < c->nreq; i++)
			c->q[i].failure = HTTP_FAIL_PENDING;
		finish(m, c);
	}
}

void http_match_free(struct http_match *m)
{
	struct http_conn *c, *tmp;

	HASH_ITER(hh, m->conns, c, tmp) {
		HASH_DEL(m->conns, c);
		free(c);
	}
}
