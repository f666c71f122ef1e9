// SPDX-License-Identifier: GPL-2.0
/* livegen.bpf.c: the in-kernel live-frames generator (xdp-trafficgen's method). Run with
 * BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES, it rewrites the frame and returns XDP_TX, which
 * sends it out of the device given as ingress_ifindex. The kernel recycles the pages without
 * re-initialising them (a receiver may have edited a frame in place), so every header field is
 * written on every run. Ethernet + IPv4 + UDP, checksums computed. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench/xdp/bench_abi.h"

#define MAX_PAYLOAD_WORDS 740 /* (1514 - 42) / 2 */

const volatile struct bench_flow flow = {};
/* --host-stride: frame n goes to dst MAC and IP number n * host_stride (modulo their counts), so
 * an odd stride walks the whole range in a scattered order instead of one neighbour after the
 * other; 1 is the plain round robin. */
const volatile __u64 host_stride = 1;

__u64 seq = 0; /* one CPU runs the live frames loop: no atomics */

static __always_inline void put_mac(unsigned char *p, __u64 mac)
{
	p[0] = mac >> 40;
	p[1] = mac >> 32;
	p[2] = mac >> 24;
	p[3] = mac >> 16;
	p[4] = mac >> 8;
	p[5] = mac;
}

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int xdp_livegen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 *payload = (void *)(udp + 1);
	__u32 frame_len = flow.frame_len;
	__u16 udp_len, *w;
	__u32 sum, i, words;
	__u64 n = seq++;
	__u64 host = n * host_stride;

	if ((void *)(payload + 3) > data_end || data + frame_len > data_end || frame_len < 54)
		return XDP_ABORTED;

	put_mac(eth->h_dest, flow.dst_mac + host % flow.dst_mac_count);
	put_mac(eth->h_source, flow.src_mac);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(frame_len - sizeof(*eth));
	ip->id = bpf_htons((__u16)n);
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = bpf_htonl(flow.src_ip);
	ip->daddr = bpf_htonl(flow.dst_ip + (__u32)(host % flow.dst_ip_count));
	sum = 0;
	w = (__u16 *)ip;
#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	ip->check = fold(sum);

	udp_len = frame_len - sizeof(*eth) - sizeof(*ip);
	udp->source = bpf_htons(flow.sport_lo + (__u16)(n % (flow.sport_hi - flow.sport_lo + 1)));
	udp->dest = bpf_htons(flow.dport_lo + (__u16)(n % (flow.dport_hi - flow.dport_lo + 1)));
	udp->len = bpf_htons(udp_len);
	udp->check = 0;
	payload[0] = bpf_htonl(BENCH_MAGIC);
	payload[1] = bpf_htonl(n >> 32);
	payload[2] = bpf_htonl((__u32)n);

	/* UDP checksum: pseudo header, then the UDP header and payload as 16-bit words (the
	 * payload after the sequence number is zero, written here too). */
	sum = (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16) +
	      bpf_htons(IPPROTO_UDP) + udp->len;
	words = udp_len / 2;
	w = (__u16 *)udp;
	for (i = 0; i < MAX_PAYLOAD_WORDS; i++) {
		if (i >= words || (void *)(w + i + 1) > data_end)
			break;
		if (i >= 10) /* past header + magic + sequence: zero the rest */
			w[i] = 0;
		sum += w[i];
	}
	if (udp_len & 1) {
		/* The mask bounds the offset for the verifier (udp_len <= 1480). */
		unsigned char *last = (unsigned char *)udp + ((udp_len - 1) & 0x7ff);

		if ((void *)(last + 1) <= data_end) {
			*last = 0;
		}
	}
	udp->check = fold(sum);
	if (udp->check == 0)
		udp->check = 0xffff;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
