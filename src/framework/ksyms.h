/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel addresses to function+offset, from /proc/kallsyms: read once into
 * a table sorted by address, looked up by binary search.
 */
#ifndef NETLENS_KSYMS_H
#define NETLENS_KSYMS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct nl_ksym {
	uint64_t addr;
	char *name;           /* the function */
	const char *mod;      /* its module, NULL for vmlinux (same allocation as name) */
};

/* An address further than this past the nearest symbol is not in it. */
#define NL_KSYM_MAX_SIZE (1 << 20)

struct nl_ksyms {
	struct nl_ksym *syms;
	size_t n, cap;
	int hidden;           /* every address read as 0: kptr_restrict or no privilege */
};

/* Reads a kallsyms-format stream (text symbols only); 0 or -errno. */
int nl_ksyms_read(struct nl_ksyms *k, FILE *f);
/* nl_ksyms_read() of /proc/kallsyms. */
int nl_ksyms_load(struct nl_ksyms *k);
void nl_ksyms_free(struct nl_ksyms *k);
/* The symbol at or below addr, and addr's offset from it; NULL if none. */
const struct nl_ksym *nl_ksyms_find(const struct nl_ksyms *k, uint64_t addr, uint64_t *offset);
/* "func+0x1a", "func+0x1a [module]" (or "0xffffffff81000000" when unknown); returns buf. */
const char *nl_ksyms_fmt(const struct nl_ksyms *k, uint64_t addr, char *buf, size_t len);

#endif
