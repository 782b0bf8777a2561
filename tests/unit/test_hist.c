// SPDX-License-Identifier: GPL-2.0
/* The histogram shared by the latency and DNS reports. */
#include "check.h"
#include "output/hist.h"

static void slots_are_log2_of_microseconds(void)
{
	CHECK(nl_hist_slot(0) == 0);
	CHECK(nl_hist_slot(1) == 0);
	CHECK(nl_hist_slot(2) == 1);
	CHECK(nl_hist_slot(3) == 1);
	CHECK(nl_hist_slot(1023) == 9);
	CHECK(nl_hist_slot(1024) == 10);
	CHECK(nl_hist_slot(200000) == 17);
	CHECK(nl_hist_slot(1ULL << 40) == NL_HIST_SLOTS - 1);
	for (int i = 0; i < 63; i++)
		CHECK(nl_log2(1ULL << i) == (unsigned)i && nl_log2((2ULL << i) - 1) == (unsigned)i);
}

static void percentiles_interpolate_and_stop_at_max(void)
{
	struct nl_hist h = { 0 };

	CHECK(nl_hist_percentile(&h, 50) == 0);
	for (int i = 0; i < 20; i++)
		nl_hist_add(&h, 200000 + i);   /* all in [131072, 262144) */
	CHECK(h.count == 20 && h.min_us == 200000 && h.max_us == 200019);
	CHECK(nl_hist_percentile(&h, 50) == 200009);
	CHECK(nl_hist_percentile(&h, 99) == 200018);
	CHECK(nl_hist_percentile(&h, 100) == 200019);
}

static void percentile_picks_the_right_slot(void)
{
	struct nl_hist h = { 0 };

	for (int i = 0; i < 90; i++)
		nl_hist_add(&h, 10);           /* slot 3: [8, 16) */
	for (int i = 0; i < 10; i++)
		nl_hist_add(&h, 5000);         /* slot 12: [4096, 8192) */
	CHECK(nl_hist_percentile(&h, 50) >= 8 && nl_hist_percentile(&h, 50) < 16);
	CHECK(nl_hist_percentile(&h, 90) <= 16);
	CHECK(nl_hist_percentile(&h, 99) >= 4096 && nl_hist_percentile(&h, 99) <= 5000);
}

static void lone_sample_reads_back_exactly(void)
{
	struct nl_hist h = { 0 };

	nl_hist_add(&h, 1020000);
	CHECK(nl_hist_percentile(&h, 50) == 1020000 && nl_hist_percentile(&h, 99) == 1020000);
}

static void merge_adds_counts_and_keeps_max(void)
{
	struct nl_hist a = { 0 }, b = { 0 };

	nl_hist_add(&a, 3);
	nl_hist_add(&b, 3);
	nl_hist_add(&b, 900);
	nl_hist_merge(&a, &b);
	CHECK(a.count == 3 && a.sum_us == 906 && a.min_us == 3 && a.max_us == 900);
	CHECK(a.slots[1] == 2 && a.slots[9] == 1);
}

static void json_lists_only_non_empty_buckets(void)
{
	struct nl_hist h = { 0 };
	struct json_object *o = json_object_new_object();

	nl_hist_add(&h, 1500);
	nl_hist_add(&h, 1600);
	nl_hist_json(o, &h);
	CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		  "{\"count\":2,\"p50_us\":1550,\"p90_us\":1590,\"p99_us\":1599,\"max_us\":1600,"
		  "\"buckets\":[{\"lo_us\":1024,\"hi_us\":2048,\"count\":2}]}");
	json_object_put(o);
}

int main(void)
{
	RUN(slots_are_log2_of_microseconds);
	RUN(percentiles_interpolate_and_stop_at_max);
	RUN(percentile_picks_the_right_slot);
	RUN(lone_sample_reads_back_exactly);
	RUN(merge_adds_counts_and_keeps_max);
	RUN(json_lists_only_non_empty_buckets);
	return TEST_SUMMARY();
}
