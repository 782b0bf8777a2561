/* SPDX-License-Identifier: GPL-2.0 */
/*
 * http's steps in the TCP core (src/tcp/tcp.bpf.c): the data a process
 * writes and reads on a socket the core follows, as messages.
 *
 * Plaintext comes from the socket syscalls (read, write, readv, writev,
 * recvfrom, sendto, recvmsg, sendmsg, sendfile): the entry finds the
 * socket behind the fd (sock_from_fd(), a file that is no socket leaves
 * there) and its core record, and parks the buffer per thread; the exit
 * takes the bytes the call moved. TLS comes from uprobes on OpenSSL's
 * SSL_read/SSL_write (and _ex): the entry marks the thread, the syscall it
 * makes inside names the socket (its bytes are ciphertext: not taken), the
 * return hands the plaintext.
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

const volatile struct http_sig http_sigs[HTTP_MAX_SIGS];       /* request starts */
const volatile struct http_sig http_resp_sigs[HTTP_MAX_SIGS];  /* response starts */

NL_RING(http_events);

/* Where a syscall's data is: a buffer, an iovec array, a msghdr, or none (sendfile). */
enum http_buf { HTTP_BUF_PLAIN, HTTP_BUF_IOV, HTTP_BUF_MSG, HTTP_BUF_NONE };

struct http_call {
	__u64 sk;
	__u64 buf;
	__u64 ts;                /* the entry: a send's first byte leaves now */
	__u8  kind;              /* enum http_buf */
	__u8  dir;               /* enum http_dir */
	__u8  pad[6];
};

/*
 * A socket syscall in flight, per thread (entry to exit). LRU: a thread that
 * dies inside a call leaves its entry, which must not fill the map for good.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct http_call);
} http_calls SEC(".maps");

struct http_ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 exlen;             /* _ex forms: where the size goes; 0 for SSL_read/SSL_write */
	__u64 sk;                /* learned from the SSL object, or from the syscall inside */
	__u64 ts;                /* the entry */
	__u8  dir;
	__u8  pad[7];
};

/* An SSL_read/SSL_write in flight, per thread (LRU: as http_calls). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct http_ssl_call);
} http_ssl_calls SEC(".maps");

struct http_ssl_key {
	__u32 tgid;              /* SSL pointers are per address space */
	__u32 pad;
	__u64 ssl;
};

/* The socket under an SSL object, for calls served from OpenSSL's buffer (no syscall). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct http_ssl_key);
	__type(value, __u64);
} http_ssl_socks SEC(".maps");

/*
 * Processes that connected or accepted a TCP socket while netlens ran (the
 * core's owner rules): the syscall entries of every other process (a pipe,
 * a file) leave after this one lookup, before walking their fd table.
 * LRU: an exited process's entry is dropped when room is needed.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} http_pids SEC(".maps");

/* The current process owns a socket the core follows (inside connect(2), at accept's exit). */
static __always_inline void http_mark_current(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 one = 1;

	if (!bpf_map_lookup_elem(&http_pids, &tgid))
		map_insert_row(TCP_ROW_HTTP, &http_pids, &tgid, &one, BPF_ANY);
}

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

/* The user buffer holding the start of the call's data (the first iovec's, capped to it). */
static __always_inline __u64 http_first_buf(const struct http_call *c, __u64 *room)
{
	struct iovec iov = {};
	__u64 iovp = c->buf;

	*room = ~0ULL;
	if (c->kind == HTTP_BUF_PLAIN)
		return c->buf;
	if (c->kind == HTTP_BUF_MSG &&
	    bpf_probe_read_user(&iovp, sizeof(iovp), &((struct user_msghdr *)c->buf)->msg_iov))
		return 0;
	if (bpf_probe_read_user(&iov, sizeof(iov), (void *)iovp))
		return 0;
	*room = iov.iov_len;
	return (__u64)iov.iov_base;
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
				       __u64 ubuf, __u64 room, __u64 entry_ts)
{
	struct http_event *e = ring_reserve(&http_events, TCP_ROW_HTTP, sizeof(*e));
	__u64 n;

	if (!e)
		return;
	n = http_capture(e, ret, ubuf, room);
	if (!r->http.proto) {
		__u8 proto = n ? http_classify(e->data, n) : 0;

		if (!proto) {
			/* Nothing to classify (sendfile first): decide on the next message. */
			if (n)
				r->http.proto = HTTP_PROTO_FOREIGN;
			bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
			return;
		}
		r->http.proto = proto;
	}
	/* A message's first byte: written at the call's entry, read at its return. */
	http_fill(e, r, sk, HTTP_EV_MSG, dir, dir == HTTP_DIR_SEND ? entry_ts : bpf_ktime_get_ns());
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
				      __u64 room, __u64 entry_ts)
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
	http_fill(e, r, sk, HTTP_EV_PART, HTTP_DIR_SEND, entry_ts);
	e->cap_len = http_capture(e, ret, ubuf, room);
	e->len = ret;
	owner_from_current(&e->owner);
	ring_submit(&http_events, TCP_ROW_HTTP, e);
}

/*
 * ret bytes moved in direction dir on sk, from the user buffer ubuf (room:
 * its size), by a call that began at entry_ts.
 */
static __always_inline void http_on_data(__u64 sk, __u8 dir, __u64 ret, __u64 ubuf, __u64 room,
					 bool tls, __u64 entry_ts)
{
	struct tcp_rec *r = rec_of((const struct sock *)sk);

	if (!r || !r->identified || !r->match || !(r->flags & TCP_F_DIRECTION) ||
	    !rec_owner_kept(r))
		return;
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
			http_part(r, sk, ret, ubuf, room, entry_ts);
		r->http.bytes += ret;
		return;
	}
	http_begin(r, sk, dir, ret, ubuf, room, entry_ts);
}

/* Syscall entry: parks the call if fd is a socket the core follows and nobody ignores. */
static __always_inline void http_on_enter(long fd, __u64 buf, __u8 kind, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct http_call c = { .buf = buf, .kind = kind, .dir = dir, .ts = bpf_ktime_get_ns() };
	struct http_ssl_call *ssl;
	struct sock *sk;
	struct tcp_rec *r;

	if (!bpf_map_lookup_elem(&http_pids, &tgid))
		return;
	sk = sock_from_fd(fd);
	if (!sk)
		return;
	r = rec_of(sk);
	if (!r)
		return;
	ssl = bpf_map_lookup_elem(&http_ssl_calls, &tid);
	if (ssl) {     /* inside SSL_read/SSL_write: ciphertext, but now we know the socket */
		ssl->sk = (__u64)sk;
		return;
	}
	if (r->http.proto == HTTP_PROTO_FOREIGN || r->http.tls)
		return;
	c.sk = (__u64)sk;
	map_insert_row(TCP_ROW_HTTP, &http_calls, &tid, &c, BPF_ANY);
}

static __always_inline void http_on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct http_call *p = bpf_map_lookup_elem(&http_calls, &tid);
	struct http_call c;
	__u64 ubuf = 0, room = 0;

	if (!p)
		return;
	c = *p;
	bpf_map_delete_elem(&http_calls, &tid);
	if (ret <= 0)
		return;
	if (c.kind != HTTP_BUF_NONE)
		ubuf = http_first_buf(&c, &room);
	http_on_data(c.sk, c.dir, ret, ubuf, room, false, c.ts);
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
	__u64 id = bpf_get_current_pid_tgid();
	struct http_ssl_key k = { .tgid = id >> 32, .ssl = ssl };
	struct http_ssl_call c = { .ssl = ssl, .buf = buf, .exlen = exlen, .dir = dir,
				   .ts = bpf_ktime_get_ns() };
	__u32 tid = (__u32)id;
	__u64 *sk = bpf_map_lookup_elem(&http_ssl_socks, &k);

	if (sk)
		c.sk = *sk;
	map_insert_row(TCP_ROW_HTTP, &http_ssl_calls, &tid, &c, BPF_ANY);
}

static __always_inline void http_ssl_return(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct http_ssl_call *p = bpf_map_lookup_elem(&http_ssl_calls, &tid), c;
	struct http_ssl_key k = { .tgid = id >> 32 };
	__u64 n = ret;

	if (!p)
		return;
	c = *p;
	bpf_map_delete_elem(&http_ssl_calls, &tid);
	/* The _ex forms return 1 and store the size; the others return it. */
	if (c.exlen && (ret != 1 || bpf_probe_read_user(&n, sizeof(n), (void *)c.exlen)))
		return;
	if (ret <= 0 || !n)
		return;
	if (!c.sk) {
		stat_row_inc(TCP_ROW_HTTP, HTTP_STAT_TLS_NO_SOCK);
		return;
	}
	k.ssl = c.ssl;
	map_insert_row(TCP_ROW_HTTP, &http_ssl_socks, &k, &c.sk, BPF_ANY);
	http_on_data(c.sk, c.dir, n, c.buf, ~0ULL, true, c.ts);
}

#endif
