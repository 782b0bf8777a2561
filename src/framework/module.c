// SPDX-License-Identifier: GPL-2.0
/* What every capability module does the same way: errors, ring buffer, its command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "framework/module.h"
#include "framework/sys.h"

int nl_module_fail(struct nl_module *m, int err, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	len = strlen(m->err);
	snprintf(m->err + len, sizeof(m->err) - len, ": %s", strerror(err < 0 ? -err : err));
	return err < 0 ? err : -err;
}

int nl_module_ringbuf(struct nl_module *m, struct bpf_map *events, ring_buffer_sample_fn fn,
		      struct ring_buffer **rb)
{
	*rb = ring_buffer__new(bpf_map__fd(events), fn, m, NULL);
	return *rb ? 0 : nl_module_fail(m, -errno, "cannot map the ring buffer");
}

int nl_ringbuf_read(struct ring_buffer *rb, int timeout_ms)
{
	int n = ring_buffer__poll(rb, timeout_ms);
	int more;

	if (n < 0)
		return n;
	/* Records below the wake-up threshold do not wake epoll: take them too. */
	more = ring_buffer__consume(rb);
	return more < 0 ? more : n + more;
}

int nl_module_stats(struct nl_module *m, uint64_t out[NL_STAT_MAX])
{
	struct bpf_map *stats;

	if (m->ops->stats)
		return m->ops->stats(m, out);
	stats = m->obj ? bpf_object__find_map_by_name(m->obj, "stats") : NULL;
	return stats ? nl_read_stats(bpf_map__fd(stats), out) : -ENOENT;
}

int nl_module_index(const char *name)
{
	for (int i = 0; nl_modules[i]; i++)
		if (!strcmp(nl_modules[i]->name, name))
			return i;
	return -1;
}

void *nl_module_cfg_new(const struct nl_module_ops *ops)
{
	/* One byte at least: a module without options still gets a distinct instance. */
	void *cfg = calloc(1, ops->cfg_size ? ops->cfg_size : 1);

	if (cfg && ops->cfg_defaults)
		memcpy(cfg, ops->cfg_defaults, ops->cfg_size);
	return cfg;
}

int nl_command(const struct nl_module_ops *ops, int argc, char **argv)
{
	struct nl_sink sink;
	struct nl_opts o;
	struct nl_module m = { .ops = ops, .sink = &sink, .cfg = nl_module_cfg_new(ops) };
	int ret;

	if (!m.cfg)
		nl_die(NL_EXIT_ENV, "%s: out of memory", ops->name);
	nl_cli_parse(ops->spec(), m.cfg, argc, argv, &o);
	nl_sink_init(&sink, o.output, stdout);
	ret = nl_run(&m, &o);
	nl_sink_free(&sink);
	free(m.cfg);
	return ret;
}
