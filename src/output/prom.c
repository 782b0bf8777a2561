// SPDX-License-Identifier: GPL-2.0
/* Prometheus text exposition and the --max-series fold (see prom.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "output/prom.h"

/* A growing text buffer; allocation failure aborts (the agent cannot go on without memory). */
struct buf {
	char *s;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	while (b->len + more + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->s = realloc(b->s, b->cap);
	if (!b->s)
		abort();
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reserve(b, n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

struct family {
	char *name;
	char *help;
	enum nl_prom_type type;
	struct buf samples;
	struct family *next;          /* declaration order */
	UT_hash_handle hh;
};

struct nl_prom {
	struct family *by_name;
	struct family *first, *last;
	struct buf page;
	uint32_t max_series;
};

static const char *const type_names[] = { "counter", "gauge", "histogram" };

struct nl_prom *nl_prom_new(uint32_t max_series)
{
	struct nl_prom *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	p->max_series = max_series;
	return p;
}

void nl_prom_free(struct nl_prom *p)
{
	struct family *f, *tmp;

	if (!p)
		return;
	HASH_ITER(hh, p->by_name, f, tmp) {
		HASH_DEL(p->by_name, f);
		free(f->name);
		free(f->help);
		free(f->samples.s);
		free(f);
	}
	free(p->page.s);
	free(p);
}

void nl_prom_reset(struct nl_prom *p)
{
	for (struct family *f = p->first; f; f = f->next)
		f->samples.len = 0;
}

uint32_t nl_prom_max_series(const struct nl_prom *p)
{
	return p->max_series;
}

void nl_prom_family(struct nl_prom *p, const char *name, enum nl_prom_type type,
		    const char *help)
{
	struct family *f;

	HASH_FIND_STR(p->by_name, name, f);
	if (f)
		return;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->name = strdup(name)) || !(f->help = strdup(help)))
		abort();
	f->type = type;
	HASH_ADD_KEYPTR(hh, p->by_name, f->name, strlen(f->name), f);
	if (p->last)
		p->last->next = f;
	else
		p->first = f;
	p->last = f;
}

static struct family *family(struct nl_prom *p, const char *name)
{
	struct family *f;

	HASH_FIND_STR(p->by_name, name, f);
	if (!f) {
		fprintf(stderr, "netlens: metric family %s used before it was declared\n", name);
		abort();
	}
	return f;
}

/* Escapes a label value per the exposition format: \\, \" and \n. */
static size_t escape(char *out, size_t len, const char *v)
{
	size_t n = 0;

	for (; *v && n + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			out[n++] = '\\';
			out[n++] = *v;
		} else if (*v == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *v;
		}
	}
	out[n] = '\0';
	return n;
}

const char *nl_prom_labels(char *buf, size_t len, ...)
{
	size_t n = 0;
	const char *k;
	va_list ap;

	buf[0] = '\0';
	va_start(ap, len);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		int w = snprintf(buf + n, len - n, "%s%s=\"", n ? "," : "", k);

		if (w < 0 || (size_t)w >= len - n)
			break;
		n += w;
		n += escape(buf + n, len - n, v);
		if (n + 2 > len)
			break;
		buf[n++] = '"';
		buf[n] = '\0';
	}
	va_end(ap);
	return buf;
}

static void sample_start(struct buf *b, const char *name, const char *suffix, const char *labels,
			 const char *extra)
{
	bool any = labels && *labels;

	buf_printf(b, "%s%s", name, suffix);
	if (any || extra)
		buf_printf(b, "{%s%s%s}", any ? labels : "", any && extra ? "," : "",
			   extra ? extra : "");
}

void nl_prom_counter(struct nl_prom *p, const char *name, const char *labels, uint64_t v)
{
	struct family *f = family(p, name);

	sample_start(&f->samples, name, "", labels, NULL);
	buf_printf(&f->samples, " %llu\n", (unsigned long long)v);
}

void nl_prom_gauge(struct nl_prom *p, const char *name, const char *labels, double v)
{
	struct family *f = family(p, name);

	sample_start(&f->samples, name, "", labels, NULL);
	buf_printf(&f->samples, " %.17g\n", v);
}

void nl_prom_seconds(struct nl_prom *p, const char *name, const char *labels, uint64_t ns)
{
	struct family *f = family(p, name);

	sample_start(&f->samples, name, "", labels, NULL);
	buf_printf(&f->samples, " %llu.%09llu\n", (unsigned long long)(ns / 1000000000ULL),
		   (unsigned long long)(ns % 1000000000ULL));
}

/* Microseconds as seconds, exactly (no binary floating point rounding). */
static const char *us_to_seconds(uint64_t us, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
		 (unsigned long long)(us % 1000000));
	return buf;
}

void nl_prom_hist(struct nl_prom *p, const char *name, const char *labels,
		  const struct nl_hist *h)
{
	struct family *f = family(p, name);
	struct buf *b = &f->samples;
	uint64_t cum = 0;
	char le[48], secs[32];

	/* The last slot is open-ended: it only feeds +Inf. */
	for (int i = 0; i < NL_HIST_SLOTS - 1; i++) {
		cum += h->slots[i];
		snprintf(le, sizeof(le), "le=\"%s\"",
			 us_to_seconds(1ULL << (i + 1), secs, sizeof(secs)));
		sample_start(b, name, "_bucket", labels, le);
		buf_printf(b, " %llu\n", (unsigned long long)cum);
	}
	sample_start(b, name, "_bucket", labels, "le=\"+Inf\"");
	buf_printf(b, " %llu\n", (unsigned long long)h->count);
	sample_start(b, name, "_sum", labels, NULL);
	buf_printf(b, " %s\n", us_to_seconds(h->sum_us, secs, sizeof(secs)));
	sample_start(b, name, "_count", labels, NULL);
	buf_printf(b, " %llu\n", (unsigned long long)h->count);
}

const char *nl_prom_text(struct nl_prom *p, size_t *len)
{
	struct buf *page = &p->page;

	page->len = 0;
	buf_reserve(page, 0);
	page->s[0] = '\0';
	for (struct family *f = p->first; f; f = f->next) {
		if (!f->samples.len)
			continue;
		buf_printf(page, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			   type_names[f->type]);
		buf_add(page, f->samples.s, f->samples.len);
	}
	*len = page->len;
	return page->s;
}

void nl_prom_hist_vals(const struct nl_hist *h, uint64_t *vals)
{
	memcpy(vals, h->slots, sizeof(h->slots));
	vals[NL_HIST_SLOTS] = h->count;
	vals[NL_HIST_SLOTS + 1] = h->sum_us;
}

void nl_prom_vals_hist(const uint64_t *vals, struct nl_hist *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->slots, vals, sizeof(h->slots));
	h->count = vals[NL_HIST_SLOTS];
	h->sum_us = vals[NL_HIST_SLOTS + 1];
}

/*
 * The fold. Each row remembers the true values it had at the previous
 * render (seen) and what is exported under its own labels (shown). Growth
 * since the previous render goes to shown if the row is exported now,
 * else to other: every exported series only ever grows.
 */
struct fold_row {
	char *labels;
	uint64_t weight;
	bool exported;             /* has a series of its own now */
	bool put;                  /* given in this render */
	uint64_t *seen, *shown, *now;
	UT_hash_handle hh;
};

struct nl_fold {
	size_t nvals;
	char *other_labels;
	struct fold_row *rows;
	uint64_t *other;
	bool other_used;
	size_t nexported, nfolded;
	struct nl_fold_row *out;
	size_t nout, cap;
};

struct nl_fold *nl_fold_new(size_t nvals, const char *other_labels)
{
	struct nl_fold *f = calloc(1, sizeof(*f));

	if (!f || !(f->other_labels = strdup(other_labels)) ||
	    !(f->other = calloc(nvals, sizeof(uint64_t))))
		abort();
	f->nvals = nvals;
	return f;
}

void nl_fold_free(struct nl_fold *f)
{
	struct fold_row *r, *tmp;

	if (!f)
		return;
	HASH_ITER(hh, f->rows, r, tmp) {
		HASH_DEL(f->rows, r);
		free(r->labels);
		free(r->seen);
		free(r);
	}
	free(f->other_labels);
	free(f->other);
	free(f->out);
	free(f);
}

void nl_fold_begin(struct nl_fold *f)
{
	struct fold_row *r, *tmp;

	HASH_ITER(hh, f->rows, r, tmp)
		r->put = false;
}

static struct fold_row *row_new(struct nl_fold *f, const char *labels)
{
	struct fold_row *r = calloc(1, sizeof(*r));

	/* seen, shown and now in one allocation. */
	if (!r || !(r->labels = strdup(labels)) || !(r->seen = calloc(3 * f->nvals, sizeof(uint64_t))))
		abort();
	r->shown = r->seen + f->nvals;
	r->now = r->shown + f->nvals;
	HASH_ADD_KEYPTR(hh, f->rows, r->labels, strlen(r->labels), r);
	return r;
}

void nl_fold_put(struct nl_fold *f, const char *labels, uint64_t weight, const uint64_t *vals)
{
	struct fold_row *r;

	HASH_FIND_STR(f->rows, labels, r);
	if (!r)
		r = row_new(f, labels);
	if (!r->put) {
		r->put = true;
		r->weight = 0;
		memset(r->now, 0, f->nvals * sizeof(uint64_t));
	}
	/* Several sources under the same labels in one render add up. */
	r->weight += weight;
	for (size_t i = 0; i < f->nvals; i++)
		r->now[i] += vals[i];
}

static int heaviest_first(const void *a, const void *b)
{
	const struct fold_row *x = *(const struct fold_row *const *)a;
	const struct fold_row *y = *(const struct fold_row *const *)b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	/* Equal weight: keep what is exported (no churn), then by name (stable). */
	if (x->exported != y->exported)
		return x->exported ? -1 : 1;
	return strcmp(x->labels, y->labels);
}

static void add_out(struct nl_fold *f, const char *labels, const uint64_t *vals)
{
	if (f->nout == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->out = realloc(f->out, f->cap * sizeof(*f->out));
		if (!f->out)
			abort();
	}
	f->out[f->nout++] = (struct nl_fold_row){ .labels = labels, .vals = vals };
}

/* Moves the growth since the previous render to the row's series or to other. */
static void account(struct nl_fold *f, struct fold_row *r)
{
	uint64_t *to = r->exported ? r->shown : f->other;

	for (size_t i = 0; i < f->nvals; i++) {
		/* A source that restarted (smaller value) starts counting again from 0. */
		uint64_t grew = r->now[i] >= r->seen[i] ? r->now[i] - r->seen[i] : r->now[i];

		to[i] += grew;
		r->seen[i] = r->now[i];
	}
	if (!r->exported)
		f->other_used = true;
}

void nl_fold_end(struct nl_fold *f, uint32_t max_series)
{
	size_t n = HASH_COUNT(f->rows), k = 0;
	struct fold_row **order = calloc(n ? n : 1, sizeof(*order));
	struct fold_row *r, *tmp;

	if (!order)
		abort();
	HASH_ITER(hh, f->rows, r, tmp) {
		/* A row not given this time did not grow. */
		if (!r->put)
			memcpy(r->now, r->seen, f->nvals * sizeof(uint64_t));
		order[k++] = r;
	}
	qsort(order, n, sizeof(*order), heaviest_first);
	f->nout = 0;
	f->nexported = f->nfolded = 0;
	for (size_t i = 0, slots = max_series; i < n; i++) {
		/* A source's own catch-all row (given under other_labels) is always folded. */
		bool own = strcmp(order[i]->labels, f->other_labels) != 0;

		order[i]->exported = own && slots > 0;
		if (order[i]->exported)
			slots--;
		account(f, order[i]);
		if (order[i]->exported) {
			add_out(f, order[i]->labels, order[i]->shown);
			f->nexported++;
		} else if (own) {
			f->nfolded++;
		}
	}
	if (f->other_used)
		add_out(f, f->other_labels, f->other);
	free(order);
}

const struct nl_fold_row *nl_fold_rows(const struct nl_fold *f, size_t *n)
{
	*n = f->nout;
	return f->out;
}

size_t nl_fold_folded(const struct nl_fold *f)
{
	return f->nfolded;
}

void nl_prom_folded(struct nl_prom *p, const char *family, const struct nl_fold *f)
{
	char labels[160];

	nl_prom_family(p, "netlens_series_folded", NL_PROM_GAUGE,
		       "Label sets summed into the \"other\" series by --max-series, per family.");
	nl_prom_gauge(p, "netlens_series_folded", nl_prom_labels(labels, sizeof(labels), "family",
			family, NULL), f->nfolded);
}
