// SPDX-License-Identifier: GPL-2.0
/*
 * netlens TCP core: the one BPF object that follows TCP sockets for conns,
 * latency and retrans. It owns the hooks they share (sock:inet_sock_set_state,
 * the accept(2)/connect(2) exits) and one record per socket
 * (src/tcp/tcp.bpf.h); each capability's logic is an inline step
 * (src/<capability>/<capability>.bpf.h) switched on before load
 * (tcp_conns, tcp_latency, tcp_retrans, tcp_http), so `netlens conns` carries no
 * latency work and `serve` loads the core once.
 *
 * Hooks with a BTF-typed variant have two programs (user space loads one
 * set): tp_btf (plain loads instead of bpf_probe_read_kernel()) and raw_tp,
 * the fallback when the kernel refuses tp_btf; sock:inet_sock_set_state has
 * a third, the classic tracepoint (conns --hook tracepoint).
 */
#define NL_STAT_ROWS TCP_ROWS
#define NL_OWN_RINGS
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcp/tcp_abi.h"
#include "conns/conns.bpf.h"
#include "latency/latency.bpf.h"
#include "retrans/retrans.bpf.h"
#include "http/http.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline void on_established(const struct sock *sk, int oldstate, __u64 now,
					   const bool btf)
{
	struct tcp_rec child, *r;
	__u64 key = (__u64)sk;

	if (oldstate == BPF_TCP_SYN_RECV) {
		/*
		 * A listener's child: its record begins here, built on the stack and
		 * inserted once. The child joins the accept queue before this
		 * transition, but accept(2) cannot return it until the softirq
		 * that makes it ESTABLISHED has released the child's lock.
		 */
		child = (struct tcp_rec){ .ts_start = now, .ts_established = now,
					  .flags = CONN_F_INBOUND | CONN_F_BIRTH };
		r = &child;
	} else {
		r = rec_of(sk);
		if (!r)
			return;
		r->ts_established = now;
		r->flags |= CONN_F_BIRTH;
	}
	rec_identify(sk, r, btf);   /* now, while final: every later step reuses it */
	if (tcp_conns)
		conns_on_established(sk, r, oldstate, now, btf);
	if (tcp_latency)
		lat_on_established(r, oldstate, now);
	if (tcp_retrans)
		rt_on_established(sk, r, oldstate, btf);
	if (r == &child)
		map_insert_row(TCP_ROW_CORE, &tcp_socks, &key, &child, BPF_ANY);
}

static __always_inline void on_close(const struct sock *sk, int oldstate, __u64 now, const bool btf)
{
	struct tcp_rec local = {}, *r = rec_of(sk);

	if (tcp_conns)
		conns_on_close(sk, r ? r : &local, oldstate, now, btf);
	if (!r)
		return;
	if (tcp_retrans)
		rt_flush(sk, r, btf);
	if (tcp_http)
		http_on_close(sk, r, btf);
	rec_delete(sk);
}

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate,
				    const bool btf)
{
	__u64 now;

	/* Most transitions (SYN_RECV, FIN_WAIT*, CLOSE_WAIT, LAST_ACK...) need nothing: leave first. */
	if (newstate != BPF_TCP_SYN_SENT && newstate != BPF_TCP_ESTABLISHED &&
	    newstate != BPF_TCP_CLOSE && newstate != BPF_TCP_LISTEN)
		return 0;
	if (READ(btf, sk, sk_protocol) != NL_IPPROTO_TCP)
		return 0;
	now = bpf_ktime_get_ns();
	switch (newstate) {
	case BPF_TCP_SYN_SENT:      /* inside connect(2): the owner is current */
		rec_insert(sk, now, CONN_F_OUTBOUND, true, BPF_ANY);
		break;
	case BPF_TCP_LISTEN:        /* inside listen(2): the owner of its SYN-ACKs */
		if (tcp_retrans)
			rec_insert(sk, now, TCP_F_LISTENER, true, BPF_ANY);
		break;
	case BPF_TCP_ESTABLISHED:
		on_established(sk, oldstate, now, btf);
		break;
	case BPF_TCP_CLOSE:
		on_close(sk, oldstate, now, btf);
		break;
	}
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, oldstate, newstate, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tcp_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, oldstate, newstate, false);
}

SEC("tp/sock/inet_sock_set_state")
int tcp_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != NL_IPPROTO_TCP)
		return 0;
	return on_state(ctx->skaddr, ctx->oldstate, ctx->newstate, false);
}

/* accept(2)/accept4(2) returned a connected socket to the process that owns it. */
static __always_inline int on_accept_exit(long ret)
{
	struct sock *sk = owner_accepted_sock(ret);
	struct tcp_rec *r;

	if (!sk)
		return 0;
	r = rec_of(sk);
	if (!r || (r->flags & CONN_F_ACCEPTED))
		return 0;
	owner_from_current(&r->owner);
	r->flags |= CONN_F_ACCEPTED;
	/* A child seen from its birth; not one met later (handshake older than netlens). */
	if (tcp_conns && (r->flags & CONN_F_INBOUND))
		conns_emit_accept(sk, r, bpf_ktime_get_ns(), false);
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int tcp_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx->ret);
}

SEC("tp/syscalls/sys_exit_accept")
int tcp_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx->ret);
}

SEC("tp/syscalls/sys_exit_connect")
int tcp_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	conns_on_connect_exit(ctx->ret);
	return 0;
}

SEC("tp/syscalls/sys_enter_getsockopt")
int tcp_getsockopt_enter(struct trace_event_raw_sys_enter *ctx)
{
	conns_on_getsockopt(ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_probe_btf, const struct sock *sk, const struct sk_buff *skb)
{
	lat_on_probe(sk, skb, true);
	return 0;
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(tcp_probe_raw, const struct sock *sk, const struct sk_buff *skb)
{
	lat_on_probe(sk, skb, false);
	return 0;
}

/*
 * The end of every sendmsg/recvmsg of a socket, any protocol (a pipe or a
 * file never comes here): latency's request clock, http's data.
 */
static __always_inline void on_send(const struct sock *sk, int ret, const bool btf)
{
	if (ret <= 0)
		return;
	if (tcp_latency)
		lat_on_io(sk, true);
	if (tcp_http)
		http_on_io(sk, HTTP_DIR_SEND, ret, btf);
}

static __always_inline void on_recv(const struct sock *sk, int ret, int flags, const bool btf)
{
	if (!lat_recv_counts(ret, flags))
		return;
	if (tcp_latency)
		lat_on_io(sk, false);
	if (tcp_http)
		http_on_io(sk, HTTP_DIR_RECV, ret, btf);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tcp_send_btf, const struct sock *sk, int ret, int flags)
{
	on_send(sk, ret, true);
	return 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(tcp_send_raw, const struct sock *sk, int ret, int flags)
{
	on_send(sk, ret, false);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tcp_recv_btf, const struct sock *sk, int ret, int flags)
{
	on_recv(sk, ret, flags, true);
	return 0;
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(tcp_recv_raw, const struct sock *sk, int ret, int flags)
{
	on_recv(sk, ret, flags, false);
	return 0;
}

/* Linux 6.17+ passes the attempt's result, and fires for failed attempts too. */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_err, const struct sock *sk, const struct sk_buff *skb, int err)
{
	rt_on_retransmit(sk, skb, !err);
	return 0;
}

/* Older kernels: fired only for segments that left. */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	rt_on_retransmit(sk, skb, true);
	return 0;
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(tcp_retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	rt_on_synack(sk, req);
	return 0;
}

/* OpenSSL 3 (libssl.so.3), attached by user space to every copy found (src/http/http_tls.c). */
SEC("uprobe")
int BPF_KPROBE(http_ssl_write, void *ssl, const void *buf)
{
	http_ssl_enter((__u64)ssl, (__u64)buf, 0, HTTP_DIR_SEND);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(http_ssl_write_ex, void *ssl, const void *buf, __u64 num, __u64 *written)
{
	http_ssl_enter((__u64)ssl, (__u64)buf, (__u64)written, HTTP_DIR_SEND);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(http_ssl_read, void *ssl, void *buf)
{
	http_ssl_enter((__u64)ssl, (__u64)buf, 0, HTTP_DIR_RECV);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(http_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	http_ssl_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, HTTP_DIR_RECV);
	return 0;
}

/* The return of all four (BPF_KPROBE/BPF_KRETPROBE: the same pt_regs for uprobes). */
SEC("uretprobe")
int BPF_KRETPROBE(http_ssl_ret, long ret)
{
	http_ssl_return((int)ret);
	return 0;
}

static long flush_one(struct bpf_map *map, __u64 *key, struct tcp_rec *r, void *ctx)
{
	rt_flush((const struct sock *)*key, r, false);
	return 0;
}

/*
 * Run by user space (BPF_PROG_TEST_RUN) before it reads retrans' totals:
 * adds what every live connection sent since the last look. Never attached.
 */
SEC("raw_tp")
int tcp_flush(void *ctx)
{
	bpf_for_each_map_elem(&tcp_socks, flush_one, NULL, 0);
	return 0;
}
