/* SPDX-License-Identifier: GPL-2.0 */
/* Output sinks: JSON Lines or an aligned table, on a stdio stream. */
#ifndef NETLENS_OUTPUT_H
#define NETLENS_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "cli.h"

struct nl_sink {
	enum nl_output kind;
	FILE *out;
	bool header_done;
};

void nl_sink_init(struct nl_sink *s, enum nl_output kind, FILE *out);
/* Writes obj as one line. */
void nl_sink_json(struct nl_sink *s, struct json_object *obj);
/* Table mode: prints the header line the first time only. */
void nl_sink_header(struct nl_sink *s, const char *header);
/* Lines are written whole and flushed after each batch, never mid-line. */
int nl_sink_flush(struct nl_sink *s);

/*
 * A JSON record with a fixed set of fields, built once and refilled for
 * each event: no allocation per record on the hot path, and every record
 * of a type carries the same keys (null when a value is unknown).
 */
enum nl_field_kind { NL_F_STR, NL_F_INT, NL_F_DOUBLE };

struct nl_field {
	const char *name;
	enum nl_field_kind kind;
};

struct nl_record {
	struct json_object *obj;
	struct json_object **vals;
	const struct nl_field *fields;
	size_t n;
	uint64_t nulls;          /* fields currently null */
};

/* At most 64 fields. */
int nl_record_init(struct nl_record *r, const struct nl_field *fields, size_t n);
void nl_record_free(struct nl_record *r);
void nl_record_str(struct nl_record *r, size_t i, const char *v);
void nl_record_int(struct nl_record *r, size_t i, int64_t v);
void nl_record_double(struct nl_record *r, size_t i, double v);
void nl_record_null(struct nl_record *r, size_t i);


/*
 * The leading fields of every record about a socket (conns, and later
 * retrans, drops...): one definition so that all commands agree on them.
 */
#define NL_SOCK_FIELDS \
	{ "type", NL_F_STR }, { "ts", NL_F_STR }, { "pid", NL_F_INT }, \
	{ "comm", NL_F_STR }, { "cgroup_id", NL_F_INT }, { "netns", NL_F_INT }, \
	{ "family", NL_F_INT }, { "saddr", NL_F_STR }, { "sport", NL_F_INT }, \
	{ "daddr", NL_F_STR }, { "dport", NL_F_INT }

enum { NL_SF_TYPE, NL_SF_TS, NL_SF_PID, NL_SF_COMM, NL_SF_CGROUP, NL_SF_NETNS,
       NL_SF_FAMILY, NL_SF_SADDR, NL_SF_SPORT, NL_SF_DADDR, NL_SF_DPORT, NL_SF_COUNT };

struct nl_sock_info {
	uint64_t ts_ns;              /* CLOCK_MONOTONIC */
	uint64_t cgroup_id;
	uint32_t netns;
	const struct nl_owner *owner;
	const struct nl_tuple *tuple;
};

void nl_record_sock(struct nl_record *r, const char *type, const struct nl_sock_info *si);

#endif
