// SPDX-License-Identifier: GPL-2.0
/* kallsyms parsing and address lookup, from fixed text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "framework/ksyms.h"

static int load(struct nl_ksyms *k, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err = nl_ksyms_read(k, f);

	fclose(f);
	return err;
}

static void test_lookup(void)
{
	/* Unsorted, with data symbols and a module, as /proc/kallsyms may be. */
	static const char text[] =
		"ffffffff81e42000 T kfree_skb_list_reason\n"
		"ffffffff81000000 T _stext\n"
		"ffffffff82000000 D some_data\n"
		"ffffffff81e425c0 T sk_skb_reason_drop\n"
		"ffffffffc0001000 t nft_do_chain\t[nf_tables]\n"
		"garbage line\n";
	struct nl_ksyms k;
	char buf[128];
	uint64_t off;

	CHECK(load(&k, text) == 0);
	CHECK(k.n == 4 && !k.hidden);
	CHECK_STR(nl_ksyms_fmt(&k, 0xffffffff81e425c0ULL, buf, sizeof(buf)), "sk_skb_reason_drop+0x0");
	CHECK_STR(nl_ksyms_fmt(&k, 0xffffffff81e42634ULL, buf, sizeof(buf)), "sk_skb_reason_drop+0x74");
	CHECK_STR(nl_ksyms_fmt(&k, 0xffffffff81e425bfULL, buf, sizeof(buf)),
		  "kfree_skb_list_reason+0x5bf");
	CHECK_STR(nl_ksyms_fmt(&k, 0xffffffffc00013e8ULL, buf, sizeof(buf)),
		  "nft_do_chain+0x3e8 [nf_tables]");
	/* Below the first symbol, or far past the last one: not a function. */
	CHECK(nl_ksyms_find(&k, 0xffffffff80000000ULL, &off) == NULL);
	CHECK_STR(nl_ksyms_fmt(&k, 0xffffffffc1000000ULL, buf, sizeof(buf)), "0xffffffffc1000000");
	/* A data symbol is not a drop location. */
	CHECK_STR(nl_ksyms_fmt(&k, 0xffffffff82000010ULL, buf, sizeof(buf)), "0xffffffff82000010");
	nl_ksyms_free(&k);
}

static void test_hidden_addresses(void)
{
	/* What an unprivileged reader sees with kptr_restrict. */
	static const char text[] =
		"0000000000000000 T _stext\n"
		"0000000000000000 T sk_skb_reason_drop\n";
	struct nl_ksyms k;
	char buf[64];

	CHECK(load(&k, text) == 0);
	CHECK(k.hidden && k.n == 0);
	CHECK_STR(nl_ksyms_fmt(&k, 0xffffffff81e425c0ULL, buf, sizeof(buf)), "0xffffffff81e425c0");
	nl_ksyms_free(&k);
}

static void test_empty(void)
{
	struct nl_ksyms k;
	uint64_t off;

	CHECK(load(&k, "") == 0);
	CHECK(!k.hidden && k.n == 0);
	CHECK(nl_ksyms_find(&k, 1, &off) == NULL);
	nl_ksyms_free(&k);
}

static void test_running_kernel(void)
{
	struct nl_ksyms k;
	char buf[128];

	/* Root sees addresses; anyone else may see zeros: both are handled. */
	CHECK(nl_ksyms_load(&k) == 0);
	if (!k.hidden && k.n) {
		const struct nl_ksym *s = &k.syms[k.n / 2];

		CHECK(!strncmp(nl_ksyms_fmt(&k, s->addr + 1, buf, sizeof(buf)), s->name,
			       strlen(s->name)));
	}
	nl_ksyms_free(&k);
}

int main(void)
{
	RUN(test_lookup);
	RUN(test_hidden_addresses);
	RUN(test_empty);
	RUN(test_running_kernel);
	return TEST_SUMMARY();
}
