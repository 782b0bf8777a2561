// SPDX-License-Identifier: GPL-2.0
/* BPF programs on TC hooks: TCX links, or netlink filters (see src/framework/tc.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "framework/module.h"
#include "framework/tc.h"

/*
 * From the kernel's UAPI (include/uapi/linux/bpf.h, Linux 6.6), which
 * Debian 12's libbpf 1.1 headers predate; bpf_link_create() passes them on.
 */
#define NL_BPF_TCX_INGRESS 46
#define NL_BPF_TCX_EGRESS  47
#define NL_BPF_F_BEFORE    (1U << 3)   /* no relative program: the first one */

/* Netlink priorities we try, in order: 1 is before any filter at a higher one. */
#define NL_TC_PRIOS 4

static const enum bpf_tc_attach_point points[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
static const char *const names[2] = { "ingress", "egress" };

/* A program that does nothing, for the probe. */
static int load_noop_cls(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, NULL, "GPL", insns, 2, NULL);
}

/*
 * Before Linux 6.6 the attach type is unknown (EINVAL); with TCX, device 0
 * is looked up and not found (ENODEV), before anything is attached.
 */
enum nl_tc_kind nl_tc_kind(void)
{
	static int kind = -1;
	int prog, link;

	if (kind >= 0)
		return kind;
	kind = NL_TC_NETLINK;
	prog = load_noop_cls();
	if (prog < 0)
		return kind;
	link = bpf_link_create(prog, 0, NL_BPF_TCX_INGRESS, NULL);
	if (link >= 0 || link == -ENODEV)
		kind = NL_TC_TCX;
	if (link >= 0)
		close(link);
	close(prog);
	return kind;
}

const char *nl_tc_kind_name(enum nl_tc_kind kind)
{
	return kind == NL_TC_TCX ? "TCX links" : "netlink filters";
}

/* The prog_id of an fdinfo file (a program's or a link's), 0 if none. */
static __u32 fdinfo_prog_id(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	unsigned int id = 0;
	char line[128];

	if (!f) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "prog_id: %u", &id) == 1)
			break;
	fclose(f);
	return id;
}

/* Whether one of process pid's BPF fds is program id or a link to it. */
static bool pid_holds(int proc, const char *pid, __u32 id)
{
	char path[300], target[32];
	int fd_dir, info_dir;
	struct dirent *fd;
	bool held = false;
	DIR *fds;

	snprintf(path, sizeof(path), "%s/fd", pid);
	fd_dir = openat(proc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/fdinfo", pid);
	info_dir = openat(proc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds = fd_dir >= 0 && info_dir >= 0 ? fdopendir(fd_dir) : NULL;
	while (fds && !held && (fd = readdir(fds))) {
		ssize_t n = readlinkat(fd_dir, fd->d_name, target, sizeof(target) - 1);

		if (n < 0)
			continue;
		target[n] = '\0';
		held = !strncmp(target, "anon_inode:bpf", 14) &&
		       fdinfo_prog_id(info_dir, fd->d_name) == id;
	}
	if (fds)
		closedir(fds);
	else if (fd_dir >= 0)
		close(fd_dir);
	if (info_dir >= 0)
		close(info_dir);
	return held;
}

static bool prog_held(__u32 id)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	bool held = false;

	if (!proc)
		return true;   /* cannot tell: leave it */
	while (!held && (p = readdir(proc)))
		held = isdigit((unsigned char)p->d_name[0]) && pid_holds(dirfd(proc), p->d_name, id);
	closedir(proc);
	return held;
}

bool nl_prog_is_stale(__u32 id, const char *name_part)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool ours;

	if (fd < 0)
		return false;
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && strstr(info.name, name_part);
	close(fd);
	return ours && !prog_held(id);
}

/* Our netlink filters (NL_TC_HANDLE) on ifindex whose program nobody holds; how many. */
static int remove_stale_filters(int ifindex)
{
	int removed = 0;

	for (int dir = NL_TC_INGRESS; dir <= NL_TC_EGRESS; dir++) {
		for (__u32 prio = 1; prio <= NL_TC_PRIOS; prio++) {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = points[dir]);
			LIBBPF_OPTS(bpf_tc_opts, found, .handle = NL_TC_HANDLE, .priority = prio);
			LIBBPF_OPTS(bpf_tc_opts, del, .handle = NL_TC_HANDLE, .priority = prio);

			if (bpf_tc_query(&hook, &found) || !nl_prog_is_stale(found.prog_id, "_tc_"))
				continue;
			removed += !bpf_tc_detach(&hook, &del);
		}
	}
	return removed;
}

/* The first attach on an interface: what a killed run left goes, said once. */
static void start_on(struct nl_module *m, struct nl_tc *tc, int ifindex, const char *ifname)
{
	int stale = remove_stale_filters(ifindex);

	if (stale)
		fprintf(stderr, "netlens %s: removed %d TC filter%s left on %s by a netlens run "
			"that is gone\n", m->ops->name, stale, stale > 1 ? "s" : "", ifname);
	tc->ifindex = ifindex;
	tc->kind = nl_tc_kind();
}

/* An existing clsact qdisc (someone else's filters) is used, never removed. */
static int add_qdisc(struct nl_module *m, struct nl_tc *tc, const char *ifname)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc->ifindex, .attach_point = BPF_TC_INGRESS);
	int err;

	if (tc->qdisc_ours)
		return 0;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return nl_module_fail(m, err, "cannot add a clsact qdisc to %s", ifname);
	tc->qdisc_ours = !err;
	return 0;
}

/*
 * Priority 1, before any filter already there, since one that classifies
 * the packet ends the chain and ours always lets it go on. A priority taken
 * (EEXIST: our handle there, a live run's; EINVAL: another classifier kind)
 * moves us to the next.
 */
static int attach_netlink(struct nl_module *m, struct nl_tc *tc, const char *ifname,
			  enum nl_tc_dir dir, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc->ifindex, .attach_point = points[dir]);
	struct bpf_tc_opts *opts = &tc->opts[dir];
	int err = add_qdisc(m, tc, ifname);

	if (err)
		return err;
	for (__u32 prio = 1; prio <= NL_TC_PRIOS; prio++) {
		*opts = (struct bpf_tc_opts){ .sz = sizeof(*opts), .prog_fd = prog_fd,
					      .priority = prio, .handle = NL_TC_HANDLE };
		err = bpf_tc_attach(&hook, opts);
		if (err != -EEXIST && err != -EINVAL)
			break;
	}
	if (!err)
		return 0;
	opts->prog_id = 0;
	return nl_module_fail(m, err, "cannot attach the TC %s program to %s", names[dir], ifname);
}

/* BPF_F_BEFORE: first among the TCX programs, which all run before clsact's filters. */
static int attach_tcx(struct nl_module *m, struct nl_tc *tc, const char *ifname,
		      enum nl_tc_dir dir, int prog_fd)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = NL_BPF_F_BEFORE);
	int fd = bpf_link_create(prog_fd, tc->ifindex,
				 dir == NL_TC_INGRESS ? NL_BPF_TCX_INGRESS : NL_BPF_TCX_EGRESS, &opts);

	if (fd < 0)
		return nl_module_fail(m, fd, "cannot attach the TCX %s program to %s", names[dir],
				      ifname);
	tc->link_fd[dir] = fd;
	return 0;
}

int nl_tc_attach(struct nl_module *m, struct nl_tc *tc, int ifindex, const char *ifname,
		 enum nl_tc_dir dir, int prog_fd)
{
	if (!tc->ifindex)
		start_on(m, tc, ifindex, ifname);
	return tc->kind == NL_TC_TCX ? attach_tcx(m, tc, ifname, dir, prog_fd)
				     : attach_netlink(m, tc, ifname, dir, prog_fd);
}

void nl_tc_detach(struct nl_tc *tc)
{
	if (!tc->ifindex)
		return;
	for (int dir = NL_TC_INGRESS; dir <= NL_TC_EGRESS; dir++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc->ifindex, .attach_point = points[dir]);
		/* Detach names the filter by handle and priority only. */
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = tc->opts[dir].handle,
			    .priority = tc->opts[dir].priority);

		if (tc->link_fd[dir] > 0)
			close(tc->link_fd[dir]);
		if (tc->opts[dir].prog_id)
			bpf_tc_detach(&hook, &opts);
		tc->link_fd[dir] = 0;
	}
	if (tc->qdisc_ours) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
	tc->ifindex = 0;
	tc->qdisc_ours = false;
}
