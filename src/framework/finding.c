// SPDX-License-Identifier: GPL-2.0
/* Findings: storing, ranking and writing them (src/framework/finding.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "framework/finding.h"
#include "output/output.h"

static const char *const severity_names[] = {
	[NL_SEV_NOTICE] = "notice", [NL_SEV_WARNING] = "warning", [NL_SEV_CRITICAL] = "critical",
};

const char *nl_severity_name(enum nl_severity sev)
{
	return sev >= NL_SEV_NOTICE && sev <= NL_SEV_CRITICAL ? severity_names[sev] : "?";
}

struct nl_finding *nl_finding_add(struct nl_findings *f, enum nl_severity sev, const char *kind,
				  double weight)
{
	struct nl_finding *x;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct nl_finding *v = realloc(f->v, cap * sizeof(*v));

		if (!v) {
			f->lost++;
			return NULL;
		}
		f->v = v;
		f->cap = cap;
	}
	x = &f->v[f->n++];
	memset(x, 0, sizeof(*x));
	x->severity = sev;
	x->kind = kind;
	x->weight = weight;
	return x;
}

void nl_finding_say(struct nl_finding *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->summary, sizeof(x->summary), fmt, ap);
	va_end(ap);
}

static struct nl_finding_field *field(struct nl_finding *x, const char *name)
{
	struct nl_finding_field *ff;

	if (x->nfields == NL_FINDING_FIELDS)
		return NULL;
	ff = &x->fields[x->nfields++];
	ff->name = name;
	return ff;
}

void nl_finding_uint(struct nl_finding *x, const char *name, uint64_t v)
{
	struct nl_finding_field *ff = field(x, name);

	if (ff) {
		ff->type = NL_FF_UINT;
		ff->u = v;
	}
}

void nl_finding_num(struct nl_finding *x, const char *name, double v)
{
	struct nl_finding_field *ff = field(x, name);

	if (ff) {
		ff->type = NL_FF_NUM;
		ff->d = v;
	}
}

void nl_finding_str(struct nl_finding *x, const char *name, const char *v)
{
	struct nl_finding_field *ff = field(x, name);

	if (ff) {
		ff->type = NL_FF_STR;
		snprintf(ff->s, sizeof(ff->s), "%s", v);
	}
}

static int most_severe_first(const void *pa, const void *pb)
{
	const struct nl_finding *a = pa, *b = pb;

	if (a->severity != b->severity)
		return a->severity < b->severity ? 1 : -1;
	if (a->weight != b->weight)
		return a->weight < b->weight ? 1 : -1;
	return strcmp(a->summary, b->summary);
}

void nl_findings_rank(struct nl_findings *f)
{
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(f->v[0]), most_severe_first);
}

static void write_json(struct nl_sink *s, const struct nl_finding *x, size_t rank)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "type", json_object_new_string("finding"));
	json_object_object_add(j, "rank", json_object_new_int64(rank));
	json_object_object_add(j, "severity", json_object_new_string(nl_severity_name(x->severity)));
	json_object_object_add(j, "kind", json_object_new_string(x->kind));
	json_object_object_add(j, "summary", json_object_new_string(x->summary));
	for (unsigned int i = 0; i < x->nfields; i++) {
		const struct nl_finding_field *ff = &x->fields[i];
		struct json_object *v = ff->type == NL_FF_UINT ? json_object_new_uint64(ff->u) :
					ff->type == NL_FF_NUM  ? json_object_new_double(ff->d) :
								 json_object_new_string(ff->s);

		json_object_object_add(j, ff->name, v);
	}
	nl_sink_json(s, j);
	json_object_put(j);
}

void nl_findings_write(struct nl_sink *s, struct nl_findings *f)
{
	nl_findings_rank(f);
	if (s->kind != NL_OUT_JSON && !f->n) {
		if (s->out)
			fprintf(s->out, "no findings\n");
		return;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (s->kind == NL_OUT_JSON)
			write_json(s, &f->v[i], i + 1);
		else if (s->out)
			fprintf(s->out, "%2zu. %-8s %s\n", i + 1, nl_severity_name(f->v[i].severity),
				f->v[i].summary);
	}
}

void nl_findings_clear(struct nl_findings *f)
{
	f->n = 0;
	f->lost = 0;
}

void nl_findings_free(struct nl_findings *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}
