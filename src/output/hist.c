// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "output/hist.h"

void nl_hist_add(struct nl_hist *h, uint64_t us)
{
	h->slots[nl_hist_slot(us)]++;
	if (!h->count++ || us < h->min_us)
		h->min_us = us;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

void nl_hist_merge(struct nl_hist *dst, const struct nl_hist *src)
{
	for (int i = 0; i < NL_HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
	if (src->count && (!dst->count || src->min_us < dst->min_us))
		dst->min_us = src->min_us;
	dst->count += src->count;
	dst->sum_us += src->sum_us;
	if (src->max_us > dst->max_us)
		dst->max_us = src->max_us;
}

static uint64_t slot_low(int i)
{
	return i ? 1ULL << i : 0;
}

static uint64_t slot_high(int i)
{
	return 1ULL << (i + 1);
}

uint64_t nl_hist_percentile(const struct nl_hist *h, double p)
{
	uint64_t total = 0, seen = 0;
	double rank;

	for (int i = 0; i < NL_HIST_SLOTS; i++)
		total += h->slots[i];
	if (!total)
		return 0;
	rank = p / 100.0 * total;
	for (int i = 0; i < NL_HIST_SLOTS; i++) {
		uint64_t lo = slot_low(i), hi = slot_high(i);

		if (!h->slots[i] || seen + h->slots[i] < rank) {
			seen += h->slots[i];
			continue;
		}
		/* No sample lies outside [min, max]: narrow the slot to it. */
		if (h->min_us > lo)
			lo = h->min_us < hi ? h->min_us : hi;
		if (h->max_us < hi)
			hi = h->max_us > lo ? h->max_us : lo;
		return lo + (uint64_t)((hi - lo) * ((rank - seen) / h->slots[i]));
	}
	return h->max_us;
}

void nl_hist_json(struct json_object *obj, const struct nl_hist *h)
{
	struct json_object *buckets = json_object_new_array();

	json_object_object_add(obj, "count", json_object_new_uint64(h->count));
	json_object_object_add(obj, "p50_us", json_object_new_uint64(nl_hist_percentile(h, 50)));
	json_object_object_add(obj, "p90_us", json_object_new_uint64(nl_hist_percentile(h, 90)));
	json_object_object_add(obj, "p99_us", json_object_new_uint64(nl_hist_percentile(h, 99)));
	json_object_object_add(obj, "max_us", json_object_new_uint64(h->max_us));
	for (int i = 0; i < NL_HIST_SLOTS; i++) {
		struct json_object *b;

		if (!h->slots[i])
			continue;
		b = json_object_new_object();
		json_object_object_add(b, "lo_us", json_object_new_uint64(slot_low(i)));
		json_object_object_add(b, "hi_us", json_object_new_uint64(slot_high(i)));
		json_object_object_add(b, "count", json_object_new_uint64(h->slots[i]));
		json_object_array_add(buckets, b);
	}
	json_object_object_add(obj, "buckets", buckets);
}

#define BAR_WIDTH 30

void nl_hist_print(FILE *out, const struct nl_hist *h, const char *indent)
{
	uint64_t peak = 0;
	int first = -1, last = -1;

	for (int i = 0; i < NL_HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (h->slots[i] > peak)
			peak = h->slots[i];
	}
	/* Empty slots between the first and last are shown: gaps are information. */
	for (int i = first; first >= 0 && i <= last; i++) {
		char bar[BAR_WIDTH + 1];
		int n = (int)(h->slots[i] * BAR_WIDTH / peak);

		memset(bar, '*', n);
		memset(bar + n, ' ', BAR_WIDTH - n);
		bar[BAR_WIDTH] = 0;
		fprintf(out, "%s%10llu -> %-10llu us : %-8llu |%s|\n", indent,
			(unsigned long long)slot_low(i), (unsigned long long)slot_high(i) - 1,
			(unsigned long long)h->slots[i], bar);
	}
}
