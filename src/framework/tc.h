/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF programs on an interface's TC clsact hooks, for the modules that watch
 * an interface (dns -i, flows --hook tc): attach before other filters, and
 * at the end remove only what we added.
 */
#ifndef NETLENS_TC_H
#define NETLENS_TC_H

#include <stdbool.h>
#include <bpf/libbpf.h>

struct nl_module;

enum nl_tc_dir { NL_TC_INGRESS, NL_TC_EGRESS };

/* One interface's clsact hooks as we used them; zeroed before the first attach. */
struct nl_tc {
	int ifindex;
	bool qdisc_ours;               /* we added the clsact qdisc: detach removes it */
	struct bpf_tc_opts opts[2];    /* per enum nl_tc_dir; prog_id 0: nothing attached */
};

/*
 * Attaches prog_fd to the dir hook of ifindex (ifname for the error) as its
 * first filter, adding a clsact qdisc if there is none. 0, or -errno with
 * one sentence in m->err.
 */
int nl_tc_attach(struct nl_module *m, struct nl_tc *tc, int ifindex, const char *ifname,
		 enum nl_tc_dir dir, int prog_fd);

/* Removes our filters, and the clsact qdisc if we added it. */
void nl_tc_detach(struct nl_tc *tc);

#endif
