/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dropping privileges once everything is loaded and attached (`serve`).
 * What the running agent still does, and which capability each step needs,
 * was measured on Linux 6.18: docs/privileges.md.
 */
#ifndef NETLENS_SRC_PRIVS_H
#define NETLENS_SRC_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* What the agent must still be able to do after the drop. */
struct nl_privs_need {
	/* An XDP or TC attachment to remove at exit: netlink, CAP_NET_ADMIN. */
	bool netlink_detach;
};

/*
 * Keeps only the capabilities need asks for (effective and permitted),
 * empties the ambient set and, with CAP_SETPCAP, the bounding set, sets
 * no_new_privs. With user (a name or NULL): switches to its uid, gid and
 * groups, keeping those capabilities (needs CAP_SETUID and CAP_SETGID).
 * Returns 0, or -1 with one sentence in err.
 */
int nl_privs_drop(const struct nl_privs_need *need, const char *user, char *err, size_t len);

#endif
