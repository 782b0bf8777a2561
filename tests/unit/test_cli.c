// SPDX-License-Identifier: GPL-2.0
/* The shared option parser: values, filters, and exit code 2 with one line on errors. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "framework/cli.h"

static int extra_seen;

static int set_extra(void *ctx, const char *arg, char *err, size_t len)
{
	(void)ctx;
	if (atoi(arg) < 0) {
		snprintf(err, len, "negative");
		return -1;
	}
	extra_seen = atoi(arg);
	return 0;
}

static const struct nl_cmd_opt extra[] = {
	{ "extra", NL_OPT_LONG_ONLY, "N", "a command option", set_extra },
	{ 0 },
};

static const struct nl_cmd_spec spec = {
	.name = "test", .summary = "test", .sets = NL_OPTS_OUTPUT | NL_OPTS_EVENTS, .opts = extra,
};

static void parse(struct nl_opts *o, int argc, char **argv)
{
	nl_cli_parse(&spec, NULL, argc, argv, o);
}

#define ARGV(...) (char *[]){ "test", __VA_ARGS__, NULL }
#define ARGC(...) (int)(sizeof((char *[]){ "test", __VA_ARGS__ }) / sizeof(char *))
#define PARSE(o, ...) parse(o, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_defaults(void)
{
	struct nl_opts o;

	nl_cli_parse(&spec, NULL, 1, (char *[]){ "test", NULL }, &o);
	CHECK(o.output == NL_OUT_TABLE);
	CHECK(o.duration == 0 && !o.verbose);
	CHECK(o.filter.pid == 0 && o.filter.family == 0 && o.filter.nports == 0);
	CHECK(!o.filter.has_comm && o.filter.cgroup_id == 0);
}

static void test_values(void)
{
	struct nl_opts o;

	PARSE(&o, "-o", "json", "-d", "2.5", "-p", "123", "-c", "curl", "-P", "80",
	      "--port", "443", "-4", "-v", "--extra", "7");
	CHECK(o.output == NL_OUT_JSON);
	CHECK(o.duration == 2.5);
	CHECK(o.filter.pid == 123);
	CHECK(o.filter.has_comm);
	CHECK_STR(o.filter.comm, "curl");
	CHECK(o.filter.nports == 2 && o.filter.ports[0] == 80 && o.filter.ports[1] == 443);
	CHECK(o.filter.family == 4);
	CHECK(o.verbose);
	CHECK(extra_seen == 7);
}

static void test_families(void)
{
	struct nl_opts o;

	PARSE(&o, "-6");
	CHECK(o.filter.family == 6);
	PARSE(&o, "--ipv4");
	CHECK(o.filter.family == 4);
	/* Both families: no filter at all. */
	PARSE(&o, "-4", "-6");
	CHECK(o.filter.family == 0);
}

static void test_numbers(void)
{
	uint64_t v;
	double d;

	CHECK(nl_parse_u64("42", 1, 100, &v) == 0 && v == 42);
	CHECK(nl_parse_u64("0", 1, 100, &v) == -1);
	CHECK(nl_parse_u64("101", 1, 100, &v) == -1);
	CHECK(nl_parse_u64("-1", 0, 100, &v) == -1);
	CHECK(nl_parse_u64("+1", 0, 100, &v) == -1);
	CHECK(nl_parse_u64("12abc", 0, 100, &v) == -1);
	CHECK(nl_parse_u64("", 0, 100, &v) == -1);
	CHECK(nl_parse_u64("99999999999999999999999", 0, ~0ULL, &v) == -1);
	CHECK(nl_parse_seconds("0.5", &d) == 0 && d == 0.5);
	CHECK(nl_parse_seconds("0", &d) == -1);
	CHECK(nl_parse_seconds("nan", &d) == -1);
	CHECK(nl_parse_seconds("inf", &d) == -1);
	CHECK(nl_parse_seconds("1s", &d) == -1);
}

/* Runs the parser in a child; returns its exit code and the stderr lines it wrote. */
static int parse_in_child(int argc, char **argv, int *lines)
{
	int pipefd[2], status;
	char buf[4096];
	ssize_t n, total = 0;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct nl_opts o;

		dup2(pipefd[1], 2);
		if (!freopen("/dev/null", "w", stdout))
			_exit(99);
		nl_cli_parse(&spec, NULL, argc, argv, &o);
		_exit(0);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf + total, sizeof(buf) - 1 - total)) > 0)
		total += n;
	close(pipefd[0]);
	buf[total] = 0;
	*lines = 0;
	for (char *p = buf; *p; p++)
		*lines += *p == '\n';
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define REJECTS(...)                                                             \
	do {                                                                     \
		int lines_;                                                      \
		CHECK(parse_in_child(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), &lines_) == NL_EXIT_USAGE); \
		CHECK(lines_ == 1);                                              \
	} while (0)

static void test_errors(void)
{
	REJECTS("--bogus");
	REJECTS("-z");
	REJECTS("-p");
	REJECTS("-p", "x");
	REJECTS("-p", "0");
	REJECTS("-d", "0");
	REJECTS("-d", "-3");
	REJECTS("-P", "0");
	REJECTS("-P", "65536");
	REJECTS("-o", "yaml");
	REJECTS("-c", "");
	REJECTS("-c", "sixteen-chars-xx");
	REJECTS("--cgroup", "/no/such/cgroup");
	REJECTS("--cgroup", "/proc");
	REJECTS("--extra", "-1");
	REJECTS("positional");
	REJECTS("-P", "1", "-P", "2", "-P", "3", "-P", "4", "-P", "5", "-P", "6", "-P", "7",
		"-P", "8", "-P", "9", "-P", "10", "-P", "11", "-P", "12", "-P", "13", "-P", "14",
		"-P", "15", "-P", "16", "-P", "17");
}

static void test_help_exits_zero(void)
{
	int lines;

	CHECK(parse_in_child(2, (char *[]){ "test", "--help", NULL }, &lines) == 0);
	CHECK(lines == 0);
}

/* One option by name, as serve sets its modules': the command line's messages. */
static void test_set_by_name(void)
{
	char err[128];

	CHECK(nl_cli_set(&spec, NULL, "extra", "5", err, sizeof(err)) == 0 && extra_seen == 5);
	CHECK(nl_cli_set(&spec, NULL, "extra", "-1", err, sizeof(err)) == -1);
	CHECK_STR(err, "--extra: negative");
	CHECK(nl_cli_set(&spec, NULL, "nope", "1", err, sizeof(err)) == -1);
	CHECK_STR(err, "--nope: no such option");
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_values);
	RUN(test_families);
	RUN(test_numbers);
	RUN(test_errors);
	RUN(test_help_exits_zero);
	RUN(test_set_by_name);
	return TEST_SUMMARY();
}
