// SPDX-License-Identifier: GPL-2.0
/*
 * What a uprobe costs here, by the first instruction of the probed function:
 * N calls of a function that begins with sub $8,%rsp (the kernel runs it by
 * single-stepping a copy: a debug trap), push %rbp (emulated) or a 5-byte
 * nop (emulated; Linux 6.18 turns a probed nop5 into a call). The probes are
 * set on f_sub, f_push, f_nop5 by bench/http_bench.py --floor.
 *
 *   uprobe_loop sub|push|nop5 N   -> "ns_per_call X"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((naked, noinline)) long f_sub(long x __attribute__((unused)))
{
	__asm__ volatile("sub $8, %rsp\n\tlea 1(%rdi), %rax\n\tadd $8, %rsp\n\tret");
}

__attribute__((naked, noinline)) long f_push(long x __attribute__((unused)))
{
	__asm__ volatile("push %rbp\n\tlea 1(%rdi), %rax\n\tpop %rbp\n\tret");
}

__attribute__((naked, noinline)) long f_nop5(long x __attribute__((unused)))
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\tlea 1(%rdi), %rax\n\tret");
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long (*f)(long) = NULL;
	long n, sum = 0;
	double t0;

	if (argc == 3 && !strcmp(argv[1], "sub"))
		f = f_sub;
	else if (argc == 3 && !strcmp(argv[1], "push"))
		f = f_push;
	else if (argc == 3 && !strcmp(argv[1], "nop5"))
		f = f_nop5;
	n = argc == 3 ? atol(argv[2]) : 0;
	if (!f || n <= 0) {
		fprintf(stderr, "usage: uprobe_loop sub|push|nop5 N\n");
		return 2;
	}
	t0 = now();
	for (long i = 0; i < n; i++)
		sum += f(i);
	printf("ns_per_call %.1f\n", (now() - t0) * 1e9 / n);
	return sum == 0;   /* keep the calls */
}
