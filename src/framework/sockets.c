// SPDX-License-Identifier: GPL-2.0
/*
 * The sockets every process holds, from /proc/PID/fd's "socket:[INODE]"
 * links, as ss -p finds them: drops fills the kernel's table of sockets'
 * owners with them before attaching, conns finds a listener's process.
 */
#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "framework/sockets.h"

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

static void scan_process(const char *proc, const char *pid, nl_socket_fn fn, void *ctx)
{
	struct nl_owner owner = { .pid = strtoul(pid, NULL, 10) };
	char dir[4096], target[64];
	unsigned long long ino;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/fd", proc, pid);
	d = opendir(dir);
	if (!d)
		return;   /* gone, or not ours to read */
	owner.tid = owner.pid;
	read_comm(proc, pid, owner.comm);
	while ((de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);

		if (n <= 0)
			continue;
		target[n] = 0;
		if (sscanf(target, "socket:[%llu]", &ino) == 1)
			fn(ctx, ino, &owner);
	}
	closedir(d);
}

void nl_sockets_scan(const char *proc, nl_socket_fn fn, void *ctx)
{
	struct dirent *de;
	DIR *d = opendir(proc);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (all_digits(de->d_name))
			scan_process(proc, de->d_name, fn, ctx);
	closedir(d);
}
