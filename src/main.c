// SPDX-License-Identifier: GPL-2.0
/* netlens: kernel-level network observability. Command dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "framework/cli.h"
#include "framework/module.h"
#include "probe/probe.h"
#include "agent/serve.h"
#include "overview/diagnose.h"
#include "overview/top.h"

/* The commands that are not a capability (those come from nl_modules[]). */
static const struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "top", top_main, "every module live, full screen: findings, destinations, drops, DNS..." },
	{ "diagnose", diagnose_main, "every module for a while, then what is wrong, ranked" },
	{ "serve", serve_main, "the agent: all modules, Prometheus /metrics, events file, IPFIX" },
	{ "probe", probe_main, "what this kernel allows and which hooks netlens will use" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: netlens [command] [options]\n"
		     "Kernel-level network observability with eBPF.\n\nCommands:\n");
	for (size_t i = 0; nl_modules[i]; i++)
		fprintf(out, "  %-8s %s\n", nl_modules[i]->name, nl_modules[i]->help);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nWithout a command, netlens runs 'top'. "
		     "'netlens COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int mod;

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
		argv[0] = (char *)"top";
		return top_main(argc, argv);
	}
	mod = nl_module_index(cmd);
	if (mod >= 0 && nl_modules[mod]->main)
		return nl_modules[mod]->main(argc - 1, argv + 1);
	if (mod >= 0)
		return nl_command(nl_modules[mod], argc - 1, argv + 1);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].main(argc - 1, argv + 1);
	nl_die(NL_EXIT_USAGE, "unknown command '%s' (try 'netlens --help')", nl_echo(cmd));
}
