// SPDX-License-Identifier: GPL-2.0
/* Test support: makes the kernel stack behind a veth a VLAN peer. This kernel has no 802.1Q
 * (no VLAN subinterfaces, act_vlan or bridge VLAN filtering), so a tc clsact program terminates
 * the tags instead: on ingress it accepts only frames tagged exactly with the configured stack
 * and pops the tags; on egress it pushes them back. The loader must turn off txvlan and
 * tx-vlan-stag-hw-insert on the veth, or veth inserts the pushed tags out of band and an XDP
 * receiver on the other end never sees them.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tests/support/vlan_peer_abi.h"

/* Set by the loader before load (.rodata): the stack to terminate, outer tag first. */
const volatile struct vlan_peer_config cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VLAN_PEER_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} vlan_peer_counters SEC(".maps");

static __always_inline void count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&vlan_peer_counters, &reason);

	if (c)
		*c += 1;
}

SEC("tc")
int vlan_peer_ingress(struct __sk_buff *skb)
{
	__u32 i;

	/* The core has already moved the outer tag into skb->vlan_tci (skb_vlan_untag); each pop
	 * moves the next in-band tag there, so every tag is checked in the same place.
	 */
	for (i = 0; i < VLAN_PEER_MAX_DEPTH; i++) {
		if (i >= cfg.depth)
			break;
		if (!skb->vlan_present) {
			count(VLAN_PEER_DROP_UNTAGGED);
			return TC_ACT_SHOT;
		}
		if (skb->vlan_proto != bpf_htons(cfg.tags[i].tpid) ||
		    (skb->vlan_tci & 0x0fff) != cfg.tags[i].id) {
			count(VLAN_PEER_DROP_OTHER_VLAN);
			return TC_ACT_SHOT;
		}
		if (bpf_skb_vlan_pop(skb)) {
			count(VLAN_PEER_DROP_POP_FAILED);
			return TC_ACT_SHOT;
		}
	}
	if (skb->vlan_present) {
		count(VLAN_PEER_DROP_TOO_DEEP);
		return TC_ACT_SHOT;
	}
	count(VLAN_PEER_RX_ACCEPTED);
	return TC_ACT_OK;
}

SEC("tc")
int vlan_peer_egress(struct __sk_buff *skb)
{
	int i;

	/* Innermost first: each push moves the tag already there into the payload. */
	for (i = VLAN_PEER_MAX_DEPTH - 1; i >= 0; i--) {
		if (i >= (int)cfg.depth)
			continue;
		if (bpf_skb_vlan_push(skb, bpf_htons(cfg.tags[i].tpid),
				      cfg.tags[i].id | (cfg.tags[i].pcp << 13))) {
			count(VLAN_PEER_DROP_PUSH_FAILED);
			return TC_ACT_SHOT;
		}
	}
	count(VLAN_PEER_TX_TAGGED);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
