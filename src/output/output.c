// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include "output/eventlog.h"
#include "output/format.h"
#include "output/output.h"
#include "output/prom.h"
#include "framework/netns.h"
#include "framework/sys.h"

void nl_sink_init(struct nl_sink *s, enum nl_output kind, FILE *out)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->out = out;
	/* Lines leave in batches (nl_sink_flush): a large buffer, few write(2)s. */
	setvbuf(out, NULL, _IOFBF, 1 << 16);
}

void nl_sink_init_eventlog(struct nl_sink *s, struct nl_eventlog *log)
{
	memset(s, 0, sizeof(*s));
	s->kind = NL_OUT_JSON;
	s->log = log;
}

void nl_sink_init_discard(struct nl_sink *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = NL_OUT_JSON;
}

void nl_sink_init_capture(struct nl_sink *s, struct nl_capture *c)
{
	nl_sink_init_discard(s);
	s->capture = c;
}

void nl_capture_free(struct nl_capture *c)
{
	if (c->tok)
		json_tokener_free(c->tok);
	c->tok = NULL;
}

/* A line built with nl_jw, as an object for the capture; one it cannot parse is counted. */
static void capture_text(struct nl_sink *s, const char *text, size_t len)
{
	struct nl_capture *c = s->capture;
	struct json_object *o;

	if (!c->tok && !(c->tok = json_tokener_new())) {
		c->unparsed++;
		return;
	}
	json_tokener_reset(c->tok);
	o = json_tokener_parse_ex(c->tok, text, (int)len);
	if (!o) {
		c->unparsed++;
		return;
	}
	c->take(c->ctx, s, o);
	json_object_put(o);
}

void nl_sink_free(struct nl_sink *s)
{
	nl_jw_free(&s->jw);
}

void nl_sink_json(struct nl_sink *s, struct json_object *obj)
{
	size_t len;
	const char *text;

	if (s->capture) {
		s->capture->take(s->capture->ctx, s, obj);
		return;
	}
	text = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s->log) {
		nl_eventlog_write(s->log, text, len);
	} else if (s->out) {
		fwrite(text, 1, len, s->out);
		fputc('\n', s->out);
	}
}

void nl_sink_jw(struct nl_sink *s)
{
	size_t len = nl_jw_end(&s->jw);

	if (!len)
		return;
	/* The log adds the newline the writer ended the line with. */
	if (s->capture)
		capture_text(s, s->jw.buf, len - 1);
	else if (s->log)
		nl_eventlog_write(s->log, s->jw.buf, len - 1);
	else if (s->out)
		fwrite(s->jw.buf, 1, len, s->out);
}

void nl_sink_header(struct nl_sink *s, const char *header)
{
	if (s->header_done)
		return;
	fprintf(s->out, "%s\n", header);
	s->header_done = true;
}

int nl_sink_flush(struct nl_sink *s)
{
	if (s->log)
		nl_eventlog_flush(s->log);
	/* Signals are installed with SA_RESTART (runner.c): no EINTR here. */
	return s->out && fflush(s->out) ? -errno : 0;
}

void nl_jw_sock(struct nl_jw *w, const char *type, uint64_t ts_ns, const struct nl_sock_id *id,
		const struct nl_owner *owner)
{
	const struct nl_tuple *t = &id->tuple;
	char buf[NL_ADDR_LEN];
	const char *name;

	/* Bounded by the buffer, the writer stops at the terminator: no strlen(). */
	nl_jw_begin(w);
	nl_jw_str(w, "type", type);
	nl_jw_strn(w, "ts", nl_fmt_rfc3339(nl_mono_to_realtime(ts_ns), buf, sizeof(buf)),
		   sizeof(buf));
	nl_jw_uint(w, "pid", owner->pid);
	nl_jw_strn(w, "comm", owner->comm, NL_COMM_LEN);
	nl_jw_uint(w, "cgroup_id", id->cgroup_id);
	nl_jw_uint(w, "netns", id->netns);
	name = nl_netns_name(id->netns);
	if (name)
		nl_jw_str(w, "netns_name", name);
	nl_jw_uint(w, "family", t->family);
	nl_jw_strn(w, "saddr", nl_fmt_addr(t->family, t->saddr, buf, sizeof(buf)), sizeof(buf));
	nl_jw_uint(w, "sport", t->sport);
	nl_jw_strn(w, "daddr", nl_fmt_addr(t->family, t->daddr, buf, sizeof(buf)), sizeof(buf));
	nl_jw_uint(w, "dport", t->dport);
}

void nl_json_dest(struct json_object *j, bool inbound, uint8_t family, const uint8_t *addr,
		  uint16_t port)
{
	char buf[NL_ADDR_LEN];

	json_object_object_add(j, "direction", json_object_new_string(inbound ? "inbound" : "outbound"));
	json_object_object_add(j, "family", json_object_new_int(family));
	json_object_object_add(j, "daddr", json_object_new_string(
		nl_fmt_addr(family, addr, buf, sizeof(buf))));
	json_object_object_add(j, "dport", json_object_new_int(port));
}

const char *nl_prom_dest(char *buf, size_t len, const char *direction, uint8_t family,
			 const uint8_t *addr, uint16_t port)
{
	char a[NL_ADDR_LEN], p[8];

	nl_fmt_addr(family, addr, a, sizeof(a));
	snprintf(p, sizeof(p), "%u", port);
	if (direction)
		return nl_prom_labels(buf, len, "direction", direction, "daddr", a, "dport", p, NULL);
	return nl_prom_labels(buf, len, "daddr", a, "dport", p, NULL);
}
