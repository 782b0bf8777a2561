/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters and event emission shared by every netlens program: nothing is
 * lost silently. A ring-buffer reserve that fails and a map insert that is
 * refused both bump a per-CPU counter that user space reports.
 */
#ifndef NETLENS_EMIT_BPF_H
#define NETLENS_EMIT_BPF_H

#include "kernel/common_abi.h"

#define NL_E2BIG  7
#define NL_ENOMEM 12
#define NL_EBUSY  16

/*
 * An object that holds several capabilities (the TCP core) keeps one row of
 * counters per capability; the others have one row.
 */
#ifndef NL_STAT_ROWS
#define NL_STAT_ROWS 1
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NL_STAT_MAX * NL_STAT_ROWS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/*
 * Wake the reader only once this much is pending; it also polls on a short
 * timer. Under a connection storm this turns one wake-up per record into one
 * per batch (set by user space; 0 wakes on every record).
 */
const volatile __u32 nl_wakeup_bytes = 0;

static __always_inline void stat_row_add(__u32 row, __u32 idx, __u64 n)
{
	__u32 key = row * NL_STAT_MAX + idx;
	__u64 *v = bpf_map_lookup_elem(&stats, &key);

	if (v)
		*v += n;
}

static __always_inline void stat_row_inc(__u32 row, __u32 idx)
{
	stat_row_add(row, idx, 1);
}

/* bpf_map_update_elem() that counts why an insert was refused, in row's counters. */
static __always_inline long map_insert_row(__u32 row, void *map, const void *key,
					   const void *val, __u64 flags)
{
	long err = bpf_map_update_elem(map, key, val, flags);

	if (err == -NL_E2BIG || err == -NL_ENOMEM)
		stat_row_inc(row, NL_STAT_MAP_FULL);
	else if (err == -NL_EBUSY)
		stat_row_inc(row, NL_STAT_MAP_BUSY);
	return err;
}

static __always_inline void *ring_reserve(void *ring, __u32 row, __u64 size)
{
	void *rec = bpf_ringbuf_reserve(ring, size, 0);

	if (!rec)
		stat_row_inc(row, NL_STAT_LOST);
	return rec;
}

/* Per ring (one per row): the reader's position at the last record, and when it was woken. */
__u64 nl_ring_seen[NL_STAT_ROWS], nl_ring_woken[NL_STAT_ROWS];

/*
 * Once nl_wakeup_bytes are pending, a forced wake-up only when the reader
 * has not moved since the previous record (it sleeps), once per position:
 * every forced wake-up is an irq_work and a self-IPI (a VM exit on KVM), and
 * a reader that is behind but running, or woken but not yet scheduled,
 * needs none.
 */
static __always_inline __u64 ring_wakeup(void *ring, __u32 row)
{
	__u64 pos;

	if (row >= NL_STAT_ROWS ||
	    bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) < nl_wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	/* + 1: position 0 is a real one, the arrays start at 0. */
	pos = bpf_ringbuf_query(ring, BPF_RB_CONS_POS) + 1;
	if (nl_ring_seen[row] != pos) {
		nl_ring_seen[row] = pos;
		return BPF_RB_NO_WAKEUP;
	}
	if (nl_ring_woken[row] == pos)
		return BPF_RB_NO_WAKEUP;
	nl_ring_woken[row] = pos;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void ring_submit(void *ring, __u32 row, void *rec)
{
	bpf_ringbuf_submit(rec, nl_wakeup_bytes ? ring_wakeup(ring, row) : 0);
	stat_row_inc(row, NL_STAT_EVENTS);
}

static __always_inline void stat_inc(__u32 idx)
{
	stat_row_inc(0, idx);
}

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	stat_row_add(0, idx, n);
}

static __always_inline long map_insert(void *map, const void *key, const void *val, __u64 flags)
{
	return map_insert_row(0, map, key, val, flags);
}

/* A ring buffer of records, resized by user space before load (nl_ringbuf_setup()). */
#define NL_RING(name)                                   \
	struct {                                        \
		__uint(type, BPF_MAP_TYPE_RINGBUF);     \
		__uint(max_entries, 1 << 21);           \
	} name SEC(".maps")

/* One ring per object, unless the object declares its own (the TCP core: one per capability). */
#ifndef NL_OWN_RINGS
NL_RING(events);

static __always_inline void *event_reserve(__u64 size)
{
	return ring_reserve(&events, 0, size);
}

static __always_inline void event_submit(void *rec)
{
	ring_submit(&events, 0, rec);
}
#endif

#endif
