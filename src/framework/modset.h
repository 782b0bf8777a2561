/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Several capability modules in one process and one event loop: `serve`,
 * `diagnose` and `top` run the same modules the same way. Modules that
 * share a BPF object are all opened before the first attach loads it.
 */
#ifndef NETLENS_MODSET_H
#define NETLENS_MODSET_H

#include <stdbool.h>
#include <stddef.h>
#include "framework/module.h"
#include "output/output.h"

#define NL_MODSET_MAX 8

/* One capability as a set runs it. */
struct nl_modset_mod {
	struct nl_module m;
	struct nl_sink sink;
	bool up;                   /* opened and attached */
};

/*
 * Where the modules' lines go: the events file, else the capture, else
 * nowhere (records are then not even built: nl_sink_wants_records()).
 */
struct nl_modset {
	const char *who;           /* the command, for its messages: "serve" */
	struct nl_eventlog *events;
	struct nl_capture *capture;
	struct nl_modset_mod mods[NL_MODSET_MAX];
	size_t n;
};

/*
 * The options of every command that runs a module set (serve, diagnose,
 * top) that the modules take (struct nl_serve_env, the first member of
 * the command's options): -i IFACE and --flows-hook.
 */
int nl_modset_set_iface(void *cfg, const char *arg, char *err, size_t len);
int nl_modset_set_flows_hook(void *cfg, const char *arg, char *err, size_t len);
#define NL_MODSET_OPT_FLOWS_HOOK(key)                                                     \
	{ "flows-hook", key, "tc|xdp", "flows at TC, both directions (default), or at XDP, " \
	  "ingress only", nl_modset_set_flows_hook }

/* The modules that say flag (enum nl_serve_flags), as bits of nl_modules[]. */
unsigned int nl_modset_with(unsigned int flag);
/* Every module, less the opt-in ones and those that need an interface when there is none. */
unsigned int nl_modset_default(bool have_iface);

/*
 * Configures each module of `enable` (bits of nl_modules[]) with its
 * defaults and what it takes from env (exits 2 with one line on bad
 * options), opens them all, then attaches them all. A module that fails
 * is said on stderr and left down. Returns how many are up.
 */
size_t nl_modset_start(struct nl_modset *set, unsigned int enable, const struct nl_serve_env *env,
		       const struct nl_opts *o);
/* Reads every module's pending records; how many, or -errno. */
int nl_modset_poll(struct nl_modset *set);
void nl_modset_collect(struct nl_modset *set, bool final);
int nl_modset_flush(struct nl_modset *set);
/*
 * Every module's findings since it attached, and netlens' own: records
 * lost, map inserts refused, modules down.
 */
void nl_modset_findings(struct nl_modset *set, struct nl_findings *out);
/* Detaches and frees every module. */
void nl_modset_stop(struct nl_modset *set);

#endif
