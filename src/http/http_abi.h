/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netlens http: what its step in the TCP core (src/http/http.bpf.h) hands
 * user space. The kernel follows the direction of the data on each socket
 * it follows and sends one record where a message begins (the first call
 * after the other side spoke: a request or a response), with the first
 * HTTP_CAPTURE bytes and the size of the message that ended, and one when
 * the socket closes. User space parses and matches (src/http/http_match.c).
 */
#ifndef NETLENS_HTTP_ABI_H
#define NETLENS_HTTP_ABI_H

#include "kernel/common_abi.h"

#define HTTP_CAPTURE 256       /* bytes of a message's start copied into its record */
#define HTTP_MAX_SIGS 16       /* first-bytes signatures of the protocols (src/http/http_proto.c), each kind */

/* A protocol's first bytes: (first 8 bytes & mask) == value, on a socket's first message. */
struct http_sig {
	__u64 value;
	__u64 mask;
	__u8  proto;           /* 1 + the protocol's index in http_protos[]; 0: unused slot */
	__u8  pad[7];
};

enum http_kind {
	HTTP_EV_MSG,           /* a message begins: data holds its first bytes */
	HTTP_EV_CLOSE,         /* the socket closed (err: why) */
	HTTP_EV_PART,          /* a send within a message starts like the next request
	                          (client) or response (server): pipelining; prev_bytes:
	                          the message's bytes before it */
};

enum http_dir {
	HTTP_DIR_NONE,
	HTTP_DIR_SEND,
	HTTP_DIR_RECV,
};

enum http_close {
	HTTP_CLOSED,           /* FIN, or closed by its owner */
	HTTP_RESET,            /* the peer reset it (sk_err ECONNRESET) */
};

/* The rows of enum nl_stat beyond the shared ones, in http's row of the core's counters. */
enum http_stat {
	HTTP_STAT_TLS_NO_SOCK = NL_STAT_MODULE,  /* SSL_read/SSL_write with no socket known yet */
};

struct http_event {
	__u64 ts;              /* CLOCK_MONOTONIC ns: a send's entry, a receive's return */
	__u64 sk;              /* the socket: the key user space matches on */
	__u64 prev_bytes;      /* the size of the message that ended here */
	struct nl_sock_id id;  /* from the TCP core's record */
	struct nl_owner owner; /* the caller (process context) */
	__u32 len;             /* bytes of this call */
	__u16 cap_len;         /* bytes of data[] valid */
	__u8  kind;            /* enum http_kind */
	__u8  dir;             /* enum http_dir */
	__u8  proto;           /* struct http_sig.proto */
	__u8  tls;             /* the data came from SSL_read/SSL_write (plaintext) */
	__u8  inbound;         /* the core's direction: 1 server side (accepted), 0 client */
	__u8  err;             /* HTTP_EV_CLOSE: enum http_close */
	__u8  data[HTTP_CAPTURE];
};

#endif
