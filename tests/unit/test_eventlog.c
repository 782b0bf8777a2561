// SPDX-License-Identifier: GPL-2.0
/* The events file: rotation, whole lines, reopen, sinks sharing it; the size parser. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "check.h"
#include "framework/cli.h"
#include "output/eventlog.h"
#include "output/output.h"

#define NLINES 10000

static char dir[] = "/tmp/nl_eventlog_XXXXXX";
static char path[256], moved[256];

/* Line n: unique, of a length that varies with n; every 997th is far longer than max. */
static size_t make_line(unsigned int n, char *buf, size_t len, size_t big)
{
	size_t pad = n % 997 == 500 ? big : 10 + (n * 37) % 300;
	int head = snprintf(buf, len, "{\"n\":%u,\"pad\":\"", n);

	memset(buf + head, 'x', pad);
	memcpy(buf + head + pad, "\"}", 3);
	return head + pad + 2;
}

static void write_lines(struct nl_eventlog *log, unsigned int count, size_t big)
{
	static char buf[16384];

	for (unsigned int n = 0; n < count; n++) {
		nl_eventlog_write(log, buf, make_line(n, buf, sizeof(buf), big));
		if (n % 7 == 0)
			nl_eventlog_flush(log);
	}
}

static char *file_name(unsigned int i)
{
	static char name[300];

	if (i)
		snprintf(name, sizeof(name), "%s.%u", path, i);
	else
		snprintf(name, sizeof(name), "%s", path);
	return name;
}

static bool exists(const char *name)
{
	return access(name, F_OK) == 0;
}

static void remove_files(void)
{
	for (unsigned int i = 0; i <= NL_EVENTLOG_MAX_KEEP + 1; i++)
		unlink(file_name(i));
	unlink(moved);
}

/*
 * Reads file i and checks its lines continue the sequence at *next:
 * each line whole and exactly as written. Returns the number of lines,
 * or -1 on a mismatch; *size gets the file's size.
 */
static int read_file(unsigned int i, unsigned int *next, size_t big, size_t *size)
{
	char *line = NULL, want[16384];
	size_t cap = 0;
	ssize_t n;
	int lines = 0;
	FILE *f = fopen(file_name(i), "r");

	*size = 0;
	if (!f)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t wlen = make_line(*next, want, sizeof(want), big);

		*size += n;
		if ((size_t)n != wlen + 1 || memcmp(line, want, wlen) || line[wlen] != '\n') {
			fprintf(stderr, "  %s: line %u differs\n", file_name(i), *next);
			lines = -1;
			break;
		}
		(*next)++;
		lines++;
	}
	free(line);
	fclose(f);
	return lines;
}

/* Every line from first on, in order, across files highest..0; each within max. */
static unsigned int check_files(unsigned int highest, unsigned int first, uint64_t max, size_t big)
{
	unsigned int next = first;

	for (unsigned int i = highest + 1; i-- > 0;) {
		size_t size;
		int lines = read_file(i, &next, big, &size);

		CHECK(lines > 0);
		/* Only a line bigger than max alone makes a file bigger than max. */
		CHECK(size <= max || lines == 1);
	}
	return next;
}

static void test_rotation_keeps_n(void)
{
	struct nl_eventlog *log = nl_eventlog_open(path, 4096, 3);
	unsigned int first = 0;
	char buf[16384];

	CHECK(log != NULL);
	if (!log)
		return;
	write_lines(log, NLINES, 5000);
	nl_eventlog_close(log);
	for (unsigned int i = 0; i <= 3; i++)
		CHECK(exists(file_name(i)));
	CHECK(!exists(file_name(4)));
	/* The oldest kept file starts at some line: find it from its first line. */
	FILE *f = fopen(file_name(3), "r");

	CHECK(f && fgets(buf, sizeof(buf), f) && sscanf(buf, "{\"n\":%u", &first) == 1);
	if (f)
		fclose(f);
	/* The newest lines, in order, up to the last one written. */
	CHECK(first > 0);
	CHECK(check_files(3, first, 4096, 5000) == NLINES);
	remove_files();
}

static void test_no_line_lost_or_split(void)
{
	struct nl_eventlog *log = nl_eventlog_open(path, 4096, NL_EVENTLOG_MAX_KEEP);
	const struct nl_eventlog_stats *st;
	unsigned int files = 0;
	uint64_t bytes = 0;
	char buf[16384];

	CHECK(log != NULL);
	if (!log)
		return;
	write_lines(log, NLINES, 5000);
	nl_eventlog_flush(log);
	while (exists(file_name(files + 1)))
		files++;
	CHECK(files > 100 && files < NL_EVENTLOG_MAX_KEEP);
	CHECK(check_files(files, 0, 4096, 5000) == NLINES);
	for (unsigned int n = 0; n < NLINES; n++)
		bytes += make_line(n, buf, sizeof(buf), 5000) + 1;
	st = nl_eventlog_stats(log);
	CHECK(st->lines == NLINES);
	CHECK(st->bytes == bytes);
	CHECK(st->rotations == files);
	CHECK(st->write_errors == 0 && st->lines_lost == 0);
	nl_eventlog_close(log);
	remove_files();
}

static void test_keep_zero_starts_afresh(void)
{
	struct nl_eventlog *log = nl_eventlog_open(path, 1000, 0);
	unsigned int first = 0;
	char buf[1024];

	CHECK(log != NULL);
	if (!log)
		return;
	write_lines(log, 1000, 100);
	nl_eventlog_close(log);
	CHECK(!exists(file_name(1)));
	FILE *f = fopen(path, "r");

	CHECK(f && fgets(buf, sizeof(buf), f) && sscanf(buf, "{\"n\":%u", &first) == 1);
	if (f)
		fclose(f);
	CHECK(first > 900);
	CHECK(check_files(0, first, 1000, 100) == 1000);
	remove_files();
}

/* An existing file is appended to, and its size counts toward max. */
static void test_appends_to_existing_file(void)
{
	struct nl_eventlog *log;
	struct stat st;
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fputs("{\"n\":0,\"pad\":\"xxxxxxxxxx\"}\n", f);
	fclose(f);
	log = nl_eventlog_open(path, 60, 2);
	CHECK(log != NULL);
	if (!log)
		return;
	write_lines(log, 1, 100);    /* line 0 again, 27 bytes: 54, fits */
	write_lines(log, 1, 100);    /* 81 would be too many: rotates */
	nl_eventlog_close(log);
	CHECK(!stat(file_name(1), &st) && st.st_size == 54);
	CHECK(!stat(path, &st) && st.st_size == 27);
	remove_files();
	/* Created by the log itself: 0640 (under umask 022). */
	log = nl_eventlog_open(path, 0, 1);
	CHECK(log && !stat(path, &st) && (st.st_mode & 0777) == 0640);
	nl_eventlog_close(log);
	remove_files();
}

/* logrotate moved the file away: buffered lines go to the old one, new ones to PATH. */
static void test_reopen_after_rename(void)
{
	struct nl_eventlog *log = nl_eventlog_open(path, 0, 5);
	char buf[64];
	FILE *f;

	CHECK(log != NULL);
	if (!log)
		return;
	nl_eventlog_write(log, "a", 1);
	nl_eventlog_flush(log);
	CHECK(!rename(path, moved));
	nl_eventlog_write(log, "b", 1);
	CHECK(!exists(path));
	CHECK(nl_eventlog_reopen(log) == 0);
	nl_eventlog_write(log, "c", 1);
	nl_eventlog_close(log);
	f = fopen(moved, "r");
	CHECK(f && fread(buf, 1, sizeof(buf), f) == 4 && !memcmp(buf, "a\nb\n", 4));
	if (f)
		fclose(f);
	f = fopen(path, "r");
	CHECK(f && fread(buf, 1, sizeof(buf), f) == 2 && !memcmp(buf, "c\n", 2));
	if (f)
		fclose(f);
	remove_files();
}

/* What fn writes on stderr, in buf (NUL-terminated); a pipe, which no file size limit cuts. */
static void stderr_of(void (*fn)(struct nl_eventlog *), struct nl_eventlog *log, char *buf,
		      size_t len)
{
	int saved = dup(STDERR_FILENO), fds[2];
	ssize_t n;

	CHECK(!pipe(fds));
	fflush(stderr);
	dup2(fds[1], STDERR_FILENO);
	fn(log);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fds[0]);
}

static void write_flush(struct nl_eventlog *log, const char *line)
{
	nl_eventlog_write(log, line, strlen(line));
	nl_eventlog_flush(log);
}

static void lose_two_then_one(struct nl_eventlog *log)
{
	nl_eventlog_write(log, "b", 1);
	write_flush(log, "c");
	write_flush(log, "d");
}

static void write_e(struct nl_eventlog *log)
{
	write_flush(log, "e");
}

static void lose_a_b(struct nl_eventlog *log)
{
	nl_eventlog_write(log, "a", 1);
	write_flush(log, "b");
}

/* A full disk: the lines are counted lost, the log goes on; said once on stderr. */
static void test_write_errors_counted(void)
{
	struct nl_eventlog *log = nl_eventlog_open("/dev/full", 0, 1);
	const struct nl_eventlog_stats *st;
	char out[1024];

	CHECK(log != NULL);
	if (!log)
		return;
	stderr_of(lose_a_b, log, out, sizeof(out));
	CHECK(!strcmp(out, "netlens serve: cannot write the events file /dev/full: No space left "
		      "on device; its records are lost (and counted) until a write succeeds\n"));
	st = nl_eventlog_stats(log);
	CHECK(st->lines == 0 && st->lines_lost == 2 && st->write_errors == 1);
	nl_eventlog_close(log);
}

/*
 * Writes that start failing (a file size limit: EFBIG, as a full disk gives
 * ENOSPC) are said once on stderr, their recovery once, with the count.
 */
static void test_failing_and_recovery_said_once(void)
{
	struct nl_eventlog *log = nl_eventlog_open(path, 0, 1);
	const struct nl_eventlog_stats *st;
	struct rlimit saved, small;
	char out[1024], want[1024];

	CHECK(log != NULL);
	if (!log)
		return;
	write_flush(log, "a");
	getrlimit(RLIMIT_FSIZE, &saved);
	small = saved;
	small.rlim_cur = 2;   /* "a\n" */
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	stderr_of(lose_two_then_one, log, out, sizeof(out));
	snprintf(want, sizeof(want), "netlens serve: cannot write the events file %s: %s; its "
		 "records are lost (and counted) until a write succeeds\n", path, strerror(EFBIG));
	CHECK(!strcmp(out, want));
	st = nl_eventlog_stats(log);
	CHECK(st->lines == 1 && st->lines_lost == 3 && st->write_errors == 2);

	setrlimit(RLIMIT_FSIZE, &saved);
	signal(SIGXFSZ, SIG_DFL);
	stderr_of(write_e, log, out, sizeof(out));
	snprintf(want, sizeof(want), "netlens serve: the events file %s is written again; 3 "
		 "records were lost\n", path);
	CHECK(!strcmp(out, want));
	stderr_of(write_e, log, out, sizeof(out));
	CHECK(out[0] == 0);
	CHECK(st->lines == 3 && st->lines_lost == 3 && st->write_errors == 2 && st->bytes == 6);
	nl_eventlog_close(log);
	remove_files();
}

static void test_open_errors(void)
{
	errno = 0;
	CHECK(!nl_eventlog_open("/nonexistent-dir/events.json", 0, 1) && errno == ENOENT);
	errno = 0;
	CHECK(!nl_eventlog_open(path, 0, NL_EVENTLOG_MAX_KEEP + 1) && errno == EINVAL);
	CHECK(!exists(path));
}

/* Several sinks share one log, lines stay whole; a discarding sink keeps nothing. */
static void test_sinks(void)
{
	struct nl_eventlog *log = nl_eventlog_open(path, 0, 1);
	struct nl_sink a, b, none;
	struct json_object *o = json_object_new_object();
	char buf[256];
	size_t n;
	FILE *f;

	CHECK(log != NULL);
	if (!log)
		return;
	nl_sink_init_eventlog(&a, log);
	nl_sink_init_eventlog(&b, log);
	nl_sink_init_discard(&none);
	CHECK(nl_sink_wants_records(&a) && !nl_sink_wants_records(&none));
	CHECK(a.kind == NL_OUT_JSON && none.kind == NL_OUT_JSON);
	json_object_object_add(o, "type", json_object_new_string("stats"));
	nl_jw_begin(&a.jw);
	nl_jw_uint(&a.jw, "n", 1);
	nl_sink_jw(&a);
	nl_sink_json(&b, o);
	nl_sink_json(&none, o);
	nl_jw_begin(&none.jw);
	nl_jw_uint(&none.jw, "n", 3);
	nl_sink_jw(&none);
	nl_jw_begin(&b.jw);
	nl_jw_uint(&b.jw, "n", 2);
	nl_sink_jw(&b);
	CHECK(nl_sink_flush(&a) == 0 && nl_sink_flush(&none) == 0);
	f = fopen(path, "r");
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	CHECK_STR(buf, "{\"n\":1}\n{\"type\":\"stats\"}\n{\"n\":2}\n");
	if (f)
		fclose(f);
	json_object_put(o);
	nl_sink_free(&a);
	nl_sink_free(&b);
	nl_sink_free(&none);
	nl_eventlog_close(log);
	remove_files();
}

static void test_parse_size(void)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "512", 512 }, { "64k", 65536 }, { "64K", 65536 },
		{ "100M", 100ULL << 20 }, { "1m", 1 << 20 }, { "2G", 2ULL << 30 },
		{ "16777215G", 16777215ULL << 30 },
	};
	static const char *const bad[] = {
		"", "k", "-1", "+1", "1.5M", "1MB", "1 M", " 1", "M1", "1kk", "1T", "0x10",
		"17179869184G", "99999999999999999999",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		CHECK(nl_parse_size(good[i].s, 0, UINT64_MAX, &v) == 0 && v == good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(nl_parse_size(bad[i], 0, UINT64_MAX, &v) == -1);
	CHECK(nl_parse_size(NULL, 0, UINT64_MAX, &v) == -1);
	CHECK(nl_parse_size("4k", 4096, 4096, &v) == 0 && v == 4096);
	CHECK(nl_parse_size("4095", 4096, 8192, &v) == -1);
	CHECK(nl_parse_size("9k", 4096, 8192, &v) == -1);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/events.json", dir);
	snprintf(moved, sizeof(moved), "%s/moved.json", dir);
	umask(022);
	RUN(test_rotation_keeps_n);
	RUN(test_no_line_lost_or_split);
	RUN(test_keep_zero_starts_afresh);
	RUN(test_appends_to_existing_file);
	RUN(test_reopen_after_rename);
	RUN(test_write_errors_counted);
	RUN(test_failing_and_recovery_said_once);
	RUN(test_open_errors);
	RUN(test_sinks);
	RUN(test_parse_size);
	rmdir(dir);
	return TEST_SUMMARY();
}
