// SPDX-License-Identifier: GPL-2.0
/*
 * Connection-storm generator for the conns benchmark: short-lived TCP
 * connections, each a 1-byte request and a 1-byte answer, closed by the
 * client. Blocking sockets, one thread per concurrent connection.
 *
 *   connstorm server ADDR PORT [THREADS]
 *   connstorm client ADDR PORT SECONDS [THREADS]   -> "connections N rate R/s"
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define LOADGEN_NAME "connstorm"
#include "loadgen.h"

static int listen_fd;
static double seconds;
static atomic_ulong done, failed;

static void *serve(void *arg)
{
	char b;

	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0)
			continue;
		if (read(fd, &b, 1) == 1 && write(fd, &b, 1) == 1)
			while (read(fd, &b, 1) > 0)
				;
		close(fd);
	}
	return NULL;
}

static void *storm(void *arg)
{
	double end = *(double *)arg;
	char b = 'q';

	while (now() < end) {
		int fd = socket(addr.ss_family, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&addr, addr_len) == 0 &&
		    write(fd, &b, 1) == 1 && read(fd, &b, 1) == 1)
			atomic_fetch_add(&done, 1);
		else
			atomic_fetch_add(&failed, 1);
		close(fd);
	}
	return NULL;
}

static void run_threads(int n, void *(*fn)(void *), void *arg)
{
	pthread_t t[256];

	if (n < 1 || n > 256)
		n = 1;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, arg))
			die("pthread_create");
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
	int one = 1;

	if (argc >= 4 && !strcmp(argv[1], "server")) {
		parse_addr(argv[2], atoi(argv[3]));
		listen_fd = socket(addr.ss_family, SOCK_STREAM, 0);
		setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(listen_fd, (struct sockaddr *)&addr, addr_len) || listen(listen_fd, 4096))
			die("listen");
		printf("READY\n");
		fflush(stdout);
		run_threads(argc > 4 ? atoi(argv[4]) : 2, serve, NULL);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "client")) {
		double t0, end;

		parse_addr(argv[2], atoi(argv[3]));
		seconds = atof(argv[4]);
		t0 = now();
		end = t0 + seconds;
		run_threads(argc > 5 ? atoi(argv[5]) : 4, storm, &end);
		printf("connections %lu failed %lu rate %.1f/s\n", atomic_load(&done),
		       atomic_load(&failed), atomic_load(&done) / (now() - t0));
		return 0;
	}
	fprintf(stderr, "usage: connstorm server ADDR PORT [THREADS] | "
			"client ADDR PORT SECONDS [THREADS]\n");
	return 2;
}
