// SPDX-License-Identifier: GPL-2.0
/*
 * Empty programs, one per hook type, that `netlens probe` loads and
 * attaches one at a time to learn what this kernel really allows
 * (a program type can exist and still be refused at load or attach).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Tracing probes count their runs: attached is not enough, they must fire. */
__u64 hits;

SEC("raw_tp/inet_sock_set_state")
int probe_raw_tp(void *ctx) { __sync_fetch_and_add(&hits, 1); return 0; }

SEC("tp/sock/inet_sock_set_state")
int probe_tracepoint(void *ctx) { __sync_fetch_and_add(&hits, 1); return 0; }

SEC("kprobe/tcp_v4_connect")
int probe_kprobe(void *ctx) { __sync_fetch_and_add(&hits, 1); return 0; }

SEC("fentry/tcp_v4_connect")
int BPF_PROG(probe_fentry) { __sync_fetch_and_add(&hits, 1); return 0; }

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(probe_tp_btf) { __sync_fetch_and_add(&hits, 1); return 0; }

SEC("uprobe")
int probe_uprobe(void *ctx) { __sync_fetch_and_add(&hits, 1); return 0; }

SEC("xdp")
int probe_xdp(struct xdp_md *ctx) { return XDP_PASS; }

SEC("tc")
int probe_tc(struct __sk_buff *skb) { return 0; }

SEC("sockops")
int probe_sockops(struct bpf_sock_ops *ops) { return 1; }

SEC("cgroup_skb/ingress")
int probe_cgroup_skb(struct __sk_buff *skb) { return 1; }
