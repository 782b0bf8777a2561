/* SPDX-License-Identifier: GPL-2.0 */
/* XDP programs on an interface (flows --hook xdp, block): replacing another's. */
#ifndef NETLENS_XDP_H
#define NETLENS_XDP_H

#include <linux/types.h>

/* The XDP link on ifindex that runs prog_id, force-detached (BPF_LINK_DETACH); 0 or -errno. */
int nl_xdp_detach_link(int ifindex, __u32 prog_id);

/* --force: the program prog_id on ifindex goes, attached through netlink or by a link. */
void nl_xdp_detach_other(int ifindex, __u32 prog_id);

#endif
