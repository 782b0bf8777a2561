/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal unit-test harness: RUN(test) prints PASS/FAIL, TEST_SUMMARY() the counts. */
#ifndef NETLENS_CHECK_H
#define NETLENS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, tests_passed, tests_failed;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			check_failures++;                                        \
			fprintf(stderr, "  %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
		}                                                                \
	} while (0)

#define CHECK_STR(got, want)                                                     \
	do {                                                                     \
		const char *g_ = (got), *w_ = (want);                            \
		if (!g_ || strcmp(g_, w_)) {                                     \
			check_failures++;                                        \
			fprintf(stderr, "  %s:%d: got \"%s\", want \"%s\"\n", __FILE__, \
				__LINE__, g_ ? g_ : "(null)", w_);               \
		}                                                                \
	} while (0)

#define RUN(fn)                                                                  \
	do {                                                                     \
		int before_ = check_failures;                                    \
		fn();                                                            \
		if (check_failures == before_) {                                 \
			tests_passed++;                                          \
			printf("PASS %s\n", #fn);                                \
		} else {                                                         \
			tests_failed++;                                          \
			printf("FAIL %s\n", #fn);                                \
		}                                                                \
		fflush(stdout);                                                  \
	} while (0)

/* True if text holds line as a whole line (a Prometheus page's sample, say). */
static inline int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

#define TEST_SUMMARY()                                                           \
	(printf("%d passed, %d failed\n", tests_passed, tests_failed), tests_failed != 0)

#endif
