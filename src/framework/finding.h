/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Findings: what a module's totals say is wrong, one sentence each with its
 * evidence and where it is (`netlens diagnose`, `netlens top`). Each module
 * writes its own (ops->findings, in its folder: src/<cap>/<cap>_findings.c)
 * against thresholds it documents in docs/diagnose.md; nothing here knows
 * a module.
 */
#ifndef NETLENS_FINDING_H
#define NETLENS_FINDING_H

#include <stddef.h>
#include <stdint.h>

struct nl_sink;

enum nl_severity {
	NL_SEV_NOTICE = 1,    /* worth a look: e.g. netlens itself lost records */
	NL_SEV_WARNING,       /* degrades traffic: some loss, slow handshakes */
	NL_SEV_CRITICAL,      /* breaks traffic: most connects fail, a dead DNS server */
};

#define NL_FINDING_FIELDS  16
#define NL_FINDING_STR_LEN 64

/* One evidence number or location value, written as a JSON field of the finding. */
struct nl_finding_field {
	const char *name;                 /* a literal: "retransmits", "daddr", ... */
	enum { NL_FF_UINT, NL_FF_NUM, NL_FF_STR } type;
	uint64_t u;
	double d;
	char s[NL_FINDING_STR_LEN];
};

struct nl_finding {
	enum nl_severity severity;
	const char *kind;                 /* a literal: "path_loss", "local_drops", ... */
	double weight;                    /* ranks findings of one severity: what was affected */
	char summary[384];                /* one sentence: what, its evidence, where */
	unsigned int nfields;
	struct nl_finding_field fields[NL_FINDING_FIELDS];
};

struct nl_findings {
	struct nl_finding *v;
	size_t n, cap;
	uint64_t lost;                    /* findings that could not be stored (out of memory) */
};

/* A new finding to fill in, or NULL (counted in f->lost) when out of memory. */
struct nl_finding *nl_finding_add(struct nl_findings *f, enum nl_severity sev, const char *kind,
				  double weight);
void nl_finding_say(struct nl_finding *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Fields beyond NL_FINDING_FIELDS are not kept (a bug of the caller: tests keep them few). */
void nl_finding_uint(struct nl_finding *x, const char *name, uint64_t v);
void nl_finding_num(struct nl_finding *x, const char *name, double v);
void nl_finding_str(struct nl_finding *x, const char *name, const char *v);

/* Most severe first, then by weight. */
void nl_findings_rank(struct nl_findings *f);
/*
 * JSON: one {"type":"finding","rank","severity","kind","summary",fields...}
 * line each. Table: one ranked line each with its severity, or "no
 * findings". Ranks first.
 */
void nl_findings_write(struct nl_sink *s, struct nl_findings *f);
/* Empties f for the next round (keeps its memory). */
void nl_findings_clear(struct nl_findings *f);
void nl_findings_free(struct nl_findings *f);
const char *nl_severity_name(enum nl_severity sev);

#endif
