/* Layouts shared by vlan_peer.bpf.c and its C++ loader (test support). */
#ifndef ETHERPATH_TESTS_SUPPORT_VLAN_PEER_ABI_H
#define ETHERPATH_TESTS_SUPPORT_VLAN_PEER_ABI_H

#include <linux/types.h>

#define VLAN_PEER_MAX_DEPTH 2

/* C structs shared with BPF keep the kernel's names. NOLINTBEGIN(readability-identifier-naming) */

struct vlan_peer_tag {
	__u16 tpid; /* host order: 0x8100 or 0x88a8 */
	__u16 id;
	__u16 pcp;
	__u16 pad;
};

struct vlan_peer_config {
	struct vlan_peer_tag tags[VLAN_PEER_MAX_DEPTH]; /* outer first */
	__u32 depth;
	__u32 pad;
};

enum vlan_peer_counter {
	VLAN_PEER_RX_ACCEPTED = 0,
	VLAN_PEER_DROP_UNTAGGED,
	VLAN_PEER_DROP_OTHER_VLAN,
	VLAN_PEER_DROP_TOO_DEEP,
	VLAN_PEER_DROP_POP_FAILED,
	VLAN_PEER_TX_TAGGED,
	VLAN_PEER_DROP_PUSH_FAILED,
	VLAN_PEER_COUNTER_COUNT,
};
/* NOLINTEND(readability-identifier-naming) */

#endif
