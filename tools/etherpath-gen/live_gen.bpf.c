// SPDX-License-Identifier: GPL-2.0
/* live_gen.bpf.c: etherpath-gen's xdp-live engine. Run with BPF_PROG_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES, it writes one frame of the flow and returns XDP_TX, which sends it
 * out of the device given as ingress_ifindex. The kernel recycles the pages without clearing
 * them (a receiver may have edited a frame in place), so every header byte, the stamp and the
 * padding are written on every run. Ranges, VLANs and IPv4/IPv6 come from the prototype headers
 * userspace built; checksums from their cached sums plus the varying words. Frame sizes (IMIX)
 * follow the configured pattern within one run, cut from the largest with bpf_xdp_adjust_tail. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tools/etherpath-gen/live_gen_abi.h"

const volatile struct live_gen_config config = {};

/* One per CPU: each sending thread runs on a CPU of its own (--queues). */
struct live_gen_state state[LIVE_GEN_MAX_CPUS] = {};

static __always_inline void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static __always_inline void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static __always_inline __u64 words32(__u32 v)
{
	return (v >> 16) + (v & 0xffff);
}

static __always_inline __u16 finish(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int xdp_live_gen(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *data_end = (void *)(long)ctx->data_end;
	__u32 len = data_end - data;
	const volatile struct live_gen_proto *p;
	__u32 i, hl = config.header_len, proto = 0;
	struct live_gen_state *st = &state[bpf_get_smp_processor_id() & (LIVE_GEN_MAX_CPUS - 1)];
	__u64 seq = st->seq++;
	__u64 now;
	__u32 sip, dip, off;
	__u16 sport, dport, csum;
	__u64 mac, addr_sum, l4;

	if (config.pattern_len > 1) {
		proto = config.pattern[st->position & (LIVE_GEN_MAX_PATTERN - 1)];
		if (++st->position >= config.pattern_len)
			st->position = 0;
	}
	if (proto >= LIVE_GEN_MAX_SIZES)
		return XDP_ABORTED;
	p = &config.protos[proto];
	if (len > p->frame_len) {
		/* The run's frames start as the largest size; cut this one to its own. */
		if (bpf_xdp_adjust_tail(ctx, (int)p->frame_len - (int)len))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		len = data_end - data;
	}
	if (len != p->frame_len || hl > LIVE_GEN_MAX_HEADER || len > LIVE_GEN_MAX_FRAME)
		return XDP_ABORTED;
	/* The clock is a tenth of a frame's cost here: read it for every frame only when the
	 * stamps are measured (--rx), else once per clock_mask + 1 frames. */
	if ((seq & config.clock_mask) == 0)
		st->now = bpf_ktime_get_ns();
	now = st->now;

	/* Headers and stamp magic from the prototype, 8 bytes at a time. */
	for (i = 0; i < LIVE_GEN_MAX_HEADER / 8; i++) {
		if (i * 8 >= hl || data + i * 8 + 8 > data_end)
			break;
		*(__u64 *)(data + i * 8) = *(const volatile __u64 *)(p->header + i * 8);
	}
	/* Zero the padding after the stamp (the checksums count it as zero). */
	for (off = hl; off < LIVE_GEN_MAX_FRAME; off += 2) {
		if (off >= len || data + off + 2 > data_end)
			break;
		*(__u16 *)(data + off) = 0;
	}
	if (len & 1) {
		__u8 *last = data + ((len - 1) & 0xfff);

		if (last + 1 <= data_end)
			*last = 0;
	}

	mac = (config.src_mac + st->mac) & 0xffffffffffffULL;
	sip = config.src_ip + st->src_ip;
	dip = config.dst_ip + st->dst_ip;
	sport = config.sport + st->sport;
	dport = config.udp ? (__u16)(config.dport + st->dport) : (__u16)seq;

	if (data + 14 > data_end)
		return XDP_ABORTED;
	put16(data + 6, mac >> 32);
	put32(data + 8, mac);

	off = config.src_addr_off & 0xff;
	if (data + off + 4 > data_end)
		return XDP_ABORTED;
	put32(data + off, sip);
	off = config.dst_addr_off & 0xff;
	if (data + off + 4 > data_end)
		return XDP_ABORTED;
	put32(data + off, dip);
	off = config.port_off & 0xff;
	if (data + off + 4 > data_end)
		return XDP_ABORTED;
	put16(data + off, sport);
	put16(data + off + 2, dport);
	off = config.stamp_off & 0xff;
	if (data + off + 16 > data_end)
		return XDP_ABORTED;
	put32(data + off, seq >> 32);
	put32(data + off + 4, seq);
	put32(data + off + 8, now >> 32);
	put32(data + off + 12, now);

	addr_sum = words32(sip) + words32(dip);
	if (config.ip_csum_off) {
		off = config.ip_csum_off & 0xff;
		if (data + off + 2 > data_end)
			return XDP_ABORTED;
		put16(data + off, finish(p->ip_base_sum + addr_sum));
	}
	l4 = p->l4_base_sum + (config.pseudo_header ? addr_sum : 0) + sport + dport +
	     words32(seq >> 32) + words32(seq) + words32(now >> 32) + words32(now);
	csum = finish(l4);
	if (config.udp && csum == 0)
		csum = 0xffff;
	off = config.l4_csum_off & 0xff;
	if (data + off + 2 > data_end)
		return XDP_ABORTED;
	put16(data + off, csum);

	if (++st->mac >= config.src_mac_count)
		st->mac = 0;
	if (++st->src_ip >= config.src_ip_count)
		st->src_ip = 0;
	if (++st->dst_ip >= config.dst_ip_count)
		st->dst_ip = 0;
	if (++st->sport >= config.sport_count)
		st->sport = 0;
	if (++st->dport >= config.dport_count)
		st->dport = 0;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
