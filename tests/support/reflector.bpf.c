// SPDX-License-Identifier: GPL-2.0
/* Test support: a reflector for the traffic generator's --rx tests. On the peer veth it swaps
 * the MACs, the IP addresses and the UDP ports of every IPv4/IPv6 frame (behind up to two VLAN
 * tags) and sends it back with XDP_TX. Swapping within the pseudo-header leaves every checksum
 * valid, so nothing else is touched. Everything else (ARP, ...) passes to the kernel.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tests/support/reflector_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REFLECTOR_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} reflector_counters SEC(".maps");

static __always_inline int count(__u32 reason, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&reflector_counters, &reason);

	if (c)
		*c += 1;
	return verdict;
}

static __always_inline void swap_bytes(__u8 *a, __u8 *b, int n)
{
	int i;

#pragma unroll
	for (i = 0; i < 16; i++) {
		if (i < n) {
			__u8 t = a[i];

			a[i] = b[i];
			b[i] = t;
		}
	}
}

SEC("xdp")
int reflector(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 proto;
	void *l3;
	__u8 l4proto;
	struct udphdr *udp = 0;
	int i;

	if ((void *)(eth + 1) > end)
		return count(REFLECTOR_TRUNCATED, XDP_PASS);
	proto = eth->h_proto;
	l3 = eth + 1;
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if (l3 + 4 > end)
			return count(REFLECTOR_TRUNCATED, XDP_PASS);
		proto = *(__be16 *)(l3 + 2);
		l3 += 4;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return count(REFLECTOR_TRUNCATED, XDP_PASS);
		swap_bytes((__u8 *)&ip->saddr, (__u8 *)&ip->daddr, 4);
		l4proto = ip->protocol;
		udp = l3 + ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > end)
			return count(REFLECTOR_TRUNCATED, XDP_PASS);
		swap_bytes((__u8 *)&ip6->saddr, (__u8 *)&ip6->daddr, 16);
		l4proto = ip6->nexthdr;
		udp = (void *)(ip6 + 1);
	} else {
		return count(REFLECTOR_PASSED, XDP_PASS);
	}
	if (l4proto == IPPROTO_UDP && (void *)(udp + 1) <= end) {
		__be16 port = udp->source;

		udp->source = udp->dest;
		udp->dest = port;
	}
	swap_bytes(eth->h_dest, eth->h_source, ETH_ALEN);
	return count(REFLECTOR_REFLECTED, XDP_TX);
}

/* Attached on the sending side by XdpPass: with native XDP attached, veth runs NAPI, which the
 * frames that come back by XDP_TX need (GRO alone does not enable it on this kernel).
 */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
