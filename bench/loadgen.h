/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the load generators share: the target address, errors, the clock.
 * Each generator defines LOADGEN_NAME (for messages) before including this.
 */
#ifndef NETLENS_LOADGEN_H
#define NETLENS_LOADGEN_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static struct sockaddr_storage addr;
static socklen_t addr_len;

static inline void die(const char *what)
{
	fprintf(stderr, LOADGEN_NAME ": %s: %s\n", what, strerror(errno));
	exit(1);
}

/* host (IPv4 or IPv6 literal) and port into addr/addr_len; exits 2 if bad. */
static inline void parse_addr(const char *host, int port)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;

	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		addr_len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		addr_len = sizeof(*a6);
	} else {
		fprintf(stderr, LOADGEN_NAME ": bad address %s\n", host);
		exit(2);
	}
}

/* Seconds on the monotonic clock. */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
