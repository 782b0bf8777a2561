// SPDX-License-Identifier: GPL-2.0
/* Privileges after attach, with libcap-ng (see src/framework/privs.h, docs/privileges.md). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <cap-ng.h>
#include "framework/cli.h"
#include "framework/privs.h"

static bool permitted(unsigned int cap)
{
	return capng_have_capability(CAPNG_PERMITTED, cap);
}

/* Switches to user's ids, keeping the staged capabilities; 0 or -1 with err. */
static int change_user(const char *user, bool bounds, char *err, size_t len)
{
	struct passwd *pw;
	int rc;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, len, "no user '%s'%s%s", nl_echo(user), errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -1;
	}
	rc = capng_change_id(pw->pw_uid, pw->pw_gid, CAPNG_INIT_SUPP_GRP | CAPNG_CLEAR_AMBIENT |
			     (bounds ? CAPNG_CLEAR_BOUNDING : 0));
	if (rc) {
		snprintf(err, len, "cannot switch to user '%s' (libcap-ng error %d): %s", nl_echo(user), rc,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Applies the staged capabilities, ambient emptied; 0 or -1 with err. */
static int apply(bool bounds, char *err, size_t len)
{
	int rc = capng_apply(bounds ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);

	if (rc) {
		snprintf(err, len, "cannot drop capabilities (libcap-ng error %d): %s", rc,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int nl_privs_drop(const struct nl_privs_need *need, const char *user, char *err, size_t len)
{
	bool net_admin, bounds;

	if (capng_get_caps_process()) {
		snprintf(err, len, "cannot read the process' capabilities: %s", strerror(errno));
		return -1;
	}
	if (user && (!permitted(CAP_SETUID) || !permitted(CAP_SETGID))) {
		snprintf(err, len, "switching to user '%s' needs CAP_SETUID and CAP_SETGID", nl_echo(user));
		return -1;
	}
	net_admin = need->netlink_detach && permitted(CAP_NET_ADMIN);
	/* The bounding set can only be emptied with CAP_SETPCAP; else the launcher's stays. */
	bounds = permitted(CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_ALL);
	if (net_admin)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
	if (user ? change_user(user, bounds, err, len) : apply(bounds, err, len))
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, len, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}
