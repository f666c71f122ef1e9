/* live_gen_abi.h: the configuration etherpath-gen's xdp-live program reads (C, shared with the
 * BPF program). One prototype header per frame size; the fields that vary per packet are 0 in
 * it, and the sums are those of the constant parts (see FlowTemplate). */
#ifndef ETHERPATH_GEN_LIVE_GEN_ABI_H
#define ETHERPATH_GEN_LIVE_GEN_ABI_H

#include <linux/types.h>

/* C names shared with BPF keep the kernel's style. NOLINTBEGIN(readability-identifier-naming) */

#define LIVE_GEN_MAX_HEADER 128 /* Ethernet, two tags, IPv6, UDP, the stamp: fits */
#define LIVE_GEN_MAX_SIZES 3
#define LIVE_GEN_MAX_FRAME 3072
#define LIVE_GEN_MAX_PATTERN 16 /* IMIX's 12 frames per cycle fit */
#define LIVE_GEN_MAX_CPUS 64 /* the state array's size: a power of two (the index is masked) */

struct live_gen_proto {
	__u8 header[LIVE_GEN_MAX_HEADER]; /* the first header_len bytes of the frame */
	__u32 frame_len;
	__u32 pad;
	__u64 ip_base_sum; /* IPv4 only */
	__u64 l4_base_sum;
};

struct live_gen_config {
	struct live_gen_proto protos[LIVE_GEN_MAX_SIZES];
	/* Which prototype each frame of a cycle uses (IMIX: 7:4:1 interleaved). A run's data_in is
	 * the largest frame; smaller ones are cut to size with bpf_xdp_adjust_tail, so that one run
	 * carries every size (each run pays a fixed cost of milliseconds). */
	__u8 pattern[LIVE_GEN_MAX_PATTERN];
	__u32 pattern_len;
	__u32 proto_count;
	__u32 header_len; /* headers + stamp: rewritten on every run */
	__u32 src_addr_off; /* the low 32 bits of each address */
	__u32 dst_addr_off;
	__u32 port_off; /* UDP ports, or the ICMP echo id and sequence */
	__u32 l4_csum_off;
	__u32 ip_csum_off; /* 0: IPv6, no header checksum */
	__u32 stamp_off; /* the sequence number (8 bytes), then the TX time (8 bytes) */
	__u32 udp; /* 1: UDP (0 checksum sent as 0xffff, dport from its range); 0: ICMP echo */
	__u32 pseudo_header; /* the addresses count in the L4 checksum */
	__u64 src_mac;
	__u32 src_mac_count;
	__u32 src_ip;
	__u32 src_ip_count;
	__u32 dst_ip;
	__u32 dst_ip_count;
	__u32 sport;
	__u32 sport_count;
	__u32 dport;
	__u32 dport_count;
	__u32 clock_mask; /* read the clock when (seq & clock_mask) == 0: 0 = every frame (--rx) */
};

/* Per-packet position, kept by the program per CPU (one sending thread per CPU), a cache line
 * each so that the threads do not share one. */
struct live_gen_state {
	__u64 seq; /* the next sequence number, stream in the top bits (set by userspace) */
	__u32 mac, src_ip, dst_ip, sport, dport;
	__u32 position; /* in the size pattern */
	__u64 now; /* the last clock reading, stamped until the next */
	__u64 pad[3];
} __attribute__((aligned(64)));

/* NOLINTEND(readability-identifier-naming) */
#endif
