// SPDX-License-Identifier: GPL-2.0
/* The Prometheus page writer and the --max-series fold. */
#include <stdlib.h>
#include "check.h"
#include "output/prom.h"

static void test_labels_escaped(void)
{
	char l[128];

	CHECK_STR(nl_prom_labels(l, sizeof(l), "a", "x\"y", "b", "back\\slash\nnl", NULL),
		  "a=\"x\\\"y\",b=\"back\\\\slash\\nnl\"");
	CHECK_STR(nl_prom_labels(l, sizeof(l), NULL), "");
	/* Too small a buffer cuts, never overflows, and stays a string. */
	nl_prom_labels(l, 12, "name", "a-long-value", NULL);
	CHECK(strlen(l) < 12);
}

static void test_families_grouped(void)
{
	struct nl_prom *p = nl_prom_new(10);
	size_t len;

	nl_prom_family(p, "x_total", NL_PROM_COUNTER, "X.");
	nl_prom_family(p, "y", NL_PROM_GAUGE, "Y.");
	nl_prom_family(p, "unused", NL_PROM_GAUGE, "never sampled: not written");
	nl_prom_counter(p, "x_total", "m=\"a\"", 1);
	nl_prom_gauge(p, "y", "", 0.5);
	/* A second declaration (another module) keeps the first help; samples stay together. */
	nl_prom_family(p, "x_total", NL_PROM_COUNTER, "other help");
	nl_prom_counter(p, "x_total", "m=\"b\"", 18446744073709551615ULL);
	nl_prom_seconds(p, "y", "k=\"s\"", 1500000001);
	CHECK_STR(nl_prom_text(p, &len),
		  "# HELP x_total X.\n# TYPE x_total counter\n"
		  "x_total{m=\"a\"} 1\nx_total{m=\"b\"} 18446744073709551615\n"
		  "# HELP y Y.\n# TYPE y gauge\ny 0.5\ny{k=\"s\"} 1.500000001\n");
	/* A new page: families stay, samples go. */
	nl_prom_reset(p);
	nl_prom_gauge(p, "y", "", 2);
	CHECK_STR(nl_prom_text(p, &len), "# HELP y Y.\n# TYPE y gauge\ny 2\n");
	CHECK(len == strlen("# HELP y Y.\n# TYPE y gauge\ny 2\n"));
	nl_prom_free(p);
}

static void test_histogram_buckets(void)
{
	struct nl_prom *p = nl_prom_new(10);
	struct nl_hist h = { 0 };
	const char *t;
	size_t len;

	h.slots[0] = 1;    /* 1 us */
	h.slots[10] = 2;   /* two of [1024, 2048) us */
	h.slots[NL_HIST_SLOTS - 1] = 1;  /* beyond the last bound */
	h.count = 4;
	h.sum_us = 1 + 1500 + 1600 + 5000000000ULL;
	nl_prom_family(p, "lat_seconds", NL_PROM_HISTOGRAM, "L.");
	nl_prom_hist(p, "lat_seconds", "d=\"x\"", &h);
	t = nl_prom_text(p, &len);
	CHECK(strstr(t, "# TYPE lat_seconds histogram\n") != NULL);
	CHECK(strstr(t, "lat_seconds_bucket{d=\"x\",le=\"0.000002\"} 1\n") != NULL);
	CHECK(strstr(t, "lat_seconds_bucket{d=\"x\",le=\"0.001024\"} 1\n") != NULL);
	CHECK(strstr(t, "lat_seconds_bucket{d=\"x\",le=\"0.002048\"} 3\n") != NULL);
	CHECK(strstr(t, "lat_seconds_bucket{d=\"x\",le=\"2147.483648\"} 3\n") != NULL);
	CHECK(strstr(t, "lat_seconds_bucket{d=\"x\",le=\"+Inf\"} 4\n") != NULL);
	CHECK(strstr(t, "lat_seconds_sum{d=\"x\"} 5000.003101\n") != NULL);
	CHECK(strstr(t, "lat_seconds_count{d=\"x\"} 4\n") != NULL);
	nl_prom_free(p);
}

/* The value of row labels after a render, or -1 if the row is not written. */
static long long row(struct nl_fold *f, const char *labels)
{
	const struct nl_fold_row *r;
	size_t n;

	r = nl_fold_rows(f, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].labels, labels))
			return (long long)r[i].vals[0];
	return -1;
}

static void put(struct nl_fold *f, const char *labels, uint64_t v)
{
	nl_fold_put(f, labels, v, &v);
}

static void test_fold_under_limit_exports_all(void)
{
	struct nl_fold *f = nl_fold_new(1, "d=\"other\"");

	nl_fold_begin(f);
	put(f, "d=\"a\"", 5);
	put(f, "d=\"b\"", 7);
	nl_fold_end(f, 2);
	CHECK(row(f, "d=\"a\"") == 5);
	CHECK(row(f, "d=\"b\"") == 7);
	CHECK(row(f, "d=\"other\"") == -1);
	CHECK(nl_fold_folded(f) == 0);
	nl_fold_free(f);
}

static void test_fold_beyond_limit_monotonic(void)
{
	struct nl_fold *f = nl_fold_new(1, "d=\"other\"");

	nl_fold_begin(f);
	put(f, "d=\"a\"", 100);
	put(f, "d=\"b\"", 50);
	put(f, "d=\"c\"", 10);
	nl_fold_end(f, 2);
	CHECK(row(f, "d=\"a\"") == 100);
	CHECK(row(f, "d=\"b\"") == 50);
	CHECK(row(f, "d=\"c\"") == -1);
	CHECK(row(f, "d=\"other\"") == 10);
	CHECK(nl_fold_folded(f) == 1);

	/* c overtakes b: c gets a series from its growth on, b keeps its value, other never shrinks. */
	nl_fold_begin(f);
	put(f, "d=\"a\"", 100);
	put(f, "d=\"b\"", 55);
	put(f, "d=\"c\"", 200);
	nl_fold_end(f, 2);
	CHECK(row(f, "d=\"a\"") == 100);
	CHECK(row(f, "d=\"c\"") == 190);
	CHECK(row(f, "d=\"b\"") == -1);
	CHECK(row(f, "d=\"other\"") == 15);

	/* b back on top resumes from where it stopped; rows not given did not grow. */
	nl_fold_begin(f);
	put(f, "d=\"b\"", 1000);
	put(f, "d=\"c\"", 210);
	nl_fold_end(f, 2);
	CHECK(row(f, "d=\"b\"") == 50 + 945);
	CHECK(row(f, "d=\"c\"") == 200);
	CHECK(row(f, "d=\"a\"") == -1);
	CHECK(row(f, "d=\"other\"") == 15);
	nl_fold_free(f);
}

static void test_fold_catch_all_row(void)
{
	struct nl_fold *f = nl_fold_new(1, "d=\"other\"");

	/* A source's own "other" always goes to other, even with room to spare. */
	nl_fold_begin(f);
	put(f, "d=\"other\"", 1000);
	put(f, "d=\"a\"", 1);
	nl_fold_end(f, 5);
	CHECK(row(f, "d=\"a\"") == 1);
	CHECK(row(f, "d=\"other\"") == 1000);
	CHECK(nl_fold_folded(f) == 0);
	nl_fold_free(f);
}

static void test_fold_same_labels_add_up(void)
{
	struct nl_fold *f = nl_fold_new(1, "d=\"other\"");

	nl_fold_begin(f);
	put(f, "d=\"a\"", 1);
	put(f, "d=\"a\"", 6);
	nl_fold_end(f, 5);
	CHECK(row(f, "d=\"a\"") == 7);
	nl_fold_begin(f);
	put(f, "d=\"a\"", 1);
	put(f, "d=\"a\"", 8);
	nl_fold_end(f, 5);
	CHECK(row(f, "d=\"a\"") == 9);
	nl_fold_free(f);
}

int main(void)
{
	RUN(test_labels_escaped);
	RUN(test_families_grouped);
	RUN(test_histogram_buckets);
	RUN(test_fold_under_limit_exports_all);
	RUN(test_fold_beyond_limit_monotonic);
	RUN(test_fold_catch_all_row);
	RUN(test_fold_same_labels_add_up);
	return TEST_SUMMARY();
}
