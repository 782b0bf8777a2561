// SPDX-License-Identifier: GPL-2.0
/* The tp_btf -> raw_tp load fallback and --hook parsing, with a fake object. */
#include <errno.h>
#include "check.h"
#include "framework/fallback.h"

/* What the fake kernel refuses, and what was done to the fake object. */
struct fake {
	enum nl_hook refuse_load, refuse_attach;
	enum nl_hook current;   /* the set loaded */
	char log[64];
};

static void note(struct fake *f, const char *what)
{
	strncat(f->log, what, sizeof(f->log) - strlen(f->log) - 1);
}

static int fake_load(void *ctx, enum nl_hook hook)
{
	struct fake *f = ctx;

	note(f, hook == NL_HOOK_TP_BTF ? "L:btf " : hook == NL_HOOK_RAW_TP ? "L:raw " : "L:tp ");
	if (f->refuse_load == hook)
		return -EINVAL;
	f->current = hook;
	return 0;
}

static int fake_attach(void *ctx)
{
	struct fake *f = ctx;

	note(f, "A ");
	return f->refuse_attach == f->current ? -EINVAL : 0;
}

static void fake_unload(void *ctx)
{
	note(ctx, "U ");
}

static struct nl_fallback fallback(struct fake *f, enum nl_hook asked)
{
	return (struct nl_fallback){ .asked = asked, .ctx = f, .load = fake_load,
				     .attach = fake_attach, .unload = fake_unload };
}

static void test_load_refused(void)
{
	struct fake f = { .refuse_load = NL_HOOK_TP_BTF };
	struct nl_fallback fb = fallback(&f, NL_HOOK_AUTO);

	CHECK(nl_load_fallback(&fb, NL_HOOK_TP_BTF) == 0);
	CHECK(nl_attach_fallback(&fb) == 0);
	CHECK(fb.loaded == NL_HOOK_RAW_TP);
	CHECK_STR(f.log, "L:btf U L:raw A ");
}

static void test_attach_refused(void)
{
	struct fake f = { .refuse_attach = NL_HOOK_TP_BTF };
	struct nl_fallback fb = fallback(&f, NL_HOOK_AUTO);

	CHECK(nl_load_fallback(&fb, NL_HOOK_TP_BTF) == 0 && fb.loaded == NL_HOOK_TP_BTF);
	CHECK(nl_attach_fallback(&fb) == 0);
	CHECK(fb.loaded == NL_HOOK_RAW_TP);
	CHECK_STR(f.log, "L:btf A U L:raw A ");
}

/* --hook tp_btf: no second try. */
static void test_forced_hook(void)
{
	struct fake f = { .refuse_load = NL_HOOK_TP_BTF };
	struct nl_fallback fb = fallback(&f, NL_HOOK_TP_BTF);

	CHECK(nl_load_fallback(&fb, NL_HOOK_TP_BTF) == -EINVAL);
	CHECK(fb.loaded == NL_HOOK_AUTO);
	CHECK_STR(f.log, "L:btf ");
}

static void test_pick(void)
{
	CHECK(nl_hook_pick(NL_HOOK_AUTO, NL_HOOK_AUTO, NL_HOOK_TP_BTF) == NL_HOOK_TP_BTF);
	CHECK(nl_hook_pick(NL_HOOK_AUTO, NL_HOOK_RAW_TP, NL_HOOK_TP_BTF) == NL_HOOK_RAW_TP);
	CHECK(nl_hook_pick(NL_HOOK_RAW_TP, NL_HOOK_AUTO, NL_HOOK_TP_BTF) == NL_HOOK_RAW_TP);
	CHECK(nl_hook_may_fall_back(NL_HOOK_AUTO, NL_HOOK_AUTO, NL_HOOK_TP_BTF));
	CHECK(!nl_hook_may_fall_back(NL_HOOK_TP_BTF, NL_HOOK_AUTO, NL_HOOK_TP_BTF));
	CHECK(!nl_hook_may_fall_back(NL_HOOK_AUTO, NL_HOOK_TP_BTF, NL_HOOK_TP_BTF));
}

static void test_parse(void)
{
	unsigned int two = NL_HOOK_BIT(NL_HOOK_TP_BTF) | NL_HOOK_BIT(NL_HOOK_RAW_TP);
	enum nl_hook h = NL_HOOK_TRACEPOINT;
	char err[128];

	CHECK(nl_hook_parse("auto", two, &h, err, sizeof(err)) == 0 && h == NL_HOOK_AUTO);
	CHECK(nl_hook_parse("raw_tp", two, &h, err, sizeof(err)) == 0 && h == NL_HOOK_RAW_TP);
	CHECK(nl_hook_parse("tracepoint", two, &h, err, sizeof(err)) == -1);
	CHECK_STR(err, "'tracepoint' is not auto, tp_btf or raw_tp");
	CHECK(nl_hook_parse("x", two | NL_HOOK_BIT(NL_HOOK_TRACEPOINT), &h, err, sizeof(err)) == -1);
	CHECK_STR(err, "'x' is not auto, tp_btf, raw_tp or tracepoint");
}

int main(void)
{
	RUN(test_load_refused);
	RUN(test_attach_refused);
	RUN(test_forced_hook);
	RUN(test_pick);
	RUN(test_parse);
	return TEST_SUMMARY();
}
