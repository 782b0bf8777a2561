/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency histograms shared by kernel and user space: log2 buckets of
 * microseconds. Slot i counts values in [2^i, 2^(i+1)) us (slot 0 also
 * holds 0); the last slot takes everything larger. count, sum, min and max
 * are exact; percentiles interpolate inside a slot, between the slot's
 * bounds narrowed to [min, max] (so a lone sample reads back exactly).
 */
#ifndef NETLENS_HIST_H
#define NETLENS_HIST_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NL_HIST_SLOTS 32          /* up to 2^32 us, about 71 minutes */

struct nl_hist {
	__u64 slots[NL_HIST_SLOTS];
	__u64 count;
	__u64 sum_us;
	__u64 min_us;             /* valid when count > 0 */
	__u64 max_us;
};

/* floor(log2(v)) for v > 0, 0 for 0; branch-light so the verifier likes it. */
static inline __u32 nl_log2(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffffULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xffff) << 4; v >>= shift; r |= shift;
	shift = (v > 0xff) << 3; v >>= shift; r |= shift;
	shift = (v > 0xf) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static inline __u32 nl_hist_slot(__u64 us)
{
	__u32 s = nl_log2(us);

	return s < NL_HIST_SLOTS ? s : NL_HIST_SLOTS - 1;
}

#endif
