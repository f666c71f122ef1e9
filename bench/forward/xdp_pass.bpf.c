// SPDX-License-Identifier: GPL-2.0
/* xdp_pass.bpf.c: passes every frame to the kernel. Attached in native mode to the relay's
 * client-side veth for the kernel-socket peers (pkthere --engine socket, socat), so that the
 * live-frames generator's XDP_TX frames are delivered at all: veth takes frames sent by XDP only
 * when its peer runs NAPI, which a native XDP program turns on. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
