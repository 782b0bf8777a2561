// SPDX-License-Identifier: GPL-2.0
/* The protocols netlens http reads. A new one is its parser file and a line here. */
#include <string.h>
#include "http/http_proto.h"

const struct http_proto *const http_protos[] = {
	&http1_proto,
	&resp_proto,
	NULL,
};

const struct http_proto *http_proto_of(uint8_t proto)
{
	for (uint8_t i = 0; http_protos[i]; i++)
		if (i + 1 == proto)
			return http_protos[i];
	return NULL;
}

/* (first 8 bytes & mask) == value, read as a little-endian u64 by the kernel. */
static void sig_of(const char *start, uint8_t proto, struct http_sig *s)
{
	size_t n = strlen(start);

	memset(s, 0, sizeof(*s));
	memcpy(&s->value, start, n);
	s->mask = n >= 8 ? ~0ULL : (1ULL << (n * 8)) - 1;
	s->proto = proto;
}

int http_proto_sigs(struct http_sig *sigs, size_t max, bool response)
{
	size_t n = 0;

	for (uint8_t p = 0; http_protos[p]; p++) {
		const char *const *s = response ? http_protos[p]->response_starts
						: http_protos[p]->request_starts;

		for (; s && *s; s++) {
			if (n == max || strlen(*s) > 8)
				return -1;
			sig_of(*s, p + 1, &sigs[n++]);
		}
	}
	return n;
}
