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
 * exchanges in flight: each one's size is what its parser measured, the
 * last one's (or one not measured) the rest (with whatever lay past the bytes captured). A
 * response unseen has no size (its bytes are in no exchange).
 */
static void share_bytes(struct http_conn *c, uint64_t total, bool response)
{
	for (uint8_t i = 0; i < c->nreq; i++) {
		struct http_exchange *x = &c->q[i];
		uint64_t n = i + 1 < c->nreq && c->lens[i] && c->lens[i] < total ? c->lens[i] : total;

		if (!response) {
			x->req_bytes = n;
		} else if (x->failure != HTTP_FAIL_UNSEEN) {
			x->resp_bytes = n;
			x->resp_bytes_known = true;
		} else {
			continue;
		}
		total -= n;
	}
}

static void add_request(struct http_conn *c, const struct http_event *e,
			const struct http_proto *p, const struct http_req *req, uint64_t len)
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
	c->lens[c->nreq++] = len;
}

/*
 * A request message begins: the answered exchanges end with the response
 * message's size. Each request whose start lies in the captured bytes is
 * one in flight (pipelining: the next starts where the parser measured the
 * previous one's end; past the bytes captured nothing is seen).
 */
static void on_request(struct http_match *m, struct http_conn *c, const struct http_event *e,
		       const struct http_proto *p)
{
	size_t off = 0, len;
	struct http_req req;

	if (c->answered) {
		share_bytes(c, e->prev_bytes, true);
		finish(m, c);
	}
	c->nreq = 0;
	do {
		if (c->nreq == HTTP_PIPELINE ||
		    p->parse_request(e->data + off, e->cap_len - off, m->full_path, &req)) {
			m->counts.unparsed++;
			return;
		}
		len = p->message_len ? p->message_len(e->data + off, e->cap_len - off, NULL) : 0;
		add_request(c, e, p, &req, len);
		off += len;
	} while (len && off < e->cap_len && off < e->len);
}

/*
 * A response message begins: the responses whose starts lie in the captured
 * bytes answer the requests in flight in order (HTTP/1.1 answers in order);
 * those left over were answered past those bytes: unseen.
 */
static void on_response(struct http_match *m, struct http_conn *c, const struct http_event *e,
			const struct http_proto *p)
{
	size_t off = 0, len = 0;
	uint8_t i;

	if (!c->nreq || c->answered) {
		m->counts.unmatched++;
		return;
	}
	share_bytes(c, e->prev_bytes, false);
	for (i = 0; i < c->nreq && off < e->cap_len && (!i || len); i++) {
		struct http_exchange *x = &c->q[i];

		if (p->parse_response(e->data + off, e->cap_len - off, &x->resp))
			break;
		len = p->message_len ? p->message_len(e->data + off, e->cap_len - off, &x->req) : 0;
		c->lens[i] = len;
		x->answered = true;
		x->duration_us = (e->ts - x->ts) / 1000;
		off += len;
	}
	if (!i) {
		m->counts.unparsed++;
		c->nreq = 0;
		return;
	}
	for (; i < c->nreq; i++)
		c->q[i].failure = HTTP_FAIL_UNSEEN;
	c->answered = true;
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
