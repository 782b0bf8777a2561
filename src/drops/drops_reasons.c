// SPDX-License-Identifier: GPL-2.0
/*
 * Drop reason names from the running kernel's BTF, never from a table built
 * in: kernels add reasons and renumber them (values shifted when
 * SKB_NOT_DROPPED_YET and SKB_CONSUMED were inserted at the start of the
 * enum, and new reasons are added in the middle).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <bpf/btf.h>
#include "drops/drops.h"

#define PREFIX "SKB_DROP_REASON_"

static const char *const kind_names[DROP_KIND_MAX] = {
	[DROP_KIND_SKB] = "kfree_skb",
	[DROP_KIND_RCVQUEUE_FULL] = "sock_rcvqueue_full",
	[DROP_KIND_EXCEED_BUF] = "sock_exceed_buf_limit",
};

const char *drop_kind_name(uint8_t kind)
{
	return kind && kind < DROP_KIND_MAX ? kind_names[kind] : "unknown";
}

int drop_kind_by_name(const char *name)
{
	for (int k = DROP_KIND_RCVQUEUE_FULL; k < DROP_KIND_MAX; k++)
		if (!strcasecmp(name, kind_names[k]))
			return k;
	return -ENOENT;
}

static int by_value(const void *a, const void *b)
{
	const struct drop_reason_name *x = a, *y = b;

	return x->value < y->value ? -1 : x->value > y->value;
}

int drop_reasons_from_btf(struct drop_reasons *r, const void *btf_)
{
	const struct btf *btf = btf_;
	const struct btf_type *t;
	const struct btf_enum *e;
	int id;

	memset(r, 0, sizeof(*r));
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	r->v = calloc(btf_vlen(t), sizeof(*r->v));
	if (!r->v)
		return -ENOMEM;
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const char *name = btf__name_by_offset(btf, e->name_off);

		if (!name || strncmp(name, PREFIX, strlen(PREFIX)))
			continue;
		name += strlen(PREFIX);
		/* Markers, not reasons. */
		if (!strcmp(name, "MAX") || !strcmp(name, "SUBSYS_MASK"))
			continue;
		r->v[r->n].value = (uint32_t)e->val;
		r->v[r->n].name = strdup(name);
		if (!r->v[r->n].name) {
			drop_reasons_free(r);
			return -ENOMEM;
		}
		r->n++;
	}
	qsort(r->v, r->n, sizeof(*r->v), by_value);
	return 0;
}

int drop_reasons_load(struct drop_reasons *r)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int err;

	memset(r, 0, sizeof(*r));
	if (!btf)
		return -errno;
	err = drop_reasons_from_btf(r, btf);
	btf__free(btf);
	return err;
}

void drop_reasons_free(struct drop_reasons *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

const char *drop_reason_name(const struct drop_reasons *r, uint32_t value)
{
	struct drop_reason_name key = { .value = value }, *found;

	if (!r->n)
		return NULL;
	found = bsearch(&key, r->v, r->n, sizeof(*r->v), by_value);
	return found ? found->name : NULL;
}

int drop_reason_value(const struct drop_reasons *r, const char *name, uint32_t *value)
{
	if (!strncasecmp(name, PREFIX, strlen(PREFIX)))
		name += strlen(PREFIX);
	for (size_t i = 0; i < r->n; i++) {
		if (!strcasecmp(name, r->v[i].name)) {
			*value = r->v[i].value;
			return 0;
		}
	}
	return -ENOENT;
}
