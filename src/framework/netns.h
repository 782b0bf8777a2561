/* SPDX-License-Identifier: GPL-2.0 */
/* Network namespaces: their inodes, where to open them, and their names. */
#ifndef NETLENS_NETNS_H
#define NETLENS_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NL_NETNS_NAME_LEN 48

/* One network namespace as nl_netns_each() finds it. */
struct nl_netns {
	uint64_t inode;
	char path[64];                    /* a file that opens it: /run/netns/NAME or /proc/PID/ns/net */
	char name[NL_NETNS_NAME_LEN];     /* see nl_netns_name(); "" if none */
	uint32_t pid;                     /* a process in it; 0 if only /run/netns holds it */
};

/* The inode of the network namespace file at path; 0 if it is not one. */
uint64_t nl_netns_file_inode(const char *path);
/*
 * Calls fn once per network namespace (named ones first, then those of
 * processes). Returns how many namespace files it was refused (EACCES,
 * EPERM: after a privilege drop, some namespaces went unseen), or -errno.
 */
int nl_netns_each(void (*fn)(void *ctx, const struct nl_netns *ns), void *ctx);
/*
 * The namespace's name: its `ip netns` name; "host" for the namespace of
 * pid 1; a container's runtime and short id from the cgroup of a process
 * in it ("docker:0123456789ab"); NULL if none. Cached; on a miss the
 * system is looked at again at most once a second.
 */
const char *nl_netns_name(uint64_t inode);
/* For a sentence: the namespace's name (nl_netns_name()), else its inode. Returns buf. */
const char *nl_netns_label(uint64_t inode, char *buf, size_t len);

#endif
