/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF programs on an interface's TC hooks, for the modules that watch an
 * interface (dns -i, flows --hook tc): attach before other programs, and at
 * the end remove only what we added.
 *
 * Where the kernel has TCX (Linux 6.6+) the programs are BPF links: they end
 * with the process, however it ends (kill -9 too). Else netlink filters on a
 * clsact qdisc, which outlive a killed process: ours carry the handle
 * NL_TC_HANDLE, so that the next run finds them (a filter under our handle
 * whose program no process holds) and removes them.
 */
#ifndef NETLENS_TC_H
#define NETLENS_TC_H

#include <stdbool.h>
#include <bpf/libbpf.h>

struct nl_module;

enum nl_tc_dir { NL_TC_INGRESS, NL_TC_EGRESS };

/* How TC programs attach on this kernel. */
enum nl_tc_kind { NL_TC_TCX, NL_TC_NETLINK };

/* Probed once (a TCX link asked for no device: ENODEV means the kernel has TCX). */
enum nl_tc_kind nl_tc_kind(void);
/* "TCX links" or "netlink filters". */
const char *nl_tc_kind_name(enum nl_tc_kind kind);

#define NL_TC_HANDLE 0x6e6c   /* "nl": netlens' netlink filters */

/* One interface's TC hooks as we used them; zeroed before the first attach. */
struct nl_tc {
	int ifindex;
	enum nl_tc_kind kind;
	bool qdisc_ours;               /* netlink: we added the clsact qdisc, detach removes it */
	int link_fd[2];                /* TCX: per enum nl_tc_dir, 0 none */
	struct bpf_tc_opts opts[2];    /* netlink: per enum nl_tc_dir; prog_id 0: nothing attached */
};

/*
 * Attaches prog_fd to the dir hook of ifindex (ifname for messages) as its
 * first program. The first attach on an interface removes what a killed
 * netlens left there, and says so on stderr. 0, or -errno with one sentence
 * in m->err.
 */
int nl_tc_attach(struct nl_module *m, struct nl_tc *tc, int ifindex, const char *ifname,
		 enum nl_tc_dir dir, int prog_fd);

/* Removes our programs, and the clsact qdisc if we added it. */
void nl_tc_detach(struct nl_tc *tc);

/*
 * Whether program id, attached where a netlens run attaches, was left by a
 * run that is gone: its name contains name_part and no process holds it
 * (an fd of the program or of a link to it, in /proc/<pid>/fdinfo).
 */
bool nl_prog_is_stale(__u32 id, const char *name_part);

#endif
