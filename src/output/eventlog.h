/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The events file of `netlens serve` (--events-file): JSON Lines appended
 * to PATH, rotated by size, reopened on SIGHUP.
 *
 * Lines are buffered and written in whole lines only: a line is never split
 * across files, and a file never grows past max_size unless one line alone
 * is bigger (it then goes whole into a fresh file). Rotation renames
 * PATH.<keep-1> -> PATH.<keep>, ..., PATH -> PATH.1 (the oldest is replaced)
 * and starts a new PATH: keep older files are kept besides PATH. With keep 0
 * PATH is removed and started afresh (no older file); with max_size 0 it is
 * never rotated (an external logrotate does it, then SIGHUP).
 */
#ifndef NETLENS_EVENTLOG_H
#define NETLENS_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#define NL_EVENTLOG_DEFAULT_MAX_SIZE (100ULL << 20)
#define NL_EVENTLOG_DEFAULT_KEEP     5
#define NL_EVENTLOG_MAX_KEEP         1000

struct nl_eventlog_stats {
	uint64_t lines;          /* written to a file */
	uint64_t bytes;
	uint64_t rotations;
	uint64_t write_errors;   /* failed write(2), open(2) or rename(2) calls */
	uint64_t lines_lost;     /* lines that could not be written */
};

struct nl_eventlog;

/*
 * Opens (creates with mode 0640, or appends to) path. NULL with errno set
 * when the file cannot be opened or keep > NL_EVENTLOG_MAX_KEEP.
 */
struct nl_eventlog *nl_eventlog_open(const char *path, uint64_t max_size, unsigned int keep);
/* Writes what is buffered and closes. */
void nl_eventlog_close(struct nl_eventlog *log);

/*
 * Adds one record (without its newline; the log adds it). Lines leave in
 * batches: at nl_eventlog_flush(), when the buffer is full, or before a
 * rotation.
 */
void nl_eventlog_write(struct nl_eventlog *log, const char *line, size_t len);
/*
 * Writes the buffered lines. Errors are counted (stats), never returned:
 * a full disk must not stop the agent; the lines are then lost and counted.
 * One line on stderr when lines start being lost, one when a write succeeds
 * again (with how many were lost meanwhile).
 */
void nl_eventlog_flush(struct nl_eventlog *log);

/*
 * SIGHUP: logrotate moved PATH away: flush into the old file, then open
 * PATH again (creating it) and append there. 0 or -errno.
 */
int nl_eventlog_reopen(struct nl_eventlog *log);

const struct nl_eventlog_stats *nl_eventlog_stats(const struct nl_eventlog *log);

struct nl_prom;
/* `serve`: the counters as netlens_events_file_*_total (docs/events.md). */
void nl_eventlog_metrics(const struct nl_eventlog *log, struct nl_prom *p);

#endif
