// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP/1.x (RFC 9112): the request line and the Host header of a request,
 * the status line of a response, from the first bytes of each message.
 */
#include <ctype.h>
#include <string.h>
#include "http/http_proto.h"

static const char *const methods[] = {
	"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ",
	NULL,
};

/* A request-target character (RFC 3986 and what servers accept: no controls, no space). */
static bool target_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f;
}

/* The bytes of the line at d (up to CR LF, or n if the line is cut); sets *cut. */
static size_t line_len(const uint8_t *d, size_t n, bool *cut)
{
	const uint8_t *cr = memchr(d, '\r', n);

	*cut = !cr || (size_t)(cr - d) + 1 >= n;
	return cr ? (size_t)(cr - d) : n;
}

static size_t method_of(const uint8_t *d, size_t n, struct http_req *out)
{
	for (int i = 0; methods[i]; i++) {
		size_t m = strlen(methods[i]);

		if (n >= m && !memcmp(d, methods[i], m)) {
			memcpy(out->method, methods[i], m - 1);
			out->method[m - 1] = 0;
			return m;
		}
	}
	return 0;
}

/* d starts with name (lower case), in any case; the first byte compared inline. */
static bool starts_with_nocase(const uint8_t *d, size_t n, const char *name, size_t k)
{
	return n >= k && (d[0] | 0x20) == name[0] && !strncasecmp((const char *)d, name, k);
}

/* The Host header's value, if its line is whole within the bytes. */
static void host_of(const uint8_t *d, size_t n, struct http_req *out)
{
	size_t i = 0;

	while (i + 2 <= n) {
		const uint8_t *nl = memchr(d + i, '\n', n - i);
		size_t start, end;

		if (!nl)
			return;
		start = nl - d + 1;
		if (start + 2 <= n && d[start] == '\r' && d[start + 1] == '\n')
			return;             /* end of the headers */
		if (starts_with_nocase(d + start, n - start, "host:", 5)) {
			const uint8_t *cr = memchr(d + start, '\r', n - start);

			if (!cr)
				return;         /* cut: unknown rather than wrong */
			start += 5;
			while (start < (size_t)(cr - d) && (d[start] == ' ' || d[start] == '\t'))
				start++;
			end = cr - d;
			while (end > start && (d[end - 1] == ' ' || d[end - 1] == '\t'))
				end--;
			if (end - start >= HTTP_HOST_LEN)
				return;
			for (size_t k = start; k < end; k++)
				if (!target_char(d[k]))
					return;
			memcpy(out->host, d + start, end - start);
			out->host[end - start] = 0;
			return;
		}
		i = start;
	}
}

static int parse_request(const uint8_t *d, size_t n, bool full_path, struct http_req *out)
{
	size_t i, len, start, end, keep;
	bool cut;

	memset(out, 0, sizeof(*out));
	i = method_of(d, n, out);
	if (!i)
		return -1;
	len = line_len(d, n, &cut);
	start = i;
	for (end = start; end < len && d[end] != ' '; end++)
		if (!target_char(d[end]))
			return -1;
	if (end == start)
		return -1;
	if (end < len) {
		/* " HTTP/1.0" or " HTTP/1.1", then the line's end. */
		if (len - end != 9 || memcmp(d + end, " HTTP/1.", 8) ||
		    (d[end + 8] != '0' && d[end + 8] != '1'))
			return -1;
	} else if (!cut) {
		return -1;                  /* HTTP/0.9 or garbage: no version */
	} else {
		out->path_truncated = true; /* the target runs past the captured bytes */
	}
	if (!full_path) {
		const uint8_t *q = memchr(d + start, '?', end - start);

		if (q)
			end = q - d;
	}
	keep = end - start;
	if (keep >= HTTP_PATH_LEN) {
		keep = HTTP_PATH_LEN - 1;
		out->path_truncated = true;
	}
	memcpy(out->path, d + start, keep);
	out->path[keep] = 0;
	if (!cut)
		host_of(d, n, out);
	return 0;
}

static int parse_response(const uint8_t *d, size_t n, struct http_resp *out)
{
	memset(out, 0, sizeof(*out));
	/* "HTTP/1.x SSS" then a space (the reason) or the line's end. */
	if (n < 12 || memcmp(d, "HTTP/1.", 7) || (d[7] != '0' && d[7] != '1') || d[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (!isdigit(d[i]))
			return -1;
	if (n > 12 && d[12] != ' ' && d[12] != '\r')
		return -1;
	out->status = (d[9] - '0') * 100 + (d[10] - '0') * 10 + (d[11] - '0');
	return out->status >= 100 ? 0 : -1;
}

/* The bytes up to the blank line ending the head, or 0 if it is not within n. */
static size_t head_len(const uint8_t *d, size_t n)
{
	const uint8_t *p = d, *end = d + n;

	/* From each carriage return: a few lines per head, memchr() between them. */
	while ((p = memchr(p, '\r', end - p)) && end - p >= 4) {
		if (!memcmp(p, "\r\n\r\n", 4))
			return p - d + 4;
		p++;
	}
	return 0;
}

/* Where header name's (lower case, with its colon) value starts in the head, or 0 if absent. */
static size_t header_at(const uint8_t *d, size_t head, const char *name)
{
	const uint8_t *p = d, *end = d + head;
	size_t k = strlen(name);

	/* From each line feed with a line after it. */
	while ((p = memchr(p, '\n', end - p)) && end - p > 2) {
		p++;
		if (starts_with_nocase(p, end - p, name, k))
			return p - d + k;
	}
	return 0;
}

/* Content-Length's value, -1 if absent, -2 if malformed. */
static long content_length(const uint8_t *d, size_t head)
{
	size_t j = header_at(d, head, "content-length:");
	long v = 0;

	if (!j)
		return -1;
	while (j < head && d[j] == ' ')
		j++;
	if (j >= head || !isdigit(d[j]))
		return -2;
	for (; j < head && isdigit(d[j]) && v < 1000000000000L; j++)
		v = v * 10 + (d[j] - '0');
	return j < head && (d[j] == '\r' || d[j] == ' ') ? v : -2;
}

/*
 * RFC 9112 section 6.3: a chunked body or a response without Content-Length
 * (read until the close) has no size in its head: unknown. A response
 * without a body (1xx, 204, 304, any answer to HEAD) ends with its head.
 */
static size_t message_len(const uint8_t *d, size_t n, const struct http_req *answering)
{
	size_t head = head_len(d, n);
	long body;

	if (!head || header_at(d, head, "transfer-encoding:"))
		return 0;
	/* The status line ("HTTP/1.1 204 ...") is whole: parse_response took it. */
	if (answering && head >= 12 && (!strcmp(answering->method, "HEAD") || d[9] == '1' ||
					!memcmp(d + 9, "204", 3) || !memcmp(d + 9, "304", 3)))
		return head;
	body = content_length(d, head);
	if (body == -1 && !answering)
		return head;
	return body < 0 ? 0 : head + (size_t)body;
}

const struct http_proto http1_proto = {
	.name = "http",
	.request_starts = methods,
	.response_starts = (const char *const[]){ "HTTP/1.", NULL },
	.parse_request = parse_request,
	.parse_response = parse_response,
	.message_len = message_len,
};
