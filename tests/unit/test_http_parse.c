// SPDX-License-Identifier: GPL-2.0
/* The HTTP/1.x and RESP parsers, and the kernel signatures the registry makes. */
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "http/http_proto.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static void test_request_line_and_host(void)
{
	struct http_req r;

	CHECK(!http1_proto.parse_request(S("GET /a/b?x=1 HTTP/1.1\r\nUser-Agent: t\r\n"
					   "host:  example.com:8080 \r\n\r\n"), false, &r));
	CHECK_STR(r.method, "GET");
	CHECK_STR(r.path, "/a/b");
	CHECK(!r.path_truncated);
	CHECK_STR(r.host, "example.com:8080");
	CHECK(!http1_proto.parse_request(S("DELETE /a/b?x=1 HTTP/1.0\r\n\r\n"), true, &r));
	CHECK_STR(r.method, "DELETE");
	CHECK_STR(r.path, "/a/b?x=1");
	CHECK_STR(r.host, "");
}

static void test_request_cut_by_the_capture(void)
{
	struct http_req r;

	/* The target runs past the captured bytes: kept, marked. */
	CHECK(!http1_proto.parse_request(S("POST /very/long/pa"), false, &r));
	CHECK_STR(r.path, "/very/long/pa");
	CHECK(r.path_truncated);
	/* The Host header cut in the middle: unknown rather than wrong. */
	CHECK(!http1_proto.parse_request(S("GET / HTTP/1.1\r\nHost: exa"), false, &r));
	CHECK_STR(r.host, "");
}

static void test_long_path_is_bounded(void)
{
	char req[400] = "GET /";
	struct http_req r;

	memset(req + 5, 'a', 300);
	strcpy(req + 305, " HTTP/1.1\r\n\r\n");
	CHECK(!http1_proto.parse_request((const uint8_t *)req, strlen(req), false, &r));
	CHECK(strlen(r.path) == HTTP_PATH_LEN - 1 && r.path_truncated);
}

static void test_not_http_is_refused(void)
{
	struct http_req r;

	CHECK(http1_proto.parse_request(S("GET \x00\x01\x02"), false, &r));
	CHECK(http1_proto.parse_request(S("GET / HTTP/2.0\r\n"), false, &r));
	CHECK(http1_proto.parse_request(S("GET /\r\n"), false, &r));    /* HTTP/0.9 */
	CHECK(http1_proto.parse_request(S("GETS / HTTP/1.1\r\n"), false, &r));
	CHECK(http1_proto.parse_request(S("GET  HTTP/1.1\r\n"), false, &r));
}

static void test_status_line(void)
{
	struct http_resp p;

	CHECK(!http1_proto.parse_response(S("HTTP/1.1 503 Service Unavailable\r\n"), &p));
	CHECK(p.status == 503 && !p.error);
	CHECK(!http1_proto.parse_response(S("HTTP/1.0 200\r\n"), &p));
	CHECK(p.status == 200);
	CHECK(http1_proto.parse_response(S("HTTP/1.1 20x OK\r\n"), &p));
	CHECK(http1_proto.parse_response(S("HTTP/1.1 2000 OK\r\n"), &p));
	CHECK(http1_proto.parse_response(S("HTTP/1.1 099 X\r\n"), &p));
	CHECK(http1_proto.parse_response(S("ICY 200 OK\r\n"), &p));
}

static void test_resp(void)
{
	struct http_req r;
	struct http_resp p;

	CHECK(!resp_proto.parse_request(S("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n"), false, &r));
	CHECK_STR(r.method, "SET");
	CHECK_STR(r.path, "");
	CHECK(resp_proto.parse_request(S("*1\r\n$3\r\nGE"), false, &r));   /* cut */
	CHECK(resp_proto.parse_request(S("*x\r\n"), false, &r));
	CHECK(resp_proto.parse_request(S("*1\r\n$2\r\n\x01\x02\r\n"), false, &r));
	CHECK(!resp_proto.parse_response(S("+OK\r\n"), &p));
	CHECK(!p.error);
	CHECK(!resp_proto.parse_response(S("-ERR value is not an integer\r\n"), &p));
	CHECK(p.error);
	CHECK_STR(p.error_text, "ERR value is not an integer");
	CHECK(resp_proto.parse_response(S("HTTP/1.1 200 OK\r\n"), &p));
}

static void test_signatures(void)
{
	struct http_sig sigs[HTTP_MAX_SIGS];
	int n = http_proto_sigs(sigs, HTTP_MAX_SIGS, false);
	uint64_t get = 0, status = 0;

	CHECK(n == 10);   /* nine HTTP methods and RESP's '*' */
	memcpy(&get, "GET /ind", 8);
	CHECK((get & sigs[0].mask) == sigs[0].value && sigs[0].proto == 1);
	CHECK(sigs[n - 1].proto == 2 && sigs[n - 1].mask == 0xff);
	CHECK(http_proto_of(1) == &http1_proto && http_proto_of(2) == &resp_proto);
	CHECK(!http_proto_of(0) && !http_proto_of(3));
	CHECK(http_proto_sigs(sigs, 4, false) == -1);
	/* Responses: HTTP's status line only (a Redis reply's first byte says too little). */
	CHECK(http_proto_sigs(sigs, HTTP_MAX_SIGS, true) == 1);
	memcpy(&status, "HTTP/1.1", 8);
	CHECK((status & sigs[0].mask) == sigs[0].value && sigs[0].proto == 1);
	CHECK(sigs[0].mask == 0xffffffffffffffULL);
}

int main(void)
{
	RUN(test_request_line_and_host);
	RUN(test_request_cut_by_the_capture);
	RUN(test_long_path_is_bounded);
	RUN(test_not_http_is_refused);
	RUN(test_status_line);
	RUN(test_resp);
	RUN(test_signatures);
	return TEST_SUMMARY();
}
