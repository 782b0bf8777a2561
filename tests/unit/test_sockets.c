// SPDX-License-Identifier: GPL-2.0
/*
 * The sockets processes hold, from a /proc tree: a fake one built here,
 * with fd links as the kernel shows them ("socket:[INODE]").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "framework/sockets.h"

static char root[] = "/tmp/nl-drops-owner-XXXXXX";

static void path_of(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	path_of(path, sizeof(path), rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void dir(const char *rel)
{
	char path[256];

	path_of(path, sizeof(path), rel);
	CHECK(mkdir(path, 0755) == 0);
}

static void link_fd(const char *rel, const char *target)
{
	char path[256];

	path_of(path, sizeof(path), rel);
	CHECK(symlink(target, path) == 0);
}

static void process(const char *pid, const char *comm)
{
	char rel[64];

	dir(pid);
	snprintf(rel, sizeof(rel), "%s/fd", pid);
	dir(rel);
	snprintf(rel, sizeof(rel), "%s/comm", pid);
	put(rel, comm);
}

struct found {
	uint64_t ino[8];
	struct nl_owner owner[8];
	unsigned int n;
};

static void collect(void *ctx, uint64_t ino, const struct nl_owner *owner)
{
	struct found *f = ctx;

	if (f->n < 8) {
		f->ino[f->n] = ino;
		f->owner[f->n++] = *owner;
	}
}

static const struct nl_owner *owner_of(const struct found *f, uint64_t ino)
{
	for (unsigned int i = 0; i < f->n; i++)
		if (f->ino[i] == ino)
			return &f->owner[i];
	return NULL;
}

static void test_sockets_scan(void)
{
	struct found f = {};
	const struct nl_owner *o;
	char cmd[300];

	CHECK(mkdtemp(root) != NULL);
	process("812", "nlt-rcv\n");
	link_fd("812/fd/0", "/dev/null");
	link_fd("812/fd/3", "socket:[4242]");
	link_fd("812/fd/4", "pipe:[77]");
	process("900", "other\n");
	link_fd("900/fd/5", "socket:[5151]");
	dir("self");   /* not a process directory */

	nl_sockets_scan(root, collect, &f);
	CHECK(f.n == 2);   /* the pipe and /dev/null are not sockets */
	o = owner_of(&f, 4242);
	CHECK(o && o->pid == 812 && o->tid == 812);
	CHECK_STR(o ? o->comm : NULL, "nlt-rcv");
	o = owner_of(&f, 5151);
	CHECK(o && o->pid == 900);
	CHECK_STR(o ? o->comm : NULL, "other");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(test_sockets_scan);
	return TEST_SUMMARY();
}
