// SPDX-License-Identifier: GPL-2.0
/* BPF programs on TC clsact hooks (see src/framework/tc.h). */
#include <errno.h>
#include "framework/module.h"
#include "framework/tc.h"

static const enum bpf_tc_attach_point points[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
static const char *const names[2] = { "ingress", "egress" };

/* An existing clsact qdisc (someone else's filters) is used, never removed. */
static int add_qdisc(struct nl_module *m, struct nl_tc *tc, int ifindex, const char *ifname)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	int err;

	if (tc->ifindex)
		return 0;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return nl_module_fail(m, err, "cannot add a clsact qdisc to %s", ifname);
	tc->ifindex = ifindex;
	tc->qdisc_ours = !err;
	return 0;
}

/*
 * Priority 1, before any filter already there, since one that classifies
 * the packet ends the chain and ours always lets it go on. If that priority
 * is taken, the kernel picks one.
 */
int nl_tc_attach(struct nl_module *m, struct nl_tc *tc, int ifindex, const char *ifname,
		 enum nl_tc_dir dir, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = points[dir]);
	struct bpf_tc_opts *opts = &tc->opts[dir];
	int err = add_qdisc(m, tc, ifindex, ifname);

	if (err)
		return err;
	*opts = (struct bpf_tc_opts){ .sz = sizeof(*opts), .prog_fd = prog_fd, .priority = 1,
				      .handle = 1 };
	err = bpf_tc_attach(&hook, opts);
	if (err == -EEXIST) {
		opts->priority = opts->handle = 0;
		err = bpf_tc_attach(&hook, opts);
	}
	return err ? nl_module_fail(m, err, "cannot attach the TC %s program to %s", names[dir],
				    ifname) : 0;
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

		if (tc->opts[dir].prog_id)
			bpf_tc_detach(&hook, &opts);
	}
	if (tc->qdisc_ours) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
	tc->ifindex = 0;
}
