// SPDX-License-Identifier: GPL-2.0
/*
 * netlens drops: every packet the kernel frees as dropped (skb:kfree_skb,
 * with the kernel's reason and the code location), and socket receive
 * saturation (sock:sock_rcvqueue_full, sock:sock_exceed_buf_limit).
 *
 * Counting happens here, in a per-CPU hash keyed by reason, location, kind
 * and destination, so a drop storm costs one map update per packet and no
 * ring-buffer traffic; individual records go through a per-CPU token bucket
 * and what it refuses is counted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "drops/drops_abi.h"
#include "kernel/emit.bpf.h"
#include "kernel/sock.bpf.h"
#include "kernel/filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP_       0x0800
#define ETH_P_IPV6_     0x86DD
#define IPPROTO_ICMP_   1
#define IPPROTO_UDP_    17
#define IPPROTO_ICMPV6_ 58
#define NL_EEXIST       17
#define PF_KTHREAD_     0x00200000   /* include/linux/sched.h */
#define HDR_UNSET       0xffff   /* skb->*_header offset not set */
#define IPV6_EXT_MAX    4        /* extension headers skipped before giving up */

const volatile struct drop_filter drop_filter = { .ignore_reason = ~0U };
/* Individual records: one per cost_ns of credit, at most burst in a row, per CPU. */
const volatile __u64 event_cost_ns = 0;     /* 0: summaries only */
const volatile __u64 event_burst_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);     /* --max-rows, set by user space */
	__type(key, struct drop_key);
	__type(value, __u64);
} drop_counts SEC(".maps");

/*
 * The process that owns each socket, by the socket's inode: filled by user
 * space from /proc/PID/fd before attaching, then here whenever a process
 * binds or connects a socket. A drop at a socket happens in softirq, where
 * current is whoever was interrupted, never the owner.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DROPS_SOCK_OWNERS);
	__type(key, __u64);
	__type(value, struct nl_owner);
} sock_owners SEC(".maps");

struct drop_bucket {
	__u64 credit_ns;
	__u64 last_ns;
	__u32 skip;             /* drops to refuse before reading the clock again */
	__u32 pad;
};

/*
 * Once the bucket is empty, the clock is read again only every this many
 * drops: in a storm most drops are refused, and the clock read is the
 * larger part of refusing one (those drops are still counted).
 */
#define BUCKET_SKIP 16

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drop_bucket);
} buckets SEC(".maps");

/*
 * A scratch record per CPU and per kind (too large for the BPF stack with
 * the parser's): a program never nests in itself on one CPU (the kernel
 * skips that), but a softirq's sock_rcvqueue_full may interrupt a
 * process-context kfree_skb.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_KIND_MAX);
	__type(key, __u32);
	__type(value, struct drop_event);
} scratch SEC(".maps");

/* A pointer's value as a number, whatever the verifier thinks of its type. */
static __always_inline __u64 address_of(const void *p)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

/*
 * How the program was called, to find the kernel stack pointer at the drop
 * when a record needs the context: a raw tracepoint's argument array lives
 * on that stack (bpf_trace_run*()); a classic tracepoint's record starts
 * with a pointer to the registers perf saved at the tracepoint, sp included
 * (perf_fetch_caller_regs(), perf_trace_run_bpf_submit()).
 */
struct hook_ctx {
	const void *raw_args;
	const void *tp_record;
};

static __always_inline __u64 kernel_sp(const struct hook_ctx *hc)
{
	struct pt_regs *regs = NULL;

	if (hc->raw_args)
		return address_of(hc->raw_args);
	bpf_probe_read_kernel(&regs, sizeof(regs), hc->tp_record);
	return regs ? PT_REGS_SP_CORE(regs) : 0;
}

/*
 * DROP_F_PROCESS when the drop happened in a system call of a user process
 * (current is the packet's sender or the socket's owner), DROP_F_SOFTIRQ
 * otherwise: softirq or hard irq, which run on the per-CPU IRQ stack
 * (x86-64, arm64), not on the task's own stack, except after an interrupt
 * from user mode (below); or a kernel thread such as ksoftirqd. preempt_count() would say it directly, but x86 keeps it in the
 * per-CPU __preempt_count, which BPF reaches only through kallsyms, and
 * kernels without CONFIG_KALLSYMS_ALL (this one) do not list it. The BPF
 * program's own stack is no guide: Linux 6.13+ may give it a per-CPU one.
 */
static __always_inline __u8 drop_context(const struct hook_ctx *hc)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *user = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 sp = kernel_sp(hc);
	__u64 bottom = address_of(BPF_CORE_READ(task, stack));
	/* The task's saved user registers sit at the top of its stack. */
	__u64 top = address_of(user);

	if (sp < bottom || sp >= top || (BPF_CORE_READ(task, flags) & PF_KTHREAD_))
		return DROP_F_SOFTIRQ;
#ifdef __TARGET_ARCH_x86
	/*
	 * An interrupt that came from user mode stays on the task's stack, and
	 * so do the softirqs run on its way out (irq_needs_irq_stack()); its
	 * saved registers say "no system call": orig_ax -1. (A process's
	 * task_work run on return from such an interrupt is taken as softirq
	 * too: no pid rather than a wrong one.)
	 */
	if ((long)BPF_CORE_READ(user, orig_ax) == -1)
		return DROP_F_SOFTIRQ;
#endif
	return DROP_F_PROCESS;
}

static __always_inline bool reason_wanted(__u32 reason)
{
	if (!drop_filter.nreasons)
		return reason != drop_filter.ignore_reason;
	for (int i = 0; i < DROPS_MAX_REASONS; i++) {
		if (i >= drop_filter.nreasons)
			break;
		if (drop_filter.reasons[i] == reason)
			return true;
	}
	return false;
}

/* The token bucket: the time if this CPU may emit one more record now, else 0. */
static __always_inline __u64 event_allowed(void)
{
	__u32 zero = 0;
	struct drop_bucket *b;
	__u64 credit, now;

	b = bpf_map_lookup_elem(&buckets, &zero);
	if (!b)
		return 0;
	if (b->skip) {
		b->skip--;
		return 0;
	}
	now = bpf_ktime_get_ns();
	credit = b->credit_ns + (now - b->last_ns);
	if (credit > event_burst_ns || !b->last_ns)
		credit = event_burst_ns;
	b->last_ns = now;
	if (credit < event_cost_ns) {
		b->credit_ns = credit;
		b->skip = BUCKET_SKIP - 1;
		return 0;
	}
	b->credit_ns = credit - event_cost_ns;
	return now;
}

/* Ports or ICMP type/code from the transport header at th. */
static __always_inline void parse_l4(struct drop_event *e, const unsigned char *th)
{
	__u16 ports[2];
	__u8 icmp[2];

	switch (e->proto) {
	case NL_IPPROTO_TCP:
	case IPPROTO_UDP_:
		if (bpf_probe_read_kernel(ports, sizeof(ports), th))
			return;
		e->id.tuple.sport = bpf_ntohs(ports[0]);
		e->id.tuple.dport = bpf_ntohs(ports[1]);
		e->flags |= DROP_F_PORTS;
		break;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		if (bpf_probe_read_kernel(icmp, sizeof(icmp), th))
			return;
		e->icmp_type = icmp[0];
		e->icmp_code = icmp[1];
		e->flags |= DROP_F_ICMP;
		break;
	}
}

static __always_inline void parse_ipv4(struct drop_event *e, const unsigned char *nh,
				       const struct iphdr *ip)
{
	if (ip->ihl < 5)
		return;
	e->id.tuple.family = 4;
	__builtin_memcpy(e->id.tuple.saddr, &ip->saddr, 4);
	__builtin_memcpy(e->id.tuple.daddr, &ip->daddr, 4);
	e->proto = ip->protocol;
	e->flags |= DROP_F_HEADERS;
	/* Only the first fragment carries the transport header. */
	if (!(bpf_ntohs(ip->frag_off) & 0x1fff))
		parse_l4(e, nh + ip->ihl * 4);
}

static __always_inline bool ipv6_ext(__u8 nexthdr)
{
	/* hop-by-hop, routing, destination options */
	return nexthdr == 0 || nexthdr == 43 || nexthdr == 60;
}

static __always_inline void parse_ipv6(struct drop_event *e, const unsigned char *nh,
				       const struct ipv6hdr *ip6)
{
	const unsigned char *th = nh + sizeof(struct ipv6hdr);
	__u8 next, ext[2];

	e->id.tuple.family = 6;
	__builtin_memcpy(e->id.tuple.saddr, &ip6->saddr, 16);
	__builtin_memcpy(e->id.tuple.daddr, &ip6->daddr, 16);
	e->flags |= DROP_F_HEADERS;
	next = ip6->nexthdr;
	for (int i = 0; i < IPV6_EXT_MAX && ipv6_ext(next); i++) {
		if (bpf_probe_read_kernel(ext, sizeof(ext), th))
			return;
		next = ext[0];
		th += (ext[1] + 1) * 8;
	}
	e->proto = next;
	if (!ipv6_ext(next))
		parse_l4(e, th);
}

/*
 * The packet's headers, where the skb has them: the network header offset
 * is set on every IP path (receive, forward, output); the IP version in it
 * decides, since skb->protocol is still 0 on the output path before
 * ip_output(). The transport header is found from the IP header itself,
 * not skb->transport_header, which some paths leave unset or stale.
 */
static __always_inline void parse_skb(struct drop_event *e, const struct sk_buff *skb,
				      const bool direct)
{
	unsigned char *head = READ(direct, skb, head);
	struct {
		__be16 protocol;
		__u16 transport_header;
		__u16 network_header;
	} hdrs;
	union {
		struct iphdr v4;
		struct ipv6hdr v6;
		__u8 version;   /* in the high nibble */
	} ip;

	if (direct) {
		hdrs.protocol = skb->protocol;
		hdrs.network_header = skb->network_header;
	/* Neighbours in struct sk_buff for years: one read where they still are. */
	} else if (bpf_core_field_offset(struct sk_buff, network_header) ==
	    bpf_core_field_offset(struct sk_buff, protocol) + 4) {
		if (bpf_probe_read_kernel(&hdrs, sizeof(hdrs), (const void *)skb +
					  bpf_core_field_offset(struct sk_buff, protocol)))
			return;
	} else {
		hdrs.protocol = BPF_CORE_READ(skb, protocol);
		hdrs.network_header = BPF_CORE_READ(skb, network_header);
	}
	e->l3proto = bpf_ntohs(hdrs.protocol);
	/*
	 * One read for either header: an IPv4 packet shorter than an IPv6
	 * header still has the skb's tail room and shared info after it.
	 */
	if (!head || hdrs.network_header == HDR_UNSET ||
	    bpf_probe_read_kernel(&ip, sizeof(ip), head + hdrs.network_header))
		return;
	if (ip.version >> 4 == 4 && (e->l3proto == ETH_P_IP_ || !e->l3proto))
		parse_ipv4(e, head + hdrs.network_header, &ip.v4);
	else if (ip.version >> 4 == 6 && (e->l3proto == ETH_P_IPV6_ || !e->l3proto))
		parse_ipv6(e, head + hdrs.network_header, &ip.v6);
}

/* The network namespace the drop happened in: the device's, else the socket's. */
static __always_inline const struct net *drop_net(const struct net_device *dev,
						  const struct sock *sk, const bool direct)
{
	if (dev)
		return READ(direct, dev, nd_net.net);
	return sk ? sock_net_as(sk, direct) : NULL;
}

/* struct local_ports before Linux 6.7: the range's two ends as ints. */
struct local_ports___old {
	int range[2];
} __attribute__((preserve_access_index));

/*
 * The first port of the namespace's ephemeral range
 * (net.ipv4.ip_local_port_range): one u32 "low | high << 16" since Linux
 * 6.7, two ints before. Each namespace has its own (a client's namespace
 * may hand out ports from 1024).
 */
static __always_inline __u16 ephemeral_low(const struct net *net)
{
	const struct local_ports___old *old;

	if (!net)
		return 32768;
	if (bpf_core_field_size(net->ipv4.ip_local_ports.range) == sizeof(__u32))
		return BPF_CORE_READ(net, ipv4.ip_local_ports.range) & 0xffff;
	old = (const struct local_ports___old *)&net->ipv4.ip_local_ports;
	return BPF_CORE_READ(old, range[0]);
}

/* What only a record needs: device, length, cgroup, owner. */
static __always_inline void read_details(struct drop_event *e, const struct sk_buff *skb,
					 const struct net_device *dev, const struct sock *sk)
{
	if (dev) {
		e->ifindex = BPF_CORE_READ(dev, ifindex);
		BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
		e->flags |= DROP_F_DEV;
	} else if (skb) {
		e->ifindex = BPF_CORE_READ(skb, skb_iif);
	}
	if (skb) {
		e->len = BPF_CORE_READ(skb, len);
		if (!sk)
			sk = BPF_CORE_READ(skb, sk);
	}
	if (sk)
		e->id.cgroup_id = cgroup_id(sock_cgroup(sk));
}

/* The inode of the socket the packet reached, once. */
static __always_inline void read_sock_ino(struct drop_event *e, const struct sock *sk)
{
	struct socket *sock;

	if (!sk || e->sk_ino)
		return;
	sock = BPF_CORE_READ(sk, sk_socket);
	/* The inode is allocated with the socket: struct socket_alloc (sock_alloc()). */
	if (sock)
		e->sk_ino = BPF_CORE_READ(container_of(sock, struct socket_alloc, socket),
					  vfs_inode.i_ino);
}

/*
 * The owner: the receiving socket's (sock_owners), else current in a system
 * call; and the context. Only for the owner filters and for a record: a
 * summary row needs neither.
 */
static __always_inline void read_owner(struct drop_event *e, const struct hook_ctx *hc,
				       const struct sock *rx_sk)
{
	struct nl_owner *owner;

	read_sock_ino(e, rx_sk);
	owner = e->sk_ino ? bpf_map_lookup_elem(&sock_owners, &e->sk_ino) : NULL;
	if (owner) {
		e->owner = *owner;
		e->flags |= DROP_F_SOCK_OWNER;
	}
	e->flags |= drop_context(hc);
	if ((e->flags & DROP_F_PROCESS) && !(e->flags & DROP_F_SOCK_OWNER))
		owner_from_current(&e->owner);
}

static __always_inline struct drop_event *scratch_event(__u32 kind)
{
	struct drop_event *e = bpf_map_lookup_elem(&scratch, &kind);

	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->kind = kind;
	}
	return e;
}

/*
 * The filters, the count in the summary, and a record if the bucket allows.
 * Only what the summary's key and the filters need is read for every drop;
 * the rest waits until a record is going to be written.
 */
/*
 * The destination port a summary row keeps: a service's, never a client's.
 * A port below the ephemeral range is kept; so is one in it that the
 * receiving socket listens on (bound to it, no peer: a TCP listener, an
 * unconnected UDP socket). Any other is a client's ephemeral port: rows per
 * port would churn (a row per closed connection: QUEUE_PURGE of its unread
 * queue, TCP_CLOSE of its late segments) and fill the table, so they are
 * summed into one bucket per address.
 */
static __always_inline void key_port(struct drop_key *k, const struct drop_event *e,
				     __u16 listening, const struct net *net)
{
	__u16 port = e->id.tuple.dport;

	/* The namespace's range is read only for a port that may be a client's. */
	if (!(e->flags & DROP_F_PORTS) || port == listening || port < ephemeral_low(net))
		k->dport = port;
	else
		k->flags |= DROP_KEY_EPHEMERAL;
}

#define ICMP_DEST_UNREACH_  3
#define ICMP_FRAG_NEEDED_   4
#define ICMPV6_PKT_TOOBIG_  2

/* The message that tells a sender the path MTU: dropped, it never learns it. */
static __always_inline bool icmp_too_big(const struct drop_event *e)
{
	if (!(e->flags & DROP_F_ICMP))
		return false;
	if (e->proto == IPPROTO_ICMP_)
		return e->icmp_type == ICMP_DEST_UNREACH_ && e->icmp_code == ICMP_FRAG_NEEDED_;
	return e->proto == IPPROTO_ICMPV6_ && e->icmp_type == ICMPV6_PKT_TOOBIG_;
}

/* The port of the socket the packet reached if it listens there (bound, no peer), else 0. */
static __always_inline __u16 listen_port(const struct sock *sk, const bool direct)
{
	if (!sk || READ(direct, sk, __sk_common.skc_dport))
		return 0;
	return READ(direct, sk, __sk_common.skc_num);
}

static __always_inline void account(struct drop_event *e, const struct hook_ctx *hc,
				    const struct sk_buff *skb, const struct net_device *dev,
				    const struct sock *sk, const struct sock *rx_sk,
				    const struct net *net, const bool direct)
{
	bool owner_filter = nl_filter.pid || nl_filter.has_comm;
	__u16 port = listen_port(rx_sk, direct);
	struct drop_key key = {};
	struct drop_event *rec;
	__u64 one = 1, *count;

	if (owner_filter)
		read_owner(e, hc, rx_sk);
	if (!filter_sock(sk, &e->id) || (owner_filter && !filter_owner(&e->owner)))
		return;
	stat_inc(DROP_STAT_SEEN);

	key.location = e->location;
	key.reason = e->reason;
	key.netns = e->id.netns;
	key.family = e->id.tuple.family;
	__builtin_memcpy(key.daddr, e->id.tuple.daddr, sizeof(key.daddr));
	key_port(&key, e, port, net);
	if (icmp_too_big(e))
		key.flags |= DROP_KEY_TOO_BIG;
	/* Listening sockets only: a row per connected socket would churn. */
	if (port) {
		read_sock_ino(e, rx_sk);
		key.sk_ino = e->sk_ino;
	}
	key.proto = e->proto;
	key.l3proto = e->id.tuple.family ? 0 : e->l3proto;
	key.kind = e->kind;
	count = bpf_map_lookup_elem(&drop_counts, &key);
	/* Another CPU may create the row first: then add to it. */
	if (!count && map_insert(&drop_counts, &key, &one, BPF_NOEXIST) == -NL_EEXIST)
		count = bpf_map_lookup_elem(&drop_counts, &key);
	if (count)
		*count += 1;

	if (!event_cost_ns)
		return;
	e->ts_ns = event_allowed();
	if (!e->ts_ns) {
		stat_inc(DROP_STAT_SUPPRESSED);
		return;
	}
	read_details(e, skb, dev, sk);
	if (!owner_filter)
		read_owner(e, hc, rx_sk);
	rec = event_reserve(sizeof(*rec));
	if (!rec)
		return;
	__builtin_memcpy(rec, e, sizeof(*rec));
	event_submit(rec);
}

/* A drop of skb: its headers, where it was, then the accounting. */
static __always_inline void on_packet(struct drop_event *e, const struct hook_ctx *hc,
				      const struct sk_buff *skb, const struct sock *sk,
				      const bool direct)
{
	const struct net_device *dev = READ(direct, skb, dev);
	const struct sock *rx_sk = sk;
	const struct net *net;

	/* Without a receiving socket, the skb's own, when needed before a record. */
	if (!sk && (!dev || nl_filter.cgroup_id))
		sk = READ(direct, skb, sk);
	net = drop_net(dev, sk, direct);
	parse_skb(e, skb, direct);
	e->id.netns = net_inum_as(net, direct);
	account(e, hc, skb, dev, sk, rx_sk, net, direct);
}

static __always_inline int on_kfree_skb(const struct hook_ctx *hc,
					const struct sk_buff *skb, __u64 location,
					__u32 reason, const struct sock *rx_sk, const bool direct)
{
	struct drop_event *e;

	if (!reason_wanted(reason))
		return 0;
	e = scratch_event(DROP_KIND_SKB);
	if (!e)
		return 0;
	e->reason = reason;
	e->location = location;
	/* rx_sk (Linux 6.10+): the receiving socket, if the drop had one. */
	on_packet(e, hc, skb, rx_sk, direct);
	return 0;
}

/*
 * The raw tracepoint's arguments are (skb, location, reason, rx_sk) since
 * Linux 6.10; user space loads this only when btf_trace_kfree_skb says so
 * (reading a 4th argument the tracepoint lacks fails the attach).
 */
SEC("raw_tp/kfree_skb")
int BPF_PROG(drops_kfree_skb_raw, struct sk_buff *skb, void *location, int reason,
	     struct sock *rx_sk)
{
	struct hook_ctx hc = { .raw_args = ctx };

	return on_kfree_skb(&hc, skb, (__u64)location, reason, rx_sk, false);
}

/*
 * The same tracepoint with BTF-typed arguments: the skb, its device and
 * namespace are plain loads (the kernel's exception table covers them)
 * instead of bpf_probe_read_kernel() calls. Preferred when the kernel takes
 * it; user space falls back to the raw tracepoint when it does not.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(drops_kfree_skb_btf, struct sk_buff *skb, void *location, int reason,
	     struct sock *rx_sk)
{
	struct hook_ctx hc = { .raw_args = ctx };

	return on_kfree_skb(&hc, skb, (__u64)location, reason, rx_sk, true);
}

SEC("tp/skb/kfree_skb")
int drops_kfree_skb_tp(struct trace_event_raw_kfree_skb *ctx)
{
	struct hook_ctx hc = { .tp_record = ctx };
	const struct sock *rx_sk = NULL;

	/* Before Linux 6.10 no rx_sk: the skb's socket, when it has one, is the owner. */
	if (bpf_core_field_exists(ctx->rx_sk))
		rx_sk = BPF_CORE_READ(ctx, rx_sk);
	else
		rx_sk = BPF_CORE_READ((struct sk_buff *)ctx->skbaddr, sk);
	return on_kfree_skb(&hc, ctx->skbaddr, (__u64)ctx->location, ctx->reason, rx_sk, false);
}

/* A datagram or raw socket's receive queue is over SO_RCVBUF (sock_queue_rcv_skb). */
SEC("raw_tp/sock_rcvqueue_full")
int BPF_PROG(drops_rcvqueue_full, struct sock *sk, struct sk_buff *skb)
{
	struct hook_ctx hc = { .raw_args = ctx };
	struct drop_event *e = scratch_event(DROP_KIND_RCVQUEUE_FULL);

	if (!e)
		return 0;
	on_packet(e, &hc, skb, sk, false);
	return 0;
}

/*
 * A socket allocation hit the protocol's memory limits (tcp_mem, udp_mem) or
 * its own buffer (__sk_mem_raise_allocated). kind 1 is receive, 0 send; the
 * socket's addresses are oriented the way the data was going.
 */
SEC("raw_tp/sock_exceed_buf_limit")
int BPF_PROG(drops_exceed_buf_limit, struct sock *sk, struct proto *prot, long allocated,
	     int kind)
{
	struct hook_ctx hc = { .raw_args = ctx };
	struct drop_event *e = scratch_event(DROP_KIND_EXCEED_BUF);
	const struct net *net;
	struct nl_tuple t;

	if (!e)
		return 0;
	e->proto = BPF_CORE_READ(sk, sk_protocol);
	if (!read_tuple(sk, &t)) {
		e->id.tuple = t;
		if (kind == 1) {
			__builtin_memcpy(e->id.tuple.saddr, t.daddr, 16);
			__builtin_memcpy(e->id.tuple.daddr, t.saddr, 16);
			e->id.tuple.sport = t.dport;
			e->id.tuple.dport = t.sport;
		}
		e->flags |= DROP_F_HEADERS | DROP_F_PORTS;
	}
	net = drop_net(NULL, sk, false);
	e->id.netns = net_inum_as(net, false);
	account(e, &hc, NULL, NULL, sk, sk, net, false);
	return 0;
}

#define SOCK_DGRAM_ 2

/* The inode of the socket open as fd, or 0; with dgram_only, 0 for one not a datagram socket. */
static __always_inline __u64 fd_socket_ino(unsigned long fd, bool dgram_only)
{
	__u64 ino = 0;
	struct socket *sock = FD_SOCKET(fd, &ino);

	if (!sock || (dgram_only && BPF_CORE_READ(sock, type) != SOCK_DGRAM_))
		return 0;
	return ino;
}

/* A process binding or connecting a socket is its owner from now on. */
static __always_inline void remember_owner(__u64 ino)
{
	struct nl_owner owner;

	if (!ino)
		return;
	owner_from_current(&owner);
	bpf_map_update_elem(&sock_owners, &ino, &owner, BPF_ANY);
}

static __always_inline int learn_owner(unsigned long fd, bool dgram_only)
{
	remember_owner(fd_socket_ino(fd, dgram_only));
	return 0;
}

SEC("tp/syscalls/sys_enter_bind")
int drops_bind(struct trace_event_raw_sys_enter *ctx)
{
	return learn_owner(ctx->args[0], false);
}

/*
 * Datagram sockets only: every TCP client connects, and the LRU update
 * cost a connection storm about 1.5 us per connect (docs/performance.md);
 * a TCP socket's owner is the TCP core's business, and its receive-side
 * drops are rarer than a UDP client's. At the cgroup connect hooks (the
 * default) a TCP connect leaves after one load of ctx->type; the
 * tracepoint, where those hooks are out of reach, walks the descriptor.
 */
SEC("tp/syscalls/sys_enter_connect")
int drops_connect(struct trace_event_raw_sys_enter *ctx)
{
	return learn_owner(ctx->args[0], true);
}

/* The socket's inode from a connect hook (Linux 6.2+: bpf_rdonly_cast()). */
static __always_inline int learn_dgram_owner(struct bpf_sock_addr *ctx)
{
	struct socket_alloc *alloc;
	struct sock *sk;

	if (ctx->type != SOCK_DGRAM_ || !bpf_rdonly_cast)
		return 1;
	sk = bpf_rdonly_cast(ctx->sk, bpf_core_type_id_kernel(struct sock));
	/* The inode is allocated with the socket: struct socket_alloc (sock_alloc()). */
	alloc = bpf_rdonly_cast(sk->sk_socket, bpf_core_type_id_kernel(struct socket_alloc));
	if (alloc)
		remember_owner(alloc->vfs_inode.i_ino);
	return 1;
}

SEC("cgroup/connect4")
int drops_connect4(struct bpf_sock_addr *ctx)
{
	return learn_dgram_owner(ctx);
}

SEC("cgroup/connect6")
int drops_connect6(struct bpf_sock_addr *ctx)
{
	return learn_dgram_owner(ctx);
}
