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

#define NL_JW_DEPTH 4  /* nested arrays/objects inside a record */

struct nl_jw {
	char *buf;
	size_t len, cap;
	int fields;        /* in the current object (or elements in the current array) */
	int oom;           /* an allocation failed, or nesting too deep: the line is dropped */
	int depth;         /* open nested values */
	int outer[NL_JW_DEPTH];  /* fields of the enclosing levels */
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
void nl_jw_bool_k(struct nl_jw *w, const char *key, size_t klen, int val);

/*
 * A few nested values inside a record (e.g. a DNS answer list):
 * nl_jw_array(w, "k") opens "k":[, nl_jw_object() opens an {...} element,
 * nl_jw_close() ends the innermost with ']' or '}'.
 */
void nl_jw_array_k(struct nl_jw *w, const char *key, size_t klen);
void nl_jw_object(struct nl_jw *w);
void nl_jw_close(struct nl_jw *w, char closer);

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
#define nl_jw_bool(w, k, v) nl_jw_bool_k(w, NL_JW_KEY(k), v)
#define nl_jw_array(w, k) nl_jw_array_k(w, NL_JW_KEY(k))

#endif
