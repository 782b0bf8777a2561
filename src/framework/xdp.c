// SPDX-License-Identifier: GPL-2.0
/* XDP programs on an interface (src/framework/xdp.h). */
#include <errno.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "framework/xdp.h"

int nl_xdp_detach_link(int ifindex, __u32 prog_id)
{
	__u32 id = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_link_get_fd_by_id(id), err = -ENOENT;

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_XDP &&
		    info.prog_id == prog_id && (int)info.xdp.ifindex == ifindex)
			err = bpf_link_detach(fd);
		close(fd);
		if (err != -ENOENT)
			return err;
	}
	return -ENOENT;
}

void nl_xdp_detach_other(int ifindex, __u32 prog_id)
{
	__u32 left = 0;

	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (!bpf_xdp_query_id(ifindex, 0, &left) && left == prog_id)
		nl_xdp_detach_link(ifindex, prog_id);
}
