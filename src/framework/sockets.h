/* SPDX-License-Identifier: GPL-2.0 */
/* The sockets every process holds, as ss -p finds them (src/framework/sockets.c). */
#ifndef NETLENS_SOCKETS_H
#define NETLENS_SOCKETS_H

#include <stdint.h>
#include "kernel/common_abi.h"

/*
 * Every socket every process holds, from /proc/PID/fd (proc: "/proc", or a
 * test's tree): fn(ctx, inode, owner) for each.
 */
typedef void (*nl_socket_fn)(void *ctx, uint64_t ino, const struct nl_owner *owner);
void nl_sockets_scan(const char *proc, nl_socket_fn fn, void *ctx);

#endif
