// SPDX-License-Identifier: GPL-2.0
/* conns' listeners: the kernel's own accept-queue figures, in every network namespace. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <uthash.h>
#include "conns/conns_listen.h"
#include "framework/netns.h"
#include "framework/sockets.h"

#define NL_TCP_LISTEN 10   /* include/net/tcp_states.h */

/* A namespace entered once: its sock_diag socket and netstat file keep it. */
struct netns_ent {
	uint32_t ino;
	int diag_fd;
	int netstat_fd;
	uint64_t overflows_before, drops_before;
	unsigned int seen;       /* the read that last found it */
	UT_hash_handle hh;
};

struct listener_key {
	uint32_t netns, inode;
};

/* What a read keeps about a listener for the next: its baseline and owner. */
struct listener_ent {
	struct listener_key key;
	uint64_t drops_before;
	struct nl_owner owner;
	bool owner_looked;
	unsigned int seen;
	UT_hash_handle hh;
};

struct conns_listen {
	struct nl_filter filter;
	int self_ns;             /* the netns netlens runs in, to come back to */
	unsigned int reads;
	struct netns_ent *ns;
	struct listener_ent *listeners;
	uint32_t unreadable;
};

static bool token_is(const char *tok, size_t len, const char *name)
{
	return len == strlen(name) && !strncmp(tok, name, len);
}

/* "TcpExt: name name ...\nTcpExt: value value ...": the two lines line up. */
bool conns_parse_netstat(const char *text, uint64_t *overflows, uint64_t *drops)
{
	const char *n = strstr(text, "TcpExt:"), *v = n ? strstr(n + 7, "TcpExt:") : NULL;
	int found = 0;

	if (!v)
		return false;
	for (n += 7, v += 7; *n && *n != '\n';) {
		unsigned long long x;
		size_t len;
		char *end;

		n += strspn(n, " ");
		len = strcspn(n, " \n");
		x = strtoull(v, &end, 10);
		if (!len || end == v)
			break;
		if (token_is(n, len, "ListenOverflows"))
			*overflows = x, found |= 1;
		else if (token_is(n, len, "ListenDrops"))
			*drops = x, found |= 2;
		n += len;
		v = end;
	}
	return found == 3;
}

bool conns_parse_listener(const struct nlmsghdr *h, struct conns_listener *l)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a = (const struct rtattr *)(m + 1);

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) ||
	    (m->idiag_family != AF_INET && m->idiag_family != AF_INET6))
		return false;
	memset(l, 0, sizeof(*l));
	l->family = m->idiag_family == AF_INET ? 4 : 6;
	memcpy(l->addr, m->id.idiag_src, l->family == 4 ? 4 : 16);
	l->port = ntohs(m->id.idiag_sport);
	l->inode = m->idiag_inode;
	/* A LISTEN socket's rqueue is its accept queue, wqueue its backlog (tcp_diag_get_info()). */
	l->queue = m->idiag_rqueue;
	l->backlog = m->idiag_wqueue;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == INET_DIAG_SKMEMINFO &&
		    RTA_PAYLOAD(a) >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
			l->drops = ((const uint32_t *)RTA_DATA(a))[SK_MEMINFO_DROPS];
	}
	return true;
}

static bool port_kept(const struct nl_filter *f, uint16_t port)
{
	if (!f->nports)
		return true;
	for (int i = 0; i < f->nports && i < NL_MAX_PORTS; i++)
		if (f->ports[i] == port)
			return true;
	return false;
}

static bool owner_kept(const struct nl_filter *f, const struct nl_owner *o)
{
	if (f->pid && o->pid != f->pid)
		return false;
	return !f->has_comm || !strncmp(o->comm, f->comm, NL_COMM_LEN);
}

static bool owner_filtered(const struct nl_filter *f)
{
	return f->pid || f->has_comm;
}

/* Enters the namespace behind path and opens what is read in it later. */
static struct netns_ent *netns_enter(struct conns_listen *l, const char *path, uint32_t ino)
{
	struct netns_ent *e;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		if (errno == EACCES || errno == EPERM)
			l->unreadable++;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	e = calloc(1, sizeof(*e));
	if (e) {
		e->ino = ino;
		e->diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		e->netstat_fd = open("/proc/thread-self/net/netstat", O_RDONLY | O_CLOEXEC);
	}
	/* Back home, whatever happened (the process's own namespace never goes away). */
	if (setns(l->self_ns, CLONE_NEWNET))
		abort();
	if (e && (e->diag_fd < 0 || e->netstat_fd < 0)) {
		if (e->diag_fd >= 0)
			close(e->diag_fd);
		if (e->netstat_fd >= 0)
			close(e->netstat_fd);
		free(e);
		return NULL;
	}
	return e;
}

static void netns_free(struct conns_listen *l, struct netns_ent *e)
{
	HASH_DEL(l->ns, e);
	close(e->diag_fd);
	close(e->netstat_fd);
	free(e);
}

/* A namespace found: known, entered now, or left (filtered out, unreadable). */
static void netns_seen(void *ctx, const struct nl_netns *ns)
{
	struct conns_listen *l = ctx;
	uint32_t ino = ns->inode;
	struct netns_ent *e;

	if (l->filter.netns && ino != l->filter.netns)
		return;
	HASH_FIND(hh, l->ns, &ino, sizeof(ino), e);
	if (!e && (e = netns_enter(l, ns->path, ino)))
		HASH_ADD(hh, l->ns, ino, sizeof(ino), e);
	if (e)
		e->seen = l->reads;
}

/* Every namespace with a name (ip netns) or a process; forgets those gone. */
static void netns_discover(struct conns_listen *l)
{
	struct netns_ent *e, *tmp;
	int unseen;

	l->unreadable = 0;
	unseen = nl_netns_each(netns_seen, l);
	/* Our sockets hold a namespace alive: let go of those nothing else names. */
	HASH_ITER(hh, l->ns, e, tmp)
		if (!unseen && e->seen != l->reads)
			netns_free(l, e);
}

static int listeners_add(struct conns_listen_report *r, const struct conns_listener *x)
{
	struct conns_listener *v;

	if (r->n == r->cap) {
		v = realloc(r->v, (r->cap * 2 + 16) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = r->cap * 2 + 16;
	}
	r->v[r->n++] = *x;
	return 0;
}

/* One dump of one family's listeners in namespace e. */
static int dump_family(struct netns_ent *e, int family, uint32_t seq,
		       struct conns_listen_report *r)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = seq },
		.req = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1u << NL_TCP_LISTEN,
			 .idiag_ext = 1u << (INET_DIAG_SKMEMINFO - 1) },
	};
	struct conns_listener x;
	long buf[8192 / sizeof(long)];
	ssize_t n;

	if (send(e->diag_fd, &msg, sizeof(msg), 0) < 0)
		return -errno;
	for (;;) {
		n = recv(e->diag_fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EIO;
			if (!conns_parse_listener(h, &x))
				continue;
			x.netns = e->ino;
			listeners_add(r, &x);
		}
	}
}

static bool read_netstat(int fd, uint64_t *overflows, uint64_t *drops)
{
	char buf[8192];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = 0;
	return conns_parse_netstat(buf, overflows, drops);
}

struct owner_search {
	struct listener_ent **want;
	size_t n;
};

static void match_owner(void *ctx, uint64_t ino, const struct nl_owner *owner)
{
	struct owner_search *q = ctx;

	for (size_t i = 0; i < q->n; i++)
		if (q->want[i] && q->want[i]->key.inode == ino) {
			q->want[i]->owner = *owner;
			q->want[i] = NULL;
		}
}

/* Which process holds the socket with this inode: the fds of every process. */
static void find_owners(struct listener_ent **want, size_t nwant)
{
	struct owner_search q = { want, nwant };

	if (nwant)
		nl_sockets_scan("/proc", match_owner, &q);
}

/* Baselines and owners: kept from read to read per listener. */
static void listeners_settle(struct conns_listen *l, struct conns_listen_report *r)
{
	struct listener_ent *e, *tmp, **want = calloc(r->n ? r->n : 1, sizeof(*want));
	size_t nwant = 0, kept = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct listener_key k = { r->v[i].netns, r->v[i].inode };

		HASH_FIND(hh, l->listeners, &k, sizeof(k), e);
		if (!e && (e = calloc(1, sizeof(*e)))) {
			e->key = k;
			/* Drops before the first read are history; a later listener's are ours. */
			e->drops_before = l->reads == 1 ? r->v[i].drops : 0;
			HASH_ADD(hh, l->listeners, key, sizeof(k), e);
		}
		if (!e)
			continue;
		e->seen = l->reads;
		if (!e->owner_looked && want && (r->v[i].drops || owner_filtered(&l->filter))) {
			e->owner_looked = true;
			want[nwant++] = e;
		}
	}
	find_owners(want, nwant);
	free(want);
	for (size_t i = 0; i < r->n; i++) {
		struct listener_key k = { r->v[i].netns, r->v[i].inode };

		HASH_FIND(hh, l->listeners, &k, sizeof(k), e);
		if (e) {
			r->v[i].drops_before = e->drops_before;
			r->v[i].owner = e->owner;
		}
		if (!owner_filtered(&l->filter) || (e && owner_kept(&l->filter, &r->v[i].owner)))
			r->v[kept++] = r->v[i];
	}
	r->n = kept;
	HASH_ITER(hh, l->listeners, e, tmp)
		if (e->seen != l->reads) {
			HASH_DEL(l->listeners, e);
			free(e);
		}
}

static void netns_stat_add(struct conns_listen *l, struct netns_ent *e,
			   struct conns_listen_report *r)
{
	struct conns_netns_stat s = { .netns = e->ino }, *v;

	if (!read_netstat(e->netstat_fd, &s.overflows, &s.drops))
		return;
	if (l->reads == 1) {
		e->overflows_before = s.overflows;
		e->drops_before = s.drops;
	}
	s.overflows_before = e->overflows_before;
	s.drops_before = e->drops_before;
	if (r->nns == r->nscap) {
		v = realloc(r->ns, (r->nscap * 2 + 8) * sizeof(*v));
		if (!v)
			return;
		r->ns = v;
		r->nscap = r->nscap * 2 + 8;
	}
	r->ns[r->nns++] = s;
}

struct conns_listen *conns_listen_new(const struct nl_filter *filter)
{
	struct conns_listen *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->filter = *filter;
	l->self_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (l->self_ns < 0) {
		free(l);
		return NULL;
	}
	return l;
}

int conns_listen_read(struct conns_listen *l, struct conns_listen_report *r)
{
	struct netns_ent *e, *tmp;
	uint32_t seq = 0;
	size_t kept = 0;

	r->n = r->nns = 0;
	l->reads++;
	netns_discover(l);
	r->unreadable = l->unreadable;
	HASH_ITER(hh, l->ns, e, tmp) {
		/* A namespace whose socket fails (it went away meanwhile) is read again if named. */
		if (dump_family(e, AF_INET, ++seq, r) || dump_family(e, AF_INET6, ++seq, r)) {
			netns_free(l, e);
			continue;
		}
		netns_stat_add(l, e, r);
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct conns_listener *x = &r->v[i];

		if (port_kept(&l->filter, x->port) &&
		    (!l->filter.family || l->filter.family == x->family))
			r->v[kept++] = *x;
	}
	r->n = kept;
	listeners_settle(l, r);
	return 0;
}

void conns_listen_report_free(struct conns_listen_report *r)
{
	free(r->v);
	free(r->ns);
	memset(r, 0, sizeof(*r));
}

void conns_listen_free(struct conns_listen *l)
{
	struct netns_ent *e, *tmp;
	struct listener_ent *x, *xtmp;

	if (!l)
		return;
	HASH_ITER(hh, l->ns, e, tmp)
		netns_free(l, e);
	HASH_ITER(hh, l->listeners, x, xtmp) {
		HASH_DEL(l->listeners, x);
		free(x);
	}
	close(l->self_ns);
	free(l);
}
