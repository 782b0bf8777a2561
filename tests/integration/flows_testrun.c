// SPDX-License-Identifier: GPL-2.0
/*
 * Runs the flows programs on crafted packets with BPF_PROG_TEST_RUN, for the
 * integration tests (exact keys and counts) and the per-packet benchmark.
 *
 *   flows_testrun [--hook xdp|tc] [--repeat N] [--empty] < packets
 *   flows_testrun --attach-empty IFACE
 *
 * stdin: one packet per line, in hex. For each packet: a JSON line
 * {"type":"verdict","index":I,"retval":R,"ns_per_run":D}; then the module's
 * own report of the flow map (flow records and flow_stats), as
 * `netlens flows -o json` writes it. --empty runs a program that only
 * returns XDP_PASS instead (the benchmark's baseline; no report).
 * --attach-empty attaches that program to IFACE in native mode, says
 * "attached" on stderr and detaches at SIGINT/SIGTERM: the cost of having
 * any XDP program on a veth, without flows' own work.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "flows/flows.h"
#include "framework/module.h"
#include "framework/sys.h"

#define MAX_PACKET 9000

static int empty_xdp_prog(void)
{
	const struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 2 /* XDP_PASS */ },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "flows_empty", "GPL", pass, 2, NULL);
}

static void ignore(int sig)
{
	(void)sig;
}

static int attach_empty(const char *ifname)
{
	unsigned int ifindex = if_nametoindex(ifname);
	int fd = empty_xdp_prog(), err;
	sigset_t set;
	int sig;

	if (!ifindex || fd < 0) {
		fprintf(stderr, "flows_testrun: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGINT, ignore);
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err) {
		fprintf(stderr, "flows_testrun: attach to %s: %s\n", ifname, strerror(-err));
		return 1;
	}
	fprintf(stderr, "attached\n");
	sigwait(&set, &sig);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	return 0;
}

static int unhex(const char *line, unsigned char *out, size_t max)
{
	size_t n = 0;

	for (const char *p = line; p[0] && p[0] != '\n'; p += 2) {
		unsigned int byte;

		if (n == max || sscanf(p, "%2x", &byte) != 1)
			return -1;
		out[n++] = byte;
	}
	return n;
}

int main(int argc, char **argv)
{
	static struct flows_cfg cfg = {
		.ifname = "lo", .ifindex = 1, .hook = FLOWS_HOOK_XDP, .directions = FLOWS_DIR_IN,
		.max_flows = FLOWS_DEFAULT_MAX, .idle_timeout = FLOWS_DEFAULT_IDLE,
		.top = FLOWS_DEFAULT_TOP,
	};
	static unsigned char pkt[MAX_PACKET];
	static char line[2 * MAX_PACKET + 2];
	struct nl_opts o = { .output = NL_OUT_JSON };
	struct nl_sink sink;
	struct nl_module m = { .ops = &nl_flows_ops, .sink = &sink, .cfg = &cfg };
	unsigned int repeat = 1;
	bool empty = false;
	int fd, index = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hook") && i + 1 < argc)
			cfg.hook = !strcmp(argv[++i], "tc") ? FLOWS_HOOK_TC : FLOWS_HOOK_XDP;
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--empty"))
			empty = true;
		else if (!strcmp(argv[i], "--attach-empty") && i + 1 < argc)
			return attach_empty(argv[i + 1]);
		else {
			fprintf(stderr, "usage: %s [--hook xdp|tc] [--repeat N] [--empty] < packets\n"
				"       %s --attach-empty IFACE\n", argv[0], argv[0]);
			return 2;
		}
	}
	nl_libbpf_logging(getenv("NL_VERBOSE") != NULL);
	nl_sink_init(&sink, o.output, stdout);
	if (empty) {
		fd = empty_xdp_prog();
	} else {
		if (m.ops->open(&m, &o)) {
			fprintf(stderr, "flows_testrun: %s\n", m.err);
			return 1;
		}
		fd = flows_prog_fd(&m);
	}
	if (fd < 0) {
		fprintf(stderr, "flows_testrun: no program: %s\n", strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		int len = unhex(line, pkt, sizeof(pkt));
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .repeat = repeat);
		int err;

		if (len < 0) {
			fprintf(stderr, "flows_testrun: line %d is not hex\n", index + 1);
			return 2;
		}
		t.data_size_in = len;
		err = bpf_prog_test_run_opts(fd, &t);
		if (err) {
			fprintf(stderr, "flows_testrun: test run of packet %d: %s\n", index,
				strerror(-err));
			return 1;
		}
		printf("{\"type\":\"verdict\",\"index\":%d,\"retval\":%d,\"ns_per_run\":%u}\n", index,
		       (int)t.retval, t.duration);
		index++;
	}
	if (!empty) {
		m.ops->collect(&m, true);
		m.ops->destroy(&m);
	}
	nl_sink_flush(&sink);
	nl_sink_free(&sink);
	return 0;
}
