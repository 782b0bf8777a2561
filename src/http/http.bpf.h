/* SPDX-License-Identifier: GPL-2.0 */
/*
 * http's steps in the TCP core (src/tcp/tcp.bpf.c): the data a process
 * writes and reads on a socket the core follows, as messages.
 *
 * Plaintext comes from sock:sock_send_length and sock:sock_recv_length
 * (http_on_io()): they fire at the end of every sendmsg/recvmsg of a socket,
 * with the socket and the bytes moved (Linux 6.18 net/socket.c,
 * sock_sendmsg_nosec()/sock_recvmsg_nosec(); read(2), write(2), readv(2)
 * and writev(2) reach them through sock_read_iter()/sock_write_iter(),
 * sendfile(2) through splice_to_socket()). A pipe or a file never meets
 * them. The bytes are read from the user buffer the system call named: its
 * number and arguments are in the task's saved registers, and the call's fd
 * must be that socket (a read(2) of a network file system's file sends on
 * the file system's socket). Calls with no such system call (io_uring, a
 * kernel thread, splice(2), sendfile(2), recvmmsg(2)...) are counted,
 * their bytes not taken.
 *
 * TLS comes from uprobes on OpenSSL (src/http/http_tls.c): the entry of a
 * read or write marks the thread, the socket call it makes inside names the
 * socket (its bytes are ciphertext: not taken), the return hands the
 * plaintext.
 *
 * Per socket the step follows who speaks: a call in the other direction
 * than the last one begins a message and sends one record with its first
 * HTTP_CAPTURE bytes and the size of the message that ended. A socket's
 * first message must match a protocol's signature (user space writes them
 * from src/http/http_proto.c): anything else marks the socket foreign, and
 * it costs one lookup per call from then on.
 */
#ifndef NETLENS_HTTP_BPF_H
#define NETLENS_HTTP_BPF_H

#include "http/http_abi.h"
#include "tcp/tcp.bpf.h"

#define NL_ECONNRESET 104
#define HTTP_PROTO_FOREIGN 0xff   /* the first message matched no signature */
#define NL_PF_IO_WORKER 0x00000010   /* include/linux/sched.h: io_uring's workers */
#define NL_PF_KTHREAD   0x00200000

const volatile struct http_sig http_sigs[HTTP_MAX_SIGS];       /* request starts */
const volatile struct http_sig http_resp_sigs[HTTP_MAX_SIGS];  /* response starts */

NL_RING(http_events);

/* Where a system call's data is: none (sendfile), a buffer, an iovec array, a msghdr. */
enum http_buf { HTTP_BUF_NONE, HTTP_BUF_PLAIN, HTTP_BUF_IOV, HTTP_BUF_MSG };

/* An SSL read or write in flight on this thread (ssl 0: none). */
struct http_ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 exlen;             /* where the size goes (_ex arguments); 0 for SSL_read/SSL_write */
	__u64 sk;                /* learned from the SSL object, or from the socket call inside */
	__u64 sk_known;          /* what http_ssl_socks held for the SSL object at the entry */
	__u64 ts;                /* the entry */
	__u8  dir;
	__u8  pad[7];
};

/* Per thread, freed with it: no entry left behind by a thread that dies inside a call. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct http_ssl_call);
} http_ssl_calls SEC(".maps");

struct http_ssl_key {
	__u32 tgid;              /* SSL pointers are per address space */
	__u32 pad;
	__u64 ssl;
};

/* The socket under an SSL object, for calls served from OpenSSL's buffer (no socket call). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct http_ssl_key);
	__type(value, __u64);
} http_ssl_socks SEC(".maps");

/* The protocol whose request (or response) signature the first 8 bytes match; 0 if none. */
static __always_inline __u8 http_match_sig(__u64 first, bool response)
{
	for (int i = 0; i < HTTP_MAX_SIGS; i++) {
		const volatile struct http_sig *s = response ? &http_resp_sigs[i] : &http_sigs[i];

		if (!s->proto)
			break;
		if ((first & s->mask) == s->value)
			return s->proto;
	}
	return 0;
}

static __always_inline __u8 http_classify(const __u8 *data, __u32 n)
{
	__u64 first = 0;

	__builtin_memcpy(&first, data, 8);
	if (n < 8)
		first &= (1ULL << (n * 8)) - 1;   /* little endian: keep the first n bytes */
	return http_match_sig(first, false);
}

/*
 * The system calls that move a socket's data through sendmsg/recvmsg, by
 * this architecture's numbers: where their data is (HTTP_BUF_NONE for the
 * others, and for a call in the other direction).
 */
static __always_inline __u8 http_syscall_kind(long nr, __u8 dir)
{
#if defined(__TARGET_ARCH_x86)
	enum { NR_READ = 0, NR_WRITE = 1, NR_READV = 19, NR_WRITEV = 20, NR_SENDTO = 44,
	       NR_RECVFROM = 45, NR_SENDMSG = 46, NR_RECVMSG = 47 };
#elif defined(__TARGET_ARCH_arm64)
	enum { NR_READ = 63, NR_WRITE = 64, NR_READV = 65, NR_WRITEV = 66, NR_SENDTO = 206,
	       NR_RECVFROM = 207, NR_SENDMSG = 211, NR_RECVMSG = 212 };
#else
#error "http: the socket system calls' numbers of this architecture"
#endif
	bool send = dir == HTTP_DIR_SEND;

	switch (nr) {
	case NR_READ:
	case NR_RECVFROM:
		return send ? HTTP_BUF_NONE : HTTP_BUF_PLAIN;
	case NR_WRITE:
	case NR_SENDTO:
		return send ? HTTP_BUF_PLAIN : HTTP_BUF_NONE;
	case NR_READV:
		return send ? HTTP_BUF_NONE : HTTP_BUF_IOV;
	case NR_WRITEV:
		return send ? HTTP_BUF_IOV : HTTP_BUF_NONE;
	case NR_RECVMSG:
		return send ? HTTP_BUF_NONE : HTTP_BUF_MSG;
	case NR_SENDMSG:
		return send ? HTTP_BUF_MSG : HTTP_BUF_NONE;
	}
	return HTTP_BUF_NONE;
}

/* The user buffer holding the start of the call's data (the first iovec's, capped to it). */
static __always_inline __u64 http_first_buf(__u8 kind, __u64 arg, __u64 *room)
{
	struct iovec iov = {};
	__u64 iovp = arg;

	*room = ~0ULL;
	if (kind == HTTP_BUF_PLAIN)
		return arg;
	if (kind == HTTP_BUF_MSG &&
	    bpf_probe_read_user(&iovp, sizeof(iovp), &((struct user_msghdr *)arg)->msg_iov))
		return 0;
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)iovp))
		return 0;
	*room = iov.iov_len;
	return (__u64)iov.iov_base;
}

static __always_inline long http_syscall_nr(const struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#else
	return regs->syscallno;
#endif
}

/*
 * Where the current system call holds the data sk's sendmsg/recvmsg just
 * moved in direction dir: its user buffer (room: its size), or 0 when the
 * call is not one of the socket system calls on sk's fd (io_uring, a kernel
 * thread, sendfile, another file's read(2)...).
 */
static __always_inline __u64 http_syscall_buf(const struct sock *sk, __u8 dir, __u64 *room)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u8 kind;

	/* Threads with no system call of their own: their saved registers say nothing. */
	if (task->flags & (NL_PF_KTHREAD | NL_PF_IO_WORKER))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	kind = http_syscall_kind(http_syscall_nr(regs), dir);
	if (kind == HTTP_BUF_NONE || sock_from_fd(PT_REGS_PARM1_SYSCALL(regs)) != sk)
		return 0;
	return http_first_buf(kind, PT_REGS_PARM2_SYSCALL(regs), room);
}

static __always_inline void http_fill(struct http_event *e, const struct tcp_rec *r, __u64 sk,
				      __u8 kind, __u8 dir, __u64 ts)
{
	e->ts = ts;
	e->sk = sk;
	e->prev_bytes = r->http.bytes;
	e->id = r->id;
	e->kind = kind;
	e->dir = dir;
	e->proto = r->http.proto;
	e->tls = r->http.tls;
	e->inbound = !!(r->flags & CONN_F_INBOUND);
	e->err = 0;
	e->cap_len = 0;
}

/* The call's first bytes (at most HTTP_CAPTURE) copied into e->data; how many. */
static __always_inline __u64 http_capture(struct http_event *e, __u64 ret, __u64 ubuf, __u64 room)
{
	__u64 n = ret < room ? ret : room;

	if (n > HTTP_CAPTURE)
		n = HTTP_CAPTURE;
	/* Keep clang from folding the bound into a signed compare the verifier rejects. */
	barrier_var(n);
	if (n < 1 || n > HTTP_CAPTURE || !ubuf || bpf_probe_read_user(e->data, n, (void *)ubuf))
		n = 0;
	return n;
}

/*
 * A message begins on r's socket: its record, with its first bytes; the
 * socket's first one is classified here (foreign: discarded).
 */
static __always_inline void http_begin(struct tcp_rec *r, __u64 sk, __u8 dir, __u64 ret,
				       __u64 ubuf, __u64 room, __u64 ts)
{
	struct http_event *e;
	__u64 n;

	/* Nothing to classify (sendfile, io_uring first): decide on the next message. */
	if (!r->http.proto && !ubuf)
		return;
	e = ring_reserve(&http_events, TCP_ROW_HTTP, sizeof(*e));
	if (!e)
		return;
	n = http_capture(e, ret, ubuf, room);
	if (!r->http.proto) {
		__u8 proto = n ? http_classify(e->data, n) : 0;

		if (!proto) {
			if (n)
				r->http.proto = HTTP_PROTO_FOREIGN;
			bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
			return;
		}
		r->http.proto = proto;
	}
	http_fill(e, r, sk, HTTP_EV_MSG, dir, ts);
	e->cap_len = n;
	e->len = ret;
	owner_from_current(&e->owner);
	r->http.bytes = ret;
	r->http.dir = dir;
	ring_submit(&http_events, TCP_ROW_HTTP, e);
}

/*
 * A send within a message: if it starts like the socket's protocol's next
 * request (client) or response (server), a record with its first bytes
 * (pipelining: several answers, or requests, written by separate calls).
 */
static __always_inline void http_part(struct tcp_rec *r, __u64 sk, __u64 ret, __u64 ubuf,
				      __u64 room, __u64 ts)
{
	struct http_event *e;
	__u64 first = 0, n = ret < room ? ret : room;

	if (!r->http.proto || n < 8 || !ubuf ||
	    bpf_probe_read_user(&first, sizeof(first), (void *)ubuf) ||
	    http_match_sig(first, r->flags & CONN_F_INBOUND) != r->http.proto)
		return;
	e = ring_reserve(&http_events, TCP_ROW_HTTP, sizeof(*e));
	if (!e)
		return;
	http_fill(e, r, sk, HTTP_EV_PART, HTTP_DIR_SEND, ts);
	e->cap_len = http_capture(e, ret, ubuf, room);
	e->len = ret;
	owner_from_current(&e->owner);
	ring_submit(&http_events, TCP_ROW_HTTP, e);
}

/* r's socket is one http reports: identified, kept by the filters, its side known. */
static __always_inline bool http_follows(const struct tcp_rec *r)
{
	return r->identified && r->match && (r->flags & TCP_F_DIRECTION) && rec_owner_kept(r);
}

/* The call needs its bytes: it begins a message, or it is a send that may begin a part. */
static __always_inline bool http_wants_bytes(const struct tcp_rec *r, __u8 dir)
{
	return r->http.dir != dir || (dir == HTTP_DIR_SEND && r->http.proto);
}

/*
 * ret bytes moved in direction dir on r's socket sk, from the user buffer
 * ubuf (room: its size; 0: not known), the first of them at ts.
 */
static __always_inline void http_on_data(struct tcp_rec *r, __u64 sk, __u8 dir, __u64 ret,
					 __u64 ubuf, __u64 room, bool tls, __u64 ts)
{
	if (tls && !r->http.tls) {
		/* The bytes seen so far were the TLS handshake: start over on the plaintext. */
		r->http.tls = 1;
		r->http.proto = 0;
		r->http.dir = HTTP_DIR_NONE;
		r->http.bytes = 0;
	}
	if (r->http.proto == HTTP_PROTO_FOREIGN || tls != r->http.tls)
		return;
	if (r->http.dir == dir) {
		if (dir == HTTP_DIR_SEND)
			http_part(r, sk, ret, ubuf, room, ts);
		r->http.bytes += ret;
		return;
	}
	http_begin(r, sk, dir, ret, ubuf, room, ts);
}

static __always_inline struct http_ssl_call *http_ssl_call_of_current(__u64 flags)
{
	return bpf_task_storage_get(&http_ssl_calls, bpf_get_current_task_btf(), 0, flags);
}

/*
 * sock:sock_send_length / sock_recv_length: ret bytes (> 0) moved in
 * direction dir on sk by the current task, now: the end of the call (btf:
 * sk is a typed tp_btf argument).
 */
static __always_inline void http_on_io(const struct sock *sk, __u8 dir, __u64 ret, const bool btf)
{
	struct http_ssl_call *ssl;
	struct tcp_rec *r;
	__u64 ubuf = 0, room = 0;

	if (READ(btf, sk, sk_protocol) != NL_IPPROTO_TCP)
		return;
	r = rec_of(sk);
	if (!r || !http_follows(r))
		return;
	/* Not known to be plaintext: it may be TLS. */
	if (r->http.tls || !r->http.proto || r->http.proto == HTTP_PROTO_FOREIGN) {
		ssl = http_ssl_call_of_current(0);
		if (ssl && ssl->ssl) {
			/* Inside SSL_read/SSL_write: ciphertext, but now we know the socket. */
			ssl->sk = (__u64)sk;
			return;
		}
		if (r->http.tls || r->http.proto == HTTP_PROTO_FOREIGN)
			return;
	}
	if (http_wants_bytes(r, dir))
		ubuf = http_syscall_buf(sk, dir, &room);
	http_on_data(r, (__u64)sk, dir, ret, ubuf, room, false, bpf_ktime_get_ns());
}

/* The socket closed: a record for a protocol socket, so user space ends its exchanges. */
static __always_inline void http_on_close(const struct sock *sk, const struct tcp_rec *r,
					  const bool btf)
{
	struct http_event *e;

	if (!r->http.proto || r->http.proto == HTTP_PROTO_FOREIGN)
		return;
	e = ring_reserve(&http_events, TCP_ROW_HTTP, sizeof(*e));
	if (!e)
		return;
	http_fill(e, r, (__u64)sk, HTTP_EV_CLOSE, HTTP_DIR_NONE, bpf_ktime_get_ns());
	e->len = 0;
	e->owner = r->owner;     /* softirq or a timer: current is not the owner */
	e->err = READ(btf, sk, sk_err) == NL_ECONNRESET ? HTTP_RESET : HTTP_CLOSED;
	ring_submit(&http_events, TCP_ROW_HTTP, e);
}

static __always_inline void http_ssl_enter(__u64 ssl, __u64 buf, __u64 exlen, __u8 dir)
{
	struct http_ssl_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .ssl = ssl };
	struct http_ssl_call *c = http_ssl_call_of_current(BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u64 *sk;

	if (!c) {      /* no memory for this thread's slot */
		stat_row_inc(TCP_ROW_HTTP, NL_STAT_MAP_FULL);
		return;
	}
	sk = bpf_map_lookup_elem(&http_ssl_socks, &k);
	c->ssl = ssl;
	c->buf = buf;
	c->exlen = exlen;
	c->sk = c->sk_known = sk ? *sk : 0;
	c->ts = bpf_ktime_get_ns();
	c->dir = dir;
}

static __always_inline void http_ssl_return(long ret)
{
	struct http_ssl_call *p = http_ssl_call_of_current(0), c;
	struct http_ssl_key k = { .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct tcp_rec *r;
	__u64 n = ret;

	if (!p || !p->ssl)
		return;
	c = *p;
	p->ssl = 0;
	/* Failed (<= 0); else the _ex arguments hold the size, the others return it. */
	if (ret <= 0 || (c.exlen && bpf_probe_read_user(&n, sizeof(n), (void *)c.exlen)) || !n)
		return;
	if (!c.sk) {
		stat_row_inc(TCP_ROW_HTTP, HTTP_STAT_TLS_NO_SOCK);
		return;
	}
	if (c.sk != c.sk_known) {
		k.ssl = c.ssl;
		map_insert_row(TCP_ROW_HTTP, &http_ssl_socks, &k, &c.sk, BPF_ANY);
	}
	r = rec_of((const struct sock *)c.sk);
	if (!r || !http_follows(r))
		return;
	/* A send's first byte: at the entry of SSL_write; a receive's: at the return. */
	http_on_data(r, c.sk, c.dir, n, c.buf, ~0ULL, true,
		     c.dir == HTTP_DIR_SEND ? c.ts : bpf_ktime_get_ns());
}

#endif
