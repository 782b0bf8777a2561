// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets' owners by inode from a /proc tree: a fake one built here, with
 * fd links as the kernel shows them ("socket:[INODE]"), and a rescan on a
 * miss only once DROPS_RESCAN_NS has passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "drops/drops.h"

static char root[] = "/tmp/nl-drops-owner-XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
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

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	CHECK(mkdir(path, 0755) == 0);
}

static void link_fd(const char *rel, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
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

static void test_owners(void)
{
	const uint64_t t0 = 5000000000ULL;
	struct drops_owners o;
	const struct nl_owner *w;
	char cmd[300];

	CHECK(mkdtemp(root) != NULL);
	process("812", "nlt-rcv\n");
	link_fd("812/fd/0", "/dev/null");
	link_fd("812/fd/3", "socket:[4242]");
	link_fd("812/fd/4", "pipe:[77]");
	process("900", "other\n");
	link_fd("900/fd/5", "socket:[5151]");
	dir("self");   /* not a process directory */

	drops_owners_init(&o, root);
	CHECK(drops_owner_of(&o, 0, t0) == NULL && o.scans == 0);
	w = drops_owner_of(&o, 4242, t0);
	CHECK(w && w->pid == 812);
	CHECK_STR(w ? w->comm : NULL, "nlt-rcv");
	w = drops_owner_of(&o, 5151, t0);
	CHECK(w && w->pid == 900 && o.scans == 1);
	CHECK(HASH_COUNT(o.socks) == 2);   /* the pipe and /dev/null are not sockets */

	/* A socket opened after the scan: found once a rescan is due, not before. */
	link_fd("900/fd/6", "socket:[6161]");
	CHECK(drops_owner_of(&o, 6161, t0 + DROPS_RESCAN_NS / 2) == NULL && o.scans == 1);
	w = drops_owner_of(&o, 6161, t0 + DROPS_RESCAN_NS);
	CHECK(w && w->pid == 900 && o.scans == 2);
	/* Known ones cost no scan. */
	CHECK(drops_owner_of(&o, 4242, t0 + 3 * DROPS_RESCAN_NS) && o.scans == 2);
	drops_owners_free(&o);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(test_owners);
	return TEST_SUMMARY();
}
