// SPDX-License-Identifier: GPL-2.0
/*
 * nl_privs_drop() in a child process each time (capabilities only go down):
 * the child's /proc/self/status against what the drop promises, given the
 * capabilities the test started with (root in CI; fewer anywhere else).
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cap-ng.h>
#include "check.h"
#include "framework/privs.h"

#define NET_ADMIN_BIT (1ULL << CAP_NET_ADMIN)

struct dropped {
	int rc;
	char err[200];
	unsigned long long eff, prm, bnd, amb, inh;
	unsigned int uid, gid, nnp;
};

static unsigned long long status_hex(const char *status, const char *field)
{
	const char *p = strstr(status, field);

	return p ? strtoull(p + strlen(field), NULL, 16) : ~0ULL;
}

static unsigned int status_uint(const char *status, const char *field)
{
	const char *p = strstr(status, field);

	return p ? (unsigned int)strtoul(p + strlen(field), NULL, 10) : ~0u;
}

static void read_status(struct dropped *d)
{
	char status[8192] = "";
	FILE *f = fopen("/proc/self/status", "r");
	size_t n = f ? fread(status, 1, sizeof(status) - 1, f) : 0;

	status[n] = 0;
	if (f)
		fclose(f);
	d->eff = status_hex(status, "CapEff:");
	d->prm = status_hex(status, "CapPrm:");
	d->bnd = status_hex(status, "CapBnd:");
	d->amb = status_hex(status, "CapAmb:");
	d->inh = status_hex(status, "CapInh:");
	d->uid = status_uint(status, "\nUid:");
	d->gid = status_uint(status, "\nGid:");
	d->nnp = status_uint(status, "NoNewPrivs:");
}

/* Runs the drop in a child and brings back its result and its status. */
static struct dropped drop_in_child(bool netlink_detach, const char *user)
{
	struct nl_privs_need need = { .netlink_detach = netlink_detach };
	struct dropped d = { .rc = -2 };
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return d;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		memset(&d, 0, sizeof(d));
		d.rc = nl_privs_drop(&need, user, d.err, sizeof(d.err));
		read_status(&d);
		_exit(write(fds[1], &d, sizeof(d)) == sizeof(d) ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &d, sizeof(d)) != sizeof(d))
		d.rc = -2;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return d;
}

static bool started_with(unsigned int cap)
{
	capng_get_caps_process();
	return capng_have_capability(CAPNG_PERMITTED, cap);
}

/* What a successful drop leaves besides CapEff/CapPrm. */
static void check_rest(const struct dropped *d, unsigned long long kept)
{
	CHECK(d->rc == 0);
	CHECK(d->eff == kept);
	CHECK(d->prm == kept);
	CHECK(d->inh == 0);
	CHECK(d->amb == 0);
	CHECK(d->nnp == 1);
	if (started_with(CAP_SETPCAP))
		CHECK(d->bnd == 0);
}

static void test_nothing_kept(void)
{
	struct dropped d = drop_in_child(false, NULL);

	check_rest(&d, 0);
	CHECK(d.uid == getuid());
}

static void test_net_admin_kept_for_detach(void)
{
	struct dropped d = drop_in_child(true, NULL);

	check_rest(&d, started_with(CAP_NET_ADMIN) ? NET_ADMIN_BIT : 0);
}

/* As root: the ids of nobody, CAP_NET_ADMIN kept across the switch; else a clear refusal. */
static void test_switch_user(void)
{
	struct dropped d = drop_in_child(true, "nobody");
	struct passwd *pw = getpwnam("nobody");

	if (!started_with(CAP_SETUID) || !started_with(CAP_SETGID)) {
		CHECK(d.rc == -1);
		CHECK_STR(d.err, "switching to user 'nobody' needs CAP_SETUID and CAP_SETGID");
		return;
	}
	check_rest(&d, started_with(CAP_NET_ADMIN) ? NET_ADMIN_BIT : 0);
	CHECK(pw && d.uid == pw->pw_uid);
	CHECK(pw && d.gid == pw->pw_gid);
}

static void test_unknown_user(void)
{
	struct dropped d = drop_in_child(false, "no-such-user-netlens");

	CHECK(d.rc == -1);
	if (started_with(CAP_SETUID) && started_with(CAP_SETGID))
		CHECK_STR(d.err, "no user 'no-such-user-netlens'");
}

int main(void)
{
	RUN(test_nothing_kept);
	RUN(test_net_admin_kept_for_detach);
	RUN(test_switch_user);
	RUN(test_unknown_user);
	return TEST_SUMMARY();
}
