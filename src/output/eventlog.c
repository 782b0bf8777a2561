// SPDX-License-Identifier: GPL-2.0
/* The events file: whole JSON lines, rotated by size, reopened on SIGHUP (eventlog.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "framework/cli.h"
#include "output/eventlog.h"
#include "output/prom.h"

#define BUF_SIZE (64u << 10)

struct nl_eventlog {
	char *path;
	char *from, *to;          /* PATH.<n> names for rotation */
	size_t names_len;
	int fd;                   /* -1 after a failed open: tried again at the next flush */
	uint64_t size;            /* of the current file, with what we wrote */
	uint64_t max_size;
	unsigned int keep;
	char *buf;                /* whole lines not yet written */
	size_t len, cap;
	uint64_t buffered_lines;
	bool failing;             /* lines are being lost: said once on stderr */
	uint64_t lost_before;     /* st.lines_lost when the failing began */
	struct nl_eventlog_stats st;
};

static int open_file(struct nl_eventlog *log)
{
	struct stat st;

	log->fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (log->fd < 0 || fstat(log->fd, &st)) {
		int err = -errno;

		if (log->fd >= 0)
			close(log->fd);
		log->fd = -1;
		log->st.write_errors++;
		return err;
	}
	log->size = st.st_size;
	return 0;
}

static void close_file(struct nl_eventlog *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
}

struct nl_eventlog *nl_eventlog_open(const char *path, uint64_t max_size, unsigned int keep)
{
	struct nl_eventlog *log;
	int err;

	if (keep > NL_EVENTLOG_MAX_KEEP) {
		errno = EINVAL;
		return NULL;
	}
	log = calloc(1, sizeof(*log));
	if (!log)
		return NULL;
	log->max_size = max_size;
	log->keep = keep;
	log->cap = BUF_SIZE;
	log->names_len = strlen(path) + 16;
	log->path = strdup(path);
	log->buf = malloc(log->cap);
	log->from = malloc(log->names_len);
	log->to = malloc(log->names_len);
	err = log->path && log->buf && log->from && log->to ? open_file(log) : -ENOMEM;
	if (err) {
		nl_eventlog_close(log);
		errno = -err;
		return NULL;
	}
	return log;
}

/* write(2) until done; a failed write is undone so that no line is left cut. */
static int write_all(struct nl_eventlog *log, const char *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(log->fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -ENOSPC;

			if (done && ftruncate(log->fd, log->size))
				log->size += done;   /* could not undo: the file did grow */
			return err;
		}
		done += n;
	}
	log->size += len;
	return 0;
}

/* Said once when lines start being lost, and once when a write succeeds again. */
static void note_failure(struct nl_eventlog *log, int err)
{
	if (log->failing)
		return;
	log->failing = true;
	log->lost_before = log->st.lines_lost;
	fprintf(stderr, "netlens serve: cannot write the events file %s: %s; its records are "
		"lost (and counted) until a write succeeds\n", nl_echo(log->path), strerror(-err));
}

static void note_recovery(struct nl_eventlog *log)
{
	if (!log->failing)
		return;
	log->failing = false;
	fprintf(stderr, "netlens serve: the events file %s is written again; %llu records "
		"were lost\n", nl_echo(log->path),
		(unsigned long long)(log->st.lines_lost - log->lost_before));
}

void nl_eventlog_flush(struct nl_eventlog *log)
{
	int err;

	if (!log->len)
		return;
	err = log->fd >= 0 ? 0 : open_file(log);   /* open_file() counts its own error */
	if (!err && (err = write_all(log, log->buf, log->len)))
		log->st.write_errors++;
	if (err) {
		note_failure(log, err);
		log->st.lines_lost += log->buffered_lines;
	} else {
		log->st.lines += log->buffered_lines;
		log->st.bytes += log->len;
		note_recovery(log);
	}
	log->len = 0;
	log->buffered_lines = 0;
}

static void rename_counted(struct nl_eventlog *log, const char *from, const char *to)
{
	if (rename(from, to) && errno != ENOENT)
		log->st.write_errors++;
}

/* PATH.<keep-1> -> PATH.<keep> ... PATH -> PATH.1 (keep 0: PATH removed), then a new PATH. */
static void rotate(struct nl_eventlog *log)
{
	close_file(log);
	for (unsigned int i = log->keep; i > 1; i--) {
		snprintf(log->from, log->names_len, "%s.%u", log->path, i - 1);
		snprintf(log->to, log->names_len, "%s.%u", log->path, i);
		rename_counted(log, log->from, log->to);
	}
	if (log->keep) {
		snprintf(log->to, log->names_len, "%s.1", log->path);
		rename_counted(log, log->path, log->to);
	} else if (unlink(log->path) && errno != ENOENT) {
		log->st.write_errors++;
	}
	log->st.rotations++;
	open_file(log);
}

static int grow(struct nl_eventlog *log, size_t need)
{
	char *p = realloc(log->buf, need);

	if (!p)
		return -ENOMEM;
	log->buf = p;
	log->cap = need;
	return 0;
}

void nl_eventlog_write(struct nl_eventlog *log, const char *line, size_t len)
{
	size_t need = len + 1;
	uint64_t filled = log->size + log->len;

	/* Full with this line: the buffered lines end the current file. */
	if (log->max_size && filled && filled + need > log->max_size) {
		nl_eventlog_flush(log);
		rotate(log);
	}
	if (log->len + need > log->cap)
		nl_eventlog_flush(log);
	if (need > log->cap && grow(log, need)) {
		log->st.lines_lost++;
		return;
	}
	memcpy(log->buf + log->len, line, len);
	log->buf[log->len + len] = '\n';
	log->len += need;
	log->buffered_lines++;
}

int nl_eventlog_reopen(struct nl_eventlog *log)
{
	int err;

	nl_eventlog_flush(log);
	close_file(log);
	err = open_file(log);
	if (err && !log->failing) {
		/* The caller says why; the recovery is said here. */
		log->failing = true;
		log->lost_before = log->st.lines_lost;
	}
	return err;
}

const struct nl_eventlog_stats *nl_eventlog_stats(const struct nl_eventlog *log)
{
	return &log->st;
}

void nl_eventlog_metrics(const struct nl_eventlog *log, struct nl_prom *p)
{
	const struct { const char *name, *help; uint64_t v; } counters[] = {
		{ "netlens_events_file_lines_total", "Records written to the events file.",
		  log->st.lines },
		{ "netlens_events_file_bytes_total", "Bytes written to the events file.",
		  log->st.bytes },
		{ "netlens_events_file_rotations_total", "Rotations of the events file.",
		  log->st.rotations },
		{ "netlens_events_file_write_errors_total",
		  "Failed writes, opens and renames of the events file.", log->st.write_errors },
		{ "netlens_events_file_lines_lost_total",
		  "Records that could not be written to the events file.", log->st.lines_lost },
	};

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		nl_prom_family(p, counters[i].name, NL_PROM_COUNTER, counters[i].help);
		nl_prom_counter(p, counters[i].name, "", counters[i].v);
	}
}

void nl_eventlog_close(struct nl_eventlog *log)
{
	if (!log)
		return;
	if (log->fd >= 0)
		nl_eventlog_flush(log);
	close_file(log);
	free(log->path);
	free(log->from);
	free(log->to);
	free(log->buf);
	free(log);
}
