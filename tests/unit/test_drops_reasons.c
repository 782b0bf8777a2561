// SPDX-License-Identifier: GPL-2.0
/*
 * Drop reason names from BTF: against the running kernel's BTF (readable
 * without root) and against a synthetic BTF whose enum is numbered
 * differently, which the decoder must follow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "check.h"
#include "drops/drops.h"

/* NAME's value in the kernel's own enum, read independently of the decoder. */
static long kernel_value(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_enum *e = btf_enum(t);

	for (int i = 0; i < btf_vlen(t); i++, e++)
		if (!strcmp(btf__name_by_offset(btf, e->name_off), name))
			return e->val;
	return -1;
}

static void test_running_kernel(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	struct drop_reasons r;
	uint32_t v;

	CHECK(btf != NULL);
	if (!btf)
		return;
	CHECK(drop_reasons_load(&r) == 0);
	CHECK(r.n > 10);
	/* Known names resolve to the kernel's numbers, both ways. */
	static const char *const known[] = { "NO_SOCKET", "NETFILTER_DROP", "SOCKET_RCVBUFF",
					     "NOT_SPECIFIED", "TCP_CSUM" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		char full[64];
		long want;

		snprintf(full, sizeof(full), "SKB_DROP_REASON_%s", known[i]);
		want = kernel_value(btf, full);
		CHECK(want >= 0);
		CHECK(drop_reason_value(&r, known[i], &v) == 0 && v == (uint32_t)want);
		CHECK_STR(drop_reason_name(&r, (uint32_t)want), known[i]);
	}
	/* The prefix and case do not matter; markers are not reasons. */
	CHECK(drop_reason_value(&r, "skb_drop_reason_no_socket", &v) == 0 &&
	      v == (uint32_t)kernel_value(btf, "SKB_DROP_REASON_NO_SOCKET"));
	CHECK(drop_reason_value(&r, "MAX", &v) == -ENOENT);
	CHECK(drop_reason_value(&r, "NO_SUCH_REASON", &v) == -ENOENT);
	CHECK(drop_reason_name(&r, 0xfffffff0u) == NULL);
	drop_reasons_free(&r);
	btf__free(btf);
}

static void test_renumbered_enum(void)
{
	struct btf *btf = btf__new_empty();
	struct drop_reasons r;
	uint32_t v;

	CHECK(btf__add_enum(btf, "skb_drop_reason", 4) > 0);
	btf__add_enum_value(btf, "SKB_NOT_DROPPED_YET", 0);
	btf__add_enum_value(btf, "SKB_DROP_REASON_NO_SOCKET", 41);
	btf__add_enum_value(btf, "SKB_DROP_REASON_NOT_SPECIFIED", 7);
	btf__add_enum_value(btf, "SKB_DROP_REASON_MAX", 42);
	btf__add_enum_value(btf, "SKB_DROP_REASON_SUBSYS_MASK", (__s64)0xffff0000);
	CHECK(drop_reasons_from_btf(&r, btf) == 0);
	CHECK(r.n == 2);
	CHECK_STR(drop_reason_name(&r, 41), "NO_SOCKET");
	CHECK_STR(drop_reason_name(&r, 7), "NOT_SPECIFIED");
	CHECK(drop_reason_name(&r, 0) == NULL);
	CHECK(drop_reason_value(&r, "no_socket", &v) == 0 && v == 41);
	drop_reasons_free(&r);
	btf__free(btf);
}

static void test_no_enum(void)
{
	struct btf *btf = btf__new_empty();
	struct drop_reasons r;

	CHECK(drop_reasons_from_btf(&r, btf) == -ENOENT);
	CHECK(r.n == 0 && drop_reason_name(&r, 3) == NULL);
	drop_reasons_free(&r);
	btf__free(btf);
}

static void test_kinds(void)
{
	CHECK(drop_kind_by_name("sock_rcvqueue_full") == DROP_KIND_RCVQUEUE_FULL);
	CHECK(drop_kind_by_name("SOCK_EXCEED_BUF_LIMIT") == DROP_KIND_EXCEED_BUF);
	CHECK(drop_kind_by_name("kfree_skb") < 0);   /* not a --reason */
	CHECK_STR(drop_kind_name(DROP_KIND_SKB), "kfree_skb");
	CHECK_STR(drop_kind_name(200), "unknown");
}

/* Classes by name, whatever the kernel numbers them; the socket kinds and unknowns are loss. */
static void test_classes(void)
{
	static const struct { const char *name; enum drop_class class; } want[] = {
		{ "NETFILTER_DROP", DROP_CLASS_POLICY }, { "XDP", DROP_CLASS_POLICY },
		{ "TC_INGRESS", DROP_CLASS_POLICY }, { "SOCKET_FILTER", DROP_CLASS_POLICY },
		{ "QUEUE_PURGE", DROP_CLASS_BENIGN }, { "TCP_CLOSE", DROP_CLASS_BENIGN },
		{ "TCP_OLD_DATA", DROP_CLASS_BENIGN }, { "NOT_SPECIFIED", DROP_CLASS_BENIGN },
		{ "SOCKET_RCVBUFF", DROP_CLASS_LOSS }, { "NO_SOCKET", DROP_CLASS_LOSS },
		{ "UDP_CSUM", DROP_CLASS_LOSS }, { "TCP_LISTEN_OVERFLOW", DROP_CLASS_LOSS },
	};
	struct drop_reasons r;
	uint32_t v;

	CHECK(drop_reasons_load(&r) == 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK(drop_reason_value(&r, want[i].name, &v) == 0);
		CHECK_STR(drop_class_name(drop_class_of(&r, DROP_KIND_SKB, v)),
			  drop_class_name(want[i].class));
	}
	CHECK(drop_class_of(&r, DROP_KIND_SKB, 0xfffffff0u) == DROP_CLASS_LOSS);
	CHECK(drop_class_of(&r, DROP_KIND_RCVQUEUE_FULL, 0) == DROP_CLASS_LOSS);
	CHECK_STR(drop_class_name(DROP_CLASS_BENIGN), "benign");
	drop_reasons_free(&r);
}

int main(void)
{
	RUN(test_running_kernel);
	RUN(test_renumbered_enum);
	RUN(test_no_enum);
	RUN(test_kinds);
	RUN(test_classes);
	return TEST_SUMMARY();
}
