/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A packet parser for XDP and TC with direct packet access: the caller passes
 * data and data_end (xdp_md or __sk_buff), the parser fills a struct flow_key.
 * It walks Ethernet, up to two VLAN tags (802.1ad/802.1Q), IPv4 (options,
 * fragments) or IPv6 (hop-by-hop, routing, fragment, destination options and
 * AH headers), then the ports of TCP/UDP/UDP-Lite/SCTP or the type and code
 * of ICMP/ICMPv6. It only reads; what it cannot parse it says so in the key.
 */
#ifndef NETLENS_PACKET_BPF_H
#define NETLENS_PACKET_BPF_H

#include <bpf/bpf_endian.h>
#include "flows/flows_abi.h"

#define PKT_ETH_HLEN      14
#define PKT_ETH_P_IP      0x0800
#define PKT_ETH_P_IPV6    0x86DD
#define PKT_ETH_P_8021Q   0x8100
#define PKT_ETH_P_8021AD  0x88A8
#define PKT_VLAN_VID_MASK 0x0fff
#define PKT_MAX_VLANS     2
#define PKT_MAX_EXT_HDRS  8    /* IPv6 extension headers walked before giving up */

#define PKT_IPPROTO_HOPOPTS  0
#define PKT_IPPROTO_ICMP     1
#define PKT_IPPROTO_TCP      6
#define PKT_IPPROTO_UDP      17
#define PKT_IPPROTO_ROUTING  43
#define PKT_IPPROTO_FRAGMENT 44
#define PKT_IPPROTO_AH       51
#define PKT_IPPROTO_ICMPV6   58
#define PKT_IPPROTO_DSTOPTS  60
#define PKT_IPPROTO_SCTP     132
#define PKT_IPPROTO_UDPLITE  136

#define PKT_IP_MF     0x2000
#define PKT_IP_OFFSET 0x1fff

enum pkt_result {
	PKT_IP,           /* an IPv4 or IPv6 packet: family, addresses, proto set */
	PKT_NON_IP,       /* another ethertype: key.ethertype says which */
	PKT_MALFORMED,    /* headers cut short; key.flags has FLOW_F_TRUNCATED */
};

/* Records a VLAN ID: the first tag seen is the outer one. */
static __always_inline void pkt_add_vlan(struct flow_key *k, __u16 tci)
{
	__u16 vid = tci & PKT_VLAN_VID_MASK;

	if (!k->vlan_outer)
		k->vlan_outer = vid;
	else
		k->vlan_inner = vid;
}

/* Ports, or ICMP type and code, at l4; the TCP flags byte into *tcp_flags. */
static __always_inline enum pkt_result pkt_l4(struct flow_key *k, void *l4, void *data_end,
					      __u8 *tcp_flags)
{
	__u8 *p = l4;

	switch (k->proto) {
	case PKT_IPPROTO_TCP:
		if (l4 + 14 > data_end)
			goto truncated;
		*tcp_flags = p[13];
		/* fallthrough */
	case PKT_IPPROTO_UDP:
	case PKT_IPPROTO_UDPLITE:
	case PKT_IPPROTO_SCTP:
		if (l4 + 4 > data_end)
			goto truncated;
		k->sport = ((__u16)p[0] << 8) | p[1];
		k->dport = ((__u16)p[2] << 8) | p[3];
		return PKT_IP;
	case PKT_IPPROTO_ICMP:
	case PKT_IPPROTO_ICMPV6:
		if (l4 + 2 > data_end)
			goto truncated;
		k->sport = p[0];
		k->dport = p[1];
		return PKT_IP;
	default:
		return PKT_IP;
	}
truncated:
	k->flags |= FLOW_F_TRUNCATED;
	return PKT_MALFORMED;
}

static __always_inline enum pkt_result pkt_ipv4(struct flow_key *k, void *l3, void *data_end,
						__u8 *tcp_flags)
{
	struct iphdr *ip = l3;
	__u32 hlen;

	if (l3 + sizeof(*ip) > data_end)
		goto truncated;
	k->family = 4;
	k->proto = ip->protocol;
	__builtin_memcpy(k->saddr, &ip->saddr, 4);
	__builtin_memcpy(k->daddr, &ip->daddr, 4);
	/* A later fragment has no L4 header: it counts under the addresses. */
	if (ip->frag_off & bpf_htons(PKT_IP_OFFSET)) {
		k->flags |= FLOW_F_FRAGMENT;
		return PKT_IP;
	}
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip) || l3 + hlen > data_end)
		goto truncated;
	return pkt_l4(k, l3 + hlen, data_end, tcp_flags);
truncated:
	k->flags |= FLOW_F_TRUNCATED;
	return PKT_MALFORMED;
}

static __always_inline enum pkt_result pkt_ipv6(struct flow_key *k, void *l3, void *data_end,
						__u8 *tcp_flags)
{
	struct ipv6hdr *ip6 = l3;
	void *cur = l3 + sizeof(*ip6);
	__u8 next;

	if (cur > data_end) {
		k->flags |= FLOW_F_TRUNCATED;
		return PKT_MALFORMED;
	}
	k->family = 6;
	__builtin_memcpy(k->saddr, &ip6->saddr, 16);
	__builtin_memcpy(k->daddr, &ip6->daddr, 16);
	next = ip6->nexthdr;
	for (int i = 0; i < PKT_MAX_EXT_HDRS; i++) {
		__u8 *h = cur;

		switch (next) {
		case PKT_IPPROTO_HOPOPTS:
		case PKT_IPPROTO_ROUTING:
		case PKT_IPPROTO_DSTOPTS:
			if (cur + 2 > data_end)
				goto truncated;
			next = h[0];
			cur += (h[1] + 1) * 8;
			break;
		case PKT_IPPROTO_AH:
			if (cur + 2 > data_end)
				goto truncated;
			next = h[0];
			cur += (h[1] + 2) * 4;
			break;
		case PKT_IPPROTO_FRAGMENT:
			if (cur + 8 > data_end)
				goto truncated;
			next = h[0];
			/* Offset in 8-byte units, bits 15..3 of bytes 2-3. */
			if ((((__u16)h[2] << 8) | h[3]) & 0xfff8) {
				k->proto = next;
				k->flags |= FLOW_F_FRAGMENT;
				return PKT_IP;
			}
			cur += 8;
			break;
		default:
			k->proto = next;
			return pkt_l4(k, cur, data_end, tcp_flags);
		}
	}
	/* More extension headers than we walk: addresses and the last header only. */
	k->proto = next;
	return PKT_IP;
truncated:
	k->proto = next;
	k->flags |= FLOW_F_TRUNCATED;
	return PKT_MALFORMED;
}

/*
 * Fills k (zeroed by the caller, ifindex and direction set, and vlan_outer if
 * the hook got the outer tag out of band) from the frame at [data, data_end).
 */
static __always_inline enum pkt_result parse_packet(struct flow_key *k, void *data,
						    void *data_end, __u8 *tcp_flags)
{
	void *cur = data + PKT_ETH_HLEN;
	__u16 proto;

	*tcp_flags = 0;
	if (cur > data_end) {
		k->flags |= FLOW_F_TRUNCATED;
		return PKT_MALFORMED;
	}
	proto = bpf_ntohs(((struct ethhdr *)data)->h_proto);
	for (int i = 0; i < PKT_MAX_VLANS; i++) {
		struct vlan_hdr *vh = cur;

		if (proto != PKT_ETH_P_8021Q && proto != PKT_ETH_P_8021AD)
			break;
		if (cur + sizeof(*vh) > data_end) {
			k->ethertype = proto;
			k->flags |= FLOW_F_TRUNCATED;
			return PKT_MALFORMED;
		}
		pkt_add_vlan(k, bpf_ntohs(vh->h_vlan_TCI));
		proto = bpf_ntohs(vh->h_vlan_encapsulated_proto);
		cur += sizeof(*vh);
	}
	k->ethertype = proto;
	if (proto == PKT_ETH_P_IP)
		return pkt_ipv4(k, cur, data_end, tcp_flags);
	if (proto == PKT_ETH_P_IPV6)
		return pkt_ipv6(k, cur, data_end, tcp_flags);
	return PKT_NON_IP;
}

#endif
