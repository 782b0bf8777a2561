// SPDX-License-Identifier: GPL-2.0
/* Findings: ranking and the JSON and table lines (src/framework/finding.c). */
#include <string.h>
#include "capture.h"
#include "check.h"
#include "framework/finding.h"

static void add(struct nl_findings *f, enum nl_severity sev, const char *kind, double w,
		const char *say)
{
	struct nl_finding *x = nl_finding_add(f, sev, kind, w);

	nl_finding_say(x, "%s", say);
	nl_finding_uint(x, "count", (uint64_t)w);
	nl_finding_str(x, "where", "10.0.0.1:80");
	nl_finding_num(x, "ratio", 0.25);
}

static void ranked_by_severity_then_weight(void)
{
	struct nl_findings f = { 0 };
	struct capture c;

	add(&f, NL_SEV_NOTICE, "b", 1000, "notice");
	add(&f, NL_SEV_CRITICAL, "a", 1, "critical small");
	add(&f, NL_SEV_WARNING, "c", 5, "warning");
	add(&f, NL_SEV_CRITICAL, "d", 9, "critical big");
	capture_open(&c, NL_OUT_TABLE);
	nl_findings_write(&c.sink, &f);
	fflush(c.sink.out);
	CHECK_STR(c.buf, " 1. critical critical big\n 2. critical critical small\n"
			 " 3. warning  warning\n 4. notice   notice\n");
	capture_close(&c);
	nl_findings_free(&f);
}

static void json_has_every_field(void)
{
	struct nl_findings f = { 0 };
	struct capture c;

	add(&f, NL_SEV_WARNING, "path_loss", 3, "3 lost");
	capture_open(&c, NL_OUT_JSON);
	nl_findings_write(&c.sink, &f);
	fflush(c.sink.out);
	CHECK_STR(c.buf, "{\"type\":\"finding\",\"rank\":1,\"severity\":\"warning\",\"kind\":"
			 "\"path_loss\",\"summary\":\"3 lost\",\"count\":3,\"where\":"
			 "\"10.0.0.1:80\",\"ratio\":0.25}\n");
	capture_close(&c);
	nl_findings_free(&f);
}

static void none_is_said_in_a_table(void)
{
	struct nl_findings f = { 0 };
	struct capture c;

	capture_open(&c, NL_OUT_TABLE);
	nl_findings_write(&c.sink, &f);
	fflush(c.sink.out);
	CHECK_STR(c.buf, "no findings\n");
	capture_close(&c);
	capture_open(&c, NL_OUT_JSON);
	nl_findings_write(&c.sink, &f);
	fflush(c.sink.out);
	CHECK(c.len == 0);
	capture_close(&c);
}

static void fields_beyond_the_limit_are_not_kept(void)
{
	struct nl_findings f = { 0 };
	struct nl_finding *x = nl_finding_add(&f, NL_SEV_NOTICE, "k", 0);

	for (int i = 0; i < NL_FINDING_FIELDS + 3; i++)
		nl_finding_uint(x, "n", i);
	CHECK(x->nfields == NL_FINDING_FIELDS);
	nl_findings_clear(&f);
	CHECK(f.n == 0);
	nl_findings_free(&f);
}

int main(void)
{
	RUN(ranked_by_severity_then_weight);
	RUN(json_has_every_field);
	RUN(none_is_said_in_a_table);
	RUN(fields_beyond_the_limit_are_not_kept);
	return TEST_SUMMARY();
}
