/* SPDX-License-Identifier: GPL-2.0 */
/* A sink whose output lands in memory, for checking what a report prints. */
#ifndef NETLENS_CAPTURE_H
#define NETLENS_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include "output/output.h"

struct capture {
	char *buf;
	size_t len;
	struct nl_sink sink;
};

static inline void capture_open(struct capture *c, enum nl_output kind)
{
	c->buf = NULL;
	c->len = 0;
	nl_sink_init(&c->sink, kind, open_memstream(&c->buf, &c->len));
}

static inline void capture_close(struct capture *c)
{
	fclose(c->sink.out);
	free(c->buf);
}

#endif
