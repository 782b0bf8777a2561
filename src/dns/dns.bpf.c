// SPDX-License-Identifier: GPL-2.0
/*
 * netlens dns: DNS messages (UDP and TCP, IPv4 and IPv6) copied to user space,
 * which parses and matches them.
 *
 * Hooks, and why:
 * - cgroup_skb ingress+egress on the root cgroup v2 (default). Every local
 *   socket's packets pass there, in every network namespace, since a program
 *   on the root cgroup runs for all its descendants. Unlike a tracepoint it
 *   hands us the packet and the socket (skb->sk), and unlike XDP/TC it
 *   needs no interface and sees loopback and veth alike.
 *   Ingress runs when a socket receives the packet, so a datagram no socket
 *   takes is not seen there (it is seen on egress by its sender).
 * - TC clsact ingress+egress on -i IFACE: the interface's view, for a DNS
 *   server or a router, including traffic no local socket sends or takes.
 * - cgroup/connect4/6 towards the DNS port (and with -i, cgroup/sendmsg4/6):
 *   these run in the sending process, so they remember socket cookie ->
 *   pid/comm. The skb programs may run in softirq (ingress, TCP
 *   retransmits), where the current task is whoever was interrupted; they
 *   look the owner up by bpf_get_socket_cookie(skb) instead, but for a UDP
 *   query leaving its socket, copied in the sender's own call (packet_owner()).
 *   No sendmsg hook on cgroup_skb's path: it runs under lock_sock() on every
 *   sendto(2) of every unconnected UDP socket, the server's answers included.
 * Every program lets the packet through: netlens observes, never filters.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "dns/dns_abi.h"
#include "kernel/emit.bpf.h"
#include "kernel/sock.bpf.h"
#include "kernel/filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define NL_ETH_P_IP    0x0800
#define NL_ETH_P_IPV6  0x86DD
#define NL_ETH_HLEN    14
#define NL_IPPROTO_UDP 17
#define NL_IP_OFFSET   0x1fff
#define NL_TC_ACT_UNSPEC (-1)
#define NL_EEXIST        17
#define NL_NEXTHDR_HOP      0
#define NL_NEXTHDR_ROUTING  43
#define NL_NEXTHDR_FRAGMENT 44
#define NL_NEXTHDR_DEST     60
#define NL_IP6_OFFSET       0xfff8
#define NL_IPV6_EXT_MAX     4
#define NL_HEADER_OFF_MAX   512   /* headers past this are read with the helper */
#define DNS_NAME_LABELS_MAX 128   /* a name is 255 bytes at most: 127 labels and the root */

const volatile __u16 dns_port = DNS_DEFAULT_PORT;
/* cgroup_skb: also the server's side of local DNS servers (--server-side). */
const volatile bool server_side = false;
/* TC: the network namespace of the interface (skb->sk is mostly unset there). */
const volatile __u32 tc_netns = 0;

/* Socket cookie -> the process that sent DNS from it (filled in process context). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct dns_sock_owner);
} dns_owners SEC(".maps");

/*
 * Queries waiting for their answer: the kernel's own matching, for the
 * totals. User space deletes those older than --timeout and counts them
 * as timeouts (a bpf_timer per query would allocate in the packet path,
 * and on 6.18 bpf_timer_init() there fails with ENOMEM under a burst).
 * Preallocated: a query is inserted on its client's CPU and deleted by its
 * answer, often on another; with BPF_F_NO_PREALLOC the per-CPU caches of
 * the allocator then run dry on one CPU and overflow on the other, an
 * irq_work (a self-IPI) each time: 0.85 us per query more in the flood.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DNS_MAX_PENDING);
	__type(key, struct dns_txn_key);
	__type(value, struct dns_pending);
} dns_pending SEC(".maps");

/* Totals per server; user space inserts the "other" row (family 0) before attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DNS_MAX_SERVERS + 1);
	__type(key, struct nl_dest_key);
	__type(value, struct dns_server_stats);
} dns_servers SEC(".maps");

/* A zeroed row to insert from (larger than the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_server_stats);
} dns_zero SEC(".maps");

/* A read-only view of a kernel object the verifier otherwise forbids reading (Linux 6.2+). */
extern void *bpf_rdonly_cast(void *obj, __u32 btf_id) __ksym;

/*
 * The process's name, not the thread's: resolvers send from worker threads
 * (dig's is "isc-net-0000"), and users look for "dig".
 */
static __always_inline void process_owner(struct nl_owner *o)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	owner_from_current(o);
	bpf_core_read(o->comm, sizeof(o->comm), &leader->comm);
}

/*
 * Remembers o as the owner of the socket (cookie), written once per
 * sending thread (an unconnected socket passes here on every send); o is
 * filled here unless it is the current thread's already.
 */
static __always_inline void remember_owner(__u64 cookie, struct nl_owner *o)
{
	struct dns_sock_owner *known = bpf_map_lookup_elem(&dns_owners, &cookie);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (known && known->owner.tid == tid)
		return;
	if (o->tid != tid)
		process_owner(o);
	map_insert(&dns_owners, &cookie, o, BPF_ANY);
}

static __always_inline void owner_hook(struct bpf_sock_addr *ctx)
{
	struct nl_owner o = {};

	if (ctx->user_port == bpf_htons(dns_port))
		remember_owner(bpf_get_socket_cookie(ctx), &o);
}

SEC("cgroup/connect4")
int dns_connect4(struct bpf_sock_addr *ctx)
{
	owner_hook(ctx);
	return 1;
}

SEC("cgroup/connect6")
int dns_connect6(struct bpf_sock_addr *ctx)
{
	owner_hook(ctx);
	return 1;
}

SEC("cgroup/sendmsg4")
int dns_sendmsg4(struct bpf_sock_addr *ctx)
{
	owner_hook(ctx);
	return 1;
}

SEC("cgroup/sendmsg6")
int dns_sendmsg6(struct bpf_sock_addr *ctx)
{
	owner_hook(ctx);
	return 1;
}

/*
 * Copies len header bytes at off: straight from the packet when its linear
 * part holds them (cgroup_skb and TC may read packet data), else with
 * bpf_skb_load_bytes (a header in a paged fragment).
 */
static __always_inline int load_header(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (off <= NL_HEADER_OFF_MAX && data + off + len <= end) {
		__builtin_memcpy(to, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

/*
 * Follows IPv6 extension headers (hop-by-hop, routing, destination options,
 * fragment) to the UDP or TCP header; a later fragment has no ports.
 */
static __always_inline int skip_ipv6_ext(struct __sk_buff *skb, __u8 *proto, __u32 *off)
{
	for (int i = 0; i < NL_IPV6_EXT_MAX; i++) {
		struct { __u8 next, len; __u16 frag_off; } ext;

		if (*proto == NL_IPPROTO_UDP || *proto == NL_IPPROTO_TCP)
			return 0;
		if (*proto != NL_NEXTHDR_HOP && *proto != NL_NEXTHDR_ROUTING &&
		    *proto != NL_NEXTHDR_FRAGMENT && *proto != NL_NEXTHDR_DEST)
			return -1;
		if (load_header(skb, *off, &ext, sizeof(ext)))
			return -1;
		if (*proto == NL_NEXTHDR_FRAGMENT) {
			if (ext.frag_off & bpf_htons(NL_IP6_OFFSET)) {
				stat_inc(DNS_STAT_FRAGMENTS);
				return -1;
			}
			*off += 8;
		} else {
			*off += (ext.len + 1) * 8;
		}
		*proto = ext.next;
	}
	return *proto == NL_IPPROTO_UDP || *proto == NL_IPPROTO_TCP ? 0 : -1;
}

/* The L4 protocol and where its header starts, from the IP header at l3. */
static __always_inline int parse_ip(struct __sk_buff *skb, __u32 l3, struct nl_tuple *t,
				    __u8 *proto, __u32 *l4, __u32 *l3_end)
{
	if (skb->protocol == bpf_htons(NL_ETH_P_IP)) {
		struct iphdr ip;

		if (load_header(skb, l3, &ip, sizeof(ip)))
			return -1;
		if (ip.protocol != NL_IPPROTO_UDP && ip.protocol != NL_IPPROTO_TCP)
			return -1;
		/* Only the first fragment carries the ports. */
		if (ip.frag_off & bpf_htons(NL_IP_OFFSET)) {
			stat_inc(DNS_STAT_FRAGMENTS);
			return -1;
		}
		t->family = 4;
		__builtin_memcpy(t->saddr, &ip.saddr, 4);
		__builtin_memcpy(t->daddr, &ip.daddr, 4);
		*proto = ip.protocol;
		*l4 = l3 + ip.ihl * 4;
		*l3_end = l3 + bpf_ntohs(ip.tot_len);
		return 0;
	}
	if (skb->protocol == bpf_htons(NL_ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (load_header(skb, l3, &ip6, sizeof(ip6)))
			return -1;
		t->family = 6;
		__builtin_memcpy(t->saddr, &ip6.saddr, 16);
		__builtin_memcpy(t->daddr, &ip6.daddr, 16);
		*l4 = l3 + sizeof(ip6);
		*l3_end = *l4 + bpf_ntohs(ip6.payload_len);
		*proto = ip6.nexthdr;
		return skip_ipv6_ext(skb, proto, l4);
	}
	return -1;
}

/* Ports and where the DNS payload starts in the UDP datagram or TCP segment. */
static __always_inline int parse_l4(struct __sk_buff *skb, __u8 proto, __u32 l4,
				    struct nl_tuple *t, __u32 *payload)
{
	if (proto == NL_IPPROTO_UDP) {
		struct udphdr uh;

		if (load_header(skb, l4, &uh, sizeof(uh)))
			return -1;
		t->sport = bpf_ntohs(uh.source);
		t->dport = bpf_ntohs(uh.dest);
		*payload = l4 + sizeof(uh);
		return 0;
	}
	struct tcphdr th;

	if (load_header(skb, l4, &th, sizeof(th)))
		return -1;
	t->sport = bpf_ntohs(th.source);
	t->dport = bpf_ntohs(th.dest);
	*payload = l4 + th.doff * 4;
	return 0;
}

static __always_inline bool cgroup_match(struct __sk_buff *skb)
{
	for (int i = 0; i < NL_MAX_CGROUP_DEPTH; i++) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, i);

		if (!id)
			return false;
		if (id == nl_filter.cgroup_id)
			return true;
	}
	return false;
}

static __always_inline bool filter_packet(struct __sk_buff *skb, const struct nl_sock_id *id,
					  __u8 hook)
{
	const struct nl_tuple *t = &id->tuple;

	if (nl_filter.family && nl_filter.family != t->family)
		return false;
	if (nl_filter.nports && !port_match(t))
		return false;
	if (nl_filter.netns && nl_filter.netns != id->netns)
		return false;
	/* TC runs outside any socket's cgroup. */
	if (nl_filter.cgroup_id && (hook == DNS_HOOK_TC || !cgroup_match(skb)))
		return false;
	return true;
}

static __always_inline __u32 skb_netns(struct __sk_buff *skb, __u8 hook)
{
	struct bpf_sock *sk;
	struct sock *ks;

	if (hook == DNS_HOOK_TC)
		return tc_netns;
	sk = skb->sk;
	if (!sk)
		return 0;
	ks = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct sock));
	return ks->__sk_common.skc_net.net->ns.inum;
}

static __always_inline void lookup_owner(struct __sk_buff *skb, struct nl_owner *o)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct dns_sock_owner *so;

	if (!cookie)
		return;
	so = bpf_map_lookup_elem(&dns_owners, &cookie);
	if (so)
		*o = so->owner;
}

/*
 * Who sent a packet. A UDP query leaving a local socket is copied in its
 * sender's own call: udp_sendmsg() and udpv6_sendmsg() reach the cgroup_skb
 * egress program synchronously (ip_finish_output()), so the current task is
 * the sender. Everything else is looked up by socket: an answer reaching a
 * socket is copied in softirq, TCP also sends from timers and softirq, and
 * TC may run for packets of no local socket. An answer needs no owner but
 * for -p/-c: its transaction is reported with its query's.
 */
static __always_inline void packet_owner(struct __sk_buff *skb, const struct nl_tuple *t,
					 __u8 proto, __u8 dir, __u8 hook, struct nl_owner *o)
{
	bool by_owner = nl_filter.pid || nl_filter.has_comm;

	if (hook == DNS_HOOK_CGROUP && proto == NL_IPPROTO_UDP && dir == DNS_DIR_EGRESS &&
	    t->dport == dns_port) {
		process_owner(o);
		/* -p/-c keep its answer, copied in softirq, by its socket's owner. */
		if (by_owner)
			remember_owner(bpf_get_socket_cookie(skb), o);
		return;
	}
	if (by_owner || t->dport == dns_port)
		lookup_owner(skb, o);
}

/* The server's row, a new one while there is room, else "other". */
static __always_inline struct dns_server_stats *server_stats(const struct nl_dest_key *k)
{
	static const struct nl_dest_key other = {};
	struct dns_server_stats *s = bpf_map_lookup_elem(&dns_servers, k), *zero;
	__u32 z = 0;

	if (s)
		return s;
	zero = bpf_map_lookup_elem(&dns_zero, &z);
	if (zero && !map_insert(&dns_servers, k, zero, BPF_NOEXIST))
		s = bpf_map_lookup_elem(&dns_servers, k);
	return s ? s : bpf_map_lookup_elem(&dns_servers, &other);
}

struct name_walk {
	struct __sk_buff *skb;
	__u32 off, end;
	bool done, bad;
};

/* One label of the question's name (a bpf_loop() step); 1 ends the walk. */
static long walk_label(__u64 i, void *ctx)
{
	struct name_walk *w = ctx;
	__u8 len;

	(void)i;
	if (w->off >= w->end || bpf_skb_load_bytes(w->skb, w->off, &len, 1) ||
	    (len & 0xc0)) {   /* a compression pointer (or worse) in a question: not walked */
		w->bad = true;
		return 1;
	}
	w->off += 1 + len;
	w->done = !len;
	return w->done;
}

/*
 * The query type: after the question's name, walked label by label with
 * bpf_loop() (5.17+): unrolled, 128 labels inside the loop over a TCP
 * segment's messages cost the verifier 1.8 s per program at load.
 */
static __always_inline __u32 query_type_slot(struct __sk_buff *skb, __u32 off, __u32 end)
{
	struct name_walk w = { .skb = skb, .off = off + DNS_HEADER_LEN, .end = end };
	__be16 type;

	bpf_loop(DNS_NAME_LABELS_MAX, walk_label, &w, 0);
	if (!w.done || w.bad || w.off + 2 > end || bpf_skb_load_bytes(skb, w.off, &type, 2))
		return DNS_TYPE_NAMED;
	return dns_type_slot(bpf_ntohs(type));
}

/*
 * A query: a new one starts a pending entry (user space ends it as a timeout);
 * a copy of a pending one is a retransmission when it goes the same way as
 * its first copy (a client's, leaving again), else the second copy of a
 * message between two local sockets (it reaches the server). The insert
 * comes first: most queries are new, and it finds a pending one by itself.
 */
static __always_inline void count_query(struct __sk_buff *skb, const struct dns_txn_key *k,
					const struct nl_dest_key *server, __u32 off, __u32 end,
					__u8 dir, __u64 now)
{
	struct dns_pending fresh = {
		.ts_ns = now,
		.egress = dir == DNS_DIR_EGRESS,
		.ingress = dir == DNS_DIR_INGRESS,
	}, *p;
	struct dns_server_stats *s;
	long err = map_insert(&dns_pending, k, &fresh, BPF_NOEXIST);

	if (!err) {
		s = server_stats(server);
		if (s)
			s->queries[query_type_slot(skb, off, end)]++;
		return;
	}
	if (err != -NL_EEXIST) {
		stat_inc(DNS_STAT_UNTRACKED);
		return;
	}
	p = bpf_map_lookup_elem(&dns_pending, k);
	if (!p)
		return;   /* answered (or expired) since */
	/*
	 * Copies of one query follow each other: plain increments (clang 14
	 * has no fetch-and-add returning the old value for -mcpu=v1).
	 */
	if (dir == DNS_DIR_EGRESS ? p->egress++ : p->ingress++ && !p->egress) {
		s = server_stats(server);
		if (s)
			s->retransmits++;
	}
}

/*
 * An answer ends its query where it reaches the client: when the query left
 * a local client, the answer leaving the (local) server is its first copy.
 */
static __always_inline void count_answer(const struct dns_txn_key *k,
					 const struct nl_dest_key *server, __u8 rcode, __u8 dir,
					 __u64 now)
{
	struct dns_pending *p = bpf_map_lookup_elem(&dns_pending, k);
	struct dns_server_stats *s;
	__u64 us;

	if (p && p->egress && dir == DNS_DIR_EGRESS)
		return;
	us = p ? (now - p->ts_ns) / 1000 : 0;
	s = server_stats(server);
	if (!s)
		return;
	/* User space may be expiring it: only one of the two deletes it, and counts it. */
	if (!p || bpf_map_delete_elem(&dns_pending, k)) {
		s->unmatched++;
		return;
	}
	s->rcodes[rcode & (DNS_RCODES - 1)]++;
	s->latency.slots[nl_hist_slot(us)]++;
	if (!s->latency.count || us < s->latency.min_us)
		s->latency.min_us = us;
	if (us > s->latency.max_us)
		s->latency.max_us = us;
	s->latency.count++;
	s->latency.sum_us += us;
}

/* One DNS message at off (its header) of len bytes, of the packet whose tuple is t. */
static __always_inline void count_message(struct __sk_buff *skb, const struct nl_tuple *t,
					  __u8 proto, __u32 off, __u32 len, __u8 dir, __u64 now)
{
	struct { __be16 id; __u8 flags, rcode; } h;
	struct dns_txn_key k = {};
	struct nl_dest_key server = {};
	bool answer;

	if (len < DNS_HEADER_LEN || load_header(skb, off, &h, sizeof(h)))
		return;
	answer = h.flags >> 7;
	k.family = server.family = t->family;
	k.proto = proto;
	k.id = bpf_ntohs(h.id);
	__builtin_memcpy(k.client, answer ? t->daddr : t->saddr, 16);
	__builtin_memcpy(k.server, answer ? t->saddr : t->daddr, 16);
	k.cport = answer ? t->dport : t->sport;
	k.sport = answer ? t->sport : t->dport;
	__builtin_memcpy(server.addr, k.server, 16);
	server.port = k.sport;
	if (answer)
		count_answer(&k, &server, h.rcode & 0xf, dir, now);
	else
		count_query(skb, &k, &server, off, off + len, dir, now);
}

/*
 * Counts the messages of a packet in the kernel (the totals do not depend
 * on the ring buffer). TCP: each message follows its 2-byte length; one
 * that continues in a later segment is not counted (as user space does).
 */
static __always_inline void count_messages(struct __sk_buff *skb, const struct nl_tuple *t,
					   __u8 proto, __u32 payload, __u32 plen, __u8 dir, __u64 now)
{
	__u32 off = 0;
	__be16 mlen;

	if (proto == NL_IPPROTO_UDP) {
		count_message(skb, t, proto, payload, plen, dir, now);
		return;
	}
	for (int i = 0; i < DNS_TCP_MSGS_MAX; i++) {
		if (off + 2 > plen || load_header(skb, payload + off, &mlen, 2))
			return;
		if (off + 2 + bpf_ntohs(mlen) > plen)
			return;
		count_message(skb, t, proto, payload + off + 2, bpf_ntohs(mlen), dir, now);
		off += 2 + bpf_ntohs(mlen);
	}
}

/* One record with room for cap bytes of payload (a constant in each caller). */
static __always_inline void emit(struct __sk_buff *skb, const struct nl_sock_id *id,
				 const struct nl_owner *owner, __u32 payload, __u32 plen,
				 __u8 dir, __u8 proto, __u8 hook, __u64 now, const __u32 cap)
{
	struct dns_event *e;
	__u64 n;

	e = event_reserve(offsetof(struct dns_event, data) + cap);
	if (!e)
		return;
	e->ts_ns = now;
	e->id = *id;
	e->owner = *owner;
	e->payload_len = plen > 0xffff ? 0xffff : plen;
	e->dir = dir;
	e->proto = proto;
	e->hook = hook;
	e->pad = 0;
	n = plen < cap ? plen : cap;
	/* Keep clang from folding the bounds below into a signed compare the verifier rejects. */
	barrier_var(n);
	if (n < 1 || n > cap || bpf_skb_load_bytes(skb, payload, e->data, n))
		n = 0;
	e->cap_len = n;
	event_submit(e);
}

/*
 * Which DNS packets to copy. TC (and --server-side) take both ports. On
 * cgroup_skb the default is the client's view: a query leaving a local
 * socket, an answer reaching one. The server's copies (a query reaching a
 * local server, its answer leaving) go at this check: with both ends local
 * they are the second copy of each message, and a local server's own view
 * is what -i or --server-side give.
 */
static __always_inline bool wanted(const struct nl_tuple *t, __u8 dir, __u8 hook)
{
	if (hook == DNS_HOOK_TC || server_side)
		return t->sport == dns_port || t->dport == dns_port;
	return dir == DNS_DIR_EGRESS ? t->dport == dns_port : t->sport == dns_port;
}

/*
 * The port check for the common case, before any other work: an unfragmented
 * IPv4 or IPv6 (no extension header) UDP or TCP packet whose headers are in
 * the linear data. Reads the protocol and the two ports in place; true when
 * the packet is surely not one to copy. Anything else (fragments, IPv6
 * extension headers, headers in a paged fragment) is left to capture().
 */
static __always_inline bool not_dns(struct __sk_buff *skb, __u32 l3, __u8 dir, __u8 hook)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct nl_tuple t;
	__u16 *ports;
	__u8 *ip = data + l3;
	__u32 l4;

	if (skb->protocol == bpf_htons(NL_ETH_P_IP)) {
		if ((void *)ip + sizeof(struct iphdr) > end)
			return false;
		if (ip[9] != NL_IPPROTO_UDP && ip[9] != NL_IPPROTO_TCP)
			return true;
		if (((struct iphdr *)ip)->frag_off & bpf_htons(NL_IP_OFFSET))
			return false;
		l4 = (ip[0] & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(NL_ETH_P_IPV6)) {
		if ((void *)ip + sizeof(struct ipv6hdr) > end)
			return false;
		if (ip[6] != NL_IPPROTO_UDP && ip[6] != NL_IPPROTO_TCP)
			return false;
		l4 = sizeof(struct ipv6hdr);
	} else {
		return true;
	}
	ports = (void *)ip + l4;
	if ((void *)(ports + 2) > end)
		return false;
	t.sport = bpf_ntohs(ports[0]);
	t.dport = bpf_ntohs(ports[1]);
	return !wanted(&t, dir, hook);
}

/* Copies a DNS packet (see wanted()) to the ring buffer. */
static __always_inline void capture(struct __sk_buff *skb, __u32 l3, __u8 dir, __u8 hook)
{
	struct nl_sock_id id = {};
	struct nl_owner owner = {};
	__u32 l4, l3_end, payload, plen;
	__u64 now;
	__u8 proto;

	if (parse_ip(skb, l3, &id.tuple, &proto, &l4, &l3_end))
		return;
	if (parse_l4(skb, proto, l4, &id.tuple, &payload))
		return;
	if (!wanted(&id.tuple, dir, hook))
		return;
	/* The IP length, not skb->len: Ethernet pads short frames. */
	if (l3_end > skb->len || payload >= l3_end)
		return;   /* no payload: a TCP handshake or ACK */
	plen = l3_end - payload;
	id.netns = skb_netns(skb, hook);
	if (hook == DNS_HOOK_CGROUP)
		id.cgroup_id = bpf_skb_cgroup_id(skb);
	if (!filter_packet(skb, &id, hook))
		return;
	packet_owner(skb, &id.tuple, proto, dir, hook, &owner);
	if ((nl_filter.pid || nl_filter.has_comm) && !filter_owner(&owner))
		return;

	/* One clock read: the record's time is the one the kernel's latency is measured from. */
	now = bpf_ktime_get_ns();
	count_messages(skb, &id.tuple, proto, payload, plen, dir, now);
	/* Most DNS messages are short: a smaller record when the payload fits. */
	if (plen <= DNS_CAPTURE_SMALL)
		emit(skb, &id, &owner, payload, plen, dir, proto, hook, now, DNS_CAPTURE_SMALL);
	else
		emit(skb, &id, &owner, payload, plen, dir, proto, hook, now, DNS_CAPTURE_MAX);
}

/* cgroup_skb: skb->data is the IP header on both paths. */
SEC("cgroup_skb/egress")
int dns_cg_egress(struct __sk_buff *skb)
{
	if (!not_dns(skb, 0, DNS_DIR_EGRESS, DNS_HOOK_CGROUP))
		capture(skb, 0, DNS_DIR_EGRESS, DNS_HOOK_CGROUP);
	return 1;
}

SEC("cgroup_skb/ingress")
int dns_cg_ingress(struct __sk_buff *skb)
{
	if (!not_dns(skb, 0, DNS_DIR_INGRESS, DNS_HOOK_CGROUP))
		capture(skb, 0, DNS_DIR_INGRESS, DNS_HOOK_CGROUP);
	return 1;
}

/* TC: skb->data is the Ethernet header (VLAN tags are offloaded into skb metadata). */
SEC("tc")
int dns_tc_egress(struct __sk_buff *skb)
{
	if (!not_dns(skb, NL_ETH_HLEN, DNS_DIR_EGRESS, DNS_HOOK_TC))
		capture(skb, NL_ETH_HLEN, DNS_DIR_EGRESS, DNS_HOOK_TC);
	return NL_TC_ACT_UNSPEC;
}

SEC("tc")
int dns_tc_ingress(struct __sk_buff *skb)
{
	if (!not_dns(skb, NL_ETH_HLEN, DNS_DIR_INGRESS, DNS_HOOK_TC))
		capture(skb, NL_ETH_HLEN, DNS_DIR_INGRESS, DNS_HOOK_TC);
	return NL_TC_ACT_UNSPEC;
}
