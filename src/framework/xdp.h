/* SPDX-License-Identifier: GPL-2.0 */
/* XDP programs on an interface (flows --hook xdp, block): the mode, the link, another's program. */
#ifndef NETLENS_XDP_H
#define NETLENS_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* --xdp-mode: auto is native where the driver has it, else generic. */
enum nl_xdp_mode { NL_XDP_AUTO, NL_XDP_NATIVE, NL_XDP_GENERIC };

/* "auto", "native" or "generic" into *mode; 0, or -1 with a sentence in err. */
int nl_xdp_mode_parse(const char *arg, enum nl_xdp_mode *mode, char *err, size_t len);

/* "generic" for XDP_FLAGS_SKB_MODE, else "native". */
const char *nl_xdp_flags_name(__u32 flags);

/*
 * prog_fd on ifindex through an XDP link (Linux 5.9+) in mode; the link's fd
 * or -errno, and in *flags the mode of the last try (XDP_FLAGS_DRV_MODE or
 * XDP_FLAGS_SKB_MODE).
 */
int nl_xdp_link(int prog_fd, int ifindex, enum nl_xdp_mode mode, __u32 *flags);

/*
 * Another XDP program on ifindex: refused (-EEXIST, a sentence with its id
 * in err), or with force detached (it is not restored). 0 once the
 * interface has none.
 */
int nl_xdp_make_room(int ifindex, const char *ifname, bool force, char *err, size_t len);

#endif
