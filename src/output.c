// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "output.h"
#include "sys.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void nl_sink_init(struct nl_sink *s, enum nl_output kind, FILE *out)
{
	/* Our doubles are milliseconds or seconds: microsecond precision, no noise digits. */
	json_c_set_serialization_double_format("%.3f", JSON_C_OPTION_GLOBAL);
	s->kind = kind;
	s->out = out;
	s->header_done = false;
}

void nl_sink_json(struct nl_sink *s, struct json_object *obj)
{
	fputs(json_object_to_json_string_ext(obj, JSON_FLAGS), s->out);
	fputc('\n', s->out);
}

void nl_sink_header(struct nl_sink *s, const char *header)
{
	if (s->header_done)
		return;
	fprintf(s->out, "%s\n", header);
	s->header_done = true;
}

int nl_sink_flush(struct nl_sink *s)
{
	return fflush(s->out) ? -errno : 0;
}

static struct json_object *new_value(enum nl_field_kind kind)
{
	switch (kind) {
	case NL_F_STR:
		return json_object_new_string("");
	case NL_F_INT:
		return json_object_new_int64(0);
	case NL_F_DOUBLE:
		return json_object_new_double(0);
	}
	return NULL;
}

int nl_record_init(struct nl_record *r, const struct nl_field *fields, size_t n)
{
	r->obj = json_object_new_object();
	r->vals = calloc(n, sizeof(*r->vals));
	r->fields = fields;
	r->n = n;
	r->nulls = 0;
	if (n > 64 || !r->obj || !r->vals)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r->vals[i] = new_value(fields[i].kind);
		if (!r->vals[i])
			return -ENOMEM;
		/* The record object holds the reference; vals[] borrows it. */
		json_object_object_add(r->obj, fields[i].name, r->vals[i]);
	}
	return 0;
}

void nl_record_free(struct nl_record *r)
{
	json_object_put(r->obj);
	free(r->vals);
	r->obj = NULL;
	r->vals = NULL;
}

/* A field left null by nl_record_null() gets its value object back. */
static struct json_object *slot(struct nl_record *r, size_t i)
{
	if (r->nulls & (1ULL << i)) {
		r->vals[i] = new_value(r->fields[i].kind);
		json_object_object_add(r->obj, r->fields[i].name, r->vals[i]);
		r->nulls &= ~(1ULL << i);
	}
	return r->vals[i];
}

void nl_record_str(struct nl_record *r, size_t i, const char *v)
{
	json_object_set_string(slot(r, i), v);
}

void nl_record_int(struct nl_record *r, size_t i, int64_t v)
{
	json_object_set_int64(slot(r, i), v);
}

void nl_record_double(struct nl_record *r, size_t i, double v)
{
	json_object_set_double(slot(r, i), v);
}

void nl_record_null(struct nl_record *r, size_t i)
{
	if (r->nulls & (1ULL << i))
		return;
	json_object_object_add(r->obj, r->fields[i].name, NULL);
	r->vals[i] = NULL;
	r->nulls |= 1ULL << i;
}

void nl_record_sock(struct nl_record *r, const char *type, const struct nl_sock_info *si)
{
	const struct nl_tuple *t = si->tuple;
	char buf[NL_ADDR_LEN], comm[NL_COMM_LEN + 1];

	/* Kernel strings are bounded, not trusted to be terminated. */
	memcpy(comm, si->owner->comm, NL_COMM_LEN);
	comm[NL_COMM_LEN] = 0;
	nl_record_str(r, NL_SF_TYPE, type);
	nl_record_str(r, NL_SF_TS, nl_fmt_rfc3339(nl_mono_to_realtime(si->ts_ns), buf, sizeof(buf)));
	nl_record_int(r, NL_SF_PID, si->owner->pid);
	nl_record_str(r, NL_SF_COMM, comm);
	nl_record_int(r, NL_SF_CGROUP, si->cgroup_id);
	nl_record_int(r, NL_SF_NETNS, si->netns);
	nl_record_int(r, NL_SF_FAMILY, t->family);
	nl_record_str(r, NL_SF_SADDR, nl_fmt_addr(t->family, t->saddr, buf, sizeof(buf)));
	nl_record_int(r, NL_SF_SPORT, t->sport);
	nl_record_str(r, NL_SF_DADDR, nl_fmt_addr(t->family, t->daddr, buf, sizeof(buf)));
	nl_record_int(r, NL_SF_DPORT, t->dport);
}
