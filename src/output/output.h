/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output sinks: JSON Lines or an aligned table, on a stdio stream; JSON
 * Lines into an events file shared by several sinks (`serve`); or nowhere.
 */
#ifndef NETLENS_OUTPUT_H
#define NETLENS_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "framework/cli.h"
#include "output/jsonw.h"

struct nl_eventlog;
struct nl_sink;

/*
 * A sink whose lines are handed to a function as json-c objects instead of
 * written (`top`): take() borrows the object (json_object_get() to keep
 * it). Summaries arrive as they were built; lines built with nl_jw are
 * parsed back, with one tokener per capture.
 */
struct nl_capture {
	void (*take)(void *ctx, struct nl_sink *s, struct json_object *o);
	void *ctx;
	bool records;             /* per-event records wanted too (nl_sink_wants_records) */
	struct json_tokener *tok; /* made on first use, freed by nl_capture_free() */
	uint64_t unparsed;        /* nl_jw lines json-c could not parse back (a bug: said) */
};

struct nl_sink {
	enum nl_output kind;
	FILE *out;                /* NULL: lines go to log, or nowhere */
	struct nl_eventlog *log;
	struct nl_capture *capture;  /* NULL unless made by nl_sink_init_capture() */
	bool header_done;
	struct nl_jw jw;          /* the line being built (JSON mode) */
};

void nl_sink_init(struct nl_sink *s, enum nl_output kind, FILE *out);
/* JSON lines into an events file (src/output/eventlog.h), which several sinks may share. */
void nl_sink_init_eventlog(struct nl_sink *s, struct nl_eventlog *log);
/* JSON kind, but every line is dropped: `serve` without --events-file. */
void nl_sink_init_discard(struct nl_sink *s);
/* JSON kind, every line handed to c (`top`). */
void nl_sink_init_capture(struct nl_sink *s, struct nl_capture *c);
void nl_capture_free(struct nl_capture *c);
void nl_sink_free(struct nl_sink *s);
/*
 * False when the sink drops its lines: per-event record writers return
 * early and build nothing (summaries and totals are still kept).
 */
static inline bool nl_sink_wants_records(const struct nl_sink *s)
{
	return s->out || s->log || (s->capture && s->capture->records);
}
/* Writes a json-c object as one line (nested, low-rate records). */
void nl_sink_json(struct nl_sink *s, struct json_object *obj);
/* Writes the line built in s->jw since nl_jw_begin(). */
void nl_sink_jw(struct nl_sink *s);
/* Table mode: prints the header line the first time only. */
void nl_sink_header(struct nl_sink *s, const char *header);
/*
 * Lines are written whole and flushed after each batch, never mid-line.
 * An events file's write errors are counted there, not returned.
 */
int nl_sink_flush(struct nl_sink *s);

/*
 * The leading fields of every record about a socket (conns, and later
 * retrans, drops...): one writer so that all commands agree on them.
 */
/*
 * Begins a record: type, ts (from CLOCK_MONOTONIC ns), pid, comm, cgroup_id,
 * netns, family, saddr, sport, daddr, dport.
 */
void nl_jw_sock(struct nl_jw *w, const char *type, uint64_t ts_ns, const struct nl_sock_id *id,
		const struct nl_owner *owner);

/*
 * The fields naming a destination in a per-destination total (conns,
 * retrans): direction, family, daddr, dport, added to a json-c object.
 */
void nl_json_dest(struct json_object *j, bool inbound, uint8_t family, const uint8_t *addr,
		  uint16_t port);

/*
 * The same destination as Prometheus labels (src/output/prom.h): direction (when
 * not NULL), daddr, dport, written into buf; returns buf.
 */
const char *nl_prom_dest(char *buf, size_t len, const char *direction, uint8_t family,
			 const uint8_t *addr, uint16_t port);

#endif
