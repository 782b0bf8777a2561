/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A JSON Lines writer for the per-event hot path: flat objects of strings,
 * integers, fixed-point numbers and nulls appended to a reusable buffer.
 * json-c (used for nested, low-rate records and as the test oracle) costs
 * about 1.4 us per 18-field record here, mostly printf; this writer costs a
 * fraction of that, which matters at 100k records/s (docs/performance.md).
 */
#ifndef NETLENS_JSONW_H
#define NETLENS_JSONW_H

#include <stddef.h>
#include <stdint.h>

struct nl_jw {
	char *buf;
	size_t len, cap;
	int fields;        /* in the current object */
	int oom;           /* an allocation failed: the line is dropped */
};

void nl_jw_free(struct nl_jw *w);
/* Starts a new line with "{". */
void nl_jw_begin(struct nl_jw *w);
/* Ends the object with "}\n" (NUL-terminated); returns the line length, or 0 if it was dropped. */
size_t nl_jw_end(struct nl_jw *w);

/* The writers take the key's length; the macros below pass it for literal keys. */
void nl_jw_strn_k(struct nl_jw *w, const char *key, size_t klen, const char *val, size_t max);
void nl_jw_int_k(struct nl_jw *w, const char *key, size_t klen, int64_t val);
void nl_jw_uint_k(struct nl_jw *w, const char *key, size_t klen, uint64_t val);
void nl_jw_fixed_k(struct nl_jw *w, const char *key, size_t klen, uint64_t val,
		   unsigned int decimals);
void nl_jw_null_k(struct nl_jw *w, const char *key, size_t klen);

/* Keys are literals of our own (plain ASCII, no escaping). */
#define NL_JW_KEY(k) (k), __builtin_strlen(k)
/* A bounded string that may lack a terminator (a kernel comm). */
#define nl_jw_strn(w, k, v, max) nl_jw_strn_k(w, NL_JW_KEY(k), v, max)
#define nl_jw_str(w, k, v) nl_jw_strn_k(w, NL_JW_KEY(k), v, __builtin_strlen(v))
#define nl_jw_int(w, k, v) nl_jw_int_k(w, NL_JW_KEY(k), v)
#define nl_jw_uint(w, k, v) nl_jw_uint_k(w, NL_JW_KEY(k), v)
/* val / 10^decimals, printed with exactly that many decimals (e.g. us as ms). */
#define nl_jw_fixed(w, k, v, d) nl_jw_fixed_k(w, NL_JW_KEY(k), v, d)
#define nl_jw_null(w, k) nl_jw_null_k(w, NL_JW_KEY(k))

#endif
