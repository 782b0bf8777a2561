// SPDX-License-Identifier: GPL-2.0
/*
 * UDP flood for the drops benchmark: THREADS senders, each with its own
 * unconnected socket (ICMP errors are not reported to it), send 16-byte
 * datagrams to ADDR:PORT as fast as they can for SECONDS.
 *
 *   udpflood ADDR PORT SECONDS [THREADS]   -> "datagrams N rate R/s errors E"
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define LOADGEN_NAME "udpflood"
#include "loadgen.h"

#define BATCH 64   /* datagrams per sendmmsg(2) */

static double seconds;
static atomic_ulong sent, errors;

static void *flood(void *arg)
{
	char payload[16] = "netlens-udpflood";
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct mmsghdr msgs[BATCH];
	unsigned long mine = 0, bad = 0;
	double end = now() + seconds;
	int fd = socket(addr.ss_family, SOCK_DGRAM, 0);

	(void)arg;
	if (fd < 0) {
		perror("udpflood: socket");
		exit(1);
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &addr;
		msgs[i].msg_hdr.msg_namelen = addr_len;
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (now() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n > 0)
			mine += n;
		else
			bad++;
	}
	close(fd);
	atomic_fetch_add(&sent, mine);
	atomic_fetch_add(&errors, bad);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 4 ? atoi(argv[4]) : 1;
	pthread_t tid[64];
	double t0;

	if (argc < 4 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: udpflood ADDR PORT SECONDS [THREADS]\n");
		return 2;
	}
	parse_addr(argv[1], atoi(argv[2]));
	seconds = atof(argv[3]);
	t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, flood, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	printf("datagrams %lu rate %.0f/s errors %lu\n", (unsigned long)sent,
	       sent / (now() - t0), (unsigned long)errors);
	return 0;
}
