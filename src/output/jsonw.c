// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "output/jsonw.h"

/* Makes room for more bytes; on failure the line is marked dropped. */
static int reserve(struct nl_jw *w, size_t more)
{
	size_t cap = w->cap ? w->cap : 512;
	char *p;

	if (w->len + more <= w->cap)
		return 0;
	while (cap < w->len + more)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p) {
		w->oom = 1;
		return -1;
	}
	w->buf = p;
	w->cap = cap;
	return 0;
}

/* Reserves room for `,"key":` plus `more` bytes of value and writes the key. */
static char *field(struct nl_jw *w, const char *key, size_t klen, size_t more)
{
	char *p;

	if (reserve(w, klen + 4 + more))
		return NULL;
	p = w->buf + w->len;
	if (w->fields++)
		*p++ = ',';
	*p++ = '"';
	memcpy(p, key, klen);
	p += klen;
	*p++ = '"';
	*p++ = ':';
	return p;
}

void nl_jw_free(struct nl_jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void nl_jw_begin(struct nl_jw *w)
{
	w->len = 0;
	w->fields = 0;
	w->oom = 0;
	w->depth = 0;
	if (!reserve(w, 1))
		w->buf[w->len++] = '{';
}

size_t nl_jw_end(struct nl_jw *w)
{
	if (w->oom || w->depth || reserve(w, 3))
		return 0;
	memcpy(w->buf + w->len, "}\n", 3);
	w->len += 2;
	return w->len;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 (RFC 3629). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (len > n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * RFC 8259: escape '"', '\\' and control characters. Bytes that are not
 * valid UTF-8 (a process may name itself anything) become U+FFFD.
 */
void nl_jw_strn_k(struct nl_jw *w, const char *key, size_t klen, const char *val, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	char *p = field(w, key, klen, 2 + 6 * max);
	size_t i, n;

	if (!p)
		return;
	*p++ = '"';
	for (i = 0; i < max && val[i]; i++) {
		unsigned char c = val[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*p++ = c;
		} else if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = c;
		} else if (c < 0x20) {
			memcpy(p, "\\u00", 4);
			p[4] = hex[c >> 4];
			p[5] = hex[c & 15];
			p += 6;
		} else if ((n = utf8_len((const unsigned char *)val + i, strnlen(val + i, max - i)))) {
			memcpy(p, val + i, n);
			p += n;
			i += n - 1;
		} else {
			memcpy(p, "\\ufffd", 6);
			p += 6;
		}
	}
	*p++ = '"';
	w->len = p - w->buf;
}

/* Writes v in decimal at p, two digits per division; returns the end. */
static char *put_digits(char *p, uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char tmp[20], *t = tmp + sizeof(tmp);
	size_t n;

	while (v >= 100) {
		t -= 2;
		memcpy(t, pairs + v % 100 * 2, 2);
		v /= 100;
	}
	if (v >= 10) {
		t -= 2;
		memcpy(t, pairs + v * 2, 2);
	} else {
		*--t = '0' + v;
	}
	n = tmp + sizeof(tmp) - t;
	memcpy(p, t, n);
	return p + n;
}

void nl_jw_uint_k(struct nl_jw *w, const char *key, size_t klen, uint64_t val)
{
	char *p = field(w, key, klen, 20);

	if (p)
		w->len = put_digits(p, val) - w->buf;
}

void nl_jw_int_k(struct nl_jw *w, const char *key, size_t klen, int64_t val)
{
	char *p = field(w, key, klen, 21);

	if (!p)
		return;
	if (val < 0)
		*p++ = '-';
	w->len = put_digits(p, val < 0 ? -(uint64_t)val : (uint64_t)val) - w->buf;
}

void nl_jw_fixed_k(struct nl_jw *w, const char *key, size_t klen, uint64_t val,
		   unsigned int decimals)
{
	char *p = field(w, key, klen, 42);
	uint64_t scale = 1;

	if (!p)
		return;
	if (decimals > 19)
		decimals = 19;
	for (unsigned int i = 0; i < decimals; i++)
		scale *= 10;
	p = put_digits(p, val / scale);
	if (decimals) {
		uint64_t frac = val % scale;

		*p++ = '.';
		for (unsigned int i = decimals; i > 0; i--) {
			p[i - 1] = '0' + frac % 10;
			frac /= 10;
		}
		p += decimals;
	}
	w->len = p - w->buf;
}

void nl_jw_null_k(struct nl_jw *w, const char *key, size_t klen)
{
	char *p = field(w, key, klen, 4);

	if (!p)
		return;
	memcpy(p, "null", 4);
	w->len = p + 4 - w->buf;
}

void nl_jw_bool_k(struct nl_jw *w, const char *key, size_t klen, int val)
{
	size_t n = val ? 4 : 5;
	char *p = field(w, key, klen, n);

	if (!p)
		return;
	memcpy(p, val ? "true" : "false", n);
	w->len = p + n - w->buf;
}

/* Enters a nested value: its own element count, the enclosing one saved. */
static void push_level(struct nl_jw *w)
{
	if (w->depth >= NL_JW_DEPTH) {
		w->oom = 1;
		return;
	}
	w->outer[w->depth++] = w->fields;
	w->fields = 0;
}

void nl_jw_array_k(struct nl_jw *w, const char *key, size_t klen)
{
	char *p = field(w, key, klen, 1);

	if (!p)
		return;
	*p++ = '[';
	w->len = p - w->buf;
	push_level(w);
}

void nl_jw_object(struct nl_jw *w)
{
	if (reserve(w, 2))
		return;
	if (w->fields++)
		w->buf[w->len++] = ',';
	w->buf[w->len++] = '{';
	push_level(w);
}

void nl_jw_close(struct nl_jw *w, char closer)
{
	if (reserve(w, 1))
		return;
	w->buf[w->len++] = closer;
	if (w->depth)
		w->fields = w->outer[--w->depth];
}
