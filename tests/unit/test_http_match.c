// SPDX-License-Identifier: GPL-2.0
/* Request/response matching per socket, the summary and its classes, from records built here. */
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "http/http.h"

#define MAX_X 16

static struct http_exchange got[MAX_X];
static int ngot;

static void take(void *ctx, const struct http_exchange *x)
{
	(void)ctx;
	if (ngot < MAX_X)
		got[ngot++] = *x;
}

static struct http_match fresh(void)
{
	ngot = 0;
	return (struct http_match){ .emit = take };
}

/* A message record: sk, direction, time (us), the message's start, the size of the one before. */
static void msg(struct http_match *m, uint64_t sk, bool server, uint8_t dir, uint64_t us,
		const char *data, uint64_t prev)
{
	struct http_event e;

	memset(&e, 0, sizeof(e));
	e.kind = HTTP_EV_MSG;
	e.sk = sk;
	e.inbound = server;
	e.dir = dir;
	e.ts = us * 1000;
	e.proto = data[0] == '*' || data[0] == '+' || data[0] == '-' ? 2 : 1;
	e.prev_bytes = prev;
	e.cap_len = strlen(data);
	e.len = e.cap_len;
	memcpy(e.data, data, e.cap_len);
	CHECK(!http_match_event(m, &e));
}

static void closed(struct http_match *m, uint64_t sk, uint8_t proto, uint8_t err, uint64_t prev)
{
	struct http_event e;

	memset(&e, 0, sizeof(e));
	e.kind = HTTP_EV_CLOSE;
	e.sk = sk;
	e.proto = proto;
	e.err = err;
	e.prev_bytes = prev;
	CHECK(!http_match_event(m, &e));
}

static void test_keepalive_client(void)
{
	struct http_match m = fresh();

	msg(&m, 1, false, HTTP_DIR_SEND, 100, "GET /a HTTP/1.1\r\n\r\n", 0);
	msg(&m, 1, false, HTTP_DIR_RECV, 350, "HTTP/1.1 200 OK\r\n", 40);
	CHECK(ngot == 0);   /* the response's size is not known yet */
	msg(&m, 1, false, HTTP_DIR_SEND, 1000, "GET /b HTTP/1.1\r\n\r\n", 5000);
	CHECK(ngot == 1);
	CHECK_STR(got[0].req.path, "/a");
	CHECK(got[0].answered && got[0].resp.status == 200 && got[0].duration_us == 250);
	CHECK(got[0].req_bytes == 40 && got[0].resp_bytes == 5000 && got[0].resp_bytes_known);
	msg(&m, 1, false, HTTP_DIR_RECV, 1100, "HTTP/1.1 404 Not Found\r\n", 41);
	closed(&m, 1, 1, HTTP_CLOSED, 300);
	CHECK(ngot == 2);
	CHECK(got[1].resp.status == 404 && got[1].req_bytes == 41 && got[1].resp_bytes == 300);
	CHECK(!got[1].failure && !got[1].server);
	CHECK(!m.conns);
	http_match_free(&m);
}

#define GET(p) "GET " p " HTTP/1.1\r\nHost: h\r\n\r\n"
#define OK(body) "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" body

static void test_pipelined(void)
{
	struct http_match m = fresh();
	const char *reqs = GET("/a") GET("/b") GET("/c");   /* 3 x 28 bytes, one write */
	const char *resps = OK("ok") "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n" OK("ok");

	msg(&m, 1, false, HTTP_DIR_SEND, 100, reqs, 0);
	msg(&m, 1, false, HTTP_DIR_RECV, 300, resps, 84);
	closed(&m, 1, 1, HTTP_CLOSED, 200);
	CHECK(ngot == 3 && !m.counts.unparsed && !m.counts.unmatched);
	CHECK_STR(got[0].req.path, "/a");
	CHECK_STR(got[1].req.path, "/b");
	CHECK_STR(got[2].req.path, "/c");
	CHECK(got[0].resp.status == 200 && got[1].resp.status == 404 && got[2].resp.status == 200);
	for (int i = 0; i < 3; i++)
		CHECK(got[i].answered && got[i].duration_us == 200 && got[i].req_bytes == 28);
	/* 40 + 45 bytes measured, the last one the rest of the 200. */
	CHECK(got[0].resp_bytes == 40 && got[1].resp_bytes == 45 && got[2].resp_bytes == 115);
	http_match_free(&m);
}

/* A record of a send within a message: bytes before it in the message. */
static void part(struct http_match *m, uint64_t sk, bool server, uint64_t us, const char *data,
		 uint64_t before)
{
	struct http_event e;

	memset(&e, 0, sizeof(e));
	e.kind = HTTP_EV_PART;
	e.sk = sk;
	e.inbound = server;
	e.dir = HTTP_DIR_SEND;
	e.ts = us * 1000;
	e.proto = 1;
	e.prev_bytes = before;
	e.cap_len = strlen(data);
	e.len = e.cap_len;
	memcpy(e.data, data, e.cap_len);
	CHECK(!http_match_event(m, &e));
}

static void test_pipelined_answers_in_separate_sends(void)
{
	struct http_match m = fresh();

	/* The server: three requests read at once, answered by three writes. */
	msg(&m, 1, true, HTTP_DIR_RECV, 100, GET("/a") GET("/b") GET("/c"), 0);
	msg(&m, 1, true, HTTP_DIR_SEND, 150, OK("ok") "HTTP/1.1 404 Not", 84);
	CHECK(m.counts.unmatched == 0);
	part(&m, 1, true, 170, "HTTP/1.1 503 Unavailable\r\n", 300);
	part(&m, 1, true, 180, "HTTP/1.1 200 OK\r\n", 500);   /* one too many: counted */
	closed(&m, 1, 1, HTTP_CLOSED, 700);
	CHECK(ngot == 3 && m.counts.unmatched == 1);
	CHECK(got[0].resp.status == 200 && got[1].resp.status == 404 && got[2].resp.status == 503);
	CHECK(got[0].duration_us == 50 && got[1].duration_us == 50 && got[2].duration_us == 70);
	CHECK(got[0].resp_bytes == 40 && got[1].resp_bytes == 260 && got[2].resp_bytes == 400);
	for (int i = 0; i < 3; i++)
		CHECK(!got[i].failure && got[i].resp_bytes_known && got[i].req_bytes == 28);
	http_match_free(&m);
}

static void test_pipelined_requests_in_separate_sends(void)
{
	struct http_match m = fresh();

	/* The client: two writes before any answer. */
	msg(&m, 1, false, HTTP_DIR_SEND, 100, GET("/a"), 0);
	part(&m, 1, false, 120, GET("/b"), 28);
	msg(&m, 1, false, HTTP_DIR_RECV, 300, OK("ok") OK("ok"), 56);
	closed(&m, 1, 1, HTTP_CLOSED, 80);
	CHECK(ngot == 2 && got[0].req_bytes == 28 && got[1].req_bytes == 28);
	CHECK_STR(got[1].req.path, "/b");
	CHECK(got[1].resp.status == 200 && got[1].duration_us == 180 && got[1].resp_bytes == 40);
	http_match_free(&m);
}

static void test_pipelined_head_answer_has_no_body(void)
{
	struct http_match m = fresh();

	msg(&m, 1, false, HTTP_DIR_SEND, 100, "HEAD /a HTTP/1.1\r\n\r\n" GET("/b"), 0);
	msg(&m, 1, false, HTTP_DIR_RECV, 200,
	    "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n" OK("ok"), 48);
	closed(&m, 1, 1, HTTP_CLOSED, 78);
	CHECK(ngot == 2 && got[0].resp.status == 200 && got[1].resp.status == 200);
	CHECK_STR(got[0].req.method, "HEAD");
	CHECK(got[0].req_bytes == 20 && got[1].req_bytes == 28);
	CHECK(got[0].resp_bytes == 38 && got[1].resp_bytes == 40 && !got[1].failure);
	http_match_free(&m);
}

static void test_pipelined_answers_past_the_capture(void)
{
	struct http_match m = fresh();

	/* The first response's body (no size said: read to the close) hides the next ones. */
	msg(&m, 1, true, HTTP_DIR_RECV, 100, GET("/a") GET("/b"), 0);
	msg(&m, 1, true, HTTP_DIR_SEND, 150, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", 56);
	closed(&m, 1, 1, HTTP_CLOSED, 5000);
	CHECK(ngot == 2 && got[0].server && got[0].req_bytes == 28 && got[1].req_bytes == 28);
	CHECK(got[0].resp.status == 200 && got[0].resp_bytes == 5000 && got[0].resp_bytes_known);
	CHECK(!got[1].answered && got[1].failure == HTTP_FAIL_UNSEEN && !got[1].resp_bytes_known);
	CHECK_STR(got[1].req.path, "/b");
	http_match_free(&m);
}

static void test_pipelined_request_cut_is_unparsed(void)
{
	struct http_match m = fresh();

	msg(&m, 1, false, HTTP_DIR_SEND, 100, GET("/a") "GE", 0);
	CHECK(m.counts.unparsed == 1);
	msg(&m, 1, false, HTTP_DIR_RECV, 200, OK("ok"), 30);
	closed(&m, 1, 1, HTTP_CLOSED, 40);
	CHECK(ngot == 1 && got[0].resp.status == 200 && got[0].req_bytes == 30);
	http_match_free(&m);
}

static void test_server_side_and_reset(void)
{
	struct http_match m = fresh();

	/* A server reads the request and writes the answer. */
	msg(&m, 2, true, HTTP_DIR_RECV, 10, "POST /x HTTP/1.1\r\n\r\n", 0);
	msg(&m, 2, true, HTTP_DIR_SEND, 60, "HTTP/1.1 201 Created\r\n", 99);
	msg(&m, 2, true, HTTP_DIR_RECV, 70, "GET /y HTTP/1.1\r\n\r\n", 120);
	closed(&m, 2, 1, HTTP_RESET, 33);
	CHECK(ngot == 2);
	CHECK(got[0].server && got[0].resp.status == 201 && got[0].duration_us == 50);
	CHECK(!got[1].answered && got[1].failure == HTTP_FAIL_RESET && got[1].req_bytes == 33);
	CHECK(http_class_of(&got[1]) == HTTP_CLASS_FAILED && http_is_error(&got[1]));
	http_match_free(&m);
}

static void test_unparsed_and_unmatched(void)
{
	struct http_match m = fresh();

	msg(&m, 3, false, HTTP_DIR_SEND, 1, "GET \x01\x02", 0);
	msg(&m, 3, false, HTTP_DIR_RECV, 2, "HTTP/1.1 200 OK\r\n", 6);
	closed(&m, 3, 1, HTTP_CLOSED, 10);
	CHECK(ngot == 0 && m.counts.unparsed == 1 && m.counts.unmatched == 1);
	http_match_free(&m);
}

static void test_flush_at_exit(void)
{
	struct http_match m = fresh();

	msg(&m, 4, false, HTTP_DIR_SEND, 1, "*1\r\n$4\r\nPING\r\n", 0);
	msg(&m, 4, false, HTTP_DIR_RECV, 3, "+PONG\r\n", 14);
	msg(&m, 5, false, HTTP_DIR_SEND, 1, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 0);
	http_match_flush(&m);
	CHECK(ngot == 2);
	for (int i = 0; i < ngot; i++) {
		if (!strcmp(got[i].req.method, "PING"))
			CHECK(got[i].answered && !got[i].resp_bytes_known &&
			      http_class_of(&got[i]) == HTTP_CLASS_OK);
		else
			CHECK(got[i].failure == HTTP_FAIL_PENDING);
	}
	http_match_free(&m);
}

static void test_summary_by_path_folds(void)
{
	struct http_summary s = { .by = HTTP_BY_PATH, .max_paths = 2 };
	struct http_exchange x;
	const char *paths[] = { "/a", "/b", "/c", "/a", "/d" };
	struct http_sum_row *r, *tmp;
	uint64_t other = 0, a = 0;

	memset(&x, 0, sizeof(x));
	x.proto = &http1_proto;
	x.answered = true;
	x.resp.status = 200;
	strcpy(x.req.method, "GET");
	for (int i = 0; i < 5; i++) {
		strcpy(x.req.path, paths[i]);
		CHECK(!http_summary_add(&s, &x));
	}
	HASH_ITER(hh, s.rows, r, tmp) {
		if (r->key.other_path)
			other += r->h.count;
		else if (!strcmp(r->key.path, "/a"))
			a += r->h.count;
	}
	CHECK(a == 2 && other == 2 && s.folded == 2 && s.paths == 2);
	http_summary_free(&s);
	CHECK(!s.rows && !s.path_set);
}

static void test_classes(void)
{
	struct http_exchange x;

	memset(&x, 0, sizeof(x));
	x.answered = true;
	x.resp.status = 503;
	CHECK(http_class_of(&x) == HTTP_CLASS_5XX && http_is_error(&x));
	x.resp.status = 404;
	CHECK(http_class_of(&x) == HTTP_CLASS_4XX && !http_is_error(&x));
	CHECK_STR(http_class_name(HTTP_CLASS_4XX), "4xx");
	x.resp.status = 0;
	x.resp.error = true;
	CHECK(http_class_of(&x) == HTTP_CLASS_ERROR && http_is_error(&x));
}

int main(void)
{
	RUN(test_keepalive_client);
	RUN(test_pipelined);
	RUN(test_pipelined_answers_in_separate_sends);
	RUN(test_pipelined_requests_in_separate_sends);
	RUN(test_pipelined_head_answer_has_no_body);
	RUN(test_pipelined_answers_past_the_capture);
	RUN(test_pipelined_request_cut_is_unparsed);
	RUN(test_server_side_and_reset);
	RUN(test_unparsed_and_unmatched);
	RUN(test_flush_at_exit);
	RUN(test_summary_by_path_folds);
	RUN(test_classes);
	return TEST_SUMMARY();
}
