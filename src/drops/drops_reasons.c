// SPDX-License-Identifier: GPL-2.0
/*
 * Drop reason names from the running kernel's BTF, never from a table built
 * in: kernels add reasons and renumber them (values shifted when
 * SKB_NOT_DROPPED_YET and SKB_CONSUMED were inserted at the start of the
 * enum, and new reasons are added in the middle).
 */
#include <errno.h>
#include <stdbool.h>
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

/*
 * The class of each reason (docs/drops.md has the table and the why).
 * Policy: a rule, filter or setting someone configured refused the packet.
 * Benign: the kernel freed a packet it no longer needed, not a loss: a
 * duplicate of data already received, the queue of a socket that closed,
 * a packet for another host. Every other reason, a subsystem's and one
 * newer than this table, is a loss.
 */
static const char *const policy_reasons[] = {
	"NETFILTER_DROP", "SOCKET_FILTER", "XFRM_POLICY", "IP_RPFILTER", "BPF_CGROUP_EGRESS",
	"TC_EGRESS", "TC_INGRESS", "XDP", "SECURITY_HOOK", "TAP_FILTER", "TAP_TXFILTER",
	"IPV6DISABLED", "IP_LOCALNET", "TCP_AUTH_HDR", "TCP_MD5NOTFOUND", "TCP_MD5UNEXPECTED",
	"TCP_MD5FAILURE", "TCP_AONOTFOUND", "TCP_AOUNEXPECTED", "TCP_AOKEYNOTFOUND",
	"TCP_AOFAILURE", "TCP_MINTTL", "ARP_PVLAN_DISABLE", "BRIDGE_INGRESS_STP_STATE",
	"PSP_INPUT", "PSP_OUTPUT",
};

static const char *const benign_reasons[] = {
	"NOT_SPECIFIED", "SOCKET_CLOSE", "UNIX_DISCONNECT", "UNIX_SKIP_OOB", "OTHERHOST",
	"UNICAST_IN_L2_MULTICAST", "IPV6_NDISC_NS_OTHERHOST", "MAC_IEEE_MAC_CONTROL",
	"QUEUE_PURGE", "TCP_CLOSE", "TCP_RESET", "TCP_ABORT_ON_DATA", "TCP_OLD_DATA",
	"TCP_OLD_SEQUENCE", "TCP_OFOMERGE", "TCP_OLD_ACK", "TCP_TOO_OLD_ACK", "DUP_FRAG",
	/*
	 * Since 6.10 tcp_rcv_state_process() returns a reason: an ACK that
	 * reaches a listener (a late segment of a connection already reset or
	 * closed) is answered with a RST and freed as TCP_FLAGS. Every abortive
	 * close under load makes some.
	 */
	"TCP_FLAGS",
};

static const char *const class_names[] = {
	[DROP_CLASS_LOSS] = "loss", [DROP_CLASS_POLICY] = "policy", [DROP_CLASS_BENIGN] = "benign",
};

const char *drop_class_name(enum drop_class c)
{
	return class_names[c];
}

static bool listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

#define LISTED(names, name) listed(names, sizeof(names) / sizeof(names[0]), name)

enum drop_class drop_class_of(const struct drop_reasons *r, uint8_t kind, uint32_t reason)
{
	const char *name = kind == DROP_KIND_SKB ? drop_reason_name(r, reason) : NULL;

	if (name && LISTED(policy_reasons, name))
		return DROP_CLASS_POLICY;
	if (name && LISTED(benign_reasons, name))
		return DROP_CLASS_BENIGN;
	return DROP_CLASS_LOSS;
}

/* Reasons of a socket's receive buffer overflowing (its own buffer, backlog or the protocol's). */
static const char *const rcvbuf_reasons[] = { "SOCKET_RCVBUFF", "SOCKET_BACKLOG", "PROTO_MEM" };

bool drop_is_rcvbuf(const struct drop_reasons *r, uint8_t kind, uint32_t reason)
{
	const char *name = kind == DROP_KIND_SKB ? drop_reason_name(r, reason) : NULL;

	return name && LISTED(rcvbuf_reasons, name);
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
