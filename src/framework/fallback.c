// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include "framework/cli.h"
#include "framework/fallback.h"

static const char *const hook_names[] = {
	[NL_HOOK_AUTO] = "auto", [NL_HOOK_TP_BTF] = "tp_btf", [NL_HOOK_RAW_TP] = "raw_tp",
	[NL_HOOK_TRACEPOINT] = "tracepoint",
};

#define N_HOOKS (sizeof(hook_names) / sizeof(hook_names[0]))

const char *nl_hook_name(enum nl_hook h)
{
	return (size_t)h < N_HOOKS ? hook_names[h] : "?";
}

/* "auto, tp_btf or raw_tp": the names in allowed, in order. */
static void list_hooks(unsigned int allowed, char *buf, size_t len)
{
	size_t n = 0, left = 0;

	for (size_t h = NL_HOOK_TP_BTF; h < N_HOOKS; h++)
		left += !!(allowed & NL_HOOK_BIT(h));
	n = snprintf(buf, len, "auto");
	for (size_t h = NL_HOOK_TP_BTF; h < N_HOOKS && n < len; h++) {
		if (!(allowed & NL_HOOK_BIT(h)))
			continue;
		n += snprintf(buf + n, len - n, "%s%s", --left ? ", " : " or ", hook_names[h]);
	}
}

int nl_hook_parse(const char *arg, unsigned int allowed, enum nl_hook *out, char *err,
		  size_t len)
{
	char names[64];

	allowed |= NL_HOOK_BIT(NL_HOOK_AUTO);
	for (size_t h = 0; h < N_HOOKS; h++) {
		if ((allowed & NL_HOOK_BIT(h)) && !strcmp(arg, hook_names[h])) {
			*out = h;
			return 0;
		}
	}
	list_hooks(allowed, names, sizeof(names));
	snprintf(err, len, "'%s' is not %s", nl_echo(arg), names);
	return -1;
}

enum nl_hook nl_hook_pick(enum nl_hook loaded, enum nl_hook asked, enum nl_hook auto_hook)
{
	if (loaded != NL_HOOK_AUTO)
		return loaded;
	return asked != NL_HOOK_AUTO ? asked : auto_hook;
}

bool nl_hook_may_fall_back(enum nl_hook loaded, enum nl_hook asked, enum nl_hook hook)
{
	return hook == NL_HOOK_TP_BTF && loaded == NL_HOOK_AUTO && asked == NL_HOOK_AUTO;
}

/* After a failure with hook: was it the automatic tp_btf, so raw_tp may follow? */
static bool tp_btf_refused(const struct nl_fallback *fb, enum nl_hook hook)
{
	return hook == NL_HOOK_TP_BTF && fb->asked == NL_HOOK_AUTO;
}

static int load(struct nl_fallback *fb, enum nl_hook hook)
{
	int err = fb->load(fb->ctx, hook);

	if (!err)
		fb->loaded = hook;
	return err;
}

int nl_load_fallback(struct nl_fallback *fb, enum nl_hook hook)
{
	int err = load(fb, hook);

	if (err && tp_btf_refused(fb, hook)) {
		fb->unload(fb->ctx);
		err = load(fb, NL_HOOK_RAW_TP);
	}
	return err;
}

int nl_attach_fallback(struct nl_fallback *fb)
{
	int err = fb->attach(fb->ctx);

	if (err && tp_btf_refused(fb, fb->loaded)) {
		fb->unload(fb->ctx);
		fb->loaded = NL_HOOK_AUTO;
		err = load(fb, NL_HOOK_RAW_TP);
		if (err)
			return err;
		err = fb->attach(fb->ctx);
	}
	return err;
}
