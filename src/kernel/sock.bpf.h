/* SPDX-License-Identifier: GPL-2.0 */
/* Reading a struct sock with CO-RE: tuple, namespace, cgroup, owner. */
#ifndef NETLENS_SOCK_BPF_H
#define NETLENS_SOCK_BPF_H

#include "kernel/common_abi.h"

#define NL_AF_INET  2
#define NL_AF_INET6 10
#define NL_IPPROTO_TCP 6
#define NL_MAX_CGROUP_DEPTH 32

/*
 * A field of a kernel object: a direct load where the program has a typed
 * (BTF) pointer to it (tp_btf), else bpf_probe_read_kernel().
 */
#define READ(direct, p, f) ((direct) ? (p)->f : BPF_CORE_READ(p, f))

static __always_inline bool is_v4_mapped(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

static __always_inline bool is_unspecified(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;

	return !(w[0] | w[1] | w[2] | w[3]);
}

/*
 * Sets the family of a tuple read from IPv6 fields. An AF_INET6 socket
 * talking to an IPv4-mapped address (dual-stack client or server) is
 * reported as the IPv4 connection it is on the wire.
 */
static __always_inline void set_v6_family(struct nl_tuple *t)
{
	if (is_v4_mapped(t->daddr) && (is_v4_mapped(t->saddr) || is_unspecified(t->saddr))) {
		t->family = 4;
		__builtin_memcpy(t->saddr, &t->saddr[12], 4);
		__builtin_memcpy(t->daddr, &t->daddr[12], 4);
		__builtin_memset(&t->saddr[4], 0, 12);
		__builtin_memset(&t->daddr[4], 0, 12);
		return;
	}
	t->family = 6;
}

/*
 * A TCP socket as a tcp_sock (and so an inet_sock). tp_btf: the verifier
 * lets a typed struct sock be read as a tcp_sock only through the helper.
 */
static __always_inline const struct tcp_sock *tcp_sk_of(const struct sock *sk, const bool btf)
{
	return btf ? bpf_skc_to_tcp_sock((void *)sk) : (const struct tcp_sock *)sk;
}

/* Fills t from an inet socket (btf: sk is a typed tp_btf argument, and a TCP socket). */
static __always_inline int read_tuple_as(const struct sock *sk, struct nl_tuple *t, const bool btf)
{
	const struct inet_sock *inet = (const struct inet_sock *)tcp_sk_of(sk, btf);
	__u16 family;

	if (!inet)
		return -1;
	family = READ(btf, sk, __sk_common.skc_family);
	/*
	 * inet_sport, not skc_num: the tracepoint fires from inet_sk_state_store()
	 * after tcp_set_state(TCP_CLOSE) has released the port (skc_num = 0).
	 */
	t->sport = bpf_ntohs(READ(btf, inet, inet_sport));
	t->dport = bpf_ntohs(READ(btf, sk, __sk_common.skc_dport));
	if (family == NL_AF_INET) {
		t->family = 4;
		if (btf) {
			*(__u32 *)t->daddr = sk->__sk_common.skc_daddr;
			*(__u32 *)t->saddr = sk->__sk_common.skc_rcv_saddr;
		} else {
			/* skc_addrpair is skc_daddr then skc_rcv_saddr: one read for both. */
			__u32 pair[2];

			BPF_CORE_READ_INTO(&pair, sk, __sk_common.skc_addrpair);
			*(__u32 *)t->daddr = pair[0];
			*(__u32 *)t->saddr = pair[1];
		}
		return 0;
	}
	if (family != NL_AF_INET6)
		return -1;
	if (btf) {
		__builtin_memcpy(t->saddr, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(t->daddr, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
	} else {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	set_v6_family(t);
	return 0;
}

static __always_inline int read_tuple(const struct sock *sk, struct nl_tuple *t)
{
	return read_tuple_as(sk, t, false);
}

/* Segments the socket sent (tcp_sock.segs_out), retransmissions included; 0 if unknown. */
static __always_inline __u32 tcp_segs_out(const struct sock *sk, const bool btf)
{
	const struct tcp_sock *tp = tcp_sk_of(sk, btf);

	return tp ? READ(btf, tp, segs_out) : 0;
}

/* The segments the kernel counted as retransmitted (RetransSegs) on sk. */
static __always_inline __u32 tcp_total_retrans(const struct sock *sk, const bool btf)
{
	const struct tcp_sock *tp = tcp_sk_of(sk, btf);

	return tp ? READ(btf, tp, total_retrans) : 0;
}

/*
 * The destination a process passed to connect(2), from its sockaddr in user
 * memory, into t->daddr/dport (t->family 4 or 6); -1 if not IPv4 or IPv6.
 */
static __always_inline int read_user_sockaddr(const void *uaddr, struct nl_tuple *t)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in *sin = (struct sockaddr_in *)&sin6;

	if (bpf_probe_read_user(&sin6, sizeof(sin6), uaddr) &&
	    bpf_probe_read_user(sin, sizeof(*sin), uaddr))
		return -1;
	if (sin->sin_family == NL_AF_INET) {
		t->family = 4;
		t->dport = bpf_ntohs(sin->sin_port);
		__builtin_memcpy(t->daddr, &sin->sin_addr, 4);
		return 0;
	}
	if (sin6.sin6_family != NL_AF_INET6)
		return -1;
	t->dport = bpf_ntohs(sin6.sin6_port);
	__builtin_memcpy(t->daddr, &sin6.sin6_addr, 16);
	set_v6_family(t);
	return 0;
}

static __always_inline const struct net *sock_net_as(const struct sock *sk, const bool btf)
{
	return READ(btf, sk, __sk_common.skc_net.net);
}

/* The inode number that names a network namespace; 0 for none. */
static __always_inline __u32 net_inum_as(const struct net *net, const bool btf)
{
	return net ? READ(btf, net, ns.inum) : 0;
}

static __always_inline __u32 sock_netns_as(const struct sock *sk, const bool btf)
{
	return net_inum_as(sock_net_as(sk, btf), btf);
}

static __always_inline __u32 sock_netns(const struct sock *sk)
{
	return sock_netns_as(sk, false);
}

/* The cgroup v2 the socket was created in (inherited by accepted children). */
static __always_inline struct cgroup *sock_cgroup(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
}

static __always_inline __u64 cgroup_id(const struct cgroup *cg)
{
	return BPF_CORE_READ(cg, kn, id);
}

/* The id of the socket's cgroup v2 (btf: sk is a typed tp_btf argument). */
static __always_inline __u64 sock_cgroup_id_as(const struct sock *sk, const bool btf)
{
	return btf ? sk->sk_cgrp_data.cgroup->kn->id : cgroup_id(sock_cgroup(sk));
}

/* Before Linux 6.0 a cgroup kept its ancestors' ids, not pointers. */
struct cgroup___old {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

static __always_inline __u64 ancestor_id(const struct cgroup *cg, int level)
{
	struct cgroup *anc;
	__u64 id = 0;

	if (bpf_core_field_exists(cg->ancestors)) {
		if (!bpf_core_read(&anc, sizeof(anc), &cg->ancestors[level]))
			id = cgroup_id(anc);
	} else {
		bpf_core_read(&id, sizeof(id), &((struct cgroup___old *)cg)->ancestor_ids[level]);
	}
	return id;
}

/* True if cg is the cgroup with this id or one of its descendants. */
static __always_inline bool cgroup_under(const struct cgroup *cg, __u64 id)
{
	int level = BPF_CORE_READ(cg, level);

	for (int i = 0; i < NL_MAX_CGROUP_DEPTH; i++) {
		if (i > level)
			break;
		if (ancestor_id(cg, i) == id)
			return true;
	}
	return false;
}

static __always_inline int read_sock_id_as(const struct sock *sk, struct nl_sock_id *id,
					   const bool btf)
{
	if (read_tuple_as(sk, &id->tuple, btf))
		return -1;
	id->netns = sock_netns_as(sk, btf);
	id->cgroup_id = sock_cgroup_id_as(sk, btf);
	return 0;
}

static __always_inline int read_sock_id(const struct sock *sk, struct nl_sock_id *id)
{
	return read_sock_id_as(sk, id, false);
}

static __always_inline void owner_from_current(struct nl_owner *o)
{
	__u64 id = bpf_get_current_pid_tgid();

	o->pid = id >> 32;
	o->tid = (__u32)id;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* The TCP control block the kernel keeps in skb->cb (struct tcp_skb_cb). */
static __always_inline const struct tcp_skb_cb *skb_tcp_cb(const struct sk_buff *skb)
{
	return (const struct tcp_skb_cb *)((const char *)skb + bpf_core_field_offset(skb->cb));
}

/* A read-only typed view of any kernel object (Linux 6.2+); NULL before. */
extern void *bpf_rdonly_cast(void *obj, __u32 btf_id) __ksym __weak;

/* p as a typed pointer the program may load through, or as it is. */
#define AS_TYPED(typed, type, p) \
	((typed) ? (type *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(type)) : (type *)(p))

#define NL_S_IFMT   0170000
#define NL_S_IFSOCK 0140000

/*
 * The socket open as fd in the current process and its inode's number; NULL
 * when fd is not a socket (the fd of a read(2) may be any file).
 * typed: plain loads through typed pointers (the kernel's exception table
 * covers a bad one), not a bpf_probe_read_kernel() call per field: this
 * runs at every message http captures and every datagram connect(2), and
 * the loads cost a third of the calls.
 */
static __always_inline struct socket *fd_socket_as(long fd, __u64 *ino, const bool typed)
{
	struct task_struct *task = typed ? bpf_get_current_task_btf() :
				   (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = READ(typed, task, files);
	struct fdtable *fdt = files ? READ(typed, files, fdt) : NULL;
	struct file **fds, *f = NULL;
	struct inode *inode;

	if (!fdt || fd < 0 || (unsigned long)fd >= READ(typed, fdt, max_fds))
		return NULL;
	/* An array of pointers: the verifier types it as a number. */
	fds = READ(typed, fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	f = AS_TYPED(typed, struct file, f);
	inode = READ(typed, f, f_inode);
	if (!inode || (READ(typed, inode, i_mode) & NL_S_IFMT) != NL_S_IFSOCK)
		return NULL;
	*ino = READ(typed, inode, i_ino);
	return AS_TYPED(typed, struct socket, READ(typed, f, private_data));
}

/* The kernel's typed loads where it has them (bpf_rdonly_cast), else bpf_probe_read_kernel(). */
#define FD_SOCKET(fd, ino) \
	(bpf_rdonly_cast ? fd_socket_as(fd, ino, true) : fd_socket_as(fd, ino, false))

/* The struct sock behind fd, or NULL (as a number: read, not a typed pointer). */
static __always_inline struct sock *sock_from_fd(long fd)
{
	__u64 ino;
	struct socket *sock = FD_SOCKET(fd, &ino);

	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

#endif
