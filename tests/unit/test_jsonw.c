// SPDX-License-Identifier: GPL-2.0
/* The hot-path JSON writer, checked against json-c's parser and RFC 3629. */
#include <stdbool.h>
#include <stdlib.h>
#include <json-c/json.h>
#include "check.h"
#include "output/jsonw.h"

static struct json_object *parse(struct nl_jw *w)
{
	size_t len = nl_jw_end(w);

	CHECK(len > 0 && w->buf[len - 1] == '\n');
	return json_tokener_parse(len ? w->buf : "");
}

/* RFC 3629's UTF8-char ABNF, written as its table of byte ranges. */
static bool valid_utf8(const char *str, size_t len)
{
	static const struct { unsigned char lead_lo, lead_hi, lo, hi; int n; } forms[] = {
		{ 0x00, 0x7f, 0, 0, 1 },       { 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 }, { 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 }, { 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 }, { 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < len;) {
		size_t f;

		for (f = 0; f < sizeof(forms) / sizeof(forms[0]); f++)
			if (s[i] >= forms[f].lead_lo && s[i] <= forms[f].lead_hi)
				break;
		if (f == sizeof(forms) / sizeof(forms[0]) || i + forms[f].n > len)
			return false;
		if (forms[f].n > 1 && (s[i + 1] < forms[f].lo || s[i + 1] > forms[f].hi))
			return false;
		for (int k = 2; k < forms[f].n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += forms[f].n;
	}
	return true;
}

static void test_numbers(void)
{
	struct nl_jw w = { 0 };
	struct json_object *o;

	nl_jw_begin(&w);
	nl_jw_uint(&w, "zero", 0);
	nl_jw_uint(&w, "max", UINT64_MAX);
	nl_jw_int(&w, "neg", -42);
	nl_jw_int(&w, "min", INT64_MIN);
	nl_jw_fixed(&w, "ms", 1234567, 3);
	nl_jw_fixed(&w, "small", 5, 3);
	nl_jw_fixed(&w, "whole", 7, 0);
	nl_jw_null(&w, "none");
	o = parse(&w);
	CHECK(o != NULL);
	CHECK(strstr(w.buf, "\"max\":18446744073709551615") != NULL);
	CHECK(json_object_get_int64(json_object_object_get(o, "neg")) == -42);
	CHECK(json_object_get_int64(json_object_object_get(o, "min")) == INT64_MIN);
	CHECK(strstr(w.buf, "\"ms\":1234.567,") && strstr(w.buf, "\"small\":0.005,"));
	CHECK(strstr(w.buf, "\"whole\":7,"));
	CHECK(json_object_object_get_ex(o, "none", NULL) && !json_object_object_get(o, "none"));
	CHECK_STR(w.buf, "{\"zero\":0,\"max\":18446744073709551615,\"neg\":-42,"
		  "\"min\":-9223372036854775808,\"ms\":1234.567,\"small\":0.005,\"whole\":7,"
		  "\"none\":null}\n");
	json_object_put(o);
	nl_jw_free(&w);
}

static void test_escaping(void)
{
	struct nl_jw w = { 0 };
	struct json_object *o;

	nl_jw_begin(&w);
	nl_jw_str(&w, "s", "q\"b\\n\nt\tc\x01\x1f end");
	nl_jw_str(&w, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	nl_jw_str(&w, "bad", "a\xff" "b\xc3" "c\xe0\x80\x80" "d\xed\xa0\x80");
	nl_jw_strn(&w, "comm", "0123456789abcdefGARBAGE", 16);
	o = parse(&w);
	CHECK(o != NULL);
	CHECK_STR(json_object_get_string(json_object_object_get(o, "s")),
		  "q\"b\\n\nt\tc\x01\x1f end");
	CHECK_STR(json_object_get_string(json_object_object_get(o, "utf8")),
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* Invalid sequences (stray, truncated, overlong, surrogate) become U+FFFD. */
	CHECK(strstr(w.buf, "\"a\\ufffdb\\ufffdc\\ufffd\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffd\""));
	CHECK_STR(json_object_get_string(json_object_object_get(o, "comm")), "0123456789abcdef");
	json_object_put(o);
	nl_jw_free(&w);
}

/* Random bytes as strings: always one valid JSON line of valid UTF-8 that round-trips. */
static void test_random_strings(void)
{
	unsigned int seed = 4242;
	struct nl_jw w = { 0 };
	char s[64];

	for (int i = 0; i < 50000; i++) {
		size_t n = rand_r(&seed) % sizeof(s);
		struct json_object *o;

		for (size_t j = 0; j < n; j++)
			s[j] = 1 + rand_r(&seed) % 255;
		nl_jw_begin(&w);
		nl_jw_strn(&w, "k", s, n);
		o = parse(&w);
		CHECK(o != NULL);
		CHECK(valid_utf8(w.buf, w.len));
		CHECK(memchr(w.buf, '\n', w.len - 1) == NULL);
		if (valid_utf8(s, n)) {
			const char *back = json_object_get_string(json_object_object_get(o, "k"));

			CHECK(back && strlen(back) == n && !memcmp(back, s, n));
		}
		json_object_put(o);
		if (check_failures)
			break;
	}
	nl_jw_free(&w);
}

int main(void)
{
	RUN(test_numbers);
	RUN(test_escaping);
	RUN(test_random_strings);
	return TEST_SUMMARY();
}
