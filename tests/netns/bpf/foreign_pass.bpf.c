// SPDX-License-Identifier: GPL-2.0
/* foreign_pass.bpf.c: a program that is not etherpath's, for the tests that put a foreign XDP
 * program on an interface (ip link set dev X xdp obj foreign_pass.bpf.o sec xdp). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_foreign(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
