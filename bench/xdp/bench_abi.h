/* bench_abi.h: configuration and counter layouts shared by the reference tools' BPF programs
 * (livegen.bpf.c, sink.bpf.c) and their loaders. C only; fixed-width types. */
#ifndef ETHERPATH_BENCH_XDP_BENCH_ABI_H
#define ETHERPATH_BENCH_XDP_BENCH_ABI_H

#include <linux/types.h>

/* What the generator writes and the validating sink expects. MACs are 48-bit integers (the
 * first octet in bits 47..40), IPv4 addresses and ports in host order. Host k of a range is
 * base + k: dst MAC k goes with dst IP k when both ranges have the same count. */
/* NOLINTBEGIN(readability-identifier-naming): C names, shared with the BPF programs */
struct bench_flow {
	__u64 dst_mac;
	__u64 src_mac;
	__u32 dst_mac_count; /* >= 1 */
	__u32 dst_ip;
	__u32 dst_ip_count; /* >= 1 */
	__u32 src_ip;
	__u16 sport_lo;
	__u16 sport_hi;
	__u16 dport_lo;
	__u16 dport_hi;
	__u32 frame_len; /* without FCS: 60 for the 64-byte frames of the benchmarks */
	__u32 pad;
};
/* NOLINTEND(readability-identifier-naming) */

/* The first payload bytes of every generated frame: a magic and a sequence number. */
#define BENCH_MAGIC 0x45504731u /* "EPG1" */

/* Sink counters (per-CPU array indices). */
enum bench_sink_stat {
	SINK_FRAMES = 0, /* every frame */
	SINK_BYTES,
	SINK_VALID,   /* MACs, addresses, ports, checksums as the flow says */
	SINK_INVALID, /* everything else */
	SINK_STAT_COUNT
};

#endif
