// SPDX-License-Identifier: GPL-2.0
/*
 * Request/response load for the latency benchmark: persistent TCP
 * connections, each a ping-pong of SIZE-byte requests and answers (what
 * netperf TCP_RR does). Blocking sockets, one thread per connection, so
 * every exchange is one send and one receive on each side.
 *
 *   latency_rr server ADDR PORT
 *   latency_rr client ADDR PORT SECONDS [CONNECTIONS] [SIZE]
 *       -> "exchanges N rate R/s"
 */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define LOADGEN_NAME "latency_rr"
#include "loadgen.h"

#define MAX_SIZE 65536

static double seconds;
static int size = 64;
static atomic_ulong exchanges;

/* Reads exactly n bytes; 0 at a clean end of stream. */
static int read_all(int fd, char *buf, int n)
{
	for (int got = 0; got < n;) {
		ssize_t r = recv(fd, buf + got, n - got, 0);

		if (r <= 0)
			return r < 0 ? -1 : 0;
		got += r;
	}
	return 1;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* One connection: echo what arrives until the client closes. */
static void *echo(void *arg)
{
	int fd = (int)(long)arg;
	char local[MAX_SIZE];
	ssize_t n;

	nodelay(fd);
	while ((n = recv(fd, local, sizeof(local), 0)) > 0)
		if (send(fd, local, n, 0) != n)
			break;
	close(fd);
	return NULL;
}

static void server(void)
{
	int one = 1, lfd = socket(addr.ss_family, SOCK_STREAM, 0);

	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&addr, addr_len) || listen(lfd, 128))
		die("bind/listen");
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, echo, (void *)(long)fd))
			die("pthread_create");
		pthread_detach(t);
	}
}

static void *ping(void *arg)
{
	int fd = socket(addr.ss_family, SOCK_STREAM, 0);
	char buf[MAX_SIZE];
	double end;
	unsigned long n = 0;

	(void)arg;
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, addr_len))
		die("connect");
	nodelay(fd);
	memset(buf, 'q', size);
	end = now() + seconds;
	/* Check the clock every 64 exchanges: cheap enough, close enough. */
	while ((n & 63) || now() < end) {
		if (send(fd, buf, size, 0) != size || read_all(fd, buf, size) != 1)
			die("exchange");
		n++;
	}
	close(fd);
	atomic_fetch_add(&exchanges, n);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "server")) {
		parse_addr(argv[2], atoi(argv[3]));
		server();
	}
	if (argc >= 5 && !strcmp(argv[1], "client")) {
		int conns = argc > 5 ? atoi(argv[5]) : 4;
		pthread_t t[256];
		double t0;

		parse_addr(argv[2], atoi(argv[3]));
		seconds = atof(argv[4]);
		size = argc > 6 ? atoi(argv[6]) : 64;
		if (conns < 1 || conns > 256 || size < 1 || size > MAX_SIZE || seconds <= 0) {
			fprintf(stderr, "latency_rr: 1-256 connections, size 1-%d, seconds > 0\n", MAX_SIZE);
			return 2;
		}
		t0 = now();
		for (int i = 0; i < conns; i++)
			if (pthread_create(&t[i], NULL, ping, NULL))
				die("pthread_create");
		for (int i = 0; i < conns; i++)
			pthread_join(t[i], NULL);
		printf("exchanges %lu rate %.1f/s\n", atomic_load(&exchanges),
		       atomic_load(&exchanges) / (now() - t0));
		return 0;
	}
	fprintf(stderr, "usage: latency_rr server ADDR PORT | "
			"latency_rr client ADDR PORT SECONDS [CONNECTIONS] [SIZE]\n");
	return 2;
}
