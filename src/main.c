// SPDX-License-Identifier: GPL-2.0
/* netlens: kernel-level network observability. Command dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "framework/cli.h"
#include "conns/conns.h"
#include "dns/dns.h"
#include "drops/drops.h"
#include "flows/flows.h"
#include "latency/latency.h"
#include "framework/module.h"
#include "probe/probe.h"
#include "retrans/retrans.h"
#include "agent/serve.h"

static const struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "conns", conns_main, "TCP connection lifecycle: connect, accept, failed, close" },
	{ "latency", latency_main, "TCP handshake, RTT, request and service time distributions" },
	{ "retrans", retrans_main, "TCP retransmissions with their owner; per destination ratio" },
	{ "drops", drops_main, "packets the kernel dropped, with the kernel's reason and location" },
	{ "flows", flows_main, "unsampled per-flow packet and byte counts at XDP or TC" },
	{ "dns", dns_main, "DNS queries and answers: qname, rcode, answers, latency, timeouts" },
	{ "serve", serve_main, "the agent: all modules, Prometheus /metrics, events file, IPFIX" },
	{ "probe", probe_main, "what this kernel allows and which hooks netlens will use" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: netlens [command] [options]\n"
		     "Kernel-level network observability with eBPF.\n\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nWithout a command, netlens runs 'conns'. "
		     "'netlens COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd && (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))) {
		usage(stdout);
		return 0;
	}
	if (cmd && !strcmp(cmd, "--version")) {
		printf("netlens %s\n", nl_version);
		return 0;
	}
	/* No command, or options only: the main job. */
	if (!cmd || cmd[0] == '-') {
		argv[0] = (char *)"conns";
		return conns_main(argc, argv);
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].main(argc - 1, argv + 1);
	nl_die(NL_EXIT_USAGE, "unknown command '%s' (try 'netlens --help')", cmd);
}
