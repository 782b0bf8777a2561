// SPDX-License-Identifier: GPL-2.0
/* XDP programs on an interface (src/framework/xdp.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "framework/cli.h"
#include "framework/xdp.h"

/* The XDP link on ifindex that runs prog_id, force-detached (BPF_LINK_DETACH); 0 or -errno. */
static int detach_link(int ifindex, __u32 prog_id)
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

/* The program prog_id on ifindex goes, attached through netlink or by a link. */
static void detach_other(int ifindex, __u32 prog_id)
{
	__u32 left = 0;

	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (!bpf_xdp_query_id(ifindex, 0, &left) && left == prog_id)
		detach_link(ifindex, prog_id);
}

int nl_xdp_make_room(int ifindex, const char *ifname, bool force, char *err, size_t len)
{
	__u32 other = 0;

	if (bpf_xdp_query_id(ifindex, 0, &other) || !other)
		return 0;
	if (!force) {
		snprintf(err, len, "%s already has an XDP program (id %u); netlens does not replace "
			 "it (--force replaces it, and it is not restored)", ifname, other);
		return -EEXIST;
	}
	/* A link cannot replace a program: the other goes first. */
	detach_other(ifindex, other);
	return 0;
}

static int link_create(int prog_fd, int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);

	return bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
}

int nl_xdp_link(int prog_fd, int ifindex, enum nl_xdp_mode mode, __u32 *flags)
{
	int fd;

	*flags = mode == NL_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = link_create(prog_fd, ifindex, *flags);
	if (fd < 0 && mode == NL_XDP_AUTO && fd != -EEXIST && fd != -EBUSY) {
		/* No native XDP in this driver: the generic hook works everywhere. */
		*flags = XDP_FLAGS_SKB_MODE;
		fd = link_create(prog_fd, ifindex, *flags);
	}
	return fd;
}

const char *nl_xdp_flags_name(__u32 flags)
{
	return flags == XDP_FLAGS_SKB_MODE ? "generic" : "native";
}

int nl_xdp_mode_parse(const char *arg, enum nl_xdp_mode *mode, char *err, size_t len)
{
	static const char *const names[] = { [NL_XDP_AUTO] = "auto", [NL_XDP_NATIVE] = "native",
					     [NL_XDP_GENERIC] = "generic" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(arg, names[i])) {
			*mode = (enum nl_xdp_mode)i;
			return 0;
		}
	}
	snprintf(err, len, "'%s' is not auto, native or generic", nl_echo(arg));
	return -1;
}
