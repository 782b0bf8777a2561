// SPDX-License-Identifier: GPL-2.0
/* Network namespaces: enumeration and names (src/framework/netns.h). */
#define _GNU_SOURCE   /* CLONE_NEWNET */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <uthash.h>
#include "framework/netns.h"
#include "framework/sys.h"

#define NAME_CACHE_MAX   4096          /* namespaces remembered; then the cache starts afresh */
#define RESCAN_NS        1000000000ULL /* a miss looks at the system at most this often */

uint64_t nl_netns_file_inode(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct statfs sfs;
	struct stat st;
	uint64_t ino = 0;

	if (fd < 0)
		return 0;
	/* nsfs, and a network namespace among its kinds (NS_GET_NSTYPE, Linux 4.11+). */
	if (!fstatfs(fd, &sfs) && sfs.f_type == NSFS_MAGIC && !fstat(fd, &st) &&
	    ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET)
		ino = st.st_ino;
	close(fd);
	return ino;
}

/* The inode of a process's network namespace without opening it; 0 if gone or refused. */
static uint64_t pid_netns_inode(const char *pid, unsigned int *refused)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	if (!stat(path, &st))
		return st.st_ino;
	if (refused && (errno == EACCES || errno == EPERM))
		(*refused)++;
	return 0;
}

/* Hex digits at s, at least n of them. */
static bool hex_run(const char *s, size_t n)
{
	size_t i = 0;

	while ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))
		i++;
	return i >= n;
}

/*
 * A container's runtime and id from a cgroup path's last part, as the
 * runtimes name their scopes: docker-<id>.scope, cri-containerd-<id>.scope,
 * crio-<id>.scope, libpod-<id>.scope.
 */
static bool container_name(const char *cgroup, char *name, size_t len)
{
	static const struct { const char *prefix, *runtime; } scopes[] = {
		{ "docker-", "docker" }, { "cri-containerd-", "containerd" },
		{ "crio-", "crio" }, { "libpod-", "podman" },
	};
	const char *last = strrchr(cgroup, '/');

	last = last ? last + 1 : cgroup;
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		size_t plen = strlen(scopes[i].prefix);

		if (!strncmp(last, scopes[i].prefix, plen) && hex_run(last + plen, 12)) {
			snprintf(name, len, "%s:%.12s", scopes[i].runtime, last + plen);
			return true;
		}
	}
	return false;
}

/* The container name of the process pid's cgroup (v2 line "0::/path"); false if none. */
static bool pid_container_name(uint32_t pid, char *name, size_t len)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			found = container_name(line + 3, name, len);
		}
	fclose(f);
	return found;
}

/* Up to `max` namespaces seen so far by inode, so each is reported once. */
struct seen {
	uint64_t *inodes;
	size_t n, max;
	unsigned int refused;     /* namespace files not ours to read */
};

static bool seen_before(struct seen *s, uint64_t inode)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->inodes[i] == inode)
			return true;
	if (s->n < s->max)
		s->inodes[s->n++] = inode;
	return false;
}

static void each_named(struct seen *s, void (*fn)(void *, const struct nl_netns *), void *ctx)
{
	DIR *dir = opendir("/run/netns");
	struct dirent *e;

	while (dir && (e = readdir(dir))) {
		struct nl_netns ns = { 0 };

		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(ns.name))
			continue;
		snprintf(ns.path, sizeof(ns.path), "/run/netns/%.47s", e->d_name);
		errno = 0;
		ns.inode = nl_netns_file_inode(ns.path);
		if (!ns.inode && (errno == EACCES || errno == EPERM))
			s->refused++;
		if (!ns.inode || seen_before(s, ns.inode))
			continue;
		snprintf(ns.name, sizeof(ns.name), "%.47s", e->d_name);
		fn(ctx, &ns);
	}
	if (dir)
		closedir(dir);
}

static void each_of_processes(struct seen *s, void (*fn)(void *, const struct nl_netns *),
			      void *ctx)
{
	uint64_t host = pid_netns_inode("1", NULL);
	DIR *dir = opendir("/proc");
	struct dirent *e;

	while (dir && (e = readdir(dir))) {
		struct nl_netns ns = { 0 };

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		ns.inode = pid_netns_inode(e->d_name, &s->refused);
		if (!ns.inode || seen_before(s, ns.inode))
			continue;
		ns.pid = strtoul(e->d_name, NULL, 10);
		snprintf(ns.path, sizeof(ns.path), "/proc/%u/ns/net", ns.pid);
		if (ns.inode == host)
			snprintf(ns.name, sizeof(ns.name), "host");
		else
			pid_container_name(ns.pid, ns.name, sizeof(ns.name));
		fn(ctx, &ns);
	}
	if (dir)
		closedir(dir);
}

int nl_netns_each(void (*fn)(void *ctx, const struct nl_netns *ns), void *ctx)
{
	struct seen s = { .max = NAME_CACHE_MAX };

	s.inodes = calloc(s.max, sizeof(*s.inodes));
	if (!s.inodes)
		return -ENOMEM;
	each_named(&s, fn, ctx);
	each_of_processes(&s, fn, ctx);
	free(s.inodes);
	return s.refused;
}

struct name_entry {
	uint64_t inode;
	char name[NL_NETNS_NAME_LEN];    /* "" : known to have none */
	UT_hash_handle hh;
};

static struct name_entry *names;
static unsigned int n_names;
static uint64_t last_scan;

static void remember(void *ctx, const struct nl_netns *ns)
{
	struct name_entry *e;

	(void)ctx;
	HASH_FIND(hh, names, &ns->inode, sizeof(ns->inode), e);
	if (!e) {
		if (n_names >= NAME_CACHE_MAX || !(e = calloc(1, sizeof(*e))))
			return;
		e->inode = ns->inode;
		HASH_ADD(hh, names, inode, sizeof(e->inode), e);
		n_names++;
	}
	snprintf(e->name, sizeof(e->name), "%s", ns->name);
}

static void forget_all(void)
{
	struct name_entry *e, *tmp;

	HASH_ITER(hh, names, e, tmp) {
		HASH_DEL(names, e);
		free(e);
	}
	n_names = 0;
}

const char *nl_netns_label(uint64_t inode, char *buf, size_t len)
{
	const char *name = nl_netns_name(inode);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%llu", (unsigned long long)inode);
	return buf;
}

const char *nl_netns_name(uint64_t inode)
{
	struct name_entry *e;
	uint64_t now;

	HASH_FIND(hh, names, &inode, sizeof(inode), e);
	if (e)
		return e->name[0] ? e->name : NULL;
	now = nl_now_mono();
	if (last_scan && now - last_scan < RESCAN_NS)
		return NULL;
	last_scan = now;
	if (n_names >= NAME_CACHE_MAX)
		forget_all();
	nl_netns_each(remember, NULL);
	HASH_FIND(hh, names, &inode, sizeof(inode), e);
	return e && e->name[0] ? e->name : NULL;
}
