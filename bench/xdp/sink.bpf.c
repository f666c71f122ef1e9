// SPDX-License-Identifier: GPL-2.0
/* sink.bpf.c: the XDP counter on the sink side. It counts every frame and drops it, and checks
 * every frame against the configured flow (dst MAC and IP ranges, src MAC and IP, port ranges,
 * IPv4 and UDP checksums), counting valid and invalid frames separately. The checks run in every
 * mode, so the sink costs the same whether the loader reports validity or not. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench/xdp/bench_abi.h"

#define MAX_UDP_WORDS 740

const volatile struct bench_flow flow = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SINK_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sink_stats SEC(".maps");

static __always_inline void add(__u32 index, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&sink_stats, &index);

	if (c)
		*c += v;
}

static __always_inline __u64 get_mac(const unsigned char *p)
{
	return ((__u64)p[0] << 40) | ((__u64)p[1] << 32) | ((__u64)p[2] << 24) |
	       ((__u64)p[3] << 16) | ((__u64)p[4] << 8) | p[5];
}

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

static __always_inline int valid(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0, i, words;
	__u16 udp_len, port;
	__u64 mac;
	__u32 addr;

	if ((void *)(udp + 1) > data_end)
		return 0;
	mac = get_mac(eth->h_dest);
	if (mac - flow.dst_mac >= flow.dst_mac_count || get_mac(eth->h_source) != flow.src_mac ||
	    eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	if (ip->version != 4 || ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
	    bpf_ntohl(ip->saddr) != flow.src_ip)
		return 0;
	addr = bpf_ntohl(ip->daddr);
	if (addr - flow.dst_ip >= flow.dst_ip_count)
		return 0;
#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	if (fold(sum) != 0xffff)
		return 0;
	port = bpf_ntohs(udp->source);
	if (port < flow.sport_lo || port > flow.sport_hi)
		return 0;
	port = bpf_ntohs(udp->dest);
	if (port < flow.dport_lo || port > flow.dport_hi)
		return 0;
	udp_len = bpf_ntohs(udp->len);
	if (udp_len < sizeof(*udp) || (void *)udp + udp_len > data_end)
		return 0;
	if (udp->check == 0)
		return 1; /* no UDP checksum (allowed for IPv4) */
	sum = (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16) +
	      bpf_htons(IPPROTO_UDP) + udp->len;
	words = udp_len / 2;
	w = (__u16 *)udp;
	for (i = 0; i < MAX_UDP_WORDS; i++) {
		if (i >= words || (void *)(w + i + 1) > data_end)
			break;
		sum += w[i];
	}
	if (udp_len & 1) {
		/* The mask bounds the offset for the verifier (udp_len <= 1480 here). */
		unsigned char *last = (unsigned char *)udp + ((udp_len - 1) & 0x7ff);

		if ((void *)(last + 1) > data_end)
			return 0;
		sum += bpf_htons((__u16)*last << 8);
	}
	return fold(sum) == 0xffff;
}

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	add(SINK_FRAMES, 1);
	add(SINK_BYTES, data_end - data);
	add(valid(data, data_end) ? SINK_VALID : SINK_INVALID, 1);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
