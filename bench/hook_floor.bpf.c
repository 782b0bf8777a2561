// SPDX-License-Identifier: GPL-2.0
/*
 * Programs that do nothing, on every hook netlens serve uses by default: what
 * a hook costs before any program on it does work (bench/hook_floor.c
 * attaches them; serve_bench.py and latency_bench.py --floor).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_state) { return 0; }

SEC("tp_btf/tcp_probe")
int BPF_PROG(floor_probe) { return 0; }

SEC("tp_btf/sock_send_length")
int BPF_PROG(floor_send) { return 0; }

SEC("tp_btf/sock_recv_length")
int BPF_PROG(floor_recv) { return 0; }

SEC("tp_btf/kfree_skb")
int BPF_PROG(floor_kfree_skb) { return 0; }

SEC("cgroup_skb/ingress")
int floor_cg_ingress(struct __sk_buff *skb) { return 1; }

SEC("cgroup_skb/egress")
int floor_cg_egress(struct __sk_buff *skb) { return 1; }

SEC("tc")
int floor_tc_ingress(struct __sk_buff *skb) { return -1; }   /* TC_ACT_UNSPEC */

SEC("tc")
int floor_tc_egress(struct __sk_buff *skb) { return -1; }
