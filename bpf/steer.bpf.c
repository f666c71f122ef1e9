// SPDX-License-Identifier: GPL-2.0
/* steer.bpf.c: etherpath's XDP steering program. It sends to user space (the AF_XDP socket of
 * the queue that received the frame) only what registered endpoints own, and passes everything
 * else to the kernel, so the host's own traffic keeps working on the same interface.
 *
 * Verdict, in order (maps and keys in steer_abi.h):
 *  1. ARP requests and IPv6 neighbour solicitations: to user space if the target address is
 *     owned on this VLAN stack, else XDP_PASS (the host's own neighbour traffic).
 *  2. Unicast: l4_endpoints (VLANs + dst IP + protocol + port or echo id, echo id 0 = any), then
 *     the L2 endpoints (dst MAC + VLANs + EtherType: l2_slots for ARP, IPv4 and IPv6, then
 *     l2_endpoints), then default_rx (VLANs + EtherType), else PASS. A map that holds no keys
 *     (ep_counts) is not looked up: the verdict is the same, without the hashing.
 *  3. Broadcast/multicast: multicast_subs (VLANs + EtherType), else PASS. XDP cannot clone, so
 *     a frame goes one way: only a subscription takes broadcast away from the kernel.
 * Frames that end inside a header the verdict needs, or carry more than EP_MAX_VLAN_DEPTH tags,
 * are passed and counted, never dropped. A hit is redirected through xsks_map at
 * ctx->rx_queue_index with XDP_PASS as the fallback when that queue has no socket.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdp/xdp_helpers.h>

#include "bpf/steer_abi.h"

#define ARPOP_REQUEST_ 1
#define ICMP_ECHOREPLY_ 0
#define ICMP_ECHO_ 8
#define ICMPV6_ECHO_REQUEST_ 128
#define ICMPV6_ECHO_REPLY_ 129
#define NDISC_NEIGHBOUR_SOLICITATION_ 135
#define IP_FRAGMENT_MASK 0x3fff /* MF flag and fragment offset */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, EP_L2_SLOT_COUNT);
	__type(key, __u32);
	__type(value, struct ep_l2_slot);
} l2_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EP_L2_MAX_ENTRIES);
	__type(key, struct ep_l2_key);
	__type(value, struct ep_endpoint);
} l2_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EP_L4_MAX_ENTRIES);
	__type(key, struct ep_l4_key);
	__type(value, struct ep_endpoint);
} l4_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EP_OWNED_MAX_ENTRIES);
	__type(key, struct ep_owned_key);
	__type(value, struct ep_endpoint);
} owned_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EP_MULTICAST_MAX_ENTRIES);
	__type(key, struct ep_vlan_etype_key);
	__type(value, struct ep_endpoint);
} multicast_subs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EP_DEFAULT_MAX_ENTRIES);
	__type(key, struct ep_vlan_etype_key);
	__type(value, struct ep_endpoint);
} default_rx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, EP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EP_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Filled in by the loader before load; read back by a later start to recognise a stale
 * program. Its own section, so it is its own map at a known offset. */
const volatile struct ep_owner ep_owner SEC(".rodata.owner") = {
	.magic = EP_OWNER_MAGIC,
	.abi_version = EP_ABI_VERSION,
};

/* Kept in step with the maps by user space (through the skeleton's mapping of .bss). */
volatile struct ep_map_counts ep_counts;

/* Where libxdp's dispatcher may run us: before programs of default priority; a PASS goes on to
 * the next program in the chain. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(etherpath_steer);

struct vlan_hdr_ {
	__be16 tci;
	__be16 encap_proto;
};

/* ARP for Ethernet + IPv4, after struct arphdr. */
struct arp_eth_ipv4_ {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

struct icmp_echo_ {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 seq;
};

struct nd_ns_ {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__u32 reserved;
	struct in6_addr target;
};

static __always_inline void count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &reason);

	if (c)
		*c += 1; /* per-CPU: no atomic needed */
}

static __always_inline int pass(__u32 reason)
{
	count(reason);
	return XDP_PASS;
}

static __always_inline int redirect(struct xdp_md *ctx, __u32 reason)
{
	long action;

	count(reason);
	action = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
	count(action == XDP_REDIRECT ? EP_STAT_REDIRECTED : EP_STAT_NO_SOCKET);
	return (int)action;
}

static __always_inline int is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline void v4_mapped(__u8 *dst, const void *v4)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, v4, 4);
}

/* ARP request or NS: to user space for an owned target, else the host's. 0 when it is neither. */
static __always_inline int steer_neigh_arp(struct xdp_md *ctx, void *l3, void *data_end,
					   const struct ep_vlan_ids *vlans, int *verdict)
{
	struct arp_eth_ipv4_ *arp = l3;
	struct ep_owned_key key = {};

	if ((void *)(arp + 1) > data_end) {
		*verdict = pass(EP_STAT_PASS_TRUNCATED);
		return 1;
	}
	if (arp->op != bpf_htons(ARPOP_REQUEST_) || arp->htype != bpf_htons(1) ||
	    arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != ETH_ALEN || arp->plen != 4)
		return 0;
	key.vlans = *vlans;
	key.ip_version = EP_IPV4;
	v4_mapped(key.addr, arp->tpa);
	if (bpf_map_lookup_elem(&owned_addrs, &key))
		*verdict = redirect(ctx, EP_STAT_HIT_OWNED);
	else
		*verdict = pass(EP_STAT_PASS_NEIGH_NOT_OWNED);
	return 1;
}

static __always_inline int steer_neigh_ns(struct xdp_md *ctx, struct ipv6hdr *ip6, void *data_end,
					  const struct ep_vlan_ids *vlans, int *verdict)
{
	struct nd_ns_ *ns = (void *)(ip6 + 1);
	struct ep_owned_key key = {};

	if (ip6->nexthdr != IPPROTO_ICMPV6)
		return 0;
	if ((void *)&ns->reserved > data_end) {
		*verdict = pass(EP_STAT_PASS_TRUNCATED);
		return 1;
	}
	if (ns->type != NDISC_NEIGHBOUR_SOLICITATION_)
		return 0;
	if ((void *)(ns + 1) > data_end) {
		*verdict = pass(EP_STAT_PASS_TRUNCATED);
		return 1;
	}
	key.vlans = *vlans;
	key.ip_version = EP_IPV6;
	__builtin_memcpy(key.addr, &ns->target, 16);
	if (bpf_map_lookup_elem(&owned_addrs, &key))
		*verdict = redirect(ctx, EP_STAT_HIT_OWNED);
	else
		*verdict = pass(EP_STAT_PASS_NEIGH_NOT_OWNED);
	return 1;
}

/* Fills key->port from the L4 header at l4 for protocol key->protocol. Returns 1 when the key is
 * complete, 0 when the packet has no L4 key (other protocols, other ICMP types), -1 when it is
 * truncated. *is_echo says whether a wildcard (id 0) lookup applies. */
static __always_inline int l4_port(void *l4, void *data_end, struct ep_l4_key *key, int *is_echo)
{
	if (key->protocol == IPPROTO_UDP || key->protocol == IPPROTO_TCP) {
		__be16 *ports = l4;

		if ((void *)(ports + 2) > data_end)
			return -1;
		key->port = ports[1];
		return 1;
	}
	if (key->protocol == IPPROTO_ICMP || key->protocol == IPPROTO_ICMPV6) {
		struct icmp_echo_ *echo = l4;

		if ((void *)(echo + 1) > data_end)
			return -1;
		if (key->protocol == IPPROTO_ICMP ?
			    (echo->type != ICMP_ECHO_ && echo->type != ICMP_ECHOREPLY_) :
			    (echo->type != ICMPV6_ECHO_REQUEST_ && echo->type != ICMPV6_ECHO_REPLY_))
			return 0;
		key->port = echo->id;
		*is_echo = 1;
		return 1;
	}
	return 0;
}

/* The L4 endpoint lookup. Returns 1 on a hit, 0 on a miss, -1 when truncated. */
static __always_inline int lookup_l4(void *l3, void *data_end, __be16 proto,
				     const struct ep_vlan_ids *vlans)
{
	struct ep_l4_key key = {};
	int is_echo = 0;
	void *l4;
	int ret;

	key.vlans = *vlans;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return -1;
		ihl = ip->ihl;
		if (ip->version != 4 || ihl < 5)
			return 0;
		/* A fragment carries no port (or only the first does): the kernel reassembles. */
		if (ip->frag_off & bpf_htons(IP_FRAGMENT_MASK))
			return 0;
		key.ip_version = EP_IPV4;
		key.protocol = ip->protocol;
		v4_mapped(key.addr, &ip->daddr);
		l4 = l3 + ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		/* Extension headers are not walked: such packets have no L4 key. */
		key.ip_version = EP_IPV6;
		key.protocol = ip6->nexthdr;
		__builtin_memcpy(key.addr, &ip6->daddr, 16);
		l4 = ip6 + 1;
	} else {
		return 0;
	}
	ret = l4_port(l4, data_end, &key, &is_echo);
	if (ret <= 0)
		return ret;
	if (!ep_counts.l4)
		return 0; /* parsed all the same: a truncated header is passed either way */
	if (bpf_map_lookup_elem(&l4_endpoints, &key))
		return 1;
	if (is_echo) {
		key.port = 0; /* an echo listener on id 0 takes every identifier */
		if (bpf_map_lookup_elem(&l4_endpoints, &key))
			return 1;
	}
	return 0;
}

/* The l2_slots bit of an EtherType; 0 for the ones only l2_endpoints can hold. */
static __always_inline __u16 l2_type_bit(__be16 proto)
{
	if (proto == bpf_htons(ETH_P_IP))
		return EP_L2_TYPE_IPV4;
	if (proto == bpf_htons(ETH_P_IPV6))
		return EP_L2_TYPE_IPV6;
	if (proto == bpf_htons(ETH_P_ARP))
		return EP_L2_TYPE_ARP;
	return 0;
}

/* The L2 endpoint lookup: l2_slots, then (when it holds keys) l2_endpoints. 1 on a hit. */
static __always_inline int lookup_l2(const struct ethhdr *eth, const struct ep_vlan_ids *vlans,
				     __be16 proto)
{
	__u16 bit = l2_type_bit(proto);
	struct ep_l2_key key = {};
	__u32 mac_lo;
	__u16 mac_hi;
	__u32 vl;
	__u32 idx;
	int i;

	if (bit) {
		__builtin_memcpy(&mac_lo, eth->h_dest, 4);
		__builtin_memcpy(&mac_hi, eth->h_dest + 4, 2);
		__builtin_memcpy(&vl, vlans, 4);
		idx = ep_l2_home(mac_lo, mac_hi, vl);
		for (i = 0; i < EP_L2_MAX_PROBES; i++) {
			volatile struct ep_l2_slot *s = bpf_map_lookup_elem(&l2_slots, &idx);
			__u16 types;

			if (!s)
				break;
			types = s->types; /* first: a bit here means the key below is complete */
			if (!types)
				break; /* an empty slot ends the probe */
			/* A matching key without the bit goes on probing: keys are unique, but a slot
			 * that user space is rewriting may match by accident for a moment. */
			if ((types & bit) && s->mac_lo == mac_lo && s->mac_hi == mac_hi && s->vlans == vl)
				return 1;
			idx = ep_l2_next(idx);
		}
	}
	if (!ep_counts.l2_fallback)
		return 0;
	__builtin_memcpy(key.mac, eth->h_dest, ETH_ALEN);
	key.vlans = *vlans;
	key.ethertype = proto;
	return bpf_map_lookup_elem(&l2_endpoints, &key) != 0;
}

SEC("xdp")
int etherpath_steer(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct ep_vlan_ids vlans = { .id = { EP_NO_VLAN, EP_NO_VLAN } };
	struct ep_vlan_etype_key ve_key = {};
	void *l3;
	__be16 proto;
	int verdict;
	int i;

	/* Referencing the owner record ties its map to the program (prog info lists it). */
	if (ep_owner.magic != EP_OWNER_MAGIC)
		return XDP_PASS;
	count(EP_STAT_FRAMES);
	if ((void *)(eth + 1) > data_end)
		return pass(EP_STAT_PASS_TRUNCATED);
	proto = eth->h_proto;
	l3 = eth + 1;
#pragma unroll
	for (i = 0; i < EP_MAX_VLAN_DEPTH; i++) {
		struct vlan_hdr_ *vh = l3;

		if (!is_vlan(proto))
			break;
		if ((void *)(vh + 1) > data_end)
			return pass(EP_STAT_PASS_TRUNCATED);
		vlans.id[i] = vh->tci & bpf_htons(EP_VID_MASK);
		proto = vh->encap_proto;
		l3 = vh + 1;
	}
	if (is_vlan(proto))
		return pass(EP_STAT_PASS_VLAN_TOO_DEEP);

	if (proto == bpf_htons(ETH_P_ARP)) {
		if (steer_neigh_arp(ctx, l3, data_end, &vlans, &verdict))
			return verdict;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if ((void *)((struct ipv6hdr *)l3 + 1) > data_end)
			return pass(EP_STAT_PASS_TRUNCATED);
		if (steer_neigh_ns(ctx, l3, data_end, &vlans, &verdict))
			return verdict;
	}

	ve_key.vlans = vlans;
	ve_key.ethertype = proto;
	if (eth->h_dest[0] & 1) {
		if (bpf_map_lookup_elem(&multicast_subs, &ve_key))
			return redirect(ctx, EP_STAT_HIT_MULTICAST);
		return pass(EP_STAT_PASS_MULTICAST_MISS);
	}

	switch (lookup_l4(l3, data_end, proto, &vlans)) {
	case 1:
		return redirect(ctx, EP_STAT_HIT_L4);
	case -1:
		return pass(EP_STAT_PASS_TRUNCATED);
	default:
		break;
	}

	if (lookup_l2(eth, &vlans, proto))
		return redirect(ctx, EP_STAT_HIT_L2);
	if (ep_counts.defaults && bpf_map_lookup_elem(&default_rx, &ve_key))
		return redirect(ctx, EP_STAT_HIT_DEFAULT);
	return pass(EP_STAT_PASS_UNICAST_MISS);
}

char _license[] SEC("license") = "GPL";
