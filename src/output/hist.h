/* SPDX-License-Identifier: GPL-2.0 */
/* Reading latency histograms (src/output/hist_abi.h): merge, percentiles, output. */
#ifndef NETLENS_SRC_HIST_H
#define NETLENS_SRC_HIST_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "output/hist_abi.h"

/* Adds one sample measured in user space (e.g. a DNS answer's latency). */
void nl_hist_add(struct nl_hist *h, uint64_t us);

/* dst += src (per-CPU copies, or interval deltas into totals). */
void nl_hist_merge(struct nl_hist *dst, const struct nl_hist *src);

/*
 * The p-th percentile (0 < p <= 100) in us: the slot holding it, linearly
 * interpolated inside the slot narrowed to [min, max]. 0 if empty.
 */
uint64_t nl_hist_percentile(const struct nl_hist *h, double p);

/* Adds count, p50_us, p90_us, p99_us, max_us and buckets to a JSON object. */
void nl_hist_json(struct json_object *obj, const struct nl_hist *h);

/* Prints the non-empty slots as "lo -> hi : count |****|" lines. */
void nl_hist_print(FILE *out, const struct nl_hist *h, const char *indent);

#endif
