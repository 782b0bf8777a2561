// SPDX-License-Identifier: GPL-2.0
/*
 * Redis RESP (2 and 3): a command is an array of bulk strings
 * ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), its name the first; a reply's first
 * byte says its type, '-' an error ("-ERR unknown command ...").
 */
#include <ctype.h>
#include <string.h>
#include "http/http_proto.h"

static const char *const starts[] = { "*", NULL };

/* A decimal number up to CR LF at d[*i]; advances past them. -1 if malformed or cut. */
static long number_at(const uint8_t *d, size_t n, size_t *i)
{
	long v = 0;
	size_t start = *i;

	while (*i < n && isdigit(d[*i]) && *i - start < 9)
		v = v * 10 + (d[(*i)++] - '0');
	if (*i == start || *i + 2 > n || d[*i] != '\r' || d[*i + 1] != '\n')
		return -1;
	*i += 2;
	return v;
}

static int parse_request(const uint8_t *d, size_t n, bool full_path, struct http_req *out)
{
	size_t i = 1;
	long count, len;

	(void)full_path;
	memset(out, 0, sizeof(*out));
	if (n < 1 || d[0] != '*')
		return -1;
	count = number_at(d, n, &i);
	if (count < 1 || i >= n || d[i++] != '$')
		return -1;
	len = number_at(d, n, &i);
	if (len < 1 || len >= HTTP_METHOD_LEN || i + len + 2 > n ||
	    d[i + len] != '\r' || d[i + len + 1] != '\n')
		return -1;
	for (long k = 0; k < len; k++) {
		if (!isalpha(d[i + k]) && d[i + k] != '_' && d[i + k] != '.' && d[i + k] != '|')
			return -1;
		out->method[k] = toupper(d[i + k]);
	}
	out->method[len] = 0;
	return 0;
}

static int parse_response(const uint8_t *d, size_t n, struct http_resp *out)
{
	size_t len;

	memset(out, 0, sizeof(*out));
	if (n < 3 || !memchr("+-:$*_,#!=(%~>|", d[0], 15))
		return -1;
	if (d[0] != '-' && d[0] != '!')
		return 0;
	/* A simple error ('-') or a RESP3 bulk error ('!'): its first words, up to CR. */
	out->error = true;
	for (len = 0; len + 1 < n && len < HTTP_ERROR_LEN - 1 && d[len + 1] != '\r'; len++)
		out->error_text[len] = isprint(d[len + 1]) ? d[len + 1] : '?';
	out->error_text[len] = 0;
	return 0;
}

const struct http_proto resp_proto = {
	.name = "redis",
	.request_starts = starts,
	.parse_request = parse_request,
	.parse_response = parse_response,
};
