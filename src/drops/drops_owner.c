// SPDX-License-Identifier: GPL-2.0
/*
 * The process that owns a socket, from the socket's inode: a drop at a
 * socket's receive buffer happens in softirq, where the current task is
 * whoever was interrupted, so the kernel side sends the inode and this
 * finds the process holding it among /proc/PID/fd's "socket:[INODE]"
 * links, as ss -p does. One scan of /proc fills a table of every socket;
 * an inode not in it scans again, at most once per DROPS_RESCAN_NS.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "drops/drops.h"
#include "framework/sys.h"

void drops_owners_init(struct drops_owners *o, const char *proc)
{
	memset(o, 0, sizeof(*o));
	o->proc = proc ? proc : "/proc";
}

static void forget(struct drops_owners *o)
{
	struct drops_sock_owner *s, *tmp;

	HASH_ITER(hh, o->socks, s, tmp) {
		HASH_DEL(o->socks, s);
		free(s);
	}
}

void drops_owners_free(struct drops_owners *o)
{
	forget(o);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static void read_comm(const char *proc, const char *pid, char comm[NL_COMM_LEN])
{
	char path[4096];
	FILE *f;

	memset(comm, 0, NL_COMM_LEN);
	snprintf(path, sizeof(path), "%s/%s/comm", proc, pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(comm, NL_COMM_LEN, f))
		comm[strcspn(comm, "\n")] = 0;
	fclose(f);
}

/* Every socket among one process's descriptors; the first process found keeps a shared one. */
static void scan_process(struct drops_owners *o, const char *pid)
{
	char dir[4096], target[64];
	struct nl_owner owner = { .pid = strtoul(pid, NULL, 10) };
	struct dirent *de;
	unsigned long long ino;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/fd", o->proc, pid);
	d = opendir(dir);
	if (!d)
		return;   /* gone, or a kernel thread */
	owner.tid = owner.pid;
	read_comm(o->proc, pid, owner.comm);
	while ((de = readdir(d))) {
		struct drops_sock_owner *s;
		ssize_t n;

		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (sscanf(target, "socket:[%llu]", &ino) != 1)
			continue;
		HASH_FIND(hh, o->socks, &ino, sizeof(uint64_t), s);
		if (s)
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			break;
		s->ino = ino;
		s->owner = owner;
		HASH_ADD(hh, o->socks, ino, sizeof(uint64_t), s);
	}
	closedir(d);
}

void drops_owners_scan(struct drops_owners *o, uint64_t now_ns)
{
	struct dirent *de;
	DIR *d;

	forget(o);
	o->scanned_ns = now_ns;
	o->scans++;
	d = opendir(o->proc);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (all_digits(de->d_name))
			scan_process(o, de->d_name);
	closedir(d);
}

const struct nl_owner *drops_owner_of(struct drops_owners *o, uint64_t ino, uint64_t now_ns)
{
	struct drops_sock_owner *s;

	if (!o || !ino)
		return NULL;
	HASH_FIND(hh, o->socks, &ino, sizeof(ino), s);
	if (!s && (!o->scans || now_ns - o->scanned_ns >= DROPS_RESCAN_NS)) {
		drops_owners_scan(o, now_ns);
		HASH_FIND(hh, o->socks, &ino, sizeof(ino), s);
	}
	return s ? &s->owner : NULL;
}
