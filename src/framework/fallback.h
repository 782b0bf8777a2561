/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A BPF object built in several hook flavours, one loaded: tp_btf (plain
 * loads of typed arguments, the cheapest) unless the kernel refuses it at
 * load or at attach, then raw_tp; never a fallback from a hook the user
 * forced with --hook.
 */
#ifndef NETLENS_FRAMEWORK_FALLBACK_H
#define NETLENS_FRAMEWORK_FALLBACK_H

#include <stdbool.h>
#include <stddef.h>

enum nl_hook { NL_HOOK_AUTO, NL_HOOK_TP_BTF, NL_HOOK_RAW_TP, NL_HOOK_TRACEPOINT };

#define NL_HOOK_BIT(h) (1u << (h))

/* "tp_btf", "raw_tp", "tracepoint" ("auto" for NL_HOOK_AUTO). */
const char *nl_hook_name(enum nl_hook h);

/*
 * --hook: "auto" or one of the hooks in allowed (NL_HOOK_BIT()s); 0, or -1
 * with "'x' is not auto, tp_btf or raw_tp" in err.
 */
int nl_hook_parse(const char *arg, unsigned int allowed, enum nl_hook *out, char *err,
		  size_t len);

/* The hook a plan names: the one loaded, else the one asked for, else auto_hook. */
enum nl_hook nl_hook_pick(enum nl_hook loaded, enum nl_hook asked, enum nl_hook auto_hook);

/* Whether hook, not loaded yet and not forced, would be followed by raw_tp if refused. */
bool nl_hook_may_fall_back(enum nl_hook loaded, enum nl_hook asked, enum nl_hook hook);

struct nl_fallback {
	enum nl_hook asked;        /* --hook; NL_HOOK_AUTO lets tp_btf fall back */
	enum nl_hook loaded;       /* set by nl_load_fallback(); NL_HOOK_AUTO before */
	void *ctx;                 /* passed to the callbacks */
	/* Opens, configures and loads the object with hook's programs; 0 or -errno. */
	int (*load)(void *ctx, enum nl_hook hook);
	/* Attaches what load() loaded; 0 or -errno. */
	int (*attach)(void *ctx);
	/* Frees what load() made, whole or half (after a failed load). */
	void (*unload)(void *ctx);
};

/* Loads with hook, then with raw_tp if that was an automatic tp_btf the kernel refused. */
int nl_load_fallback(struct nl_fallback *fb, enum nl_hook hook);

/*
 * Attaches what nl_load_fallback() loaded; a tp_btf refused here (loaded
 * but not attachable) is unloaded and the raw_tp set loaded and attached.
 */
int nl_attach_fallback(struct nl_fallback *fb);

#endif
