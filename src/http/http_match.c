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
	m->emit(m->ctx, &c->x);
	c->has_req = c->has_resp = false;
}

/* A request begins: the previous exchange (answered) ends with the response's size. */
static void on_request(struct http_match *m, struct http_conn *c, const struct http_event *e,
		       const struct http_proto *p)
{
	struct http_exchange *x = &c->x;

	if (c->has_resp) {
		x->resp_bytes = e->prev_bytes;
		x->resp_bytes_known = true;
		finish(m, c);
	}
	c->has_req = c->has_resp = false;
	memset(x, 0, sizeof(*x));
	if (p->parse_request(e->data, e->cap_len, m->full_path, &x->req)) {
		m->counts.unparsed++;
		return;
	}
	x->proto = p;
	x->ts = e->ts;
	x->id = e->id;
	x->owner = e->owner;
	x->server = e->inbound;
	x->tls = e->tls;
	c->has_req = true;
}

static void on_response(struct http_match *m, struct http_conn *c, const struct http_event *e,
			const struct http_proto *p)
{
	struct http_exchange *x = &c->x;

	if (!c->has_req) {
		m->counts.unmatched++;
		return;
	}
	x->req_bytes = e->prev_bytes;
	if (p->parse_response(e->data, e->cap_len, &x->resp)) {
		m->counts.unparsed++;
		c->has_req = false;
		return;
	}
	x->answered = true;
	x->duration_us = (e->ts - x->ts) / 1000;
	c->has_resp = true;
}

static void on_close(struct http_match *m, struct http_conn *c, const struct http_event *e)
{
	struct http_exchange *x = &c->x;

	if (c->has_resp) {
		x->resp_bytes = e->prev_bytes;
		x->resp_bytes_known = true;
		finish(m, c);
	} else if (c->has_req) {
		x->req_bytes = e->prev_bytes;
		x->failure = e->err == HTTP_RESET ? HTTP_FAIL_RESET : HTTP_FAIL_CLOSED;
		finish(m, c);
	}
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
		if (c->has_req) {
			if (!c->has_resp)
				c->x.failure = HTTP_FAIL_PENDING;
			finish(m, c);
		}
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
