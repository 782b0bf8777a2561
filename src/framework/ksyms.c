// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "framework/ksyms.h"

static int add(struct nl_ksyms *k, uint64_t addr, const char *name, const char *mod)
{
	size_t nlen = strlen(name) + 1, mlen = mod ? strlen(mod) + 1 : 0;
	char *copy;

	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 4096;
		struct nl_ksym *s = realloc(k->syms, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		k->syms = s;
		k->cap = cap;
	}
	/* One allocation: the name, then the module's name. */
	copy = malloc(nlen + mlen);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, nlen);
	if (mod)
		memcpy(copy + nlen, mod, mlen);
	k->syms[k->n++] = (struct nl_ksym){ .addr = addr, .name = copy,
					    .mod = mod ? copy + nlen : NULL };
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct nl_ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int nl_ksyms_read(struct nl_ksyms *k, FILE *f)
{
	char line[512], name[256], mod[128];
	unsigned long long addr;
	size_t zero = 0, seen = 0;
	char type;

	memset(k, 0, sizeof(*k));
	while (fgets(line, sizeof(line), f)) {
		int n = sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, mod);
		int err;

		if (n < 3)
			continue;
		/* Only code: a drop location is a return address. */
		if (type != 't' && type != 'T')
			continue;
		seen++;
		if (!addr) {
			zero++;
			continue;
		}
		err = add(k, addr, name, n == 4 ? mod : NULL);
		if (err) {
			nl_ksyms_free(k);
			return err;
		}
	}
	/* Without privilege (or with kptr_restrict) every address reads as 0. */
	k->hidden = seen && zero == seen;
	qsort(k->syms, k->n, sizeof(*k->syms), by_addr);
	return 0;
}

int nl_ksyms_load(struct nl_ksyms *k)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	int err;

	if (!f) {
		memset(k, 0, sizeof(*k));
		return -errno;
	}
	err = nl_ksyms_read(k, f);
	fclose(f);
	return err;
}

void nl_ksyms_free(struct nl_ksyms *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->syms[i].name);
	free(k->syms);
	memset(k, 0, sizeof(*k));
}

const struct nl_ksym *nl_ksyms_find(const struct nl_ksyms *k, uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = k->n;

	/* The last symbol whose address is <= addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - k->syms[lo - 1].addr > NL_KSYM_MAX_SIZE)
		return NULL;
	*offset = addr - k->syms[lo - 1].addr;
	return &k->syms[lo - 1];
}

const char *nl_ksyms_fmt(const struct nl_ksyms *k, uint64_t addr, char *buf, size_t len)
{
	const struct nl_ksym *s;
	uint64_t off;

	s = nl_ksyms_find(k, addr, &off);
	if (s)
		snprintf(buf, len, "%s+0x%" PRIx64 "%s%s%s", s->name, off, s->mod ? " [" : "",
			 s->mod ? s->mod : "", s->mod ? "]" : "");
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}
